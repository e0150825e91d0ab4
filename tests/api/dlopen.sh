#!/bin/sh
# dlopen.sh PROBE HOOK -- the openat that dlopen() issues from ld.so reaches the hook: natively
# the probe's dlopens work; under openlog_hook.so the hook must have seen the opened files.
set -u
probe=$1 hook=$2
echo "== native"
"$probe" native || { echo "FAIL: native run"; exit 1; }
echo "== under $hook"
LD_PRELOAD=$hook "$probe" || { echo "FAIL: hooked run"; exit 1; }
