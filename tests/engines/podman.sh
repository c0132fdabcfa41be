# podman, rootful, with the runtime under test as --runtime.
#
# podman keeps everything in WORK/podman (its --root, --runroot, a private
# containers.conf and storage.conf: vfs storage, cgroupfs, a file event log,
# no systemd). The image is the busybox rootfs, imported.
#
# This machine's root lacks CAP_SYS_RESOURCE, so podman's default rlimits
# (raised nofile and nproc) cannot be set by any runtime: containers.conf
# lowers them instead (default_ulimits).

PODMAN_DIR=
PM=()     # podman with its private configuration
PMR=()    # podman run, with this run's cgroup parent
IMG=localhost/launcher-busybox:latest

# podman_config DIR GRAPHROOT RUNROOT: writes DIR/containers.conf and
# DIR/storage.conf.
podman_config() {
    local dir=$1 graphroot=$2 runroot=$3
    mkdir -p "$dir"
    cat >"$dir/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$dir/events.log"

[network]
network_backend = "netavark"
network_config_dir = "$dir/networks"
EOF
    cat >"$dir/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$graphroot"
runroot = "$runroot"
EOF
}

# podman_ready: podman's configuration written and the image imported; used
# by the containerd section too (its image comes from `podman save`).
PODMAN_READY=
podman_ready() {
    [ -n "$PODMAN_READY" ] && return "$PODMAN_READY"
    PODMAN_DIR=$W/podman
    podman_config "$PODMAN_DIR" "$PODMAN_DIR/root" "$PODMAN_DIR/runroot"
    PM=(env CONTAINERS_CONF="$PODMAN_DIR/containers.conf" CONTAINERS_STORAGE_CONF="$PODMAN_DIR/storage.conf"
        podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/runroot"
        --cgroup-manager cgroupfs --events-backend file --runtime "$RT")
    PMR=("${PM[@]}" run --cgroup-parent "/$CG_PREFIX-podman")
    run "${PM[@]}" import --change "ENV $IMAGE_PATH_ENV" --change 'CMD ["/bin/sh"]' "$IMAGE_TAR" "$IMG"
    if [ "$RC" = 0 ]; then PODMAN_READY=0; else PODMAN_READY=1; fi
    return "$PODMAN_READY"
}

podman_import() {
    podman_ready && return 0
    WHY="podman import of the busybox rootfs failed: $(err_tail)"
    return 1
}

# A host directory for -v, empty.
podman_volume() {
    rm -rf "$PODMAN_DIR/vol-$1"
    mkdir -p "$PODMAN_DIR/vol-$1"
    echo "$PODMAN_DIR/vol-$1"
}

# 127, and the error names the command (podman turns the runtime's "no such
# file or directory" or "executable file not found" into 127, and any error
# into 126, so the status alone does not show which error it was).
podman_missing_command() {
    podman_rc 127 "$IMG" /no/such/command || return 1
    want_err_has /no/such/command
}

# podman_rc WANT ARGS...: `podman run --rm ARGS` exits with WANT.
podman_rc() {
    local want=$1
    shift
    run "${PMR[@]}" --rm "$@"
    want_rc "$want"
}

podman_env_workdir_user_hostname() {
    run "${PMR[@]}" --rm -e FOO=bar -w /tmp --user 1000:1000 --hostname le-host "$IMG" \
        /bin/sh -c 'echo "$FOO $(pwd) $(id -u):$(id -g) $(hostname)"'
    want_rc 0 || return 1
    want_out "bar /tmp 1000:1000 le-host"
}

podman_volume_rw() {
    local vol
    vol=$(podman_volume rw)
    echo from-host >"$vol/in"
    run "${PMR[@]}" --rm -v "$vol:/mnt" "$IMG" /bin/sh -c 'cat /mnt/in; echo from-container >/mnt/out'
    want_rc 0 || return 1
    want_out from-host || return 1
    want "the container's write to the volume is not on the host (no $vol/out)" \
        grep -qx from-container "$vol/out"
}

# -it: a terminal (the console socket). podman needs one of its own: a pty
# from python's pty.spawn. (script(1) would do, but with stdin at EOF, as
# under make or CI, it sends the EOF on to podman, which then sometimes ends
# the attach before any output arrives.)
podman_tty() {
    run python3 -c 'import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))' \
        "${PMR[@]}" --rm -it "$IMG" /bin/sh -c 'tty; test -t 0 && echo stdin-is-a-tty'
    want_rc 0 || return 1
    want_out_has /dev/pts/ || return 1
    want_out_has stdin-is-a-tty
}

