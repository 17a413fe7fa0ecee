#!/usr/bin/env bash
# Benchmark of `tcpscope serve` (issue 13): a scrape of /metrics at ~100k sockets must take at most
# 0.3 s wall with the server at most 64 MiB RSS; at 1M sockets at most 2 s. The peer is
# node_exporter's tcpstat collector (Debian's prometheus-node-exporter, unpacked by
# scripts/fetch-tools.sh, run with only that collector), which counts sockets per state over the
# same sockets; tcpscope also attributes every socket to its process, runs doctor's rules and
# exports per-process, per-destination and per-listener series.
#
# serve runs with --cache 0, so every scrape makes a poll (the worst case: with the default
# --cache 2s, scrapes within 2 s of the last poll are answered from it, "serve cached" below).
# Both servers run inside lab's namespace and read only it (serve --netns NS).
#
# Sockets: tcpscope lab established --count N (N <= 250000; above that, several labs of 250000
# in the same namespace: 1,000,000 = 4 x 250000).
#
# Usage: scripts/bench-serve.sh [RUNS] [SOCKETS]        defaults: 15 100000
#        scripts/bench-serve.sh 7 1000000                only on a quiet machine
set -euo pipefail
RUNS=${1:-15}
SOCKETS=${2:-100000}
source "$(dirname "$0")/bench-lib.sh"
bench_init
scripts/fetch-tools.sh >/dev/null
NODE=$PWD/target/tools/root/usr/bin/prometheus-node-exporter

left=$SOCKETS
i=0
while [ "$left" -gt 0 ]; do
    n=$((left > 250000 ? 250000 : left))
    if [ $i -eq 0 ]; then lab_start "est$i" established --count "$n"; else lab_start "est$i" --in-ns established --count "$n"; fi
    left=$((left - n))
    i=$((i + 1))
done
echo "sockets in $NS: $(in_ns ss -Htan | wc -l)" >&2

start_bg() { # NAME CMD... : start CMD in $NS; the exit trap stops it before the labs
    local name=$1; shift
    # `ip netns exec` execs the program: $! is the server itself (its RSS is read below).
    ip netns exec "$NS" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    LAB_PIDS+=("$!")
    eval "PID_$name=$!"
}
read -r SP CP NP < <(in_ns python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')
start_bg serve "$BIN" serve --netns "$NS" --listen "127.0.0.1:$SP" --cache 0
start_bg cached "$BIN" serve --netns "$NS" --listen "127.0.0.1:$CP" --cache 1h
start_bg node "$NODE" --collector.disable-defaults --collector.tcpstat --web.listen-address="127.0.0.1:$NP"
for port in $SP $CP $NP; do
    until in_ns curl -sf -o /dev/null "http://127.0.0.1:$port/metrics"; do sleep 0.5; done
done
in_ns curl -s "http://127.0.0.1:$SP/metrics" | grep -E '^tcpscope_sockets\{state="established"' | head -2 >&2
in_ns curl -s "http://127.0.0.1:$NP/metrics" | grep -E '^node_tcp_connection_states\{state="established"' >&2
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
# CPU time (user + system, every thread) of a server so far, in clock ticks: with the wall time
# of a scrape it says how much of it was waiting for a CPU on a busy host.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
SERVE_CPU0=$(cpu_ticks "$PID_serve"); NODE_CPU0=$(cpu_ticks "$PID_node")

timeit "$RUNS" \
    "serve=curl -sf -o /dev/null http://127.0.0.1:$SP/metrics" \
    "serve cached=curl -sf -o /dev/null http://127.0.0.1:$CP/metrics" \
    "node_exporter tcpstat=curl -sf -o /dev/null http://127.0.0.1:$NP/metrics" | tee "$WORK/times"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
SERVE_CPU=$(( $(cpu_ticks "$PID_serve") - SERVE_CPU0 )); NODE_CPU=$(( $(cpu_ticks "$PID_node") - NODE_CPU0 ))
hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
in_ns curl -s "http://127.0.0.1:$SP/metrics" | grep -E '^tcpscope_(poll|scrape)_duration' >&2

python3 - "$WORK/times" "$SOCKETS" "$(hwm "$PID_serve")" "$(rss "$PID_serve")" "$(hwm "$PID_node")" \
    "$SERVE_CPU" "$NODE_CPU" "$(getconf CLK_TCK)" "$RUNS" <<'PY'
import json, sys
t = json.loads(open(sys.argv[1]).read().splitlines()[-1])
sockets, hwm, rss, node_hwm = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
serve_cpu, node_cpu, hz, runs = (int(a) for a in sys.argv[6:10])
# timeit.py runs each command RUNS times, plus once to warm up and once for its peak RSS.
per_scrape = lambda ticks: ticks / hz / (runs + 2) * 1000
ms = lambda k: t[k]["median_s"] * 1000
peer = "node_exporter tcpstat"
print(f"\n{sockets} sockets, median of the scrapes (curl included; timeit's RSS column above is curl's):")
print("| scrape | median (ms) | min (ms) | vs node_exporter tcpstat |")
print("|---|---:|---:|---:|")
for k, v in t.items():
    print(f"| `{k}` | {ms(k):.1f} | {v['min_s']*1000:.1f} | {ms(k)/ms(peer):.2f}x |")
print(f"serve: peak RSS {hwm/1024:.1f} MiB (now {rss/1024:.1f} MiB); node_exporter peak RSS {node_hwm/1024:.1f} MiB")
print(f"CPU per scrape (user + system): serve {per_scrape(serve_cpu):.0f} ms, node_exporter tcpstat {per_scrape(node_cpu):.0f} ms")
s = t["serve"]["median_s"]
limit = 0.3 if sockets <= 150_000 else 2.0
ok = s <= limit and (sockets > 150_000 or hwm <= 64 * 1024)
print(f"{'met:   ' if ok else 'MISSED:'} serve median {s:.3f} s (target <= {limit} s)"
      + ("" if sockets > 150_000 else f", peak RSS {hwm/1024:.1f} MiB (target <= 64 MiB)"))
sys.exit(0 if ok else 1)
PY
