# containerd, driven with ctr, the runtime under test given to the runc v2
# shim with --runc-binary.
#
# containerd runs here with its own root, state, socket and a config that
# loads no CRI plugin; its containers live in the ctr namespace CG_PREFIX-ctr
# (which is also the parent of their cgroups). The image is
# the podman image, saved as an OCI archive and imported.

CTRD_DIR=
CTRD_PID=
CTR=()  # ctr on the private socket and namespace
CTR_IMG=
CTR_RUN=() # ctr run with the runtime under test

containerd_start() {
    CTRD_DIR=$W/containerd
    mkdir -p "$CTRD_DIR"
    cat >"$CTRD_DIR/config.toml" <<EOF
version = 2
root = "$CTRD_DIR/root"
state = "$CTRD_DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$CTRD_DIR/containerd.sock"
EOF
    CASE_LOGS=("$CTRD_DIR/containerd.log")
    start_daemon containerd "$CTRD_DIR/containerd.log" containerd --config "$CTRD_DIR/config.toml" \
        --root "$CTRD_DIR/root" --state "$CTRD_DIR/state" --address "$CTRD_DIR/containerd.sock"
    CTRD_PID=$DAEMON_PID
    KEEP_PIDS=$CTRD_PID
    CTR=(ctr --address "$CTRD_DIR/containerd.sock" --namespace "$CG_PREFIX-ctr")
    want "containerd did not answer on its socket within 30 s" \
        wait_for 30 "${CTR[@]}" version >/dev/null 2>&1
}

containerd_stop() {
    [ -n "$CTRD_PID" ] || return 0
    stop_daemon "$CTRD_PID"
    CTRD_PID=
    KEEP_PIDS=
}

containerd_import() {
    podman_ready || { WHY="the image comes from podman, whose import failed: $(err_tail)"; return 1; }
    rm -f "$CTRD_DIR/image.tar"
    run "${PM[@]}" save --format oci-archive -o "$CTRD_DIR/image.tar" "$IMG"
    want_rc 0 || { WHY="podman save --format oci-archive: $WHY"; return 1; }
    run "${CTR[@]}" images import --base-name "${IMG%:*}" "$CTRD_DIR/image.tar"
    want_rc 0 || { WHY="ctr images import: $WHY"; return 1; }
    run "${CTR[@]}" images ls -q
    CTR_IMG=$(printf '%s\n' "$OUT" | grep -F "${IMG%:*}" | head -n 1)
    want "no image named ${IMG%:*} after ctr images import: $OUT" [ -n "$CTR_IMG" ] || return 1
    CTR_RUN=("${CTR[@]}" run --runc-binary "$RT")
}

# ctr_rc WANT ARGS...: `ctr run --rm ARGS` exits with WANT.
ctr_rc() {
    local want=$1
    shift
    run "${CTR_RUN[@]}" --rm "$@"
    want_rc "$want"
}

# ctr has no 127 of its own: a command that is not there fails the task's
# creation (exit status 1), and the error names the command.
ctr_missing_command() {
    run "${CTR_RUN[@]}" --rm "$CTR_IMG" le-c-missing /no/such/command
    [ "$RC" != 0 ] || { WHY="a missing command exited 0"; return 1; }
    case $ERR in
    *"/no/such/command"*) ;;
    *) WHY="the error does not name the missing command: $(err_tail)"; return 1 ;;
    esac
    ctr_gone le-c-missing
}

ctr_memory_oom() {
    run "${CTR_RUN[@]}" --rm --memory-limit $((32 * 1024 * 1024)) "$CTR_IMG" le-c-oom \
        /bin/sh -c 'a=x; while :; do a=$a$a; done'
    want_rc 137 "after OOM; "
}

# ctr_gone ID: no container, task, cgroup or runtime state left for ID.
ctr_gone() {
    local id=$1 root left
    run "${CTR[@]}" containers ls -q
    want "container $id is still listed" [ -z "$(printf '%s\n' "$OUT" | grep -x "$id")" ] || return 1
    root=$(runtime_root_for "$id")
    left=$(runtime_state_entries "$root" | grep -F "$id")
    want "the runtime's state directory still has $left" [ -z "$left" ] || return 1
    no_files_named "$id" /run "$CTRD_DIR/state" || return 1
    left=$(our_cgroups | grep -F "/$id")
    want "cgroups left: $(oneline "$left")" [ -z "$left" ]
}

# ctr_detached ID ARGS...: a task running in the background (ctr run -d),
# with WORK/containerd/vol-ID mounted at /out; waits for /out/ready.
ctr_detached() {
    local id=$1 vol=$CTRD_DIR/vol-$1
    shift
    rm -rf "$vol"
    mkdir -p "$vol"
    run "${CTR_RUN[@]}" -d --mount "type=bind,src=$vol,dst=/out,options=rbind:rw" "$CTR_IMG" "$id" "$@"
    want_rc 0 || return 1
    want "task $id never became ready (no /out/ready within 20 s)" wait_for 20 test -e "$vol/ready"
}

