#!/usr/bin/env python3
"""plan_fuzz.py -- INTERCEPT_PLAN_CACHE against damaged and tampered plans.

  plan_fuzz.py LIB PROG [--count N] [--seed S] [--jobs J] [--forged F] [--keep DIR]
  plan_fuzz.py --forge PLAN METHOD FIELD DELTA

The first form writes the plans of PROG (plan_fuzz_prog: the patch patterns, every site
patchable; run with INTERCEPT_ALL_OBJS, so its own plan, libc's and ld.so's), then makes N
changes to them -- random bytes, a field of a record (window start/end, pad, method, ...) moved
by a small delta, records swapped, the file cut or extended, the site count changed -- one to
each plan per run of `PROG run all 1` under LIB.  Every run must behave as the native one (exit
status and output) and patch exactly what a fresh analysis patches: its INTERCEPT_DEBUG_DUMP=2
lines (every site's method and the bytes it changes, the unpatched sites, the counts) must be
those of a run without a cache, object by object.  A changed plan may be used only if it
patches the same as before; otherwise it must be refused.  A share F (0.5) of the field, swap
and record changes gets its checksum made good, as someone editing the file would: those must
then be refused by the plan rule itself (si_plan_valid), or patch the same.  Prints how many
changes were used and refused, and why; exits 1 on any failure (--keep DIR keeps those plans).

The second form changes one field of the first record of METHOD (window or padding) of the plan
file PLAN by DELTA and makes the checksum good (plan_cache.sh uses it).

It knows both plan formats: SIPLAN01 (no checksum, 20-byte records) and SIPLAN02.  It only runs
PROG and writes in its own temporary directory (and PLAN, with --forge); it never changes LIB.
"""
import argparse
import concurrent.futures
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

FIELDS = ("syscall", "start", "end", "pad", "method", "run")
METHODS = {"none": 0, "window": 1, "padding": 2}


class Plan:
    """One plan file's layout, whatever its format."""

    def __init__(self, data):
        self.magic = data[:8]
        if self.magic == b"SIPLAN01":
            self.header, self.record, self.nfields, self.check_at = 96, 20, 5, None
        elif self.magic == b"SIPLAN02":
            self.header, self.record, self.nfields, self.check_at = 104, 24, 6, 96
        else:
            raise ValueError("unknown plan format %r" % self.magic)
        self.n_at = 88

    def n_sites(self, data):
        return struct.unpack_from("<I", data, self.n_at)[0]

    def field_at(self, k, field):
        return self.header + k * self.record + 4 * FIELDS.index(field)

    def fix_checksum(self, data):
        """FNV-1a 64 of the file with the checksum field 0 (plan_cache.c: checksum())."""
        if self.check_at is None:
            return data
        data = bytearray(data)
        data[self.check_at:self.check_at + 8] = bytes(8)
        h = 0xcbf29ce484222325
        for b in data:
            h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
        struct.pack_into("<Q", data, self.check_at, h)
        return bytes(data)


def forge(path, method, field, delta):
    data = bytearray(open(path, "rb").read())
    plan = Plan(data)
    want = METHODS[method]
    for k in range(plan.n_sites(data)):
        if struct.unpack_from("<I", data, plan.field_at(k, "method"))[0] == want:
            at = plan.field_at(k, field)
            v = struct.unpack_from("<I", data, at)[0]
            struct.pack_into("<I", data, at, (v + delta) & 0xffffffff)
            with open(path, "wb") as f:
                f.write(plan.fix_checksum(data))
            return 0
    print("no %s record in %s" % (method, path), file=sys.stderr)
    return 1


