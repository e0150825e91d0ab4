#!/bin/sh
# recursion.sh PROBE HOOK -- a hook that calls printf/malloc/fopen does not recurse: the probe
# checks the hook's counters, and the hook's own printf output must appear three times.
set -u
probe=$1 hook=$2
out=$(LD_PRELOAD=$hook "$probe" 2>&1)
st=$?
echo "$out"
[ $st -eq 0 ] || { echo "FAIL: probe exited with $st"; exit 1; }
n=$(echo "$out" | grep -c "^hook: read 'Name:")
[ "$n" -eq 3 ] || { echo "FAIL: the hook printed $n lines, expected 3"; exit 1; }
