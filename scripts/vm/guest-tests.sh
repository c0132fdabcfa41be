#!/bin/sh
# Guest side of `make test-vm`: runs the launcher on a pure cgroup v2 kernel, as root and as
# an unprivileged user, and prints one "PASS name" or "FAIL name: reason" line per check,
# then "DONE n passed, m failed". scripts/test-vm.sh counts those lines on the serial
# console; anything else it shows goes out indented ("#   ...") so it cannot be taken for a
# result. Every launcher run has a deadline, so one hang costs a test, not the suite.
set -eu

LAUNCHER=/bin/launcher
CG=/sys/fs/cgroup
USER_NAME=user
USER_ID=1000
USER_CG=$CG/launcher.user-$USER_ID
# Where a login would put the launcher's caller: on a host, root's shell sits in some
# session cgroup with other processes, and the user's in the delegated subtree, as the
# launcher's "not inside launcher.user-UID" error tells users to arrange.
ROOT_LOGIN_CG=$CG/vm-login
# A cgroup in which the launcher finds itself alone (as in a systemd scope): it moves
# itself and its container's init into a leaf of their own there (Rule::MoveSelf).
ALONE_CG=$CG/vm-alone
USER_SESSION_CG=$USER_CG/session
VOL=/vol
HOLDERS=
T=/tmp/t
passed=0
failed=0

pass() {
	echo "PASS $1"
	passed=$((passed + 1))
}
fail() {
	echo "FAIL $1: $2"
	failed=$((failed + 1))
}
# show FILE...: the first lines of what a failing run printed.
show() {
	for f in "$@"; do
		[ -s "$f" ] && sed -n "1,15s|^|#   ${f##*.}: |p" "$f"
	done
	true
}

# launch OUT ERR ARGS...: run the launcher as MODE's user (root or user), starting in the
# cgroup FROM (empty: the root cgroup, where this script runs); sets rc.
# launch_bg does the same in the background; sets bgpid, then wait_bg sets rc.
launch_cmd() {
	if [ "$MODE" = user ]; then
		# su execs sh, which execs the launcher: the deadline hits the launcher itself.
		set -- su -s /bin/sh -c 'exec "$0" "$@"' -- "$USER_NAME" "$LAUNCHER" "$@"
	else
		set -- "$LAUNCHER" "$@"
	fi
	if [ -n "$FROM" ]; then
		# timeout stays outside FROM: there the launcher is alone but for holders.
		set -- timeout -k 5 60 sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$FROM" "$@"
	else
		set -- timeout -k 5 60 "$@"
	fi
	"$@"
}
launch() {
	out=$1 err=$2
	shift 2
	rc=0
	launch_cmd "$@" >"$out" 2>"$err" </dev/null || rc=$?
}
launch_bg() {
	out=$1 err=$2
	shift 2
	launch_cmd "$@" >"$out" 2>"$err" </dev/null &
	bgpid=$!
}
wait_bg() {
	rc=0
	wait "$bgpid" || rc=$?
}

# Cgroup directories that did not exist when the suite began.
new_cgroups() {
	find "$CG" -mindepth 1 -type d | sort | grep -vxF -f "$T.cg-base" || true
}

# container_cgroup: waits (up to 20 s, while the background launcher lives) for a new
# cgroup that holds processes; sets cg.
container_cgroup() {
	cg=
	i=0
	while [ $i -lt 200 ]; do
		for d in $(new_cgroups); do
			case $d in *-self) continue ;; esac # the launcher's own leaf (MoveSelf)
			if read -r pid 2>/dev/null <"$d/cgroup.procs"; then cg=$d; fi
		done
		[ -n "$cg" ] && return 0
		kill -0 "$bgpid" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# user_procs: sets LEFT to the user-space processes other than PID 1 and this shell. Only
