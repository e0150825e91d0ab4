#!/bin/sh
# regstate.sh REGSTATE CLOBBER_HOOK ANSWER_CLOBBER_HOOK -- the register-state test: natively the checker passes and
# catches deliberate breakage (selftest); under a hook that destroys every caller-saved
# register, vector register, MXCSR and x87 control word, the patched getppid/getuid sites still
# leave every register the kernel preserves intact; the same under a clobbering hook that answers
# getppid itself (RAX must then be its answer, 4242).
set -u
prog=$1 hook=$2 hook2=$3
echo "== native"
out=$("$prog" native) ; st=$?
echo "$out"
[ $st -eq 0 ] || { echo "FAIL: the checker fails natively"; exit 1; }
k=$(echo "$out" | sed -n 's/^syscall-offset //p')
echo "== selftest (native, deliberate breakage must be caught)"
"$prog" selftest || { echo "FAIL: selftest"; exit 1; }
echo "== under $hook"
LD_PRELOAD=$hook "$prog" patched "$k" || { echo "FAIL: registers not preserved under the library"; exit 1; }
echo "== under $hook2 (answers getppid with 4242)"
out=$(LD_PRELOAD=$hook2 "$prog" patched "$k"); st=$?
echo "$out"
[ $st -eq 0 ] || { echo "FAIL: registers not preserved when the hook answers"; exit 1; }
echo "$out" | grep -q '^getppid() = 4242$' || { echo "FAIL: the answering hook did not run"; exit 1; }
