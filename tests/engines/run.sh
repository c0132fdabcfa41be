#!/usr/bin/env bash
# The engine tests: podman (rootful and rootless), containerd and docker drive
# an OCI runtime, and the runtime's own verbs are checked on a bare bundle.
#
#   tests/engines/run.sh --runtime /abs/path/to/runtime [SECTION...]
#   (or RUNTIME=/abs/path tests/engines/run.sh; `make test-engines RUNTIME=...`)
#
# SECTIONs: bundle podman rootless containerd docker (default: all, in that
# order). Each case prints `ok NAME` or `FAIL NAME: why`; the last line counts
# them; the exit status is 1 when any case failed. A case this machine cannot
# run fails; nothing is skipped.
#
# Everything runs as root in private namespaces (mount, network, pid): the
# engines' state lives in a fresh work directory and a private /run, the
# daemons are started here and stopped at the end, and when the run ends every
# process it started ends with its pid namespace. Cgroups are the host's: each
# engine puts its containers below a parent cgroup named after this run; the
# containers' cgroups are checked to be gone, and the parents are removed at
# the end.
#
# Environment:
#   ENGINES_TRACE=0      give the engines RUNTIME itself, not the wrapper that
#                        logs each call to WORK/runtime-calls.log
#   ENGINES_KEEP=1       keep the work directory (kept anyway when a case fails)
#   ENGINES_CMD_TIMEOUT  seconds before an engine command counts as hung (60)
#   ENGINES_TIMEOUT      seconds for the whole run (900): a runtime that hangs
#                        fails the run rather than stalling `make test`
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
prog=tests/engines/run.sh
ALL_SECTIONS="bundle podman rootless containerd docker"

die() {
    echo "$prog: $*" >&2
    exit 2
}

