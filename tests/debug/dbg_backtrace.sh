#!/bin/sh
# dbg_backtrace.sh -- runs dbg_backtrace (backtrace() from a SIGALRM handler that interrupted
# a blocked read or nanosleep) natively, under passthrough.so and counting.so, with
# INTERCEPT_LOG=/dev/null (with passthrough.so and with the library alone) and with a log file.
# Every run must pass the program's own checks (caller and main on the stack, the start-up
# frames after main); a run under the library must return at least as many frames as the
# native one and must show frames of the library (else it was not intercepting).  It must
# never accept fewer frames than the native run.  "vfork" (backtraces from SIGCHLD handlers
# right after intercepted vforks) has no frame count: every run must just pass its checks.
# usage: dbg_backtrace.sh <dbg_backtrace binary> read|nanosleep|vfork
. "$(dirname "$0")/dbg_lib.sh"
prog=$1
what=$2
case $what in
read) active="0=read" ;;
nanosleep) active="230=clock_nanosleep" ;;
vfork) active="58=vfork" ;;
*) dbg_die "usage: $0 <dbg_backtrace> read|nanosleep|vfork" ;;
esac
name="bt_$what"

dbg_run native "$name" "$prog" "$what"
dbg_expect_exit native "$name" 0 || dbg_finish
native_frames=$(awk '$1 == "frames" { print $2 }' "$DBG_WORK/$name.native.out")
if grep -qE '^  #[0-9]+ \[0x[0-9a-f]+\]$' "$DBG_WORK/$name.native.err"; then
	dbg_fail "$name [native]: a frame outside every object: it could not tell trampolines apart"
	dbg_show native "$name"
fi
[ "$what" = vfork ] || echo "native: $native_frames frames"

for mode in passthrough counting passthrough+devnull lib+devnull passthrough+logfile; do
	dbg_run "$mode" "$name" "$prog" "$what"
	dbg_expect_exit "$mode" "$name" 0 || continue
	dbg_check_active "$mode" "$name" "$active"
	[ "$what" = vfork ] && continue
	frames=$(awk '$1 == "frames" { print $2 }' "$DBG_WORK/$name.$mode.out")
	echo "$mode: $frames frames"
	if [ "${frames:-0}" -lt "$native_frames" ]; then
		dbg_fail "$name [$mode]: $frames frames, fewer than the native $native_frames"
		dbg_show "$mode" "$name"
	fi
	# The syscall ran in our code: a frame of the library, or (when nothing was left to do
	# after it) of a trampoline, generated code outside every object ("#2 [0x7f...]"),
	# which the native run never shows.
	if ! grep -q 'libsyscall_intercept\.so' "$DBG_WORK/$name.$mode.err" &&
	   ! grep -qE '^  #[0-9]+ \[0x[0-9a-f]+\]$' "$DBG_WORK/$name.$mode.err"; then
		dbg_fail "$name [$mode]: no frame of the library or a trampoline (not intercepted?)"
		dbg_show "$mode" "$name"
	fi
done
dbg_finish
