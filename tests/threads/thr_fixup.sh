#!/bin/sh
# thr_fixup.sh PROG HOOK -- one run of thr_fixup; fails unless the program passed and the
# library said (INTERCEPT_DEBUG_DUMP=2) that it moved the restarted reader on from fx_read's
# syscall instruction.  It must never pass a run in which that did not happen.
err=$(mktemp "${TMPDIR:-/tmp}/si-fixup.XXXXXX") || exit 1
trap 'rm -f "$err"' EXIT
"$1" "$2" 2>"$err"
status=$?
if [ $status -ne 0 ]; then
	grep -v '^syscall_intercept: site ' "$err" >&2
	exit $status
fi
if ! grep -q '^syscall_intercept: a thread stopped at 0x[0-9a-f]* when its site was patched goes on at' "$err"; then
	echo "FAIL: threads_fixup_restart: the restarted read did not go through the trap handler" >&2
	grep -E '^syscall_intercept: (patched|site .*thr_fixup)' "$err" >&2
	exit 1
fi
