#!/bin/sh
# proc_threads.sh -- runs proc_threads (T threads x C getppid calls; PROC_THREADS and
# PROC_THREAD_CALLS, default 16 x 1,000,000) natively, under passthrough.so and under counting.so,
# compares the outputs, and checks that counting.so saw exactly T*C getppid syscalls (number 110
# on x86-64) and one clone child and clone parent hook call per thread.  It must never accept a
# count other than the exact one.
# usage: proc_threads.sh <proc_threads binary>
. "$(dirname "$0")/proc_lib.sh"
bin=$1
T=${PROC_THREADS:-16}
C=${PROC_THREAD_CALLS:-1000000}
proc_all_modes threads 0 "$bin" "$T" "$C"

files=$(proc_count_files threads)
n=$(echo "$files" | grep -c .)
if [ "$n" -ne 1 ]; then
	proc_fail "threads [counting]: expected 1 count file, found $n"
else
	want=$((T * C))
	got=$(proc_count "$files" 110)
	[ "$got" -eq "$want" ] ||
		proc_fail "threads [counting]: hook saw $got getppid syscalls, expected exactly $want"
	got=$(proc_count "$files" clone_child)
	[ "$got" -eq "$T" ] ||
		proc_fail "threads [counting]: clone child hook ran $got times, expected $T"
	got=$(proc_count "$files" clone_parent)
	[ "$got" -eq "$T" ] ||
		proc_fail "threads [counting]: clone parent hook ran $got times, expected $T"
	got=$(proc_count "$files" post_kernel)
	[ "$got" -ge "$want" ] ||
		proc_fail "threads [counting]: post-kernel hook ran $got times, expected >= $want"
	[ "$PROC_FAILED" -ne 0 ] && cat "$files" >&2
fi
proc_finish
