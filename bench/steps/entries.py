# SPDX-License-Identifier: MIT
"""Function entries against LLVM XRay, side by side (x86-64).

Both sides are built by the same compiler (clang 14, Debian's, which ships
the XRay runtime).

Hot path (callgrind, user-space instructions per call, over the same
function with neither): a function with an idle skeys entry
(-fpatchable-function-entry=5, sealed: one 5-byte nop) and one with an
unpatched XRay entry and exit sled; then the same with a handler attached
(skeys_entry_attach; XRay: __xray_set_handler + __xray_patch_function, whose
handler runs at the entry and at the exit). Both handlers add to a counter.

Attach + detach of N functions, a pair: skeys_entry_attach_all +
skeys_entry_detach_all (every pad checked before it is written) against
__xray_patch + __xray_unpatch of the same N functions with an entry and an
exit sled each (the XRay program of the keys' comparison, bench/steps/xray.py).
Time: clock_gettime around each pair, median per run, median of alternating
runs; instructions: callgrind, a run of 11 pairs minus a run of 1, over 10.
"""
import glob
import os
import re
import tempfile

import xray
from common import C_TIMING, INCLUDE, have, out, run, spread

CC, CXX, ENV = xray.CC, xray.CXX, xray.ENV

# The harness (timer, main), compiled without the flag; the N functions
# are in a file of their own, compiled with it.
PAIR_MAIN = C_TIMING + r"""
#include <skeys.h>
typedef int (*fn)(int);
extern fn fns[];
extern const unsigned NFNS;
static void handler(void *f, void *data) { (void)f; ++*(volatile long *)data; }
static long hits;
static int pair_on(void) { return skeys_entry_attach_all(handler, &hits); }
static int pair_off(void) { return skeys_entry_detach_all(); }
""" + xray.TIMER.replace(C_TIMING, "")


def pair_program(ctx, n):
    d = ctx.path("entries", f"pairs{n}", "x")
    d = os.path.dirname(d)
    with open(os.path.join(d, "fns.c"), "w") as f:
        f.write("#include <skeys.h>\n")
        for i in range(n):
            f.write(f"__attribute__((noinline)) int f{i}(int x) {{ return x + {i}; }}\n")
        f.write("typedef int (*fn)(int);\nfn fns[] = {" + ",".join(f"f{i}" for i in range(n))
                + "};\nconst unsigned NFNS = " + str(n) + ";\n")
    with open(os.path.join(d, "main.c"), "w") as f:
        f.write(PAIR_MAIN)
    exe = os.path.join(d, "entries")
    run([CC, "-O2", "-I", INCLUDE, "-fpatchable-function-entry=5", "-c",
         os.path.join(d, "fns.c"), "-o", os.path.join(d, "fns.o")])
    run([CC, "-O2", "-I", INCLUDE, "-c", os.path.join(d, "main.c"), "-o", os.path.join(d, "main.o")])
    run([CC, os.path.join(d, "fns.o"), os.path.join(d, "main.o"), "-o", exe + ".u",
         "-L", ctx.libdir, "-lskeys", "-Wl,-rpath," + ctx.libdir])
    run([ctx.seal, exe + ".u", "-o", exe])
    return exe


# Hot path: `plain` (no pad), `entry` (a skeys pad) and `sled` (XRay), each
# in a loop of its own; `attached` puts both handlers on first.
HOT_ENTRY = r"""
int plain(int x) __attribute__((patchable_function_entry(0, 0)));
int plain(int x) { return x * 3 + 1; }
int entry(int x);
int entry(int x) { return x * 3 + 1; }
"""
HOT_SLED = r"""
__attribute__((xray_always_instrument)) int sled(int x);
int sled(int x) { return x * 3 + 1; }
"""
HOT_MAIN = C_TIMING + r"""
#include <skeys.h>
#include <stdlib.h>
#include <string.h>
#include <xray/xray_interface.h>
extern "C" { int plain(int), entry(int), sled(int); }
static volatile long hits;
static void handler(void *, void *) { hits = hits + 1; }
static void xhandler(int32_t, XRayEntryType) { hits = hits + 1; }
#define LOOP(f) __attribute__((noinline)) long loop_##f(int n) \
	{ long s = 0; for (int i = 0; i < n; i++) s += f(i); return s; }
LOOP(plain) LOOP(entry) LOOP(sled)
volatile long sink;
int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100000;
	bool attached = argc > 2 && !strcmp(argv[2], "attached");
	if (attached) {
		int id = -1;
		for (size_t i = 1; i <= __xray_max_function_id(); i++)
			if (__xray_function_address((int32_t)i) == (uintptr_t)sled) id = (int)i;
		if (skeys_entry_attach((void *)entry, handler, nullptr) || id < 0 ||
		    __xray_set_handler(xhandler) != 1 || __xray_patch_function(id) != SUCCESS)
			return 1;
	}
	if (argc > 3) { /* time: nanoseconds a call of each, best of 5 */
		long long best[3] = { -1, -1, -1 };
		long (*loops[3])(int) = { loop_plain, loop_entry, loop_sled };
		for (int r = 0; r < 5; r++)
			for (int k = 0; k < 3; k++) {
				long long t0 = now();
				sink += loops[k](n);
				long long t = now() - t0;
				if (best[k] < 0 || t < best[k]) best[k] = t;
			}
		printf("%.2f %.2f %.2f\n", (double)best[0] / n, (double)best[1] / n, (double)best[2] / n);
		return 0;
	}
	sink += loop_plain(n) + loop_entry(n) + loop_sled(n);
	return hits == (attached ? 3L * n : 0) ? 0 : 2;
}
"""


