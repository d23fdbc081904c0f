#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Static calls, one case: build tests/calls with a compiler, flags and link
mode, seal it, list its calls with skeys-dump, and run it (both write
methods). With --link shared, a library exports a call that the program
and a plugin (dlopen'd after an update, then dlclose'd) import, on every
architecture. With --relocs, linked with --emit-relocs (--ld picks the
linker): skeys-seal records the inline call sites, which the program checks
call their targets directly; --mode tamper then also changes a call site,
before sealing and after. Cross builds: --cc/--cxx name the target's compilers and
--wrapper the emulator (qemu-user) the programs run under. Other modes: `tamper` (a changed trampoline is refused by
skeys-seal, exit 1, nothing written;
skeys-dump exits 1 and says not ok) and `typecheck` (an update with a
function of another type does not compile; the same file with the right
type does). Exit: 0 pass, 1 fail, 77 skip (compiler missing).
"""

import argparse
import json
import os
import shlex
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(HERE, ".."))
from driver import (WRAPPER, Failure, drive, file_offset, need, run, run_prog,  # noqa: E402
                    sections)
import objfile  # noqa: E402

# The slot of a far call's trampoline as compiled, and a jump to replace it
# with (each architecture's, <skeys/arch/NAME.h>): what tamper mode writes.
TAMPER = {
    "x86_64": (b"\xff\x25", b"\xe9\x00\x00\x00\x00\xcc"),
    "aarch64": (b"\x1f\x20\x03\xd5", b"\x00\x00\x00\x14"),  # nop, b .
    "riscv64": (b"\x13\x00\x00\x00", b"\x6f\x00\x00\x00"),  # nop, j .
    "arm": (b"\x00\xf0\x20\xe3", b"\xfe\xff\xff\xea"),  # nop, b . (A32)
    "ppc64le": (b"\x00\x00\x00\x60", b"\x00\x00\x00\x48"),  # nop, b .
    "s390x": (b"\xc0\x04\x00\x00\x00\x0a", b"\xc0\xf4\x00\x00\x00\x0a"),  # brcl 0|15, ret0
    "i386": (b"\x66\x0f\x1f\x44\x00\x00", b"\xe9\x00\x00\x00\x00\xcc"),
}


def compiler(args):
    cxx = args.cxx or {"gcc": "g++", "clang": "clang++"}[args.cc]
    cc = shlex.split({"c": args.cc, "c++": cxx}[args.lang])
    need(cc[0])
    return cc


def linker(args):
    """Link flags: the linker asked for, and the relocations kept."""
    f = []
    if args.ld:
        need("ld." + args.ld)
        f += ["-fuse-ld=" + args.ld]
    if args.relocs:
        f += ["-Wl,--emit-relocs"]
    return f


def cflags(args):
    f = ["-I" + args.include, "-I" + HERE] + shlex.split(args.opt) + ["-g", "-Wall", "-Wextra", "-Werror"]
    if args.lang == "c++":
        f += ["-x", "c++", "-std=c++17"]
    else:
        f += ["-std=c11"]
    return f


def build(args, work):
    cc = compiler(args)
    libdir = os.path.dirname(os.path.abspath(args.libskeys))
    exe = os.path.join(work, "calls")
    cmd = cc + cflags(args)
    srcs = [os.path.join(HERE, f) for f in ("calls_main.c", "calls_other.c", "calls_kernel.c")]
    link = []
    if args.link == "shared":
        lib = os.path.join(work, "libcalls.so")
        run(cc + cflags(args) + linker(args) + ["-fPIC", "-shared", "-o", lib,
            os.path.join(HERE, "calls_lib.c"), "-x", "none", args.libskeys])
        run([args.seal, lib])
        # A plugin importing the library's call, loaded and unloaded by the program.
        plugin = os.path.join(work, "plugin.so")
        run(cc + cflags(args) + linker(args) + ["-fPIC", "-shared", "-o", plugin,
            os.path.join(HERE, "calls_plugin.c"), "-x", "none", lib, args.libskeys])
        run([args.seal, plugin])
        cmd += ["-DWITH_LIB"]
        link += [lib, "-Wl,-rpath," + work]
    if args.link == "nopie":
        cmd += ["-fno-pie"]
        link += ["-no-pie"]
    else:
        cmd += ["-fPIE"]
        link += ["-pie"]
    link = ["-x", "none"] + linker(args) + link + [args.libskeys, "-Wl,-rpath," + libdir,
                                                   "-lpthread", "-ldl"]
    run(cmd + srcs + ["-o", exe] + link)
    return exe


def dump_calls(args, path, expect=0):
    p = run([args.dump, "--json", path], expect=expect)
    return {c["name"]: c for c in json.loads(p.stdout)["calls"]}


def dump_sites(args, path, expect=0):
    p = run([args.dump, "--json", path], expect=expect)
    return json.loads(p.stdout).get("call_sites", [])


def case_run(args, work):
    exe = build(args, work)
    calls = dump_calls(args, exe)
    # Targets by symbol name: C, or C++ mangled (add1(int), static twice(int)).
    want = {"op": ("call", ("add1+0x0", "_Z4add1i+0x0")), "hook": ("null", (None,)),
            "r0": ("ret0", (None,)), "far": ("call", ("twice+0x0", "_ZL5twicei+0x0")),
            "own": ("call", ("add3+0x0", "_Z4add3i+0x0"))}
    if args.link == "shared":
        want["shared_op"] = ("import", ("skeys__xtramp_shared_op+0x0",))
    for name, (kind, target) in want.items():
        c = calls.get(name)
        if not c or c["kind"] != kind or c["target"] not in target or not c["ok"]:
            raise Failure("skeys-dump: call %s is %r, expected kind %s target %s"
                          % (name, c, kind, target))
    check_sites(args, exe)
    # Unsealed: updates are refused.
    run_prog([exe, "unsealed"])
    run([args.seal, exe])
    run([args.seal, "--check", exe])
    check_sites(args, exe)
    # Under qemu-user only mprotect: /proc/self/mem writes change the bytes,
    # but qemu keeps running the code it translated before.
    for method in ("mprotect",) if WRAPPER else ("procmem", "mprotect"):
        env = dict(os.environ, SKEYS_WRITE=method)
        if args.no_threads:
            env["SKEYS_TEST_NO_THREADS"] = "1"
        if args.link == "shared":
            env["CALLS_PLUGIN"] = os.path.join(os.path.dirname(exe), "plugin.so")
        p = run_prog([exe] + (["inline"] if args.relocs else []), env=env)
        if "calls ok" not in p.stdout:
            raise Failure("no 'calls ok'")
        if args.link == "shared" and "plugin unloaded" not in p.stdout:
            raise Failure("the plugin importing the library's call did not run")
        # Natively, where a near form's reach is not the whole address space (x86-64).
        if args.link == "shared" and not WRAPPER and not args.arch_no_far \
                and "across: library target far" not in p.stdout:
            raise Failure("the library's function was not far from the executable's proxy")
        if "far=1" not in p.stdout and not (args.arch_no_far and "far=n/a" in p.stdout):
            raise Failure("no far target was exercised")


def check_sites(args, exe):
    """The inline sites skeys-dump lists: the test's own with --relocs, none without."""
    sites = dump_sites(args, exe)
    if not args.relocs:
        if sites:
            raise Failure("inline sites listed without --emit-relocs: %r" % sites)
        return
    funcs = {s["function"].split("+")[0]: s for s in sites if s["ok"]}
    bad = [s for s in sites if not s["ok"]]

    # Named as C or as C++ (static functions: _ZL6via_opi).
    def site(fn):
        return next((s for f, s in funcs.items() if fn in f), None)
    hook = site("via_hook")
    if bad or not site("via_op") or not hook or not hook["cond"] or hook["kind"] != "call":
        raise Failure("skeys-dump: inline sites %r, expected via_op's and via_hook's (cond)"
                      % sites)
    calls = dump_calls(args, exe)
    if calls["op"]["sites"] != len([s for s in sites if s["call"] == "op"]):
        raise Failure("skeys-dump: op's site count %r disagrees with call_sites"
                      % calls["op"]["sites"])


