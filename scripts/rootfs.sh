#!/bin/sh
# Make the root filesystem that `make run` uses.
#
#   scripts/rootfs.sh [DIR]        (default: alpine-fs)
#
# Downloads Alpine's x86_64 mini root filesystem (a pinned release, checked
# against its published sha256 before anything is unpacked) into DIR. When the
# download or the check fails, or LAUNCHER_OFFLINE=1 is set, it builds a
# busybox rootfs with scripts/busybox-rootfs.sh instead. An existing DIR is
# left alone. Works as an ordinary user (files end up owned by the caller,
# which is what a rootless container maps to root).
#
# Environment: LAUNCHER_OFFLINE=1 skips the download (CI and tests);
# ALPINE_MIRROR=URL downloads from another mirror with Alpine's layout
# (default https://dl-cdn.alpinelinux.org/alpine).
set -eu

prog=rootfs.sh
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-alpine-fs}
dir=${dir%/}
[ -n "$dir" ] || { echo "$prog: refusing to unpack a rootfs at /" >&2; exit 1; }

# Pinned: bump all three together. The sha256 is the one Alpine publishes in
# alpine-minirootfs-3.20.3-x86_64.tar.gz.sha256 next to the tarball (3,490,290 bytes).
ALPINE_VERSION=3.20.3
ALPINE_SHA256=d4e6fd67dcf75e40c451560ac7265166c2b72a0f38ddc9aae756a7de3d1efa0c
ALPINE_BRANCH=v3.20
tarball=alpine-minirootfs-$ALPINE_VERSION-x86_64.tar.gz
mirror=${ALPINE_MIRROR:-https://dl-cdn.alpinelinux.org/alpine}
url=${mirror%/}/$ALPINE_BRANCH/releases/x86_64/$tarball

if [ -e "$dir" ]; then
    echo "$prog: $dir already exists; leaving it as it is (remove it to make a fresh one)"
    exit 0
fi

fallback() {
    echo "$prog: $1; building a busybox rootfs in $dir instead" >&2
    exec "$here/busybox-rootfs.sh" "$dir"
}

[ "${LAUNCHER_OFFLINE:-0}" != 1 ] || fallback "LAUNCHER_OFFLINE=1, not downloading Alpine $ALPINE_VERSION"
command -v curl >/dev/null 2>&1 || fallback "curl is not installed (apt-get install curl), cannot download Alpine $ALPINE_VERSION"
command -v sha256sum >/dev/null 2>&1 || fallback "sha256sum is not installed (coreutils), cannot verify Alpine $ALPINE_VERSION"

mkdir -p "$(dirname "$dir")"
tmp=$(mktemp -d "$dir.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP

echo "$prog: downloading Alpine $ALPINE_VERSION mini root filesystem from $url"
# Fail fast when there is no network (connect timeout) and when a transfer
# stalls (under 1 KiB/s for 30 s), rather than hanging `make run`.
rc=0
curl --fail --location --connect-timeout 20 --speed-limit 1024 --speed-time 30 \
    --progress-bar --output "$tmp/$tarball" "$url" || rc=$?
if [ "$rc" != 0 ]; then
    rm -rf "$tmp"
    fallback "could not download $url (curl exit status $rc)"
fi

# Verify before unpacking: never feed an unchecked archive to tar.
got=$(sha256sum "$tmp/$tarball" | cut -d' ' -f1)
if [ "$got" != "$ALPINE_SHA256" ]; then
    rm -rf "$tmp"
    fallback "checksum mismatch for $tarball: got sha256 $got, expected $ALPINE_SHA256"
fi

mkdir "$tmp/root"
# As root, tar keeps Alpine's numeric owners (a rootful container uses the
# identity map); as an ordinary user every file becomes the caller's, which a
# rootless container maps to root. --preserve-permissions keeps modes such as
# /tmp's 1777, which an ordinary user's tar would otherwise pass through umask.
tar -xzf "$tmp/$tarball" -C "$tmp/root" --numeric-owner --preserve-permissions
chmod 755 "$tmp/root"
if ! mv -T "$tmp/root" "$dir" 2>/dev/null; then
    [ -e "$dir" ] || { echo "$prog: cannot rename $tmp/root to $dir" >&2; exit 1; }
    echo "$prog: $dir was made concurrently by another run; using it"
    exit 0
fi
echo "$prog: Alpine $ALPINE_VERSION (sha256 verified) unpacked into $dir"
