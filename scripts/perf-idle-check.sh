#!/usr/bin/env bash
# Does this kernel's perf deliver every sock:inet_sock_set_state record? (docs/trace.md, "Known
# issue".) A tracefs instance and a plain perf_event_open reader (perf-idle-check/perf_count.c,
# no tcpscope code) record the same tracepoint while `tcpscope lab closing --lossy` runs ROUNDS
# times, pinned to CPU 0 and CPU 1 in turn: its FIN-WAIT-1 -> CLOSING changes are made in
# softirq, often while a CPU is idle. Prints what each saw, per CPU, in the idle task and
# elsewhere; exits 1 when perf delivered fewer records than tracefs has (the kernel skipped some
# without counting a loss), 0 when they agree. Needs root, gcc, 2+ CPUs.
#
# Usage: scripts/perf-idle-check.sh [ROUNDS] [TCPSCOPE]   default 14, target/release/tcpscope
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-14}
BIN=${2:-target/release/tcpscope}
[ "$(id -u)" = 0 ] || { echo "perf-idle-check.sh: needs root" >&2; exit 2; }
[ -x "$BIN" ] || { echo "perf-idle-check.sh: no $BIN; build it (cargo build --release) or pass a tcpscope binary" >&2; exit 2; }
T=/sys/kernel/tracing
[ -d $T/events ] || mount -t tracefs nodev $T 2>/dev/null || true
WORK=$(mktemp -d)
I=$T/instances/tcpscope-idle-check-$$
cleanup() {
    [ -d "$I" ] && { echo 0 >"$I/events/sock/inet_sock_set_state/enable"; rmdir "$I"; }
    rm -rf "$WORK"
}
trap cleanup EXIT
gcc -O2 -o "$WORK/perf_count" scripts/perf-idle-check/perf_count.c
mkdir "$I"
echo 1 >"$I/events/sock/inet_sock_set_state/enable"
ID=$(cat $T/events/sock/inet_sock_set_state/id)
"$WORK/perf_count" "$ID" $((ROUNDS * 2 + 4)) >"$WORK/perf.txt" &
COUNTER=$!
sleep 1
for i in $(seq 1 "$ROUNDS"); do
    taskset -c $((i % 2)) "$BIN" lab closing --count 2 --lossy --json >/dev/null 2>&1 &
    LAB=$!
    sleep 1.5
    kill -TERM $LAB
    wait $LAB || true
done
wait $COUNTER
echo 0 >"$I/events/sock/inet_sock_set_state/enable"
echo "tracefs (the kernel's own trace buffer), records per CPU:"
grep 'inet_sock_set_state:' "$I/trace" | awk '{ idle = ($1 ~ /^<idle>-0$/) ? "idle" : "task"; n[$2 " " idle]++ }
    END { for (k in n) print "  " k ": " n[k] }' | sort
echo "perf (perf_event_open, one event per CPU):"
sed 's/^/  /' "$WORK/perf.txt"
theirs=$(grep -c 'inet_sock_set_state:' "$I/trace")
ours=$(awk '{ s += $3 + $5 } END { print s }' "$WORK/perf.txt")
echo "tracefs $theirs records, perf $ours"
if [ "$ours" -lt "$theirs" ]; then
    echo "perf did not deliver $((theirs - ours)) records (and counted no loss)"
    exit 1
fi
echo "perf delivered every record"
