# SPDX-License-Identifier: MIT
"""Hostile Mach-O inputs, each made by one small edit of a seed.

seed.macho is seed.c built freestanding for x86_64 macOS with clang and
ld64.lld (against tests/tool/macho/libSystem.tbd), ad-hoc signed and sealed;
seed-fat.macho is a universal file of it and the same for arm64
(rebuild_seed() below, `gen_corpus.py --rebuild-seeds macho`). Cases are as
in corpus_elf.py: (name, what it tests, edit, exit status, message pattern),
and a sixth element naming the seed when it is the universal one.
"""
import os
import struct
import subprocess
import tempfile

from corpus_lib import INPUT, VERIFY, Image, both, entry_cases, hdr_set, table_cases, truncate
from objfile import (CD, CODESIG, FAT_ARCH, FAT_ARCH_64, HDR64, LC, LC_CODE_SIGNATURE,
                     LC_SEGMENT_64, LC_SYMTAB, MH, NLIST64, S_ZEROFILL, SECT, SECT64, SEG, SEG64,
                     SUPERBLOB, SYMTAB)

FAT = 'seed-fat.macho'


class Macho(Image):
    """A 64-bit little-endian image at `base` in the file."""

    def mh(self, field, v=None):
        return self.field(MH, 0, field, v)

    def commands(self):
        off = HDR64
        for _ in range(self.mh('ncmds')):
            yield off, self.get(off, '<I')
            off += self.get(off + 4, '<I')

    def lc_off(self, cmd, nth=0):
        return [off for off, c in self.commands() if c == cmd][nth]

    def lc(self, cmd, field, v=None, nth=0):
        """A field of the nth load command `cmd` (LC for cmd and cmdsize)."""
        table = {LC_SYMTAB: SYMTAB, LC_CODE_SIGNATURE: CODESIG}.get(cmd, LC)
        return self.field(dict(LC, **table), self.lc_off(cmd, nth), field, v)

    def seg_off(self, name):
        for off, cmd in self.commands():
            if cmd == LC_SEGMENT_64 and self.get(off + 8, '<16s').rstrip(b'\0').decode() == name:
                return off
        raise KeyError(name)

    def seg(self, name, field, v=None):
        return self.field(SEG, self.seg_off(name), field, v)

    def sections(self):
        """(segment, section, header offset) in load-command order."""
        for off, cmd in self.commands():
            if cmd != LC_SEGMENT_64:
                continue
            seg = self.get(off + 8, '<16s').rstrip(b'\0').decode()
            for i in range(self.get(off + 64, '<I')):
                h = off + SEG64 + i * SECT64
                yield seg, self.get(h, '<16s').rstrip(b'\0').decode(), h

    def sect_off(self, seg, name):
        return next(h for s, n, h in self.sections() if (s, n) == (seg, name))

    def sect(self, seg, name, field, v=None):
        return self.field(SECT, self.sect_off(seg, name), field, v)

    def section_end(self, name):
        seg = next(s for s, n, _ in self.sections() if n == name)
        return self.sect(seg, name, 'addr') + self.sect(seg, name, 'size')

    def file_off(self, addr):
        for s, n, _ in self.sections():
            a, size = self.sect(s, n, 'addr'), self.sect(s, n, 'size')
            if self.sect(s, n, 'flags') & 0xff != S_ZEROFILL and a <= addr < a + size:
                return self.sect(s, n, 'offset') + addr - a
        raise ValueError('0x%x is not in the file' % addr)

    # ---- the skeys header and table ------------------------------------

    def table(self):
        return tuple(self.sect('__DATA', '__skeys', f) for f in ('addr', 'offset', 'size'))

    def header_offset(self):
        return self.sect('__DATA', '__skeys_hdr', 'offset')

    # ---- symbols: C names carry a leading underscore ---------------------

    def symbols(self):
        symoff, stroff = self.lc(LC_SYMTAB, 'symoff'), self.lc(LC_SYMTAB, 'stroff')
        out = {}
        for i in range(self.lc(LC_SYMTAB, 'nsyms')):
            n = symoff + i * NLIST64
            name = bytes(self.b[self.base + stroff + self.get(n, '<I'):]).split(b'\0', 1)[0]
            if self.get(n + 5, '<B'):
                out[name.decode()[1:]] = self.get(n + 8, '<Q')
        return out

    def sym(self, name):
        return self.symbols()[name]

    def func_range(self, func):
        a = self.sym(func)
        return a, min(v for v in self.symbols().values() if v > a)

    # ---- the code signature ---------------------------------------------

    def sig(self, field, v=None):
        return self.field(SUPERBLOB, self.lc(LC_CODE_SIGNATURE, 'dataoff'), field, v)

    def cd(self, field, v=None):
        """A field of the code directory (the blob of slot 0)."""
        at = self.lc(LC_CODE_SIGNATURE, 'dataoff')
        for i in range(self.sig('count')):
            if self.get(at + 12 + 8 * i, '>I') == 0:
                return self.field(CD, at + self.get(at + 16 + 8 * i, '>I'), field, v)
        raise KeyError('no code directory')


