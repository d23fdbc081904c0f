# SPDX-License-Identifier: MIT
"""Size: runtime code per architecture built, table and site bytes per site.

Every meson build directory at the top of the source tree that holds the
runtime is measured, so each architecture built (cross builds included)
gets its row. Table bytes per site come from a generated binary's __skeys
section; the code a site adds to its function is in the hot-path step.
"""
import glob
import json
import os
import re

from common import SRC, out
from tool import many_binaries


def section_sizes(path):
    sz = {}
    for line in out(["readelf", "-SW", path]).splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)", line)
        if m:
            sz[m.group(1)] = int(m.group(2), 16)
    return sz


def machine(path):
    for line in out(["readelf", "-h", path]).splitlines():
        if "Machine:" in line:
            return line.split(":", 1)[1].strip()
    return "?"


def build_dirs(ctx):
    dirs = {os.path.realpath(ctx.build)}
    for d in glob.glob(os.path.join(SRC, "build*")):
        a = os.path.join(d, "runtime", "libskeys.a")
        # ELF builds only: the size step reads them with readelf and size.
        if os.path.exists(a) and os.path.exists(os.path.join(d, "runtime", "libskeys.so")):
            dirs.add(os.path.realpath(d))
    return sorted(dirs)


def buildtype(d):
    try:
        for o in json.load(open(os.path.join(d, "meson-info", "intro-buildoptions.json"))):
            if o["name"] == "buildtype":
                return o["value"]
    except (OSError, ValueError):
        pass
    return "?"


def measure(ctx):
    res = {"runtimes": []}
    for d in build_dirs(ctx):
        a = os.path.join(d, "runtime", "libskeys.a")
        so = os.path.join(d, "runtime", "libskeys.so")
        row = {"build": os.path.relpath(d, SRC), "buildtype": buildtype(d), "arch": machine(a)}
        # text of every object of the static library: what a static link can pull in
        text = 0
        for line in out(["size", a]).splitlines()[1:]:
            f = line.split()
            if f and f[0].isdigit():
                text += int(f[0])
        row["static_text"] = text
        if os.path.exists(so):
            s = section_sizes(so)
            row["so_text"] = s.get(".text", 0)
            row["so_file"] = os.path.getsize(os.path.realpath(so))
        res["runtimes"].append(row)
    n = 10000 if not ctx.smoke else 1000
    s = section_sizes(many_binaries(ctx, n)["sealed"])
    res["table"] = {"sites": n, "bytes": s.get("__skeys", 0),
                    "per_site": s.get("__skeys", 0) / n,
                    "header": s.get("__skeys_hdr", 0)}
    return res
