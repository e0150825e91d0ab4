#!/bin/sh
# stk_threads.sh -- one case of stk_threads (threads, churn, clone, nomem) natively, then under
# the library alone and under stk_hook.so in every mode: the same output and status as native.
# In the threads case the hook uses 64 KiB of stack, malloc and stdio formatting (STK_BIG=1) on
# every syscall of threads whose own stacks are 64 KiB.  In the nomem case the library must say
# exactly once that it could not map a stack.
# usage: stk_threads.sh <stk_threads binary> <stk_hook.so> threads|churn|clone|nomem
. "$(dirname "$0")/stk_lib.sh"
prog=$1
hook=$2
case=$3
mkdir "$STK_WORK/files" || exit 2

stk_run native default "$case" "$prog" "$case" "$STK_WORK/files"
native=$STK_RUN
stk_expect_exit "$native" 0 || stk_finish
for pre in lib "$hook"; do
	STK_EXTRA=""
	# malloc from many threads makes arenas of its own: not in the address-space counts
	[ "$pre" = lib ] || [ "$case" = churn ] || [ "$case" = nomem ] || STK_EXTRA="STK_BIG=1"
	for env in $(stk_env_modes); do
		stk_run "$pre" "$env" "$case" "$prog" "$case" "$STK_WORK/files"
		stk_expect_exit "$STK_RUN" 0 || continue
		stk_compare "$STK_RUN" "$native"
		stk_check_active "$STK_RUN"
		[ "$case" = nomem ] || continue
		said=$(grep -c 'cannot map a stack for the library' "$STK_WORK/$STK_RUN.err")
		if [ "$said" != 1 ]; then
			stk_fail "$STK_RUN: the library said $said times it could not map a stack" \
				"(once expected)"
			stk_show "$STK_RUN"
		fi
	done
done
stk_finish
