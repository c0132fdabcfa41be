#!/bin/sh
# Start-up benchmark: launcher against the kernel's floor and its peers.
#
#   bench/bench.sh           full run; writes bench/results.md and bench/startup.svg
#   bench/bench.sh --smoke   a few checked runs of every contender, no files; < 1 min
#
# Every contender runs /bin/true from ONE shared busybox rootfs (bench/work/rootfs).
# The OCI rows time launcher, crun and runc as OCI runtimes: a bundle's create,
# start, wait and delete (bench/oci/cycle.c), and `podman run --rm` with each.
# Needs root: rootful contenders, crun/runc, cgroups, and a user for the rootless case.
# Environment: BENCH_WORK=DIR puts the work tree elsewhere (it must be reachable by
# the unprivileged user launcher-bench), BENCH_RUNS=N (default 60) start-up runs,
# BENCH_PODMAN_PER_ROUND=N (default 3) podman runs per round.
set -eu

prog=bench.sh
die() { echo "$prog: $*" >&2; exit 1; }
note() { echo "$prog: $*" >&2; }

smoke=0
case "${1:-}" in
--smoke) smoke=1 ;;
"") ;;
*) die "usage: $0 [--smoke]" ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
work=${BENCH_WORK:-$here/work}
rootfs=$work/rootfs
bundles=$work/bundles
out=$work/out
runs=${BENCH_RUNS:-60}
bench_user=launcher-bench
target=x86_64-unknown-linux-musl

[ "$(id -u)" = 0 ] || die "run me as root (sudo $0): the rootful contenders, crun/runc and the cgroup cases need it; the rootless case runs as user $bench_user, made by this script"

# crun 1.8 refuses the v1/v2 hybrid cgroup layout ("cgroups in hybrid mode not
# supported") even with --cgroup-manager=disabled; it accepts it when the
# unified hierarchy reports no controllers. So the whole benchmark (every
# contender alike, one mount namespace, no per-run cost) runs in a private
# mount namespace where an empty file hides /sys/fs/cgroup/unified/cgroup.controllers.
# The host's mounts are not touched.
unified=/sys/fs/cgroup/unified/cgroup.controllers
# (cgroupfs files have st_size 0: read them, `test -s` is always false.)
if [ -z "${BENCH_IN_MOUNT_NS:-}" ] && [ -n "$(cat "$unified" 2>/dev/null)" ]; then
    BENCH_IN_MOUNT_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi
if [ -n "${BENCH_IN_MOUNT_NS:-}" ]; then
    empty=$(mktemp /tmp/bench-empty-controllers.XXXXXX)
    mount --bind "$empty" "$unified" || die "cannot bind-mount an empty file over $unified (needed by crun 1.8)"
    rm -f "$empty" # the bind mount keeps the inode
    [ -z "$(cat "$unified")" ] || die "$unified still lists controllers after the bind mount"
fi

# ---------------------------------------------------------------- tools
need_pkgs=
need() { command -v "$1" >/dev/null 2>&1 || need_pkgs="$need_pkgs $2"; }
need crun crun
need runc runc
need bwrap bubblewrap
need hyperfine hyperfine
need tini tini
need catatonit catatonit
need dumb-init dumb-init
need python3 python3
need file file
need cc gcc
need musl-gcc musl-tools
need unshare util-linux
need setpriv util-linux
need strace strace
need podman podman
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || need_pkgs="$need_pkgs libc6-dev"
if [ -n "$need_pkgs" ]; then
    command -v apt-get >/dev/null 2>&1 || die "missing:$need_pkgs; install them (no apt-get here)"
    note "installing:$need_pkgs"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need_pkgs
fi
command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust (rustup) and the $target target (make toolchain)"

mkdir -p "$work" "$bundles" "$out" "$work/bin"

# ---------------------------------------------------------------- builds
note "building the release launcher"
(cd "$top" && cargo build --release --quiet) || die "cargo build --release failed in $top"
launcher_built=$top/target/$target/release/launcher
[ -x "$launcher_built" ] || die "no launcher binary at $launcher_built after cargo build --release"
# The rootless contender runs it as $bench_user, who may not reach the checkout
# (a home directory with mode 700), so every contender runs this copy.
launcher=$work/bin/launcher
cp "$launcher_built" "$launcher.tmp" && mv -f "$launcher.tmp" "$launcher"
init_built=$(ls -t "$top"/target/$target/release/build/launcher-*/out/launcher-init 2>/dev/null | head -n 1 || true)

