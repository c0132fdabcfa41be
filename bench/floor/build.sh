#!/bin/sh
# Builds the benchmark's two floors and the config record the same-work floor
# loads, into OUT:
#
#   bench/floor/build.sh OUT
#
#   OUT/floor        floor.c: namespaces, id maps, /proc, pivot_root, exec
#   OUT/floor-same   floor-same.c: the container `launcher run` builds by default
#   OUT/floor.config what a default `launcher run` sends its init (caps, flags,
#                    the seccomp filter), from the launcher's own code
#
# Both floors are static musl programs (Debian: musl-tools): glibc's static
# start-up alone costs ~0.3 ms here (dozens of CPUID instructions, slow in a
# VM), which would hide as much of the launcher's own work.
# FLOOR_CARGO_TARGET_DIR: a cargo target directory for the config example
# (the tests pass their own: cargo test holds the workspace's).
set -eu

[ $# = 1 ] || { echo "usage: $0 OUT" >&2; exit 2; }
out=$1
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$(dirname "$here")")
target=x86_64-unknown-linux-musl

command -v musl-gcc >/dev/null 2>&1 ||
    { echo "$0: musl-gcc not found: the floors are built with musl (Debian: apt-get install musl-tools)" >&2; exit 1; }
mkdir -p "$out"
for name in floor floor-same; do
    musl-gcc -O2 -static -s -Wall -Wextra -Werror -o "$out/$name.tmp" "$here/$name.c" ||
        { echo "$0: musl-gcc $here/$name.c failed" >&2; exit 1; }
    mv -f "$out/$name.tmp" "$out/$name"
done

target_dir=${FLOOR_CARGO_TARGET_DIR:-$top/target}
(cd "$top" && cargo build --release --quiet --example floor-config --features floor-config \
    --target-dir "$target_dir") ||
    { echo "$0: cargo build --example floor-config failed in $top" >&2; exit 1; }
"$target_dir/$target/release/examples/floor-config" "$out/floor.config" ||
    { echo "$0: floor-config failed" >&2; exit 1; }
