#!/bin/sh
# Delegate cgroups to an unprivileged user, so that `launcher run --memory ...`
# (and --cpus, --pids-limit) work without root. Run as root:
#   sudo make cgroup                      (delegates to $SUDO_USER)
#   scripts/cgroup.sh USER
#   scripts/cgroup.sh --remove USER       (undo; fails while a container runs)
# It only makes directories named launcher.user-<uid> and hands them to the user;
# on v2 it may also enable pids/memory/cpu in the root's cgroup.subtree_control.
# It never unmounts or rearranges a hierarchy. The name launcher.user-<uid> is
# also defined in launcher/src/cgroup.rs (delegated_name): keep them the same.
set -eu

remove=
if [ "${1:-}" = "--remove" ]; then
    remove=1
    shift
fi
user=${1:-${SUDO_USER:-}}
if [ -z "$user" ]; then
    echo "usage: sudo make cgroup, or: $0 [--remove] USER" >&2
    exit 2
fi
if [ "$(id -u)" != 0 ]; then
    echo "$0: must run as root: sudo make cgroup" >&2
    exit 1
fi
if ! uid=$(id -u "$user" 2>/dev/null); then
    echo "$0: no such user: $user" >&2
    exit 1
fi
gid=$(id -g "$user")
if [ "$uid" = 0 ]; then
    echo "$0: $user is root, which needs no delegation" >&2
    exit 1
fi
name=launcher.user-$uid
wanted="pids memory cpu"

# "FSTYPE MOUNTPOINT SUPER-OPTIONS" for each cgroup and cgroup2 mount.
mounts() {
    sed -n 's/^[^ ]* [^ ]* [^ ]* [^ ]* \([^ ]*\) .* - \(cgroup2*\) [^ ]* \([^ ]*\)$/\2 \1 \3/p' /proc/self/mountinfo
}

# The unified hierarchy: the one at /sys/fs/cgroup if it is cgroup2, else any.
v2=$(mounts | awk '$1 == "cgroup2" { print $2 }' | grep -x /sys/fs/cgroup || true)
[ -n "$v2" ] || v2=$(mounts | awk '$1 == "cgroup2" { print $2; exit }')
v2_has=""
[ -z "$v2" ] || v2_has=$(cat "$v2/cgroup.controllers")

has() { # has WORD LIST
    case " $2 " in *" $1 "*) return 0 ;; esac
    return 1
}

v2_use=""
v1_dirs=""
for c in $wanted; do
    if has "$c" "$v2_has"; then
        v2_use="$v2_use $c"
        continue
    fi
    m=$(mounts | awk -v c="$c" '$1 == "cgroup" { n = split($3, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) print $2 }' | head -n 1)
    if [ -z "$m" ]; then
        echo "$0: warning: no hierarchy has the $c controller: limits that need it cannot work" >&2
        continue
    fi
    has "$m" "$v1_dirs" || v1_dirs="$v1_dirs $m"
done

if [ -n "$remove" ]; then
    for m in $v1_dirs; do
        [ ! -d "$m/$name" ] || rmdir "$m/$name"
    done
    if [ -n "$v2_use" ]; then
        [ ! -d "$v2/$name/session" ] || rmdir "$v2/$name/session"
        [ ! -d "$v2/$name" ] || rmdir "$v2/$name"
    fi
    echo "removed the cgroups delegated to $user"
    exit 0
fi

# v1: a directory under each hierarchy's root; the user may then make cgroups
# in it and move their own processes into them.
for m in $v1_dirs; do
    mkdir -p "$m/$name"
    chown "$uid:$gid" "$m/$name" "$m/$name/tasks" "$m/$name/cgroup.procs"
    echo "v1: $m/$name delegated to $user"
done

# v2: the kernel allows moving a process only by whoever may write cgroup.procs
# of the common ancestor of its old and new cgroups, so the user's launcher must
# run from inside the delegated cgroup: the leaf "session" is there for shells.
if [ -n "$v2_use" ]; then
    plus=""
    for c in $v2_use; do
        plus="$plus +$c"
        has "$c" "$(cat "$v2/cgroup.subtree_control")" || echo "+$c" >"$v2/cgroup.subtree_control"
    done
    d=$v2/$name
    mkdir -p "$d"
    # Before "session" holds a process: no internal processes with controllers.
    echo "$plus" >"$d/cgroup.subtree_control"
    mkdir -p "$d/session"
    chown "$uid:$gid" "$d" "$d/cgroup.procs" "$d/cgroup.threads" "$d/cgroup.subtree_control" \
        "$d/session" "$d/session/cgroup.procs" "$d/session/cgroup.threads" "$d/session/cgroup.subtree_control"
    echo "v2: $d delegated to $user ($v2_use )"
    echo "    the launcher must run from inside it; once per login shell:"
    echo "      echo \$\$ | sudo tee $d/session/cgroup.procs"
fi
[ -n "$v1_dirs$v2_use" ] || { echo "$0: no usable cgroup controller found" >&2; exit 1; }
