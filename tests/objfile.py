# SPDX-License-Identifier: MIT
"""Where things are in the files skeys reads, written once for the tests'
Python helpers (tests/tool/negative.py, tests/hardening/corpus_*.py): the
field layouts of ELF, PE/COFF and Mach-O headers and of the skeys header
(include/skeys/abi.h), an accessor that reads and edits fields by name, and
the sections of a file as the tools load them.

A layout is a dict: field name -> (offset, struct format).
"""
import struct

# ---- the skeys header and table (include/skeys/abi.h) ----------------------

ENTRY = 12  # SKEYS_ENTRY_SIZE
HDR = 40  # SKEYS_HEADER_SIZE_V1: the corpus seeds' headers, without names
HDR_NAMES = 48  # SKEYS_HEADER_SIZE: with the names table's bounds
HD = {
    'magic': (0, '<8s'), 'version': (8, '<H'), 'header_size': (10, '<H'),
    'entry_size': (12, '<H'), 'arch': (14, '<H'), 'flags': (16, '<I'),
    'count': (20, '<I'), 'checksum': (24, '<Q'), 'start': (32, '<i'),
    'stop': (36, '<i'),
}


class Image:
    """A file's bytes, read and written field by field; offsets are relative
    to `base`, the start of the image in the file (a slice of a universal
    Mach-O file)."""

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


# ---- ELF ---------------------------------------------------------------------

SHT_PROGBITS, SHT_SYMTAB, SHT_STRTAB, SHT_NOBITS = 1, 2, 3, 8


def elf_layouts(is64=True, order='<'):
    """(ELF header, section header) layouts of an ELF file of that class and
    byte order ('<' or '>')."""
    w = 'Q' if is64 else 'I'
    if is64:
        at = {'phoff': 0x20, 'shoff': 0x28, 'phentsize': 0x36, 'phnum': 0x38,
              'shentsize': 0x3a, 'shnum': 0x3c, 'shstrndx': 0x3e}
        sh = [0x00, 0x04, 0x08, 0x10, 0x18, 0x20, 0x28, 0x2c, 0x30, 0x38]
    else:
        at = {'phoff': 0x1c, 'shoff': 0x20, 'phentsize': 0x2a, 'phnum': 0x2c,
              'shentsize': 0x2e, 'shnum': 0x30, 'shstrndx': 0x32}
        sh = [0x00, 0x04, 0x08, 0x0c, 0x10, 0x14, 0x18, 0x1c, 0x20, 0x24]
    eh = {'class': (4, '<B'), 'data': (5, '<B'), 'type': (0x10, order + 'H'),
          'machine': (0x12, order + 'H'), 'phoff': (at['phoff'], order + w),
          'shoff': (at['shoff'], order + w)}
    for name in ('phentsize', 'phnum', 'shentsize', 'shnum', 'shstrndx'):
        eh[name] = (at[name], order + 'H')
    kinds = [('name', 'I'), ('type', 'I'), ('flags', w), ('addr', w), ('offset', w),
             ('size', w), ('link', 'I'), ('info', 'I'), ('align', w), ('entsize', w)]
    return eh, {name: (off, order + k) for (name, k), off in zip(kinds, sh)}


def elf_byte_order(b):
    """'<' or '>' for an ELF file's bytes (its first 6 suffice)."""
    if b[:4] != b'\x7fELF' or b[4] not in (1, 2) or b[5] not in (1, 2):
        raise ValueError('not an ELF file')
    return '<' if b[5] == 1 else '>'


def elf_sections(b):
    order = elf_byte_order(b)
    eh, sh = elf_layouts(b[4] == 2, order)
    img = Image(b)
    shoff, shentsize = img.field(eh, 0, 'shoff'), img.field(eh, 0, 'shentsize')
    raw = [{f: img.field(sh, shoff + i * shentsize, f)
            for f in ('name', 'type', 'addr', 'offset', 'size')}
           for i in range(img.field(eh, 0, 'shnum'))]
    strtab = raw[img.field(eh, 0, 'shstrndx')]['offset']
    for s in raw:
        s['name'] = bytes(b[strtab + s['name']:]).split(b'\0', 1)[0].decode()
    return raw


