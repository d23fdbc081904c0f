# SPDX-License-Identifier: MIT
"""Hostile PE/COFF inputs, each made by one small edit of seed.exe.

seed.exe is seed.c built freestanding for x86-64 Windows with mingw-w64 and
sealed (rebuild_seed() below, `gen_corpus.py --rebuild-seeds pe`): 7
sections (.text, .data, .rdata, .skeys, .bss, .idata, .reloc), a COFF
symbol table, a PE checksum. Cases are as in corpus_elf.py: (name, what it
tests, edit, exit status, message pattern).
"""
import os
import subprocess

from corpus_lib import (INPUT, VERIFY, Image, both, entry_cases, entry_edit, table_cases,
                        truncate)
from objfile import COFF, HDR, OPT, SEC, SEC_HDR, SYM_SIZE

SCN_MEM_DISCARDABLE = 0x02000000


class Pe(Image):
    """PE32+ little-endian, field by field."""

    def lfanew(self):
        return self.get(0x3c, '<I')

    def coff(self, field, v=None):
        return self.field(COFF, self.lfanew() + 4, field, v)

    def opt(self, field, v=None):
        return self.field(OPT, self.lfanew() + 24, field, v)

    def sec_off(self, i):
        return self.lfanew() + 24 + self.coff('optsize') + i * SEC_HDR

    def idx(self, name):
        for i in range(self.coff('nsects')):
            if self.sec(i, 'name').rstrip(b'\0').decode() == name:
                return i
        raise KeyError(name)

    def sec(self, s, field, v=None):
        i = self.idx(s) if isinstance(s, str) else s
        return self.field(SEC, self.sec_off(i), field, v)

    def addr(self, s):
        return self.opt('image_base') + self.sec(s, 'rva')

    def section_end(self, s):
        return self.addr(s) + self.sec(s, 'vsize')

    def file_off(self, addr):
        for i in range(self.coff('nsects')):
            a = self.addr(i)
            if self.sec(i, 'raw') and a <= addr < a + self.sec(i, 'vsize'):
                return self.sec(i, 'raw_at') + addr - a
        raise ValueError('0x%x is not in the file' % addr)

    # ---- the skeys header and table: .skeys is the header, then the entries

    def table(self):
        return (self.addr('.skeys') + HDR, self.sec('.skeys', 'raw_at') + HDR,
                self.sec('.skeys', 'vsize') - HDR)

    def header_offset(self):
        return self.sec('.skeys', 'raw_at')

    # ---- COFF symbols --------------------------------------------------

    def symbols(self):
        at, out, i = self.coff('symptr'), {}, 0
        strtab = self.base + at + self.coff('nsyms') * SYM_SIZE
        while i < self.coff('nsyms'):
            s = at + i * SYM_SIZE
            scn = self.get(s + 12, '<h')
            name = self.get(s, '<8s')
            if name[:4] == b'\0\0\0\0':
                name = bytes(self.b[strtab + self.get(s + 4, '<I'):]).split(b'\0', 1)[0]
            if scn > 0:
                out[name.rstrip(b'\0').decode()] = (self.addr(scn - 1) + self.get(s + 8, '<I'),
                                                    self.get(s + 14, '<H') & 0xf0 == 0x20)
            i += 1 + self.get(s + 17, '<B')
        return out

    def sym(self, name):
        return self.symbols()[name][0]

    def func_range(self, func):
        a = self.sym(func)
        later = [v for v, is_func in self.symbols().values() if is_func and v > a]
        return a, min(later)


EDITOR = Pe


def rebuild_seed(here, seal):
    out = os.path.join(here, 'seed.exe')
    subprocess.run(['x86_64-w64-mingw32-gcc', '-std=gnu11', '-Os', '-ffreestanding', '-nostdlib',
                    '-fno-asynchronous-unwind-tables', '-fno-reorder-functions',
                    '-mcmodel=small', '-I', os.path.join(here, '..', '..', 'include'),
                    '-Wl,--entry=_start', '-Wl,--subsystem,console',
                    '-Wl,--no-insert-timestamp', os.path.join(here, 'seed.c'), '-o', out],
                   check=True)
    subprocess.run([seal, out], check=True)


# ---- edits --------------------------------------------------------------

def coff_set(field, v):
    return lambda e: e.coff(field, v(e) if callable(v) else v)


def opt_set(field, v):
    return lambda e: e.opt(field, v(e) if callable(v) else v)


