#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The cross suite of an architecture that has a compiler and qemu-user but
no C library here (loongarch64 on Debian 12): prog.c and other.c on
minirt.c's start-up and runtime, built with clang, sealed and checked by
the build machine's tools, run under qemu: keys, and static calls through
minirt.c's stand-in of the runtime (near, far, no target, a changed slot
refused; call-corrupt: a changed trampoline refused by the tools).

  run-freestanding.py --step e2e|golden-json|golden-text|site-corrupt|site-range|call-corrupt
      --cc 'clang-19 --target=loongarch64-linux-gnu' --wrapper qemu-loongarch64
      --seal SEAL --dump DUMP --workdir DIR [--cflags=-O2] [--golden FILE]
      --arch-src common/arch.c ... --arch-include BUILD/common

Exit 0 pass, 1 fail, 77 skip (compiler, target or qemu missing).
"""
import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SKIP = 77


def log(msg):
    print(msg, flush=True)


def run(cmd, expect=0, what=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=120)
    log(f"  [rc={p.returncode}] {what + ': ' if what else ''}{shlex.join(cmd)}")
    if p.returncode != expect:
        sys.stdout.write(p.stdout)
        raise SystemExit(f"FAIL: {what or cmd[0]}: exit {p.returncode}, expected {expect}")
    return p.stdout


def build(args, cc):
    work = os.path.abspath(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    exe = os.path.join(work, "fs")
    sources = [os.path.join(HERE, n) for n in ("prog.c", "other.c", "minirt.c")]
    # The runtime's static-call slot forms, which minirt.c writes.
    sources.append(os.path.join(ROOT, "runtime", "arch", "call_loongarch64.c"))
    # The encodings come from common/, as for the runtime and the tools.
    sources += args.arch_src
    flags = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-ffreestanding", "-nostdlib",
             "-static", "-fno-pic", "-fuse-ld=lld"] + shlex.split(args.cflags)
    flags += ["-I", os.path.join(HERE, "include"), "-I", os.path.join(ROOT, "include"),
              "-I", os.path.join(ROOT, "common"), "-I", args.arch_include]
    run(cc + flags + sources + ["-o", exe], what="compile+link")
    run([args.seal, exe, "-o", exe + ".sealed"], what="skeys-seal")
    return exe, exe + ".sealed"


def step_e2e(args, wrapper, exe, sealed):
    run([args.seal, "--check", sealed], what="skeys-seal --check")
    d = json.loads(run([args.dump, "--json", sealed], what="skeys-dump --json"))
    keys = {k["name"]: k["initial"] for k in d["keys"]}
    bad = [s for s in d["sites"] if not s["ok"]]
    if keys != {"kf": False, "kt": True} or len(d["sites"]) != 6 or bad or not d["sealed"]:
        raise SystemExit(f"FAIL: table: keys {keys}, {len(d['sites'])} sites, bad {bad}")
    log(f"  table: {d['arch']}, 2 keys, 6 sites, all ok")
    calls = {c["name"]: (c["kind"], c["target"], c["ok"]) for c in d.get("calls", [])}
    want = {"op": ("call", "add1+0x0", True), "r0": ("ret0", None, True),
            "hook": ("null", None, True)}
    if calls != want:
        raise SystemExit(f"FAIL: static calls {calls}, expected {want}")
    log("  static calls: op, r0, hook, all ok")
    run(wrapper + [sealed], what="run sealed")
    run(wrapper + [exe, "--unsealed"], what="run unsealed, toggles refused")


def step_call_corrupt(args, exe):
    """A trampoline whose slot is no longer its compiled form (nop): skeys-seal
    exits 1 naming it and writes nothing; skeys-dump exits 1, not ok."""
    d = json.loads(run([args.dump, "--json", exe], what="skeys-dump --json"))
    tramp = int(next(c for c in d["calls"] if c["name"] == "op")["trampoline"], 16)
    out = subprocess.run(["readelf", "-W", "-S", exe], capture_output=True, text=True).stdout
    off = None
    for line in out.splitlines():
        f = line.replace("[ ", "[").split()
        if len(f) > 6 and f[0].startswith("[") and f[0] != "[Nr]" and f[2] != "NOBITS":
            addr, at, size = int(f[3], 16), int(f[4], 16), int(f[5], 16)
            if addr <= tramp < addr + size:
                off = at + tramp - addr
    data = bytearray(open(exe, "rb").read())
    if off is None or data[off:off + 4] != bytes.fromhex("00004003"):
        raise SystemExit(f"FAIL: no nop at op's trampoline 0x{tramp:x}")
    data[off:off + 4] = bytes.fromhex("00000050")  # b .
    bad = exe + ".bad"
    open(bad, "wb").write(data)
    p = subprocess.run([args.seal, bad], capture_output=True, text=True)
    if p.returncode != 1 or f"skeys__tramp_op+0x0 (0x{tramp:x}): error: static call:" \
            not in p.stderr:
        raise SystemExit(f"FAIL: skeys-seal exit {p.returncode}: {p.stderr}")
    if open(bad, "rb").read() != data:
        raise SystemExit("FAIL: skeys-seal changed a file that failed verification")
    log("  skeys-seal: " + p.stderr.splitlines()[0])
    d = json.loads(run([args.dump, "--json", bad], expect=1, what="skeys-dump --json"))
    if d["ok"] is not False or [c["ok"] for c in d["calls"] if c["name"] == "op"] != [False]:
        raise SystemExit("FAIL: skeys-dump does not say the trampoline is bad")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--step", required=True,
                    choices=["e2e", "golden-json", "golden-text", "site-corrupt", "site-range",
                             "call-corrupt"])
    ap.add_argument("--cc", required=True)
    ap.add_argument("--cflags", default="-O2")
    ap.add_argument("--wrapper", required=True)
    ap.add_argument("--seal", required=True)
    ap.add_argument("--dump", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--golden")
    ap.add_argument("--arch-src", nargs="+", required=True,
                    help="common/'s encodings: arch.c and one file an architecture")
    ap.add_argument("--arch-include", required=True,
                    help="the directory of the generated arch-list.h")
    args = ap.parse_args()
    cc, wrapper = shlex.split(args.cc), shlex.split(args.wrapper)
    for prog in (cc[0], wrapper[0]):
        if shutil.which(prog) is None:
            log(f"SKIP: {prog} is not installed")
            return SKIP
    probe = subprocess.run(cc + ["-x", "c", "-c", "-o", os.devnull, "-"], input="int x;",
                           text=True, capture_output=True)
    if probe.returncode != 0:
        log(f"SKIP: {shlex.join(cc)} cannot compile for this target: {probe.stderr.strip()}")
        return SKIP
    exe, sealed = build(args, cc)
    if args.step == "e2e":
        step_e2e(args, wrapper, exe, sealed)
    elif args.step == "call-corrupt":
        step_call_corrupt(args, exe)
    elif args.step.startswith("golden-"):
        run([sys.executable, os.path.join(ROOT, "tests", "tool", "golden.py"), "--dump",
             args.dump, "--mode", args.step[7:], "--golden", args.golden, sealed],
            what="golden")
    else:
        target = exe if args.step == "site-range" else sealed
        run([sys.executable, os.path.join(ROOT, "tests", "tool", "negative.py"), args.step,
             args.seal, args.dump, target], what=args.step)
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
