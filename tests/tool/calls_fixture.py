#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The tools on tests/tool/fixture_calls.c linked for a format whose programs
cannot run here (Mach-O, ld64.lld): skeys-dump lists each call with its
kind and initial target (a local function, or the symbol the loader binds,
printf), skeys-seal seals the call table and writes its bounds into the
header (which the compiler leaves zero there), and refuses, exit 1 and
nothing written, a trampoline whose slot or return-0 stub was changed;
--check refuses a sealed table changed afterwards.

  calls_fixture.py SEAL DUMP FILE
Exit: 0 pass, 1 fail.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import objfile  # noqa: E402

WANT = {'op': ('call', 'add1+0x0'), 'cond': ('null', None), 'zero': ('ret0', None),
        'ext': ('call', 'printf+0x0')}
HEADER_SECTION = {'macho': '__skeys_chdr', 'pe': '.skeysc', 'elf': '__skeys_calls_hdr'}
TABLE_SECTION = {'macho': '__skeys_calls', 'elf': '__skeys_calls'}
# Per architecture (docs/architectures.md): the far slot as compiled (its
# first bytes), a slot to put in its place, and the return-0 stub's offset.
TRAMP = {
    'x86_64': (b'\xff\x25', b'\xe9\x00\x00\x00\x00\xcc', 12),
    'i386': (b'\xff\x25', b'\xe9\x00\x00\x00\x00\xcc', 12),
    'aarch64': (b'\x1f\x20\x03\xd5', b'\x01\x00\x00\x14', 16),  # nop; b +4
}


class Failure(Exception):
    pass


def run(cmd, expect=0):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != expect:
        raise Failure('%s: exit %d, expected %d\n%s%s' % (' '.join(cmd), p.returncode, expect,
                                                          p.stdout, p.stderr))
    return p


def dump(tool, path, expect=0):
    doc = json.loads(run([tool, '--json', path], expect).stdout)
    return doc, {c['name']: c for c in doc.get('calls', [])}


def section(b, name):
    found = [s for s in objfile.sections(b) if s['name'] == name]
    if len(found) != 1:
        raise Failure('%d sections named %s' % (len(found), name))
    return found[0]


def file_offset(b, addr):
    for s in objfile.sections(b):
        if s['type'] != objfile.SHT_NOBITS and s['addr'] <= addr < s['addr'] + s['size']:
            return s['offset'] + addr - s['addr']
    raise Failure('no section holds 0x%x' % addr)


def refused(seal, dump_tool, data, tmp, name, tramp):
    """The changed file: skeys-seal exits 1 naming the trampoline and writes
    nothing; skeys-dump exits 1 and says the call is not ok."""
    bad = os.path.join(tmp, 'bad')
    with open(bad, 'wb') as f:
        f.write(data)
    p = run([seal, bad], expect=1)
    if 'skeys__tramp_%s+0x0 (0x%x): error: static call: ' % (name, tramp) not in p.stderr:
        raise Failure('skeys-seal does not name the trampoline of %s:\n%s' % (name, p.stderr))
    with open(bad, 'rb') as f:
        if f.read() != data:
            raise Failure('skeys-seal changed a file that failed verification')
    doc, calls = dump(dump_tool, bad, expect=1)
    if doc['ok'] is not False or calls[name]['ok'] is not False:
        raise Failure('skeys-dump: ok %r, call %r' % (doc['ok'], calls[name]))


def main():
    seal, dump_tool, path = sys.argv[1:4]
    with open(path, 'rb') as f:
        orig = f.read()
    doc, calls = dump(dump_tool, path)
    fmt = doc['format']
    for name, (kind, target) in WANT.items():
        c = calls.get(name)
        if not c or c['kind'] != kind or c['target'] != target or not c['ok'] or c['sites']:
            raise Failure('call %s is %r, expected kind %s, target %s (calls: %s)'
                          % (name, c, kind, target, sorted(calls)))
    with tempfile.TemporaryDirectory(prefix='skeys-calls-') as tmp:
        sealed = os.path.join(tmp, 'sealed')
        run([seal, path, '-o', sealed])
        run([seal, '--check', sealed])
        sdoc, scalls = dump(dump_tool, sealed)
        if not sdoc['ok'] or sdoc['sealed'] is not True or scalls != calls:
            raise Failure('sealed: ok %r sealed %r, calls %r' % (sdoc['ok'], sdoc['sealed'], scalls))
        with open(sealed, 'rb') as f:
            sb = bytearray(f.read())
        h = section(sb, HEADER_SECTION[fmt])
        flags, count = struct.unpack_from('<II', sb, h['offset'] + 16)
        start, stop = struct.unpack_from('<ii', sb, h['offset'] + 32)
        table = h['addr'] + 32 + start, h['addr'] + 36 + stop
        if fmt in TABLE_SECTION:
            t = section(sb, TABLE_SECTION[fmt])
            if table != (t['addr'], t['addr'] + t['size']):
                raise Failure('sealed header bounds [0x%x, 0x%x), the table is [0x%x, 0x%x)'
                              % (table + (t['addr'], t['addr'] + t['size'])))
        if flags != 1 or count != len(WANT) or table[1] - table[0] != 12 * len(WANT):
            raise Failure('sealed header: flags %d, count %d, table [0x%x, 0x%x)'
                          % ((flags, count) + table))
        # A sealed table changed afterwards: --check refuses it.
        sb[h['offset'] + 24] ^= 0xff
        changed = os.path.join(tmp, 'changed')
        with open(changed, 'wb') as f:
            f.write(sb)
        run([seal, '--check', changed], expect=1)

        # The slot of a call and the stub of another changed in the unsealed file.
        far, other, stub = TRAMP[doc['arch']]
        op = int(calls['op']['trampoline'], 16)
        b = bytearray(orig)
        off = file_offset(b, op)
        if b[off:off + len(far)] != far:
            raise Failure('trampoline of op starts with %s' % b[off:off + len(far)].hex())
        b[off:off + len(other)] = other
        refused(seal, dump_tool, bytes(b), tmp, 'op', op)
        zero = int(calls['zero']['trampoline'], 16)
        b = bytearray(orig)
        b[file_offset(b, zero) + stub] ^= 0xff
        refused(seal, dump_tool, bytes(b), tmp, 'zero', zero)
    print('ok: %d calls, sealed, tampered trampolines refused' % len(WANT))
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except Failure as e:
        print('FAIL: %s' % e)
        sys.exit(1)
