#!/bin/sh
# Runs inside a matrix root (tools/matrix.sh, chroot, /proc /sys /dev mounted): configures the
# snapshot of the source tree in /matrix/src with -DWERROR=ON, builds it, runs the selected
# ctest subset, and leaves in /matrix/out what the host reads: versions, ctest.log, the
# INTERCEPT_DEBUG_DUMP=1 report of this root's libc and ld.so, the failed tests' output, and
# status (0 all passed, 8 some test failed, 4 the build failed, other: the stage in "stage"
# failed), diagnostics.txt (the compiler's errors and warnings).  It must never
# weaken a compiler flag or a test to make a run pass, and never run outside a matrix root.
#   usage: build-test.sh <jobs> <ctest -R regex> [extra CFLAGS, only to explore past a failure]
set -u
jobs=$1 tests=$2 extra=${3:-}
S=/matrix/src B=/matrix/build O=/matrix/out
[ -f /.matrix-bootstrapped ] || { echo "build-test.sh: not inside a matrix root" >&2; exit 2; }
mkdir -p "$O"
echo 99 >"$O/status"

stage() { echo "$1" >"$O/stage"; echo "== $1"; }
fail() { echo "$1" >"$O/status"; exit "$1"; }

glibc=$(ldd --version | head -n 1 | sed 's/.* //')
gcc_v=$(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion)
cmake_v=$(cmake --version | head -n 1 | sed 's/.* //')
P=/usr/local/share/doc/matrix-zydis/PROVENANCE
if [ -f $P ]; then
	zydis_v="$(sed -n 's/^zydis: .*zydis_\([^ ]*\)\.dsc.*/\1/p' $P) + Zycore $(sed -n \
		's/^zycore-c: .*zycore-c_\([0-9.]*\)\.orig.*/\1/p; s/^zycore-c: .*zycore-c_\([^ ]*\)\.dsc.*/\1/p' \
		$P) built here from source ($P)"
else
	zydis_v=$(dpkg-query -W -f='${Version}' libzydis-dev 2>/dev/null)
fi
echo "glibc $glibc, gcc $gcc_v, cmake $cmake_v, Zydis $zydis_v, kernel $(uname -r)" >"$O/versions"
cat "$O/versions"

stage "configure (cmake -DWERROR=ON)"
if [ -n "$extra" ]; then
	echo "EXPLORATORY: extra CFLAGS $extra" | tee -a "$O/versions"
	export CFLAGS="$extra"
fi
cmake -S "$S" -B "$B" -DWERROR=ON >"$O/configure.log" 2>&1 || { cat "$O/configure.log"; fail 3; }

stage "build"
# -k: every error of the build at once, not only the first.  A failed build is the verdict
# (status 4), but the tests whose programs did build still run, to show what else breaks.
build_ok=1
cmake --build "$B" -j "$jobs" -- -k >"$O/build.log" 2>&1 || build_ok=0
grep -E '(error|warning):|undefined reference' "$O/build.log" | sort -u >"$O/diagnostics.txt"
cat "$O/diagnostics.txt"
[ $build_ok = 1 ] || [ -e "$B/src/libsyscall_intercept.so" ] || fail 4

stage "ctest -R '$tests'"
cd "$B" || fail 5
ctest -R "$tests" --output-on-failure -j "$jobs" >"$O/ctest.log" 2>&1
rc=$?
cat "$O/ctest.log"

# What the library found and patched in this root's libc and ld.so, for the record.
stage "INTERCEPT_DEBUG_DUMP=1 (passthrough hook, /bin/true)"
INTERCEPT_DEBUG_DUMP=1 LD_PRELOAD="$B/tests/hooks/passthrough.so" /bin/true >"$O/debug_dump.txt" 2>&1
INTERCEPT_DEBUG_DUMP=2 LD_PRELOAD="$B/tests/hooks/passthrough.so" /bin/true >"$O/debug_dump2.txt" 2>&1
head -n 40 "$O/debug_dump.txt"

# Keep every failed test's verbose output (environment, command, output).
failed=$(sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\) .*/\1/p' "$O/ctest.log")
for t in $failed; do
	ctest -R "^$t\$" -V >"$O/failed-$t.log" 2>&1 || true
done

if [ $build_ok = 0 ]; then echo 4; elif [ $rc = 0 ]; then echo 0; else echo 8; fi >"$O/status"
exit 0
