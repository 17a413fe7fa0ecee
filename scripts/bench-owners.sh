#!/usr/bin/env bash
# Benchmark process attribution: `tcpscope ls -p` against `ss -tanp`, and
# `tcpscope ls -p state close-wait` against `ss -tanp state close-wait`, at ~100k loopback
# sockets held by several processes, in one run on one host.
#
# Usage: scripts/bench-owners.sh [PROCESSES] [CONNECTIONS_PER_PROCESS] [ROUNDS]
#   defaults: 6 processes x 8400 connections = 100,800 sockets (each connection is two sockets,
#   both ends held by the same process: at most ~16,800 fds per process, under the 20,000 limit),
#   1,000 connections per process closed by their client side (-> 6,000 CLOSE-WAIT), 5 rounds.
# Each process connects from its own source address 127.77.N.1 so ephemeral ports never run out.
# Needs python3. Uses a release build. Cleans up (kills its helpers) on exit, also on Ctrl-C.
# (`tcpscope lab established --count N` will replace the Python helper.)
set -euo pipefail

PROCS=${1:-6}
PER=${2:-8400}
ROUNDS=${3:-5}
CLOSE_WAIT_PER=1000

cd "$(dirname "$0")/.."
cargo build --release --quiet
BIN=$PWD/target/release/tcpscope

WORK=$(mktemp -d /tmp/bench-owners.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

cat >"$WORK/hold.py" <<'EOF'
# Hold N loopback connections (both ends) from source address SRC; close the client end of the
# first C so the server ends sit in CLOSE-WAIT. Prints "ready" when done, then sleeps.
import socket, sys, time
src, n, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(4096)
held = []
for i in range(n):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(l.getsockname())
    a, _ = l.accept()
    held.append((s, a))
for s, a in held[:c]:
    s.close()
print("ready", flush=True)
time.sleep(3600)
EOF

echo "building $PROCS x $PER connections ($((PROCS * PER * 2)) sockets) ..."
for i in $(seq 1 "$PROCS"); do
    python3 "$WORK/hold.py" "127.77.$i.1" "$PER" "$CLOSE_WAIT_PER" >"$WORK/ready.$i" &
    PIDS+=($!)
done
for i in $(seq 1 "$PROCS"); do
    until grep -q ready "$WORK/ready.$i" 2>/dev/null; do sleep 0.2; done
done
echo "sockets now: $(ss -Htan | wc -l) total, $(ss -Htan state close-wait | wc -l) close-wait"

# Wall time of one command in seconds, output discarded.
t() {
    local s e
    s=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    e=$(date +%s.%N)
    echo "$e - $s" | bc -l
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A RES
for round in $(seq 1 "$ROUNDS"); do
    RES[ss_all]+="$(t ss -tanp) "
    RES[ts_plain]+="$(t "$BIN" ls) "
    RES[ts_all]+="$(t "$BIN" ls -p) "
    RES[ss_cw]+="$(t ss -tanp state close-wait) "
    RES[ts_cw]+="$(t "$BIN" ls -p state close-wait) "
done
med() { tr ' ' '\n' <<<"${RES[$1]}" | grep . | median; }
SS_ALL=$(med ss_all); TS_ALL=$(med ts_all); TS_PLAIN=$(med ts_plain); SS_CW=$(med ss_cw); TS_CW=$(med ts_cw)

# Sanity: both tools see the same owned close-wait sockets.
N_SS=$(ss -Htanp state close-wait | grep -c 'pid=' || true)
N_TS=$("$BIN" ls -p -H state close-wait | grep -c 'python3\[' || true)

printf '\n%-40s %9s\n' "command (median of $ROUNDS, seconds)" "wall"
printf '%-40s %9.3f\n' "ss -tanp" "$SS_ALL"
printf '%-40s %9.3f\n' "tcpscope ls -p" "$TS_ALL"
printf '%-40s %9.3f\n' "tcpscope ls (no -p: no /proc walk)" "$TS_PLAIN"
printf '%-40s %9.3f\n' "ss -tanp state close-wait" "$SS_CW"
printf '%-40s %9.3f\n' "tcpscope ls -p state close-wait" "$TS_CW"
printf '\nratio ls -p / ss -tanp:                         %.3f (target <= 0.25)\n' "$(echo "$TS_ALL / $SS_ALL" | bc -l)"
printf 'ratio ls -p state close-wait / ss ... close-wait: %.3f (target <= 0.25)\n' "$(echo "$TS_CW / $SS_CW" | bc -l)"
printf 'owned close-wait sockets: ss %s, tcpscope %s\n' "$N_SS" "$N_TS"
echo "raw: ss -tanp: ${RES[ss_all]}"
echo "raw: ls -p: ${RES[ts_all]}"
echo "raw: ls: ${RES[ts_plain]}"
echo "raw: ss close-wait: ${RES[ss_cw]}"
echo "raw: ls -p close-wait: ${RES[ts_cw]}"

# Fail (exit 1) when a target is missed, so the script can gate a change.
if [ "$(echo "$TS_ALL / $SS_ALL > 0.25 || $TS_CW / $SS_CW > 0.25" | bc -l)" = 1 ]; then
    echo "FAIL: a ratio is above 0.25" >&2
    exit 1
fi
