#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Prove a refactor of the tools changed nothing a user can see.

  tool-equivalence.py OLD_TOOL_DIR NEW_TOOL_DIR [INPUT...]

Runs the skeys-seal and skeys-dump of both directories on every input and
compares, command by command: exit status, stdout, stderr and the bytes of
any file written (the sealed output of -o and of an in-place seal). Each
tool runs on its own copy of the input, under the same name and in a
directory of the same name, so messages naming the file can be compared.

An INPUT is a file or a directory. Directories are walked: every file under
tests/hardening/corpus (the hostile corpus, whatever its magic) and, under
any other directory, every file that starts like an ELF, PE or Mach-O
image. With no INPUT: the corpus, the seeds, tests/tool/macho and the
built fixtures of build/tests.

Exit 0 when every command behaved identically, 1 otherwise (each difference
listed), 64 usage.
"""
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAGICS = (b'\x7fELF', b'MZ', b'\xcf\xfa\xed\xfe', b'\xce\xfa\xed\xfe',
          b'\xca\xfe\xba\xbe', b'\xca\xfe\xba\xbf')
TEXT = ('.json', '.list', '.md', '.py', '.txt', '.c', '.h', '.S')
MAX_SIZE = 64 << 20

COMMANDS = [
    ('dump', ['skeys-dump', '{f}']),
    ('dump-json', ['skeys-dump', '--json', '{f}']),
    ('check', ['skeys-seal', '--check', '{f}']),
    ('seal-o', ['skeys-seal', '{f}', '-o', 'out']),
    ('seal', ['skeys-seal', '{f}']),
]


def inputs(args):
    if not args:
        args = [os.path.join(TOP, p) for p in (
            'tests/hardening/corpus', 'tests/hardening', 'tests/tool/macho',
            'build/tests')]
    seen = set()
    for a in args:
        if os.path.isfile(a):
            paths = [a]
        else:
            paths = [os.path.join(d, f) for d, _, fs in os.walk(a) for f in fs]
        for p in sorted(paths):
            real = os.path.realpath(p)
            if real in seen or not os.path.isfile(real) or p.endswith(TEXT):
                continue
            if os.path.getsize(real) > MAX_SIZE:
                continue
            if '/corpus/' not in real:
                with open(real, 'rb') as f:
                    if not f.read(4).startswith(MAGICS):
                        continue
            seen.add(real)
            yield real


def run_one(tool_dir, work, src, cmd):
    """Run one command on a fresh copy; what a user could observe of it."""
    if os.path.exists(work):
        shutil.rmtree(work)
    os.makedirs(work)
    name = os.path.basename(src)
    shutil.copyfile(src, os.path.join(work, name))
    argv = [os.path.join(tool_dir, cmd[0])] + [a.format(f=name) for a in cmd[1:]]
    try:
        p = subprocess.run(argv, cwd=work, capture_output=True, timeout=120)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        rc, out, err = 'timeout', b'', b''
    files = {}
    for f in sorted(os.listdir(work)):
        with open(os.path.join(work, f), 'rb') as fh:
            files[f] = fh.read()
    return rc, out, err, files


def compare(old_dir, new_dir, src, tmp):
    diffs = []
    for label, cmd in COMMANDS:
        old = run_one(old_dir, os.path.join(tmp, 'old', 'w'), src, cmd)
        new = run_one(new_dir, os.path.join(tmp, 'new', 'w'), src, cmd)
        for what, a, b in zip(('exit status', 'stdout', 'stderr', 'files'), old, new):
            if a != b:
                diffs.append('%s: %s: %s differs' % (src, label, what))
                if what in ('stdout', 'stderr'):
                    diffs.append('  old: %r\n  new: %r' % (a[:300], b[:300]))
                elif what == 'exit status':
                    diffs.append('  old: %s  new: %s' % (a, b))
    return diffs


def main():
    if len(sys.argv) < 3 or sys.argv[1] in ('-h', '--help'):
        print(__doc__.strip(), file=sys.stderr)
        return 64
    old_dir, new_dir = (os.path.abspath(d) for d in sys.argv[1:3])
    for d in (old_dir, new_dir):
        for t in ('skeys-seal', 'skeys-dump'):
            if not os.access(os.path.join(d, t), os.X_OK):
                print('tool-equivalence: no %s in %s' % (t, d), file=sys.stderr)
                return 64
    files = list(inputs(sys.argv[3:]))
    diffs = []
    with tempfile.TemporaryDirectory(prefix='skeys-eq-') as tmp, \
            concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        jobs = [pool.submit(compare, old_dir, new_dir, f, os.path.join(tmp, str(i)))
                for i, f in enumerate(files)]
        for j in jobs:
            diffs += j.result()
    for d in diffs:
        print(d)
    print('%d files, %d commands each: %s' % (
        len(files), len(COMMANDS),
        'identical' if not diffs else '%d differences' % len(diffs)))
    return 1 if diffs else 0


if __name__ == '__main__':
    sys.exit(main())
