#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What docs/kernel.md says happens to kernel code that <skeys/kernel.h>
cannot make work, checked: each case builds a small program and expects the
documented outcome (a compiler message, a skeys-seal refusal) or, for the
documented fix, success. x86-64 compilers of the build machine.

  probe.py CASE --include DIR --libskeys LIB --seal SEAL --workdir DIR
Cases: legacy-mismatch, extern-clang-pie, extern-gcc-pic, extern-copy,
plain-copy, forged-cell, mentions, not-elf, runtime-index, mixed-export.
Exit 0 pass, 1 fail, 77 skip (a compiler is missing).
"""

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import objfile  # noqa: E402

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
# Kernel code sharing a key across a shared library by declarations only,
# the program switching it from its own code: gcc's PIE then copies the key
# into the program (a copy relocation), and the library follows the copy.
PLAIN_H = """#include <skeys/kernel.h>
DECLARE_STATIC_KEY_FALSE(k);
int lib_site(void);
int lib_enable(void);
"""
PLAIN_LIB_C = """#include "plain.h"
DEFINE_STATIC_KEY_FALSE(k);
EXPORT_SYMBOL_GPL(k);
int lib_site(void) { return static_branch_unlikely(&k); }
int lib_enable(void) { return static_branch_enable(&k); }
"""
PLAIN_MAIN_C = """#include "plain.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int site(void) { return static_branch_unlikely(&k); }
int main(void)
{
	int want = getenv("SKEYS_ENABLE") && !strcmp(getenv("SKEYS_ENABLE"), "k");
	if (site() != want || lib_site() != want || static_key_enabled(&k) != want) return 10;
	if (skeys_find("k") != &k.key.skeys__key) return 11;
	if (static_branch_disable(&k) || site() || lib_site()) return 12;
	if (static_branch_enable(&k) || !site() || !lib_site()) return 13;
	if (static_branch_disable(&k) || lib_enable() || !site() || !lib_site()) return 14;
	if (static_branch_dec(&k) || site() || lib_site() || static_key_enabled(&k)) return 15;
	puts("plain-copy: sites of both modules followed the key");
	return 0;
}
"""

# A site on a key of this module, through a cell whose slot the loader fills
# with a relative address: what the forged-cell case corrupts.
CELL_C = """#include <skeys/kernel.h>
DEFINE_STATIC_KEY_FALSE(k);
int main(void) { return static_branch_unlikely(&k); }
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

# skeys_module_mentions: a key switched while a module that is not sealed
# names it, through a cell (DECLARE) or through a cell standing for its
# import (IMPORT): the switch fails with SKEYS_ERR_UNSEALED instead of
# leaving that module's site behind.
MENTIONS_DEF_C = """#include <skeys/kernel.h>
DEFINE_STATIC_KEY_FALSE(k);
EXPORT_SYMBOL(k);
__attribute__((visibility("default"))) int def_enable(void);
int def_enable(void) { return static_branch_enable(&k); }
"""
MENTIONS_USE_C = """#include <skeys/kernel.h>
#ifdef IMPORT
IMPORT_STATIC_KEY_FALSE(k);
#else
DECLARE_STATIC_KEY_FALSE(k);
#endif
__attribute__((visibility("default"))) int use_site(void);
int use_site(void) { return static_branch_unlikely(&k); }
"""
MENTIONS_MAIN_C = """#include <skeys.h>
#include <stdio.h>
int def_enable(void);
int use_site(void);
int main(void)
{
	int err = def_enable();
	printf("enable: %s, the unsealed module's site %d\\n", skeys_strerror(err), use_site());
	return err == SKEYS_ERR_UNSEALED && !use_site() ? 0 : 1;
}
"""

