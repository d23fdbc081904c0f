#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""exe_wrapper of the valgrind test setup: `valgrind.py VALGRIND... -- TEST...`.

A compiled test runs under VALGRIND. A test driven by a Python script runs
natively (Python itself under memcheck takes ~40 s a test and reports its
own allocator), with SKEYS_TOOL_WRAPPER set to VALGRIND so that the driver
runs every skeys tool and test program it starts under valgrind instead.
"""
import os
import shlex
import sys


def main():
    argv = sys.argv[1:]
    if '--' not in argv:
        print(__doc__, file=sys.stderr)
        return 64
    cut = argv.index('--')
    vg, test = argv[:cut], argv[cut + 1:]
    if not test:
        return 64
    if os.path.basename(test[0]).startswith('python') or test[0].endswith('.py'):
        os.environ['SKEYS_TOOL_WRAPPER'] = shlex.join(vg)
        os.execvp(test[0], test)
    os.execvp(vg[0], vg + test)


if __name__ == '__main__':
    sys.exit(main())