# builtins here: a forked helper would count itself.
user_procs() {
	LEFT=
	for d in /proc/[0-9]*; do
		p=${d#/proc/}
		if [ "$p" = 1 ] || [ "$p" = "$$" ]; then continue; fi
		case " $HOLDERS " in *" $p "*) continue ;; esac
		read -r pid comm state ppid rest 2>/dev/null <"$d/stat" || continue
		# kthreadd (2) and its children are kernel threads.
		if [ "$pid" = 2 ] || [ "$ppid" = 2 ]; then continue; fi
		# busybox timeout's watcher outlives the launcher by up to a second: ours, not its.
		if [ "$comm" = "(timeout)" ]; then continue; fi
		LEFT="$LEFT $pid$comm"
	done
}

# clean NAME: once the launcher has exited, nothing of its run may remain.
clean() {
	left=$(new_cgroups | tr '\n' ' ')
	user_procs
	if [ -z "$left" ] && [ -z "$LEFT" ]; then
		pass "$1/cleanup"
	else
		fail "$1/cleanup" "left behind: cgroups [ $left] processes [$LEFT ]"
		# Clear the way for the next test, deepest cgroups first.
		for p in $LEFT; do kill -9 "${p%%(*}" 2>/dev/null || true; done
		for d in $(new_cgroups | sort -r); do rmdir "$d" 2>/dev/null || true; done
	fi
}

t_help() {
	launch $T.out $T.err --help
	if [ $rc != 0 ]; then
		fail $n "launcher --help exited $rc, want 0"
		show $T.out $T.err
	elif ! grep -qw run $T.out; then
		fail $n "launcher --help does not mention the run command"
		show $T.out $T.err
	else
		pass $n
	fi
}

t_check() {
	launch $T.out $T.err check
	if [ $USERNS = on ]; then want="isolation: *a user namespace of its own"; else want="isolation: *no user namespace"; fi
	# What check says of the kernel's calls: mount_setattr came with Linux 5.12.
	if [ "$KERNEL_VERSION" -lt 512 ]; then calls="missing mount_setattr (Linux 5.12)"; else calls="kernel calls: *ok:"; fi
	if [ $rc != 0 ]; then
		fail $n "launcher check exited $rc, want 0 on a pure cgroup v2 kernel"
		show $T.out $T.err
	elif ! grep -q "^$want" $T.out; then
		fail $n "launcher check does not say '$want'"
		show $T.out
	elif ! grep -q "$calls" $T.out; then
		fail $n "launcher check on Linux $(uname -r) does not say '$calls'"
		show $T.out
	else
		echo "#   $n: $(grep -A1 '^kernel calls' $T.out | tr -s ' ' | tr '\n' ' ')"
		pass $n
	fi
}

# The isolation in force, seen from inside: a user namespace of its own (or, where the
# kernel refuses them, the guest's, and --trace says so), docker's 14 capabilities,
# no_new_privs and a seccomp filter either way.
t_isolation() {
	guest_ns=$(readlink /proc/self/ns/user)
	launch $T.out $T.err run --trace --rootfs "$ROOTFS" -- /bin/sh -c '
		readlink /proc/self/ns/user; grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status'
	inner=$(sed -n 1p $T.out)
	caps=$(sed -n 's/^CapEff:[[:space:]]*//p' $T.out)
	nnp=$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' $T.out)
	filter=$(sed -n 's/^Seccomp:[[:space:]]*//p' $T.out)
	if [ $USERNS = on ]; then
		same=no want="isolation: a user namespace of its own"
	else
		same=yes want="isolation: no user namespace"
	fi
	if [ "$inner" = "$guest_ns" ]; then is_same=yes; else is_same=no; fi
	if [ $rc != 0 ]; then
		fail $n "run --trace exited $rc, want 0"
		show $T.out $T.err
	elif [ -z "$inner" ] || [ $is_same != $same ]; then
		fail $n "the container's user namespace is '$inner', the guest's '$guest_ns': want the same: $same"
	elif ! grep -q "trace $want" $T.err; then
		fail $n "--trace does not say '$want'"
		show $T.err
	elif [ "$caps" != 00000000a80425fb ] || [ "$nnp" != 1 ] || [ "$filter" != 2 ]; then
		fail $n "inside: CapEff '$caps' (want docker's 00000000a80425fb), NoNewPrivs '$nnp' (1), Seccomp '$filter' (2)"
	else
		pass $n
	fi
}

