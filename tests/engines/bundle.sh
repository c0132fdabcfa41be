# The OCI runtime spec's own rules, on a bare bundle, with no engine: the
# runtime binary driven directly (create, start, state, kill, delete, run,
# exec), its state under a private --root.
#
# Each container's command writes /ran-ID in the shared rootfs when it runs,
# then waits for /stop-ID (which the case creates from outside) to exit, so a
# case decides when the container stops.

BUNDLE_DIR=
BUNDLE_ROOT=
BUNDLE_CGROUP_PARENT=

BND=() # the runtime with its --root

# bundle_make ID [ARGS...]: a bundle directory for ID whose config.json is the
# base one with process.args ARGS (default: the ran/stop script above).
bundle_make() {
    local id=$1
    shift
    [ $# -gt 0 ] || set -- /bin/sh -c "echo ran >/ran-$id; while [ ! -e /stop-$id ]; do sleep 0.1; done"
    mkdir -p "$BUNDLE_DIR/$id"
    python3 - "$BUNDLE_DIR/base.json" "$BUNDLE_DIR/$id/config.json" "$BUNDLE_DIR/rootfs" \
        "/$BUNDLE_CGROUP_PARENT/$id" "$@" <<'EOF'
import json, sys
base, out, rootfs, cgroups_path, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
config = json.load(open(base))
config["root"] = {"path": rootfs, "readonly": False}
config["process"]["terminal"] = False
config["process"]["args"] = args
config.setdefault("linux", {})["cgroupsPath"] = cgroups_path
json.dump(config, open(out, "w"), indent=1)
EOF
}

# state_field ID FIELD: prints FIELD of `state ID`; fails when state fails.
state_field() {
    "${BND[@]}" state "$1" 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2" 2>/dev/null
}
status_is() { [ "$(state_field "$1" status)" = "$2" ]; }

# want_status ID STATUS WHEN: state ID says STATUS within 10 s.
want_status() {
    wait_for 10 status_is "$1" "$2" && return 0
    WHY="state of $1 is '$(state_field "$1" status)' $3, want $2 ($("${BND[@]}" state "$1" 2>&1 | tr '\n' ' ' | cut -c1-300))"
    return 1
}

# container_pid ID: sets PID from state, or fails.
container_pid() {
    PID=$(state_field "$1" pid)
    [ -n "$PID" ] && [ "$PID" -gt 0 ] 2>/dev/null && return 0
    WHY="state of $1 has no pid: $("${BND[@]}" state "$1" 2>&1 | tr '\n' ' ' | cut -c1-300)"
    return 1
}

pid_gone() {
    local state
    [ -e "/proc/$1" ] || return 0
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
    [ -z "$state" ] || [ "$state" = Z ]
}

# gone ID: no state, no state directory entry, no cgroup left for ID.
gone() {
    local id=$1 left
    "${BND[@]}" state "$id" >/dev/null 2>&1 && { WHY="state $id still answers after delete"; return 1; }
    left=$(runtime_state_entries "$BUNDLE_ROOT" | grep -F "$id")
    [ -z "$left" ] || { WHY="the state directory still has $left after delete"; return 1; }
    left=$(our_cgroups | grep -F "/$id")
    [ -z "$left" ] || { WHY="cgroups left after delete: $(oneline "$left")"; return 1; }
    return 0
}

bundle_spec() {
    local dir=$BUNDLE_DIR/spec
    mkdir -p "$dir"
    run env -C "$dir" "$RT" spec
    want_rc 0 || { WHY="'$RUNTIME spec' failed: $WHY"; return 1; }
    want "'$RUNTIME spec' wrote no valid config.json with ociVersion, process.args and root.path" \
        python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); assert c["ociVersion"] and c["process"]["args"] and c["root"]["path"]' \
        "$dir/config.json" 2>/dev/null
}

