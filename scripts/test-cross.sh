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
set -eu
cd "$(dirname "$0")/.."
native=${BUILD:-build}
if [ ! -x "$native/tool/skeys-seal" ]; then
	echo "test-cross: build the native tree first (ninja -C $native)" >&2
	exit 2
fi
tools=$PWD/$native/tool
if [ $# -eq 0 ]; then
	set -- $(cd cross && ls *.txt | sed 's/\.txt$//')
fi
failed="" skipped=""
for arch in "$@"; do
	file=cross/$arch.txt
	cc=$(sed -n "s/^c = \[*'\([^']*\)'.*/\1/p" "$file")
	qemu=$(sed -n "s/^exe_wrapper = \['\([^']*\)'.*/\1/p" "$file")
	for prog in $cc $qemu; do
		if ! command -v "$prog" >/dev/null 2>&1; then
			echo "test-cross: $arch: SKIP, $prog is not installed"
			skipped="$skipped $arch"
			continue 2
		fi
	done
	dir=build-$arch
	printf '\n==> %s\n' "$arch"
	if [ -d "$dir/meson-private" ]; then
		meson setup --reconfigure "$dir" --cross-file "$file" -Dhost_tools="$tools" >/dev/null
	else
		meson setup "$dir" --cross-file "$file" -Dhost_tools="$tools" >/dev/null
	fi
	if ! { ninja -C "$dir" >/dev/null && meson test -C "$dir" --print-errorlogs --num-processes 2; }; then
		failed="$failed $arch"
	fi
done
echo
[ -z "$skipped" ] || echo "test-cross: skipped:$skipped"
if [ -n "$failed" ]; then
	echo "test-cross: FAILED:$failed"
	exit 1
fi
echo "test-cross: all architectures passed"
