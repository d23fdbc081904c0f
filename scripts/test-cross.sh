#!/bin/sh
# The cross suites: for every architecture in cross/*.txt, a meson cross
# build of the runtime and the tests, run under qemu-user, with the native
# build's skeys-seal and skeys-dump (scripts/test.sh builds them first).
#
#   sh scripts/test-cross.sh                 # every architecture
#   sh scripts/test-cross.sh aarch64 s390x   # some
#
# An architecture whose cross compiler or qemu is missing is reported as
# skipped; CI installs them all (scripts/setup-deps.sh), so CI skips none.
# Every architecture runs even when an earlier one failed; exit 1 if any
# failed (scripts/lib.sh).
set -eu
cd "$(dirname "$0")/.."
. scripts/lib.sh
native=${BUILD:-build}
if [ ! -x "$native/tool/skeys-seal" ]; then
	echo "test-cross: build the native tree first (ninja -C $native)" >&2
	exit 2
fi
tools=$PWD/$native/tool
if [ $# -eq 0 ]; then
	set -- $(cd cross && ls *.txt | sed 's/\.txt$//')
fi

cross_arch() {
	configure "build-$1" --cross-file "cross/$1.txt" -Dhost_tools="$tools" >/dev/null &&
		ninja -C "build-$1" >/dev/null &&
		meson test -C "build-$1" --print-errorlogs --num-processes 2
}

for arch in "$@"; do
	file=cross/$arch.txt
	cc=$(sed -n "s/^c = \[*'\([^']*\)'.*/\1/p" "$file")
	qemu=$(sed -n "s/^exe_wrapper = \['\([^']*\)'.*/\1/p" "$file")
	missing=""
	for prog in $cc $qemu; do
		command -v "$prog" >/dev/null 2>&1 || missing=${missing:-$prog}
	done
	if [ -n "$missing" ]; then
		skip_target "$arch" "$missing is not installed"
		continue
	fi
	printf '\n==> %s\n' "$arch"
	run_target "$arch" cross_arch "$arch"
done
report architectures
