# dbg_lib.sh -- shell helpers shared by the debuggability tests (sourced, POSIX sh).  It runs a
# test program natively or under the library in one of several modes, each run bounded by
# `timeout`, keeps stdout, stderr and exit status in its own temporary folder, and offers the
# checks the drivers share.  It must never relax what a driver compares to make a run pass, and
# never leave files outside its temporary folder.
#
# Modes: native; passthrough, counting (LD_PRELOAD of the shared test hook); lib (the library
# alone, no hook); each of the last three optionally with "+logfile" (INTERCEPT_LOG=<file in the
# temporary folder>) or "+devnull" (INTERCEPT_LOG=/dev/null).
# Environment: SI_LIB, SI_HOOK_DIR (from si_test_env), DBG_RUN_TIMEOUT (seconds per run,
# default 60).

: "${DBG_RUN_TIMEOUT:=60}"

DBG_WORK=$(mktemp -d "${TMPDIR:-/tmp}/si-dbg.XXXXXX") || exit 2
trap 'rm -rf "$DBG_WORK"' EXIT
DBG_FAILED=0

dbg_fail() {
	echo "FAIL: $*" >&2
	DBG_FAILED=1
}

dbg_die() {
	echo "FAIL: $*" >&2
	exit 1
}

dbg_skip() {
	echo "SKIP: $*" >&2
	exit 77
}

# dbg_env MODE NAME: prints the `env` arguments (one per line, options first) that set up MODE
# for run NAME.
dbg_env() {
	_hook=${1%%+*}
	case $_hook in
	native) echo "-u"; echo "LD_PRELOAD"; echo "-u"; echo "INTERCEPT_LOG"; return 0 ;;
	passthrough|counting) _pre="$SI_HOOK_DIR/$_hook.so" ;;
	lib) _pre="$SI_LIB" ;;
	*) dbg_die "unknown mode $1" ;;
	esac
	[ -f "$_pre" ] || dbg_die "$_pre not built"
	# env takes its options before the first assignment.
	case $1 in
	*+logfile) echo "INTERCEPT_LOG=$DBG_WORK/$2.$1.log" ;;
	*+devnull) echo "INTERCEPT_LOG=/dev/null" ;;
	*+*) dbg_die "unknown mode $1" ;;
	*) echo "-u"; echo "INTERCEPT_LOG" ;;
	esac
	echo "LD_PRELOAD=$_pre"
	echo "SI_COUNT_FILE=$DBG_WORK/$2.$1.counts"
}

# dbg_run MODE NAME CMD...: runs CMD in MODE; stdout to $DBG_WORK/NAME.MODE.out, stderr to .err,
# exit status to .status.  A timeout (124/137) is a failure of its own.
dbg_run() {
	_mode=$1; _name=$2; shift 2
	_base="$DBG_WORK/$_name.$_mode"
	_args=$(dbg_env "$_mode" "$_name") || exit 1
	rm -f "$_base.log" "$_base.counts"
	# The env arguments are one per line (paths of the build tree may hold blanks).
	_old_ifs=$IFS
	IFS='
'
	# shellcheck disable=SC2086
	timeout -k 5 "$DBG_RUN_TIMEOUT" env $_args "$@" >"$_base.out" 2>"$_base.err" </dev/null
	_st=$?
	IFS=$_old_ifs
	echo "$_st" >"$_base.status"
	case $_st in
	124|137) dbg_fail "$_name [$_mode]: timed out after ${DBG_RUN_TIMEOUT}s" ;;
	esac
	return 0
}

dbg_status() { cat "$DBG_WORK/$2.$1.status"; }

# dbg_show MODE NAME: prints what a run wrote, for the log of a failure.
dbg_show() {
	echo "---- $2 [$1] exit $(dbg_status "$1" "$2"), stdout:" >&2
	cat "$DBG_WORK/$2.$1.out" >&2
	echo "---- $2 [$1] stderr:" >&2
	cat "$DBG_WORK/$2.$1.err" >&2
}

# dbg_expect_exit MODE NAME STATUS
dbg_expect_exit() {
	if [ "$(dbg_status "$1" "$2")" != "$3" ]; then
		dbg_fail "$2 [$1]: expected exit $3, got $(dbg_status "$1" "$2")"
		dbg_show "$1" "$2"
		return 1
	fi
	return 0
}

# dbg_compare MODE NAME: fails unless MODE's stdout and status equal the native run's.
dbg_compare() {
	if ! cmp -s "$DBG_WORK/$2.native.out" "$DBG_WORK/$2.$1.out" ||
	   [ "$(dbg_status native "$2")" != "$(dbg_status "$1" "$2")" ]; then
		dbg_fail "$2 [$1]: output or status differs from the native run"
		diff "$DBG_WORK/$2.native.out" "$DBG_WORK/$2.$1.out" >&2
		dbg_show "$1" "$2"
	fi
}

# dbg_check_active MODE NAME NR...: proof that the library intercepted in a hooked run: under
# counting.so the count file must count each syscall number NR; with +logfile the log must
# have a line for each NR's name (given as NR=name, e.g. 0=read).
dbg_check_active() {
	_mode=$1; _name=$2; shift 2
	_base="$DBG_WORK/$_name.$_mode"
	for _pair in "$@"; do
		_nr=${_pair%%=*}
		_sc=${_pair#*=}
		case $_mode in
		counting*)
			_c=$(awk -v k="$_nr" '$1 == k { print $2 }' "$_base.counts" 2>/dev/null)
			if [ "${_c:-0}" -le 0 ]; then
				dbg_fail "$_name [$_mode]: counting.so counted no syscall $_nr ($_sc)"
				dbg_show "$_mode" "$_name"
			fi
			;;
		esac
		case $_mode in
		*+logfile)
			if ! grep -q -- " -- $_sc(" "$_base.log" 2>/dev/null; then
				dbg_fail "$_name [$_mode]: the INTERCEPT_LOG file has no $_sc( line"
				dbg_show "$_mode" "$_name"
			fi
			;;
		esac
	done
}

dbg_finish() {
	if [ "$DBG_FAILED" -ne 0 ]; then
		exit 1
	fi
	echo "PASS"
	exit 0
}
