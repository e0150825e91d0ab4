#!/bin/sh
# modes_dump.sh LIB PASSTHROUGH PROBE ANSWER_HOOK -- what INTERCEPT_DEBUG_DUMP says about the
# entry and the safety net, and that INTERCEPT_NO_VECTOR_SAVE really selects the entry that
# saves no vector state while syscalls and hooks keep working.  It only runs programs.
set -u
LC_ALL=C; export LC_ALL
lib=$1 pass=$2 probe=$3 answer=$4
fail=0
expect() {	# expect LABEL PATTERN TEXT
	if printf '%s\n' "$3" | grep -q -- "$2"; then echo "ok    $1"
	else echo "FAIL  $1: no line matching '$2' in:"; printf '%s\n' "$3"; fail=1; fi
}
refuse() {	# refuse LABEL PATTERN TEXT
	if printf '%s\n' "$3" | grep -q -- "$2"; then echo "FAIL  $1: unexpected '$2'"; fail=1
	else echo "ok    $1"; fi
}

out=$(INTERCEPT_DEBUG_DUMP=2 LD_PRELOAD=$lib /bin/true 2>&1)
expect "level 2 names the vector state saved" "syscall_intercept: entry saves .*MXCSR" "$out"
expect "level 2 times each object" "syscall_intercept: time .*libc.so.6: [0-9]* us" "$out"
refuse "no safety net without need" "safety net armed" "$out"
out=$(INTERCEPT_DEBUG_DUMP=1 LD_PRELOAD=$lib /bin/true 2>&1)
refuse "level 1 has no entry line" "entry saves" "$out"

out=$(INTERCEPT_DEBUG_DUMP=2 INTERCEPT_NO_VECTOR_SAVE=1 LD_PRELOAD=$lib /bin/true 2>&1)
expect "INTERCEPT_NO_VECTOR_SAVE selects the entry without vector saves" \
	"entry saves no vector state" "$out"

# With that entry, syscalls still work and the hook still answers.  (A directory of our own,
# inside another of our own: other tests running at the same time change / and /tmp, and
# `ls -la` shows the parent as "..".)
top=$(mktemp -d) || exit 1
trap 'rm -rf "$top"' EXIT
dir=$top/files
mkdir "$dir" || exit 1
for f in one two three; do echo "content $f" >"$dir/$f"; done
native=$(ls -la "$dir" 2>&1; cat "$dir"/*; echo "status $?")
under=$(INTERCEPT_NO_VECTOR_SAVE=1 LD_PRELOAD=$pass sh -c 'ls -la "$1"; cat "$1"/*' sh "$dir" 2>&1;
	echo "status $?")
if [ "$native" = "$under" ]; then echo "ok    ls and cat under the no-vector entry"
else echo "FAIL  ls and cat differ under the no-vector entry"; printf '%s\n---\n%s\n' "$native" "$under"; fail=1; fi
if INTERCEPT_NO_VECTOR_SAVE=1 LD_PRELOAD=$answer "$probe" answer expect-magic; then
	echo "ok    the hook answers through the no-vector entry"
else
	echo "FAIL  the hook does not answer through the no-vector entry"; fail=1
fi

if [ -r /proc/sys/kernel/osrelease ] && out=$(INTERCEPT_DEBUG_DUMP=1 INTERCEPT_EXHAUSTIVE=1 \
	LD_PRELOAD=$lib /bin/true 2>&1) && ! printf '%s' "$out" | grep -q "needs Syscall User Dispatch"; then
	expect "the dump says when the safety net is armed" \
		"safety net armed (Syscall User Dispatch): every syscall" "$out"
fi
[ $fail -eq 0 ] && echo PASS
exit $fail
