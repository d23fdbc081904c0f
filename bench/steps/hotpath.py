# SPDX-License-Identifier: MIT
"""Hot path: what a site costs against a bool, a relaxed atomic, a function
pointer and no branch at all, in four source shapes, per compiler.

Three translation units, so that no compiler sees through a call: hot.c holds
the measured functions (one per shape and variant, and the many-sites
families), slow.c the slow paths and hooks, main.c the loops and the timer.
Instructions come from callgrind (inclusive cost of each loop, per call,
minus the loop over the no-branch function); cycles from rdtsc around the
same loops, rounds interleaved across variants so load hits all alike.
"""
import re

from common import INCLUDE, compilers, have, out, run, spread, version

# Slow-path shapes. {c} is the condition; every shape computes x * 3 + 1 on the fast path.
SHAPES = {
    "cold": ("slow path is a call; x is still needed after it",
             "if ({c}) slow_cold(x); return x * 3 + 1;"),
    "coldattr": ("as cold, the slow function's declaration says __attribute__((cold))",
                 "if ({c}) slow_coldattr(x); return x * 3 + 1;"),
    "ncsr": ("as cold, the slow function declared no_caller_saved_registers",
             "if ({c}) slow_ncsr(x); return x * 3 + 1;"),
    "used": ("slow path's result is used after it",
             "int y = 0; if ({c}) y = slow_val(x); return x * 3 + 1 + y;"),
    "tail": ("slow path is a tail call (return slow(x))",
             "if ({c}) return slow_val(x); return x * 3 + 1;"),
    "inline": ("slow path is inline work (two counters), no call",
               "if ({c}) {{ stat_n++; stat_sum += x; }} return x * 3 + 1;"),
}
FNPTR = {
    "cold": "hook_cold(x); return x * 3 + 1;",
    "coldattr": "hook_cold(x); return x * 3 + 1;",
    "ncsr": "hook_cold(x); return x * 3 + 1;",
    "used": "return x * 3 + 1 + hook_val(x);",
    "tail": "return hook_tail(x);",
    "inline": "hook_cold(x); return x * 3 + 1;",
}
# (name, condition, address evicted before each call in the evicted loops)
VARIANTS = [
    ("none", "0", "&ev_dummy"),
    ("site", "skeys_branch_unlikely(&k_off)", "&k_off"),
    ("bool", "flag_off", "&flag_off"),
    ("atomic", "atomic_load_explicit(&aflag_off, memory_order_relaxed)", "&aflag_off"),
    ("fnptr", None, "&hook_cold"),
    ("site_on", "skeys_branch_unlikely(&k_on)", "&k_on"),
    ("bool_on", "flag_on", "&flag_on"),
]
MANY = ["none", "site", "bool"]
EVICT_SHAPE = "cold"

HEADER = """#include <skeys.h>
#include <stdatomic.h>
#include <stdbool.h>
SKEYS_DECLARE_FALSE(k_off);
SKEYS_DECLARE_FALSE(k_on);
extern bool flag_off, flag_on;
extern _Atomic bool aflag_off;
extern int ev_dummy;
extern long stat_n, stat_sum;
void slow_cold(int x);
__attribute__((cold)) void slow_coldattr(int x);
__attribute__((no_caller_saved_registers)) void slow_ncsr(int x);
int slow_val(int x);
extern void (*hook_cold)(int);
extern int (*hook_val)(int);
extern int (*hook_tail)(int);
"""

SLOW = HEADER + """
SKEYS_DEFINE_FALSE(k_off);
SKEYS_DEFINE_FALSE(k_on);
bool flag_off, flag_on = true;
_Atomic bool aflag_off;
int ev_dummy __attribute__((aligned(64)));
long stat_n, stat_sum;
volatile int slow_sink;
__attribute__((noinline, cold)) void slow_cold(int x) { slow_sink += x; }
__attribute__((noinline, cold)) void slow_coldattr(int x) { slow_sink += x; }
__attribute__((noinline, cold)) int slow_val(int x) { return x + slow_sink; }
__attribute__((noinline, cold, no_caller_saved_registers)) void slow_ncsr(int x)
{
	slow_sink += x;
}
static void hook_cold_fn(int x) { (void)x; }
static int hook_val_fn(int x) { (void)x; return 0; }
static int hook_tail_fn(int x) { return x * 3 + 1; }
void (*hook_cold)(int) = hook_cold_fn;
int (*hook_val)(int) = hook_val_fn;
int (*hook_tail)(int) = hook_tail_fn;
"""