# ctr_delete ID: deletes the stopped task and the container.
ctr_delete() {
    run "${CTR[@]}" task delete "$1"
    want_rc 0 || return 1
    run "${CTR[@]}" containers delete "$1"
    want_rc 0 || return 1
    ctr_gone "$1"
}

ctr_task_status() {
    "${CTR[@]}" task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }'
}
ctr_task_stopped() { [ "$(ctr_task_status "$1")" = STOPPED ]; }

ctr_exec() {
    local id=le-c-exec
    ctr_detached "$id" /bin/sh -c "trap 'exit 7' TERM; $READY_THEN_SLEEP" || return 1
    want_cgroup_of "$id" || return 1
    run "${CTR[@]}" task exec --exec-id le-x1 "$id" /bin/sh -c 'echo "in $(pwd)"; exit 4'
    want_rc 4 || return 1
    want_out "in /" || return 1
    run "${CTR[@]}" task exec --exec-id le-x2 --cwd /tmp --user 1000:1000 "$id" \
        /bin/sh -c 'echo "$(pwd) $(id -u):$(id -g)"'
    want_rc 0 || return 1
    want_out "/tmp 1000:1000"
}

# SIGTERM reaches the command (its trap exits 7): the task stops.
ctr_kill() {
    local id=le-c-exec
    run "${CTR[@]}" task kill "$id"
    want_rc 0 || return 1
    if ! wait_for 10 ctr_task_stopped "$id"; then
        WHY="task $id is '$(ctr_task_status "$id")' 10 s after ctr task kill (SIGTERM, which its command traps), want STOPPED"
        return 1
    fi
    ctr_delete "$id"
}

# An attached `ctr run --rm` passes the exit status of a killed task: the TERM
# trap's 7, then 137 for SIGKILL.
ctr_kill_attached() {
    local id=$1 signal=$2 want=$3 vol=$CTRD_DIR/vol-$1 pid
    rm -rf "$vol"
    mkdir -p "$vol"
    timeout -k 5 "$CMD_TIMEOUT" "${CTR_RUN[@]}" --rm --mount "type=bind,src=$vol,dst=/out,options=rbind:rw" \
        "$CTR_IMG" "$id" /bin/sh -c "trap 'exit 7' TERM; $READY_THEN_SLEEP" >"$W/out" 2>"$W/err" </dev/null &
    pid=$!
    if ! wait_for 20 test -e "$vol/ready"; then
        kill "$pid"
        wait "$pid"
        WHY="task $id never became ready (no /out/ready within 20 s): $(tail -n 3 "$W/err")"
        return 1
    fi
    run "${CTR[@]}" task kill --signal "$signal" "$id"
    want_rc 0 || return 1
    wait "$pid"
    RC=$? OUT=$(cat "$W/out") ERR=$(cat "$W/err")
    want_rc "$want" "after ctr task kill --signal $signal; " || return 1
    ctr_gone "$id"
}

# run --rm leaves no container, runtime state, cgroup or mount.
ctr_rm_leaves_nothing() {
    local before=$CTRD_DIR/mounts-before-rm left
    local procs_before
    procs_before=$(leftover_pids)
    mounts_snapshot >"$before"
    run "${CTR_RUN[@]}" --rm "$CTR_IMG" le-c-rm true
    want_rc 0 || return 1
    ctr_gone le-c-rm || return 1
    nothing_left_since "$before" "$procs_before"
}

section_containerd() {
    local before=$W/containerd-before id
    for id in containerd ctr containerd-shim-runc-v2; do
        command -v "$id" >/dev/null 2>&1 || { cannot_run containerd "$id is not installed (apt-get install containerd)"; return; }
    done
    snapshot "$before"
    SECTION_CLEANUPS+=(containerd_stop)
    tcase containerd.start-daemon containerd_start || return
    tcase containerd.import-image containerd_import || return
    tcase containerd.exit-0 ctr_rc 0 "$CTR_IMG" le-c-true true
    tcase containerd.exit-3 ctr_rc 3 "$CTR_IMG" le-c-three /bin/sh -c 'exit 3'
    tcase containerd.missing-command-fails ctr_missing_command
    tcase containerd.memory-limit-oom-137 ctr_memory_oom
    tcase containerd.exec ctr_exec
    tcase containerd.kill ctr_kill
    tcase containerd.kill-term-attached ctr_kill_attached le-c-term SIGTERM 7
    tcase containerd.kill-9-attached ctr_kill_attached le-c-kill SIGKILL 137
    tcase containerd.rm-leaves-nothing ctr_rm_leaves_nothing

    # What a failed case left, removed before the check; then containerd
    # stops, and what it leaves counts too.
    for id in $("${CTR[@]}" containers ls -q 2>/dev/null); do
        "${CTR[@]}" task kill --signal SIGKILL "$id" >/dev/null 2>&1
        sleep 0.2
        "${CTR[@]}" task delete --force "$id" >/dev/null 2>&1
        "${CTR[@]}" containers delete "$id" >/dev/null 2>&1
    done
    containerd_stop
    check_clean containerd "$before"
}
