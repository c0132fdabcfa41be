#!/bin/sh
# Make sure the build for ARCH can work (scripts/ensure-toolchain.sh [ARCH], default this
# machine's): the Rust musl target of that architecture (the launcher is one static
# binary) and a C compiler driver to link with: the host's `cc` on x86_64, Debian's cross
# gcc elsewhere (.cargo/config.toml names it; rustc links through it, and the init is
# linked with -nostartfiles -nostdlib -static). As root on Debian, missing pieces are
# installed.
set -eu

prog=ensure-toolchain.sh
die() { echo "$prog: $*" >&2; exit 1; }
can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

# shellcheck source=scripts/arch.sh
. "$(dirname "$0")/arch.sh"
arch_set "${1:-}" || exit 1
target=$RUST_TARGET
toolchain=$RUST_TOOLCHAIN

command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup (https://rustup.rs), then run: rustup target add $target"

if command -v rustup >/dev/null 2>&1; then
    if [ -n "$toolchain" ]; then
        # armv7 and riscv64 musl: Rust ships their standard library up to $toolchain.
        if ! rustup target list --installed --toolchain "$toolchain" 2>/dev/null | grep -qx "$target"; then
            echo "$prog: installing Rust $toolchain with the target $target"
            rustup toolchain install "$toolchain" --profile minimal --target "$target" ||
                die "could not install Rust $toolchain with $target: run: rustup toolchain install $toolchain --profile minimal --target $target"
        fi
    elif ! rustup target list --installed | grep -qx "$target"; then
        echo "$prog: adding the Rust target $target"
        rustup target add "$target"
    fi
else
    # Without rustup (a distribution's rustc), the target's standard library
    # must already be there; say so now rather than fail deep inside cargo.
    libdir=$(rustc --print target-libdir --target "$target" 2>/dev/null) || libdir=
    ls "$libdir"/libstd-*.rlib >/dev/null 2>&1 ||
        die "the Rust standard library for $target is missing and rustup is not installed: install rustup (https://rustup.rs), then run: rustup target add $target"
fi

linker=${CROSS_CC:-cc}
pkg=${CROSS_CC_PKG:-gcc libc6-dev}
if ! command -v "$linker" >/dev/null 2>&1; then
    if can_apt; then
        echo "$prog: no C compiler driver '$linker' for $ARCH; installing $pkg"
        # shellcheck disable=SC2086 # a list of packages
        apt_install $pkg
    fi
    command -v "$linker" >/dev/null 2>&1 || die "no C compiler driver '$linker' for $ARCH (rustc links through it): install it (Debian/Ubuntu: sudo apt-get install $pkg)"
fi
