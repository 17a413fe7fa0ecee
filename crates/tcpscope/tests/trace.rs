//! `tcpscope trace` end to end, on real sockets: every transition of every lab scenario passes
//! the model check and equals what tracefs reports for the same run; the owner is right for
//! both ends of a connection between two processes; the JSON lines contract; --count,
//! --duration and signals end with the summary line; a recording replays; without root (or
//! with --poll) trace falls back to polling and says so.

mod common;

use common::lab::Lab;
use common::{bin, root_or_skip, unique_name, ChildGuard, HANG_GUARD};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `tcpscope trace`; its stdout and stderr lines arrive through channels.
struct TraceRun {
    child: ChildGuard,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
    /// Lines read from stdout so far.
    seen: Vec<String>,
}

fn line_channel(r: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl TraceRun {
    /// Start `tcpscope trace ARGS` and wait until it is tracing (or polling).
    fn start(args: &[&str]) -> TraceRun {
        let mut child = ChildGuard(
            bin()
                .arg("trace")
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("starting tcpscope trace"),
        );
        let stdout = line_channel(child.0.stdout.take().expect("stdout"));
        let stderr = line_channel(child.0.stderr.take().expect("stderr"));
        let run = TraceRun {
            child,
            stdout,
            stderr,
            seen: Vec::new(),
        };
        let until = Instant::now() + HANG_GUARD;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match run.stderr.recv_timeout(left) {
                Ok(l) if l.contains("tracing sock:") || l.contains("polling every socket") => {
                    return run
                }
                Ok(_) => {}
                Err(_) => panic!("trace {args:?} did not start (a hang: HANG_GUARD)"),
            }
        }
    }

    /// Wait (up to the hang guard) until trace prints a JSON line for which `what` holds.
    fn wait_for(&mut self, why: &str, what: impl Fn(&Value) -> bool) {
        if self
            .seen
            .iter()
            .any(|l| serde_json::from_str(l).is_ok_and(|v| what(&v)))
        {
            return;
        }
        let until = Instant::now() + HANG_GUARD;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            let line = self.stdout.recv_timeout(left).unwrap_or_else(|_| {
                panic!("trace printed no line with {why} (a hang: HANG_GUARD)")
            });
            let hit = serde_json::from_str(&line).is_ok_and(|v| what(&v));
            self.seen.push(line);
            if hit {
                return;
            }
        }
    }

    /// SIGTERM, wait for a clean exit; the JSON lines printed and everything on stderr.
    fn stop(mut self) -> (Vec<Value>, String) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(self.child.pid() as i32, libc::SIGTERM) };
        let until = Instant::now() + HANG_GUARD;
        loop {
            if let Some(status) = self.child.0.try_wait().expect("waiting for trace") {
                assert!(status.success(), "trace exited with {status}");
                break;
            }
            assert!(
                Instant::now() < until,
                "trace did not exit (a hang: HANG_GUARD)"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // The reader threads end at EOF.
        let mut lines = std::mem::take(&mut self.seen);
        lines.extend(self.stdout.iter());
        let err: Vec<String> = self.stderr.iter().collect();
        (json_lines(&lines.join("\n")), err.join("\n"))
    }
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn transitions(lines: &[Value]) -> Vec<&Value> {
    lines.iter().filter(|l| l["type"] == "transition").collect()
}

fn port(e: &Value, side: &str) -> u16 {
    e[side]["port"].as_u64().expect("a port") as u16
}

/// A tracefs instance of its own recording `sock:inet_sock_set_state`, removed on drop.
struct TracefsInstance {
    dir: PathBuf,
}

impl TracefsInstance {
    fn new() -> TracefsInstance {
        let dir = PathBuf::from("/sys/kernel/tracing/instances").join(unique_name("tcpscope-test"));
        std::fs::create_dir(&dir).expect("creating a tracefs instance");
        let inst = TracefsInstance { dir };
        std::fs::write(inst.dir.join("buffer_size_kb"), "8192").expect("buffer size");
        let ev = inst.dir.join("events/sock/inet_sock_set_state");
        std::fs::write(ev.join("filter"), "protocol == 6").expect("filter");
        std::fs::write(ev.join("enable"), "1").expect("enable");
        inst
    }

    /// (old, new, sport, dport) of every record, states spelled as trace's JSON spells them,
    /// and whether it was made while the idle task of a CPU other than 0 was current (the
    /// records this VM's perf does not deliver: docs/trace.md, "Known issue").
    fn records(&self) -> Vec<((String, String, u16, u16), bool)> {
        std::fs::write(self.dir.join("tracing_on"), "0").expect("stopping the instance");
        let text = std::fs::read_to_string(self.dir.join("trace")).expect("reading trace");
        let overrun =
            std::fs::read_to_string(self.dir.join("per_cpu/cpu0/stats")).unwrap_or_default();
        assert!(
            !overrun
                .lines()
                .any(|l| l.starts_with("overrun:") && l.trim() != "overrun: 0"),
            "the tracefs buffer overran: {overrun}"
        );
        text.lines()
            .filter(|l| l.contains("inet_sock_set_state:"))
            .filter_map(|l| {
                let field = |k: &str| {
                    l.split_whitespace()
                        .find_map(|w| w.strip_prefix(k))
                        .map(String::from)
                };
                let mut words = l.split_whitespace();
                let idle = words.next() == Some("<idle>-0") && words.next() != Some("[000]");
                Some((
                    (
                        state_name(&field("oldstate=")?),
                        state_name(&field("newstate=")?),
                        field("sport=")?.parse().ok()?,
                        field("dport=")?.parse().ok()?,
                    ),
                    idle,
                ))
            })
            .collect()
    }
}

impl Drop for TracefsInstance {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// `TCP_CLOSE_WAIT` -> `close-wait`, `TCP_CLOSE` -> `closed`.
fn state_name(kernel: &str) -> String {
    let s = kernel
        .trim_start_matches("TCP_")
        .to_ascii_lowercase()
        .replace('_', "-");
    match s.as_str() {
        "close" => "closed".into(),
        "fin-wait1" => "fin-wait-1".into(),
        "fin-wait2" => "fin-wait-2".into(),
        _ => s,
    }
}

/// The lab scenarios, as (arguments, what the test calls them).
fn scenarios() -> Vec<Vec<&'static str>> {
    let mut all: Vec<Vec<&str>> = [
        "established",
        "listen",
        "close-wait",
        "fin-wait-2",
        "time-wait",
        "syn-recv",
        "fin-wait-1",
        "last-ack",
        "closing",
        "syn-sent",
        "stopped-server",
    ]
    .iter()
    .map(|s| vec![*s, "--count", "2"])
    .collect();
    for s in ["syn-sent", "fin-wait-1", "last-ack", "closing"] {
        all.push(vec![s, "--count", "2", "--lossy"]);
    }
    all.push(vec!["churn", "--rate", "200", "--duration", "1s"]);
    all
}

/// Every transition of every lab scenario (including --lossy, in lab's own namespace) passes
/// the model check, has an owner among lab's processes (or none, never another process), and
/// the changes trace reports for a scenario's ports are exactly those tracefs recorded.
#[test]
fn every_lab_scenario_passes_the_model_check_and_matches_tracefs() {
    if !root_or_skip("every_lab_scenario_passes_the_model_check_and_matches_tracefs") {
        return;
    }
    let trace = TraceRun::start(&["--jsonl"]);
    let tracefs = TracefsInstance::new();
    // Port -> (scenario, lab's pids).
    let mut ports: HashMap<u16, (String, HashSet<u64>)> = HashMap::new();
    for args in scenarios() {
        let name = args.join(" ");
        let lab = Lab::start(&args);
        let pids: HashSet<u64> = lab.doc["pids"]
            .as_array()
            .expect("pids")
            .iter()
            .filter_map(Value::as_u64)
            .collect();
        // The listening ports (the listen scenario's sockets are its listeners).
        let mut listeners = lab.doc["listeners"].as_array().expect("listeners").clone();
        if listeners.is_empty() {
            listeners = lab.doc["sockets"]
                .as_array()
                .expect("sockets")
                .iter()
                .map(|s| s["local"].clone())
                .collect();
        }
        for l in listeners {
            let p = l["port"].as_u64().expect("port") as u16;
            ports.insert(p, (name.clone(), pids.clone()));
        }
        if args[0] == "churn" {
            // Churn ends by itself after --duration.
            let mut lab = lab;
            let until = Instant::now() + HANG_GUARD;
            while lab.child.0.try_wait().expect("waiting for lab").is_none() {
                assert!(Instant::now() < until, "lab churn did not end");
                std::thread::sleep(Duration::from_millis(50));
            }
        } else {
            lab.stop();
        }
    }
    // Lab's sockets are closed with SO_LINGER 0: nothing of theirs changes state any more.
    std::thread::sleep(Duration::from_millis(300));
    let kernel = tracefs.records();
    let (lines, stderr) = trace.stop();
    let summary = lines.last().expect("a summary line");
    assert_eq!(summary["type"], "summary", "{stderr}");
    let lost = summary["lost"].as_u64().expect("lost");

    let ours = |sport: u16, dport: u16| ports.contains_key(&sport) || ports.contains_key(&dport);
    let mut by_scenario: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for e in transitions(&lines) {
        let (l, p) = (port(e, "local"), port(e, "peer"));
        let Some((name, pids)) = ports.get(&l).or_else(|| ports.get(&p)) else {
            continue;
        };
        by_scenario.entry(name.clone()).or_default().push(e);
        assert_ne!(e["model"], "violation", "{name}: {e}");
        if lost == 0 {
            // A gap: the socket's previous record was not delivered (checked against tracefs
            // below: only records the kernel's perf is known to skip may be missing).
            assert!(e["model"] == "ok" || e["model"] == "gap", "{name}: {e}");
        }
        if let Some(pid) = e["pid"].as_u64() {
            assert!(
                pids.contains(&pid) || is_lab_child(pid, pids),
                "{name}: owner {pid} is not one of lab's processes {pids:?}: {e}"
            );
        }
    }
    for args in scenarios() {
        let name = args.join(" ");
        assert!(
            by_scenario.get(&name).is_some_and(|v| v.len() >= 2),
            "no transitions traced for lab {name}"
        );
    }
    // The same changes as the kernel's own trace buffer (CLOSE -> SYN_SENT is recorded before
    // the port is chosen; trace shows the port the socket got, tracefs shows 0).
    let mut mine: Vec<(String, String, u16, u16)> = transitions(&lines)
        .iter()
        .map(|e| {
            let sport = if e["new"] == "syn-sent" && e["old"] == "closed" {
                0
            } else {
                port(e, "local")
            };
            (
                e["old"].as_str().unwrap_or("").to_string(),
                e["new"].as_str().unwrap_or("").to_string(),
                sport,
                port(e, "peer"),
            )
        })
        .filter(|(_, _, s, d)| ours(*s, *d))
        .collect();
    let kernel: Vec<_> = kernel
        .into_iter()
        .filter(|((_, _, s, d), _)| ours(*s, *d))
        .collect();
    // Records made while a CPU other than 0 idles are the ones this kernel's perf does not
    // deliver (scripts/perf-idle-check.sh shows it without tcpscope): trace may miss those, and
    // only those; every other record must be there, and nothing more.
    let mut theirs: Vec<_> = kernel
        .iter()
        .filter(|(_, idle)| !idle)
        .map(|(r, _)| r.clone())
        .collect();
    let mut theirs_idle: Vec<_> = kernel
        .iter()
        .filter(|(_, idle)| *idle)
        .map(|(r, _)| r.clone())
        .collect();
    mine.sort();
    theirs.sort();
    theirs_idle.sort();
    if lost == 0 {
        let mut extra = Vec::new();
        let mut missing = theirs.clone();
        for r in &mine {
            if let Some(i) = missing.iter().position(|m| m == r) {
                missing.remove(i);
            } else if let Some(i) = theirs_idle.iter().position(|m| m == r) {
                theirs_idle.remove(i);
            } else {
                extra.push(r.clone());
            }
        }
        assert!(
            missing.is_empty() && extra.is_empty(),
            "trace and tracefs differ: trace misses {missing:?}, and has {extra:?} that tracefs has not"
        );
        let gaps = summary["gaps"].as_u64().expect("gaps");
        assert!(
            gaps <= theirs_idle.len() as u64 + 1,
            "{gaps} gaps, {} undelivered idle records",
            theirs_idle.len()
        );
        if !theirs_idle.is_empty() {
            eprintln!(
                "tracefs has {} records made while CPU 1+ idled that trace did not get (the known kernel issue): {theirs_idle:?}",
                theirs_idle.len()
            );
        }
    }
}

/// Stopped-server children are forked by a worker after lab printed its pids: accept a process
/// whose parent is one of lab's.
fn is_lab_child(pid: u64, pids: &HashSet<u64>) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit(')')
                .next()?
                .split_whitespace()
                .nth(1)?
                .parse::<u64>()
                .ok()
        })
        .is_some_and(|ppid| pids.contains(&ppid))
}

