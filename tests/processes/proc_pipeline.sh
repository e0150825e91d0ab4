#!/bin/sh
# proc_pipeline.sh -- shell pipelines (many processes: fork, pipes, exec, wait) must print the
# same natively, under passthrough.so and under counting.so.  Three runs:
#   sh     the pipeline of issue 3, `seq | sort -r | head | tr; echo $?`;
#   sh_all the same with `sed -n 1,5p` for `head -n 5` (head may exit before sort has written
#          everything; sort then fails with EPIPE and coreutils leaves with _exit, skipping the
#          count file), the shell's pid on stderr: under counting.so each of the 4 commands writes
#          a count file (dash itself leaves with _exit, runs no destructor, never writes one);
#   bash   a bash pipeline with nested subshells, every process logging its pid to stderr: under
#          counting.so every logged process wrote a count file, and no process was left out.
# It must never compare anything but stdout and the exit status with the native run.
# usage: proc_pipeline.sh
. "$(dirname "$0")/proc_lib.sh"

proc_all_modes sh 0 sh -c 'seq 1 2000 | sort -r | head -n 5 | tr 0-9 a-j; echo $?'

proc_all_modes sh_all 0 sh -c \
	'echo "pid $$" >&2; seq 1 2000 | sort -r | sed -n 1,5p | tr 0-9 a-j; echo $?'
files=$(proc_count_files sh_all)
n=$(echo "$files" | grep -c .)
[ "$n" -eq 4 ] || proc_fail "sh_all [counting]: $n count files, expected 4 (seq, sort, sed, tr)"
pid=$(sed -n 's/^pid \([0-9]*\)$/\1/p' "$PROC_WORK/sh_all.counting.err")
[ -f "$PROC_WORK/sh_all.counting.counts/cnt-$pid" ] &&
	proc_fail "sh_all [counting]: the shell wrote a count file although dash leaves with _exit"

if command -v bash >/dev/null 2>&1; then
	proc_all_modes bash 0 bash -c '
		echo "pid $$" >&2
		( echo "pid $BASHPID" >&2; exec seq 1 300 ) |
		( echo "pid $BASHPID" >&2; read a; read b; echo "first $a $b"
		  ( echo "pid $BASHPID" >&2; exec sort -rn ) |
		  ( echo "pid $BASHPID" >&2; exec head -n 3 ) ) |
		{ echo "pid $BASHPID" >&2; while read l; do echo "<$l>"; done; }
		echo "status ${PIPESTATUS[*]}"
		x=$(echo "pid $BASHPID" >&2; echo sub)
		echo "$x done"'
	err="$PROC_WORK/bash.counting.err"
	pids=$(sed -n 's/^pid \([0-9]*\)$/\1/p' "$err")
	for p in $pids; do
		[ -f "$PROC_WORK/bash.counting.counts/cnt-$p" ] ||
			proc_fail "bash [counting]: process $p wrote no count file"
	done
	logged=$(echo "$pids" | grep -c .)
	n=$(proc_count_files bash | grep -c .)
	[ "$n" -eq "$logged" ] ||
		proc_fail "bash [counting]: $n count files for $logged processes"
	[ "$PROC_FAILED" -ne 0 ] && cat "$err" >&2 && proc_count_files bash >&2
else
	echo "bash not installed: bash pipeline skipped"
fi
proc_finish