def case_tamper(args, work):
    exe = build(args, work)
    doc = json.loads(run([args.dump, "--json", exe]).stdout)
    if doc["arch"] not in TAMPER:
        raise Failure("no tamper bytes for %s" % doc["arch"])
    far, jump = TAMPER[doc["arch"]]
    tramp = int([c for c in doc["calls"] if c["name"] == "op"][0]["trampoline"], 16)
    off = file_offset(exe, tramp)
    data = bytearray(open(exe, "rb").read())
    if data[off:off + len(far)] != far:
        raise Failure("trampoline at 0x%x starts with %s" % (tramp, data[off:off + 8].hex()))
    data[off:off + len(jump)] = jump
    bad = os.path.join(work, "calls-bad")
    open(bad, "wb").write(data)
    p = run([args.seal, bad], expect=1)
    if "skeys__tramp_op+0x0 (0x%x): error: static call:" % tramp not in p.stderr:
        raise Failure("no diagnostic naming the trampoline")
    if open(bad, "rb").read() != data:
        raise Failure("skeys-seal changed a file that failed verification")
    # skeys-dump: exit 1, and its summary says so, in text and in JSON.
    p = run([args.dump, bad], expect=1)
    if "verification BAD" not in p.stdout.splitlines()[0]:
        raise Failure("skeys-dump's summary line does not say verification BAD")
    doc = json.loads(run([args.dump, "--json", bad], expect=1).stdout)
    if doc["ok"] is not False or [c["ok"] for c in doc["calls"] if c["name"] == "op"] != [False]:
        raise Failure("skeys-dump --json: ok is %r, call op %r, expected false"
                      % (doc["ok"], [c for c in doc["calls"] if c["name"] == "op"]))
    if json.loads(run([args.dump, "--json", exe]).stdout)["ok"] is not True:
        raise Failure("skeys-dump --json: the untampered file is not ok")

    # Sealed, then its call table header changed: the runtime refuses updates.
    run([args.seal, exe])
    hdr = [s["offset"] for s in sections(exe) if s["name"] == "__skeys_calls_hdr"]
    if len(hdr) != 1:
        raise Failure("no __skeys_calls_hdr section")
    data = bytearray(open(exe, "rb").read())
    data[hdr[0] + 24] ^= 0xff  # the checksum
    changed = os.path.join(work, "calls-changed")
    open(changed, "wb").write(data)
    os.chmod(changed, 0o755)
    run([args.seal, "--check", changed], expect=1)
    run_prog([changed, "tampered"])
    other_version(args, work, exe, hdr[0])
    if args.relocs:
        tamper_site(args, work, exe)


