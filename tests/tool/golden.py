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
raw output first: hex syntax, per-key site counts, the sealed sort order.
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
    p = subprocess.run(args, capture_output=True, text=True)
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
    keys = [dict(k, address='ADDR', name=key_token.get(k['name'], k['name']))
            for k in d['keys']]
    sites = []
    for s in d['sites']:
        s = dict(s, address='ADDR', target='ADDR',
                 key=key_token.get(s['key'], norm_name(s['key'])))
        for f in ('function', 'target_function'):
            s[f] = norm_name(s[f])
        sites.append(s)
    # Whole-record order: records that tie are identical, so layout cannot show.
    d['keys'] = sorted(keys, key=lambda k: json.dumps(k, sort_keys=True))
    d['sites'] = sorted(sites, key=lambda s: (s['function'], s['key'], s['branch'],
                                              json.dumps(s, sort_keys=True)))
    return json.dumps(d, indent=1, sort_keys=True) + '\n'


def norm_text(text):
    out, block = [], []

    def flush():
        out.extend(sorted(block))
        block.clear()
    for line in text.splitlines():
        m = re.match(r'(file:\s+)(.*)', line)
        if m:
            line = m.group(1) + os.path.basename(m.group(2))
        line = re.sub(r'\.cold(\.\d+)?(?=\+)', '', line)
        line = re.sub(r'\+0x[0-9a-f]+', '+OFF', line)
        line = HEX.sub('ADDR', line)
        if line.startswith('  '):
            block.append(line)
        else:
            flush()
            out.append(line)
    flush()
    return '\n'.join(out) + '\n'


def parse_text(text):
    """The text form read back: top-level fields, arrays of dicts or strings."""
    top, cur = {}, None
    for line in text.splitlines():
        m = re.fullmatch(r'(\w+) \((\d+)\):', line)
        if m:
            cur = top[m.group(1)] = []
            continue
        if line.startswith('  '):
            words = shlex.split(line.strip())
            if all('=' in w for w in words):
                cur.append(dict(w.split('=', 1) for w in words))
            else:
                cur.append(line.strip())
            continue
        key, _, value = line.partition(':')
        top[key] = value.strip()
        cur = None
    return top


TEXT_BOOL = {'sealed': ('yes', 'no'), 'initial': ('true', 'false')}


def as_text(field, v):
    if v is None:
        return '?'
    if isinstance(v, bool):
        words = TEXT_BOOL.get(field, ('ok', 'BAD'))
        return words[0] if v else words[1]
    return str(v)


def agree(dump, binary):
    d = json.loads(run_dump(dump, binary, True))
    t = parse_text(run_dump(dump, binary, False))
    for field, v in d.items():
        if isinstance(v, list):
            if len(t.get(field, [])) != len(v):
                fail('%s: %d in JSON, %d in text' % (field, len(v), len(t.get(field, []))))
            for jv, tv in zip(v, t[field]):
                if isinstance(jv, dict):
                    want = {k: as_text(k, x) for k, x in jv.items()}
                else:
                    want = jv
                if want != tv:
                    fail('%s element differs:\n json %r\n text %r' % (field, want, tv))
        elif as_text(field, v) != t.get(field):
            fail('%s: JSON %r, text %r' % (field, as_text(field, v), t.get(field)))
    print('text and JSON agree on %d fields' % len(d))


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
