#!/bin/sh
# bool_env.sh LIB TARGET -- every boolean and level variable follows the one rule of
# libsyscall_intercept(3): unset is the variable's default, "" is off, an optional sign and
# decimal digits (nothing else) are that number (negative: off; above 9: 9), any other text is
# 1.  A table of odd values ("", "0", "1", "2", "yes", "-1", " 1", "0x1", "+1", " 0", "no",
# thousands of digits or letters) is given to each variable in turn, and what the library did
# is observed: INTERCEPT_DEBUG_DUMP (which lines it prints: level 1 or 2), INTERCEPT_ALL_OBJS and
# INTERCEPT_EXHAUSTIVE (the program itself patched), INTERCEPT_NO_VECTOR_SAVE (the entry that
# saves no vector state), INTERCEPT_LOG_TRUNC (an old line kept or not), INTERCEPT_LOG_CHILDREN
# (a forked child's line logged or not), INTERCEPT_LOG_TIMING (times on result lines).
# TARGET is tests/log's log_target.  A plan cache only makes the many runs faster.
. "$(dirname "$0")/lib.sh"
lib=$1 target=$2
cache=$work/cache
name=$(basename "$target")

digits() { printf "%${2}s" "" | tr ' ' "$1"; }
long0=$(digits 0 3000)
long01="${long0}1"
long9=$(digits 9 3000)
longx=$(digits x 3000)

# one_case N: sets label, value and level (the level the rule gives; "default" when unset)
N_CASES=17
one_case() {
	set_ok=1
	case $1 in
	1) label="unset"; value=""; level=default ;;
	2) label='""'; value=""; level=0 ;;
	3) value="0"; level=0 ;;
	4) value="1"; level=1 ;;
	5) value="2"; level=2 ;;
	6) value="yes"; level=1 ;;
	7) value="-1"; level=0 ;;
	8) value=" 1"; level=1 ;;
	9) value="0x1"; level=1 ;;
	10) value="00"; level=0 ;;
	11) value="+1"; level=1 ;;
	12) value=" 0"; level=1 ;;
	13) value="no"; level=1 ;;
	14) label="3000 zeros"; value=$long0; level=0 ;;
	15) label="3000 zeros then 1"; value=$long01; level=1 ;;
	16) label="3000 nines"; value=$long9; level=9 ;;
	17) label="3000 letters"; value=$longx; level=1 ;;
	esac
	case $1 in 1|2|14|15|16|17) ;; *) label="\"$value\"" ;; esac
}

# observe VAR: runs the program with VAR set as one_case left it; prints the level seen (for
# INTERCEPT_DEBUG_DUMP 0, 1 or 2; for the booleans 0 or 1).
observe() {
	if [ "$level" = default ]; then set_var=""; else set_var="$1=$value"; fi
	case $1 in
	INTERCEPT_DEBUG_DUMP)
		run LD_PRELOAD="$lib" INTERCEPT_PLAN_CACHE="$cache" "$set_var" -- "$target" quiet
		if printf '%s\n' "$err" | grep -q 'syscall_intercept: entry saves'; then echo 2
		elif printf '%s\n' "$err" | grep -q 'syscall_intercept: patched '; then echo 1
		else echo 0; fi ;;
	INTERCEPT_ALL_OBJS|INTERCEPT_EXHAUSTIVE)
		run LD_PRELOAD="$lib" INTERCEPT_PLAN_CACHE="$cache" INTERCEPT_DEBUG_DUMP=1 "$set_var" -- \
			"$target" quiet
		printf '%s\n' "$err" | grep -q "syscall_intercept: patched .*/$name:" && echo 1 || echo 0 ;;
	INTERCEPT_NO_VECTOR_SAVE)
		run LD_PRELOAD="$lib" INTERCEPT_PLAN_CACHE="$cache" INTERCEPT_DEBUG_DUMP=2 "$set_var" -- \
			"$target" quiet
		printf '%s\n' "$err" | grep -q 'entry saves no vector state' && echo 1 || echo 0 ;;
	INTERCEPT_LOG_TRUNC)
		echo "old line" >"$work/trunc.log"
		run LD_PRELOAD="$lib" INTERCEPT_PLAN_CACHE="$cache" INTERCEPT_LOG="$work/trunc.log" \
			"$set_var" -- "$target" quiet
		grep -q '^old line$' "$work/trunc.log" && echo 0 || echo 1 ;;
	INTERCEPT_LOG_CHILDREN)
		rm -f "$work/children.log"
		run LD_PRELOAD="$lib" INTERCEPT_PLAN_CACHE="$cache" INTERCEPT_LOG="$work/children.log" \
			"$set_var" -- "$target" forker
		grep -q -- ' -- write(1, "child ' "$work/children.log" && echo 1 || echo 0 ;;
	INTERCEPT_LOG_TIMING)
		rm -f "$work/timing.log"
		run LD_PRELOAD="$lib" INTERCEPT_PLAN_CACHE="$cache" INTERCEPT_LOG="$work/timing.log" \
			"$set_var" -- "$target" quiet
		grep -q -- ' = [0-9]* <[0-9]*\.[0-9]*>$' "$work/timing.log" && echo 1 || echo 0 ;;
	esac
}

run LD_PRELOAD="$lib" INTERCEPT_PLAN_CACHE="$cache" -- "$target" quiet	# writes the plans
for var in INTERCEPT_DEBUG_DUMP INTERCEPT_ALL_OBJS INTERCEPT_EXHAUSTIVE INTERCEPT_NO_VECTOR_SAVE \
	INTERCEPT_LOG_TRUNC INTERCEPT_LOG_CHILDREN INTERCEPT_LOG_TIMING; do
	case $var in INTERCEPT_LOG_TRUNC|INTERCEPT_LOG_CHILDREN) default=1 ;; *) default=0 ;; esac
	i=1
	while [ $i -le $N_CASES ]; do
		one_case $i
		want=$level
		[ "$want" = default ] && want=$default
		if [ "$var" = INTERCEPT_DEBUG_DUMP ]; then
			[ "$want" -gt 2 ] && want=2	# levels above 2 print what 2 prints
		else
			[ "$want" -gt 0 ] && want=1
		fi
		got=$(observe $var)
		if [ "$got" = "$want" ]; then ok "$var=$label: $got"
		else fail "$var=$label: acts as $got, the rule says $want"; fi
		i=$((i + 1))
	done
done
finish
