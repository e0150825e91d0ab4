#!/bin/sh
# all_sites.sh SITECHECK HOOK -- every syscall site of this machine's libc.so.6 and ld.so is
# patched.  The sites come from objdump -d of the very files the process maps (independent of
# the library's own decoder); sitecheck then reads the bytes at each site in memory: natively
# they are 0f 05 (proving the addresses right), under the library none may be.  The library's
# INTERCEPT_DEBUG_DUMP=1 summary must report 0 unpatched for both objects.
set -u
sitecheck=$1 hook=$2
command -v objdump >/dev/null || { echo "FAIL: objdump (binutils) is needed"; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

"$sitecheck" paths >"$tmp/paths" || { cat "$tmp/paths"; exit 1; }
libc=$(sed -n 's/^libc //p' "$tmp/paths")
ldso=$(sed -n 's/^ldso //p' "$tmp/paths")
echo "libc: $libc"
echo "ld.so: $ldso"

sites() {
	objdump -d --no-show-raw-insn "$1" |
		sed -n 's/^ *\([0-9a-f][0-9a-f]*\):[[:space:]]*syscall[[:space:]]*$/\1/p'
}
sites "$libc" >"$tmp/libc.sites"
sites "$ldso" >"$tmp/ldso.sites"
n_libc=$(wc -l <"$tmp/libc.sites")
n_ldso=$(wc -l <"$tmp/ldso.sites")
echo "objdump: $n_libc syscall instructions in libc, $n_ldso in ld.so"
[ "$n_libc" -gt 0 ] && [ "$n_ldso" -gt 0 ] || { echo "FAIL: objdump found no sites"; exit 1; }

echo "== native (every listed site must read 0f 05)"
"$sitecheck" check "$tmp/libc.sites" "$tmp/ldso.sites" expect-native || exit 1

echo "== under the library (no listed site may read 0f 05)"
fail=0
INTERCEPT_DEBUG_DUMP=1 LD_PRELOAD=$hook "$sitecheck" check "$tmp/libc.sites" "$tmp/ldso.sites" \
	expect-patched 2>"$tmp/dump" || fail=1

echo "== INTERCEPT_DEBUG_DUMP=1 summary"
grep '^syscall_intercept: patched ' "$tmp/dump"
for key in libc.so.6 ld-linux-x86-64.so.2; do
	line=$(grep "^syscall_intercept: patched .*$key: " "$tmp/dump" | head -n 1)
	if [ -z "$line" ]; then
		echo "FAIL: no summary line for $key"; fail=1; continue
	fi
	n=$(echo "$line" | sed -n 's/.*: \([0-9]*\) sites, \([0-9]*\) jmp-window, \([0-9]*\) jmp-padding, \([0-9]*\) unpatched$/\1 \2 \3 \4/p')
	if [ -z "$n" ]; then
		echo "FAIL: malformed summary line: $line"; fail=1; continue
	fi
	set -- $n
	if [ "$4" -ne 0 ]; then
		echo "FAIL: $key: $4 sites unpatched:"
		grep "^syscall_intercept: unpatched .*$key " "$tmp/dump"
		fail=1
	fi
	if [ $(($2 + $3 + $4)) -ne "$1" ]; then
		echo "FAIL: $key: $2 + $3 + $4 != $1 sites"; fail=1
	fi
	if [ "$key" = libc.so.6 ]; then want=$n_libc; else want=$n_ldso; fi
	[ "$1" -eq "$want" ] || echo "note: $key: the library found $1 sites, objdump $want"
done
[ $fail -eq 0 ] && echo PASS
exit $fail