class Fat(Image):
    """A universal file: big-endian header, then slices."""

    def wide(self):
        return self.get(0, '>I') == 0xcafebabf

    def arch(self, i, field, v=None):
        if self.wide():
            return self.field(FAT_ARCH_64, 8 + 32 * i, field, v)
        return self.field(FAT_ARCH, 8 + 20 * i, field, v)

    def make_wide(self):
        """Rewrite the header with 64-bit fat_arch entries, slices unmoved."""
        n = self.get(4, '>I')
        arches = [[self.arch(i, f) for f in ('cputype', 'offset', 'size', 'align')]
                  for i in range(n)]
        cpusub = [self.get(8 + 20 * i + 4, '>I') for i in range(n)]
        self.b[0:8 + 20 * n] = bytes(8 + 20 * n)
        self.put(0, '>I', 0xcafebabf)
        self.put(4, '>I', n)
        for i, (cpu, off, size, align) in enumerate(arches):
            struct.pack_into('>IIQQII', self.b, 8 + 32 * i, cpu, cpusub[i], off, size, align, 0)

    def slice(self, i):
        """Slice i, editing this file's bytes."""
        m = Macho(b'')
        m.b, m.base = self.b, self.arch(i, 'offset')
        return m


def EDITOR(data):
    return Fat(data) if data[:4] == b'\xca\xfe\xba\xbe' else Macho(data)


def rebuild_seed(here, seal):
    include = os.path.join(here, '..', '..', 'include')
    tbd = os.path.join(here, '..', 'tool', 'macho', 'libSystem.tbd')
    thin = {}
    with tempfile.TemporaryDirectory() as tmp:
        for arch in ('x86_64', 'arm64'):
            obj = os.path.join(tmp, arch + '.o')
            thin[arch] = os.path.join(tmp, arch + '.macho')
            subprocess.run(['clang', '-target', arch + '-apple-macos11', '-std=c11', '-Os',
                            '-ffreestanding', '-fno-asynchronous-unwind-tables', '-I', include,
                            '-c', os.path.join(here, 'seed.c'), '-o', obj], check=True)
            # ld64.lld signs arm64 images ad hoc by itself; x86_64 is asked to.
            subprocess.run(['ld64.lld-14', '-arch', arch, '-platform_version', 'macos', '11.0',
                            '11.0', '-e', '__start', '-adhoc_codesign', obj, tbd, '-o',
                            thin[arch]], check=True)
        out = os.path.join(here, 'seed.macho')
        subprocess.run(['cp', thin['x86_64'], out], check=True)
        subprocess.run([seal, out], check=True)
        fat = os.path.join(here, FAT)
        subprocess.run(['llvm-lipo-14', '-create', thin['x86_64'], thin['arm64'], '-output', fat],
                       check=True)
        subprocess.run([seal, fat], check=True)


