#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Build the Darwin runtime's objects for one macOS target with -Werror, against
the declarations-only SDK stand-ins beside this script, and check that the
objects define the library's API. Not linked (no SDK), not run (no macOS).

  compile.py CLANG NM ARCH SOURCE_ROOT ARCH_LIST_DIR COMMON_SOURCE...
(common/'s sources and the directory of its generated arch-list.h, from meson)
Exit: 0 pass, 1 fail, 77 skip.
"""
import os
import subprocess
import sys
import tempfile

FLAGS = ['-std=c11', '-O2', '-Wall', '-Wextra', '-Wpedantic', '-Werror', '-Wshadow',
         '-Wstrict-prototypes', '-Wmissing-prototypes', '-Wformat=2',
         '-Wno-unused-parameter', '-fvisibility=hidden', '-ffreestanding', '-nostdlibinc']
RUNTIME = ['runtime/shared.c', 'runtime/arch/generic.c', 'runtime/registry.c', 'runtime/patch.c', 'runtime/call.c', 'runtime/entry.c', 'runtime/write.c', 'runtime/log.c',
           'runtime/arch/call_none.c', 'runtime/names.c', 'runtime/env.c', 'runtime/os/darwin.c', 'runtime/os/posix.c']
API = ['skeys_key_enable', 'skeys_key_disable', 'skeys_key_inc', 'skeys_key_dec',
       'skeys_key_enabled', 'skeys_strerror', 'skeys_set_log', 'skeys_set_write_method',
       'skeys_module_register', 'skeys_module_unregister', 'skeys_find', 'skeys_foreach',
       'skeys_check_sealed', 'skeys_call_set']
# The static-call slots runtime/meson.build picks for each macOS target
# (meson's cpu family), or call_none.c where there are none.
CALL_FAMILY = {'x86_64': 'x86_64', 'arm64': 'aarch64'}


def main():
    clang, nm, arch, root, arch_list_dir = sys.argv[1:6]
    slots = 'runtime/arch/call_%s.c' % CALL_FAMILY[arch]
    if not os.path.exists(os.path.join(root, slots)):
        slots = 'runtime/arch/call_none.c'
    sources = [os.path.join(root, s) for s in RUNTIME + [slots]] + sys.argv[6:]
    here = os.path.dirname(os.path.abspath(__file__))
    defined = set()
    with tempfile.TemporaryDirectory(prefix='skeys-darwin-') as tmp:
        for src in sources:
            obj = os.path.join(tmp, os.path.basename(src) + '.o')
            cmd = [clang, '-target', arch + '-apple-macos11'] + FLAGS + [
                '-isystem', os.path.join(here, 'include'), '-I', os.path.join(root, 'include'),
                '-I', os.path.join(root, 'common'), '-I', arch_list_dir, '-c', src, '-o', obj]
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode:
                print(' '.join(cmd) + '\n' + p.stderr)
                print('FAIL: %s does not compile for %s' % (src, arch))
                return 1
            out = subprocess.run([nm, '--defined-only', '--extern-only', obj],
                                 capture_output=True, text=True).stdout
            defined |= {ln.split()[-1] for ln in out.splitlines() if ln.strip()}
    missing = [f for f in API if '_' + f not in defined]
    if missing:
        print('FAIL: %s objects do not define %s' % (arch, missing))
        return 1
    print('%d objects built for %s-apple-macos11; the API is defined' % (len(sources), arch))
    return 0


if __name__ == '__main__':
    sys.exit(main())
