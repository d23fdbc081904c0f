# SPDX-License-Identifier: MIT
"""Static calls: what a call costs through an inline call site (linked with
--emit-relocs, the site rewritten to call the target), through the
trampoline (the same program linked without it), as a direct call and
through a function pointer, to a near target (in the program) and a far
one (in a shared library, which a PIE program reaches through the PLT);
and what an update costs with 1 and with 1,000 inline sites.

Three files, so that no compiler sees through a call: tgt.c holds the
near targets, far.c (libfar.so) the far ones, main.c the loops, the
thousand sites and the timer; pollute.S the indirect calls that pollute
the branch predictors. Instructions from callgrind (counters dumped after
each loop, per call, minus the empty loop's); cycles from rdtsc, rounds
interleaved: around whole loops (the tight loop), and around one call
alone under the conditions a function pointer meets on a real hot path
(CONDS: data lines flushed, predictors polluted). The same objects are
compiled once more with retpolines (Spectre v2 hardening) and measured
alike.
"""
import glob
import json
import os
import re

from common import C_TIMING, INCLUDE, compilers, have, out, run, spread, version

# (loop, what it calls): the rows of the table, near and far.
KINDS = [("direct", "a direct call"), ("static", "skeys_call()"), ("fnptr", "a function pointer")]

# Every measured function and target starts a 64-byte line: a loop's cost
# on this core moves by most of a cycle with where its code falls, which
# would otherwise differ between variants and builds.
TGT = """#define AL __attribute__((aligned(64)))
int tgt(int x);
int tgt2(int x);
AL int tgt(int x) { return x * 3 + 1; }
AL int tgt2(int x) { return x * 3 + 2; }
"""

FAR = TGT.replace("tgt", "far_tgt")

