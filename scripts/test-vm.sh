#!/usr/bin/env bash
# make test-vm [ARCH=...]: test the launcher for real on a pure cgroup v2 kernel of an
# architecture, rootful and rootless.
#
# Boots Debian's kernel of that architecture under qemu (TCG: KVM is not dependable on
# nested hosts, and other architectures are emulated anyway) with an initramfs holding that
# architecture's static busybox, the static launcher built for it, a busybox rootfs for
# containers and scripts/vm/guest-tests.sh. The guest mounts cgroup2 alone, runs the tests
# and prints "PASS name" / "FAIL name: reason" lines and "DONE n passed, m failed" on its
# serial console, which this script echoes with a "vm: " prefix and counts.
#
# Environment (what each architecture needs is in scripts/arch.sh):
#   ARCH           x86_64 (default: this machine's), aarch64, armv7 or riscv64
#   LAUNCHER_BIN   a static launcher for ARCH (default: cargo build --release --target ...)
#   VM_KERNEL      a kernel image to boot (default on x86_64: the newest /boot/vmlinuz-*;
#                  elsewhere, or when VM_KERNEL_PKG is set: fetched from Debian)
#   VM_KERNEL_PKG, VM_SUITE   the Debian kernel package and suite to fetch it from
#   VM_QEMU, VM_MACHINE, VM_CONSOLE   the emulator, its machine flags, the serial console
#   VM_MEMORY      guest memory (512M); VM_APPEND: more kernel command line
#   VM_TIMEOUT     seconds (240 on x86_64, 900 on the others)
# Downloads are cached under target/vm/debs (scripts/vm/fetch-deb.sh).
set -eu

cd "$(dirname "$0")/.."
VMTOOL=scripts/vm/vmtool.py

say() { echo "test-vm: $*"; }
die() {
	echo "test-vm: error: $*" >&2
	exit 1
}

# The caller's choices win over the architecture's defaults.
want_kernel_pkg=${VM_KERNEL_PKG:-} want_suite=${VM_SUITE:-} want_console=${VM_CONSOLE:-}
# shellcheck source=scripts/arch.sh
. scripts/arch.sh
arch_set "${ARCH:-}" || exit 1
# The guest's userland (busybox) stays the architecture's own suite's when another
# suite's kernel is booted: the tests rely on its applets (Debian 11's lacks timeout -k).
BUSYBOX_SUITE=$VM_SUITE
VM_KERNEL_PKG=${want_kernel_pkg:-$VM_KERNEL_PKG}
VM_SUITE=${want_suite:-$VM_SUITE}
VM_CONSOLE=${want_console:-$VM_CONSOLE}
QEMU=${VM_QEMU:-$QEMU}
QEMU_MACHINE=${VM_MACHINE:-$QEMU_MACHINE}
MEMORY=${VM_MEMORY:-512M}
if [ "$ARCH" = x86_64 ]; then TIMEOUT=${VM_TIMEOUT:-240}; else TIMEOUT=${VM_TIMEOUT:-900}; fi
VM_DIR=target/vm/$ARCH
# The host's kernel serves the x86_64 guest unless another kernel is asked for; its busybox
# serves it always.
use_host= host_busybox=
[ "$ARCH" = x86_64 ] && [ -z "$want_kernel_pkg" ] && use_host=1
[ "$ARCH" = x86_64 ] && host_busybox=1

is_static() { python3 "$VMTOOL" is-static "$1"; }
is_static_busybox() {
	[ -x /bin/busybox ] && command -v python3 >/dev/null && is_static /bin/busybox
}

newest_kernel() {
	local k
	k=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
	[ -n "$k" ] && echo "$k"
}

# fetch SUITE DEB_ARCH PKG PATTERN: a file of a Debian package (cached); prints its path.
fetch() {
	local dir=target/vm/debs/$1-$2-$3 found
	# find's -path and tar's wildcards both let * match a '/' (bin/ or usr/bin/).
	found=$(find "$dir/root" -path "$dir/root/$4" 2>/dev/null | sort | head -n 1)
	if [ -z "$found" ]; then
		say "fetching $3 ($1, $2)" >&2
		scripts/vm/fetch-deb.sh "$1" "$2" "$3" "$dir" "./$4" >/dev/null || return 1
		found=$(find "$dir/root" -path "$dir/root/$4" | sort | head -n 1)
	fi
	[ -n "$found" ] && echo "$found"
}

