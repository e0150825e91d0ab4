#!/bin/sh
# stk_longjmp.sh -- signal handlers that siglongjmp out of syscalls the library runs and out of
# a waiting hook (stk_longjmp), natively, then under the library alone and under stk_hook.so
# (which it then expects to answer) in every mode: the same output and status as native.
# usage: stk_longjmp.sh <stk_longjmp binary> <stk_hook.so>
. "$(dirname "$0")/stk_lib.sh"
prog=$1
hook=$2
mkdir "$STK_WORK/files" || exit 2

stk_run native default longjmp "$prog" "$STK_WORK/files"
native=$STK_RUN
stk_expect_exit "$native" 0 || stk_finish
for pre in lib "$hook"; do
	STK_EXTRA=""
	[ "$pre" = lib ] || STK_EXTRA="STK_EXPECT_HOOK=1"
	for env in $(stk_env_modes); do
		stk_run "$pre" "$env" longjmp "$prog" "$STK_WORK/files"
		stk_expect_exit "$STK_RUN" 0 || continue
		stk_compare "$STK_RUN" "$native"
		stk_check_active "$STK_RUN"
	done
done
stk_finish
