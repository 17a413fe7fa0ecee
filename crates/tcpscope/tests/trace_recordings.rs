//! `trace --from FILE` reads a file someone sent (issue 17: every reader of untrusted bytes is
//! fuzzed). The recording reader and the replay live in the binary, so this target runs the real
//! binary: a small valid recording written here line by line, then bent — lines dropped,
//! repeated, swapped; numbers at the edges of their width (times that run backwards or reach
//! u64::MAX, durations past any sum), states and families that do not exist, byte edits — and
//! replayed as a table, as JSON lines and as lifetimes, and by `top --once --from` as time. Every replay must end with status 0 or
//! with status 3 and a message, never a panic. `TCPSCOPE_TRACE_FUZZ_CASES` sets how many inputs
//! (the suite's 40 take a few seconds).

mod common;

use common::bin;
use serde_json::{json, Value};

fn endpoint(addr: &str, port: u16) -> Value {
    json!({"addr": addr, "port": port})
}

fn transition(track: u64, t: u64, old: &str, new: &str, in_old_ms: Option<u64>) -> Value {
    json!({
        "type": "transition",
        "track": track,
        "time_unix_ns": t,
        "family": "inet",
        "local": endpoint("127.0.0.1", 40000),
        "peer": endpoint("127.0.0.1", 8080),
        "old": old,
        "new": new,
        "in_old_ms": in_old_ms,
        "owner": {"pid": 4242, "comm": "client"},
        "owner_from": "context",
        "netns": null,
        "cookie": 77,
        "model": "ok",
        "skaddr": 18446612682078044160u64,
        "cpu": 1,
        "sample_pid": 4242,
        "flags": 0
    })
}

/// A recording of one connection's life, a destroy record, a lost-records notice, its bytes.
fn recording() -> Vec<Value> {
    let t0 = 1_800_000_000_000_000_000u64;
    let ms = 1_000_000u64;
    vec![
        json!({"type": "header", "format": "tcpscope-trace", "version": 1,
               "started_unix_ns": t0, "mode": "tracepoint", "hostname": "h", "kernel": "6.18",
               "filter": "", "notes": []}),
        transition(1, t0 + ms, "closed", "syn-sent", None),
        transition(1, t0 + 2 * ms, "syn-sent", "established", Some(1)),
        transition(1, t0 + 90 * ms, "established", "fin-wait-1", Some(88)),
        transition(1, t0 + 91 * ms, "fin-wait-1", "fin-wait-2", Some(1)),
        transition(1, t0 + 92 * ms, "fin-wait-2", "closed", Some(1)),
        json!({"type": "destroy", "time_unix_ns": t0 + 92 * ms, "cpu": 1,
               "skaddr": 18446612682078044160u64, "cookie": 77}),
        json!({"type": "lost", "time_unix_ns": t0 + 95 * ms, "cpu": 0, "count": 3}),
        json!({"type": "bytes", "cookie": 77, "sent": 100, "received": 2000}),
        json!({"type": "end", "ended_unix_ns": t0 + 100 * ms}),
    ]
}

/// A small deterministic generator (no dependency for a test).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Every value's path in a JSON tree (objects and arrays walked depth first).
fn leaves(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                path.push(k.clone());
                leaves(x, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

fn at<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, k| v.get_mut(k.as_str()))
}

const EDGES: &[&str] = &[
    "0",
    "18446744073709551615",
    "18446744073709551614",
    "4294967295",
    "65535",
    "65536",
    "-1",
    "1.5",
    "1e300",
    "null",
    "\"\"",
    "\"bogus\"",
    "\"close-wait\"",
    "\"inet6\"",
    "\"::1\"",
    "[]",
    "{}",
];

fn mutate(rng: &mut Rng, base: &[Value]) -> String {
    let mut lines: Vec<Value> = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(6) {
            0 if lines.len() > 1 => {
                let i = rng.below(lines.len());
                lines.remove(i);
            }
            1 => {
                let i = rng.below(lines.len());
                let l = lines[i].clone();
                for _ in 0..1 + rng.below(3) {
                    lines.insert(i, l.clone());
                }
            }
            2 => {
                let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
                lines.swap(a, b);
            }
            _ => {
                let i = rng.below(lines.len());
                let mut paths = Vec::new();
                leaves(&lines[i], &mut Vec::new(), &mut paths);
                let p = paths[rng.below(paths.len())].clone();
                let edge = EDGES[rng.below(EDGES.len())];
                if let (Some(slot), Ok(v)) = (at(&mut lines[i], &p), serde_json::from_str(edge)) {
                    *slot = v;
                }
            }
        }
    }
    let mut text: Vec<u8> = lines
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes();
    // Sometimes a few byte edits on top.
    if rng.below(4) == 0 && !text.is_empty() {
        for _ in 0..1 + rng.below(3) {
            let i = rng.below(text.len());
            let edits = b"\0:,{}\"9\xff\n";
            text[i] = edits[rng.below(edits.len())];
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

fn replay(file: &str, extra: &[&str]) -> std::process::Output {
    bin()
        .args(["trace", "--from", file])
        .args(extra)
        .output()
        .expect("running tcpscope trace --from")
}

#[test]
fn mutated_trace_recordings_replay_or_fail_with_a_message() {
    let dir = std::env::temp_dir().join(common::unique_name("trace-fuzz"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("rec.jsonl");
    let path = file.to_str().expect("UTF-8 path").to_string();
    let base = recording();

    // The hand-made recording is one tcpscope reads: the oracle that mutations start valid.
    let text: Vec<String> = base.iter().map(Value::to_string).collect();
    std::fs::write(&file, text.join("\n")).expect("write");
    let out = replay(&path, &["--jsonl", "--lifetimes"]);
    assert!(
        out.status.success(),
        "the valid recording does not replay: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"lifetime\""),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let cases: usize = std::env::var("TCPSCOPE_TRACE_FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(40);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ std::process::id() as u64);
    let modes: [&[&str]; 3] = [&[], &["--jsonl"], &["--lifetimes"]];
    let (mut ok, mut refused) = (0, 0);
    for case in 0..cases {
        let text = mutate(&mut rng, &base);
        std::fs::write(&file, &text).expect("write");
        let out = replay(&path, modes[case % modes.len()]);
        let err = String::from_utf8_lossy(&out.stderr);
        match out.status.code() {
            Some(0) => ok += 1,
            Some(3) if err.contains("tcpscope") && !err.contains("panicked") => refused += 1,
            other => {
                let kept = dir.join(format!("failure-{case}.jsonl"));
                let _ = std::fs::write(&kept, &text);
                panic!(
                    "case {case}: exit {other:?}\n{err}\n(input kept in {})",
                    kept.display()
                );
            }
        }
        assert!(!err.contains("panicked"), "case {case}: {err}\n{text}");
        // top replays the same file as time (to its end with --once).
        let top = bin()
            .args(["top", "--once", "--size", "80x24", "--from", &path])
            .output()
            .expect("running tcpscope top --from");
        let err = String::from_utf8_lossy(&top.stderr);
        match top.status.code() {
            Some(0) | Some(3) if !err.contains("panicked") => {}
            other => {
                let kept = dir.join(format!("failure-top-{case}.jsonl"));
                let _ = std::fs::write(&kept, &text);
                panic!(
                    "case {case}: top exit {other:?}\n{err}\n(input kept in {})",
                    kept.display()
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "trace recordings: {cases} mutated inputs, {ok} replayed, {refused} refused with a message"
    );
}
