#!/usr/bin/env python3
"""Turn bench.sh's raw measurements into bench/results.md and bench/startup.svg.

    report.py OUT_DIR RESULTS_MD STARTUP_SVG

OUT_DIR holds startup-NN.json, cycle-NN.json and podman-NN.json (hyperfine --export-json,
one per round), throughput.tsv, rss.tsv, sizes.tsv, commands.tsv and meta.env, all written
by bench.sh. The OCI rows' charts go next to STARTUP_SVG, as oci-cycle.svg and oci-podman.svg.
Standard library only: the SVG is written as text.
"""
import glob
import html
import json
import os
import statistics
import sys

BASE = "launcher"  # ratios are to this contender, measured in the same run
FLOORS = ("floor", "floor-same")  # the launcher is reported against each

ABOUT = {
    "exec": "exec of the rootfs's static busybox `true`, no container: the cost of one exec",
    "setpriv": "`setpriv` to the bench user, then busybox `true`: subtract from launcher-rootless",
    "floor": "bench/floor/floor.c (static musl): the namespaces, maps, /proc, pivot_root, nothing else",
    "floor-same": "bench/floor/floor-same.c (static musl): launcher run's default container, no PID 1 (same-work floor)",
    "unshare": "util-linux `unshare` + `chroot`: no /proc, no /dev",
    "bwrap": "bubblewrap: user, pid, uts namespaces, /proc, /dev",
    "launcher": "launcher run, rootful (identity id maps)",
    "launcher-rootless": "launcher run as the unprivileged bench user, via `setpriv`",
    "launcher-limits": "launcher run --pids-limit 10 --memory 50m (cgroup v1 here)",
    "crun": "crun run, --cgroup-manager=disabled",
    "crun-limits": "crun run, cgroupfs, pids 10, memory 50 MiB",
    "runc": "runc run (runc makes cgroups even without limits)",
    "runc-limits": "runc run, pids 10, memory 50 MiB",
    "cycle-launcher": "launcher create, start, wait, delete (bench/oci/cycle.c)",
    "cycle-crun": "crun create, start, wait, delete (--cgroup-manager=cgroupfs)",
    "cycle-runc": "runc create, start, wait, delete",
    "podman-launcher": "podman run --rm --network none IMAGE /bin/true, --runtime launcher",
    "podman-crun": "podman run --rm --network none IMAGE /bin/true, --runtime crun",
    "podman-runc": "podman run --rm --network none IMAGE /bin/true, --runtime runc",
}

# The targets of issue 12, checked against each run's numbers.
OCI_TARGETS = {
    "cycle": ("cycle-launcher", "cycle-crun", 2.0, "the bundle cycle at least 2x faster with launcher than with crun"),
    "podman": ("podman-launcher", "podman-crun", 1.0, "podman end to end faster with launcher than with crun"),
}


def read_tsv(path):
    with open(path) as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def read_meta(path):
    meta = {}
    with open(path) as f:
        for line in f:
            key, _, val = line.rstrip("\n").partition("=")
            meta[key] = val
    return meta


def ms(seconds):
    return f"{seconds * 1000:.2f}"


def ratio(value, base):
    if base is None or base == 0:
        return "-"
    return f"{value / base:.2f}x"


def startup_table(results):
    base = next((r["median"] for r in results if r["name"] == BASE), None)
    rows = [
        "| contender | median ms | min ms | max ms | mean ± sd ms | ratio to launcher (median) | what it is |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        rows.append(
            f"| {r['name']} | {ms(r['median'])} | {ms(r['min'])} | {ms(r['max'])} "
            f"| {ms(r['mean'])} ± {ms(r['stddev'])} | {ratio(r['median'], base)} | {ABOUT.get(r['name'], '')} |"
        )
    return rows


