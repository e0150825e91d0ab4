#!/bin/sh
# reload.sh PROBE LIB HOOK -- under INTERCEPT_ALL_OBJS, a library dlopened, dlclosed and dlopened
# again (often at the same address) is patched every time: 100 rounds must all reach the hook.
# Then the same under gdb, which keeps a breakpoint on ld.so's _dl_debug_state, the function
# through which the library learns of loads: loads must still be seen and patched.
set -u
probe=$1 lib=$2 hook=$3
fail=0
echo "== 100 reloads"
INTERCEPT_ALL_OBJS=1 LD_PRELOAD=$hook "$probe" "$lib" 100 || fail=1
if command -v gdb >/dev/null 2>&1; then
	echo "== 5 reloads under gdb"
	out=$(gdb -q -batch -nx -ex "set environment LD_PRELOAD $hook" \
		-ex "set environment INTERCEPT_ALL_OBJS 1" -ex run \
		--args "$probe" "$lib" 5 2>&1)
	echo "$out" | grep -v '^\['
	echo "$out" | grep -q '^5 of 5 calls reached the hook' || { echo "FAIL: under gdb"; fail=1; }
	echo "$out" | grep -q 'cannot watch dlopen' && { echo "FAIL: dlopen not watched under gdb"; fail=1; }
else
	echo "SKIP: no gdb"
fi
[ $fail = 0 ] && echo "PASS" || echo "FAIL"
exit $fail
