# SPDX-License-Identifier: MIT
"""Start-up: what registering a module costs, sealed against the development
runtime that sorts the table at start-up (SKEYS_DEV_SORT), 1k to 1M sites.

Wall time is read inside the process, between two constructors that bracket
the runtime's (bench/src/startup.c). Instructions come from callgrind, the
inclusive cost of skeys_module_register (skipped where the dev-sort run
would take minutes under valgrind).
"""
import re

from common import have, out, run, spread
from tool import many_binaries, sizes


def callgrind_register(exe):
    o = exe + ".callgrind"
    run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + o, exe],
        capture_output=True)
    for line in out(["callgrind_annotate", "--inclusive=yes", "--threshold=100", o]).splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?\S*?\bskeys_module_register\b", line)
        if m:
            return int(m.group(1).replace(",", ""))
    return None


def measure(ctx):
    reps = 3 if ctx.smoke else 21
    res = {"rows": [], "reps": reps}
    grind = have("valgrind") and have("callgrind_annotate")
    for n in sizes(ctx):
        b = many_binaries(ctx, n)
        ctx.log(f"start-up: {n} sites")
        row = {"sites": n}
        for kind in ("sealed", "devsort"):
            run([b[kind], "toggle"], capture_output=True)  # the keys work
            ts = []
            for _ in range(reps):
                ts.append(int(out([b[kind]]).strip()) / 1000)  # microseconds
            m, s = spread(ts)
            row[kind] = {"median_us": m, "spread": s, "min_us": min(ts), "max_us": max(ts)}
            if grind and (kind == "sealed" or n <= 100000):
                row[kind]["ir"] = callgrind_register(b[kind])
        res["rows"].append(row)
    return res
