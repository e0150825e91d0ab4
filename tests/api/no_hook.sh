#!/bin/sh
# no_hook.sh LIB -- the library preloaded alone, with no hook set, passes every syscall through:
# ls and sh (with a pipe, child processes, a redirection and an exit status) print the same
# output and exit with the same status as natively.  It must never compare a run with itself.
set -u
LC_ALL=C; export LC_ALL
lib=$1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/dir"
for f in one two three; do echo "content $f" >"$tmp/dir/$f"; done
fail=0

# same LABEL COMMAND...: runs COMMAND natively and preloaded, compares stdout, stderr, status
same() {
	label=$1; shift
	"$@" >"$tmp/n.out" 2>"$tmp/n.err"; ns=$?
	LD_PRELOAD=$lib "$@" >"$tmp/p.out" 2>"$tmp/p.err"; ps=$?
	if [ $ns -ne $ps ] || ! cmp -s "$tmp/n.out" "$tmp/p.out" || ! cmp -s "$tmp/n.err" "$tmp/p.err"; then
		echo "FAIL  $label: status native $ns preloaded $ps"
		echo "--- native stdout/stderr"; cat "$tmp/n.out" "$tmp/n.err"
		echo "--- preloaded stdout/stderr"; cat "$tmp/p.out" "$tmp/p.err"
		fail=1
	else
		echo "ok    $label (status $ns, $(wc -l <"$tmp/n.out") lines)"
	fi
}

same "ls -l" ls -l "$tmp/dir"
same "ls of a missing file" ls "$tmp/missing"
same "sh -c with pipe, child processes and exit status" \
	sh -c "echo hello; cat '$tmp/dir/one'; ls '$tmp/dir' | sort -r; wc -c '$tmp/dir/two' >'$tmp/wc.txt'; cat '$tmp/wc.txt'; exit 3"
same "sh -c with a subshell and a loop" \
	sh -c "for i in 1 2 3; do (echo \$i; ls '$tmp/dir' | wc -l); done"
[ $fail -eq 0 ] && echo PASS
exit $fail
