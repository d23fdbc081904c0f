#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compare skeys-dump output with a golden file, or its text with its JSON.

  golden.py --dump DUMP --mode text|json --golden FILE BINARY
  golden.py --dump DUMP --mode agree BINARY

Addresses and offsets change with every compiler and flag, so both forms are
normalised before comparing: addresses become ADDR, "+0x1c" becomes "+OFF",
".cold" parts are folded into their function, keys are sorted by name and
sites by (function, key, branch); keys without a symbol are named by
their initial state. What is normalised away is checked on the
raw output first: hex syntax, per-key site counts, the sealed sort order,
and for text the table layout (columns aligned, as wide as their widest
cell); normalised tables are laid out afresh.
"agree" renders the text form from the JSON form independently and wants
the same bytes: every JSON field must show in the text.
Set SKEYS_GOLDEN_UPDATE=1 to rewrite the golden file instead of comparing.
"""
import argparse
import difflib
import json
import os
import re
import shlex
import subprocess
import sys

HEX = re.compile(r'0x[0-9a-f]+')


def fail(msg):
    print('FAIL: ' + msg, file=sys.stderr)
    sys.exit(1)


def run_dump(dump, binary, json_mode):
    args = [dump] + (['--json'] if json_mode else []) + [binary]
    # Set by the valgrind test setup (tests/valgrind.py).
    wrap = shlex.split(os.environ.get('SKEYS_TOOL_WRAPPER', ''))
    p = subprocess.run(wrap + args, capture_output=True, text=True)
    if p.returncode != 0:
        fail('%s exited %d: %s' % (' '.join(args), p.returncode, p.stderr))
    return p.stdout


def norm_name(s):
    """A symbol+offset or an address, with what varies between builds removed."""
    if HEX.fullmatch(s):
        return 'ADDR'
    s = re.sub(r'\.cold(\.\d+)?(?=\+|$)', '', s)
    return re.sub(r'\+0x[0-9a-f]+$', '+OFF', s)


def check_raw(d):
    """Structure that the normalised form no longer shows."""
    for k in ('format', 'arch', 'sealed', 'keys', 'sites', 'entries', 'ok'):
        if k not in d:
            fail('field %s missing' % k)
    if not isinstance(d['sealed'], bool) or not isinstance(d['ok'], bool):
        fail('sealed/ok are not booleans')
    if d['entries'] != len(d['sites']):
        fail('entries %d but %d sites listed' % (d['entries'], len(d['sites'])))
    if d['sealed'] and d['count'] != d['entries']:
        fail('sealed count %d, entries %d' % (d['count'], d['entries']))
    key_addr = {}
    for k in d['keys']:
        if not HEX.fullmatch(k['address']):
            fail('key address %r is not hex' % k['address'])
        key_addr[k['name']] = int(k['address'], 16)
        n = sum(1 for s in d['sites'] if s['key'] == k['name'])
        if n != k['sites']:
            fail('key %s says %d sites, %d listed' % (k['name'], k['sites'], n))
    # A key's sites through cells are its cells' sites.
    for k in d['keys']:
        n = sum(c['sites'] for c in d['keys'] if c['cell_of'] == k['name'])
        if k['cell_of'] is None and n != k['cell_sites']:
            fail('key %s says %d sites through cells, its cells have %d'
                 % (k['name'], k['cell_sites'], n))
    order = []
    for s in d['sites']:
        for f in ('address', 'target'):
            if not HEX.fullmatch(s[f]):
                fail('site %s %r is not hex' % (f, s[f]))
        if s['key'] not in key_addr:
            fail('site names unknown key %s' % s['key'])
        if s['branch'] not in ('likely', 'unlikely'):
            fail('bad branch %r' % s['branch'])
        if s['instruction'] not in ('nop', 'jmp'):
            fail('bad instruction %r' % s['instruction'])
        order.append((key_addr[s['key']], int(s['address'], 16)))
    if d['sealed'] and order != sorted(order):
        fail('sealed table not listed in (key, address) order')


def norm_json(d):
    d = dict(d)
    d['file'] = os.path.basename(d['file'])
    # A key known only by its address is named by its initial state, so that
    # the sites still show which key they belong to.
    key_token = {}
    for k in d['keys']:
        if HEX.fullmatch(k['name']):
            state = {True: 'TRUE', False: 'FALSE'}.get(k['initial'], 'BAD')
            key_token[k['name']] = 'KEY-' + state
    keys = [dict(k, address='ADDR', name=key_token.get(k['name'], k['name']),
                 cell_of=k['cell_of'] and key_token.get(k['cell_of'], norm_name(k['cell_of'])))
            for k in d['keys']]
    sites = []
    for s in d['sites']:
        s = dict(s, address='ADDR', target='ADDR',
                 key=key_token.get(s['key'], norm_name(s['key'])))
        for f in ('function', 'target_function'):
            s[f] = norm_name(s[f])
        sites.append(s)
    if 'function_entries' in d:
        d['function_entries'] = sorted(
            (dict(e, address='ADDR', function=norm_name(e['function']))
             for e in d['function_entries']), key=lambda e: json.dumps(e, sort_keys=True))
    # Whole-record order: records that tie are identical, so layout cannot show.
    d['keys'] = sorted(keys, key=lambda k: json.dumps(k, sort_keys=True))
    d['sites'] = sorted(sites, key=lambda s: (s['function'], s['key'], s['branch'],
                                              json.dumps(s, sort_keys=True)))
    return json.dumps(d, indent=1, sort_keys=True) + '\n'


# ---- the text form ----------------------------------------------------------
#
# A summary line, then per array a blank line, "Title (N):", and (tables) a
# heading row and one row per element, columns as wide as their widest cell
# and two spaces apart, or (lists, after the tables) one line per string.
# Empty arrays are left out. Unprintable bytes and backslashes are escaped.

LISTS = ('Errors',)
SUMMARY = re.compile(r'(?P<file>.*): \S+ \S+, (?P<sealed>sealed|NOT sealed \(run skeys-seal\)), '
                     r'header count (?P<count>\d+), (?P<entries>\d+) sites, '
                     r'(checksum ok|checksum BAD|no checksum), verification (ok|BAD)')


def esc(s):
    """A string as the text form prints it (JSON gave each byte as a char)."""
    return ''.join(c if ' ' <= c < '\x7f' and c != '\\' else
                   '\\\\' if c == '\\' else '\\x%02x' % ord(c) for c in s)


def render_table(title, heads, rows):
    if not rows:
        return []
    widths = [max(len(r[i]) for r in [heads] + rows) for i in range(len(heads) - 1)]

    def line(cells):
        return '  ' + ''.join(c.ljust(w + 2) for c, w in zip(cells, widths)) + cells[-1]
    return ['', '%s (%d):' % (title, len(rows)), line(heads)] + [line(r) for r in rows]


def render_list(title, items):
    if not items:
        return []
    return ['', '%s (%d):' % (title, len(items))] + ['  ' + i for i in items]


def parse_text(text):
    """The text form read back, its layout checked: the summary line, and
    the sections in order as (title, count, heads or None, rows or lines)."""
    if not text.endswith('\n'):
        fail('text does not end with a newline')
    lines = text[:-1].split('\n')
    summary, sections, i = lines[0], [], 1
    for ln in lines:
        if ln != ln.rstrip():
            fail('trailing space: %r' % ln)
    while i < len(lines):
        m = re.fullmatch(r'(\w+) \((\d+)\):', lines[i + 1] if i + 1 < len(lines) else '')
        if lines[i] != '' or not m:
            fail('expected a blank line and "Title (N):" at line %d: %r' % (i + 1, lines[i:i + 2]))
        title, count = m.group(1), int(m.group(2))
        i += 2
        body = []
        while i < len(lines) and lines[i].startswith('  '):
            body.append(lines[i][2:])
            i += 1
        if title in LISTS:
            sections.append((title, count, None, body))
        else:
            sections.append((title, count) + parse_table(title, body))
        if len(sections[-1][3]) != count:
            fail('%s says %d, lists %d' % (title, count, len(sections[-1][3])))
    return summary, sections


def parse_table(title, body):
    """Cells by the heading row's columns; checks they line up and are tight."""
    if not body:
        fail('%s has no heading row' % title)
    heads = body[0].split()
    starts = [m.start() for m in re.finditer(r'\S+', body[0])]
    if starts[0] != 0 or ' '.join(heads) != re.sub(r' {2,}', ' ', body[0]):
        fail('%s heading row is not words two or more spaces apart: %r' % (title, body[0]))
    rows = []
    for ln in body[1:]:
        for s in starts[1:]:
            if ln[s - 2:s] != '  ' or ln[s:s + 1] in ('', ' '):
                fail('%s row not aligned with its headings:\n%s\n%s' % (title, body[0], ln))
        ends = [s - 2 for s in starts[1:]] + [len(ln)]
        cells = [ln[a:b].rstrip() for a, b in zip(starts, ends)]
        rows.append(cells)
    for j in range(len(starts) - 1):
        width = starts[j + 1] - 2 - starts[j]
        if max(len(c[j]) for c in [heads] + rows) != width:
            fail('%s column %s is not as wide as its widest cell' % (title, heads[j]))
    return heads, rows


