# launcher: build, run, test. `make` alone lists the targets.

CARGO  ?= cargo
PREFIX ?= /usr/local
ROOTFS ?= alpine-fs
CMD    ?= /bin/sh
PIDS   ?= 10
MEMORY ?= 50m

# The architecture to build for (x86_64, aarch64, armv7, riscv64; default: this
# machine's). scripts/arch.sh holds what each needs.
ARCH   ?= $(shell scripts/arch.sh '' ARCH)
ARCHES := $(shell scripts/arch.sh --list)
TARGET := $(shell scripts/arch.sh '$(ARCH)' RUST_TARGET)
RUST_TOOLCHAIN := $(shell scripts/arch.sh '$(ARCH)' RUST_TOOLCHAIN)
CARGO_FOR_ARCH := $(CARGO)$(if $(RUST_TOOLCHAIN), +$(RUST_TOOLCHAIN))
BIN    := target/$(TARGET)/release/launcher

.DEFAULT_GOAL := help
.PHONY: help toolchain build dist rootfs run test test-vm test-vm-kernels test-engines bench-smoke bench lint cgroup install clean

help:
	@echo 'launcher: a minimal, fast Linux container runtime'
	@echo
	@echo 'Targets:'
	@echo '  make run [CMD=/bin/sh] [ROOTFS=alpine-fs] [PIDS=10] [MEMORY=50m]'
	@echo '                    build, make the rootfs, run CMD in a container'
	@echo '                    (PIDS= MEMORY= : no limits, so no cgroup is needed)'
	@echo '  make build [ARCH=x86_64|aarch64|armv7|riscv64]'
	@echo '                    static release binary: target/TARGET/release/launcher'
	@echo '  make dist         dist/launcher-VERSION-ARCH for every architecture, SHA256SUMS'
	@echo '  make rootfs       Alpine mini root filesystem in $$ROOTFS (busybox one offline)'
	@echo '  make test         cargo tests, the VM tests of every architecture, the engines, a quick benchmark'
	@echo '  make test-vm [ARCH=...]  the tests in a qemu guest of ARCH with pure cgroup v2'
	@echo '  make test-vm-kernels  the tests on Linux 5.10, without user namespaces, in 96 MiB (x86_64) and 64 MiB (aarch64)'
	@echo '  make test-engines [RUNTIME=/abs/path] [ENGINES="bundle podman rootless containerd docker"]'
	@echo '                    podman, containerd and docker drive RUNTIME (default: the launcher); as root'
	@echo '  make bench        compare start-up time with crun, runc, bwrap, ...'
	@echo '  make bench-smoke  a short benchmark run (part of make test)'
	@echo '  make lint         cargo fmt --check and clippy -D warnings'
	@echo '  sudo make cgroup  give $$SUDO_USER a delegated cgroup for rootless limits'
	@echo '  make install      install to $$(DESTDIR)$$(PREFIX)/bin (PREFIX=$(PREFIX))'
	@echo '  make clean        cargo clean; remove $$ROOTFS and bench/work'
	@echo '  make toolchain [ARCH=...]  add the Rust musl target and a linker for ARCH'
	@echo
	@echo 'Environment: LAUNCHER_OFFLINE=1 skips the Alpine download.'

toolchain:
	@scripts/ensure-toolchain.sh $(ARCH)

build: toolchain
	$(CARGO_FOR_ARCH) build --release --target $(TARGET)

dist:
	scripts/dist.sh

rootfs:
	scripts/rootfs.sh $(ROOTFS)

# -i -t only when stdin is a terminal: `make run < file` and CI have none.
# The limits need a cgroup; an ordinary user without a writable one gets exit
# status 125 and a hint to run `sudo make cgroup`, or can pass PIDS= MEMORY=.
run: build rootfs
	@tty_flags=-i; [ -t 0 ] && tty_flags='-i -t'; \
	set -x; exec $(BIN) run $$tty_flags --rootfs $(ROOTFS) \
		$(if $(strip $(PIDS)),--pids-limit $(PIDS)) \
		$(if $(strip $(MEMORY)),--memory $(MEMORY)) \
		-- $(CMD)

# Every architecture's guest: each boots its own Debian kernel under qemu.
test: toolchain
	$(MAKE) lint
	$(CARGO) test --release
	$(foreach arch,$(ARCHES),$(MAKE) test-vm ARCH=$(arch) &&) true
	$(MAKE) test-vm-kernels
	$(MAKE) test-engines
	$(MAKE) bench-smoke

test-vm: toolchain
	ARCH=$(ARCH) scripts/test-vm.sh

# The same guest tests on x86_64 with Debian 11's Linux 5.10 (fetched once into
# target/vm/debs), on a kernel that makes no user namespaces, and with little memory. 96 MiB is the least in
# which Debian's x86_64 kernel boots (its image ends 74 MiB into physical memory); it leaves
# 48 MiB to the system and about 24 MiB available to programs, less than a 64 MiB arm64 guest.
test-vm-kernels: toolchain
	ARCH=x86_64 VM_SUITE=bullseye VM_KERNEL_PKG=linux-image-amd64 scripts/test-vm.sh
	ARCH=x86_64 VM_APPEND=sysctl.user.max_user_namespaces=0 scripts/test-vm.sh
	ARCH=x86_64 VM_MEMORY=96M scripts/test-vm.sh
	ARCH=aarch64 VM_MEMORY=64M scripts/test-vm.sh

# podman (rootful and rootless), containerd and docker drive an OCI runtime,
# and the runtime's own verbs are checked on a bare bundle (tests/engines/).
# RUNTIME defaults to the launcher built here; RUNTIME=/usr/sbin/runc checks
# the harness itself. ENGINES picks sections. Needs root and the engines
# (.ci/run installs them).
ifeq ($(origin RUNTIME),undefined)
RUNTIME := $(CURDIR)/$(BIN)
ENGINES_BUILD := build
endif
test-engines: $(ENGINES_BUILD)
	tests/engines/run.sh --runtime '$(abspath $(RUNTIME))' $(ENGINES)

bench-smoke: build
	bench/bench.sh --smoke

bench: build
	bench/bench.sh

# The other architectures' code (their arch modules) is checked too, warnings as errors:
# clippy where the toolchain has it (the pinned minimal one for armv7 and riscv64 has not).
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@for arch in $(filter-out $(ARCH),$(ARCHES)); do \
		scripts/ensure-toolchain.sh $$arch || exit 1; \
		target=$$(scripts/arch.sh $$arch RUST_TARGET); tc=$$(scripts/arch.sh $$arch RUST_TOOLCHAIN); \
		if [ -z "$$tc" ]; then \
			echo "$(CARGO) clippy --workspace --target $$target -- -D warnings"; \
			$(CARGO) clippy --workspace --target $$target -- -D warnings || exit 1; \
		else \
			echo "RUSTFLAGS=-Dwarnings $(CARGO) +$$tc check --workspace --target $$target"; \
			RUSTFLAGS=-Dwarnings $(CARGO) +$$tc check --workspace --target $$target || exit 1; \
		fi; \
	done

cgroup:
	scripts/cgroup.sh

install: build
	install -D -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/launcher

clean:
	@case '$(ROOTFS)' in ''|/|.|..) echo 'make clean: refusing to remove ROOTFS=$(ROOTFS)' >&2; exit 1;; esac
	$(CARGO) clean
	rm -rf $(ROOTFS) $(ROOTFS).tmp.* bench/work dist
