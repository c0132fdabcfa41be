#!/bin/sh
# Fetch Debian packages of any architecture and suite without touching the host's dpkg:
# apt runs with a state, lists and cache of its own under target/vm/apt/SUITE-ARCH.
#
#   scripts/vm/fetch-deb.sh SUITE DEB_ARCH PKG DIR [PATTERN...]
#
# Downloads PKG (for a kernel metapackage such as linux-image-arm64: the linux-image-*
# package it depends on) into DIR and unpacks it into DIR/root (only the members that
# match the tar PATTERNs, such as './boot/vmlinuz-*', when given); prints the .deb's path.
# Environment: VM_DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -eu

prog=fetch-deb.sh
die() {
	echo "$prog: $*" >&2
	exit 1
}
[ $# -ge 4 ] || die "usage: $0 SUITE DEB_ARCH PKG DIR [PATTERN...]"
suite=$1 arch=$2 pkg=$3 dir=$4
shift 4
patterns=$*
mirror=${VM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || die "$keyring is missing: install debian-archive-keyring"
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
	die "apt-get and dpkg-deb are needed to fetch $pkg:$arch (a Debian host)"

state=$(cd "$(dirname "$0")/../.." && pwd)/target/vm/apt/$suite-$arch
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$dir"
echo "deb [arch=$arch signed-by=$keyring] $mirror $suite main" >"$state/sources.list"
: >>"$state/status"
set -- -o Dir::Etc::sourcelist="$state/sources.list" -o Dir::Etc::sourceparts=/dev/null \
	-o Dir::State::Lists="$state/lists" -o Dir::State::status="$state/status" \
	-o Dir::Cache="$state/cache" -o APT::Architecture="$arch" -o APT::Architectures::="$arch" \
	-o Debug::NoLocking=1 -o APT::Sandbox::User=root
if [ -z "$(find "$state/lists" -name '*Packages*' -mtime -1 2>/dev/null | head -n 1)" ]; then
	apt-get "$@" -q update >&2 || die "apt-get update for $suite/$arch failed (no network to $mirror?)"
fi

real=$pkg
case "$pkg" in
linux-image-*)
	# A metapackage names the current kernel in its Depends.
	dep=$(apt-cache "$@" depends "$pkg" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\).*/\1/p' | head -n 1)
	[ -n "$dep" ] && real=$dep
	;;
esac
cd "$dir"
rm -f ./*.deb
apt-get "$@" -q download "$real" >&2 || die "apt-get download $real ($suite/$arch) failed"
deb=$(ls ./*.deb | head -n 1)
rm -rf root
mkdir root
# shellcheck disable=SC2086 # the patterns are words on purpose
set -f
dpkg-deb --fsys-tarfile "$deb" | tar -x -C root --wildcards $patterns || die "unpacking $deb failed"
echo "$dir/${deb#./}"
