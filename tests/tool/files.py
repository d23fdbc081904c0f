#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""skeys-seal and skeys-dump with the files a root user or a packager has.

  files.py CASE SEAL DUMP FILE

FILE is an unsealed fixture (ELF but for sparse-copy). Cases:
  owner         as root: owner, group, setuid/setgid mode kept (not root:root 4750)
  xattrs        as root: a file capability (setcap) and user xattrs kept
  keep-refused  as root, then as nobody: what cannot be kept is refused, exit 2
  special-out   -o a device node, FIFO, dangling symlink, directory: exit 2, untouched;
                -o a symlink to a regular file writes the target, keeps the link
  fifo-in       a FIFO as input: exit 2 at once from all three commands
  hard-links    a file with several links is refused (exit 2), all names untouched
  debug-only    an objcopy --only-keep-debug file: exit 2 "a debug-only file"
  concurrent    six concurrent seals of one file: all exit 0, sealed once
  sparse        a binary padded to 4 GiB by truncate: the output keeps the holes
  sparse-copy   the same, 256 MiB, for PE and Mach-O files (sealed through a whole copy)

Exit 0 pass, 1 fail, 77 skip (with the reason).
"""
import os
import shutil
import stat
import subprocess
import sys

import negative as neg
from negative import Skip, expect, run_rc, snapshot, unchanged, no_temporaries

NOBODY = 65534  # nobody and nogroup on Debian


def need_root():
    if os.geteuid() != 0:
        raise Skip('needs root (owner, group, device nodes and capabilities)')


def names_file(err, path):
    expect(err.startswith(path + ': error: '), 'message does not name %s:\n%s' % (path, err))


def sealed_ok(path):
    run_rc(0, neg.SEAL, '--check', path)


def meta(path):
    st = os.stat(path)
    xattrs = {n: os.getxattr(path, n) for n in os.listxattr(path)}
    return st.st_uid, st.st_gid, '%04o' % stat.S_IMODE(st.st_mode), xattrs


def case_owner(src):
    need_root()
    for mode in (0o4750, 0o2755, 0o6711):
        f = neg.copy(src, 'prog')
        os.chown(f, NOBODY, NOBODY)
        os.chmod(f, mode)
        want = meta(f)
        run_rc(0, neg.SEAL, f, '-o', f + '.out')
        expect(meta(f + '.out') == want, '-o: %o nobody:nogroup became %s' % (mode, meta(f + '.out')))
        run_rc(0, neg.SEAL, f)
        expect(meta(f) == want, 'in place: %o nobody:nogroup became %s' % (mode, meta(f)))
        sealed_ok(f)
        os.unlink(f + '.out')
    no_temporaries(neg.TMP)


def case_xattrs(src):
    need_root()
    setcap, getcap = shutil.which('setcap'), shutil.which('getcap')
    if not setcap or not getcap:
        raise Skip('setcap/getcap not found (Debian: libcap2-bin)')
    f = neg.copy(src, 'prog')
    os.chown(f, NOBODY, NOBODY)
    os.chmod(f, 0o750)
    subprocess.run([setcap, 'cap_net_raw,cap_net_bind_service+ep', f], check=True)
    os.setxattr(f, 'user.origin', b'built here')
    os.setxattr(f, 'user.empty', b'')
    want = meta(f)
    caps = subprocess.run([getcap, f], capture_output=True, text=True).stdout.split()[1:]
    expect('security.capability' in want[3] and caps, 'setcap did not take: %s' % (want,))
    for args, dest in (([f, '-o', f + '.out'], f + '.out'), ([f], f)):
        run_rc(0, neg.SEAL, *args)
        got = meta(dest)
        expect(got == want, 'xattrs or owner not kept by seal %s:\nwant %s\ngot  %s'
               % (' '.join(args), want, got))
        now = subprocess.run([getcap, dest], capture_output=True, text=True).stdout.split()[1:]
        expect(now == caps, 'capabilities %s became %s' % (caps, now))
        sealed_ok(dest)
    no_temporaries(neg.TMP)


def as_nobody(*args):
    """Run args as nobody:nogroup, the tool (args[0]) from a copy in TMP: the
    build directory may be closed to nobody (a clone under /root)."""
    tool = os.path.join(neg.TMP, os.path.basename(args[0]))
    if not os.path.exists(tool):
        shutil.copy(args[0], tool)
        os.chmod(tool, 0o755)
    try:
        p = subprocess.run([tool] + [str(a) for a in args[1:]], capture_output=True,
                           user=NOBODY, group=NOBODY, extra_groups=[])
    except OSError as e:
        raise Skip('nobody cannot run %s: %s' % (tool, e))
    return p.returncode, p.stderr.decode(errors='replace')


def case_keep_refused(src):
    need_root()
    os.chmod(neg.TMP, 0o1777)
    f = neg.copy(src, 'roots')
    os.chmod(f, 0o755)
    snap = snapshot(f)
    # nobody may read root's file and create files here, but not give one to root.
    out = os.path.join(neg.TMP, 'out')
    rc, err = as_nobody(neg.SEAL, f, '-o', out)
    expect(rc == 2, 'nobody sealing root:root to -o: exit %d, expected 2\n%s' % (rc, err))
    names_file(err, out)
    expect('owner' in err, 'the refusal does not say what cannot be kept:\n' + err)
    expect(not os.path.exists(out), 'an output was written')
    unchanged(f, snap, 'a refused seal')
    # nobody's own file with its xattr and mode: kept, so sealed.
    g = neg.copy(src, 'nobodys')
    os.chown(g, NOBODY, NOBODY)
    os.chmod(g, 0o700)
    os.setxattr(g, 'user.note', b'kept')
    want = meta(g)
    rc, err = as_nobody(neg.SEAL, g)
    expect(rc == 0, 'nobody sealing its own file: exit %d\n%s' % (rc, err))
    expect(meta(g) == want, 'nobody\'s file: %s became %s' % (want, meta(g)))
    # A setgid file of a group nobody is not in: its group cannot be kept.
    h = neg.copy(src, 'setgid')
    os.chown(h, NOBODY, 0)
    os.chmod(h, 0o2755)
    snap = snapshot(h)
    rc, err = as_nobody(neg.SEAL, h)
    expect(rc == 2, 'nobody sealing a setgid root-group file: exit %d, expected 2\n%s'
           % (rc, err))
    names_file(err, h)
    unchanged(h, snap, 'a refused seal')
    expect(meta(h)[:3] == (NOBODY, 0, '2755'), 'owner, group or mode changed')
    no_temporaries(neg.TMP)


def kind(path):
    st = os.lstat(path)
    return stat.S_IFMT(st.st_mode), st.st_rdev, st.st_ino, st.st_mtime_ns


def case_special_out(src):
    f = neg.copy(src)
    snap = snapshot(f)
    nodes = {}
    fifo = os.path.join(neg.TMP, 'fifo')
    os.mkfifo(fifo)
    nodes['fifo'] = fifo
    if os.geteuid() == 0:
        null = os.path.join(neg.TMP, 'null')
        os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        nodes['device'] = null
    dangling = os.path.join(neg.TMP, 'dangling')
    os.symlink('no-such-file', dangling)
    nodes['dangling symlink'] = dangling
    to_fifo = os.path.join(neg.TMP, 'to-fifo')
    os.symlink('fifo', to_fifo)
    nodes['symlink to a FIFO'] = to_fifo
    d = os.path.join(neg.TMP, 'dir')
    os.mkdir(d)
    nodes['directory'] = d
    sealed = neg.copy(src, 'sealed')
    run_rc(0, neg.SEAL, sealed)
    for what, node in nodes.items():
        before = kind(node)
        # Unsealed input (sealed, then written) and sealed input (copied).
        for inp in (f, sealed):
            _, err = run_rc(2, neg.SEAL, inp, '-o', node)
            names_file(err, node)
            expect(kind(node) == before, '-o %s (%s) was replaced' % (node, what))
        expect(not os.path.exists(os.path.join(neg.TMP, 'no-such-file')),
               'the dangling link\'s target was created')
    unchanged(f, snap, 'a refused -o')
    # A symlink to a regular file: its target is written, the link stays.
    target = neg.copy(src, 'target')
    link = os.path.join(neg.TMP, 'link')
    os.symlink('target', link)
    run_rc(0, neg.SEAL, f, '-o', link)
    expect(os.path.islink(link) and os.readlink(link) == 'target', 'the link was replaced')
    sealed_ok(target)
    no_temporaries(neg.TMP)


def case_fifo_in(src):
    fifo = os.path.join(neg.TMP, 'fifo')
    os.mkfifo(fifo)
    for args in ([neg.SEAL, fifo], [neg.SEAL, '--check', fifo], [neg.DUMP, fifo],
                 [neg.DUMP, '--json', fifo]):
        try:
            p = subprocess.run(neg.WRAP + args, capture_output=True, timeout=60)
        except subprocess.TimeoutExpired:
            raise neg.Fail('%s hangs on a FIFO' % ' '.join(args))
        err = p.stderr.decode(errors='replace')
        expect(p.returncode == 2, '%s: exit %d, expected 2' % (' '.join(args), p.returncode))
        names_file(err, fifo)
        expect('not a regular file' in err, 'no "not a regular file":\n' + err)
    expect(stat.S_ISFIFO(os.lstat(fifo).st_mode), 'the FIFO was replaced')
    no_temporaries(neg.TMP)


def case_hard_links(src):
    f = neg.copy(src)
    other = os.path.join(neg.TMP, 'other-name')
    os.link(f, other)
    snap = snapshot(f)
    _, err = run_rc(2, neg.SEAL, f)
    names_file(err, f)
    expect('hard link' in err, 'the refusal does not say why:\n' + err)
    unchanged(f, snap, 'a refused seal')
    expect(os.path.samefile(f, other), 'the names no longer share the file')
    # OUT with several links is replaced by rename too: refused the same way.
    out = neg.copy(src, 'out')
    os.link(out, out + '.link')
    osnap = snapshot(out)
    _, err = run_rc(2, neg.SEAL, f, '-o', out)
    names_file(err, out)
    unchanged(out, osnap, 'a refused -o')
    expect(os.path.samefile(out, out + '.link'), 'the names of OUT no longer share the file')
    # Sealed before linking: nothing to write, so fine.
    os.unlink(other)
    run_rc(0, neg.SEAL, f)
    os.link(f, other)
    snap = snapshot(f)
    run_rc(0, neg.SEAL, f)
    unchanged(f, snap, 'sealing a sealed file with links')
    sealed_ok(other)
    no_temporaries(neg.TMP)


def case_debug_only(src):
    objcopy = shutil.which('objcopy')
    if not objcopy:
        raise Skip('objcopy not found')
    sealed = neg.copy(src, 'sealed')
    run_rc(0, neg.SEAL, sealed)
    for name, inp in (('unsealed.debug', src), ('sealed.debug', sealed)):
        dbg = os.path.join(neg.TMP, name)
        subprocess.run([objcopy, '--only-keep-debug', inp, dbg], check=True)
        snap = snapshot(dbg)
        for args in ([neg.SEAL, dbg], [neg.SEAL, '--check', dbg], [neg.DUMP, dbg],
                     [neg.DUMP, '--json', dbg]):
            _, err = run_rc(2, *args)
            names_file(err, dbg)
            expect('a debug-only file' in err and 'seal the stripped program instead' in err,
                   'no debug-only message from %s:\n%s' % (' '.join(args), err))
        unchanged(dbg, snap, 'a refused debug-only file')
    no_temporaries(neg.TMP)


def case_concurrent(src):
    for rnd in range(5):
        f = neg.copy(src, 'prog%d' % rnd)
        procs = [subprocess.Popen(neg.WRAP + [neg.SEAL, f], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for _ in range(6)]
        res = [(p.wait(), p.stderr.read().decode(errors='replace')) for p in procs]
        for p in procs:
            p.stdout.close()
            p.stderr.close()
        bad = [r for r in res if r[0] != 0]
        if bad:
            raise neg.Fail('round %d: %d of 6 concurrent seals failed: exit %d: %s'
                           % (rnd, len(bad), bad[0][0], bad[0][1]))
        sealed_ok(f)
    no_temporaries(neg.TMP)


def allocated(path):
    return os.stat(path).st_blocks * 512


def case_sparse(src, size=4 << 30):
    plain = neg.copy(src, 'plain')
    run_rc(0, neg.SEAL, plain)
    want = open(plain, 'rb').read()
    # Sealed PE and Mach-O files carry a checksum or hashes of the whole file.
    whole = want[:4] == b'\x7fELF'
    f = neg.copy(src, 'padded')
    os.truncate(f, size)
    if allocated(f) > 64 << 20:
        raise Skip('this filesystem does not keep holes (%d bytes allocated)' % allocated(f))
    limit = allocated(plain) + (1 << 20)
    for args, dest in (([f, '-o', f + '.out'], f + '.out'), ([f], f)):
        run_rc(0, neg.SEAL, *args)
        expect(os.path.getsize(dest) == size, 'size changed')
        expect(allocated(dest) <= limit, 'seal %s filled the holes: %d bytes allocated, '
               'the sealed file without padding has %d' % (' '.join(args), allocated(dest),
                                                           allocated(plain)))
        with open(dest, 'rb') as fh:
            expect(not whole or fh.read(len(want)) == want,
                   'the bytes differ from the sealed plain file')
            # Past the block holding their end, no data: only the hole.
            try:
                data = os.lseek(fh.fileno(), (len(want) + 65535) & ~65535, os.SEEK_DATA)
            except OSError:
                data = None
            expect(data is None, 'data after the binary at %s' % data)
        sealed_ok(dest)
    no_temporaries(neg.TMP)


def case_sparse_copy(src):
    """The same for the formats sealed through a whole copy (a PE file's
    checksum, a universal Mach-O file), on 256 MiB: their checksums and hashes
    read every byte."""
    case_sparse(src, 256 << 20)


def main():
    return neg.run_cases(globals(), sys.argv, __doc__, 'skeys-files-')


if __name__ == '__main__':
    sys.exit(main())
