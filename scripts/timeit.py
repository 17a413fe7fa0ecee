#!/usr/bin/env python3
"""Time shell commands against each other in one run: median wall time and peak RSS of N runs.

usage: timeit.py [--ok LABEL=CODES ...] RUNS LABEL=COMMAND [LABEL=COMMAND ...]
Prints one line per command and, as JSON on the last line, {label: {"median_s", "min_s",
"max_rss_kib", "runs_s"}} so benchmark scripts can compute ratios. Runs are interleaved
(A B C A B C ...) so drift in machine load affects every command alike. A command that exits
non-zero fails the whole run, unless `--ok LABEL=0,1,2` lists its exit status as expected
(e.g. `tcpscope doctor`, which exits 1 or 2 when it finds problems).
"""
import json, os, statistics, subprocess, sys, time

def run_once(cmd, ok):
    start = time.perf_counter()
    status = subprocess.call(["/bin/sh", "-c", cmd], stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    if status not in ok:
        sys.exit(f"command failed ({status}): {cmd}")
    return wall

def peak_rss_kib(cmd):
    """Peak RSS of the command's process, measured by GNU time (Debian package `time`)."""
    if not os.path.exists("/usr/bin/time"):
        return None
    out = subprocess.run(["/usr/bin/time", "-f", "%M", "/bin/sh", "-c", "exec " + cmd],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        return int(out.stderr.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None

def main():
    args = sys.argv[1:]
    ok_codes = {}
    while args and args[0] == "--ok":
        label, codes = args[1].split("=", 1)
        ok_codes[label] = {int(c) for c in codes.split(",")}
        args = args[2:]
    runs = int(args[0])
    cmds = [a.split("=", 1) for a in args[1:]]
    walls = {label: [] for label, _ in cmds}
    ok = {label: ok_codes.get(label, {0}) for label, _ in cmds}
    rss = {}
    for label, cmd in cmds:  # warm-up, and the memory measurement
        run_once(cmd, ok[label])
        rss[label] = peak_rss_kib(cmd)
    for _ in range(runs):
        for label, cmd in cmds:
            walls[label].append(run_once(cmd, ok[label]))
    result = {}
    for label, cmd in cmds:
        med = statistics.median(walls[label])
        result[label] = {"median_s": round(med, 4), "min_s": round(min(walls[label]), 4),
                         "max_rss_kib": rss[label], "runs_s": [round(w, 4) for w in walls[label]]}
        print(f"{label:<22} median {med*1000:8.1f} ms  min {min(walls[label])*1000:8.1f} ms  peak RSS {(rss[label] or 0)/1024:6.1f} MiB   {cmd}")
    print(json.dumps(result))

main()
