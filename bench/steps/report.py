# SPDX-License-Identifier: MIT
"""Writes benchmarks.md, its PNG plots (gnuplot) and the README's headline
block from one run's results. Every figure in them comes from `res`."""
import os
import re
import subprocess

import calls
from common import have

HEAD_START = "<!-- bench:headline:start (written by bench/run) -->"
HEAD_END = "<!-- bench:headline:end -->"
HOT_VARS = ["site", "bool", "atomic", "fnptr", "site_on", "bool_on"]
VAR_TITLE = {"none": "no branch", "site": "site (off)", "bool": "bool", "atomic": "relaxed atomic",
             "fnptr": "fn pointer", "site_on": "site (on)", "bool_on": "bool (true)"}


def f1(x):
    return f"{x:.1f}"


def us(x):
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def human_us(x):
    return f"{x / 1000:.1f} ms" if x >= 1000 else f"{us(x)} µs"


def pm(d):
    """median ± half range, in percent of the median"""
    return f"{d['median']:.2f} ±{100 * d['spread']:.0f}%"


def gnuplot(script, where):
    if not have("gnuplot"):
        return False
    subprocess.run(["gnuplot"], input=script, text=True, cwd=where, check=True)
    return True


# ---- hot path -----------------------------------------------------------------

def hot_delta(c, shape, var):
    return c["ir"][f"{shape}_{var}"] - c["ir"][f"{shape}_none"]


def zero_cost(hp):
    """{shape: [compilers where a disabled site costs exactly one instruction]}"""
    z = {}
    for s in hp["shapes"]:
        z[s] = [cc for cc, c in hp["compilers"].items()
                if "ir" in c and round(hot_delta(c, s, "site")) == 1]
    return z


def hotpath_md(hp, L, plots):
    it = hp["iters"]
    L += ["## 1. Hot path", "",
          "Each measured function computes `x * 3 + 1` and has one of the conditions below in "
          "front of a slow path; it is called in a loop from another translation unit (the slow "
          "paths are in a third), so no compiler sees through the call. Variants: a disabled "
          "`skeys_branch_unlikely` site, the same site with its key enabled, a plain global "
          "`bool` (false, and true), a relaxed `atomic_load_explicit` of an `_Atomic bool`, an "
          "indirect call through a function pointer to an empty hook (the ops-table pattern), "
          "and no branch at all (the condition is the constant 0). Shapes of the slow path:", ""]
    for s, desc in hp["shapes"].items():
        L.append(f"- `{s}`: {desc}")
    grind = any("ir" in c for c in hp["compilers"].values())
    L += ["", "### Instructions per call, over no branch at all (callgrind)", ""]
    if not grind:
        L += ["valgrind was not installed: no instruction counts."]
    else:
        L += [f"Inclusive instructions of each loop divided by its calls ({it['callgrind']}), "
              "minus the same for the no-branch function. Deterministic: the same on every "
              "machine with these compilers.", ""]
        L.append("| compiler | shape | no branch (abs.) | "
                 + " | ".join(VAR_TITLE[v] for v in HOT_VARS) + " |")
        L.append("|---|---|---|" + "---|" * len(HOT_VARS))
        for cc, c in hp["compilers"].items():
            for s in hp["shapes"]:
                cells = [f"+{hot_delta(c, s, v):.0f}" for v in HOT_VARS]
                cells[0] = f"**{cells[0]}**"
                L.append(f"| {cc} | {s} | {c['ir'][f'{s}_none']:.0f} | " + " | ".join(cells) + " |")
    L += ["", "### Cycles per call (rdtsc)", "",
          f"Reference cycles (TSC ticks) per call: median of {it['rounds']} rounds of "
          f"{it['cycles']} calls, ± half the interquartile range (in % of the median); rounds interleave all variants so "
          "that other load on the machine hits them alike. The loop's own cost is included.", ""]
    L.append("| compiler | shape | no branch | " + " | ".join(VAR_TITLE[v] for v in HOT_VARS) + " |")
    L.append("|---|---|---|" + "---|" * len(HOT_VARS))
    for cc, c in hp["compilers"].items():
        for s in hp["shapes"]:
            cy = c["cycles"]
            L.append(f"| {cc} | {s} | {pm(cy[f'loop_{s}_none'])} | "
                     + " | ".join(pm(cy[f"loop_{s}_{v}"]) for v in HOT_VARS) + " |")
    warm = [abs(c["cycles"][f"loop_{s}_{v}"]["median"] / c["cycles"][f"loop_{s}_none"]["median"] - 1)
            for c in hp["compilers"].values() for s in hp["shapes"] for v in ("site", "bool", "atomic")]
    L += ["", "Warm, in a loop that does nothing else, every variant without an indirect call "
          "runs at the rate of the call and return: the extra instructions of a site, a `bool` "
          f"or an atomic load execute in parallel (median {100 * sorted(warm)[len(warm) // 2]:.0f} %, "
          f"at most {100 * max(warm):.0f} % from no branch). The differences show in instruction "
          "counts and code size, in the indirect call, and as soon as the flag is not in the "
          "cache:"]
    L += ["", "### The flag's cache line evicted before each call", "",
          "Shape `cold`: `clflush` of the flag (for the site: of the key, which the code never "
          "reads; for the function pointer: of the pointer) and `mfence` before every call. "
          "Every variant pays the flush; the difference to *no branch* is the miss.", ""]
    ev = ["none", "site", "bool", "atomic", "fnptr"]
    L.append("| compiler | " + " | ".join(VAR_TITLE[v] for v in ev) + " |")
    L.append("|---|" + "---|" * len(ev))
    for cc, c in hp["compilers"].items():
        L.append(f"| {cc} | " + " | ".join(pm(c["cycles"][f"ev_cold_{v}"]) for v in ev) + " |")
    L += ["", f"### Many distinct sites ({hp['many']} functions per variant)", "",
          f"{hp['many']} distinct functions of shape `cold` (each with its own site, or its own "
          "test of the same `bool`, or no branch), called in turn through a table of function "
          "pointers: together they exceed the L1 instruction cache. Bytes are the size of each "
          "function's hot part (its symbol), padding excluded.", ""]
    L.append("| compiler | variant | cycles per call | instructions per call | bytes per function |")
    L.append("|---|---|---|---|---|")
    for cc, c in hp["compilers"].items():
        for v in ("none", "site", "bool"):
            ir = f"{c['many_ir'][v]:.1f}" if "many_ir" in c else "-"
            mb = c["many_bytes"][v]
            b = f"{mb['hot']:.1f}" + (f" (+{mb['cold']:.1f} cold)" if mb["cold"] else "")
            L.append(f"| {cc} | {VAR_TITLE[v]} | {pm(c['cycles'][f'many_{v}'])} | {ir} | {b} |")
    if plots:
        L += ["", "![hot path cycles](bench/hotpath.png)"]
    L.append("")