# --net none: a network namespace of its own, with lo up.
t_net() {
	guest_net=$(readlink /proc/self/ns/net)
	launch $T.out $T.err run --net none --rootfs "$ROOTFS" -- /bin/sh -c 'readlink /proc/self/ns/net; ip -o link show'
	inner=$(sed -n 1p $T.out)
	links=$(sed -n '2,$p' $T.out)
	if [ $rc != 0 ]; then
		fail $n "run --net none exited $rc, want 0"
		show $T.out $T.err
	elif [ -z "$inner" ] || [ "$inner" = "$guest_net" ]; then
		fail $n "the container's network namespace is '$inner', the guest's '$guest_net': want another"
	elif [ "$(echo "$links" | wc -l)" != 1 ] || ! echo "$links" | grep -q "^1: lo: <LOOPBACK,UP"; then
		fail $n "want lo alone and up, got: $links"
	else
		pass $n
	fi
}

# --user and --group-add. As root: the command's ids and groups, no capability left
# (docker's set stays its bounding set), root's files read-only to it, and with -t a
# terminal it owns; on arm this is setresuid32 and its kin. As the user, whose single-id map holds only 0: one line
# naming the unmapped uid, exit 125, and the command never started.
t_user() {
	groups=
	# A single-id map cannot take groups either: the user's run names the uid alone.
	[ $MODE = root ] && groups="--group-add 10"
	launch $T.out $T.err run --user 1000:1000 $groups --rootfs "$ROOTFS" -- /bin/sh -c '
		echo ran; id -u; id -g; id -G; grep -E "^Cap(Eff|Bnd):" /proc/self/status
		touch /etc/passwd 2>/dev/null && echo wrote || echo no-write'
	got=$(tr -s ' \t\n' ' ' <$T.out)
	if [ $MODE = root ]; then
		want="ran 1000 1000 1000 10 CapEff: 0000000000000000 CapBnd: 00000000a80425fb no-write "
		if [ $rc != 0 ] || [ "$got" != "$want" ]; then
			fail $n "run --user 1000:1000 --group-add 10 exited $rc with '$got', want 0 with '$want'"
			show $T.out $T.err
			return
		fi
		# With -t, the terminal is the user's (fchown, fchown32 on arm).
		launch $T.out $T.err run -t --user 1000:1000 --rootfs "$ROOTFS" -- /bin/sh -c 'stat -c %u $(tty)'
		got=$(tr -d '\r' <$T.out)
		if [ $rc != 0 ] || [ "$got" != 1000 ]; then
			fail $n "run -t --user 1000:1000: the terminal's owner is '$got' (exit $rc), want 1000"
			show $T.out $T.err
		else
			pass $n
		fi
	elif [ $rc != 125 ] || [ -n "$got" ] || [ "$(wc -l <$T.err)" != 1 ] ||
		! grep -q "uid 1000 is not mapped in the container's user namespace" $T.err; then
		fail $n "run --user 1000:1000 as $USER_NAME exited $rc, want 125 with one line naming uid 1000, nothing run"
		show $T.out $T.err
	else
		pass $n
	fi
}

# Where the kernel makes no user namespaces, an ordinary user gets one line that says
# rootless containers need them and how to turn them on, and exit status 125.
t_userns_refused() {
	launch $T.out $T.err run --rootfs "$ROOTFS" -- /bin/true
	lines=$(wc -l <$T.err)
	if [ $rc != 125 ]; then
		fail $n "run as $USER_NAME exited $rc, want 125"
		show $T.out $T.err
	elif [ "$lines" != 1 ] || ! grep -q "rootless containers need user namespaces" $T.err ||
		! grep -q "sysctl -w user.max_user_namespaces=" $T.err; then
		fail $n "want one line saying rootless containers need user namespaces and the sysctl that enables them, got $lines"
		show $T.err
		return
	fi
	launch $T.out $T.err check
	if [ $rc = 0 ]; then
		fail $n "launcher check exited 0 as $USER_NAME, want 1: run cannot work"
		show $T.out
	elif ! grep -q "rootless containers need" $T.out; then
		fail $n "launcher check does not say that rootless containers need user namespaces"
		show $T.out
	else
		pass $n
	fi
}

