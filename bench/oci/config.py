#!/usr/bin/env python3
"""Write an OCI runtime config.json for crun and runc over the bench's shared rootfs.

    config.py --rootfs /ABS/ROOTFS [--pids N] [--memory BYTES] -- CMD [ARGS...]

The content is what `crun spec --rootless` gives, cut down to the work that
`launcher run` does, so the comparison is like for like: namespaces user, pid,
mount, uts and ipc (no network namespace: the launcher shares the host's
network too), identity uid/gid maps for root (the launcher's rootful mode),
no terminal, /proc, a tmpfs /dev (the runtimes add the default device nodes
to it), /sys read-only and a /tmp tmpfs. No seccomp filter, no capability
list (an empty one: nothing is kept), no masked paths: the launcher does none
of these either. With --pids/--memory, linux.resources gets the limits.
"""
import argparse
import json
import os
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rootfs", required=True)
    ap.add_argument("--hostname", default="bench")
    ap.add_argument("--pids", type=int)
    ap.add_argument("--memory", type=int, help="bytes")
    ap.add_argument("args", nargs="+")
    opts = ap.parse_args()
    if not os.path.isabs(opts.rootfs):
        sys.exit(f"config.py: --rootfs must be absolute, got {opts.rootfs!r}")

    # Root keeps its whole id range (as the launcher's rootful mode does);
    # anyone else maps to root inside with a single-id map.
    uid, gid = os.getuid(), os.getgid()
    if uid == 0:
        uid_maps = [{"containerID": 0, "hostID": 0, "size": 4294967295}]
        gid_maps = [{"containerID": 0, "hostID": 0, "size": 4294967295}]
    else:
        uid_maps = [{"containerID": 0, "hostID": uid, "size": 1}]
        gid_maps = [{"containerID": 0, "hostID": gid, "size": 1}]

    linux = {
        "namespaces": [{"type": t} for t in ("user", "pid", "mount", "uts", "ipc")],
        "uidMappings": uid_maps,
        "gidMappings": gid_maps,
    }
    resources = {}
    if opts.pids is not None:
        resources["pids"] = {"limit": opts.pids}
    if opts.memory is not None:
        resources["memory"] = {"limit": opts.memory}
    if resources:
        linux["resources"] = resources

    config = {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": opts.args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "noNewPrivileges": True,
        },
        "root": {"path": opts.rootfs, "readonly": False},
        "hostname": opts.hostname,
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {
                "destination": "/dev",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
            },
            {
                # sysfs itself cannot be mounted without owning a network
                # namespace, so it is bound read-only, as rootless runtimes do.
                "destination": "/sys",
                "type": "none",
                "source": "/sys",
                "options": ["rbind", "nosuid", "noexec", "nodev", "ro"],
            },
            {
                "destination": "/tmp",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "nodev", "mode=1777"],
            },
        ],
        "linux": linux,
    }
    json.dump(config, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
