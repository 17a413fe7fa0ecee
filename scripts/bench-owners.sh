#!/usr/bin/env bash
# Benchmark of process attribution (issue 3): `tcpscope ls -p` against `ss -tanp`, and
# `tcpscope ls -p state close-wait` against `ss -tanp state close-wait`, at ~100k loopback
# sockets built by `tcpscope lab` and held by several processes, timed in one run (interleaved,
# scripts/timeit.py). Targets: both ratios at most 0.25; exits 1 when one is missed.
#
# Sockets (in lab's private network namespace, see bench-lib.sh):
#   tcpscope lab established --count ESTAB        ESTAB sockets (ESTAB/2 connections, both ends held)
#   tcpscope lab close-wait  --count CLOSE_WAIT   CLOSE_WAIT CLOSE-WAIT server ends + as many
#                                                 FIN-WAIT-2 client ends, all held by lab's worker
# Defaults 88000 + 6000: 88,000 + 12,000 = 100,000 sockets in 6 worker processes (lab puts at most
# 18,000 descriptors in one). Needs root and python3.
#
# Usage: scripts/bench-owners.sh [RUNS] [ESTAB] [CLOSE_WAIT]     defaults: 7 88000 6000
set -euo pipefail
RUNS=${1:-7}
ESTAB=${2:-88000}
CLOSE_WAIT=${3:-6000}
source "$(dirname "$0")/bench-lib.sh"
bench_init

lab_start est established --count "$ESTAB"
lab_start cw --in-ns close-wait --count "$CLOSE_WAIT"
echo "sockets in $NS: $(in_ns ss -Htan | wc -l) total, $(in_ns ss -Htan state close-wait | wc -l) close-wait;" \
    "processes holding them: $(in_ns ss -Htanp | grep -o 'pid=[0-9]*' | sort -u | wc -l)"

timeit "$RUNS" \
    "ss -tanp=ss -tanp >/dev/null" \
    "ls -p=$BIN ls -p >/dev/null" \
    "ls=$BIN ls >/dev/null" \
    "ss -tanp close-wait=ss -tanp state close-wait >/dev/null" \
    "ls -p close-wait=$BIN ls -p state close-wait >/dev/null" | tee "$WORK/times"

# Sanity: both tools attribute the same close-wait sockets to lab's worker.
N_SS=$(in_ns ss -Htanp state close-wait | grep -c 'pid=' || true)
N_TS=$(in_ns "$BIN" ls -p -H state close-wait | grep -c 'tcpscope\[' || true)
echo "owned close-wait sockets: ss $N_SS, tcpscope $N_TS"

python3 - "$WORK/times" <<'PY'
import json, sys
t = json.loads(open(sys.argv[1]).read().splitlines()[-1])
ms = lambda k: t[k]["median_s"] * 1000
print("\n| command | median (ms) | min (ms) | peak RSS (MiB) | ratio |")
print("|---|---:|---:|---:|---:|")
ratio = {"ls -p": ms("ls -p") / ms("ss -tanp"),
         "ls -p close-wait": ms("ls -p close-wait") / ms("ss -tanp close-wait")}
for k, v in t.items():
    r = f"**{ratio[k]:.3f}**" if k in ratio else ""
    print(f"| `{k}` | {ms(k):.1f} | {v['min_s']*1000:.1f} | {(v['max_rss_kib'] or 0)/1024:.1f} | {r} |")
ok = True
for k, base in (("ls -p", "ss -tanp"), ("ls -p close-wait", "ss -tanp close-wait")):
    met = ratio[k] <= 0.25
    ok &= met
    print(f"{'met:   ' if met else 'MISSED:'} {k} / {base} = {ratio[k]:.3f} (target <= 0.25)")
sys.exit(0 if ok else 1)
PY