def hotpath_plot(hp, where):
    rows = ["none", "site", "bool", "atomic", "fnptr"]
    ccs = list(hp["compilers"])
    with open(os.path.join(where, "hotpath.dat"), "w") as f:
        for v in rows:
            cells = []
            for cc in ccs:
                cy = hp["compilers"][cc]["cycles"]
                cells += [f"{cy[f'loop_cold_{v}']['median']:.3f}", f"{cy[f'ev_cold_{v}']['median']:.3f}"]
            f.write(f'"{VAR_TITLE[v]}" ' + " ".join(cells) + "\n")
    cols = ", ".join(
        f"'' using {2 + 2 * i}{':xtic(1)' if i == 0 else ''} title '{cc}, warm', "
        f"'' using {3 + 2 * i} title '{cc}, flag evicted'" for i, cc in enumerate(ccs))
    return gnuplot(f"""set terminal pngcairo size 900,480 font ',10'
set output 'hotpath.png'
set title 'Hot path, shape cold: reference cycles per call (log scale)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set ylabel 'TSC cycles per call'
set key outside right
plot 'hotpath.dat' {cols[3:]}
""", where)


def zero_cost_plot(hp, where):
    ccs = [cc for cc, c in hp["compilers"].items() if "ir" in c]
    if not ccs:
        return False
    with open(os.path.join(where, "sites.dat"), "w") as f:
        for s in hp["shapes"]:
            f.write(f'"{s}" ' + " ".join(f"{hot_delta(hp['compilers'][cc], s, v):.0f}"
                                         for cc in ccs for v in ("site", "bool")) + "\n")
    cols = ", ".join(f"'' using {2 + 2 * i}{':xtic(1)' if i == 0 else ''} title '{cc}, site', "
                     f"'' using {3 + 2 * i} title '{cc}, bool'" for i, cc in enumerate(ccs))
    return gnuplot(f"""set terminal pngcairo size 900,420 font ',10'
set output 'sites.png'
set title 'Instructions a disabled site (and a bool test) adds per call, by slow-path shape'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set yrange [0:*]
set offsets 0,0,1,0
set ytics 1
set grid ytics
set ylabel 'instructions over no branch (callgrind)'
set key outside right
plot 'sites.dat' {cols[3:]}
""", where)


def zero_cost_md(hp, L, plot):
    if not any("ir" in c for c in hp["compilers"].values()):
        return
    z = zero_cost(hp)
    ccs = [cc for cc, c in hp["compilers"].items() if "ir" in c]
    L += ["## Writing zero-cost sites", "",
          "A disabled site is one 5-byte nop. Whether the function around it costs more than "
          "the same function without the branch depends on what the slow path needs: if it "
          "needs a callee-saved register (a value live across a call), the compiler may keep "
          "its push and pop on the fast path too, around the nop; the table shows where each "
          "compiler measured did. Instructions a disabled site adds per call "
          "(callgrind, from the table above; +1 is the nop alone):", ""]
    L.append("| shape | " + " | ".join(ccs) + " |")
    L.append("|---|" + "---|" * len(ccs))
    for s in hp["shapes"]:
        L.append(f"| {s} | " + " | ".join(
            f"+{hot_delta(hp['compilers'][cc], s, 'site'):.0f}" for cc in ccs) + " |")
    exact = [s for s in hp["shapes"] if len(z[s]) == len(ccs)]
    some = {s: z[s] for s in hp["shapes"] if z[s] and len(z[s]) < len(ccs)}
    L += ["", "Exactly one nop with every compiler measured: "
          + (", ".join(f"`{s}`" for s in exact) or "no shape") + "."
          + ("".join(f" `{s}`: only with {', '.join(v)}." for s, v in some.items())), "",
          "`cold` and `tail` call the same cold function; the difference is that in `cold` "
          "`x` is still needed after the call, so it must survive in a callee-saved register, "
          "and the compiler saves that register in the prologue, on the fast path too.", "",
          "So:", "",
          "- End the slow path in a tail call: `if (skeys_branch_unlikely(&k)) return "
          "slow(x);`, or move the rest of the function into the slow function, so that nothing "
          "of the fast path is live across the call.",
          "- Inline slow work that needs no call (counters, a flag) costs just the nop.",
          "- A slow call with values live after it (`cold`, `used`) costs the register save and "
          "restore on the fast path (the table): still fewer instructions than testing a "
          "`bool`, and no load, so nothing to miss in the cache (see the evicted table).",
          "- With clang 19, declaring the slow function "
          "`__attribute__((no_caller_saved_registers))` (x86; compile that function with "
          "`-mgeneral-regs-only`) lets the compiler keep everything in registers across the "
          "call, see shape `ncsr`; gcc 12 and clang 14 gain little or nothing from it.",
          "- Keep the slow function out of line (`noinline`, `cold`, as in every shape here "
          "but `inline`), so that its code stays away from the hot path."]
    if "coldattr" in hp["shapes"]:
        L.append("- Put `__attribute__((cold))` on the slow function's *declaration*, the one "
                 "the site's file sees (shape `coldattr`; in `cold` only its definition, in "
                 "another file, says so): a disabled site then costs "
                 + ", ".join(f"+{hot_delta(hp['compilers'][cc], 'coldattr', 'site'):.0f} with {cc}"
                             for cc in ccs)
                 + ", against "
                 + ", ".join(f"+{hot_delta(hp['compilers'][cc], 'cold', 'site'):.0f}"
                             for cc in ccs)
                 + " for `cold` (where it is +1, the compiler moved the register save "
                 "into the slow path).")
    L.append("")
    if plot:
        L += ["![instructions per site and shape](bench/sites.png)", ""]


# ---- toggle -------------------------------------------------------------------

