//! The Local and Peer columns agree with `ss -tan` character for character (issue 11, ss
//! parity): on IPv4, IPv6, dual-stack (`*:PORT`) and IPv6-only (`[::]:PORT`) wildcards,
//! IPv4-mapped addresses (`[::ffff:127.0.0.1]:PORT`), device-bound sockets
//! (`127.0.0.1%lo:PORT`) and a link-local address with its scope (`[fe80::2]%lo:PORT`). The
//! sockets live in a namespace of their own, so every row of both tools is compared.

mod common;

use common::{bin, root_or_skip, ChildGuard, NetnsGuard};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Opens one socket of each kind (and connections to them), prints "ready", holds them.
const SOCKETS: &str = r#"
import socket, sys
held = []
def listen(fam, addr, v6only=None, dev=None, scope=0):
    s = socket.socket(fam)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    if dev:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev)
    s.bind((addr, 0) if fam == socket.AF_INET else (addr, 0, 0, scope))
    s.listen(8)
    held.append(s)
    return s
def connect(listener, fam, addr, scope=0):
    c = socket.socket(fam)
    port = listener.getsockname()[1]
    c.connect((addr, port) if fam == socket.AF_INET else (addr, port, 0, scope))
    held.extend([c, listener.accept()[0]])
v4 = listen(socket.AF_INET, "0.0.0.0")                      # 0.0.0.0:P
connect(v4, socket.AF_INET, "127.0.0.1")                    # 127.0.0.1 both ways
v6 = listen(socket.AF_INET6, "::1")                         # [::1]:P, peer [::]:*
connect(v6, socket.AF_INET6, "::1")
dual = listen(socket.AF_INET6, "::", v6only=0)              # *:P, peer *:*
connect(dual, socket.AF_INET, "127.0.0.1")                  # [::ffff:127.0.0.1] on the server
listen(socket.AF_INET6, "::", v6only=1)                     # [::]:P, peer [::]:*
bound = listen(socket.AF_INET, "127.0.0.1", dev=b"lo")      # 127.0.0.1%lo:P
connect(bound, socket.AF_INET, "127.0.0.1")
listen(socket.AF_INET, "0.0.0.0", dev=b"lo")                # 0.0.0.0%lo:P
lo = socket.if_nametoindex("lo")
ll = listen(socket.AF_INET6, "fe80::2", scope=lo)           # [fe80::2]%lo:P
connect(ll, socket.AF_INET6, "fe80::2", scope=lo)
print("ready", flush=True)
sys.stdin.read()
"#;

/// (Local, Peer) of every row of a table whose 4th and 5th columns are the addresses.
fn columns(text: &str) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 5).then(|| (f[3].to_string(), f[4].to_string()))
        })
        .collect();
    rows.sort();
    rows
}

fn run_in(ns: &str, program: &str, args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, program])
        .args(args)
        .output()
        .expect("ip netns exec");
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn local_and_peer_columns_are_ss_tan_s() {
    if !root_or_skip("local_and_peer_columns_are_ss_tan_s") {
        return;
    }
    let ns = NetnsGuard::new("addr");
    let ok = Command::new("ip")
        .args([
            "-n",
            &ns.name,
            "addr",
            "add",
            "fe80::2/64",
            "dev",
            "lo",
            "nodad",
        ])
        .status()
        .expect("ip addr add");
    assert!(ok.success(), "adding a link-local address to lo");
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns.name, "python3", "-c", SOCKETS])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let stdout = child.stdout.take().expect("stdout");
    let _guard = ChildGuard(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("ready");
    assert_eq!(line.trim(), "ready");

    let ss = columns(&run_in(&ns.name, "ss", &["-Htan"]));
    let ours = columns(&run_in(
        &ns.name,
        env!("CARGO_BIN_EXE_tcpscope"),
        &["ls", "-H"],
    ));
    assert_eq!(
        ours, ss,
        "tcpscope's Local/Peer columns differ from ss -tan's"
    );
    // Every kind is there (the comparison above would pass on two empty tables).
    let all: String = ss.iter().map(|(l, p)| format!("{l} {p}\n")).collect();
    for want in [
        "0.0.0.0:",
        "0.0.0.0:*",
        "[::1]:",
        "[::]:*",
        "*:*",
        "[::ffff:127.0.0.1]:",
        "127.0.0.1%lo:",
        "0.0.0.0%lo:",
        "[fe80::2]%lo:",
    ] {
        assert!(all.contains(want), "no {want} in:\n{all}");
    }
    // The JSON contract is unchanged: a mapped address is given as IPv4 with family inet6.
    let out = bin()
        .args(["ls", "--json", "--netns", &ns.name])
        .output()
        .expect("tcpscope");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let mapped = common::sockets(&doc)
        .iter()
        .find(|s| s["family"] == "inet6" && s["local"]["addr"] == "127.0.0.1")
        .expect("the mapped socket");
    assert_eq!(mapped["peer"]["addr"], "127.0.0.1");
    let bound = common::sockets(&doc)
        .iter()
        .find(|s| s["dev"] == "lo" && s["family"] == "inet")
        .expect("a socket bound to lo");
    assert_eq!(bound["ifindex"], 1);
}
