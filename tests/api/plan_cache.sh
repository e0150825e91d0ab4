#!/bin/sh
# plan_cache.sh LIB PASSTHROUGH PROBE ANSWER_HOOK REGSTATE CLOBBER -- INTERCEPT_PLAN_CACHE: the
# first process writes a plan per patched segment, the next ones use it and patch exactly the
# same sites, programs behave as natively (registers included), and a damaged, tampered,
# invalid or foreign plan, or a directory others can write, is never used.  It only runs
# programs (python3 to write a tampered plan with a good checksum; plan_fuzz.py tries many).
set -u
LC_ALL=C; export LC_ALL
lib=$1 pass=$2 probe=$3 answer=$4 regstate=$5 clobber=$6
fail=0
expect() {	# expect LABEL PATTERN TEXT
	if printf '%s\n' "$3" | grep -q -- "$2"; then echo "ok    $1"
	else echo "FAIL  $1: no line matching '$2' in:"; printf '%s\n' "$3"; fail=1; fi
}
refuse() {	# refuse LABEL PATTERN TEXT
	if printf '%s\n' "$3" | grep -q -- "$2"; then echo "FAIL  $1: unexpected '$2' in:"
		printf '%s\n' "$3"; fail=1
	else echo "ok    $1"; fi
}
same() {	# same LABEL A B
	if [ "$2" = "$3" ]; then echo "ok    $1"
	else echo "FAIL  $1:"; printf '%s\n---\n%s\n' "$2" "$3" | head -40; fail=1; fi
}
sites() {	# the dump's lines about sites, for a run with the given environment
	env "$@" INTERCEPT_DEBUG_DUMP=2 LD_PRELOAD="$lib" /bin/true 2>&1 | grep -E ' site |patched '
}

dir=$(mktemp -d) || exit 1
trap 'chmod -R u+rwx "$dir"; rm -rf "$dir"' EXIT
cache=$dir/cache
work=$dir/work
mkdir "$work" && for f in one two three; do echo "content $f" >"$work/$f"; done

out=$(INTERCEPT_PLAN_CACHE=$cache INTERCEPT_DEBUG_DUMP=1 LD_PRELOAD=$lib /bin/true 2>&1)
expect "the first process writes libc's plan" "plan cache: wrote $cache/.*\.plan" "$out"
n=$(printf '%s\n' "$out" | grep -c "plan cache: wrote")
[ "$n" -ge 2 ] && echo "ok    one plan per object (libc, ld.so): $n" ||
	{ echo "FAIL  $n plans written"; fail=1; }
same "the directory is created private" "$(stat -c %a "$cache")" 700
for f in "$cache"/*.plan; do same "plan $(basename "$f") is private" "$(stat -c %a "$f")" 600; done

reference=$(sites)
out=$(INTERCEPT_PLAN_CACHE=$cache INTERCEPT_DEBUG_DUMP=2 LD_PRELOAD=$lib /bin/true 2>&1)
expect "the next process uses the plan" "plan cache: using $cache/" "$out"
refuse "and writes none" "plan cache: wrote" "$out"
same "the same sites are patched the same way" "$reference" \
	"$(printf '%s\n' "$out" | grep -E ' site |patched ')"

native=$(ls -la "$work" 2>&1; cat "$work"/*; echo "status $?")
under=$(INTERCEPT_PLAN_CACHE=$cache LD_PRELOAD=$pass sh -c 'ls -la "$1"; cat "$1"/*' sh "$work" 2>&1
	echo "status $?")
same "ls and cat under a cached plan" "$native" "$under"
if INTERCEPT_PLAN_CACHE=$cache LD_PRELOAD=$answer "$probe" answer expect-magic; then
	echo "ok    the hook answers through trampolines of a cached plan"
else
	echo "FAIL  the hook does not answer with a cached plan"; fail=1
fi
k=$("$regstate" native | sed -n 's/^syscall-offset //p')
if INTERCEPT_PLAN_CACHE=$cache LD_PRELOAD=$clobber "$regstate" patched "$k" >"$dir/regs.out" 2>&1
then
	echo "ok    every register as the kernel leaves it, with a cached plan"
else
	echo "FAIL  register state with a cached plan:"; cat "$dir/regs.out"; fail=1
fi
if INTERCEPT_PLAN_CACHE=$cache INTERCEPT_EXHAUSTIVE=1 LD_PRELOAD=$pass /bin/true; then
	echo "ok    INTERCEPT_EXHAUSTIVE with a cached plan"
else
	echo "FAIL  INTERCEPT_EXHAUSTIVE with a cached plan"; fail=1
fi

# The largest plan is libc's.  Damage it three ways; each time the process analyses again,
# patches the same sites and writes a good plan back.
plan=$(ls -S "$cache"/*.plan | head -1)
check_rejected() {	# check_rejected LABEL REASON
	out=$(INTERCEPT_PLAN_CACHE=$cache INTERCEPT_DEBUG_DUMP=2 LD_PRELOAD=$lib /bin/true 2>&1)
	expect "$1: not used" "plan cache: $plan is $2.*; analysing again" "$out"
	expect "$1: written again" "plan cache: wrote $plan" "$out"
	same "$1: the same sites" "$reference" "$(printf '%s\n' "$out" | grep -E ' site |patched ')"
}
size=$(stat -c %s "$plan")
head -c $((size - 7)) "$plan" >"$dir/cut" && cat "$dir/cut" >"$plan"
check_rejected "a cut plan" "damaged: its size"
# first record (after the 104-byte header): its syscall offset := its window's start offset
dd if="$plan" of="$plan" bs=1 skip=108 seek=104 count=4 conv=notrunc 2>/dev/null
check_rejected "a plan whose syscall is not where it says" "damaged: its checksum"
# a byte of the library's build id in the header
printf 'X' | dd of="$plan" bs=1 seek=60 count=1 conv=notrunc 2>/dev/null
check_rejected "a plan of another build of the library" "made for another build or segment"
# The checksum made good after the change: the plan rule itself must refuse the plan.  The
# first window made 32 bytes longer (here 42: more bytes and instructions than a window may
# have); then a padding jump moved out of reach.
if command -v python3 >/dev/null; then
	forge() {	# forge METHOD FIELD DELTA: a field of the first record of that method
		python3 "$(dirname "$0")/plan_fuzz.py" --forge "$plan" "$@"
	}
	forge window end 32 && check_rejected "a 42-byte window" "not a valid plan: 0x[0-9a-f]*: the window"
	forge padding pad 200 && check_rejected "a padding jump out of reach" "not a valid plan: 0x[0-9a-f]*: the padding is out of"
else
	echo "skip  tampered plans with a good checksum: no python3"
fi

# A relative folder is kept as an absolute path (objects dlopen'ed later may be patched after
# the program changed directory).
abs=$(cd "$dir" && pwd -P)
out=$(cd "$dir" && INTERCEPT_PLAN_CACHE=relative INTERCEPT_DEBUG_DUMP=1 LD_PRELOAD=$lib /bin/true 2>&1)
expect "a relative folder is named by its absolute path" "plan cache: wrote $abs/relative/" "$out"

chmod 777 "$cache"
out=$(INTERCEPT_PLAN_CACHE=$cache INTERCEPT_DEBUG_DUMP=1 LD_PRELOAD=$lib /bin/true 2>&1)
expect "a directory others can write is not used" "plan cache $cache: not a directory" "$out"
refuse "nothing read from it" "plan cache: using" "$out"
chmod 700 "$cache"

[ $fail -eq 0 ] && echo PASS
exit $fail
