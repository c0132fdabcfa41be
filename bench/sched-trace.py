#!/usr/bin/env python3
"""Where a container start's time goes, from the kernel's scheduler events.

    bench/sched-trace.py RUNS NAME=COMMAND [NAME=COMMAND ...]

Runs each COMMAND (split on spaces, no shell) RUNS times, alternating, with the
tracefs events sched_process_{exec,fork,exit} and sched_{wakeup,wakeup_new,switch}
on (as root; tracefs is mounted on /sys/kernel/tracing if it is not). For every
contender it prints:

- the median timeline of one run: the runtime's exec, each fork, exec and exit
  of the processes below it, with the time since the previous event;
- the time its processes spent runnable but waiting for a CPU, by process
  (0 = the runtime, 1 = its first child, 2 = the next, ...) and cause (after a
  wakeup, after being created, or preempted by another task), per run.

Used for bench/findings.md. Costs a few µs per event: compare contenders of
one call, not absolute numbers against `make bench`.
"""
import bisect
import os
import re
import statistics
import subprocess
import sys
from collections import Counter, defaultdict

TRACING = "/sys/kernel/tracing"
EVENTS = [
    "sched/sched_process_exec",
    "sched/sched_process_fork",
    "sched/sched_process_exit",
    "sched/sched_wakeup",
    "sched/sched_wakeup_new",
    "sched/sched_switch",
]
LINE = re.compile(r"^\s*(.+?)-(\d+)\s+\[(\d+)\].*?\s([\d.]+): (\w+): (.*)$")


def write(path, value):
    with open(os.path.join(TRACING, path), "w") as f:
        f.write(value)


def record(runs, contenders):
    if not os.path.exists(os.path.join(TRACING, "trace")):
        subprocess.run(["mount", "-t", "tracefs", "nodev", TRACING], check=True)
    write("tracing_on", "0")
    write("trace_clock", "mono")
    write("buffer_size_kb", "65536")
    write("trace", "")
    for event in EVENTS:
        write(f"events/{event}/enable", "1")
    roots = []
    write("tracing_on", "1")
    try:
        for i in range(runs):
            for name, argv in contenders if i % 2 == 0 else contenders[::-1]:
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
                roots.append((name, proc.pid))
                if proc.wait() != 0:
                    sys.exit(f"sched-trace: {name} exited with {proc.returncode}: {' '.join(argv)}")
    finally:
        write("tracing_on", "0")
        for event in EVENTS:
            write(f"events/{event}/enable", "0")
    with open(os.path.join(TRACING, "trace")) as f:
        events = []
        for line in f:
            m = LINE.match(line)
            if m:
                events.append((float(m.group(4)), int(m.group(2)), m.group(5), m.group(6)))
    return roots, events


def field(rest, name):
    m = re.search(rf"(?:^|\s){name}=(\S+)", rest)
    return m.group(1) if m else None


def analyse(roots, events):
    children = defaultdict(list)
    for _, pid, event, rest in events:
        if event == "sched_process_fork":
            children[int(field(rest, "pid"))].append(int(field(rest, "child_pid")))
    timelines, waits, counts, runs_of = defaultdict(list), defaultdict(Counter), defaultdict(Counter), Counter()
    times = [e[0] for e in events]
    own = defaultdict(list)
    for t, pid, event, _ in events:
        if event in ("sched_process_exec", "sched_process_exit"):
            own[(pid, event)].append(t)
    for name, root in roots:
        tree = [root]
        for pid in tree:
            tree.extend(children.get(pid, []))
        role = {pid: i for i, pid in enumerate(tree)}
        start = next(iter(own.get((root, "sched_process_exec"), [])), None)
        end = next(iter(own.get((root, "sched_process_exit"), [])), None)
        if start is None or end is None:
            continue
        mine = events[bisect.bisect_left(times, start) : bisect.bisect_right(times, end)]
        runs_of[name] += 1
        marks, pending = [], {}
        for t, pid, event, rest in mine:
            if t < start or t > end:
                continue
            if event == "sched_process_exec" and pid in role:
                what = "runtime" if pid == root else os.path.basename(field(rest, "filename"))
                marks.append((t, f"exec {what} (process {role[pid]})"))
            elif event == "sched_process_fork" and pid in role:
                marks.append((t, f"process {role[pid]} forks"))
            elif event == "sched_process_exit" and pid in role:
                marks.append((t, f"process {role[pid]} exits"))
            elif event in ("sched_wakeup", "sched_wakeup_new"):
                woken = int(field(rest, "pid"))
                if woken in role:
                    pending[woken] = (t, "created" if event == "sched_wakeup_new" else "woken")
            elif event == "sched_switch":
                prev, nxt = int(field(rest, "prev_pid")), int(field(rest, "next_pid"))
                if prev in role and field(rest, "prev_state") == "R":
                    by = re.sub(r"[-/:]\d+$", "", re.sub(r"/\d+$", "", field(rest, "next_comm") or "?"))
                    pending[prev] = (t, f"preempted by {by}")
                if nxt in pending:
                    since, why = pending.pop(nxt)
                    key = f"process {role[nxt]} {why}"
                    waits[name][key] += (t - since) * 1e6
                    counts[name][key] += 1
        timelines[name].append([(t - start, label) for t, label in marks])
    for name, runs in timelines.items():
        shapes = Counter(tuple(label for _, label in run) for run in runs)
        shape, count = shapes.most_common(1)[0]
        same = [run for run in runs if tuple(label for _, label in run) == shape]
        print(f"== {name}: {len(runs)} runs; timeline of the {count} runs with the commonest shape, medians")
        for i, label in enumerate(shape):
            at = statistics.median(run[i][0] * 1e6 for run in same)
            since = statistics.median((run[i][0] - run[i - 1][0]) * 1e6 for run in same) if i else 0
            print(f"   {at:8.0f} us  (+{since:6.0f})  {label}")
        n = runs_of[name]
        total = sum(waits[name].values()) / n
        print(f"   waiting for a CPU: {total:.0f} us a run (mean), the largest causes:")
        for key, us in waits[name].most_common(6):
            print(f"   {us / n:8.0f} us  {counts[name][key] / n:5.2f}x a run  {key}")


def main():
    if len(sys.argv) < 3 or not sys.argv[1].isdigit():
        sys.exit(__doc__)
    contenders = []
    for arg in sys.argv[2:]:
        name, _, command = arg.partition("=")
        if not command:
            sys.exit(f"sched-trace: {arg!r}: expected NAME=COMMAND")
        contenders.append((name, command.split()))
    roots, events = record(int(sys.argv[1]), contenders)
    analyse(roots, events)


if __name__ == "__main__":
    main()
