#!/bin/sh
# PE/COFF end to end: the runtime cross-built for Windows x86-64 with
# mingw-w64 (meson cross file), its EXE + DLL tests (suites e2e-pe and
# modules-pe) run under wine with the skeys-seal and skeys-dump of the
# native build in build/. Run after scripts/test.sh has built build/
# (test.sh calls this).
set -eu
cd "$(dirname "$0")/.."
native_tools="$PWD/build/tool"
if [ -d build-mingw/meson-private ]; then
	meson setup --reconfigure build-mingw -Dhost_tools="$native_tools"
else
	meson setup build-mingw --cross-file scripts/cross/x86_64-w64-mingw32.ini \
		-Dhost_tools="$native_tools"
fi
ninja -C build-mingw
# One wine prefix under the build directory; the first start creates it.
meson test -C build-mingw --print-errorlogs --num-processes 2