def mutate(rng, data, forged_share):
    """A changed copy of plan `data`, what was done, and whether its checksum was made good."""
    plan = Plan(data)
    d = bytearray(data)
    n = plan.n_sites(data)
    kind = rng.choice(("bytes", "record-bytes", "field", "field", "field", "field", "field",
                       "field", "swap", "truncate", "extend", "n_sites"))
    what = kind
    if kind == "bytes":
        for _ in range(rng.randint(1, 4)):
            d[rng.randrange(len(d))] = rng.randrange(256)
    elif kind == "record-bytes":
        for _ in range(rng.randint(1, 2)):
            d[plan.header + rng.randrange(n * plan.record)] = rng.randrange(256)
    elif kind == "field":
        k = rng.randrange(n)
        method = struct.unpack_from("<I", d, plan.field_at(k, "method"))[0]
        # mostly the fields the record's method uses: where its bytes are
        if method == METHODS["window"] and rng.random() < 0.7:
            field = rng.choice(("start", "end"))
        elif method == METHODS["padding"] and plan.nfields > 5 and rng.random() < 0.7:
            field = rng.choice(("pad", "pad", "run"))
        else:
            field = rng.choice(FIELDS[:plan.nfields])
        at = plan.field_at(k, field)
        v = struct.unpack_from("<I", d, at)[0]
        if field == "method":
            new = rng.choice([m for m in (0, 1, 2, 3) if m != v])
        else:
            delta = rng.choice((1, 1, 2, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64)) * rng.choice((-1, 1))
            new = (v + delta) & 0xffffffff
        struct.pack_into("<I", d, at, new)
        what = "field %s of record %d: %#x -> %#x" % (field, k, v, new)
    elif kind == "swap" and n >= 2:
        i, j = rng.sample(range(n), 2)
        a, b = plan.header + i * plan.record, plan.header + j * plan.record
        ri, rj = bytes(d[a:a + plan.record]), bytes(d[b:b + plan.record])
        d[a:a + plan.record], d[b:b + plan.record] = rj, ri
        what = "records %d and %d swapped" % (i, j)
    elif kind == "truncate":
        cut = rng.randrange(len(d))
        del d[cut:]
        what = "cut to %d bytes" % cut
    elif kind == "extend":
        if rng.random() < 0.5:
            d += bytes(rng.randrange(256) for _ in range(rng.randint(1, 48)))
            what = "random bytes appended"
        else:
            k = rng.randrange(n)
            d += d[plan.header + k * plan.record:plan.header + (k + 1) * plan.record]
            struct.pack_into("<I", d, plan.n_at, n + 1)
            what = "record %d repeated at the end" % k
    elif kind == "n_sites":
        struct.pack_into("<I", d, plan.n_at, (n + rng.choice((-1, 1))) & 0xffffffff)
    # what someone editing the file would do, checksum made good: the plan rule must hold
    forged = plan.check_at is not None and kind in ("field", "swap", "record-bytes") and \
        rng.random() < forged_share
    if forged:
        d = bytearray(plan.fix_checksum(bytes(d)))
    return bytes(d), what, forged


DUMP = re.compile(r"^syscall_intercept: (site|unpatched|patched) ")


def dump_lines(stderr):
    """The lines saying what was patched; an unpatched site's without its reason (a plan read
    back does not keep the reason, only that the site is left)."""
    return [re.sub(r"^(syscall_intercept: unpatched .* 0x[0-9a-f]+): .*", r"\1", l)
            for l in stderr.splitlines() if DUMP.match(l)]


def run(cmd, env, timeout=60):
    try:
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired:
        return "timeout", "", ""


def status_text(rc):
    if isinstance(rc, int) and rc < 0:
        try:
            return "killed by %s" % signal.Signals(-rc).name
        except ValueError:
            return "killed by signal %d" % -rc
    return "status %s" % rc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lib", nargs="?")
    ap.add_argument("prog", nargs="?")
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--forged", type=float, default=0.5)
    ap.add_argument("--keep", default=None, help="copy failing plans into this folder")
    ap.add_argument("--forge", nargs=4, metavar=("PLAN", "METHOD", "FIELD", "DELTA"))
    args = ap.parse_args()
    if args.forge:
        path, method, field, delta = args.forge
        return forge(path, method, field, int(delta))
    if not args.lib or not args.prog:
        ap.error("LIB and PROG are needed")
    seed = args.seed if args.seed is not None else int(time.time())
    work = tempfile.mkdtemp(prefix="plan_fuzz.")
    try:
        return fuzz(args, seed, work, time.time())
    finally:
        shutil.rmtree(work, ignore_errors=True)


