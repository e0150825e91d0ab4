#!/usr/bin/env python3
"""check_log.py -- INTERCEPT_LOG and syscall-trace integration tests.

Runs tests/log/log_target under the library (LD_PRELOAD=$SI_LIB, or a hook library linked to it)
and checks the log it leaves: file naming (pid suffix), truncation and append, decoded lines,
8 threads logging concurrently with no line lost or mixed, an unusable path, a hook-answered
syscall, the two lines of a never-waiting syscall written together, a blocked syscall's "= ?"
line in the file while it waits; and the syscall-trace command (log file, log on stderr, -c table, -f, bad arguments).
It only reads and writes files in its own temporary directory and never changes the build.

usage: check_log.py TEST --target LOG_TARGET --tracer SYSCALL_TRACE --hook LOG_HOOK_SO
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

# One line of the log: "<path> 0x<offset> -- <name>(<args>) = <result>[ <seconds>]"
LINE = re.compile(r'^(?P<path>\S.*?|\?) 0x(?P<off>[0-9a-f]+) -- '
                  r'(?P<name>[a-z_0-9]+)\((?P<args>.*)\) = '
                  r'(?P<result>\?|-?[0-9]+( E[A-Z0-9]+ \([^)]*\)| \(Unknown error [0-9]+\))?'
                  r'|0x[0-9a-f]+|\(null\)|0[0-7]*)( <[0-9]+\.[0-9]{6}>)?$')

failures = []


def fail(msg):
    failures.append(msg)
    print('FAIL: ' + msg, file=sys.stderr)


def check(cond, msg):
    if not cond:
        fail(msg)
    return cond


def env_with(**kw):
    env = dict(os.environ)
    for k in [k for k in env if k.startswith('INTERCEPT_')]:
        del env[k]
    env.pop('LD_PRELOAD', None)
    for k, v in kw.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def run(cmd, env, timeout=60):
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def read(path):
    with open(path, errors='replace') as f:
        return f.read()


def lines_of(path):
    return read(path).splitlines()


def check_well_formed(lines, what):
    bad = [l for l in lines if not LINE.match(l)]
    check(not bad, '%s: %d malformed lines, e.g. %r' % (what, len(bad), bad[:3]))
    check(lines, '%s: empty log' % what)


def find(lines, pattern, what, count=None):
    rx = re.compile(pattern)
    hits = [l for l in lines if rx.search(l)]
    if count is None:
        check(hits, '%s: no line matches %s' % (what, pattern))
    else:
        check(len(hits) == count, '%s: %d lines match %s, expected %d'
              % (what, len(hits), pattern, count))
    return hits


def preload(args):
    return os.environ['SI_LIB']


# ---- the library's log

def t_log_pid_suffix(a, d):
    env = env_with(LD_PRELOAD=preload(a), INTERCEPT_LOG=d + '/trace.log-')
    p = run([a.target, 'forker'], env)
    check(p.returncode == 0, 'forker status %d: %s' % (p.returncode, p.stderr))
    pids = dict(l.split() for l in p.stdout.split('\n') if l)
    for who in ('parent', 'child'):
        path = '%s/trace.log-%s' % (d, pids.get(who, '?'))
        if not check(os.path.exists(path), 'no %s log %s (dir: %s)' % (who, path, os.listdir(d))):
            continue
        lines = lines_of(path)
        check_well_formed(lines, who)
        find(lines, r' -- write\(1, "%s %s\\n", ' % (who, pids[who]), who)
        other = 'child' if who == 'parent' else 'parent'
        find(lines, r'"%s ' % other, who, count=0)
    check(len(os.listdir(d)) == 2, 'files: %s' % os.listdir(d))


def t_log_fork_child_line(a, d):
    """A forked child's own "clone(...) = 0" line goes to the child's log, not the parent's."""
    env = env_with(LD_PRELOAD=preload(a), INTERCEPT_LOG=d + '/trace.log-')
    p = run([a.target, 'forker'], env)
    pids = dict(l.split() for l in p.stdout.split('\n') if l)
    clone0 = r' -- clone\(CLONE_CHILD_CLEARTID \| CLONE_CHILD_SETTID \| SIGCHLD, .*\) = 0$'
    parent = d + '/trace.log-' + pids.get('parent', '?')
    child = d + '/trace.log-' + pids.get('child', '?')
    if check(os.path.exists(parent) and os.path.exists(child), 'logs: %s' % os.listdir(d)):
        find(lines_of(parent), clone0, 'parent log', 0)
        find(lines_of(child), clone0, 'child log', 1)


