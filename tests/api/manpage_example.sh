#!/bin/sh
# manpage_example.sh HOOK -- the man page's example end to end: with the example hook preloaded,
# `ls DIR` fails with "Operation not supported"; without it the same ls lists the directory.
# It must never pass when the native ls fails too (the directory is made here and is readable).
set -u
LC_ALL=C; export LC_ALL
hook=$1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/dir" && touch "$tmp/dir/alpha" "$tmp/dir/beta"

ls "$tmp/dir" >"$tmp/native.out" 2>"$tmp/native.err"
st=$?
if [ $st -ne 0 ] || [ "$(cat "$tmp/native.out")" != "$(printf 'alpha\nbeta')" ]; then
	echo "FAIL: native ls did not list the directory (status $st)"; cat "$tmp/native.err"; exit 1
fi
echo "native ls: ok"

LD_PRELOAD=$hook ls "$tmp/dir" >"$tmp/hooked.out" 2>"$tmp/hooked.err"
st=$?
echo "hooked ls exit status: $st"
echo "hooked ls stderr: $(cat "$tmp/hooked.err")"
if [ $st -eq 0 ]; then
	echo "FAIL: ls under the example hook succeeded"; exit 1
fi
if ! grep -q "Operation not supported" "$tmp/hooked.err"; then
	echo "FAIL: ls under the example hook did not report 'Operation not supported'"; exit 1
fi
if grep -q alpha "$tmp/hooked.out"; then
	echo "FAIL: ls under the example hook still listed the directory"; exit 1
fi
echo "PASS"
