#!/usr/bin/env python3
"""Peak resident memory of a container runtime's own processes.

    rss.py CMD [ARGS...]      (CMD runs a container whose payload is `sleep 1`)

Starts CMD and, every 2 ms until it exits, walks the process tree below it
(by PPid in /proc/PID/stat). Every process in that tree is the runtime's,
except the payload: processes whose name (comm) is `sleep`. In each sample
where the payload is alive, it sums VmHWM (the kernel's peak RSS of a process,
which only grows while the process lives) over the runtime's processes alive
at that moment, and reports the largest such sum: what the runtime holds
while the container runs. Helpers that exit before the payload starts (runc's
intermediate child) are not counted; a process that execs the payload (runc's
`runc init`, crun's child, the floor's child) counts as payload from then on:
its earlier memory was freed by the exec.

Prints one line:  TOTAL_KB<TAB>COUNT<TAB>name:kB,name:kB,...
Exits non-zero when CMD failed or no payload was ever seen.
"""
import os
import subprocess
import sys
import time


def children_map():
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # comm may contain spaces and parentheses: split after the last ')'.
        rest = stat[stat.rindex(")") + 2 :].split()
        kids.setdefault(int(rest[1]), []).append(int(entry))
    return kids


def status_of(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, val = line.partition(":")
                out[key] = val.strip()
    except OSError:
        return None
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: rss.py CMD [ARGS...]")
    proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
    best = None  # (total kB, [(name, kB)...]) of the heaviest sample
    while proc.poll() is None:
        kids = children_map()
        todo, runtime, payload = [proc.pid], [], False
        while todo:
            pid = todo.pop()
            todo.extend(kids.get(pid, []))
            st = status_of(pid)
            if st is None or "VmHWM" not in st:  # gone, or a zombie
                continue
            if st["Name"] == "sleep":
                payload = True
            else:
                runtime.append((st["Name"], int(st["VmHWM"].split()[0])))
        if payload:
            total = sum(kb for _, kb in runtime)
            if best is None or total > best[0]:
                best = (total, runtime)
        time.sleep(0.002)
    if proc.returncode != 0:
        sys.exit(f"rss.py: {sys.argv[1]} exited with status {proc.returncode}")
    if best is None:
        sys.exit(f"rss.py: never saw the payload `sleep` below {sys.argv[1]}; did it run a container?")
    total, runtime = best
    detail = ",".join(f"{name}:{kb}" for name, kb in runtime) or "-"
    print(f"{total}\t{len(runtime)}\t{detail}")

if __name__ == "__main__":
    main()
