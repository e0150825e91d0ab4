#!/bin/sh
# patterns.sh PROG HOOK_DIR [NAME...|default_mode] -- runs every syscall shape of patterns.S natively and
# under counting.so with INTERCEPT_ALL_OBJS=1 (so the test program itself is patched), and
# checks: identical output; the hook saw exactly the pattern's syscalls (the difference between
# a run of N iterations and one of 0, per syscall number); every site is reported patched by
# INTERCEPT_DEBUG_DUMP=2 (the two all-neighbours-are-targets shapes may instead be reported
# unpatched, but must still work).  It also checks that without INTERCEPT_ALL_OBJS the program's
# own sites are left alone.  Prints which method each site got.
set -u
prog=$1 hookdir=$2
shift 2
hook=$hookdir/counting.so
N=5
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
names=${*:-$("$prog" list) default_mode}
fail=0
progname=$(basename "$prog")

count_of() { # FILE NR
	awk -v nr="$2" '$1 == nr { print $2; found = 1 } END { if (!found) print 0 }' "$1"
}

for name in $names; do
	[ "$name" = default_mode ] && continue
	"$prog" run "$name" $N >"$tmp/native" 2>&1
	if [ $? -ne 0 ]; then
		echo "FAIL $name: native run"; cat "$tmp/native"; fail=1; continue
	fi
	SI_COUNT_FILE=$tmp/c0 INTERCEPT_ALL_OBJS=1 LD_PRELOAD=$hook "$prog" run "$name" 0 \
		>"$tmp/out0" 2>"$tmp/err0"
	st0=$?
	SI_COUNT_FILE=$tmp/cN INTERCEPT_ALL_OBJS=1 INTERCEPT_DEBUG_DUMP=2 LD_PRELOAD=$hook \
		"$prog" run "$name" $N >"$tmp/outN" 2>"$tmp/dump"
	stN=$?
	if [ $st0 -ne 0 ] || [ $stN -ne 0 ] || ! cmp -s "$tmp/native" "$tmp/outN"; then
		echo "FAIL $name: patched run (status $st0/$stN) differs from native:"
		echo "--- native"; cat "$tmp/native"; echo "--- patched"; cat "$tmp/outN"
		echo "--- stderr"; grep -v '^syscall_intercept: site ' "$tmp/dump" | tail -n 20
		fail=1; continue
	fi
	if [ ! -f "$tmp/c0" ] || [ ! -f "$tmp/cN" ]; then
		echo "FAIL $name: counting.so wrote no counts"; fail=1; continue
	fi

	# Which method each site got (lines of the executable: not of a .so)
	methods=""
	unpatched=0
	for off in $("$prog" sites "$name"); do
		line=$(grep -v '\.so' "$tmp/dump" | grep -E "^syscall_intercept: (site|unpatched) .* $off: " | head -n 1)
		case $line in
		"syscall_intercept: site "*) m=${line##*: } ;;
		"syscall_intercept: unpatched "*) m="unpatched (${line##*: })"; unpatched=1 ;;
		*) m="not reported"
		   echo "FAIL $name: site $off is not in the INTERCEPT_DEBUG_DUMP=2 output"; fail=1 ;;
		esac
		methods="$methods $off=$m"
		case $name in
		targets|far) ;;
		*) if [ $unpatched -eq 1 ]; then
			echo "FAIL $name: site $off left unpatched: $line"; fail=1
		   fi ;;
		esac
	done

	# The hook must have seen exactly the pattern's syscalls
	bad=""
	"$prog" expect "$name" $N >"$tmp/expect"
	while read -r nr want; do
		got=$(( $(count_of "$tmp/cN" "$nr") - $(count_of "$tmp/c0" "$nr") ))
		if [ "$got" -ne "$want" ]; then
			if [ $unpatched -eq 1 ] && [ "$got" -eq 0 ]; then
				continue	# an unpatched site is not intercepted
			fi
			bad="$bad syscall $nr: hook saw $got, expected $want;"
		fi
	done <"$tmp/expect"
	if [ -n "$bad" ]; then
		echo "FAIL $name:$bad methods:$methods"; fail=1
	else
		echo "ok   $name:$methods"
	fi
done

# Default mode: the executable is not patched, the hook does not see its own syscalls.
case " $names " in *" default_mode "*) ;; *) [ $fail -eq 0 ] && echo PASS; exit $fail ;; esac
SI_COUNT_FILE=$tmp/d0 LD_PRELOAD=$hook "$prog" run loop 0 >/dev/null 2>&1
SI_COUNT_FILE=$tmp/dN INTERCEPT_DEBUG_DUMP=2 LD_PRELOAD=$hook "$prog" run loop $N \
	>"$tmp/outD" 2>"$tmp/dumpD"
st=$?
got=$(( $(count_of "$tmp/dN" 39) - $(count_of "$tmp/d0" 39) ))
if [ $st -ne 0 ] || [ "$got" -ne 0 ]; then
	echo "FAIL default mode: status $st, the hook saw $got getpid from the executable's own code, expected 0"
	fail=1
else
	echo "ok   default mode: the executable's own syscall sites are not intercepted"
fi
if grep -v '\.so' "$tmp/dumpD" | grep -q "^syscall_intercept: .*$progname"; then
	echo "FAIL default mode: the executable was patched:"; grep "$progname" "$tmp/dumpD"; fail=1
fi
[ $fail -eq 0 ] && echo PASS
exit $fail
