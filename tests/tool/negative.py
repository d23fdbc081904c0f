#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Behaviour of skeys-seal and skeys-dump on good, broken and hostile files.

  negative.py CASE SEAL DUMP [FILE]

Every case works on copies in a temporary directory and checks exit codes,
messages, and that a failed run left its input byte-for-byte (and mtime)
unchanged. Exit 0 pass, 1 fail, 77 skip.
"""
import hashlib
import json
import os
import random
import re
import shlex
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import objfile  # noqa: E402
from objfile import SHT_NOBITS as NOBITS, macho_sections, macho_slices, pe_layout  # noqa: E402

SEAL = DUMP = None
TMP = None


class Fail(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise Fail(msg)


# Set by the valgrind test setup (tests/valgrind.py): prefixes every tool run.
WRAP = shlex.split(os.environ.get('SKEYS_TOOL_WRAPPER', ''))


def run(*args):
    p = subprocess.run(WRAP + [str(a) for a in args], capture_output=True)
    return p.returncode, p.stdout.decode(errors='replace'), p.stderr.decode(errors='replace')


def run_rc(want, *args):
    rc, out, err = run(*args)
    expect(rc == want, '%s: exit %d, expected %d\nstdout: %s\nstderr: %s'
           % (' '.join(map(str, args)), rc, want, out[-2000:], err[-2000:]))
    return out, err


def snapshot(path):
    with open(path, 'rb') as f:
        data = f.read()
    st = os.stat(path)
    return data, st.st_mtime_ns, stat.S_IMODE(st.st_mode)


def unchanged(path, snap, what):
    expect(snapshot(path) == snap, '%s modified %s' % (what, path))


def no_temporaries(directory):
    left = [n for n in os.listdir(directory) if n.startswith('.skeys-seal.')]
    expect(not left, 'temporary files left behind: %s' % left)


def copy(src, name=None):
    dst = os.path.join(TMP, name or os.path.basename(src))
    shutil.copyfile(src, dst)
    os.chmod(dst, 0o755)
    os.utime(dst, ns=(1_000_000_000 * 10**9, 1_000_000_000 * 10**9))
    return dst


def dump_json(path, want_rc=0):
    out, _ = run_rc(want_rc, DUMP, '--json', path)
    return json.loads(out)


# ---- the sections of a file, for patching (tests/objfile.py) ------------------

def read(path):
    with open(path, 'rb') as f:
        return f.read()


def sections(path):
    try:
        return objfile.sections(read(path))
    except ValueError:
        raise Fail('fixture is not ELF') from None


def byte_order(path):
    with open(path, 'rb') as f:
        head = f.read(6)
    try:
        return objfile.byte_order(head)
    except ValueError:
        raise Fail('fixture is not ELF') from None


def section(path, name):
    for s in sections(path):
        if s['name'] == name:
            return s
    raise Fail('no section %s' % name)


def file_offset(path, addr):
    for s in sections(path):
        if (s['type'] != NOBITS and s['addr'] and s['addr'] <= addr < s['addr'] + s['size']
                and not s['name'].startswith('__skeys')):
            return s['offset'] + addr - s['addr']
    raise Fail('address 0x%x not in the file' % addr)


def patch(path, offset, data):
    with open(path, 'r+b') as f:
        f.seek(offset)
        f.write(data)


def read_at(path, offset, n):
    with open(path, 'rb') as f:
        f.seek(offset)
        return f.read(n)


# ---- cases ------------------------------------------------------------------

def case_check_ok(f):
    run_rc(0, SEAL, '--check', f)
    top = dump_json(f)
    for d in top.get('slices', [top]):
        expect(d['sealed'] and d['ok'] and d['checksum_ok'], 'dump: not sealed and ok')
        expect(d['sites'] and all(s['ok'] for s in d['sites']), 'dump: a site is not ok')
    run_rc(0, DUMP, f)
    c = copy(f, 'again')
    snap = snapshot(c)
    run_rc(0, SEAL, c)
    unchanged(c, snap, 'sealing a sealed file')


# A trap at a site, and how the diagnostic shows it, per architecture.
TRAP = {'x86_64': (b'\xcc', 'found cc', 'int3'), 'i386': (b'\xcc', 'found cc', 'int3'),
        'aarch64': (b'\x00\x00\x20\xd4', 'found 00 00 20 d4', 'brk')}


def break_sites(f, count):
    """Put a trap on the first bytes of `count` sites in different functions."""
    d = dump_json(f)
    picked, seen = [], set()
    for s in sorted(d['sites'], key=lambda s: s['function']):
        fn = s['function'].split('+')[0]
        if fn not in seen:
            seen.add(fn)
            picked.append(s)
    expect(len(picked) >= count, 'fixture has too few functions with sites')
    for s in picked[:count]:
        patch(f, file_offset(f, int(s['address'], 16)), TRAP[d['arch']][0])
    return picked[:count]


def case_site_byte(src):
    f = copy(src)
    bad = break_sites(f, 2)
    snap = snapshot(f)
    for args in (['--check', f], [f]):
        _, err = run_rc(1, SEAL, *args)
        for s in bad:
            where = '%s: %s (%s): error: ' % (f, s['function'], s['address'])
            expect(where in err, 'message does not name the site %r:\n%s' % (where, err))
        _, found, mnemonic = TRAP[dump_json(src)['arch']]
        expect(found in err and mnemonic in err, 'found bytes not shown:\n' + err)
        expect('expected ' in err, 'expected bytes not shown:\n' + err)
        unchanged(f, snap, 'a failed run')
    d = dump_json(f, 1)
    expect(sum(1 for s in d['sites'] if not s['ok']) == 2, 'dump does not flag both sites')
    expect(not d['ok'], 'dump says ok')
    no_temporaries(TMP)


case_site_byte_lib = case_site_byte


def case_capstone_lazy(src):
    """capstone is not a dependency the loader resolves at start-up (only a
    bad site needs it, and loading it cost every run about 0.9 ms); it is
    still there to describe a bad site."""
    for tool in (SEAL, DUMP):
        needed = subprocess.run(['readelf', '-d', tool], check=True, capture_output=True,
                                text=True).stdout
        expect('capstone' not in needed, '%s links capstone:\n%s' % (tool, needed))
    f = copy(src)
    break_sites(f, 1)
    _, err = run_rc(1, SEAL, '--check', f)
    _, found, mnemonic = TRAP[dump_json(src)['arch']]
    expect(found in err and mnemonic in err, 'bad site not described:\n' + err)


def case_bad_key(src):
    f = copy(src)
    d = dump_json(f)
    key = next(k for k in d['keys'] if k['name'] == 'key_false')
    # flags is the second 32-bit word; its top byte is 'S' of the magic.
    off = file_offset(f, int(key['address'], 16)) + 7
    expect(read_at(f, off, 1) == b'\x53', 'key magic not where expected')
    patch(f, off, b'\0')
    snap = snapshot(f)
    _, err = run_rc(1, SEAL, '--check', f)
    # Each site, and the names table's entry for the key.
    expect(err.count('lack the key magic') == key['sites'] + 1,
           'every site of the key should be reported:\n' + err)
    expect('names entry at 0x' in err and 'key_false names 0x' in err,
           'the names entry of the key should be reported:\n' + err)
    run_rc(1, SEAL, f)
    unchanged(f, snap, 'a failed run')
    d = dump_json(f, 1)
    k = next(k for k in d['keys'] if k['name'] == 'key_false')
    expect(k['initial'] is None and k['ok'] is False, 'dump: bad key not flagged')


def case_relro_key(src):
    """A key the loader makes read-only (tests/tool/relro.c) does not seal,
    and the runtime refuses it too: the program checks that itself."""
    f = copy(src)
    snap = snapshot(f)
    want = ('key relro_key (0x', 'is not a key: in section .data.rel.ro, which becomes '
            'read-only after relocation')
    for args in (['--check', f], [f]):
        _, err = run_rc(1, SEAL, *args)
        expect(all(w in err for w in want), 'RELRO key not reported:\n' + err)
        expect('data_key' not in err, 'a key in .data reported:\n' + err)
    unchanged(f, snap, 'a refused seal')
    no_temporaries(TMP)
    d = dump_json(f, 1)
    k = next(k for k in d['keys'] if k['name'] == 'relro_key')
    expect(k['ok'] is False, 'dump: RELRO key not flagged')
    out, _ = run_rc(0, f)
    expect('relro_key: pointer does not designate a skeys key' in out,
           'runtime: RELRO key accepted:\n' + out)


def tamper(src, name, edit, want):
    f = copy(src, name)
    edit(f)
    snap = snapshot(f)
    for args in (['--check', f], [f]):
        _, err = run_rc(1, SEAL, *args)
        expect(want in err, '%s: %r not in:\n%s' % (name, want, err))
        unchanged(f, snap, 'a failed run')


def swap_entries(f):
    t = section(f, '__skeys')
    n = t['size'] // 12
    expect(n >= 2, 'too few entries')
    raw = read_at(f, t['offset'], t['size'])

    def absolute(i):
        at = t['addr'] + 12 * i
        return [at + 4 * k + v for k, v in enumerate(struct.unpack_from('<iii', raw, 12 * i))]

    def encode(i, fields):
        at = t['addr'] + 12 * i
        return struct.pack('<iii', *(v - (at + 4 * k) for k, v in enumerate(fields)))
    first, last = absolute(0), absolute(n - 1)
    patch(f, t['offset'], encode(0, last))
    patch(f, t['offset'] + 12 * (n - 1), encode(n - 1, first))


def case_table_tamper(src):
    hdr = section(src, '__skeys_hdr')['offset']
    tamper(src, 'count', lambda f: patch(f, hdr + 20, b'\x63'), 'sealed header counts 99')
    tamper(src, 'checksum', lambda f: patch(f, hdr + 24, b'\x00\x11'), 'checksum')
    tamper(src, 'order', swap_entries, 'not in sorted order')
    tamper(src, 'bounds', lambda f: patch(f, hdr + 36, b'\x00'), "header's table")
    # The names table: each entry names a key and a NUL-terminated identifier.
    names = section(src, '__skeys_names')
    expect(names['size'] >= 12, 'no names table')
    # The first entry's string, and the section it lies in.
    rel, = struct.unpack_from(byte_order(src) + 'i', read_at(src, names['offset'] + 4, 4))
    at = names['addr'] + 4 + rel
    strs = next(x for x in sections(src) if x['type'] != NOBITS and x['addr'] <= at <
                x['addr'] + x['size'] and x['name'] != '__skeys_names')
    strs = dict(strs, offset=strs['offset'] + at - strs['addr'], size=strs['size'] - (at - strs['addr']))
    tamper(src, 'names-bounds', lambda f: patch(f, hdr + 44, b'\x02'),
           'names table [0x')
    tamper(src, 'names-key', lambda f: patch(f, names['offset'], b'\x04'),
           'not a key of the module')
    tamper(src, 'names-string', lambda f: patch(f, strs['offset'], b'-'),
           'is not a C identifier')
    if strs['size'] < 1024 and read_at(src, strs['offset'] + strs['size'] - 1, 1) == b'\0':
        # The section's last string loses its NUL (ELF: __skeys_str holds only names).
        last = strs['offset'] + strs['size'] - 1
        tamper(src, 'names-nul', lambda f: patch(f, last, b'x'), 'without a NUL in its section')
    tamper(src, 'names-outside', lambda f: patch(f, names['offset'] + 7, b'\x40'),
           'is not in loaded data')
    tamper(src, 'names-count', lambda f: patch(f, names['offset'] + 8, b'\x00'),
           ': 0 keys')


def case_bad_input(src):
    size = os.path.getsize(src)
    rnd = random.Random(1)
    files = {
        'truncated': open(src, 'rb').read()[:size // 2],
        'short': open(src, 'rb').read()[:100],
        'garbage': bytes(rnd.getrandbits(8) for _ in range(4096)),
        'elf-garbage': b'\x7fELF' + bytes(rnd.getrandbits(8) for _ in range(4092)),
        'empty': b'',
    }
    if files['truncated'][:2] == b'MZ':
        files['mz-garbage'] = b'MZ' + bytes(rnd.getrandbits(8) for _ in range(4094))
        # Headers intact, the section table cut off.
        coff, opt, opt_size, _ = pe_layout(files['truncated'])
        files['pe-headers-only'] = files['truncated'][:opt + opt_size + 20]
    true = shutil.which('true')
    if true:
        files['not-skeys'] = open(true, 'rb').read()
    for name, data in files.items():
        f = os.path.join(TMP, name)
        with open(f, 'wb') as fh:
            fh.write(data)
        snap = snapshot(f)
        for args in ([SEAL, f], [SEAL, '--check', f], [SEAL, f, '-o', f + '.out'],
                     [DUMP, f], [DUMP, '--json', f]):
            out, err = run_rc(2, *args)
            expect(err.startswith(f + ': error: '), 'message does not name %s:\n%s' % (f, err))
            unchanged(f, snap, name)
        expect(not os.path.exists(f + '.out'), 'output written for bad input')
    missing = os.path.join(TMP, 'missing')
    for args in ([SEAL, missing], [DUMP, missing]):
        _, err = run_rc(2, *args)
        expect(missing in err, 'message does not name the missing file')
    run_rc(2, SEAL, TMP)
    no_temporaries(TMP)


def case_unsealed(src):
    f = copy(src)
    snap = snapshot(f)
    _, err = run_rc(1, SEAL, '--check', f)
    expect('not sealed' in err, 'no "not sealed" message:\n' + err)
    d = dump_json(f)
    expect(d['sealed'] is False and d['checksum_ok'] is None and d['ok'], 'dump: unsealed state')
    unchanged(f, snap, '--check and dump')


def case_failed_seal_untouched(src):
    f = copy(src)
    bad = break_sites(f, 1)
    snap = snapshot(f)
    _, err = run_rc(1, SEAL, '--check', f)
    expect('not sealed' in err and bad[0]['function'] in err, 'check must report both:\n' + err)
    run_rc(1, SEAL, f)
    run_rc(1, SEAL, f, '-o', f + '.out')
    unchanged(f, snap, 'a failed seal')
    expect(not os.path.exists(f + '.out'), 'output written for a bad file')
    no_temporaries(TMP)


def case_seal_twice(src):
    f = copy(src)
    before = snapshot(f)
    run_rc(0, SEAL, f)
    sealed = snapshot(f)
    expect(sealed[0] != before[0] and len(sealed[0]) == len(before[0]),
           'sealing must change table bytes, not the size')
    expect(sealed[1] != before[1], 'sealing did not touch the file')
    run_rc(0, SEAL, '--check', f)
    os.utime(f, ns=(1_000_000_000 * 10**9, 1_000_000_000 * 10**9))
    snap = snapshot(f)
    run_rc(0, SEAL, f)
    unchanged(f, snap, 'the second seal')
    link = os.path.join(TMP, 'link')
    os.symlink(os.path.basename(f), link)
    run_rc(0, SEAL, f, '-o', link)
    unchanged(f, snap, 'sealing onto itself through -o')
    no_temporaries(TMP)


def case_output(src):
    f = copy(src)
    os.chmod(f, 0o750)
    snap = snapshot(f)
    out = os.path.join(TMP, 'out')
    run_rc(0, SEAL, f, '-o', out)
    unchanged(f, snap, 'seal -o')
    run_rc(0, SEAL, '--check', out)
    expect(stat.S_IMODE(os.stat(out).st_mode) == 0o750, 'output mode differs from input')
    # Sealing a sealed file to another name copies it.
    out2 = os.path.join(TMP, 'out2')
    run_rc(0, SEAL, out, '-o', out2)
    expect(open(out, 'rb').read() == open(out2, 'rb').read(), 'copy of a sealed file differs')
    # Output into a missing directory is an environment error.
    _, err = run_rc(2, SEAL, f, '-o', os.path.join(TMP, 'no', 'such', 'dir', 'x'))
    unchanged(f, snap, 'a failed seal -o')
    no_temporaries(TMP)


def case_mode(src):
    f = copy(src)
    os.chmod(f, 0o751)
    run_rc(0, SEAL, f)
    expect(stat.S_IMODE(os.stat(f).st_mode) == 0o751, 'mode not preserved')
    g = copy(src, 'target')
    os.chmod(g, 0o700)
    link = os.path.join(TMP, 'via-link')
    os.symlink('target', link)
    run_rc(0, SEAL, link)
    expect(os.path.islink(link), 'the symbolic link was replaced')
    run_rc(0, SEAL, '--check', g)
    expect(stat.S_IMODE(os.stat(g).st_mode) == 0o700, 'mode through link not preserved')


def case_usage(src):
    f = copy(src)
    snap = snapshot(f)
    for tool, args in ((SEAL, []), (SEAL, [f, f]), (SEAL, ['-x', f]), (SEAL, [f, '-o']),
                       (SEAL, ['--check', '-o', f + '.o', f]), (SEAL, ['--bogus', f]),
                       (SEAL, ['-o', '', f]),
                       (DUMP, []), (DUMP, [f, f]), (DUMP, ['-x', f]), (DUMP, ['--bogus'])):
        _, err = run_rc(64, tool, *args)
        expect('--help' in err, 'usage error without a hint: ' + err)
    for tool in (SEAL, DUMP):
        out, _ = run_rc(0, tool, '--help')
        expect('Exit status' in out and '64' in out and 'x86_64' in out,
               'help lacks the exit-status contract')
        run_rc(0, tool, '--version')
    unchanged(f, snap, 'usage errors')
    expect(not os.path.exists(f + '.o'), 'output written on a usage error')


def pe_checksum(b):
    """The PE image checksum, computed here independently of the tool."""
    _, opt, _, _ = pe_layout(b)
    field = opt + 64
    data = b[:field] + b'\0\0\0\0' + b[field + 4:]
    if len(data) % 2:
        data += b'\0'
    total = 0
    for (w,) in struct.iter_unpack('<H', data):
        total += w
        total = (total & 0xffff) + (total >> 16)
    total = (total & 0xffff) + (total >> 16)
    return (total + len(b)) & 0xffffffff


def pe_get_checksum(path):
    b = open(path, 'rb').read()
    return struct.unpack_from('<I', b, pe_layout(b)[1] + 64)[0]


def pe_set_checksum(path, value):
    b = bytearray(open(path, 'rb').read())
    struct.pack_into('<I', b, pe_layout(b)[1] + 64, value)
    open(path, 'wb').write(b)


def case_pe_checksum(src):
    # GNU ld fills in the checksum: this file's own is the reference.
    g = copy(src, 'sum.exe')
    before = pe_get_checksum(g)
    expect(before != 0, 'the linker left the checksum zero; this case needs one')
    expect(before == pe_checksum(open(g, 'rb').read()),
           'the linker wrote 0x%08x, this script computes 0x%08x' %
           (before, pe_checksum(open(g, 'rb').read())))
    run_rc(0, SEAL, g)
    after = open(g, 'rb').read()
    expect(pe_get_checksum(g) == pe_checksum(after),
           'checksum 0x%08x after sealing, the file sums to 0x%08x'
           % (pe_get_checksum(g), pe_checksum(after)))
    expect(pe_get_checksum(g) != before, 'checksum unchanged though the table changed')
    run_rc(0, SEAL, '--check', g)
    # Zero means "no checksum": it stays zero.
    f = copy(src, 'zero.exe')
    pe_set_checksum(f, 0)
    run_rc(0, SEAL, f)
    expect(pe_get_checksum(f) == 0, 'a zero checksum was filled in')
    print('checksum 0x%08x -> 0x%08x' % (before, pe_get_checksum(g)))


def case_pe_machine(src):
    """The optional header must be the one of the machine (PE32 for i386,
    PE32+ for x86-64), and the machine one skeys knows: exit 2 otherwise."""
    b = open(src, 'rb').read()
    coff, opt, _, plus = pe_layout(b)
    machine, = struct.unpack_from('<H', b, coff)
    cases = [('magic', opt, 0x10b if plus else 0x20b,
              'optional header magic 0x%x does not fit machine 0x%x'
              % (0x10b if plus else 0x20b, machine)),
             ('machine', coff, 0x1c4, 'unsupported machine (COFF machine 0x1c4)')]
    for name, at, value, want in cases:
        f = copy(src, name + '.exe')
        patch(f, at, struct.pack('<H', value))
        snap = snapshot(f)
        for tool in ([SEAL, f], [SEAL, '--check', f], [DUMP, f]):
            _, err = run_rc(2, *tool)
            expect(err.startswith(f + ': error: ') and want in err,
                   '%s: %r not in:\n%s' % (name, want, err))
        unchanged(f, snap, 'a refused ' + name)
    no_temporaries(TMP)


def case_pe_signed(src):
    """A file with an Authenticode signature is refused: seal before signing."""
    f = copy(src, 'signed.exe')
    b = bytearray(open(f, 'rb').read())
    _, opt, _, plus = pe_layout(b)
    sec_dir = opt + (112 if plus else 96) + 8 * 4
    # A WIN_CERTIFICATE header (length, revision 2.0, PKCS#7) at the end, 8-aligned.
    b += b'\0' * (-len(b) % 8)
    struct.pack_into('<II', b, sec_dir, len(b), 8)
    b += struct.pack('<IHH', 8, 0x200, 2)
    open(f, 'wb').write(b)
    snap = snapshot(f)
    _, err = run_rc(2, SEAL, f)
    expect('Authenticode' in err and 'before signing' in err,
           'refusal does not say to seal before signing:\n' + err)
    run_rc(2, SEAL, f, '-o', f + '.out')
    expect(not os.path.exists(f + '.out'), 'output written for a signed file')
    unchanged(f, snap, 'sealing a signed file')
    d = dump_json(f)
    expect(d['format'] == 'pe' and not d['sealed'], 'dump of a signed file')
    no_temporaries(TMP)


def case_dead_strip(*files):
    """ld64.lld -dead_strip keeps every entry (and so every function with a site)."""
    for whole, stripped in zip(files[0::2], files[1::2]):
        a, b = dump_json(whole), dump_json(stripped)
        fa = sorted(s['function'].split('+')[0] for s in a['sites'])
        fb = sorted(s['function'].split('+')[0] for s in b['sites'])
        expect(fa == fb, '-dead_strip changed the entries: %s -> %s' % (fa, fb))
        expect(b['ok'] and b['sealed'], '-dead_strip file does not verify')
        run_rc(0, SEAL, '--check', stripped)


def slice_of(path, arch):
    """(offset, size) of the slice of a universal file whose dump arch is `arch`."""
    cpu = {'x86_64': 0x01000007, 'aarch64': 0x0100000c}[arch]
    for c, off, size in macho_slices(open(path, 'rb').read()):
        if c == cpu:
            return off, size
    raise Fail('no %s slice' % arch)


def case_macho_fat(src):
    """Each slice is verified, sealed and shown; a bad site names its slice."""
    f = copy(src, 'fat')
    d = dump_json(f)
    expect(d['format'] == 'macho' and [x['arch'] for x in d['slices']] == ['x86_64', 'aarch64'],
           'dump of a universal file: %r' % {k: v for k, v in d.items() if k != 'slices'})
    expect(all(not x['sealed'] and x['ok'] and len(x['sites']) == 6 for x in d['slices']),
           'slices before sealing')
    _, err = run_rc(1, SEAL, '--check', f)
    expect(err.count('not sealed') == 2, 'each slice must say it is not sealed:\n' + err)
    run_rc(0, SEAL, f)
    d = dump_json(f)
    expect(all(x['sealed'] and x['ok'] and x['checksum_ok'] for x in d['slices']),
           'slices after sealing')
    run_rc(0, SEAL, '--check', f)
    text, _ = run_rc(0, DUMP, f)
    for arch in ('x86_64', 'aarch64'):
        expect('%s[%s]: macho %s, sealed' % (f, arch, arch) in text,
               'text dump does not show slice %s:\n%s' % (arch, text[:400]))
    # One bad site in the arm64 slice: named with its slice, nothing written.
    site = next(x for x in d['slices'] if x['arch'] == 'aarch64')['sites'][0]
    off, _ = slice_of(f, 'aarch64')
    b = open(f, 'rb').read()
    secs = macho_sections(b, off)
    addr = int(site['address'], 16)
    sec = next(x for x in secs if x['addr'] <= addr < x['addr'] + x['size'])
    patch(f, sec['offset'] + addr - sec['addr'], b'\x00\x00\x20\xd4')  # brk #0
    snap = snapshot(f)
    _, err = run_rc(1, SEAL, '--check', f)
    where = '%s[aarch64]: %s (%s): error: ' % (f, site['function'], site['address'])
    expect(where in err and 'brk' in err, 'bad site not named with its slice %r:\n%s' % (where, err))
    run_rc(1, SEAL, f)
    unchanged(f, snap, 'a failed seal of a universal file')
    d = dump_json(f, 1)
    expect([x['ok'] for x in d['slices']] == [True, False], 'dump: only arm64 is bad')
    no_temporaries(TMP)


def case_macho_fat_bad(src):
    """Universal headers that lie: exit 2, file untouched."""
    b = open(src, 'rb').read()
    (c0, off0, size0), _ = macho_slices(b)
    bad = {
        'slice-past-end': bytearray(b),
        'slice-not-macho': bytearray(b),
        'cputype-lies': bytearray(b),
        'truncated-slice': b[:off0 + size0 // 2],
    }
    struct.pack_into('>I', bad['slice-past-end'], 20, len(b))
    struct.pack_into('>I', bad['slice-not-macho'], 16, 0)
    struct.pack_into('>I', bad['cputype-lies'], 8, 0x0100000c if c0 != 0x0100000c else 0x01000007)
    for name, data in bad.items():
        f = os.path.join(TMP, name)
        open(f, 'wb').write(data)
        snap = snapshot(f)
        for args in ([SEAL, f], [SEAL, '--check', f], [DUMP, '--json', f]):
            _, err = run_rc(2, *args)
            expect(err.startswith(f + ': error: '), '%s: message does not name the file:\n%s'
                   % (name, err))
        unchanged(f, snap, name)
    no_temporaries(TMP)


def code_directory(b, base=0):
    """(offset of the CodeDirectory, of its superblob, its fields) of a Mach-O image at `base`."""
    img = objfile.Image(b)
    for off, cmd in objfile.macho_commands(b, base):
        if cmd != objfile.LC_CODE_SIGNATURE:
            continue
        sb = base + img.field(objfile.CODESIG, off, 'dataoff')
        for i in range(img.field(objfile.SUPERBLOB, sb, 'count')):
            if img.get(sb + 12 + 8 * i, '>I') == 0:
                cd = sb + img.get(sb + 16 + 8 * i, '>I')
                f = {k: img.field(objfile.CD, cd, k)
                     for k in ('flags', 'hash_offset', 'n_code_slots', 'code_limit', 'page_size')}
                return cd, sb, {'flags': f['flags'], 'hash_off': f['hash_offset'],
                                'n_code': f['n_code_slots'], 'limit': f['code_limit'],
                                'page': 1 << f['page_size']}
    return None, None, None


def check_page_hashes(b, base, what):
    cd, _, f = code_directory(b, base)
    expect(cd is not None, '%s: no code signature' % what)
    for i in range(f['n_code']):
        at = base + i * f['page']
        end = min(at + f['page'], base + f['limit'])
        want = hashlib.sha256(b[at:end]).digest()
        got = b[cd + f['hash_off'] + 32 * i:cd + f['hash_off'] + 32 * (i + 1)]
        expect(want == got, '%s: page %d hash does not match its contents' % (what, i))
    return f['n_code']


def case_macho_signature(thin, fat):
    """Ad-hoc signatures (ld64.lld signs every arm64 image) get their page
    hashes recomputed; a real signature is refused: seal before codesign."""
    f = copy(thin, 'signed')
    b = open(f, 'rb').read()
    n = check_page_hashes(b, 0, 'as linked')
    run_rc(0, SEAL, f)
    after = open(f, 'rb').read()
    expect(after != b, 'sealing changed nothing')
    check_page_hashes(after, 0, 'after sealing')
    g = copy(fat, 'fat')
    run_rc(0, SEAL, g)
    gb = open(g, 'rb').read()
    off, _ = slice_of(g, 'aarch64')
    check_page_hashes(gb, off, 'arm64 slice after sealing')
    # A CMS blob slot in the signature: signed by someone, so refused.
    h = copy(thin, 'really-signed')
    hb = bytearray(open(h, 'rb').read())
    cd, sb, fields = code_directory(hb, 0)
    count, = struct.unpack_from('>I', hb, sb + 8)
    # Retype the code directory's own slot entry as a signature slot of non-zero size.
    struct.pack_into('>I', hb, cd + 12, fields['flags'] & ~0x2)  # not ad hoc
    open(h, 'wb').write(hb)
    snap = snapshot(h)
    _, err = run_rc(2, SEAL, h)
    expect('before codesign' in err, 'refusal does not say to seal before signing:\n' + err)
    unchanged(h, snap, 'sealing a signed file')
    dump_json(h)
    print('%d page hashes checked, %d slots in the signature' % (n, count))
    no_temporaries(TMP)


def case_scale(src):
    f = copy(src)
    t0 = time.monotonic()
    run_rc(0, SEAL, f)
    t1 = time.monotonic()
    run_rc(0, SEAL, '--check', f)
    t2 = time.monotonic()
    d = dump_json(f)
    t3 = time.monotonic()
    n = len(d['sites'])
    expect(n == d['entries'] and n >= 100000, 'only %d sites' % n)
    expect(d['sealed'] and all(s['ok'] for s in d['sites']), 'not all sites ok')
    print('%d sites: seal %.2fs, check %.2fs, dump --json %.2fs' % (n, t1 - t0, t2 - t1, t3 - t2))


def site_lines(err):
    """The per-site lines of skeys-seal's report ('FILE: where (0x...): error: ...')."""
    return [l for l in err.splitlines() if re.match(r'.*: (\S+ \()?0x[0-9a-f]+\)?: error: ', l)]


