#!/usr/bin/env bash
# make test-vm: test the launcher for real on a pure cgroup v2 kernel, rootful and rootless.
#
# Boots Debian's kernel under qemu (TCG: KVM is not dependable on nested hosts) with an
# initramfs holding busybox, the static launcher, a busybox rootfs for containers and
# scripts/vm/guest-tests.sh. The guest mounts cgroup2 alone, runs the tests and prints
# "PASS name" / "FAIL name: reason" lines and "DONE n passed, m failed" on its serial
# console, which this script echoes with a "vm: " prefix and counts.
#
# Options (each also as an environment variable):
#   --kernel FILE          VM_KERNEL: a bzImage (default: the newest /boot/vmlinuz-*)
#   --kernel-deb SUITE:PKG VM_KERNEL_DEB: Debian's kernel package of that suite instead,
#                          fetched once into target/vm/debian (bullseye:linux-image-amd64: 5.10)
#   --memory MIB           VM_MEMORY: the guest's RAM (default 512)
#   --sysctl NAME=VALUE    VM_SYSCTL: set in the guest before the tests (repeatable; in the
#                          variable, space-separated), e.g. user.max_user_namespaces=0
#   --name NAME            VM_NAME: names this run's files in target/vm/NAME (default v2)
# and LAUNCHER_BIN (a static launcher; default: cargo build --release), VM_TIMEOUT (240 s).
set -eu

cd "$(dirname "$0")/.."
VM_DIR=target/vm
TIMEOUT=${VM_TIMEOUT:-240}
VMTOOL=scripts/vm/vmtool.py
KERNEL_DEB=${VM_KERNEL_DEB:-}
MEMORY=${VM_MEMORY:-512}
SYSCTLS=${VM_SYSCTL:-}
NAME=${VM_NAME:-v2}
# Debian's name for the guest's architecture, for --kernel-deb.
DEB_ARCH=${DEB_ARCH:-amd64}
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) VM_KERNEL=${2:?--kernel needs a file} ;;
	--kernel-deb) KERNEL_DEB=${2:?--kernel-deb needs SUITE:PACKAGE} ;;
	--memory) MEMORY=${2:?--memory needs MiB} ;;
	--sysctl) SYSCTLS="$SYSCTLS ${2:?--sysctl needs NAME=VALUE}" ;;
	--name) NAME=${2:?--name needs a name} ;;
	*)
		echo "test-vm: unknown option $1 (see the top of $0)" >&2
		exit 2
		;;
	esac
	shift 2
done
case $MEMORY in *[!0-9]* | '') echo "test-vm: --memory takes MiB, not '$MEMORY'" >&2 && exit 2 ;; esac
case $NAME in *[!A-Za-z0-9._-]* | '') echo "test-vm: --name takes letters, digits, . _ -, not '$NAME'" >&2 && exit 2 ;; esac
RUN_DIR=$VM_DIR/$NAME

say() { echo "test-vm[$NAME]: $*"; }
die() {
	echo "test-vm[$NAME]: error: $*" >&2
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
[ -n "${VM_KERNEL:-}$KERNEL_DEB" ] || newest_kernel >/dev/null || missing+=(linux-image-amd64)
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
if [ -n "$KERNEL_DEB" ]; then
	case $KERNEL_DEB in *:?*) ;; *) die "--kernel-deb takes SUITE:PACKAGE, e.g. bullseye:linux-image-amd64" ;; esac
	say "kernel: Debian ${KERNEL_DEB%%:*}'s ${KERNEL_DEB#*:} (cached in $VM_DIR/debian)"
	unpacked=$(scripts/vm/debian-deb.sh "${KERNEL_DEB%%:*}" "$DEB_ARCH" "${KERNEL_DEB#*:}" "$VM_DIR/debian" ./boot) ||
		die "could not fetch $KERNEL_DEB from Debian's archive"
	VM_KERNEL=$(ls "$unpacked"/boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
	[ -n "$VM_KERNEL" ] || die "$KERNEL_DEB holds no boot/vmlinuz-*"
fi
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

mkdir -p "$VM_DIR/kernels" "$RUN_DIR"

# --- 3. the kernel: the ELF inside the bzImage boots by PVH in half the time ---
# One cached ELF per kernel, so that runs with different kernels do not undo each other's.
key="$(basename "$KERNEL") $(stat -c '%Y %s' "$KERNEL")"
elf=$VM_DIR/kernels/$(basename "$KERNEL").elf
if [ -f "$elf" ] && [ "$(cat "$elf.key" 2>/dev/null)" = "$key" ]; then
	BOOT=$elf
elif rm -f "$elf.key" && python3 "$VMTOOL" vmlinux "$KERNEL" "$elf"; then
	echo "$key" >"$elf.key"
	BOOT=$elf
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

stage=$RUN_DIR/initramfs.d
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
# What the guest's init sets up before the tests.
printf 'GUEST_NAME=%s\nGUEST_SYSCTL="%s"\n' "$NAME" "${SYSCTLS# }" >"$stage/tests/guest.env"
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
python3 "$VMTOOL" cpio "$stage" "$RUN_DIR/initramfs.cpio" dev/console:c:5:1:600 dev/null:c:1:3:666

# --- 5. boot, echo the console, count the results ---
log=$RUN_DIR/console.log
say "booting $BOOT under qemu (TCG, ${MEMORY} MiB${SYSCTLS:+, sysctl$SYSCTLS}, timeout ${TIMEOUT}s); console log: $log"
set +e
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -accel tcg -m "$MEMORY" -nographic -no-reboot -nic none \
	-kernel "$BOOT" -initrd "$RUN_DIR/initramfs.cpio" \
	-append 'console=ttyS0 quiet panic=-1 cgroup_no_v1=all' </dev/null 2>&1 |
	tee "$log" | sed -u -e 's/\r$//' -e "s/^/vm[$NAME]: /"
qemu_rc=${PIPESTATUS[0]}
set -e

lines=$(tr -d '\r' <"$log")
passed=$(grep -c '^PASS ' <<<"$lines" || true)
failed=$(grep -c '^FAIL ' <<<"$lines" || true)
done_line=$(grep '^DONE ' <<<"$lines" | tail -n 1 || true)
echo "vm[$NAME]: $passed passed, $failed failed"

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
