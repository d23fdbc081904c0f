#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Does this machine run a cross build's programs itself, without the
cross file's emulator? An x86-64 Linux kernel runs i686 programs given
the i386 loader and libraries (libc6-i386, lib32stdc++6); there, threads
and /proc/self/mem writes work as on i686 hardware, which qemu-i386
cannot give (Debian 12's 7.2 never returns from pthread_create; qemu-user
does not see code written through /proc/self/mem).

  native.py --cc 'CC ARGS' --cxx 'CXX ARGS' --workdir DIR

Builds a C program that starts and joins a thread, and a C++ one that
uses libstdc++, runs them without any wrapper and, while they wait on
their input, checks from outside (/proc/PID/exe) that the kernel runs
the program itself rather than an emulator registered with binfmt_misc.
tests/meson.build asks this once, at configure time, for a cross file
whose skeys_native_first property is true; test cross@native asks again.
Prints `native` (exit 0), or `emulated: WHY` (exit 1).
"""
import argparse
import os
import select
import shlex
import subprocess
import sys

C_PROBE = r"""
#include <pthread.h>
#include <stdio.h>
static void *back(void *p) { return p; }
int main(void)
{
	pthread_t t;
	void *r = NULL;
	if (pthread_create(&t, NULL, back, &t) || pthread_join(t, &r) || r != &t)
		return 1;
	puts("ready");
	fflush(stdout);
	return getchar() == EOF ? 0 : 2;
}
"""

CXX_PROBE = r"""
#include <cstdio>
#include <string>
int main()
{
	std::string s("ready");
	std::puts(s.c_str());
	std::fflush(stdout);
	return std::getchar() == EOF ? 0 : 2;
}
"""

TIMEOUT = 20


class Emulated(Exception):
    pass


def build(cmd, src_text, name, workdir):
    src = os.path.join(workdir, name + (".cc" if name.endswith("xx") else ".c"))
    exe = os.path.join(workdir, name)
    with open(src, "w") as f:
        f.write(src_text)
    p = subprocess.run(shlex.split(cmd) + ["-pthread", src, "-o", exe],
                       capture_output=True, text=True, errors="replace")
    if p.returncode != 0:
        raise Emulated("%s does not build a probe: %s" % (cmd, p.stderr.strip()[:300]))
    return exe


def run(exe):
    """Run exe without a wrapper; raise Emulated unless the kernel runs it itself."""
    try:
        p = subprocess.Popen([exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    except OSError as e:  # ENOEXEC: no 32-bit support; ENOENT: no loader
        raise Emulated("%s: %s" % (os.path.basename(exe), e.strerror))
    try:
        ready, _, _ = select.select([p.stdout], [], [], TIMEOUT)
        line = p.stdout.readline() if ready else b""
        if line != b"ready\n":
            raise Emulated("%s: %s" % (os.path.basename(exe),
                           "no answer in %d s" % TIMEOUT if not ready
                           else "exit %s, %s" % (p.poll(), p.stderr.read().decode(errors="replace")
                                                 .strip()[:300])))
        # qemu registered with binfmt_misc would show as the process's exe.
        running = os.path.realpath("/proc/%d/exe" % p.pid)
        if running != os.path.realpath(exe):
            raise Emulated("%s runs as %s" % (os.path.basename(exe), running))
        p.stdin.close()
        if p.wait(TIMEOUT) != 0:
            raise Emulated("%s: exit %d" % (os.path.basename(exe), p.returncode))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cc", required=True)
    ap.add_argument("--cxx", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    try:
        run(build(args.cc, C_PROBE, "probe-c", args.workdir))
        run(build(args.cxx, CXX_PROBE, "probe-cxx", args.workdir))
    except Emulated as e:
        print("emulated: %s" % e)
        return 1
    print("native")
    return 0


if __name__ == "__main__":
    sys.exit(main())
