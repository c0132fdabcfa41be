#!/usr/bin/env python3
"""Side by side, as bench.sh times: two builds of the launcher (or anything).

    bench/ab.py ROUNDS NAME=COMMAND [NAME=COMMAND ...]

Each round is one `hyperfine -N` call that runs every command 5 times (after
a warm-up run; 5 in the first round), in an order that rotates from round to
round, so drift of the machine hits all alike; the rounds are pooled. Prints
each command's median, 25th and 10th percentile and mean. The low percentiles
say what a command costs when nothing else competes for the CPUs; the median
says how it fares on the machine as it is. Used for bench/findings.md.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) < 3 or not sys.argv[1].isdigit():
        sys.exit(__doc__)
    order = [arg.split("=", 1) for arg in sys.argv[2:]]
    if any(len(pair) != 2 for pair in order):
        sys.exit("ab.py: expected NAME=COMMAND arguments")
    times = {name: [] for name, _ in order}
    with tempfile.TemporaryDirectory() as tmp:
        export = os.path.join(tmp, "round.json")
        for round_ in range(int(sys.argv[1])):
            args = ["hyperfine", "-N", "--style", "none", "--warmup", "5" if round_ == 0 else "1",
                    "--runs", "5", "--export-json", export]
            for name, command in order:
                args += ["-n", name, command]
            # hyperfine warns of outliers on a busy machine: the pooled rounds are the point.
            if subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
                sys.exit(f"ab.py: hyperfine failed in round {round_ + 1}: run the commands by hand to see why")
            with open(export) as f:
                for result in json.load(f)["results"]:
                    times[result["command"]].extend(result["times"])
            order = order[1:] + order[:1]
    for name, t in times.items():
        t.sort()
        print(f"{name:14s} n={len(t)} median {statistics.median(t) * 1e3:.3f} ms  "
              f"p25 {t[len(t) // 4] * 1e3:.3f}  p10 {t[len(t) // 10] * 1e3:.3f}  mean {statistics.mean(t) * 1e3:.3f}")


if __name__ == "__main__":
    main()
