#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""One cell of the end-to-end matrix: build the test program (prog/) with a
given compiler, flags and link mode, seal it, check the table with skeys-dump,
and run it sealed (both write methods) and unsealed (toggles must be refused).

Compilers are driven directly, not through meson, so that every cell can use
a different one. Exit: 0 pass, 1 fail, 77 skip (a compiler or linker is not
installed), 2 usage.

  run-case.py --cc clang --lang c --cflags='-O2 -flto' --link shared \\
      --include include --libskeys build/runtime/libskeys.so.0.1.0 \\
      --seal build/tool/skeys-seal --dump build/tool/skeys-dump \\
      --workdir build/tests/e2e/cells/x
"""

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77
RUN_TIMEOUT = 30

# Sources of the executable; C++ cells compile the C ones as C++ too.
C_SOURCES = ["main.c", "other.c", "kernel.c", "check.c"]
CXX_SOURCES = ["cxx_a.cc", "cxx_b.cc"]
LIB_SOURCES = ["lib.c"]

# Keys the program defines (C names; C++ ones live in namespace e2e).
EXE_KEYS = {"e2e_kf": False, "e2e_kt": True, "e2e_kern_f": False, "e2e_kern_t": True}
CXX_KEYS = {"cxx_f": False, "cxx_t": True}
LIB_KEYS = {"e2e_lib_f": False, "e2e_lib_t": True}

# C++ functions emitted by both cxx_a.cc and cxx_b.cc (COMDAT), and the
# least number of kept copies of each (tmpl_site: <int> and <double>).
CXX_SHARED = {"inline_site": 1, "tmpl_site": 2, "member_site": 1}

DEAD = "e2e_dead_function"


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def log(msg):
    print(msg, flush=True)


def run(cmd, env=None, expect=0, what=None, timeout=RUN_TIMEOUT):
    """Run cmd; fail unless it exits with `expect`. Returns stdout."""
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failure(f"{what or cmd[0]}: timed out after {timeout} s: {shlex.join(cmd)}")
    dt = time.monotonic() - t0
    status = p.returncode
    ok = status == expect
    prefix = "" if ok else "FAILED "
    log(f"  {prefix}[{dt:5.2f}s rc={status}] {what + ': ' if what else ''}{shlex.join(cmd)}")
    if not ok:
        sys.stdout.write(p.stdout)
        sys.stdout.write(p.stderr)
        if status < 0:
            raise Failure(f"{what or cmd[0]}: killed by signal {-status}, expected exit {expect}")
        raise Failure(f"{what or cmd[0]}: exit {status}, expected {expect}")
    return p.stdout


def key_matches(name, want):
    """A key's name as skeys-dump prints it: C name, demangled or mangled C++."""
    return (name == want or name.endswith("::" + want)
            or re.search(rf"\d{re.escape(want)}E$", name) is not None)


def function_symbol(site):
    """'name+0x1c' -> 'name'; None when the tool had no symbol (an address)."""
    fn = site.get("function") or ""
    sym = fn.rsplit("+", 1)[0]
    return None if re.fullmatch(r"0x[0-9a-fA-F]+", sym) else sym


def dump(args, path, env):
    out = run([args.dump, "--json", path], env=env, what="skeys-dump --json")
    try:
        return json.loads(out)
    except json.JSONDecodeError as e:
        raise Failure(f"skeys-dump --json {path}: not JSON: {e}")


