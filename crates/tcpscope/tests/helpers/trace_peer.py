# One end of a loopback connection, in its own process, for the trace owner tests
# (tests/trace.rs): the server and the client must be different processes, so that a change
# the kernel makes in softirq while the *other* process runs cannot pass for the right owner.
#
#   trace_peer.py server      listen on 127.0.0.1:0, print {"pid", "port"}, accept one
#                             connection, read until the client closes, then close.
#   trace_peer.py client PORT connect, print {"pid", "port"}, wait for a line on stdin, close.
import json, os, socket, sys

if sys.argv[1] == "server":
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(8)
    print(json.dumps({"pid": os.getpid(), "port": lst.getsockname()[1]}), flush=True)
    conn, _ = lst.accept()
    while conn.recv(4096):
        pass
    conn.close()
    lst.close()
    sys.stdin.readline()
else:
    c = socket.socket()
    c.connect(("127.0.0.1", int(sys.argv[2])))
    c.sendall(b"hello")
    print(json.dumps({"pid": os.getpid(), "port": c.getsockname()[1]}), flush=True)
    sys.stdin.readline()
    c.close()
    sys.stdin.readline()