fn peer(args: &[&str]) -> (ChildGuard, Value) {
    let helper = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/helpers/trace_peer.py");
    let mut child = ChildGuard(
        Command::new("python3")
            .arg(helper)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting python3"),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.as_mut().expect("stdout"))
        .read_line(&mut line)
        .expect("reading the helper");
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    (child, v)
}

fn tell(child: &mut ChildGuard) {
    let stdin = child.0.stdin.as_mut().expect("stdin");
    stdin.write_all(b"go\n").expect("writing to the helper");
    stdin.flush().expect("flushing");
}

/// A server and a client in two processes: every change of the server's sockets names the
/// server (or no one), every change of the client's names the client — never the peer, whose
/// pid the kernel records for the changes it makes in softirq.
#[test]
fn owner_is_right_for_both_ends_in_different_processes() {
    if !root_or_skip("owner_is_right_for_both_ends_in_different_processes") {
        return;
    }
    let mut trace = TraceRun::start(&["--jsonl", "src", "127.0.0.1"]);
    let (mut server, s) = peer(&["server"]);
    let sport = s["port"].as_u64().expect("port") as u16;
    let spid = s["pid"].as_u64().expect("pid");
    let (mut client, c) = peer(&["client", &sport.to_string()]);
    let cpid = c["pid"].as_u64().expect("pid");
    let cport = c["port"].as_u64().expect("port") as u16;
    // Both ends hold their sockets until trace has printed the handshake.
    trace.wait_for("the server's SYN-RECV -> ESTABLISHED", |e| {
        e["old"] == "syn-recv" && port(e, "local") == sport
    });
    tell(&mut client); // the client closes; the server reads EOF and closes
    trace.wait_for("the server's LAST-ACK -> CLOSED", |e| {
        e["old"] == "last-ack" && port(e, "local") == sport
    });
    tell(&mut server);
    tell(&mut client);
    let (lines, stderr) = trace.stop();
    let mine: Vec<&Value> = transitions(&lines)
        .into_iter()
        .filter(|e| {
            let (l, p) = (port(e, "local"), port(e, "peer"));
            l == sport || (l == cport && p == sport) || (l == 0 && p == sport)
        })
        .collect();
    let step = |l: u16, old: &str, new: &str| -> &Value {
        mine.iter()
            .copied()
            .find(|e| {
                (port(e, "local") == l || (l == cport && port(e, "local") == 0))
                    && e["old"] == old
                    && e["new"] == new
            })
            .unwrap_or_else(|| panic!("no {old} -> {new} on port {l} in {mine:#?}\n{stderr}"))
    };
    // Changes made by the owner's own system calls.
    assert_eq!(step(sport, "closed", "listen")["pid"], spid);
    assert_eq!(step(sport, "close-wait", "last-ack")["pid"], spid);
    assert_eq!(
        step(sport, "close-wait", "last-ack")["owner_from"],
        "context"
    );
    assert_eq!(step(cport, "closed", "syn-sent")["pid"], cpid);
    assert_eq!(step(cport, "established", "fin-wait-1")["pid"], cpid);
    // The server's changes in softirq ran while the client was running: they name the
    // server (from a later change in its context, or a lookup) or no one, never the client.
    for (old, new) in [
        ("listen", "syn-recv"),
        ("syn-recv", "established"),
        ("established", "close-wait"),
    ] {
        let e = step(sport, old, new);
        assert_ne!(e["pid"], cpid, "the client's pid on a server change: {e}");
        assert_ne!(e["owner_from"], "context", "{e}");
    }
    for e in &mine {
        let server_side = port(e, "local") == sport;
        let want = if server_side { spid } else { cpid };
        if !e["pid"].is_null() {
            assert_eq!(e["pid"], want, "wrong owner: {e}");
        }
        assert_eq!(e["model"], "ok", "{e}");
    }
    drop(client);
    drop(server);
}

/// Every line is the documented contract: exact keys, types, spellings; a summary line last.
#[test]
fn jsonl_lines_are_the_contract() {
    if !root_or_skip("jsonl_lines_are_the_contract") {
        return;
    }
    let trace = TraceRun::start(&["--jsonl"]);
    let lab = Lab::start(&["time-wait", "--count", "1"]);
    let lport = lab.doc["listeners"][0]["port"].as_u64().expect("port");
    lab.stop();
    let (lines, _) = trace.stop();
    let keys = [
        "type",
        "time",
        "family",
        "local",
        "peer",
        "old",
        "new",
        "in_old_ms",
        "pid",
        "comm",
        "owner_from",
        "netns",
        "cookie",
        "model",
    ];
    let states: HashSet<&str> = [
        "established",
        "syn-sent",
        "syn-recv",
        "fin-wait-1",
        "fin-wait-2",
        "closed",
        "close-wait",
        "last-ack",
        "listen",
        "closing",
    ]
    .into();
    let mut seen = 0;
    for e in transitions(&lines) {
        let obj = e.as_object().expect("an object");
        let got: Vec<&str> = obj.keys().map(String::as_str).collect();
        let mut want = keys.to_vec();
        want.sort();
        let mut got_sorted = got.clone();
        got_sorted.sort();
        assert_eq!(got_sorted, want, "{e}");
        let time = e["time"].as_str().expect("time");
        assert!(
            time.len() == 30
                && time.ends_with('Z')
                && time.as_bytes()[10] == b'T'
                && time.as_bytes()[19] == b'.',
            "RFC 3339 UTC with nanoseconds: {time}"
        );
        assert!(e["family"] == "inet" || e["family"] == "inet6");
        for side in ["local", "peer"] {
            assert!(
                e[side]["addr"].is_string() && e[side]["port"].is_u64(),
                "{e}"
            );
        }
        assert!(states.contains(e["old"].as_str().expect("old")), "{e}");
        assert!(states.contains(e["new"].as_str().expect("new")), "{e}");
        assert!(e["in_old_ms"].is_null() || e["in_old_ms"].is_u64());
        assert!(e["pid"].is_null() || e["pid"].is_u64());
        assert!(e["comm"].is_null() || e["comm"].is_string());
        assert!(["context", "cache", "lookup", "none"]
            .contains(&e["owner_from"].as_str().expect("owner_from")));
        assert!(e["netns"].is_null() || e["netns"].is_string());
        assert!(e["cookie"].is_null() || e["cookie"].is_u64());
        assert!(["ok", "violation", "unknown"].contains(&e["model"].as_str().expect("model")));
        if port(e, "local") as u64 == lport || port(e, "peer") as u64 == lport {
            seen += 1;
        }
    }
    assert!(
        seen >= 11,
        "a time-wait lab makes 11 changes or more; saw {seen}"
    );
    let last = lines.last().expect("a summary");
    let mut keys: Vec<&str> = last
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        ["events", "gaps", "lost", "seconds", "type", "violations"]
    );
    assert_eq!(last["type"], "summary");
    assert_eq!(
        last["events"].as_u64(),
        Some(transitions(&lines).len() as u64)
    );
    assert!(last["seconds"].is_f64() || last["seconds"].is_u64());
}