def other_version(args, work, exe, hdr):
    """A call table of another version (a module built against other headers,
    whose struct skeys_call differs): refused by skeys-seal, skeys-dump and,
    sealed, the runtime, each saying which versions."""
    want = "call table version 1, expected 2"
    # Before sealing: skeys-seal and skeys-dump exit 1, nothing written.
    os.makedirs(os.path.join(work, "v1"))
    fresh = build(args, os.path.join(work, "v1"))
    off = [s["offset"] for s in sections(fresh) if s["name"] == "__skeys_calls_hdr"][0]
    data = bytearray(open(fresh, "rb").read())
    version = objfile.elf_byte_order(data) + "H"  # the file's byte order (s390x: big)
    if data[off:off + 8] != b"SKEYSCAL" or struct.unpack_from(version, data, off + 8)[0] != 2:
        raise Failure("call table header: %s" % data[off:off + 10].hex())
    struct.pack_into(version, data, off + 8, 1)
    open(fresh, "wb").write(data)
    p = run([args.seal, fresh], expect=1)
    if want not in p.stderr:
        raise Failure("skeys-seal does not name the call table's version: %s" % p.stderr)
    if open(fresh, "rb").read() != data:
        raise Failure("skeys-seal changed a file that failed verification")
    p = run([args.dump, fresh], expect=1)
    if want not in p.stdout + p.stderr:
        raise Failure("skeys-dump does not name the call table's version")
    # Sealed, then the version changed: updates refused (SKEYS_ERR_ABI), logged.
    data = bytearray(open(exe, "rb").read())
    struct.pack_into(version, data, hdr + 8, 1)
    old = os.path.join(work, "calls-v1")
    open(old, "wb").write(data)
    os.chmod(old, 0o755)
    p = run_prog([old, "other-version"], env=dict(os.environ, SKEYS_LOG="1"))
    if "call table version 1, this runtime reads version 2" not in p.stderr:
        raise Failure("the runtime does not log the call table's version: %s" % p.stderr)