# --- 1. tools: qemu, a kernel, static busyboxes, python3 (kernel extraction, cpio) ---
# The host's static busybox also lists the applets for the rootfs of every architecture.
missing=()
command -v "$QEMU" >/dev/null || missing+=("$QEMU_PKG")
command -v python3 >/dev/null || missing+=(python3)
[ -n "$use_host" ] && [ -z "${VM_KERNEL:-}" ] && ! newest_kernel >/dev/null && missing+=(linux-image-amd64)
# busybox-static replaces a dynamic /bin/busybox, which would not run in the guest.
is_static_busybox || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		say "installing ${missing[*]}"
		apt-get update
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
	else
		die "missing ${missing[*]}; install them with: sudo apt-get install --no-install-recommends ${missing[*]}"
	fi
fi
command -v "$QEMU" >/dev/null || die "$QEMU still not found after installing $QEMU_PKG"
is_static_busybox || die "/bin/busybox is missing or not statically linked: install busybox-static"

if [ -n "${VM_KERNEL:-}" ]; then
	KERNEL=$VM_KERNEL
elif [ -n "$use_host" ]; then
	KERNEL=$(newest_kernel) || die "no /boot/vmlinuz-* found: install linux-image-amd64"
else
	KERNEL=$(fetch "$VM_SUITE" "$DEB_ARCH" "$VM_KERNEL_PKG" 'boot/vmlinu[xz]-*') ||
		die "could not fetch $VM_KERNEL_PKG ($VM_SUITE, $DEB_ARCH) from Debian's archive"
fi
[ -r "$KERNEL" ] || die "$KERNEL is not readable by $(id -un): run as root or set VM_KERNEL to a readable kernel"
if [ -n "$host_busybox" ]; then
	BUSYBOX=/bin/busybox
else
	BUSYBOX=$(fetch "$BUSYBOX_SUITE" "$DEB_ARCH" busybox-static '*bin/busybox') ||
		die "could not fetch busybox-static ($BUSYBOX_SUITE, $DEB_ARCH) from Debian's archive"
fi
is_static "$BUSYBOX" || die "$BUSYBOX is not a static executable"
COMPAT_BUSYBOX=
if [ -n "$VM_COMPAT_ARCH" ]; then
	COMPAT_BUSYBOX=$(fetch "$BUSYBOX_SUITE" "$VM_COMPAT_ARCH" busybox-static '*bin/busybox') ||
		die "could not fetch busybox-static ($BUSYBOX_SUITE, $VM_COMPAT_ARCH) from Debian's archive"
fi

# --- 2. the static launcher ---
if [ -n "${LAUNCHER_BIN:-}" ]; then
	[ -f "$LAUNCHER_BIN" ] || die "LAUNCHER_BIN=$LAUNCHER_BIN does not exist"
else
	LAUNCHER_BIN=target/$RUST_TARGET/release/launcher
	# Always ask cargo: it is quick when nothing changed, and a stale binary would test old code.
	cargo=("${CARGO:-cargo}")
	[ -n "$RUST_TOOLCHAIN" ] && cargo+=("+$RUST_TOOLCHAIN")
	say "${cargo[*]} build --release --target $RUST_TARGET"
	"${cargo[@]}" build --release --target "$RUST_TARGET" ||
		die "cargo build for $RUST_TARGET failed (make toolchain ARCH=$ARCH installs what it needs)"
	[ -f "$LAUNCHER_BIN" ] || die "cargo build --release did not produce $LAUNCHER_BIN"
fi
is_static "$LAUNCHER_BIN" ||
	die "$LAUNCHER_BIN is not a static executable; the guest has no libc (build for $RUST_TARGET)"
# The budget holds on every architecture (the init's, 8 KiB, is checked by launcher/build.rs).
size=$(stat -c %s "$LAUNCHER_BIN")
[ "$size" -le $((768 * 1024)) ] || die "$LAUNCHER_BIN is $size bytes, over the launcher's 768 KiB budget"

mkdir -p "$VM_DIR"

# --- 3. the kernel: on x86_64 the ELF inside the bzImage boots by PVH in half the time ---
BOOT=$KERNEL
if [ "$ARCH" = x86_64 ]; then
	vmlinux=$VM_DIR/vmlinux-$(basename "$KERNEL")
	key="$(basename "$KERNEL") $(stat -c '%Y %s' "$KERNEL")"
	if [ -f "$vmlinux" ] && [ "$(cat "$vmlinux.key" 2>/dev/null)" = "$key" ]; then
		BOOT=$vmlinux
	elif rm -f "$vmlinux.key" && python3 "$VMTOOL" vmlinux "$KERNEL" "$vmlinux"; then
		echo "$key" >"$vmlinux.key"
		BOOT=$vmlinux
	else
		say "warning: could not extract an ELF kernel from $KERNEL; booting the bzImage (slower)"
	fi
fi