def case_report_cap(src):
    """200,000 bad sites are not 200,000 lines: at most 10 sites of a key and
    100 in all, then a count per key (10 keys, then the others in one)."""
    d = dump_json(src)
    keys = {k['name']: k for k in d['keys']}
    expect(set(keys) >= {'many_key_a', 'many_key_b'} and len(d['sites']) >= 200000,
           'not the many-sites fixture')
    # One key without its magic: every site of it is bad.
    f = copy(src, 'one-key')
    for name in ('many_key_a',):
        patch(f, file_offset(f, int(keys[name]['address'], 16)) + 7, b'\0')
    n_a = keys['many_key_a']['sites']
    _, err = run_rc(1, SEAL, '--check', f)
    lines = site_lines(err)
    expect(len(lines) == 10 and all('many_key_a' in l for l in lines),
           '%d site lines, expected 10 of many_key_a:\n%s' % (len(lines), err[:3000]))
    want = '%s: error: and %s more bad sites of key many_key_a (skeys-dump lists every site)' \
        % (f, format(n_a - 10, ','))
    expect(want in err.splitlines(), 'no count of the sites not shown:\n' + err[:3000])
    expect('%d of %d sites failed verification' % (n_a, len(d['sites'])) in err,
           'total not given:\n' + err[:3000])
    expect(len(err.splitlines()) <= 14, 'report too long:\n' + err[:3000])
    # Both keys: 10 sites and a count each.
    patch(f, file_offset(f, int(keys['many_key_b']['address'], 16)) + 7, b'\0')
    _, err = run_rc(1, SEAL, f)
    lines = site_lines(err)
    expect(len(lines) == 20 and sum('many_key_b' in l for l in lines) == 10,
           '%d site lines, expected 10 of each key:\n%s' % (len(lines), err[:3000]))
    expect(sum(' more bad sites of key many_key_' in l for l in err.splitlines()) == 2,
           'expected a count for each key:\n' + err[:3000])
    # 150 entries pointing at 150 different addresses outside any section:
    # 150 bad keys of a site each. 100 lines, 10 counts, one for the other 40.
    # A step longer than the keys lie apart, so that no two land on one address.
    g = copy(src, 'many-keys')
    a, b = (int(keys[k]['address'], 16) for k in ('many_key_a', 'many_key_b'))
    step = (abs(a - b) // 8 + 8) * 8
    for i in range(150):
        edit_entry(g, i, 2, 0x10000000 + step * i)
    _, err = run_rc(1, SEAL, '--check', g)
    lines = site_lines(err)
    expect(len(lines) == 100 and all('not inside any section' in l for l in lines),
           '%d site lines, expected 100:\n%s' % (len(lines), err[:3000]))
    counts = [l for l in err.splitlines() if ': error: and 1 more bad site of key ' in l]
    expect(len(counts) == 10, '%d per-key counts, expected 10:\n%s' % (len(counts), err))
    expect('%s: error: and 40 more bad sites of 40 other keys' % g in err.splitlines(),
           'no count of the other keys:\n' + err)
    # skeys-dump lists every one.
    d = dump_json(g, 1)
    expect(sum(1 for s in d['sites'] if not s['ok']) == 150, 'dump does not list every bad site')


# ---- architecture-neutral cases, run on every architecture's fixture --------

# Distance that no site jump reaches, by the range of each architecture's jump;
# the entry's 32-bit fields cannot express one for those left out.
OUT_OF_RANGE = {'aarch64': 0x10000000, 'loongarch64': 0x10000000, 'riscv64': 0x200000,
                'arm': 0x4000000, 'ppc64le': 0x4000000}


def edit_entry(f, index, field, delta):
    """Move one field (0 code, 1 target) of a table entry by `delta` bytes."""
    t = section(f, '__skeys')
    e = byte_order(f)
    off = t['offset'] + 12 * index + 4 * field
    v, = struct.unpack(e + 'i', read_at(f, off, 4))
    patch(f, off, struct.pack(e + 'i', v + delta))


def case_site_corrupt(src):
    """Any architecture: garbage over two sites, both named, exit 1, file untouched."""
    f = copy(src)
    d = dump_json(f)
    picked, seen = [], set()
    for s in sorted(d['sites'], key=lambda s: s['function']):
        fn = s['function'].split('+')[0]
        if fn not in seen:
            seen.add(fn)
            picked.append(s)
    expect(len(picked) >= 2, 'fixture has too few functions with sites')
    for s in picked[:2]:
        patch(f, file_offset(f, int(s['address'], 16)), b'\xff' * s['length'])
    snap = snapshot(f)
    for args in (['--check', f], [f]):
        _, err = run_rc(1, SEAL, *args)
        for s in picked[:2]:
            where = '%s: %s (%s): error: expected ' % (f, s['function'], s['address'])
            expect(where in err, 'message does not name the site %r:\n%s' % (where, err))
        expect('found ff ff' in err, 'found bytes not shown:\n' + err)
        unchanged(f, snap, 'a failed run')
    d = dump_json(f, 1)
    expect(sum(1 for s in d['sites'] if not s['ok']) == 2, 'dump does not flag both sites')


def case_site_range(src):
    """A misaligned site and a target out of the jump's range are bad sites.
    Works on the unsealed file: skeys-seal verifies before it sorts."""
    d = dump_json(src)
    arch = d['arch']
    f = copy(src, 'misaligned')
    edit_entry(f, 0, 0, 1)
    snap = snapshot(f)
    rc, _, err = run(SEAL, f)
    if arch in ('x86_64', 'i386'):
        expect('byte aligned' not in err, 'x86 sites have no alignment:\n' + err)
    else:
        expect(rc == 1 and 'site is not' in err and 'byte aligned' in err,
               'misaligned site not reported (exit %d):\n%s' % (rc, err))
    unchanged(f, snap, 'a failed run')
    if arch not in OUT_OF_RANGE:
        print('%s: no target beyond the jump range fits a 32-bit entry' % arch)
        return
    f = copy(src, 'far')
    # Take a site whose jump is the initial instruction, as a distant target
    # must then be refused for the bytes too, not only for the range.
    edit_entry(f, 0, 1, OUT_OF_RANGE[arch])
    snap = snapshot(f)
    _, err = run_rc(1, SEAL, f)
    expect('no %s jump reaches the target' % arch in err or
           ('no arm-thumb jump reaches the target' in err and arch == 'arm'),
           'out-of-range target not reported:\n' + err)
    unchanged(f, snap, 'a failed run')


def case_mode_flag(src):
    """Flip the mode bit (bit 1 of an entry's key field): reserved, so refused,
    everywhere but arm; on arm it moves the site to the other instruction
    set, whose encodings the site's bytes then do not match."""
    d = dump_json(src)
    f = copy(src, 'mode')
    t = section(f, '__skeys')
    e = byte_order(f)
    # The field's own address is 4-aligned and the key 8-aligned, so the
    # stored offset's two low bits are the flags themselves.
    off = t['offset'] + 8
    v, = struct.unpack(e + 'i', read_at(f, off, 4))
    patch(f, off, struct.pack(e + 'i', v ^ 2))
    snap = snapshot(f)
    _, err = run_rc(1, SEAL, f)
    if d['arch'] == 'arm':
        expect('expected ' in err and 'found ' in err, 'arm: other-mode site not refused:\n' + err)
    else:
        expect('reserved flag bits 0x2' in err, 'mode bit not refused:\n' + err)
    unchanged(f, snap, 'a failed run')


class Skip(Exception):
    pass


def run_cases(cases, argv, doc, prefix):
    """`argv`: CASE SEAL DUMP FILE...; runs cases['case_' + CASE] on the
    FILEs in a temporary directory (TMP). Returns the exit status."""
    global SEAL, DUMP, TMP
    if len(argv) >= 2 and argv[1] == 'skip':
        print('SKIP: ' + ' '.join(argv[2:]))
        return 77
    if len(argv) < 4:
        print(doc, file=sys.stderr)
        return 64
    case, SEAL, DUMP = argv[1], os.path.abspath(argv[2]), os.path.abspath(argv[3])
    fn = cases.get('case_' + case.replace('-', '_'))
    if not fn:
        print('unknown case ' + case, file=sys.stderr)
        return 64
    with tempfile.TemporaryDirectory(prefix=prefix) as TMP:
        try:
            fn(*[os.path.abspath(a) for a in argv[4:]])
        except Skip as e:
            print('SKIP: %s' % e)
            return 77
        except Fail as e:
            print('FAIL: %s' % e, file=sys.stderr)
            return 1
    print('ok: ' + case)
    return 0


def main():
    return run_cases(globals(), sys.argv, __doc__, 'skeys-tool-')


if __name__ == '__main__':
    sys.exit(main())