bundle_create_is_created() {
    local id=le-b-life
    bundle_make "$id"
    run "${BND[@]}" create --bundle "$BUNDLE_DIR/$id" "$id"
    want_rc 0 || return 1
    run "${BND[@]}" state "$id"
    want_rc 0 || return 1
    want "state after create is not created with this id, bundle and a pid: $OUT" python3 -c '
import json, sys
s = json.loads(sys.argv[1])
assert s["status"] == "created" and s["id"] == sys.argv[2] and s["bundle"] == sys.argv[3], s
assert s["ociVersion"] and int(s["pid"]) > 0, s' "$OUT" "$id" "$BUNDLE_DIR/$id" 2>/dev/null || return 1
    sleep 0.5
    want "the command ran before start (/ran-$id exists after create)" [ ! -e "$BUNDLE_DIR/rootfs/ran-$id" ]
}

bundle_start_runs() {
    local id=le-b-life
    run "${BND[@]}" start "$id"
    want_rc 0 || return 1
    want "the command did not run within 10 s of start (no /ran-$id)" wait_for 10 test -e "$BUNDLE_DIR/rootfs/ran-$id" || return 1
    want_status "$id" running "while the command runs" || return 1
    want_cgroup_of "$id"
}

bundle_stopped_after_exit() {
    local id=le-b-life
    touch "$BUNDLE_DIR/rootfs/stop-$id"
    want_status "$id" stopped "10 s after the command exited"
}

bundle_second_create_fails() {
    local id=le-b-life
    run "${BND[@]}" create --bundle "$BUNDLE_DIR/$id" "$id"
    [ "$RC" != 0 ] || { WHY="a second create of $id succeeded"; return 1; }
    want_status "$id" stopped "after a second create with its id"
}

bundle_kill_stopped_fails() {
    local id=le-b-life
    want_status "$id" stopped "before the kill" || return 1
    run "${BND[@]}" kill "$id" KILL
    [ "$RC" != 0 ] || { WHY="kill of a stopped container succeeded (the spec: it must fail)"; return 1; }
    [ -n "$ERR" ] || { WHY="kill of a stopped container failed with no message"; return 1; }
    want_status "$id" stopped "after a kill that failed"
}

bundle_delete_stopped() {
    local id=le-b-life
    run "${BND[@]}" delete "$id"
    want_rc 0 || return 1
    gone "$id"
}

bundle_unknown_id() {
    local verb
    for verb in state start delete kill; do
        run "${BND[@]}" "$verb" le-b-no-such-container
        [ "$RC" != 0 ] || { WHY="$verb of an unknown id exited 0"; return 1; }
        [ -n "$ERR" ] || { WHY="$verb of an unknown id failed without a message"; return 1; }
    done
}

# The engines recognise an unknown container by the words "does not exist" in
# the runtime's error: the containerd shim after kill and delete (it then
# treats the container as gone), podman after state.
bundle_unknown_id_does_not_exist() {
    local verb
    for verb in state delete kill; do
        run "${BND[@]}" "$verb" le-b-no-such-container
        [ "$RC" != 0 ] || { WHY="$verb of an unknown id exited 0"; return 1; }
        want_err_has "does not exist" || { WHY="$verb of an unknown id: $WHY"; return 1; }
    done
}

# --log FILE --log-format json, as the containerd shim passes them before
# every verb: FILE gets one JSON object per line with level and msg, and the
# shim reports the msg of the last "error" one.
bundle_log_json() {
    local log=$BUNDLE_DIR/log.json
    rm -f "$log"
    run "$RT" --root "$BUNDLE_ROOT" --log "$log" --log-format json state le-b-no-such-container
    [ "$RC" != 0 ] || { WHY="state of an unknown id exited 0"; return 1; }
    want "the --log file is not JSON lines with an error: $(head -c 300 "$log" 2>/dev/null)" python3 -c '
import json, sys
entries = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
errors = [e for e in entries if e["level"] == "error"]
assert errors and errors[-1]["msg"], entries' "$log" 2>/dev/null
}

