#!/bin/sh
# foreign_files.sh LIB TARGET PROBE ANSWER_HOOK TRACER -- as root (exit 77 otherwise), files
# of another user (nobody, 65534) named by the variables are never used: a 0666 log file is
# refused with one message and left byte for byte as it was (emptied or appended to before),
# with INTERCEPT_LOG_TRUNC=0 too, while the program and its hook run on; syscall-trace -o on it
# leaves it alone and exits 1; a plan of that user's in root's cache folder is refused with one
# message and the program runs as usual.  All files live in the test's own temporary folder.
. "$(dirname "$0")/lib.sh"
lib=$1 target=$2 probe=$3 answer=$4 tracer=$5
need_root "chown to another user"

theirs=$work/theirs.log
printf 'their own line\n' >"$theirs"
chown 65534:65534 "$theirs" && chmod 666 "$theirs" || { fail "chown"; finish; }
for trunc in "" 0; do
	label="another user's 0666 file${trunc:+, INTERCEPT_LOG_TRUNC=$trunc}"
	run LD_PRELOAD="$lib" INTERCEPT_LOG="$theirs" ${trunc:+INTERCEPT_LOG_TRUNC=$trunc} -- \
		"$target" quiet
	expect_status "$label" 7
	same "$label: the program's output" "hello from the program" "$out"
	expect_one_line "$label" "^syscall_intercept: INTERCEPT_LOG: cannot open $theirs: a file of another user; running without a log$"
	same "$label: left as it was" "their own line" "$(cat "$theirs")"
done
run LD_PRELOAD="$answer" INTERCEPT_LOG="$theirs" -- "$probe" answer expect-magic
expect_status "the hook with another user's log file" 0
same "still left as it was" "their own line" "$(cat "$theirs")"

run SYSCALL_TRACE_LIB="$lib" -- "$tracer" -o "$theirs" "$target" quiet
expect_status "syscall-trace -o another user's file" 1
same "syscall-trace: left as it was" "their own line" "$(cat "$theirs")"

cache=$work/cache
run LD_PRELOAD="$lib" INTERCEPT_PLAN_CACHE="$cache" -- "$target" quiet
plan=$(ls -S "$cache"/*.plan 2>/dev/null | head -n 1)
[ -n "$plan" ] && chown 65534:65534 "$plan" || { fail "no plan written"; finish; }
run LD_PRELOAD="$lib" INTERCEPT_PLAN_CACHE="$cache" -- "$target" quiet
expect_status "another user's plan" 7
expect_one_line "another user's plan" "^syscall_intercept: plan cache: $plan is not a regular file of this user's"
finish
