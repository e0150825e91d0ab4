#!/bin/sh
# ex_log_stderr.sh HOOK -- examples/log_stderr.so: `cat FILE` under it prints, on stderr, the
# openat of FILE with the fd it returned, the read of FILE's 14 bytes with "= 14", the write of
# them, and a failing open with "= -1 ENOENT"; stdout is exactly what cat printed natively;
# exit_group is printed before it runs, ending in "= ?".
# LOG_STDERR_ONLY restricts the lines to the syscalls named.
set -u
. "$(dirname "$0")/lib.sh"
hook=$1
si_tmpdir
printf 'fourteen bytes' >"$tmp/in"

# stdout into a pipe: to a regular file cat would copy with copy_file_range, not read/write.
{ LD_PRELOAD=$hook cat "$tmp/in" "$tmp/missing" 2>"$tmp/err"; echo $? >"$tmp/st"; } | cat >"$tmp/out"
st=$(cat "$tmp/st")
[ $st -eq 1 ] || fail "cat exit status $st, expected 1 (one file missing)"
[ "$(cat "$tmp/out")" = "fourteen bytes" ] || fail "stdout changed: $(cat "$tmp/out")"
cat "$tmp/err"
pid='\[[0-9][0-9]*\]'
line=$(grep "^$pid openat(AT_FDCWD, \"$tmp/in\", [0-9a-fx]*) = [0-9][0-9]*$" "$tmp/err") ||
	fail "no openat line with its result for $tmp/in"
fd=${line##* = }
grep -q "^$pid read($fd, 0x[0-9a-f]*, [0-9a-fx]*) = 14$" "$tmp/err" ||
	fail "no read($fd, ...) = 14 line"
grep -q "^$pid write(1, 0x[0-9a-f]*, 14) = 14$" "$tmp/err" || fail "no write(1, ..., 14) = 14 line"
grep -q "^$pid openat(AT_FDCWD, \"$tmp/missing\", [0-9a-fx]*) = -1 ENOENT$" "$tmp/err" ||
	fail "no failing openat line"
# A syscall that never returns is printed before it runs (cat closes stderr before exiting:
# use a shell).
LD_PRELOAD=$hook sh -c 'exit 3' 2>"$tmp/err3"
grep -q "^$pid exit_group(3) = ?$" "$tmp/err3" || fail "no exit_group(3) = ? line"

LOG_STDERR_ONLY=read LD_PRELOAD=$hook cat "$tmp/in" >/dev/null 2>"$tmp/err2"
grep -q "read(" "$tmp/err2" || fail "LOG_STDERR_ONLY=read printed no read line"
grep -v "read(" "$tmp/err2" | grep -q . && fail "LOG_STDERR_ONLY=read printed other syscalls"
echo PASS