podman_network_none() {
    run "${PMR[@]}" --rm --network none "$IMG" /bin/sh -c "$NETDEVS"
    want_rc 0 || return 1
    want_out "lo "
}

# podman makes the network namespace (a bridge and eth0 inside) and hands it
# to the runtime by path. No traffic is sent: only the interface is checked.
podman_network_default() {
    run "${PMR[@]}" --rm "$IMG" /bin/sh -c "$NETDEVS"
    want_rc 0 || return 1
    want_out_has "eth0" || return 1
    want_out_has "lo"
}

# The shell starts sleeps until a fork fails; each success is counted in the
# volume. With a limit of 10 tasks, fewer than 10 sleeps can run (the shell
# and the runtime's own process in the container take some).
podman_pids_limit() {
    local vol n
    vol=$(podman_volume pids)
    run "${PMR[@]}" --rm --pids-limit 10 -v "$vol:/out" "$IMG" /bin/sh -c '
        n=0; last=
        while [ "$n" -lt 40 ]; do
            sleep 30 &
            [ "$!" = "$last" ] && break
            last=$!; n=$((n + 1)); echo "$n" >/out/n
        done 2>/dev/null
        kill $(jobs -p) 2>/dev/null; exit 0'
    n=$(cat "$vol/n" 2>/dev/null)
    want "the container started no process at all (exit status $RC; $(err_tail))" [ -n "$n" ] || return 1
    want "$n sleeps ran under --pids-limit 10" [ "$n" -lt 10 ] || return 1
    want "only $n sleeps ran under --pids-limit 10: the limit is lower than asked" [ "$n" -ge 5 ]
}

# Doubling a shell string until the memory limit kills it: OOM is 137.
podman_memory_oom() {
    run "${PMR[@]}" --rm --memory 32m "$IMG" /bin/sh -c 'a=x; while :; do a=$a$a; done'
    want_rc 137 "after OOM; "
}

# podman_detached NAME ARGS...: `podman run -d --name NAME ARGS`, then waits
# for /out/ready in its volume (the command makes it when its traps are set).
podman_detached() {
    local name=$1 vol
    shift
    vol=$(podman_volume "$name")
    run "${PMR[@]}" -d --name "$name" -v "$vol:/out" "$@"
    want_rc 0 || return 1
    want "$name never became ready (no /out/ready within 20 s)" wait_for 20 test -e "$vol/ready"
}

podman_exec() {
    podman_detached le-exec "$IMG" /bin/sh -c "$READY_THEN_SLEEP" || return 1
    want_cgroup_of "$("${PM[@]}" inspect --format '{{.Id}}' le-exec)" || return 1
    run "${PM[@]}" exec le-exec /bin/sh -c 'echo in-$(hostname); exit 5'
    want_rc 5 || return 1
    want_out_has in-
}

podman_exec_env_user_cwd() {
    run "${PM[@]}" exec -e FOO=bar -w /tmp --user 1000:1000 le-exec /bin/sh -c 'echo "$FOO $(pwd) $(id -u):$(id -g)"'
    want_rc 0 || return 1
    want_out "bar /tmp 1000:1000"
}

podman_rm_force() {
    want "le-exec is not running (podman.exec made it), so rm -f would prove nothing" \
        [ "$("${PM[@]}" inspect --format '{{.State.Running}}' le-exec 2>/dev/null)" = true ] || return 1
    run "${PM[@]}" rm -f -t 2 le-exec
    want_rc 0 || return 1
    run "${PM[@]}" ps -a --format '{{.Names}}'
    want "le-exec is still listed after rm -f: $OUT" [ -z "$(printf '%s\n' "$OUT" | grep -x le-exec)" ]
}

# An attached `podman run --rm` whose container is killed exits 137. (The
# command cannot kill itself: with runc it is PID 1 of its namespace, which
# ignores its own SIGKILL.)
podman_run_killed() {
    local vol pid
    vol=$(podman_volume le-runkill)
    timeout -k 5 "$CMD_TIMEOUT" "${PMR[@]}" --rm --name le-runkill -v "$vol:/out" "$IMG" \
        /bin/sh -c "$READY_THEN_SLEEP" >"$W/out" 2>"$W/err" </dev/null &
    pid=$!
    if ! wait_for 20 test -e "$vol/ready"; then
        kill "$pid"
        wait "$pid"
        WHY="the container never became ready (no /out/ready within 20 s): $(tail -n 3 "$W/err")"
        return 1
    fi
    run "${PM[@]}" kill le-runkill
    want_rc 0 || return 1
    wait "$pid"
    RC=$? OUT=$(cat "$W/out") ERR=$(cat "$W/err")
    want_rc 137
}

