#!/bin/sh
# Configures, builds and runs the whole test suite (what CI runs):
#   1. build/       every suite
#   2. build-<arch>/ every other architecture under qemu-user (test-cross.sh)
#   3. build-mingw/ PE/COFF: EXE + DLL under wine (test-pe.sh)
#   4. build-asan/  every suite under ASan + UBSan (meson test --setup=asan)
#   5. build/       every suite under valgrind (meson test --setup=valgrind)
#   6. build-fuzz/  each libFuzzer target, a fixed seed and about a minute
#                   of runs each (FUZZ_SECONDS=N: N seconds each instead)
# Every step runs even when an earlier one failed; the exit status is 1 if
# any failed (scripts/lib.sh, as test-cross.sh and test-pe.sh). A step whose
# tool is missing (valgrind, clang) is skipped with a message.
# SKEYS_TEST_STEPS="1 4" runs only those steps.
set -u
cd "$(dirname "$0")/.."
. scripts/lib.sh
steps=${SKEYS_TEST_STEPS:-1 2 3 4 5 6}
run_start=$(date +%s)

step() {
	n=$1
	what=$2
	shift 2
	case " $steps " in *" $n "*) ;; *) return 0 ;; esac
	printf '\n==> step %s: %s\n' "$n" "$what"
	start=$(date +%s)
	run_target "$n" "$@"
	printf '==> step %s: exit %s in %ss\n' "$n" "$target_rc" "$(($(date +%s) - start))"
}

plain() {
	configure build >/dev/null && ninja -C build &&
		meson test -C build --print-errorlogs --num-processes 2
}

asan() {
	configure build-asan -Db_sanitize=address,undefined -Db_lundef=false \
		-De2e_matrix=quick >/dev/null && ninja -C build-asan &&
		meson test -C build-asan --setup=asan --print-errorlogs --num-processes 2
}

valgrind_suite() {
	if ! command -v valgrind >/dev/null 2>&1; then
		echo "SKIP: valgrind not found"
		return 77
	fi
	configure build >/dev/null && ninja -C build &&
		meson test -C build --setup=valgrind --print-errorlogs --num-processes 2
}

step 1 "meson test" plain
step 2 "other architectures under qemu-user" sh scripts/test-cross.sh
step 3 "PE/COFF under wine" sh scripts/test-pe.sh
step 4 "meson test --setup=asan (ASan + UBSan)" asan
step 5 "meson test --setup=valgrind" valgrind_suite
step 6 "fuzzing, ${FUZZ_SECONDS:-a fixed number of runs, about 60}s a target" sh scripts/fuzz.sh

# A CI log may show only its end: name the failed tests of this run there.
if [ -n "$lib_failed" ]; then
	echo
	echo "==> failed tests of this run (the end of each one's output):"
	python3 scripts/failed-tests.py --since "$run_start" build*/meson-logs/testlog*.json
fi
report steps
