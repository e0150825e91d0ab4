#!/usr/bin/env python3
"""coverage.py NAME=STRACE_FILE... -- compares, per process and per syscall number, the syscalls
strace saw with those that reached coverage_hook.so in the same run, and prints a table.

Reads output of `strace -f -n -qq -s 65536 -o FILE` of a run with LD_PRELOAD=coverage_hook.so
(markers: see coverage_hook.c).  For each process (pid), its strace lines fall in segments:

  before the hook is installed   from the process start (exec) to the "SI_COV_START" marker
                                 (ld.so loading, the library's own patching): not expected
  counted                        from "SI_COV_START" to an "SI_COV_END counts" marker plus the
                                 one line after it (the exit/exec that made the hook dump): every
                                 line must match the dumped counts, number by number
  after a successful execve      the new image starts "before the hook is installed" again

A fork child starts counted: its first line must be the START marker written by the clone
child hook.  Restarts: a line ending "= ? ERESTART..." is not counted when the kernel restarts
the same syscall (the next line of that process, after any signal handler up to rt_sigreturn,
has the same number, or is restart_syscall); the program made one call, the hook saw one.
A process using threads is reported as "threads" (not single-threaded: not compared).

Exit status 1 when any program missed a syscall or counted one twice.  It only reads.
"""
import collections
import re
import sys

LINE = re.compile(r'^(\d+)\s+(.*)$')
SYSCALL = re.compile(r'^\[\s*(\d+)\] (.*)$')
RESULT = re.compile(r'\)\s+=\s+(.*)$')
MARKER = re.compile(r'^write\(-1, "(SI_COV_[^"]*)"')
NAME = re.compile(r'^(?:<\.\.\. )?([a-z0-9_]+)')
CLONES = {56, 57, 58, 435}           # clone fork vfork clone3
EXITS = {60, 231}                    # exit exit_group
EXECS = {59, 322}                    # execve execveat
RT_SIGRETURN, RESTART_SYSCALL = 15, 219


class Event:
    def __init__(self, kind, nr=None, text='', result=None):
        self.kind, self.nr, self.text, self.result = kind, nr, text, result


def parse(path):
    """Per pid, its events in order; the parent of each child; syscall names."""
    events = collections.defaultdict(list)
    order = []
    names = {}
    parent = {}
    open_call = {}                   # pid -> its <unfinished ...> event
    with open(path, errors='replace') as f:
        for line in f:
            m = LINE.match(line.rstrip('\n'))
            if not m:
                continue
            pid, rest = int(m.group(1)), m.group(2)
            if pid not in events:
                order.append(pid)
            s = SYSCALL.match(rest)
            if s and s.group(2).startswith(('---', '+++')):
                rest = s.group(2)      # -n also puts a number before signals and exits
            if rest.startswith('---'):
                events[pid].append(Event('signal', text=rest))
                continue
            if rest.startswith('+++'):
                events[pid].append(Event('end', text=rest))
                continue
            s = SYSCALL.match(rest)
            if not s:
                continue
            nr, text = int(s.group(1)), s.group(2)
            n = NAME.match(text)
            if n:
                names.setdefault(nr, n.group(1))
            r = RESULT.search(text)
            result = r.group(1) if r else None
            if text.startswith('<...') and 'resumed>' in text:
                ev = open_call.pop(pid, None)
                if ev is not None:
                    ev.result = result
            else:
                mk = MARKER.match(text)
                ev = Event('marker', nr, mk.group(1)) if mk else Event('call', nr, text, result)
                events[pid].append(ev)
                if text.endswith('<unfinished ...>'):
                    open_call[pid] = ev
                else:
                    ev.result = result
            if nr in CLONES and result and re.match(r'^\d+', result) and int(result.split()[0]) > 0:
                parent[int(result.split()[0])] = (pid, ev)
    return events, order, parent, names