note "building the floors (bench/floor: floor.c, floor-same.c and the launcher's config record)"
floor=$work/bin/floor
floor_same=$work/bin/floor-same
floor_config=$work/bin/floor.config
"$here/floor/build.sh" "$work/bin" || die "bench/floor/build.sh $work/bin failed (its reason is above)"

note "building the OCI cycle driver (bench/oci/cycle.c)"
# Static musl like the floors: its own exec is one small part of every cycle.
cycle=$work/bin/cycle
musl-gcc -O2 -static -s -Wall -Wextra -Werror -o "$cycle.tmp" "$here/oci/cycle.c" ||
    die "musl-gcc $here/oci/cycle.c failed"
mv -f "$cycle.tmp" "$cycle"

# ---------------------------------------------------------------- rootfs
if [ ! -x "$rootfs/bin/sh" ]; then
    [ -x "$top/scripts/busybox-rootfs.sh" ] || die "$top/scripts/busybox-rootfs.sh is missing: it builds the shared rootfs"
    "$top/scripts/busybox-rootfs.sh" "$rootfs" >&2 || die "scripts/busybox-rootfs.sh $rootfs failed"
fi
# The smoke checks look for this file to prove a contender runs in the rootfs.
touch "$rootfs/.bench-rootfs"
for d in proc dev sys tmp; do
    [ -d "$rootfs/$d" ] || die "$rootfs/$d is missing: the runtimes mount over it"
done

# ---------------------------------------------------------------- rootless user
if ! id -u "$bench_user" >/dev/null 2>&1; then
    note "creating the unprivileged user $bench_user for the rootless contender"
    useradd --system --no-create-home --home-dir / --shell /usr/sbin/nologin "$bench_user" ||
        die "useradd $bench_user failed"
fi
bench_uid=$(id -u "$bench_user")
bench_gid=$(id -g "$bench_user")
as_user="setpriv --reuid=$bench_uid --regid=$bench_gid --clear-groups"
$as_user test -r "$rootfs/bin/busybox" -a -x "$launcher" ||
    die "$bench_user cannot read $rootfs/bin/busybox or run $launcher: some parent directory of $work is closed to others; set BENCH_WORK to a directory everyone can reach (e.g. /var/tmp/launcher-bench)"

# ---------------------------------------------------------------- payloads and bundles
# Runs as the container's command in --smoke: proves it ran inside the rootfs
# (the marker), in a new PID namespace (small $$), as root inside, and shows
# the cgroups it is in so that the limit cases can be checked.
check='test -e /.bench-rootfs && echo "ok pid=$$ uid=$(id -u) seccomp=$(sed -n "s/^Seccomp:[[:space:]]*//p" /proc/self/status) nnp=$(sed -n "s/^NoNewPrivs:[[:space:]]*//p" /proc/self/status) devnull=$(test -c /dev/null && echo yes) sysro=$(grep -q " /sys ro," /proc/self/mountinfo && echo yes) pids=$(grep :pids: /proc/self/cgroup) memory=$(grep :memory: /proc/self/cgroup) pidsmax=$(cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max 2>/dev/null | head -n 1)"'
# unshare+chroot has no /proc in the container.
check_noproc='test -e /.bench-rootfs && echo "ok pid=$$ uid=$(id -u)"'

# bundle NAME LIMITS(yes|no) ARGS...: an OCI bundle over the shared rootfs.
bundle() {
    name=$1 limits=$2
    shift 2
    mkdir -p "$bundles/$name"
    if [ "$limits" = yes ]; then
        set -- --pids 10 --memory 52428800 -- "$@"
    else
        set -- -- "$@"
    fi
    python3 "$here/oci/config.py" --rootfs "$rootfs" "$@" >"$bundles/$name/config.json.tmp" ||
        die "cannot write $bundles/$name/config.json"
    mv -f "$bundles/$name/config.json.tmp" "$bundles/$name/config.json"
}
for limits in no yes; do
    bundle "true-$limits" "$limits" /bin/true
    bundle "sleep-$limits" "$limits" /bin/sleep 1
    bundle "smoke-$limits" "$limits" /bin/sh -c "$check"