MAIN = C_TIMING + r"""#include <skeys.h>
#include <stdint.h>
#include <x86intrin.h>
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS_AT(name) (void)(name)
#endif
#define NI __attribute__((noinline))
/* The measured functions each start a 64-byte line (see TGT). */
#define AL __attribute__((noinline, aligned(64)))
int tgt(int x);
int tgt2(int x);
int far_tgt(int x);
int far_tgt2(int x);
void pollute(unsigned seed); /* pollute.S: many indirect call sites, many targets */
int (*fp_near)(int) = tgt;
int (*fp_far)(int) = far_tgt;
SKEYS_DEFINE_CALL(near, tgt2);
SKEYS_DEFINE_CALL(far, far_tgt2);
SKEYS_DEFINE_CALL(one, tgt2);
SKEYS_DEFINE_CALL(many, tgt2);
SKEYS_RESERVE_CALL_SITES(@MANY@);
typedef long (*loop_fn)(int);
AL long loop_none(int n) { long s = 0; for (int i = 0; i < n; i++) { __asm__ volatile("" : "+r"(s)); s += i; } return s; }
AL long loop_direct_near(int n) { long s = 0; for (int i = 0; i < n; i++) s += tgt(i); return s; }
AL long loop_static_near(int n) { long s = 0; for (int i = 0; i < n; i++) s += skeys_call(near)(i); return s; }
AL long loop_fnptr_near(int n) { long s = 0; for (int i = 0; i < n; i++) s += fp_near(i); return s; }
AL long loop_direct_far(int n) { long s = 0; for (int i = 0; i < n; i++) s += far_tgt(i); return s; }
AL long loop_static_far(int n) { long s = 0; for (int i = 0; i < n; i++) s += skeys_call(far)(i); return s; }
AL long loop_fnptr_far(int n) { long s = 0; for (int i = 0; i < n; i++) s += fp_far(i); return s; }
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
/*
 * One call alone, timed from a drained pipeline to its result: TSC ticks
 * between two fenced reads. Each call site is its own, as in the loops.
 */
#define ONE(v, expr)                                                           \
	AL unsigned long long one_##v(int i)                                   \
	{                                                                      \
		unsigned aux;                                                  \
		_mm_lfence();                                                  \
		unsigned long long t0 = __rdtsc();                             \
		_mm_lfence();                                                  \
		long r = (expr);                                               \
		unsigned long long t1 = __rdtscp(&aux);                        \
		_mm_lfence();                                                  \
		sink += r;                                                     \
		return t1 - t0;                                                \
	}
ONE(none, i)
ONE(direct_near, tgt(i))
ONE(static_near, skeys_call(near)(i))
ONE(fnptr_near, fp_near(i))
ONE(direct_far, far_tgt(i))
ONE(static_far, skeys_call(far)(i))
ONE(fnptr_far, fp_far(i))
typedef unsigned long long (*one_fn)(int);
static const struct { const char *name; one_fn fn; } ones[] = {
  {"none", one_none},
  {"direct_near", one_direct_near}, {"static_near", one_static_near},
  {"fnptr_near", one_fnptr_near}, {"direct_far", one_direct_far},
  {"static_far", one_static_far}, {"fnptr_far", one_fnptr_far},
};
#define NONES (sizeof(ones) / sizeof(ones[0]))
static unsigned rnd = 1;
static unsigned next_rnd(void)
{
	rnd = rnd * 1103515245u + 12345u;
	return rnd >> 8;
}
/* A pause of 0..63 loop turns, so that the TSC's coarse steps average out. */
static void dither(void)
{
	for (unsigned z = next_rnd() & 63; z; z--)
		__asm__ volatile("" : "+r"(z));
}
/*
 * The GOT slot the direct far call's PLT entry jumps through, read from
 * that entry: [endbr64] [bnd] jmp *slot(%rip).
 */
static void *plt_slot(void)
{
	const unsigned char *p, *e;
	__asm__("lea far_tgt@PLT(%%rip), %0" : "=r"(p));
	e = p;
	if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa) p += 4;
	if (p[0] == 0xf2) p++;
	if (p[0] != 0xff || p[1] != 0x25) {
		fprintf(stderr, "far_tgt's PLT entry at %p: expected jmp *slot(%%rip) (ff 25), "
			"found %02x %02x %02x %02x\n", (const void *)e, e[0], e[1], e[2], e[3]);
		exit(4);
	}
	int32_t d;
	memcpy(&d, p + 2, 4);
	return (void *)(p + 6 + d);
}
/*
 * Every data line any of the calls reads: both function pointers, both
 * static calls' objects (the far form jumps through `lit`, their first
 * word) and the PLT's slot. Flushed alike before every variant.
 */
static const void *cold[5];
static int ncold;
static void add_cold(const void *p)
{
	for (int q = 0; q < ncold; q++)
		if (((uintptr_t)cold[q] >> 6) == ((uintptr_t)p >> 6)) return;
	cold[ncold++] = p;
}
static const char *const conds[] = {"warm", "cold", "polluted"};
/*
 * One line a condition, call and round: "condition name ticks*1000 per
 * call", the mean of `per` calls (`per_polluted` when polluted).
 */
static void conditions(int rounds, int per, int per_polluted)
{
	void *slot = plt_slot();
	sink += far_tgt(1);
	if (*(void **)slot != (void *)far_tgt) {
		fprintf(stderr, "far_tgt's PLT slot %p holds %p, not far_tgt (%p)\n", slot,
			*(void **)slot, (void *)far_tgt);
		exit(4);
	}
	add_cold(&fp_near);
	add_cold(&fp_far);
	add_cold(&skeys__call_near);
	add_cold(&skeys__call_far);
	add_cold(slot);
	for (unsigned j = 0; j < NONES; j++) sink += (long)ones[j].fn(1); /* warm up */
	for (int c = 0; c < 3; c++) {
		int n = c == 2 ? per_polluted : per;
		for (int r = 0; r < rounds; r++) {
			unsigned long long acc[NONES] = {0};
			for (int k = 0; k < n; k++)
				for (unsigned j0 = 0; j0 < NONES; j0++) {
					unsigned j = (j0 + (unsigned)k + (unsigned)r) % NONES;
					if (c == 2) pollute(next_rnd());
					dither();
					if (c == 1) {
						for (int q = 0; q < ncold; q++) _mm_clflush(cold[q]);
						_mm_mfence();
					}
					acc[j] += ones[j].fn(k);
				}
			for (unsigned j = 0; j < NONES; j++)
				printf("%s %s %llu\n", conds[c], ones[j].name, acc[j] * 1000 / (unsigned long long)n);
		}
	}
}
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
		/* Under callgrind, a dump of its counters per loop (natively, nothing). */
		for (unsigned j = 0; j < NLOOPS; j++) {
			CALLGRIND_ZERO_STATS;
			sink += loops[j].fn(n);
			CALLGRIND_DUMP_STATS_AT(loops[j].name);
			printf("%s %d\n", loops[j].name, n);
		}
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "update")) {
		long long t1, tm;
		if (rounds > 512 || rounds % 2 == 0) return 2;
		UPDATE_NS(one, rounds, t1);
		UPDATE_NS(many, rounds, tm);
		/* An odd number of updates ends on tgt: every site must call it now. */
		long want = 0, got = many_sites(1);
		for (int i = 0; i < @MANY@; i++) want += tgt(1) + i;
		if (one_site(1) != tgt(1) + 1 || got != want) {
			fprintf(stderr, "after the updates: one_site(1) = %d, many_sites(1) = %ld, "
				"expected %d and %ld\n", one_site(1), got, tgt(1) + 1, want);
			return 5;
		}
		printf("update_1 %lld\nupdate_many %lld\n", t1, tm);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "conditions")) {
		conditions(rounds, n, argc > 4 ? atoi(argv[4]) : 1);
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


def gen_pollute(sites, targets=64):
    """pollute(seed): `sites` indirect call sites one after the other, each
    calling one of `targets` functions picked by a pseudo-random sequence:
    more branches than the branch target buffer holds, with targets the
    indirect predictor cannot learn. Assembly, so that no compiler has to
    chew through it."""
    L = [".text", ".globl pollute", ".type pollute, @function", ".p2align 4", "pollute:",
         "push %rbx", "push %r12", "push %rbp", "mov %edi, %ebx", "lea pollute_tab(%rip), %r12"]
    for _ in range(sites):
        L += ["imul $1103515245, %ebx, %ebx", "add $12345, %ebx", "mov %ebx, %eax",
              "shr $20, %eax", f"and ${targets - 1}, %eax", "call *(%r12,%rax,8)"]
    L += ["pop %rbp", "pop %r12", "pop %rbx", "ret", ".size pollute, . - pollute"]
    for t in range(targets):
        L += [".p2align 6", f"pollute_{t}:", f"lea {t}(%rdi), %rax", "ret"]
    L += [".section .data.rel.ro, \"aw\"", ".p2align 3", "pollute_tab:"]
    L += [f".quad pollute_{t}" for t in range(targets)]
    L += [".section .note.GNU-stack, \"\", @progbits", ""]
    return "\n".join(L)


def gen_main(many):
    sites = [f"NI int site_{i}(int x) {{ return skeys_call(many)(x) + {i}; }}" for i in range(many)]
    sites.append("NI long many_sites(int x) { long s = 0;")
    sites += [f"  s += site_{i}(x);" for i in range(many)]
    sites.append("  return s; }")
    return MAIN.replace("@MANY@", str(many)).replace("@SITES@", "\n".join(sites))


def callgrind(ctx, exe, n):
    """Instructions per call of each loop, the empty loop's taken off: the
    program dumps callgrind's counters after each loop (a client request).
    Totals, not a function's inclusive cost, because a retpoline's `ret`
    does not return to its call, which callgrind's call tree does not follow."""
    outf = exe + ".callgrind"
    for f in glob.glob(outf + "*"):
        os.unlink(f)
    run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + outf, exe, "count", str(n)],
        capture_output=True)
    ir = {}
    for f in glob.glob(outf + ".*"):
        text = open(f).read()
        m = re.search(r"^desc: Trigger: Client Request: loop_(\w+)$", text, re.M)
        t = re.search(r"^summary: (\d+)$", text, re.M)
        if m and t:
            ir[m.group(1)] = int(t.group(1)) / n
    if "none" not in ir:
        raise RuntimeError(f"{exe}: no callgrind dump per loop in {outf}.*")
    return {k: v - ir["none"] for k, v in ir.items() if k != "none"}


