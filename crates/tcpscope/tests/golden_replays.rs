//! Golden replays: recordings made by `tcpscope doctor --record` on real lab sockets (every rule
//! that lab can trigger, in one namespace: tests/golden/mixed.json; a whole host as root:
//! tests/golden/host.json), replayed through `doctor`, `ls` and `summary`. The expected outputs
//! were produced by tcpscope before doctor learned to stream (issue 10), so these tests pin that
//! the findings, exit codes and listings did not change. Where a change is intended, the expected
//! file is regenerated and the reason written in the commit.
//!
//! The recordings are replayed as of when they were taken, so the outputs are deterministic.

mod common;

use common::bin;
use serde_json::Value;
use std::path::PathBuf;

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn expected(name: &str) -> String {
    std::fs::read_to_string(golden(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
}

/// Run tcpscope with `args`, returning stdout and the exit status.
fn replay(args: &[&str]) -> (String, i32) {
    let out = bin().args(args).output().expect("running tcpscope");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code != 3,
        "tcpscope {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (String::from_utf8_lossy(&out.stdout).into_owned(), code)
}

fn assert_same_text(got: &str, want: &str, what: &str) {
    if got != want {
        let first = got
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(got.lines().count().min(want.lines().count()));
        panic!(
            "{what} differs from its golden output at line {}:\n got: {:?}\nwant: {:?}\n\nwhole output:\n{got}",
            first + 1,
            got.lines().nth(first),
            want.lines().nth(first)
        );
    }
}

fn path(name: &str) -> String {
    golden(name).to_string_lossy().into_owned()
}

#[test]
fn doctor_replays_of_the_mixed_lab_are_unchanged() {
    let rec = path("mixed.json");
    let (text, code) = replay(&["doctor", "--from", &rec]);
    assert_eq!(code, 2, "critical");
    assert_same_text(
        &text,
        &expected("mixed.doctor.txt"),
        "doctor --from mixed.json",
    );
    let (json, code) = replay(&["doctor", "--json", "--from", &rec]);
    assert_eq!(code, 2);
    let got: Value = serde_json::from_str(&json).expect("doctor --json is JSON");
    let want: Value = serde_json::from_str(&expected("mixed.doctor.json")).expect("golden JSON");
    assert_eq!(got, want, "doctor --json --from mixed.json");
}

#[test]
fn doctor_replay_of_a_whole_host_is_unchanged() {
    let rec = path("host.json");
    let (text, code) = replay(&["doctor", "--from", &rec]);
    assert_eq!(code, 2);
    assert_same_text(
        &text,
        &expected("host.doctor.txt"),
        "doctor --from host.json",
    );
    let (json, _) = replay(&["doctor", "--json", "--from", &rec]);
    let got: Value = serde_json::from_str(&json).expect("doctor --json is JSON");
    let want: Value = serde_json::from_str(&expected("host.doctor.json")).expect("golden JSON");
    assert_eq!(got, want, "doctor --json --from host.json");
}

#[test]
fn listings_and_summary_of_a_replay_are_unchanged() {
    let rec = path("mixed.json");
    for (args, file) in [
        (vec!["ls"], "mixed.ls.txt"),
        (vec!["ls", "-p"], "mixed.ls-p.txt"),
        (vec!["ls", "-e", "-p"], "mixed.ls-ep.txt"),
        (vec!["summary"], "mixed.summary.txt"),
    ] {
        let mut full = args.clone();
        full.extend(["--from", &rec]);
        let (text, code) = replay(&full);
        assert_eq!(code, 0, "{args:?}");
        assert_same_text(&text, &expected(file), &format!("{args:?}"));
    }
    let (json, _) = replay(&["summary", "--json", "--from", &rec]);
    let got: Value = serde_json::from_str(&json).expect("summary --json is JSON");
    let want: Value = serde_json::from_str(&expected("mixed.summary.json")).expect("golden");
    assert_eq!(got, want);
}

#[test]
fn ls_json_of_a_replay_is_the_recording_itself() {
    let rec = path("mixed.json");
    let (json, _) = replay(&["ls", "--json", "--from", &rec]);
    let got: Value = serde_json::from_str(&json).expect("ls --json is JSON");
    let want: Value = serde_json::from_str(&expected("mixed.json")).expect("golden");
    assert_eq!(got["sockets"], want["sockets"]);
    assert_eq!(got["kernel"], want["kernel"]);
    assert_eq!(got["taken_at_unix_ms"], want["taken_at_unix_ms"]);
}
