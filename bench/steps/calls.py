# SPDX-License-Identifier: MIT
"""Static calls: what a call costs through an inline call site (linked with
--emit-relocs, the site rewritten to call the target), through the
trampoline (the same program linked without it), as a direct call and
through a function pointer, to a near target (in the program) and a far
one (in a shared library, which a PIE program reaches through the PLT);
and what an update costs with 1 and with 1,000 inline sites.

Three files, so that no compiler sees through a call: tgt.c holds the
near targets, far.c (libfar.so) the far ones, main.c the loops, the
thousand sites and the timer. Instructions from callgrind (inclusive cost of
each loop, per call, minus the empty loop's); cycles from rdtsc around the
same loops, rounds interleaved.
"""
import json
import os

import hotpath
from common import C_TIMING, INCLUDE, compilers, have, out, run, spread, version

# (loop, what it calls): the rows of the table, near and far.
KINDS = [("direct", "a direct call"), ("static", "skeys_call()"), ("fnptr", "a function pointer")]

TGT = """int tgt(int x);
int tgt2(int x);
int tgt(int x) { return x * 3 + 1; }
int tgt2(int x) { return x * 3 + 2; }
"""

FAR = TGT.replace("tgt", "far_tgt")

MAIN = C_TIMING + r"""#include <skeys.h>
#include <x86intrin.h>
#define NI __attribute__((noinline))
int tgt(int x);
int tgt2(int x);
int far_tgt(int x);
int far_tgt2(int x);
int (*fp_near)(int) = tgt;
int (*fp_far)(int) = far_tgt;
SKEYS_DEFINE_CALL(near, tgt2);
SKEYS_DEFINE_CALL(far, far_tgt2);
SKEYS_DEFINE_CALL(one, tgt2);
SKEYS_DEFINE_CALL(many, tgt2);
SKEYS_RESERVE_CALL_SITES(@MANY@);
typedef long (*loop_fn)(int);
NI long loop_none(int n) { long s = 0; for (int i = 0; i < n; i++) { __asm__ volatile("" : "+r"(s)); s += i; } return s; }
NI long loop_direct_near(int n) { long s = 0; for (int i = 0; i < n; i++) s += tgt(i); return s; }
NI long loop_static_near(int n) { long s = 0; for (int i = 0; i < n; i++) s += skeys_call(near)(i); return s; }
NI long loop_fnptr_near(int n) { long s = 0; for (int i = 0; i < n; i++) s += fp_near(i); return s; }
NI long loop_direct_far(int n) { long s = 0; for (int i = 0; i < n; i++) s += far_tgt(i); return s; }
NI long loop_static_far(int n) { long s = 0; for (int i = 0; i < n; i++) s += skeys_call(far)(i); return s; }
NI long loop_fnptr_far(int n) { long s = 0; for (int i = 0; i < n; i++) s += fp_far(i); return s; }
NI int one_site(int x) { return skeys_call(one)(x) + 1; }
@SITES@
static const struct { const char *name; loop_fn fn; } loops[] = {
  {"loop_none", loop_none},
  {"loop_direct_near", loop_direct_near}, {"loop_static_near", loop_static_near},
  {"loop_fnptr_near", loop_fnptr_near}, {"loop_direct_far", loop_direct_far},
  {"loop_static_far", loop_static_far}, {"loop_fnptr_far", loop_fnptr_far},
};
#define NLOOPS (sizeof(loops) / sizeof(loops[0]))
volatile long sink;
/* Median nanoseconds of one update of `c`, alternating between two targets. */
#define UPDATE_NS(c, rounds, out)                                              \
	do {                                                                   \
		static long long t_[512];                                      \
		for (int r_ = 0; r_ < (rounds); r_++) {                        \
			long long t0_ = now();                                 \
			if (skeys_call_update(c, r_ % 2 ? tgt2 : tgt)) exit(3); \
			t_[r_] = now() - t0_;                                  \
		}                                                              \
		qsort(t_, (size_t)(rounds), sizeof(t_[0]), cmp_ll);           \
		(out) = t_[(rounds) / 2];                                      \
	} while (0)
int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 1000;
	int rounds = argc > 3 ? atoi(argv[3]) : 5;
	/* Near and far targets of the measured calls, sites rewritten. */
	if (skeys_call_update(near, tgt) || skeys_call_update(far, far_tgt)) return 3;
	if (argc > 1 && !strcmp(argv[1], "count")) {
		for (unsigned j = 0; j < NLOOPS; j++) {
			sink += loops[j].fn(n);
			printf("%s %d\n", loops[j].name, n);
		}
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "update")) {
		long long t1, tm;
		if (rounds > 512) return 2;
		UPDATE_NS(one, rounds, t1);
		UPDATE_NS(many, rounds, tm);
		sink += one_site(1) + many_sites(1);
		printf("update_1 %lld\nupdate_many %lld\n", t1, tm);
		return 0;
	}
	for (unsigned j = 0; j < NLOOPS; j++) sink += loops[j].fn(n / 10 + 1); /* warm up */
	/* One line a loop and round, loops rotated each round: "name cycles*1000 per call". */
	for (int r = 0; r < rounds; r++)
		for (unsigned k = 0; k < NLOOPS; k++) {
			unsigned j = (k + (unsigned)r) % NLOOPS;
			_mm_lfence();
			unsigned long long t0 = __rdtsc();
			_mm_lfence();
			sink += loops[j].fn(n);
			_mm_lfence();
			printf("%s %llu\n", loops[j].name, (__rdtsc() - t0) * 1000 / (unsigned long long)n);
		}
	return 0;
}
"""


