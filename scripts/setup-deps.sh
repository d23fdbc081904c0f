#!/bin/sh
# Installs everything skeys needs to build and to run its tests, from
# Debian 12's packages. Run as root (or through sudo). Safe to run again.
set -eu
if [ "$(id -u)" -ne 0 ]; then
	exec sudo "$0" "$@"
fi
export DEBIAN_FRONTEND=noninteractive
packages="
	meson ninja-build pkg-config python3
	gcc g++ clang lld binutils make cmake
	libelf-dev libcapstone-dev liblief-dev
	strace file
	gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 wine wine64
	gcc-mingw-w64-i686 g++-mingw-w64-i686 wine32:i386
	qemu-user
	gcc-aarch64-linux-gnu g++-aarch64-linux-gnu
	gcc-riscv64-linux-gnu g++-riscv64-linux-gnu
	gcc-i686-linux-gnu g++-i686-linux-gnu
	gcc-arm-linux-gnueabihf g++-arm-linux-gnueabihf
	gcc-powerpc64le-linux-gnu g++-powerpc64le-linux-gnu
	gcc-s390x-linux-gnu g++-s390x-linux-gnu
	clang-19 lld-19
	valgrind cppcheck clang-tidy libclang-rt-14-dev
"
# Cross compilers for the cross suites (scripts/test-cross.sh). Not
# gcc-multilib: it conflicts with them. clang-19 and lld-19 target
# loongarch64, which Debian 12 has no cross gcc or C library for.
# wine32 (Windows i686 under wine, scripts/test-pe.sh) is an i386 package.
# A wine prefix made before it was installed starts no program any more:
# delete it (~/.wine; tests/cross/run-pe.py remakes its own).
if ! dpkg --print-foreign-architectures | grep -qx i386; then
	dpkg --add-architecture i386
fi
missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing
fi
