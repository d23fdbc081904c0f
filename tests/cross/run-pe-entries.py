#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Function entries on Windows x86-64, under wine: tests/cross/pe_entries.c
as an EXE, tests/entries/entries_lib.c as a DLL it links against and
entries_plugin.c as a DLL it loads later, all built with
-fpatchable-function-entry=5, linked against the libskeys DLL of this cross
build and sealed by the native skeys-seal. Modes:

  run      (gcc) skeys-dump lists every patchable function of the EXE and
           the DLL (ok, 5 nops, none before the symbol) and the plugin's
           (=7,2: 2 of its 7 nops before the symbol; it prefers the DLL's
           base, so the loader moves it), ent_plain not; the
           unsealed EXE's attach is SKEYS_ERR_UNSEALED; sealed, every pad is
           the 5-byte nop and skeys-seal --check passes; then the sealed
           program runs with both write methods (pe_entries.c says what it
           checks), and pe_save_modes.exe (the static libskeys) checks the
           arguments with the stub routine saving xmm0-5 at each width the
           CPU has. A stripped DLL's list is found too (its section name cut
           to `__patcha`), and refused for want of symbols. Linked with
           --gc-sections, the EXE has no list, unless linked with the shipped
           script (--keep-script), which keeps it whole.
  tamper   (gcc) a pad's nop changed in the DLL: skeys-seal exits 1 naming
           the function and leaves the file as it was, skeys-dump exits 1
           and says not ok; a sealed EXE whose pad was changed afterwards:
           skeys-seal --check exits 1.
  clang    clang lists no patchable function on PE: skeys-dump shows none,
           skeys-seal seals the keys, and every attach is
           SKEYS_ERR_NOTPATCHABLE.

Exit: 0 pass, 1 fail, 77 skip (a compiler or wine is missing).

  run-pe-entries.py --cc gcc|clang --mode run|tamper|clang
      --include include --libskeys-dir DIR --seal skeys-seal --dump skeys-dump
      --keep-script skeys-pe.ld --wine wine --prefix WINEPREFIX --workdir DIR