/// --count N stops after N lines and --duration after the time, both with the summary line.
#[test]
fn count_and_duration_end_with_the_summary_line() {
    if !root_or_skip("count_and_duration_end_with_the_summary_line") {
        return;
    }
    let lab = Lab::start(&["churn", "--rate", "100", "--duration", "30s"]);
    let port = lab.doc["listeners"][0]["port"]
        .as_u64()
        .expect("port")
        .to_string();
    let filter = format!("sport = :{port} or dport = :{port}");
    let out = bin()
        .args(["trace", "--jsonl", "--count", "5", &filter])
        .output()
        .expect("running trace");
    assert!(out.status.success());
    let lines = json_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert_eq!(transitions(&lines).len(), 5);
    assert_eq!(lines[5]["type"], "summary");
    assert_eq!(lines[5]["events"], 5);

    let out = bin()
        .args(["trace", "--duration", "1s", &filter])
        .output()
        .expect("running trace");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().expect("a line");
    assert!(last.starts_with("tcpscope trace: "), "{text}");
    assert!(text
        .lines()
        .next()
        .expect("header")
        .starts_with("TIME(UTC)"));
    let out = bin()
        .args(["trace", "--lifetimes", "--jsonl", "--count", "2", &filter])
        .output()
        .expect("running trace");
    let lines = json_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(lines.len(), 3, "{lines:?}");
    for l in &lines[..2] {
        assert_eq!(l["type"], "lifetime");
        let states: Vec<&str> = l["states"]
            .as_array()
            .expect("states")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(states.last(), Some(&"closed"), "{l}");
        assert!(states.contains(&"established"), "{l}");
    }
    lab.stop();
}

