#!/bin/sh
# proc_sigreturn.sh -- runs proc_sigreturn (register, vector register and red zone state after
# thousands of signal handler returns) natively, under passthrough.so, counting.so and
# clobber.so, and compares the outputs and exit status with the native run.  It must never
# accept a differing line.
# usage: proc_sigreturn.sh <proc_sigreturn binary>
. "$(dirname "$0")/proc_lib.sh"
PROC_MODES="native passthrough counting clobber"
proc_all_modes sigreturn 0 "$1"
proc_finish
