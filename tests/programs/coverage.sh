#!/bin/sh
# coverage.sh HOOK [NAME...] -- coverage against strace: runs each single-threaded entry of
# programs.list (coverage: yes; default all of them) once under `strace -f` with the library
# and the counting hook HOOK (coverage_hook.so) in the same run, in the default mode (libc and
# ld.so patched), and prints the table of coverage.py: per program, the syscalls strace saw
# after the hook was installed, those that reached the hook, and the share covered.  Every
# such syscall must reach the hook exactly once per syscall number.
#
# Exit status: 0 all covered, 1 a syscall missed or counted twice, 77 strace or python3 is
# missing (skip).  It must never leave out a syscall from the comparison to make a run pass.
set -u
. "$(dirname "$0")/lib.sh"

hook=${1:?usage: coverage.sh HOOK [NAME...]}
shift
[ -f "$hook" ] || { echo "FAIL: $hook is not built"; exit 1; }
for tool in strace python3; do
	command -v $tool >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
names=${*:-$(entry_names)}

work=$(mktemp -d "${TMPDIR:-/tmp}/si-cov.XXXXXX") || exit 1
if [ "${PROG_KEEP:-0}" = 1 ]; then
	echo "work folder: $work"
else
	trap 'rm -rf "$work"' EXIT
fi

failed=0
args=""
for name in $names; do
	entry_exists "$name" || { echo "FAIL: no entry [$name]"; failed=1; continue; }
	[ "$(entry_field "$name" coverage)" = yes ] || continue
	why=$(entry_missing "$name")
	if [ -n "$why" ]; then
		echo "skipped $name: $why"
		continue
	fi
	cmd=$(entry_field "$name" run)
	limit=$(entry_field "$name" timeout)
	d=$work/$name
	make_fixture "$d" || { echo "FAIL: cannot create the fixture"; exit 1; }
	# strace itself runs without the library: only the traced command gets LD_PRELOAD.
	( cd "$d" && prog_exec "$d" timeout -k 5 "$((${limit:-120} * 2))" \
		strace -f -n -qq -s 65536 -o "$work/$name.strace" -E LD_PRELOAD="$hook" \
		sh -c "$cmd" ) \
		>"$work/$name.out" 2>"$work/$name.err" </dev/null
	st=$?
	case $st in
	124|137) echo "FAIL: $name timed out under strace"; failed=1; continue ;;
	esac
	args="$args $name=$work/$name.strace"
done
[ -n "$args" ] || { echo "SKIP: no program to measure"; exit 77; }
# shellcheck disable=SC2086
python3 "$PROG_DIR/coverage.py" $args || failed=1
[ $failed -eq 0 ] && echo PASS
exit $failed
