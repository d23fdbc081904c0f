#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The threads test program under a debugger or valgrind (tests/threads).

  debugger.py gdb-break STRESS     gdb's breakpoint on a site: the switch is
                                   refused with SKEYS_ERR_BREAKPOINT
  debugger.py gdb-switch STRESS RECIPE  keys switched while threads run
                                   their sites, under gdb with the README's
                                   recipe (scripts/skeys-gdb.py) and a
                                   breakpoint of gdb's own hit meanwhile
  debugger.py lldb-switch STRESS   the same under lldb and its recipe
  debugger.py uprobe-break STRESS  a uprobe (the kernel's, through tracefs)
                                   on a site: the switch is refused with
                                   SKEYS_ERR_BREAKPOINT, as under gdb
  debugger.py valgrind STRESS ARGS...  STRESS ARGS under valgrind at its
                                   defaults (no --smc-check)
  debugger.py valgrind-noheader ...  skip: the runtime was built without
                                   <valgrind/valgrind.h>

Exit 0 when the program behaved, 1 when not, 77 when the tool is missing.
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import driver  # noqa: E402

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


def gdb(stress, commands, args, after=(), before=()):
    argv = ['gdb', '-nx', '-batch'] + list(before)
    for c in list(commands) + ['run'] + list(after):
        argv += ['-ex', c]
    return run(argv + ['--args', stress] + args)


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


TRACEFS = '/sys/kernel/tracing'


def tracefs_events():
    """uprobe_events, mounting tracefs where it is not (as root); None when
    uprobes cannot be set here."""
    events = os.path.join(TRACEFS, 'uprobe_events')
    if not os.path.exists(events) and os.geteuid() == 0 and os.path.isdir(TRACEFS):
        subprocess.run(['mount', '-t', 'tracefs', 'nodev', TRACEFS],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return events if os.access(events, os.W_OK) else None


def tracefs_append(path, line):
    # Not open(path, 'a'): Python seeks to the end, which tracefs refuses.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, (line + '\n').encode())
    finally:
        os.close(fd)


def symbol_offset(path, symbol):
    """The file offset of an ELF symbol's address (nm, then tests/driver.py)."""
    out = subprocess.run(['nm', path], stdout=subprocess.PIPE, text=True, check=True).stdout
    addr = next(int(f[0], 16) for f in (line.split() for line in out.splitlines())
                if len(f) == 3 and f[2] == symbol)
    return driver.file_offset(path, addr)


def uprobe_break(stress):
    events = tracefs_events()
    if not events:
        print(f'SKIP: uprobes need root and tracefs ({TRACEFS}/uprobe_events not writable)')
        return 77
    # A uprobe breaks every process that maps the file: a copy of its own,
    # so the other tests running this program meanwhile are not hit.
    with tempfile.TemporaryDirectory() as d:
        prog = os.path.join(d, 'stress')
        shutil.copy2(stress, prog)
        name = f'skeys_test_{os.getpid()}'
        probe = f'p:{name} {prog}:{symbol_offset(prog, "k0_u"):#x}'
        print('uprobe:', probe, flush=True)
        tracefs_append(events, probe)
        enable = os.path.join(TRACEFS, 'events', 'uprobes', name, 'enable')
        try:
            with open(enable, 'w') as f:
                f.write('1')
            rc, out = run([prog, 'gdb-break'])
        finally:
            with open(enable, 'w') as f:
                f.write('0')
            tracefs_append(events, f'-:uprobes/{name}')
    if rc != 0:
        print(f'FAIL: exit status {rc}: the switch under a uprobe was not refused as expected')
        return 1
    if 'breakpoint' not in out.split('enable under a breakpoint:')[-1]:
        print('FAIL: the error does not say that a breakpoint is in the way')
        return 1
    return 0


def exited_normally(out, pattern):
    if pattern not in out:
        print('FAIL: the program did not exit 0 under the debugger')
        return 1
    if 'toggles,' not in out:
        print('FAIL: the stress did not report its toggles')
        return 1
    return 0


def gdb_switch(stress, recipe):
    # The 21st call of skeys_key_enable stops at a breakpoint of gdb's own
    # (the 20 before it are stepped over by gdb), then the program goes on:
    # gdb's traps must never reach the program, ours always.
    rc, out = gdb(stress, ['set breakpoint pending on', 'tbreak skeys_key_enable', 'ignore 1 20'],
                  ['stress', 'procmem'], after=['continue'], before=['-x', recipe])
    if 'hit Temporary breakpoint 1' not in out:
        print("FAIL: gdb's own breakpoint did not stop the program")
        return 1
    return exited_normally(out, 'exited normally')


def lldb_switch(stress):
    # The recipe needs a process: launch stopped at the entry point first.
    rc, out = run(['lldb', '--no-lldbinit', '--batch',
                   '-o', 'process launch --stop-at-entry',
                   '-o', 'process handle SIGTRAP --pass true --stop false --notify false',
                   '-o', 'continue', '-k', 'thread backtrace all', '-k', 'quit 1',
                   '--', stress, 'stress', 'procmem'])
    return exited_normally(out, 'exited with status = 0')


def valgrind(stress, args):
    # SKEYS_UNDER_VALGRIND: the stress's W^X check leaves valgrind's own
    # anonymous rwx mappings alone, as under the valgrind test setup.
    env = dict(os.environ, SKEYS_UNDER_VALGRIND='1')
    env.pop('SKEYS_WRITE', None)
    rc, out = run(['valgrind', '--error-exitcode=99', '-q', stress] + args, env=env)
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
    if mode == 'valgrind-noheader':
        print('SKIP: libskeys was built without <valgrind/valgrind.h> (package valgrind)')
        return 77
    if mode == 'uprobe-break':
        return uprobe_break(stress)
    tool = mode.split('-')[0]
    if not shutil.which(tool):
        print(f'SKIP: {tool} not found')
        return 77
    if mode == 'gdb-break':
        return gdb_break(stress)
    if mode == 'gdb-switch' and len(args) == 1:
        return gdb_switch(stress, args[0])
    if mode == 'lldb-switch':
        return lldb_switch(stress)
    if mode == 'valgrind':
        return valgrind(stress, args)
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == '__main__':
    sys.exit(main())
