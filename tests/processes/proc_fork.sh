#!/bin/sh
# proc_fork.sh -- runs proc_fork (fork, fork from threads, vfork+execve, vfork+_exit, the vfork
# stack probe, posix_spawn, system, popen) natively, under passthrough.so and under counting.so,
# and compares every line and the exit status with the native run.  Under counting.so the main
# process's count file must show one clone parent hook call per successful clone/fork/vfork (120)
# and the clone child hook calls that ran in its address space: 5 threads plus the 13 children
# that share it until exec/_exit (5 vfork, 3 posix_spawn, 3 system, 2 popen); and the hook must
# have seen all 120 clone/vfork/clone3 syscalls, 5 of them vfork.  It must never accept a
# differing line.
# usage: proc_fork.sh <proc_fork binary>
. "$(dirname "$0")/proc_lib.sh"
bin=$1
proc_all_modes fork 0 "$bin"

pid=$(sed -n 's/^pid \([0-9]*\)$/\1/p' "$PROC_WORK/fork.counting.err")
f="$PROC_WORK/fork.counting.counts/cnt-$pid"
if [ -z "$pid" ] || [ ! -f "$f" ]; then
	proc_fail "fork [counting]: no count file for the main process (pid '$pid')"
else
	got=$(proc_count "$f" clone_parent)
	[ "$got" -eq 120 ] ||
		proc_fail "fork [counting]: clone parent hook ran $got times in the main process, expected 120"
	got=$(proc_count "$f" clone_child)
	[ "$got" -eq 18 ] ||
		proc_fail "fork [counting]: clone child hook ran $got times in the main process's memory, expected 18"
	# Every process-creating syscall reached the hook: clone (56), vfork (58), clone3 (435).
	got=$(( $(proc_count "$f" 56) + $(proc_count "$f" 58) + $(proc_count "$f" 435) ))
	[ "$got" -eq 120 ] ||
		proc_fail "fork [counting]: hook saw $got clone/vfork/clone3 syscalls, expected 120"
	got=$(proc_count "$f" 58)
	[ "$got" -eq 5 ] ||
		proc_fail "fork [counting]: hook saw $got vfork syscalls, expected 5"
	[ "$PROC_FAILED" -ne 0 ] && cat "$f" >&2
fi
proc_finish
