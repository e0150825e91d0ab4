# lib.sh -- helpers shared by the example tests (sourced, never run).  Each test creates its own
# scratch folder with `si_tmpdir` and removes it on exit; it must never touch anything outside.

SKIP=77		# ctest SKIP_RETURN_CODE of every test in this folder

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit $SKIP; }

si_tmpdir() {
	tmp=$(mktemp -d) || fail "mktemp"
	trap 'rm -rf "$tmp"' EXIT
}

# PY: a real python3 executable (not a wrapper script that would itself run under the hook).
si_python() {
	p=$(command -v python3) || skip "python3 not installed"
	PY=$("$p" -c 'import sys; print(sys.executable)') || skip "python3 does not run"
	[ -x "$PY" ] || skip "python3 executable not found"
}
