#!/bin/sh
# ex_fault_inject.sh HOOK -- examples/fault_inject.so:
#  - FAULT_NTH=3 FAULT_PATH='*/out' FAULT_ERRNO=ENOSPC: dd writing 5 one-byte blocks to out
#    fails at the third with "No space left on device", out holds exactly 2 bytes, and dd's
#    own messages on stderr (not matching) are written;
#  - FAULT_PATH='*.out' FAULT_ERRNO=EIO: cp into x.out fails with "Input/output error" while
#    cp into x.txt works;
#  - FAULT_ERRNO given as a number (28) reaches a python program as that errno;
#  - with no FAULT_PATH nor FAULT_NTH nothing fails.
set -u
. "$(dirname "$0")/lib.sh"
hook=$1
si_tmpdir
cd "$tmp" || fail "cd"

FAULT_NTH=3 FAULT_PATH='*/out' FAULT_ERRNO=ENOSPC LD_PRELOAD=$hook \
	dd if=/dev/zero of=out bs=1 count=5 2>err
st=$?
cat err
[ $st -ne 0 ] || fail "dd succeeded"
grep -q "No space left on device" err || fail "dd did not report ENOSPC"
[ "$(stat -c %s out)" = 2 ] || fail "out holds $(stat -c %s out) bytes, expected 2"

printf 'payload\n' >in
FAULT_PATH='*.out' FAULT_ERRNO=EIO LD_PRELOAD=$hook cp in x.out 2>err && fail "cp into x.out succeeded"
grep -q "Input/output error" err || fail "cp did not report EIO: $(cat err)"
FAULT_PATH='*.out' FAULT_ERRNO=EIO LD_PRELOAD=$hook cp in x.txt || fail "cp into x.txt failed"
cmp -s in x.txt || fail "x.txt differs"

si_python
out=$(FAULT_NTH=2 FAULT_PATH='*/py.dat' FAULT_ERRNO=28 LD_PRELOAD=$hook "$PY" -c '
import os
fd = os.open("py.dat", os.O_WRONLY | os.O_CREAT, 0o600)
res = []
for i in range(3):
    try:
        os.write(fd, b"a"); res.append("ok")
    except OSError as e:
        res.append("errno%d" % e.errno)
print(" ".join(res))')
[ "$out" = "ok errno28 ok" ] || fail "python saw: $out"

[ "$(LD_PRELOAD=$hook sh -c 'echo fine')" = fine ] || fail "unconfigured library changed a write"
echo PASS
