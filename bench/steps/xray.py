# SPDX-License-Identifier: MIT
"""skeys against LLVM XRay, side by side: switching N functions on and off.

Both programs have N small functions and are built by the same compiler
(clang 14, Debian's, which ships the XRay runtime). skeys: one site of one
key in each function, `skeys_enable` + `skeys_disable` is a pair. XRay:
`-fxray-instrument` gives each function an entry and an exit sled (two
sleds), `__xray_patch` + `__xray_unpatch` is a pair, run with
XRAY_OPTIONS=patch_premain=false so that nothing is patched before main.

Per pair: user-space instructions (callgrind, a run of 11 pairs minus a run
of 1, divided by 10), time (clock_gettime around each pair in the process,
median of all pairs; the two programs run in interleaved rounds) and
syscalls (strace -c of one pair minus a run without one). Hot path: a call
to a function with an unpatched XRay sled, and to one with a disabled site,
against the same function with neither (callgrind, per call).
"""
import glob
import os
import re
import subprocess
import tempfile

from common import C_TIMING, INCLUDE, callgrind_total, have, out, run, spread, strace_counts

CC = "clang-14"
CXX = "clang++-14"  # <xray/xray_interface.h> is a C++ header

TIMER = C_TIMING + r"""
#include <sys/resource.h>
volatile int sink;
static long long cpu_us(int sys)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	struct timeval t = sys ? u.ru_stime : u.ru_utime;
	return t.tv_sec * 1000000LL + t.tv_usec;
}
/* time REPS: REPS timed pairs, sorted; pairs REPS: REPS pairs, untimed; idle: none */
int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "idle";
	int reps = argc > 2 ? atoi(argv[2]) : 0;
	long long *t = (long long *)calloc((size_t)reps + 1, sizeof(*t));
	for (unsigned i = 0; i < NFNS; i++) sink += fns[i](1);
	if (!strcmp(mode, "idle"))
		return 0;
	long long u0 = 0, s0 = 0; /* user and system time of the pairs after the first */
	for (int r = 0; r < reps; r++) {
		if (r == 1) u0 = cpu_us(0), s0 = cpu_us(1);
		long long t0 = now();
		if (pair_on() || pair_off()) return 1;
		t[r] = now() - t0;
	}
	for (unsigned i = 0; i < NFNS; i++) sink += fns[i](1);
	if (!strcmp(mode, "time")) {
		qsort(t, (size_t)reps, sizeof(*t), cmp_ll);
		for (int r = 0; r < reps; r++) printf("%lld ", t[r]);
		printf("\n%lld %lld\n", cpu_us(0) - u0, cpu_us(1) - s0);
	}
	return 0;
}
"""


def program(n, kind):
    L = ["typedef int (*fn)(int);"]
    if kind == "skeys":
        L += ["#include <skeys.h>", "SKEYS_DEFINE_FALSE(k);",
              "static int pair_on(void) { return skeys_enable(&k); }",
              "static int pair_off(void) { return skeys_disable(&k); }",
              "__attribute__((noinline, cold)) static int slow(int x) { return x + 7; }"]
        body = "if (skeys_branch_unlikely(&k)) return slow(x); return x + {i};"
    else:
        L += ["#include <xray/xray_interface.h>",
              "static int pair_on(void) { return __xray_patch() != SUCCESS; }",
              "static int pair_off(void) { return __xray_unpatch() != SUCCESS; }"]
        body = "return x + {i};"
    for i in range(n):
        L.append(f"__attribute__((noinline)) static int f{i}(int x) {{ {body.format(i=i)} }}")
    L.append("static fn fns[] = {" + ",".join(f"f{i}" for i in range(n)) + "};")
    L.append("#define NFNS (sizeof(fns) / sizeof(fns[0]))")
    return "\n".join(L) + TIMER


XRAY_FLAGS = ["-fxray-instrument", "-fxray-instruction-threshold=1"]
ENV = dict(os.environ, XRAY_OPTIONS="patch_premain=false")


def build(ctx, n, kind):
    c = ctx.path("xray", f"{kind}{n}.c")
    exe = c[:-2]
    open(c, "w").write(program(n, kind))
    if kind == "skeys":
        run([CC, "-O2", "-I", INCLUDE, c, "-o", exe + ".u", "-L", ctx.libdir, "-lskeys",
             "-Wl,-rpath," + ctx.libdir])
        run([ctx.seal, exe + ".u", "-o", exe])
    else:
        run([CXX, "-O2", *XRAY_FLAGS, "-x", "c++", c, "-o", exe])
    return exe


def instructions(exe, reps):
    return callgrind_total([exe, "pairs", str(reps)], env=ENV)


def syscalls(exe):
    def count(mode):
        return strace_counts([exe, mode, "1"], env=ENV)
    a, b = count("pairs"), count("idle")
    return {k: a.get(k, 0) - b.get(k, 0) for k in set(a) | set(b) if a.get(k, 0) != b.get(k, 0)}