def t_log_truncate(a, d):
    path = d + '/t.log'
    with open(path, 'w') as f:
        f.write('old line\n')
    mode = os.stat(path).st_mode & 0o777
    p = run([a.target, 'quiet'], env_with(LD_PRELOAD=preload(a), INTERCEPT_LOG=path))
    check(p.returncode == 7, 'status %d' % p.returncode)
    lines = lines_of(path)
    check('old line' not in lines, 'not truncated')
    check_well_formed(lines, 'truncated log')
    check(os.stat(path).st_mode & 0o777 == mode, 'mode of an existing file changed')
    path2 = d + '/new.log'
    run([a.target, 'quiet'], env_with(LD_PRELOAD=preload(a), INTERCEPT_LOG=path2))
    check(os.stat(path2).st_mode & 0o777 == 0o600, 'new log not 0600')


def t_log_append(a, d):
    path = d + '/a.log'
    with open(path, 'w') as f:
        f.write('old line\n')
    env = env_with(LD_PRELOAD=preload(a), INTERCEPT_LOG=path, INTERCEPT_LOG_TRUNC='0')
    run([a.target, 'quiet'], env)
    lines = lines_of(path)
    check(lines[:1] == ['old line'], 'not appended: %r' % lines[:2])
    check_well_formed(lines[1:], 'appended log')
    n = len(lines)
    run([a.target, 'quiet'], env)
    check(len(lines_of(path)) > n, 'second run not appended')


def t_log_decoded(a, d):
    path = d + '/decoded.log'
    env = env_with(LD_PRELOAD=preload(a), INTERCEPT_LOG=path)
    p = run([a.target, 'decoded', d], env)
    check(p.returncode == 0 and p.stdout == 'exec ok\n',
          'status %d, output %r, %r' % (p.returncode, p.stdout, p.stderr))
    lines = lines_of(path)
    check_well_formed(lines, 'decoded')
    w = 'decoded'
    f = re.escape(d + '/target-file')
    find(lines, r'^\S*libc\.so\.6 0x[0-9a-f]+ -- ', w)
    find(lines, r' -- open\("/nonexistent/log-target", O_RDONLY\) = \?$', w, 1)
    find(lines, r' -- open\("/nonexistent/log-target", O_RDONLY\) = '
                r'-2 ENOENT \(No such file or directory\)$', w, 1)
    find(lines, r' -- openat\(AT_FDCWD, "%s", O_WRONLY \| O_CREAT \| O_TRUNC \| O_CLOEXEC, '
                r'0640\) = [0-9]+$' % f, w, 1)
    find(lines, r' -- openat\(AT_FDCWD, "%s", O_RDONLY\) = [0-9]+$' % f, w, 1)
    find(lines, r' -- write\([0-9]+, "hello\\n", 6\) = \?$', w, 1)
    find(lines, r' -- write\([0-9]+, "hello\\n", 6\) = 6$', w, 1)
    find(lines, r' -- read\([0-9]+, 0x[0-9a-f]{16}, 100\) = \?$', w)
    find(lines, r' -- read\([0-9]+, "hello\\n", 100\) = 6$', w, 1)
    find(lines, r' -- mmap\(\(null\), 8192, PROT_READ, MAP_PRIVATE \| MAP_ANONYMOUS, -1, 0x0\)'
                r' = 0x[0-9a-f]{16}$', w, 1)
    find(lines, r' -- munmap\(0x[0-9a-f]{16}, 8192\) = 0$', w, 1)
    find(lines, r' -- clone\(CLONE_CHILD_CLEARTID \| CLONE_CHILD_SETTID \| SIGCHLD, \(null\), '
                r'\(null\), 0x[0-9a-f]{16}, 0x0\) = [1-9][0-9]*$', w, 1)
    # pthread_create: clone3 since glibc 2.34, clone before
    glibc = tuple(int(x) for x in os.confstr('CS_GNU_LIBC_VERSION').split()[1].split('.')[:2])
    if glibc >= (2, 34):
        find(lines, r' -- clone3\(\{flags=CLONE_VM \| CLONE_FS \| CLONE_FILES \| CLONE_SIGHAND \| '
                    r'CLONE_THREAD \| CLONE_SYSVSEM \| CLONE_SETTLS \| CLONE_PARENT_SETTID \| '
                    r'CLONE_CHILD_CLEARTID, exit_signal=0, stack=0x[0-9a-f]{16}, '
                    r'stack_size=0x[0-9a-f]+, tls=0x[0-9a-f]{16}\}, 88\) = [1-9][0-9]*$', w, 1)
    else:
        find(lines, r' -- clone\(CLONE_VM \| CLONE_FS \| CLONE_FILES \| CLONE_SIGHAND \| '
                    r'CLONE_THREAD \| .*CLONE_SETTLS.*\) = [1-9][0-9]*$', w, 1)
    find(lines, r' -- syscall\(1000, 0x1, 0x2, 0x3, 0x[0-9a-f]+, 0x[0-9a-f]+, 0x[0-9a-f]+\) = '
                r'-38 ENOSYS \(Function not implemented\)$', w, 1)
    find(lines, r' -- execve\("/nonexistent/no-such-program", \["no-such-program"\], '
                r'0x[0-9a-f]{16}\) = -2 ENOENT \(No such file or directory\)$', w, 1)
    find(lines, r' -- execve\("/proc/self/exe", \["/proc/self/exe", "after_exec"\], '
                r'0x[0-9a-f]{16}\) = \?$', w, 1)
    # the program execve started logs on into the same file, after the execve line
    ex = [i for i, l in enumerate(lines) if '"after_exec"' in l]
    out = [i for i, l in enumerate(lines) if re.search(r' -- write\(1, "exec ok\\n", 8\) = 8$', l)]
    check(ex and out and out[0] > ex[-1], 'no "exec ok" write logged after the execve')
    find(lines, r' -- exit_group\(0\) = \?$', w)


