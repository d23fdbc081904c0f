# SPDX-License-Identifier: MIT
"""The tool: skeys-seal's time and peak memory on generated binaries of 1k to
1M sites, against objcopy copying the same binary, run alternately.

The binaries are tests/tool/many_sites.S (written by the assembler, two keys
with interleaved entries, so sealing reorders the whole table) with
bench/src/startup.c as main; the start-up step uses the same binaries.
"""
import os
import re
import tempfile

from common import INCLUDE, SRC, callgrind_profile, have, med, run, timed

SITES_S = os.path.join(SRC, "tests", "tool", "many_sites.S")
STARTUP_C = os.path.join(SRC, "bench", "src", "startup.c")


def sizes(ctx):
    return [1000, 10000] if ctx.smoke else [1000, 10000, 100000, 1000000]


def many_binaries(ctx, n):
    """{unsealed, sealed, devsort}: the same code linked with the runtime and
    with the development runtime that sorts at start-up (left unsealed)."""
    d = ctx.path("many", f"{n}", "x")[:-2]
    paths = {k: f"{d}/{k}" for k in ("unsealed", "sealed", "devsort")}
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    ctx.log(f"building the {n}-site binaries")
    run(["cc", "-c", f"-DMANY_PAIRS={n // 2}", SITES_S, "-o", f"{d}/sites.o"])
    run(["cc", *ctx.cflags, "-Wno-prio-ctor-dtor", "-I", INCLUDE, "-c", STARTUP_C,
         "-o", f"{d}/main.o"])
    for name, lib in (("unsealed", ctx.static_lib), ("devsort", ctx.devsort_lib)):
        run(["cc", f"{d}/main.o", f"{d}/sites.o", lib, "-lpthread", "-o", paths[name]])
    run([ctx.seal, paths["unsealed"], "-o", paths["sealed"]])
    return paths


def fsync_ms(ctx, src, dst, reps):
    """Milliseconds skeys-seal spends in fsync (the file's, then the
    directory's), from strace -T over the run: median over `reps` runs. Only
    fsync is traced, so strace costs the rest of the run nothing."""
    times = []
    for _ in range(reps):
        if os.path.exists(dst):
            os.unlink(dst)
        with tempfile.NamedTemporaryFile("r", suffix=".strace") as o:
            run(["strace", "-T", "-e", "trace=fsync,fdatasync", "-o", o.name, ctx.seal, src,
                 "-o", dst], capture_output=True)
            times.append(sum(float(t) for t in re.findall(r"<([\d.]+)>", o.read())) * 1e3)
    return med(times)


def measure(ctx):
    reps = 2 if ctx.smoke else 5
    res = {"rows": [], "objcopy": have("objcopy"), "reps": reps}
    for n in sizes(ctx):
        b = many_binaries(ctx, n)
        ctx.log(f"tool: {n} sites")
        seal_t, seal_m, cp_t, cp_m = [], [], [], []
        dst = b["unsealed"] + ".out"
        for _ in range(reps if n < 1000000 else max(2, reps - 2)):
            if os.path.exists(dst):
                os.unlink(dst)
            t, m = timed([ctx.seal, b["unsealed"], "-o", dst])
            seal_t.append(t)
            seal_m.append(m)
            if res["objcopy"]:
                t, m = timed(["objcopy", b["unsealed"], dst + ".objcopy"])
                cp_t.append(t)
                cp_m.append(m)
        row = {"sites": n, "bytes": os.path.getsize(b["unsealed"]),
               "seal_s": med(seal_t), "seal_min": min(seal_t), "seal_max": max(seal_t),
               "seal_kib": max(seal_m) if seal_m[0] else None}
        if cp_t:
            row.update(objcopy_s=med(cp_t), objcopy_min=min(cp_t), objcopy_max=max(cp_t),
                       objcopy_kib=max(cp_m) if cp_m[0] else None, ratio=med(seal_t) / med(cp_t))
        if have("strace"):
            row["fsync_ms"] = fsync_ms(ctx, b["unsealed"], dst, reps)
        res["rows"].append(row)
    # where the instructions go, at the size the target is set for
    n = sizes(ctx)[-1] if ctx.smoke else 100000
    if have("valgrind") and have("callgrind_annotate"):
        b = many_binaries(ctx, n)
        ctx.log(f"tool: callgrind at {n} sites")
        total, top = callgrind_profile([ctx.seal, b["unsealed"], "-o", b["unsealed"] + ".cg-out"],
                                       b["unsealed"] + ".seal.callgrind")
        prof = {"sites": n, "seal_ir": total, "seal_top": top}
        if res["objcopy"]:
            prof["objcopy_ir"], _ = callgrind_profile(
                ["objcopy", b["unsealed"], b["unsealed"] + ".cg-objcopy"],
                b["unsealed"] + ".objcopy.callgrind", top=0)
        res["profile"] = prof
    return res
