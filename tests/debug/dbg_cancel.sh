#!/bin/sh
# dbg_cancel.sh -- runs one case of dbg_cancel (or dbg_cancel_eh) natively, under passthrough.so
# and counting.so, and under both with INTERCEPT_LOG=<file>, REPEATS times each; every run must
# pass the program's checks (joined with PTHREAD_CANCELED, cleanup handlers ran in order) and
# print exactly what the native run printed.  Hooked runs must show that the library
# intercepted the case's syscall (count file or log line).  It must never accept a differing
# line or status.
# usage: dbg_cancel.sh <binary> read|nanosleep|accept|condwait|async|asyncexit <rounds> [repeats]
. "$(dirname "$0")/dbg_lib.sh"
prog=$1
what=$2
rounds=$3
repeats=${4:-1}
case $what in
read) active="0=read" ;;
nanosleep) active="230=clock_nanosleep" ;;
accept) active="43=accept" ;;
condwait) active="202=futex" ;;
async|asyncexit) active="110=getppid" ;;
*) dbg_die "usage: $0 <binary> read|nanosleep|accept|condwait|async|asyncexit <rounds> [repeats]" ;;
esac
name="cancel_$what"

dbg_run native "$name" "$prog" "$what" "$rounds"
dbg_expect_exit native "$name" 0 || dbg_finish
cat "$DBG_WORK/$name.native.out"
i=1
while [ "$i" -le "$repeats" ]; do
	for mode in passthrough counting passthrough+logfile counting+logfile; do
		dbg_run "$mode" "$name" "$prog" "$what" "$rounds"
		dbg_compare "$mode" "$name"
		dbg_check_active "$mode" "$name" "$active"
	done
	i=$((i + 1))
done
dbg_finish
