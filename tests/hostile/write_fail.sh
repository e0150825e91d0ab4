#!/bin/sh
# write_fail.sh LIB TARGET TRACER -- a log that cannot be written is said, once: with the log on
# a descriptor that names /dev/full, and in a file that reaches the file-size limit (ulimit -f,
# SIGXFSZ ignored: writes fail with EFBIG after a short one, as on a full file system, without
# root), 8 threads logging 16000 lines give exactly one line on stderr and the program's own
# status; syscall-trace exits 1 when the log could not be written whole (-o into a file that
# fills up) or not opened at all (-o /dev/full, which the library refuses), and says so.
# A real full file system is full_fs.sh's (root).  TARGET is tests/log's log_target.
. "$(dirname "$0")/lib.sh"
lib=$1 target=$2 tracer=$3

# the log on the process's stdout, which is /dev/full
timeout -k 5 "$HOSTILE_TIMEOUT" env -i PATH="$PATH" LD_PRELOAD="$lib" INTERCEPT_LOG=/dev/stdout \
	"$target" threads >/dev/full 2>"$work/err"
status=$? out="" err=$(cat "$work/err")
expect_status "/dev/stdout on /dev/full" 0
expect_one_line "/dev/stdout on /dev/full" "^syscall_intercept: INTERCEPT_LOG: cannot write /dev/stdout: No space left on device; the log is incomplete$"

# a file that reaches the size limit
run LD_PRELOAD="$lib" INTERCEPT_LOG="$work/limited.log" -- sh -c \
	'trap "" XFSZ; ulimit -f 16 && exec "$@"' sh "$target" threads
expect_status "a log file at the size limit" 0
expect_one_line "a log file at the size limit" "^syscall_intercept: INTERCEPT_LOG: cannot write $work/limited.log: File too large; the log is incomplete$"

run SYSCALL_TRACE_LIB="$lib" -- sh -c 'trap "" XFSZ; ulimit -f 16 && exec "$@"' sh \
	"$tracer" -o "$work/trace.log" "$target" threads
expect_status "syscall-trace -o a file at the size limit" 1
n=$(printf '%s\n' "$err" | grep -c "cannot write $work/trace.log: File too large")
m=$(printf '%s\n' "$err" | grep -c "^syscall-trace: the log $work/trace.log is incomplete")
[ "$n" -eq 1 ] && [ "$m" -eq 1 ] && ok "syscall-trace: the library's message and its own" ||
	{ fail "syscall-trace: messages"; show; }

run SYSCALL_TRACE_LIB="$lib" -- "$tracer" -o /dev/full "$target" quiet
expect_status "syscall-trace -o /dev/full" 1
printf '%s\n' "$err" | grep -q "cannot open /dev/full: not a regular file" &&
	printf '%s\n' "$err" | grep -q "^syscall-trace: the log /dev/full is incomplete" &&
	ok "syscall-trace -o /dev/full: says why" || { fail "syscall-trace -o /dev/full: messages"; show; }

# and a log that works gives status 0 and no message
run SYSCALL_TRACE_LIB="$lib" -- "$tracer" -o "$work/fine.log" "$target" quiet
expect_status "syscall-trace, a log that works" 7
expect_no_stderr "syscall-trace, a log that works"
finish