def floor_table(results):
    """Each launcher row against each floor of the same run (median over median)."""
    by = {r["name"]: r["median"] for r in results}
    floors = [f for f in FLOORS if f in by]
    if not floors:
        return ["(no floor was measured in this run)"]
    rows = [
        "| contender | median ms | " + " | ".join(f"against {f} ({ms(by[f])} ms)" for f in floors) + " |",
        "|---|---:|" + "---:|" * len(floors),
    ]
    for name in by:
        if name.startswith("launcher"):
            cells = [f"{ratio(by[name], by[f])}, +{ms(by[name] - by[f])} ms" for f in floors]
            rows.append(f"| {name} | {ms(by[name])} | " + " | ".join(cells) + " |")
    return rows


def init_tables(out_dir, top_n=25):
    """init's sections, and its largest symbols (nm -S of an unstripped build)."""
    sym_path = os.path.join(out_dir, "init-symbols.txt")
    sec_path = os.path.join(out_dir, "init-sections.txt")
    if not os.path.exists(sym_path):
        return ["(no init-symbols.txt in this run)"]
    rows = ["| section | bytes |", "|---|---:|"]
    with open(sec_path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
                rows.append(f"| `{parts[0]}` | {int(parts[1]):,} |")
    syms = []
    with open(sym_path) as f:
        for line in f:
            parts = line.split(None, 3)
            if len(parts) == 4:
                syms.append((int(parts[1], 16), parts[2], parts[3].strip()))
    kinds = {"t": "code", "T": "code", "r": "read-only data", "R": "read-only data", "b": "zeroed (.bss, no file bytes)",
             "B": "zeroed (.bss, no file bytes)", "d": "data", "D": "data"}
    rows += ["", "| symbol | bytes | kind |", "|---|---:|---|"]
    for size, kind, name in syms[:top_n]:
        rows.append(f"| `{name}` | {size:,} | {kinds.get(kind, kind)} |")
    code = sum(size for size, kind, _ in syms if kind in "tT")
    rows += ["", f"Code in named functions: {code:,} bytes in {sum(1 for _, k, _ in syms if k in 'tT')} functions."]
    return rows


def findings(path):
    """The hand-written analysis (bench/findings.md), kept with every regenerated results.md."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [f.read().rstrip("\n"), ""]


def throughput_table(rows_in):
    wall = {}
    for name, par, usec in rows_in:
        wall[(name, int(par))] = int(usec) / 1e6
    names = list(dict.fromkeys(name for name, _, _ in rows_in))
    b1, b10 = wall.get((BASE, 1)), wall.get((BASE, 10))
    rows = [
        "| contender | 100 in a row, s | per container, ms | ratio | 100 as 10 parallel (xargs -P10), s | per container, ms | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for n in names:
        s1, s10 = wall[(n, 1)], wall[(n, 10)]
        rows.append(
            f"| {n} | {s1:.3f} | {s1 * 10:.2f} | {ratio(s1, b1)} | {s10:.3f} | {s10 * 10:.2f} | {ratio(s10, b10)} |"
        )
    return rows


def rss_table(rows_in):
    per = {}
    for name, total, count, detail in rows_in:
        per.setdefault(name, []).append((int(total), int(count), detail))
    rows = [
        "| contender | peak RSS of the runtime, KiB (median of 3) | runtime processes | per process (name:KiB), median run |",
        "|---|---:|---:|---|",
    ]
    for name, runs in per.items():
        runs.sort()
        total, count, detail = runs[len(runs) // 2]
        rows.append(f"| {name} | {total:,} | {count} | {detail.replace(',', ', ')} |")
    return rows


def sizes_table(rows_in, top):
    rows = [
        "| binary | bytes | static | stripped | path |",
        "|---|---:|---|---|---|",
    ]
    for label, path, size, desc in rows_in:
        if path == "-":
            rows.append(f"| {label} | - | - | - | not installed |")
            continue
        static = "yes" if ("statically linked" in desc or "static-pie" in desc) else "no (dynamic)"
        if "not stripped" in desc:
            stripped = "no"
        elif "stripped" in desc or "no section header" in desc:
            stripped = "yes"
        else:
            stripped = "?"
        if path.startswith(top + "/"):
            path = path[len(top) + 1 :]
        rows.append(f"| {label} | {int(size):,} | {static} | {stripped} | `{path}` |")
    return rows


def trace_table(path):
    """Median offset of each `launcher run --trace` phase over the runs."""
    runs, cur = [], []
    with open(path) as f:
        for line in f:
            if line.strip() == "--":
                runs.append(cur)
                cur = []
                continue
            parts = line.split(None, 4)
            # "launcher: trace   1234 us  phase words"
            if len(parts) == 5 and parts[:2] == ["launcher:", "trace"] and parts[3] == "us":
                cur.append((parts[4].strip(), int(parts[2])))
    phases = list(dict.fromkeys(p for run in runs for p, _ in run))
    rows = [
        "| phase (reached at) | median offset, µs | median since previous phase, µs |",
        "|---|---:|---:|",
    ]
    prev = None
    for phase in phases:
        offs = [dict(run)[phase] for run in runs if phase in dict(run)]
        deltas = []
        for run in runs:
            d = dict(run)
            if phase in d and (prev is None or prev in d):
                deltas.append(d[phase] - (d[prev] if prev else 0))
        rows.append(f"| {phase} | {statistics.median(offs):,.0f} | {statistics.median(deltas):,.0f} |")
        prev = phase
    return len(runs), rows


def is_launcher(name):
    return name.startswith("launcher") or name.endswith("-launcher")


def svg_chart(results, meta, title="Start-up + teardown of /bin/true (median, ms; line: min-max)",
              runs=None, lo="min", hi="max"):
    """Horizontal bars of the median, a thin line from lo to hi (min to max)."""
    left, right, top, row, bar = 150, 160, 52, 26, 16
    width = 800
    plot = width - left - right
    height = top + row * len(results) + 40
    # Scale to the largest median, so that one long tail does not flatten
    # every bar; maxima past the edge are clipped and marked.
    scale_max = max(r["median"] for r in results) * 1.15
    x = lambda v: left + min(v, scale_max) / scale_max * plot
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="20" font-size="14" font-weight="bold">{html.escape(title)}</text>',
        f'<text x="{left}" y="38" fill="#555">{html.escape(meta.get("cpu", "?"))}, {meta.get("cores", "?")} cores, '
        f'kernel {html.escape(meta.get("kernel", "?"))}, {html.escape(meta.get("date", ""))}, hyperfine -N, '
        f'{runs or meta.get("runs", "?")} runs</text>',
    ]
    for i, r in enumerate(results):
        y = top + i * row
        mid = y + bar / 2
        colour = "#d9534f" if is_launcher(r["name"]) else (
            "#5cb85c" if r["name"] in FLOORS + ("exec", "setpriv") else "#5b8fd6")
        out.append(f'<text x="{left - 8}" y="{mid + 4}" text-anchor="end">{html.escape(r["name"])}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{x(r["median"]) - left:.1f}" height="{bar}" fill="{colour}"/>')
        out.append(
            f'<line x1="{x(r[lo]):.1f}" y1="{mid}" x2="{x(r[hi]):.1f}" y2="{mid}" stroke="#333" stroke-width="1"/>'
        )
        label = f'{r["median"] * 1000:.2f}'
        if r[hi] > scale_max:
            label += f'  ({hi} {r[hi] * 1000:.1f} →)'
        out.append(f'<text x="{max(x(r["median"]), x(r[hi])) + 4:.1f}" y="{mid + 4}">{html.escape(label)}</text>')
    axis_y = top + row * len(results) + 6
    out.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + plot}" y2="{axis_y}" stroke="#999"/>')
    step = nice_step(scale_max * 1000)
    t = 0.0
    while t <= scale_max * 1000 + 1e-9:
        tx = x(t / 1000)
        out.append(f'<line x1="{tx:.1f}" y1="{axis_y}" x2="{tx:.1f}" y2="{axis_y + 4}" stroke="#999"/>')
        out.append(f'<text x="{tx:.1f}" y="{axis_y + 16}" text-anchor="middle" fill="#555">{t:g}</text>')
        t += step
    out.append(f'<text x="{left + plot}" y="{axis_y + 30}" text-anchor="end" fill="#555">ms</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def nice_step(span):
    for step in (0.5, 1, 2, 5, 10, 20, 50, 100):
        if span / step <= 10:
            return step
    return 200


def pooled_rounds(out_dir, prefix="startup"):
    """Each contender's run times from every round (PREFIX-NN.json, one
    hyperfine export per round), pooled, in the order of the first round."""
    times = {}
    for path in sorted(glob.glob(os.path.join(out_dir, f"{prefix}-*.json"))):
        with open(path) as f:
            for r in json.load(f)["results"]:
                times.setdefault(r["command"], []).extend(r["times"])
    return [
        {
            "name": name,
            "times": t,
            "median": statistics.median(t),
            "min": min(t),
            "max": max(t),
            "mean": statistics.mean(t),
            "stddev": statistics.stdev(t) if len(t) > 1 else 0.0,
            # Deciles need two points; with one, both are that point.
            "p10": statistics.quantiles(t, n=10, method="inclusive")[0] if len(t) > 1 else t[0],
            "p90": statistics.quantiles(t, n=10, method="inclusive")[8] if len(t) > 1 else t[0],
        }
        for name, t in times.items()
    ]


def faster_share(a, b):
    """The share of pairs (one run of a, one run of b) in which a's run was the
    shorter (ties count half): 50% means no difference; robust to tails."""
    wins = sum(1.0 if x < y else 0.5 if x == y else 0.0 for x in a for y in b)
    return wins / (len(a) * len(b))


def oci_table(results):
    base = next((r for r in results if is_launcher(r["name"])), None)
    rows = [
        "| contender | runs | median ms | p10 ms | p90 ms | ratio to launcher (median) | launcher's run shorter in | what it is |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        share = "-" if base is None or r is base else f"{faster_share(base['times'], r['times']) * 100:.0f}% of pairs"
        rows.append(
            f"| {r['name']} | {len(r['times'])} | {ms(r['median'])} | {ms(r['p10'])} | {ms(r['p90'])} "
            f"| {ratio(r['median'], base['median'] if base else None)} | {share} | {ABOUT.get(r['name'], '')} |"
        )
    return rows


def oci_target(results, kind):
    """One line: the issue's target for these rows, and whether this run met it."""
    ours, theirs, factor, text = OCI_TARGETS[kind]
    by = {r["name"]: r for r in results}
    if ours not in by or theirs not in by:
        return f"Target: {text}. Not checked: {ours} or {theirs} was not measured in this run."
    got = by[theirs]["median"] / by[ours]["median"]
    met = got > factor if factor == 1.0 else got >= factor
    share = faster_share(by[ours]["times"], by[theirs]["times"]) * 100
    want = "faster" if factor == 1.0 else f"at least {factor:g}x faster"
    return (
        f"**Target: {text}.** This run: {theirs} median / {ours} median = **{got:.2f}x** "
        f"(want {want}): **{'met' if met else 'NOT met'}**; the launcher's run was the shorter in {share:.0f}% "
        f"of all (launcher run, crun run) pairs."
    )


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: report.py OUT_DIR RESULTS_MD STARTUP_SVG")
    out_dir, md_path, svg_path = sys.argv[1:]
    meta = read_meta(os.path.join(out_dir, "meta.env"))
    results = pooled_rounds(out_dir)
    cycle_results = pooled_rounds(out_dir, "cycle")
    podman_results = pooled_rounds(out_dir, "podman")
    commands = read_tsv(os.path.join(out_dir, "commands.tsv"))
    trace_runs, trace_rows = trace_table(os.path.join(out_dir, "trace.txt"))

    md = [
        "# Benchmark results",
        "",
        "Written by `bench/bench.sh` (do not edit by hand; bench/README.md explains the method).",
        "",
        f"- Date: {meta.get('date')}",
        f"- Machine: {meta.get('cpu')}, {meta.get('cores')} cores; {meta.get('os')}; kernel {meta.get('kernel')}",
        f"- Other work on the machine: CPUs {meta.get('busy_before')}% busy in the second before the run, "
        f"{meta.get('busy_after')}% in the second after it; load average {meta.get('load_before')} before, "
        f"{meta.get('load_after')} after. Other work inflates and spreads every number (each handoff between "
        "processes waits for a CPU); compare rows of one run only.",
        f"- launcher commit: {meta.get('commit')}",
        f"- Peers: {meta.get('crun')}; {meta.get('runc')}; {meta.get('bwrap')}; {meta.get('unshare')}",
        f"- Payload: {meta.get('busybox')}, static, in one shared rootfs (bench/work/rootfs) for every contender",
        f"- Timing: {meta.get('hyperfine')}, `-N` (no shell), {meta.get('runs')} runs per contender, interleaved: "
        f"{meta.get('rounds')} rounds, each running every contender {meta.get('per_round')} times after a warm-up run "
        "(5 in the first round), in an order that rotates from round to round, so drift of the machine hits all alike. "
        "Ratios are to `launcher` (rootful) in the same run; above 1 means slower than the launcher.",
        "",
        "## Start-up + teardown of `/bin/true`",
        "",
        *startup_table(results),
        "",
        "![start-up chart](startup.svg)",
        "",
        "### The launcher against the two floors",
        "",
        "`floor` builds the least a container needs (namespaces, id maps, /proc, pivot_root); `floor-same` builds "
        "the very container `launcher run` builds by default (its /dev, /sys, docker's masks, the capability drops, "
        "no_new_privs and the launcher's own seccomp filter bytes; launcher/tests/floor.rs checks they match) but "
        "runs the command as PID 1, with no init, channel or error reporting. Both are static musl programs, so no "
        "C library's start-up hides part of the launcher's cost.",
        "",
        *floor_table(results),
        "",
        "Notes:",
        "",
        "- crun 1.8 refuses this machine's v1/v2 hybrid cgroup layout (\"cgroups in hybrid mode not supported\"), even "
        "with `--cgroup-manager=disabled`. The whole benchmark therefore runs in one private mount namespace "
        "(`unshare --mount`) in which an empty file is bind-mounted over `/sys/fs/cgroup/unified/cgroup.controllers`. "
        "Every contender runs in that same namespace, so nobody pays for it per run; crun then uses the v1 controllers.",
        "- runc: `runc run` in the foreground deletes its container when the process exits, so the timed runs reuse one "
        "container id and no id-generating wrapper is needed; the parallel runs get distinct ids from xargs. As root, "
        "runc always creates and joins cgroups (here under the pids, memory, ... v1 hierarchies), limits or not.",
        "- launcher-rootless runs through `setpriv --reuid --regid --clear-groups`; the `setpriv` row times that same "
        "`setpriv` in front of a bare `true`, so its cost can be subtracted.",
        "- `exec` and `setpriv` are baselines, not containers.",
        "",
        *oci_section(cycle_results, podman_results, meta),
        "## Where the launcher's start-up goes",
        "",
        f"`launcher run --trace --rootfs ROOTFS -- /bin/true`, {trace_runs} runs, medians. Offsets are from the "
        "launcher's own start (after the kernel's exec of it and the C runtime's start-up); \"exec'd\" is when the "
        "channel closed, i.e. the command's exec succeeded inside the container.",
        "",
        *trace_rows,
        "",
        "## Throughput: 100 containers of `/bin/true`",
        "",
        "Wall time of `seq 100 | xargs -P1 -I{} CMD` (in a row) and `xargs -P10` (10 at a time) on "
        f"{meta.get('cores')} cores. Per container = wall time / 100.",
        "",
        *throughput_table(read_tsv(os.path.join(out_dir, "throughput.tsv"))),
        "",
        "## Peak memory of the runtime while its container runs `sleep 1`",
        "",
        "`bench/rss.py` samples the process tree below the runtime every 2 ms. The payload (processes named `sleep`) is "
        "excluded; the runtime's processes alive at the same moment are summed by their VmHWM (per-process peak RSS); "
        "the table gives the heaviest such sample. Shared pages (libc of dynamic runtimes, the page cache) count in every "
        "process that maps them.",
        "",
        *rss_table(read_tsv(os.path.join(out_dir, "rss.tsv"))),
        "",
        "## Binary sizes",
        "",
        "From `stat` and `file` on the installed binaries (the launcher: the release build; its init: the file the "
        "launcher embeds, the nested build's output without its section headers).",
        "",
        *sizes_table(read_tsv(os.path.join(out_dir, "sizes.tsv")), meta.get("top", "")),
        "",
        *findings(os.path.join(os.path.dirname(os.path.abspath(__file__)), "findings.md")),
        "## Size of the init per function",
        "",
        "An unstripped build of init with the flags of launcher/build.rs (`nm --size-sort -S`; the shipped init is "
        "the same code without symbols and section headers). Functions the compiler inlined are part of their "
        "caller: `run` holds the mount set-up, `enter_root` and most of the steps.",
        "",
        *init_tables(out_dir),
        "",
        *kept_arch_sizes(md_path),
        "## Exact commands",
        "",
        "`ROOTFS` = bench/work/rootfs, `B` = bench/work/bundles (config.json made by bench/oci/config.py), "
        "`U`/`G` = uid/gid of the user `launcher-bench`, `R` = bench/work/oci-root (the OCI runtimes' state "
        "directories), `P` = bench/work/podman (podman's images and containers, containers.conf and storage.conf, "
        "exported as CONTAINERS_CONF and CONTAINERS_STORAGE_CONF), `Q` = /run/launcher-bench-podman (its run-time "
        "state).",
        "",
        "| contender | command |",
        "|---|---|",
        *[f"| {name} | `{command}` |" for name, command in commands],
        "",
    ]
    with open(md_path + ".tmp", "w") as f:
        f.write("\n".join(md))
    os.replace(md_path + ".tmp", md_path)
    charts = [(svg_path, results, {})]
    svg_dir = os.path.dirname(svg_path)
    if cycle_results:
        charts.append((os.path.join(svg_dir, "oci-cycle.svg"), cycle_results, {
            "title": "OCI bundle: create + start + wait + delete of /bin/true (median, ms; line: p10-p90)",
            "runs": meta.get("runs"), "lo": "p10", "hi": "p90"}))
    if podman_results:
        charts.append((os.path.join(svg_dir, "oci-podman.svg"), podman_results, {
            "title": "podman run --rm IMAGE /bin/true per runtime (median, ms; line: p10-p90)",
            "runs": meta.get("podman_runs"), "lo": "p10", "hi": "p90"}))
    for path, rows, opts in charts:
        if not rows:
            continue
        with open(path + ".tmp", "w") as f:
            f.write(svg_chart(rows, meta, **opts))
        os.replace(path + ".tmp", path)