def sites_of(ctx, exe):
    """Inline sites skeys-seal recorded, per call."""
    doc = json.loads(out([ctx.dump, "--json", exe]))
    return {c["name"]: c["sites"] for c in doc.get("calls", [])}


def retpoline_flag(cc):
    """Spectre v2 hardening: every indirect call and jump through a retpoline."""
    return "-mindirect-branch=thunk" if cc.startswith("gcc") else "-mretpoline"


# The builds each compiler's objects are linked into: key, how the objects
# are compiled (hardened or not), whether the link keeps the relocations.
BUILDS = [("inline", False, True), ("trampoline", False, False),
          ("inline_retpoline", True, True), ("trampoline_retpoline", True, False)]

# Conditions of the one-call measurement (the program's `conditions` mode).
CONDS = [("warm", "one call, warm"), ("cold", "data lines cold"),
         ("polluted", "indirect predictor polluted")]


def per_call(lines):
    """{key...: {median, spread}} from lines "key... ticks*1000", rounds apart."""
    per = {}
    for line in lines:
        *k, t = line.split()
        per.setdefault(tuple(k), []).append(int(t) / 1000)
    res = {}
    for k, ts in per.items():
        d = res
        for part in k[:-1]:
            d = d.setdefault(part, {})
        d[k[-1]] = dict(zip(("median", "spread"), spread(ts)))
    return res


