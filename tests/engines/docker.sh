# docker: a dockerd of its own (data root, exec root, socket, vfs storage, no
# iptables, no bridge), the runtime under test added as the runtime
# "launcher" and chosen per container with --runtime launcher. dockerd starts
# its own containerd. The image is the busybox rootfs, `docker import`ed.

DOCKERD_DIR=
DOCKERD_PID=
DK=()      # docker on the private socket
DK_RUN=()  # docker run with the runtime under test
DK_IMG=launcher-busybox:latest

docker_start() {
    DOCKERD_DIR=$W/docker
    mkdir -p "$DOCKERD_DIR/client"
    echo '{}' >"$DOCKERD_DIR/daemon.json"
    CASE_LOGS=("$DOCKERD_DIR/dockerd.log")
    start_daemon dockerd "$DOCKERD_DIR/dockerd.log" dockerd --config-file "$DOCKERD_DIR/daemon.json" \
        --data-root "$DOCKERD_DIR/root" --exec-root "$DOCKERD_DIR/exec" \
        -H "unix://$DOCKERD_DIR/docker.sock" --pidfile "$DOCKERD_DIR/dockerd.pid" \
        --storage-driver vfs --iptables=false --ip6tables=false --bridge=none \
        --cgroup-parent "/$CG_PREFIX-docker" --add-runtime "launcher=$RT"
    DOCKERD_PID=$DAEMON_PID
    KEEP_PIDS=$DOCKERD_PID
    # Debian's client (the same release as its daemon) when there is one.
    local client=docker
    [ -x /usr/bin/docker ] && client=/usr/bin/docker
    DK=(env DOCKER_CONFIG="$DOCKERD_DIR/client" "$client" -H "unix://$DOCKERD_DIR/docker.sock")
    DK_RUN=("${DK[@]}" run --runtime launcher --network none)
    want "dockerd did not answer on its socket within 60 s" \
        wait_for 60 "${DK[@]}" version >/dev/null 2>&1
}

docker_stop() {
    [ -n "$DOCKERD_PID" ] || return 0
    stop_daemon "$DOCKERD_PID"
    DOCKERD_PID=
    KEEP_PIDS=
}

docker_import() {
    run "${DK[@]}" import --change "ENV $IMAGE_PATH_ENV" --change 'CMD ["/bin/sh"]' "$IMAGE_TAR" "$DK_IMG"
    want_rc 0
}

docker_rc() {
    local want=$1
    shift
    run "${DK_RUN[@]}" --rm "$@"
    want_rc "$want"
}

# 127, and the error names the command: dockerd turns any start error that
# says "no such file or directory" into 127.
docker_missing_command() {
    docker_rc 127 "$DK_IMG" /no/such/command || return 1
    want_err_has /no/such/command
}

docker_env_workdir_user() {
    run "${DK_RUN[@]}" --rm -e FOO=bar -w /tmp --user 1000:1000 --hostname le-host "$DK_IMG" \
        /bin/sh -c 'echo "$FOO $(pwd) $(id -u):$(id -g) $(hostname)"'
    want_rc 0 || return 1
    want_out "bar /tmp 1000:1000 le-host"
}

docker_network_none() {
    run "${DK_RUN[@]}" --rm "$DK_IMG" /bin/sh -c "$NETDEVS"
    want_rc 0 || return 1
    want_out "lo "
}

# docker_detached NAME ARGS...: `docker run -d`, waiting for /out/ready.
docker_detached() {
    local name=$1 vol=$DOCKERD_DIR/vol-$1
    shift
    rm -rf "$vol"
    mkdir -p "$vol"
    run "${DK_RUN[@]}" -d --name "$name" -v "$vol:/out" "$@"
    want_rc 0 || return 1
    want "$name never became ready (no /out/ready within 20 s)" wait_for 20 test -e "$vol/ready"
}

docker_exit_code() {
    "${DK[@]}" inspect --format '{{.State.ExitCode}}' "$1" 2>/dev/null
}

docker_exec() {
    docker_detached le-d-exec "$DK_IMG" /bin/sh -c "trap 'exit 7' TERM; $READY_THEN_SLEEP" || return 1
    want_cgroup_of "$("${DK[@]}" inspect --format '{{.Id}}' le-d-exec)" || return 1
    run "${DK[@]}" exec le-d-exec /bin/sh -c 'echo "in $(pwd)"; exit 4'
    want_rc 4 || return 1
    want_out "in /" || return 1
    run "${DK[@]}" exec -e FOO=bar -w /tmp --user 1000:1000 le-d-exec /bin/sh -c 'echo "$FOO $(pwd) $(id -u):$(id -g)"'
    want_rc 0 || return 1
    want_out "bar /tmp 1000:1000"
}

