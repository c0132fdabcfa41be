# launcher: build, run, test. `make` alone lists the targets.

CARGO  ?= cargo
PREFIX ?= /usr/local
ROOTFS ?= alpine-fs
CMD    ?= /bin/sh
PIDS   ?= 10
MEMORY ?= 50m

TARGET := x86_64-unknown-linux-musl
BIN    := target/$(TARGET)/release/launcher

.DEFAULT_GOAL := help
.PHONY: help toolchain build rootfs run test test-vm test-vm-kernels bench-smoke bench lint cgroup install clean

help:
	@echo 'launcher: a minimal, fast Linux container runtime'
	@echo
	@echo 'Targets:'
	@echo '  make run [CMD=/bin/sh] [ROOTFS=alpine-fs] [PIDS=10] [MEMORY=50m]'
	@echo '                    build, make the rootfs, run CMD in a container'
	@echo '                    (PIDS= MEMORY= : no limits, so no cgroup is needed)'
	@echo '  make build        static release binary: $(BIN)'
	@echo '  make rootfs       Alpine mini root filesystem in $$ROOTFS (busybox one offline)'
	@echo '  make test         cargo tests, the cgroup v2 VM test, a quick benchmark'
	@echo '  make test-vm      the tests in a qemu guest with pure cgroup v2'
	@echo '  make test-vm-kernels  the same on Linux 5.10, without user namespaces, in 96 MiB'
	@echo '  make bench        compare start-up time with crun, runc, bwrap, ...'
	@echo '  make bench-smoke  a short benchmark run (part of make test)'
	@echo '  make lint         cargo fmt --check and clippy -D warnings'
	@echo '  sudo make cgroup  give $$SUDO_USER a delegated cgroup for rootless limits'
	@echo '  make install      install to $$(DESTDIR)$$(PREFIX)/bin (PREFIX=$(PREFIX))'
	@echo '  make clean        cargo clean; remove $$ROOTFS and bench/work'
	@echo '  make toolchain    add the Rust musl target, check for a C compiler'
	@echo
	@echo 'Environment: LAUNCHER_OFFLINE=1 skips the Alpine download.'

toolchain:
	@scripts/ensure-toolchain.sh

build: toolchain
	$(CARGO) build --release

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

test: toolchain
	$(MAKE) lint
	$(CARGO) test --release
	$(MAKE) test-vm
	$(MAKE) test-vm-kernels
	$(MAKE) bench-smoke

test-vm: build
	scripts/test-vm.sh

# The same guest tests on Debian 11's Linux 5.10 (fetched once into target/vm/debian), on a
# kernel that makes no user namespaces, and with little memory. 96 MiB is the least in
# which Debian's x86_64 kernel boots (its image ends 74 MiB into physical memory); it leaves
# 48 MiB to the system and about 24 MiB available to programs, less than a 64 MiB arm64 guest.
test-vm-kernels: build
	scripts/test-vm.sh --name linux-5.10 --kernel-deb bullseye:linux-image-amd64
	scripts/test-vm.sh --name no-userns --sysctl user.max_user_namespaces=0
	scripts/test-vm.sh --name small-memory --memory 96

bench-smoke: build
	bench/bench.sh --smoke

bench: build
	bench/bench.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

cgroup:
	scripts/cgroup.sh

install: build
	install -D -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/launcher

clean:
	@case '$(ROOTFS)' in ''|/|.|..) echo 'make clean: refusing to remove ROOTFS=$(ROOTFS)' >&2; exit 1;; esac
	$(CARGO) clean
	rm -rf $(ROOTFS) $(ROOTFS).tmp.* bench/work
