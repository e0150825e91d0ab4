# exh_python.py -- a real interpreter workload for the exhaustive mode: threads that hash and
# make syscalls, subprocesses (fork+exec through posix_spawn/vfork in CPython), pipes, files in
# a temporary folder.  Everything it prints is deterministic, so a run under the library can be
# compared byte for byte with a native run.  It must never print pids, times or paths.
import hashlib
import os
import subprocess
import tempfile
import threading

results = [None] * 4


def work(i):
    h = hashlib.sha256()
    for j in range(3000):
        h.update(str(i * j).encode())
        if j % 10 == 0:
            os.getppid()
            os.stat("/")
    results[i] = h.hexdigest()[:16]


threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("threads:", results)

out = subprocess.run(["sh", "-c", "echo sub $((6 * 7))"], capture_output=True, text=True)
print("subprocess:", out.stdout.strip(), out.returncode)
print("ls / lines:", subprocess.check_output(["ls", "/"]).decode().count("\n"))
p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
got, _ = p.communicate(b"x" * 100000)
print("pipe through cat:", len(got), p.returncode)

with tempfile.TemporaryDirectory() as d:
    name = os.path.join(d, "f")
    with open(name, "w") as f:
        f.write("y" * 12345)
    print("file size:", os.path.getsize(name), sorted(os.listdir(d)))

r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.write(w, b"from the forked child")
    os._exit(7)
os.close(w)
print("fork:", os.read(r, 100).decode(), os.waitpid(pid, 0)[1] >> 8)