def toggle_md(tg, L, plots):
    L += ["## 2. Toggle", "",
          "One key with N sites; one `skeys_enable` + `skeys_disable` pair. *dense*: the sites "
          "are in consecutive small functions (a few touching pages: one run). *spread*: each "
          "function is aligned to 8 KiB, so every site is its own page run. Syscalls: `strace "
          "-c` of a toggling run minus a run that does not toggle, for the pair (so one toggle "
          "is half). Latency: `clock_gettime` around each pair in the process, median of all "
          "pairs, ± half the interquartile range.", ""]
    L.append("| sites | layout | page runs | pwrite64 (procmem) | mprotect (mprotect) | "
             "µs per pair, procmem | µs per pair, mprotect |")
    L.append("|---|---|---|---|---|---|---|")
    for r in tg["rows"]:
        def lat(k):
            d = r[k]
            return "failed" if "failed" in d else f"{us(d['median_us'])} ±{100 * d['spread']:.0f}%"
        sc = [str(r.get(f"{m}_syscalls", "-")) for m in ("procmem", "mprotect")]
        L.append(f"| {r['sites']} | {r['layout']} | {r['runs']} | {sc[0]} | {sc[1]} | "
                 f"{lat('procmem_lat')} | {lat('mprotect_lat')} |")
    dense = [r for r in tg["rows"] if r["layout"] == "dense" and "failed" not in r["procmem_lat"]
             and "failed" not in r["mprotect_lat"]]
    cross = next((r for r in dense if r["mprotect_lat"]["median_us"] < r["procmem_lat"]["median_us"]), None)
    if cross:
        L += ["", f"From {cross['sites']} dense sites on, `mprotect` beats `/proc/self/mem`: the "
              "procmem writer copies the whole run (the bytes between the sites too) into a fresh "
              "buffer and through the kernel, the mprotect writer stores only the sites. "
              f"At {dense[-1]['sites']} sites in one run: {human_us(dense[-1]['procmem_lat']['median_us'])} "
              f"against {human_us(dense[-1]['mprotect_lat']['median_us'])}."]
    if tg.get("scale"):
        scale_md(tg["scale"], L, plots)
    first_md(tg, L)
    label = ("the runtime synchronises other threads while it patches" if tg["protocol"] else
             "**NOT SAFE in this runtime**: it has no cross-thread patching protocol yet, "
             "so a running thread may execute a half-written site. The figures show what a "
             "toggle costs with a thread on the other core, not that it works; a crash is "
             "recorded as *failed*")
    L += ["", f"With {tg['threads']} thread calling through every site of the key in a loop "
          f"while the main thread toggles ({label}):", ""]
    L.append("| sites | layout | µs per pair, procmem | µs per pair, mprotect | calls the thread made "
             "| syscalls per pair, procmem | syscalls per pair, mprotect |")
    L.append("|---|---|---|---|---|---|---|")
    for r in tg["rows"]:
        if "procmem_lat_threads" not in r:
            continue
        sc = []
        for m in ("procmem", "mprotect"):
            d = r.get(f"{m}_syscalls_threads")
            sc.append("-" if d is None else ", ".join(f"{v} {k}" for k, v in sorted(d.items())) or "0")
        cells = []
        for k in ("procmem_lat_threads", "mprotect_lat_threads"):
            d = r[k]
            cells.append("failed" if "failed" in d else f"{us(d['median_us'])} ±{100 * d['spread']:.0f}%")
        calls = r["procmem_lat_threads"].get("calls", "-")
        L.append(f"| {r['sites']} | {r['layout']} | {cells[0]} | {cells[1]} | {calls} | {sc[0]} | {sc[1]} |")
    worst = {}
    for m in ("procmem", "mprotect"):
        rs = [(r[f"{m}_lat_threads"]["median_us"] / r[f"{m}_lat"]["median_us"], r) for r in tg["rows"]
              if "failed" not in r.get(f"{m}_lat_threads", {"failed": 1}) and "failed" not in r[f"{m}_lat"]]
        if rs:
            worst[m] = max(rs, key=lambda x: x[0])
    if len(worst) == 2:
        (pr, prr), (mr, mrr) = worst["procmem"], worst["mprotect"]
        why = ("the runtime runs its cross-thread protocol once another thread exists: "
               "more writes per page run and core synchronisations per toggle (the syscall "
               "columns)" if tg["protocol"] else
               "each protection change of a page that another core may have in its TLB can "
               "mean a shoot-down; procmem changes no protection")
        L += ["", f"The running thread costs the toggler up to {pr:.1f}x through `/proc/self/mem` "
              f"({prr['sites']} {prr['layout']}) and up to {mr:.1f}x through `mprotect` "
              f"({mrr['sites']} {mrr['layout']}): {why}. "
              "Figures with a neighbour on the machine vary from run to run."]
    if tg.get("scaling"):
        L += ["", "Toggle latency (enable + disable) against the number of threads running "
              "through the key's sites, on this 2-core machine:", "",
              "| sites | threads | µs per pair, procmem | µs per pair, mprotect | "
              "syscalls of one pair, procmem |", "|---|---|---|---|---|"]
        for r in tg["scaling"]:
            cells = ["failed" if "failed" in r[m] else f"{us(r[m]['median_us'])} ±{100 * r[m]['spread']:.0f}%"
                     for m in ("procmem", "mprotect")]
            sc = r.get("procmem_syscalls")
            sc = "-" if sc is None else ", ".join(f"{v} {k}" for k, v in sorted(sc.items())) or "0"
            L.append(f"| {r['sites']} | {r['threads']} | {cells[0]} | {cells[1]} | {sc} |")
        L += ["", "Syscalls of one pair (the first after start-up, `strace -f -c`, less a run "
              "that does not toggle): one `membarrier` registers the process for core "
              "synchronisation, then each batch (enable, disable) synchronises the cores at most "
              "3 times, whatever the number of threads."]
    if plots:
        L += ["", "![toggle latency](bench/toggle.png)"]
    L.append("")