/// A recording replays to the same transitions, and can be re-filtered or read as lifetimes.
#[test]
fn a_recording_replays() {
    if !root_or_skip("a_recording_replays") {
        return;
    }
    let file = std::env::temp_dir().join(unique_name("tcpscope-trace-rec"));
    let rec = file.to_str().expect("utf-8 path").to_string();
    let trace = TraceRun::start(&[
        "--jsonl",
        "--record",
        &rec,
        "src",
        "127.0.0.1",
        "or",
        "dst",
        "127.0.0.1",
    ]);
    let lab = Lab::start(&["time-wait", "--count", "2"]);
    lab.stop();
    let (live, _) = trace.stop();
    let out = bin()
        .args(["trace", "--from", &rec, "--jsonl"])
        .output()
        .expect("replaying");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replayed = json_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(transitions(&live), transitions(&replayed));
    assert_eq!(replayed.last().expect("summary")["type"], "summary");
    assert_eq!(
        replayed.last().expect("summary")["events"],
        live.last().expect("summary")["events"]
    );
    let out = bin()
        .args(["trace", "--from", &rec, "--lifetimes", "--jsonl"])
        .output()
        .expect("replaying lifetimes");
    let lifetimes = json_lines(&String::from_utf8_lossy(&out.stdout));
    assert!(
        lifetimes.iter().filter(|l| l["type"] == "lifetime").count() >= 4,
        "{lifetimes:?}"
    );
    let out = bin()
        .args(["trace", "--from", &rec, "state", "close-wait"])
        .output()
        .expect("replay");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .skip(1)
            .filter(|l| !l.starts_with("tcpscope trace:"))
            .all(|l| l.contains("CLOSE-WAIT")),
        "{text}"
    );
    let _ = std::fs::remove_file(&file);
    let bad = bin()
        .args(["trace", "--from", "/nonexistent/x"])
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(3));
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding port 0")
        .port()
}