bundle_kill_created() {
    local id=le-b-killcreated pid
    bundle_make "$id"
    run "${BND[@]}" create --bundle "$BUNDLE_DIR/$id" "$id"
    want_rc 0 || return 1
    container_pid "$id" || return 1
    pid=$PID
    run "${BND[@]}" kill "$id" KILL
    want_rc 0 || return 1
    want_status "$id" stopped "after kill of a created container" || return 1
    want "the created container's process $pid is still alive after kill" wait_for 5 pid_gone "$pid" || return 1
    want "the command ran although the container was never started" [ ! -e "$BUNDLE_DIR/rootfs/ran-$id" ] || return 1
    run "${BND[@]}" delete "$id"
    want_rc 0 || return 1
    gone "$id"
}

# The spec says delete of a container that is not stopped must fail; runc
# deletes a created one anyway (nothing has run). Either is accepted, but
# what the runtime says must be what happened.
bundle_delete_created() {
    local id=le-b-delcreated pid
    bundle_make "$id"
    run "${BND[@]}" create --bundle "$BUNDLE_DIR/$id" "$id"
    want_rc 0 || return 1
    container_pid "$id" || return 1
    pid=$PID
    run "${BND[@]}" delete "$id"
    if [ "$RC" = 0 ]; then
        want "delete of a created container exited 0 but its process $pid lives on" wait_for 5 pid_gone "$pid" || return 1
    else
        want_status "$id" created "after a delete without --force failed" || return 1
        run "${BND[@]}" delete --force "$id"
        want_rc 0 || return 1
        want "the process $pid lives on after delete --force" wait_for 5 pid_gone "$pid" || return 1
    fi
    want "the command ran although the container was never started" [ ! -e "$BUNDLE_DIR/rootfs/ran-$id" ] || return 1
    gone "$id"
}

bundle_kill_running() {
    local id=le-b-killrunning
    bundle_make "$id" /bin/sh -c "trap 'exit 7' TERM; echo ran >/ran-$id; while :; do sleep 0.1; done"
    run "${BND[@]}" create --bundle "$BUNDLE_DIR/$id" "$id"
    want_rc 0 || return 1
    run "${BND[@]}" start "$id"
    want_rc 0 || return 1
    want "the command did not run" wait_for 10 test -e "$BUNDLE_DIR/rootfs/ran-$id" || return 1
    run "${BND[@]}" kill "$id" TERM
    want_rc 0 || return 1
    want_status "$id" stopped "10 s after kill TERM of a running container" || return 1
    run "${BND[@]}" delete "$id"
    want_rc 0 || return 1
    gone "$id"
}

bundle_delete_running() {
    local id=le-b-delrunning pid
    bundle_make "$id"
    run "${BND[@]}" create --bundle "$BUNDLE_DIR/$id" "$id"
    want_rc 0 || return 1
    run "${BND[@]}" start "$id"
    want_rc 0 || return 1
    want "the command did not run" wait_for 10 test -e "$BUNDLE_DIR/rootfs/ran-$id" || return 1
    container_pid "$id" || return 1
    pid=$PID
    run "${BND[@]}" delete "$id"
    [ "$RC" != 0 ] || { WHY="delete of a running container without --force exited 0"; return 1; }
    want_status "$id" running "after a delete without --force failed" || return 1
    run "${BND[@]}" delete --force "$id"
    want_rc 0 || return 1
    want "the process $pid lives on after delete --force" wait_for 5 pid_gone "$pid" || return 1
    gone "$id"
}

# A container whose process died (killed from outside the runtime) is stopped.
bundle_dead_process_is_stopped() {
    local id=le-b-dead pid
    bundle_make "$id"
    run "${BND[@]}" create --bundle "$BUNDLE_DIR/$id" "$id"
    want_rc 0 || return 1
    run "${BND[@]}" start "$id"
    want_rc 0 || return 1
    want "the command did not run" wait_for 10 test -e "$BUNDLE_DIR/rootfs/ran-$id" || return 1
    container_pid "$id" || return 1
    pid=$PID
    kill -KILL "$pid"
    want_status "$id" stopped "after its process $pid was killed from outside" || return 1
    run "${BND[@]}" delete "$id"
    want_rc 0 || return 1
    gone "$id"
}

