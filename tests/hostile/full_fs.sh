#!/bin/sh
# full_fs.sh LIB TARGET TRACER -- a log on a file system that fills up: as root (exit 77
# otherwise), in a private mount namespace (unshare -m: the mount exists only there and
# disappears with it, even if this script is killed), a 16 KiB tmpfs receives the log of 8
# threads logging 16000 lines.  The library says so once (ENOSPC, after a line cut short) and
# the program ends with its own status; syscall-trace -o there exits 1 and says the log is
# incomplete.  TARGET is tests/log's log_target.
. "$(dirname "$0")/lib.sh"

if [ "${1:-}" = "--inner" ]; then
	mnt=$2 lib=$3 target=$4 tracer=$5
	mount -t tmpfs -o size=16k,mode=755 si-full-test "$mnt" ||
		skip "cannot mount a tmpfs in a private mount namespace"
	run LD_PRELOAD="$lib" INTERCEPT_LOG="$mnt/lib.log" -- "$target" threads
	expect_status "the library, a full file system" 0
	expect_one_line "the library, a full file system" "^syscall_intercept: INTERCEPT_LOG: cannot write $mnt/lib.log: No space left on device; the log is incomplete$"
	rm -f "$mnt/lib.log"
	run SYSCALL_TRACE_LIB="$lib" -- "$tracer" -o "$mnt/trace.log" "$target" threads
	expect_status "syscall-trace -o on a full file system" 1
	n=$(printf '%s\n' "$err" | grep -c "cannot write $mnt/trace.log: No space left on device")
	m=$(printf '%s\n' "$err" | grep -c "^syscall-trace: the log $mnt/trace.log is incomplete")
	[ "$n" -eq 1 ] && [ "$m" -eq 1 ] && ok "syscall-trace: the library's message and its own" ||
		{ fail "syscall-trace: messages"; show; }
	finish
fi

lib=$1 target=$2 tracer=$3
need_root "mounts a small tmpfs in a private mount namespace"
command -v unshare >/dev/null 2>&1 || skip "unshare is not installed"
unshare --mount --propagation private true 2>/dev/null ||
	skip "no private mount namespace here (unshare -m: a container without CAP_SYS_ADMIN?)"
mkdir "$work/full" || exit 1
unshare --mount --propagation private sh "$0" --inner "$work/full" "$lib" "$target" "$tracer"
