#!/bin/sh
# stk_coro.sh -- coroutines on 2 KiB stacks (stk_coro) natively, then under the library alone
# and under stk_hook.so in every mode: the same output and status as native, and at most 256
# more bytes of the measured coroutine stack touched.
# usage: stk_coro.sh <stk_coro binary> <stk_hook.so>
. "$(dirname "$0")/stk_lib.sh"
mkdir "$STK_WORK/files" || exit 2
stk_each_mode coro "$2" touched "$1" "$STK_WORK/files"
stk_finish
