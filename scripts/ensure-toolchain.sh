#!/bin/sh
# Make sure the build can work: the x86_64 musl Rust target (the launcher is one
# static binary) and a C compiler driver `cc` (rustc links through it, and the
# init is linked with -nostartfiles -nostdlib -static).
set -eu

prog=ensure-toolchain.sh
target=x86_64-unknown-linux-musl
die() { echo "$prog: $*" >&2; exit 1; }

can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust with rustup (https://rustup.rs), then run: rustup target add $target"

if command -v rustup >/dev/null 2>&1; then
    if ! rustup target list --installed | grep -qx "$target"; then
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

if ! command -v cc >/dev/null 2>&1; then
    if can_apt; then
        echo "$prog: no C compiler 'cc'; installing gcc"
        DEBIAN_FRONTEND=noninteractive apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc libc6-dev
    fi
    command -v cc >/dev/null 2>&1 || die "no C compiler 'cc' (rustc links through it): install gcc (Debian/Ubuntu: sudo apt-get install gcc)"
fi
