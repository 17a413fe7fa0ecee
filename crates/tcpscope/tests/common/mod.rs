//! Support shared by the integration tests: running the real binary, deciding whether root-only
//! tests run or skip, and guards that clean up processes and namespaces even when a test fails.
#![allow(dead_code)]

pub mod lab;
pub mod serve;
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

/// True when skipping is forbidden: `.ci/run` sets TCPSCOPE_FORBID_SKIPS=1, so a test that
/// cannot run there (no root, a missing tool) fails instead of passing silently.
pub fn skips_forbidden() -> bool {
    std::env::var("TCPSCOPE_FORBID_SKIPS").as_deref() == Ok("1")
}

/// Skip `test` because of `why`, visibly: one line on the process's real stderr (libtest
/// captures `eprintln!` of passing tests, so a skip printed that way is never seen), or a
/// failure when TCPSCOPE_FORBID_SKIPS=1. Call it and return from the test.
pub fn skip(test: &str, why: &str) {
    if skips_forbidden() {
        panic!("{test} would be skipped ({why}), and TCPSCOPE_FORBID_SKIPS=1 forbids skipping");
    }
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {test}: {why}");
}

/// True when running as root. Without root, a root-only test says on stderr that it skips and
/// why (see [`skip`]) and returns false — unless TCPSCOPE_REQUIRE_ROOT_TESTS=1 or
/// TCPSCOPE_FORBID_SKIPS=1 (both set in CI), where skipping is a failure.
pub fn root_or_skip(test: &str) -> bool {
    if rustix::process::geteuid().is_root() {
        return true;
    }
    if std::env::var("TCPSCOPE_REQUIRE_ROOT_TESTS").as_deref() == Ok("1") {
        panic!("{test} needs root, and TCPSCOPE_REQUIRE_ROOT_TESTS=1 forbids skipping it");
    }
    skip(
        test,
        "needs root (run as root; CI runs as root and forbids skips)",
    );
    false
}

/// True when `program` runs (`program --version` succeeds); otherwise `test` skips saying so
/// (a failure where skips are forbidden: `.ci/run` installs every tool the tests use).
pub fn tool_or_skip(test: &str, program: &str, package: &str) -> bool {
    let found = Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        skip(
            test,
            &format!("{program} is not installed (apt-get install {package}; .ci/run does)"),
        );
    }
    found
}

/// Run `test` on short-lived sockets made by `make`, again on fresh ones when it failed because
/// they expired while it ran. TIME-WAIT and orphaned FIN-WAIT-2 sockets vanish 60 s after they
/// were made, and on a busy host a test can take longer than that; so a failure counts only
/// when `alive` says the sockets were still there afterwards (a real disagreement). Up to three
/// attempts; each retry is said on stderr.
pub fn retry_if_expired<S>(
    what: &str,
    make: impl Fn() -> S,
    alive: impl Fn(&S) -> bool,
    test: impl Fn(&S),
) {
    use std::io::Write as _;
    const ATTEMPTS: u32 = 3;
    for attempt in 1..=ATTEMPTS {
        let sockets = make();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| test(&sockets)));
        match outcome {
            Ok(()) => return,
            Err(_) if attempt < ATTEMPTS && !alive(&sockets) => {
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "RETRY {what}: its short-lived sockets expired while it ran (attempt \
                     {attempt} of {ATTEMPTS}); the failure above is that, not a bug; \
                     trying again with fresh ones"
                );
            }
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// Rows of `ss -Htan` before and after `f`: the rows in both lived through everything `f` did
/// (sockets only ever vanish from a test's own set; none appear).
pub fn stable_during<T>(
    netns: Option<&str>,
    f: impl FnOnce() -> T,
) -> (T, std::collections::BTreeSet<(String, String, String)>) {
    let before: std::collections::BTreeSet<_> = ss_rows_in(netns, &[]).into_iter().collect();
    let out = f();
    let after: std::collections::BTreeSet<_> = ss_rows_in(netns, &[]).into_iter().collect();
    (out, before.intersection(&after).cloned().collect())
}

/// Wait for `done` to hold, checking every 20 ms. Only a guard against a hang: the limit is far
/// beyond anything a working system needs, even a busy one, and is never a timing goal.
pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let until = std::time::Instant::now() + HANG_GUARD;
    while !done() {
        assert!(
            std::time::Instant::now() < until,
            "{what}: still not done after {HANG_GUARD:?} (a hang)"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// How long a test waits for something that should happen at once before it calls it a hang.
pub const HANG_GUARD: std::time::Duration = std::time::Duration::from_secs(300);

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

/// CLOSE-WAIT sockets on local `port` as ss sees them (the oracle).
pub fn ss_close_wait(port: u16) -> usize {
    let out = Command::new("ss")
        .args([
            "-Htan",
            "state",
            "close-wait",
            "sport",
            "=",
            &format!(":{port}"),
        ])
        .output()
        .expect("running ss");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}
