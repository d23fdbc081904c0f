#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The threads test program under a debugger or valgrind (tests/threads).

  debugger.py gdb-break STRESS     gdb's breakpoint on a site: the switch is
                                   refused with SKEYS_ERR_BREAKPOINT
  debugger.py gdb-switch STRESS    keys switched while threads run their
                                   sites, under gdb with the README's recipe
  debugger.py valgrind STRESS ARGS...  STRESS ARGS under valgrind at its
                                   defaults (no --smc-check)

Exit 0 when the program behaved, 1 when not, 77 when the tool is missing.
"""
import os
import shutil
import subprocess
import sys

TIMEOUT = 300


def run(argv, env=None):
    print('$', ' '.join(argv), flush=True)
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=TIMEOUT, env=env)
    except subprocess.TimeoutExpired as e:
        out = e.stdout or ''
        print(out if isinstance(out, str) else out.decode(errors='replace'))
        print(f'FAIL: still running after {TIMEOUT} s')
        return None, ''
    print(p.stdout)
    return p.returncode, p.stdout


def gdb(stress, commands, args):
    argv = ['gdb', '-nx', '-batch']
    for c in commands:
        argv += ['-ex', c]
    return run(argv + ['-ex', 'run', '--args', stress] + args)


def gdb_break(stress):
    # `break *k0_u`: gdb's int3 on the first byte of k0's site.
    rc, out = gdb(stress, ['break *k0_u'], ['gdb-break'])
    if 'exited normally' not in out:
        print('FAIL: the program did not exit 0 under gdb')
        return 1
    if 'breakpoint' not in out.split('enable under a breakpoint:')[-1]:
        print('FAIL: the error does not say that a breakpoint is in the way')
        return 1
    return 0


def gdb_switch(stress):
    rc, out = gdb(stress, [], ['stress', 'procmem'])
    if 'exited normally' not in out:
        print('FAIL: the program did not exit 0 under gdb')
        return 1
    return 0


def valgrind(stress, args):
    rc, out = run(['valgrind', '--error-exitcode=99', '-q', stress] + args)
    if rc == 77:
        return 77
    if rc != 0:
        print(f'FAIL: exit status {rc} under valgrind')
        return 1
    return 0


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 64
    mode, stress, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    tool = 'valgrind' if mode == 'valgrind' else 'gdb'
    if not shutil.which(tool):
        print(f'SKIP: {tool} not found')
        return 77
    if mode == 'gdb-break':
        return gdb_break(stress)
    if mode == 'gdb-switch':
        return gdb_switch(stress)
    if mode == 'valgrind':
        return valgrind(stress, args)
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == '__main__':
    sys.exit(main())
