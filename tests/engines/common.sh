# Shared by the engine tests (sourced by tests/engines/run.sh, never run).
#
# A case is a shell function that returns 0 when everything it checks holds,
# or sets WHY and returns 1 at the first check that does not. `tcase NAME FUNC`
# runs it and prints `ok NAME` or `FAIL NAME: WHY`, followed on failure by the
# runtime calls the case made (from the trace wrapper) and the tail of any log
# the case named in CASE_LOGS.
#
# Globals set by run.sh: W (the private work directory), RUNTIME (the runtime
# under test), RT (what the engines are given: the trace wrapper or RUNTIME),
# IMAGE_TAR (a tarball of the busybox rootfs), ROOTFS.

PASSED=0
FAILED=0
FAILED_NAMES=()
WHY=
CASE_LOGS=()

# Every engine command runs under a timeout, so a runtime that hangs makes a
# case fail instead of the whole run stalling. Generous: the machine is shared.
CMD_TIMEOUT=${ENGINES_CMD_TIMEOUT:-60}

log() { printf '%s\n' "$*" >&2; }

ok() {
    PASSED=$((PASSED + 1))
    printf 'ok %s\n' "$1"
}

fail() {
    FAILED=$((FAILED + 1))
    FAILED_NAMES+=("$1")
    printf 'FAIL %s: %s\n' "$1" "$2"
}

# tcase NAME FUNC [ARGS...]
tcase() {
    local name=$1 calls_from
    shift
    WHY=
    CASE_LOGS=()
    calls_from=$(trace_lines)
    trace_mark "$name"
    if "$@"; then
        ok "$name"
    else
        fail "$name" "${WHY:-the case returned non-zero without saying why (a harness bug)}"
        show_case_context "$calls_from"
        return 1
    fi
}

# A check that cannot run on this machine is a failure, never a skip.
cannot_run() {
    fail "$1" "cannot run here: $2"
}

show_case_context() {
    local from=$1 f
    if [ -f "$W/runtime-calls.log" ]; then
        printf '    runtime calls in this case (last 20):\n'
        tail -n +"$((from + 1))" "$W/runtime-calls.log" | tail -n 20 | sed 's/^/      /'
    fi
    for f in "${CASE_LOGS[@]}"; do
        [ -s "$f" ] || continue
        printf '    %s (last 10 lines):\n' "$f"
        tail -n 10 "$f" | sed 's/^/      /'
    done
}

trace_lines() {
    if [ -f "$W/runtime-calls.log" ]; then wc -l <"$W/runtime-calls.log"; else echo 0; fi
}

trace_mark() {
    [ -f "$W/runtime-calls.log" ] && printf '# case %s\n' "$1" >>"$W/runtime-calls.log"
    return 0
}

# run CMD... : runs CMD under the timeout; sets RC, OUT (stdout), ERR (stderr).
run() {
    timeout -k 5 "$CMD_TIMEOUT" "$@" >"$W/out" 2>"$W/err" </dev/null
    RC=$?
    OUT=$(cat "$W/out")
    ERR=$(cat "$W/err")
    if [ "$RC" = 124 ]; then
        ERR="timed out after ${CMD_TIMEOUT}s: $*
$ERR"
    fi
    return 0
}

# oneline TEXT: TEXT on one line (for a WHY), at most 600 characters.
oneline() {
    printf '%s' "$1" | tr '\n' ' ' | cut -c1-600
}

# The last lines of stderr, on one line, for a WHY.
err_tail() {
    printf '%s' "$ERR" | tail -n 3 | tr '\n' ' ' | cut -c1-400
}

want_rc() {
    [ "$RC" = "$1" ] && return 0
    WHY="exit status $RC, want $1 (${2:-}stdout: $(printf '%s' "$OUT" | tail -n 2 | tr '\n' ' ' | cut -c1-200); stderr: $(err_tail))"
    return 1
}

# want_out TEXT: stdout, without its trailing newline, is exactly TEXT.
want_out() {
    [ "$OUT" = "$1" ] && return 0
    WHY="stdout is '$(printf '%s' "$OUT" | head -c 300)', want '$1' (exit status $RC; stderr: $(err_tail))"
    return 1
}

# want_out_has TEXT: stdout contains TEXT.
want_out_has() {
    case $OUT in *"$1"*) return 0 ;; esac
    WHY="stdout has no '$1': '$(printf '%s' "$OUT" | head -c 300)' (exit status $RC; stderr: $(err_tail))"
    return 1
}

# want_err_has TEXT: stderr contains TEXT.
want_err_has() {
    case $ERR in *"$1"*) return 0 ;; esac
    WHY="stderr does not say '$1': $(err_tail)"
    return 1
}

