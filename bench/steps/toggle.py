# SPDX-License-Identifier: MIT
"""Toggle: latency and syscalls of enable + disable for a key with N sites.

dense: the sites are in consecutive small functions (a few touching pages,
one run). spread: every site's function on its own 8 KiB boundary, so no two
sites share or touch a page (one run per site). Syscalls are counted with
strace -c (toggling run minus a run that does not toggle); latency is timed
in the process with clock_gettime, per enable + disable pair.

The threaded variant keeps T threads calling through every site while the
main thread toggles. It is labelled by whether the runtime has a cross-thread
patching protocol: without one, a thread may execute a half-written site.
"""
import json
import os
import subprocess

from common import C_TIMING, SRC, callgrind_total, have, out, run, spread, strace_counts

MAIN = C_TIMING + r"""
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#define NFNS (sizeof(fns) / sizeof(fns[0]))
static atomic_int stop, started;
static atomic_long calls;
/* CPU time of this thread: what the switch cost, without the time it waited for a core */
static long long cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}
static long faults(void)
{
	struct rusage u;
	getrusage(RUSAGE_SELF, &u);
	return u.ru_minflt + u.ru_majflt;
}
static void *spin(void *arg)
{
	long n = 0, s = 0;
	(void)arg;
	atomic_fetch_add(&started, 1);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (unsigned i = 0; i < NFNS; i++) s += fns[i](1);
		n += NFNS;
	}
	atomic_fetch_add(&calls, n + (s == 42));
	return NULL;
}
int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "none";
	int reps = argc > 2 ? atoi(argv[2]) : 1, nthreads = argc > 3 ? atoi(argv[3]) : 0;
	/* time REPS THREADS: REPS timed pairs; toggle|idle 1 THREADS: one pair or none */
	pthread_t th[64];
	long long *t = calloc((size_t)reps, sizeof(*t)), *tc = calloc((size_t)reps, sizeof(*tc));
	int s = 0;
	if (!strcmp(mode, "none")) {
		for (unsigned i = 0; i < NFNS; i++) s += fns[i](1);
		return s == (int)NFNS ? 0 : 2;
	}
	for (int i = 0; i < nthreads && i < 64; i++) pthread_create(&th[i], NULL, spin, NULL);
	while (atomic_load(&started) < nthreads) ;
	if (!strcmp(mode, "toggle") || !strcmp(mode, "idle")) { /* one pair, for strace */
		int err = !strcmp(mode, "toggle") && (skeys_enable(&k) || skeys_disable(&k));
		atomic_store(&stop, 1);
		for (int i = 0; i < nthreads && i < 64; i++) pthread_join(th[i], NULL);
		return err;
	}
	long f_first = 0, f_last = 0; /* page faults in the first pair and in the last one */
	for (int r = 0; r < reps; r++) {
		long f0 = faults();
		long long c0 = cpu_now(), t0 = now();
		if (skeys_enable(&k) || skeys_disable(&k)) return 1;
		t[r] = now() - t0;
		tc[r] = cpu_now() - c0;
		if (r == 0) f_first = faults() - f0;
		if (r == reps - 1) f_last = faults() - f0;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < nthreads && i < 64; i++) pthread_join(th[i], NULL);
	long long first = t[0]; /* the first pair after start-up */
	qsort(t, (size_t)reps, sizeof(*t), cmp_ll);
	for (int r = 0; r < reps; r++) printf("%lld ", t[r]);
	printf("\n%ld\n%lld\n%ld %ld %lld\n", atomic_load(&calls), first, f_first, f_last, tc[0]);
	qsort(tc, (size_t)reps, sizeof(*tc), cmp_ll);
	for (int r = 0; r < reps; r++) printf("%lld ", tc[r]);
	printf("\n");
	return 0;
}
"""


SITES_S = os.path.join(SRC, "bench", "src", "toggle_sites.S")


def asm_program(n):
    """The C half of a program whose n sites bench/src/toggle_sites.S writes."""
    return "\n".join([
        "#include <skeys.h>", "SKEYS_DEFINE_FALSE(k);", "typedef int (*fn)(int);",
        "extern char toggle_sites[];", f"static fn fns[{n}];",
        "__attribute__((constructor)) static void fns_init(void)",
        f"{{ for (unsigned i = 0; i < {n}; i++) fns[i] = (fn)(void *)(toggle_sites + 16 * i); }}",
    ]) + MAIN


# What touching a page for the first time costs here (a fresh anonymous
# page: the kernel allocates and zeroes it), median of 21 rounds of 64 pages.
FRESH = C_TIMING + r"""
#include <sys/mman.h>
#include <unistd.h>
int main(void)
{
	long long t[21];
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = 64;
	for (int r = 0; r < 21; r++) {
		volatile char *p = mmap(NULL, n * pg, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) return 1;
		long long t0 = now();
		for (size_t i = 0; i < n; i++) p[i * pg] = 1;
		t[r] = now() - t0;
		munmap((void *)p, n * pg);
	}
	qsort(t, 21, sizeof(*t), cmp_ll);
	printf("%.3f\n", t[10] / 1000.0 / (double)n);
	return 0;
}
"""


