#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""skeys configured from its source tree by someone else's build. One case
a run:

  subproject             a parent meson project (tests/e2e/install/subproject)
                         with this tree as subprojects/skeys and no C++
                         compiler: it builds, registers none of skeys's tests
                         or benchmarks, gets the shared runtime from
                         dependency('skeys') and the static one from
                         dependency('skeys', static: true), seals with
                         find_program('skeys-seal'), and its own warnings stay
                         warnings
  cross-runtime-aarch64  meson setup --cross-file cross/aarch64.txt without
                         -Dhost_tools: says the tests are skipped, builds and
                         installs the aarch64 runtime and headers; a program
                         cross-compiled against that tree seals with this
                         build's skeys-seal (and runs under qemu-user if there)

  run-source.py CASE --source-root S --build-root B --meson 'meson' --inputs tests/e2e/install

Exit: 0 pass, 1 fail, 77 skip (a program the case needs is not installed).
"""

import argparse
import json
import os
import shlex
import shutil
import struct
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from consumer import Failure, Skip, clean_env, find, main, need, run  # noqa: E402

EM_AARCH64 = 183


def case_subproject(args, tmp):
    meson = shlex.split(args.meson)
    parent = os.path.join(tmp, "parent")
    os.makedirs(os.path.join(parent, "subprojects"))
    for name in ["subproject/meson.build", "subproject/warns.c", "prog.c"]:
        shutil.copy(os.path.join(args.inputs, name), parent)
    os.symlink(os.path.abspath(args.source_root), os.path.join(parent, "subprojects", "skeys"))
    env = clean_env()
    # No C++ compiler: skeys must not ask for one.
    env["CXX"] = os.path.join(tmp, "no-c++-compiler")
    build = os.path.join(parent, "build")
    out = run(meson + ["setup", build, parent], env, what="meson setup (parent)")
    if "tests and benchmarks not built" not in out:
        sys.stdout.write(out)
        raise Failure("the subproject did not say that its tests are not built")
    tests = run(meson + ["introspect", "--tests", build], env, what="introspect --tests")
    benchmarks = run(meson + ["introspect", "--benchmarks", build], env,
                     what="introspect --benchmarks")
    names = sorted(t["name"] for t in json.loads(tests))
    print(f"  tests registered: {names}; benchmarks: {len(json.loads(benchmarks))}")
    if names != ["parent-shared", "parent-static"] or json.loads(benchmarks):
        raise Failure("the parent sees tests or benchmarks that are not its own")
    out = run(meson + ["compile", "-C", build, "-j", "2"], env, what="meson compile (parent)",
              timeout=540)
    if "warns.c" not in out or "-Wunused-variable" not in out:
        sys.stdout.write(out)
        raise Failure("warns.c did not warn: the check that warnings stay warnings is void")
    readelf = need("readelf")
    shared = run([readelf, "-d", os.path.join(build, "prog-shared")], env, what="readelf -d")
    static = run([readelf, "-d", os.path.join(build, "prog-static")], env, what="readelf -d")
    if "libskeys.so" not in shared:
        raise Failure("dependency('skeys') did not give the shared runtime")
    if "libskeys.so" in static:
        raise Failure("dependency('skeys', static: true) gave the shared runtime")
    run(meson + ["test", "-C", build, "--print-errorlogs"], env, what="meson test (parent)")


def elf_machine(path):
    with open(path, "rb") as f:
        head = f.read(20)
    if head[:4] != b"\x7fELF":
        raise Failure(f"{path} is not an ELF file")
    return struct.unpack("<H", head[18:20])[0]


def case_cross_runtime_aarch64(args, tmp):
    meson = shlex.split(args.meson)
    cc = need("aarch64-linux-gnu-gcc")
    need("ninja")
    env = clean_env()
    build = os.path.join(tmp, "build-aarch64")
    cross = os.path.join(os.path.abspath(args.source_root), "cross", "aarch64.txt")
    out = run(meson + ["setup", build, os.path.abspath(args.source_root), "--cross-file", cross,
                       "--prefix", "/usr"], env, what="meson setup --cross-file (no -Dhost_tools)")
    if "runtime and headers only" not in out:
        sys.stdout.write(out)
        raise Failure("the cross setup does not say that the tests are skipped")
    run(meson + ["compile", "-C", build, "-j", "2"], env, what="meson compile", timeout=540)
    dest = os.path.join(tmp, "destdir")
    run(meson + ["install", "-C", build, "--destdir", dest, "--quiet"], env, what="meson install")

    lib = find(dest, "libskeys.so.0")
    archive = find(dest, "libskeys.a")
    for path in [lib, find(dest, "skeys.h"), find(dest, "version.h"), find(dest, "skeys.pc")]:
        print(f"  installed: {os.path.relpath(path, dest)}")
    if elf_machine(lib) != EM_AARCH64:
        raise Failure(f"{lib} is not an aarch64 library")
    for d, _, files in os.walk(dest):
        if "skeys-seal" in files or "skeys-dump" in files:
            raise Failure(f"a cross build without host tools installed tools in {d}")

    # An application cross-compiled against that tree, sealed by this build's tool.
    work = os.path.join(tmp, "user")
    os.makedirs(work)
    shutil.copy(os.path.join(args.inputs, "prog.c"), work)
    include = os.path.dirname(find(dest, "skeys.h"))
    libdir = os.path.dirname(lib)
    run([cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "prog.c", "-o", "prog",
         "-I" + include, "-L" + libdir, "-lskeys"], env, cwd=work, what="aarch64 cc (shared)")
    run([cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "prog.c", "-o", "prog-static",
         "-I" + include, archive, "-pthread"], env, cwd=work, what="aarch64 cc (static)")
    seal = os.path.join(os.path.abspath(args.build_root), "tool", "skeys-seal")
    for prog in ["prog", "prog-static"]:
        if elf_machine(os.path.join(work, prog)) != EM_AARCH64:
            raise Failure(f"{prog} is not an aarch64 program")
        run([seal, prog], env, cwd=work, what=f"skeys-seal {prog} (build machine's)")
        run([seal, "--check", prog], env, cwd=work, what=f"skeys-seal --check {prog}")
    qemu = shutil.which("qemu-aarch64")
    if qemu is None:
        print("  qemu-aarch64 is not installed: the programs are not run")
        return
    # qemu keeps running its old translation after a /proc/self/mem write.
    run_env = dict(env, LD_LIBRARY_PATH=libdir, SKEYS_WRITE="mprotect")
    for prog in ["prog", "prog-static"]:
        sys.stdout.write(run([qemu, "-L", "/usr/aarch64-linux-gnu", "./" + prog], run_env,
                             cwd=work, what=f"qemu-aarch64 {prog}"))


CASES = {
    "subproject": case_subproject,
    "cross-runtime-aarch64": case_cross_runtime_aarch64,
}

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--source-root", required=True)
    ap.add_argument("--build-root", required=True)
    ap.add_argument("--meson", default="meson", help="meson command, one string")
    ap.add_argument("--inputs", required=True, help="tests/e2e/install")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    sys.exit(main(CASES, ap.parse_args()))
