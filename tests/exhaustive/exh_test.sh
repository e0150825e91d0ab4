#!/bin/sh
# exh_test.sh CASE BIN_DIR -- one exhaustive-mode test case (see CMakeLists.txt).  Each case
# runs a program of BIN_DIR natively and under a shared hook of $SI_HOOK_DIR (counting.so,
# clobber.so, passthrough.so) with INTERCEPT_ALL_OBJS / INTERCEPT_EXHAUSTIVE as the case needs,
# every run bounded by `timeout`, and compares stdout and exit status with the native run and
# hook counts with exact expectations.  Exit 0: pass; 1: fail; 77: cannot run here.  It must
# never relax a comparison to make a run pass, and never leave files outside its temporary folder.
set -u
case_name=$1 bin=$2
: "${SI_HOOK_DIR:?SI_HOOK_DIR not set (run through ctest)}"
: "${EXH_RUN_TIMEOUT:=120}"
work=$(mktemp -d "${TMPDIR:-/tmp}/si-exh.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
failed=0
counting=$SI_HOOK_DIR/counting.so
clobber=$SI_HOOK_DIR/clobber.so
passthrough=$SI_HOOK_DIR/passthrough.so
for f in "$counting" "$clobber" "$passthrough"; do
	[ -f "$f" ] || { echo "FAIL: hook $f not built"; exit 1; }
done

fail() { echo "FAIL: $*"; failed=1; }

# run TAG [VAR=value...] -- CMD...: runs CMD with the variables set (for CMD only, not for
# `timeout`, which would otherwise be intercepted too and write counts of its own), stdout to
# $work/TAG.out, stderr to $work/TAG.err, exit status to $work/TAG.st (124: timed out).
run() {
	_tag=$1; shift
	_vars=""
	while [ "$1" != "--" ]; do
		_q=$(printf '%s' "$1" | sed "s/'/'\\\\''/g")
		_vars="$_vars '$_q'"
		shift
	done
	shift
	eval "timeout -k 5 \"\$EXH_RUN_TIMEOUT\" env $_vars \"\$@\"" \
		>"$work/$_tag.out" 2>"$work/$_tag.err"
	_st=$?
	echo "$_st" >"$work/$_tag.st"
	[ "$_st" -eq 124 ] && fail "$_tag: timed out after ${EXH_RUN_TIMEOUT}s: $*"
	return "$_st"
}

show() { # TAG: print a run's output for the log
	echo "--- $1: exit $(cat "$work/$1.st")"
	sed 's/^/  | /' "$work/$1.out"
	if [ -s "$work/$1.err" ]; then
		echo "  stderr:"; grep -v '^syscall_intercept: site ' "$work/$1.err" | tail -n 30 | sed 's/^/  ! /'
	fi
}

# same_as TAG REF: stdout and exit status of TAG equal those of REF (the native run)
same_as() {
	if cmp -s "$work/$1.out" "$work/$2.out" && cmp -s "$work/$1.st" "$work/$2.st"; then
		echo "ok   $1: same output and exit status as $2 ($(cat "$work/$1.st"))"
	else
		fail "$1 differs from $2"; show "$2"; show "$1"
	fi
}

# must_pass TAG: exit status 0
must_pass() {
	if [ "$(cat "$work/$1.st")" = 0 ]; then echo "ok   $1: exit 0"; else fail "$1: exit status"; show "$1"; fi
}

# count FILE WHAT: the count of WHAT (a syscall number, total, clone_child...) in a counts file
count() {
	[ -f "$1" ] || { echo "missing"; return; }
	awk -v w="$2" '$1 == w { v = $2 } END { print v + 0 }' "$1"
}

# expect_eq DESCRIPTION GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then echo "ok   $1: $2"; else fail "$1: got $2, expected $3"; fi
}

# expect_ge DESCRIPTION GOT MIN
expect_ge() {
	if [ "$2" != missing ] && [ "$2" -ge "$3" ]; then echo "ok   $1: $2 (>= $3)"
	else fail "$1: got $2, expected at least $3"; fi
}

# diff_count TAG0 TAGN NR: count of NR in TAGN's counts minus TAG0's ($work/TAG.cnt)
diff_count() {
	_a=$(count "$work/$1.cnt" "$3"); _b=$(count "$work/$2.cnt" "$3")
	if [ "$_a" = missing ] || [ "$_b" = missing ]; then echo missing; return; fi
	echo $((_b - _a))
}

