#!/bin/sh
# ex_deny_getdents.sh HOOK -- examples/deny_getdents.so (used by `make demo`): ls of a readable
# directory fails with "Operation not supported"; ls of the same directory works natively.
set -u
. "$(dirname "$0")/lib.sh"
hook=$1
si_tmpdir
mkdir "$tmp/d" && touch "$tmp/d/one"
[ "$(ls "$tmp/d")" = one ] || fail "native ls did not list the directory"
LD_PRELOAD=$hook ls "$tmp/d" >"$tmp/out" 2>"$tmp/err" && fail "ls succeeded under the hook"
grep -q "Operation not supported" "$tmp/err" || fail "unexpected stderr: $(cat "$tmp/err")"
grep -q one "$tmp/out" && fail "the directory was listed anyway"
echo PASS
