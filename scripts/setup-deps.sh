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
	valgrind cppcheck clang-tidy libclang-rt-14-dev
"
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