def gen_main(many):
    sites = [f"NI int site_{i}(int x) {{ return skeys_call(many)(x) + {i}; }}" for i in range(many)]
    sites.append("NI long many_sites(int x) { long s = 0;")
    sites += [f"  s += site_{i}(x);" for i in range(many)]
    sites.append("  return s; }")
    return MAIN.replace("@MANY@", str(many)).replace("@SITES@", "\n".join(sites))


def callgrind(ctx, exe, n):
    """Instructions per call of each loop, the empty loop's taken off (hotpath's reader)."""
    ir = hotpath.callgrind(ctx, exe, n)
    return {k[5:]: v - ir.get("loop_none", 0) for k, v in ir.items()
            if k.startswith("loop_") and k != "loop_none"}


def sites_of(ctx, exe):
    """Inline sites skeys-seal recorded, per call."""
    doc = json.loads(out([ctx.dump, "--json", exe]))
    return {c["name"]: c["sites"] for c in doc.get("calls", [])}


def measure(ctx):
    res = {"compilers": {}, "kinds": dict(KINDS)}
    many = 16 if ctx.smoke else 1000
    n = 1000 if ctx.smoke else 20000
    tn, rounds = (2000, 3) if ctx.smoke else (200_000, 101)
    urounds = 3 if ctx.smoke else 201
    d = os.path.dirname(ctx.path("calls", "x"))
    open(d + "/tgt.c", "w").write(TGT)
    open(d + "/far.c", "w").write(FAR)
    open(d + "/main.c", "w").write(gen_main(many))
    env = dict(os.environ, LD_LIBRARY_PATH=d)
    for cc in compilers():
        ctx.log(f"static calls: {cc}")
        r = {"version": version(cc)}
        lib = f"{d}/libfar-{cc}.so"
        run([cc, *ctx.cflags, "-fPIC", "-shared", f"{d}/far.c", "-o", lib])
        objs = []
        for src in ("tgt", "main"):
            o = f"{d}/{src}-{cc}.o"
            run([cc, *ctx.cflags, "-fPIE", "-I", INCLUDE, "-c", f"{d}/{src}.c", "-o", o])
            objs.append(o)
        # The same objects linked twice: the sites rewritten (inline), or not (trampoline).
        for how, extra in (("inline", ["-Wl,--emit-relocs"]), ("trampoline", [])):
            exe = f"{d}/calls-{cc}-{how}"
            run([cc, "-pie", *objs, lib, *extra, "-o", exe + ".unsealed", "-L", ctx.libdir,
                 "-lskeys", "-Wl,-rpath," + ctx.libdir + ":" + d])
            run([ctx.seal, exe + ".unsealed", "-o", exe])
            v = {"sites": sites_of(ctx, exe)}
            if have("valgrind") and have("callgrind_annotate"):
                v["ir"] = callgrind(ctx, exe, n)
            per = {}
            for line in out([exe, "time", str(tn), str(rounds)], env=env).splitlines():
                name, t = line.split()
                per.setdefault(name[5:], []).append(int(t) / 1000)
            v["cycles"] = {k: dict(zip(("median", "spread"), spread(ts))) for k, ts in per.items()}
            if how == "inline":
                up = dict(l.split() for l in out([exe, "update", "0", str(urounds)],
                                                  env=env).splitlines())
                v["update_ns"] = {"1": int(up["update_1"]), str(many): int(up["update_many"])}
            r[how] = v
        res["compilers"][cc] = r
    res["many"] = many
    res["iters"] = {"callgrind": n, "cycles": tn, "rounds": rounds, "update_rounds": urounds}
    return res


# ---- report (bench/steps/report.py calls these) ---------------------------------

def _row(c, dist):
    """Instructions and cycles per call of each way to call, for near or far."""
    inl, tr = c["inline"], c["trampoline"]
    rows = []
    for label, v, k in (("direct call", inl, "direct"), ("static call, inline site", inl, "static"),
                        ("static call, trampoline", tr, "static"),
                        ("function pointer", inl, "fnptr")):
        key = f"{k}_{dist}"
        rows.append((label, v.get("ir", {}).get(key), v["cycles"][key]))
    return rows


