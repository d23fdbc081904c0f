#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Environment control of the runtime, run from outside as users would.

  run-env.py env MODULES PLUGIN
      SKEYS_ENABLE / SKEYS_DISABLE switch keys as each module registers:
      `MODULES env` checks at the top of main() that they were; a name no
      module has is logged (SKEYS_LOG), and a name in both lists ends up
      disabled. Without SKEYS_LOG, nothing reaches stderr.
  run-env.py dump MODULES PLUGIN SKEYS_DUMP LIBCORE
      skeys-dump marks imported keys, lists keys without sites here and
      names array elements NAME[i] (MODULES may be stripped).
  run-env.py log-unsealed MODULES_UNSEALED PLUGIN
      SKEYS_LOG=1 reports the unsealed program, by its path, on stderr from
      its constructor (before main: the line comes before main's output),
      and skeys_check_sealed() fails and logs it; without SKEYS_LOG the
      runtime prints nothing.
"""
import os
import subprocess
import sys


def fail(msg):
    print('FAIL: ' + msg, file=sys.stderr)
    sys.exit(1)


def run(args, env):
    e = dict(os.environ)
    for k in ('SKEYS_ENABLE', 'SKEYS_DISABLE', 'SKEYS_LOG'):
        e.pop(k, None)
    e.update(env)
    p = subprocess.run(args, env=e, capture_output=True, text=True, timeout=60)
    print('$ %s %s -> %d' % (' '.join('%s=%s' % kv for kv in env.items()), ' '.join(args),
                             p.returncode))
    print(p.stdout + p.stderr, end='')
    return p


def env_case(modules, plugin):
    on = {'SKEYS_ENABLE': 'feature, main_arr[2],plugin_own,,nosuch',
          'SKEYS_DISABLE': 'fast,main_own'}
    p = run([modules, 'env', plugin], on)
    if p.returncode != 0:
        fail('keys not switched at registration')
    if p.stderr:
        fail('the runtime printed without SKEYS_LOG: %r' % p.stderr)
    p = run([modules, 'env', plugin], dict(on, SKEYS_LOG='info'))
    if p.returncode != 0:
        fail('keys not switched at registration (with SKEYS_LOG)')
    if 'SKEYS_ENABLE: no key named "nosuch"' not in p.stderr:
        fail('the unknown name is not logged')
    # Reported when the program registers: plugin_own too, whose plugin
    # comes later and is then logged as found.
    if p.stderr.count('no key named') != 2 or 'no key named "plugin_own"' not in p.stderr:
        fail('names reported unknown: want "nosuch" and "plugin_own"')
    if 'SKEYS_ENABLE: plugin_own enabled in ' not in p.stderr.split('no key named "nosuch"')[1]:
        fail('the plugin\'s key is not logged as enabled (info level) after it loaded')
    # Warnings only at the default level: the info lines are gone.
    p = run([modules, 'env', plugin], dict(on, SKEYS_LOG='1'))
    if 'enabled in' in p.stderr or 'no key named "nosuch"' not in p.stderr:
        fail('SKEYS_LOG=1 is not the warning level')
    # In both lists: disabled (SKEYS_DISABLE is applied second).
    p = run([modules, 'env', plugin], {'SKEYS_ENABLE': 'feature,main_arr[2],plugin_own',
                                       'SKEYS_DISABLE': 'fast,main_own,feature'})
    if p.returncode == 0 or 'core_feature() == 1' not in p.stderr:
        fail('a name in both lists was left enabled')


def log_unsealed(modules, plugin):
    path = modules
    p = run([modules, 'unsealed', plugin], {})
    if p.returncode != 0:
        fail('skeys_check_sealed() did not fail on the unsealed program')
    if p.stderr != 'main: start\n':
        fail('the runtime printed without SKEYS_LOG: %r' % p.stderr)
    p = run([modules, 'unsealed', plugin], {'SKEYS_LOG': '1'})
    if p.returncode != 0:
        fail('skeys_check_sealed() did not fail on the unsealed program')
    lines = p.stderr.splitlines()
    ctor = [ln for ln in lines if 'not sealed by skeys-seal' in ln]
    if not ctor or path not in ctor[0]:
        fail('no "not sealed" warning naming %s' % path)
    if not ctor[0].startswith('skeys: warning: '):
        fail('log line without its level: %r' % ctor[0])
    # Logged from the constructor: before main() said it started.
    if 'main: start' not in lines or lines.index(ctor[0]) > lines.index('main: start'):
        fail('the warning did not come before main()')
    if not any(path in ln and 'skeys: error: ' in ln and 'not sealed' in ln
               for ln in lines[lines.index('main: start') + 1:]):
        fail('skeys_check_sealed() did not log the module by its path')
    p = run([modules, 'unsealed', plugin], {'SKEYS_LOG': 'error'})
    if any('warning' in ln for ln in p.stderr.splitlines()) or 'error' not in p.stderr:
        fail('SKEYS_LOG=error prints warnings, or not the error')


def dump_case(dump, prog, plugin, core):
    """skeys-dump lists imports as imports, keys without sites, array elements."""
    import json

    def keys(path):
        p = subprocess.run([dump, '--json', path], capture_output=True, text=True)
        if p.returncode != 0:
            fail('skeys-dump %s: %d %s' % (path, p.returncode, p.stderr))
        return {k['name']: k for k in json.loads(p.stdout)['keys']}

    want = {
        prog: {'feature': (True, 1), 'main_own': (False, 0), 'main_arr[0]': (False, 0),
               'main_arr[1]': (False, 1), 'main_arr[2]': (False, 0)},
        core: {'feature': (False, 1), 'fast': (False, 1)},
        plugin: {'feature': (True, 2), 'fast': (True, 1), 'plugin_own': (False, 0)},
    }
    for path, ks in want.items():
        got = keys(path)
        print('%s: %s' % (path, sorted(got)))
        if sorted(got) != sorted(ks):
            fail('%s: keys %s, want %s' % (path, sorted(got), sorted(ks)))
        for name, (imp, sites) in ks.items():
            if got[name]['import'] is not imp or got[name]['sites'] != sites:
                fail('%s: %s is %r, want import %s with %d sites' % (path, name, got[name],
                                                                     imp, sites))


def main():
    mode, prog, plugin = sys.argv[1:4]
    if mode == 'dump':
        dump_case(sys.argv[4], prog, plugin, sys.argv[5])
    else:
        {'env': env_case, 'log-unsealed': log_unsealed}[mode](prog, plugin)
    print('OK')


if __name__ == '__main__':
    main()