# exit_code NAME: the container's exit code, from podman inspect.
podman_exit_code() {
    "${PM[@]}" inspect --format '{{.State.ExitCode}}' "$1" 2>/dev/null
}

podman_stop_signal() {
    podman_detached le-stop "$IMG" /bin/sh -c "trap 'exit 7' TERM; $READY_THEN_SLEEP" || return 1
    run "${PM[@]}" stop -t 10 le-stop
    want_rc 0 || return 1
    want "exit code $(podman_exit_code le-stop) after stop, want 7 (the command's TERM trap)" \
        [ "$(podman_exit_code le-stop)" = 7 ] || return 1
    run "${PM[@]}" rm le-stop
    want_rc 0
}

podman_stop_timeout() {
    podman_detached le-stopkill "$IMG" /bin/sh -c "trap '' TERM; $READY_THEN_SLEEP" || return 1
    run "${PM[@]}" stop -t 2 le-stopkill
    want_rc 0 || return 1
    want "exit code $(podman_exit_code le-stopkill) after stop -t 2 of a command that ignores TERM, want 137" \
        [ "$(podman_exit_code le-stopkill)" = 137 ] || return 1
    run "${PM[@]}" rm le-stopkill
    want_rc 0
}

podman_kill() {
    podman_detached le-kill "$IMG" /bin/sh -c "$READY_THEN_SLEEP" || return 1
    run "${PM[@]}" kill le-kill
    want_rc 0 || return 1
    run "${PM[@]}" wait le-kill
    want_rc 0 || return 1
    want_out 137 || return 1
    run "${PM[@]}" rm le-kill
    want_rc 0
}

podman_kill_signal() {
    podman_detached le-killsig "$IMG" /bin/sh -c "trap 'exit 9' USR1; $READY_THEN_SLEEP" || return 1
    run "${PM[@]}" kill -s USR1 le-killsig
    want_rc 0 || return 1
    run "${PM[@]}" wait le-killsig
    want_rc 0 || return 1
    want_out 9 || return 1
    run "${PM[@]}" rm le-killsig
    want_rc 0
}

# --rm leaves no container, runtime state, cgroup, mount or process.
podman_rm_leaves_nothing() {
    local before=$PODMAN_DIR/mounts-before-rm id root left
    local procs_before
    procs_before=$(leftover_pids)
    mounts_snapshot >"$before"
    rm -f "$PODMAN_DIR/cid"
    run "${PMR[@]}" --rm --cidfile "$PODMAN_DIR/cid" "$IMG" true
    want_rc 0 || return 1
    id=$(cat "$PODMAN_DIR/cid")
    [ -n "$id" ] || { WHY="podman wrote no container id to --cidfile"; return 1; }
    run "${PM[@]}" ps -aq --no-trunc
    want "the container $id is still listed after run --rm" [ -z "$(printf '%s\n' "$OUT" | grep -F "$id")" ] || return 1
    runtime_left_nothing "$id" "$PODMAN_DIR" || return 1
    nothing_left_since "$before" "$procs_before"
}

section_podman() {
    local before=$W/podman-before
    command -v podman >/dev/null 2>&1 || { cannot_run podman "podman is not installed (apt-get install podman)"; return; }
    tcase podman.import-image podman_import || return
    # The first run makes podman's own lasting state (its /run/netns, the
    # network's bridge); the leftovers check starts after it.
    tcase podman.exit-0 podman_rc 0 "$IMG" true
    snapshot "$before"
    tcase podman.exit-3 podman_rc 3 "$IMG" /bin/sh -c 'exit 3'
    tcase podman.exit-127-missing-command podman_missing_command
    tcase podman.exit-137-killed podman_run_killed
    tcase podman.env-workdir-user-hostname podman_env_workdir_user_hostname
    tcase podman.volume podman_volume_rw
    tcase podman.tty podman_tty
    tcase podman.network-none podman_network_none
    tcase podman.network-default podman_network_default
    tcase podman.pids-limit podman_pids_limit
    tcase podman.memory-oom-137 podman_memory_oom
    tcase podman.exec podman_exec
    tcase podman.exec-env-user-cwd podman_exec_env_user_cwd
    tcase podman.rm-force-running podman_rm_force
    tcase podman.stop-delivers-term podman_stop_signal
    tcase podman.stop-timeout-kills podman_stop_timeout
    tcase podman.kill-137 podman_kill
    tcase podman.kill-signal podman_kill_signal
    tcase podman.rm-leaves-nothing podman_rm_leaves_nothing

    # Containers a failed case left: removed, so the check below sees what
    # the runtime left, not what podman still holds.
    "${PM[@]}" rm -af -t 0 >/dev/null 2>&1
    check_clean podman "$before"
}
