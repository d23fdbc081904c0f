# SPDX-License-Identifier: MIT
"""What the corpus modules of every format share: the skeys header and table
(include/skeys/abi.h, the same in every container), re-sealing after an
edit, and the edits that do not depend on the container.

A format's editor subclasses Image and says where things are:
table() -> (address, file offset, size) of the entries, header_offset(),
file_off(address), sym(name) and func_range(name) -> [start, end). Offsets are relative to
`base`, the start of the image in the file (a slice of a universal Mach-O).
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from objfile import ENTRY, HD, HDR, Image as FileImage  # noqa: E402,F401

# Expectations: the exit status of every tool invocation.
INPUT, VERIFY = 2, 1


def fnv1a(data):
    h = 0xcbf29ce484222325
    for c in data:
        h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
    return h


class Image(FileImage):
    """A file as a bytearray, edited the way an attacker would."""

    # ---- the skeys header and table -----------------------------------

    def hdr(self, field, v=None):
        return self.field(HD, self.header_offset(), field, v)

    def n_entries(self):
        return self.table()[2] // ENTRY

    def entry(self, i):
        """Absolute (code, target, key with flags) of entry i."""
        addr, off = self.table()[:2]
        at = addr + ENTRY * i
        return [at + 4 * k + self.get(off + ENTRY * i + 4 * k, '<i') for k in range(3)]

    def set_entry(self, i, fields):
        addr, off = self.table()[:2]
        at = addr + ENTRY * i
        for k, v in enumerate(fields):
            self.put(off + ENTRY * i + 4 * k, '<i', v - (at + 4 * k))

    def reseal(self, sort=False):
        """Seal again as skeys-seal would: sorted order, count, checksum."""
        _, off, size = self.table()
        if sort:
            fields = sorted((self.entry(i) for i in range(self.n_entries())),
                            key=lambda f: (f[2] & ~3, f[0], f[1], f[2] & 3))
            for i, f in enumerate(fields):
                self.set_entry(i, f)
        self.hdr('count', self.n_entries())
        self.hdr('checksum', fnv1a(self.b[self.base + off:self.base + off + size]))

    def entry_of(self, func):
        """Index of the entry whose site lies in `func`."""
        a, end = self.func_range(func)
        for i in range(self.n_entries()):
            if a <= self.entry(i)[0] < end:
                return i
        raise KeyError(func)


# ---- edits --------------------------------------------------------------

def truncate(n):
    def edit(e):
        del e.b[n:]
    return edit


def both(*edits):
    def edit(e):
        for f in edits:
            f(e)
    return edit


def hdr_set(field, v, reseal=False):
    def edit(e):
        e.hdr(field, v(e) if callable(v) else v)
        if reseal:
            e.reseal()
    return edit


def entry_edit(func, change, reseal=True):
    """Rewrite the entry of `func`'s site: change(e, [code, target, key]) -> fields."""
    def edit(e):
        i = e.entry_of(func)
        e.set_entry(i, change(e, e.entry(i)))
        if reseal:
            e.reseal(sort=True)
    return edit


def site_bytes(func, data):
    def edit(e):
        off = e.base + e.file_off(e.entry(e.entry_of(func))[0])
        e.b[off:off + len(data)] = data
    return edit


def swap_first_last(e):
    first, last = e.entry(0), e.entry(e.n_entries() - 1)
    e.set_entry(0, last)
    e.set_entry(e.n_entries() - 1, first)
    e.reseal()


# ---- cases every format shares: the skeys header, the table, the entries --

