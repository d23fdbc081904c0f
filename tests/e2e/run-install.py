#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Install test: `meson install --destdir` the build into a temporary
directory, then build install/prog.c outside the repository with nothing but
`cc prog.c $(pkg-config --cflags --libs skeys)`, seal it with the installed
skeys-seal and run it against the installed libskeys.

  run-install.py --build-root B --meson 'meson' --prog tests/e2e/install/prog.c

Exit: 0 pass, 1 fail, 77 skip (cc or pkg-config not installed).
"""

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77


class Failure(Exception):
    pass


def run(cmd, env, cwd=None, what=None, expect=0):
    t0 = time.monotonic()
    p = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=120)
    dt = time.monotonic() - t0
    print(f"  [{dt:5.2f}s rc={p.returncode}] {what + ': ' if what else ''}{shlex.join(cmd)}",
          flush=True)
    if p.returncode != expect:
        sys.stdout.write(p.stdout)
        raise Failure(f"{what or cmd[0]}: exit {p.returncode}, expected {expect}")
    return p.stdout


def find(root, name):
    for d, _, files in os.walk(root):
        if name in files:
            return os.path.join(d, name)
    raise Failure(f"{name} was not installed (looked under {root})")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-root", required=True)
    ap.add_argument("--meson", default="meson", help="meson command, one string")
    ap.add_argument("--prog", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--dev-sort", action="store_true",
                    help="runtime built with dev_sort: unsealed binaries work")
    args = ap.parse_args()

    cc = shutil.which("cc")
    pkg_config = shutil.which("pkg-config")
    if cc is None or pkg_config is None:
        print("SKIP: cc or pkg-config is not installed")
        return SKIP

    tmp = tempfile.mkdtemp(prefix="skeys-install-")
    try:
        check(args, tmp, cc, pkg_config)
    except Failure as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("PASS")
    return 0


def check(args, tmp, cc, pkg_config):
    dest = os.path.join(tmp, "destdir")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PKG_CONFIG") and k not in ("LD_LIBRARY_PATH", "SKEYS_WRITE")}
    run(shlex.split(args.meson) + ["install", "-C", os.path.abspath(args.build_root),
                                   "--destdir", dest, "--no-rebuild", "--quiet"],
        env, what="meson install")

    pc = find(dest, "skeys.pc")
    seal = find(dest, "skeys-seal")
    dump = find(dest, "skeys-dump")
    # pkg-config sees only the installed tree; the sysroot prefixes its paths.
    env["PKG_CONFIG_LIBDIR"] = os.path.dirname(pc)
    env["PKG_CONFIG_SYSROOT_DIR"] = dest
    flags = run([pkg_config, "--cflags", "--libs", "skeys"], env, what="pkg-config").split()
    print(f"  pkg-config: {' '.join(flags)}")
    for f in flags:
        if f.startswith(("-I", "-L")) and not f[2:].startswith(dest):
            raise Failure(f"pkg-config flag {f} points outside the install tree")

    work = os.path.join(tmp, "user")
    os.makedirs(work)
    shutil.copy(args.prog, os.path.join(work, "prog.c"))
    run([cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "prog.c", "-o", "prog"] + flags,
        env, cwd=work, what="cc")

    libdir = next(f[2:] for f in flags if f.startswith("-L"))
    env["LD_LIBRARY_PATH"] = libdir
    if args.dev_sort:
        run(["./prog"], env, cwd=work, what="run unsealed (dev_sort: works)")
    else:
        # Unsealed: the installed runtime must refuse the toggle.
        out = run(["./prog"], env, cwd=work, what="run unsealed (refused)", expect=1)
        if "skeys-seal" not in out:
            sys.stdout.write(out)
            raise Failure("the refusal does not point at skeys-seal")
    run([seal, "prog"], env, cwd=work, what="installed skeys-seal")
    run([seal, "--check", "prog"], env, cwd=work, what="installed skeys-seal --check")
    run([dump, "prog"], env, cwd=work, what="installed skeys-dump")
    ldd = shutil.which("ldd")
    if ldd:
        out = run([ldd, "./prog"], env, cwd=work, what="ldd")
        line = next((l for l in out.splitlines() if "libskeys" in l), "")
        if dest not in line:
            raise Failure(f"prog does not load the installed libskeys: {line.strip()}")
    out = run(["./prog"], env, cwd=work, what="run sealed")
    sys.stdout.write(out)


if __name__ == "__main__":
    sys.exit(main())
