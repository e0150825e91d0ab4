# lib.sh -- shell helpers shared by the hostile-environment tests (sourced, POSIX sh).  Each
# run is bounded by `timeout` (a hang is a failure of its own, not a stuck test), starts from an
# environment without INTERCEPT_* or LD_PRELOAD, and keeps stdout, stderr and status in the
# test's own temporary folder ($work, removed on exit).  It never relaxes a check to make a run
# pass, and never writes outside $work.

set -u
LC_ALL=C; export LC_ALL
: "${HOSTILE_TIMEOUT:=20}"

work=$(mktemp -d "${TMPDIR:-/tmp}/si-hostile.XXXXXX") || exit 2
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM HUP
failed=0

ok() { echo "ok    $*"; }
fail() { echo "FAIL  $*"; failed=1; }
skip() { echo "SKIP: $*"; exit 77; }
need_root() { [ "$(id -u)" = 0 ] || skip "needs root: $*"; }

# run [VAR=value...] -- CMD...: runs CMD under `env -i` plus PATH, TMPDIR and the assignments
# (an empty argument among them is none; values may hold blanks, not newlines), bounded by
# HOSTILE_TIMEOUT; sets $status, $out (stdout) and $err (stderr).
run() {
	_assign=""
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		[ -n "$1" ] && _assign="$_assign
$1"
		shift
	done
	shift
	_old_ifs=$IFS
	IFS='
'
	# shellcheck disable=SC2086
	timeout -k 5 "$HOSTILE_TIMEOUT" env -i PATH="$PATH" TMPDIR="${TMPDIR:-/tmp}" $_assign "$@" \
		>"$work/out" 2>"$work/err"
	status=$?
	IFS=$_old_ifs
	out=$(cat "$work/out")
	err=$(cat "$work/err")
}

show() {
	echo "  status $status; stdout:"; printf '%s\n' "$out" | head -n 5 | sed 's/^/    /'
	echo "  stderr:"; printf '%s\n' "$err" | head -n 10 | sed 's/^/    /'
}

# expect_status LABEL N: the last run ended with status N (124: it hung).
expect_status() {
	if [ "$status" -eq "$2" ]; then ok "$1: status $2"
	elif [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
		fail "$1: still running after ${HOSTILE_TIMEOUT}s (hung)"; show
	else fail "$1: status $status, expected $2"; show; fi
}

# expect_one_line LABEL PATTERN: the last run's stderr is exactly one line, matching PATTERN
# (a basic regular expression).
expect_one_line() {
	_n=$(printf '%s\n' "$err" | grep -c .)
	if [ "$_n" -eq 1 ] && printf '%s\n' "$err" | grep -q -- "$2"; then ok "$1: one message"
	else fail "$1: expected one line matching '$2' on stderr, got $_n"; show; fi
}

# expect_no_stderr LABEL
expect_no_stderr() {
	if [ -z "$err" ]; then ok "$1: nothing on stderr"
	else fail "$1: unexpected stderr"; show; fi
}

# same LABEL A B
same() {
	if [ "$2" = "$3" ]; then ok "$1"
	else fail "$1:"; printf '  %s\n  ---\n  %s\n' "$2" "$3" | head -n 20; fi
}

finish() {
	[ $failed -eq 0 ] && echo PASS
	exit $failed
}