def fn_name(shape, var):
    return f"f_{shape}_{var}"


def gen_hot(many):
    lines = [HEADER]
    for shape, (_, body) in SHAPES.items():
        for var, cond, _ in VARIANTS:
            b = FNPTR[shape] if cond is None else body.format(c=cond)
            lines.append(f"int {fn_name(shape, var)}(int x);")
            lines.append(f"int {fn_name(shape, var)}(int x) {{ {b} }}")
    conds = {v: c for v, c, _ in VARIANTS}
    for var in MANY:
        for i in range(many):
            lines.append(f"int m_{var}_{i}(int x);")
            lines.append(f"int m_{var}_{i}(int x) {{ if ({conds[var]}) slow_cold(x); "
                         f"return x * 3 + {i}; }}")
        lines.append(f"int (*const m_{var}[{many}])(int) = {{"
                     + ",".join(f"m_{var}_{i}" for i in range(many)) + "};")
    return "\n".join(lines) + "\n"


def gen_main(many):
    L = [HEADER, "#include <stdio.h>", "#include <stdlib.h>", "#include <string.h>",
         "#include <x86intrin.h>", "#define NI __attribute__((noinline))",
         "typedef long (*loop_fn)(int);"]
    names, evs = [], []
    for shape in SHAPES:
        for var, _, addr in VARIANTS:
            f = fn_name(shape, var)
            L.append(f"int {f}(int x);")
            L.append(f"NI long loop_{shape}_{var}(int n) {{ long s = 0; "
                     f"for (int i = 0; i < n; i++) s += {f}(i); return s; }}")
            names.append(f"{shape}_{var}")
            if shape == EVICT_SHAPE and not var.endswith("_on"):
                L.append(f"NI long ev_{shape}_{var}(int n) {{ long s = 0; "
                         f"for (int i = 0; i < n; i++) {{ _mm_clflush((const void *){addr}); "
                         f"_mm_mfence(); s += {f}(i); }} return s; }}")
                evs.append(f"{shape}_{var}")
    for var in MANY:
        L.append(f"extern int (*const m_{var}[{many}])(int);")
        L.append(f"NI long many_{var}(int n) {{ long s = 0; for (int r = 0; r < n; r++) "
                 f"for (int i = 0; i < {many}; i++) s += m_{var}[i](i); return s; }}")
    # per: calls per iteration; div: iterations are n / div (evicted loops are slow)
    L.append("static const struct { const char *name; loop_fn fn; int per, div; } loops[] = {")
    L += [f'  {{"loop_{n}", loop_{n}, 1, 1}},' for n in names]
    L += [f'  {{"ev_{n}", ev_{n}, 1, 20}},' for n in evs]
    L += [f'  {{"many_{v}", many_{v}, {many}, {many}}},' for v in MANY]
    L.append("};")
    L.append(r"""
#define NLOOPS (sizeof(loops) / sizeof(loops[0]))
static int cmp_u64(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
	return x < y ? -1 : x > y;
}
volatile long sink;
int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 1000;
	int rounds = argc > 3 ? atoi(argv[3]) : 5;
	if (skeys_enable(&k_on)) { fputs("cannot enable k_on\n", stderr); return 1; }
	if (argc > 1 && !strcmp(argv[1], "count")) {
		for (unsigned j = 0; j < NLOOPS; j++) {
			int iters = n / loops[j].div + 1;
			sink += loops[j].fn(iters);
			printf("%s %d\n", loops[j].name, iters * loops[j].per);
		}
		return 0;
	}
	static unsigned long long t[64][256];
	if (rounds > 256 || NLOOPS > 64) return 2;
	for (unsigned j = 0; j < NLOOPS; j++) sink += loops[j].fn(n / loops[j].div / 10 + 1); /* warm up */
	for (int r = 0; r < rounds; r++) {
		for (unsigned k = 0; k < NLOOPS; k++) {
			unsigned j = (k + (unsigned)r) % NLOOPS; /* rotate the order */
			int iters = n / loops[j].div + 1;
			_mm_lfence();
			unsigned long long t0 = __rdtsc();
			_mm_lfence();
			sink += loops[j].fn(iters);
			_mm_lfence();
			t[j][r] = (__rdtsc() - t0) * 1000 / ((unsigned long long)iters * loops[j].per);
		}
	}
	for (unsigned j = 0; j < NLOOPS; j++) {
		qsort(t[j], (size_t)rounds, sizeof(t[j][0]), cmp_u64);
		printf("%s", loops[j].name);
		for (int r = 0; r < rounds; r++) printf(" %llu", t[j][r]);
		printf("\n");
	}
	return 0;
}
""")
    return "\n".join(L) + "\n"


