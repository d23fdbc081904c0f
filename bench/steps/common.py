# SPDX-License-Identifier: MIT
"""Helpers shared by the benchmark steps: running, building, statistics."""
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INCLUDE = os.path.join(SRC, "include")


# C for the benchmark programs: a monotonic clock in nanoseconds and a
# comparison for sorting the measured times (C and C++ alike).
C_TIMING = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static long long now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}
static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}
"""


class Ctx:
    """Where things are and how big the run is."""

    def __init__(self, build, work, smoke, log):
        self.build = build
        self.work = work
        self.smoke = smoke
        self.log = log
        self.seal = os.path.join(build, "tool", "skeys-seal")
        self.dump = os.path.join(build, "tool", "skeys-dump")
        self.libdir = os.path.join(build, "runtime")
        self.static_lib = os.path.join(build, "runtime", "libskeys.a")
        self.devsort_lib = os.path.join(build, "tests", "unit", "libskeys_devsort.a")
        self.cflags = ["-O2"]

    def path(self, *parts):
        p = os.path.join(self.work, *parts)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        return p


def run(args, **kw):
    kw.setdefault("check", True)
    return subprocess.run(args, **kw)


def out(args, **kw):
    return run(args, capture_output=True, text=True, **kw).stdout


def have(prog):
    return shutil.which(prog) is not None


def compilers():
    """The C compilers to compare, those installed among gcc, clang, clang-19."""
    found = []
    for cc in ("gcc", "clang", "clang-19"):
        if have(cc):
            found.append(cc)
    return found


def version(cc):
    return out([cc, "--version"]).splitlines()[0]


def link_shared(ctx, cc, sources, exe, extra=()):
    """Compile and link against the build's libskeys.so, then seal."""
    run([cc, *ctx.cflags, "-I", INCLUDE, *sources, *extra, "-o", exe + ".unsealed",
         "-L", ctx.libdir, "-lskeys", "-Wl,-rpath," + ctx.libdir])
    run([ctx.seal, exe + ".unsealed", "-o", exe])
    return exe


def timed(args, env=None):
    """Wall seconds and peak RSS (KiB, None without GNU time) of one command.

    The peak comes from GNU time, not from wait4 here: Linux carries the
    forking process's high-water mark over exec, so a child of this Python
    process would report Python's size. Both timed commands pay the same
    exec of time(1).
    """
    gnu_time = "/usr/bin/time"
    with tempfile.NamedTemporaryFile("r") as f:
        pre = [gnu_time, "-f", "%M", "-o", f.name] if os.path.exists(gnu_time) else []
        t0 = time.perf_counter()
        subprocess.run(pre + list(args), env=env, stdout=subprocess.DEVNULL, check=True)
        dt = time.perf_counter() - t0
        kib = int(f.read().split()[-1]) if pre else None
    return dt, kib


def med(xs):
    return statistics.median(xs)


def spread(xs):
    """Median, and half the interquartile range relative to the median: on a
    shared machine the extremes say more about the neighbours than about us."""
    m = statistics.median(xs)
    if len(xs) < 4 or not m:
        return m, (max(xs) - min(xs)) / 2 / m if m else 0.0
    q = statistics.quantiles(xs, n=4)
    return m, (q[2] - q[0]) / 2 / m


def strace_counts(args, env=None, trace=None):
    """Calls per syscall of running `args` (strace -f -c), by name."""
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as o:
        opts = ["-e", "trace=" + trace] if trace else []
        run(["strace", "-f", "-c", "-o", o.name] + opts + list(args), env=env,
            stdout=subprocess.DEVNULL)
        calls = {}
        for line in open(o.name):
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$", line)
            if m and m.group(2) != "total":
                calls[m.group(2)] = int(m.group(1))
        return calls


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def callgrind_total(args, env=None):
    """User-space instructions of a command: callgrind's program total."""
    with tempfile.NamedTemporaryFile(suffix=".cg") as f:
        run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + f.name, *args], env=env,
            capture_output=True)
        text = out(["callgrind_annotate", "--threshold=100", f.name])
    m = re.search(r"([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?PROGRAM TOTALS", text)
    return int(m.group(1).replace(",", ""))


def callgrind_profile(args, outf, top=8):
    """Total instructions of a command under callgrind and its `top` functions
    by self cost: [(function, instructions)]."""
    run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + outf, *args],
        capture_output=True)
    text = out(["callgrind_annotate", "--inclusive=no", "--threshold=100", outf])
    total, funcs = None, []
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(.*)$", line)
        if not m:
            continue
        n = int(m.group(1).replace(",", ""))
        if "PROGRAM TOTALS" in m.group(2):
            total = n
        elif total is not None and len(funcs) < top:
            name = m.group(2).split(" [")[0].split(":")[-1]
            funcs.append((name, n))
    return total, funcs
