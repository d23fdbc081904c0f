#!/bin/sh
# Installs what `bench/run` needs beyond scripts/setup-deps.sh, from Debian
# 12's packages: plots, instruction counts, syscall counts, peak memory,
# clang 19 for the hot-path comparison, and clang 14 with its XRay runtime
# for the XRay comparison. The test suite needs none of it.
# Run as root (or through sudo). Safe to run again.
set -eu
if [ "$(id -u)" -ne 0 ]; then
	exec sudo "$0" "$@"
fi
export DEBIAN_FRONTEND=noninteractive
packages="gnuplot-nox valgrind strace time binutils clang-19 clang-14 libclang-rt-14-dev"
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