"""

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
ENTRIES = os.path.join(TESTS, "entries")

_spec = importlib.util.spec_from_file_location("run_pe", os.path.join(HERE, "run-pe.py"))
pe = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pe)
Failure = pe.Failure
# Where an address lies in a file: tests/driver.py, on tests/objfile.py.
sys.path.insert(0, TESTS)
import driver  # noqa: E402

PATCHABLE = ["-fpatchable-function-entry=5"]
PLUGIN_PATCHABLE = "-fpatchable-function-entry=7,2"
# entries.dll and the plugin prefer one base: the loader must move the plugin,
# whose list then holds relocated addresses.
SHARED_BASE = "0x380000000"
LIB_FUNCTIONS = {"ent_add1", "ent_add2", "ent_mul3", "ent_args", "ent_big"}
EXE_FUNCTIONS = {"exe_add5", "exe_add7", "exe_floats", "exe_mixed", "exe_sum", "exe_last_error",
                 "exe_keyed"}


def build(tc, args, d):
    """entries.dll, entries_plugin.dll and pe_entries.exe."""
    libskeys = ["-L" + os.path.abspath(args.libskeys_dir), "-lskeys"]
    inc = ["-I", ENTRIES, "-I", TESTS] + PATCHABLE
    lib_o, plugin_o, exe_o = (os.path.join(d, n) for n in ("lib.o", "plugin.o", "exe.o"))
    tc.compile(os.path.join(ENTRIES, "entries_lib.c"), lib_o, inc)
    # The plugin with nops before its functions' symbols (=7,2), a module of its own.
    tc.compile(os.path.join(ENTRIES, "entries_plugin.c"), plugin_o, inc + [PLUGIN_PATCHABLE])
    tc.compile(os.path.join(HERE, "pe_entries.c"), exe_o,
               inc + ['-DENTRIES_DLL="entries.dll"', '-DENTRIES_PLUGIN="entries_plugin.dll"',
                      "-DPLUGIN_BASE=" + SHARED_BASE])
    args_o = os.path.join(d, "args.o")
    tc.compile(os.path.join(HERE, "pe_entries_args.c"), args_o, inc)
    dll = os.path.join(d, "entries.dll")
    base = "-Wl,--image-base," + SHARED_BASE
    tc.link([lib_o], dll, ["-shared", base,
                           "-Wl,--out-implib," + os.path.join(d, "libentries.dll.a")] + libskeys)
    tc.link([plugin_o], os.path.join(d, "entries_plugin.dll"), ["-shared", base] + libskeys)
    exe = os.path.join(d, "pe_entries.exe")
    tc.link([exe_o, args_o], exe, ["-L" + d, "-lentries"] + libskeys)
    for f in [os.path.join(args.libskeys_dir, "libskeys-0.dll")] + pe.runtime_dlls(tc):
        shutil.copy2(f, d)
    return exe, dll, os.path.join(d, "entries_plugin.dll")


def build_save_modes(tc, args, d):
    """pe_save_modes.exe, with the static libskeys alone (its test hook)."""
    o, exe = os.path.join(d, "save_modes.o"), os.path.join(d, "pe_save_modes.exe")
    tc.compile(os.path.join(HERE, "pe_save_modes.c"), o, ["-I", ENTRIES, "-I", TESTS])
    tc.link([o, os.path.join(d, "args.o")], exe,
            [os.path.join(os.path.abspath(args.libskeys_dir), "libskeys.a"), "-pthread"])
    return exe


def dump(args, path, expect=0):
    p = pe.run([args.dump, "--json", path], expect=expect, what="skeys-dump --json")
    doc = json.loads(p.stdout)
    return doc, {f["function"].split("+")[0]: f for f in doc.get("function_entries", [])}


def check_listed(args, path, want, nops=5, prefix=0):
    """Every function of `want` listed, ok, `nops` nops, `prefix` of them
    before the symbol; ent_plain not."""
    doc, fns = dump(args, path)
    if doc.get("format") != "pe" or doc.get("arch") != "x86_64":
        raise Failure(f"{path}: format/arch {doc.get('format')}/{doc.get('arch')}")
    for name in want:
        f = fns.get(name)
        if not f or not f["ok"] or f["nops"] != nops or f["prefix"] != prefix or \
                f["function"] != name + "+0x0":
            raise Failure(f"{os.path.basename(path)}: function entry {name} is {f!r} "
                          f"(listed: {sorted(fns)})")
    if "ent_plain" in fns:
        raise Failure(f"{os.path.basename(path)}: ent_plain (no nops) is listed")
    return fns


def run_exe(args, env, exe, argv, ok):
    p = pe.run([args.wine, exe] + list(argv), env=env, cwd=os.path.dirname(exe),
               what="run " + " ".join([os.path.basename(exe)] + list(argv)), timeout=300)
    sys.stdout.write(p.stdout[-2000:])
    if ok not in p.stdout:
        sys.stdout.write(p.stderr[-4000:])
        raise Failure(f"{exe}: no '{ok}'")
    return p


def file_offset(path, addr):
    try:
        return driver.file_offset(path, addr)
    except driver.Failure as e:
        raise Failure(str(e))


def pad_bytes(path, addr, n=5):
    with open(path, "rb") as f:
        f.seek(file_offset(path, addr))
        return f.read(n)


def case_run(tc, args, d, env):
    exe, dll, plugin = build(tc, args, d)
    check_listed(args, dll, LIB_FUNCTIONS)
    check_listed(args, plugin, {"ent_plugin_fn"}, nops=7, prefix=2)
    fns = check_listed(args, exe, EXE_FUNCTIONS)
    # gcc put exe_keyed's key site right after its pad: one run of 10 nops.
    sites = [s["function"] for s in dump(args, exe)[0]["sites"] if s["key"] == "entries_key"]
    if sites != ["exe_keyed+0x5"]:
        raise Failure(f"entries_key's sites are {sites}, expected exe_keyed+0x5")
    run_exe(args, env, exe, ["unsealed"], "pe-entries: ok (unsealed)")
    # Stripped: by strip, the list's section keeps its long name in a string
    # table without symbols; linked with -s, it is cut to `__patcha`. Either
    # way the list is found, and then nothing says where each function
    # starts in its nops, so skeys-seal asks for the symbols.
    strip = tc.linker.replace("-gcc", "-strip")
    stripped, linked_s = os.path.join(d, "stripped.dll"), os.path.join(d, "linked-s.dll")
    pe.run([strip, "-o", stripped, dll], what="strip entries.dll")
    tc.link([os.path.join(d, "lib.o")], linked_s,
            ["-shared", "-s", "-L" + os.path.abspath(args.libskeys_dir), "-lskeys"])
    for f in (stripped, linked_s):
        p = pe.run([args.seal, f], expect=1, what="skeys-seal (stripped)")
        if "seal before stripping the symbol table" not in p.stderr:
            raise Failure(f"{os.path.basename(f)}: {p.stderr}")
    for f in (dll, plugin, exe):
        pe.run([args.seal, f], what="skeys-seal " + os.path.basename(f))
        pe.run([args.seal, "--check", f], what="skeys-seal --check " + os.path.basename(f))
    sealed = check_listed(args, exe, EXE_FUNCTIONS)
    check_listed(args, plugin, {"ent_plugin_fn"}, nops=7, prefix=2)
    for name in EXE_FUNCTIONS:
        got = pad_bytes(exe, int(sealed[name]["address"], 16))
        if got != bytes.fromhex("0f1f440000"):
            raise Failure(f"sealed {name}: pad {got.hex()}, expected 0f1f440000")
    if fns.keys() != sealed.keys():
        raise Failure(f"sealing changed the list: {sorted(fns)} -> {sorted(sealed)}")
    for method in ("procmem", "mprotect"):
        run_exe(args, dict(env, SKEYS_WRITE=method), exe, ["sealed"], "pe-entries: ok (sealed)")
    modes = build_save_modes(tc, args, d)
    check_listed(args, modes, {"exe_floats", "exe_mixed", "exe_sum"})
    pe.run([args.seal, modes], what="skeys-seal pe_save_modes.exe")
    run_exe(args, env, modes, [], "pe-save-modes: ok")
    check_gc(tc, args, d)


def check_gc(tc, args, d):
    """--gc-sections: nothing refers to the compiler's list, so GNU ld drops
    it and no function is listed; the shipped script keeps it (and with it
    every function it lists)."""
    objs = [os.path.join(d, "exe.o"), os.path.join(d, "args.o")]
    plain, kept = os.path.join(d, "gc-plain.exe"), os.path.join(d, "gc.exe")
    libs = ["-L" + d, "-lentries", "-L" + os.path.abspath(args.libskeys_dir), "-lskeys",
            "-Wl,--gc-sections"]
    tc.link(objs, plain, libs)
    tc.link(objs, kept, libs + ["-Wl,-T," + os.path.abspath(args.keep_script)])
    if dump(args, plain)[1]:
        raise Failure("--gc-sections without the script: the list is still there")
    check_listed(args, kept, EXE_FUNCTIONS)
    pe.run([args.seal, kept], what="skeys-seal (gc)")


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def case_tamper(tc, args, d, env):
    exe, dll, _ = build(tc, args, d)
    _, fns = dump(args, dll)
    addr = int(fns["ent_add2"]["address"], 16)
    off = file_offset(dll, addr)
    data = bytearray(open(dll, "rb").read())
    if data[off:off + 5] != b"\x90" * 5:
        raise Failure(f"ent_add2's pad is {data[off:off + 5].hex()}, expected 9090909090")
    data[off + 2] = 0xcc
    bad = os.path.join(d, "entries-bad.dll")
    open(bad, "wb").write(data)
    before = digest(bad)
    p = pe.run([args.seal, bad], expect=1, what="skeys-seal (tampered pad)")
    if f"ent_add2+0x0 (0x{addr:x}): error: function entry:" not in p.stderr:
        sys.stdout.write(p.stderr)
        raise Failure("no diagnostic naming ent_add2")
    if digest(bad) != before:
        raise Failure("skeys-seal changed a file that failed verification")
    doc, bad_fns = dump(args, bad, expect=1)
    if doc["ok"] is not False or bad_fns["ent_add2"]["ok"] is not False:
        raise Failure(f"skeys-dump --json: ok {doc['ok']}, ent_add2 {bad_fns['ent_add2']}")

    # Sealed, then a pad changed: --check refuses it.
    pe.run([args.seal, exe], what="skeys-seal pe_entries.exe")
    _, efns = dump(args, exe)
    addr = int(efns["exe_add5"]["address"], 16)
    off = file_offset(exe, addr)
    data = bytearray(open(exe, "rb").read())
    data[off:off + 5] = b"\x90" * 5
    changed = os.path.join(d, "pe_entries-changed.exe")
    open(changed, "wb").write(data)
    p = pe.run([args.seal, "--check", changed], expect=1, what="skeys-seal --check (changed)")
    if "exe_add5+0x0" not in p.stderr or "sealed patch point" not in p.stderr:
        sys.stdout.write(p.stderr)
        raise Failure("--check does not name exe_add5's pad")


def case_clang(tc, args, d, env):
    exe, dll, plugin = build(tc, args, d)
    for f in (exe, dll, plugin):
        doc, fns = dump(args, f)
        if fns or not doc["ok"]:
            raise Failure(f"{os.path.basename(f)}: clang listed {sorted(fns)}, ok {doc['ok']}")
        pe.run([args.seal, f], what="skeys-seal " + os.path.basename(f))
        pe.run([args.seal, "--check", f], what="skeys-seal --check " + os.path.basename(f))
    run_exe(args, env, exe, ["clang"], "pe-entries: ok (clang)")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    pe.add_common_args(ap, triples=["x86_64-w64-mingw32"], lds=["bfd"])
    ap.add_argument("--keep-script", required=True)
    ap.add_argument("--mode", choices=["run", "tamper", "clang"], required=True)
    args = ap.parse_args()

    tc = pe.Toolchain(args)
    case = {"run": case_run, "tamper": case_tamper, "clang": case_clang}[args.mode]
    return pe.drive(tc, args, (args.seal, args.dump), lambda d, env: case(tc, args, d, env))


if __name__ == "__main__":
    sys.exit(main())