docker_stop_term() {
    run "${DK[@]}" stop -t 10 le-d-exec
    want_rc 0 || return 1
    want "exit code $(docker_exit_code le-d-exec) after docker stop, want 7 (the command's TERM trap)" \
        [ "$(docker_exit_code le-d-exec)" = 7 ] || return 1
    run "${DK[@]}" rm le-d-exec
    want_rc 0
}

docker_stop_timeout() {
    docker_detached le-d-stopkill "$DK_IMG" /bin/sh -c "trap '' TERM; $READY_THEN_SLEEP" || return 1
    run "${DK[@]}" stop -t 2 le-d-stopkill
    want_rc 0 || return 1
    want "exit code $(docker_exit_code le-d-stopkill) after stop -t 2 of a command that ignores TERM, want 137" \
        [ "$(docker_exit_code le-d-stopkill)" = 137 ] || return 1
    run "${DK[@]}" rm le-d-stopkill
    want_rc 0
}

docker_kill() {
    docker_detached le-d-kill "$DK_IMG" /bin/sh -c "$READY_THEN_SLEEP" || return 1
    run "${DK[@]}" kill le-d-kill
    want_rc 0 || return 1
    run "${DK[@]}" wait le-d-kill
    want_rc 0 || return 1
    want_out 137 || return 1
    run "${DK[@]}" rm le-d-kill
    want_rc 0
}

docker_rm_force() {
    docker_detached le-d-rmf "$DK_IMG" /bin/sh -c "$READY_THEN_SLEEP" || return 1
    run "${DK[@]}" rm -f le-d-rmf
    want_rc 0 || return 1
    run "${DK[@]}" ps -a --format '{{.Names}}'
    want "le-d-rmf is still listed after rm -f: $OUT" [ -z "$(printf '%s\n' "$OUT" | grep -x le-d-rmf)" ]
}

# --rm leaves no container, runtime state, cgroup, mount or process.
docker_rm_leaves_nothing() {
    local before=$DOCKERD_DIR/mounts-before-rm id root left
    local procs_before
    procs_before=$(leftover_pids)
    mounts_snapshot >"$before"
    rm -f "$DOCKERD_DIR/cid"
    run "${DK_RUN[@]}" --rm --cidfile "$DOCKERD_DIR/cid" "$DK_IMG" true
    want_rc 0 || return 1
    id=$(cat "$DOCKERD_DIR/cid")
    [ -n "$id" ] || { WHY="docker wrote no container id to --cidfile"; return 1; }
    # docker run --rm returns before the removal is complete.
    wait_for 10 sh -c '! "$@" ps -aq --no-trunc | grep -qF "$0"' "$id" "${DK[@]}"
    run "${DK[@]}" ps -aq --no-trunc
    want "the container $id is still listed after run --rm" [ -z "$(printf '%s\n' "$OUT" | grep -F "$id")" ] || return 1
    runtime_left_nothing "$id" "$DOCKERD_DIR/exec" || return 1
    nothing_left_since "$before" "$procs_before"
}

section_docker() {
    local before=$W/docker-before tool
    for tool in dockerd docker; do
        command -v "$tool" >/dev/null 2>&1 || { cannot_run docker "$tool is not installed (apt-get install docker.io)"; return; }
    done
    snapshot "$before"
    SECTION_CLEANUPS+=(docker_stop)
    tcase docker.start-daemon docker_start || return
    tcase docker.import-image docker_import || return
    tcase docker.exit-0 docker_rc 0 "$DK_IMG" true
    tcase docker.exit-3 docker_rc 3 "$DK_IMG" /bin/sh -c 'exit 3'
    tcase docker.exit-127-missing-command docker_missing_command
    tcase docker.env-workdir-user-hostname docker_env_workdir_user
    tcase docker.network-none docker_network_none
    tcase docker.exec docker_exec
    tcase docker.stop-delivers-term docker_stop_term
    tcase docker.stop-timeout-kills docker_stop_timeout
    tcase docker.kill-137 docker_kill
    tcase docker.rm-force-running docker_rm_force
    tcase docker.rm-leaves-nothing docker_rm_leaves_nothing

    "${DK[@]}" ps -aq 2>/dev/null | xargs -r "${DK[@]}" rm -f >/dev/null 2>&1
    docker_stop
    check_clean docker "$before"
}
