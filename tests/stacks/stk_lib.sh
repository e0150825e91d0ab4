# stk_lib.sh -- shell helpers shared by the small-stack tests (sourced, POSIX sh).  It runs a
# test program natively and under the library in its modes, each run bounded by `timeout`,
# keeps stdout (with "exit <status>" appended) and stderr in its own temporary folder, and
# offers the checks the scripts share: same output as native, the bytes of a small stack
# touched at most 256 more than native, proof that the library was active.  It must never
# relax a comparison to make a run pass, and never leave files outside its temporary folder.
#
# A run is named NAME.PRELOAD.ENV:
#   PRELOAD  native (nothing preloaded), lib (the library alone, no hook), or the basename of
#            a hook library given by path (its .so name without the suffix)
#   ENV      default, log (INTERCEPT_LOG=<file>), all (INTERCEPT_ALL_OBJS=1), exh
#            (INTERCEPT_EXHAUSTIVE=1), alllog (INTERCEPT_ALL_OBJS=1 and INTERCEPT_LOG=<file>)
# Environment: SI_LIB (from si_test_env), STK_RUN_TIMEOUT (seconds per run, default 60),
# STK_EXTRA (extra VAR=value assignments for hooked runs, blank separated).

: "${STK_RUN_TIMEOUT:=60}"

STK_WORK=$(mktemp -d "${TMPDIR:-/tmp}/si-stk.XXXXXX") || exit 2
trap 'rm -rf "$STK_WORK"' EXIT
STK_FAILED=0

stk_fail() {
	echo "FAIL: $*" >&2
	STK_FAILED=1
}

stk_skip() {
	echo "SKIP: $*" >&2
	exit 77
}

# stk_has_sud: does the library arm its safety net here (Syscall User Dispatch, Linux 5.11+)?
stk_has_sud() {
	case $(env INTERCEPT_EXHAUSTIVE=1 INTERCEPT_DEBUG_DUMP=1 LD_PRELOAD="$SI_LIB" \
		/bin/true 2>&1 >/dev/null) in
	*"safety net armed"*) return 0 ;;
	esac
	return 1
}

# stk_env_modes [extra...]: the ENV modes to run, exh left out (said once) without the kernel's
# Syscall User Dispatch.
_stk_sud=""
stk_env_modes() {
	if [ -z "$_stk_sud" ]; then
		if stk_has_sud; then
			_stk_sud=yes
		else
			_stk_sud=no
			echo "note: no Syscall User Dispatch here: INTERCEPT_EXHAUSTIVE runs skipped" >&2
		fi
	fi
	for _e in default log all exh "$@"; do
		[ "$_e" = exh ] && [ "$_stk_sud" = no ] && continue
		echo "$_e"
	done
}

# stk_run PRELOAD ENV NAME CMD...: runs CMD; sets STK_RUN to the run's name.
stk_run() {
	_pre=$1; _env=$2; _name=$3; shift 3
	case $_pre in
	native) _lib=""; _p=native ;;
	lib) _lib=$SI_LIB; _p=lib ;;
	*) _lib=$_pre; _p=$(basename "$_pre" .so) ;;
	esac
	STK_RUN=$_name.$_p.$_env
	_base=$STK_WORK/$STK_RUN
	if [ -n "$_lib" ] && [ ! -f "$_lib" ]; then
		stk_fail "$STK_RUN: $_lib is not built"
		return 1
	fi
	_vars="INTERCEPT_DEBUG_DUMP=1"
	case $_env in
	default) ;;
	log) _vars="$_vars INTERCEPT_LOG=$_base.log" ;;
	all) _vars="$_vars INTERCEPT_ALL_OBJS=1" ;;
	exh) _vars="$_vars INTERCEPT_EXHAUSTIVE=1" ;;
	alllog) _vars="$_vars INTERCEPT_ALL_OBJS=1 INTERCEPT_LOG=$_base.log" ;;
	*) stk_fail "unknown mode $_env"; return 1 ;;
	esac
	if [ -n "$_lib" ]; then
		# shellcheck disable=SC2086
		timeout -k 5 "$STK_RUN_TIMEOUT" env -u INTERCEPT_LOG $_vars ${STK_EXTRA:-} \
			LD_PRELOAD="$_lib" "$@" >"$_base.out" 2>"$_base.err" </dev/null
	else
		timeout -k 5 "$STK_RUN_TIMEOUT" env -u LD_PRELOAD -u INTERCEPT_LOG "$@" \
			>"$_base.out" 2>"$_base.err" </dev/null
	fi
	_st=$?
	echo "exit $_st" >>"$_base.out"
	case $_st in
	124|137) stk_fail "$STK_RUN: timed out after ${STK_RUN_TIMEOUT}s" ;;
	esac
	return 0
}