done

# ---------------------------------------------------------------- OCI runtimes
# The OCI rows: each runtime drives the same bundles (config.json from
# oci/config.py, with the pids and memory limits: runc as root always makes
# cgroups, so the one setting all three can share is cgroupfs with limits),
# each with a state directory of its own.
crun_path=$(command -v crun)
runc_path=$(command -v runc)
oci_root=$work/oci-root
mkdir -p "$oci_root"

# podman, rootful, kept apart from any other podman on the machine: its images
# and containers in $work/podman (vfs: no overlay mounts), its run-time state
# in a directory of /run (a tmpfs: podman expects that state to vanish with a
# reboot), cgroupfs (no systemd here), a file for its events, and lowered
# default rlimits: root here lacks CAP_SYS_RESOURCE, so podman's default
# (raised nofile and nproc) makes every runtime fail with EPERM.
podman_dir=$work/podman
podman_run=/run/launcher-bench-podman
podman_image=localhost/launcher-bench-busybox:latest
export CONTAINERS_CONF="$podman_dir/containers.conf" CONTAINERS_STORAGE_CONF="$podman_dir/storage.conf"
podman_ready=
podman_setup() {
    [ -z "$podman_ready" ] || return 0
    mkdir -p "$podman_dir" "$podman_run"
    cat >"$CONTAINERS_CONF" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$podman_dir/events.log"
tmp_dir = "$podman_run/tmp"

[network]
network_config_dir = "$podman_dir/networks"
EOF
    cat >"$CONTAINERS_STORAGE_CONF" <<EOF
[storage]
driver = "vfs"
graphroot = "$podman_dir/root"
runroot = "$podman_run/runroot"
EOF
    # The image is the shared rootfs (with its marker), imported once.
    if ! podman --root "$podman_dir/root" --runroot "$podman_run/runroot" image exists "$podman_image"; then
        note "podman: importing $rootfs as $podman_image"
        tar -C "$rootfs" --numeric-owner -cf "$podman_dir/rootfs.tar" . || die "cannot make $podman_dir/rootfs.tar"
        podman --root "$podman_dir/root" --runroot "$podman_run/runroot" import \
            --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
            "$podman_dir/rootfs.tar" "$podman_image" >"$podman_dir/import.log" 2>&1 ||
            { cat "$podman_dir/import.log" >&2; die "podman import of $rootfs failed (its output is above)"; }
        rm -f "$podman_dir/rootfs.tar"
    fi
    podman_ready=1
}
# podman RUNTIME: the start of a `podman run` command line with that runtime.
podman_cmd() {
    echo "podman --root $podman_dir/root --runroot $podman_run/runroot --runtime $1 run --rm --network none $podman_image"
}

# ---------------------------------------------------------------- contenders
startup_all="exec setpriv floor floor-same unshare bwrap launcher launcher-rootless launcher-limits crun crun-limits runc runc-limits"
oci_all="cycle-launcher cycle-crun cycle-runc podman-launcher podman-crun podman-runc"
all_contenders="$startup_all $oci_all"
# BENCH_CONTENDERS="floor crun" measures a subset (for working on the bench itself).
contenders=${BENCH_CONTENDERS:-$all_contenders}
startup_contenders='' cycle_contenders='' podman_contenders=''
for name in $contenders; do
    case $name in
    cycle-*) cycle_contenders="$cycle_contenders $name" ;;
    podman-*) podman_contenders="$podman_contenders $name" ;;
    *) startup_contenders="$startup_contenders $name" ;;
    esac
done
[ -z "$podman_contenders" ] || podman_setup

