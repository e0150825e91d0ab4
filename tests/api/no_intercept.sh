#!/bin/sh
# no_intercept.sh PROBE HOOK -- syscall_no_intercept bypasses the hook: under a hook that
# answers getppid with a magic value, the raw call returns the real parent pid and the hook
# never sees it; syscall_error_code decodes raw results.  It must never run without the hook.
set -u
probe=$1 hook=$2
LD_PRELOAD=$hook "$probe" nointercept || { echo "FAIL"; exit 1; }