def oci_section(cycle_results, podman_results, meta):
    if not cycle_results and not podman_results:
        return ["## OCI runtimes", "", "(not measured in this run: BENCH_CONTENDERS left out every OCI row)", ""]
    return [
        "## OCI runtimes: a bundle's cycle, and podman end to end",
        "",
        "launcher, crun and runc as OCI runtimes, over the same bundles (bench/oci/config.py: the namespaces user, "
        "pid, mount, uts and ipc, identity id maps, /proc, a tmpfs /dev, /sys read-only, /tmp, no seccomp, no "
        "capabilities) **with pids 10 and memory 50 MiB limits, in cgroupfs (v1 here), for all three**: runc as root "
        "always makes cgroups, so no-cgroup would not be the same work for all three; each runtime has a state "
        "directory of its own. Interleaved like the rows above, in rounds of their own.",
        "",
        "### Bundle cycle: create + start + wait + delete",
        "",
        "`bench/oci/cycle.c` (static musl) does what conmon and containerd's shim do: it makes itself a child "
        "subreaper, runs `RUNTIME --root R create --bundle B --pid-file F ID` to its end, reads the pid file, runs "
        "`start ID`, waits (waitpid, no polling) for the container's process, which is its child by adoption, runs "
        "`delete ID`, then reaps whatever else of the runtime it adopted (launcher's holder) and exits non-zero on any "
        f"failure. {meta.get('runs')} runs each.",
        "",
        oci_target(cycle_results, "cycle"),
        "",
        *oci_table(cycle_results),
        "",
        "![OCI bundle cycle chart](oci-cycle.svg)",
        "",
        "### podman run --rm",
        "",
        f"{meta.get('podman')} with {meta.get('conmon')}, rootful, `podman --runtime PATH run --rm --network none "
        "IMAGE /bin/true` per runtime: its own --root and --runroot (vfs storage, cgroupfs, events to a file, default "
        "rlimits lowered because root here lacks CAP_SYS_RESOURCE), the image imported from bench/work/rootfs. "
        "`--network none` (podman still has the runtime make a network namespace): podman's default network would "
        "add a bridge, iptables rules and a veth on this host for every run, the same whatever the runtime. "
        f"{meta.get('podman_runs')} runs each ({meta.get('podman_per_round')} per round).",
        "",
        oci_target(podman_results, "podman"),
        "",
        *oci_table(podman_results),
        "",
        "![podman chart](oci-podman.svg)",
        "",
        "Notes:",
        "",
        "- The containers are not identical: from this config.json the launcher also makes what it always makes "
        "(docker's masked and read-only paths, devpts, /dev/shm, and a PID-1 init of its own), so it does more work "
        "than crun and runc, not less.",
        "- crun runs in the same private mount namespace as every other contender (the hybrid-cgroup workaround "
        "above); podman and conmon run there too.",
        "- In the podman rows, podman's own work (its Go start-up, storage, the container's spec, conmon, before it "
        "first calls the runtime and after the last call) is most of each run and the same whatever the runtime; "
        "it also varies the most with other work on the machine. The runtime's own calls (create, start, delete) "
        "are a few to a few tens of milliseconds of it. Read the medians with the pair share beside them: near 50% "
        "means this run could not tell the runtimes apart end to end.",
        "",
    ]