# cmd NAME KIND ID: the command line (for `eval set --` and hyperfine -N) of
# contender NAME running payload KIND (true, sleep, smoke) as container ID.
cmd() {
    case $2 in
    true) payload=/bin/true ;;
    sleep) payload='/bin/sleep 1' ;;
    smoke) payload="/bin/sh -c '$check'" ;;
    esac
    case $1 in
    exec) echo "$rootfs/bin/busybox true" ;;
    setpriv) echo "$as_user $rootfs/bin/busybox true" ;;
    floor) echo "$floor $rootfs $payload" ;;
    floor-same) echo "$floor_same $floor_config $rootfs $payload" ;;
    unshare)
        [ "$2" = smoke ] && payload="/bin/sh -c '$check_noproc'"
        echo "unshare --user --map-root-user --pid --fork --mount --uts chroot $rootfs $payload"
        ;;
    bwrap) echo "bwrap --unshare-user --unshare-pid --unshare-uts --bind $rootfs / --proc /proc --dev /dev $payload" ;;
    launcher) echo "$launcher run --rootfs $rootfs -- $payload" ;;
    launcher-rootless) echo "$as_user $launcher run --rootfs $rootfs -- $payload" ;;
    launcher-limits) echo "$launcher run --rootfs $rootfs --pids-limit 10 --memory 50m -- $payload" ;;
    crun) echo "crun --cgroup-manager=disabled run --bundle $bundles/$2-no $3" ;;
    crun-limits) echo "crun --cgroup-manager=cgroupfs run --bundle $bundles/$2-yes $3" ;;
    runc) echo "runc run --bundle $bundles/$2-no $3" ;;
    runc-limits) echo "runc run --bundle $bundles/$2-yes $3" ;;
    # cycle RUNTIME ROOT BUNDLE ID [GLOBAL-OPTION...]
    cycle-launcher) echo "$cycle $launcher $oci_root/launcher $bundles/$2-yes $3" ;;
    cycle-crun) echo "$cycle $crun_path $oci_root/crun $bundles/$2-yes $3 --cgroup-manager=cgroupfs" ;;
    cycle-runc) echo "$cycle $runc_path $oci_root/runc $bundles/$2-yes $3" ;;
    podman-launcher) echo "$(podman_cmd "$launcher") $payload" ;;
    podman-crun) echo "$(podman_cmd "$crun_path") $payload" ;;
    podman-runc) echo "$(podman_cmd "$runc_path") $payload" ;;
    *) die "internal: unknown contender $1" ;;
    esac
}

# What --smoke expects from each contender beyond exit status 0.
expect() {
    case $1 in
    exec | setpriv) echo none ;;     # baselines, not containers: only /bin/true
    *-limits | cycle-*) echo cgroup ;; # a container in cgroups of its own
    launcher | launcher-rootless | floor-same) echo hardened ;; # docker's defaults inside
    *) echo container ;;
    esac
}

host_pids=$(grep :pids: /proc/self/cgroup || true)
host_memory=$(grep :memory: /proc/self/cgroup || true)

# smoke_one NAME: runs NAME's smoke payload and its benchmark command; prints
# nothing and returns 0 when both worked, else prints why and returns 1.
smoke_one() {
    name=$1
    kind=smoke
    [ "$(expect "$name")" = none ] && kind=true
    eval "set -- $(cmd "$name" "$kind" "bench-smoke-$name")"
    status=0
    output=$("$@" 2>&1) || status=$?
    if [ "$status" != 0 ]; then
        echo "exit status $status from: $*"
        echo "$output" | sed 's/^/    /'
        return 1
    fi
    case $(expect "$name") in
    container | cgroup | hardened)
        case $output in
        ok\ *) ;;
        *)
            echo "the container did not print ok (not in the rootfs?): $output"
            return 1
            ;;
        esac
        pid=$(echo "$output" | sed -n 's/.* pid=\([0-9]*\).*/\1/p')
        # PID 1 is the command itself, or 2 under a PID-1 init (launcher, bwrap).
        [ -n "$pid" ] && [ "$pid" -le 2 ] || {
            echo "not in a new PID namespace (pid=$pid): $output"
            return 1
        }
        echo "$output" | grep -q ' uid=0' || {
            echo "not root inside: $output"
            return 1
        }
        ;;
    esac
    if [ "$(expect "$name")" = hardened ]; then
        # The launcher's default container: seccomp filter, no_new_privs, a
        # /dev with the host's nodes bound in, /sys read-only.
        case $output in
        *" seccomp=2 nnp=1 devnull=yes sysro=yes "*) ;;
        *)
            echo "not the launcher's hardened container (seccomp=2 nnp=1 devnull=yes sysro=yes expected): $output"
            return 1
            ;;
        esac
    fi
    if [ "$(expect "$name")" = cgroup ]; then
        case $output in
        # In a cgroup namespace of its own (the launcher's default), the
        # container's cgroup is "/" and its limit shows at /sys/fs/cgroup.
        *" pidsmax=10") ;;
        *"pids=$host_pids memory="* | *"memory=$host_memory "*)
            echo "did not join its own pids and memory cgroups (host: $host_pids $host_memory): $output"
            return 1
            ;;
        esac
    fi
    # The exact command the benchmark times must work too.
    eval "set -- $(cmd "$name" true "bench-smoke-$name")"
    status=0
    output=$("$@" 2>&1) || status=$?
    if [ "$status" != 0 ]; then
        echo "exit status $status from the benchmark command: $*"
        echo "$output" | sed 's/^/    /'
        return 1
    fi
    case $name in
    cycle-*)
        # delete removed the container's state (cycle checked that every
        # process of it has ended).
        state=$oci_root/${name#cycle-}/bench-smoke-$name
        if [ -e "$state" ]; then
            echo "the runtime's state $state is still there after delete"
            return 1
        fi
        ;;
    esac
    return 0
}

