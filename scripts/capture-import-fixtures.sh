#!/usr/bin/env bash
# Make the *real* import fixtures (issue 16): the output of net-tools netstat (in every translation
# that ships here), ss and /proc/net/tcp on this machine, taken over sockets built with
# `tcpscope lab` in a private network namespace, so the captures hold exactly those sockets:
#
#   stopped-server --count 4   CLOSE-WAIT held by 4 stopped children of one server, FIN-WAIT-2
#                              orphans on the client side
#   close-wait --count 3       CLOSE-WAIT held by one process, FIN-WAIT-2 held by the client
#   established, listen, fin-wait-1, syn-recv --count 2 (a full accept queue), time-wait --count 3
#   python3: an IPv6 dual-stack listener with an IPv4-mapped CLOSE-WAIT and a ::1 connection, and
#   a listener and a keepalive connection shared by two processes (one fork)
#
# The written fixtures (Windows, macOS/BSD, Solaris, AIX) are made by hand from those systems'
# documentation and published output; docs/import.md says which is which.
# Needs root (a network namespace) and python3. Usage: scripts/capture-import-fixtures.sh [DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/crates/tcpscope-core/tests/fixtures/import}
BIN=${TCPSCOPE:-$ROOT/target/debug/tcpscope}
NS=tcpscope-capture-$$
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait "${PIDS[@]}" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT
[ -x "$BIN" ] || cargo build --quiet --manifest-path "$ROOT/Cargo.toml"
mkdir -p "$OUT"
ip netns add "$NS"
ip -n "$NS" link set lo up
in_ns() { ip netns exec "$NS" "$@"; }

lab() {
    local log=$1; shift
    ip netns exec "$NS" "$BIN" lab "$@" --hold 3m --json >"$log" 2>&1 &
    PIDS+=($!)
}
WORK=$(mktemp -d)
lab "$WORK/cw" close-wait --count 3
lab "$WORK/est" established --count 2
lab "$WORK/listen" listen
lab "$WORK/fw1" fin-wait-1
lab "$WORK/syn" syn-recv --count 2
ip netns exec "$NS" python3 - <<'PY' &
import os, socket, time
l = socket.socket(socket.AF_INET6); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("::", 8443)); l.listen(16)
c = socket.socket(socket.AF_INET6); c.connect(("::1", 8443)); a, _ = l.accept()
m = socket.socket(socket.AF_INET6); m.connect(("::ffff:127.0.0.1", 8443)); b, _ = l.accept()
m.shutdown(socket.SHUT_WR)   # the server end b sits in CLOSE-WAIT
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9090)); s.listen(64)
k = socket.socket(); k.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
k.connect(("127.0.0.1", 9090)); e, _ = s.accept()
e.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
parent = os.getpid()
os.fork()                    # parent and child both hold every socket
for _ in range(900):         # both end with the script (the child when its parent is gone)
    if os.getppid() == 1 and os.getpid() != parent:
        break
    time.sleep(0.2)
PY
PIDS+=($!)
# Wait until every scenario has printed its JSON line (its sockets are in place).
wait_for() {
    for f in "$@"; do
        for _ in $(seq 600); do grep -q '"scenario"' "$WORK/$f" 2>/dev/null && break; sleep 0.2; done
    done
}
wait_for cw est listen fw1 syn
# Last, the sockets that expire: orphaned FIN-WAIT-2 (60 s after the stopped server's clients
# give up) and TIME-WAIT (60 s).
lab "$WORK/stopped" stopped-server --count 4
lab "$WORK/tw" time-wait --count 3
wait_for stopped tw
sleep 0.5

# Every capture within seconds, before TIME-WAIT (60 s) runs out.
cap() { local name=$1; shift; in_ns "$@" >"$OUT/$name" 2>/dev/null; }
prompt() { local name=$1; shift; { echo "\$ $*"; in_ns "$@" 2>/dev/null; } >"$OUT/$name"; }
cap linux-netstat-tan.txt netstat -tan
cap linux-netstat-tanp.txt netstat -tanp
cap linux-netstat-tanpo.txt netstat -tanpo
cap linux-netstat-tanpe.txt netstat -tanpe
for l in de pt_BR fr cs ja et; do
    cap "linux-netstat-tanpo.$l.txt" env LANGUAGE="$l" netstat -tanpo
done
cap linux-netstat-tanpe.pt_BR.txt env LANGUAGE=pt_BR netstat -tanpe
# As an ordinary user, with netstat's warning (stderr) in the capture as `2>&1` puts it there.
in_ns setpriv --reuid=nobody --regid=nogroup --clear-groups netstat -tanp >"$OUT/linux-netstat-tanp.nonroot.txt" 2>&1
cap linux-ss-tan.txt ss -tan
cap linux-ss-tanH.txt ss -tanH
cap linux-ss-tanp.txt ss -tanp
cap linux-ss-tanpoe.txt ss -tanpoe
cap linux-ss-tani.txt ss -tani
cap linux-ss-an.txt ss -an
prompt linux-ss-state-close-wait.txt ss -tnp state close-wait
cap linux-ss-state-close-wait-no-prompt.txt ss -tn state close-wait
{ echo '$ cat /proc/net/tcp /proc/net/tcp6'; in_ns cat /proc/net/tcp /proc/net/tcp6; } >"$OUT/linux-proc-net-tcp.txt"
# The same sockets as tcpscope sees them, for comparing: `tcpscope ls --json` in the namespace.
in_ns "$BIN" ls --json >"$WORK/tcpscope.json"
echo "captured into $OUT:"
ls -1 "$OUT" | grep '^linux-'