# counted TAG [VAR=value...] -- CMD: run under counting.so, counts in $work/TAG.cnt
counted() {
	_t=$1; shift
	run "$_t" LD_PRELOAD="$counting" SI_COUNT_FILE="$work/$_t.cnt" "$@"
}

# child_counts TAG: the counts file of the child process named "child <pid>" on TAG's stderr
child_counts() {
	_pid=$(sed -n 's/^child \([0-9][0-9]*\)$/\1/p' "$work/$1.err" | head -n 1)
	echo "$work/$1.cnt-$_pid"
}

ALL="INTERCEPT_ALL_OBJS=1"
EXH="INTERCEPT_EXHAUSTIVE=1"
NONE="INTERCEPT_ALL_OBJS=0"
GETPID=39 GETPPID=110 FORK=57 CLONE=56 CLONE3=435

case $case_name in

exe_inline_syscall)
	# The executable's own `syscall` reaches the hook only when every object is patched.
	p=$bin/exh_sites N=7
	run native -- "$p" inline $N
	must_pass native
	for mode in default all exh; do
		case $mode in default) v=$NONE; want=0 ;; all) v=$ALL; want=$N ;; exh) v=$EXH; want=$N ;; esac
		counted "$mode.0" "$v" -- "$p" inline 0
		counted "$mode.N" "$v" -- "$p" inline $N
		same_as "$mode.N" native
		expect_eq "$mode mode: hook saw the executable's $N inline getppid" \
			"$(diff_count "$mode.0" "$mode.N" $GETPPID)" "$want"
	done
	;;

dlopen_inline_syscall)
	# A library dlopen'ed after start: patched at load (before its constructor runs), with
	# its INTERCEPT_DEBUG_DUMP line printed during dlopen.
	p=$bin/exh_sites lib=$bin/exh_dlib.so N=5
	run native -- "$p" dlopen "$lib" $N
	must_pass native
	for mode in default all exh; do
		case $mode in default) v=$NONE; want=0 ;; all) v=$ALL; want=$((N + 1)) ;; exh) v=$EXH; want=$((N + 1)) ;; esac
		counted "$mode.0" "$v" -- "$p" dlopen - $N
		counted "$mode.N" "$v" INTERCEPT_DEBUG_DUMP=1 -- "$p" dlopen "$lib" $N
		same_as "$mode.N" native
		expect_eq "$mode mode: hook saw the library's $N getppid + 1 from its constructor" \
			"$(diff_count "$mode.0" "$mode.N" $GETPPID)" "$want"
		[ $mode = default ] && continue
		err=$work/$mode.N.err
		before=$(grep -n '^exh_sites: before dlopen$' "$err" | cut -d: -f1)
		after=$(grep -n '^exh_sites: after dlopen$' "$err" | cut -d: -f1)
		line=$(grep -n "^syscall_intercept: patched $lib: " "$err")
		at=${line%%:*}
		if [ -z "$line" ] || [ -z "$before" ] || [ -z "$after" ]; then
			fail "$mode mode: no 'syscall_intercept: patched $lib: ...' line (or markers)"; show "$mode.N"
		elif [ "$at" -le "$before" ] || [ "$at" -ge "$after" ]; then
			fail "$mode mode: the dump line for $lib is not between 'before dlopen' and 'after dlopen'"; show "$mode.N"
		else
			echo "ok   $mode mode: printed during dlopen: ${line#*:}"
			case ${line#*:} in
			*": 1 sites, "*", 0 unpatched") echo "ok   $mode mode: its one site patched" ;;
			*) fail "$mode mode: expected '1 sites, ..., 0 unpatched'" ;;
			esac
		fi
	done
	;;

jit_syscall)
	# Generated code: only the safety net (INTERCEPT_EXHAUSTIVE) can see it.
	p=$bin/exh_sites N=9
	run native -- "$p" jit $N
	must_pass native
	for mode in default all exh; do
		case $mode in default) v=$NONE; want=0 ;; all) v=$ALL; want=0 ;; exh) v=$EXH; want=$N ;; esac
		counted "$mode.0" "$v" -- "$p" jit 0
		counted "$mode.N" "$v" -- "$p" jit $N
		same_as "$mode.N" native
		expect_eq "$mode mode: hook saw the $N generated-code getpid" \
			"$(diff_count "$mode.0" "$mode.N" $GETPID)" "$want"
	done
	;;

