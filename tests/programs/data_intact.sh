#!/bin/sh
# data_intact.sh -- with INTERCEPT_ALL_OBJS=1, loading a library whose data shares an executable
# segment with its code (libLLVM: one R+X segment from offset 0 holds .rela.dyn, .dynsym,
# .rodata, .eh_frame) must leave that data as it is in the file: only real syscall instructions
# may be patched.  data_intact.py checks it natively first (which proves the check itself), then
# under the library.  Skips (77) when no such library is installed (Debian: libllvm15 or
# libllvm14).  It must never relax the comparison.
set -u
# The system's python3 (a Debian program) rather than whatever PATH finds first.
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3) || { echo "SKIP: python3 is not installed"; exit 77; }
libs=$(for l in /usr/lib/x86_64-linux-gnu/libLLVM-*.so.1; do [ -f "$l" ] && readlink -f "$l"; done |
	sort -u | head -n 2)
[ -n "$libs" ] || { echo "SKIP: no libLLVM-*.so.1 installed (Debian: libllvm15)"; exit 77; }
hook=${SI_HOOK_DIR:?}/passthrough.so
echo "== native"
# shellcheck disable=SC2086
"$py" "$(dirname "$0")/data_intact.py" $libs || { echo "FAIL: differs natively"; exit 1; }
fail=0
for lib in $libs; do
	echo "== INTERCEPT_ALL_OBJS=1: $lib"
	INTERCEPT_ALL_OBJS=1 LD_PRELOAD=$hook timeout -k 5 120 "$py" -X faulthandler \
		"$(dirname "$0")/data_intact.py" "$lib" 2>&1
	st=$?
	[ $st -eq 0 ] || { echo "FAIL: $lib: exit status $st under INTERCEPT_ALL_OBJS=1"; fail=1; }
done
[ $fail -eq 0 ] && echo PASS
exit $fail
