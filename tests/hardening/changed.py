#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""skeys-seal never commits bytes it did not verify when its input changes
under it.

  changed.py SEAL DUMP BIG

skeys-seal reads its input through a mapping, so a change another process
makes to the file during a run could reach what it writes. BIG is a large
unsealed binary. skeys-seal runs on a copy with -o OUT while the copy's
first site is overwritten with int3s (by write(2), as a build step would),
after delays spread over the run. Whatever the moment, one of: exit 0 with
OUT the sealed original (the change came after the bytes were written out);
exit 1 (the change came before the site was verified, and is reported); or
exit 2 saying the input changed while it was read, with no OUT. No
temporary is ever left. The refusal must be seen at least once, or the
test proves nothing and fails.
"""
import json
import os
import shutil
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
        refused = ok = verify = 0
        for r in range(ROUNDS):
            delay = duration * 1.2 * r / (ROUNDS - 1)
            f = os.path.join(tmp, 'file')
            out = os.path.join(tmp, 'out')
            shutil.copyfile(big, f)
            if os.path.exists(out):
                os.unlink(out)
            p = subprocess.Popen([seal, f, '-o', out], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
            time.sleep(delay)
            fd = os.open(f, os.O_WRONLY)
            os.pwrite(fd, b'\xcc' * 5, off)
            os.close(fd)
            _, err = p.communicate()
            what = 'change after %.1f ms' % (delay * 1000)
            temps = [n for n in os.listdir(tmp) if n.startswith('.skeys-seal.')]
            if temps:
                fails.append('%s: temporary left behind: %s' % (what, temps))
            if p.returncode == 0:
                ok += 1
                if read(out) != sealed:
                    fails.append('%s: exit 0 but OUT is not the sealed original' % what)
            elif p.returncode == 1:
                verify += 1
                if os.path.exists(out):
                    fails.append('%s: exit 1 but OUT written' % what)
            elif p.returncode == 2 and 'changed while it was read' in err:
                refused += 1
                if os.path.exists(out):
                    fails.append('%s: input change refused but OUT written' % what)
            else:
                fails.append('%s: exit %d: %s' % (what, p.returncode, err.strip()))
    print('%d changes over %.0f ms runs: %d refused as changed, %d failed verification, '
          '%d sealed before the change' % (ROUNDS, duration * 1000, refused, verify, ok))
    if not refused:
        fails.append('no change landed while skeys-seal was writing')
    for m in fails:
        print('FAIL: ' + m, file=sys.stderr)
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
