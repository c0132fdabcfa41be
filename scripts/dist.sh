#!/usr/bin/env bash
# make dist: one static launcher per architecture in dist/, with SHA256SUMS.
#
# Cross-builds every architecture of scripts/arch.sh (or those named as arguments), checks
# that each launcher is static (no ELF interpreter) and within the budgets (launcher
# 768 KiB, its init 8 KiB), writes dist/launcher-VERSION-ARCH, dist/SHA256SUMS and
# dist/sizes.tsv, and puts the sizes into bench/results.md (its "Sizes per architecture"
# section; bench/report.py keeps that section when it rewrites the file).
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/arch.sh
. scripts/arch.sh

LAUNCHER_BUDGET=$((768 * 1024))
INIT_BUDGET=$((8 * 1024))
die() {
	echo "dist: error: $*" >&2
	exit 1
}

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' launcher/Cargo.toml | head -n 1)
[ -n "$version" ] || die "no version in launcher/Cargo.toml"
arches=${*:-$ARCHES}
mkdir -p dist
rm -f dist/launcher-* dist/SHA256SUMS dist/sizes.tsv
printf 'arch\ttarget\tlauncher_bytes\tinit_bytes\n' >dist/sizes.tsv.tmp
for arch in $arches; do
	arch_set "$arch"
	scripts/ensure-toolchain.sh "$arch"
	cargo=(cargo)
	[ -n "$RUST_TOOLCHAIN" ] && cargo+=("+$RUST_TOOLCHAIN")
	echo "dist: ${cargo[*]} build --release --target $RUST_TARGET"
	"${cargo[@]}" build --release --target "$RUST_TARGET" || die "the build for $arch failed"
	bin=target/$RUST_TARGET/release/launcher
	# The init this build embedded: build.rs writes it next to its output, newest last.
	init=$(ls -t target/"$RUST_TARGET"/release/build/launcher-*/out/launcher-init | head -n 1)
	python3 scripts/vm/vmtool.py is-static "$bin" || die "$bin has an ELF interpreter: it must be static"
	size=$(stat -c %s "$bin")
	init_size=$(stat -c %s "$init")
	[ "$size" -le $LAUNCHER_BUDGET ] || die "the $arch launcher is $size bytes, over its $LAUNCHER_BUDGET-byte budget"
	[ "$init_size" -le $INIT_BUDGET ] || die "the $arch init is $init_size bytes, over its $INIT_BUDGET-byte budget"
	install -m 755 "$bin" "dist/launcher-$version-$arch"
	printf '%s\t%s\t%s\t%s\n' "$arch" "$RUST_TARGET" "$size" "$init_size" >>dist/sizes.tsv.tmp
	echo "dist: dist/launcher-$version-$arch: $size bytes, init $init_size bytes, static"
done
mv dist/sizes.tsv.tmp dist/sizes.tsv
(cd dist && sha256sum launcher-* >SHA256SUMS)
python3 bench/report.py --arch-sizes dist/sizes.tsv bench/results.md "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "dist: wrote dist/SHA256SUMS and the sizes section of bench/results.md"
