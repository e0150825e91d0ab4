#!/bin/sh
# scarce.sh HOOK RELOAD_PROBE RELOAD_LIB RELOAD_HOOK -- the library finds room for its
# trampolines without reading /proc/self/maps: with no descriptor to spare (RLIMIT_NOFILE 4,
# the log holding the one left) libc and ld.so must be patched whole and the program's calls
# logged to its exit; without /proc (a private mount namespace with an empty one, where that
# can be made) libc and ld.so must be patched whole and a library dlopened under
# INTERCEPT_ALL_OBJS must reach the hook.  It must never accept an unpatched run.
set -u
hook=$1 reload_probe=$2 reload_lib=$3 reload_hook=$4
tmp=$(mktemp -d "${TMPDIR:-/tmp}/si-scarce.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
# libc and ld.so patched, every site but those that cannot be patched safely while other
# threads run: without a descriptor to read /proc/self/stat, and before glibc 2.32 (no
# __libc_single_threaded), the library cannot tell that there are none and must assume some.
patched_whole() {
	grep -q '^syscall_intercept: patched .*libc.so.6\( (other threads running)\)\{0,1\}: ' "$1" &&
		grep -q '^syscall_intercept: patched .*ld-linux-x86-64.so.2' "$1" &&
		! grep '^syscall_intercept: unpatched ' "$1" | grep -qv 'not safe while other threads run'
}
echo "== RLIMIT_NOFILE 4, INTERCEPT_LOG holding the spare descriptor"
# Descriptors the test runner left open would count against the limit: close them first.
if python3 -c 'import os, resource, sys
os.closerange(3, 65536)
resource.setrlimit(resource.RLIMIT_NOFILE, (4, 4))
os.execvp(sys.argv[1], sys.argv[1:])' env LD_PRELOAD="$hook" INTERCEPT_LOG="$tmp/log" \
	INTERCEPT_DEBUG_DUMP=1 "$reload_probe" "$reload_lib" 0 2>"$tmp/err1"; then
	patched_whole "$tmp/err1" || { cat "$tmp/err1"; echo "FAIL: not patched whole"; fail=1; }
	grep -q ' exit_group(0) = ?$' "$tmp/log" ||
		{ tail -3 "$tmp/log"; echo "FAIL: the log misses the exit"; fail=1; }
else
	cat "$tmp/err1"; echo "FAIL: with one spare descriptor"; fail=1
fi
echo "== no /proc"
if unshare -rm sh -c 'mount -t tmpfs none /proc' 2>/dev/null; then
	if unshare -rm sh -c 'mount -t tmpfs none /proc && exec "$@"' sh env \
		LD_PRELOAD="$reload_hook" INTERCEPT_ALL_OBJS=1 INTERCEPT_DEBUG_DUMP=1 \
		"$reload_probe" "$reload_lib" 5 >"$tmp/out2" 2>"$tmp/err2"; then
		patched_whole "$tmp/err2" || { cat "$tmp/err2"; echo "FAIL: not patched whole"; fail=1; }
		cat "$tmp/out2"
	else
		cat "$tmp/out2" "$tmp/err2"; echo "FAIL: without /proc"; fail=1
	fi
else
	echo "SKIP: cannot make a mount namespace here"
fi
[ $fail = 0 ] && echo PASS || echo FAIL
exit $fail
