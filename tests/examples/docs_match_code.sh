#!/bin/sh
# docs_match_code.sh SOURCE_DIR [SYSCALL_TRACE] -- the man pages keep up with the code:
#  - every INTERCEPT_* variable the library reads (a "INTERCEPT_..." string in src/*.c) is
#    described in docs/libsyscall_intercept.3.md;
#  - every option syscall-trace's usage message lists (-x, --long) is in docs/syscall-trace.1.md.
# It only reads files and runs `syscall-trace --help`.
set -u
. "$(dirname "$0")/lib.sh"
src=$1
trace=${2:-}
page3=$src/docs/libsyscall_intercept.3.md
page1=$src/docs/syscall-trace.1.md
missing=""
for v in $(grep -oh '"INTERCEPT_[A-Z_]*' "$src"/src/*.c | tr -d '"' | sort -u); do
	grep -q "$v" "$page3" || missing="$missing $v"
done
[ -z "$missing" ] || fail "variables read in src/ but not in libsyscall_intercept.3.md:$missing"
echo "environment variables: all documented"
if [ -n "$trace" ] && [ -x "$trace" ]; then
	"$trace" --help >"${TMPDIR:-/tmp}/si_trace_help.$$" 2>&1
	opts=$(grep -oE '(^|[ [])-(-[a-z][a-z-]*|[a-zA-Z])\b' "${TMPDIR:-/tmp}/si_trace_help.$$" |
		tr -d ' [' | sort -u)
	rm -f "${TMPDIR:-/tmp}/si_trace_help.$$"
	for o in $opts; do	# the page writes "--" as "\-\-": compare without backslashes
		sed 's/\\//g' "$page1" | grep -q -F -e "**$o**" || missing="$missing $o"
	done
	[ -z "$missing" ] || fail "syscall-trace options not in syscall-trace.1.md:$missing"
	echo "syscall-trace options: all documented ($(echo $opts))"
fi
echo PASS
