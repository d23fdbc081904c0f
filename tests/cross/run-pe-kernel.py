#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""<skeys/kernel.h> keys shared between an EXE and a DLL on i686 PE, with
mingw-w64 gcc (the one PE compiler that takes a plain `extern` key at a
site: gcc for x86-64 and clang refuse it, kernel@probe-not-elf), under wine.

  export   the DLL defines `struct static_key k` and EXPORT_SYMBOL(k), the
           kernel's way; the EXE names it by a plain `extern`: the link
           fails ("undefined reference to `k'"), EXPORT_SYMBOL exporting
           only skeys' pointer to the key.
  auto     the DLL exports `k` itself (--export-all-symbols): the link
           succeeds (auto-import), and skeys-seal refuses the EXE, naming
           the import table and the import line to write.
  import   the fix both messages name: IMPORT_STATIC_KEY_FALSE(k) in the
           EXE; sealed, run under wine, the EXE's switch moves the sites of
           both modules.

Exit: 0 pass, 1 fail, 77 skip (a compiler or wine is missing).

  run-pe-kernel.py --triple i686-w64-mingw32 --cc gcc --include DIR
      --libskeys-dir DIR --seal skeys-seal --dump skeys-dump (not used)
      --wine wine --prefix WINEPREFIX --workdir DIR
"""

import argparse
import importlib.util
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# The toolchain, wine and process helpers of the PE end-to-end driver.
_spec = importlib.util.spec_from_file_location("run_pe", os.path.join(HERE, "run-pe.py"))
pe = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pe)

LIB_C = """#include <skeys/kernel.h>
struct static_key k = STATIC_KEY_INIT_FALSE;
EXPORT_SYMBOL(k);
__declspec(dllexport) int lib_site(void);
__declspec(dllexport) int lib_site(void) { return static_key_false(&k); }
"""
MAIN_C = """#include <stdio.h>
#include <skeys/kernel.h>
#ifdef IMPORT
IMPORT_STATIC_KEY_FALSE(k);
#define KEY (&k.key)
#else
extern struct static_key k;
#define KEY (&k)
#endif
__declspec(dllimport) int lib_site(void);
static int site(void) { return static_key_false(KEY); }
int main(void)
{
	int before = site() + lib_site();
	int r = static_key_enable(KEY);
	int after = site() + lib_site();
	printf("before %d, enable %d, after %d\\n", before, r, after);
	if (before == 0 && r == 0 && after == 2)
		printf("e2e: OK\\n");
	return 0;
}
"""
AUTO_WANT = ["is not a key: in section .idata, the import address table",
             "IMPORT_STATIC_KEY_FALSE(NAME)"]


def body(tc, args, d, env):
    libskeys = ["-L" + os.path.abspath(args.libskeys_dir), "-lskeys"]
    for name, text in (("lib.c", LIB_C), ("main.c", MAIN_C)):
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    lib_o, main_o, imp_o = (os.path.join(d, n) for n in ("lib.o", "main.o", "imp.o"))
    tc.compile(os.path.join(d, "lib.c"), lib_o)
    tc.compile(os.path.join(d, "main.c"), main_o)
    tc.compile(os.path.join(d, "main.c"), imp_o, ["-DIMPORT"])

    # export: the kernel's EXPORT_SYMBOL does not export the key itself.
    tc.link([lib_o], os.path.join(d, "kb.dll"),
            ["-shared", "-Wl,--out-implib," + os.path.join(d, "libkb.dll.a")] + libskeys)
    p = pe.run([tc.linker, main_o, "-o", os.path.join(d, "export.exe"), "-L" + d, "-lkb"]
               + libskeys, expect=None, what="link export.exe (must fail)")
    if "undefined reference to `k'" not in p.stderr:
        raise pe.Failure("link export.exe: expected \"undefined reference to `k'\"")

    # auto: the DLL exports k; the EXE links by auto-import; skeys-seal refuses it.
    auto = os.path.join(d, "auto")
    os.makedirs(auto)
    tc.link([lib_o], os.path.join(auto, "kb.dll"),
            ["-shared", "-Wl,--export-all-symbols",
             "-Wl,--out-implib," + os.path.join(auto, "libkb.dll.a")] + libskeys)
    tc.link([main_o], os.path.join(auto, "auto.exe"), ["-L" + auto, "-lkb"] + libskeys)
    p = pe.run([args.seal, os.path.join(auto, "auto.exe"), "-o",
                os.path.join(auto, "auto.sealed.exe")], expect=1, what="skeys-seal auto.exe")
    for want in AUTO_WANT:
        if want not in p.stderr:
            raise pe.Failure(f"skeys-seal auto.exe: expected {want!r} in: {p.stderr}")
    if os.path.exists(os.path.join(auto, "auto.sealed.exe")):
        raise pe.Failure("skeys-seal auto.exe: wrote a file after refusing it")

    # import: the EXE imports the key; both sealed; run under wine.
    run_dir = os.path.join(d, "import")
    os.makedirs(run_dir)
    tc.link([imp_o], os.path.join(d, "import.exe"), ["-L" + d, "-lkb"] + libskeys)
    for name in ("kb.dll", "import.exe"):
        pe.run([args.seal, os.path.join(d, name), "-o", os.path.join(run_dir, name)],
               what="skeys-seal " + name)
    for dll in [os.path.join(args.libskeys_dir, "libskeys-0.dll")] + pe.runtime_dlls(tc):
        shutil.copy2(dll, run_dir)
    pe.run_wine(args, env, os.path.join(run_dir, "import.exe"), what="run import.exe")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    pe.add_common_args(ap, triples=["i686-w64-mingw32"], lds=("bfd",))
    args = ap.parse_args()
    tc = pe.Toolchain(args)
    return pe.drive(tc, args, [args.seal], lambda d, env: body(tc, args, d, env))


if __name__ == "__main__":
    sys.exit(main())
