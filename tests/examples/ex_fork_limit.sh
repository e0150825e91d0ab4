#!/bin/sh
# ex_fork_limit.sh HOOK -- examples/fork_limit.so:
#  - FORK_LIMIT=3: a shell loop running /bin/true 5 times runs it 3 times, then the shell
#    cannot fork (it reports it and fails);
#  - FORK_LIMIT=2 in python: os.fork works twice, the third raises EAGAIN (errno 11);
#    threads are not counted; subprocess (vfork/posix_spawn) counts like fork;
#  - a forked child has a budget of its own.
set -u
. "$(dirname "$0")/lib.sh"
hook=$1
si_tmpdir

FORK_LIMIT=3 LD_PRELOAD=$hook sh -c 'for i in 1 2 3 4 5; do /bin/true && echo ran $i; done' \
	>"$tmp/out" 2>"$tmp/err"
st=$?
cat "$tmp/out" "$tmp/err"
[ $st -ne 0 ] || fail "the shell did not fail"
[ "$(cat "$tmp/out")" = "$(printf 'ran 1\nran 2\nran 3')" ] || fail "expected exactly 3 runs"
grep -qi "fork" "$tmp/err" || fail "the shell did not report the failed fork"

si_python
out=$(FORK_LIMIT=2 LD_PRELOAD=$hook "$PY" -c '
import os, threading, subprocess
ts = [threading.Thread(target=lambda: None) for i in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
res = []
for i in range(3):
    try:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0); res.append("fork")
    except OSError as e:
        res.append("errno%d" % e.errno)
print(" ".join(res))')
[ "$out" = "fork fork errno11" ] || fail "python forks: $out (threads must not count)"

out=$(FORK_LIMIT=1 LD_PRELOAD=$hook "$PY" -c '
import os, subprocess
def attempt():
    try:
        return "ok" if subprocess.run(["/bin/true"]).returncode == 0 else "bad"
    except OSError as e:
        return "errno%d" % e.errno
pid = os.fork()
if pid == 0:
    print("child", attempt(), attempt(), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
print("parent", attempt())')
[ "$out" = "$(printf 'child ok errno11\nparent errno11')" ] || fail "budgets: $out"
echo PASS