def measure(ctx):
    res = {"compilers": {}, "kinds": dict(KINDS), "conditions": dict(CONDS)}
    many = 16 if ctx.smoke else 1000
    n = 1000 if ctx.smoke else 20000
    tn, rounds = (2000, 3) if ctx.smoke else (20_000, 301)
    urounds = 3 if ctx.smoke else 201
    # The one-call conditions: rounds, calls a round, calls a round when polluted.
    crounds, per, per_pol = (3, 4, 1) if ctx.smoke else (51, 64, 8)
    psites = 256 if ctx.smoke else 16384
    d = os.path.dirname(ctx.path("calls", "x"))
    open(d + "/tgt.c", "w").write(TGT)
    open(d + "/far.c", "w").write(FAR)
    open(d + "/main.c", "w").write(gen_main(many))
    open(d + "/pollute.S", "w").write(gen_pollute(psites))
    env = dict(os.environ, LD_LIBRARY_PATH=d)
    for cc in compilers():
        ctx.log(f"static calls: {cc}")
        r = {"version": version(cc), "retpoline_flag": retpoline_flag(cc)}
        lib = f"{d}/libfar-{cc}.so"
        run([cc, *ctx.cflags, "-fPIC", "-shared", f"{d}/far.c", "-o", lib])
        pol = f"{d}/pollute-{cc}.o"
        run([cc, "-c", f"{d}/pollute.S", "-o", pol])
        objs = {}
        for hard in (False, True):
            flags = [retpoline_flag(cc)] if hard else []
            objs[hard] = []
            for src in ("tgt", "main"):
                o = f"{d}/{src}-{cc}{'-retpoline' if hard else ''}.o"
                run([cc, *ctx.cflags, *flags, "-fPIE", "-I", INCLUDE, "-c", f"{d}/{src}.c",
                     "-o", o])
                objs[hard].append(o)
        # The same objects linked twice: the sites rewritten (inline), or not (trampoline).
        for key, hard, relocs in BUILDS:
            exe = f"{d}/calls-{cc}-{key}"
            run([cc, "-pie", *objs[hard], pol, lib, *(["-Wl,--emit-relocs"] if relocs else []),
                 "-o", exe + ".unsealed", "-L", ctx.libdir, "-lskeys",
                 "-Wl,-rpath," + ctx.libdir + ":" + d])
            run([ctx.seal, exe + ".unsealed", "-o", exe])
            v = {"sites": sites_of(ctx, exe)}
            if relocs and (v["sites"].get("one"), v["sites"].get("many")) != (1, many):
                # The update rows are labelled with these counts.
                raise RuntimeError(f"{exe}: skeys-seal recorded {v['sites']} inline sites, "
                                   f"expected one 1 and many {many}")
            if have("valgrind"):
                v["ir"] = callgrind(ctx, exe, n)
            lines = out([exe, "time", str(tn), str(rounds)], env=env).splitlines()
            v["cycles"] = {k[5:]: x for k, x in per_call(lines).items()}
            lines = out([exe, "conditions", str(per), str(crounds), str(per_pol)],
                        env=env).splitlines()
            v["conditions"] = per_call(lines)
            if key == "inline":
                up = dict(l.split() for l in out([exe, "update", "0", str(urounds)],
                                                  env=env).splitlines())
                v["update_ns"] = {"1": int(up["update_1"]), str(many): int(up["update_many"])}
            r[key] = v
        res["compilers"][cc] = r
    res["many"] = many
    res["iters"] = {"callgrind": n, "cycles": tn, "rounds": rounds, "update_rounds": urounds,
                    "cond_rounds": crounds, "cond_calls": per, "cond_calls_polluted": per_pol,
                    "pollute_sites": psites}
    return res


