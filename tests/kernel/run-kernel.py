#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""One cell of the kernel-names test: build the kernel-style self test
(ktest.c + kmore.c, with the base module kbase.c linked in or built as a
shared library) with one compiler, language and set of flags, warnings as
errors, seal every binary with skeys-seal and run the program.

Compilers are driven directly, not through meson, so that every cell can
use another one. Exit: 0 pass, 1 fail, 77 skip (compiler not installed).

  run-kernel.py --cc 'clang' --lang c++ --mode shared --opt -O2 \\
      --include include --libskeys build/runtime/libskeys.so.0 \\
      --seal build/tool/skeys-seal --workdir build/tests/kernel/cells/x
"""

import argparse
import os
import shlex
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77
TIMEOUT = 120


class Failure(Exception):
    pass


def run(cmd, env=None, what=None):
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=TIMEOUT)
    print(f"[rc={p.returncode}] {what + ': ' if what else ''}{shlex.join(cmd)}", flush=True)
    if p.stdout:
        print(p.stdout, end="", flush=True)
    if p.returncode != 0:
        raise Failure(f"{what or cmd[0]}: exit {p.returncode}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cc", required=True, help="compiler command, a shell word list")
    ap.add_argument("--lang", choices=["c", "c++"], required=True)
    ap.add_argument("--mode", choices=["exe", "shared", "plain"], required=True,
                    help="exe: the base module linked in; shared: in a library of its own, "
                    "imported; plain: in a library of its own, named by the header's "
                    "extern declarations only")
    ap.add_argument("--pic", default="-fPIE",
                    help="how the program is compiled: -fPIE or -fPIC (linked -pie)")
    ap.add_argument("--opt", default="-O2")
    ap.add_argument("--include", required=True)
    ap.add_argument("--libskeys", required=True, help="libskeys.so*")
    ap.add_argument("--seal", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--wrapper", default="", help="runs the program (qemu-user), a word list")
    args = ap.parse_args()

    cc = shlex.split(args.cc)
    if shutil.which(cc[0]) is None:
        print(f"run-kernel: SKIP, {cc[0]} is not installed")
        return SKIP
    os.makedirs(args.workdir, exist_ok=True)
    w = args.workdir
    lib = os.path.abspath(args.libskeys)
    libskeys = [lib, "-Wl,-rpath," + os.path.dirname(lib)]
    std = ["-std=c11"] if args.lang == "c" else ["-std=c++17"]
    flags = (cc + std + [args.opt, "-Wall", "-Wextra", "-Werror", "-I", args.include,
                         "-I", HERE, "-I", os.path.dirname(HERE)])

    def src(*names):
        paths = [os.path.join(HERE, n) for n in names]
        return (["-x", "c++"] + paths + ["-x", "none"]) if args.lang == "c++" else paths

    def seal(name):
        run([args.seal, os.path.join(w, name + ".unsealed"), "-o", os.path.join(w, name)],
            what="skeys-seal")

    try:
        if args.mode in ("shared", "plain"):
            run(flags + ["-fPIC", "-shared", "-Wl,-soname,libkbase.so", "-Wl,--no-undefined"]
                + src("kbase.c") + ["-o", os.path.join(w, "libkbase.so.unsealed")] + libskeys,
                what="compile+link libkbase.so")
            seal("libkbase.so")
            how = ["-DKTEST_BASE_SHARED=1"] if args.mode == "shared" else ["-DKTEST_BASE_PLAIN=1"]
            run(flags + [args.pic, "-pie"] + how + src("ktest.c", "kmore.c")
                + ["-o", os.path.join(w, "ktest.unsealed"), os.path.join(w, "libkbase.so.unsealed"),
                   "-Wl,-rpath,$ORIGIN"] + libskeys, what="compile+link ktest")
        else:
            run(flags + ["-fPIE", "-pie"] + src("ktest.c", "kmore.c", "kbase.c")
                + ["-o", os.path.join(w, "ktest.unsealed")] + libskeys, what="compile+link ktest")
        seal("ktest")
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = w + os.pathsep + env.get("LD_LIBRARY_PATH", "")
        if args.wrapper:
            env["SKEYS_WRITE"] = "mprotect"  # qemu-user ignores /proc/self/mem writes
        run(shlex.split(args.wrapper) + [os.path.join(w, "ktest")], env=env, what="run ktest")
    except Failure as e:
        print(f"run-kernel: FAIL: {e}")
        return 1
    except subprocess.TimeoutExpired as e:
        print(f"run-kernel: FAIL: timed out: {e}")
        return 1
    print("run-kernel: pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
