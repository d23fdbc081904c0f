#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Syscalls a toggle costs, against the number of sites and of page runs.

Builds programs whose one key has N sites (dense: consecutive small
functions; spread: every function on its own 8 KiB boundary, so every site is
its own page run), seals them, and counts the write syscalls of one
enable + disable under strace, minus those of a run that does not toggle.

    bench/toggle_syscalls.py BUILD_DIR
"""
import json
import os
import re
import subprocess
import sys
import tempfile

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def program(n, spread):
    align = "__attribute__((noinline, aligned(8192)))" if spread else "__attribute__((noinline))"
    lines = ["#include <skeys.h>", "#include <string.h>", "SKEYS_DEFINE_FALSE(k);",
             "typedef int (*fn)(int);"]
    for i in range(n):
        lines.append(f"{align} static int f{i}(int x) {{ if (skeys_branch_unlikely(&k)) return x + {i}; return x; }}")
    lines.append("static fn fns[] = {" + ",".join(f"f{i}" for i in range(n)) + "};")
    lines.append("""int main(int argc, char **argv) {
  int s = 0;
  if (argc > 1 && !strcmp(argv[1], "toggle")) {
    if (skeys_enable(&k) || skeys_disable(&k)) return 1;
  }
  for (unsigned i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) s += fns[i](1);
  return s == (int)(sizeof(fns) / sizeof(fns[0])) ? 0 : 2;
}""")
    return "\n".join(lines) + "\n"


def count(exe, toggle, method):
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as out:
        env = dict(os.environ, SKEYS_WRITE=method)
        args = ["strace", "-f", "-c", "-o", out.name, "-e", "trace=mprotect,pwrite64,openat", exe]
        if toggle:
            args.append("toggle")
        subprocess.run(args, check=True, env=env, stdout=subprocess.DEVNULL)
        calls = {}
        for line in open(out.name):
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$", line)
            if m and m.group(2) != "total":
                calls[m.group(2)] = int(m.group(1))
        return calls


def page_runs(dump_json, page=4096):
    sites = sorted(int(s["address"], 16) for s in dump_json["sites"])
    runs, last = 0, None
    for a in sites:
        if last is None or a // page > last + 1:
            runs += 1
        last = (a + 4) // page
    return runs


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
    seal = os.path.join(build, "tool", "skeys-seal")
    dump = os.path.join(build, "tool", "skeys-dump")
    libdir = os.path.join(build, "runtime")
    print("| sites | layout | page runs | procmem: pwrite64 | mprotect: mprotect |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1, 10, 100, 1000, 10000):
            for spread in (False, True):
                if spread and n > 1000:
                    continue
                c = os.path.join(tmp, f"p{n}{spread}.c")
                exe = c[:-2]
                open(c, "w").write(program(n, spread))
                subprocess.run(["cc", "-O2", "-I", os.path.join(SRC, "include"), c, "-o", exe + ".u",
                                "-L", libdir, "-lskeys", "-Wl,-rpath," + libdir], check=True)
                subprocess.run([seal, exe + ".u", "-o", exe], check=True)
                runs = page_runs(json.loads(subprocess.run([dump, "--json", exe], check=True,
                                                           capture_output=True, text=True).stdout))
                cells = []
                for method, call in (("procmem", "pwrite64"), ("mprotect", "mprotect")):
                    d = count(exe, True, method).get(call, 0) - count(exe, False, method).get(call, 0)
                    cells.append(f"{d} ({d / (2 * runs):.2f}/toggle/run)")
                print(f"| {n} | {'spread' if spread else 'dense'} | {runs} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