def t_log_threads(a, d):
    path = d + '/threads.log'
    p = run([a.target, 'threads'], env_with(LD_PRELOAD=preload(a), INTERCEPT_LOG=path))
    check(p.returncode == 0, 'status %d %s' % (p.returncode, p.stderr))
    lines = lines_of(path)
    check_well_formed(lines, 'threads')
    find(lines, r' -- getppid\(\) = \?$', 'threads', 8000)
    find(lines, r' -- getppid\(\) = [0-9]+$', 'threads', 8000)


def t_log_pairs(a, d):
    """getppid never waits: its two lines go out in one write, so 8 threads never split a pair."""
    path = d + '/pairs.log'
    p = run([a.target, 'threads'], env_with(LD_PRELOAD=preload(a), INTERCEPT_LOG=path))
    check(p.returncode == 0, 'status %d %s' % (p.returncode, p.stderr))
    lines = lines_of(path)
    check_well_formed(lines, 'pairs')
    q = re.compile(r' -- getppid\(\) = \?$')
    r = re.compile(r' -- getppid\(\) = [0-9]+$')
    split = [i for i, l in enumerate(lines)
             if q.search(l) and not (i + 1 < len(lines) and r.search(lines[i + 1])
                                     and lines[i + 1].split(' -- ')[0] == l.split(' -- ')[0])]
    check(not split, '%d getppid "= ?" lines not followed by their result, e.g. %r'
          % (len(split), [lines[i:i + 2] for i in split[:2]]))
    find(lines, r' -- getppid\(\) = [0-9]+$', 'pairs', 8000)


def split_pairs(lines, call):
    """The "= ?" lines of call not directly followed by their own result line."""
    q = re.compile(r' -- ' + call + r' = \?$')
    split = []
    for i, l in enumerate(lines):
        if q.search(l):
            head = l[:-len('?')]
            if not (i + 1 < len(lines) and lines[i + 1].startswith(head)
                    and not lines[i + 1].endswith('= ?')):
                split.append(i)
    return split


