#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run skeys-seal and skeys-dump on hostile inputs of the corpus.

  run_corpus.py list DIR                 names of the cases in DIR (for meson)
  run_corpus.py run SEAL DUMP DIR NAME   one case; exit 0 pass, 1 fail

DIR holds the files and a cases.json (see gen_corpus.py); NAME may be
found/<name> for a file of DIR/found. Each tool invocation must exit with the
case's status (never by a signal, never after the time limit), print
"FILE: error: " and a message matching the case's pattern, leave the input
byte-for-byte and mtime unchanged, and create neither an output nor a
temporary file. SKEYS_TOOL_WRAPPER (e.g. "valgrind -q --error-exitcode=99")
prefixes one of the five tool commands of each case, a different one from
case to case (chosen by the case's name), the others running bare: every
file and every command still runs under the wrapper somewhere in the corpus,
and the valgrind setup runs 199 files in about a minute instead of five.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import zlib

TIME_LIMIT = 60


class Fail(Exception):
    pass


def load(directory, sub=''):
    path = os.path.join(directory, sub, 'cases.json')
    if not os.path.exists(path):
        return []
    with open(path) as f:
        cases = json.load(f)['cases']
    for c in cases:
        c['file'] = os.path.join(directory, sub, c['name'])
        c['id'] = os.path.join(sub, c['name']) if sub else c['name']
    return cases


def all_cases(directory):
    return load(directory) + load(directory, 'found')


def snapshot(path):
    with open(path, 'rb') as f:
        return f.read(), os.stat(path).st_mtime_ns


def run_case(seal, dump, case, tmp):
    wrap = shlex.split(os.environ.get('SKEYS_TOOL_WRAPPER', ''))
    f = os.path.join(tmp, 'input')
    shutil.copyfile(case['file'], f)
    os.utime(f, ns=(10**18, 10**18))
    snap = snapshot(f)
    out = os.path.join(tmp, 'out')
    invocations = [[seal, f], [seal, '--check', f], [seal, f, '-o', out],
                   [dump, f], [dump, '--json', f]]
    wrapped = zlib.crc32(case['id'].encode()) % len(invocations)
    for i, args in enumerate(invocations):
        cmd = ' '.join(os.path.basename(a) if a in (seal, dump) else a for a in args)
        try:
            p = subprocess.run((wrap if i == wrapped else []) + args, capture_output=True,
                               timeout=TIME_LIMIT)
        except subprocess.TimeoutExpired:
            raise Fail('%s: still running after %d s' % (cmd, TIME_LIMIT))
        err = p.stderr.decode(errors='replace')
        if p.returncode < 0:
            raise Fail('%s: killed by signal %d\n%s' % (cmd, -p.returncode, err[-3000:]))
        if p.returncode != case['exit']:
            raise Fail('%s: exit %d, expected %d\n%s' % (cmd, p.returncode, case['exit'],
                                                        err[-3000:]))
        # skeys-dump reports a table that fails verification in its output.
        said = p.stdout.decode(errors='replace') if (
            args[0] == dump and p.returncode == 1) else err
        # "FILE: error: ...", or "FILE: func+0x1c (0x401136): error: ..." for a
        # site; FILE[arch] for a slice of a universal file.
        if said is err and not re.match(re.escape(f) + r'(\[[\w-]+\])?: (\S+ \(0x[0-9a-f]+\): |0x[0-9a-f]+: )?error: ', err):
            raise Fail('%s: message does not start with "%s[[arch]]: [site: ]error: "\n%s' % (cmd, f, err))
        if not re.search(case['message'], said):
            raise Fail('%s: message does not match %r\n%s' % (cmd, case['message'], said))
        if args[1] == '--json' and p.returncode == 1:
            try:
                json.loads(p.stdout)
            except ValueError as e:
                raise Fail('%s: output is not JSON: %s' % (cmd, e))
        if snapshot(f) != snap:
            raise Fail('%s: modified its input' % cmd)
        left = sorted(set(os.listdir(tmp)) - {'input'})
        if left:
            raise Fail('%s: left files behind: %s' % (cmd, left))
        print('ok  %-28s exit %d  %s%s' % (cmd.replace(f, 'FILE'), p.returncode,
                                           re.search(case['message'], said).group(0),
                                           '  (wrapped)' if wrap and i == wrapped else ''))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == 'list':
        print('\n'.join(c['id'] for c in all_cases(sys.argv[2])))
        return 0
    if len(sys.argv) != 6 or sys.argv[1] != 'run':
        print(__doc__, file=sys.stderr)
        return 64
    seal, dump, directory, name = (os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3]),
                                   sys.argv[4], sys.argv[5])
    cases = [c for c in all_cases(directory) if c['id'] == name]
    if not cases:
        print('no case %s in %s' % (name, directory), file=sys.stderr)
        return 64
    print('%s: %s' % (name, cases[0]['what']))
    with tempfile.TemporaryDirectory(prefix='skeys-corpus-') as tmp:
        try:
            run_case(seal, dump, cases[0], tmp)
        except Fail as e:
            print('FAIL: %s' % e, file=sys.stderr)
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