# ---- report (bench/steps/report.py calls these) ---------------------------------

CALLS = [("direct call", "inline", "direct"), ("static call, inline site", "inline", "static"),
         ("static call, trampoline", "trampoline", "static"),
         ("function pointer", "inline", "fnptr")]

# The cycle comparisons: (label, build suffix, where the figure is).
COLUMNS = [("tight loop", "", "tight"), ("one call, warm", "", "warm"),
           ("data lines cold", "", "cold"), ("indirect predictor polluted", "", "polluted"),
           ("retpoline build, tight loop", "_retpoline", "tight"),
           ("retpoline build, one call", "_retpoline", "warm")]
# The plot's shorter names for them.
PLOT_LABELS = ["tight loop", "one call", "data cold", "predictor\\npolluted",
               "retpoline\\ntight loop", "retpoline\\none call"]


def cyc(c, build, where, key):
    """{median, abs}: ticks per call, `abs` half the interquartile range.
    One-call figures are less the empty timed window's (`none`)."""
    v = c.get(build)
    if not v:
        return None
    if where == "tight":
        x = v["cycles"][key]
        return {"median": x["median"], "abs": x["median"] * x["spread"]}
    cond = v["conditions"][where]
    x = cond[key]
    return {"median": x["median"] - cond["none"]["median"], "abs": x["median"] * x["spread"]}


def _row(c, dist):
    """Tight-loop instructions and cycles per call of each way to call, near or far."""
    return [(label, c[b].get("ir", {}).get(f"{k}_{dist}"), c[b]["cycles"][f"{k}_{dist}"])
            for label, b, k in CALLS]


def _fmt(x, pct=False):
    if x is None:
        return "-"
    if pct:
        return f"{x['median']:.2f} ± {x['abs'] / x['median'] * 100 if x['median'] else 0:.0f}%"
    return f"{x['median']:.1f} ± {x['abs']:.1f}"


