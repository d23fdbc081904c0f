#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Summarise the failed tests of meson test logs, for the end of a long run.

    failed-tests.py [--since EPOCH] TESTLOG.json...

A CI log is often cut to its last lines; scripts/test.sh calls this last
when a step failed, so that the names of the failed tests and the end of
their output are what a reader sees. Logs last written before EPOCH (an
earlier run's) are left out. Exit status 0 always: this only reports.
"""
import json
import os
import sys

BAD = {"FAIL", "TIMEOUT", "UNEXPECTEDPASS", "ERROR"}
TAIL = 25


def main(argv):
    since = 0.0
    if len(argv) >= 2 and argv[0] == "--since":
        since = float(argv[1])
        argv = argv[2:]
    for path in argv:
        try:
            if os.path.getmtime(path) < since:
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = f.readlines()
        except OSError as e:
            print(f"{path}: cannot read: {e.strerror}")
            continue
        for line in lines:
            try:
                t = json.loads(line)
            except ValueError:
                continue
            if t.get("result") not in BAD:
                continue
            print(f"\n--- {path}: {t.get('name')}: {t.get('result')} "
                  f"(exit {t.get('returncode')}, {t.get('duration', 0):.1f}s)")
            out = (t.get("stdout") or "") + (t.get("stderr") or "")
            for tail in out.rstrip("\n").split("\n")[-TAIL:]:
                print("    " + tail)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