# What the kernel's private copy of a code page costs here, the first time a
# direct write reaches the page (copy-on-write of a file-backed private
# mapping): the first pwrite of 16 pages of a file of the build (skeys-seal),
# mapped read-only and executable, against a later pwrite of the same bytes, per
# page; median of 21 rounds (each a fresh mapping).
COW = C_TIMING + r"""
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	long long d[21];
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = 16, len = n * pg;
	int f = open(argv[1], O_RDONLY), m = open("/proc/self/mem", O_RDWR);
	char *buf = malloc(len);
	if (f < 0 || m < 0 || !buf || lseek(f, 0, SEEK_END) < (off_t)len) return 1;
	for (int r = 0; r < 21; r++) {
		char *p = mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_PRIVATE, f, 0);
		if (p == MAP_FAILED) return 1;
		memcpy(buf, p, len); /* every page mapped and read: only the write is left */
		long long t0 = now();
		if (pwrite(m, buf, len, (off_t)(uintptr_t)p) != (ssize_t)len) return 1;
		long long t1 = now();
		if (pwrite(m, buf, len, (off_t)(uintptr_t)p) != (ssize_t)len) return 1;
		d[r] = (t1 - t0) - (now() - t1);
		munmap(p, len);
	}
	qsort(d, 21, sizeof(*d), cmp_ll);
	printf("%.3f\n", d[10] / 1000.0 / (double)n);
	return 0;
}
"""


def cow_page_us(ctx):
    c = ctx.path("toggle", "cow.c")
    open(c, "w").write(COW)
    run(["cc", "-O2", c, "-o", c[:-2]])
    try:
        return float(out([c[:-2], ctx.seal]))
    except subprocess.CalledProcessError:
        return None


