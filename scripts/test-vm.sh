#!/usr/bin/env bash
# make test-vm: test the launcher for real on a pure cgroup v2 kernel, rootful and rootless.
#
# Boots Debian's kernel under qemu (TCG: KVM is not dependable on nested hosts) with an
# initramfs holding busybox, the static launcher, a busybox rootfs for containers and
# scripts/vm/guest-tests.sh. The guest mounts cgroup2 alone, runs the tests and prints
# "PASS name" / "FAIL name: reason" lines and "DONE n passed, m failed" on its serial
# console, which this script echoes with a "vm: " prefix and counts.
#
# Environment: LAUNCHER_BIN (a static launcher; default: cargo build --release),
# VM_KERNEL (a bzImage; default: the newest /boot/vmlinuz-*), VM_TIMEOUT (seconds, 240).
set -eu

cd "$(dirname "$0")/.."
VM_DIR=target/vm
TIMEOUT=${VM_TIMEOUT:-240}
VMTOOL=scripts/vm/vmtool.py

say() { echo "test-vm: $*"; }
die() {
	echo "test-vm: error: $*" >&2
	exit 1
}

is_static_busybox() {
	[ -x /bin/busybox ] && command -v python3 >/dev/null && python3 "$VMTOOL" is-static /bin/busybox
}

newest_kernel() {
	local k
	k=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
	[ -n "$k" ] && echo "$k"
}

# --- 1. tools: qemu, a kernel, a static busybox, python3 (kernel extraction, cpio) ---
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
command -v python3 >/dev/null || missing+=(python3)
[ -n "${VM_KERNEL:-}" ] || newest_kernel >/dev/null || missing+=(linux-image-amd64)
if ! is_static_busybox; then
	# busybox-static replaces a dynamic /bin/busybox, which would not run in the guest.
	missing+=(busybox-static)
fi
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		say "installing ${missing[*]}"
		apt-get update
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
	else
		die "missing ${missing[*]}; install them with: sudo apt-get install --no-install-recommends ${missing[*]}"
	fi
fi
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 still not found after installing qemu-system-x86"
is_static_busybox || die "/bin/busybox is missing or not statically linked: install busybox-static"
KERNEL=${VM_KERNEL:-$(newest_kernel)} || die "no /boot/vmlinuz-* found: install linux-image-amd64"
[ -r "$KERNEL" ] || die "$KERNEL is not readable by $(id -un): run as root or set VM_KERNEL to a readable bzImage"

# --- 2. the static launcher ---
if [ -n "${LAUNCHER_BIN:-}" ]; then
	[ -f "$LAUNCHER_BIN" ] || die "LAUNCHER_BIN=$LAUNCHER_BIN does not exist"
else
	LAUNCHER_BIN=target/x86_64-unknown-linux-musl/release/launcher
	# Always ask cargo: it is quick when nothing changed, and a stale binary would test old code.
	say "${CARGO:-cargo} build --release"
	"${CARGO:-cargo}" build --release || die "cargo build --release failed"
	[ -f "$LAUNCHER_BIN" ] || die "cargo build --release did not produce $LAUNCHER_BIN"
fi
python3 "$VMTOOL" is-static "$LAUNCHER_BIN" ||
	die "$LAUNCHER_BIN is not a static executable; the guest has no libc (build for x86_64-unknown-linux-musl)"

mkdir -p "$VM_DIR"

# --- 3. the kernel: the ELF inside the bzImage boots by PVH in half the time ---
key="$(basename "$KERNEL") $(stat -c '%Y %s' "$KERNEL")"
if [ -f "$VM_DIR/vmlinux" ] && [ "$(cat "$VM_DIR/vmlinux.key" 2>/dev/null)" = "$key" ]; then
	BOOT=$VM_DIR/vmlinux
elif rm -f "$VM_DIR/vmlinux.key" && python3 "$VMTOOL" vmlinux "$KERNEL" "$VM_DIR/vmlinux"; then
	echo "$key" >"$VM_DIR/vmlinux.key"
	BOOT=$VM_DIR/vmlinux
else
	say "warning: could not extract an ELF kernel from $KERNEL; booting the bzImage (slower)"
	BOOT=$KERNEL
fi

# --- 4. the initramfs ---
# Stand-in for scripts/busybox-rootfs.sh: a directory that runs busybox's applets and has the
# mount points the launcher uses.
fallback_busybox_rootfs() {
	local dir=$1 app
	mkdir -p "$dir"/{bin,dev,etc,proc,root,sys,tmp}
	chmod 1777 "$dir/tmp"
	cp /bin/busybox "$dir/bin/busybox"
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
cp /bin/busybox "$stage/bin/busybox"
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
else
	fallback_busybox_rootfs "$stage/rootfs"
fi
python3 "$VMTOOL" cpio "$stage" "$VM_DIR/initramfs.cpio" dev/console:c:5:1:600 dev/null:c:1:3:666

# --- 5. boot, echo the console, count the results ---
log=$VM_DIR/console.log
say "booting $BOOT under qemu (TCG, timeout ${TIMEOUT}s); console log: $log"
set +e
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -accel tcg -m 512 -nographic -no-reboot -nic none \
	-kernel "$BOOT" -initrd "$VM_DIR/initramfs.cpio" \
	-append 'console=ttyS0 quiet panic=-1 cgroup_no_v1=all' </dev/null 2>&1 |
	tee "$log" | sed -u -e 's/\r$//' -e 's/^/vm: /'
qemu_rc=${PIPESTATUS[0]}
set -e

lines=$(tr -d '\r' <"$log")
passed=$(grep -c '^PASS ' <<<"$lines" || true)
failed=$(grep -c '^FAIL ' <<<"$lines" || true)
done_line=$(grep '^DONE ' <<<"$lines" | tail -n 1 || true)
echo "vm: $passed passed, $failed failed"

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