def analyse(path):
    """Returns a dict with the totals and the problems of one strace file."""
    events, order, parent, names = parse(path)
    res = {'procs': len(order), 'pre': 0, 'strace': 0, 'hook': 0, 'covered': 0,
           'missed': collections.Counter(), 'extra': collections.Counter(),
           'problems': [], 'threads': False, 'names': names}
    for pid in order:
        for ev in events[pid]:
            if ev.kind == 'marker' and ev.text == 'SI_COV_THREAD':
                res['threads'] = True
            if ev.kind == 'call' and ev.nr in CLONES and 'CLONE_THREAD' in ev.text:
                res['threads'] = True
    if res['threads']:
        return res
    hooked_at_clone = {}             # id(clone event) -> the parent was counting then
    for pid in order:
        if pid in parent:
            ppid, cev = parent[pid]
            state = 'expect' if hooked_at_clone.get(id(cev), False) else 'pre'
        else:
            state = 'pre'
        seg = collections.Counter()
        dumped = None
        pending = None               # nr of an ERESTART* call that may be restarted
        in_handler = False
        for ev in events[pid]:
            if ev.kind == 'signal':
                if pending is not None:
                    in_handler = True
                continue
            if ev.kind == 'end':
                continue
            if ev.kind == 'marker':
                if ev.text == 'SI_COV_START':
                    if state not in ('pre', 'expect'):
                        res['problems'].append(f'pid {pid}: START marker while counting')
                    state, seg, pending = 'hooked', collections.Counter(), None
                elif ev.text.startswith('SI_COV_END'):
                    if state != 'hooked':
                        res['problems'].append(f'pid {pid}: END marker outside a counted segment')
                    dumped = collections.Counter()
                    for item in ev.text.split()[1:]:
                        k, v = item.split(':')
                        dumped[int(k) if k != 'other' else -1] = int(v)
                    state = 'after_end'
                continue
            # a syscall line
            if ev.nr in CLONES:
                hooked_at_clone[id(ev)] = state in ('hooked', 'after_end')
            if state == 'pre':
                res['pre'] += 1
                continue
            if state == 'expect':
                res['problems'].append(f'pid {pid}: child made {names.get(ev.nr, ev.nr)} before '
                                       'the clone child hook ran (no START marker)')
                state = 'hooked'
            nr = ev.nr
            if pending is not None:
                if nr == RESTART_SYSCALL or nr == pending:
                    # the kernel's restart of the pending call: that call is counted here,
                    # once it completes (it may be interrupted and restarted again)
                    in_handler = False
                    if not (ev.result and ev.result.startswith('? ERESTART')):
                        seg[pending] += 1
                        pending = None
                    nr = None
                elif in_handler and nr != RT_SIGRETURN:
                    pass              # a syscall of the signal handler: counted below
                elif in_handler and nr == RT_SIGRETURN:
                    in_handler = False
                    seg[nr] += 1      # the handler's return; the restart (if any) comes next
                    nr = None
                else:
                    seg[pending] += 1  # not restarted: the program got EINTR
                    pending = None
            if nr is None:
                pass
            elif ev.result and ev.result.startswith('? ERESTART'):
                pending, in_handler = nr, False
            else:
                seg[nr] += 1
            if state == 'after_end':
                if pending is not None:
                    seg[pending] += 1
                    pending = None
                if ev.nr not in EXITS | EXECS:
                    res['problems'].append(f'pid {pid}: the line after an END marker is '
                                           f'{names.get(ev.nr, ev.nr)}, not an exit or exec')
                compare(res, seg, dumped)
                seg, dumped = collections.Counter(), None
                if ev.nr in EXECS and ev.result is not None and ev.result.split()[0] == '0':
                    state = 'pre'
                elif ev.nr in EXITS:
                    state = 'done'
                else:
                    state = 'hooked'
        if pending is not None:
            seg[pending] += 1
        if state in ('hooked', 'expect') and sum(seg.values()):
            res['problems'].append(f'pid {pid}: ended without an END marker (killed?) after '
                                   f'{sum(seg.values())} counted syscalls')
            compare(res, seg, collections.Counter())
    return res


def compare(res, seen, dumped):
    for nr in set(seen) | set(dumped):
        s, h = seen.get(nr, 0), dumped.get(nr, 0)
        res['strace'] += s
        res['hook'] += h
        res['covered'] += min(s, h)
        if s > h:
            res['missed'][nr] += s - h
        if h > s:
            res['extra'][nr] += h - s


def describe(counter, names):
    return ', '.join(f'{names.get(nr, nr)}({nr})x{c}' for nr, c in sorted(counter.items()))


def main(argv):
    rows, failed = [], False
    for arg in argv:
        name, path = arg.split('=', 1)
        rows.append((name, analyse(path)))
    print(f"{'program':<28} {'procs':>5} {'before init':>11} {'strace':>7} {'hook':>7} "
          f"{'covered':>8}  result")
    for name, r in rows:
        if r['threads']:
            print(f"{name:<28} {r['procs']:>5} {'':>11} {'':>7} {'':>7} {'n/a':>8}  "
                  "uses threads: not compared")
            continue
        pct = 100.0 * r['covered'] / r['strace'] if r['strace'] else 0.0
        ok = not r['missed'] and not r['extra'] and not r['problems'] and r['strace'] > 0
        failed |= not ok
        print(f"{name:<28} {r['procs']:>5} {r['pre']:>11} {r['strace']:>7} {r['hook']:>7} "
              f"{pct:>7.2f}%  {'ok' if ok else 'FAIL'}")
    for name, r in rows:
        if r['missed']:
            print(f"{name}: strace saw, the hook did not: {describe(r['missed'], r['names'])}")
        if r['extra']:
            print(f"{name}: the hook saw more than strace: {describe(r['extra'], r['names'])}")
        for p in r['problems'][:20]:
            print(f"{name}: {p}")
        if not r['threads'] and r['strace'] == 0:
            print(f"{name}: no counted syscall at all (was the hook loaded?)")
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