# want DESCRIPTION TEST...: TEST (a command) succeeds, else WHY=DESCRIPTION.
want() {
    local what=$1
    shift
    "$@" && return 0
    WHY=$what
    return 1
}

# wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds.
wait_for() {
    local tries=$(($1 * 10))
    shift
    while [ "$tries" -gt 0 ]; do
        "$@" && return 0
        sleep 0.1
        tries=$((tries - 1))
    done
    return 1
}

# --- what the containers run ------------------------------------------------

# The imported images have no configuration of their own but this PATH.
IMAGE_PATH_ENV='PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

# A command that says it is ready (its traps, if any, are set) by creating
# /out/ready in a volume, then waits to be stopped.
READY_THEN_SLEEP='touch /out/ready; while :; do sleep 1; done'

# A shell command printing the network interfaces the container sees, sorted,
# space-separated.
NETDEVS='sed -n "3,\$s/:.*//p" /proc/net/dev | tr -d " " | sort | tr "\n" " "'

# --- what the runtime and the engines leave behind --------------------------

# Mount table of this (private) mount namespace, without the mount ids, which
# change when an unrelated mount is remade.
mounts_snapshot() {
    cut -d' ' -f4- /proc/self/mountinfo | sort
}

# mounts_since SNAPSHOT_FILE: the mounts present now that were not then.
mounts_since() {
    mounts_snapshot | comm -13 "$1" -
}

# Processes of this pid namespace that nobody waits for: whatever outlives
# the command that made it is reparented to PID 1 (the harness; there is no
# subreaper in between), so these are the children of PID 1 that are not the
# harness itself (the shell asking and its ancestors) nor KEEP_PIDS (the
# daemons a section started), with all their descendants. Prints "pid ppid
# args" lines.
leftover_processes() {
    ps -e -o pid=,ppid=,args= | awk -v me="$BASHPID" -v keep=" ${KEEP_PIDS:-} " '
        { pid = $1; parent[pid] = $2; line[pid] = $0; order[NR] = pid }
        END {
            for (p = me; p != "" && p > 1; p = parent[p]) harness[p] = 1
            for (i = 1; i <= NR; i++) {
                p = order[i]
                if (parent[p] == 1 && !(p in harness) && !index(keep, " " p " ")) left[p] = 1
            }
            do {
                grew = 0
                for (i = 1; i <= NR; i++) {
                    p = order[i]
                    if (!(p in left) && (parent[p] in left)) { left[p] = 1; grew = 1 }
                }
            } while (grew)
            for (i = 1; i <= NR; i++) if (order[i] in left) print line[order[i]]
        }'
}

# processes_since PIDS: the leftover processes that are not among PIDS (an
# earlier `leftover_pids`): what a case added, not what an earlier one left.
leftover_pids() { leftover_processes | awk '{ print $1 }' | tr '\n' ' '; }
processes_since() {
    local now
    now=$(leftover_processes)
    printf '%s\n' "$now" | awk -v old=" $1 " 'NF && !index(old, " " $1 " ")'
}

no_leftover_processes() { [ -z "$(leftover_processes)" ]; }

# kill_leftovers: SIGKILL to every leftover process (after a case reported
# them), so that one failure does not fail every check after it.
kill_leftovers() {
    local pids
    pids=$(leftover_pids)
    [ -n "$pids" ] || return 0
    log "killing what was left: $pids"
    kill -KILL $pids 2>/dev/null
    wait_for 10 no_leftover_processes
    return 0
}

# Every engine is told to put its containers' cgroups below a parent of this
# run's own (CG_PREFIX-podman, -docker, -ctr, -bundle), so that other users of
# this machine (another run of these tests, an engine of their own) cannot be
# mistaken for what this run left, nor this run's for theirs.
CG_PREFIX=launcher-engines-$RUN_TOKEN
our_cgroups() {
    find /sys/fs/cgroup -mindepth 2 -type d 2>/dev/null | grep -E "/$CG_PREFIX-[^/]*(/|\$)" | sort
}

# want_cgroup_of ID: a running container has its cgroup where the engine
# asked (config.json's cgroupsPath, below this run's parent). Also proves
# that the leftovers checks look in the right place.
want_cgroup_of() {
    our_cgroups | grep -qF "$1" && return 0
    WHY="no cgroup of the running container $1 below /$CG_PREFIX-*: the runtime did not honour cgroupsPath"
    return 1
}

# The cgroups of containers (not the parents, which stay, as they do with
# every runtime, until run.sh removes them at the end; podman keeps conmon in
# PARENT/conmon).
leaked_cgroups() {
    our_cgroups | grep -Ev "/$CG_PREFIX-[^/]*(/conmon)?\$"
}