def scale_md(rows, L, plots):
    L += ["", "### 1,000 to 100,000 sites", "",
          "One key whose sites the assembler writes (`bench/src/toggle_sites.S`: a C file of "
          "100,000 functions takes too long to build), each the first instruction of a 16-byte "
          "function, so all sites form one page run; the same generator at every size. Latency "
          "as above, and the switching thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`) around "
          "the same pairs, which leaves out the time it waited for a core on this loaded "
          "machine; instructions: callgrind, user space, a run of 11 pairs minus a run of 1, "
          "over 10 (under valgrind the runtime writes through `mprotect`).", "",
          "| sites | page runs | µs per pair, procmem | CPU µs a site | µs per pair, mprotect | "
          "CPU µs a site | instructions a site per pair |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = []
        for m in ("procmem", "mprotect"):
            d = r[f"{m}_lat"]
            cells += (["failed", "-"] if "failed" in d else
                      [f"{human_us(d['median_us'])} ±{100 * d['spread']:.0f}%",
                       f"{d['cpu_median_us'] / r['sites']:.4f}"])
        ir = f"{r['ir'] / r['sites']:.1f}" if "ir" in r else "-"
        L.append(f"| {r['sites']:,} | {r['runs']} | " + " | ".join(cells) + f" | {ir} |")
    if plots:
        L += ["", "![toggle time per site](bench/toggle-scale.png)"]


def first_md(tg, L):
    """The first pair after start-up against a later one, with the page faults of each."""
    rows = [(f"{r['sites']:,} ({r.get('layout', 'assembler')})", r["procmem_lat"],
             r.get("pages"))
            for r in tg["rows"] + tg.get("scale", [])
            if r["sites"] >= 1000 and "first_faults" in r["procmem_lat"]]
    if not rows:
        return
    L += ["", "### The first switch after start-up", "",
          "The first pair after start-up (procmem) against the median pair, and the page "
          "faults (`getrusage`) of the first pair and of the last one. The first pair checks "
          "the module's whole table (checksum, order, keys), encodes every site, opens "
          "`/proc/self/mem`, and touches for the first time the memory a switch keeps: the "
          "list of the key's sites (one entry a site), the buffer of the page run and, in the "
          "kernel, a private copy of each code page it writes (copy-on-write)."
          + (f" Touching a fresh page costs {tg['fresh_page_us']:.2f} µs on this machine "
             "(64 pages of a new anonymous mapping, median of 21 rounds)."
             if "fresh_page_us" in tg else ""), "",
          "| sites | first pair | median pair | ratio | ratio, CPU time | page faults, first "
          "pair | page faults, later pair |"
          + (" code pages | floor |" if tg.get("cow_page_us") else ""),
          "|---|---|---|---|---|---|---|" + ("---|---|" if tg.get("cow_page_us") else "")]
    cow = tg.get("cow_page_us")
    for name, d, pages in rows:
        cpu = (f"x{d['cpu_first_us'] / d['cpu_median_us']:.2f}" if "cpu_first_us" in d else "-")
        floor = (f" | {pages} | x{(d['median_us'] + pages * cow) / d['median_us']:.2f}"
                 if cow and pages else " | - | -" if cow else "")
        L.append(f"| {name} | {human_us(d['first_us'])} | {human_us(d['median_us'])} | "
                 f"x{d['first_us'] / d['median_us']:.2f} | {cpu} | {d['first_faults']} | "
                 f"{d['later_faults']}{floor} |")
    if cow:
        L += ["", "*code pages*: the pages holding a site's bytes, each of which the kernel "
              "copies at the first write to it (a private copy of a page of the file: "
              f"{cow:.2f} µs a page here, the first `pwrite` of 16 pages of a file mapping "
              "against a later one, median of 21 rounds). *floor*: a later pair plus those "
              "copies, against a later pair: what no first pair can go below, whatever the "
              "runtime does (XRay's first patch pays them too). The rest of the difference is "
              "the runtime's: the table's checksum (FNV-1a, a serial chain of multiplies, about "
              "4 cycles a table byte: 12 bytes a site), the first touch of the list of sites "
              "(48 bytes a site) and of the run's buffer, and encoding each site."]


def toggle_plot(tg, where):
    if tg.get("scale"):
        with open(os.path.join(where, "toggle-scale.dat"), "w") as f:
            for r in tg["scale"]:
                if "failed" not in r["procmem_lat"] and "failed" not in r["mprotect_lat"]:
                    f.write(f"{r['sites']} {r['procmem_lat']['cpu_median_us'] / r['sites']} "
                            f"{r['mprotect_lat']['cpu_median_us'] / r['sites']} "
                            f"{r['procmem_lat']['median_us'] / r['sites']} "
                            f"{r['mprotect_lat']['median_us'] / r['sites']}\n")
        gnuplot("""set terminal pngcairo size 800,480 font ',10'
set output 'toggle-scale.png'
set title 'Toggle time per site, 1,000 to 100,000 sites (one page run)'
set logscale x
set xrange [700:140000]
set yrange [0:*]
set xlabel 'sites of the key'
set ylabel 'microseconds per site, enable + disable pair'
set key top right
plot 'toggle-scale.dat' using 1:2 with linespoints title 'procmem, CPU time', \\
     'toggle-scale.dat' using 1:3 with linespoints title 'mprotect, CPU time', \\
     'toggle-scale.dat' using 1:4 with linespoints dashtype 2 title 'procmem, wall time', \\
     'toggle-scale.dat' using 1:5 with linespoints dashtype 2 title 'mprotect, wall time'
""", where)
    for lay in ("dense", "spread"):
        with open(os.path.join(where, f"toggle-{lay}.dat"), "w") as f:
            for r in tg["rows"]:
                if r["layout"] == lay and "failed" not in r["procmem_lat"] and "failed" not in r["mprotect_lat"]:
                    f.write(f"{r['sites']} {r['procmem_lat']['median_us']} {r['mprotect_lat']['median_us']}\n")
    return gnuplot("""set terminal pngcairo size 800,480 font ',10'
set output 'toggle.png'
set title 'Toggle latency: one enable + disable pair'
set logscale xy
set xlabel 'sites of the key'
set ylabel 'microseconds'
set key top left
plot 'toggle-dense.dat' using 1:2 with linespoints title 'dense (1 page run), procmem', \\
     'toggle-dense.dat' using 1:3 with linespoints title 'dense (1 page run), mprotect', \\
     'toggle-spread.dat' using 1:2 with linespoints title 'spread (1 run per site), procmem', \\
     'toggle-spread.dat' using 1:3 with linespoints title 'spread (1 run per site), mprotect'
""", where)


# ---- skeys against XRay -------------------------------------------------------

def xray_rows(xr):
    return [r for r in xr.get("rows", []) if "ir" in r["skeys"] or "median_us" in r["skeys"]]


def xray_md(xr, L, plot):
    L += ["## 2b. skeys against LLVM XRay", ""]
    if "skipped" in xr:
        L += [f"Not measured: {xr['skipped']}.", ""]
        return
    L += ["The same N small functions built twice by "
          f"{xr['compiler']}: with one skeys site each (one key; `skeys_enable` + "
          "`skeys_disable` is a pair), and with `-fxray-instrument "
          "-fxray-instruction-threshold=1` (an entry and an exit sled each; `__xray_patch` + "
          "`__xray_unpatch` is a pair, `XRAY_OPTIONS=patch_premain=false`). Instructions: "
          "callgrind, user space, a run of 11 pairs minus a run of 1, over 10. Time: "
          "`clock_gettime` around each pair, median per run, median of the runs; the "
          "programs run in alternating rounds. Syscalls: `strace -c`, one pair after start-up "
          "minus a run with none. skeys checks every site's bytes before writing, can walk a "
          "failed write back and synchronises other threads' cores when there are any; "
          "XRay does none of that and makes the whole span writable and executable.", "",
          "| functions | skeys sites | XRay sleds | skeys instr. / pair | XRay instr. / pair | "
          "skeys time / pair | XRay time / pair | time ratio | skeys, SKEYS_WRITE=mprotect "
          "(ratio) | "
          "skeys syscalls | XRay syscalls |",
          "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in xray_rows(xr):
        a, b, c = r["skeys"], r["xray"], r.get("skeys_mprotect")
        sc = lambda d: ", ".join(f"{v} {k}" for k, v in sorted(d.get("syscalls", {}).items())) or "-"  # noqa: E731
        mp = (f"{human_us(c['median_us'])} ±{100 * c['spread']:.0f}% "
              f"({c['median_us'] / b['median_us']:.2f})" if c else "-")
        L.append(f"| {r['functions']:,} | {r['skeys_sites']:,} | {r['xray_sleds']:,} | "
                 f"{a.get('ir', 0):,.0f} | {b.get('ir', 0):,.0f} | {human_us(a['median_us'])} "
                 f"±{100 * a['spread']:.0f}% | {human_us(b['median_us'])} ±{100 * b['spread']:.0f}% | "
                 f"{a['median_us'] / b['median_us']:.2f} | {mp} | {sc(a)} | {sc(b)} |")
    if xr.get("hot"):
        L += ["", f"Hot path (callgrind, per call, over the same function with neither): "
              f"a disabled skeys site +{xr['hot']['site']:.0f} instruction, an unpatched XRay "
              f"function (entry and exit sled) +{xr['hot']['sled']:.0f}."]
    big = max(xray_rows(xr), key=lambda r: r["functions"], default=None)
    share = big["skeys"].get("sys_share") if big else None
    L += ["", "skeys' syscalls include opening `/proc/self/mem` once, in the first pair after "
          "start-up. Under valgrind the runtime never writes through `/proc/self/mem` (valgrind "
          "would not see the write): the instruction counts are those of its `mprotect` writer, "
          "which checks and stores only the sites.", "",
          "Where the time of a large pair goes: by default skeys writes a page run with one "
          "`pwrite` to `/proc/self/mem`, which the kernel carries out page by page (it copies "
          "each page of the run from the caller, looks the target page up and copies it in), "
          + (f"so that with {big['functions']:,} dense sites {100 * share:.0f} % of the CPU "
             "time of a pair is the kernel's (`getrusage`, system against user time of the "
             "timed pairs), " if share is not None else "")
          + "and the runtime's own share is the copy of the run, the check of each site and "
          "the merge of its new bytes. The "
          "`mprotect` writer (`SKEYS_WRITE=mprotect`, the column above) stores only the sites "
          "between two protection changes, as XRay does"
          + (f": at {big['functions']:,} functions a pair takes "
             f"{human_us(big['skeys_mprotect']['median_us'])} that way, against "
             f"{human_us(big['skeys']['median_us'])} through `/proc/self/mem`"
             if big and "median_us" in big.get("skeys_mprotect", {}) else "")
          + ". The default stays the direct write, which never makes the code writable in "
          "the process.", ""]
    if plot:
        L += ["![skeys against XRay](bench/xray.png)", ""]


def xray_plot(xr, where):
    rows = [r for r in xray_rows(xr) if "ir" in r["skeys"]]
    if not rows:
        return None
    with open(os.path.join(where, "xray.dat"), "w") as f:
        for r in rows:
            f.write(f"{r['functions']} {r['skeys']['ir']} {r['xray']['ir']} "
                    f"{r['skeys']['median_us']} {r['xray']['median_us']}\n")
    return gnuplot("""set terminal pngcairo size 800,480 font ',10'
set output 'xray.png'
set title 'Switching N functions on and off: skeys against XRay (one pair)'
set logscale xy
set xlabel 'functions'
set ylabel 'user-space instructions / microseconds'
set key top left
plot 'xray.dat' using 1:2 with linespoints title 'skeys, instructions', \\
     'xray.dat' using 1:3 with linespoints title 'XRay, instructions', \\
     'xray.dat' using 1:4 with linespoints title 'skeys, µs', \\
     'xray.dat' using 1:5 with linespoints title 'XRay, µs'
""", where)


# ---- tool ---------------------------------------------------------------------

def tool_md(tl, L, plots):
    L += ["## 3. The tool", "",
          "`skeys-seal FILE -o OUT` on generated binaries (the assembler writes the sites, two "
          "keys with interleaved entries, so sealing reorders the whole table), against "
          "`objcopy FILE OUT2` on the same file, run alternately; median of "
          f"{tl['reps']} runs (fewer at 1M), wall time from the harness, peak RSS from GNU "
          "`time`.", ""]
    L.append("| sites | file | skeys-seal | objcopy | ratio | seal µs per site | seal peak RSS | objcopy peak RSS | of which fsync |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for r in tl["rows"]:
        kib = lambda k: f"{r[k] / 1024:.1f} MiB" if r.get(k) else "-"  # noqa: E731
        L.append(f"| {r['sites']} | {r['bytes'] / 1e6:.2f} MB | {r['seal_s'] * 1e3:.1f} ms | "
                 + (f"{r['objcopy_s'] * 1e3:.1f} ms | {r['ratio']:.2f} |" if "objcopy_s" in r else "- | - |")
                 + f" {r['seal_s'] * 1e6 / r['sites']:.2f} | {kib('seal_kib')} | {kib('objcopy_kib')} |"
                 + (f" {r['fsync_ms']:.2f} ms |" if "fsync_ms" in r else " - |"))
    L += ["", "*of which fsync*: the time skeys-seal spends in `fsync` of the output and of its "
          "directory (`strace -T`, only fsync traced; median over the same number of runs). "
          "`objcopy` does not fsync. skeys-seal keeps it: it is what makes \"killed at any "
          "point, the file is whole, old or new\" hold across a power loss too, since the "
          "rename is only durable after the data. The input's bytes but the table are "
          "written first and their writeback started; the table follows piece by piece, each "
          "piece's writeback started as soon as it is written, so the disk works while the "
          "checksum and the proof run and fsync waits only for the rest."]
    rows = {r["sites"]: r for r in tl["rows"]}
    big = rows.get(max(rows)) if rows else None
    if big and "ratio" in big:
        L += ["", f"At {big['sites']:,} sites the ratio is {big['ratio']:.1f}x: `objcopy`'s time "
              "is the copy of the file, skeys-seal's the work per site, of which the table "
              "checksum alone is a serial chain of multiplies, about 4 cycles per table byte "
              "(12 bytes a site); the target is set at 100,000 sites."]
    p = tl.get("profile")
    if p:
        L += ["", f"Instructions (callgrind) at {p['sites']:,} sites: skeys-seal {p['seal_ir']:,}"
              + (f", objcopy {p['objcopy_ir']:,} ({p['seal_ir'] / p['objcopy_ir']:.1f}x)"
                 if p.get("objcopy_ir") else "") + ". Where skeys-seal's go (self cost):", "",
              "| function | instructions | share |", "|---|---|---|"]
        L += [f"| `{f}` | {n:,} | {100 * n / p['seal_ir']:.0f} % |" for f, n in p["seal_top"]]
    if plots:
        L += ["", "![seal time](bench/tool.png)"]
    L.append("")


def tool_plot(tl, where):
    with open(os.path.join(where, "tool.dat"), "w") as f:
        for r in tl["rows"]:
            f.write(f"{r['sites']} {r['seal_s'] * 1e3} {r.get('objcopy_s', 0) * 1e3}\n")
    return gnuplot("""set terminal pngcairo size 800,480 font ',10'
set output 'tool.png'
set title 'skeys-seal against objcopy on the same binary'
set logscale xy
set xlabel 'sites'
set ylabel 'milliseconds (median)'
set key top left
plot 'tool.dat' using 1:2 with linespoints title 'skeys-seal', \\
     'tool.dat' using 1:3 with linespoints title 'objcopy (copy)'
""", where)


# ---- start-up -----------------------------------------------------------------

def startup_md(su, L, plots):
    L += ["## 4. Start-up", "",
          "Time between two constructors that bracket the runtime's registration constructor "
          f"(median of {su['reps']} runs, µs, ± half the interquartile range), and the inclusive instructions of "
          "`skeys_module_register` under callgrind. *sealed*: the runtime as shipped, on the "
          "sealed binary. *dev-sort*: the runtime built with `-DSKEYS_DEV_SORT=1` "
          "(`libskeys_devsort`), on the unsealed binary, which it sorts at start-up. Both "
          "statically linked, same binary otherwise.", ""]
    L.append("| sites | sealed µs | sealed instructions | dev-sort µs | dev-sort instructions |")
    L.append("|---|---|---|---|---|")
    for r in su["rows"]:
        s, d = r["sealed"], r["devsort"]
        ir = lambda x: f"{x['ir']:,}" if x.get("ir") else "-"  # noqa: E731
        L.append(f"| {r['sites']} | {us(s['median_us'])} ±{100 * s['spread']:.0f}% | {ir(s)} | "
                 f"{us(d['median_us'])} ±{100 * d['spread']:.0f}% | {ir(d)} |")
    L += ["", "The sealed time is mostly `dl_iterate_phdr` and one allocation; the instruction "
          "count does not depend on the table. (dev-sort under callgrind is skipped above "
          "100k sites: minutes under valgrind.)"]
    if plots:
        L += ["", "![start-up](bench/startup.png)"]
    L.append("")


def startup_plot(su, where):
    with open(os.path.join(where, "startup.dat"), "w") as f:
        for r in su["rows"]:
            f.write(f"{r['sites']} {r['sealed']['median_us']} {r['devsort']['median_us']}\n")
    return gnuplot("""set terminal pngcairo size 800,480 font ',10'
set output 'startup.png'
set title 'Module registration at start-up'
set logscale xy
set xlabel 'sites'
set ylabel 'microseconds (median)'
set key top left
plot 'startup.dat' using 1:2 with linespoints title 'sealed', \\
     'startup.dat' using 1:3 with linespoints title 'dev-sort (sorts at start-up)'
""", where)


# ---- size ---------------------------------------------------------------------

def size_md(sz, hp, L):
    L += ["## 5. Size", "",
          "Runtime code, for every build directory of the runtime found at the top of the "
          "tree (one row per architecture and build type built).", ""]
    L.append("| build | type | architecture | libskeys.so .text | libskeys.so file | libskeys.a text (all objects) |")
    L.append("|---|---|---|---|---|---|")
    for r in sz["runtimes"]:
        L.append(f"| {r['build']} | {r['buildtype']} | {r['arch']} | {r.get('so_text', '-')} B | "
                 f"{r.get('so_file', '-')} B | {r['static_text']} B |")
    t = sz["table"]
    L += ["", f"Table: {t['bytes']} bytes of `__skeys` for {t['sites']} sites = "
          f"**{t['per_site']:.1f} bytes per site**, plus one {t['header']}-byte header per module. "
          "Each site is a 5-byte instruction in the code."]
    if hp:
        L += ["", "Code a site adds to its function (hot part, `cold` shape, from the "
              "many-sites functions above):", ""]
        for cc, c in hp["compilers"].items():
            mb = c["many_bytes"]
            L.append(f"- {cc}: +{mb['site']['hot'] - mb['none']['hot']:.1f} bytes with a site, "
                     f"+{mb['bool']['hot'] - mb['none']['hot']:.1f} bytes with a `bool` test "
                     "(same slow path)")
    L.append("")


# ---- function entries against XRay ---------------------------------------------

def entries_md(en, L):
    L += ["## 2c. Function entries against LLVM XRay", ""]
    if "skipped" in en:
        L += [f"Not measured: {en['skipped']}.", ""]
        return
    hot = en.get("hot")
    if hot:
        L += [f"Per call (callgrind, user-space instructions over the same function with "
              f"neither; {en['compiler']}):", "",
              "| | skeys entry | XRay |", "|---|---|---|",
              f"| idle (skeys: a 5-byte nop; XRay: unpatched entry and exit sleds) | "
              f"+{hot['idle']['entry']:.0f} | +{hot['idle']['sled']:.0f} |",
              f"| a handler attached (it adds to a counter; XRay's runs at entry and at exit) | "
              f"+{hot['attached']['entry']:.0f} | +{hot['attached']['sled']:.0f} |",
              f"| the same, nanoseconds a call (best of 5 loops) | "
              f"+{hot['attached']['entry_ns']:.1f} ns | +{hot['attached']['sled_ns']:.1f} ns |", "",
              "A skeys stub saves every argument register around the handler, xmm0-7 at the "
              "full width the CPU has (ymm or zmm: the upper halves of `__m256` arguments "
              "survive a handler that calls glibc); XRay's trampoline saves the xmm registers "
              "only, and its handler runs twice a call. Times are of a shared machine: compare "
              "within a row.", ""]
    L += ["Attaching and detaching N functions, a pair: `skeys_entry_attach_all` + "
          "`skeys_entry_detach_all` (every pad's bytes checked before it is written, the "
          "cross-thread protocol when other threads run) against `__xray_patch` + "
          "`__xray_unpatch` of N functions with an entry and an exit sled each. Same "
          "measurement as section 2b.", "",
          "| functions | skeys instr. / pair | XRay instr. / pair | skeys time / pair | "
          "XRay time / pair | time ratio |", "|---|---|---|---|---|---|"]
    for r in en.get("rows", []):
        a, b = r["skeys"], r["xray"]
        L.append(f"| {r['functions']:,} | {a.get('ir', 0):,.0f} | {b.get('ir', 0):,.0f} | "
                 f"{human_us(a['median_us'])} ±{100 * a['spread']:.0f}% | "
                 f"{human_us(b['median_us'])} ±{100 * b['spread']:.0f}% | "
                 f"{a['median_us'] / b['median_us']:.2f} |")
    L.append("")


def entries_targets(en):
    T = []
    if not en or "skipped" in en:
        return T
    hot = en.get("hot")
    if hot:
        e, x = hot["idle"]["entry"], hot["idle"]["sled"]
        T.append(("An idle function entry costs one instruction a call (XRay's unpatched sled: 2)",
                  f"+{e:.0f} (XRay +{x:.0f})", "met" if e <= 1 else "not met"))
    rows = {r["functions"]: r for r in en.get("rows", [])}
    if 1000 in rows:
        T.append(faster_than_xray("Attach + detach of 1,000 function entries below XRay's "
                                  "__xray_patch + __xray_unpatch in the same run, verification "
                                  "included", rows[1000]))
    return T


def faster_than_xray(what, r):
    """A Targets row: skeys' median time a pair under XRay's, in row `r`."""
    q = r["skeys"]["median_us"] / r["xray"]["median_us"]
    return (what, f"{human_us(r['skeys']['median_us'])} against "
            f"{human_us(r['xray']['median_us'])}: {q:.2f}x", "met" if q < 1 else "not met")


# ---- targets and headline -----------------------------------------------------

def targets(res):
    T = []
    hp = res.get("hotpath")
    if hp and any("ir" in c for c in hp["compilers"].values()):
        z = zero_cost(hp)
        ccs = [cc for cc, c in hp["compilers"].items() if "ir" in c]
        best = [s for s in hp["shapes"] if len(z[s]) == len(ccs)]
        miss = [s for s in hp["shapes"] if len(z[s]) < len(ccs)]
        T.append(("A disabled site costs exactly one instruction over no branch",
                  f"+1 with every compiler for {', '.join(best) or 'no shape'}; "
                  f"not for {', '.join(miss) or '-'} (compiler keeps the prologue)",
                  "met for the recommended shapes" if best else "not met"))
    tg = res.get("toggle")
    if tg and tg["strace"]:
        ok = all(r["procmem_syscalls"] == 2 * r["runs"] and r["mprotect_syscalls"] == 4 * r["runs"]
                 for r in tg["rows"])
        big = max(tg["rows"], key=lambda r: r["sites"] if r["layout"] == "dense" else 0)
        T.append(("Toggle syscalls bounded by page runs, not sites",
                  f"1 pwrite64 (or 2 mprotect) per toggle per page run; {big['sites']} dense "
                  f"sites: {big['procmem_syscalls'] // 2} pwrite64 per toggle", "met" if ok else "not met"))
        th = [r for r in tg["rows"] if r.get("procmem_syscalls_threads")]
        if th:
            per_run = {r["procmem_syscalls_threads"].get("pwrite64", 0) / (2 * r["runs"]) for r in th}
            fixed = {sum(v for k, v in r["procmem_syscalls_threads"].items() if k != "pwrite64")
                     for r in th}
            T.append(("... with a thread running through the sites"
                      + ("" if tg["protocol"] else " (no cross-thread protocol yet: not safe)"),
                      f"{', '.join(f'{x:g}' for x in sorted(per_run))} pwrite64 per toggle per page "
                      f"run, plus {', '.join(str(x) for x in sorted(fixed))} other syscalls "
                      "(membarrier, signals) per enable + disable pair, whatever the sites",
                      ("met" if len(per_run) == 1 and len(fixed) == 1 else "see table")
                      if tg["protocol"] else "not applicable until the protocol lands"))
    xr = res.get("xray")
    xrows = {r["functions"]: r for r in xray_rows(xr)} if xr and "rows" in xr else {}
    if 1000 in xrows and "ir" in xrows[1000]["skeys"]:
        r = xrows[1000]
        per = r["skeys"]["ir"] / 1000
        T.append(("Toggle 1,000 sites: at most 100 user-space instructions a site per enable + "
                  "disable pair (callgrind)", f"{per:.0f} a site ({r['skeys']['ir']:,.0f} a pair; "
                  f"XRay {r['xray']['ir']:,.0f} for 1,000 functions)", "met" if per <= 100 else "not met"))
    if 1000 in xrows:
        T.append(faster_than_xray("... and a pair faster than XRay's __xray_patch + "
                                  "__xray_unpatch of 1,000 functions (median of interleaved "
                                  "rounds)", xrows[1000]))
    if tg:
        dense = {r["sites"]: r for r in tg["rows"] if r["layout"] == "dense"
                 and "median_us" in r["procmem_lat"]}
        big = max(dense) if dense else 0
        scale = {r["sites"]: r for r in tg.get("scale", []) if "median_us" in r["procmem_lat"]}
        if 1000 in scale and max(scale) >= 100000:
            top = max(scale)
            def growth(m, k):
                a, b = scale[1000][f"{m}_lat"], scale[top][f"{m}_lat"]
                return (b[k] / top) / (a[k] / 1000) if k in a and k in b else None
            g = {m: growth(m, "cpu_median_us") for m in ("procmem", "mprotect")}
            w = {m: growth(m, "median_us") for m in ("procmem", "mprotect")}
            ok = all(v is not None and v <= 1.2 for v in g.values())
            wall_ok = all(v is not None and v <= 1.2 for v in w.values())
            T.append(("Toggle grows linearly: time a site at 100k within 1.2x of 1k",
                      f"{top:,} sites (assembler-written, one page run), CPU time a site against "
                      "1,000's: " + ", ".join(f"x{v:.2f} ({m})" for m, v in g.items() if v)
                      + "; wall time " + ", ".join(f"x{v:.2f} ({m})" for m, v in w.items() if v)
                      + " (wall time includes waiting for a core)",
                      "met" if ok and wall_ok else
                      "met in CPU time, not in wall time under load" if ok else "not met"))
        elif 1000 in dense and big > 1000:
            g = (dense[big]["procmem_lat"]["median_us"] / big) / \
                (dense[1000]["procmem_lat"]["median_us"] / 1000)
            T.append(("Toggle grows linearly: time a site at 100k within 1.2x of 1k",
                      f"{big:,} sites: x{g:.2f} (procmem, dense)"
                      + ("" if big >= 100000 else "; 100,000 not measured (the 100,000-function "
                         "program takes gcc and gas over 15 minutes to build here)"),
                      ("met" if g <= 1.2 else "not met") if big >= 100000
                      else ("met to 10k" if g <= 1.2 else "not met")))
        if 1000 in dense and "first_us" in dense[1000]["procmem_lat"]:
            lat = dense[1000]["procmem_lat"]
            q = lat["first_us"] / lat["median_us"]
            faults = (f"; {lat['first_faults']} page faults against {lat['later_faults']}"
                      + (f", a fresh page {tg['fresh_page_us']:.1f} µs here"
                         if "fresh_page_us" in tg else "") if "first_faults" in lat else "")
            pages, cow = dense[1000].get("pages"), tg.get("cow_page_us")
            floor = (f"; the kernel's copies of the {pages} code pages written alone make "
                     f"x{(lat['median_us'] + pages * cow) / lat['median_us']:.2f}"
                     if pages and cow else "")
            T.append(("First switch after start-up, 1,000 sites, within 1.5x of a later one",
                      f"{human_us(lat['first_us'])} against {human_us(lat['median_us'])}: x{q:.2f} "
                      f"(whole-table check, encoding, first touch of memory{faults}{floor}: "
                      "see 2.)",
                      "met" if q <= 1.5 else "not met"))
        th = [r["procmem_syscalls_threads"] for r in tg["rows"] if r.get("procmem_syscalls_threads")]
        ths = sorted({r["threads"] for r in tg.get("scaling", []) if r.get("procmem_syscalls")})
        th += [r["procmem_syscalls"] for r in tg.get("scaling", []) if r.get("procmem_syscalls")]
        if th:
            # one pair from start-up: membarrier's registration, then each batch's syncs
            syncs = max((d.get("membarrier", 0) - 1) / 2 for d in th)
            T.append(("At most 3 core synchronisations a batch with threads"
                      + (f" ({', '.join(map(str, ths))} threads running the sites)" if ths else ""),
                      f"at most {syncs:g} membarrier a batch (one pair from start-up, less the "
                      "registration)", "met" if syncs <= 3 else "not met"))
    tl = res.get("tool")
    if tl:
        rows = {r["sites"]: r for r in tl["rows"]}
        if 100000 in rows and "ratio" in rows[100000]:
            r = rows[100000]
            T.append(("skeys-seal on 100k sites within 2x objcopy's time",
                      f"{r['ratio']:.2f}x ({r['seal_s'] * 1e3:.0f} ms against {r['objcopy_s'] * 1e3:.0f} ms)",
                      "met" if r["ratio"] <= 2 else "not met"))
        ns = sorted(rows)
        if len(ns) >= 2:
            a, b = rows[ns[-2]], rows[ns[-1]]
            g = (b["seal_s"] / b["sites"]) / (a["seal_s"] / a["sites"])
            T.append(("skeys-seal grows linearly",
                      f"time per site {ns[-2]} -> {ns[-1]} sites: x{g:.2f}",
                      "met" if g <= 1.5 else "not met"))
    su = res.get("startup")
    if su:
        irs = {r["sealed"].get("ir") for r in su["rows"]}
        first, last = su["rows"][0], su["rows"][-1]
        T.append(("Registration independent of the number of sites",
                  (f"sealed: {', '.join(f'{x:,}' for x in irs)} instructions at every size; "
                   if None not in irs else "") +
                  f"{human_us(first['sealed']['median_us'])} at {first['sites']} sites, "
                  f"{human_us(last['sealed']['median_us'])} at {last['sites']}; dev-sort "
                  f"{human_us(last['devsort']['median_us'])} at {last['sites']}",
                  "met" if len(irs) == 1 and None not in irs else "see table"))
    if "calls" in res:
        T += calls.targets(res["calls"])
    return T


def headline(res):
    L = []
    hp = res.get("hotpath")
    if hp and "gcc" in hp["compilers"] and "ir" in hp["compilers"]["gcc"]:
        c = hp["compilers"]["gcc"]
        L.append(f"- A disabled site: **+{hot_delta(c, 'tail', 'site'):.0f} instruction** per call "
                 f"over no branch at all (gcc 12, slow path a tail call); a `bool` test "
                 f"+{hot_delta(c, 'tail', 'bool'):.0f}, a relaxed atomic "
                 f"+{hot_delta(c, 'tail', 'atomic'):.0f}. With the flag's cache line evicted: "
                 f"{c['cycles']['ev_cold_site']['median']:.0f} cycles a call for a site, "
                 f"{c['cycles']['ev_cold_bool']['median']:.0f} for a `bool`.")
    tg = res.get("toggle")
    if tg and tg["rows"]:
        big = max((r for r in tg["rows"] if r["layout"] == "dense"), key=lambda r: r["sites"])
        one = tg["rows"][0]
        L.append(f"- Toggling (enable + disable): {human_us(one['procmem_lat']['median_us'])} for 1 site; "
                 f"{big['sites']:,} sites in one page run: {human_us(big['procmem_lat']['median_us'])} "
                 f"through `/proc/self/mem`, {human_us(big['mprotect_lat']['median_us'])} through "
                 "`mprotect`; one `pwrite` (or two `mprotect`) per page run and toggle, whatever "
                 "the number of sites.")
        sc = {q["sites"]: q["procmem_lat"] for q in tg.get("scale", [])
              if "cpu_median_us" in q["procmem_lat"]}
        if 1000 in sc and 100000 in sc:
            ns = {n: 1000 * sc[n]["cpu_median_us"] / n for n in (1000, 100000)}
            L[-1] += (f" 100,000 sites: {human_us(sc[100000]['median_us'])} a pair, "
                      f"{ns[100000]:.0f} ns of CPU time a site ({ns[1000]:.0f} ns at 1,000).")
    xr = res.get("xray")
    if xr and "rows" in xr:
        xrows = {r["functions"]: r for r in xray_rows(xr)}
        if 1000 in xrows:
            r = xrows[1000]
            L.append(f"- Against LLVM XRay (clang 14), switching 1,000 functions on and off: "
                     f"skeys {human_us(r['skeys']['median_us'])} a pair, "
                     f"XRay {human_us(r['xray']['median_us'])} "
                     f"(**{r['xray']['median_us'] / r['skeys']['median_us']:.1f}x** in skeys' favour)"
                     + (f"; {r['skeys']['ir'] / 1000:.0f} user-space instructions a site against "
                        f"{r['xray']['ir'] / 1000:.0f} a function" if "ir" in r["skeys"] else "")
                     + "".join(f"; {n:,} functions: {human_us(q['skeys']['median_us'])} against "
                               f"{human_us(q['xray']['median_us'])} "
                               f"(**{q['xray']['median_us'] / q['skeys']['median_us']:.2f}x**)"
                               for n, q in sorted(xrows.items()) if n > 1000)
                     + ", every site checked before it is written.")
    tl = res.get("tool")
    if tl:
        rows = {r["sites"]: r for r in tl["rows"]}
        n = 100000 if 100000 in rows else max(rows)
        r = rows[n]
        L.append(f"- `skeys-seal`: {r['seal_s'] * 1e3:.0f} ms for {n:,} sites"
                 + (f" ({r['ratio']:.1f}x `objcopy` copying the same file)" if "ratio" in r else "")
                 + (f", {rows[1000000]['seal_s']:.2f} s for 1M" if 1000000 in rows else "") + ".")
    su = res.get("startup")
    if su:
        last = su["rows"][-1]
        L.append(f"- Start-up with {last['sites']:,} sites: {human_us(last['sealed']['median_us'])} "
                 f"sealed ({last['sealed'].get('ir', '?'):,} instructions at every size), against "
                 f"{human_us(last['devsort']['median_us'])} sorting at start-up.")
    sz = res.get("size")
    if sz and sz["runtimes"]:
        r = next((x for x in sz["runtimes"] if x["build"] == "build-bench"), sz["runtimes"][0])
        L.append(f"- {sz['table']['per_site']:.0f} bytes of table per site; runtime "
                 f"`.text` {r.get('so_text', r['static_text'])} bytes (x86-64).")
    return L


def write(res, docs, readme, plots=True):
    m = res["machine"]
    pdir = os.path.join(docs, "bench")
    os.makedirs(pdir, exist_ok=True)
    made = {}
    if plots:
        if "hotpath" in res:
            made["sites"] = zero_cost_plot(res["hotpath"], pdir)
        for k, fn in (("hotpath", hotpath_plot), ("toggle", toggle_plot), ("xray", xray_plot),
                      ("tool", tool_plot), ("startup", startup_plot)):
            if k in res:
                made[k] = fn(res[k], pdir)
        if "calls" in res:
            made["calls"] = calls.plot(res["calls"], pdir, gnuplot)
        for f in os.listdir(pdir):
            if f.endswith(".dat"):
                os.unlink(os.path.join(pdir, f))
    L = ["# Benchmarks", "",
         "Written by `bench/run` (do not edit by hand): every figure here and in the README's "
         "headline block comes from one run of it. Raw results: "
         "[bench/results.json](bench/results.json).", "",
         "```sh", "sh bench/setup-deps.sh   # gnuplot-nox, valgrind, strace, time, clang-19, XRay",
         "bench/run                  # builds build-bench/ (release) and rewrites this file", "```",
         "", "## Machine", "",
         f"- {m['date']}, {m['cpu']}, {m['cores']} cores, Linux {m['kernel']} ({m['arch']})",
         f"- load average before / after: {m['load_before']} / {m.get('load_after', '?')} "
         "(a shared machine: other jobs ran on its 2 cores during the run; medians and "
         "interleaved rounds are used against that, and times vary from run to run more than "
         "instruction counts do)",
         f"- run time of `bench/run`: {m.get('seconds', '?')} s"]
    for step, r in sorted(m.get("reruns", {}).items()):
        L.append(f"- step `{step}` re-run alone (`bench/run --steps`): {r['date']}, load average "
                 f"before / after {r['load_before']} / {r.get('load_after', '?')}, "
                 f"{r.get('seconds', '?')} s"
                 + "".join(f"; {k}: {v}" for k, v in r.items()
                           if k not in ("date", "load_before", "load_after", "seconds")))
    for cc, v in m["compilers"].items():
        L.append(f"- `{cc}`: {v}")
    L += [f"- benchmark programs: `{m['cflags']}`; runtime (meson release): `{m['runtime_flags']}`",
          f"- {m['valgrind'] or 'valgrind missing: no instruction counts'}", ""]
    T = targets(res) + entries_targets(res.get("entries"))
    if T:
        L += ["## Targets", "", "| target | measured | |", "|---|---|---|"]
        L += [f"| {a} | {b} | {c} |" for a, b, c in T]
        L.append("")
    if "hotpath" in res:
        hotpath_md(res["hotpath"], L, made.get("hotpath"))
        zero_cost_md(res["hotpath"], L, made.get("sites"))
    if "toggle" in res:
        toggle_md(res["toggle"], L, made.get("toggle"))
    if "xray" in res:
        xray_md(res["xray"], L, made.get("xray"))
    if "entries" in res:
        entries_md(res["entries"], L)
    if "tool" in res:
        tool_md(res["tool"], L, made.get("tool"))
    if "startup" in res:
        startup_md(res["startup"], L, made.get("startup"))
    if "size" in res:
        size_md(res["size"], res.get("hotpath"), L)
    if "calls" in res:
        calls.md(res["calls"], L, made.get("calls"))
    open(os.path.join(docs, "benchmarks.md"), "w").write("\n".join(L))
    head = [HEAD_START] + headline(res) + [
        "", f"Measured by `bench/run` on {m['cpu']} ({m['date']}, load average "
        f"{m['load_before'].split()[0]} on {m['cores']} cores when it started: times move "
        "with the load, instruction counts do not); details, machine and flags in "
        "[docs/benchmarks.md](docs/benchmarks.md).", HEAD_END]
    text = open(readme).read() if os.path.exists(readme) else ""
    if HEAD_START in text:
        text = re.sub(re.escape(HEAD_START) + ".*?" + re.escape(HEAD_END),
                      lambda _: "\n".join(head), text, flags=re.S)
    else:
        text += "\n".join(head) + "\n"
    open(readme, "w").write(text)
