#!/bin/sh
# dbg_throw.sh HOOK PROG -- a C++ exception leaving a hook must fail loudly: the library's
# message on stderr, and either the program catching it with hooks still working afterwards
# ("after: 777") or the C++ runtime terminating it.  A silent run, or a run where later
# syscalls no longer reach the hook, fails.  It only runs PROG.
hook=$1 prog=$2
out=$(LD_PRELOAD=$hook timeout 30 "$prog" 2>/tmp/dbg_throw.$$)
status=$?
err=$(cat /tmp/dbg_throw.$$); rm -f /tmp/dbg_throw.$$
echo "status $status"; echo "stdout: $out"; echo "stderr: $err"
case "$err" in
*"a hook was left by unwinding"*) ;;
*) echo "FAIL: no message from the library"; exit 1 ;;
esac
if [ "$status" = 0 ]; then
	case "$out" in
	*"after: 777"*) echo PASS; exit 0 ;;
	*) echo "FAIL: the program went on but the hook no longer answers"; exit 1 ;;
	esac
fi
case "$err" in
*terminate*) echo "PASS (terminated by the C++ runtime)"; exit 0 ;;
esac
echo "FAIL: exit $status without the C++ runtime's message"; exit 1