regstate_selftest)
	# Negative control: the checker catches every deliberately broken register, natively and
	# with the saboteurs' sites patched under clobber.so.
	p=$bin/exh_regs
	run native -- "$p" selftest
	must_pass native
	run exh.clobber LD_PRELOAD="$clobber" "$EXH" -- "$p" selftest
	same_as exh.clobber native
	;;

regstate_exe_site)
	# The site in the executable, patched (INTERCEPT_ALL_OBJS, and INTERCEPT_EXHAUSTIVE) under
	# the clobbering hook; counted once per call under counting.so.
	p=$bin/exh_regs
	run native -- "$p" site unpatched
	must_pass native
	run all.clobber LD_PRELOAD="$clobber" "$ALL" -- "$p" site patched
	same_as all.clobber native
	run exh.clobber LD_PRELOAD="$clobber" "$EXH" -- "$p" site patched
	same_as exh.clobber native
	run default.clobber LD_PRELOAD="$clobber" "$NONE" -- "$p" site unpatched
	same_as default.clobber native
	calls=$(sed -n 's/^calls //p' "$work/native.out")
	counted all.count "$ALL" -- "$p" site patched
	same_as all.count native
	expect_eq "all-objects mode: hook calls of getppid (sites + 1 from libc)" \
		"$(count "$work/all.count.cnt" $GETPPID)" $((calls + 1))
	;;

regstate_jit_site)
	# A generated-code copy of the same site, caught by the safety net, under clobber.so.
	p=$bin/exh_regs
	run native -- "$p" jit
	must_pass native
	run exh.clobber LD_PRELOAD="$clobber" "$EXH" -- "$p" jit
	same_as exh.clobber native
	calls=$(sed -n 's/^calls //p' "$work/native.out")
	counted exh.count "$EXH" -- "$p" jit
	same_as exh.count native
	expect_eq "exhaustive mode: hook calls of getppid (sites + 1 from libc)" \
		"$(count "$work/exh.count.cnt" $GETPPID)" $((calls + 1))
	;;

sigsys_handler|sigsys_sa_mask|sigsys_in_handler|sigsys_pending|sigsys_default|sigsys_untouched|sigsys_ignore)
	# The application's own SIGSYS and signal masks, under the SIGSYS-based safety net.
	p=$bin/exh_sigsys
	case $case_name in
	sigsys_handler) m=handler ;; sigsys_sa_mask) m=samask ;; sigsys_in_handler) m=inhandler ;; sigsys_pending) m=pending ;;
	sigsys_default) m=default ;; sigsys_untouched) m=untouched ;; sigsys_ignore) m=ignore ;;
	esac
	# Through sh, so a death by signal shows as 128 + signal number, as natively.
	run native -- sh -c '"$@"; echo "exit status $?"' sh "$p" $m
	case $m in
	default|untouched) expect_eq "native: died of SIGSYS" "$(tail -n 1 "$work/native.out")" "exit status 159" ;;
	*) must_pass native ;;
	esac
	run exh LD_PRELOAD="$passthrough" "$EXH" -- sh -c '"$@"; echo "exit status $?"' sh "$p" $m
	same_as exh native
	# The safety net was really armed: the (at least 100) generated-code getpid were counted.
	# (Not for the modes that die of SIGSYS: counting.so writes its counts at exit.)
	case $m in
	default|untouched|samask) ;;
	*)	counted exh.count "$EXH" -- "$p" $m
		expect_ge "exhaustive mode: generated-code getpid reached the hook" \
			"$(count "$work/exh.count.cnt" $GETPID)" 100 ;;
	esac
	;;

threads)
	p=$bin/exh_procs T=4 N=10000
	run native -- "$p" threads $T $N
	must_pass native
	counted exh.0 "$EXH" -- "$p" threads $T 0
	counted exh.N "$EXH" -- "$p" threads $T $N
	same_as exh.N native
	expect_eq "exhaustive mode: $T threads x $N generated-code getppid counted" \
		"$(diff_count exh.0 exh.N $GETPPID)" $((T * N))
	;;