if [ "$smoke" = 1 ]; then
    passed=0 failed=0
    for name in $contenders; do
        i=0 ok=1
        # podman takes most of a second a run: once is enough to prove it works.
        tries=3
        case $name in podman-*) tries=1 ;; esac
        while [ $i -lt $tries ]; do
            if ! why=$(smoke_one "$name"); then
                echo "FAIL $name (run $((i + 1))): $why"
                ok=0
                break
            fi
            i=$((i + 1))
        done
        if [ $ok = 1 ]; then
            echo "ok   $name ($(expect "$name"))"
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
        fi
    done
    echo "bench-smoke: $passed passed, $failed failed"
    [ "$failed" = 0 ] || exit 1
    exit 0
fi

# ---------------------------------------------------------------- full run
# Refuse to measure something that does not work.
for name in $contenders; do
    why=$(smoke_one "$name") || die "contender $name does not work, not benchmarking: $why (bench/bench.sh --smoke shows all)"
done

# Other work on the machine lengthens every container start (each handoff
# between processes waits for a CPU), the launcher's four handoffs more than the
# floor's two. Measure how busy the CPUs are with nothing of ours running, and
# with BENCH_WAIT_QUIET=SECS wait up to SECS for them to go quiet.
cpu_busy() { # percent of CPU time not idle over one second
    set -- $(sed -n 's/^cpu  *//p' /proc/stat)
    t1=$(($1 + $2 + $3 + $4 + $5 + $6 + $7 + $8)) i1=$(($4 + $5))
    sleep 1
    set -- $(sed -n 's/^cpu  *//p' /proc/stat)
    t2=$(($1 + $2 + $3 + $4 + $5 + $6 + $7 + $8)) i2=$(($4 + $5))
    echo $((100 - 100 * (i2 - i1) / (t2 - t1)))
}
busy=$(cpu_busy)
waited=0
while [ "$busy" -gt 10 ] && [ "$waited" -lt "${BENCH_WAIT_QUIET:-0}" ]; do
    note "CPUs ${busy}% busy with other work; waiting for quiet (BENCH_WAIT_QUIET=${BENCH_WAIT_QUIET:-0}s, ${waited}s so far)"
    sleep 4
    waited=$((waited + 5))
    busy=$(cpu_busy)
done
[ "$busy" -le 10 ] || note "WARNING: CPUs ${busy}% busy with other work before the run; every number will be inflated and spread (BENCH_WAIT_QUIET=600 waits for quiet)"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# hyperfine times one command's runs back to back; drift of the machine (other
# VMs, kernel workers) would then favour whoever ran in a quiet stretch. So
# every contender runs a few times per round, in an order that rotates from
# round to round, and report.py pools the rounds.
per_round=${BENCH_PER_ROUND:-5}
rounds=$(((runs + per_round - 1) / per_round))
runs=$((rounds * per_round))
podman_per_round=${BENCH_PODMAN_PER_ROUND:-3}
podman_runs=$((rounds * podman_per_round))