/// Without root (or with --poll) trace polls and says that changes between polls are missed.
#[test]
fn polling_fallback_says_what_it_misses() {
    if !root_or_skip("polling_fallback_says_what_it_misses") {
        return;
    }
    let p = free_port();
    let filter = format!("sport = :{p} or dport = :{p}");
    let mut trace = TraceRun::start(&["--poll", "--interval", "200ms", "--jsonl", &filter]);
    let lab = Lab::start(&["close-wait", "--count", "1", "--port", &p.to_string()]);
    trace.wait_for("CLOSED -> CLOSE-WAIT", |e| e["new"] == "close-wait");
    let pids = lab.pids();
    lab.stop();
    trace.wait_for("CLOSE-WAIT -> CLOSED", |e| {
        e["old"] == "close-wait" && e["new"] == "closed"
    });
    let (lines, stderr) = trace.stop();
    assert!(
        stderr.contains("changes between two polls are missed"),
        "{stderr}"
    );
    let mine = transitions(&lines);
    assert!(
        mine.iter()
            .any(|e| e["new"] == "listen" && port(e, "local") == p),
        "{mine:?}"
    );
    assert!(mine
        .iter()
        .all(|e| e["model"] == "unknown" && e["in_old_ms"].is_null()));
    let cw = mine
        .iter()
        .find(|e| e["new"] == "close-wait")
        .expect("close-wait");
    let pid = cw["pid"].as_u64().map(|p| p as u32);
    assert!(
        pid.is_some_and(|p| pids.contains(&p)),
        "the holder, from the /proc walk: {cw}"
    );
    assert_eq!(cw["owner_from"], "lookup");

    // As nobody: no tracepoint, so the same fallback.
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_tcpscope"))
        .args(["trace", "--duration", "300ms", "--jsonl"])
        .output()
        .expect("running setpriv");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("cannot read the tracepoint"), "{stderr}");
    assert!(
        stderr.contains("changes between two polls are missed"),
        "{stderr}"
    );
    let lines = json_lines(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(lines.last().expect("summary")["type"], "summary");
}

