#!/bin/sh
# PE/COFF end to end: the runtime cross-built for Windows x86-64 and i686
# with mingw-w64 (meson cross files), its EXE + DLL tests (suites e2e-pe,
# modules-pe, copies-pe, threads-pe, calls-pe, entries-pe, kernel-pe) run under wine (wine64, and wine32 for i686) with
# the skeys-seal and skeys-dump of the native build in build/. Run after
# scripts/test.sh has built build/ (test.sh calls this). A target whose
# compiler or wine half is missing is reported as skipped; CI installs them
# all (scripts/setup-deps.sh). Both targets run even when the first one
# failed; exit 1 if any failed (scripts/lib.sh).
#
#   sh scripts/test-pe.sh          # x86_64 and i686
#   sh scripts/test-pe.sh x86_64   # one
set -eu
cd "$(dirname "$0")/.."
. scripts/lib.sh
native_tools="$PWD/build/tool"

# pe_target ARCH DIR: configure, build and test one target.
pe_target() {
	configure "$2" --cross-file "scripts/cross/$1-w64-mingw32.ini" \
		-Dhost_tools="$native_tools" &&
		ninja -C "$2" &&
		meson test -C "$2" --print-errorlogs --num-processes 2
}

# target:build directory:the wine loader it needs (Debian's paths)
for target in x86_64:build-mingw:/usr/lib/wine/wine64 i686:build-mingw32:/usr/lib/wine/wine; do
	arch=${target%%:*}
	case " ${*:-$arch} " in *" $arch "*) ;; *) continue ;; esac
	rest=${target#*:}
	dir=${rest%%:*}
	loader=${rest#*:}
	case $arch in
	i686) package=wine32:i386 ;;
	*) package=wine64 ;;
	esac
	if ! command -v "$arch-w64-mingw32-gcc" >/dev/null 2>&1; then
		skip_target "$arch" "$arch-w64-mingw32-gcc is not installed"
		continue
	elif [ ! -x "$loader" ]; then
		skip_target "$arch" "$loader is not installed ($package; scripts/setup-deps.sh installs it or prints why it could not)"
		continue
	fi
	# One wine prefix per build directory, also for meson's check that the
	# cross compiler's programs run; the first start creates it.
	WINEPREFIX="$PWD/$dir/wineprefix"
	export WINEPREFIX
	printf '\n==> %s\n' "$arch"
	run_target "$arch" pe_target "$arch" "$dir"
done
report targets