def site_pages(dump_json, page=4096):
    """Pages that hold a site's bytes: each one the kernel copies at the first write."""
    pages = set()
    for s in dump_json["sites"]:
        a = int(s["address"], 16)
        pages.update((a // page, (a + 4) // page))
    return len(pages)


def fresh_page_us(ctx):
    c = ctx.path("toggle", "fresh.c")
    open(c, "w").write(FRESH)
    run(["cc", "-O2", c, "-o", c[:-2]])
    return float(out([c[:-2]]))


def program(n, spread_):
    align = "__attribute__((noinline, aligned(8192)))" if spread_ else "__attribute__((noinline))"
    L = ["#include <skeys.h>", "SKEYS_DEFINE_FALSE(k);", "typedef int (*fn)(int);"]
    for i in range(n):
        L.append(f"{align} static int f{i}(int x) {{ if (skeys_branch_unlikely(&k)) "
                 f"return x + {i} + 1; return x; }}")
    L.append("static fn fns[] = {" + ",".join(f"f{i}" for i in range(n)) + "};")
    return "\n".join(L) + MAIN


SYSCALLS = "mprotect,pwrite64,membarrier,tgkill,rt_sigaction"


def count(exe, toggle, method, threads=0):
    env = dict(os.environ, SKEYS_WRITE=method)
    return strace_counts([exe, "toggle" if toggle else "idle", "1", str(threads)], env=env,
                         trace=SYSCALLS)


def count_pair(exe, method, threads=0):
    """Syscalls of one pair from start-up: a toggling run less one that does not toggle."""
    a, b = count(exe, True, method, threads), count(exe, False, method, threads)
    return {k: a.get(k, 0) - b.get(k, 0) for k in set(a) | set(b) if a.get(k, 0) != b.get(k, 0)}


def page_runs(dump_json, page=4096):
    runs, last = 0, None
    for a in sorted(int(s["address"], 16) for s in dump_json["sites"]):
        if last is None or a // page > last + 1:
            runs += 1
        last = (a + 4) // page
    return runs


def cross_thread_protocol():
    """Does this runtime synchronise other threads when it patches?"""
    text = ""
    for root, _, files in os.walk(os.path.join(SRC, "runtime")):
        for f in files:
            if f.endswith(".c"):
                text += open(os.path.join(root, f)).read()
    return "MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE" in text


def latency(exe, method, reps, threads=0):
    env = dict(os.environ, SKEYS_WRITE=method)
    try:
        p = subprocess.run([exe, "time", str(reps), str(threads)], env=env, capture_output=True,
                           text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return {"failed": "timeout"}
    if p.returncode:
        return {"failed": p.returncode}
    lines = p.stdout.split("\n")
    ts = [int(x) / 1000 for x in lines[0].split()]  # microseconds
    m, s = spread(ts)
    f_first, f_last, c_first = (int(x) for x in lines[3].split())
    cm, cs = spread([int(x) / 1000 for x in lines[4].split()])
    return {"median_us": m, "spread": s, "min_us": ts[0], "max_us": ts[-1],
            "calls": int(lines[1]), "first_us": int(lines[2]) / 1000,
            "first_faults": f_first, "later_faults": f_last, "cpu_median_us": cm, "cpu_spread": cs,
            "cpu_first_us": c_first / 1000}


def measure(ctx):
    # C programs up to 10,000 functions (100,000 would take gcc and gas over
    # 15 minutes here); the assembler writes the large sizes below
    sizes = [1, 10] if ctx.smoke else [1, 10, 100, 1000, 10000]
    threads = 1  # one spinning thread beside the toggler: the machine has 2 cores
    res = {"rows": [], "threads": threads, "protocol": cross_thread_protocol(),
           "strace": have("strace"), "fresh_page_us": fresh_page_us(ctx),
           "cow_page_us": cow_page_us(ctx)}
    for n in sizes:
        for sp in (False, True):
            if sp and n > 1000:
                continue
            ctx.log(f"toggle: {n} sites, {'spread' if sp else 'dense'}")
            c = ctx.path("toggle", f"p{n}{'s' if sp else 'd'}.c")
            exe = c[:-2]
            open(c, "w").write(program(n, sp))
            run(["cc", *ctx.cflags, "-I", os.path.join(SRC, "include"), c, "-o", exe + ".u",
                 "-L", ctx.libdir, "-lskeys", "-lpthread", "-Wl,-rpath," + ctx.libdir])
            run([ctx.seal, exe + ".u", "-o", exe])
            dump = json.loads(out([ctx.dump, "--json", exe]))
            reps = 5 if ctx.smoke else max(20, min(400, 40000 // n))
            row = {"sites": n, "layout": "spread" if sp else "dense", "runs": page_runs(dump),
                   "pages": site_pages(dump), "reps": reps}
            for method, call in (("procmem", "pwrite64"), ("mprotect", "mprotect")):
                if res["strace"]:
                    d = count(exe, True, method).get(call, 0) - count(exe, False, method).get(call, 0)
                    row[f"{method}_syscalls"] = d
                    if res["protocol"] or not ctx.smoke:
                        row[f"{method}_syscalls_threads"] = count_pair(exe, method, threads)
                row[f"{method}_lat"] = latency(exe, method, reps)
                if res["protocol"] or not ctx.smoke:  # the test suite runs nothing unsafe
                    row[f"{method}_lat_threads"] = latency(exe, method, reps, threads)
            res["rows"].append(row)
    # Large sizes: the sites written by the assembler (a C file of 100,000
    # functions is too slow to build), 16 bytes apart, one page run; the same
    # generator at every size, so time per site compares across sizes.
    res["scale"] = []
    for n in ([10, 100] if ctx.smoke else [1000, 10000, 100000]):
        ctx.log(f"toggle: {n} sites written by the assembler")
        d = os.path.dirname(ctx.path("toggle", f"asm{n}", "x"))
        open(d + "/main.c", "w").write(asm_program(n))
        run(["cc", "-c", f"-DSITES={n}", SITES_S, "-o", d + "/sites.o"])
        run(["cc", *ctx.cflags, "-I", os.path.join(SRC, "include"), d + "/main.c", d + "/sites.o",
             "-o", d + "/t.u", "-L", ctx.libdir, "-lskeys", "-lpthread",
             "-Wl,-rpath," + ctx.libdir])
        exe = d + "/t"
        run([ctx.seal, exe + ".u", "-o", exe])
        reps = 5 if ctx.smoke else max(20, min(400, 40000 // n))
        dump = json.loads(out([ctx.dump, "--json", exe]))
        row = {"sites": n, "runs": page_runs(dump), "pages": site_pages(dump), "reps": reps}
        for method in ("procmem", "mprotect"):
            row[f"{method}_lat"] = latency(exe, method, reps)
        if have("valgrind") and have("callgrind_annotate"):
            row["ir"] = (callgrind_total([exe, "time", "11", "0"])
                         - callgrind_total([exe, "time", "1", "0"])) / 10
        res["scale"].append(row)
    # Threads running through the sites while the main thread toggles: 1 and
    # 1,000 sites, 0, 1, 3 and 8 threads (more threads than the 2 cores here).
    if res["protocol"]:
        res["scaling"] = []
        for n in ([1] if ctx.smoke else [1, 1000]):
            exe = ctx.path("toggle", f"p{n}d")
            reps = 5 if ctx.smoke else max(20, min(200, 40000 // n))
            for t in ([0, 1] if ctx.smoke else [0, 1, 3, 8]):
                ctx.log(f"toggle: {n} sites, {t} threads")
                row = {"sites": n, "threads": t, "reps": reps,
                       "procmem": latency(exe, "procmem", reps, t),
                       "mprotect": latency(exe, "mprotect", reps, t)}
                if res["strace"] and t:
                    row["procmem_syscalls"] = count_pair(exe, "procmem", t)
                res["scaling"].append(row)
    return res
