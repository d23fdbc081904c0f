#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Install tests: `meson install --destdir` the build into a temporary
directory, then use that tree from outside the repository the way a user
would. One case a run:

  pkg-config              cc prog.c $(pkg-config --cflags --libs skeys), sealed
                          with the installed skeys-seal, run against the
                          installed libskeys; one version everywhere; the
                          gdb recipe in DATADIR/skeys
  pkg-config-static       cc -static ... $(pkg-config --static ...) links under
                          -Wl,--fatal-warnings (no dlopen warning) and runs
  static-archive-exports  a user's .so linking libskeys.a exports no skeys_*;
                          libskeys.so exports the API and no test hook
  cmake-ninja, cmake-make find_package(skeys CONFIG), skeys::skeys,
                          skeys::skeys_static and skeys_seal() with CMake's
                          Ninja and Unix Makefiles generators
  man                     every man page installed, and `man -l` renders it
                          without a warning

  run-install.py CASE --build-root B --meson 'meson' --inputs tests/e2e/install

Exit: 0 pass, 1 fail, 77 skip (a program the case needs is not installed).
"""

import argparse
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from consumer import Failure, Skip, clean_env, find, main, need, run  # noqa: E402


class Installed:
    """The build installed under tmp/destdir, and an environment that sees only it."""

    def __init__(self, args, tmp):
        self.dest = os.path.join(tmp, "destdir")
        self.env = clean_env()
        run(shlex.split(args.meson) + ["install", "-C", os.path.abspath(args.build_root),
                                       "--destdir", self.dest, "--no-rebuild", "--quiet"],
            self.env, what="meson install")
        self.pc = find(self.dest, "skeys.pc")
        self.libdir = os.path.dirname(os.path.dirname(self.pc))
        self.prefix = os.path.dirname(os.path.dirname(find(self.dest, "skeys.h")))
        self.seal = find(self.dest, "skeys-seal")
        self.dump = find(self.dest, "skeys-dump")
        # pkg-config sees only the installed tree; the sysroot prefixes its paths.
        self.env["PKG_CONFIG_LIBDIR"] = os.path.dirname(self.pc)
        self.env["PKG_CONFIG_SYSROOT_DIR"] = self.dest

    def pkg_config(self, *flags):
        pc = need("pkg-config")
        out = run([pc, *flags, "skeys"], self.env, what="pkg-config").split()
        for f in out:
            if f.startswith(("-I", "-L")) and not f[2:].startswith(self.dest):
                raise Failure(f"pkg-config flag {f} points outside the install tree")
        return out


def user_dir(args, tmp, *names):
    """A directory outside the repository with copies of the named inputs."""
    work = os.path.join(tmp, "user")
    os.makedirs(work, exist_ok=True)
    for name in names:
        shutil.copy(os.path.join(args.inputs, name), os.path.join(work, os.path.basename(name)))
    return work


def run_prog(args, inst, work, prog, env):
    """prog unsealed (refused, unless dev_sort), then sealed and run."""
    if args.dev_sort:
        run([prog], env, cwd=work, what="run unsealed (dev_sort: works)")
    else:
        out = run([prog], env, cwd=work, what="run unsealed (refused)", expect=1)
        if "skeys-seal" not in out:
            sys.stdout.write(out)
            raise Failure("the refusal does not point at skeys-seal")
    run([inst.seal, prog], env, cwd=work, what="installed skeys-seal")
    sys.stdout.write(run([prog], env, cwd=work, what="run sealed"))


def case_pkg_config(args, tmp):
    cc = need("cc")
    inst = Installed(args, tmp)
    flags = inst.pkg_config("--cflags", "--libs")
    work = user_dir(args, tmp, "prog.c")
    run([cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "prog.c", "-o", "prog"] + flags,
        inst.env, cwd=work, what="cc")
    env = dict(inst.env, LD_LIBRARY_PATH=next(f[2:] for f in flags if f.startswith("-L")))
    run_prog(args, inst, work, "./prog", env)
    run([inst.seal, "--check", "prog"], env, cwd=work, what="installed skeys-seal --check")
    run([inst.dump, "prog"], env, cwd=work, what="installed skeys-dump")
    gdb_py = os.path.join(inst.prefix, "share", "skeys", "skeys-gdb.py")
    if not os.path.isfile(gdb_py):
        raise Failure(f"the gdb recipe was not installed as {gdb_py}")
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                           "skeys-gdb.py"), "rb") as f, open(gdb_py, "rb") as g:
        if f.read() != g.read():
            raise Failure(f"{gdb_py} is not scripts/skeys-gdb.py")
    ldd = shutil.which("ldd")
    if ldd:
        out = run([ldd, "./prog"], env, cwd=work, what="ldd")
        line = next((l for l in out.splitlines() if "libskeys" in l), "")
        if inst.dest not in line:
            raise Failure(f"prog does not load the installed libskeys: {line.strip()}")

    # One version: skeys.pc, <skeys/version.h>, the tools, the runtime's file name.
    version = run([need("pkg-config"), "--modversion", "skeys"], inst.env,
                  what="pkg-config --modversion").strip()
    with open(find(inst.dest, "version.h")) as f:
        header = re.search(r'#define SKEYS_VERSION_STRING "([^"]*)"', f.read())
    seen = {
        "<skeys/version.h>": header.group(1) if header else None,
        "skeys-seal --version": run([inst.seal, "--version"], env, what="version").split()[-1],
        "skeys-dump --version": run([inst.dump, "--version"], env, what="version").split()[-1],
        "libskeys.so.*": next((p.split("libskeys.so.")[1] for p in
                               glob.glob(os.path.join(inst.libdir, "libskeys.so.*.*"))), None),
    }
    for where, v in seen.items():
        print(f"  version: {where}: {v} (skeys.pc: {version})")
        if v != version:
            raise Failure(f"{where} says {v}, skeys.pc says {version}")


def case_pkg_config_static(args, tmp):
    cc = need("cc")
    inst = Installed(args, tmp)
    flags = inst.pkg_config("--static", "--cflags", "--libs")
    work = user_dir(args, tmp, "prog.c")
    run([cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-static", "prog.c", "-o", "prog"] +
        flags + ["-Wl,--fatal-warnings"], inst.env, cwd=work, what="cc -static, fatal warnings")
    out = run([need("readelf"), "-d", "prog"], inst.env, cwd=work, what="readelf -d")
    if "NEEDED" in out:
        raise Failure("prog is not static: " + out)
    run_prog(args, inst, work, "./prog", inst.env)


def exported(env, path):
    out = run([need("nm"), "-D", "--defined-only", path], env, what="nm -D")
    # "address T name@@VERSION": the name.
    return [line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()]


def case_static_archive_exports(args, tmp):
    cc = need("cc")
    inst = Installed(args, tmp)
    cflags = inst.pkg_config("--cflags")
    archive = find(inst.dest, "libskeys.a")
    work = user_dir(args, tmp, "userlib.c", "userlib-main.c")
    run([cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", "userlib.c",
         "-o", "libuser.so"] + cflags + [archive, "-pthread"], inst.env, cwd=work,
        what="cc -shared with libskeys.a")
    syms = exported(inst.env, os.path.join(work, "libuser.so"))
    print(f"  libuser.so exports: {' '.join(syms)}")
    leaked = [s for s in syms if s.startswith("skeys")]
    if leaked:
        raise Failure(f"libuser.so re-exports the static runtime: {' '.join(leaked)}")
    if "userlib_on" not in syms:
        raise Failure("libuser.so does not export its own userlib_on (nm -D broken?)")
    run([cc, "-O2", "userlib-main.c", "-o", "main", "-L.", "-luser", "-Wl,-rpath,$ORIGIN"],
        inst.env, cwd=work, what="cc main")
    run([inst.seal, "libuser.so"], inst.env, cwd=work, what="seal libuser.so")
    sys.stdout.write(run(["./main"], inst.env, cwd=work, what="run"))

    api = exported(inst.env, find(inst.dest, os.path.basename(
        glob.glob(os.path.join(inst.libdir, "libskeys.so.*.*"))[0])))
    print(f"  libskeys.so exports: {' '.join(api)}")
    if "skeys_key_enable" not in api:
        raise Failure("libskeys.so does not export skeys_key_enable")
    if any(s.startswith("skeys__") for s in api):
        raise Failure("libskeys.so exports a test-only skeys__ symbol")


def case_cmake(generator, build_program):
    def case(args, tmp):
        cmake = need("cmake")
        need(build_program)
        need("cc")
        inst = Installed(args, tmp)
        work = user_dir(args, tmp, "prog.c", "cmake/CMakeLists.txt")
        build = os.path.join(tmp, "cmake-build")
        run([cmake, "-S", work, "-B", build, "-G", generator,
             "-DCMAKE_PREFIX_PATH=" + inst.prefix, "-DCMAKE_BUILD_TYPE=RelWithDebInfo"],
            inst.env, what="cmake configure")
        out = run([cmake, "--build", build, "--verbose"], inst.env, what="cmake --build")
        if inst.seal not in out:
            sys.stdout.write(out)
            raise Failure("the build did not run the installed skeys-seal")
        env = dict(inst.env, LD_LIBRARY_PATH=inst.libdir)
        for prog in ["prog", "prog_static"]:
            path = os.path.join(build, prog)
            # skeys_seal() sealed it after the link: --check passes as built.
            run([inst.seal, "--check", path], env, what=f"{prog} is sealed")
            sys.stdout.write(run([path], env, what=f"run {prog}"))
        out = run([need("ldd"), os.path.join(build, "prog_static")], env, what="ldd prog_static")
        if "libskeys" in out:
            raise Failure("skeys::skeys_static linked the shared libskeys")
        # A version the package cannot satisfy must be refused.
        with open(os.path.join(work, "CMakeLists.txt")) as f:
            text = f.read()
        with open(os.path.join(work, "CMakeLists.txt"), "w") as f:
            f.write(text.replace("find_package(skeys 0.1 CONFIG", "find_package(skeys 99 CONFIG"))
        out = run([cmake, "-S", work, "-B", os.path.join(tmp, "cmake-99"), "-G", generator,
                   "-DCMAKE_PREFIX_PATH=" + inst.prefix], inst.env,
                  what="cmake asking for skeys 99", expect=1)
        if "version" not in out:
            sys.stdout.write(out)
            raise Failure("cmake's refusal of version 99 does not mention the version")
    return case


MAN_PAGES = ["man1/skeys-seal.1", "man1/skeys-dump.1", "man3/skeys.3", "man3/skeys-kernel.3"]


def case_man(args, tmp):
    man = need("man")
    inst = Installed(args, tmp)
    pages = [p for p in glob.glob(os.path.join(inst.dest, "**", "man", "man*", "*"),
                                  recursive=True)]
    if not pages:
        raise Skip("this build has no man pages (scdoc was not found when it was configured)")
    for page in MAN_PAGES:
        path = next((p for p in pages if p.endswith("/" + page)), None)
        if path is None:
            raise Failure(f"{page} was not installed")
        env = dict(inst.env, MANWIDTH="80", MAN_KEEP_FORMATTING="0", LC_ALL="C.UTF-8")
        p = subprocess.run([man, "--warnings", "-l", path], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=60)
        print(f"  rc={p.returncode} man --warnings -l {page}: {len(p.stdout.splitlines())} lines")
        if p.returncode != 0 or p.stderr:
            sys.stdout.write(p.stderr)
            raise Failure(f"man -l {page}: exit {p.returncode}, warnings above")
        if len(p.stdout.splitlines()) < 20:
            sys.stdout.write(p.stdout)
            raise Failure(f"man -l {page} rendered almost nothing")


CASES = {
    "pkg-config": case_pkg_config,
    "pkg-config-static": case_pkg_config_static,
    "static-archive-exports": case_static_archive_exports,
    "cmake-ninja": case_cmake("Ninja", "ninja"),
    "cmake-make": case_cmake("Unix Makefiles", "make"),
    "man": case_man,
}

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--build-root", required=True)
    ap.add_argument("--meson", default="meson", help="meson command, one string")
    ap.add_argument("--inputs", required=True, help="tests/e2e/install")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--dev-sort", action="store_true",
                    help="runtime built with dev_sort: unsealed binaries work")
    sys.exit(main(CASES, ap.parse_args()))