# ---- PE/COFF -------------------------------------------------------------------

SEC_HDR = 40
SYM_SIZE = 18
# COFF file header fields, from the PE signature's end.
COFF = {'machine': (0, '<H'), 'nsects': (2, '<H'), 'symptr': (8, '<I'), 'nsyms': (12, '<I'),
        'optsize': (16, '<H'), 'chars': (18, '<H')}
# Optional header fields, PE32+ (x86-64) and PE32 (i386).
OPT = {'magic': (0, '<H'), 'image_base': (24, '<Q'), 'size_of_image': (56, '<I'),
       'size_of_headers': (60, '<I'), 'checksum': (64, '<I'), 'n_dirs': (108, '<I')}
OPT32 = dict(OPT, image_base=(28, '<I'), n_dirs=(92, '<I'))
# Section header fields.
SEC = {'name': (0, '<8s'), 'vsize': (8, '<I'), 'rva': (12, '<I'), 'raw': (16, '<I'),
       'raw_at': (20, '<I'), 'chars': (36, '<I')}


def pe_layout(b):
    """(offset of the COFF header, of the optional header, its size, PE32+?)."""
    img = Image(b)
    coff = img.get(0x3c, '<I') + 4
    opt = coff + 20
    return coff, opt, img.field(COFF, coff, 'optsize'), img.field(OPT, opt, 'magic') == 0x20b


def pe_sections(b):
    """The sections as loaded: a section's bytes past its raw data are
    zero-filled (SHT_NOBITS). The .skeys section holds the module header,
    then the table: listed also as __skeys_hdr and __skeys; .skeysn (the
    names table) also as __skeys_names."""
    coff, opt, opt_size, plus = pe_layout(b)
    img = Image(b)
    base = img.field(OPT if plus else OPT32, opt, 'image_base')
    out = []
    for i in range(img.field(COFF, coff, 'nsects')):
        h = opt + opt_size + SEC_HDR * i
        name = img.field(SEC, h, 'name').rstrip(b'\0').decode()
        vsize, rva, raw, raw_at = (img.field(SEC, h, f) for f in ('vsize', 'rva', 'raw', 'raw_at'))
        size = min(vsize or raw, raw)
        if size:
            out.append({'name': name, 'type': SHT_PROGBITS, 'addr': base + rva, 'offset': raw_at,
                        'size': size})
        if (vsize or raw) > size:
            out.append({'name': name, 'type': SHT_NOBITS, 'addr': base + rva + size, 'offset': 0,
                        'size': vsize - size})
    for s in list(out):
        if s['name'] == '.skeys' and s['type'] != SHT_NOBITS:
            # The header says its size: HDR_NAMES with the names table's bounds.
            hsize = img.get(s['offset'] + HD['header_size'][0], HD['header_size'][1])
            hsize = hsize if hsize == HDR_NAMES and s['size'] >= HDR_NAMES else HDR
            out.append(dict(s, name='__skeys_hdr', size=hsize))
            out.append(dict(s, name='__skeys', addr=s['addr'] + hsize,
                            offset=s['offset'] + hsize, size=s['size'] - hsize))
        if s['name'] == '.skeysn' and s['type'] != SHT_NOBITS:
            out.append(dict(s, name='__skeys_names'))
    return out


# ---- Mach-O (64-bit little-endian images; universal files) ---------------------

MH_MAGIC_64 = b'\xcf\xfa\xed\xfe'
FAT_MAGIC = b'\xca\xfe\xba\xbe'
LC_SYMTAB, LC_SEGMENT_64, LC_CODE_SIGNATURE = 0x2, 0x19, 0x1d
S_ZEROFILL = 0x1
HDR64, SEG64, SECT64, NLIST64 = 32, 72, 80, 16