# time_round FILE RUNS WARMUP NAME...: one hyperfine call that times each
# NAME's command RUNS times, in the order given, exported to FILE.
time_round() {
    tr_file=$1 tr_runs=$2 tr_warmup=$3
    shift 3
    tr_names=$*
    set --
    for tr_name in $tr_names; do
        set -- "$@" -n "$tr_name" "$(cmd "$tr_name" true "bench-$tr_name")"
    done
    hyperfine -N --style none --warmup "$tr_warmup" --runs "$tr_runs" \
        --export-json "$tr_file" "$@" 2>"$out/hyperfine.log" ||
        { cat "$out/hyperfine.log" >&2; die "hyperfine failed for $tr_file (its output is above)"; }
}
# rotate LIST: the first goes last.
rotate() {
    set -- $1
    [ $# -gt 0 ] || return 0
    rot_first=$1
    shift
    echo "$* $rot_first"
}

rm -f "$out"/startup-*.json "$out"/cycle-*.json "$out"/podman-*.json
if [ -n "$startup_contenders" ]; then
    note "start-up + teardown of /bin/true: hyperfine, $runs runs each, interleaved: $rounds rounds of $per_round runs of every contender"
    order=$startup_contenders
    for round in $(seq -w 1 "$rounds"); do
        warmup=1
        [ "$round" -gt 1 ] || warmup=5
        time_round "$out/startup-$round.json" "$per_round" "$warmup" $order
        order=$(rotate "$order")
    done
fi

# The OCI rows in rounds of their own (their times are of another scale): in
# each round the bundle cycles, then podman, each set in a rotating order.
if [ -n "$cycle_contenders$podman_contenders" ]; then
    note "OCI: bundle cycle ($runs runs each) and podman run --rm ($podman_runs runs each), interleaved in $rounds rounds"
    cycle_order=$cycle_contenders podman_order=$podman_contenders
    for round in $(seq -w 1 "$rounds"); do
        if [ -n "$cycle_order" ]; then
            warmup=1
            [ "$round" -gt 1 ] || warmup=5
            time_round "$out/cycle-$round.json" "$per_round" "$warmup" $cycle_order
            cycle_order=$(rotate "$cycle_order")
        fi
        if [ -n "$podman_order" ]; then
            warmup=0
            [ "$round" -gt 1 ] || warmup=2
            time_round "$out/podman-$round.json" "$podman_per_round" "$warmup" $podman_order
            podman_order=$(rotate "$podman_order")
        fi
    done
fi
for name in $contenders; do
    printf '%s\t%s\n' "$name" "$(cmd "$name" true "bench-$name")"
done | sed -e "s|$rootfs|ROOTFS|g" -e "s|$bundles|B|g" -e "s|$work/bin/|bench/work/bin/|g" \
    -e "s|--reuid=$bench_uid --regid=$bench_gid|--reuid=U --regid=G|g" -e "s|$oci_root|R|g" \
    -e "s|$podman_dir|P|g" -e "s|$podman_run|Q|g" >"$out/commands.tsv"

note "throughput: 100 containers in a row, and 10 at a time"
: >"$out/throughput.tsv"
for name in $startup_contenders; do
    for par in 1 10; do
        eval "set -- $(cmd "$name" true "bench-$name-{}")"
        start=$(date +%s%N)
        seq 100 | xargs -P "$par" -I '{}' "$@" >/dev/null ||
            die "throughput of $name (-P$par): a run failed: $*"
        end=$(date +%s%N)
        printf '%s\t%s\t%s\n' "$name" "$par" $(((end - start) / 1000)) >>"$out/throughput.tsv"
    done
    note "  $name done"
done

note "peak RSS of each runtime while its container runs sleep 1 (3 runs)"
: >"$out/rss.tsv"
for name in $startup_contenders; do
    [ "$name" = setpriv ] && continue
    for i in 1 2 3; do
        eval "set -- $(cmd "$name" sleep "bench-rss-$name")"
        if [ "$name" = exec ]; then
            set -- "$rootfs/bin/sleep" 1
        fi
        line=$(python3 "$here/rss.py" "$@") || die "RSS of $name failed: $*"
        printf '%s\t%s\n' "$name" "$line" >>"$out/rss.tsv"
    done
done

note "where the launcher's start-up goes: launcher run --trace, 50 runs"
: >"$out/trace.txt"
for i in $(seq 50); do
    "$launcher" run --trace --rootfs "$rootfs" -- /bin/true 2>>"$out/trace.txt" >/dev/null ||
        die "launcher run --trace failed: see $out/trace.txt"
    echo -- >>"$out/trace.txt"
done
grep -q '^launcher: trace ' "$out/trace.txt" || die "launcher run --trace printed no 'launcher: trace' lines: see $out/trace.txt"

note "binary sizes"
: >"$out/sizes.tsv"
size_of() {
    label=$1 path=$2
    if [ -z "$path" ] || [ ! -e "$path" ]; then
        printf '%s\t-\t-\tmissing\n' "$label" >>"$out/sizes.tsv"
        return
    fi
    real=$(readlink -f "$path")
    printf '%s\t%s\t%s\t%s\n' "$label" "$real" "$(stat -c %s "$real")" "$(file -b "$real")" >>"$out/sizes.tsv"
}
size_of launcher "$launcher_built"
size_of "launcher-init (embedded)" "$init_built"
size_of floor "$floor"
size_of floor-same "$floor_same"
size_of crun "$(command -v crun)"
size_of runc "$(command -v runc)"
size_of "cycle (bench/oci/cycle.c)" "$cycle"
size_of bwrap "$(command -v bwrap)"
if command -v tini-static >/dev/null 2>&1; then
    size_of tini-static "$(command -v tini-static)"
fi
size_of tini "$(command -v tini)"
size_of catatonit "$(command -v catatonit)"
size_of dumb-init "$(command -v dumb-init)"

note "init's size per function: an unstripped build of init with launcher/build.rs's flags"
# The shipped init is stripped; the same build with symbols kept shows where
# its bytes go (nm: symbols of the text and data, largest first).
init_syms=$work/init-symbols
init_ld=$top/linker/init.ld
CARGO_ENCODED_RUSTFLAGS=$(printf '%s\037' -Clink-self-contained=no -Crelocation-model=static -Ctarget-cpu=x86-64 \
    -Clink-arg=-nostartfiles -Clink-arg=-nostdlib -Clink-arg=-static "-Clink-arg=-Wl,-T,$init_ld" \
    -Clink-arg=-Wl,--build-id=none -Clink-arg=-Wl,-n -Clink-arg=-Wl,--gc-sections | sed 's/\x1f$//') \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=z CARGO_PROFILE_RELEASE_STRIP=false \
    cargo build --release --quiet --locked -p init --target "$target" --target-dir "$init_syms" \
    --manifest-path "$top/Cargo.toml" || die "the unstripped build of init (for its size per function) failed"
init_unstripped=$init_syms/$target/release/launcher-init
nm --size-sort --reverse-sort -S -C "$init_unstripped" >"$out/init-symbols.txt" || die "nm $init_unstripped failed"
size -A "$init_unstripped" >"$out/init-sections.txt" || die "size -A $init_unstripped failed"
size_of "launcher-init (unstripped, for the table of functions)" "$init_unstripped"

{
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
    echo "cores=$(nproc)"
    echo "kernel=$(uname -r)"
    echo "os=$(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "commit=$(cd "$top" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "runs=$runs"
    echo "rounds=$rounds"
    echo "per_round=$per_round"
    echo "podman_runs=$podman_runs"
    echo "podman_per_round=$podman_per_round"
    echo "podman=$(podman --version)"
    echo "conmon=$(conmon --version | head -n 1)"
    echo "top=$top"
    echo "load_before=$load_before"
    echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "busy_before=$busy"
    echo "busy_after=$(cpu_busy)"
    echo "crun=$(crun --version | head -n 1)"
    echo "runc=$(runc --version | head -n 1)"
    echo "bwrap=$(bwrap --version)"
    echo "hyperfine=$(hyperfine --version)"
    echo "unshare=$(unshare --version)"
    echo "busybox=$("$rootfs/bin/busybox" 2>/dev/null | sed -n '1s/ multi-call binary.*//p')"
    echo "host_pids=$host_pids"
    echo "host_memory=$host_memory"
} >"$out/meta.env"

python3 "$here/report.py" "$out" "$here/results.md" "$here/startup.svg"
note "wrote $here/results.md and $here/startup.svg"
