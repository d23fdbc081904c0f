#!/bin/sh
# Installs everything skeys needs to build and to run its tests, from
# Debian 12's packages. Run as root (or through sudo). Safe to run again.
#
# Two steps. The first installs every package of the native architecture
# (the i686 mingw-w64 compilers too: they are amd64 packages); a failure
# there fails the script. The second installs wine32:i386, the 32-bit half
# of wine that runs the i686 PE tests; it needs the i386 architecture, which
# a mirror can make unusable (below), so it never fails the script: when it
# cannot install wine32 it says why in one line, takes the i386 architecture
# away again if it added it, and scripts/test-pe.sh skips the i686 target.
# SKEYS_NO_WINE32=1 skips the second step.
#
# --minimal installs only what building skeys and running scripts/demo.sh
# need (the README's first command): the compilers, meson and the tools'
# libraries; no wine, cross compilers, qemu or analysis tools, and no
# second step. docs/setup.md says what each mode installs.
set -eu
if [ "$(id -u)" -ne 0 ]; then
	exec sudo "$0" "$@"
fi
export DEBIAN_FRONTEND=noninteractive
# Building skeys: meson runs on python3; g++ compiles the C++ tests, which
# a top-level build configures; libelf and capstone are the tools'.
minimal="
	meson ninja-build pkg-config python3
	gcc g++ binutils
	libelf-dev libcapstone-dev
"
packages="$minimal
	clang lld make cmake scdoc man-db
	liblief-dev
	strace file libcap2-bin
	gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 wine wine64
	gcc-mingw-w64-i686 g++-mingw-w64-i686
	qemu-user
	gcc-aarch64-linux-gnu g++-aarch64-linux-gnu
	gcc-riscv64-linux-gnu g++-riscv64-linux-gnu
	gcc-i686-linux-gnu g++-i686-linux-gnu libc6-i386 lib32stdc++6
	gcc-arm-linux-gnueabihf g++-arm-linux-gnueabihf
	gcc-powerpc64le-linux-gnu g++-powerpc64le-linux-gnu
	gcc-s390x-linux-gnu g++-s390x-linux-gnu
	clang-19 lld-19
	valgrind cppcheck clang-tidy libclang-rt-14-dev
	gdb lldb
"
# Cross compilers for the cross suites (scripts/test-cross.sh). Not
# gcc-multilib: it conflicts with them. libc6-i386 and lib32stdc++6 (the
# i386 loader, C and C++ libraries, amd64 packages): with them the i686
# cross build's tests run natively, threads and /proc/self/mem writes
# included (qemu-i386 hangs in pthread_create; tests/meson.build). clang-19 and lld-19 target
# loongarch64, which Debian 12 has no cross gcc or C library for.
case ${1:-} in
--minimal)
	packages=$minimal ;;
"") ;;
*)
	echo "usage: setup-deps.sh [--minimal]" >&2
	exit 64 ;;