def defined_symbols(args, path):
    nm = shutil.which(args.nm)
    if nm is None:
        return None
    p = subprocess.run([nm, "--defined-only", path], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    return {line.split()[-1] for line in p.stdout.splitlines() if line.strip()}


def check_table(args, path, doc, want_keys, sealed):
    """Invariants of one binary's table, as skeys-dump reports it."""
    errors = []
    name = os.path.basename(path)
    if doc.get("format") != "elf":
        errors.append(f"format is {doc.get('format')!r}, expected 'elf'")
    if doc.get("sealed") is not sealed:
        errors.append(f"sealed is {doc.get('sealed')!r}, expected {sealed}")
    keys = doc.get("keys") or []
    sites = doc.get("sites") or []
    initial = {k["name"]: k.get("initial") for k in keys}

    seen = {}
    per_key = {}
    for s in sites:
        where = f"site {s.get('address')} ({s.get('function')})"
        if s.get("ok") is not True:
            errors.append(f"{where}: ok is {s.get('ok')!r}")
        if s.get("address") in seen:
            errors.append(f"{where}: two entries for one site")
        seen[s.get("address")] = s
        k = s.get("key")
        per_key[k] = per_key.get(k, 0) + 1
        if k not in initial:
            errors.append(f"{where}: key {k!r} is not in 'keys'")
            continue
        likely = s.get("branch") == "likely"
        if s.get("branch") not in ("likely", "unlikely"):
            errors.append(f"{where}: branch {s.get('branch')!r}")
        want = "jmp" if bool(initial[k]) != likely else "nop"
        if s.get("instruction") != want:
            errors.append(f"{where}: {s.get('branch')} site of a "
                          f"{'TRUE' if initial[k] else 'FALSE'} key is "
                          f"{s.get('instruction')!r}, expected {want!r}")
    # <skeys/kernel.h> sites in position-independent code name a cell (one
    # per translation unit and key), listed as a key "cell(K)": several keys
    # of one name, whose sites add up.
    listed = {}
    for k in keys:
        # Every key comes from SKEYS_DEFINE_* or SKEYS_IMPORT_*, whose names
        # table entry survives --gc-sections, LTO and C++ COMDAT folding.
        if re.fullmatch(r"0x[0-9a-f]+", k["name"]):
            errors.append(f"key at {k['name']} has no name (names table)")
        listed[k["name"]] = listed.get(k["name"], 0) + (k.get("sites") or 0)
    for key, n in listed.items():
        if n != per_key.get(key, 0):
            errors.append(f"key {key}: 'sites' says {n}, "
                          f"the table has {per_key.get(key, 0)}")
    for want, init in want_keys.items():
        match = [k for k in keys if key_matches(k["name"], want)]
        if len(match) != 1:
            errors.append(f"key {want}: found {len(match)} times in {sorted(initial)}")
            continue
        if match[0].get("initial") is not init:
            errors.append(f"key {want}: initial {match[0].get('initial')!r}, expected {init}")
        if per_key.get(match[0]["name"], 0) + per_key.get(f"cell({match[0]['name']})", 0) < 1:
            errors.append(f"key {want}: no site")
    if errors:
        raise Failure(f"{name}: table check:\n    " + "\n    ".join(errors))
    log(f"  table {name}: {len(keys)} keys, {len(sites)} sites, all ok")
    return sites


def check_cxx_copies(sites):
    """Inline functions and templates of two TUs: one entry per kept copy."""
    errors = []
    for fn, least in CXX_SHARED.items():
        groups = {}
        for s in sites:
            sym = function_symbol(s)
            if sym is not None and fn in sym:
                groups.setdefault(sym, []).append(s["address"])
        bad = [f"{sym}: {len(addrs)} entries ({', '.join(addrs)}), expected 1"
               for sym, addrs in groups.items() if len(addrs) != 1]
        if len(groups) < least:
            bad.append(f"{fn}: {len(groups)} copies with a site, expected at least {least}")
        log(f"  c++ {fn}: {len(groups)} kept copies, "
            f"{'one entry each' if not bad else 'WRONG: ' + str(groups)}")
        errors += bad
    if errors:
        raise Failure("C++ COMDAT copies:\n    " + "\n    ".join(errors))


def check_dead(args, path, sites, lto):
    """--gc-sections: the never-called function and its entry go together."""
    entries = [s for s in sites if (function_symbol(s) or "").startswith(DEAD)]
    syms = defined_symbols(args, path)
    present = None if syms is None else any(s.startswith(DEAD) for s in syms)
    state = f"function {'?' if present is None else 'present' if present else 'gone'}, " \
            f"{len(entries)} entries"
    if args.gc == "start-stop":
        ok = not entries and not present
        want = "function and entry gone"
    elif args.gc == "plain" or lto:
        # Plain --gc-sections may keep every __skeys entry alive, and with
        # them the dead function: either way the two must agree.
        ok = present is None or bool(entries) == present
        want = "function and entry both kept or both gone"
    else:
        ok = len(entries) == 1 and present is not False
        want = "function and its one entry kept (no --gc-sections)"
    log(f"  dead function: {state} ({'as expected' if ok else 'expected ' + want})")
    if not ok:
        raise Failure(f"{os.path.basename(path)}: {DEAD}: {state}; expected {want}")


def strace_usable(work):
    strace = shutil.which("strace")
    if strace is None:
        return None
    p = subprocess.run([strace, "-qq", "-o", os.path.join(work, "strace-probe.txt"), "true"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return strace if p.returncode == 0 else None


def check_methods(trace, first):
    """The program runs its checks twice: first with the SKEYS_WRITE method,
    then, after a marker line on stdout, with the other one set through
    skeys_set_write_method(). Each phase must have used its method only."""
    with open(trace) as f:
        lines = f.read().splitlines()
    split = next((i for i, l in enumerate(lines)
                  if re.search(r"\bwrite\(1<[^>]*>, \".*SKEYS_WRITE=", l)), None)
    if split is None:
        raise Failure(f"{trace}: no write of the method-switch marker")
    second = "mprotect" if first == "procmem" else "procmem"
    errors = []
    for method, phase in ((first, lines[:split]), (second, lines[split + 1:])):
        procmem = sum(1 for l in phase if re.match(r"\d+\s+pwrite64\(\d+</proc/[^>]*/mem>", l))
        mprotect = sum(1 for l in phase
                       if re.match(r"\d+\s+mprotect\(.*PROT_WRITE", l))
        log(f"  {method} phase: {procmem} pwrite64 to /proc/self/mem, "
            f"{mprotect} mprotect(PROT_WRITE)")
        if method == "procmem" and (procmem == 0 or mprotect != 0):
            errors.append(f"{method} phase: expected /proc/self/mem writes only")
        if method == "mprotect" and (mprotect == 0 or procmem != 0):
            errors.append(f"{method} phase: expected mprotect only")
    if errors:
        raise Failure(f"write method not honoured ({trace}): " + "; ".join(errors))


def compile_flags(args):
    std = ["-std=c++17"] if args.lang == "c++" else ["-std=c11"]
    flags = std + ["-Wall", "-Wextra", "-Werror"] + shlex.split(args.cflags)
    flags += ["-I", args.include, "-I", os.path.join(HERE, "prog")]
    if args.gc != "none":
        flags += ["-ffunction-sections", "-fdata-sections", "-Wl,--gc-sections"]
        if args.gc == "start-stop":
            flags += ["-Wl,-z,start-stop-gc"]
    if args.ld == "lld":
        flags += ["-fuse-ld=lld"]
    return flags


def sources(args, names):
    paths = [os.path.join(HERE, "prog", n) for n in names]
    if args.lang == "c++":
        return ["-x", "c++"] + paths + ["-x", "none"]
    return paths


def libskeys_args(args):
    lib = os.path.abspath(args.libskeys)
    if lib.endswith(".a"):
        return [lib, "-pthread", "-ldl"]
    return [lib, "-Wl,-rpath," + os.path.dirname(lib)]


def build(args, cc, udir):
    """cc: the compiler command as a list (a cross clang carries --target)."""
    flags = compile_flags(args)
    defines = []
    if args.lang == "c++":
        defines.append("-DE2E_CXX=1")
    exe_src = C_SOURCES + (CXX_SOURCES if args.lang == "c++" else [])
    exe_link = []
    if args.link == "nopie":
        exe_flags = ["-fno-pie", "-no-pie"]
    else:
        exe_flags = ["-fPIE", "-pie"]
    if args.link == "shared":
        lib = os.path.join(udir, "libe2e.so")
        run(cc + flags + ["-fPIC", "-shared", "-Wl,-soname,libe2e.so", "-Wl,--no-undefined"]
            + sources(args, LIB_SOURCES) + ["-o", lib] + libskeys_args(args),
            what="compile+link libe2e.so")
        defines.append("-DE2E_LIB=1")
        exe_link = [lib, "-Wl,-rpath,$ORIGIN"]
    exe = os.path.join(udir, "e2e")
    run(cc + flags + exe_flags + defines + sources(args, exe_src) + ["-o", exe]
        + exe_link + libskeys_args(args), what="compile+link e2e")
    return ["e2e", "libe2e.so"] if args.link == "shared" else ["e2e"]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cc", required=True,
                    help="compiler command, one shell word list (gcc, clang --target=...)")
    ap.add_argument("--lang", choices=["c", "c++"], required=True)
    ap.add_argument("--cflags", default="-O2", help="optimisation and extra flags, one string")
    ap.add_argument("--link", choices=["pie", "nopie", "shared"], default="pie",
                    help="shared: sites in a -fPIC .so too, executable PIE")
    ap.add_argument("--gc", choices=["none", "start-stop", "plain"], default="none",
                    help="-ffunction-sections -Wl,--gc-sections, with -z start-stop-gc or not")
    ap.add_argument("--ld", choices=["default", "lld"], default="default")
    ap.add_argument("--include", required=True, help="skeys' include directory")
    ap.add_argument("--libskeys", required=True, help="libskeys.so* or libskeys.a")
    ap.add_argument("--seal", required=True, help="skeys-seal")
    ap.add_argument("--dump", required=True, help="skeys-dump")
    ap.add_argument("--workdir", required=True, help="scratch directory (wiped)")
    ap.add_argument("--wrapper", default="",
                    help="runs the target's programs (qemu-user), one shell word list; "
                         "then only the mprotect write method is run")
    ap.add_argument("--nm", default="nm", help="nm that reads the target's files")
    ap.add_argument("--dev-sort", action="store_true",
                    help="runtime built with dev_sort: unsealed tables work")
    args = ap.parse_args()
    for a in ("include", "libskeys", "seal", "dump", "workdir"):
        setattr(args, a, os.path.abspath(getattr(args, a)))

    t0 = time.monotonic()
    try:
        cc = shlex.split(args.cc)
        if shutil.which(cc[0]) is None:
            raise Skip(f"compiler {cc[0]} is not installed")
        cc[0] = shutil.which(cc[0])
        if args.ld == "lld" and shutil.which("ld.lld") is None:
            raise Skip("ld.lld is not installed")
        wrapper = shlex.split(args.wrapper)
        if wrapper and shutil.which(wrapper[0]) is None:
            raise Skip(f"{wrapper[0]} is not installed (it runs the target's programs)")
        run_case(args, cc)
    except Skip as e:
        log(f"SKIP: {e}")
        return SKIP
    except Failure as e:
        log(f"FAIL: {e}")
        return 1
    log(f"PASS ({time.monotonic() - t0:.2f}s)")
    return 0


def run_case(args, cc):
    work = os.path.abspath(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    udir, sdir, mdir = (os.path.join(work, d) for d in ("unsealed", "sealed", "mixed"))
    for d in (udir, sdir, mdir):
        os.makedirs(d)

    files = build(args, cc, udir)
    env = dict(os.environ)
    env.pop("SKEYS_WRITE", None)
    lto = "-flto" in shlex.split(args.cflags)

    for f in files:
        u, s = os.path.join(udir, f), os.path.join(sdir, f)
        want_keys = dict(LIB_KEYS) if f == "libe2e.so" else dict(EXE_KEYS)
        if f == "e2e" and args.lang == "c++":
            want_keys.update(CXX_KEYS)
        check_table(args, u, dump(args, u, env), want_keys, sealed=False)
        run([args.seal, u, "-o", s], env=env, what="skeys-seal")
        if not os.access(s, os.X_OK):
            raise Failure(f"skeys-seal -o {s}: output is not executable")
        run([args.seal, "--check", s], env=env, what="skeys-seal --check")
        sites = check_table(args, s, dump(args, s, env), want_keys, sealed=True)
        if f == "e2e" and args.lang == "c++":
            check_cxx_copies(sites)
        if f == "e2e":
            check_dead(args, s, sites, lto)
    # Sealed executable beside the unsealed library.
    if "libe2e.so" in files:
        shutil.copy2(os.path.join(sdir, "e2e"), mdir)
        shutil.copy2(os.path.join(udir, "libe2e.so"), mdir)

    wrapper = shlex.split(args.wrapper)
    if wrapper:
        run_emulated(args, wrapper, files, sdir, udir, mdir, env)
        return
    strace = strace_usable(work)
    for method in ("procmem", "mprotect"):
        menv = dict(env, SKEYS_WRITE=method)
        what = f"run sealed, SKEYS_WRITE={method}"
        if strace is None:
            run([os.path.join(sdir, "e2e")], env=menv, what=what)
            continue
        trace = os.path.join(work, f"strace-{method}.txt")
        run([strace, "-f", "-qq", "-y", "-s", "512", "-e", "trace=pwrite64,mprotect,write",
             "-o", trace, os.path.join(sdir, "e2e")], env=menv, what=what + ", under strace")
        check_methods(trace, method)
    if strace is None:
        log("  (strace not usable: which write method ran was not checked)")
    refusal = [] if args.dev_sort else ["--unsealed"]
    run([os.path.join(udir, "e2e")] + refusal, env=env,
        what="run unsealed" + (" (dev_sort: toggles work)" if args.dev_sort else
                               ", toggles refused"))
    if "libe2e.so" in files:
        refusal = [] if args.dev_sort else ["--unsealed-lib"]
        run([os.path.join(mdir, "e2e")] + refusal, env=env,
            what="run sealed executable with unsealed library")


def run_emulated(args, wrapper, files, sdir, udir, mdir, env):
    """Under qemu-user: /proc/self/mem writes change the bytes, but qemu keeps
    running the code it translated before, so only the mprotect method is
    meaningful there (and strace would trace qemu, not the program)."""
    log("  (emulated: SKEYS_WRITE=mprotect only; /proc/self/mem writes are "
        "invisible to qemu's translated code)")
    menv = dict(env, SKEYS_WRITE="mprotect")
    one = ["--one-method"]
    run(wrapper + [os.path.join(sdir, "e2e")] + one, env=menv,
        what="run sealed, SKEYS_WRITE=mprotect", timeout=RUN_TIMEOUT * 4)
    refusal = [] if args.dev_sort else ["--unsealed"]
    run(wrapper + [os.path.join(udir, "e2e")] + refusal + one, env=menv,
        what="run unsealed" + (" (dev_sort: toggles work)" if args.dev_sort else
                               ", toggles refused"), timeout=RUN_TIMEOUT * 4)
    if "libe2e.so" in files:
        refusal = [] if args.dev_sort else ["--unsealed-lib"]
        run(wrapper + [os.path.join(mdir, "e2e")] + refusal + one, env=menv,
            what="run sealed executable with unsealed library", timeout=RUN_TIMEOUT * 4)


if __name__ == "__main__":
    sys.exit(main())
