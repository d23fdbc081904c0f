#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""skeys-seal killed at any point never leaves a partial or corrupt output.

  interrupt.py SEAL BIG

BIG is a large unsealed binary. skeys-seal is started on a copy (in place,
and with -o OUT) and killed after delays spread over its whole run time,
with SIGKILL and with SIGTERM. After every kill the file is byte-for-byte
either the original or the completely sealed result, and OUT is absent or
complete. After SIGTERM no temporary file is left; after SIGKILL (which
cannot be caught) a leftover temporary is counted and removed. At least a
third of the kills must land while skeys-seal was still running, or the
test proves nothing and fails.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from seal_runs import read, reference

ROUNDS = 24


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 64
    seal, big = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    original = read(big)
    fails = []
    with tempfile.TemporaryDirectory(prefix='skeys-interrupt-') as tmp:
        ref = os.path.join(tmp, 'ref')
        duration = reference(seal, big, ref)
        sealed = read(ref)
        if sealed == original:
            print('FAIL: sealing changed nothing', file=sys.stderr)
            return 1
        work = os.path.join(tmp, 'w')
        os.mkdir(work)
        hits = runs = left = 0
        for sig in (signal.SIGKILL, signal.SIGTERM):
            for out_mode in (False, True):
                for r in range(ROUNDS):
                    # From at once to a little past the end of a normal run.
                    delay = duration * 1.2 * r / (ROUNDS - 1)
                    f = os.path.join(work, 'file')
                    out = os.path.join(work, 'out')
                    shutil.copyfile(big, f)
                    args = [seal, f] + (['-o', out] if out_mode else [])
                    p = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
                    time.sleep(delay)
                    p.send_signal(sig)
                    rc = p.wait()
                    runs += 1
                    hits += rc == -sig
                    what = '%s after %.1f ms%s' % (sig.name, delay * 1000,
                                                   ' with -o' if out_mode else '')
                    data = read(f)
                    if out_mode:
                        if data != original:
                            fails.append('%s: the input changed' % what)
                        if os.path.exists(out) and read(out) != sealed:
                            fails.append('%s: OUT is partial or corrupt' % what)
                    elif data not in (original, sealed):
                        fails.append('%s: the file is neither the original nor the '
                                     'sealed result' % what)
                    temps = [n for n in os.listdir(work) if n.startswith('.skeys-seal.')]
                    if temps and sig != signal.SIGKILL:
                        fails.append('%s: temporary left behind: %s' % (what, temps))
                    left += len(temps)
                    for n in os.listdir(work):
                        os.unlink(os.path.join(work, n))
    print('%d kills over %.0f ms runs, %d while running, %d SIGKILL temporaries left'
          % (runs, duration * 1000, hits, left))
    if hits * 3 < runs:
        fails.append('only %d of %d kills hit a running skeys-seal' % (hits, runs))
    for m in fails:
        print('FAIL: ' + m, file=sys.stderr)
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
