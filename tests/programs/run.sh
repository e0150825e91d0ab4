#!/bin/sh
# run.sh NAME [MODE...] -- runs entry NAME of programs.list natively and then under the library
# in each mode (default: passthrough log allobjs exhaustive plancache), every run in a fresh copy
# of the fixture, and compares stdout and exit status with the native run.  Prints one line per
# mode.
#
#   passthrough  LD_PRELOAD=passthrough.so (libc and ld.so patched)
#   log          the same with INTERCEPT_LOG=<file>; "skipped" when the log stays empty (a
#                library without the log)
#   allobjs      INTERCEPT_ALL_OBJS=1 (every loaded object patched)
#   exhaustive   INTERCEPT_EXHAUSTIVE=1 (and the Syscall User Dispatch safety net)
#   plancache    INTERCEPT_ALL_OBJS=1 and INTERCEPT_PLAN_CACHE=<folder>, warmed first by
#                /bin/true: libc and ld.so are patched from plans read back, the program's
#                other objects from plans its earlier processes wrote
#
# Exit status: 0 all modes passed, 1 a mode failed, 77 the program is not installed (skip).
# It must never change what it compares to make a run pass.  Environment: SI_HOOK_DIR (the
# shared test hooks), PROG_KEEP=1 keeps the work folder for inspection.
set -u
. "$(dirname "$0")/lib.sh"

name=${1:?usage: run.sh NAME [MODE...]}
shift
modes=${*:-passthrough log allobjs exhaustive plancache}
entry_exists "$name" || { echo "FAIL: no entry [$name] in $PROG_LIST"; exit 1; }
why=$(entry_missing "$name")
if [ -n "$why" ]; then
	echo "SKIP: $name: $why (Debian: $(entry_field "$name" package))"
	exit 77
fi
hook=${SI_HOOK_DIR:?SI_HOOK_DIR is not set}/passthrough.so
[ -f "$hook" ] || { echo "FAIL: $hook is not built"; exit 1; }
cmd=$(entry_field "$name" run)
limit=$(entry_field "$name" timeout)
limit=${limit:-120}

work=$(mktemp -d "${TMPDIR:-/tmp}/si-prog.XXXXXX") || exit 1
if [ "${PROG_KEEP:-0}" = 1 ]; then
	echo "work folder: $work"
else
	trap 'rm -rf "$work"' EXIT
fi

# run_one MODE: runs the command in $work/MODE; stdout (plus "exit N") to $work/MODE.out.
run_one() {
	_m=$1
	_d=$work/$_m
	make_fixture "$_d" || { echo "FAIL: cannot create the fixture"; exit 1; }
	case $_m in
	native) set -- ;;
	passthrough) set -- LD_PRELOAD="$hook" ;;
	log) set -- LD_PRELOAD="$hook" INTERCEPT_LOG="$work/intercept.log" ;;
	allobjs) set -- LD_PRELOAD="$hook" INTERCEPT_ALL_OBJS=1 ;;
	exhaustive) set -- LD_PRELOAD="$hook" INTERCEPT_EXHAUSTIVE=1 ;;
	plancache) set -- LD_PRELOAD="$hook" INTERCEPT_ALL_OBJS=1 INTERCEPT_PLAN_CACHE="$work/plans"
		env "$@" /bin/true ;;
	*) echo "FAIL: unknown mode $_m"; exit 1 ;;
	esac
	_t0=$(date +%s%N)
	( cd "$_d" && prog_exec "$_d" "$@" timeout -k 5 "$limit" sh -c "$cmd" ) \
		>"$work/$_m.out" 2>"$work/$_m.err" </dev/null
	_st=$?
	_t1=$(date +%s%N)
	echo "exit $_st" >>"$work/$_m.out"
	secs=$(( (_t1 - _t0) / 1000000 ))
	secs=$(printf '%d.%03d' $((secs / 1000)) $((secs % 1000)))
	return 0
}

show() {
	echo "---- [$1] stdout:"; cat "$work/$1.out"
	echo "---- [$1] stderr:"; cat "$work/$1.err"
}

failed=0
run_one native
st=$(tail -n 1 "$work/native.out")
printf '%-28s %-12s %-8s %8ss  %s\n' "$name" native ok "$secs" "$st"
case $st in
"exit 124"|"exit 137") echo "FAIL: the native run timed out"; show native; exit 1 ;;
esac
for m in $modes; do
	[ "$m" = native ] && continue
	run_one "$m"
	verdict=ok
	note=""
	if grep -q "ERROR: ld.so:" "$work/$m.err"; then
		verdict=FAIL; note="the hook library did not load"
	elif ! cmp -s "$work/native.out" "$work/$m.out"; then
		verdict=FAIL; note="stdout or exit status differs from the native run"
	elif [ "$m" = log ] && [ ! -s "$work/intercept.log" ]; then
		verdict=skipped; note="INTERCEPT_LOG wrote nothing (no log in this build?)"
	fi
	printf '%-28s %-12s %-8s %8ss  %s\n' "$name" "$m" "$verdict" "$secs" "$note"
	if [ "$verdict" = FAIL ]; then
		failed=1
		echo "---- diff native $m:"
		diff "$work/native.out" "$work/$m.out"
		show native
		show "$m"
	fi
	if grep -q "^syscall_intercept:" "$work/$m.err"; then
		echo "note: the library wrote to stderr in mode $m:"
		grep "^syscall_intercept:" "$work/$m.err" | head -n 20
	fi
done
[ $failed -eq 0 ] && echo PASS
exit $failed
