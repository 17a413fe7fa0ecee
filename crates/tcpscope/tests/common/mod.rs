//! Support shared by the integration tests: running the real binary, deciding whether root-only
//! tests run or skip, and guards that clean up processes and namespaces even when a test fails.
#![allow(dead_code)]

pub mod lab;
pub mod tmux;

use serde_json::Value;
use std::process::{Child, Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// The tcpscope binary built for this test run.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tcpscope"))
}

/// Run tcpscope with `args`; panic with its stderr if it fails.
pub fn run_ok(args: &[&str]) -> Output {
    let out = bin().args(args).output().expect("running tcpscope");
    assert!(
        out.status.success(),
        "tcpscope {args:?} failed with {}:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Run tcpscope with `args` and parse stdout as one JSON document.
pub fn run_json(args: &[&str]) -> Value {
    let out = run_ok(args);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "tcpscope {args:?} printed invalid JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// True when running as root. Without root, a root-only test prints why it skips and returns
/// false — unless TCPSCOPE_REQUIRE_ROOT_TESTS=1 (set in CI), where skipping is a failure.
pub fn root_or_skip(test: &str) -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    if std::env::var("TCPSCOPE_REQUIRE_ROOT_TESTS").as_deref() == Ok("1") {
        panic!("{test} needs root, and TCPSCOPE_REQUIRE_ROOT_TESTS=1 forbids skipping it");
    }
    eprintln!(
        "skipping {test}: needs root (run as root, or CI sets TCPSCOPE_REQUIRE_ROOT_TESTS=1)"
    );
    false
}

/// `program`, run inside network namespace `netns` (through `ip netns exec`) when given.
pub fn command_in(netns: Option<&str>, program: &str) -> Command {
    match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, program]);
            c
        }
        None => Command::new(program),
    }
}

/// A name unique to this test process and call, for namespaces and files.
pub fn unique_name(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A network namespace that is deleted when the guard drops (also on panic).
pub struct NetnsGuard {
    pub name: String,
}

impl NetnsGuard {
    /// Create a namespace named `tcpscope-test-...` with loopback up.
    pub fn new(prefix: &str) -> NetnsGuard {
        let name = unique_name(&format!("tst-{prefix}"));
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("running ip netns add");
        assert!(ok.success(), "ip netns add {name} failed");
        let guard = NetnsGuard { name };
        let ok = Command::new("ip")
            .args(["-n", &guard.name, "link", "set", "lo", "up"])
            .status()
            .expect("running ip link");
        assert!(ok.success(), "bringing lo up in {} failed", guard.name);
        guard
    }
}

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A child process that is killed and reaped when the guard drops (also on panic).
pub struct ChildGuard(pub Child);

impl ChildGuard {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The sockets of a `ls --json` document.
pub fn sockets(doc: &Value) -> &Vec<Value> {
    doc["sockets"].as_array().expect("a sockets array")
}

/// (state, local, peer) of a JSON socket object, endpoints as `endpoint` prints them.
pub fn row(s: &Value) -> (String, String, String) {
    (
        s["state"].as_str().expect("state").to_string(),
        endpoint(&s["local"]),
        endpoint(&s["peer"]),
    )
}

/// "127.0.0.1:5555" for a JSON endpoint object.
pub fn endpoint(v: &Value) -> String {
    let addr = v["addr"].as_str().expect("addr");
    let port = v["port"].as_u64().expect("port");
    if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    }
}

/// Lines of `ss -Htan` (plus extra args) as (state, local, peer) triples.
pub fn ss_rows(extra: &[&str]) -> Vec<(String, String, String)> {
    ss_rows_in(None, extra)
}

/// `ss_rows`, run inside network namespace `netns` when given.
pub fn ss_rows_in(netns: Option<&str>, extra: &[&str]) -> Vec<(String, String, String)> {
    let out = command_in(netns, "ss")
        .arg("-Htan")
        .args(extra)
        .output()
        .expect("running ss");
    assert!(out.status.success(), "ss failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 5).then(|| (f[0].to_string(), f[3].to_string(), f[4].to_string()))
        })
        .collect()
}
