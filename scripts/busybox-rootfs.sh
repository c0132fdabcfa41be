#!/bin/sh
# Build a small Alpine-like root filesystem from a static busybox into DIR.
#
#   scripts/busybox-rootfs.sh DIR
#
# Used when the Alpine mini root filesystem cannot be downloaded, and by the
# integration tests (which must not depend on the network). Idempotent: an
# existing DIR is left alone. The tree is built in a private DIR.tmp.XXXXXX and
# renamed into place at the end, so a half-built rootfs is never used and two
# concurrent runs (parallel tests) cannot trip over each other.
#
# Environment: BUSYBOX=/path/to/static/busybox (default /bin/busybox, from
# Debian's busybox-static package).
set -eu

prog=busybox-rootfs.sh
die() { echo "$prog: $*" >&2; exit 1; }

[ $# -eq 1 ] && [ -n "$1" ] || die "usage: $0 DIR"
dir=${1%/}
[ -n "$dir" ] || die "refusing to build a rootfs at /"
busybox=${BUSYBOX:-/bin/busybox}

if [ -e "$dir" ]; then
    # Only a finished tree is ever renamed to DIR, so an existing one is complete,
    # unless someone else put something there.
    [ -x "$dir/bin/sh" ] || die "$dir exists but has no executable bin/sh; it is not a rootfs this script built (remove it and run again)"
    echo "$prog: $dir already exists; leaving it as it is"
    exit 0
fi

if [ ! -e "$busybox" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ -z "${BUSYBOX:-}" ]; then
        echo "$prog: $busybox is missing; installing Debian's busybox-static"
        DEBIAN_FRONTEND=noninteractive apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends busybox-static
    fi
    [ -e "$busybox" ] || die "$busybox not found: install a static busybox (Debian/Ubuntu: sudo apt-get install busybox-static) or set BUSYBOX=/path/to/static/busybox"
fi

# A dynamically linked busybox would need the host's libc inside the rootfs. The
# test is the ELF itself: a static binary has no PT_INTERP program header.
# (`file` is not on every machine and calls static-pie "dynamically linked" on some.)
u16() { od -An -tu2 -j "$2" -N2 "$1" | tr -d ' \n'; }
u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' \n'; }
u64() { od -An -tu8 -j "$2" -N8 "$1" | tr -d ' \n'; }
check_static() {
    f=$1
    [ "$(od -An -c -N4 "$f" | tr -d ' \n')" = '177ELF' ] || die "$f is not an ELF binary"
    [ "$(od -An -tu1 -j4 -N1 "$f" | tr -d ' \n')" = 2 ] || die "$f is not a 64-bit ELF binary; need x86_64"
    phoff=$(u64 "$f" 32)
    phentsize=$(u16 "$f" 54)
    phnum=$(u16 "$f" 56)
    i=0
    while [ "$i" -lt "$phnum" ]; do
        if [ "$(u32 "$f" $((phoff + i * phentsize)))" = 3 ]; then # PT_INTERP
            die "$f is dynamically linked (it has an ELF interpreter); the rootfs needs a static one: install busybox-static (sudo apt-get install busybox-static) or set BUSYBOX=/path/to/static/busybox"
        fi
        i=$((i + 1))
    done
}
check_static "$busybox"

umask 022
parent=$(dirname "$dir")
mkdir -p "$parent" || die "cannot create $parent"
tmp=$(mktemp -d "$dir.tmp.XXXXXX") || die "cannot create a temporary directory next to $dir"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP
chmod 755 "$tmp"

cd "$tmp"
mkdir -p bin sbin usr/bin usr/sbin usr/local/bin etc proc dev sys tmp root var/tmp run home
chmod 1777 tmp var/tmp
chmod 700 root

cp "$busybox" bin/busybox
chmod 755 bin/busybox

# Every applet at the path busybox itself gives, as Alpine does it: a symlink to
# /bin/busybox. Entries without a directory (linuxrc, for initrds) are skipped.
"$busybox" --list-full | while read -r path; do
    case $path in
    */*) ;;
    *) continue ;;
    esac
    [ -e "$path" ] || [ -L "$path" ] || ln -s /bin/busybox "$path"
done
[ -L bin/sh ] || die "$busybox has no sh applet; cannot build a usable rootfs"

cat >etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/:/usr/sbin/nologin
EOF
cat >etc/group <<'EOF'
root:x:0:root
nobody:x:65534:
EOF
echo busybox >etc/hostname
cat >etc/hosts <<'EOF'
127.0.0.1	localhost
::1	localhost
EOF
printf '/bin/sh\n/bin/ash\n' >etc/shells
cat >etc/profile <<'EOF'
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EOF
version=$("$busybox" 2>/dev/null | sed -n '1s/^BusyBox \(v[^ ]*\).*/\1/p')
cat >etc/os-release <<EOF
NAME="BusyBox rootfs"
ID=busybox
VERSION_ID=${version#v}
PRETTY_NAME="BusyBox ${version:-(unknown version)} rootfs built by launcher (scripts/busybox-rootfs.sh)"
HOME_URL="https://busybox.net/"
EOF
# /dev stays empty, as in Alpine's mini root filesystem: the container's init
# mounts a minimal /dev of its own.

cd - >/dev/null
if ! mv -T "$tmp" "$dir" 2>/dev/null; then
    # A concurrent run finished first; its tree is as good as ours.
    [ -x "$dir/bin/sh" ] || die "cannot rename $tmp to $dir"
    echo "$prog: $dir was built concurrently by another run; using it"
    exit 0
fi
trap - EXIT
echo "$prog: built $dir (BusyBox ${version:-?}, static, $("$busybox" --list-full | grep -c /) applets)"