def fuzz(args, seed, work, t0):
    # every pattern: all the program's own sites run
    cmds = {"all": [args.prog, "run", "all", "1"]}
    base = dict(os.environ)
    for k in list(base):
        if k.startswith("INTERCEPT_") or k == "LD_PRELOAD":
            del base[k]
    under = dict(base, LD_PRELOAD=args.lib, INTERCEPT_ALL_OBJS="1", INTERCEPT_DEBUG_DUMP="2")
    native, reference = {}, {}
    for c, cmd in cmds.items():
        native[c] = run(cmd, base)
        if native[c][0] != 0:
            print("FAIL: the native run: %s\n%s%s" % (status_text(native[c][0]), native[c][1],
                                                      native[c][2]))
            return 1
        fresh = run(cmd, under)
        reference[c] = dump_lines(fresh[2])
        if fresh[:2] != native[c][:2] or not reference[c]:
            print("FAIL: the run without a cache differs from the native one:\n%s" %
                  fresh[2][-2000:])
            return 1
    pristine_dir = os.path.join(work, "pristine")
    first = run(cmds["all"], dict(under, INTERCEPT_PLAN_CACHE=pristine_dir))
    plans = sorted(f for f in os.listdir(pristine_dir) if f.endswith(".plan"))
    # which object each plan is of: "wrote X" comes before the object's "patched" line
    owner, last = {}, None
    for line in first[2].splitlines():
        m = re.match(r"syscall_intercept: plan cache: wrote .*/([^/]*\.plan)$", line)
        if m:
            last = m.group(1)
        m = re.match(r"syscall_intercept: patched (.*): \d+ sites", line)
        if m and last:
            owner[last], last = m.group(1), None
    mine = [f for f in plans if owner.get(f) == os.path.realpath(args.prog)]
    if first[:2] != native["all"][:2] or dump_lines(first[2]) != reference["all"] or \
            len(plans) < 3 or not mine or any(f not in owner for f in plans):
        print("FAIL: the run writing the plans: %d plans (%s), %s\n%s" %
              (len(plans), owner, status_text(first[0]), first[2][-2000:]))
        return 1
    pristine = {f: open(os.path.join(pristine_dir, f), "rb").read() for f in plans}
    again = run(cmds["all"], dict(under, INTERCEPT_PLAN_CACHE=pristine_dir))
    if again[:2] != native["all"][:2] or dump_lines(again[2]) != reference["all"] or \
            again[2].count("plan cache: using") != len(plans):
        print("FAIL: the run using the plans as written:\n%s" % again[2][-3000:])
        return 1
    print("plan_fuzz: seed %d, %d changes, plans: %s" %
          (seed, args.count, ", ".join("%s (%s, %d bytes)" % (f, os.path.basename(owner[f]),
                                                              len(pristine[f])) for f in plans)))

    # Each run changes every plan (one change each: a plan is used or refused on its own, and
    # reported per object), three changes for the price of one run.
    rng = random.Random(seed)
    runs = []
    for i in range(0, args.count, len(plans)):
        run_changes = []
        for k, name in enumerate(plans[:args.count - i]):
            while True:
                data, what, forged = mutate(rng, pristine[name], args.forged)
                if data != pristine[name]:
                    break
            run_changes.append((i + k, name, data, what, forged))
        runs.append(run_changes)

    def of(lines, path):
        return [l for l in lines if (" %s " % path) in l or (" %s:" % path) in l]

    def worker(w, chunk):
        d = os.path.join(work, "cache%d" % w)
        os.mkdir(d, 0o700)
        results = []
        for changes in chunk:
            for f in os.listdir(d):
                os.unlink(os.path.join(d, f))
            changed = {name: data for _, name, data, _, _ in changes}
            for f in plans:
                with open(os.path.join(d, f), "wb") as out:
                    out.write(changed.get(f, pristine[f]))
                os.chmod(os.path.join(d, f), 0o600)
            rc, out, err = run(cmds["all"], dict(under, INTERCEPT_PLAN_CACHE=d))
            lines = dump_lines(err)
            crashed = None
            if (rc, out) != native["all"][:2]:
                crashed = "%s (native: status 0), output %s" % (
                    status_text(rc), "as native" if out == native["all"][1] else
                    "differs: " + repr(out[-300:]))
            # a crash is put down to the changed plans that were used (all, if none was)
            used_any = any(("plan cache: using %s\n" % os.path.join(d, name)) in err
                           for _, name, _, _, _ in changes)
            for i, name, data, what, forged in changes:
                path = os.path.join(d, name)
                used = ("plan cache: using %s\n" % path) in err
                m = re.search(re.escape(path) + r" is (.*); analysing again", err)
                why = re.sub(r"0x[0-9a-f]+", "X", m.group(1)) if m else None
                problems = [crashed] if crashed and (used or not used_any) else []
                mine_now, want = of(lines, owner[name]), of(reference["all"], owner[name])
                if mine_now != want:
                    diff = [l for l in mine_now if l not in want][:4] + \
                           ["(missing) " + l for l in want if l not in mine_now][:4]
                    problems.append("patches differ from a fresh analysis: " + "; ".join(diff))
                if problems and args.keep:
                    os.makedirs(args.keep, exist_ok=True)
                    with open(os.path.join(args.keep, "%d-%s" % (i, name)), "wb") as f:
                        f.write(data)
                results.append((i, name, what, forged, used, why, problems))
        return results

    n_jobs = max(1, args.jobs)
    chunks = [runs[w::n_jobs] for w in range(n_jobs)]
    with concurrent.futures.ThreadPoolExecutor(n_jobs) as ex:
        results = [r for part in ex.map(worker, range(n_jobs), chunks) for r in part]
    results.sort()

    failures = [r for r in results if r[6]]
    used = [r for r in results if r[4]]
    refused = [r for r in results if r[5] is not None]
    forged = [r for r in results if r[3]]
    reasons = {}
    for r in results:
        if not r[4]:
            key = r[5] if r[5] is not None else "not read (shorter than a header)"
            key = ("checksum made good: " if r[3] else "") + key
            reasons[key] = reasons.get(key, 0) + 1
    n = len(results)
    print("plan_fuzz: %d changes in %.0f s: %d used (%.1f%%), %d refused (%.1f%%), %d not read; "
          "%d with the checksum made good: %d used, %d refused" %
          (n, time.time() - t0, len(used), 100.0 * len(used) / n, len(refused),
           100.0 * len(refused) / n, n - len(used) - len(refused), len(forged),
           sum(1 for r in forged if r[4]), sum(1 for r in forged if r[5] is not None)))
    for why, count in sorted(reasons.items(), key=lambda x: -x[1]):
        print("  %5d %s" % (count, why))
    for r in used:
        print("  used, patching as a fresh analysis: change %d of %s (%s%s)" %
              (r[0], r[1], r[2], ", checksum made good" if r[3] else ""))
    for r in failures[:15]:
        print("FAIL change %d of %s (%s%s): %s" %
              (r[0], r[1], r[2], ", checksum made good" if r[3] else "", " | ".join(r[6])))
    if failures:
        kinds = {}
        for r in failures:
            for p in r[6]:
                k = p.split(":")[0].split(" (")[0]
                kinds[k] = kinds.get(k, 0) + 1
        print("plan_fuzz: %d of %d changes FAILED (%s); seed %d" %
              (len(failures), n, ", ".join("%d %s" % (v, k) for k, v in sorted(kinds.items())),
               seed))
        return 1
    print("plan_fuzz: PASS (seed %d)" % seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
