#!/bin/sh
# stk_coro.sh -- coroutines on 2 KiB stacks (stk_coro) natively, then under the library alone
# and under stk_hook.so in every mode: the same output and status as native, and at most 256
# more bytes of the measured coroutine stack touched.
# usage: stk_coro.sh <stk_coro binary> <stk_hook.so>
. "$(dirname "$0")/stk_lib.sh"
prog=$1
hook=$2
mkdir "$STK_WORK/files" || exit 2

stk_run native default coro "$prog" "$STK_WORK/files"
native=$STK_RUN
stk_expect_exit "$native" 0 || stk_finish
for pre in lib "$hook"; do
	for env in $(stk_env_modes); do
		stk_run "$pre" "$env" coro "$prog" "$STK_WORK/files"
		stk_expect_exit "$STK_RUN" 0 || continue
		stk_compare "$STK_RUN" "$native"
		stk_check_touched "$STK_RUN" "$native"
		stk_check_active "$STK_RUN"
	done
done
stk_finish
