#!/bin/sh
# cmdline_filter.sh PROBE HOOK -- INTERCEPT_HOOK_CMDLINE_FILTER: the program is patched only
# when the last path component of argv[0] equals the value exactly.  Checks an exact match, no
# match, a prefix, a suffix, a full path, an empty value, an unset variable, and a program
# started through a symlink of another name (argv[0], not /proc/self/exe, decides).  For each,
# syscall_hook_in_process_allowed() and whether the hook fired (getppid answered) must agree.
set -u
probe=$1 hook=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
ln -s "$probe" "$tmp/renamed_probe"
name=$(basename "$probe")
fail=0

# run LABEL EXPECTED PROGRAM [FILTER]  (no FILTER argument: the variable is unset)
run() {
	label=$1 want=$2 prog=$3
	if [ $# -ge 4 ]; then
		out=$(INTERCEPT_HOOK_CMDLINE_FILTER=$4 LD_PRELOAD=$hook "$prog" filter 2>&1)
	else
		out=$(env -u INTERCEPT_HOOK_CMDLINE_FILTER LD_PRELOAD=$hook "$prog" filter 2>&1)
	fi
	if [ "$out" = "$want" ]; then
		echo "ok    $label: $out"
	else
		echo "FAIL  $label: got '$out', expected '$want'"
		fail=1
	fi
}

yes="allowed=1 hooked=1"
no="allowed=0 hooked=0"
run "unset" "$yes" "$probe"
run "exact match ($name)" "$yes" "$probe" "$name"
run "no match (ls)" "$no" "$probe" ls
run "prefix ($(echo "$name" | cut -c1-5))" "$no" "$probe" "$(echo "$name" | cut -c1-5)"
run "suffix ($(echo "$name" | cut -c3-))" "$no" "$probe" "$(echo "$name" | cut -c3-)"
run "name plus one character (${name}x)" "$no" "$probe" "${name}x"
run "full path as the value ($probe)" "$no" "$probe" "$probe"
run "empty value (README: empty means no filter)" "$yes" "$probe" ""
run "symlink renamed_probe, value renamed_probe" "$yes" "$tmp/renamed_probe" renamed_probe
run "symlink renamed_probe, value $name" "$no" "$tmp/renamed_probe" "$name"
exit $fail
