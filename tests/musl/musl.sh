#!/bin/sh
# musl.sh SRCDIR OUTDIR [ZYDIS_LIBRARY [SOURCES]] -- the library on musl: builds a musl variant of
# the library, a hook and a program (build.sh), then runs the program natively and under the
# hook in each mode (default, INTERCEPT_ALL_OBJS, INTERCEPT_EXHAUSTIVE, INTERCEPT_LOG).  Under
# the hook its output must equal the native one except that getppid is answered by the hook
# (also in a forked child), the hook must have seen syscalls, and INTERCEPT_DEBUG_DUMP must show
# musl's libc (ld-musl-x86_64.so.1, which is also its dynamic loader) patched with 0 sites
# left.  Skips (77) without musl-gcc (Debian: musl-tools).  It never relaxes a comparison.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=${1:?usage: musl.sh SRCDIR OUTDIR [ZYDIS_LIBRARY [SOURCES]]}
out=${2:?}
rm -rf "$out"
sh "$here/build.sh" "$src" "$out" "${3:-}" "${4:-}"
st=$?
[ $st -eq 77 ] && exit 77
[ $st -eq 0 ] || { echo "FAIL: the musl build failed"; exit 1; }
prog=$out/musl_prog hook=$out/musl_hook.so
readelf -l "$prog" | grep -q 'ld-musl-x86_64.so.1' || { echo "FAIL: $prog is not linked against musl"; exit 1; }

fail=0
"$prog" >"$out/native.out" 2>"$out/native.err"
echo "exit $?" >>"$out/native.out"
grep -q '^getppid answered by the hook: no (child: no)$' "$out/native.out" ||
	{ echo "FAIL: unexpected native output:"; cat "$out/native.out" "$out/native.err"; exit 1; }
sed 's/^getppid answered by the hook: no (child: no)$/getppid answered by the hook: yes (child: yes)/' \
	"$out/native.out" >"$out/expected.out"

for mode in default allobjs exhaustive log; do
	case $mode in
	default) set -- ;;
	allobjs) set -- INTERCEPT_ALL_OBJS=1 ;;
	exhaustive) set -- INTERCEPT_EXHAUSTIVE=1 ;;
	log) set -- INTERCEPT_LOG="$out/intercept.log" ;;
	esac
	# LD_PRELOAD only for the musl program: timeout and env are glibc programs.
	timeout -k 5 60 env "$@" INTERCEPT_DEBUG_DUMP=1 LD_PRELOAD="$hook" "$prog" \
		>"$out/$mode.out" 2>"$out/$mode.err"
	echo "exit $?" >>"$out/$mode.out"
	verdict=ok
	if ! cmp -s "$out/expected.out" "$out/$mode.out"; then
		verdict="FAIL: output differs from the native one (with getppid answered)"
		diff "$out/expected.out" "$out/$mode.out"
	elif ! grep -q '^hook: [1-9][0-9]* syscalls' "$out/$mode.err"; then
		verdict="FAIL: the hook saw no syscall"
	elif ! grep -q '^syscall_intercept: patched [^ ]*ld-musl-x86_64.so.1: [1-9][0-9]* sites, .* 0 unpatched\( .*\)\{0,1\}$' \
		"$out/$mode.err"; then
		verdict="FAIL: musl's libc is not fully patched"
	elif [ $mode = log ] && [ ! -s "$out/intercept.log" ]; then
		verdict="skipped (INTERCEPT_LOG wrote nothing)"
	fi
	echo "musl $mode: $verdict"
	grep -E '^(hook:|syscall_intercept: patched .*ld-musl)' "$out/$mode.err" | sed 's/^/  /'
	case $verdict in FAIL*) fail=1; cat "$out/$mode.out" "$out/$mode.err" ;; esac
done
[ $fail -eq 0 ] && echo PASS
exit $fail