# --- 4. the initramfs ---
# Stand-in for scripts/busybox-rootfs.sh: a directory that runs busybox's applets and has the
# mount points the launcher uses.
fallback_busybox_rootfs() {
	local dir=$1 app
	mkdir -p "$dir"/{bin,dev,etc,proc,root,sys,tmp}
	chmod 1777 "$dir/tmp"
	cp "$BUSYBOX" "$dir/bin/busybox"
	for app in $(/bin/busybox --list); do
		[ "$app" = busybox ] || ln -s busybox "$dir/bin/$app"
	done
	echo "root:x:0:0:root:/root:/bin/sh" >"$dir/etc/passwd"
	echo "root:x:0:" >"$dir/etc/group"
}

stage=$VM_DIR/initramfs.d
rm -rf "$stage"
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,etc,home,newroot,proc,root,sys,tmp,tests}
chmod 1777 "$stage/tmp"
# The applet list comes from the host's busybox (the guest's may be of another
# architecture); Debian builds every architecture's busybox-static alike.
cp "$BUSYBOX" "$stage/bin/busybox"
for app in $(/bin/busybox --list-full); do
	case "$app" in */*) [ -e "$stage/$app" ] || ln -s /bin/busybox "$stage/$app" ;; esac
done
cp "$LAUNCHER_BIN" "$stage/bin/launcher"
cp scripts/vm/init "$stage/init"
cp scripts/vm/guest-tests.sh "$stage/tests/guest-tests.sh"
chmod 755 "$stage/init" "$stage/bin/launcher"
echo "root:x:0:0:root:/root:/bin/sh" >"$stage/etc/passwd"
echo "root:x:0:" >"$stage/etc/group"
if [ -f scripts/cgroup.sh ]; then
	mkdir -p "$stage/scripts"
	cp scripts/cgroup.sh "$stage/scripts/cgroup.sh"
fi
if [ -x scripts/busybox-rootfs.sh ]; then
	scripts/busybox-rootfs.sh "$stage/rootfs" >/dev/null || die "scripts/busybox-rootfs.sh $stage/rootfs failed"
	cp "$BUSYBOX" "$stage/rootfs/bin/busybox"
else
	fallback_busybox_rootfs "$stage/rootfs"
fi
# The other calling convention this kernel runs: guest-tests.sh shows the filter killing it.
[ -z "$COMPAT_BUSYBOX" ] || install -m 755 "$COMPAT_BUSYBOX" "$stage/rootfs/bin/busybox-$VM_COMPAT_ARCH"
python3 "$VMTOOL" cpio "$stage" "$VM_DIR/initramfs.cpio" dev/console:c:5:1:600 dev/null:c:1:3:666

# --- 5. boot, echo the console, count the results ---
log=$VM_DIR/console.log
say "booting $ARCH $BOOT under $QEMU (TCG, $MEMORY, timeout ${TIMEOUT}s); console log: $log"
start=$(date +%s)
set +e
# shellcheck disable=SC2086 # the machine flags are words on purpose
timeout -k 10 "$TIMEOUT" "$QEMU" $QEMU_MACHINE -m "$MEMORY" -nographic -no-reboot -nic none \
	-kernel "$BOOT" -initrd "$VM_DIR/initramfs.cpio" \
	-append "console=$VM_CONSOLE quiet panic=-1 cgroup_no_v1=all ${VM_APPEND:-}" </dev/null 2>&1 |
	tee "$log" | sed -u -e 's/\r$//' -e 's/^/vm: /'
qemu_rc=${PIPESTATUS[0]}
set -e

lines=$(tr -d '\r' <"$log")
passed=$(grep -c '^PASS ' <<<"$lines" || true)
failed=$(grep -c '^FAIL ' <<<"$lines" || true)
done_line=$(grep '^DONE ' <<<"$lines" | tail -n 1 || true)
echo "vm: $ARCH: $passed passed, $failed failed in $(($(date +%s) - start)) s"

if [ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ]; then
	die "the guest did not finish within ${TIMEOUT}s (raise VM_TIMEOUT if it was just slow)"
elif [ -z "$done_line" ]; then
	die "the guest never reported its DONE line (qemu exit status $qemu_rc); see $log"
elif [ "$done_line" != "DONE $passed passed, $failed failed" ]; then
	die "the guest reported '$done_line' but the console shows $passed PASS and $failed FAIL lines; see $log"
elif [ "$qemu_rc" != 0 ]; then
	die "qemu exited with status $qemu_rc"
elif [ "$failed" != 0 ]; then
	die "$failed test(s) failed in the VM"
elif [ "$passed" = 0 ]; then
	die "no test ran in the VM"
fi
