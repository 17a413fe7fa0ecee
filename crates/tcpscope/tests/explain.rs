//! `tcpscope explain` through the real binary: every spelling users meet, the overview, one
//! transition, JSON, and errors that say what to type instead.

mod common;

use common::{bin, run_json, run_ok};

fn stdout(args: &[&str]) -> String {
    String::from_utf8(run_ok(args).stdout).expect("utf-8 output")
}

#[test]
fn overview_has_one_line_per_state() {
    let out = stdout(&["explain"]);
    for name in [
        "CLOSED",
        "LISTEN",
        "SYN-SENT",
        "SYN-RECV",
        "NEW-SYN-RECV",
        "ESTABLISHED",
        "FIN-WAIT-1",
        "FIN-WAIT-2",
        "CLOSING",
        "TIME-WAIT",
        "CLOSE-WAIT",
        "LAST-ACK",
        "BOUND",
    ] {
        let lines = out
            .lines()
            .filter(|l| l.starts_with(&format!("{name} ")))
            .count();
        assert_eq!(lines, 1, "{name} in:\n{out}");
    }
}

#[test]
fn every_spelling_explains_the_same_state() {
    let reference = stdout(&["explain", "close-wait"]);
    for spelling in ["CLOSE_WAIT", "CLOSE-WAIT", "close_wait", "CLOSE_WT"] {
        assert_eq!(stdout(&["explain", spelling]), reference, "{spelling}");
    }
    assert!(stdout(&["explain", "LISTENING"]).starts_with("LISTEN "));
    assert!(stdout(&["explain", "BOUND"]).starts_with("BOUND "));
    assert!(stdout(&["explain", "ESTAB"]).starts_with("ESTABLISHED "));
}

#[test]
fn close_wait_says_whose_bug_it_is_and_what_to_run() {
    let out = stdout(&["explain", "CLOSE_WAIT"]);
    assert!(out.contains("not calling close()"), "{out}");
    assert!(out.contains("not a TCP tuning issue"), "{out}");
    assert!(out.contains("tcpscope ls -p state close-wait"), "{out}");
    assert!(out.contains("FIN-WAIT-2"), "peer state missing:\n{out}");
}

#[test]
fn time_wait_gives_linux_rfc_and_windows_durations() {
    let out = stdout(&["explain", "time-wait"]);
    assert!(out.contains("Linux: 60 s, fixed"), "{out}");
    assert!(out.contains("RFC: 2*MSL"), "{out}");
    assert!(out.contains("Windows: 120 s"), "{out}");
}

#[test]
fn one_transition() {
    let out = stdout(&["explain", "FIN_WAIT2", "TIME_WAIT"]);
    assert!(out.starts_with("FIN-WAIT-2 -> TIME-WAIT"), "{out}");
    assert!(
        out.contains("FIN_WAIT2 -> CLOSE"),
        "tracepoint view missing:\n{out}"
    );
    let doc = run_json(&["explain", "--json", "established", "close-wait"]);
    assert_eq!(doc["from"], "established");
    assert_eq!(doc["edges"][0]["event"], "rcv-fin");
    assert_eq!(doc["edges"][0]["sends"], "ack");
}

#[test]
fn json_forms() {
    let all = run_json(&["explain", "--json"]);
    assert_eq!(all.as_array().map(Vec::len), Some(13));
    let one = run_json(&["explain", "--json", "LISTENING"]);
    assert_eq!(one["name"], "listen");
    assert_eq!(one["netstat_name"], "LISTEN");
    assert!(one["outgoing"].as_array().is_some_and(|e| !e.is_empty()));
    assert!(one["investigate"]
        .as_str()
        .is_some_and(|s| s.starts_with("tcpscope ")));
}

#[test]
fn errors_say_what_to_do() {
    let out = bin().args(["explain", "close-wiat"]).output().expect("run");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("close-wait") && err.contains("tcpscope explain"),
        "{err}"
    );

    let out = bin()
        .args(["explain", "established", "listen"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no transition"), "{err}");
    assert!(
        err.contains("CLOSE-WAIT") && err.contains("FIN-WAIT-1"),
        "{err}"
    );
}
