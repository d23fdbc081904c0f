# SPDX-License-Identifier: MIT
"""What the timing-based skeys-seal tests (interrupt.py, changed.py) share."""
import subprocess
import time


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def reference(seal, big, ref):
    """Seal big into ref; the median wall time of five such runs, in seconds.

    The median: one run slowed by other load on the machine would spread the
    test's events mostly past the end of a run.
    """
    times = []
    for _ in range(5):
        t0 = time.monotonic()
        subprocess.run([seal, big, '-o', ref], check=True)
        times.append(time.monotonic() - t0)
    return sorted(times)[len(times) // 2]
