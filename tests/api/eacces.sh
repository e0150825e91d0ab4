#!/bin/sh
# eacces.sh PROBE HOOK -- a hook returning -EACCES for openat of one path: natively the file
# opens; under the hook open(), fopen() and openat() of exactly that path fail with errno EACCES
# while another path still opens.  It must never pass when the file is unreadable natively.
set -u
probe=$1 hook=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
echo secret >"$tmp/secret"
echo public >"$tmp/public"
echo "== native"
"$probe" eacces "$tmp/secret" "$tmp/public" expect-allowed || { echo "FAIL: native run"; exit 1; }
echo "== under $hook"
SI_DENY_PATH=$tmp/secret LD_PRELOAD=$hook "$probe" eacces "$tmp/secret" "$tmp/public" \
	expect-denied || { echo "FAIL: hooked run"; exit 1; }
