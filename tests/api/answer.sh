#!/bin/sh
# answer.sh PROBE HOOK -- a hook answering getppid in user space: natively the probe sees the
# real parent pid, under the hook it sees the hook's magic value through both libc's getppid()
# and syscall(SYS_getppid).  It must never accept the magic value natively.
set -u
probe=$1 hook=$2
echo "== native"
"$probe" answer expect-real || { echo "FAIL: native run"; exit 1; }
echo "== under $hook"
LD_PRELOAD=$hook "$probe" answer expect-magic || { echo "FAIL: hooked run"; exit 1; }
