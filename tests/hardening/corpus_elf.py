# SPDX-License-Identifier: MIT
"""Hostile ELF inputs, each made by one small edit of seed.elf.

Every case is (name, what it tests, edit, expectation). The edit takes an
Elf (a bytearray with field accessors, corpus_lib.Image) and changes it in place. The
expectation is the exit status every tool invocation must give (2: input
error, 1: the table or a site failed verification) and a regular expression
its stderr must match: the message has to say what is wrong, not just fail.

Edits that keep the table sealed recompute the checksum (reseal) so that the
one defect under test is the only one reported.
"""
from corpus_lib import INPUT, VERIFY, Image, both, entry_cases, table_cases, truncate
from objfile import SHT_NOBITS, SHT_PROGBITS, SHT_STRTAB, SHT_SYMTAB, elf_layouts  # noqa: F401

EHDR_SIZE = 64
SHDR_SIZE = 64
SYM_SIZE = 24

SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 1, 2, 4

# ELF header and section header fields: ELF64, little-endian.
EH, SH = elf_layouts()


class Elf(Image):
    """Just enough ELF64 little-endian to edit a file the way an attacker would."""

    def eh(self, field, v=None):
        return self.field(EH, 0, field, v)

    def shdr_off(self, i):
        return self.eh('shoff') + i * SHDR_SIZE

    def names(self):
        strtab = self.sh(self.eh('shstrndx'), 'offset')
        out = []
        for i in range(self.eh('shnum')):
            n = self.sh(i, 'name')
            out.append(bytes(self.b[strtab + n:]).split(b'\0', 1)[0].decode())
        return out

    def idx(self, name):
        return self.names().index(name)

    def sh(self, sec, field, v=None):
        i = self.idx(sec) if isinstance(sec, str) else sec
        return self.field(SH, self.shdr_off(i), field, v)

    def section_end(self, sec):
        return self.sh(sec, 'addr') + self.sh(sec, 'size')

    def file_off(self, addr):
        for i in range(1, self.eh('shnum')):
            a, s = self.sh(i, 'addr'), self.sh(i, 'size')
            if self.sh(i, 'type') != SHT_NOBITS and a and a <= addr < a + s:
                return self.sh(i, 'offset') + addr - a
        raise ValueError('0x%x is not in the file' % addr)

    # ---- the skeys header and table -----------------------------------

    def table(self):
        return tuple(self.sh('__skeys', f) for f in ('addr', 'offset', 'size'))

    def header_offset(self):
        return self.sh('__skeys_hdr', 'offset')

    # ---- symbols --------------------------------------------------------

    def sym(self, name, field=8):
        """A symbol's value (or, field=16, its size)."""
        st, strt = self.sh('.symtab', 'offset'), self.sh('.strtab', 'offset')
        for i in range(self.sh('.symtab', 'size') // SYM_SIZE):
            n = self.get(st + i * SYM_SIZE, '<I')
            if bytes(self.b[strt + n:]).split(b'\0', 1)[0].decode() == name:
                return self.get(st + i * SYM_SIZE + field, '<Q')
        raise KeyError(name)

    def func_range(self, func):
        a = self.sym(func)
        return a, a + self.sym(func, 16)


# ---- edits --------------------------------------------------------------

def eh_set(field, v):
    return lambda e: e.eh(field, v)


def sh_set(sec, field, v):
    return lambda e: e.sh(sec, field, v(e) if callable(v) else v)


def rename(sec, new):
    """Point the section's name at another string of the same table."""
    def edit(e):
        strtab = e.sh(e.eh('shstrndx'), 'offset')
        size = e.sh(e.eh('shstrndx'), 'size')
        pos = bytes(e.b[strtab:strtab + size]).find(new.encode() + b'\0')
        assert pos >= 0, new
        e.sh(sec, 'name', pos)
    return edit


def overwrite_name(sec, new):
    """Write a new name over the section's own (same length or shorter)."""
    def edit(e):
        strtab = e.sh(e.eh('shstrndx'), 'offset')
        at = strtab + e.sh(sec, 'name')
        old = bytes(e.b[at:]).split(b'\0', 1)[0]
        assert len(new) <= len(old)
        e.b[at:at + len(old)] = new.encode().ljust(len(old), b'\0')
    return edit


def shrink_table(e):
    """A table whose size is not a multiple of 12, header and section agreeing."""
    e.sh('__skeys', 'size', e.sh('__skeys', 'size') - 4)
    e.hdr('stop', e.hdr('stop') - 4)


def two_tables(e):
    """A second section named __skeys: .comment renamed onto it."""
    rename('.comment', '__skeys')(e)


def overlap(e):
    """.data moved to overlap .init_array and .fini_array."""
    e.sh('.data', 'addr', e.sh('.init_array', 'addr') + 4)


def symtab_bad_link(e):
    e.sh('.symtab', 'link', 200)


def symtab_name_past_strtab(e):
    st = e.sh('.symtab', 'offset')
    e.put(st + 3 * SYM_SIZE, '<I', 0x7ffffff0)


def symtab_huge(e):
    e.sh('.symtab', 'size', 0x7fffffff * SYM_SIZE)


CASES = [
    # -- not ELF at all, or not one we read --------------------------------
    ('empty', 'an empty file', truncate(0), INPUT, r'empty file'),
    ('bad-magic', 'wrong magic: \\x7fELG', lambda e: e.b.__setitem__(3, ord('G')),
     INPUT, r'not a supported binary'),
    ('magic-only', 'the four magic bytes and nothing else', truncate(4), INPUT,
     r'truncated|too short|not an ELF'),
    ('ident-only', 'e_ident and nothing more (16 bytes)', truncate(16), INPUT,
     r'truncated|too short'),
    ('ehdr-cut', 'ELF header cut at 40 of its 64 bytes', truncate(40), INPUT,
     r'truncated|too short'),
    ('class-none', 'EI_CLASS 0', eh_set('class', 0), INPUT, r'class'),
    ('class-32', 'EI_CLASS 32-bit on a 64-bit layout', eh_set('class', 1), INPUT,
     r'.'),
    ('data-bad', 'EI_DATA 3 (no such byte order)', eh_set('data', 3), INPUT,
     r'byte order'),
    ('data-big', 'EI_DATA says big-endian: every field is read swapped', eh_set('data', 2),
     INPUT, r'.'),
    ('type-rel', 'e_type ET_REL: an object file', eh_set('type', 1), INPUT,
     r'relocatable object'),
    ('type-core', 'e_type ET_CORE', eh_set('type', 4), INPUT,
     r'not an executable or shared library'),
    ('machine-arm', 'e_machine EM_ARM in a 64-bit file', eh_set('machine', 40), INPUT,
     r'unsupported machine'),
    # -- the program header table: what the loader maps ----------------------
    ('phoff-past-end', 'e_phoff beyond the end of the file', eh_set('phoff', 0x100000), INPUT,
     r'truncated: the program header table \[0x100000'),
    ('phnum-zero', 'no program headers: nothing would be loaded', eh_set('phnum', 0), INPUT,
     r'no program headers'),
    ('phentsize-bad', 'e_phentsize 32, not 56', eh_set('phentsize', 32), INPUT,
     r'e_phentsize is 32, a program header is 56 bytes'),
    ('table-not-loaded-there', '__skeys offset points at other bytes than its segment loads',
     sh_set('__skeys', 'offset', lambda e: e.sh('.comment', 'offset')), INPUT,
     r'section __skeys .* is not what program header 0 loads there'),
    ('header-in-no-segment', '__skeys_hdr at an address no segment loads',
     sh_set('__skeys_hdr', 'addr', 0x500000), INPUT,
     r'section __skeys_hdr .* is in no loaded segment'),
    # -- the section header table -------------------------------------------
    ('shoff-past-end', 'e_shoff beyond the end of the file', eh_set('shoff', 0x100000),
     INPUT, r'section header table .* past the end of the file'),
    ('shoff-huge', 'e_shoff near 2^64 (offset + size wraps)',
     eh_set('shoff', 0xffffffffffffffc0), INPUT,
     r'truncated: the section header table \[0xffffffffffffffc0'),
    ('shnum-huge', 'e_shnum 65535: the table runs past the end', eh_set('shnum', 0xffff),
     INPUT, r'section header table .* past the end of the file'),
    ('shnum-extended-huge', 'e_shnum 0 and an extended count of 2^32-1 in section 0',
     both(eh_set('shnum', 0), sh_set(0, 'size', 0xffffffff)), INPUT,
     r'section header table \[0x5b0, \+4294967295 x 64\) extends past the end'),
    ('shentsize-bad', 'e_shentsize 32, not 64', eh_set('shentsize', 32), INPUT,
     r'section header'),
    ('shnum-zero', 'no section headers at all', both(eh_set('shnum', 0), eh_set('shoff', 0)),
     INPUT, r'no section headers'),
    ('shstrndx-bad', 'e_shstrndx names no section', eh_set('shstrndx', 200), INPUT,
     r'name|string|shstrndx|section'),
    ('shstrndx-not-strtab', 'e_shstrndx names .text, not a string table',
     eh_set('shstrndx', 1), INPUT, r'section 1: name: invalid section'),
    ('cut-in-shdrs', 'file cut in the middle of the section header table',
     lambda e: truncate(e.eh('shoff') + 5 * SHDR_SIZE + 10)(e), INPUT,
     r'truncated.*section header table'),
    ('cut-half', 'file cut at half its size', lambda e: truncate(len(e.b) // 2)(e), INPUT,
     r'truncated'),
    # -- sections -------------------------------------------------------------
    ('text-offset-past-end', '.text offset beyond the end of the file',
     sh_set('.text', 'offset', 0x100000), INPUT, r'section \.text .* past the end'),
    ('text-size-huge', '.text size 2^62', sh_set('.text', 'size', 1 << 62), INPUT,
     r'section \.text .* past the end'),
    ('offset-wraps', '.data offset + size wraps around 2^64',
     sh_set('.data', 'offset', 0xfffffffffffffff0), INPUT, r'section \.data .* past the end'),
    ('addr-wraps', '.data address + size wraps around the address space',
     sh_set('.data', 'addr', 0xfffffffffffffff8), INPUT, r'wraps around'),
    ('sections-overlap', '.data overlaps .init_array in memory', overlap, INPUT,
     r'overlap'),
    ('name-past-strtab', 'a section name offset beyond .shstrtab',
     sh_set('.data', 'name', 0x7fffffff), INPUT, r'section \d+: name'),
    ('two-tables', 'two sections called __skeys', two_tables, INPUT, r'two __skeys sections'),
    ('no-header', '__skeys_hdr renamed: not a skeys module', overwrite_name('__skeys_hdr', '__skeys_xx'),
     INPUT, r'not built with skeys'),
    ('header-nobits', '__skeys_hdr is NOBITS: no bytes in the file',
     sh_set('__skeys_hdr', 'type', SHT_NOBITS), VERIFY, r'__skeys_hdr'),
    ('header-not-alloc', '__skeys_hdr not loaded (no SHF_ALLOC)',
     sh_set('__skeys_hdr', 'flags', 0), VERIFY, r'__skeys_hdr'),
    ('header-short', '__skeys_hdr is 32 bytes, a header is 40',
     sh_set('__skeys_hdr', 'size', 32), VERIFY, r'is 32 bytes, a header is 40'),
    ('table-offset-past-end', '__skeys offset beyond the end of the file',
     sh_set('__skeys', 'offset', 0x100000), INPUT, r'section __skeys .* past the end'),
    ('table-nobits', '__skeys is NOBITS', sh_set('__skeys', 'type', SHT_NOBITS), VERIFY,
     r'__skeys'),
    ('symtab-bad-link', '.symtab links to a string table that does not exist',
     symtab_bad_link, INPUT, r'symbol'),
    ('symname-past-strtab', 'a symbol name offset beyond .strtab', symtab_name_past_strtab,
     INPUT, r'symbol \d+: name'),
    ('symtab-size-odd', '.symtab size not a multiple of the 24-byte symbol',
     sh_set('.symtab', 'size', lambda e: e.sh('.symtab', 'size') - 7), INPUT,
     r'symbol table \(section 9\) is 0x1f1 bytes, not a multiple of its 24-byte entries'),
    ('symtab-huge', '.symtab size far beyond the file', symtab_huge, INPUT,
     r'section \.symtab .* past the end'),
] + table_cases('__skeys', shrink_table) + entry_cases('.text', '.data', '.bss', 0x10000000)

EDITOR = Elf