if [ "${ENGINES_INNER:-}" != 1 ]; then
    # ----------------------------------------------------------- outside
    RUNTIME=${RUNTIME:-}
    sections=()
    while [ $# -gt 0 ]; do
        case $1 in
        --runtime) RUNTIME=${2:-}; shift 2 || die "--runtime needs a path" ;;
        --runtime=*) RUNTIME=${1#--runtime=}; shift ;;
        -h | --help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *)
            case " $ALL_SECTIONS " in
            *" $1 "*) sections+=("$1") ;;
            *) die "unknown section '$1'; the sections are: $ALL_SECTIONS" ;;
            esac
            shift
            ;;
        esac
    done
    [ -n "$RUNTIME" ] || die "no runtime given: pass --runtime /abs/path/to/runtime (or RUNTIME=...)"
    case $RUNTIME in /*) ;; *) die "the runtime must be an absolute path (the engines exec it from elsewhere), got '$RUNTIME'" ;; esac
    [ -f "$RUNTIME" ] && [ -x "$RUNTIME" ] || die "$RUNTIME is not an executable file (build it first: make build)"
    [ "$(id -u)" = 0 ] || die "the engine tests run podman, containerd and docker as root: run as root (sudo)"
    for tool in unshare setsid timeout ps python3 tar; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed: the harness itself needs it (.ci/run installs everything)"
    done
    [ ${#sections[@]} -gt 0 ] || read -r -a sections <<<"$ALL_SECTIONS"

    W=$(mktemp -d /tmp/launcher-engines.XXXXXX) || die "cannot make a work directory in /tmp"
    # The rootless user needs to reach the image tarball and the trace wrapper.
    chmod 755 "$W"
    RUN_TOKEN=${W##*.}
    source "$here/common.sh"

    start=$(date +%s)
    total=${ENGINES_TIMEOUT:-900}
    # --kill-child: when timeout stops unshare, PID 1 inside gets SIGTERM (it
    # then stops the daemons), and with it goes the whole pid namespace.
    ENGINES_INNER=1 W=$W RUN_TOKEN=$RUN_TOKEN RUNTIME=$RUNTIME TOP=$top \
        timeout -k 30 "$total" \
        unshare --mount --net --pid --fork --mount-proc --propagation private --kill-child=SIGTERM -- \
        "$0" "${sections[@]}"
    rc=$?
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        last=$(grep '^# case ' "$W/runtime-calls.log" 2>/dev/null | tail -n 1 | cut -c8-)
        echo "FAIL engines.total-time: the run did not end within ${total}s (ENGINES_TIMEOUT); the last case started was ${last:-unknown}"
        rc=1
    fi
    # Container processes of the namespace may still be being torn down.
    sleep 0.5

    # The pid namespace is gone, so every container process is: cgroups that a
    # case left behind (it was reported) can go now, and so can this run's
    # parents, deepest first.
    our_cgroups | awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2- |
        while read -r dir; do rmdir "$dir" 2>/dev/null; done
    left=$(our_cgroups)
    [ -z "$left" ] || echo "$prog: could not remove these cgroups: $left" >&2

    echo "engines: took $(($(date +%s) - start)) s"
    if [ "$rc" = 0 ] && [ "${ENGINES_KEEP:-0}" != 1 ]; then
        rm -rf "$W"
    else
        echo "engines: work directory kept: $W (runtime calls in $W/runtime-calls.log)"
    fi
    exit "$rc"
fi

# --------------------------------------------------------------- inside
# PID 1 of a private pid namespace, in private mount and network namespaces.
source "$here/common.sh"
for f in bundle podman rootless containerd docker; do
    source "$here/$f.sh"
done

SECTION_CLEANUPS=()
cleanup() {
    local c
    for c in "${SECTION_CLEANUPS[@]}"; do "$c"; done
    SECTION_CLEANUPS=()
}
trap cleanup EXIT
trap 'echo "$prog: interrupted" >&2; exit 130' INT TERM HUP

# A private /run: the engines and runtimes keep their state there (/run/libpod,
# /run/netns, /run/containerd, the runtime's default --root).
mount -t tmpfs -o mode=755 engines-run /run || die "cannot mount a private /run"
ip link set lo up 2>/dev/null

echo "engines: runtime $RUNTIME ($("$RUNTIME" --version 2>&1 | head -n 1))"
echo "engines: work directory $W"

# The image: the project's busybox rootfs, as a tarball the engines import.
ROOTFS=$W/rootfs
"$TOP/scripts/busybox-rootfs.sh" "$ROOTFS" >"$W/rootfs.log" 2>&1 ||
    die "scripts/busybox-rootfs.sh failed: $(tail -n 3 "$W/rootfs.log")"
IMAGE_TAR=$W/image.tar
tar -C "$ROOTFS" --numeric-owner -cf "$IMAGE_TAR" . || die "cannot make $IMAGE_TAR"
chmod 644 "$IMAGE_TAR"

# The engines get RT: a wrapper with the runtime's own file name (podman
# decides some flags by that name) that logs every call, then execs it.
RT=$RUNTIME
if [ "${ENGINES_TRACE:-1}" != 0 ]; then
    mkdir -p "$W/trace"
    chmod 755 "$W/trace"
    RT=$W/trace/$(basename "$RUNTIME")
    printf '%s\n' '#!/bin/bash' \
        'read -r caller </proc/$PPID/comm' \
        "printf '%s: %s\\n' \"\$caller\" \"\${*@Q}\" >>$(printf %q "$W/runtime-calls.log")" \
        "exec $(printf %q "$RUNTIME") \"\$@\"" >"$RT"
    chmod 755 "$RT"
    : >"$W/runtime-calls.log"
    chmod 666 "$W/runtime-calls.log"
fi

for section in "$@"; do
    echo "# $section"
    "section_$section"
    cleanup
done

echo "engines: $PASSED passed, $FAILED failed ($RUNTIME)"
if [ "$FAILED" -gt 0 ]; then
    printf 'engines: failed: %s\n' "${FAILED_NAMES[*]}"
    exit 1
fi
exit 0