def check_raw_text(summary, sections):
    """What the normalised text no longer shows: hex, counts, sealed order."""
    sec = {t: (h, rows) for t, _, h, rows in sections}
    m = SUMMARY.fullmatch(summary)
    if not m:
        fail('summary line not understood: %r' % summary)
    sealed = m['sealed'] == 'sealed'
    if int(m['entries']) != len(sec.get('Sites', (None, []))[1]):
        fail('summary site count does not match the Sites table: %r' % summary)
    if sealed and m['count'] != m['entries']:
        fail('sealed header count %s, %s sites' % (m['count'], m['entries']))
    key_addr = {}
    key_heads, key_rows = sec.get('Keys', ([], []))
    keys = [dict(zip(key_heads, r)) for r in key_rows]
    site_heads, site_rows = sec.get('Sites', ([], []))
    sites = [dict(zip(site_heads, r)) for r in site_rows]
    for k in keys:
        if not HEX.fullmatch(k['ADDRESS']):
            fail('key address %r is not hex' % k['ADDRESS'])
        key_addr[k['NAME']] = int(k['ADDRESS'], 16)
        n = sum(1 for s in sites if s['KEY'] == k['NAME'])
        if str(n) != k['SITES']:
            fail('key %s says %s sites, %d listed' % (k['NAME'], k['SITES'], n))
    order = []
    for s in sites:
        if not HEX.fullmatch(s['ADDRESS']) or not re.fullmatch(r'0x[0-9a-f]+ <.+>', s['TARGET']):
            fail('site address or target is not hex: %r' % s)
        if s['KEY'] not in key_addr:
            fail('site names unknown key %s' % s['KEY'])
        order.append((key_addr[s['KEY']], int(s['ADDRESS'], 16)))
    if sealed and order != sorted(order):
        fail('sealed table not listed in (key, address) order')


