# SPDX-License-Identifier: MIT
"""What the drivers that build and run one test case share
(tests/calls/run-calls.py, tests/entries/run-entries.py): running a command
and checking its exit status, running a built program under the cross
build's emulator, skipping when a tool is missing, where an address of a
linked file lies in it (tests/objfile.py), and the case's frame (a fresh
work directory, PASS or FAIL, the exit status meson reads).
"""

import os
import shlex
import shutil
import subprocess
import sys

import objfile

SKIP = 77


class Failure(Exception):
    pass


class Skip(Exception):
    """The case cannot run here (exit 77): why."""


# The emulator command (qemu-user) the built programs run under; empty natively.
WRAPPER = []


def run(cmd, expect=0, env=None):
    """Run cmd, echo its output; exit status `expect` (None: any) or Failure."""
    print("+ " + " ".join(cmd), flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", env=env,
                       timeout=100)
    sys.stdout.write(p.stdout)
    sys.stdout.write(p.stderr)
    if expect is not None and p.returncode != expect:
        raise Failure("%s: exit %d, expected %d" % (cmd[0], p.returncode, expect))
    return p


def run_prog(cmd, expect=0, env=None):
    """A built program, under the cross build's emulator if any."""
    return run(WRAPPER + cmd, expect=expect, env=env)


def need(program):
    """Exit 77 (meson's skip), saying so, when `program` is not installed."""
    if not shutil.which(program):
        print("SKIP: %s is not installed" % program)
        sys.exit(SKIP)


def sections(path):
    """The sections of a linked file, each {name, type, addr, offset, size}."""
    with open(path, "rb") as f:
        return objfile.sections(f.read())


def file_offset(path, addr):
    """The file offset of virtual address addr: in the loaded section holding it."""
    for s in sections(path):
        if s["addr"] and s["type"] != objfile.SHT_NOBITS and \
                s["addr"] <= addr < s["addr"] + s["size"]:
            return s["offset"] + addr - s["addr"]
    raise Failure("%s: no section holds 0x%x" % (path, addr))


def drive(args, cases, failures=()):
    """Run the case args.mode names, cases[args.mode](args, workdir), in a
    fresh args.workdir, the programs under args.wrapper: 0 and PASS, 77 and
    SKIP with the reason (a Skip), or 1 and FAIL with the reason (a Failure,
    a timeout, or one of `failures`)."""
    WRAPPER[:] = shlex.split(args.wrapper)
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    try:
        cases[args.mode](args, args.workdir)
    except Skip as e:
        print("SKIP: %s" % e)
        return SKIP
    except (Failure, subprocess.TimeoutExpired) + tuple(failures) as e:
        print("FAIL: %s" % e)
        return 1
    print("PASS")
    return 0