def sec_set(s, field, v):
    return lambda e: e.sec(s, field, v(e) if callable(v) else v)


def shrink_table(e):
    """A table 4 bytes short of a whole entry; header bounds agreeing."""
    e.sec('.skeys', 'vsize', e.sec('.skeys', 'vsize') - 4)
    e.hdr('stop', e.hdr('stop') - 4)


CASES = [
    # -- DOS and PE headers ----------------------------------------------------
    ('mz-only', 'the two bytes MZ and nothing else', truncate(2), INPUT,
     r'truncated: shorter than a DOS header'),
    ('dos-cut', 'DOS header cut at 40 of its 64 bytes', truncate(40), INPUT,
     r'truncated: shorter than a DOS header'),
    ('lfanew-past-end', 'e_lfanew beyond the end of the file',
     lambda e: e.put(0x3c, '<I', 0x100000), INPUT,
     r'the PE header at 0x100000 is past the end of the file'),
    ('lfanew-wraps', 'e_lfanew 0xfffffff0: offset + header size wraps 32 bits',
     lambda e: e.put(0x3c, '<I', 0xfffffff0), INPUT,
     r'the PE header at 0xfffffff0 is past the end of the file'),
    ('no-pe-signature', 'PX\\0\\0 where PE\\0\\0 belongs',
     lambda e: e.b.__setitem__(e.lfanew() + 1, ord('X')), INPUT, r'without a PE signature'),
    ('coff-cut', 'file cut inside the COFF file header',
     lambda e: truncate(e.lfanew() + 12)(e), INPUT, r'PE header at 0x80 is past the end'),
    ('machine-unknown', 'COFF machine 0x1234', coff_set('machine', 0x1234), INPUT,
     r'unsupported machine \(COFF machine 0x1234\)'),
    ('object-file', 'IMAGE_FILE_EXECUTABLE_IMAGE cleared: an object file',
     coff_set('chars', lambda e: e.coff('chars') & ~2), INPUT, r'object file, not an image'),
    # -- the optional header -----------------------------------------------------
    ('opt-size-zero', 'SizeOfOptionalHeader 0', coff_set('optsize', 0), INPUT,
     r'optional header of 0 bytes is too short'),
    ('opt-size-short', 'SizeOfOptionalHeader 100, short of the 112 of PE32+ before its '
     'data directories', coff_set('optsize', 100), INPUT,
     r'optional header of 100 bytes is too short'),
    ('opt-size-huge', 'SizeOfOptionalHeader 0xffff: past the end of the file',
     coff_set('optsize', 0xffff), INPUT,
     r'optional header \[0x98, \+0xffff\) extends past the end of the file'),
    ('opt-size-past-headers', 'SizeOfOptionalHeader moves the section table past '
     'SizeOfHeaders', coff_set('optsize', 0x400), INPUT,
     r'section table \[0x498, \+7 x 40\) extends past the headers \(SizeOfHeaders 0x400\)'),
    ('opt-magic-bad', 'optional header magic 0x107 (a ROM image)', opt_set('magic', 0x107),
     INPUT, r'optional header magic 0x107 is neither PE32 nor PE32\+'),
    ('opt-magic-pe32', 'PE32 magic on an x86-64 machine', opt_set('magic', 0x10b), INPUT,
     r'optional header magic 0x10b does not fit machine 0x8664'),
    # -- the section table ------------------------------------------------------
    ('nsects-past-end', 'NumberOfSections 0xffff: the table runs past the end',
     coff_set('nsects', 0xffff), INPUT,
     r'section table \[0x188, \+65535 x 40\) extends past the end of the file'),
    ('nsects-past-headers', 'NumberOfSections 20: the table runs past SizeOfHeaders '
     'into .text', coff_set('nsects', 20), INPUT,
     r'section table \[0x188, \+20 x 40\) extends past the headers \(SizeOfHeaders 0x400\)'),
    ('headers-huge', 'SizeOfHeaders past the end of the file',
     opt_set('size_of_headers', 0x100000), INPUT,
     r'SizeOfHeaders 0x100000 extends past the end of the file'),
    ('raw-in-headers', '.skeys raw data at offset 0x200, inside the headers',
     sec_set('.skeys', 'raw_at', 0x200), INPUT,
     r'section \.skeys: file bytes \[0x200, \+0x58\) overlap the headers \(0x400 bytes\)'),
    ('raw-overlap', '.skeys raw data on .text\'s: sealing would write the table over code',
     sec_set('.skeys', 'raw_at', lambda e: e.sec('.text', 'raw_at')), INPUT,
     r'sections \.text and \.skeys share file bytes \[0x400, 0x458\)'),
    ('raw-past-end', '.text raw data beyond the end of the file',
     sec_set('.text', 'raw_at', 0x100000), INPUT,
     r'section \.text \[0x100000, \+0xe0\) extends past the end of the file'),
    ('raw-size-huge', '.data SizeOfRawData and VirtualSize 0x7fffffff (SizeOfImage agreeing)',
     both(sec_set('.data', 'raw', 0x7fffffff), sec_set('.data', 'vsize', 0x7fffffff),
          opt_set('size_of_image', 0x90000000)), INPUT,
     r'section \.data \[0x600, \+0x7fffffff\) extends past the end of the file'),
    ('rva-wraps', '.data RVA + VirtualSize wraps past 4 GiB',
     sec_set('.data', 'rva', 0xffffffe0), INPUT,
     r'section \.data \[RVA 0xffffffe0, \+0x30\) wraps past 4 GiB'),
    ('rva-past-image', '.bss ends past SizeOfImage',
     sec_set('.bss', 'rva', lambda e: e.opt('size_of_image')), INPUT,
     r'section \.bss \[RVA 0x8000, \+0x10\) ends past SizeOfImage 0x8000'),
    ('image-base-wraps', 'ImageBase near 2^64: section addresses wrap',
     opt_set('image_base', 0xfffffffffffff000), INPUT,
     r'wraps around the address space'),
    ('sections-overlap', '.data placed over .text in memory',
     sec_set('.data', 'rva', lambda e: e.sec('.text', 'rva') + 0x10), INPUT,
     r'sections \.text and \.data overlap'),
    ('vsize-bigger', '.skeys VirtualSize past its raw data: a table partly zero-filled',
     sec_set('.skeys', 'vsize', 0x300), VERIFY,
     r"header's table \[.*\) is not section \.skeys"),
    ('vsize-smaller', '.skeys VirtualSize 32: shorter than the module header',
     sec_set('.skeys', 'vsize', 32), INPUT,
     r'section \.skeys is 32 bytes, shorter than the 40-byte module header'),
    ('skeys-empty', '.skeys with no size at all', both(sec_set('.skeys', 'vsize', 0),
                                                        sec_set('.skeys', 'raw', 0)),
     INPUT, r'not built with skeys \(no \.skeys section\)'),
    ('skeys-renamed', '.skeys renamed .skeyz: not a skeys module',
     sec_set('.skeys', 'name', b'.skeyz'), INPUT, r'not built with skeys'),
    ('two-tables', '.data renamed .skeys', sec_set('.data', 'name', b'.skeys'), INPUT,
     r'two \.skeys sections'),
    ('skeys-discardable', '.skeys marked discardable: not loaded',
     sec_set('.skeys', 'chars', lambda e: e.sec('.skeys', 'chars') | SCN_MEM_DISCARDABLE),
     VERIFY, r'section \.skeys is not loaded at run time'),
    # -- the COFF symbol table ----------------------------------------------------
    ('symtab-past-end', 'PointerToSymbolTable beyond the end of the file',
     coff_set('symptr', 0x100000), INPUT,
     r'COFF symbol table \[0x100000, \+83 x 18\) extends past the end'),
    ('symtab-count-huge', 'NumberOfSymbols 0x7fffffff', coff_set('nsyms', 0x7fffffff), INPUT,
     r'COFF symbol table \[0x1000, \+2147483647 x 18\) extends past the end'),
    ('strtab-huge', 'the COFF string table says it is 2 GiB',
     lambda e: e.put(e.coff('symptr') + e.coff('nsyms') * SYM_SIZE, '<I', 0x7fffffff), INPUT,
     r'COFF string table extends past the end of the file'),
    # -- entries specific to this seed ------------------------------------------------
    ('site-past-image', 'a site past the last section',
     entry_edit('f_unlikely_false', lambda e, f: [e.opt('image_base') + 0x7fff0000, f[1], f[2]]),
     VERIFY, r'site is not in executable code'),
    ('key-in-rdata', 'a key in read-only .rdata',
     entry_edit('f_unlikely_false', lambda e, f: [f[0], f[1], e.addr('.rdata')]), VERIFY,
     r'not writable data'),
] + table_cases('.skeys', shrink_table) + entry_cases('.text', '.data', '.bss', 0x130000000)
