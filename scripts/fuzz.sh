#!/bin/sh
# Bounded fuzzing of every libFuzzer target in fuzz/ (what the test command
# runs), or a long run by hand:
#
#   sh scripts/fuzz.sh               # about a minute per target, reproducible
#   FUZZ_SECONDS=3600 sh scripts/fuzz.sh
#   FUZZ_TARGETS=fuzz-check FUZZ_SECONDS=0 sh scripts/fuzz.sh   # 0: until a crash
#
# Builds them in BUILD (default build-fuzz) with clang and -Dfuzz=true. Each
# target starts from the committed corpus (tests/hardening/corpus/*) plus
# what earlier runs found, kept in BUILD/fuzz-corpus/<target>; a crash is
# written to BUILD/fuzz-artifacts/<target>/ and fails the script. Turn every
# crash into a corpus file (docs/hardening.md). Exit 77 without clang.
# The corpus replay and every target run even when an earlier one failed;
# exit 1 if any failed (scripts/lib.sh).
set -eu
cd "$(dirname "$0")/.."
. scripts/lib.sh
build=${BUILD:-build-fuzz}
secs=${FUZZ_SECONDS:-}
targets=${FUZZ_TARGETS:-}

if ! command -v clang >/dev/null 2>&1; then
	echo "SKIP: clang not found (libFuzzer targets need it)"
	exit 77
fi
# b_lundef=false: the instrumented shared runtime leaves coverage symbols
# to the executable that loads it.
CC=clang CXX=clang++
export CC CXX
configure "$build" -Dfuzz=true -De2e_matrix=quick -Db_lundef=false >/dev/null
all=$(cd "$build" && meson introspect --targets |
	python3 -c 'import json,sys; print(" ".join(sorted(t["name"] for t in json.load(sys.stdin) if t["type"] == "executable" and t["name"].startswith("fuzz-"))))')
targets=${targets:-$all}
# Every target, also when only some are run: the replay below runs them all.
for t in $all; do
	ninja -C "$build" "fuzz/$t" >/dev/null
done

# Replay the committed corpus under ASan and UBSan first (suite fuzz).
replay() {
	meson test -C "$build" --no-rebuild --suite fuzz --print-errorlogs >/dev/null && return 0
	echo "FAIL: a committed corpus file crashes a fuzz target (see $build/meson-logs)"
	return 1
}
run_target replay replay
# One dictionary: every format's names and magics.
cat fuzz/*.dict >"$build/fuzz.dict"

# Good files too, so that mutations reach verification and sealing: the
# sealed seed, and the same with its seal undone.
mkdir -p "$build/fuzz-seeds"
cp tests/hardening/seed.elf "$build/fuzz-seeds/seed.elf"
python3 - "$build/fuzz-seeds" <<'PY'
import os, sys
sys.path.insert(0, 'tests/hardening')
from corpus_elf import Elf
e = Elf(open('tests/hardening/seed.elf', 'rb').read())
for f in ('flags', 'count', 'checksum'):
    e.hdr(f, 0)
open(os.path.join(sys.argv[1], 'seed-unsealed.elf'), 'wb').write(e.b)
PY

seeds="$build/fuzz-seeds"
for d in tests/hardening/corpus/*/; do
	seeds="$seeds $d"
done
fuzz_one() {
	t=$1
	work="$build/fuzz-corpus/$t"
	art="$build/fuzz-artifacts/$t"
	mkdir -p "$work" "$art"
	# By default a fixed seed and number of runs (about a minute each on the
	# CI machine): the test command explores the same inputs on every run,
	# so it passes or fails the same way. FUZZ_SECONDS fuzzes for that long.
	if [ -n "$secs" ]; then
		bound="-max_total_time=$secs"
	else
		case $t in
		# Measured on a fresh clone (2026-11-22, the PE and Mach-O
		# corpora among the seeds): check 6M in 67 s, elf 9M in 46 s,
		# macho 20M in 384 s, pe 20M in 144 s, tools 800k in 198 s.
		fuzz-check) runs=6000000 ;;
		fuzz-tools) runs=250000 ;;
		fuzz-elf) runs=9000000 ;;
		fuzz-macho) runs=3000000 ;;
		*) runs=8000000 ;;
		esac
		bound="-runs=$runs -seed=${FUZZ_SEED:-1}"
	fi
	echo "==> $t: $bound"
	# shellcheck disable=SC2086
	if ! "$build/fuzz/$t" $bound -timeout=10 -rss_limit_mb=2048 -close_fd_mask=2 \
		-dict="$build/fuzz.dict" -artifact_prefix="$art/" -print_final_stats=1 \
		"$work" $seeds >"$build/fuzz-$t.log" 2>&1; then
		tail -n 40 "$build/fuzz-$t.log"
		echo "FAIL: $t crashed; the input is in $art/"
		return 1
	fi
	grep -E '^Done|stat::number_of_executed_units|stat::new_units_added' "$build/fuzz-$t.log" | tr '\n' ' '
	echo
}
for t in $targets; do
	run_target "$t" fuzz_one "$t"
done
report targets
