#!/bin/sh
# stk_sigalt.sh -- a timer's SIGALRM handler on a small alternate signal stack making syscalls
# (stk_sigalt), natively, then under the library alone and under stk_hook.so in every mode: the
# same output and status as native, and at most 256 more bytes of the alternate stack touched.
# usage: stk_sigalt.sh <stk_sigalt binary> <stk_hook.so>
. "$(dirname "$0")/stk_lib.sh"
stk_each_mode sigalt "$2" touched "$1"
stk_finish
