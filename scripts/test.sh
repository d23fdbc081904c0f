#!/bin/sh
# Configures, builds and runs the whole test suite (what CI runs): the
# native suites, then every other architecture under qemu-user
# (scripts/test-cross.sh).
set -eu
cd "$(dirname "$0")/.."
if [ -d build/meson-private ]; then
	meson setup --reconfigure build
else
	meson setup build
fi
ninja -C build
meson test -C build --print-errorlogs --num-processes 2
sh scripts/test-cross.sh
# PE/COFF: cross-built with mingw-w64, run under wine.
sh scripts/test-pe.sh
