#!/bin/sh
# The main job, shown: the man page's example hook makes `ls` fail to read a directory, then
# the library reports what it patched.  Usage: tools/demo.sh <build dir>
set -u
build=${1:-build}
hook=$(cd "$build" && pwd)/examples/deny_getdents.so
lib=$(cd "$build" && pwd)/src/libsyscall_intercept.so
dir=$(mktemp -d)
touch "$dir/a_file"

echo "== ls $dir, natively:"
ls "$dir"
echo "   exit status $?"
echo
echo "== the same under LD_PRELOAD=deny_getdents.so (examples/deny_getdents.c denies getdents64):"
LD_PRELOAD=$hook ls "$dir" 2>&1
echo "   exit status $?"
echo
echo "== what the library patched in this machine's libc and ld.so (INTERCEPT_DEBUG_DUMP=1):"
INTERCEPT_DEBUG_DUMP=1 LD_PRELOAD=$lib /bin/true 2>&1
rm -rf "$dir"
