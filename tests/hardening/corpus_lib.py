# SPDX-License-Identifier: MIT
"""What the corpus modules of every format share: the skeys header and table
(include/skeys/abi.h, the same in every container), re-sealing after an
edit, and the edits that do not depend on the container.

A format's editor subclasses Image and says where things are:
table() -> (address, file offset, size) of the entries, header_offset(),
file_off(address), sym(name) and func_range(name) -> [start, end). Offsets are relative to
`base`, the start of the image in the file (a slice of a universal Mach-O).
"""
import struct

ENTRY = 12
HDR = 40

# skeys header fields: (offset, struct format).
HD = {
    'magic': (0, '<8s'), 'version': (8, '<H'), 'header_size': (10, '<H'),
    'entry_size': (12, '<H'), 'arch': (14, '<H'), 'flags': (16, '<I'),
    'count': (20, '<I'), 'checksum': (24, '<Q'), 'start': (32, '<i'),
    'stop': (36, '<i'),
}

# Expectations: the exit status of every tool invocation.
INPUT, VERIFY = 2, 1


def fnv1a(data):
    h = 0xcbf29ce484222325
    for c in data:
        h = ((h ^ c) * 0x100000001b3) & 0xffffffffffffffff
    return h


class Image:
    """A file as a bytearray, edited the way an attacker would."""

    base = 0

    def __init__(self, data):
        self.b = bytearray(data)

    def get(self, off, fmt):
        return struct.unpack_from(fmt, self.b, self.base + off)[0]

    def put(self, off, fmt, v):
        struct.pack_into(fmt, self.b, self.base + off, v)

    def field(self, fields, at, name, v=None):
        """Read, or with v write, field `name` of the structure at `at`;
        `fields` maps names to (offset, struct format)."""
        off, fmt = fields[name]
        if v is None:
            return self.get(at + off, fmt)
        self.put(at + off, fmt, v)
        return None

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
