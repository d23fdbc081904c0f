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
    # gdb may hold this trap as a pending event while it collects the
    # SIGSTOP it sent the thread, and then inject SIGTRAP anew, which the
    # kernel would deliver as sent by a process (SI_USER): the runtime
    # could not tell it from a stray SIGTRAP once the switch has finished.
    # Writing the trap's siginfo back makes the kernel deliver it as the
    # int3 trap it was.
    gdb.execute('set $_siginfo.si_code = %d' % SI_KERNEL)
    gdb.execute('signal SIGTRAP')


gdb.events.stop.connect(_on_stop)