fork|jit_fork)
	p=$bin/exh_procs N=1000 M=300
	m=fork; [ $case_name = jit_fork ] && m=jitfork
	run native -- "$p" $m $N $M
	must_pass native
	run exh.0 LD_PRELOAD="$counting" SI_COUNT_FILE="$work/exh.0.cnt-" "$EXH" -- "$p" $m 0 0
	run exh.N LD_PRELOAD="$counting" SI_COUNT_FILE="$work/exh.N.cnt-" "$EXH" -- "$p" $m $N $M
	same_as exh.N native
	c0=$(child_counts exh.0) cN=$(child_counts exh.N) p0=missing pN=missing
	# The parent's file: the one that is not the child's.
	for f in "$work"/exh.0.cnt-*; do [ "$f" != "$c0" ] && p0=$f; done
	for f in "$work"/exh.N.cnt-*; do [ "$f" != "$cN" ] && pN=$f; done
	[ -f "$c0" ] && [ -f "$cN" ] && [ -f "$p0" ] && [ -f "$pN" ] ||
		{ fail "missing counts files"; ls "$work"; show exh.N; }
	a=$(count "$c0" $GETPPID) b=$(count "$cN" $GETPPID)
	expect_eq "child: its $N generated-code getppid counted" $((b - a)) $N
	a=$(count "$p0" $GETPPID) b=$(count "$pN" $GETPPID)
	expect_eq "parent: its $M generated-code getppid counted" $((b - a)) $M
	expect_eq "child: clone_child hook called once" "$(count "$cN" clone_child)" 1
	expect_eq "parent: clone_parent hook called once" "$(count "$pN" clone_parent)" 1
	if [ $m = jitfork ]; then
		expect_eq "parent: the generated-code fork reached the hook" "$(count "$pN" $FORK)" 1
	fi
	;;

vfork_exec|posix_spawn)
	p=$bin/exh_procs N=500
	m=vfork; [ $case_name = posix_spawn ] && m=spawn
	run native -- "$p" $m $N
	must_pass native
	run exh.0 LD_PRELOAD="$counting" SI_COUNT_FILE="$work/exh.0.cnt-" "$EXH" -- "$p" $m 0
	run exh.N LD_PRELOAD="$counting" SI_COUNT_FILE="$work/exh.N.cnt-" "$EXH" -- "$p" $m $N
	same_as exh.N native
	a=$(count "$(child_counts exh.0)" $GETPPID) b=$(count "$(child_counts exh.N)" $GETPPID)
	if [ "$a" = missing ] || [ "$b" = missing ]; then
		fail "the exec'd child wrote no counts"; show exh.N
	else
		expect_eq "exec'd child: its $N generated-code getppid counted" $((b - a)) $N
	fi
	;;

jit_clone|jit_clone3)
	p=$bin/exh_procs N=1000
	m=jitclone nr=$CLONE
	[ $case_name = jit_clone3 ] && m=jitclone3 nr=$CLONE3
	run native -- "$p" $m $N
	must_pass native
	counted exh.0 "$EXH" -- "$p" $m 0
	counted exh.N "$EXH" -- "$p" $m $N
	same_as exh.N native
	expect_eq "raw thread: its $N generated-code getppid counted" \
		"$(diff_count exh.0 exh.N $GETPPID)" $N
	expect_eq "the generated-code $m reached the hook" "$(count "$work/exh.N.cnt" $nr)" 1
	expect_eq "clone_child hook called in the raw thread" "$(count "$work/exh.N.cnt" clone_child)" 1
	;;

program_sh)
	cmd='ls / | wc -l; ls -l /usr/bin | sort | head -n 3 | wc -c; echo $((6 * 7))'
	run native -- sh -c "$cmd"
	must_pass native
	run exh LD_PRELOAD="$passthrough" "$EXH" -- sh -c "$cmd"
	same_as exh native
	;;

program_python)
	command -v python3 >/dev/null 2>&1 || { echo "SKIP: no python3"; exit 77; }
	py=$(python3 -c 'import sys; print(sys.executable)') || { echo "SKIP: python3 broken"; exit 77; }
	[ -x "$py" ] || { echo "SKIP: python3 executable $py not found"; exit 77; }
	echo "python: $py"
	run native -- "$py" "$(dirname "$0")/exh_python.py"
	must_pass native
	run exh LD_PRELOAD="$passthrough" "$EXH" -- "$py" "$(dirname "$0")/exh_python.py"
	same_as exh native
	;;

*)
	echo "unknown case $case_name"; exit 2 ;;
esac

[ $failed -eq 0 ] && echo "PASS $case_name" || echo "FAIL $case_name"
exit $failed