def tamper_site(args, work, exe):
    """A call site that no longer reaches its trampoline, before and after sealing."""
    site = next(s for s in dump_sites(args, exe) if "via_op" in s["function"])
    off = file_offset(exe, int(site["site"], 16))
    data = bytearray(open(exe, "rb").read())
    if data[off] not in (0xe8, 0xe9):
        raise Failure("site 0x%x starts with %02x" % (int(site["site"], 16), data[off]))
    data[off + 1] ^= 0x10
    # Sealed, then changed: skeys-seal --check and skeys-dump say so; updates are refused.
    bad = os.path.join(work, "calls-badsite")
    open(bad, "wb").write(data)
    os.chmod(bad, 0o755)
    p = run([args.seal, "--check", bad], expect=1)
    if "error: inline call site of op:" not in p.stderr:
        raise Failure("no diagnostic naming the inline call site")
    if [s["ok"] for s in dump_sites(args, bad, expect=1) if s["site"] == site["site"]] != [False]:
        raise Failure("skeys-dump --json does not say the changed site is not ok")
    run_prog([bad, "tampered-site"])
    # Changed before sealing: refused, nothing written.
    os.makedirs(os.path.join(work, "unsealed"))
    fresh = build(args, os.path.join(work, "unsealed"))
    site = next(s for s in dump_sites(args, fresh) if "via_op" in s["function"])
    off = file_offset(fresh, int(site["site"], 16))
    data = bytearray(open(fresh, "rb").read())
    data[off + 1] ^= 0x10
    open(fresh, "wb").write(data)
    p = run([args.seal, fresh], expect=1)
    if "error: inline call site of op:" not in p.stderr:
        raise Failure("no diagnostic naming the inline call site")
    if open(fresh, "rb").read() != data:
        raise Failure("skeys-seal changed a file that failed verification")


def case_typecheck(args, work):
    cc = compiler(args)
    src = os.path.join(HERE, "typecheck.c")
    run(cc + cflags(args) + ["-DGOOD", "-c", src, "-o", os.path.join(work, "good.o")])
    p = run(cc + cflags(args) + ["-c", src, "-o", os.path.join(work, "bad.o")], expect=None)
    if p.returncode == 0:
        raise Failure("an update with a function of another type compiled")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["run", "tamper", "typecheck"], default="run")
    ap.add_argument("--cc", required=True)
    ap.add_argument("--cxx", help="the C++ compiler (default: g++ or clang++ for --cc)")
    ap.add_argument("--wrapper", default="", help="emulator command the programs run under")
    ap.add_argument("--no-threads", action="store_true",
                    help="skip the threads part (qemu-i386 hangs in pthread_create)")
    ap.add_argument("--arch-no-far", action="store_true",
                    help="the architecture has no far form to exercise (i686)")
    ap.add_argument("--lang", choices=["c", "c++"], required=True)
    ap.add_argument("--opt", default="-O2")
    ap.add_argument("--link", choices=["pie", "nopie", "shared"], default="pie")
    ap.add_argument("--relocs", action="store_true", help="link with --emit-relocs")
    ap.add_argument("--ld", help="bfd, gold or lld (default: the compiler's)")
    ap.add_argument("--include", required=True)
    ap.add_argument("--libskeys", required=True)
    ap.add_argument("--seal", required=True)
    ap.add_argument("--dump", required=True)
    ap.add_argument("--workdir", required=True)
    return drive(ap.parse_args(),
                 {"run": case_run, "tamper": case_tamper, "typecheck": case_typecheck})


if __name__ == "__main__":
    sys.exit(main())
