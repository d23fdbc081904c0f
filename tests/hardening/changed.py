#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""skeys-seal never commits bytes it did not verify when its input changes
under it.

  changed.py SEAL DUMP BIG

skeys-seal reads its input through a mapping, so a change another process
makes to the file during a run could reach what it writes. BIG is a large
unsealed binary. skeys-seal runs on a copy with -o OUT while the copy's
first site is overwritten with int3s (by write(2), as a build step would),
after delays spread over the run; then again with the copy truncated there
instead. Whatever the moment, one of: exit 0 with OUT the sealed original
(the change came after the bytes were written out); exit 1 (the change came
before the site was verified, and is reported); exit 2 saying the input
changed while it was read; or, for a truncation, exit 2 saying the file is
truncated (cut before it was opened) or death by SIGBUS (a read of the
mapping past the new end; under ASan, its report of it). Only exit 0 leaves an OUT, and no temporary
is ever left. The refusal must be seen at least once for the overwrite, or
the test proves nothing and fails.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from seal_runs import read, reference

ROUNDS = 40


def first_site(dump, f):
    """File offset of the first site of f, from skeys-dump and the ELF sections."""
    d = json.loads(subprocess.run([dump, '--json', f], check=True, capture_output=True,
                                  text=True).stdout)
    return int(d['sites'][0]['address'], 16)


RESULTS = {'sealed': 'sealed before the change', 'rejected': 'failed verification or read',
           'refused': 'refused as changed', 'sigbus': 'ended by SIGBUS'}


def one_run(seal, big, tmp, off, change, delay, sealed, what, fails):
    """Seal a copy of big while `change` happens to it after `delay`; check
    what became of the output. Returns the outcome, a key of RESULTS."""
    f = os.path.join(tmp, 'file')
    out = os.path.join(tmp, 'out')
    shutil.copyfile(big, f)
    if os.path.exists(out):
        os.unlink(out)
    p = subprocess.Popen([seal, f, '-o', out], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    if change == 'truncate':
        os.truncate(f, off)
    else:
        fd = os.open(f, os.O_WRONLY)
        os.pwrite(fd, b'\xcc' * 5, off)
        os.close(fd)
    _, err = p.communicate()
    temps = [n for n in os.listdir(tmp) if n.startswith('.skeys-seal.')]
    if temps:
        fails.append('%s: temporary left behind: %s' % (what, temps))
    if p.returncode == 0:
        if read(out) != sealed:
            fails.append('%s: exit 0 but OUT is not the sealed original' % what)
        return 'sealed'
    if os.path.exists(out):
        fails.append('%s: exit %d but OUT written' % (what, p.returncode))
    if p.returncode == 1:
        return 'rejected'
    if p.returncode == 2 and 'changed while it was read' in err:
        return 'refused'
    if change == 'truncate':
        # Cut short before it was opened: an input error like any truncation.
        if p.returncode == 2 and 'truncated' in err:
            return 'rejected'
        # Under AddressSanitizer its own SIGBUS report aborts the process.
        if p.returncode == -signal.SIGBUS or (p.returncode == -signal.SIGABRT and
                                               'AddressSanitizer' in err and 'BUS' in err):
            return 'sigbus'
    fails.append('%s: exit %d: %s' % (what, p.returncode, err.strip()))
    return 'rejected'


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 64
    seal, dump, big = (os.path.abspath(a) for a in sys.argv[1:])
    fails = []
    with tempfile.TemporaryDirectory(prefix='skeys-changed-') as tmp:
        ref = os.path.join(tmp, 'ref')
        duration = reference(seal, big, ref)
        sealed = read(ref)
        # The first site's bytes: a nop or a jump, replaced by int3s, which
        # verification rejects. Found in the file by its bytes at the
        # address skeys-dump gives, through the text section's mapping.
        addr = first_site(dump, big)
        out_readelf = subprocess.run(['readelf', '-SW', big], check=True,
                                     capture_output=True, text=True).stdout
        off = None
        for line in out_readelf.splitlines():
            cols = line.replace('[ ', '[').split()
            if len(cols) > 5 and cols[1] == '.text':
                sec_addr, sec_off = int(cols[3], 16), int(cols[4], 16)
                off = sec_off + (addr - sec_addr)
        if off is None:
            print('FAIL: no .text section in %s' % big, file=sys.stderr)
            return 1
        counts = {}
        for change in ('overwrite', 'truncate'):
            for r in range(ROUNDS):
                delay = duration * 1.2 * r / (ROUNDS - 1)
                what = '%s after %.1f ms' % (change, delay * 1000)
                rc = one_run(seal, big, tmp, off, change, delay, sealed, what, fails)
                counts[(change, rc)] = counts.get((change, rc), 0) + 1
    for change in ('overwrite', 'truncate'):
        print('%s, %d runs over %.0f ms: %s' % (
            change, ROUNDS, duration * 1000,
            ', '.join('%d %s' % (n, RESULTS[rc]) for (c, rc), n in sorted(counts.items())
                      if c == change)))
    if not counts.get(('overwrite', 'refused')):
        fails.append('no change landed while skeys-seal was writing')
    for m in fails:
        print('FAIL: ' + m, file=sys.stderr)
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
