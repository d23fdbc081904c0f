#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The hook stubs' assembly keeps a CET build CET: compiled with
-fcf-protection, runtime/arch/x86_64-entry.S (i686-entry.S for an i686
compiler) carries the GNU property note (IBT and SHSTK), so a shared
library linked from it and C objects built the same way is still marked
for both; the routine starts with endbr64 (endbr32).

  cet.py CC SOURCE_ROOT WORKDIR [x86_64|i686]
Exit: 0 pass, 1 fail, 77 skip (no readelf or objdump, or the compiler
has no -fcf-protection).
"""
import os
import shlex
import shutil
import subprocess
import sys

C = r"""
#include <stdint.h>
uint32_t skeys__entry_save_mode;
void skeys__entry_hook_run(const void *slot);
void skeys__entry_hook_run(const void *slot) { (void)slot; }
"""


def run(args):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode:
        print(f"FAIL: {' '.join(args)}: exit {p.returncode}\n{p.stdout}")
        sys.exit(1)
    return p.stdout


def main():
    cc, src, work = shlex.split(sys.argv[1]), sys.argv[2], sys.argv[3]
    arch = sys.argv[4] if len(sys.argv) > 4 else "x86_64"
    endbr = "endbr32" if arch == "i686" else "endbr64"
    for tool in ("readelf", "objdump"):
        if not shutil.which(tool):
            print(f"SKIP: {tool} is not installed")
            return 77
    os.makedirs(work, exist_ok=True)
    asm = os.path.join(src, "runtime", "arch", arch + "-entry.S")
    c = os.path.join(work, "rest.c")
    open(c, "w").write(C)
    probe = subprocess.run([*cc, "-fcf-protection", "-x", "c", "-c", "-o", os.devnull, c],
                           capture_output=True)
    if probe.returncode:
        print(f"SKIP: {sys.argv[1]} has no -fcf-protection")
        return 77
    objs = []
    for f in (asm, c):
        o = os.path.join(work, os.path.basename(f) + ".o")
        run([*cc, "-fcf-protection", "-fPIC", "-c", f, "-o", o])
        objs.append(o)
    lib = os.path.join(work, "libcet.so")
    # Without the C start files: Debian builds them without CET, which would
    # drop the property from any library whatever its own objects.
    run([*cc, "-shared", "-nostdlib", "-fcf-protection", *objs, "-o", lib])
    ok = True
    for path in (objs[0], lib):
        notes = run(["readelf", "-n", path])
        if "IBT" not in notes or "SHSTK" not in notes:
            print(f"FAIL: {path} lacks the x86 feature property IBT, SHSTK:\n{notes}")
            ok = False
        else:
            print(f"{os.path.basename(path)}: IBT, SHSTK")
    dis = run(["objdump", "-d", "--no-show-raw-insn", objs[0]])
    body = dis.split("<skeys__entry_hook_common>:", 1)[-1].strip().splitlines()
    if not body or endbr not in body[0]:
        print(f"FAIL: skeys__entry_hook_common does not start with {endbr}:\n" + "\n".join(body[:3]))
        ok = False
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
