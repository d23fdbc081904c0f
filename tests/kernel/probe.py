#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What docs/kernel.md says happens to kernel code that <skeys/kernel.h>
cannot make work, checked: each case builds a small program and expects the
documented outcome (a compiler message, a skeys-seal refusal) or, for the
documented fix, success. x86-64 compilers of the build machine.

  probe.py CASE --include DIR --libskeys LIB --seal SEAL --workdir DIR
Cases: legacy-mismatch, extern-clang-pie, extern-gcc-pic, extern-copy,
mixed-export. Exit 0 pass, 1 fail, 77 skip (a compiler is missing).
"""

import argparse
import os
import shutil
import subprocess
import sys

SKIP = 77

KEYS_H = """#include <skeys/kernel.h>
#ifdef PLAIN
extern struct static_key k;
#else
DECLARE_STATIC_KEY(k);
#endif
"""
SITE_C = """#include "keys.h"
int site(void);
int site(void) { return static_key_false(&k); }
"""
DEF_C = """#include <skeys/kernel.h>
struct static_key k = STATIC_KEY_INIT_FALSE;
EXPORT_SYMBOL(k);
"""
# What skeys-seal's message on a copied key says to write: the import line.
IMPORT_MAIN_C = """#include <skeys/kernel.h>
IMPORT_STATIC_KEY(k, false);
static int site(void) { return static_key_false(&k); }
int main(void)
{
	if (site() || static_key_enable(&k) || !site()) return 1;
	return 0;
}
"""
# A legacy unlikely site on a key initialised TRUE: the pairing the docs rule out.
MISMATCH_C = """#include <skeys/kernel.h>
struct static_key k = STATIC_KEY_INIT_TRUE;
int main(void) { return static_key_false(&k); }
"""
# One direction each: skeys' export to a kernel import, kernel's export to a skeys import.
MIXED_LIB_C = """#include <skeys/kernel.h>
SKEYS_DEFINE_FALSE(a);
SKEYS_EXPORT(a);
DEFINE_STATIC_KEY_TRUE(b);
EXPORT_SYMBOL(b);
__attribute__((visibility("default"))) int lib_sites(void);
int lib_sites(void) { return skeys_branch_unlikely(&a) + 2 * static_branch_likely(&b); }
"""
# The kernel names on a key of skeys' own type, too.
MIXED_MAIN_C = """#include <skeys/kernel.h>
IMPORT_STATIC_KEY_FALSE(a);
SKEYS_IMPORT_TRUE(b);
SKEYS_DEFINE_FALSE(own);
int lib_sites(void);
static int sites(void) { return static_branch_unlikely(&a) + 2 * skeys_branch_likely(&b); }
static int own_site(void) { return static_branch_unlikely(&own); }
int main(void)
{
	if (sites() != 2 || lib_sites() != 2) return 10;
	if (static_branch_enable(&a) || skeys_disable(&b)) return 11;
	if (sites() != 1 || lib_sites() != 1) return 12;
	if (own_site() || static_key_enabled(&own)) return 13;
	if (static_branch_inc(&own) || !own_site() || !static_key_enabled(&own)) return 14;
	if (static_branch_dec(&own) || own_site()) return 15;
	return 0;
}
"""


class Failure(Exception):
    pass


def run(cmd, expect_ok=True, want=None, env=None, also=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       env=env, timeout=120)
    print(f"[rc={p.returncode}] {' '.join(cmd)}")
    print(p.stdout, end="")
    if (p.returncode == 0) != expect_ok:
        raise Failure(f"{cmd[0]}: exit {p.returncode}, expected "
                      f"{'success' if expect_ok else 'failure'}")
    wants = [want] if isinstance(want, str) else want or []
    if wants and not any(x in p.stdout for x in wants):
        raise Failure(f"{cmd[0]}: output lacks {' or '.join(map(repr, wants))}")
    if also and also not in p.stdout:
        raise Failure(f"{cmd[0]}: output lacks {also!r}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("case")
    ap.add_argument("--include", required=True)
    ap.add_argument("--libskeys", required=True)
    ap.add_argument("--seal", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    w = a.workdir
    os.makedirs(w, exist_ok=True)
    for cc in ("gcc", "clang"):
        if shutil.which(cc) is None:
            print(f"probe: SKIP, {cc} is not installed")
            return SKIP

    def write(name, text):
        with open(os.path.join(w, name), "w") as f:
            f.write(text)
        return os.path.join(w, name)

    lib = os.path.abspath(a.libskeys)
    link = [lib, "-Wl,-rpath," + os.path.dirname(lib)]
    cflags = ["-O2", "-Wall", "-Wextra", "-Werror", "-I", a.include, "-I", w]
    write("keys.h", KEYS_H)
    site = write("site.c", SITE_C)
    obj = os.path.join(w, "site.o")
    try:
        if a.case == "legacy-mismatch":
            run(["gcc"] + cflags + [write("m.c", MISMATCH_C), "-o", w + "/m"] + link)
            run([a.seal, w + "/m", "-o", w + "/m.sealed"], expect_ok=False,
                want="unlikely site of TRUE key k")
        elif a.case == "extern-clang-pie":
            run(["clang", "-fPIE", "-DPLAIN"] + cflags + ["-c", site, "-o", obj],
                expect_ok=False, want="invalid operand for inline asm constraint 'i'")
            run(["clang", "-fPIE"] + cflags + ["-c", site, "-o", obj])
        elif a.case == "extern-gcc-pic":
            run(["gcc", "-fPIC", "-DPLAIN"] + cflags + ["-c", site, "-o", obj],
                expect_ok=False,
                # -Werror stops at the warning that precedes the error.
                want=["impossible constraint in 'asm'", "probably does not match constraints"])
            run(["gcc", "-fPIC"] + cflags + ["-c", site, "-o", obj])
        elif a.case == "extern-copy":
            main_c = write("main.c", SITE_C + "int main(void) { return site(); }\n")
            run(["gcc", "-fPIC", "-shared"] + cflags + [write("def.c", DEF_C), "-o",
                 w + "/libdef.so"] + link)
            # Same module: the plain extern is fine in a gcc PIE.
            run(["gcc", "-fPIE", "-pie", "-DPLAIN"] + cflags + [main_c, w + "/def.c", "-o",
                 w + "/one"] + link)
            run([a.seal, w + "/one", "-o", w + "/one.sealed"])
            # Another module: linked through a copy relocation, refused by skeys-seal.
            run(["gcc", "-fPIE", "-pie", "-DPLAIN"] + cflags + [main_c, "-o", w + "/two",
                 w + "/libdef.so"] + link)
            copy = ("a copy of another module's key that the loader makes (R_X86_64_COPY)"
                    ": this file names a shared library's key directly")
            fix = "IMPORT_STATIC_KEY(k, false)"
            run([a.seal, w + "/two", "-o", w + "/two.sealed"], expect_ok=False,
                want=copy, also=fix)
            # A non-PIE executable: the same copy, the same advice.
            run(["gcc", "-fno-pie", "-no-pie", "-DPLAIN"] + cflags + [main_c, "-o",
                 w + "/three", w + "/libdef.so"] + link)
            run([a.seal, w + "/three", "-o", w + "/three.sealed"], expect_ok=False,
                want=copy, also=fix)
            # The advice followed: the import line instead of the extern, in both.
            imp = write("imp.c", IMPORT_MAIN_C)
            for pie, name in ((["-fPIE", "-pie"], "four"), (["-fno-pie", "-no-pie"], "five")):
                run(["gcc"] + pie + cflags + [imp, "-o", w + "/" + name + ".unsealed",
                     w + "/libdef.so"] + link)
                run([a.seal, w + "/" + name + ".unsealed", "-o", w + "/" + name])
                run([w + "/" + name], env=dict(os.environ, LD_LIBRARY_PATH=w))
        elif a.case == "mixed-export":
            run(["gcc", "-fPIC", "-shared", "-Wl,-soname,libmixed.so"] + cflags
                + [write("mlib.c", MIXED_LIB_C), "-o", w + "/libmixed.so.unsealed"] + link)
            run([a.seal, w + "/libmixed.so.unsealed", "-o", w + "/libmixed.so"])
            run(["gcc", "-fPIE", "-pie"] + cflags + [write("mmain.c", MIXED_MAIN_C), "-o",
                 w + "/mixed.unsealed", w + "/libmixed.so.unsealed", "-Wl,-rpath,$ORIGIN"]
                + link)
            run([a.seal, w + "/mixed.unsealed", "-o", w + "/mixed"])
            run([w + "/mixed"])
        else:
            print(f"probe: unknown case {a.case}")
            return 2
    except Failure as e:
        print(f"probe {a.case}: FAIL: {e}")
        return 1
    print(f"probe {a.case}: pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
