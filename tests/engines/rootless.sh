# podman, rootless: an ordinary user with subordinate id ranges runs
# containers through the runtime under test (--network none: no slirp4netns).
#
# The user is made once (useradd, which on Debian gives it ranges in
# /etc/subuid and /etc/subgid; usermod adds them where it did not) and left
# for the next run, as the cargo tests do with theirs.
# Everything else is private to this run: XDG_RUNTIME_DIR, HOME and podman's
# storage live in WORK/rootless, owned by the user.

RL_USER=launcher-engines
RL_RANGE=800000-865535
RL_DIR=
RL_UID=
RL_GID=
RLPM=() # podman as the user, with its private configuration

rootless_user() {
    local f flag
    if ! id -u "$RL_USER" >/dev/null 2>&1; then
        run useradd --no-create-home --shell /usr/sbin/nologin "$RL_USER"
        want_rc 0 || { WHY="useradd $RL_USER: $WHY"; return 1; }
    fi
    for f in /etc/subuid /etc/subgid; do
        grep -q "^$RL_USER:" "$f" 2>/dev/null && continue
        flag=--add-subgids
        [ "$f" = /etc/subuid ] && flag=--add-subuids
        run usermod "$flag" "$RL_RANGE" "$RL_USER"
        want_rc 0 || { WHY="usermod $flag $RL_RANGE $RL_USER: $WHY"; return 1; }
    done
    for f in newuidmap newgidmap; do
        command -v "$f" >/dev/null 2>&1 || { WHY="$f is not installed (apt-get install uidmap)"; return 1; }
    done
    RL_UID=$(id -u "$RL_USER")
    RL_GID=$(id -g "$RL_USER")
}

rootless_setup() {
    RL_DIR=$W/rootless
    mkdir -p "$RL_DIR/home" "$RL_DIR/run" "$RL_DIR/rr"
    # podman refuses a rootless runroot longer than 50 characters: hence rr.
    podman_config "$RL_DIR/conf" "$RL_DIR/storage" "$RL_DIR/rr"
    chown -R "$RL_UID:$RL_GID" "$RL_DIR"
    chmod 700 "$RL_DIR/run"
    RLPM=(setpriv --reuid="$RL_UID" --regid="$RL_GID" --init-groups
        env -i HOME="$RL_DIR/home" PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
        USER="$RL_USER" LOGNAME="$RL_USER" XDG_RUNTIME_DIR="$RL_DIR/run"
        XDG_CONFIG_HOME="$RL_DIR/home/.config" XDG_DATA_HOME="$RL_DIR/home/.local/share"
        CONTAINERS_CONF="$RL_DIR/conf/containers.conf" CONTAINERS_STORAGE_CONF="$RL_DIR/conf/storage.conf"
        podman --root "$RL_DIR/storage" --runroot "$RL_DIR/rr"
        --cgroup-manager cgroupfs --events-backend file --runtime "$RT")
    run "${RLPM[@]}" import --change "ENV $IMAGE_PATH_ENV" --change 'CMD ["/bin/sh"]' "$IMAGE_TAR" "$IMG"
    want_rc 0 || { WHY="podman import as $RL_USER failed: $WHY"; return 1; }
}

rootless_rc() {
    local want=$1
    shift
    run "${RLPM[@]}" run --rm --network none "$@"
    want_rc "$want"
}

rootless_missing_command() {
    rootless_rc 127 "$IMG" /no/such/command || return 1
    want_err_has /no/such/command
}

# Root inside is the user outside; ids 1.. come from the user's (first) range.
rootless_ids() {
    local start count
    IFS=: read -r _ start count < <(grep "^$RL_USER:" /etc/subuid | head -n 1)
    run "${RLPM[@]}" run --rm --network none "$IMG" /bin/sh -c 'id -u; id -g; cat /proc/self/uid_map'
    want_rc 0 || return 1
    want "uid/gid inside are not 0/0: $OUT" [ "$(printf '%s\n' "$OUT" | head -n 2 | tr '\n' ' ')" = "0 0 " ] || return 1
    want "uid_map does not map root to $RL_UID and 1.. to the range $start+$count: $(printf '%s' "$OUT" | tail -n +3 | tr -s ' \n' ' ')" \
        [ "$(printf '%s\n' "$OUT" | tail -n +3 | tr -s ' ' | sed 's/^ //' | tr '\n' ';')" = "0 $RL_UID 1;1 $start $count;" ]
}

rootless_user_1000() {
    run "${RLPM[@]}" run --rm --network none --user 1000:1000 "$IMG" \
        /bin/sh -c 'touch /tmp/f && stat -c "%u:%g" /tmp/f && id -u'
    want_rc 0 || return 1
    want_out "1000:1000
1000"
}

rootless_exec() {
    run "${RLPM[@]}" run -d --network none --name le-rl-exec "$IMG" /bin/sh -c 'while :; do sleep 1; done'
    want_rc 0 || return 1
    run "${RLPM[@]}" exec le-rl-exec /bin/sh -c 'echo "in $(id -u)"; exit 6'
    want_rc 6 || return 1
    want_out "in 0" || return 1
    run "${RLPM[@]}" rm -f -t 0 le-rl-exec
    want_rc 0
}

# --rm leaves nothing named after the container in the user's runtime
# directory (where podman, conmon and the runtime keep their state) or
# podman's storage.
rootless_rm_leaves_nothing() {
    local id
    rm -f "$RL_DIR/cid"
    run "${RLPM[@]}" run --rm --network none --cidfile "$RL_DIR/cid" "$IMG" true
    want_rc 0 || return 1
    id=$(cat "$RL_DIR/cid" 2>/dev/null)
    [ -n "$id" ] || { WHY="podman wrote no container id to --cidfile"; return 1; }
    no_files_named "$id" "$RL_DIR/run" "$RL_DIR/rr" "$RL_DIR/storage"
}

# Rootless podman keeps a pause process (the holder of its user namespace)
# after the containers are gone; it is podman's, not the runtime's.
rootless_cleanup() {
    [ -n "$RL_DIR" ] || return 0
    "${RLPM[@]}" rm -af -t 0 >/dev/null 2>&1
    local pause
    pause=$(cat "$RL_DIR/run/libpod/tmp/pause.pid" 2>/dev/null)
    [ -n "$pause" ] && kill -KILL "$pause" 2>/dev/null
    RL_DIR=
}

section_rootless() {
    local before=$W/rootless-before
    command -v podman >/dev/null 2>&1 || { cannot_run rootless "podman is not installed (apt-get install podman)"; return; }
    snapshot "$before"
    tcase rootless.user-with-subordinate-ids rootless_user || return
    SECTION_CLEANUPS+=(rootless_cleanup)
    tcase rootless.import-image rootless_setup || return
    tcase rootless.exit-0 rootless_rc 0 "$IMG" true
    tcase rootless.exit-3 rootless_rc 3 "$IMG" /bin/sh -c 'exit 3'
    tcase rootless.exit-127-missing-command rootless_missing_command
    tcase rootless.root-is-the-user-and-range-mapped rootless_ids
    tcase rootless.user-1000 rootless_user_1000
    tcase rootless.exec rootless_exec
    tcase rootless.rm-leaves-nothing rootless_rm_leaves_nothing
    rootless_cleanup
    check_clean rootless "$before"
}