# ---- edits --------------------------------------------------------------

def mh_set(field, v):
    return lambda e: e.mh(field, v(e) if callable(v) else v)


def seg_set(seg, field, v):
    return lambda e: e.seg(seg, field, v(e) if callable(v) else v)


def sect_set(seg, sect, field, v):
    return lambda e: e.sect(seg, sect, field, v(e) if callable(v) else v)


def lc_set(cmd, field, v):
    return lambda e: e.lc(cmd, field, v(e) if callable(v) else v)


def arch_set(i, field, v):
    return lambda e: e.arch(i, field, v(e) if callable(v) else v)


def in_slice(i, edit):
    return lambda e: edit(e.slice(i))


def shrink_table(e):
    """A table 4 bytes short of a whole entry; header bounds agreeing."""
    e.sect('__DATA', '__skeys', 'size', e.sect('__DATA', '__skeys', 'size') - 4)
    e.hdr('stop', e.hdr('stop') - 4)


def data_onto_data_const(e):
    """__DATA moved onto __DATA_CONST's file bytes, its sections with it."""
    delta = e.seg('__DATA', 'fileoff') - e.seg('__DATA_CONST', 'fileoff')
    e.seg('__DATA', 'fileoff', e.seg('__DATA_CONST', 'fileoff'))
    for s, n, _ in list(e.sections()):
        if s == '__DATA' and e.sect(s, n, 'flags') & 0xff != S_ZEROFILL:
            e.sect(s, n, 'offset', e.sect(s, n, 'offset') - delta)


def move_section(seg, sect, delta):
    """A section moved in memory and in the file alike."""
    def edit(e):
        e.sect(seg, sect, 'addr', e.sect(seg, sect, 'addr') + delta)
        e.sect(seg, sect, 'offset', e.sect(seg, sect, 'offset') + delta)
    return edit


def cd_set(field, v):
    return lambda e: e.cd(field, v(e) if callable(v) else v)


def sig_blob_offset(v):
    """The superblob's first index entry points at +v."""
    return lambda e: e.put(e.lc(LC_CODE_SIGNATURE, 'dataoff') + 16, '>I', v)