def md(cl, L, plot):
    it = cl["iters"]
    L += ["## Static calls", "",
          "A call through `skeys_call()` against a direct call and a function pointer, to a near "
          "target (in the program) and a far one (in a shared library: a PIE program's direct "
          "call goes through the PLT, a static call through its trampoline's `jmp *lit`). "
          "*Inline site*: the program linked with `-Wl,--emit-relocs`, so that `skeys-seal` "
          "recorded the call sites and the update rewrote them to `call target`; *trampoline*: "
          "the same objects linked without, every call going through the trampoline. "
          "Instructions per call from callgrind (its counters dumped after each loop of "
          f"{it['callgrind']:,} calls, the empty loop's subtracted). Valgrind maps the library "
          "within 2 GiB of the program, so under callgrind the far inline site calls its target "
          "directly; run natively it is out of reach and goes through the trampoline. Cycles are "
          "TSC ticks read with `rdtsc`/`rdtscp` between `lfence`s (the CPU's nominal clock; "
          "this machine offers no cycle counter to `perf_event`, and its TSC advances in steps "
          "of about 25 ticks, which the one-call rounds average out). Each figure is a median of "
          "interleaved rounds, ± half the interquartile range; every variant of a row runs in "
          "the same process, rounds rotating through them, so that other load on the machine "
          "hits them alike.", "",
          "Six conditions, the same for every way to call:", "",
          f"- *tight loop*: {it['cycles']:,} calls in a loop, {it['rounds']} rounds. The "
          "pointer's line stays in L1, its one target is predicted every time: a function "
          "pointer at its best. Every loop and target starts a 64-byte line, so that the "
          "variants' code falls alike: a loop's cost moves with where its code falls, by "
          "about as much as the differences measured here.",
          "- *one call, warm*: a single call timed from a drained pipeline (fenced on both "
          "sides) to its result, less the same timed window without a call; a pause of a random "
          f"length before each; the mean of {it['cond_calls']} calls a round, "
          f"{it['cond_rounds']} rounds.",
          "- *data lines cold*: the same, after `clflush` of every data line any of the calls "
          "reads (both function pointers, both static calls' objects, whose first word the far "
          "trampoline jumps through, and the PLT's slot for the far target), then `mfence`: a "
          "hot path whose ops table was evicted since its last call. The same lines are flushed "
          "before every variant, those that do not read them included. Fenced, the call waits "
          "for the whole miss; in flowing code the core keeps executing the predicted target "
          "while the load is outstanding, and pays the miss only when the prediction was wrong.",
          f"- *indirect predictor polluted*: the same, after {it['pollute_sites']:,} indirect "
          "call sites run one after the other, each calling one of 64 functions picked "
          "pseudo-randomly: more branches than the branch target buffer holds and targets "
          "its indirect predictor cannot learn, as when other code ran between two calls. "
          f"{it['cond_calls_polluted']} call{'s' if it['cond_calls_polluted'] != 1 else ''} "
          "a round.",
          "- *retpoline build*: the same objects compiled with Spectre v2 hardening (gcc "
          "`-mindirect-branch=thunk`, clang `-mretpoline`): the compiler turns each indirect "
          "call into a call to a retpoline thunk. It does not touch assembly, so neither the "
          "PLT's `jmp *slot` (GNU ld has no retpoline PLT; lld's is `-z retpolineplt`) nor a far "
          "static call's `jmp *lit` is hardened: in a hardened program, a far static call is an "
          "indirect jump the hardening does not cover. Near static calls have no indirect "
          "branch at all.", ""]
    for cc, c in cl["compilers"].items():
        L += [f"### {c['version']}", "",
              "Inline sites `skeys-seal` recorded, per call: "
              + ", ".join(f"{k} {v}" for k, v in sorted(c["inline"]["sites"].items()))
              + " (near and far: the loop's site and the one-call function's); linked without "
              "`--emit-relocs`: "
              + ", ".join(f"{k} {v}" for k, v in sorted(c["trampoline"]["sites"].items()))
              + f". Retpoline build: `{c.get('retpoline_flag', '?')}`.", ""]
        head = ["call", "instructions", *[col for col, _, _ in COLUMNS[:4]],
                "retpoline build: instructions", *[col for col, _, _ in COLUMNS[4:]]]
        for dist, title in (("near", "Near target"), ("far", "Far target")):
            L += [f"{title}, TSC ticks per call:", "", "| " + " | ".join(head) + " |",
                  "|" + "---|" * len(head)]
            for label, b, k in CALLS:
                key = f"{k}_{dist}"
                ir = c[b].get("ir", {}).get(key)
                irh = c.get(b + "_retpoline", {}).get("ir", {}).get(key)
                cells = [_fmt(cyc(c, b + suf, where, key), where == "tight")
                         for _, suf, where in COLUMNS]
                L.append(f"| {label} | {'-' if ir is None else f'{ir:.2f}'} | "
                         + " | ".join(cells[:4])
                         + f" | {'-' if irh is None else f'{irh:.2f}'} | "
                         + " | ".join(cells[4:]) + " |")
            L.append("")
        up = c["inline"]["update_ns"]
        L += ["Update (`skeys_call_update`, one thread, median of "
              f"{it['update_rounds']}, alternating between two targets, and after the last one "
              "every site checked to call the new target): " +
              ", ".join(f"{k} inline site{'s' if k != '1' else ''}: {v / 1000:.1f} µs"
                        for k, v in up.items()) + ".", ""]
    L += ["How to read it. In the tight loop a predicted indirect call costs what a direct "
          "call costs on this core: the pointer's load hits L1 and runs ahead, the target comes "
          "from the branch target buffer, and the check that it was right is off the critical "
          "path; there the inline site can only equal the pointer, and the trampoline, one more "
          "taken jump, costs a little more. Alone, from a drained pipeline (*one call, warm*), "
          "the pointer's call waits for its load, an L1 hit, before its target is confirmed, "
          "which a direct call does not. The static call's advantage is in what the pointer "
          "depends on and a static call does not: the pointer's cache line (*data lines "
          "cold*), a correct prediction (*indirect predictor polluted*: a mispredicted "
          "indirect call restarts the pipeline at the target, a direct call missing from the "
          "branch target buffer is redirected at decode), and Spectre v2 hardening (a retpoline "
          "turns every indirect call into a deliberately mispredicted return). A far static "
          "call jumps through `lit` and shares the pointer's costs in the first two; it is "
          "the near form, and the inline site, that avoid them. Far and polluted, every form "
          "pays much more than near, the static ones included: the far form is for reach, "
          "not speed. The Targets table states, per "
          "condition, whether both static forms are below the pointer (near target): *below* "
          "or *above* by more than the larger of the two spreads, else *equal*.", ""]
    if plot:
        L += [f"![static calls]({plot})", ""]