t_smoke() {
	launch $T.out $T.err run --rootfs "$ROOTFS" -- /bin/true
	if [ $rc != 0 ]; then
		fail $n "run -- /bin/true exited $rc, want 0"
		show $T.out $T.err
		return
	fi
	launch $T.out $T.err run --rootfs "$ROOTFS" -- /bin/sh -c 'exit 3'
	if [ $rc != 3 ]; then
		fail $n "run -- /bin/sh -c 'exit 3' exited $rc, want 3"
		show $T.out $T.err
		return
	fi
	launch $T.out $T.err run --rootfs "$ROOTFS" -- /bin/sh -c 'echo "uid=$(id -u) pid=$$"'
	got=$(cat $T.out)
	if [ $rc != 0 ] || [ "$got" != "uid=0 pid=2" ]; then
		fail $n "run -- sh -c 'echo uid=\$(id -u) pid=\$\$' exited $rc printing '$got', want 0 printing 'uid=0 pid=2'"
		show $T.err
		return
	fi
	pass $n
}

# The seccomp filter of this architecture: a call it denies (unshare of a user namespace,
# which needs no capability, so only the filter refuses it) fails with EPERM and works
# with the filter off; calls it allows (fork, pipe) work.
t_seccomp() {
	launch $T.out $T.err run --rootfs "$ROOTFS" --security-opt seccomp=unconfined -- unshare -U /bin/true
	if [ $rc != 0 ]; then
		fail $n "without the filter, unshare -U exited $rc, want 0: this kernel cannot show the filter's refusal"
		show $T.out $T.err
		return
	fi
	launch $T.out $T.err run --rootfs "$ROOTFS" -- unshare -U /bin/true
	if [ $rc = 0 ]; then
		fail $n "unshare -U worked under the default filter, want EPERM"
		return
	elif ! grep -q "Operation not permitted" $T.err; then
		fail $n "unshare -U exited $rc under the filter, but not with EPERM (Operation not permitted)"
		show $T.out $T.err
		return
	fi
	launch $T.out $T.err run --rootfs "$ROOTFS" -- /bin/sh -c '(exit 7); a=$?; b=$(echo piped | cat); echo "$a $b"'
	got=$(cat $T.out)
	if [ $rc != 0 ] || [ "$got" != "7 piped" ]; then
		fail $n "fork and pipe under the filter: exited $rc printing '$got', want 0 printing '7 piped'"
		show $T.err
		return
	fi
	pass $n
}

