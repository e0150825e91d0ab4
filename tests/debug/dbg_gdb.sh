#!/bin/sh
# dbg_gdb.sh -- gdb's view of a process under the library whose two threads are blocked in
# intercepted reads (dbg_gdb_target).  "attach": the target runs on its own; once
# /proc/<pid>/task/*/syscall shows both threads in read, `gdb -batch -p <pid> -ex 'thread apply
# all bt'` looks at it.  "run": gdb starts the target itself with LD_PRELOAD and
# INTERCEPT_HOOK_CMDLINE_FILTER exported (the documented way: gdb and the shell it starts stay
# unpatched) and the target raises SIGTRAP once both threads are blocked.  In every mode the
# main thread's stack must show main_blocked_in_read and then main, the other thread's
# thread_blocked_in_read, and gdb must not report a stopped or corrupt backtrace; under the
# library both stacks must also show the named trampoline (syscall_trampoline:libc.so.6+0x...).
# Exits 77 (skip) when gdb is missing or ptrace is not permitted (decided on the native run).
# It must never accept a stack without main, and never leave the target running.
# usage: dbg_gdb.sh <dbg_gdb_target binary> attach|run
. "$(dirname "$0")/dbg_lib.sh"
prog=$1
how=$2
case $how in attach|run) ;; *) dbg_die "usage: $0 <dbg_gdb_target> attach|run" ;; esac
command -v gdb >/dev/null 2>&1 || dbg_skip "gdb is not installed"
if [ -r /proc/sys/kernel/yama/ptrace_scope ] &&
   [ "$(cat /proc/sys/kernel/yama/ptrace_scope)" = 3 ]; then
	dbg_skip "ptrace is disabled (kernel.yama.ptrace_scope=3)"
fi
: "${DBG_GDB_TIMEOUT:=120}"

# gdb itself never runs under the library here unless the mode says so.
gdb_cmd() {
	timeout -k 5 "$DBG_GDB_TIMEOUT" env -u LD_PRELOAD -u INTERCEPT_LOG -u DEBUGINFOD_URLS \
		gdb -batch -nx \
		-iex 'set debuginfod enabled off' -iex 'set pagination off' "$@"
}

# attach_run MODE: target in MODE, gdb (never preloaded) attaches once both threads block.
attach_run() {
	_m=$1
	_b="$DBG_WORK/gdb.$_m"
	_args=$(dbg_env "$_m" gdb) || exit 1
	_old_ifs=$IFS
	IFS='
'
	# shellcheck disable=SC2086
	env $_args SI_GDB_TARGET_LIFE=$((DBG_GDB_TIMEOUT + 60)) "$prog" attach \
		>"$_b.target.out" 2>"$_b.target.err" </dev/null &
	_pid=$!
	IFS=$_old_ifs
	_tries=0
	while :; do
		_blocked=$(cat /proc/"$_pid"/task/*/syscall 2>/dev/null | grep -c '^0 ')
		[ "${_blocked:-0}" -ge 2 ] && break
		if ! kill -0 "$_pid" 2>/dev/null || [ "$_tries" -ge 600 ]; then
			kill -9 "$_pid" 2>/dev/null
			wait "$_pid" 2>/dev/null
			dbg_fail "gdb [$_m]: the target's threads never blocked in read"
			cat "$_b.target.err" >&2
			return 1
		fi
		sleep 0.05
		_tries=$((_tries + 1))
	done
	gdb_cmd -p "$_pid" -ex 'thread apply all bt' >"$_b.gdb" 2>&1 </dev/null
	echo $? >"$_b.status"
	kill -9 "$_pid" 2>/dev/null
	wait "$_pid" 2>/dev/null
	return 0
}

# gdb_run MODE: gdb starts the target; LD_PRELOAD (if any) and the filter are exported to gdb.
gdb_run() {
	_m=$1
	_b="$DBG_WORK/gdb.$_m"
	_args=$(dbg_env "$_m" gdb) || exit 1
	_old_ifs=$IFS
	IFS='
'
	# shellcheck disable=SC2086
	env -u DEBUGINFOD_URLS $_args INTERCEPT_HOOK_CMDLINE_FILTER="$(basename "$prog")" \
		timeout -k 5 "$DBG_GDB_TIMEOUT" gdb -batch -nx \
		-iex 'set debuginfod enabled off' -iex 'set pagination off' \
		-ex run -ex 'thread apply all bt' --args "$prog" stop \
		>"$_b.gdb" 2>&1 </dev/null
	echo $? >"$_b.status"
	IFS=$_old_ifs
	return 0
}

# check MODE: the checks on gdb's output; returns 1 when a check failed.
check() {
	_m=$1
	_b="$DBG_WORK/gdb.$_m"
	_hooked=1
	[ "$_m" = native ] && _hooked=0
	awk -v hooked="$_hooked" '
		function frame(line, fn) {
			return line ~ ("^#[0-9]+ +(0x[0-9a-f]+ in )?" fn " \\(")
		}
		/^Thread / { sect++ }
		frame($0, "main_blocked_in_read") { mb[sect] = 1 }
		frame($0, "main") && mb[sect] { mm[sect] = 1 }
		frame($0, "thread_blocked_in_read") { tb[sect] = 1 }
		/syscall_trampoline:libc\.so\.6\+0x[0-9a-f]+/ { tr[sect] = 1 }
		/Backtrace stopped|corrupt stack/ { bad = bad "\n    " $0 }
		END {
			for (s = 1; s <= sect; s++) {
				if (mb[s] && mm[s]) { main_ok = 1; if (tr[s]) main_tr = 1 }
				if (tb[s]) { thread_ok = 1; if (tr[s]) thread_tr = 1 }
			}
			if (!main_ok) print "no thread shows main_blocked_in_read and then main"
			if (!thread_ok) print "no thread shows thread_blocked_in_read"
			if (hooked && !main_tr)
				print "the main thread shows no syscall_trampoline:libc.so.6+0x... frame"
			if (hooked && !thread_tr)
				print "the reader thread shows no syscall_trampoline:libc.so.6+0x... frame"
			if (bad != "") print "gdb reports a broken stack walk:" bad
		}' "$_b.gdb" >"$_b.problems"
	if [ -s "$_b.problems" ]; then
		while IFS= read -r _line; do
			dbg_fail "gdb $how [$_m]: $_line"
		done <"$_b.problems"
		echo "---- gdb output [$_m]:" >&2
		cat "$_b.gdb" >&2
		return 1
	fi
	return 0
}

for mode in native passthrough counting passthrough+logfile; do
	if [ "$how" = attach ]; then
		attach_run "$mode" || continue
	else
		gdb_run "$mode"
	fi
	if [ "$mode" = native ] &&
	   grep -q -E 'ptrace: Operation not permitted|Could not attach|Cannot PTRACE|not permitted' \
		"$DBG_WORK/gdb.native.gdb"; then
		cat "$DBG_WORK/gdb.native.gdb" >&2
		dbg_skip "ptrace is not permitted here"
	fi
	case $(cat "$DBG_WORK/gdb.$mode.status") in
	124|137) dbg_fail "gdb $how [$mode]: gdb timed out after ${DBG_GDB_TIMEOUT}s" ;;
	esac
	if check "$mode"; then
		echo "gdb $how [$mode]: ok"
	fi
done
dbg_finish
