#!/bin/sh
# man_render.sh PAGE WORD... -- the built roff page renders: `man -l` (or groff -man when man
# is missing) formats it without warnings, and the text contains every WORD.  Skips when the
# page was not built (no pandoc) or neither man nor groff is installed.
set -u
. "$(dirname "$0")/lib.sh"
page=$1
shift
[ -f "$page" ] || skip "$page not built (pandoc not installed)"
si_tmpdir
if command -v man >/dev/null; then
	MANWIDTH=100 MANPAGER=cat PAGER=cat man -l "$page" >"$tmp/out" 2>"$tmp/err" || fail "man -l: $(cat "$tmp/err")"
	how="man -l"
elif command -v groff >/dev/null; then
	groff -man -Tutf8 -ww "$page" >"$tmp/out" 2>"$tmp/err" || fail "groff: $(cat "$tmp/err")"
	how="groff -man"
else
	skip "neither man nor groff installed"
fi
if command -v groff >/dev/null; then
	groff -man -Tutf8 -ww -z "$page" 2>>"$tmp/err"
fi
[ -s "$tmp/err" ] && fail "$how warned: $(cat "$tmp/err")"
[ "$(wc -l <"$tmp/out")" -gt 20 ] || fail "$how rendered almost nothing"
for w in "$@"; do
	grep -q -- "$w" "$tmp/out" || fail "rendered page lacks '$w'"
done
echo "$how: $(wc -l <"$tmp/out") lines"
echo PASS