# run: create + start, attached; the exit status passes through.
bundle_run_exit_status() {
    local id=le-b-run
    bundle_make "$id" /bin/sh -c 'echo out-$(hostname); exit 3'
    run "${BND[@]}" run --bundle "$BUNDLE_DIR/$id" "$id"
    want_rc 3 || return 1
    want_out_has out- || return 1
    run "${BND[@]}" delete "$id"
    # runc run deletes the container when it exits; a runtime that keeps it
    # until delete is fine too, but then delete must work.
    gone "$id"
}

bundle_exec() {
    local id=le-b-exec
    bundle_make "$id"
    run "${BND[@]}" create --bundle "$BUNDLE_DIR/$id" "$id"
    want_rc 0 || return 1
    run "${BND[@]}" start "$id"
    want_rc 0 || return 1
    want "the command did not run" wait_for 10 test -e "$BUNDLE_DIR/rootfs/ran-$id" || return 1
    run "${BND[@]}" exec --env FOO=bar --cwd /tmp "$id" /bin/sh -c 'echo "$FOO $(pwd)"; exit 4'
    want_rc 4 || return 1
    want_out "bar /tmp" || return 1
    touch "$BUNDLE_DIR/rootfs/stop-$id"
    wait_for 10 status_is "$id" stopped
    run "${BND[@]}" delete --force "$id"
    want_rc 0 || return 1
    gone "$id"
}

section_bundle() {
    local before=$W/bundle-before
    BUNDLE_DIR=$W/bundle
    BUNDLE_ROOT=$W/bundle/state
    BND=("$RT" --root "$BUNDLE_ROOT")
    BUNDLE_CGROUP_PARENT=$CG_PREFIX-bundle
    mkdir -p "$BUNDLE_DIR" "$BUNDLE_ROOT"
    snapshot "$before"
    cp -a "$ROOTFS" "$BUNDLE_DIR/rootfs"

    tcase bundle.spec bundle_spec
    # The base config: the runtime's own spec, else runc's.
    if [ -s "$BUNDLE_DIR/spec/config.json" ]; then
        cp "$BUNDLE_DIR/spec/config.json" "$BUNDLE_DIR/base.json"
    elif command -v runc >/dev/null 2>&1 && (cd "$BUNDLE_DIR" && runc spec && mv config.json base.json); then
        log "bundle: using runc spec's config.json as the base"
    else
        cannot_run bundle.cases "neither '$RUNTIME spec' nor 'runc spec' wrote a config.json"
        return
    fi

    tcase bundle.create-is-created-and-has-not-run bundle_create_is_created
    tcase bundle.start-runs-the-command bundle_start_runs
    tcase bundle.stopped-after-the-command-exits bundle_stopped_after_exit
    tcase bundle.second-create-same-id-fails bundle_second_create_fails
    tcase bundle.kill-stopped-fails bundle_kill_stopped_fails
    tcase bundle.delete-stopped bundle_delete_stopped
    tcase bundle.unknown-id-fails bundle_unknown_id
    tcase bundle.unknown-id-says-does-not-exist bundle_unknown_id_does_not_exist
    tcase bundle.log-format-json bundle_log_json
    tcase bundle.kill-created bundle_kill_created
    tcase bundle.delete-created bundle_delete_created
    tcase bundle.kill-running bundle_kill_running
    tcase bundle.delete-running-needs-force bundle_delete_running
    tcase bundle.dead-process-is-stopped bundle_dead_process_is_stopped
    tcase bundle.run-passes-exit-status bundle_run_exit_status
    tcase bundle.exec bundle_exec

    # Whatever a failed case left: force it away before the final check.
    local id
    for id in $("${BND[@]}" list -q 2>/dev/null); do "${BND[@]}" delete --force "$id" >/dev/null 2>&1; done
    check_clean bundle "$before"
}
