#!/usr/bin/env python3
"""Every test of this build is in the suite its name starts with, and every
suite is listed in tests/README.md.

usage: suites.py BUILD_DIR TESTS_README

A test named `name@subtest` (or just `name`) must be in suite `name`; it may
be in wider group suites too. Every suite a test of this build is in, own or
group, must appear in tests/README.md as `name` (in backquotes). The tests
come from meson's introspection of this build (meson-info/intro-tests.json),
so a cross or PE build checks its own tests.
"""

import json
import os
import re
import sys


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 64
    build, readme = sys.argv[1:]
    intro = os.path.join(build, 'meson-info', 'intro-tests.json')
    with open(intro, encoding='utf-8') as f:
        tests = json.load(f)
    with open(readme, encoding='utf-8') as f:
        listed = set(re.findall(r'`([a-z0-9-]+)(?:@[^`]*)?`', f.read()))
    errors = []
    suites = set()
    for t in tests:
        # meson spells a suite "project:suite" (subprojects' tests have theirs).
        own = {s.split(':', 1)[-1] for s in t['suite']}
        suites |= own
        prefix = t['name'].split('@', 1)[0]
        if prefix not in own:
            errors.append('%s: error: in suite%s %s, expected suite %s (its name\'s prefix)'
                          % (t['name'], 's' if len(own) > 1 else '',
                             ', '.join(sorted(own)) or '(none)', prefix))
    for s in sorted(suites - listed):
        errors.append('%s: error: suite %s is not listed in the tables (expected `%s`)'
                      % (readme, s, s))
    for e in errors:
        print(e)
    if errors:
        return 1
    print('%d tests in %d suites: every test in its name\'s suite, every suite listed'
          % (len(tests), len(suites)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