esac
native=$(dpkg --print-architecture)
log=$(mktemp)
trap 'rm -f "$log" "$log.err" "$log.pref"' EXIT

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# A mirror can serve a binary-i386 Packages file that does not match its
# Release file (seen: bookworm-security, "File has unexpected size"); then
# every apt-get update exits 100. The only fix in our hands is to stop
# asking for it: the sources entry of that suite gets "Architectures:" the
# native one, with a comment saying why, and the i386 packages come from
# the other suites (bookworm, bookworm-updates). restrict_source URI SUITE
# does that to the deb822 and one-line files that name URI and SUITE.
restrict_source() {
	why="# skeys setup-deps.sh: $native only, the mirror's binary-i386 index of $2 failed to download"
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		case $f in
		*.sources) prog=$deb822_restrict ;;
		*) prog=$oneline_restrict ;;
		esac
		# awk exits 1 when no entry of the file names the suite.
		rc=0
		awk -v uri="${1%/}" -v suite="$2" -v arch="$native" -v why="$why" \
			"$prog" "$f" >"$f.skeys-new" || rc=$?
		case $rc in
		0)	echo "setup-deps: $f: $2 restricted to $native (its i386 index failed to download)"
			mv "$f.skeys-new" "$f" ;;
		1)	rm -f "$f.skeys-new" ;;
		*)	rm -f "$f.skeys-new"; return 1 ;;
		esac
	done
}
# A stanza naming the suite without an Architectures field keeps its other
# suites, and a copy of it for that suite alone gets the restriction.
# shellcheck disable=SC2016
deb822_restrict='
function has(list, word,   n, i, w) {
	n = split(list, w, /[ \t]+/)
	for (i = 1; i <= n; i++) { sub(/\/$/, "", w[i]); if (w[i] == word) return 1 }
	return 0
}
function emit(text) { printf "%s%s\n", sep, text; sep = "\n" }
function joined(   out, i) {
	out = line[1]
	for (i = 2; i <= n; i++) out = out "\n" line[i]
	return out
}
BEGIN { RS = "" }
{
	n = split($0, line, "\n"); uris = ""; suites = ""; arches = 0; si = 0
	for (i = 1; i <= n; i++) {
		if (line[i] ~ /^[Uu][Rr][Ii][Ss]:/) uris = substr(line[i], 6)
		if (line[i] ~ /^[Ss]uites:/) { suites = substr(line[i], 8); si = i }
		if (line[i] ~ /^[Aa]rchitectures:/) arches = 1
	}
	if (!si || arches || !has(uris, uri) || !has(suites, suite)) { emit($0); next }
	rest = ""; k = split(suites, w, /[ \t]+/)
	for (i = 1; i <= k; i++) if (w[i] != "" && w[i] != suite) rest = rest " " w[i]
	if (rest != "") { line[si] = "Suites:" rest; emit(joined()) }
	line[si] = "Suites: " suite
	emit(joined() "\n" why "\nArchitectures: " arch)
	changed = 1
}
END { exit !changed }'
# shellcheck disable=SC2016
oneline_restrict='
$1 == "deb" && $0 !~ /arch=/ {
	i = 2
	if ($2 ~ /^\[/) while (i <= NF && $i !~ /\]$/) i++
	if (i + 2 <= NF && ($(i + 1) == uri || $(i + 1) == uri "/") && $(i + 2) == suite) {
		print why
		if ($2 ~ /^\[/) sub(/\[/, "[arch=" arch " ")
		else sub(/^deb[ \t]+/, "deb [arch=" arch "] ")
		changed = 1
	}
}
{ print }
END { exit !changed }'

# apt-get update. When it fails only on binary-i386 indexes, those suites
# are restricted to the native architecture and it runs again; any other
# failure fails (the first step) or is reported (the wine32 step).
apt_update() {
	if apt-get update -qq >"$log" 2>&1; then
		grep '^W:' "$log" >&2 || true
		return 0
	fi
	bad=$(grep '^E:' "$log" | grep -v '^E: Some index files failed to download' |
		grep -v '^E: Failed to fetch [^ ]*/binary-i386/' || true)
	failed=$(sed -n 's|^E: Failed to fetch \([^ ]*\)/dists/\([^ ]*\)/[^/ ]*/binary-i386/.*|\1 \2|p' "$log")
	if [ -n "$bad" ] || [ -z "$failed" ]; then
		cat "$log" >&2
		return 1
	fi
	echo "$failed" | sort -u | while read -r uri suite; do
		restrict_source "$uri" "$suite"
	done
	apt-get update -qq >"$log" 2>&1 || { cat "$log" >&2; return 1; }
	grep '^W:' "$log" >&2 || true
}

# Step 1: everything of the native architecture.
missing=""
for p in $packages; do
	installed "$p" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	apt_update
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing
fi

# Step 2: wine32:i386. Never fails the script (see the top). A wine prefix
# made before it was installed starts no program any more: delete it
# (~/.wine; tests/cross/run-pe.py remakes its own).
wine32_skip() {
	echo "setup-deps: wine32:i386 not installed, the i686 PE programs will not run (scripts/test-pe.sh skips them): $1"
	# An i386 architecture that this run added and nothing uses only costs
	# every later apt-get update the i386 indexes: take it away again.
	if [ -n "$added_i386" ] && [ -z "$(dpkg-query -W -f='${Package}\n' '*:i386' 2>/dev/null)" ]; then
		dpkg --remove-architecture i386 ||
			echo "setup-deps: could not remove the i386 architecture again"
	fi
}

# Multi-Arch: same packages must have one version on amd64 and i386. When
# a suite's i386 index is left out (above), the i386 packages come from an
# older suite than the installed amd64 ones or their candidates (bookworm
# against bookworm-security): apt then cannot install wine32 ("generated
# breaks", it even proposes removing apt). So this transaction alone gets
# a preferences file (-o Dir::Etc::Preferences) that pins every
# Multi-Arch: same package wine32 can pull in (apt-cache depends
# --recurse) to its i386 candidate at priority 1001: both halves then have
# one candidate and apt moves an installed amd64 half to it, downgrading
# it if need be, only when the i386 half is really installed. Nothing is
# left pinned afterwards; those amd64 libraries keep the older version
# (and miss the security fix of the newer one) until the restriction is
# taken out of the sources file and both halves are upgraded together.
# When the indexes agree the pins change nothing. A transaction that
# would remove any package is refused: wine32 is then skipped, nothing
# changed.
wine32_pins() {
	# shellcheck disable=SC2046
	apt-cache show --no-all-versions $(apt-cache depends --recurse \
		--no-recommends --no-suggests --no-conflicts --no-breaks \
		--no-replaces --no-enhances wine32:i386 | grep '^[a-z0-9].*:i386$' | sort -u) 2>/dev/null |
	awk '
	function pin() { if (m == "same") printf "Package: %s\nPin: version %s\nPin-Priority: 1001\n\n", p, v; p = v = m = "" }
	/^Package:/ { p = $2 } /^Version:/ { v = $2 } /^Multi-Arch:/ { m = $2 }
	/^$/ { pin() }
	END { pin() }'
}

# Runs under set -e: every command that can fail is tested.
wine32_install() {
	added_i386=""
	if [ "$native" != amd64 ]; then
		wine32_skip "it is for amd64 hosts, this one is $native"
		return 0
	fi
	if ! dpkg --print-foreign-architectures | grep -qx i386; then
		if ! dpkg --add-architecture i386; then
			wine32_skip "dpkg --add-architecture i386 failed"
			return 0
		fi
		added_i386=1
	fi
	if ! apt_update 2>"$log.err"; then
		wine32_skip "apt-get update failed with the i386 architecture: $(grep '^E:' "$log.err" | head -n 1)"
		return 0
	fi
	pins=$log.pref
	wine32_pins >"$pins"
	if ! apt-get install -s -y --no-install-recommends --allow-downgrades \
		-o Dir::Etc::Preferences="$pins" wine32:i386 >"$log" 2>&1; then
		wine32_skip "apt-get cannot resolve it: $(grep '^E:' "$log" | head -n 1)"
		return 0
	fi
	removed=$(sed -n 's/^Remv \([^ ]*\).*/\1/p' "$log" | tr '\n' ' ')
	if [ -n "$removed" ]; then
		wine32_skip "apt-get would remove ${removed% }"
		return 0
	fi
	# "Inst name [installed] (new ...)": an installed package changes version.
	moved=$(sed -n 's/^Inst \([^ ]*\) \[\([^]]*\)\] (\([^ ]*\) .*/\1 \2->\3,/p' "$log" | tr '\n' ' ')
	[ -z "$moved" ] ||
		echo "setup-deps: to match wine32's i386 libraries, these change version: ${moved%, }"
	if ! apt-get install -y -qq --no-install-recommends --allow-downgrades \
		-o Dir::Etc::Preferences="$pins" wine32:i386; then
		wine32_skip "apt-get install failed (its output above)"
	fi
}

if [ "${1:-}" = --minimal ]; then
	: # build dependencies only: no wine32
elif [ -n "${SKEYS_NO_WINE32:-}" ]; then
	installed wine32:i386 ||
		echo "setup-deps: SKEYS_NO_WINE32 is set: wine32:i386 not installed, the i686 PE programs will not run"
elif ! installed wine32:i386; then
	wine32_install
fi
