#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Static calls that <skeys.h> refuses at compile time, with the message it
gives (refused.c): for each compiler of the group, refused.c compiles
without a CASE_ macro and fails, saying so, with each case.

  refused.py GROUP --include DIR
    macho    SKEYS_EXPORT_CALL, SKEYS_IMPORT_CALL on Mach-O (x86_64, arm64)
    stdcall  a __stdcall or __fastcall call type on i386 (PE and ELF; C, C++)

Exit: 0 pass, 1 fail, 77 skip (no compiler of the group is installed). A
compiler missing from a group that has others is named and left out.
"""
import os
import shlex
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "refused.c")

MACHO_MSG = "SKEYS_EXPORT_CALL and SKEYS_IMPORT_CALL are not supported on Mach-O"
CXX_MSG = "a static call's function type must be cdecl on i386"
# gcc and clang name the two conventions in either order.
C_MSGS = ("stdcall and cdecl attributes are not compatible",
          "cdecl and stdcall attributes are not compatible")
C_MSGS_FAST = ("fastcall and cdecl attributes are not compatible",
               "cdecl and fastcall attributes are not compatible")

C = ["-std=c11"]
CXX = ["-x", "c++", "-std=c++17"]


def groups():
    macho = []
    for arch in ("x86_64", "arm64"):
        cc = ["clang", "-target", arch + "-apple-macos11", "-ffreestanding"]
        # No C++ library for macOS here: <skeys.h> needs none.
        for lang in (C, CXX + ["-nostdinc++"]):
            for case in ("CASE_EXPORT", "CASE_IMPORT"):
                macho.append((cc + lang, case, (MACHO_MSG,)))
    stdcall = []
    for c, cxx in ((["i686-w64-mingw32-gcc"], ["i686-w64-mingw32-g++"]),
                   (["clang", "--target=i686-w64-mingw32"],
                    ["clang++", "--target=i686-w64-mingw32"]),
                   (["i686-linux-gnu-gcc", "-fPIC"], ["i686-linux-gnu-g++", "-fPIC"])):
        stdcall.append((c + C, "CASE_STDCALL", C_MSGS))
        stdcall.append((c + C, "CASE_FASTCALL", C_MSGS_FAST))
        stdcall.append((cxx + CXX, "CASE_STDCALL", (CXX_MSG,)))
        stdcall.append((cxx + CXX, "CASE_FASTCALL", (CXX_MSG,)))
    return {"macho": macho, "stdcall": stdcall}


def compile_(cmd, include, case):
    full = cmd + ["-O2", "-Wall", "-Wextra", "-Werror", "-I", include] + \
        (["-D" + case] if case else []) + ["-c", SRC, "-o", os.devnull]
    p = subprocess.run(full, capture_output=True, text=True, timeout=120)
    return full, p


def main():
    if len(sys.argv) != 4 or sys.argv[2] != "--include" or sys.argv[1] not in groups():
        print(__doc__)
        return 2
    include = sys.argv[3]
    rows = groups()[sys.argv[1]]
    ran = failed = 0
    checked = set()
    for cmd, case, msgs in rows:
        if not shutil.which(cmd[0]):
            if cmd[0] not in checked:
                print(f"{cmd[0]}: not installed, left out")
            checked.add(cmd[0])
            continue
        key = shlex.join(cmd)
        if key not in checked:
            checked.add(key)
            full, p = compile_(cmd, include, None)
            if p.returncode:
                print(f"FAIL: {shlex.join(full)}: the file without a case does not compile\n"
                      + p.stderr)
                failed += 1
                continue
        full, p = compile_(cmd, include, case)
        ran += 1
        if p.returncode == 0:
            print(f"FAIL: {shlex.join(full)}: compiled")
            failed += 1
        elif not any(m in p.stderr for m in msgs):
            print(f"FAIL: {shlex.join(full)}: refused without saying why ({msgs[0]!r})\n"
                  + p.stderr)
            failed += 1
        else:
            print(f"refused as expected: {key} -D{case}")
    if not ran:
        print("SKIP: no compiler of this group is installed")
        return 77
    print(f"{ran} cases, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
