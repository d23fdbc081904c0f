#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Static calls on Windows x86-64 or i686 (--triple), under wine: the program
of tests/calls built with mingw-w64 gcc or clang, as C or C++, as an EXE
whose calls also target a DLL with a static call of its own (calls_lib.c),
linked against the libskeys DLL of this cross build and sealed by the native
skeys-seal. Modes:

  run      skeys-dump lists every call (kind, initial target, ok); the
           unsealed EXE's update is refused; sealed, it runs with both write
           methods: near and far targets (msvcrt's functions and the DLL's
           are out of rel32 reach on x86-64; i386's rel32 reaches every
           address), NULL and RET0, the kernel's names, a breakpoint on a
           trampoline refused, threads calling while the main thread
           updates 2,000 times; a call the DLL exports (SKEYS_EXPORT_CALL)
           imported by the EXE and by a plugin DLL the EXE loads, updates
           through either side and the plugin, then FreeLibrary. With --keep-script (GNU ld), the EXE linked
           with --gc-sections again: without the script its call table's
           entries are gone and skeys-seal refuses it, with it every call is
           kept and the sealed EXE runs.
  tamper   a trampoline changed in the file: skeys-seal exits 1 naming it and
           writes nothing, skeys-dump exits 1 and says not ok; a sealed call
           table changed afterwards: skeys-seal --check exits 1 and the
           runtime refuses updates; its version changed (a module built
           against other headers): both refuse it, naming the versions.

Exit: 0 pass, 1 fail, 77 skip (a compiler or wine is missing).

  run-pe-calls.py [--triple x86_64-w64-mingw32|i686-w64-mingw32]
      --cc gcc|clang [--lang c|c++] [--ld bfd|lld] --cflags=-O2
      --include include --libskeys-dir DIR --seal skeys-seal --dump skeys-dump
      --wine wine --prefix WINEPREFIX --workdir DIR [--mode run|tamper]
      [--keep-script skeys-pe.ld]