# snapshot FILE: what is there before a section (mounts in FILE.mounts,
# container cgroups in FILE.cgroups), for check_clean.
snapshot() {
    mounts_snapshot >"$1.mounts"
    leaked_cgroups >"$1.cgroups"
}

# check_clean SECTION SNAPSHOT: a case that fails if the section left
# processes, container cgroups or mounts behind. What it reports is then
# removed (processes killed, cgroups removed), so that one failure does not
# fail the checks after it.
check_clean() {
    local section=$1 before=$2
    tcase "$section.nothing-left" check_clean_case "$before"
}
check_clean_case() {
    local procs cgroups mounts
    # Processes that are exiting need a moment to be reaped.
    wait_for 5 no_leftover_processes || true
    procs=$(leftover_processes)
    cgroups=$(leaked_cgroups | comm -13 "$1.cgroups" -)
    mounts=$(mounts_since "$1.mounts")
    [ -z "$procs$cgroups$mounts" ] && return 0
    kill_leftovers
    printf '%s\n' "$cgroups" | sort -r | while read -r dir; do [ -n "$dir" ] && rmdir "$dir" 2>/dev/null; done
    WHY="left behind:"
    [ -n "$procs" ] && WHY+=" processes [$(printf '%s' "$procs" | tr '\n' ';' | cut -c1-600)]"
    [ -n "$cgroups" ] && WHY+=" cgroups [$(printf '%s' "$cgroups" | tr '\n' ' ' | cut -c1-600)]"
    [ -n "$mounts" ] && WHY+=" mounts [$(printf '%s' "$mounts" | tr '\n' ';' | cut -c1-600)]"
    return 1
}

# runtime_state_entries ROOT: what the runtime keeps in its state directory.
runtime_state_entries() {
    [ -d "$1" ] || return 0
    find "$1" -mindepth 1 -maxdepth 1 2>/dev/null
}

# The --root the engines passed to the runtime (the last one logged for ID),
# or the runtime's default state directory.
runtime_root_for() {
    local id=$1 line root=
    if [ -f "$W/runtime-calls.log" ]; then
        line=$(grep -F -- "$id" "$W/runtime-calls.log" | grep -F -- "--root" | tail -n 1)
        root=$(printf '%s\n' "$line" | sed -n "s/.*'--root' '\([^']*\)'.*/\1/p")
        [ -n "$root" ] || root=$(printf '%s\n' "$line" | sed -n "s/.*'--root=\([^']*\)'.*/\1/p")
    fi
    printf '%s\n' "${root:-/run/$(basename "$RUNTIME")}"
}

# no_files_named ID DIR...: nothing in DIRs (the runtime's state directory
# wherever the engine put it: this run's private /run, the engine's own
# directories) is still named after the container ID.
no_files_named() {
    local id=$1 left
    shift
    left=$(find "$@" -name "*$id*" 2>/dev/null | head -n 5)
    [ -z "$left" ] && return 0
    WHY="files left named after the container: $(oneline "$left")"
    return 1
}

# --- daemons -------------------------------------------------------------

# start_daemon NAME LOGFILE CMD...: starts CMD in the background in its own
# session; its pid goes to DAEMON_PID.
start_daemon() {
    local name=$1 logfile=$2
    shift 2
    setsid "$@" >"$logfile" 2>&1 </dev/null &
    DAEMON_PID=$!
    log "started $name (pid $DAEMON_PID), log $logfile"
}

# stop_daemon PID: TERM, then KILL after 10 s.
stop_daemon() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    if ! wait_for 10 sh -c '! kill -0 "$1" 2>/dev/null' _ "$pid"; then
        log "pid $pid did not stop after SIGTERM; killing it"
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}

# After a container ID was removed: nothing named after it in the runtime's
# state directory, in /run or DIR, and none of our cgroups.
runtime_left_nothing() {
    local id=$1 dir=$2 root left
    root=$(runtime_root_for "$id")
    left=$(runtime_state_entries "$root" | grep -F "$id")
    want "the runtime's state directory still has $left" [ -z "$left" ] || return 1
    no_files_named "$id" /run "$dir" || return 1
    left=$(our_cgroups | grep -F "$id")
    want "cgroups left: $(oneline "$left")" [ -z "$left" ]
}

# No mount added since the snapshot in file BEFORE, no process since the
# list PROCS_BEFORE (a second look after a moment, for one still exiting).
nothing_left_since() {
    local before=$1 procs_before=$2 left
    left=$(mounts_since "$before")
    want "mounts left: $(oneline "$left")" [ -z "$left" ] || return 1
    left=$(processes_since "$procs_before")
    if [ -n "$left" ]; then
        sleep 1 # a process that is exiting may need a moment
        left=$(processes_since "$procs_before")
    fi
    want "processes left: $(oneline "$left")" [ -z "$left" ]
}
