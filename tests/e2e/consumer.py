# SPDX-License-Identifier: MIT
"""What run-install.py and run-source.py share: running a step the way a
user's build would, and the exit contract (0 pass, 1 fail, 77 skip)."""

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


class Skip(Exception):
    pass


def run(cmd, env, cwd=None, what=None, expect=0, timeout=300):
    """Runs cmd; returns its stdout and stderr together. Fails unless it exits `expect`."""
    t0 = time.monotonic()
    p = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=timeout)
    dt = time.monotonic() - t0
    print(f"  [{dt:5.2f}s rc={p.returncode}] {what + ': ' if what else ''}{shlex.join(cmd)}",
          flush=True)
    if p.returncode != expect:
        sys.stdout.write(p.stdout)
        raise Failure(f"{what or cmd[0]}: exit {p.returncode}, expected {expect}")
    return p.stdout


def need(name):
    """The path of a program the case needs, or a skip naming it."""
    path = shutil.which(name)
    if path is None:
        raise Skip(f"{name} is not installed")
    return path


def find(root, name):
    for d, _, files in os.walk(root):
        if name in files:
            return os.path.join(d, name)
    raise Failure(f"{name} was not installed (looked under {root})")


def clean_env():
    """The environment without what would let a step find skeys elsewhere."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("PKG_CONFIG", "CMAKE_")) and
            k not in ("LD_LIBRARY_PATH", "SKEYS_WRITE", "CFLAGS", "LDFLAGS")}


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def main(cases, args):
    """Runs cases[args.case](args, tmp) in a fresh temporary directory."""
    tmp = tempfile.mkdtemp(prefix=f"skeys-{args.case}-")
    try:
        cases[args.case](args, tmp)
    except Skip as e:
        print(f"SKIP: {e}")
        return SKIP
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
