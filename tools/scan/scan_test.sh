#!/bin/sh
# scan_test.sh SCANNER -- syscall-intercept-scan finds every syscall site of this machine's
# libc.so.6 and ld.so (the same number objdump finds) and reports none of them unpatched: the
# library patches them all without the safety net.  It only reads the two files.
set -u
scan=${1:?usage: scan_test.sh SCANNER}
libs=$(ldd /bin/sh | sed -n 's/.*=> \(\/[^ ]*\(libc\.so\.6\|ld-linux-x86-64\.so\.2\)\) .*/\1/p;
	s/^[[:space:]]*\(\/[^ ]*ld-linux-x86-64\.so\.2\) .*/\1/p' | sort -u)
[ "$(echo "$libs" | wc -l)" -eq 2 ] || { echo "FAIL: cannot find libc and ld.so: $libs"; exit 1; }
fail=0
for lib in $libs; do
	real=$(readlink -f "$lib")
	out=$("$scan" --summary --check "$real")
	st=$?
	echo "$out"
	[ $st -eq 0 ] || { echo "FAIL: $real: sites left unpatched"; fail=1; }
	n=$(echo "$out" | sed -n "s|^$real: \([0-9]*\) sites,.*|\1|p")
	if command -v objdump >/dev/null; then
		want=$(objdump -d --no-show-raw-insn "$real" | grep -c -E '^ *[0-9a-f]+:[[:space:]]*syscall[[:space:]]*$')
		[ "$n" = "$want" ] || { echo "FAIL: $real: the scanner found $n sites, objdump $want"; fail=1; }
	fi
	[ "${n:-0}" -gt 0 ] || { echo "FAIL: $real: no site found"; fail=1; }
done
[ $fail -eq 0 ] && echo PASS
exit $fail