RUNTIME_INDEX_C = """#include <skeys/kernel.h>
extern struct static_key_false keys[4];
int site(int i);
int site(int i) { return static_branch_unlikely(&keys[i]); }
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


def lib_and_program(a, w, cflags, link, name, lib_c, main_c, check=None):
    """lib<name>.so from lib_c and the PIE <name> from main_c linked against it,
    both sealed; check(unsealed program) runs before sealing."""
    src_lib, src_main = (os.path.join(w, name + "-lib.c"), os.path.join(w, name + "-main.c"))
    for path, text in ((src_lib, lib_c), (src_main, main_c)):
        with open(path, "w") as f:
            f.write(text)
    lib = f"{w}/lib{name}.so"
    run(["gcc", "-fPIC", "-shared", f"-Wl,-soname,lib{name}.so"] + cflags
        + [src_lib, "-o", lib + ".unsealed"] + link)
    run([a.seal, lib + ".unsealed", "-o", lib])
    run(["gcc", "-fPIE", "-pie"] + cflags + [src_main, "-o", f"{w}/{name}.unsealed",
         lib + ".unsealed", "-Wl,-rpath,$ORIGIN"] + link)
    if check:
        check(f"{w}/{name}.unsealed")
    run([a.seal, f"{w}/{name}.unsealed", "-o", f"{w}/{name}"])


def forged_cell(a, w, cflags, link, src):
    """skeys-seal on cells that a corrupted file makes lie: each forgery of a
    sealable PIE is refused, saying what is wrong, and the file is unchanged."""
    good = w + "/cell"
    run(["gcc", "-fPIE", "-pie"] + cflags + [src, "-o", good] + link)
    run([a.seal, good, "-o", good + ".sealed"])  # the unforged file seals
    with open(good, "rb") as f:
        data = f.read()
    dump = subprocess.run([a.seal.replace("skeys-seal", "skeys-dump"), "--json", good],
                          stdout=subprocess.PIPE, text=True, check=True)
    keys = json.loads(dump.stdout)["keys"]
    # skeys-dump names a site's cell after the key its slot names; the named
    # cell is the key's name, not an import.
    cell = int(next(k for k in keys if k["name"] == "cell(k)")["address"], 16)
    named = int(next(k for k in keys if k["name"] == "k" and not k["import"])["address"], 16)
    secs = objfile.elf_sections(data)

    def file_off(addr):
        s = next(s for s in secs if s["type"] != objfile.SHT_NOBITS and s["addr"] <= addr
                 < s["addr"] + s["size"] and s["addr"])
        return s["offset"] + addr - s["addr"]

    def rela_addend(addr):
        """File offset of the addend of the RELA entry applying at addr."""
        rela = next(s for s in secs if s["name"] == ".rela.dyn")
        for off in range(rela["offset"], rela["offset"] + rela["size"], 24):
            if struct.unpack_from("<Q", data, off)[0] == addr:
                return off + 16
        raise Failure(f"no relocation at {addr:#x}")

    main_addr = int(subprocess.run(["nm", good], stdout=subprocess.PIPE, text=True,
                                   check=True).stdout.split(" T main")[0].split()[-1], 16)
    forgeries = [
        # A named cell's flags without the proxy flag.
        ("named-no-proxy", file_off(named + 4), struct.pack("<I", 0x534b0004),
         "a named cell (0x4) that is no proxy"),
        # The site's cell names a function instead of the key.
        ("slot-not-key", rela_addend(cell + 16), struct.pack("<Q", main_addr),
         "which is not a key"),
        # The site's cell names the key, but says its sites are of a TRUE key.
        ("initial", file_off(cell + 4), struct.pack("<I", 0x534b0003),
         "a cell for sites of a TRUE key names key k"),
        # A named cell whose link is not its slot.
        ("named-link", rela_addend(named + 8), struct.pack("<Q", named + 32),
         "whose link is not its own slot"),
    ]
    for name, off, new, want in forgeries:
        bad = bytearray(data)
        bad[off:off + len(new)] = new
        path = f"{w}/cell-{name}"
        with open(path, "wb") as f:
            f.write(bad)
        run([a.seal, path, "-o", path + ".sealed"], expect_ok=False, want=want)
        with open(path, "rb") as f:
            if f.read() != bad:
                raise Failure(f"{path}: skeys-seal changed its input")
        if os.path.exists(path + ".sealed"):
            raise Failure(f"{path}.sealed: written although verification failed")


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
            # Direct sites: a cell's key may be of another module, which
            # skeys-seal cannot read (docs/kernel.md).
            run(["gcc", "-DSKEYS_KERNEL_DIRECT"] + cflags + [write("m.c", MISMATCH_C), "-o",
                 w + "/m"] + link)
            run([a.seal, w + "/m", "-o", w + "/m.sealed"], expect_ok=False,
                want="unlikely site of TRUE key k")
            # Through a cell (C, PIE): the cell's key is of this file here, so
            # skeys-seal reads it and says the same.
            run(["gcc", "-fPIE", "-pie"] + cflags + [w + "/m.c", "-o", w + "/mc"] + link)
            run([a.seal, w + "/mc", "-o", w + "/mc.sealed"], expect_ok=False,
                want="a cell for sites of a FALSE key names key k (")
        elif a.case == "extern-clang-pie":
            # C and C++: the site goes through a cell; direct sites
            # (SKEYS_KERNEL_DIRECT) cannot name a default-visibility extern.
            for how in ([], ["-x", "c++"]):
                run(["clang", "-fPIE", "-DPLAIN"] + how + cflags + ["-c", site, "-o", obj])
            for how in (["-DSKEYS_KERNEL_DIRECT"], ["-DSKEYS_KERNEL_DIRECT", "-x", "c++"]):
                run(["clang", "-fPIE", "-DPLAIN"] + how + cflags + ["-c", site, "-o", obj],
                    expect_ok=False, want="invalid operand for inline asm constraint 'i'")
                run(["clang", "-fPIE"] + how + cflags + ["-c", site, "-o", obj])
        elif a.case == "extern-gcc-pic":
            for how in ([], ["-x", "c++"]):
                run(["gcc", "-fPIC", "-DPLAIN"] + how + cflags + ["-c", site, "-o", obj])
            for how in (["-DSKEYS_KERNEL_DIRECT"], ["-DSKEYS_KERNEL_DIRECT", "-x", "c++"]):
                run(["gcc", "-fPIC", "-DPLAIN"] + how + cflags + ["-c", site, "-o", obj],
                    expect_ok=False,
                    # -Werror stops at the warning that precedes the error.
                    want=["impossible constraint in 'asm'",
                          "probably does not match constraints"])
                run(["gcc", "-fPIC"] + how + cflags + ["-c", site, "-o", obj])
        elif a.case == "extern-copy":
            main_c = write("main.c", SITE_C + "int main(void) { return site(); }\n")
            run(["gcc", "-fPIC", "-shared"] + cflags + [write("def.c", DEF_C), "-o",
                 w + "/libdef.so"] + link)
            # Same module: the plain extern is fine in a gcc PIE.
            run(["gcc", "-fPIE", "-pie", "-DPLAIN"] + cflags + [main_c, w + "/def.c", "-o",
                 w + "/one"] + link)
            run([a.seal, w + "/one", "-o", w + "/one.sealed"])
            # Another module, direct sites (SKEYS_KERNEL_DIRECT): linked through a
            # copy relocation, refused by skeys-seal.
            run(["gcc", "-fPIE", "-pie", "-DPLAIN", "-DSKEYS_KERNEL_DIRECT"] + cflags
                + [main_c, "-o", w + "/two", w + "/libdef.so"] + link)
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
        elif a.case == "plain-copy":
            write("plain.h", PLAIN_H)
            lib_and_program(a, w, cflags, link, "plain", PLAIN_LIB_C, PLAIN_MAIN_C,
                            # The case this checks: the key really is copied into the program.
                            lambda prog: run(["readelf", "-rW", prog], want="R_X86_64_COPY"))
            run([w + "/plain"], want="followed the key")
            run([w + "/plain"], env=dict(os.environ, SKEYS_ENABLE="k", SKEYS_LOG="1"),
                want="followed the key")
        elif a.case == "forged-cell":
            forged_cell(a, w, cflags, link, write("cell.c", CELL_C))
        elif a.case == "mentions":
            run(["gcc", "-fPIC", "-shared", "-Wl,-soname,libmdef.so"] + cflags
                + [write("mdef.c", MENTIONS_DEF_C), "-o", w + "/libmdef.so.unsealed"] + link)
            run([a.seal, w + "/libmdef.so.unsealed", "-o", w + "/libmdef.so"])
            use = write("muse.c", MENTIONS_USE_C)
            main = write("mmain.c", MENTIONS_MAIN_C)
            for how in ([], ["-DIMPORT"]):
                # libmuse.so is left unsealed on purpose.
                run(["gcc", "-fPIC", "-shared", "-Wl,-soname,libmuse.so"] + how + cflags
                    + [use, "-o", w + "/libmuse.so", w + "/libmdef.so"] + link)
                run(["gcc", "-fPIE", "-pie"] + cflags + [main, "-o", w + "/mmain.unsealed",
                     w + "/libmdef.so", w + "/libmuse.so", "-Wl,-rpath,$ORIGIN"] + link)
                run([a.seal, w + "/mmain.unsealed", "-o", w + "/mmain"])
                run([w + "/mmain"], want="enable: " )
        elif a.case == "not-elf":
            # Cells are ELF only: on Mach-O and PE a site on a plain extern
            # key is a direct site, refused with the compilers' own messages
            # (docs/kernel.md, "Platforms").
            if shutil.which("x86_64-w64-mingw32-gcc") is None:
                print("probe: SKIP, x86_64-w64-mingw32-gcc is not installed")
                return SKIP
            clang_msg = "invalid operand for inline asm constraint 'i'"
            for target in (["--target=x86_64-apple-macos11", "-ffreestanding"],
                           ["--target=x86_64-w64-mingw32"]):
                run(["clang"] + target + ["-DPLAIN"] + cflags + ["-c", site, "-o", obj],
                    expect_ok=False, want=clang_msg)
            run(["x86_64-w64-mingw32-gcc", "-DPLAIN"] + cflags + ["-c", site, "-o", obj],
                expect_ok=False, want=["impossible constraint in 'asm'",
                                       "probably does not match constraints"])
            # clang for arm64 macOS compiles it; a key of another image then
            # fails to link into a program (the table entry's key is relative
            # to the entry: ld64.lld says "relocation SUBTRACTOR is out of
            # range"), and links into a dylib as address 0, which skeys-seal
            # refuses, naming the import line.
            ld64 = shutil.which("ld64.lld") or shutil.which("ld64.lld-14")
            if ld64 is None:
                print("probe: ld64.lld is not installed: arm64 macOS link not checked")
            else:
                macos = ["clang", "--target=arm64-apple-macos11", "-ffreestanding"] + cflags
                tbd = [os.path.join(HERE, "..", "tool", "macho", t)
                       for t in ("libSystem.tbd", "libskeys.tbd")]
                ldf = [ld64, "-arch", "arm64", "-platform_version", "macos", "11.0", "11.0"]
                run(macos + ["-c", write("def.c", DEF_C), "-o", w + "/def.o"])
                run(macos + ["-DPLAIN", "-c", site, "-o", w + "/site-arm64.o"])
                run(ldf + ["-dylib", "-install_name", "@rpath/libdef.dylib", w + "/def.o"] + tbd
                    + ["-o", w + "/libdef.dylib"])
                run(ldf + ["-e", "_site", w + "/site-arm64.o", w + "/libdef.dylib"] + tbd
                    + ["-o", w + "/site-arm64"],
                    expect_ok=False, want="relocation SUBTRACTOR is out of range")
                run(ldf + ["-dylib", "-install_name", "@rpath/libsite.dylib",
                           w + "/site-arm64.o", w + "/libdef.dylib"] + tbd
                    + ["-o", w + "/libsite.dylib"])
                run([a.seal, w + "/libsite.dylib", "-o", w + "/libsite.sealed.dylib"],
                    expect_ok=False, want="at address 0: this file names another image's key",
                    also="IMPORT_STATIC_KEY_FALSE(NAME)")
        elif a.case == "runtime-index":
            # A key named by a runtime expression is no link-time constant:
            # refused at compile time with a message naming it (gcc's "X"
            # alone would crash gcc), C and C++, cells and direct sites.
            rt = write("rt.c", RUNTIME_INDEX_C)
            for cc, how, want in (
                    ("gcc", [], "initializer element is not constant"),
                    ("gcc", ["-x", "c++"], "is not a constant expression"),
                    ("clang", [], "invalid operand for inline asm constraint 's'"),
                    ("clang", ["-x", "c++"], "cannot be implicitly captured"),
                    ("gcc", ["-DSKEYS_KERNEL_DIRECT"], ["impossible constraint in 'asm'",
                                                       "probably does not match constraints"])):
                for pic in ("-fPIE", "-fPIC"):
                    run([cc, pic] + how + cflags + ["-c", rt, "-o", obj], expect_ok=False,
                        want=want)
        elif a.case == "mixed-export":
            lib_and_program(a, w, cflags, link, "mixed", MIXED_LIB_C, MIXED_MAIN_C)
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
