#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Keys across modules and copies of the runtime on Windows x86-64, under
wine: the programs of tests/modules and tests/copies built as DLLs and EXEs
with mingw-w64 gcc or with clang, sealed by the native skeys-seal, run
under wine.

  modules CASE    core.dll defines and exports keys; pe_modules.exe imports
                  one and runs CASE (cross, loop, unloaded, names) with plugin.dll,
                  which imports both; all three link the libskeys DLL.
  modules exe-export
                  pe_export.exe defines and exports the keys, plugin.dll is
                  linked against the EXE's import library.
  copies          copya.dll exports a key, copyb.dll imports it, both link
                  the static libskeys; pe_copies.exe loads copyb.dll.
  copies exe      the same, with the static libskeys in pe_copies.exe too.
  copies other-version
                  copyb.dll links a static libskeys of another version
                  (--other-version-lib), which must refuse to work.

Exit: 0 pass, 1 fail, 77 skip (a compiler or wine is missing).

  run-pe-modules.py --cc gcc|clang [--ld bfd|lld] --include include
      --libskeys-dir DIR --seal skeys-seal --wine wine --prefix WINEPREFIX
      --workdir DIR [--other-version-lib LIB]
      modules cross|loop|unloaded|names|exe-export | copies [exe|other-version]
"""

import argparse
import importlib.util
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)

# The toolchain, wine and process helpers of the PE end-to-end driver.
_spec = importlib.util.spec_from_file_location("run_pe", os.path.join(HERE, "run-pe.py"))
pe = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pe)


def build_modules(tc, args, d):
    """core.dll, plugin.dll and pe_modules.exe, each against the libskeys DLL."""
    libskeys = ["-L" + os.path.abspath(args.libskeys_dir), "-lskeys"]
    core = ["-L" + d, "-lcore"]
    objs = {}
    for name, src in (("core", "modules/core.c"), ("plugin", "modules/plugin.c"),
                      ("pe_modules", "modules/modules.c")):
        objs[name] = os.path.join(d, name + ".o")
        tc.compile(os.path.join(TESTS, src), objs[name])
    tc.link([objs["core"]], os.path.join(d, "core.dll"),
            ["-shared", "-Wl,--out-implib," + os.path.join(d, "libcore.dll.a")] + libskeys)
    tc.link([objs["plugin"]], os.path.join(d, "plugin.dll"), ["-shared"] + core + libskeys)
    tc.link([objs["pe_modules"]], os.path.join(d, "pe_modules.exe"),
            core + libskeys + ["-pthread"])
    shutil.copy2(os.path.join(args.libskeys_dir, "libskeys-0.dll"), d)
    return ["core.dll", "plugin.dll", "pe_modules.exe"]


def build_exe_export(tc, args, d):
    """pe_export.exe, which exports the keys, and plugin.dll against its import library."""
    libskeys = ["-L" + os.path.abspath(args.libskeys_dir), "-lskeys"]
    exe_o, plugin_o = os.path.join(d, "exe_export.o"), os.path.join(d, "plugin.o")
    tc.compile(os.path.join(TESTS, "modules/exe_export.c"), exe_o)
    tc.compile(os.path.join(TESTS, "modules/plugin.c"), plugin_o)
    tc.link([exe_o], os.path.join(d, "pe_export.exe"),
            ["-Wl,--out-implib," + os.path.join(d, "libpe_export.a")] + libskeys)
    tc.link([plugin_o], os.path.join(d, "plugin.dll"),
            ["-shared", "-L" + d, "-lpe_export"] + libskeys)
    shutil.copy2(os.path.join(args.libskeys_dir, "libskeys-0.dll"), d)
    return ["pe_export.exe", "plugin.dll"]


def build_copies(tc, args, d):
    """copya.dll and copyb.dll, each with its own static runtime; pe_copies.exe
    with one too for `copies exe`."""
    static = [os.path.join(os.path.abspath(args.libskeys_dir), "libskeys.a"), "-pthread"]
    objs = {}
    exe_copy = args.case == "exe"
    static_b = static
    if args.case == "other-version":
        static_b = [os.path.abspath(args.other_version_lib), "-pthread"]
    for name, src in (("a", "copies/a.c"), ("b", "copies/b.c"),
                      ("pe_copies", "copies/copies.c")):
        objs[name] = os.path.join(d, name + ".o")
        tc.compile(os.path.join(TESTS, src), objs[name],
                   ["-DEXE_COPY=1"] if exe_copy and name == "pe_copies" else [])
    tc.link([objs["a"]], os.path.join(d, "copya.dll"),
            ["-shared", "-Wl,--out-implib," + os.path.join(d, "libcopya.dll.a")] + static)
    tc.link([objs["b"]], os.path.join(d, "copyb.dll"),
            ["-shared"] + static_b + ["-L" + d, "-lcopya"])
    tc.link([objs["pe_copies"]], os.path.join(d, "pe_copies.exe"),
            static if exe_copy else ["-pthread"])
    return ["copya.dll", "copyb.dll"] + (["pe_copies.exe"] if exe_copy else [])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    pe.add_common_args(ap, dump=False)
    ap.add_argument("--other-version-lib")
    ap.add_argument("what", choices=["modules", "copies"])
    ap.add_argument("case", nargs="?",
                    choices=["cross", "loop", "unloaded", "names", "exe-export", "exe",
                             "other-version"])
    args = ap.parse_args()
    if (args.what == "modules") != (args.case in ("cross", "loop", "unloaded", "names",
                                                  "exe-export")):
        ap.error("modules takes a case (cross, loop, unloaded, names, exe-export); "
                 "copies takes none, exe or other-version")
    if args.case == "other-version" and not args.other_version_lib:
        ap.error("copies other-version needs --other-version-lib")

    tc = pe.Toolchain(args)

    def body(d, env):
        if args.case == "exe-export":
            sealed = build_exe_export(tc, args, d)
            exe, argv, ok = "pe_export.exe", ["plugin.dll"], "exe-export: OK"
        elif args.what == "modules":
            sealed = build_modules(tc, args, d)
            exe, argv, ok = "pe_modules.exe", [args.case, "plugin.dll"], "modules: OK"
        else:
            sealed = build_copies(tc, args, d)
            exe, argv, ok = "pe_copies.exe", ["copyb.dll"], "copies: OK"
            if args.case == "other-version":
                argv.append("other-version")
        for f in sealed:
            pe.run([args.seal, os.path.join(d, f)], what="skeys-seal " + f)
        for dll in pe.runtime_dlls(tc):
            shutil.copy2(dll, d)
        p = pe.run([args.wine, os.path.join(d, exe)] + argv, env=env, cwd=d,
                   what="run " + exe, timeout=300)
        sys.stdout.write(p.stdout[-4000:])
        if ok not in p.stdout:
            sys.stdout.write(p.stderr[-4000:])
            raise pe.Failure(f"{exe}: no '{ok}'")

    return pe.drive(tc, args, (args.seal,), body)


if __name__ == "__main__":
    sys.exit(main())
