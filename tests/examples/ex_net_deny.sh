#!/bin/sh
# ex_net_deny.sh HOOK -- examples/net_deny.so, against two listening sockets on 127.0.0.1
# (ports A and B) served by a native python process:
#  - NET_DENY=127.0.0.1:A: bash's /dev/tcp to A fails with "Permission denied", to B works;
#  - NET_DENY=B (a port alone): python's connect to B raises EACCES (13), to A works;
#  - NET_DENY=127.0.0.2 (an address alone): a UDP sendto 127.0.0.2 fails, to 127.0.0.1 works;
#  - an IPv4-mapped IPv6 rule matches the IPv4 address.
set -u
. "$(dirname "$0")/lib.sh"
hook=$1
si_tmpdir
si_python
command -v bash >/dev/null || skip "bash not installed"

"$PY" -c '
import os, select, socket, sys, time
ss = []
for i in range(2):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    ss.append(s)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d %d\n" % (ss[0].getsockname()[1], ss[1].getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
end = time.time() + 60
while time.time() < end and os.path.exists(sys.argv[1]):
    r, _, _ = select.select(ss, [], [], 0.2)
    for s in r:
        s.accept()[0].close()
' "$tmp/ports" &
server=$!
trap 'rm -f "$tmp/ports"; kill $server 2>/dev/null; rm -rf "$tmp"' EXIT
i=0
while [ ! -s "$tmp/ports" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
read -r A B <"$tmp/ports" || fail "the server did not start"
echo "ports $A $B"

NET_DENY=127.0.0.1:$A LD_PRELOAD=$hook bash -c "echo >/dev/tcp/127.0.0.1/$A" 2>"$tmp/err" &&
	fail "bash connected to the denied 127.0.0.1:$A"
grep -q "Permission denied" "$tmp/err" || fail "bash: $(cat "$tmp/err")"
NET_DENY=127.0.0.1:$A LD_PRELOAD=$hook bash -c "echo >/dev/tcp/127.0.0.1/$B" ||
	fail "bash could not connect to the allowed port $B"

probe='
import socket, sys
res = []
for p in sys.argv[1:]:
    try:
        socket.create_connection(("127.0.0.1", int(p)), timeout=5).close(); res.append("ok")
    except OSError as e:
        res.append("errno%s" % e.errno)
print(" ".join(res))'
out=$(NET_DENY=$B LD_PRELOAD=$hook "$PY" -c "$probe" "$A" "$B")
[ "$out" = "ok errno13" ] || fail "port rule: $out"
out=$(NET_DENY="[::ffff:127.0.0.1]:$A" LD_PRELOAD=$hook "$PY" -c "$probe" "$A" "$B")
[ "$out" = "errno13 ok" ] || fail "mapped IPv6 rule: $out"

out=$(NET_DENY=127.0.0.2 LD_PRELOAD=$hook "$PY" -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
res = []
for h in ("127.0.0.2", "127.0.0.1"):
    try:
        s.sendto(b"x", (h, 9)); res.append("sent")
    except OSError as e:
        res.append("errno%d" % e.errno)
print(" ".join(res))')
[ "$out" = "errno13 sent" ] || fail "address rule (UDP): $out"
echo PASS
