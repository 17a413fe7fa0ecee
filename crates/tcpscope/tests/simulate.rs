//! `tcpscope simulate` through the real binary: the scenario list, every scenario's ladder, the
//! JSON steps, and errors that list the valid scenarios.

mod common;

use common::{bin, run_json, run_ok};

const SCENARIOS: [&str; 9] = [
    "handshake",
    "active-close",
    "simultaneous-close",
    "simultaneous-open",
    "half-close",
    "reset",
    "lost-fin",
    "close-wait-leak",
    "listen-overflow",
];

fn stdout(args: &[&str]) -> String {
    String::from_utf8(run_ok(args).stdout).expect("utf-8 output")
}

#[test]
fn without_a_scenario_lists_them_all() {
    let out = stdout(&["simulate"]);
    for s in SCENARIOS {
        assert!(out.contains(s), "{s} missing:\n{out}");
    }
}

#[test]
fn every_scenario_draws_a_ladder() {
    for s in SCENARIOS {
        let out = stdout(&["simulate", s]);
        assert!(out.starts_with(&format!("{s}: ")), "{out}");
        assert!(
            out.contains('>') || out.contains('<'),
            "no arrows in {s}:\n{out}"
        );
        assert!(out.contains("End: A in "), "{out}");
    }
}

#[test]
fn handshake_arrows_point_the_right_way() {
    let out = stdout(&["simulate", "handshake"]);
    let row = |seg: &str| {
        out.lines()
            .find(|l| l.contains(&format!(" {seg} ")))
            .unwrap_or_else(|| panic!("no {seg} row:\n{out}"))
            .to_string()
    };
    assert!(row("SYN").contains("SYN --------->"), "{out}");
    assert!(row("SYN+ACK").contains("<------- SYN+ACK"), "{out}");
    assert!(row("ACK").contains("ACK --------->"), "{out}");
}

#[test]
fn json_steps_end_in_the_rfc_states() {
    let doc = run_json(&["simulate", "--json", "close-wait-leak"]);
    assert_eq!(doc["end"]["a"], "closed");
    assert_eq!(doc["end"]["b"], "close-wait");
    let rows = doc["rows"].as_array().expect("rows");
    assert_eq!(rows[0]["wire"]["segment"], "fin");
    assert_eq!(rows[0]["wire"]["from"], "a");
    let doc = run_json(&["simulate", "--json", "simultaneous-close"]);
    assert_eq!(doc["end"]["a"], "closed");
    let states: Vec<&str> = doc["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["a"].as_str())
        .collect();
    assert!(
        states.contains(&"closing") && states.contains(&"time-wait"),
        "{states:?}"
    );
}

#[test]
fn rfc_flavor() {
    let out = stdout(&["simulate", "--rfc", "handshake"]);
    assert!(
        out.contains("SYN-RECV") && !out.contains("NEW-SYN-RECV"),
        "{out}"
    );
    let out = bin()
        .args(["simulate", "--rfc", "close-wait-leak"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("without --rfc"));
}

#[test]
fn unknown_scenario_lists_the_valid_ones() {
    let out = bin().args(["simulate", "handshak"]).output().expect("run");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    for s in SCENARIOS {
        assert!(err.contains(s), "{s} missing from: {err}");
    }
}
