# SPDX-License-Identifier: MIT
"""gdb: debug a program whose threads run sites while keys switch.

    gdb -x skeys-gdb.py --args ./prog ARGS      (or `source skeys-gdb.py`)

While a key switches on x86, a thread that reaches one of its sites runs
an int3 that the runtime's SIGTRAP handler resolves. gdb stops on that
trap like on any SIGTRAP it did not cause ("received signal SIGTRAP"),
and a plain `continue` would resume the thread past the int3 without the
handler, in the middle of an instruction (SIGILL, SIGSEGV). `handle
SIGTRAP pass` is no way out: gdb then also hands the program the traps
of its own breakpoints, which kill it. This hook hands the program
exactly the traps of int3 instructions that gdb did not insert, and
resumes: the stops still print, the program goes on.
"""
import gdb

SIGTRAP = 5
SI_KERNEL = 0x80  # si_code of the trap an int3 instruction raises


def _on_stop(event):
    if isinstance(event, gdb.BreakpointEvent):
        return  # one of gdb's own: the user wants that stop
    try:
        si = gdb.parse_and_eval('$_siginfo')
        if int(si['si_signo']) != SIGTRAP or int(si['si_code']) != SI_KERNEL:
            return  # a step, a watchpoint, another signal
    except gdb.error:
        return  # no signal: the program exited or was not started
    gdb.execute('signal SIGTRAP')


gdb.events.stop.connect(_on_stop)
