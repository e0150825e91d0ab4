#!/bin/sh
# proc_exec.sh -- runs `proc_exec start` natively, under passthrough.so and under counting.so
# and compares the outputs.  Under counting.so every new image (after fork, vfork+execve,
# posix_spawn, system and the final execve of the start process) must have been intercepted
# with LD_PRELOAD kept: for each of 777, 333, 444, 555 and 1000 exactly one count file shows
# exactly that many getppid syscalls (110).  It must never accept an approximate count.
# usage: proc_exec.sh <proc_exec binary>
. "$(dirname "$0")/proc_lib.sh"
proc_all_modes exec 0 "$1" start
for n in 777 333 444 555 1000; do
	c=0
	for f in $(proc_count_files exec); do
		[ "$(proc_count "$f" 110)" -eq "$n" ] && c=$((c + 1))
	done
	[ "$c" -eq 1 ] ||
		proc_fail "exec [counting]: $c count files with exactly $n getppid syscalls, expected 1"
done
if [ "$PROC_FAILED" -ne 0 ]; then
	for f in $(proc_count_files exec); do
		echo "$f: total $(proc_count "$f" total), getppid $(proc_count "$f" 110)" >&2
	done
fi
proc_finish
