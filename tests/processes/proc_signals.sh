#!/bin/sh
# proc_signals.sh -- runs one case of proc_signals (timer, restart, norestart, nanosleep)
# natively, under passthrough.so and under counting.so and compares the outputs and exit status
# with the native run.  It must never accept a differing line.
# usage: proc_signals.sh <proc_signals binary> <case>
. "$(dirname "$0")/proc_lib.sh"
proc_all_modes "signals_$2" 0 "$1" "$2"
proc_finish
