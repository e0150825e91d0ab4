#!/bin/sh
# stk_longjmp.sh -- signal handlers that siglongjmp out of syscalls the library runs and out of
# a waiting hook (stk_longjmp), natively, then under the library alone and under stk_hook.so
# (which it then expects to answer) in every mode: the same output and status as native.
# usage: stk_longjmp.sh <stk_longjmp binary> <stk_hook.so>
. "$(dirname "$0")/stk_lib.sh"
mkdir "$STK_WORK/files" || exit 2
STK_HOOK_EXTRA="STK_EXPECT_HOOK=1"
stk_each_mode longjmp "$2" same "$1" "$STK_WORK/files"
stk_finish