def md(cl, L, plot):
    L += ["## Static calls", "",
          "A call through `skeys_call()` against a direct call and a function pointer, to a near "
          "target (in the program) and a far one (in a shared library: a PIE program's direct "
          "call goes through the PLT, a static call through its trampoline's `jmp *lit`). "
          "*Inline site*: the program linked with `-Wl,--emit-relocs`, so that `skeys-seal` "
          "recorded the call site and the update rewrote it to `call target`; *trampoline*: the "
          "same objects linked without, every call going through the trampoline. Instructions "
          f"per call from callgrind ({cl['iters']['callgrind']:,} calls, the empty loop "
          "subtracted); cycles per call, median of "
          f"{cl['iters']['rounds']} interleaved rounds of {cl['iters']['cycles']:,} calls "
          "(± half the interquartile range). Valgrind maps the library within 2 GiB of the "
          "program, so under callgrind the far inline site calls its target directly; run "
          "natively it is out of reach and goes through the trampoline, as the far cycles show "
          "(inline and trampoline alike). The function pointer is measured at its best: one "
          "target, called in a loop, so the indirect branch is predicted every time, and no "
          "retpoline (Debian's user space builds without); the target of being below it in "
          "cycles is set against that.", ""]
    for cc, c in cl["compilers"].items():
        L += [f"### {c['version']}", "",
              "Inline sites `skeys-seal` recorded, per call: "
              + ", ".join(f"{k} {v}" for k, v in sorted(c["inline"]["sites"].items()))
              + "; linked without `--emit-relocs`: "
              + ", ".join(f"{k} {v}" for k, v in sorted(c["trampoline"]["sites"].items()))
              + ".", "",
              "| call | near: instructions | near: cycles | far: instructions | far: cycles |",
              "|---|---|---|---|---|"]
        for (label, ir_n, cy_n), (_, ir_f, cy_f) in zip(_row(c, "near"), _row(c, "far")):
            def i(x):
                return "?" if x is None else f"{x:.2f}"
            L.append(f"| {label} | {i(ir_n)} | {cy_n['median']:.2f} ± {cy_n['spread'] * 100:.0f}% "
                     f"| {i(ir_f)} | {cy_f['median']:.2f} ± {cy_f['spread'] * 100:.0f}% |")
        up = c["inline"]["update_ns"]
        L += ["", "Update (`skeys_call_update`, one thread, median of "
              f"{cl['iters']['update_rounds']}): " +
              ", ".join(f"{k} inline site{'s' if k != '1' else ''}: {v / 1000:.1f} µs"
                        for k, v in up.items()) + ".", ""]
    if plot:
        L += [f"![static calls]({plot})", ""]


def plot(cl, where, gnuplot):
    cc = "gcc" if "gcc" in cl["compilers"] else next(iter(cl["compilers"]), None)
    if not cc:
        return None
    c = cl["compilers"][cc]
    with open(os.path.join(where, "calls.dat"), "w") as f:
        for (label, _, cy_n), (_, _, cy_f) in zip(_row(c, "near"), _row(c, "far")):
            f.write(f"\"{label}\" {cy_n['median']} {cy_f['median']}\n")
    return gnuplot(f"""set terminal pngcairo size 800,420 font ',10'
set output 'calls.png'
set title 'Cycles per call ({cc}): static calls, direct calls, function pointers'
set style data histograms
set style fill solid 0.6 border -1
set ylabel 'cycles per call'
set yrange [0:*]
set key top left
plot 'calls.dat' using 2:xtic(1) title 'near target', '' using 3 title 'far target'
""", where)


def targets(cl):
    T = []
    for cc, c in cl["compilers"].items():
        inl, tr = c["inline"], c["trampoline"]
        if "ir" in inl and "ir" in tr:
            d_inl = inl["ir"]["static_near"] - inl["ir"]["direct_near"]
            d_tr = tr["ir"]["static_near"] - tr["ir"]["direct_near"]
            T.append((f"An inline static call costs a direct call's instructions ({cc})",
                      f"near: {d_inl:+.2f} instructions per call",
                      "met" if abs(d_inl) < 0.01 else "not met"))
            T.append((f"A trampoline static call costs at most one instruction more ({cc})",
                      f"near: {d_tr:+.2f}", "met" if d_tr <= 1.01 else "not met"))
        # Each against the function pointer measured in its own program's rounds.
        i_cy, i_fp = (inl["cycles"][k]["median"] for k in ("static_near", "fnptr_near"))
        t_cy, t_fp = (tr["cycles"][k]["median"] for k in ("static_near", "fnptr_near"))
        T.append((f"Both below a function-pointer call in cycles, same run ({cc})",
                  f"near: inline {i_cy:.2f} against {i_fp:.2f}, trampoline {t_cy:.2f} "
                  f"against {t_fp:.2f}", "met" if i_cy < i_fp and t_cy < t_fp else "not met"))
    return T