def norm_cell(s):
    s = re.sub(r'\.cold(\.\d+)?(?=\+|>|$)', '', s)
    s = re.sub(r'\+0x[0-9a-f]+', '+OFF', s)
    return HEX.sub('ADDR', s)


def norm_text(text):
    summary, sections = parse_text(text)
    check_raw_text(summary, sections)
    path = SUMMARY.fullmatch(summary)['file']
    out = [os.path.basename(path) + norm_cell(summary[len(path):])]
    # As in JSON: a key known only by its address is named by its initial state.
    key_token = {}
    for title, _, heads, rows in sections:
        if title == 'Keys':
            for r in rows:
                k = dict(zip(heads, r))
                if HEX.fullmatch(k['NAME']):
                    key_token[k['NAME']] = 'KEY-' + {'true': 'TRUE', 'false': 'FALSE'}.get(
                        k['INITIAL'], 'BAD')
    for title, _, heads, rows in sections:
        if heads is None:
            out += render_list(title, sorted(norm_cell(x) for x in rows))
            continue
        named = [[key_token.get(c, c) if h in ('NAME', 'KEY', 'CELL_OF') else c
                  for h, c in zip(heads, r)]
                 for r in rows]
        out += render_table(title, heads, sorted([norm_cell(c) for c in r] for r in named))
    return '\n'.join(out) + '\n'


