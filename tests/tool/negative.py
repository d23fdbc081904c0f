#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Behaviour of skeys-seal and skeys-dump on good, broken and hostile files.

  negative.py CASE SEAL DUMP [FILE]

Every case works on copies in a temporary directory and checks exit codes,
messages, and that a failed run left its input byte-for-byte (and mtime)
unchanged. Exit 0 pass, 1 fail, 77 skip.
"""
import json
import os
import random
import shlex
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time

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


# ---- a minimal ELF64 little-endian section reader, for patching -------------

def sections(path):
    with open(path, 'rb') as f:
        b = f.read()
    expect(b[:4] == b'\x7fELF' and b[4] == 2 and b[5] == 1, 'fixture is not ELF64 LE')
    shoff, = struct.unpack_from('<Q', b, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from('<HHH', b, 0x3a)
    raw = [struct.unpack_from('<IIQQQQIIQQ', b, shoff + i * shentsize) for i in range(shnum)]
    strtab = raw[shstrndx]
    out = []
    for s in raw:
        n = b[strtab[4] + s[0]:].split(b'\0', 1)[0].decode()
        out.append({'name': n, 'type': s[1], 'addr': s[3], 'offset': s[4], 'size': s[5]})
    return out


def section(path, name):
    for s in sections(path):
        if s['name'] == name:
            return s
    raise Fail('no section %s' % name)


def file_offset(path, addr):
    for s in sections(path):
        if s['type'] != 8 and s['addr'] and s['addr'] <= addr < s['addr'] + s['size']:
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
    d = dump_json(f)
    expect(d['sealed'] and d['ok'] and d['checksum_ok'], 'dump: not sealed and ok')
    expect(d['sites'] and all(s['ok'] for s in d['sites']), 'dump: a site is not ok')
    run_rc(0, DUMP, f)
    c = copy(f, 'again')
    snap = snapshot(c)
    run_rc(0, SEAL, c)
    unchanged(c, snap, 'sealing a sealed file')


def break_sites(f, count):
    """Put an int3 on the first byte of `count` sites in different functions."""
    d = dump_json(f)
    picked, seen = [], set()
    for s in sorted(d['sites'], key=lambda s: s['function']):
        fn = s['function'].split('+')[0]
        if fn not in seen:
            seen.add(fn)
            picked.append(s)
    expect(len(picked) >= count, 'fixture has too few functions with sites')
    for s in picked[:count]:
        patch(f, file_offset(f, int(s['address'], 16)), b'\xcc')
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
        expect('found cc' in err and 'int3' in err, 'found bytes not shown:\n' + err)
        expect('expected ' in err, 'expected bytes not shown:\n' + err)
        unchanged(f, snap, 'a failed run')
    d = dump_json(f, 1)
    expect(sum(1 for s in d['sites'] if not s['ok']) == 2, 'dump does not flag both sites')
    expect(not d['ok'], 'dump says ok')
    no_temporaries(TMP)


case_site_byte_lib = case_site_byte


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
    expect(err.count('lack the key magic') == key['sites'],
           'every site of the key should be reported:\n' + err)
    run_rc(1, SEAL, f)
    unchanged(f, snap, 'a failed run')
    d = dump_json(f, 1)
    k = next(k for k in d['keys'] if k['name'] == 'key_false')
    expect(k['initial'] is None and k['ok'] is False, 'dump: bad key not flagged')


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


def main():
    global SEAL, DUMP, TMP
    if len(sys.argv) >= 2 and sys.argv[1] == 'skip':
        print('SKIP: ' + ' '.join(sys.argv[2:]))
        return 77
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 64
    case, SEAL, DUMP = sys.argv[1], os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
    fn = globals().get('case_' + case.replace('-', '_'))
    if not fn:
        print('unknown case ' + case, file=sys.stderr)
        return 64
    with tempfile.TemporaryDirectory(prefix='skeys-tool-') as TMP:
        try:
            fn(*[os.path.abspath(a) for a in sys.argv[4:]])
        except Fail as e:
            print('FAIL: %s' % e, file=sys.stderr)
            return 1
    print('ok: ' + case)
    return 0


if __name__ == '__main__':
    sys.exit(main())
