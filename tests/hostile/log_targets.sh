#!/bin/sh
# log_targets.sh LIB TARGET PROBE ANSWER_HOOK TRACER -- what INTERCEPT_LOG writes into, as any
# user: a new file (0600) or an existing regular file of the user's (emptied, or appended to
# with INTERCEPT_LOG_TRUNC=0), /dev/null, or a descriptor the process holds (/dev/stdout,
# /dev/stderr, /dev/fd/N, /proc/self/fd/N); everything else (a FIFO with or without a reader,
# a directory, a device, a symbolic link, a descriptor open only for reading) is refused with
# one message on stderr, left as it was, and the program runs on as without a log -- never
# hangs, and its hook still answers.  And syscall-trace -o FIFO ends (status 1) instead of
# hanging.  TARGET is tests/log's log_target ("quiet": prints a line, exits 7).  Runs as any
# user; another user's file is foreign_files.sh's (root).
. "$(dirname "$0")/lib.sh"
lib=$1 target=$2 probe=$3 answer=$4 tracer=$5

# refused LABEL LOGVALUE [VAR=value...]: the program runs as without a log, one message.
refused() {
	_label=$1 _log=$2
	shift 2
	run LD_PRELOAD="$lib" INTERCEPT_LOG="$_log" "$@" -- "$target" quiet
	expect_status "$_label" 7
	same "$_label: the program's output" "hello from the program" "$out"
	expect_one_line "$_label" "^syscall_intercept: INTERCEPT_LOG: cannot open $_log: .*; running without a log$"
}

# accepted LABEL LOGVALUE FILE: logged into FILE, nothing on stderr.
accepted() {
	run LD_PRELOAD="$lib" INTERCEPT_LOG="$2" -- "$target" quiet
	expect_status "$1" 7
	expect_no_stderr "$1"
	if grep -q -- ' -- exit_group(7) = ?$' "$3"; then ok "$1: logged"
	else fail "$1: no exit_group line in $3"; fi
}

# ---- refused
fifo=$work/fifo
mkfifo "$fifo"
refused "FIFO nobody reads" "$fifo"
# a FIFO someone reads: opening it works, so this is the fstat check (before: the log went
# into the FIFO, and the program hung once its buffer was full)
exec 3<>"$fifo"
refused "FIFO with a reader" "$fifo"
if timeout 2 dd if="$fifo" bs=64k count=1 iflag=nonblock 2>/dev/null | grep -q .; then
	fail "FIFO with a reader: log lines were written into it"
else
	ok "FIFO with a reader: nothing written into it"
fi
exec 3<&-
refused "a directory" "$work"
refused "a character device" /dev/zero
ln -s "$work/precious" "$work/link.log"
echo precious >"$work/precious"
refused "a symbolic link" "$work/link.log"
same "the link's target untouched" precious "$(cat "$work/precious")"
run LD_PRELOAD="$lib" INTERCEPT_LOG=/dev/fd/0 -- "$target" quiet <"$work/precious"
expect_status "/dev/fd/0 open for reading only" 7
expect_one_line "/dev/fd/0 open for reading only" "cannot open /dev/fd/0: not open for writing"
run LD_PRELOAD="$lib" INTERCEPT_LOG=/dev/fd/9 -- "$target" quiet
expect_status "/dev/fd/9 not open" 7
expect_one_line "/dev/fd/9 not open" "cannot open /dev/fd/9: Bad file descriptor"

# the hook still answers when the log is refused
run LD_PRELOAD="$answer" INTERCEPT_LOG="$fifo" -- "$probe" answer expect-magic
expect_status "the hook with a refused log" 0

# ---- accepted
accepted "a new file" "$work/new.log" "$work/new.log"
same "a new file is 0600" 600 "$(stat -c %a "$work/new.log")"
echo "old line" >"$work/mine.log"
chmod 666 "$work/mine.log"
accepted "an existing file of the user's" "$work/mine.log" "$work/mine.log"
if grep -q "old line" "$work/mine.log"; then fail "an existing file of the user's: not emptied"
else ok "an existing file of the user's: emptied"; fi
same "its mode kept" 666 "$(stat -c %a "$work/mine.log")"
echo "old line" >"$work/append.log"
run LD_PRELOAD="$lib" INTERCEPT_LOG="$work/append.log" INTERCEPT_LOG_TRUNC=0 -- "$target" quiet
expect_no_stderr "INTERCEPT_LOG_TRUNC=0"
same "INTERCEPT_LOG_TRUNC=0 appends" "old line" "$(head -n 1 "$work/append.log")"
run LD_PRELOAD="$lib" INTERCEPT_LOG=/dev/null -- "$target" quiet
expect_status "/dev/null" 7
expect_no_stderr "/dev/null"
for held in /dev/fd/5 /proc/self/fd/5; do
	run LD_PRELOAD="$lib" INTERCEPT_LOG=$held -- "$target" quiet 5>"$work/held.log"
	expect_status "$held" 7
	expect_no_stderr "$held"
	if grep -q -- ' -- exit_group(7) = ?$' "$work/held.log"; then ok "$held: logged"
	else fail "$held: nothing logged into the descriptor"; fi
done

# ---- syscall-trace -o FIFO: neither the tracer nor the program waits for a reader
run SYSCALL_TRACE_LIB="$lib" -- "$tracer" -o "$fifo" "$target" quiet
expect_status "syscall-trace -o FIFO" 1
if printf '%s\n' "$err" | grep -q "cannot open $fifo: not a regular file" &&
   printf '%s\n' "$err" | grep -q "syscall-trace: the log $fifo is incomplete"; then
	ok "syscall-trace -o FIFO: says why"
else
	fail "syscall-trace -o FIFO: messages"; show
fi
[ -p "$fifo" ] && ok "the FIFO is left as it was" || fail "the FIFO was replaced"
finish
