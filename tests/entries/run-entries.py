#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Function entries, one case: build tests/entries with a compiler, its
-fpatchable-function-entry flag and a link mode, seal it, check skeys-dump's
function_entries, and run it with both write methods. Mode `tamper`: a pad
altered after linking is refused by skeys-seal (exit 1, the file left as
it was) and skeys-dump says not ok; the same for a sealed file whose patch
point was altered, and a function with more nops than the module's
others. Mode `stripped`: a file stripped before sealing is
refused unless endbr64 marks where its functions start. Mode `empty`: a module that includes <skeys.h> but has
no patchable function links (PIE and not) and seals. Mode `unsupported`
(riscv64): patchable functions seal with a note and stay as they are, and
every entry point says SKEYS_ERR_NOTPATCHABLE.
With --wrapper (a cross build: qemu-user), the programs run under it, with
SKEYS_WRITE=mprotect only (qemu does not see /proc/self/mem writes).
i686: the build passes no wrapper when this machine runs i386 programs
itself (tests/meson.build, cross_native): both write methods and threads;
under qemu-i386, where Debian 12's 7.2 hangs in pthread_create, the
threads part is skipped and, all else passing, the case exits 77.
Exit: 0 pass, 1 fail, 77 skip (compiler missing).
"""

import argparse
import hashlib
import json
import os
import shlex
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, ".."))
from driver import (WRAPPER, Failure, Skip, drive, file_offset, need, run,  # noqa: E402
                    run_prog)


def cflags(args):
    return (["-std=c11", "-I" + args.include, "-I" + HERE, "-I" + os.path.join(HERE, ".."), "-O2", "-g", "-Wall", "-Wextra",
             "-Werror", "-fpatchable-function-entry=" + args.nops] + shlex.split(args.flags))


def link_flags(args, work):
    libdir = os.path.dirname(os.path.abspath(args.libskeys))
    if args.link == "nopie":
        return ["-fno-pie", "-no-pie"], [args.libskeys, "-lpthread", "-ldl"]
    return ["-fPIE", "-pie"], [args.libskeys, "-Wl,-rpath," + libdir, "-lpthread", "-ldl"]


def build(args, work):
    comp, link = link_flags(args, work)
    exe = os.path.join(work, "entries")
    srcs = [os.path.join(HERE, "entries_main.c")]
    extra = []
    plugin = os.path.join(work, "libplugin.so")
    if args.link != "nopie":
        # A module loaded later; it links the shared runtime, as the program does.
        run(args.cc + cflags(args) + ["-fPIC", "-shared", "-o", plugin,
            os.path.join(HERE, "entries_plugin.c"), args.libskeys])
        run([args.seal, plugin])
        comp = comp + ['-DPLUGIN="%s"' % plugin]
    if args.link == "shared":
        lib = os.path.join(work, "libentries.so")
        # --bti-lib: every object of the library BTI-marked (no start files,
        # whose Debian 12 builds are not), so the loader maps its code guarded.
        bti = ["-nostartfiles", "-mbranch-protection=standard"] if args.bti_lib else []
        run(args.cc + cflags(args) + bti + ["-fPIC", "-shared", "-o", lib,
            os.path.join(HERE, "entries_lib.c"), args.libskeys])
        if args.bti_lib and "AArch64 feature: BTI" not in run(["readelf", "-n", lib]).stdout:
            raise Failure("%s is not marked BTI" % lib)
        run([args.seal, lib])
        extra = [lib, "-Wl,-rpath," + work]
        if args.bti_lib:
            comp = comp + ["-DBTI_GUARDED"]
    else:
        srcs.append(os.path.join(HERE, "entries_lib.c"))
    run(args.cc + cflags(args) + comp + srcs + ["-o", exe] + extra + link)
    return exe


def dump_entries(args, path, expect=0):
    p = run([args.dump, "--json", path], expect=expect)
    return json.loads(p.stdout)


def check_dump(args, exe):
    d = dump_entries(args, exe)
    nops, _, prefix = args.nops.partition(",")
    want = {"ent_add1", "ent_add2", "ent_mul3"} if args.link != "shared" else set()
    got = {e["function"].split("+")[0]: e for e in d.get("function_entries", [])}
    for name in want | {"main"}:
        e = got.get(name)
        if not e:
            raise Failure("skeys-dump lists no entry for %s" % name)
        # Bytes: aarch64's nops are 4 bytes each (i686's one byte, as x86-64's).
        w = 4 if args.arch == "aarch64" else 1
        if (e["nops"], e["prefix"], e["ok"]) != (w * int(nops), w * int(prefix or 0), True):
            raise Failure("skeys-dump: %s: %r" % (name, e))
        if not e["function"].endswith("+0x0"):
            raise Failure("skeys-dump: %s is not at its symbol: %r" % (name, e))
    if "ent_plain" in got:
        raise Failure("skeys-dump lists ent_plain, which has no nops")
    if not d["ok"]:
        raise Failure("skeys-dump: not ok")


def case(args, work):
    exe = build(args, work)
    run([args.seal, exe])
    run([args.seal, "--check", exe])
    check_dump(args, exe)
    for method in ("mprotect",) if WRAPPER else ("procmem", "mprotect"):
        p = run_prog([exe], env=prog_env(args, method))
        if "entries: ok" not in p.stdout:
            raise Failure("no 'entries: ok' from the program")
    threads_skipped(args)


def qemu_i386(args):
    return args.arch == "i686" and bool(WRAPPER)


def prog_env(args, method):
    env = dict(os.environ, SKEYS_WRITE=method)
    if qemu_i386(args):
        env["SKEYS_TEST_NO_THREADS"] = "1"
    return env


def threads_skipped(args):
    if qemu_i386(args):
        raise Skip("every part but the threads passed; threads not run: "
                   "qemu-i386 (Debian 12's 7.2) hangs in pthread_create")


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def pad_offset(args, exe, symbol):
    """File offset of the patch point of `symbol` (skeys-dump's address, after endbr64)."""
    d = dump_entries(args, exe, expect=None)
    addr = next(e["address"] for e in d["function_entries"]
                if e["function"] == symbol + "+0x0")
    addr = int(addr, 16) if isinstance(addr, str) else addr
    off = file_offset(exe, addr)
    with open(exe, "rb") as fh:
        fh.seek(off)
        if fh.read(4) in (b"\xf3\x0f\x1e\xfa", b"\xf3\x0f\x1e\xfb", b"\x5f\x24\x03\xd5"):
            off += 4
    return off


def alter(path, off, byte):
    with open(path, "r+b") as f:
        f.seek(off + 2)
        f.write(bytes([byte]))


def refused(args, exe, symbol, byte, says):
    """Alter a byte of symbol's pad: skeys-seal exits 1, names it, writes nothing."""
    alter(exe, pad_offset(args, exe, symbol), byte)
    before = digest(exe)
    p = run([args.seal, exe], expect=1)
    if symbol + "+0x0" not in p.stderr or says not in p.stderr:
        raise Failure("skeys-seal does not say what %s's pad should hold" % symbol)
    if digest(exe) != before:
        raise Failure("skeys-seal changed a file it refused")


def tamper(args, work):
    # Before sealing: one of the nops becomes int3.
    exe = build(args, work)
    refused(args, exe, "ent_add1", 0xcc, "function entry")
    d = dump_entries(args, exe, expect=1)
    bad = [e for e in d["function_entries"] if not e["ok"]]
    if [e["function"] for e in bad] != ["ent_add1+0x0"] or d["ok"]:
        raise Failure("skeys-dump: %r" % bad)
    # Sealed, then its patch point altered.
    exe = build(args, work)
    run([args.seal, exe])
    refused(args, exe, "ent_add2", 0x01,
            {"aarch64": "e9 03 1e aa 1f 20 03 d5", "i686": "3e 8d 74 26 00"}.get(
                args.arch, "0f 1f 44 00 00"))
    run([args.seal, "--check", exe], expect=1)
    # One function with more nops than the module's others: refused, named.
    src = os.path.join(work, "odd.c")
    with open(src, "w") as f:
        f.write("#include <skeys.h>\n"
                "int one(void); int two(void); int odd(void);\n"
                "int one(void) { return 1; }\n"
                "int two(void) { return 2; }\n"
                "__attribute__((patchable_function_entry(9, 0))) int odd(void) { return 3; }\n"
                "int main(void) { return one() + two() + odd() - 6; }\n")
    exe = os.path.join(work, "odd")
    run(args.cc + cflags(args) + ["-fPIE", "-pie", src, "-o", exe, args.libskeys])
    before = digest(exe)
    p = run([args.seal, exe], expect=1)
    if "odd+0x0" not in p.stderr or "as the module's other functions have" not in p.stderr:
        raise Failure("skeys-seal does not name the function with other nops")
    if digest(exe) != before:
        raise Failure("skeys-seal changed a file it refused")


def stripped(args, work):
    """Stripped before sealing: where no symbol and no endbr64 says where the
    functions start in their nops, skeys-seal refuses (exit 1, file as it
    was); with -fcf-protection, endbr64 says it, and the file seals and runs."""
    args.link = "pie"
    args.flags = ""
    exe = build(args, work)
    run(["strip", "--strip-all", exe])
    before = digest(exe)
    p = run([args.seal, exe], expect=1)
    if "seal before stripping" not in p.stderr:
        raise Failure("skeys-seal does not say why it cannot seal a stripped file")
    if digest(exe) != before:
        raise Failure("skeys-seal changed a file it refused")
    args.flags = "-fcf-protection"
    exe = build(args, work)
    run(["strip", "--strip-all", exe])
    run([args.seal, exe])
    p = run_prog([exe], env=prog_env(args, "mprotect"))
    if "entries: ok" not in p.stdout:
        raise Failure("no 'entries: ok' from the stripped program")
    threads_skipped(args)


def empty(args, work):
    src = os.path.join(work, "empty.c")
    with open(src, "w") as f:
        f.write("#include <skeys.h>\nint main(void) { return skeys_check_sealed(); }\n")
    for comp, link in ((["-fPIE", "-pie"], []), (["-fno-pie", "-no-pie"], [])):
        exe = os.path.join(work, "empty")
        run(args.cc + ["-std=c11", "-O2", "-I" + args.include] + comp + [src, "-o", exe,
            args.libskeys, "-Wl,-rpath," + os.path.dirname(os.path.abspath(args.libskeys)),
            "-lpthread"] + link)
        run([args.seal, exe])
        d = dump_entries(args, exe)
        if d.get("function_entries"):
            raise Failure("entries listed in a module without patchable functions")
        run_prog([exe])


def text_bytes(exe):
    """The file's .text section, as readelf shows it."""
    return run(["readelf", "-x", ".text", exe]).stdout


def unsupported(args, work):
    """riscv64: a program with patchable functions seals with a note that
    they stay as they are (exit 0, the code unchanged), and at run time
    every entry point says SKEYS_ERR_NOTPATCHABLE (entries_unsupported.c)."""
    exe = os.path.join(work, "unsupported")
    run(args.cc + cflags(args) + ["-fPIE", "-pie", os.path.join(HERE, "entries_unsupported.c"),
        "-o", exe, args.libskeys, "-Wl,-rpath," + os.path.dirname(os.path.abspath(args.libskeys))])
    before = text_bytes(exe)
    p = run([args.seal, exe])
    if "note: " not in p.stderr or "not patchable on %s" % args.arch not in p.stderr:
        raise Failure("skeys-seal does not say that the functions stay as they are")
    if text_bytes(exe) != before:
        raise Failure("skeys-seal changed the code of an architecture without patch points")
    run([args.seal, "--check", exe])
    p = run_prog([exe], env=prog_env(args, "mprotect"))
    if "entries: unsupported ok" not in p.stdout:
        raise Failure("no 'entries: unsupported ok' from the program")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="run",
                    choices=["run", "tamper", "empty", "stripped", "unsupported"])
    ap.add_argument("--cc", required=True)
    ap.add_argument("--nops", default="5")
    ap.add_argument("--flags", default="")
    ap.add_argument("--link", default="pie", choices=["pie", "nopie", "shared"])
    ap.add_argument("--include", required=True)
    ap.add_argument("--libskeys", required=True)
    ap.add_argument("--seal", required=True)
    ap.add_argument("--dump", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--wrapper", default="", help="emulator command the programs run under")
    ap.add_argument("--arch", default="x86_64", choices=["x86_64", "aarch64", "i686", "riscv64"])
    ap.add_argument("--bti-lib", action="store_true",
                    help="--link shared: the library's code BTI-guarded (aarch64)")
    args = ap.parse_args()
    args.cc = shlex.split(args.cc)
    need(args.cc[0])
    return drive(args, {"run": case, "tamper": tamper, "empty": empty, "stripped": stripped,
                        "unsupported": unsupported},
                 failures=(json.JSONDecodeError,))


if __name__ == "__main__":
    sys.exit(main())
