#!/bin/sh
# dbg_cxx.sh -- runs dbg_cxx (C++ exceptions thrown right after intercepted syscalls, and
# pthread_cancel of a C++ thread blocked in read) natively, under passthrough.so and
# counting.so and with INTERCEPT_LOG=<file>; each run must exit 0 and print exactly what the
# native run printed.  It must never accept a differing line or status.
# usage: dbg_cxx.sh <dbg_cxx binary>
. "$(dirname "$0")/dbg_lib.sh"
prog=$1
dbg_run native cxx "$prog"
dbg_expect_exit native cxx 0 || dbg_finish
cat "$DBG_WORK/cxx.native.out"
for mode in passthrough counting passthrough+logfile; do
	dbg_run "$mode" cxx "$prog"
	dbg_compare "$mode" cxx
	dbg_check_active "$mode" cxx "110=getppid" "0=read"
done
dbg_finish
