#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What C++ with gcc for s390x does with a plain `extern` key under -fPIC.

Cells there are statics next to the sites (docs/kernel.md, "Cells"): a
site in an ordinary function compiles; a site in an inline function or a
template, whose static gcc makes a default-visibility object of its own,
is refused by gcc. This checks both, so the limit documented is the one
the compiler has: usage: cxx-pic-limit.py CXX INCLUDE WORKDIR.
Exit 0 pass, 1 fail, 77 skip (the compiler is missing).
"""

import os
import shlex
import shutil
import subprocess
import sys

SITE = """#include <skeys/kernel.h>
extern struct static_key k;
%s int site(void) { return static_key_false(&k); }
int use(void);
int use(void) { return site(); }
"""


def main():
    cxx, include, work = shlex.split(sys.argv[1]), sys.argv[2], sys.argv[3]
    if shutil.which(cxx[0]) is None:
        print(f"cxx-pic-limit: SKIP, {cxx[0]} is not installed")
        return 77
    os.makedirs(work, exist_ok=True)
    ok = True
    for how, want in (("", None), ("inline", "impossible constraint in 'asm'")):
        src = os.path.join(work, f"site-{how or 'plain'}.cc")
        with open(src, "w") as f:
            f.write(SITE % how)
        cmd = cxx + ["-std=c++17", "-O2", "-fPIC", "-I", include, "-c", src,
                     "-o", src + ".o"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        out = r.stdout + r.stderr
        out_ascii = out.replace("\u2018", "'").replace("\u2019", "'")
        print(f"[rc={r.returncode}] {shlex.join(cmd)}\n{out}", end="")
        if want is None and r.returncode != 0:
            print("cxx-pic-limit: FAIL: a site in an ordinary function did not compile")
            ok = False
        if want is not None and (r.returncode == 0 or want not in out_ascii):
            print(f"cxx-pic-limit: FAIL: expected gcc to refuse the inline site with {want!r}")
            ok = False
    print("cxx-pic-limit: " + ("pass" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