# stk_show RUN: what a run wrote, for the log of a failure.
stk_show() {
	echo "---- $1 stdout:" >&2
	cat "$STK_WORK/$1.out" >&2
	echo "---- $1 stderr (last lines):" >&2
	tail -n 30 "$STK_WORK/$1.err" >&2
}

# stk_expect_exit RUN STATUS
stk_expect_exit() {
	_got=$(tail -n 1 "$STK_WORK/$1.out")
	if [ "$_got" != "exit $2" ]; then
		stk_fail "$1: expected exit $2, got '$_got'"
		stk_show "$1"
		return 1
	fi
	return 0
}

# stk_compare RUN NATIVE_RUN: the same stdout and status, "touched" lines aside.
stk_compare() {
	grep -v '^touched ' "$STK_WORK/$1.out" >"$STK_WORK/$1.cmp"
	grep -v '^touched ' "$STK_WORK/$2.out" >"$STK_WORK/$2.cmp"
	if ! cmp -s "$STK_WORK/$2.cmp" "$STK_WORK/$1.cmp"; then
		stk_fail "$1: output differs from the native run $2"
		diff "$STK_WORK/$2.cmp" "$STK_WORK/$1.cmp" >&2
		stk_show "$1"
	fi
}

# stk_touched RUN: the number of a "touched <n>" line.
stk_touched() {
	sed -n 's/^touched \([0-9][0-9]*\)$/\1/p' "$STK_WORK/$1.out"
}

# stk_check_touched RUN NATIVE_RUN: at most 256 bytes of the small stack more than native.
stk_check_touched() {
	_t=$(stk_touched "$1")
	_n=$(stk_touched "$2")
	if [ -z "$_t" ] || [ -z "$_n" ]; then
		stk_fail "$1: no 'touched' line to compare with $2"
		return 1
	fi
	if [ "$_t" -gt $((_n + 256)) ]; then
		stk_fail "$1: the library added $((_t - _n)) bytes to the small stack (native" \
			"$_n, here $_t; at most 256 allowed)"
		return 1
	fi
	echo "$1: small stack touched $_t bytes, native $_n (+$((_t - _n)))"
	return 0
}

# stk_check_active RUN: the library was loaded and patched (INTERCEPT_DEBUG_DUMP's report),
# armed its safety net in exh, and wrote its log in log modes.
stk_check_active() {
	if ! grep -q '^syscall_intercept: patched ' "$STK_WORK/$1.err"; then
		stk_fail "$1: the library reported no patched object (was it active?)"
		stk_show "$1"
	fi
	case $1 in
	*.exh)
		grep -q 'safety net armed' "$STK_WORK/$1.err" ||
			stk_fail "$1: the safety net was not armed"
		;;
	*.log|*.alllog)
		[ -s "$STK_WORK/$1.log" ] || stk_fail "$1: INTERCEPT_LOG wrote nothing"
		;;
	esac
}

# stk_each_mode NAME HOOK CHECKS CMD...: runs CMD natively as NAME, then under the library alone
# and under HOOK in every mode of stk_env_modes (plus STK_MODES_EXTRA), each compared with the
# native run and proven active.  CHECKS: "touched" also compares the small stack's bytes.
# STK_HOOK_EXTRA: assignments for the HOOK runs only.  Ends the script when the native run fails.
stk_each_mode() {
	_en=$1; _eh=$2; _ec=$3; shift 3
	stk_run native default "$_en" "$@"
	_native=$STK_RUN
	stk_expect_exit "$_native" 0 || stk_finish
	for _epre in lib "$_eh"; do
		STK_EXTRA=""
		[ "$_epre" = lib ] || STK_EXTRA=${STK_HOOK_EXTRA:-}
		for _eenv in $(stk_env_modes ${STK_MODES_EXTRA:-}); do
			stk_run "$_epre" "$_eenv" "$_en" "$@"
			stk_expect_exit "$STK_RUN" 0 || continue
			stk_compare "$STK_RUN" "$_native"
			[ "$_ec" = touched ] && stk_check_touched "$STK_RUN" "$_native"
			stk_check_active "$STK_RUN"
			[ -z "${STK_EACH_RUN:-}" ] || "$STK_EACH_RUN" "$STK_RUN"
		done
	done
	STK_EXTRA=""
}

stk_finish() {
	if [ "$STK_FAILED" -ne 0 ]; then
		exit 1
	fi
	echo "PASS"
	exit 0
}