MH = {'magic': (0, '<I'), 'cputype': (4, '<I'), 'filetype': (12, '<I'), 'ncmds': (16, '<I'),
      'sizeofcmds': (20, '<I')}
LC = {'cmd': (0, '<I'), 'cmdsize': (4, '<I')}
SEG = {'cmdsize': (4, '<I'), 'vmaddr': (24, '<Q'), 'vmsize': (32, '<Q'), 'fileoff': (40, '<Q'),
       'filesize': (48, '<Q'), 'nsects': (64, '<I')}
SECT = {'sectname': (0, '<16s'), 'addr': (32, '<Q'), 'size': (40, '<Q'), 'offset': (48, '<I'),
        'flags': (64, '<I')}
SYMTAB = {'symoff': (8, '<I'), 'nsyms': (12, '<I'), 'stroff': (16, '<I'), 'strsize': (20, '<I')}
CODESIG = {'dataoff': (8, '<I'), 'datasize': (12, '<I')}
# The embedded signature is big-endian: a superblob of (type, offset) slots.
SUPERBLOB = {'magic': (0, '>I'), 'length': (4, '>I'), 'count': (8, '>I')}
CD = {'magic': (0, '>I'), 'length': (4, '>I'), 'flags': (12, '>I'), 'hash_offset': (16, '>I'),
      'n_code_slots': (28, '>I'), 'code_limit': (32, '>I'), 'page_size': (39, '>B')}
# Universal header, big-endian: fat_header, then fat_arch entries (fat_arch_64
# after the magic 0xcafebabf).
FAT_ARCH = {'cputype': (0, '>I'), 'offset': (8, '>I'), 'size': (12, '>I'), 'align': (16, '>I')}
FAT_ARCH_64 = {'cputype': (0, '>I'), 'offset': (8, '>Q'), 'size': (16, '>Q'), 'align': (24, '>I')}


def macho_slices(b):
    """[(cputype, offset, size)] of a universal file."""
    img = Image(b)
    return [tuple(img.field(FAT_ARCH, 8 + 20 * i, f) for f in ('cputype', 'offset', 'size'))
            for i in range(img.get(4, '>I'))]


def macho_commands(b, base=0):
    """(offset in the file, cmd) of each load command of the image at `base`."""
    img = Image(b)
    img.base = base
    off = HDR64
    for _ in range(img.field(MH, 0, 'ncmds')):
        yield base + off, img.field(LC, off, 'cmd')
        off += img.field(LC, off, 'cmdsize')


def macho_sections(b, base=0):
    """The sections of the image at `base` (file offsets from the file's start)."""
    img, out = Image(b), []
    for off, cmd in macho_commands(b, base):
        if cmd != LC_SEGMENT_64:
            continue
        for i in range(img.field(SEG, off, 'nsects')):
            h = off + SEG64 + SECT64 * i
            zerofill = img.field(SECT, h, 'flags') & 0xff in (1, 0xc, 0x12)
            out.append({'name': img.field(SECT, h, 'sectname').rstrip(b'\0').decode(),
                        'type': SHT_NOBITS if zerofill else SHT_PROGBITS,
                        'addr': img.field(SECT, h, 'addr'),
                        'offset': base + img.field(SECT, h, 'offset'),
                        'size': img.field(SECT, h, 'size')})
    return out


# ---- any of them ----------------------------------------------------------------

def sections(b):
    """A file's sections, each {name, type, addr, offset, size}; type is
    SHT_NOBITS for zero-filled memory. A thin file: PE, Mach-O or ELF."""
    if b[:2] == b'MZ':
        return pe_sections(b)
    if b[:4] == MH_MAGIC_64:
        return macho_sections(b)
    return elf_sections(b)


def byte_order(b):
    """'<' or '>': PE and the Mach-O files tested here are little-endian."""
    if b[:2] == b'MZ' or b[:4] in (MH_MAGIC_64, FAT_MAGIC):
        return '<'
    return elf_byte_order(b)
