#!/bin/sh
# The one table of what each architecture needs, for the Makefile and the scripts.
#
#   . scripts/arch.sh; arch_set ARCH     sets the variables below (ARCH: x86_64, aarch64,
#                                        armv7, riscv64; empty: this machine's)
#   scripts/arch.sh ARCH VAR             prints one of them (for make)
#   scripts/arch.sh --list               the architectures
#
# RUST_TARGET     the Rust target of the static launcher
# RUST_TOOLCHAIN  the rustup toolchain that builds it (empty: the default). Rust's
#                 manifests list no rust-std for armv7-unknown-linux-musleabihf and
#                 riscv64gc-unknown-linux-musl after 1.93.0, so those use 1.93.0.
# CROSS_CC        the linker driver (.cargo/config.toml names the same), CROSS_CC_PKG its
#                 Debian package (empty on x86_64: the host's cc)
# DEB_ARCH        Debian's name of the architecture
# VM_SUITE        the Debian suite its guest kernel and busybox come from
# VM_KERNEL_PKG   the kernel package (a metapackage: its newest linux-image is fetched)
# QEMU, QEMU_PKG  the emulator and its Debian package
# QEMU_MACHINE    machine and CPU flags
# VM_CONSOLE      the guest's serial console device
# VM_COMPAT_ARCH  Debian's name of the 32-bit architecture this kernel also runs (its
#                 busybox shows the seccomp filter killing that calling convention)

ARCHES="x86_64 aarch64 armv7 riscv64"

arch_host() {
	case "$(uname -m)" in
	x86_64 | amd64) echo x86_64 ;;
	aarch64 | arm64) echo aarch64 ;;
	armv7* | armv8l) echo armv7 ;;
	riscv64) echo riscv64 ;;
	*) uname -m ;;
	esac
}

arch_set() {
	ARCH=${1:-$(arch_host)}
	# Debian's and the kernel's names are welcome too.
	case "$ARCH" in
	amd64) ARCH=x86_64 ;;
	arm64) ARCH=aarch64 ;;
	armhf | arm) ARCH=armv7 ;;
	esac
	RUST_TOOLCHAIN= CROSS_CC= CROSS_CC_PKG= VM_COMPAT_ARCH=
	case "$ARCH" in
	x86_64)
		RUST_TARGET=x86_64-unknown-linux-musl
		DEB_ARCH=amd64 VM_SUITE=bookworm VM_KERNEL_PKG=linux-image-amd64
		QEMU=qemu-system-x86_64 QEMU_PKG=qemu-system-x86
		QEMU_MACHINE="-accel tcg" VM_CONSOLE=ttyS0 VM_COMPAT_ARCH=i386
		;;
	aarch64)
		RUST_TARGET=aarch64-unknown-linux-musl
		CROSS_CC=aarch64-linux-gnu-gcc CROSS_CC_PKG=gcc-aarch64-linux-gnu
		DEB_ARCH=arm64 VM_SUITE=bookworm VM_KERNEL_PKG=linux-image-arm64
		QEMU=qemu-system-aarch64 QEMU_PKG=qemu-system-arm
		QEMU_MACHINE="-M virt -cpu cortex-a57" VM_CONSOLE=ttyAMA0 VM_COMPAT_ARCH=armhf
		;;
	armv7)
		RUST_TARGET=armv7-unknown-linux-musleabihf RUST_TOOLCHAIN=1.93.0
		CROSS_CC=arm-linux-gnueabihf-gcc CROSS_CC_PKG=gcc-arm-linux-gnueabihf
		DEB_ARCH=armhf VM_SUITE=bookworm VM_KERNEL_PKG=linux-image-armmp-lpae
		QEMU=qemu-system-arm QEMU_PKG=qemu-system-arm
		QEMU_MACHINE="-M virt -cpu cortex-a15" VM_CONSOLE=ttyAMA0
		;;
	riscv64)
		RUST_TARGET=riscv64gc-unknown-linux-musl RUST_TOOLCHAIN=1.93.0
		CROSS_CC=riscv64-linux-gnu-gcc CROSS_CC_PKG=gcc-riscv64-linux-gnu
		DEB_ARCH=riscv64 VM_SUITE=trixie VM_KERNEL_PKG=linux-image-riscv64
		QEMU=qemu-system-riscv64 QEMU_PKG=qemu-system-misc
		QEMU_MACHINE="-M virt -bios default" VM_CONSOLE=ttyS0
		;;
	*)
		echo "arch.sh: unknown architecture '$ARCH': use one of $ARCHES" >&2
		return 1
		;;
	esac
}

# Run as a program (not sourced): answer one question.
case "${0##*/}" in
arch.sh)
	set -eu
	if [ "${1:-}" = --list ]; then
		echo "$ARCHES"
	elif [ $# = 2 ]; then
		arch_set "$1"
		eval "echo \"\${$2}\""
	else
		echo "usage: scripts/arch.sh ARCH VAR | --list" >&2
		exit 2
	fi
	;;
esac
