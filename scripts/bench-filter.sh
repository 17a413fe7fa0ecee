#!/usr/bin/env bash
# Benchmark of the filter pushed into the kernel: at ~100k sockets of which ~1% match,
# `tcpscope ls -n 'sport = :P'` against `ss -tan 'sport = :P'` (and both full dumps), in one run
# on the same sockets. Needs root (it creates a network namespace, so the 100k sockets disturb
# nothing else and nothing else disturbs the measurement). Cleans up after itself.
#
# Usage: scripts/bench-filter.sh [RUNS]   (env: WORKERS=6 LISTENERS=8 CONNS=1050)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-15}
WORKERS=${WORKERS:-6}
LISTENERS=${LISTENERS:-8}
CONNS=${CONNS:-1050}
NS="tcpscope-bench-$$"
BIN="$PWD/target/release/tcpscope"

cargo build --release -p tcpscope --quiet
[ "$(id -u)" = 0 ] || { echo "bench-filter.sh needs root (it creates a network namespace)" >&2; exit 1; }

pids=()
fifo_dir=$(mktemp -d)
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$fifo_dir"
}
trap cleanup EXIT

ip netns add "$NS"
ip -n "$NS" link set lo up
echo "opening $((WORKERS * LISTENERS * CONNS)) connections ($((2 * WORKERS * LISTENERS * CONNS)) sockets) in namespace $NS..."
for w in $(seq 0 $((WORKERS - 1))); do
    mkfifo "$fifo_dir/in$w"
    # The worker holds its sockets until its stdin (the fifo) closes.
    ip netns exec "$NS" python3 scripts/bench_sockets.py "$w" "$LISTENERS" "$CONNS" \
        <"$fifo_dir/in$w" >"$fifo_dir/out$w" &
    pids+=($!)
    exec {fd}>"$fifo_dir/in$w"
done
for w in $(seq 0 $((WORKERS - 1))); do
    until grep -q '^ready' "$fifo_dir/out$w" 2>/dev/null; do
        kill -0 "${pids[$w]}" 2>/dev/null || { echo "worker $w died" >&2; exit 1; }
        sleep 0.5
    done
done
PORT=$(awk '/^ready/ {print $2}' "$fifo_dir/out0")
TOTAL=$(ip netns exec "$NS" ss -Htan | wc -l)
MATCH=$(ip netns exec "$NS" ss -Htan "sport = :$PORT" | wc -l)
echo "sockets: $TOTAL, matching 'sport = :$PORT': $MATCH"

# Time every command RUNS times, interleaved, inside the namespace; report median and mean.
ip netns exec "$NS" python3 - "$RUNS" "$PORT" "$BIN" <<'PY'
import statistics, subprocess, sys, time
runs, port, bin_ = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cmds = {
    "ss -tan 'sport = :P'": ["ss", "-tan", f"sport = :{port}"],
    "tcpscope ls -n 'sport = :P'": [bin_, "ls", "-n", f"sport = :{port}"],
    "tcpscope ... --no-kernel-filter": [bin_, "ls", "-n", "--no-kernel-filter", f"sport = :{port}"],
    "ss -tan (full dump)": ["ss", "-tan"],
    "tcpscope ls -n (full dump)": [bin_, "ls", "-n"],
}
times = {k: [] for k in cmds}
for _ in range(runs):
    for k, argv in cmds.items():
        t = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
        times[k].append(time.perf_counter() - t)
for k, v in times.items():
    print(f"{k:32} median {statistics.median(v)*1000:8.1f} ms   mean {statistics.mean(v)*1000:8.1f} ms   min {min(v)*1000:8.1f} ms")
ratio = statistics.median(times["tcpscope ls -n 'sport = :P'"]) / statistics.median(times["ss -tan 'sport = :P'"])
print(f"filtered ratio tcpscope/ss (median): {ratio:.2f}x")
PY