def t_log_quick_io(a, d):
    """I/O on /dev/null and on a local file is logged as adjacent pairs even with 8 threads
    (that pipes keep their "= ?" line first is log_blocked's and log_file's business)."""
    path = d + '/quick.log'
    p = run([a.target, 'quick_io', d], env_with(LD_PRELOAD=preload(a), INTERCEPT_LOG=path))
    check(p.returncode == 0, 'status %d %s' % (p.returncode, p.stderr))
    lines = lines_of(path)
    check_well_formed(lines, 'quick_io')
    calls = [r'write\([0-9]+, "abc", 3\)', r'pread64\([0-9]+, "data", 4, 0\)',
             r'(fstat\([0-9]+, 0x[0-9a-f]+\)|'   # glibc >= 2.33 makes fstat so:
             r'newfstatat\([0-9]+, "", 0x[0-9a-f]+, AT_EMPTY_PATH\))']
    for c in calls:
        hits = find(lines, ' -- ' + c + r' = [0-9]+$', 'quick_io')
        check(len(hits) >= 8000, '%s: only %d result lines' % (c, len(hits)))
        split = split_pairs(lines, c)
        example = lines[split[0]:split[0] + 3] if split else None
        check(not split, '%s: %d pairs split, e.g. %r' % (c, len(split), example))
    find(lines, r' -- read\([0-9]+, "p", 1\) = 1$', 'quick_io', 8000)


def t_log_closefds(a, d):
    """A program that closes every descriptor and then opens a thousand files, or dup2()s onto
    the log's number, never gets log lines in its files, and its calls are all still logged."""
    path = d + '/closefds.log'
    files = d + '/files'
    os.mkdir(files)
    p = run([a.target, 'closefds', files], env_with(LD_PRELOAD=preload(a), INTERCEPT_LOG=path))
    check(p.returncode == 0 and p.stdout == 'ok\n', 'status %d, %r %r'
          % (p.returncode, p.stdout, p.stderr))
    names = os.listdir(files)
    check(len(names) > 3, 'only %d files opened' % len(names))
    foreign = [n for n in names if read(files + '/' + n) != 'data\n']
    check(not foreign, '%d of the program\'s files hold more than its data, e.g. %s: %r'
          % (len(foreign), foreign[:1], read(files + '/' + foreign[0])[:200] if foreign else ''))
    lines = lines_of(path)
    check_well_formed(lines, 'closefds')
    find(lines, r' -- close_range\(3, 4294967295, 0x0\) = 0$', 'closefds', 1)
    find(lines, r' -- getppid\(\) = [0-9]+$', 'closefds', 3)
    find(lines, r' -- dup2\([0-9]+, [0-9]+\) = [0-9]+$', 'closefds', 1)
    find(lines, r' -- write\([0-9]+, "x", 1\) = 1$', 'closefds', 1)