ARCH_BEGIN = "<!-- make dist: sizes per architecture -->"
ARCH_END = "<!-- end of make dist's section -->"


def kept_arch_sizes(md_path):
    """The section `make dist` (scripts/dist.sh) wrote, carried over when the file is rewritten."""
    try:
        with open(md_path) as f:
            old = f.read()
    except FileNotFoundError:
        return []
    begin, end = old.find(ARCH_BEGIN), old.find(ARCH_END)
    if begin < 0 or end < begin:
        return []
    return [old[begin : end + len(ARCH_END)], ""]


def write_arch_sizes(tsv_path, md_path, commit):
    """`report.py --arch-sizes dist/sizes.tsv bench/results.md COMMIT`: (re)writes the section
    with the launcher's and its init's bytes per architecture, before "## Exact commands"."""
    rows = read_tsv(tsv_path)
    section = "\n".join([
        ARCH_BEGIN,
        "## Sizes per architecture",
        "",
        f"Written by `make dist` (scripts/dist.sh) at commit {commit}: the static launcher of each architecture "
        "(dist/launcher-VERSION-ARCH) and the init it embeds. Budgets: launcher 640 KiB (655,360 bytes), init 8 KiB "
        "(8,192 bytes), checked by `make dist` and by the build.",
        "",
        "| architecture | Rust target | launcher bytes | init bytes |",
        "|---|---|---:|---:|",
        *[f"| {r[0]} | `{r[1]}` | {int(r[2]):,} | {int(r[3]):,} |" for r in rows[1:]],
        ARCH_END,
    ])
    with open(md_path) as f:
        old = f.read()
    begin, end = old.find(ARCH_BEGIN), old.find(ARCH_END)
    if begin >= 0 and end > begin:
        new = old[:begin] + section + old[end + len(ARCH_END):]
    else:
        at = old.find("## Exact commands")
        at = len(old) if at < 0 else at
        new = old[:at] + section + "\n\n" + old[at:]
    with open(md_path + ".tmp", "w") as f:
        f.write(new)
    os.replace(md_path + ".tmp", md_path)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--arch-sizes":
        write_arch_sizes(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()
