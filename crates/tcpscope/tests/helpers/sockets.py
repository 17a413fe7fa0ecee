# Opens TCP sockets in several states on the given addresses, prints their ports as JSON, and
# holds them until stdin closes. Used by the filter differential tests (tests/filter_vs_ss.rs):
# every socket here is the test's own, so only rows with these ports are compared.
import json, socket, sys, time

addrs = sys.argv[1].split(",")
held, ports = [], set()


def fam(a):
    return socket.AF_INET6 if ":" in a else socket.AF_INET


def note(*socks):
    for s in socks:
        ports.add(s.getsockname()[1])


def listener(a):
    s = socket.socket(fam(a))
    s.bind((a, 0))
    s.listen(64)
    note(s)
    held.append(s)
    return s


def pair(lst, a, p):
    c = socket.socket(fam(a))
    c.connect((a, p))
    s, _ = lst.accept()
    note(c, s)
    return c, s


for a in addrs:
    lst = listener(a)
    p = lst.getsockname()[1]
    for _ in range(3):  # ESTABLISHED both ways
        held.extend(pair(lst, a, p))
    c, s = pair(lst, a, p)  # data waiting: Recv-Q > 0 on s
    c.sendall(b"x" * 100)
    held.extend([c, s])
    c, s = pair(lst, a, p)  # server closes: client CLOSE-WAIT, server FIN-WAIT-2
    s.close()
    held.append(c)
    c, s = pair(lst, a, p)  # client closes first: client TIME-WAIT
    c.close()
    time.sleep(0.05)
    s.close()
    c = socket.socket(fam(a))  # never accepted: waits in the accept queue
    c.connect((a, p))
    note(c)
    held.append(c)

v4 = [a for a in addrs if ":" not in a]
if v4 and socket.has_ipv6:  # dual-stack listener reached over IPv4: IPv4-mapped addresses
    lst = socket.socket(socket.AF_INET6)
    lst.bind(("::", 0))
    lst.listen(8)
    note(lst)
    held.append(lst)
    held.extend(pair(lst, v4[0], lst.getsockname()[1]))

if v4:  # a listener bound to lo (dev) and one with a firewall mark (fwmark); both need root
    for opt, val in ((socket.SO_BINDTODEVICE, b"lo"), (socket.SO_MARK, 0x2A)):
        try:
            lst = socket.socket()
            lst.setsockopt(socket.SOL_SOCKET, opt, val)
            lst.bind((v4[0], 0))
            lst.listen(8)
            note(lst)
            held.append(lst)
            held.extend(pair(lst, v4[0], lst.getsockname()[1]))
        except PermissionError:
            pass

time.sleep(0.2)
print(json.dumps(sorted(ports)), flush=True)
sys.stdin.read()