def t_log_blocked(a, d):
    """A syscall that may wait has its "= ?" line in the file while it waits."""
    path = d + '/blocked.log'
    env = env_with(LD_PRELOAD=preload(a), INTERCEPT_LOG=path)
    proc = subprocess.Popen([a.target, 'blocked'], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    waiting = r' -- read\(0, 0x[0-9a-f]{16}, 1\) = \?$'
    lines = []
    for _ in range(400):
        lines = lines_of(path) if os.path.exists(path) else []
        if lines and re.search(waiting, lines[-1]):
            break
        time.sleep(0.05)
    check(lines and re.search(waiting, lines[-1]),
          'no "= ?" line for the waiting read: %r' % lines[-3:])
    check(proc.poll() is None, 'the program did not wait')
    find(lines, r' -- getppid\(\) = \?$', 'blocked', 3)
    find(lines, r' -- getppid\(\) = [0-9]+$', 'blocked', 3)
    proc.communicate(b'x', timeout=60)
    check(proc.returncode == 0, 'status %d' % proc.returncode)
    lines = lines_of(path)
    check_well_formed(lines, 'blocked')
    find(lines, r' -- read\(0, "x", 1\) = 1$', 'blocked', 1)


def t_log_signals(a, d):
    """Signal handlers making syscalls while the thread is inside the logger: lines stay whole."""
    path = d + '/signals.log'
    p = run([a.target, 'signals'], env_with(LD_PRELOAD=preload(a), INTERCEPT_LOG=path))
    m = re.match(r'^handled ([0-9]+)$', p.stdout.strip())
    if not check(p.returncode == 0 and m, 'status %d, %r %r' % (p.returncode, p.stdout, p.stderr)):
        return
    n = int(m.group(1))
    check(n > 0, 'no signal handled')
    lines = lines_of(path)
    check_well_formed(lines, 'signals')
    find(lines, r' -- getpid\(\) = \?$', 'signals', 20000)
    find(lines, r' -- getpid\(\) = [0-9]+$', 'signals', 20000)
    find(lines, r' -- getppid\(\) = \?$', 'signals', n)
    find(lines, r' -- getppid\(\) = [0-9]+$', 'signals', n)


def t_log_unusable_path(a, d):
    native = run([a.target, 'quiet'], env_with())
    for bad in (d + '/no/such/dir/x.log', d):
        p = run([a.target, 'quiet'], env_with(LD_PRELOAD=preload(a), INTERCEPT_LOG=bad))
        check(p.returncode == native.returncode == 7, 'status %d' % p.returncode)
        check(p.stdout == native.stdout, 'output changed: %r' % p.stdout)
        err = p.stderr.splitlines()
        check(len(err) == 1 and 'INTERCEPT_LOG' in err[0] and bad in err[0],
              'stderr for %s: %r' % (bad, p.stderr))


def t_log_stderr(a, d):
    """INTERCEPT_LOG=/dev/stderr logs to the process's own standard error (a link the log would
    otherwise refuse to follow); the program's output and status are unchanged."""
    native = run([a.target, 'quiet'], env_with())
    p = run([a.target, 'quiet'], env_with(LD_PRELOAD=preload(a), INTERCEPT_LOG='/dev/stderr'))
    check(p.returncode == native.returncode == 7, 'status %d' % p.returncode)
    check(p.stdout == native.stdout, 'output changed: %r' % p.stdout)
    lines = p.stderr.splitlines()
    check_well_formed(lines, 'stderr')
    find(lines, r' -- write\(1, "hello from the program\\n", 23\) = 23$', 'stderr', 1)
    find(lines, r' -- exit_group\(7\) = \?$', 'stderr', 1)


def t_log_hooked(a, d):
    path = d + '/hooked.log'
    p = run([a.target, 'hooked'], env_with(LD_PRELOAD=a.hook, INTERCEPT_LOG=path))
    check(p.stdout == 'result 42\n', 'hook did not answer: %r %r' % (p.stdout, p.stderr))
    lines = lines_of(path)
    check_well_formed(lines, 'hooked')
    find(lines, r' -- syscall\(1000, 0x1, 0x2, 0x3, .*\) = \?$', 'hooked', 1)
    find(lines, r' -- syscall\(1000, 0x1, 0x2, 0x3, .*\) = 42$', 'hooked', 1)


# ---- syscall-trace

def tracer_env(a):
    return env_with(SYSCALL_TRACE_LIB=os.environ['SI_LIB'])


def t_trace_output(a, d):
    path = d + '/trace.log'
    p = run([a.tracer, '-o', path, '--', a.target, 'quiet'], tracer_env(a))
    check(p.returncode == 7, 'status %d: %s' % (p.returncode, p.stderr))
    check(p.stdout == 'hello from the program\n', 'output %r' % p.stdout)
    check(p.stderr == '', 'stderr %r' % p.stderr)
    lines = lines_of(path)
    check_well_formed(lines, 'trace -o')
    find(lines, r' -- write\(1, "hello from the program\\n", 23\) = 23$', 'trace -o', 1)
    # the tracer found the library by itself too, from the build tree
    env = env_with()
    p = run([a.tracer, '-o', path, a.target, 'quiet'], env)
    check(p.returncode == 7 and 'hello from the program' in read(path),
          'no library found from the build tree: %s' % p.stderr)


def t_trace_stderr(a, d):
    env = tracer_env(a)
    env['TMPDIR'] = d
    p = run([a.tracer, '-T', a.target, 'quiet'], env)
    check(p.returncode == 7, 'status %d' % p.returncode)
    check(p.stdout == 'hello from the program\n', 'output %r' % p.stdout)
    lines = p.stderr.splitlines()
    check_well_formed(lines, 'trace to stderr')
    find(lines, r' -- write\(1, "hello from the program\\n", 23\) = 23 <[0-9.]+>$', 'stderr', 1)
    check(not [f for f in os.listdir(d) if f.startswith('syscall-trace.')],
          'temporary log left behind')


def t_trace_plan_cache(a, d):
    """The tracer's processes share plans through a private folder that it removes at the end;
    a folder the user names is used and kept."""
    tmp = d + '/tmp'
    os.mkdir(tmp)
    env = tracer_env(a)
    env.update(TMPDIR=tmp, INTERCEPT_DEBUG_DUMP='1')
    p = run([a.tracer, '-f', '-o', d + '/trace.log', '--', 'sh', '-c', '/bin/true; /bin/true'],
            env)
    check(p.returncode == 0, 'status %d: %s' % (p.returncode, p.stderr))
    check('plan cache: wrote ' + tmp + '/syscall-trace-plans.' in p.stderr,
          'the first process wrote no plan: %r' % p.stderr[-600:])
    check(p.stderr.count('plan cache: using ' + tmp + '/syscall-trace-plans.') >= 4,
          'later processes did not use the plans: %r' % p.stderr[-600:])
    check(os.listdir(tmp) == [], 'left behind in TMPDIR: %r' % os.listdir(tmp))
    find(lines_of(d + '/trace.log'), r' -- execve\(', 'trace_plan_cache')
    mine = d + '/plans'
    env.update(INTERCEPT_PLAN_CACHE=mine)
    p = run([a.tracer, '-o', d + '/trace2.log', '--', '/bin/true'], env)
    kept = os.listdir(mine) if os.path.isdir(mine) else None
    check(p.returncode == 0 and kept is not None and len(kept) >= 2,
          'the user\'s plan folder: status %d, %r' % (p.returncode, kept))


def parse_table(text):
    rows = {}
    for l in text.splitlines():
        m = re.match(r'^\s*([0-9.]+)\s+([0-9.]+)\s+([0-9]+)?\s+([0-9]+)\s+([0-9]+)?\s+(\S+)$', l)
        if m:
            rows[m.group(6)] = (int(m.group(4)), int(m.group(5) or 0), float(m.group(2)))
    return rows


def t_trace_summary(a, d):
    p = run([a.tracer, '-c', '--', a.target, 'decoded', d], tracer_env(a))
    check(p.returncode == 0 and p.stdout == 'exec ok\n', 'status %d %r' % (p.returncode, p.stdout))
    check('% time' in p.stderr and 'total' in p.stderr, 'no table: %r' % p.stderr)
    rows = parse_table(p.stderr)
    check(rows.get('open', (0, 0))[:2] == (1, 1), 'open row %r' % (rows.get('open'),))
    check(rows.get('syscall_1000', (0, 0))[:2] == (1, 1), 'syscall_1000 %r' % (rows.get('syscall_1000'),))
    check(rows.get('execve', (0, 0))[:2] == (2, 1), 'execve row %r' % (rows.get('execve'),))
    check(rows.get('write', (0,))[0] >= 2, 'write row %r' % (rows.get('write'),))
    total = rows.get('total', (0, 0, 0))
    check(total[0] == sum(v[0] for k, v in rows.items() if k != 'total'), 'total calls')
    check(total[2] > 0, 'no time measured')
    # with -o: the table on stderr, the log in the file
    path = d + '/c.log'
    p = run([a.tracer, '-c', '-o', path, a.target, 'quiet'], tracer_env(a))
    check(p.returncode == 7 and 'total' in p.stderr, 'table with -o')
    find(lines_of(path), r' -- write\(1, "hello from the program\\n", 23\) = 23 <', '-c -o')


def t_trace_summary_from_log(a, d):
    log = d + '/given.log'
    with open(log, 'w') as f:
        f.write('/lib/libc.so.6 0x10 -- openat(AT_FDCWD, "a", O_RDONLY) = ?\n'
                '/lib/libc.so.6 0x10 -- openat(AT_FDCWD, "a", O_RDONLY) = '
                '-2 ENOENT (No such file or directory) <0.000100>\n'
                '/lib/libc.so.6 0x10 -- openat(AT_FDCWD, "b", O_RDONLY) = ?\n'
                '/lib/libc.so.6 0x10 -- openat(AT_FDCWD, "b", O_RDONLY) = 3 <0.000300>\n'
                '/lib/libc.so.6 0x20 -- write(1, ") = 5 (", 7) = ?\n'
                '/lib/libc.so.6 0x20 -- write(1, ") = 5 (", 7) = 7 <0.000600>\n'
                '? 0x0 -- syscall(1000, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0) = ?\n'
                '? 0x0 -- syscall(1000, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0) = '
                '-38 ENOSYS (Function not implemented) <0.000000>\n'
                '/lib/libc.so.6 0x30 -- exit_group(0) = ?\n')
    p = run([a.tracer, '-c', '--from-log', log], env_with())
    check(p.returncode == 0, 'status %d %s' % (p.returncode, p.stderr))
    rows = parse_table(p.stderr)
    check(rows.get('openat') == (2, 1, 0.0004), 'openat %r' % (rows.get('openat'),))
    check(rows.get('write') == (1, 0, 0.0006), 'write %r' % (rows.get('write'),))
    check(rows.get('syscall_1000') == (1, 1, 0.0), 'syscall_1000 %r' % (rows.get('syscall_1000'),))
    check(rows.get('exit_group') == (1, 0, 0.0), 'exit_group %r' % (rows.get('exit_group'),))
    check(rows.get('total') == (5, 2, 0.001), 'total %r' % (rows.get('total'),))
    order = [l.split()[-1] for l in p.stderr.splitlines() if parse_table(l)]
    check(order[:2] == ['write', 'openat'], 'not sorted by time: %r' % order)


def t_trace_follow(a, d):
    for follow in (False, True):
        path = d + '/follow%d.log' % follow
        cmd = [a.tracer] + (['-f'] if follow else []) + ['-o', path, a.target, 'forker']
        p = run(cmd, tracer_env(a))
        check(p.returncode == 0, 'status %d' % p.returncode)
        lines = lines_of(path)
        check_well_formed(lines, 'follow')
        find(lines, r' -- write\(1, "parent [0-9]+\\n", [0-9]+\) = [0-9]+$', 'follow', 1)
        find(lines, r' -- write\(1, "child [0-9]+\\n", [0-9]+\) = [0-9]+$', 'follow',
             1 if follow else 0)


def t_trace_bad_arguments(a, d):
    env = tracer_env(a)
    for args in ([], ['-o'], ['-x', a.target], ['--bogus'], ['-c', '--from-log'],
                 ['--from-log', d + '/x'], ['-c', '-o', d + '/x-', a.target, 'quiet']):
        p = run([a.tracer] + args, env)
        check(p.returncode == 2, '%r: status %d' % (args, p.returncode))
        check(p.stdout == '' and 'syscall-trace' in p.stderr and '--help' in p.stderr,
              '%r: message %r' % (args, p.stderr))
    p = run([a.tracer, '--help'], env)
    check(p.returncode == 0 and 'usage:' in p.stdout, '--help')
    p = run([a.tracer, '--', d + '/no-such-program'], env)
    check(p.returncode == 127 and 'cannot run' in p.stderr, 'missing program: %d %r'
          % (p.returncode, p.stderr))
    p = run([a.tracer, '-o', d + '/no/such/dir/log', a.target, 'quiet'], env)
    check(p.returncode == 1 and 'No such file' in p.stderr, 'bad -o: %d %r'
          % (p.returncode, p.stderr))
    p = run([a.tracer, a.target, 'quiet'], env_with(SYSCALL_TRACE_LIB=d + '/nothing.so'))
    check(p.returncode == 1 and 'SYSCALL_TRACE_LIB' in p.stderr, 'bad library: %r' % p.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('test')
    ap.add_argument('--target', required=True)
    ap.add_argument('--tracer', required=True)
    ap.add_argument('--hook', required=True)
    a = ap.parse_args()
    fn = globals().get('t_' + a.test)
    if not fn:
        print('unknown test ' + a.test, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix='si_log_') as d:
        fn(a, d)
    print('%s: %s' % (a.test, 'FAILED' if failures else 'ok'))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
