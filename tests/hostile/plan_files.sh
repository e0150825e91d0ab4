#!/bin/sh
# plan_files.sh LIB TARGET -- what INTERCEPT_PLAN_CACHE reads, as any user: a plan replaced by a
# FIFO, a symbolic link or a file others can write is refused without waiting (one message per
# process, however many are refused), the objects are analysed again and the program runs as
# usual, and the plan is written anew; a cache folder others can write is refused with a
# message (also without INTERCEPT_DEBUG_DUMP), except a sticky one of the user's, like /tmp.
# TARGET is tests/log's log_target ("quiet": prints a line, exits 7).  Another user's plan is
# foreign_files.sh's (root).
. "$(dirname "$0")/lib.sh"
lib=$1 target=$2
cache=$work/cache

# plans: the plan files a first process writes (one per patched object: libc, ld.so)
run LD_PRELOAD="$lib" INTERCEPT_PLAN_CACHE="$cache" -- "$target" quiet
expect_status "a first process writes plans" 7
expect_no_stderr "a first process writes plans"
set -- "$cache"/*.plan
[ $# -ge 2 ] && [ -f "$1" ] && ok "$# plans written" || { fail "plans: $*"; finish; }

# cached RUNLABEL: the program ran as usual, one refusal message
refused_once() {
	run LD_PRELOAD="$lib" INTERCEPT_PLAN_CACHE="$cache" -- "$target" quiet
	expect_status "$1" 7
	same "$1: the program's output" "hello from the program" "$out"
	expect_one_line "$1" "^syscall_intercept: plan cache: $cache/.*\.plan is not a regular file of this user's that only the user can write; not used, analysing again$"
}

for f in "$@"; do rm -f "$f" && mkfifo -m 600 "$f"; done
refused_once "every plan a FIFO"
for f in "$@"; do
	[ -f "$f" ] && [ ! -p "$f" ] || { fail "$f not written anew"; continue; }
done
ok "the FIFOs replaced by plans"
run LD_PRELOAD="$lib" INTERCEPT_PLAN_CACHE="$cache" INTERCEPT_DEBUG_DUMP=1 -- "$target" quiet
n=$(printf '%s\n' "$err" | grep -c "plan cache: using")
[ "$n" -eq $# ] && ok "the new plans are used" || { fail "the new plans: $n used"; show; }

plan=$(ls -S "$cache"/*.plan | head -n 1)
mv "$plan" "$work/saved.plan"
ln -s "$work/saved.plan" "$plan"
refused_once "a plan that is a symbolic link"
[ -f "$plan" ] && [ ! -L "$plan" ] && ok "the link replaced by a plan" || fail "the link stayed"

chmod 620 "$plan"
refused_once "a plan others can write"

chmod 770 "$cache"
run LD_PRELOAD="$lib" INTERCEPT_PLAN_CACHE="$cache" -- "$target" quiet
expect_status "a cache folder others can write" 7
expect_one_line "a cache folder others can write" "^syscall_intercept: plan cache $cache: not a directory of this user's that only the user can write; not used$"
chmod 1777 "$cache"
run LD_PRELOAD="$lib" INTERCEPT_PLAN_CACHE="$cache" INTERCEPT_DEBUG_DUMP=1 -- "$target" quiet
n=$(printf '%s\n' "$err" | grep -c "plan cache: using")
[ "$n" -ge 1 ] && ok "a sticky folder of the user's (like /tmp) is used" ||
	{ fail "a sticky folder of the user's: not used"; show; }
chmod 700 "$cache"
finish
