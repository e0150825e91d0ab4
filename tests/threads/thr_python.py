# thr_python.py HOOK -- scenario "python3 loads a hook": an interpreter with a thread asleep in
# time.sleep (50 ms, again and again), one blocked in os.read on a pipe and one looping
# os.getppid() (the others, waiting for the GIL, sit in futex waits) loads the hook library with
# ctypes.CDLL, so the library patches libc under all of them.  Then the pipe gets its data, the
# threads are joined, and the hook must see this interpreter's later syscalls.  Exit 0: all
# well; 1: a check failed.  It must never pass without having loaded the hook while the threads
# were inside libc.
import ctypes
import os
import sys
import threading
import time

SLEEP = 0.05
MARKERS = 64


def fail(msg):
    print("FAIL: threads_python: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


def in_syscall(tid, nrs):
    """tid is blocked in one of the syscalls numbered nrs (/proc/self/task/<tid>/syscall)."""
    try:
        with open("/proc/self/task/%d/syscall" % tid) as f:
            first = f.read().split()[0]
        return first.lstrip("-").isdigit() and int(first) in nrs
    except OSError:
        return False


def wait_blocked(tid, nrs, who):
    deadline = time.monotonic() + 10
    while not in_syscall(tid, nrs):
        if time.monotonic() > deadline:
            fail("%s is not blocked in syscall %s after 10 s" % (who, nrs))
        time.sleep(0.0005)


r, w = os.pipe()
results = {}
stop = False
tids = {}


def sleeper():
    tids["sleeper"] = threading.get_native_id()
    short = 0
    while not stop:
        t0 = time.monotonic()
        time.sleep(SLEEP)
        if time.monotonic() - t0 < SLEEP:
            short += 1
    results["short sleeps"] = short


def reader():
    tids["reader"] = threading.get_native_id()
    results["read"] = os.read(r, 5)


def spinner():
    tids["spinner"] = threading.get_native_id()
    n = 0
    while not stop:
        os.getppid()
        n += 1
    results["spins"] = n


threads = [threading.Thread(target=f) for f in (sleeper, reader, spinner)]
for t in threads:
    t.start()
while len(tids) < 3:
    time.sleep(0.0005)
# read 0, clock_nanosleep 230 (the sleeper may use select 23 or nanosleep 35 elsewhere)
wait_blocked(tids["reader"], (0,), "the reader")
wait_blocked(tids["sleeper"], (230, 35, 23), "the sleeper")

hook = ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_GLOBAL)

os.write(w, b"hello")
stop = True
for t in threads:
    t.join()
if results.get("read") != b"hello":
    fail("the blocked os.read returned %r, expected b'hello'" % results.get("read"))
if results.get("short sleeps") != 0:
    fail("time.sleep(%s) returned early %s times" % (SLEEP, results.get("short sleeps")))
if not results.get("spins", 0) > 0:
    fail("the spinner did not spin")

counter = hook.thr_hook_writes
counter.restype = ctypes.c_long
counter.argtypes = [ctypes.c_int]
fd = os.open("/dev/null", os.O_WRONLY)
before = counter(fd)
for i in range(MARKERS):
    os.write(fd, b"m")
seen = counter(fd) - before
if seen != MARKERS:
    fail("the hook saw %d of the interpreter's %d write calls" % (seen, MARKERS))
print("threads_python: sleeping, reading and spinning threads survived; syscalls reach the hook")