def plot(cl, where, gnuplot):
    """Near target, one compiler: each condition, each way to call (log scale)."""
    cc = "gcc" if "gcc" in cl["compilers"] else next(iter(cl["compilers"]), None)
    if not cc:
        return None
    c = cl["compilers"][cc]
    with open(os.path.join(where, "calls.dat"), "w") as f:
        for (_, suf, wh), label in zip(COLUMNS, PLOT_LABELS):
            vals = [cyc(c, b + suf, wh, f"{k}_near") for _, b, k in CALLS]
            if None in vals:
                continue
            f.write(f"\"{label}\" " + " ".join(f"{max(v['median'], 0.5):.3f}" for v in vals) + "\n")
    series = ", ".join(f"{'' if i == 0 else chr(39) * 2 + ' '}using {i + 2}"
                       f"{':xtic(1)' if i == 0 else ''} title '{label}'"
                       for i, (label, _, _) in enumerate(CALLS))
    if not gnuplot(f"""set terminal pngcairo size 1000,480 font ',10'
set output 'calls.png'
set title 'TSC ticks per call, near target ({cc}): static calls, direct calls, function pointers'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.6 border -1
set ylabel 'ticks per call (log scale; one call: less the empty timed window)'
set logscale y
set yrange [0.5:*]
set xtics font ',9'
set bmargin 4
set key top left
plot 'calls.dat' {series}
""", where):
        return None
    return "bench/calls.png"


def _verdict(s, f):
    noise = max(s["abs"], f["abs"])
    return "below" if s["median"] < f["median"] - noise else \
        "above" if s["median"] > f["median"] + noise else "equal"


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
    # Each static form against the pointer measured in its own program's rounds.
    for col, suf, wh in COLUMNS:
        measured, verdicts = [], set()
        for cc, c in cl["compilers"].items():
            i, ip, t, tp = (cyc(c, b + suf, wh, f"{k}_near") for b, k in
                            (("inline", "static"), ("inline", "fnptr"),
                             ("trampoline", "static"), ("trampoline", "fnptr")))
            if None in (i, ip, t, tp):
                continue
            vi, vt = _verdict(i, ip), _verdict(t, tp)
            verdicts.add((vi, vt))
            measured.append(f"{cc}: inline {i['median']:.1f} against {ip['median']:.1f}, "
                            f"trampoline {t['median']:.1f} against {tp['median']:.1f}")
        if not measured:
            continue
        if verdicts == {("below", "below")}:
            status = "met"
        else:
            status = "not met: " + "; ".join(f"inline {a}, trampoline {b}"
                                             for a, b in sorted(verdicts))
            if wh == "tight" and not suf:
                status += (" (a pointer call predicted every time, its pointer in L1, costs a "
                           "direct call's cycles; the trampoline adds a jump)")
        T.append((f"Both below a function-pointer call in cycles, same run: {col}",
                  "near; " + "; ".join(measured), status))
    return T