def callgrind(ctx, exe, n):
    outf = exe + ".callgrind"
    calls = dict((l.split()[0], int(l.split()[1])) for l in
                 out(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + outf,
                      exe, "count", str(n)]).splitlines())
    text = out(["callgrind_annotate", "--inclusive=yes", "--threshold=100", outf])
    ir = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?\S*?\b(loop|ev|many)_(\w+?)(?:'\d+)?\s", line + " ")
        if m:
            k = f"{m.group(2)}_{m.group(3)}"
            if k in calls:
                ir[k] = int(m.group(1).replace(",", "")) / calls[k]
    return ir


def sizes(exe):
    """Bytes of each function symbol, hot part and .cold part apart."""
    sz = {}
    for line in out(["nm", "-S", "--defined-only", exe]).splitlines():
        f = line.split()
        if len(f) == 4 and f[2] in "tT":
            sz[f[3]] = int(f[1], 16)
    return sz


def measure(ctx):
    res = {"compilers": {}, "shapes": {k: v[0] for k, v in SHAPES.items()},
           "variants": [v[0] for v in VARIANTS]}
    many = 16 if ctx.smoke else 8192
    n = 1000 if ctx.smoke else 20000
    # short rounds, many of them: a round that a neighbour's job preempts is an outlier
    tn, rounds = (2000, 3) if ctx.smoke else (200_000, 101)
    d = ctx.path("hotpath", "x")[:-2]
    open(d + "/hot.c", "w").write(gen_hot(many))
    open(d + "/slow.c", "w").write(SLOW)
    open(d + "/main.c", "w").write(gen_main(many))
    for cc in compilers():
        ctx.log(f"hot path: {cc}")
        exe = f"{d}/hot-{cc}"
        objs = []
        for src in ("hot", "slow", "main"):
            o = f"{d}/{src}-{cc}.o"
            # gcc refuses SSE in a no_caller_saved_registers function
            extra = ["-mgeneral-regs-only"] if src == "slow" else []
            run([cc, *ctx.cflags, *extra, "-I", INCLUDE, "-c", f"{d}/{src}.c", "-o", o])
            objs.append(o)
        run([cc, *objs, "-o", exe + ".unsealed", "-L", ctx.libdir, "-lskeys",
             "-Wl,-rpath," + ctx.libdir])
        run([ctx.seal, exe + ".unsealed", "-o", exe])
        r = {"version": version(cc)}
        if have("valgrind") and have("callgrind_annotate"):
            ir = callgrind(ctx, exe, n)
            r["ir"] = {k[5:]: v for k, v in ir.items() if k.startswith("loop_")}
            r["many_ir"] = {k[5:]: v for k, v in ir.items() if k.startswith("many_")}
        cyc = {}
        for line in out([exe, "time", str(tn), str(rounds)]).splitlines():
            name, *ts = line.split()
            m, s = spread([int(t) / 1000 for t in ts])
            cyc[name] = {"median": m, "spread": s}
        r["cycles"] = cyc
        sz = sizes(f"{d}/hot-{cc}")
        r["fn_bytes"] = {f"{s}_{v}": sz.get(fn_name(s, v), 0) for s in SHAPES for v, _, _ in VARIANTS}
        r["many_bytes"] = {}
        for var in MANY:
            hot = sum(sz.get(f"m_{var}_{i}", 0) for i in range(many)) / many
            cold = sum(sz.get(f"m_{var}_{i}.cold", 0) for i in range(many)) / many
            r["many_bytes"][var] = {"hot": hot, "cold": cold}
        res["compilers"][cc] = r
    res["many"] = many
    res["iters"] = {"callgrind": n, "cycles": tn, "rounds": rounds}
    return res
