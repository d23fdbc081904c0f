#!/bin/sh
# Runs the README's first command on a fresh Debian 12 system: a minimal
# debootstrap chroot, a fresh clone of this repository's current branch
# inside it, and, as root in the chroot,
#
#   sh scripts/setup-deps.sh --minimal && sh scripts/demo.sh
#
# Opt-in, not part of scripts/test.sh: it needs root, debootstrap and the
# network (a Debian mirror), and takes minutes (docs/setup.md).
#
#   sh scripts/fresh-debian.sh [DIR]
#
# DIR (default build-fresh-debian) holds the chroot and the logs
# (debootstrap.log, run.log); a chroot left there by an earlier run is
# removed first, so that every run starts from a fresh system. MIRROR picks
# the Debian mirror (default: the first URI of this machine's deb822 apt
# sources that is not a security one, else deb.debian.org).
# Exit status: the command's (0 when it passed), 77 when this machine
# cannot run it (not root, no debootstrap), 2 when the chroot cannot be
# made.
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build-fresh-debian}
root=$dir/root

if [ "$(id -u)" -ne 0 ]; then
	echo "fresh-debian.sh: needs root (debootstrap, chroot): skipped" >&2
	exit 77
fi
if ! command -v debootstrap >/dev/null 2>&1; then
	echo "fresh-debian.sh: no debootstrap (apt-get install debootstrap): skipped" >&2
	exit 77
fi

if [ -z "${MIRROR:-}" ]; then
	MIRROR=$(grep -hs -A3 '^Types: deb' /etc/apt/sources.list.d/*.sources |
		sed -n 's/^URIs: *\([^ ]*\).*/\1/p' | grep -v security | head -n 1)
	MIRROR=${MIRROR:-http://deb.debian.org/debian}
fi

mkdir -p "$dir"
for m in proc dev; do
	if mountpoint -q "$root/$m" 2>/dev/null; then
		echo "fresh-debian.sh: $root/$m is mounted (another run?): not touching $root" >&2
		exit 2
	fi
done
rm -rf "$root"
echo "==> debootstrap --variant=minbase bookworm $root $MIRROR"
debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$dir/debootstrap.log" 2>&1 || {
	echo "fresh-debian.sh: debootstrap failed, see $dir/debootstrap.log" >&2
	exit 2
}

# The chroot gets its own copy of the host's resolver settings, /proc
# (the demo's runtime writes code through /proc/self/mem) and /dev.
cp /etc/resolv.conf "$root/etc/resolv.conf"
# shellcheck disable=SC2317  # called by the trap
cleanup() {
	umount "$root/proc" 2>/dev/null || true
	umount "$root/dev" 2>/dev/null || true
}
trap cleanup EXIT
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"

branch=$(git rev-parse --abbrev-ref HEAD)
rm -rf "$root/root/skeys"
echo "==> git clone --branch $branch (commit $(git rev-parse --short HEAD)) into the chroot"
git clone --quiet --branch "$branch" "file://$PWD" "$root/root/skeys"

echo "==> chroot: sh scripts/setup-deps.sh --minimal && sh scripts/demo.sh (log: $dir/run.log)"
set +e
chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	sh -c 'cd /root/skeys && sh scripts/setup-deps.sh --minimal && sh scripts/demo.sh' \
	>"$dir/run.log" 2>&1
rc=$?
set -e
tail -n 20 "$dir/run.log"
echo "==> exit status $rc"
exit $rc