def render_text(d):
    """The text form as it should be, from the JSON form; every field shown."""
    def words(v, yes, no, null='?'):
        return null if v is None else yes if v else no

    def known(what, obj, fields):
        extra = set(obj) - set(fields)
        if extra:
            fail('%s fields with no text form here: %s' % (what, sorted(extra)))

    def status(x):
        return words(x['ok'], 'ok', 'BAD') + (': ' + esc(x['error']) if 'error' in x else '')
    known('top-level', d, ('file', 'format', 'arch', 'sealed', 'count', 'entries',
                           'checksum_ok', 'ok', 'errors', 'keys', 'sites',
                           'function_entries'))
    out = ['%s: %s %s, %s, header count %d, %d sites, %s, %s' % (
        esc(d['file']), esc(d['format']), esc(d['arch']),
        words(d['sealed'], 'sealed', 'NOT sealed (run skeys-seal)'), d['count'], d['entries'],
        words(d['checksum_ok'], 'checksum ok', 'checksum BAD', 'no checksum'),
        words(d['ok'], 'verification ok', 'verification BAD'))]
    rows = []
    for k in d['keys']:
        known('key', k, ('name', 'address', 'initial', 'import', 'sites', 'cell_of',
                         'cell_sites', 'ok', 'error'))
        rows.append([esc(k['name']), k['address'], words(k['initial'], 'true', 'false'),
                     words(k['import'], 'yes', 'no'), str(k['sites']),
                     '-' if k['cell_of'] is None else esc(k['cell_of']), str(k['cell_sites']),
                     status(k)])
    out += render_table('Keys', ['NAME', 'ADDRESS', 'INITIAL', 'IMPORT', 'SITES', 'CELL_OF',
                                 'CELL_SITES', 'STATUS'], rows)
    rows = []
    for s in d['sites']:
        known('site', s, ('address', 'function', 'key', 'branch', 'instruction', 'length',
                          'target', 'target_function', 'ok', 'error'))
        rows.append([s['address'], esc(s['function']), esc(s['key']), s['branch'],
                     s['instruction'], str(s['length']),
                     '%s <%s>' % (s['target'], esc(s['target_function'])), status(s)])
    out += render_table('Sites', ['ADDRESS', 'FUNCTION', 'KEY', 'BRANCH', 'INSN', 'LEN',
                                  'TARGET', 'STATUS'], rows)
    rows = []
    for e in d.get('function_entries', []):
        known('function entry', e, ('function', 'address', 'nops', 'prefix', 'ok', 'error'))
        rows.append([esc(e['function']), e['address'], str(e['nops']), str(e['prefix']),
                     status(e)])
    out += render_table('Functions', ['FUNCTION', 'ADDRESS', 'NOPS', 'PREFIX', 'STATUS'], rows)
    out += render_list('Errors', [esc(e) for e in d['errors']])
    return '\n'.join(out) + '\n'


def agree(dump, binary):
    d = json.loads(run_dump(dump, binary, True))
    got = run_dump(dump, binary, False)
    parse_text(got)
    want = render_text(d)
    if got != want:
        sys.stdout.writelines(difflib.unified_diff(
            want.splitlines(True), got.splitlines(True), 'from --json', 'text'))
        fail('text does not show what JSON says')
    print('text and JSON agree on %d fields, %d keys, %d sites'
          % (len(d), len(d['keys']), len(d['sites'])))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dump', required=True)
    ap.add_argument('--mode', choices=('text', 'json', 'agree'), required=True)
    ap.add_argument('--golden')
    ap.add_argument('binary')
    a = ap.parse_args()
    if a.mode == 'agree':
        return agree(a.dump, a.binary)
    raw = run_dump(a.dump, a.binary, a.mode == 'json')
    if a.mode == 'json':
        d = json.loads(raw)
        if 'slices' in d:
            # A universal file: each slice as a thin file's object.
            for x in d['slices']:
                check_raw(x)
            got = json.dumps({'file': os.path.basename(d['file']), 'format': d['format'],
                              'slices': [json.loads(norm_json(x)) for x in d['slices']]},
                             indent=1, sort_keys=True) + '\n'
        else:
            check_raw(d)
            got = norm_json(d)
    else:
        got = norm_text(raw)
    if os.environ.get('SKEYS_GOLDEN_UPDATE') == '1':
        with open(a.golden, 'w') as f:
            f.write(got)
        print('updated ' + a.golden)
        return
    with open(a.golden) as f:
        want = f.read()
    if got != want:
        sys.stdout.writelines(difflib.unified_diff(
            want.splitlines(True), got.splitlines(True), a.golden, 'skeys-dump'))
        fail('output differs from ' + a.golden)
    print('matches ' + a.golden)


if __name__ == '__main__':
    main()
