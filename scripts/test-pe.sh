#!/bin/sh
# PE/COFF end to end: the runtime cross-built for Windows x86-64 and i686
# with mingw-w64 (meson cross files), its EXE + DLL tests (suites e2e-pe,
# modules-pe, threads-pe) run under wine (wine64, and wine32 for i686) with
# the skeys-seal and skeys-dump of the native build in build/. Run after
# scripts/test.sh has built build/ (test.sh calls this). A target whose
# compiler or wine half is missing is reported as skipped; CI installs them
# all (scripts/setup-deps.sh).
set -eu
cd "$(dirname "$0")/.."
native_tools="$PWD/build/tool"
skipped=""
# target:build directory:the wine loader it needs (Debian's paths)
for target in x86_64:build-mingw:/usr/lib/wine/wine64 i686:build-mingw32:/usr/lib/wine/wine; do
	arch=${target%%:*}
	rest=${target#*:}
	dir=${rest%%:*}
	loader=${rest#*:}
	case $arch in
	i686) package=wine32:i386 ;;
	*) package=wine64 ;;
	esac
	why=""
	if ! command -v "$arch-w64-mingw32-gcc" >/dev/null 2>&1; then
		why="$arch-w64-mingw32-gcc is not installed"
	elif [ ! -x "$loader" ]; then
		why="$loader is not installed ($package; scripts/setup-deps.sh installs it or prints why it could not)"
	fi
	if [ -n "$why" ]; then
		echo "test-pe: $arch: SKIP, $why"
		skipped="$skipped $arch"
		continue
	fi
	# One wine prefix per build directory, also for meson's check that the
	# cross compiler's programs run; the first start creates it.
	WINEPREFIX="$PWD/$dir/wineprefix"
	export WINEPREFIX
	if [ -d "$dir/meson-private" ]; then
		meson setup --reconfigure "$dir" -Dhost_tools="$native_tools"
	else
		meson setup "$dir" --cross-file "scripts/cross/$arch-w64-mingw32.ini" \
			-Dhost_tools="$native_tools"
	fi
	ninja -C "$dir"
	meson test -C "$dir" --print-errorlogs --num-processes 2
done
[ -z "$skipped" ] || echo "test-pe: skipped:$skipped"
