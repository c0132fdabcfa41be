#!/usr/bin/env bash
# debian-deb.sh SUITE ARCH PACKAGE CACHE [PATH...]: fetch PACKAGE (of Debian's SUITE and ARCH) from
# Debian's archive into CACHE and unpack it there, without touching the host's dpkg or apt
# state; print the directory it was unpacked in. A metapackage (linux-image-amd64) is
# followed to the package it depends on of the same family (linux-image-5.10.0-32-amd64).
# Fetched once: a later call with the same arguments only prints the directory (delete
# CACHE/SUITE-ARCH to fetch anew). PATHs (./boot) unpack only those parts of the
# package (a kernel's modules are 300 MB). Environment: DEBIAN_MIRROR (default deb.debian.org).
set -eu

[ $# -ge 4 ] || {
	echo "usage: $0 SUITE ARCH PACKAGE CACHE [PATH...]" >&2
	exit 2
}
suite=$1 arch=$2 pkg=$3 cache=$4
shift 4
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
dir=$cache/$suite-$arch
done_mark=$dir/$pkg.unpacked

die() {
	echo "debian-deb: $*" >&2
	exit 1
}

if [ -f "$done_mark" ] && [ -d "$(cat "$done_mark")" ]; then
	cat "$done_mark"
	exit 0
fi
command -v apt-get >/dev/null || die "apt-get is needed to fetch $pkg ($suite, $arch) from Debian's archive"
[ -r "$keyring" ] || die "$keyring is missing: install debian-archive-keyring"

mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/debs"
: >"$dir/status"
echo "deb [arch=$arch signed-by=$keyring] $mirror $suite main" >"$dir/sources.list"
apt_opts=(
	-o "Dir::Etc::sourcelist=$PWD/$dir/sources.list" -o Dir::Etc::sourceparts=/dev/null
	-o "Dir::State::Lists=$PWD/$dir/lists" -o "Dir::State::status=$PWD/$dir/status"
	-o "Dir::Cache=$PWD/$dir/cache" -o "APT::Architectures::=$arch" -o "APT::Architecture=$arch"
	-o Acquire::Languages=none -o Debug::NoLocking=1
)
# Root's apt hands downloads to the _apt user, who may not write here.
[ "$(id -u)" = 0 ] && apt_opts+=(-o APT::Sandbox::User=root)
apt-get "${apt_opts[@]}" -qq update >&2 || die "apt-get update for $suite ($arch) from $mirror failed"

# A metapackage (linux-image-amd64): its first dependency named like it but for the last
# part (linux-image-5.10.0-32-amd64).
real=$pkg
family=${pkg%-*}
dep=$(apt-cache "${apt_opts[@]}" depends "$pkg" 2>/dev/null |
	sed -n "s/^ *Depends: \($family-[^ ]*\).*/\1/p" | head -n 1)
[ -n "$dep" ] && real=$dep
(cd "$dir/debs" && apt-get "${apt_opts[@]}" -qq download "$real:$arch" >&2) ||
	die "apt-get download $real:$arch ($suite) failed"
deb=$(ls "$dir/debs/${real}_"*"_$arch.deb" 2>/dev/null | tail -n 1)
[ -n "$deb" ] || die "no .deb for $real:$arch in $dir/debs"
out=$dir/$real
rm -rf "$out"
mkdir -p "$out"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$out" "$@" || die "unpacking ${*:-all of} $deb failed"
echo "$out" >"$done_mark"
echo "$out"