/// The kernel filter and user space alone report the same changes.
#[test]
fn kernel_filter_and_user_space_agree() {
    if !root_or_skip("kernel_filter_and_user_space_agree") {
        return;
    }
    let p = free_port();
    let filter = format!("( sport = :{p} or dport = :{p} ) and not state syn-sent");
    let mut kernel = TraceRun::start(&["--jsonl", &filter]);
    let mut user = TraceRun::start(&["--jsonl", "--no-kernel-filter", &filter]);
    let lab = Lab::start(&["time-wait", "--count", "2", "--port", &p.to_string()]);
    lab.stop();
    let last = |e: &Value| e["old"] == "listen" && e["new"] == "closed";
    kernel.wait_for("the listener's close", last);
    user.wait_for("the listener's close", last);
    // Each trace converts the kernel's monotonic clock to wall time on its own (a microsecond
    // apart): compare the changes, in order.
    let key = |e: &&Value| {
        (
            e["old"].as_str().unwrap_or("").to_string(),
            e["new"].as_str().unwrap_or("").to_string(),
            port(e, "local"),
            port(e, "peer"),
        )
    };
    let (k, _) = kernel.stop();
    let (u, _) = user.stop();
    let k: Vec<_> = transitions(&k).iter().map(key).collect();
    let u: Vec<_> = transitions(&u).iter().map(key).collect();
    assert!(!k.is_empty());
    assert_eq!(k, u);
}

