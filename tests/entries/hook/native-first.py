#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run a cross build's test program natively when this machine can (an
x86-64 Linux kernel runs i686 programs given the i386 loader, libc6-i386),
else under the cross build's emulator: natively, threads and
/proc/self/mem writes work as on real hardware.

  native-first.py [--qemu-skip WHY] --wrapper 'qemu-i386 -L ...' PROGRAM ARGS...

--qemu-skip WHY: the program cannot run under qemu-user (it starts
threads, and Debian 12's qemu-i386 (7.2) never returns from
pthread_create; it writes code through /proc/self/mem, which qemu does
not see): there, skip (77) saying WHY.
Exit: the program's, or 77.
"""
import argparse
import os
import shlex
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrapper", required=True)
    ap.add_argument("--qemu-skip", default="")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    try:
        return subprocess.run(args.cmd).returncode
    except OSError as e:  # ENOEXEC: no 32-bit support; ENOENT: no loader
        why = "natively: %s" % e.strerror
    wrapper = shlex.split(args.wrapper)
    if args.qemu_skip and os.path.basename(wrapper[0]).startswith("qemu-"):
        print("SKIP: %s; under %s: %s" % (why, os.path.basename(wrapper[0]), args.qemu_skip))
        return 77
    print("under %s (%s)" % (wrapper[0], why))
    sys.stdout.flush()
    return subprocess.run(wrapper + args.cmd).returncode


if __name__ == "__main__":
    sys.exit(main())
