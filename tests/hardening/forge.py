#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Forge a sealed executable's table the way an attacker with write access
to the file would, past what skeys-seal would ever accept:

  forge.py checksum|data|other|unsorted SEALED OTHER_SO OUT

checksum: change forged_fb's entry, keep the header (checksum now wrong).
data:     point forged_fb's entry at forged_victim in .data, then sort and
          recompute count and checksum, so the table looks sealed and intact.
other:    point it at forged_other_nop in OTHER_SO (linked at a fixed
          address), sorted and resealed likewise.
unsorted: forged_fc's entry (key kg) moved between the two of key kf,
          count and checksum recomputed: sealed and intact but out of order.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus_elf import Elf  # noqa: E402


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 64
    mode, src, other, out = sys.argv[1:]
    with open(src, 'rb') as f:
        e = Elf(f.read())
    i = e.entry_of('forged_fb')
    code, target, key = e.entry(i)
    if mode == 'checksum':
        e.set_entry(i, [code, target + 1, key])
    elif mode == 'data':
        e.set_entry(i, [e.sym('forged_victim'), target, key])
        e.reseal(sort=True)
    elif mode == 'other':
        with open(other, 'rb') as f:
            o = Elf(f.read())
        e.set_entry(i, [o.sym('forged_other_nop'), target, key])
        e.reseal(sort=True)
    elif mode == 'unsorted':
        a, b, c = (e.entry(e.entry_of(f)) for f in ('forged_fa', 'forged_fb', 'forged_fc'))
        assert e.n_entries() == 3
        for k, fields in enumerate((a, c, b)):
            e.set_entry(k, fields)
        e.reseal()
    else:
        print(__doc__, file=sys.stderr)
        return 64
    with open(out, 'wb') as f:
        f.write(e.b)
    os.chmod(out, 0o755)
    return 0


if __name__ == '__main__':
    sys.exit(main())
