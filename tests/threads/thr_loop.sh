#!/bin/sh
# thr_loop.sh NAME [VAR=value...] -- CMD... -- runs CMD (with the variables set for CMD only,
# not for `timeout` or this shell) THR_ITERATIONS times (default 50), each run bounded by
# THR_RUN_TIMEOUT seconds (default 20), and stops at the first run that does not exit 0: it
# then names the scenario, the iteration and the signal or exit status, and shows that run's
# output.  THR_KEEP_GOING=1 runs every iteration and reports how many failed (to measure a
# failure rate).  It must never retry a failed run or count it as passed, and never leave files
# outside its temporary folder.
set -u
name=$1; shift
: "${THR_ITERATIONS:=50}"
: "${THR_RUN_TIMEOUT:=20}"
: "${THR_KEEP_GOING:=0}"
vars=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
	q=$(printf '%s' "$1" | sed "s/'/'\\\\''/g")
	vars="$vars '$q'"
	shift
done
[ $# -gt 1 ] || { echo "usage: thr_loop.sh NAME [VAR=value...] -- CMD..." >&2; exit 2; }
shift
work=$(mktemp -d "${TMPDIR:-/tmp}/si-thr.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
# A crashing run must not leave a core file behind (nor spend time writing one).  dash, bash
# and busybox sh all have ulimit -c, although POSIX does not promise it.
# shellcheck disable=SC3045
ulimit -c 0 2>/dev/null

# how STATUS: the exit status of a run in words
how() {
	if [ "$1" -eq 124 ] || [ "$1" -eq 137 ]; then
		echo "timed out after ${THR_RUN_TIMEOUT}s (exit $1)"
	elif [ "$1" -gt 128 ]; then
		_sig=$(kill -l $(($1 - 128)) 2>/dev/null) || _sig='?'
		echo "killed by signal $(($1 - 128)) (SIG$_sig, exit $1)"
	else
		echo "exit status $1"
	fi
}

failed=0 first=""
i=1
while [ "$i" -le "$THR_ITERATIONS" ]; do
	eval "timeout -k 5 \"\$THR_RUN_TIMEOUT\" env $vars \"\$@\"" \
		>"$work/out" 2>"$work/err" </dev/null
	st=$?
	if [ "$st" -ne 0 ]; then
		failed=$((failed + 1))
		msg="$name: iteration $i/$THR_ITERATIONS $(how "$st")"
		if [ -z "$first" ]; then
			first=$msg
			echo "FAIL: $msg"
			echo "---- stdout:"; tail -n 20 "$work/out"
			echo "---- stderr:"; grep -v '^syscall_intercept: site ' "$work/err" | tail -n 30
		elif [ "$THR_KEEP_GOING" = 1 ]; then
			echo "FAIL: $msg"
		fi
		[ "$THR_KEEP_GOING" = 1 ] || exit 1
	fi
	i=$((i + 1))
done
if [ "$failed" -ne 0 ]; then
	echo "FAIL: $name: $failed/$THR_ITERATIONS iterations failed; first: $first"
	exit 1
fi
echo "PASS: $name: $THR_ITERATIONS iterations"
exit 0