/// A ring buffer too small for a burst loses records: trace says so at once and in the
/// summary, and what it lost is never taken for a model violation.
#[test]
fn losses_are_reported_and_make_histories_unknown() {
    if !root_or_skip("losses_are_reported_and_make_histories_unknown") {
        return;
    }
    let p = free_port();
    let filter = format!("sport = :{p} or dport = :{p}");
    let trace = TraceRun::start(&["--jsonl", "--buffer-kib", "4", &filter]);
    // Stopped, trace reads nothing while the burst fills its one-page rings.
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(trace.child.pid() as i32, libc::SIGSTOP) };
    let out = bin()
        .args([
            "lab",
            "churn",
            "--rate",
            "2000",
            "--duration",
            "1s",
            "--port",
            &p.to_string(),
        ])
        .output()
        .expect("running lab churn");
    // SAFETY: as above.
    unsafe { libc::kill(trace.child.pid() as i32, libc::SIGCONT) };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // More changes on the port once trace reads again: the kernel announces the loss with the
    // next record it writes (and trace also asks the kernel's count at the end). Until trace has
    // drained its rings they are still full and drop these too, so a listener is opened again
    // and again until trace shows one (no assumption about how soon it reads).
    let drained = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let opener = {
        let drained = drained.clone();
        std::thread::spawn(move || {
            while !drained.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(again) = std::net::TcpListener::bind(("127.0.0.1", p)) {
                    drop(again);
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        })
    };
    let mut trace = trace;
    let listens = std::cell::Cell::new(0);
    trace.wait_for("the listener opened after the burst", |e| {
        if e["new"] == "listen" && port(e, "local") == p {
            listens.set(listens.get() + 1);
        }
        listens.get() >= 2
    });
    drained.store(true, std::sync::atomic::Ordering::Relaxed);
    opener.join().expect("the listener thread");
    let (lines, stderr) = trace.stop();
    let summary = lines.last().expect("summary");
    let lost = summary["lost"].as_u64().expect("lost");
    assert!(lost > 0, "20000 changes cannot fit a 4 KiB ring: {summary}");
    assert!(
        stderr.contains("lost") && stderr.contains("ring buffer full"),
        "{stderr}"
    );
    let t = transitions(&lines);
    assert!(!t.is_empty(), "the first records fit");
    assert!(
        t.iter().all(|e| e["model"] != "violation"),
        "a loss is no violation"
    );
}