"""

import argparse
import importlib.util
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CALLS = os.path.join(os.path.dirname(HERE), "calls")

# The toolchain, wine and process helpers of the PE end-to-end driver.
_spec = importlib.util.spec_from_file_location("run_pe", os.path.join(HERE, "run-pe.py"))
pe = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pe)
Failure = pe.Failure


def build(tc, args, d):
    """calls.dll (calls_lib.c, exporting the call shared_op), calls.exe
    (calls_main.c, calls_other.c, calls_kernel.c, -DWITH_LIB, importing it)
    and calls_plugin.dll (importing it too, loaded and freed by the EXE),
    against the libskeys DLL."""
    libskeys = ["-L" + os.path.abspath(args.libskeys_dir), "-lskeys"]
    lang = ["-x", "c++", "-std=c++17"] if args.lang == "c++" else []
    objs = []
    for src in ("calls_lib.c", "calls_main.c", "calls_other.c", "calls_kernel.c",
                "calls_plugin.c"):
        o = os.path.join(d, src.replace(".c", ".o"))
        tc.compile(os.path.join(CALLS, src), o, lang + ["-I", CALLS, "-DWITH_LIB"])
        objs.append(o)
    tc.link(objs[:1], os.path.join(d, "calls.dll"),
            ["-shared", "-Wl,--out-implib," + os.path.join(d, "libcalls.dll.a")] + libskeys)
    tc.link(objs[1:4], os.path.join(d, "calls.exe"), exe_libs(args, d))
    tc.link(objs[4:], os.path.join(d, PLUGIN), ["-shared"] + exe_libs(args, d))
    for dll in [os.path.join(args.libskeys_dir, "libskeys-0.dll")] + pe.runtime_dlls(tc):
        shutil.copy2(dll, d)
    return os.path.join(d, "calls.exe"), os.path.join(d, "calls.dll")


PLUGIN = "calls_plugin.dll"


def exe_libs(args, d):
    return ["-L" + d, "-lcalls", "-L" + os.path.abspath(args.libskeys_dir), "-lskeys",
            "-pthread"]


def dump_calls(args, path, expect=0):
    p = pe.run([args.dump, "--json", path], expect=expect, what="skeys-dump --json")
    doc = json.loads(p.stdout)
    return doc, {c["name"]: c for c in doc.get("calls", [])}


def check_dump(args, exe, dll):
    """Every call listed with its kind and initial target, verified."""
    # C names, or C++ mangled ones (add1(int), static twice(int)).
    want = {"op": ("call", ("add1+0x0", "_Z4add1i+0x0")), "hook": ("null", (None,)),
            "r0": ("ret0", (None,)), "far": ("call", ("twice+0x0", "_ZL5twicei+0x0")),
            "kcall": ("call", ("add1+0x0", "_Z4add1i+0x0")), "khook": ("null", (None,))}
    if args.lang == "c++":
        want["ns_call"] = ("call", ("_ZN2nsL8thousandEi+0x0",))
    # The proxy's initial target: the EXE's import thunk of the DLL's export.
    want["shared_op"] = ("import", ("skeys__xtramp_shared_op+0x0",))
    lib_add10 = ("lib_add10+0x0", "_Z9lib_add10i+0x0")
    plugin = os.path.join(os.path.dirname(exe), PLUGIN)
    for path, names in ((exe, want),
                        (dll, {"libop": ("call", lib_add10), "shared_op": ("call", lib_add10)}),
                        (plugin, {"shared_op": want["shared_op"]})):
        doc, calls = dump_calls(args, path)
        if doc.get("format") != "pe" or doc.get("arch") != pe.ARCH_OF_TRIPLE[args.triple]:
            raise Failure(f"{path}: format/arch {doc.get('format')}/{doc.get('arch')}")
        for name, (kind, targets) in names.items():
            c = calls.get(name)
            if not c or c["kind"] != kind or c["target"] not in targets or not c["ok"] \
                    or c["sites"] != 0:
                raise Failure(f"{os.path.basename(path)}: call {name} is {c!r}, expected "
                              f"kind {kind} target {targets} (calls: {sorted(calls)})")


def run_exe(args, env, exe, argv=(), ok="calls ok"):
    p = pe.run([args.wine, exe] + list(argv), env=env, cwd=os.path.dirname(exe),
               what="run " + " ".join([os.path.basename(exe)] + list(argv)), timeout=300)
    sys.stdout.write(p.stdout[-2000:])
    if ok and ok not in p.stdout:
        sys.stdout.write(p.stderr[-4000:])
        raise Failure(f"{exe}: no '{ok}'")
    return p


def case_run(tc, args, d, env):
    exe, dll = build(tc, args, d)
    check_dump(args, exe, dll)
    pe.run([args.seal, dll], what="skeys-seal calls.dll")
    pe.run([args.seal, os.path.join(d, PLUGIN)], what="skeys-seal " + PLUGIN)
    # Unsealed: every update refused, each call as compiled.
    run_exe(args, env, exe, ["unsealed"], ok=None)
    pe.run([args.seal, exe], what="skeys-seal calls.exe")
    for f in (exe, dll):
        pe.run([args.seal, "--check", f], what="skeys-seal --check")
    for method in ("procmem", "mprotect"):
        p = run_exe(args, dict(env, SKEYS_WRITE=method, CALLS_PLUGIN=PLUGIN), exe)
        # The call the DLL exports, updated from each side and through the plugin's proxy.
        if "plugin unloaded" not in p.stdout:
            raise Failure("the plugin importing the DLL's call did not run")
        # x86-64: msvcrt's abs and the DLL are beyond rel32 from the EXE.
        if args.triple.startswith("x86_64") and "far=1" not in p.stdout:
            raise Failure("no far target was exercised")
    if args.keep_script:
        check_gc(tc, args, d, env)


def check_gc(tc, args, d, env):
    """--gc-sections drops the call table's entries unless the shipped script
    keeps them: without it skeys-seal refuses the file, with it every call is
    there and the sealed EXE runs."""
    objs = [os.path.join(d, s) for s in ("calls_main.o", "calls_other.o", "calls_kernel.o")]
    plain, kept = os.path.join(d, "calls-gc-plain.exe"), os.path.join(d, "calls-gc.exe")
    gc = exe_libs(args, d) + ["-Wl,--gc-sections"]
    tc.link(objs, plain, gc)
    tc.link(objs, kept, gc + ["-Wl,-T," + os.path.abspath(args.keep_script)])
    if dump_calls(args, plain, expect=1)[1]:
        raise Failure("--gc-sections without the script: calls left in the table")
    p = pe.run([args.seal, plain], expect=1, what="skeys-seal (gc, no script)")
    if "call table" not in p.stderr:
        raise Failure(f"skeys-seal does not say what is wrong: {p.stderr}")
    n_all = len(dump_calls(args, os.path.join(d, "calls.exe"))[1])
    n_kept = len(dump_calls(args, kept)[1])
    if n_kept != n_all:
        raise Failure(f"--gc-sections with {args.keep_script} kept {n_kept} of {n_all} calls")
    pe.run([args.seal, kept], what="skeys-seal (gc)")
    run_exe(args, env, kept)


def sections(tc, path):
    """(name, address, file offset, size) of each section, from objdump -h."""
    objdump = tc.linker.replace("-gcc", "-objdump")
    p = pe.run([objdump, "-h", path], what="objdump -h")
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) >= 7 and f[0].isdigit():
            yield f[1], int(f[3], 16), int(f[5], 16), int(f[2], 16)


def file_offset(tc, path, addr):
    for _, a, off, size in sections(tc, path):
        if a <= addr < a + size:
            return off + addr - a
    raise Failure(f"no section of {path} holds 0x{addr:x}")


def case_tamper(tc, args, d, env):
    exe, dll = build(tc, args, d)
    pe.run([args.seal, dll], what="skeys-seal calls.dll")
    tramp = int(dump_calls(args, exe)[1]["op"]["trampoline"], 16)
    off = file_offset(tc, exe, tramp)
    data = bytearray(open(exe, "rb").read())
    if data[off:off + 2] != b"\xff\x25":
        raise Failure(f"trampoline at 0x{tramp:x} starts with {data[off:off + 2].hex()}")
    data[off:off + 6] = b"\xe9\x00\x00\x00\x00\xcc"
    bad = os.path.join(d, "calls-bad.exe")
    open(bad, "wb").write(data)
    p = pe.run([args.seal, bad], expect=1, what="skeys-seal (tampered trampoline)")
    if f"skeys__tramp_op+0x0 (0x{tramp:x}): error: static call:" not in p.stderr:
        sys.stdout.write(p.stderr)
        raise Failure("no diagnostic naming the trampoline")
    if open(bad, "rb").read() != data:
        raise Failure("skeys-seal changed a file that failed verification")
    doc, calls = dump_calls(args, bad, expect=1)
    if doc["ok"] is not False or calls["op"]["ok"] is not False:
        raise Failure(f"skeys-dump --json: ok {doc['ok']}, call op {calls['op']}")

    # Sealed, then its call table's checksum changed: refused at run time.
    pe.run([args.seal, exe], what="skeys-seal calls.exe")
    hdr = [off for name, _, off, _ in sections(tc, exe) if name == ".skeysc"]
    if len(hdr) != 1:
        raise Failure("no .skeysc section")
    data = bytearray(open(exe, "rb").read())
    data[hdr[0] + 24] ^= 0xff  # the header's checksum
    changed = os.path.join(d, "calls-changed.exe")
    open(changed, "wb").write(data)
    pe.run([args.seal, "--check", changed], expect=1, what="skeys-seal --check (changed)")
    run_exe(args, env, changed, ["tampered"], ok=None)

    # Sealed, then its call table's version changed (a module built against
    # other headers): the tools and the runtime refuse it, naming the versions.
    data = bytearray(open(exe, "rb").read())
    if data[hdr[0]:hdr[0] + 10] != b"SKEYSCAL\x02\x00":
        raise Failure(f"call table header: {data[hdr[0]:hdr[0] + 10].hex()}")
    data[hdr[0] + 8] = 1
    other = os.path.join(d, "calls-v1.exe")
    open(other, "wb").write(data)
    p = pe.run([args.seal, "--check", other], expect=1, what="skeys-seal --check (version 1)")
    if "call table version 1, expected 2" not in p.stderr:
        raise Failure(f"skeys-seal does not name the call table's version: {p.stderr}")
    p = run_exe(args, dict(env, SKEYS_LOG="1"), other, ["other-version"], ok=None)
    if "call table version 1, this runtime reads version 2" not in p.stderr:
        raise Failure(f"the runtime does not log the call table's version: {p.stderr[-2000:]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    pe.add_common_args(ap)
    ap.add_argument("--lang", choices=["c", "c++"], default="c")
    ap.add_argument("--mode", choices=["run", "tamper"], default="run")
    ap.add_argument("--keep-script")
    args = ap.parse_args()

    tc = pe.Toolchain(args)
    if args.lang == "c++":
        tc.flags.remove("-std=c11")
    case = {"run": case_run, "tamper": case_tamper}[args.mode]
    return pe.drive(tc, args, (args.seal, args.dump), lambda d, env: case(tc, args, d, env))


if __name__ == "__main__":
    sys.exit(main())