HOT = r"""
#include <skeys.h>
SKEYS_DEFINE_FALSE(k);
__attribute__((noinline, cold)) int slow(int x);
int plain(int x);
int site(int x);
#ifdef XRAY
__attribute__((xray_always_instrument)) int sled(int x);
int sled(int x) { return x * 3 + 1; }
#endif
int plain(int x) { return x * 3 + 1; }
int site(int x) { if (skeys_branch_unlikely(&k)) return slow(x); return x * 3 + 1; }
"""
HOT_MAIN = r"""
#include <stdlib.h>
int plain(int), site(int), sled(int);
int slow(int x) { return x; }
#define LOOP(f) __attribute__((noinline)) long loop_##f(int n) \
	{ long s = 0; for (int i = 0; i < n; i++) s += f(i); return s; }
LOOP(plain) LOOP(site) LOOP(sled)
volatile long sink;
int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100000;
	sink += loop_plain(n) + loop_site(n) + loop_sled(n);
	return 0;
}
"""


def hot_path(ctx):
    """Instructions per call over a plain function: an unpatched sled, a disabled site."""
    d = os.path.dirname(ctx.path("xray", "hot", "x"))
    open(d + "/hot.c", "w").write(HOT)
    open(d + "/main.c", "w").write(HOT_MAIN)
    exe = d + "/hot"
    # hot.c with XRay (only `sled` is marked; the threshold keeps the others bare)
    run([CC, "-O2", "-DXRAY", "-fxray-instrument", "-fxray-instruction-threshold=100000",
         "-I", INCLUDE, "-c", d + "/hot.c", "-o", d + "/hot.o"])
    run([CC, "-O2", "-c", d + "/main.c", "-o", d + "/main.o"])
    run([CXX, "-fxray-instrument", d + "/hot.o", d + "/main.o", "-o", exe + ".u",
         "-L", ctx.libdir, "-lskeys", "-Wl,-rpath," + ctx.libdir])
    run([ctx.seal, exe + ".u", "-o", exe])
    n = 100000
    with tempfile.NamedTemporaryFile(suffix=".cg") as f:
        run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + f.name, exe, str(n)],
            env=ENV, capture_output=True)
        text = out(["callgrind_annotate", "--inclusive=yes", "--threshold=100", f.name])
    ir = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?\S*?\bloop_(plain|site|sled)\b", line)
        if m:
            ir[m.group(2)] = int(m.group(1).replace(",", "")) / n
    if len(ir) < 3:
        return None
    return {"site": ir["site"] - ir["plain"], "sled": ir["sled"] - ir["plain"]}


def measure(ctx):
    if not have(CC) or not have(CXX) or not glob.glob("/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.xray-*.a"):
        return {"skipped": f"{CC}, {CXX} or the XRay runtime (libclang-rt-14-dev) is not installed"}
    grind = have("valgrind") and have("callgrind_annotate")
    res = {"compiler": out([CC, "--version"]).splitlines()[0], "rows": []}
    sizes = [1, 10] if ctx.smoke else [1, 1000, 10000]
    rounds = 2 if ctx.smoke else 7
    for n in sizes:
        ctx.log(f"xray: {n} functions")
        exes = {k: build(ctx, n, k) for k in ("skeys", "xray")}
        row = {"functions": n, "skeys_sites": n, "xray_sleds": 2 * n}
        reps = 5 if ctx.smoke else max(20, min(200, 20000 // n))
        # skeys as it writes by default (/proc/self/mem), and with SKEYS_WRITE=mprotect,
        # which changes protections around plain stores as XRay does
        kinds = {"skeys": ENV, "xray": ENV, "skeys_mprotect": dict(ENV, SKEYS_WRITE="mprotect")}
        times = {k: [] for k in kinds}
        cpu = {k: [0, 0] for k in kinds}  # user, system µs of the timed pairs
        for r in range(rounds):  # interleaved: the load hits all alike
            order = list(kinds) if r % 2 == 0 else list(reversed(kinds))
            for k in order:
                p = subprocess.run([exes[k.split("_")[0]], "time", str(reps)], env=kinds[k],
                                   capture_output=True, text=True, timeout=300, check=True)
                lines = p.stdout.split("\n")
                times[k].append(spread([int(x) / 1000 for x in lines[0].split()])[0])
                cpu[k] = [a + int(b) for a, b in zip(cpu[k], lines[1].split())]
        row["skeys_mprotect"] = dict(zip(("median_us", "spread"), spread(times["skeys_mprotect"])))
        for k in kinds:  # the kernel's share of the CPU time of the pairs
            row.setdefault(k, {})["sys_share"] = cpu[k][1] / max(1, sum(cpu[k]))
        for k, exe in exes.items():
            m, s = spread(times[k])
            row[k].update({"median_us": m, "spread": s})
            if grind:
                row[k]["ir"] = (instructions(exe, 11) - instructions(exe, 1)) / 10
            if have("strace"):
                row[k]["syscalls"] = syscalls(exe)
        res["rows"].append(row)
    if grind:
        ctx.log("xray: hot path")
        res["hot"] = hot_path(ctx)
    return res
