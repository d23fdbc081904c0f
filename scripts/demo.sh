#!/bin/sh
# The README's main command: build skeys, then compile examples/demo.c
# against the build tree, seal it, show its sites and run it.
#
#   bash scripts/setup-deps.sh --minimal   # once: the build dependencies
#   bash scripts/demo.sh
#
# BUILD=dir picks the meson build directory (default: build). CC picks the
# compiler (default: cc).
set -eu
cd "$(dirname "$0")/.."
build=${BUILD:-build}
cc=${CC:-cc}
out=$build/demo

step() {
	printf '\n==> %s\n' "$*"
}

if [ ! -f "$build/build.ninja" ]; then
	step "meson setup $build"
	meson setup "$build"
fi
step "ninja -C $build"
ninja -C "$build"

mkdir -p "$out"
step "compile examples/demo.c"
# The rpath lets the demo find libskeys in the build tree without installing.
(
	set -x
	"$cc" -std=c11 -O2 -Wall -Wextra -Iinclude examples/demo.c -o "$out/demo" \
		-L"$build/runtime" -lskeys -Wl,-rpath,"$PWD/$build/runtime"
)

step "skeys-seal $out/demo   (verify every site, sort and seal the table)"
"$build/tool/skeys-seal" "$out/demo"

step "skeys-dump $out/demo"
"$build/tool/skeys-dump" "$out/demo"

step "$out/demo"
"$out/demo"