def hot_path(ctx):
    d = os.path.dirname(ctx.path("entries", "hot", "x"))
    for name, text in (("entry.c", HOT_ENTRY), ("sled.c", HOT_SLED), ("main.cc", HOT_MAIN)):
        open(os.path.join(d, name), "w").write(text)
    exe = os.path.join(d, "hot")
    run([CC, "-O2", "-fpatchable-function-entry=5", "-c", d + "/entry.c", "-o", d + "/entry.o"])
    run([CC, "-O2", "-fxray-instrument", "-fxray-instruction-threshold=100000", "-c",
         d + "/sled.c", "-o", d + "/sled.o"])
    run([CXX, "-O2", "-I", INCLUDE, "-fxray-instrument", "-fxray-instruction-threshold=100000",
         "-c", d + "/main.cc", "-o", d + "/main.o"])
    run([CXX, "-fxray-instrument", d + "/entry.o", d + "/sled.o", d + "/main.o", "-o", exe + ".u",
         "-L", ctx.libdir, "-lskeys", "-Wl,-rpath," + ctx.libdir])
    run([ctx.seal, exe + ".u", "-o", exe])
    n = 2000 if ctx.smoke else 100000
    res = {}
    for mode in ("idle", "attached"):
        with tempfile.NamedTemporaryFile(suffix=".cg") as f:
            run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + f.name, exe, str(n),
                 mode], env=ENV, capture_output=True)
            text = out(["callgrind_annotate", "--inclusive=yes", "--threshold=100", f.name])
        ir = {}
        for line in text.splitlines():
            m = re.match(r"\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?\S*?\bloop_(plain|entry|sled)\b",
                         line)
            if m:
                ir[m.group(2)] = int(m.group(1).replace(",", "")) / n
        if len(ir) < 3:
            return None
        res[mode] = {"entry": ir["entry"] - ir["plain"], "sled": ir["sled"] - ir["plain"]}
        # Time too: an XSAVE is one instruction to callgrind, not to the CPU.
        ns = [float(v) for v in out([exe, str(n * 10), mode, "time"], env=ENV).split()]
        res[mode]["entry_ns"] = ns[1] - ns[0]
        res[mode]["sled_ns"] = ns[2] - ns[0]
    return res


def pair_costs(exes, reps, rounds, grind):
    """Per pair: median time of alternating runs of `reps` timed pairs (the
    first line xray.TIMER prints), and user-space instructions when `grind`."""
    times = {k: [] for k in exes}
    for r in range(rounds):  # alternating order: the load hits both alike
        for k in sorted(exes, reverse=r % 2 == 1):
            first = out([exes[k], "time", str(reps)], env=ENV).split("\n")[0]
            times[k].append(spread([int(x) / 1000 for x in first.split()])[0])
    row = {}
    for k, exe in exes.items():
        m, s = spread(times[k])
        row[k] = {"median_us": m, "spread": s}
        if grind:
            row[k]["ir"] = (xray.instructions(exe, 11) - xray.instructions(exe, 1)) / 10
    return row


def measure(ctx):
    if os.uname().machine != "x86_64":
        return {"skipped": "function entries are x86-64 only so far"}
    x = glob.glob("/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.xray-*.a")
    if not have(CC) or not have(CXX) or not x:
        return {"skipped": f"{CC}, {CXX} or the XRay runtime (libclang-rt-14-dev) is not installed"}
    grind = have("valgrind") and have("callgrind_annotate")
    res = {"compiler": out([CC, "--version"]).splitlines()[0], "rows": []}
    sizes = [10] if ctx.smoke else [1, 1000]
    rounds = 2 if ctx.smoke else 7
    for n in sizes:
        ctx.log(f"entries: {n} functions")
        exes = {"skeys": pair_program(ctx, n), "xray": xray.build(ctx, n, "xray")}
        row = {"functions": n}
        reps = 5 if ctx.smoke else max(20, min(200, 20000 // n))
        row.update(pair_costs(exes, reps, rounds, grind))
        res["rows"].append(row)
    if grind:
        ctx.log("entries: hot path")
        res["hot"] = hot_path(ctx)
    return res