CASES = [
    # -- the Mach-O header and load commands -------------------------------------
    ('header-cut', 'a Mach-O header cut at 16 of its 32 bytes', truncate(16), INPUT,
     r'truncated: shorter than a Mach-O header'),
    ('magic-32bit', 'the 32-bit magic 0xfeedface on a 64-bit image', mh_set('magic', 0xfeedface),
     INPUT, r'little-endian 32-bit Mach-O image: only 64-bit little-endian images'),
    ('magic-big-endian', 'the magic of a big-endian 64-bit image',
     mh_set('magic', 0xcffaedfe), INPUT, r'big-endian 64-bit Mach-O image: only 64-bit'),
    ('magic-bad', 'magic 0xfeedfacd: no Mach-O at all', mh_set('magic', 0xfeedfacd), INPUT,
     r'not a supported binary'),
    ('cputype-ppc64', 'cputype PowerPC 64', mh_set('cputype', 0x01000012), INPUT,
     r'unsupported machine \(Mach-O cputype 0x1000012\)'),
    ('filetype-object', 'filetype MH_OBJECT: not linked', mh_set('filetype', 1), INPUT,
     r'Mach-O file type 1 is not an executable, dylib or bundle'),
    ('sizeofcmds-past-end', 'sizeofcmds beyond the end of the file',
     mh_set('sizeofcmds', 0x100000), INPUT,
     r'load commands \[0x20, \+0x100000\) extend past the end of the file'),
    ('ncmds-huge', 'ncmds 2^32-1: more commands than sizeofcmds holds',
     mh_set('ncmds', 0xffffffff), INPUT, r'load command 16 lies outside the load commands'),
    ('cmdsize-zero', 'the first load command says it is 0 bytes',
     lambda e: e.put(HDR64 + 4, '<I', 0), INPUT, r'load command 0 \(0x19\) has a bad size 0'),
    ('cmdsize-past-cmds', 'a load command running past sizeofcmds',
     lambda e: e.put(HDR64 + 4, '<I', 0x10000), INPUT,
     r'load command 0 \(0x19\) has a bad size 65536'),
    ('cmdsize-unaligned', 'a load command of 76 bytes, not a multiple of 8',
     lambda e: e.put(HDR64 + 4, '<I', 76), INPUT, r'bad size 76: not a multiple of 8'),
    ('segment-cmdsize-short', '__PAGEZERO\'s segment command says 64 bytes, short of a '
     'segment command\'s 72', lambda e: e.put(HDR64 + 4, '<I', 64), INPUT,
     r'segment command of 64 bytes, shorter than the 72 a segment takes'),
    ('nsects-too-many', '__TEXT says it has 100 sections', seg_set('__TEXT', 'nsects', 100),
     INPUT, r'segment __TEXT: 100 sections do not fit its load command'),
    # -- segments ----------------------------------------------------------------
    ('segment-past-end', '__DATA file bytes beyond the end of the file',
     seg_set('__DATA', 'fileoff', 0x100000), INPUT,
     r'segment __DATA \[0x100000, \+0x1000\) extends past the end of the file'),
    ('segment-filesize-huge', '__LINKEDIT filesize 2^40', seg_set('__LINKEDIT', 'filesize', 1 << 40),
     INPUT, r'segment __LINKEDIT \[0x3000, \+0x10000000000\) extends past the end'),
    ('segment-wraps', '__DATA vmaddr + vmsize wraps around 2^64',
     seg_set('__DATA', 'vmsize', 0xfffffffffffff000), INPUT,
     r'segment __DATA wraps around the address space'),
    ('segment-filesize-over-vmsize', '__DATA maps more file bytes than it has memory',
     seg_set('__DATA', 'vmsize', 0x800), INPUT,
     r'segment __DATA maps 0x1000 file bytes into 0x800 bytes of memory'),
    ('segments-share-file', '__DATA on __DATA_CONST\'s file bytes, its sections following',
     data_onto_data_const, INPUT, r'segments __DATA_CONST and __DATA share file bytes'),
    # -- sections --------------------------------------------------------------------
    ('section-past-end', '__text offset beyond the end of the file',
     sect_set('__TEXT', '__text', 'offset', 0x100000), INPUT,
     r'section __TEXT,__text \[0x100000, \+0x123\) extends past the end'),
    ('section-size-huge', '__text size 2^40', sect_set('__TEXT', '__text', 'size', 1 << 40),
     INPUT, r'section __TEXT,__text .* extends past the end'),
    ('section-addr-wraps', '__data address + size wraps around 2^64',
     sect_set('__DATA', '__data', 'addr', 0xfffffffffffffff0), INPUT, r'wraps around'),
    ('section-outside-segment', '__skeys_hdr at an address past __DATA',
     sect_set('__DATA', '__skeys_hdr', 'addr', lambda e: e.seg('__DATA', 'vmaddr') +
              e.seg('__DATA', 'vmsize')), INPUT,
     r'section __DATA,__skeys_hdr \[0x100003000, \+0x28\) lies outside segment __DATA '
     r'\[0x100002000, \+0x1000\)'),
    ('section-not-mapped-there', '__skeys file offset on __text\'s bytes: not what __DATA '
     'maps at its address', sect_set('__DATA', '__skeys', 'offset',
                                     lambda e: e.sect('__TEXT', '__text', 'offset')), INPUT,
     r'section __DATA,__skeys at file offset 0x638 is not what segment __DATA maps at '
     r'0x100002008 \(file offset 0x2008\)'),
    ('sections-overlap', '__data moved 16 bytes back over __skeys, in memory and file',
     move_section('__DATA', '__data', -16), INPUT, r'sections __skeys and __data overlap'),
    ('two-tables', '__data renamed __skeys', sect_set('__DATA', '__data', 'sectname', b'__skeys'),
     INPUT, r'two __DATA,__skeys sections'),
    ('no-header', '__skeys_hdr renamed: not a skeys module',
     sect_set('__DATA', '__skeys_hdr', 'sectname', b'__skeys_hdq'), INPUT,
     r'not built with skeys'),
    ('header-zerofill', '__skeys_hdr is zero-fill: no bytes in the file',
     sect_set('__DATA', '__skeys_hdr', 'flags', S_ZEROFILL), VERIFY,
     r'section __skeys_hdr has no contents in the file'),
    ('header-short', '__skeys_hdr is 32 bytes, a header is 40',
     sect_set('__DATA', '__skeys_hdr', 'size', 32), VERIFY, r'is 32 bytes, a header is 40'),
    # -- the symbol table ----------------------------------------------------------------
    ('symtab-past-end', 'symoff beyond the end of the file',
     lc_set(LC_SYMTAB, 'symoff', 0x100000), INPUT,
     r'symbol table extends past the end of the file'),
    ('strtab-huge', 'strsize 2^31', lc_set(LC_SYMTAB, 'strsize', 0x80000000), INPUT,
     r'symbol table extends past the end of the file'),
    # -- the code signature ------------------------------------------------------------------
    ('signature-past-end', 'LC_CODE_SIGNATURE data beyond the end of the file',
     lc_set(LC_CODE_SIGNATURE, 'dataoff', 0x100000), INPUT,
     r'code signature extends past the end of the file'),
    ('signature-over-text', 'the code signature on __text: sealing would write page hashes '
     'over code', lc_set(LC_CODE_SIGNATURE, 'dataoff', 0x638), INPUT,
     r'the code signature \[0x638, \+0x100\) overlaps section __text'),
    ('signature-bad-magic', 'the superblob magic is not an embedded signature\'s',
     lambda e: e.sig('magic', 0xfade0c01), INPUT,
     r'not an embedded signature \(magic 0xfade0c01, expected 0xfade0cc0\)'),
    ('signature-count-huge', 'the superblob lists 2^20 blobs', lambda e: e.sig('count', 1 << 20),
     INPUT, r'lists 1048576 blobs, more than its 0x100 bytes hold'),
    ('signature-blob-offset', 'a blob index pointing past the signature',
     sig_blob_offset(0x7ffffff0), INPUT,
     r'code signature blob 0 \(type 0x0\) at \+0x7ffffff0 does not fit'),
    ('signature-cd-length', 'the code directory says it is 2 GiB',
     cd_set('length', 0x80000000), INPUT, r'code signature blob 0 .* does not fit'),
    ('signature-hashes-outside', 'the page hashes lie past the code directory\'s end',
     cd_set('hash_offset', 0x1000), INPUT,
     r'code directory: 4 hashes of 32 bytes at \+0x1000 do not fit'),
    ('signature-limit-past-sig', 'the code limit reaches into the signature itself',
     cd_set('code_limit', lambda e: e.cd('code_limit') + 0x100), INPUT,
     r'code directory: code limit 0x34d0 is past the signature at 0x33d0'),
    # -- universal files ------------------------------------------------------------------------
    ('fat-zero-slices', 'a universal header with nfat_arch 0',
     lambda e: e.put(4, '>I', 0), INPUT, r'the universal header lists no slices', FAT),
    ('fat-too-many-slices', 'nfat_arch 40: more than 32 slices',
     lambda e: e.put(4, '>I', 40), INPUT, r'lists 40 slices, more than 32', FAT),
    ('fat-huge-count', 'nfat_arch 2^31: read as a Java class file, not a universal file',
     lambda e: e.put(4, '>I', 0x80000000), INPUT, r'not a supported binary', FAT),
    ('fat-cut-in-header', 'the file cut inside the second fat_arch',
     truncate(8 + 20 + 10), INPUT,
     r'truncated: the universal header lists 2 slices past the end of the file', FAT),
    ('fat-slice-past-end', 'the arm64 slice runs past the end of the file',
     arch_set(1, 'size', 0x100000), INPUT,
     r'truncated: slice 1 \[0x8000, \+0x100000\) extends past the end', FAT),
    ('fat-slice-offset-wraps', 'slice offset 0xfffff000: offset + size wraps 32 bits',
     arch_set(1, 'offset', 0xfffff000), INPUT, r'truncated: slice 1 \[0xfffff000', FAT),
    ('fat-slice-on-header', 'a slice at offset 0, over the universal header',
     both(arch_set(0, 'offset', 0), arch_set(0, 'align', 0)), INPUT,
     r'slice 0 at 0x0 overlaps the universal header', FAT),
    ('fat-slices-overlap', 'the arm64 slice placed over the x86_64 one',
     both(arch_set(1, 'offset', lambda e: e.arch(0, 'offset')), arch_set(1, 'align', 12)), INPUT,
     r'slices 0 and 1 overlap in the file', FAT),
    ('fat-misaligned', 'slice offset 0x8008, not aligned to the 2^14 its header says',
     both(arch_set(1, 'offset', lambda e: e.arch(1, 'offset') + 8),
          arch_set(1, 'size', lambda e: e.arch(1, 'size') - 8)), INPUT,
     r'slice 1 at 0x8008 is not aligned to 2\^14', FAT),
    ('fat-align-huge', 'slice alignment 2^40', arch_set(1, 'align', 40), INPUT,
     r'slice 1 at 0x8000 is not aligned to 2\^40', FAT),
    ('fat-cputype-mismatch', 'the header says arm64 where the slice is x86_64',
     arch_set(0, 'cputype', 0x0100000c), INPUT,
     r'slice 0: the universal header says cputype 0x100000c, the image 0x1000007', FAT),
    ('fat-slice-not-macho', 'a slice holding no Mach-O magic',
     lambda e: e.put(e.arch(1, 'offset'), '<I', 0), INPUT,
     r'slice 1 \(cputype 0x100000c\) is not a 64-bit little-endian Mach-O image', FAT),
    ('fat-slice-bad-segment', 'a slice whose __DATA lies past the slice\'s end',
     in_slice(1, seg_set('__DATA', 'fileoff', 0x100000)), INPUT,
     r'slice 1: truncated: segment __DATA \[0x100000, \+0x4000\) extends past', FAT),
    ('fat-slice-bad-table', 'a slice whose sealed count is wrong',
     in_slice(1, hdr_set('count', 99)), VERIFY, r'counts 99 entries', FAT),
    ('fat64-slice-offset-huge', '64-bit universal header, a slice offset of 2^40',
     both(Fat.make_wide, arch_set(0, 'offset', 1 << 40)), INPUT,
     r'truncated: slice 0 \[0x10000000000, \+0x34d0\) extends past the end', FAT),
    ('fat64-slice-wraps', '64-bit universal header, slice offset + size wrapping 2^64',
     both(Fat.make_wide, arch_set(1, 'offset', 0xffffffffffffc000)), INPUT,
     r'truncated: slice 1 \[0xffffffffffffc000', FAT),
    ('fat64-slices-overlap', '64-bit universal header, the two slices overlapping',
     both(Fat.make_wide, arch_set(1, 'offset', lambda e: e.arch(0, 'offset')),
          arch_set(1, 'align', 12)), INPUT, r'slices 0 and 1 overlap in the file', FAT),
] + table_cases('__skeys', shrink_table) + entry_cases('__text', '__data', '__common',
                                                               0xf0000000)
