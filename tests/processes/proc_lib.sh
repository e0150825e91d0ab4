# proc_lib.sh -- shell helpers shared by the process/thread/signal tests (sourced, POSIX sh).
# It runs one test program natively and under the shared hook libraries, each run bounded by
# `timeout`, and compares stdout and exit status with the native run.  It must never change
# what it compares to make a run pass, and never leave files outside its own temporary folder.
#
# Environment: SI_HOOK_DIR (from si_test_env), PROC_RUN_TIMEOUT (seconds per run, default 60),
# PROC_MODES (default "native passthrough counting"; add "clobber" for the register-clobbering
# hook).

: "${PROC_RUN_TIMEOUT:=60}"
: "${PROC_MODES:=native passthrough counting}"

PROC_WORK=$(mktemp -d "${TMPDIR:-/tmp}/si-proc.XXXXXX") || exit 1
trap 'rm -rf "$PROC_WORK"' EXIT
PROC_FAILED=0

proc_fail() {
	echo "FAIL: $*" >&2
	PROC_FAILED=1
}

proc_die() {
	echo "FAIL: $*" >&2
	exit 1
}

# The LD_PRELOAD value of a mode ("" for native).
proc_preload() {
	case "$1" in
	native) echo "" ;;
	*) echo "$SI_HOOK_DIR/$1.so" ;;
	esac
}

# proc_run MODE NAME CMD...: runs CMD with the mode's preload, stdout to $PROC_WORK/NAME.MODE.out,
# stderr to .err; appends "exit <status>" to the .out file.  Under a hook, SI_COUNT_FILE is
# $PROC_WORK/NAME.MODE.counts/cnt- (one file per process).  Timeouts are reported as exit 124/137.
proc_run() {
	_mode=$1; _name=$2; shift 2
	proc_run_with "$(proc_preload "$_mode")" "$_mode" "$_name" "$@"
}

# proc_run_with PRELOAD MODE NAME CMD...: proc_run with an explicit LD_PRELOAD value.
proc_run_with() {
	_pre=$1; _mode=$2; _name=$3; shift 3
	_out="$PROC_WORK/$_name.$_mode.out"
	_err="$PROC_WORK/$_name.$_mode.err"
	if [ -n "$_pre" ] && [ ! -f "$_pre" ]; then
		proc_die "hook library $_pre not built"
	fi
	_cnt="$PROC_WORK/$_name.$_mode.counts"
	rm -rf "$_cnt"; mkdir -p "$_cnt"
	if [ -n "$_pre" ]; then
		timeout -k 5 "$PROC_RUN_TIMEOUT" \
			env SI_COUNT_FILE="$_cnt/cnt-" LD_PRELOAD="$_pre" "$@" \
			>"$_out" 2>"$_err" </dev/null
	else
		env -u LD_PRELOAD -u SI_COUNT_FILE \
			timeout -k 5 "$PROC_RUN_TIMEOUT" "$@" >"$_out" 2>"$_err" </dev/null
	fi
	_st=$?
	echo "exit $_st" >>"$_out"
	case $_st in
	124|137) proc_fail "$_name [$_mode]: timed out after ${PROC_RUN_TIMEOUT}s" ;;
	esac
	return 0
}

# proc_show MODE NAME: prints what a run wrote, for the log of a failure.
proc_show() {
	echo "---- $2 [$1] stdout:" >&2
	cat "$PROC_WORK/$2.$1.out" >&2
	echo "---- $2 [$1] stderr:" >&2
	cat "$PROC_WORK/$2.$1.err" >&2
}

# proc_expect_exit MODE NAME STATUS: fails unless the run ended with STATUS.
proc_expect_exit() {
	_got=$(tail -n 1 "$PROC_WORK/$2.$1.out")
	if [ "$_got" != "exit $3" ]; then
		proc_fail "$2 [$1]: expected exit $3, got '$_got'"
		proc_show "$1" "$2"
	fi
}

# proc_compare MODE NAME: fails unless MODE's output equals the native one.
proc_compare() {
	if ! cmp -s "$PROC_WORK/$2.native.out" "$PROC_WORK/$2.$1.out"; then
		proc_fail "$2 [$1]: output differs from the native run"
		diff "$PROC_WORK/$2.native.out" "$PROC_WORK/$2.$1.out" >&2
		proc_show "$1" "$2"
	fi
}

# proc_count_files NAME: the count files written by the counting run, one per line.
proc_count_files() {
	ls "$PROC_WORK/$1.counting.counts" 2>/dev/null | sed "s|^|$PROC_WORK/$1.counting.counts/|"
}

# proc_count FILE KEY: the value of KEY ("total", "clone_child", a syscall number) in a count
# file, 0 when absent.
proc_count() {
	_v=$(awk -v k="$2" '$1 == k { print $2 }' "$1")
	echo "${_v:-0}"
}

# proc_check_counting NAME: fails unless the counting run left count files and at least one of
# them counted syscalls (so the library really was active).  A file may legitimately count none:
# a process that makes no syscall between the hook's installation and its exit.
proc_check_counting() {
	_files=$(proc_count_files "$1")
	if [ -z "$_files" ]; then
		proc_fail "$1 [counting]: no count file written (is the library active?)"
		return
	fi
	for _f in $_files; do
		[ "$(proc_count "$_f" total)" -gt 0 ] && return
	done
	proc_fail "$1 [counting]: no count file counted a syscall (is the library active?)"
}

# proc_all_modes NAME STATUS CMD...: runs CMD in every mode of PROC_MODES, expects STATUS, compares
# each hooked run with the native one and checks the counting run's files.
proc_all_modes() {
	_n=$1; _s=$2; shift 2
	for _m in $PROC_MODES; do
		proc_run "$_m" "$_n" "$@"
		proc_expect_exit "$_m" "$_n" "$_s"
		if [ "$_m" != native ]; then
			proc_compare "$_m" "$_n"
		fi
		if [ "$_m" = counting ]; then
			proc_check_counting "$_n"
		fi
	done
}

proc_finish() {
	if [ "$PROC_FAILED" -ne 0 ]; then
		exit 1
	fi
	echo "PASS"
	exit 0
}
