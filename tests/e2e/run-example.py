#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Build one of examples/ against the build tree, the way a user would, and
run the sealed result.

  run-example.py {make,cmake,meson,cc} --source-root S --build-root B \\
      --seal build/tool/skeys-seal --dump build/tool/skeys-dump --workdir W
  run-example.py {trace,livepatch} ...   examples/trace, examples/livepatch
                                         (function entries) with their Makefiles

skeys is found through pkg-config, from a skeys.pc written here that points
at the source tree's include/ and the build tree's libskeys. (Meson's own
meson-uninstalled/skeys-uninstalled.pc names build-tree include directories
that do not exist, which CMake rejects.)
Exit: 0 pass, 1 fail, 77 skip (make, cmake or cc not installed).
"""

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from consumer import SKIP, Failure, run  # noqa: E402


def tool(name):
    path = shutil.which(name)
    if path is None:
        print(f"SKIP: {name} is not installed")
        sys.exit(SKIP)
    return path


# What each function-entries example must print: the counts that do not
# depend on how the compiler shaped the recursion of fib (2 threads x 20
# rounds of the work), and the livepatch's three states.
ENTRIES_WANT = {
    "trace": ["      4000  is_prime", "       400  collatz_steps", "        40  checksum",
              "         2  work", "  fib ("],
    "livepatch": ["before: February 1900 has 29 days", "patched: February 1900 has 28 days",
                  "restored: February 1900 has 29 days"],
}


def entries_example(name, src, seal, dump, work, env):
    """Build examples/NAME with its Makefile (gcc, then clang), dump and run it."""
    make = tool("make")
    tool("pkg-config")
    try:
        for cc in ("gcc", "clang"):
            if not shutil.which(cc):
                print(f"  {cc} not installed: not built with it")
                continue
            d = os.path.join(work, cc)
            os.makedirs(d)
            mk = os.path.join(src, "examples", name, "Makefile")
            run([make, "-f", mk, "CC=" + cc, "SKEYS_SEAL=" + seal], env, cwd=d,
                what=f"make ({cc})")
            exe = os.path.join(d, name)
            listed = json.loads(run([dump, "--json", exe], env, what="skeys-dump --json"))
            names = {e["function"].split("+")[0] for e in listed.get("function_entries", [])
                     if e["ok"]}
            want = {"days_in_february"} if name == "livepatch" else {"fib", "is_prime", "work"}
            if not want <= names:
                raise Failure(f"skeys-dump's function_entries lack {sorted(want - names)}")
            out = run([exe], env, what=f"run {name}")
            sys.stdout.write(out)
            for want in ENTRIES_WANT[name]:
                if want not in out:
                    raise Failure(f"{name}'s output lacks {want!r}")
            # fib(15) once a round at least (the compilers turn part of its
            # recursion into loops, gcc and clang differently).
            fib = [int(l.split()[0]) for l in out.splitlines() if l.split()[1:2] == ["fib"]]
            if name == "trace" and not (fib and fib[0] >= 40):
                raise Failure("fib not counted at least 40 times")
    except Failure as e:
        print(f"FAIL: {e}")
        return 1
    print("PASS")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("system", choices=["make", "cmake", "meson", "cc", "trace", "livepatch"])
    ap.add_argument("--source-root", required=True)
    ap.add_argument("--build-root", required=True)
    ap.add_argument("--seal", required=True)
    ap.add_argument("--dump", required=True)
    ap.add_argument("--meson", default="meson", help="meson command, one string")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--dev-sort", action="store_true",
                    help="runtime built with dev_sort: unsealed binaries work")
    args = ap.parse_args()

    src = os.path.abspath(args.source_root)
    build = os.path.abspath(args.build_root)
    work = os.path.abspath(args.workdir)
    seal = os.path.abspath(args.seal)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)

    pcdir = os.path.join(work, "pkgconfig")
    os.makedirs(pcdir)
    with open(os.path.join(pcdir, "skeys.pc"), "w") as f:
        f.write(f"""includedir={src}/include
libdir={build}/runtime

Name: skeys
Description: skeys from its build tree
Version: 0
Cflags: -I${{includedir}}
Libs: -L${{libdir}} -lskeys
Libs.private: -pthread -ldl
""")
    env = dict(os.environ)
    env["PKG_CONFIG_PATH"] = pcdir
    env.pop("PKG_CONFIG_LIBDIR", None)
    # The seal step finds skeys-seal on PATH, as an installed one would be.
    env["PATH"] = os.path.dirname(seal) + os.pathsep + env.get("PATH", "")
    env["LD_LIBRARY_PATH"] = os.path.join(build, "runtime")
    env.pop("SKEYS_WRITE", None)
    env["LC_ALL"] = "C"  # make's "is up to date" is checked below

    try:
        if args.system in ("trace", "livepatch"):
            return entries_example(args.system, src, seal, args.dump, work, env)
        if args.system == "make":
            make = tool("make")
            tool("pkg-config")
            mk = os.path.join(src, "examples", "make", "Makefile")
            run([make, "-f", mk, "SKEYS_SEAL=" + seal], env, cwd=work, what="make")
            # Up to date now: a second make must not relink (or reseal).
            out = run([make, "-f", mk, "SKEYS_SEAL=" + seal], env, cwd=work,
                      what="make (no-op)")
            if "is up to date" not in out:
                raise Failure("second make rebuilt something:\n" + out)
            exe = os.path.join(work, "demo")
        elif args.system == "cmake":
            cmake = tool("cmake")
            tool("pkg-config")
            bdir = os.path.join(work, "build")
            run([cmake, "-S", os.path.join(src, "examples", "cmake"), "-B", bdir,
                 "-DSKEYS_SEAL=" + seal], env, what="cmake configure")
            run([cmake, "--build", bdir], env, what="cmake build")
            exe = os.path.join(bdir, "demo")
        elif args.system == "meson":
            meson = shlex.split(args.meson)
            tool("pkg-config")
            bdir = os.path.join(work, "build")
            run(meson + ["setup", bdir, os.path.join(src, "examples", "meson")], env,
                what="meson setup")
            run(meson + ["compile", "-C", bdir], env, what="meson compile")
            exe = os.path.join(bdir, "demo")
        else:
            # What scripts/demo.sh does, by hand.
            cc = tool("cc")
            exe = os.path.join(work, "demo")
            unsealed = os.path.join(work, "demo-unsealed")
            run([cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror",
                 "-I", os.path.join(src, "include"), os.path.join(src, "examples", "demo.c"),
                 "-o", unsealed, os.path.join(build, "runtime", "libskeys.so")], env,
                what="compile demo.c")
            if args.dev_sort:
                run([unsealed], env, what="run the unsealed demo (dev_sort: works)")
            else:
                p = subprocess.run([unsealed], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, timeout=60)
                print(f"  [rc={p.returncode}] run the unsealed demo (must be refused)")
                if p.returncode != 1 or "skeys-seal" not in p.stdout:
                    sys.stdout.write(p.stdout)
                    raise Failure("the unsealed demo was not refused with a message "
                                  "naming skeys-seal")
            run([seal, unsealed, "-o", exe], env, what="skeys-seal -o")
            run([args.dump, exe], env, what="skeys-dump")

        run([seal, "--check", exe], env, what="skeys-seal --check")
        out = run([exe], env, what="run the sealed demo")
        sys.stdout.write(out)
        for want in ("request 1: fast path, not traced", "request 2: fast path, traced",
                     "request 3: slow path, traced", "every request took the path"):
            if want not in out:
                raise Failure(f"the demo's output lacks {want!r}")
    except Failure as e:
        print(f"FAIL: {e}")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
