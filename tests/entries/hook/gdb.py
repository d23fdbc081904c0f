#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""gdb inside a handler: `hook_guard unwind` stopped at its handler, whose
traced function's pad calls a hook stub. The backtrace goes from the
handler through the stub's routine to the traced function, showing the
argument its caller passed (the routine's CFI says where it saved it), and
on to the caller and main; `finish` out of the handler and `continue` run
the program to a clean exit.

  gdb.py HOOK_GUARD
Exit: 0 pass, 1 fail, 77 skip (gdb not installed, or HOOK_GUARD, a cross
build's i686 program, does not run on this machine).
"""
import shutil
import subprocess
import sys


def main():
    gdb = shutil.which("gdb")
    if not gdb:
        print("SKIP: gdb is not installed")
        return 77
    try:
        subprocess.run([sys.argv[1]], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60)
    except OSError as e:
        print(f"SKIP: {sys.argv[1]} does not run here: {e.strerror}")
        return 77
    p = subprocess.run([gdb, "-q", "-batch", "-nx", "-ex", "break unwind_handler", "-ex", "run",
                        "-ex", "bt", "-ex", "finish", "-ex", "continue",
                        "--args", sys.argv[1], "unwind"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    sys.stdout.write(p.stdout)
    frames = [l for l in p.stdout.splitlines() if l.startswith("#")]
    # The argument: x@entry where it came in a register (x86-64), plain on the stack (i686).
    want = ["unwind_handler", "skeys__entry_hook_run", "skeys__entry_hook_common",
            ("traced_real (x=x@entry=1)", "traced_real (x=1)"), "test_unwind", "main"]
    # In order, one frame each.
    at = 0
    for w in want:
        while at < len(frames) and not any(v in frames[at] for v in
                                           (w if isinstance(w, tuple) else (w,))):
            at += 1
        if at == len(frames):
            print(f"FAIL: no frame {w!r} (in this order: {want})")
            return 1
    if "exited normally" not in p.stdout:
        print("FAIL: the program did not run on to a clean exit")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
