#!/bin/sh
# proc_thread_hooks.sh -- runs proc_thread_hooks natively, under passthrough.so and counting.so,
# outputs compared with the native run.  Under counting.so the main process counts 14 clone
# parent hook calls, 12 clone child hook calls in its memory (9 threads, clone(CLONE_VM|
# CLONE_VFORK), vfork, posix_spawn) and 14 clone/vfork/clone3 syscalls.  Then under proc_hook.so,
# where the program checks the recorded hook calls itself and must report no failure.  It must
# never skip the proc_hook.so run.
# usage: proc_thread_hooks.sh <proc_thread_hooks binary> <proc_hook.so>
. "$(dirname "$0")/proc_lib.sh"
bin=$1
hook=$2
proc_all_modes hooks 0 "$bin"

pid=$(sed -n 's/^pid \([0-9]*\)$/\1/p' "$PROC_WORK/hooks.counting.err")
f="$PROC_WORK/hooks.counting.counts/cnt-$pid"
if [ -z "$pid" ] || [ ! -f "$f" ]; then
	proc_fail "hooks [counting]: no count file for the main process (pid '$pid')"
else
	got=$(proc_count "$f" clone_parent)
	[ "$got" -eq 14 ] ||
		proc_fail "hooks [counting]: clone parent hook ran $got times in the main process, expected 14"
	got=$(proc_count "$f" clone_child)
	[ "$got" -eq 12 ] ||
		proc_fail "hooks [counting]: clone child hook ran $got times in the main process's memory, expected 12"
	got=$(( $(proc_count "$f" 56) + $(proc_count "$f" 58) + $(proc_count "$f" 435) ))
	[ "$got" -eq 14 ] ||
		proc_fail "hooks [counting]: hook saw $got clone/vfork/clone3 syscalls, expected 14"
	[ "$PROC_FAILED" -ne 0 ] && cat "$f" >&2
fi

proc_run_with "$hook" proc_hook hooks "$bin"
proc_expect_exit proc_hook hooks 0
out="$PROC_WORK/hooks.proc_hook.out"
if grep -q 'not loaded' "$out"; then
	proc_fail "hooks [proc_hook]: the program did not find proc_hook.so"
	proc_show proc_hook hooks
elif [ "$(grep -c '^hook: .* ok$' "$out")" -ne 12 ]; then
	proc_fail "hooks [proc_hook]: expected 12 passing hook checks"
	proc_show proc_hook hooks
fi
proc_finish
