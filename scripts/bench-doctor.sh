#!/usr/bin/env bash
# Benchmark of `tcpscope doctor` (issue 7): a full diagnosis over ~100k sockets must take at most
# 0.5 s wall. Timed in one run (interleaved, scripts/timeit.py) beside `ss -tanp`, which only
# lists (with owners), and `tcpscope ls -p`, which lists with owners as doctor collects them.
# Exits 1 when the target is missed. doctor exits 1 or 2 when it finds problems, which it does
# here (the CLOSE-WAIT sockets): those exit codes are expected, 3 (tcpscope failed) is not.
#
# Sockets (in lab's private network namespace, see bench-lib.sh):
#   tcpscope lab established --count ESTAB        ESTAB sockets
#   tcpscope lab close-wait  --count CLOSE_WAIT   CLOSE_WAIT CLOSE-WAIT + as many FIN-WAIT-2, held
# Defaults 88000 + 6000 = 100,000 sockets in 6 worker processes. As root, doctor reads every
# network namespace on the host (its default), so it also covers the host's own sockets.
# Needs root and python3.
#
# Usage: scripts/bench-doctor.sh [RUNS] [ESTAB] [CLOSE_WAIT]     defaults: 9 88000 6000
set -euo pipefail
RUNS=${1:-9}
ESTAB=${2:-88000}
CLOSE_WAIT=${3:-6000}
source "$(dirname "$0")/bench-lib.sh"
bench_init

lab_start est established --count "$ESTAB"
lab_start cw --in-ns close-wait --count "$CLOSE_WAIT"
echo "sockets in $NS: $(in_ns ss -Htan | wc -l) total, $(in_ns ss -Htan state close-wait | wc -l) close-wait"
set +e
in_ns "$BIN" doctor >"$WORK/report"
echo "doctor exit status: $?; its verdict and first finding:"
set -e
head -n 12 "$WORK/report"

timeit --ok doctor=0,1,2 --ok "doctor --json=0,1,2" "$RUNS" \
    "doctor=$BIN doctor >/dev/null" \
    "doctor --json=$BIN doctor --json >/dev/null" \
    "ss -tanp=ss -tanp >/dev/null" \
    "ls -p=$BIN ls -p >/dev/null" | tee "$WORK/times"

python3 - "$WORK/times" <<'PY'
import json, sys
t = json.loads(open(sys.argv[1]).read().splitlines()[-1])
ms = lambda k: t[k]["median_s"] * 1000
print("\n| command | median (ms) | min (ms) | peak RSS (MiB) | vs ss -tanp |")
print("|---|---:|---:|---:|---:|")
for k, v in t.items():
    print(f"| `{k}` | {ms(k):.1f} | {v['min_s']*1000:.1f} | {(v['max_rss_kib'] or 0)/1024:.1f} | {ms(k)/ms('ss -tanp'):.2f}x |")
d = t["doctor"]["median_s"]
print(f"{'met:   ' if d <= 0.5 else 'MISSED:'} doctor median {d:.3f} s (target <= 0.5 s)")
sys.exit(0 if d <= 0.5 else 1)
PY