# --security-opt seccomp=FILE: a profile compiled for this architecture (its own names
# and numbers: mkdir is mkdirat on the generic table) with an errno of its own and a
# condition on an argument (socket's family), as tests/seccomp_profile.rs does on x86_64.
t_profile() {
	profile=/tmp/profile.json
	cat >$profile <<'JSON'
{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64",
  "SCMP_ARCH_ARM", "SCMP_ARCH_RISCV64"], "syscalls": [
  {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28},
  {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
   "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]}
JSON
	chmod 644 $profile
	launch $T.out $T.err run --rootfs "$ROOTFS" --net none --security-opt seccomp=$profile -- /bin/sh -c \
		'mkdir /tmp/p; echo mkdir=$?; touch /tmp/q && echo touched; nc 127.0.0.1 9 </dev/null; echo nc=$?'
	got=$(tr '\n' ' ' <$T.out)
	if [ $rc != 0 ] || [ "$got" != "mkdir=1 touched nc=1 " ]; then
		fail $n "under the profile: exited $rc printing '$got', want 0 printing 'mkdir=1 touched nc=1 '"
		show $T.out $T.err
		return
	fi
	if ! grep -q "No space left on device" $T.err || ! grep -q "socket: Permission denied" $T.err; then
		fail $n "mkdir did not fail with the profile's ENOSPC, or nc's socket with its EACCES"
		show $T.err
		return
	fi
	pass $n
}

# --trace reads init's clock (clock_gettime64 on 32-bit arm, a 64-bit timespec): every
# phase must come out in order and within the run, not as garbage from a wrong layout.
t_trace() {
	launch $T.out $T.err run --rootfs "$ROOTFS" --trace -- /bin/true
	if [ $rc != 0 ]; then
		fail $n "run --trace -- /bin/true exited $rc, want 0"
		show $T.out $T.err
		return
	fi
	# Timed lines only ("launcher: trace  1234 us  WHO  PHASE"), not the notes.
	bad=$(awk '/^launcher: trace / && $4 == "us" { n++; if ($3 < prev || $3 > 60000000) print; prev = $3; if ($5 == "init") i++ }
		END { if (n < 10 || i < 5) print "only " n " phases, " i " of init" }' $T.err)
	if [ -n "$bad" ]; then
		fail $n "trace phases out of order or out of range: $bad"
		show $T.err
		return
	fi
	pass $n
}

# -t: init makes a pty in the container's devpts and sends its master over the channel
# (SCM_RIGHTS, whose cmsg layout depends on the word size); the command's stdin is the pty.
t_tty() {
	launch $T.out $T.err run --rootfs "$ROOTFS" -t -- tty
	got=$(tr -d '\r' <$T.out)
	if [ $rc != 0 ] || [ "$got" != /dev/pts/0 ]; then
		fail $n "run -t -- tty exited $rc printing '$got', want 0 printing /dev/pts/0"
		show $T.err
		return
	fi
	pass $n
}

# The kernel's other calling convention (i386 on x86_64, 32-bit arm on aarch64): a static
# busybox of that architecture in the rootfs runs without the filter and is killed by it
# (SIGSYS, 159), since that convention's numbers would slip past the list.
t_compat() {
	compat=
	for f in "$ROOTFS"/bin/busybox-*; do [ -f "$f" ] && compat=/bin/${f##*/}; done
	if [ -z "$compat" ]; then
		echo "#   $n: this architecture has no second calling convention to refuse"
		return
	fi
	launch $T.out $T.err run --rootfs "$ROOTFS" --security-opt seccomp=unconfined -- "$compat" true
	if [ $rc != 0 ]; then
		fail $n "without the filter, $compat true exited $rc, want 0: this kernel does not run it, so the filter cannot be shown"
		show $T.out $T.err
		return
	fi
	launch $T.out $T.err run --rootfs "$ROOTFS" -- "$compat" true
	if [ $rc != 159 ]; then
		fail $n "$compat true under the filter exited $rc, want 159 (killed by SIGSYS)"
		show $T.out $T.err
		return
	fi
	pass $n
}

# busybox ash gives up at the first fork that fails, so the count that matters is the
# number of tasks that exist, read inside (builtins only) and from the cgroup.
t_pids() {
	launch_bg $T.out $T.err run --rootfs "$ROOTFS" --pids-limit 10 -- /bin/sh -c '
		(i=0; while [ $i -lt 100 ]; do sleep 600 & i=$((i + 1)); done) 2>/dev/null
		n=0; for p in /proc/[0-9]*; do n=$((n + 1)); done
		echo "tasks=$n"
		exec sleep 2'
	if ! container_cgroup; then
		wait_bg
		fail $n "no cgroup with processes appeared below $CG (launcher exited $rc)"
		show $T.out $T.err
		return
	fi
	i=0
	while ! grep -q '^tasks=' $T.out && kill -0 "$bgpid" 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	max=? cur=?
	read -r max <"$cg/pids.max" || true
	read -r cur <"$cg/pids.current" || true
	wait_bg
	tasks=$(sed -n 's/^tasks=//p' $T.out)
	if [ "$max" != 10 ]; then
		fail $n "$cg/pids.max is '$max', want 10"
	elif [ -z "$tasks" ]; then
		fail $n "the container did not report its task count (launcher exited $rc)"
		show $T.out $T.err
	elif ! [ "$cur" -ge 0 ] 2>/dev/null; then
		fail $n "could not read $cg/pids.current while the container ran"
	elif [ "$tasks" -gt 10 ] || [ "$cur" -gt 10 ]; then
		fail $n "limit 10 not enforced: $tasks tasks in the container, pids.current $cur"
	elif [ "$tasks" -lt 4 ]; then
		fail $n "only $tasks tasks in the container: the sleeps did not start, so the limit was not tested"
		show $T.err
	elif [ $rc != 0 ]; then
		fail $n "launcher exited $rc, want 0 (the container ends with exec sleep 2)"
		show $T.out $T.err
	else
		echo "#   $n: $tasks tasks inside, pids.current $cur, pids.max $max in $cg"
		pass $n
	fi
}

t_memory() {
	# dd's 32 MB buffer is charged page by page as read() zero-fills it. Small enough for a
	# guest with 64 MiB of RAM, where a larger limit would meet the kernel's own OOM killer.
	launch $T.out $T.err run --rootfs "$ROOTFS" --memory 16m -- \
		/bin/dd if=/dev/zero of=/dev/null bs=32M count=1
	if [ $rc != 137 ]; then
		fail $n "allocating 32 MB under --memory 16m: launcher exited $rc, want 137 (SIGKILL by the OOM killer)"
		show $T.out $T.err
	elif ! grep -qi memory $T.err; then
		fail $n "exit 137 as expected, but the launcher's stderr does not mention memory"
		show $T.err
	else
		pass $n
	fi
}

t_cpus() {
	launch_bg $T.out $T.err run --rootfs "$ROOTFS" --cpus 0.5 -- /bin/sleep 2
	if ! container_cgroup; then
		wait_bg
		fail $n "no cgroup with processes appeared below $CG (launcher exited $rc)"
		show $T.out $T.err
		return
	fi
	quota=?
	read -r quota <"$cg/cpu.max" || true
	wait_bg
	if [ "$quota" != "50000 100000" ]; then
		fail $n "$cg/cpu.max is '$quota', want '50000 100000'"
		show $T.err
	elif [ $rc != 0 ]; then
		fail $n "launcher exited $rc, want 0"
		show $T.out $T.err
	else
		pass $n
	fi
}

# The container's own cgroup namespace: it sees its cgroup as "/", and at /sys/fs/cgroup
# (cgroup2, read-only) only its own cgroup with its limits; without limits, nothing.
t_cgroupns() {
	launch $T.out $T.err run --rootfs "$ROOTFS" --pids-limit 10 --memory 50m -- /bin/sh -c \
		'cat /proc/self/cgroup /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max; touch /sys/fs/cgroup/x 2>&1; true'
	want="0::/
10
52428800
touch: /sys/fs/cgroup/x: Read-only file system"
	if [ $rc != 0 ] || [ "$(cat $T.out)" != "$want" ]; then
		fail $n "with limits: launcher exited $rc, the container saw something else than its own cgroup"
		show $T.out $T.err
		return
	fi
	launch $T.out $T.err run --rootfs "$ROOTFS" -- /bin/sh -c 'cat /proc/self/cgroup; ls /sys/fs/cgroup'
	if [ $rc != 0 ] || [ "$(cat $T.out)" != "0::/" ]; then
		fail $n "without limits: launcher exited $rc, want 0::/ and an empty /sys/fs/cgroup"
		show $T.out $T.err
	else
		pass $n
	fi
}

# Alone in its cgroup, the launcher moves itself and the container's init into a leaf
# launcher-PID-self beside the container's launcher-PID, and back when done.
t_moveself() {
	launch_bg $T.out $T.err run --rootfs "$ROOTFS" --pids-limit 10 -- /bin/sleep 2
	if ! container_cgroup; then
		wait_bg
		fail $n "no cgroup with processes appeared below $CG (launcher exited $rc)"
		show $T.out $T.err
		return
	fi
	self=
	for d in "$FROM"/launcher-*-self; do [ -d "$d" ] && self=$d; done
	holder=
	[ -n "$self" ] && read -r holder <"$self/cgroup.procs"
	max=?
	read -r max <"$cg/pids.max" || true
	wait_bg
	case $cg in
	"$FROM"/launcher-*) ;;
	*)
		fail $n "the container's cgroup is $cg, want one below $FROM, where the launcher was alone"
		show $T.err
		return
		;;
	esac
	if [ -z "$holder" ]; then
		fail $n "no launcher-PID-self leaf with the launcher in it below $FROM"
	elif [ "$max" != 10 ]; then
		fail $n "$cg/pids.max is '$max', want 10"
	elif [ $rc != 0 ]; then
		fail $n "launcher exited $rc, want 0"
		show $T.out $T.err
	else
		pass $n
	fi
}

# Read-only as asked, below every mount too: --read-only's root, a :ro volume with a mount
# inside it (VOL/sub), the host's /sys with its cgroup2 mount, /proc/sys. Linux 5.12+ does it
# with mount_setattr, older kernels with a remount of each mount.
t_mounts() {
	launch $T.out $T.err run --rootfs "$ROOTFS" --read-only -v "$VOL:/data:ro" -- /bin/sh -c '
		checked=0 bad=
		while read -r dev point fstype opts rest; do
			case $point in
			/ | /data | /data/* | /sys | /sys/* | /proc/sys)
				checked=$((checked + 1))
				case ",$opts," in *,ro,*) ;; *) bad="$bad $point($opts)" ;; esac
				;;
			esac
		done </proc/mounts
		for f in /x /data/x /data/sub/x /sys/fs/cgroup/x; do
			if mkdir "$f" 2>/dev/null; then bad="$bad mkdir:$f"; fi
		done
		echo "checked=$checked writable=[$bad ]"'
	got=$(cat $T.out)
	checked=$(sed -n 's/^checked=\([0-9]*\) .*/\1/p' $T.out)
	if [ $rc != 0 ]; then
		fail $n "run --read-only -v $VOL:/data:ro exited $rc, want 0"
		show $T.out $T.err
	elif [ "${got#*writable=\[ \]}" = "$got" ]; then
		fail $n "writable inside: $got"
	elif ! [ "${checked:-0}" -ge 6 ]; then
		fail $n "only ${checked:-0} of the mounts / /data /data/sub /sys /sys/fs/cgroup /proc/sys were found: $got"
	else
		echo "#   $n: $got"
		pass $n
	fi
}

t_limits() {
	launch $T.out $T.err run --rootfs "$ROOTFS" --pids-limit 10 -- /bin/true
	if [ $rc != 125 ]; then
		fail $n "run --pids-limit 10 from outside $USER_CG exited $rc, want 125: the kernel lets no unprivileged process move there"
		show $T.out $T.err
	elif ! grep -q "launcher.user-$USER_ID" $T.err; then
		fail $n "exit 125 as expected, but stderr does not name $USER_CG"
		show $T.err
	else
		pass $n
	fi
}

# hold CGROUP: a long-lived process in CGROUP, as a login shell in its session cgroup: the
# launcher does not find itself alone there.
hold() {
	sh -c 'echo $$ >"$0/cgroup.procs" && exec sleep 100000' "$1" &
	HOLDERS="$HOLDERS $!"
}

# The unprivileged user, its own copy of the rootfs, and its delegated cgroup parent as
# `sudo make cgroup` prepares it on a host.
prepare_user() {
	echo "$USER_NAME:x:$USER_ID:$USER_ID::/home/$USER_NAME:/bin/sh" >>/etc/passwd || return 1
	echo "$USER_NAME:x:$USER_ID:" >>/etc/group || return 1
	mkdir -p /home/$USER_NAME || return 1
	cp -a /rootfs /home/$USER_NAME/rootfs || return 1
	# -h: the rootfs's links must not hand the guest's own files to the user.
	chown -hR $USER_ID:$USER_ID /home/$USER_NAME || return 1
	if [ -f /scripts/cgroup.sh ]; then
		sh /scripts/cgroup.sh $USER_NAME || return 1
	else
		mkdir "$USER_CG" || return 1
		echo "+pids +memory +cpu" >"$USER_CG/cgroup.subtree_control" || return 1
		chown $USER_ID:$USER_ID "$USER_CG" "$USER_CG/cgroup.procs" \
			"$USER_CG/cgroup.subtree_control" "$USER_CG/cgroup.threads" || return 1
	fi
	[ -d "$USER_SESSION_CG" ] || mkdir "$USER_SESSION_CG" || return 1
	chown $USER_ID:$USER_ID "$USER_SESSION_CG" "$USER_SESSION_CG/cgroup.procs" \
		"$USER_SESSION_CG/cgroup.subtree_control" "$USER_SESSION_CG/cgroup.threads" || return 1
	# A volume for t_mounts, readable by both, with a mount of its own inside.
	mkdir -p "$VOL/sub" || return 1
	mount -t tmpfs -o mode=755,nosuid vol-sub "$VOL/sub" || return 1
	mkdir "$ROOT_LOGIN_CG" "$ALONE_CG" || return 1
	hold "$ROOT_LOGIN_CG"
	hold "$USER_SESSION_CG"
}

# A kernel that makes no user namespaces, for root either (make test-vm-kernels boots one
# with sysctl.user.max_user_namespaces=0 on its command line).
USERNS=on
# 5.10 -> 510, 6.1 -> 601
KERNEL_VERSION=$(uname -r | sed 's/^\([0-9]*\)\.\([0-9]*\).*/\1 \2/' | { read -r major minor && echo $((major * 100 + minor)); })
[ "$(cat /proc/sys/user/max_user_namespaces)" = 0 ] && USERNS=off
echo "# guest: $(uname -m), kernel $(uname -r), $(nproc) cpu(s), $(sed -n 's/^MemTotal: *//p' /proc/meminfo) RAM ($(sed -n 's/^MemAvailable: *//p' /proc/meminfo) available), cgroup controllers: $(cat $CG/cgroup.controllers)"
echo "# guest: user namespaces $USERNS"
echo "# guest: unprivileged_userns_clone=$(cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null || echo n/a)"
if ! prepare_user; then
	fail prepare "could not set up user $USER_NAME ($USER_ID) and its cgroup $USER_CG"
	echo "DONE $passed passed, $failed failed"
	exit 1
fi
find "$CG" -mindepth 1 -type d | sort >$T.cg-base

# suite PREFIX MODE FROM TEST...: run t_TEST as n=PREFIX/TEST, each followed by its
# cleanup check.
suite() {
	P=$1 MODE=$2 FROM=$3
	shift 3
	if [ $MODE = root ]; then ROOTFS=/rootfs; else ROOTFS=/home/$USER_NAME/rootfs; fi
	for t in "$@"; do
		n=$P/$t
		t_$t
		clean $n
	done
}
if [ $USERNS = on ]; then
	suite root root "$ROOT_LOGIN_CG" help check smoke seccomp profile compat trace tty isolation user mounts net pids memory cpus cgroupns
else
	# t_seccomp's probe is `unshare -U`, which this kernel refuses with or without the
	# filter; t_isolation checks the filter is loaded.
	suite root root "$ROOT_LOGIN_CG" help check smoke profile compat trace tty isolation user mounts net pids memory cpus cgroupns
fi
suite root-in-root-cgroup root "" pids cpus
suite root-alone root "$ALONE_CG" moveself memory
if [ $USERNS = on ]; then
	suite user user "$USER_SESSION_CG" help check smoke seccomp profile isolation user mounts net pids memory cpus cgroupns
	suite user-outside-delegation user "" limits
else
	suite user user "$USER_SESSION_CG" help userns_refused
fi
echo "DONE $passed passed, $failed failed"