/// `doctor --watch` as root traces entries into CLOSE-WAIT between its polls: a socket that
/// enters CLOSE-WAIT while doctor watches gets its exact age ("traced"), not the bounds of two
/// polls or tcp_info's lower bound.
#[test]
fn doctor_watch_ages_close_wait_exactly_from_the_trace() {
    if !root_or_skip("doctor_watch_ages_close_wait_exactly_from_the_trace") {
        return;
    }
    let p = free_port();
    let filter = format!("sport = :{p} or dport = :{p}");
    let mut doctor = ChildGuard(
        bin()
            .args(["doctor", "--json", "--watch", "300ms", &filter])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting tcpscope doctor --watch"),
    );
    let stdout = line_channel(doctor.0.stdout.take().expect("stdout"));
    let stderr = line_channel(doctor.0.stderr.take().expect("stderr"));
    let until = Instant::now() + HANG_GUARD;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        let line = stderr
            .recv_timeout(left)
            .expect("doctor --watch said nothing about tracing (a hang: HANG_GUARD)");
        assert!(
            !line.contains("cannot read the tracepoint"),
            "as root the trace must start: {line}"
        );
        if line.contains("tracing entries into CLOSE-WAIT") {
            break;
        }
    }
    // The sockets enter CLOSE-WAIT after the trace started.
    let lab = Lab::start(&["close-wait", "--count", "2", "--port", &p.to_string()]);
    let until = Instant::now() + HANG_GUARD;
    let evidence = loop {
        let left = until.saturating_duration_since(Instant::now());
        let line = stdout.recv_timeout(left).expect(
            "no round of doctor --watch named a traced CLOSE-WAIT age (a hang: HANG_GUARD)",
        );
        let report: Value = serde_json::from_str(&line).expect("one JSON report per round");
        let traced = report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["rule"] == "close-wait-leak")
            .flat_map(|f| f["evidence"].as_array().cloned().unwrap_or_default())
            .filter_map(|e| e.as_str().map(String::from))
            .find(|e| e.contains("entered CLOSE-WAIT") && e.contains("traced"));
        if let Some(e) = traced {
            break e;
        }
    };
    assert!(
        !evidence.contains("between"),
        "a traced age is exact: {evidence}"
    );
    lab.stop();
}
