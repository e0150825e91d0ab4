#!/bin/sh
# stk_threads.sh -- one case of stk_threads (threads, churn, clone, nomem) natively, then under
# the library alone and under stk_hook.so in every mode: the same output and status as native.
# In the threads case the hook uses 64 KiB of stack, malloc and stdio formatting (STK_BIG=1) on
# every syscall of threads whose own stacks are 64 KiB.  In the nomem case the library must say
# exactly once that it could not map a stack.
# usage: stk_threads.sh <stk_threads binary> <stk_hook.so> threads|churn|clone|nomem
. "$(dirname "$0")/stk_lib.sh"
case=$3
mkdir "$STK_WORK/files" || exit 2

said_once() {
	_said=$(grep -c 'cannot map a stack for the library' "$STK_WORK/$1.err")
	if [ "$_said" != 1 ]; then
		stk_fail "$1: the library said $_said times it could not map a stack (once expected)"
		stk_show "$1"
	fi
}

# malloc from many threads makes arenas of its own: not in the address-space counts.  Not for
# clone: its two threads share one TLS block, and so glibc's per-thread malloc cache, which
# a hook calling malloc on both at once would corrupt (glibc's rule, not the library's).
case $case in
threads) STK_HOOK_EXTRA="STK_BIG=1" ;;
nomem) STK_EACH_RUN=said_once ;;
esac
stk_each_mode "$case" "$2" same "$1" "$case" "$STK_WORK/files"
stk_finish
