#!/bin/sh
# ex_redirect.sh HOOK -- examples/redirect.so: with REDIRECT_FROM=<virtual prefix that does not
# exist> and REDIRECT_TO=<real folder>, ls, ls -l, cat, stat, a shell's cd, mkdir/rm and
# python's os.listdir see the real folder's contents under the virtual prefix; a name that
# merely starts with the prefix (prefix + "X") is not redirected.
set -u
. "$(dirname "$0")/lib.sh"
hook=$1
si_tmpdir
real=$tmp/real
virt=$tmp/virtual		# never created
mkdir -p "$real/sub" && printf 'top\n' >"$real/a.txt" && printf 'deep\n' >"$real/sub/b.txt"
export REDIRECT_FROM="$virt" REDIRECT_TO="$real"
run() { LD_PRELOAD=$hook "$@"; }

[ "$(run ls "$virt")" = "$(printf 'a.txt\nsub')" ] || fail "ls of the virtual folder: $(run ls "$virt" 2>&1)"
run ls -l "$virt/sub" 2>"$tmp/err" | grep -q ' b.txt$' || fail "ls -l: $(cat "$tmp/err")"
[ -s "$tmp/err" ] && fail "ls -l complained: $(cat "$tmp/err")"
[ "$(run cat "$virt/a.txt" "$virt/sub/b.txt")" = "$(printf 'top\ndeep')" ] || fail "cat"
[ "$(run stat -c %s "$virt/sub/b.txt")" = 5 ] || fail "stat"
[ "$(run sh -c "cd '$virt/sub' && cat b.txt")" = deep ] || fail "cd + relative open"
run sh -c "mkdir '$virt/new' && echo x >'$virt/new/f'" || fail "mkdir + create"
[ -f "$real/new/f" ] || fail "the file was not created in the real folder"
run rm -r "$virt/new" || fail "rm -r"
[ -e "$real/new" ] && fail "rm -r did not remove the real folder"
[ -e "$virt" ] && fail "the virtual prefix was created for real"
run sh -c "ls '${virt}X'" 2>/dev/null && fail "a sibling name with the prefix as its start was redirected"
si_python
out=$(run "$PY" -c "import os; print(sorted(os.listdir('$virt')), os.path.isdir('$virt/sub'))")
[ "$out" = "['a.txt', 'sub'] True" ] || fail "python: $out"
echo PASS