def table_cases(table, shrink):
    """The header and table of a seed with 4 sealed entries; `table` names
    the table's section, `shrink` makes it 44 bytes, header bounds agreeing."""
    return [
        ('hdr-magic', 'skeys header magic SKEYSHDX', hdr_set('magic', b'SKEYSHDX'), VERIFY,
         r'header magic'),
        ('hdr-version', 'skeys header ABI version 99', hdr_set('version', 99), VERIFY,
         r'ABI version 99'),
        ('hdr-entry-size', 'header declares 16-byte entries', hdr_set('entry_size', 16),
         VERIFY, r'entry size 16'),
        ('hdr-arch', 'header says aarch64 in an x86-64 file', hdr_set('arch', 3), VERIFY,
         r'architecture 3'),
        ('hdr-flags', 'header sets unknown flag bits', hdr_set('flags', 0x80000001), VERIFY,
         r'unknown flags'),
        ('hdr-bounds', "header's table bounds are not the %s section" % table,
         hdr_set('stop', lambda e: e.hdr('stop') + 12), VERIFY, r"header's table"),
        ('hdr-reversed', "header's table ends before it starts",
         both(hdr_set('start', lambda e: e.hdr('stop') + 4),
              hdr_set('stop', lambda e: e.hdr('start') - 8)),
         VERIFY, r"header's table"),
        ('table-not-multiple', 'table of 44 bytes, not a multiple of 12', shrink, VERIFY,
         r'not a multiple of the 12-byte entry'),
        ('count-mismatch', 'sealed count 99 for 4 entries', hdr_set('count', 99), VERIFY,
         r'counts 99 entries'),
        ('checksum-mismatch', 'an entry edited after sealing, checksum kept',
         entry_edit('f_likely_true', lambda e, f: [f[0], f[1] + 1, f[2]], reseal=False),
         VERIFY, r'checksum .* does not match'),
        ('unsorted', 'sealed table out of order (resealed checksum)', swap_first_last, VERIFY,
         r'not in sorted order'),
    ]


def entry_cases(text, data, bss, unmapped):
    """Entries of seed.c's functions re-pointed; `text`, `data` and `bss`
    name the seed's sections (the editor gives section_end(text)),
    `unmapped` is an address in no section, within 2 GiB of the table."""
    def repoint(func, k, where):
        """Field k (0 site, 1 target, 2 key) of func's entry set by where(e, fields)."""
        def change(e, f):
            f[k] = where(e, f)
            return f
        return entry_edit(func, change)

    return [
        ('site-in-data', 'a site pointing into ' + data,
         repoint('f_unlikely_false', 0, lambda e, f: e.sym('seed_data')), VERIFY,
         r'site is not in executable code \(%s\)' % re.escape(data)),
        ('site-unmapped', 'a site pointing at no section',
         repoint('f_unlikely_false', 0, lambda e, f: unmapped), VERIFY,
         r'site is not in executable code'),
        ('site-straddles', 'a site whose 5 bytes straddle the end of ' + text,
         repoint('f_unlikely_false', 0, lambda e, f: e.section_end(text) - 2), VERIFY,
         r'no section holds all its bytes'),
        ('target-in-data', 'a jump target in ' + data,
         repoint('f_likely_false', 1, lambda e, f: e.sym('seed_data')), VERIFY,
         r'target .* is not in executable code'),
        ('key-in-text', 'a key pointing into ' + text,
         repoint('f_unlikely_false', 2, lambda e, f: e.sym('f_likely_true')), VERIFY,
         r'not writable data'),
        ('key-in-bss', 'a key in zero-filled ' + bss,
         repoint('f_unlikely_false', 2, lambda e, f: e.sym('seed_bss')), VERIFY,
         r'zero-filled'),
        ('key-no-magic', 'a key pointing at plain data (no key magic)',
         repoint('f_unlikely_false', 2, lambda e, f: e.sym('seed_data')), VERIFY,
         r'lack the key magic'),
        ('key-misaligned', 'a key address that is not 8-byte aligned',
         repoint('f_unlikely_false', 2, lambda e, f: f[2] + 4), VERIFY, r'not 8-byte aligned'),
        ('key-reserved-flag', 'an entry sets the reserved flag bit 1',
         repoint('f_unlikely_false', 2, lambda e, f: f[2] | 2), VERIFY, r'reserved flag bits'),
        ('duplicate-site', 'two entries for one site',
         repoint('f_unlikely_true', 0, lambda e, f: e.entry(e.entry_of('f_likely_true'))[0]),
         VERIFY, r'2 table entries name this site'),
        ('site-int3', 'a site holding int3 instead of its nop',
         site_bytes('f_unlikely_false', b'\xcc'), VERIFY, r'found cc'),
        ('site-wrong-jump', 'a jump site that jumps somewhere else',
         site_bytes('f_likely_false', b'\xe9\x00\x00\x00\x00'), VERIFY,
         r'expected e9 03 00 00 00'),
    ]
