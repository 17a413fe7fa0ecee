#!/usr/bin/env bash
# Benchmark of the filter pushed into the kernel (issue 4): at ~100k sockets of which ~1% match,
# `tcpscope ls -n 'sport = :P'` against `ss -tan 'sport = :P'` (and both full dumps, and the same
# filter judged in user space only), timed in one run (interleaved, scripts/timeit.py).
# Target: tcpscope/ss at most 1.0x (median); exits 1 when missed.
#
# Sockets (in lab's private network namespace, see bench-lib.sh):
#   tcpscope lab established --count TOTAL-MATCH*2            the bulk, on ports the kernel picks
#   tcpscope lab established --count MATCH*2 --port P          MATCH server ends with local port P
# Defaults: 100,000 sockets, 1,000 (+ the listener) with sport P = 5555. Needs root and python3.
#
# Usage: scripts/bench-filter.sh [RUNS] [TOTAL] [MATCH]     defaults: 30 100000 1000
set -euo pipefail
RUNS=${1:-30}
TOTAL=${2:-100000}
MATCH=${3:-1000}
PORT=5555 # below the ephemeral range: in lab's own namespace nothing else can hold it
source "$(dirname "$0")/bench-lib.sh"
bench_init

lab_start bulk established --count $((TOTAL - 2 * MATCH))
lab_start match --in-ns established --count $((2 * MATCH)) --port "$PORT"
F="sport = :$PORT"
N_ALL=$(in_ns ss -Htan | wc -l)
N_SS=$(in_ns ss -Htan "$F" | wc -l)
N_TS=$(in_ns "$BIN" ls -n -H "$F" | wc -l)
echo "sockets in $NS: $N_ALL; matching '$F': ss $N_SS, tcpscope $N_TS"
[ "$N_SS" = "$N_TS" ] || { echo "ss and tcpscope disagree on '$F'" >&2; exit 1; }

timeit "$RUNS" \
    "ss filtered=ss -tan '$F' >/dev/null" \
    "ls filtered=$BIN ls -n '$F' >/dev/null" \
    "ls user-space filter=$BIN ls -n --no-kernel-filter '$F' >/dev/null" \
    "ss full dump=ss -tan >/dev/null" \
    "ls full dump=$BIN ls -n >/dev/null" | tee "$WORK/times"

python3 - "$WORK/times" <<'PY'
import json, sys
t = json.loads(open(sys.argv[1]).read().splitlines()[-1])
ms = lambda k: t[k]["median_s"] * 1000
print("\n| command | median (ms) | min (ms) | vs ss filtered |")
print("|---|---:|---:|---:|")
for k, v in t.items():
    print(f"| `{k}` | {ms(k):.1f} | {v['min_s']*1000:.1f} | {ms(k)/ms('ss filtered'):.2f}x |")
r = ms("ls filtered") / ms("ss filtered")
print(f"{'met:   ' if r <= 1.0 else 'MISSED:'} ls filtered / ss filtered = {r:.2f}x (target <= 1.0)")
sys.exit(0 if r <= 1.0 else 1)
PY
