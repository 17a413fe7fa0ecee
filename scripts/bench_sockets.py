#!/usr/bin/env python3
# Holds many ESTABLISHED loopback connections for benchmarks (scripts/bench-filter.sh).
# Usage: bench_sockets.py WORKER LISTENERS CONNS_PER_LISTENER
# Opens LISTENERS listeners on 127.0.0.1 and CONNS_PER_LISTENER connections to each, from the
# source address 127.0.<WORKER+1>.1 (IP_BIND_ADDRESS_NO_PORT, so the port is picked at connect
# time per destination and ephemeral ports never run out). Prints "ready PORT..." and holds the
# sockets until stdin closes. Keep 2 * LISTENERS * CONNS under the per-process fd limit.
# To be replaced by `tcpscope lab established --count N` when that lands.
import socket, sys

worker, nlisten, nconn = (int(a) for a in sys.argv[1:4])
IP_BIND_ADDRESS_NO_PORT = 24
src = f"127.0.{worker + 1}.1"
held, ports = [], []
for _ in range(nlisten):
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(4096)
    held.append(lst)
    port = lst.getsockname()[1]
    ports.append(port)
    for _ in range(nconn):
        c = socket.socket()
        c.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        c.bind((src, 0))
        c.connect(("127.0.0.1", port))
        s, _ = lst.accept()
        held.append(c)
        held.append(s)
print("ready", *ports, flush=True)
sys.stdin.read()
