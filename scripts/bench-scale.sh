#!/usr/bin/env bash
# How tcpscope scales (issue 10): for each size, builds that many ESTABLISHED sockets with
# `tcpscope lab` (in lab's private network namespace; 1M = 4 labs of 250k) and times, in one run
# (interleaved, scripts/timeit.py), `ls`, `ls -p`, `summary`, `doctor` against `ss -tan`,
# `ss -tanp` (only up to 100k: above, it takes minutes), `netstat -tan` and the bare sock_diag dump
# (`tcpscope dump-floor`), with peak RSS. Then the collector's repeated poll with owners
# (`tcpscope poll-bench`): the first poll against the later ones. Prints one markdown table per
# size and a summary of the goals:
#   doctor at 1M <= 1.5 s and <= 64 MiB; at ~100k <= 0.2 s;
#   ls -p at 1M <= 2.5 s, cost per socket flat from 10k to 1M (within 1.5x);
#   ls <= 0.55x ss -tan at 1M and <= 6 MiB; summary the same;
#   a repeated poll with owners at 100k <= 0.5x the first.
# Needs root, python3, GNU time. Timings on a busy machine are noisy: compare ratios in one run.
#
# Usage: scripts/bench-scale.sh [SIZES...]      default: 10000 100000 1000000
set -euo pipefail
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10000 100000 1000000)
source "$(dirname "$0")/bench-lib.sh"
bench_init
[ -x /usr/bin/time ] || { echo "needs GNU time: apt-get install -y time" >&2; exit 1; }
RESULTS=$(mktemp -d /tmp/tcpscope-scale.XXXXXX)
OUT=$RESULTS/results.jsonl

for n in "${SIZES[@]}"; do
    lab_stop_all
    WORK=$(mktemp -d /tmp/tcpscope-bench.XXXXXX)
    NS=
    if [ "$n" -gt 250000 ]; then
        left=$n
        first=1
        while [ "$left" -gt 0 ]; do
            c=$((left > 250000 ? 250000 : left))
            if [ $first = 1 ]; then lab_start "est$left" established --count "$c"; first=0
            else lab_start "est$left" --in-ns established --count "$c"; fi
            left=$((left - c))
        done
    else
        lab_start est established --count "$n"
    fi
    total=$(in_ns ss -Htan | wc -l)
    echo "== $n: $total sockets in $NS" >&2
    runs=7
    [ "$n" -ge 1000000 ] && runs=3
    cmds=(
        "ss -tan=ss -tan >/dev/null"
        "dump-floor=$BIN dump-floor >/dev/null"
        "ls=$BIN ls >/dev/null"
        "summary=$BIN summary >/dev/null"
        "ls -p=$BIN ls -p >/dev/null"
        "doctor=$BIN doctor --netns $NS >/dev/null"
    )
    [ "$n" -le 100000 ] && cmds+=("ss -tanp=ss -tanp >/dev/null")
    command -v netstat >/dev/null && cmds+=("netstat -tan=netstat -tan >/dev/null")
    timeit --ok doctor=0,1,2 "$runs" "${cmds[@]}" | tee "$WORK/times" >&2
    polls=$(in_ns "$BIN" poll-bench --polls 6)
    python3 - "$n" "$total" "$WORK/times" "$polls" >>"$OUT" <<'PY'
import json, sys, statistics
n, total = int(sys.argv[1]), int(sys.argv[2])
t = json.loads(open(sys.argv[3]).read().splitlines()[-1])
polls = [json.loads(l) for l in sys.argv[4].splitlines() if l.strip()]
print(json.dumps({"size": n, "sockets": total, "times": t, "polls": polls}))
PY
done
lab_stop_all

python3 - "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
met = []
for r in rows:
    t = r["times"]; n = r["sockets"]
    ms = lambda k: t[k]["median_s"] * 1000 if k in t else None
    ss = ms("ss -tan")
    print(f"\n### {n:,} sockets\n")
    print("| command | median (ms) | per 1k sockets (ms) | peak RSS (MiB) | vs ss -tan |")
    print("|---|---:|---:|---:|---:|")
    for k, v in t.items():
        m = ms(k)
        print(f"| `{k}` | {m:.1f} | {m * 1000 / n:.3f} | {(v['max_rss_kib'] or 0) / 1024:.1f} | {m / ss:.2f}x |")
    p = r["polls"]
    first, rest = p[0], p[1:]
    wall = sorted(x["ms"] for x in rest)[len(rest) // 2]
    cpu = sorted(x["cpu_ms"] for x in rest)[len(rest) // 2]
    print(f"\n`poll-bench` (one collector, owners): first poll {first['ms']:.0f} ms wall / {first['cpu_ms']:.0f} ms CPU; "
          f"later polls (median) {wall:.0f} ms wall / {cpu:.0f} ms CPU: {wall / first['ms']:.2f}x wall, {cpu / first['cpu_ms']:.2f}x CPU")
    r["repeat_ratio"] = cpu / first["cpu_ms"]
by = {r["size"]: r for r in rows}
def goal(ok, text):
    print(("met:    " if ok else "MISSED: ") + text)
print("\n### Goals\n")
if 1000000 in by:
    t = by[1000000]["times"]
    d, rss = t["doctor"]["median_s"], (t["doctor"]["max_rss_kib"] or 0) / 1024
    goal(d <= 1.5 and rss <= 64, f"doctor at 1M: {d:.2f} s, {rss:.1f} MiB (<= 1.5 s, <= 64 MiB)")
    lp = t["ls -p"]["median_s"]
    goal(lp <= 2.5, f"ls -p at 1M: {lp:.2f} s (<= 2.5 s)")
    for k in ("ls", "summary"):
        r = t[k]["median_s"] / t["ss -tan"]["median_s"]; m = (t[k]["max_rss_kib"] or 0) / 1024
        goal(r <= 0.55 and m <= 6, f"{k} at 1M: {r:.2f}x ss -tan, {m:.1f} MiB (<= 0.55x, <= 6 MiB)")
if 100000 in by:
    d = by[100000]["times"]["doctor"]["median_s"]
    goal(d <= 0.2, f"doctor at 100k: {d:.3f} s (<= 0.2 s)")
    goal(by[100000]["repeat_ratio"] <= 0.5, f"repeated poll with owners at 100k: {by[100000]['repeat_ratio']:.2f}x the first (CPU; <= 0.5x)")
if 10000 in by and 1000000 in by:
    a = by[10000]["times"]["ls -p"]["median_s"] / by[10000]["sockets"]
    b = by[1000000]["times"]["ls -p"]["median_s"] / by[1000000]["sockets"]
    goal(b / a <= 1.5, f"ls -p cost per socket 1M vs 10k: {b / a:.2f}x (<= 1.5x)")
PY
rm -rf "$RESULTS"
