//! `tcpscope lab` end to end: for every scenario, run lab as a child, wait for its JSON, check
//! with both `tcpscope ls --json` and `ss` that every reported socket is in the promised state,
//! stop lab with SIGTERM and check that nothing it made is left (processes, namespaces,
//! listeners).

mod common;

use common::lab::Lab;
use common::{
    bin, command_in as command, endpoint, retry_if_expired, row, sockets, ss_rows_in, wait_for,
};
use serde_json::Value;
use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};

/// (state, local, peer) rows of `ss -Htan`, in `netns` when given.
fn ss_rows(netns: Option<&str>) -> HashSet<(String, String, String)> {
    ss_rows_in(netns, &[]).into_iter().collect()
}

/// (state, local, peer) of `tcpscope ls --json state STATE`, in `netns` when given.
fn ls_rows(netns: Option<&str>, state: &str) -> HashSet<(String, String, String)> {
    let exe = env!("CARGO_BIN_EXE_tcpscope");
    let out = command(netns, exe)
        .args(["ls", "--json", "state", state])
        .output()
        .expect("running tcpscope ls");
    assert!(
        out.status.success(),
        "tcpscope ls failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("ls --json is JSON");
    sockets(&doc).iter().map(row).collect()
}

/// The name ss prints for a state name of tcpscope's JSON.
fn ss_name(state: &str) -> String {
    match state {
        "established" => "ESTAB".to_string(),
        s => s.to_ascii_uppercase(),
    }
}

/// Check that every socket lab reported is in `state` for both tcpscope and ss.
fn check_state(lab: &Lab, state: &str, count: usize) {
    assert_eq!(lab.doc["state"], state, "{}", lab.doc);
    let reported = lab.reported();
    assert_eq!(
        reported.len(),
        count,
        "lab reported {} sockets",
        reported.len()
    );
    assert_eq!(lab.doc["count"], count);
    let ns = lab.netns();
    let ls = ls_rows(ns.as_deref(), state);
    let ss = ss_rows(ns.as_deref());
    // Listeners have no peer to compare (ss prints `0.0.0.0:*`).
    let key = |(s, l, p): &(String, String, String)| {
        (
            s.clone(),
            l.clone(),
            if state == "listen" {
                String::new()
            } else {
                p.clone()
            },
        )
    };
    let ls: HashSet<_> = ls.iter().map(key).collect();
    let ss: HashSet<_> = ss.iter().map(key).collect();
    let want = ss_name(state);
    for row in &reported {
        assert_eq!(row.0, state);
        let (_, local, peer) = key(row);
        assert!(
            ls.contains(&(state.to_string(), local.clone(), peer.clone())),
            "tcpscope ls does not show {local} -> {peer} in {state}"
        );
        assert!(
            ss.contains(&(want.clone(), local.clone(), peer.clone())),
            "ss does not show {local} -> {peer} in {want}"
        );
    }
}

fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // A zombie holds nothing; it only waits for its (new) parent to reap it.
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// Check that nothing lab made is left: processes, namespace, listeners.
fn check_gone(doc: &Value) {
    for p in doc["pids"].as_array().expect("pids") {
        let pid = p.as_u64().expect("pid") as u32;
        wait_for(
            &format!("lab's process {pid} ending after lab exited"),
            || !pid_alive(pid),
        );
    }
    if let Some(ns) = doc["netns"].as_str() {
        let out = Command::new("ip")
            .args(["netns", "list"])
            .output()
            .expect("ip netns list");
        let list = String::from_utf8_lossy(&out.stdout);
        assert!(
            !list
                .lines()
                .any(|l| l.split_whitespace().next() == Some(ns)),
            "namespace {ns} is still there"
        );
    }
    if doc["netns"].is_null() {
        let listening: HashSet<String> = ss_rows(None)
            .into_iter()
            .filter(|(s, _, _)| s == "LISTEN")
            .map(|(_, l, _)| l)
            .collect();
        for l in doc["listeners"].as_array().expect("listeners") {
            let l = endpoint(l);
            assert!(
                !listening.contains(&l),
                "lab's listener {l} is still listening"
            );
        }
    }
}

/// The whole cycle for one scenario.
fn scenario(args: &[&str], state: &str, count: usize) -> Value {
    let lab = Lab::start(args);
    check_state(&lab, state, count);
    assert!(!lab.pids().is_empty());
    let doc = lab.stop();
    check_gone(&doc);
    doc
}

#[test]
fn established() {
    scenario(&["established", "--count", "4"], "established", 4);
}

#[test]
fn established_odd_count_rounds_up_to_pairs() {
    scenario(&["established", "--count", "3"], "established", 4);
}

#[test]
fn listen() {
    scenario(&["listen", "--count", "3"], "listen", 3);
}

#[test]
fn close_wait() {
    scenario(&["close-wait", "--count", "3"], "close-wait", 3);
}

#[test]
fn fin_wait_2() {
    scenario(&["fin-wait-2", "--count", "3"], "fin-wait-2", 3);
}

/// True while every socket lab reported is still there (TIME-WAIT expires after 60 s).
fn all_alive(lab: &Lab) -> bool {
    let ss = ss_rows(lab.netns().as_deref());
    lab.reported().iter().all(|(_, l, p)| {
        ss.iter()
            .any(|(s, sl, sp)| s == "TIME-WAIT" && sl == l && sp == p)
    })
}

#[test]
fn time_wait() {
    // Should a slow host take longer than TIME-WAIT lasts (60 s), again on fresh sockets.
    retry_if_expired(
        "time_wait",
        || Lab::start(&["time-wait", "--count", "3"]),
        all_alive,
        |lab| {
            check_state(lab, "time-wait", 3);
            // Kernel-owned: no process holds them.
            assert!(sockets(&lab.doc).iter().all(|s| s["pid"].is_null()));
        },
    );
}

#[test]
fn syn_recv() {
    scenario(&["syn-recv", "--count", "3"], "syn-recv", 3);
}

#[test]
fn fin_wait_1() {
    scenario(&["fin-wait-1", "--count", "2"], "fin-wait-1", 2);
}

#[test]
fn last_ack() {
    scenario(&["last-ack", "--count", "2"], "last-ack", 2);
}

#[test]
fn closing() {
    scenario(&["closing", "--count", "2"], "closing", 2);
}

#[test]
fn syn_sent() {
    scenario(&["syn-sent", "--count", "3"], "syn-sent", 3);
}

#[test]
fn stopped_server() {
    let doc = scenario(&["stopped-server", "--count", "2"], "close-wait", 2);
    // One worker plus one stopped child per connection, each holding its socket.
    assert_eq!(doc["pids"].as_array().map(Vec::len), Some(3));
    let holders: HashSet<u64> = sockets(&doc)
        .iter()
        .filter_map(|s| s["pid"].as_u64())
        .collect();
    assert_eq!(holders.len(), 2);
}

#[test]
fn stopped_server_children_are_stopped() {
    let lab = Lab::start(&["stopped-server", "--count", "1"]);
    let holder = lab.doc["sockets"][0]["pid"].as_u64().expect("a pid");
    let stat = std::fs::read_to_string(format!("/proc/{holder}/stat")).expect("the child's stat");
    let state = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .trim_start()
        .chars()
        .next();
    assert_eq!(
        state,
        Some('T'),
        "the server child should be stopped: {stat}"
    );
    let doc = lab.stop();
    check_gone(&doc);
}

#[test]
fn many_sockets_spread_over_workers() {
    let doc = scenario(&["established", "--count", "20000"], "established", 20_000);
    let workers: HashSet<u64> = sockets(&doc)
        .iter()
        .filter_map(|s| s["pid"].as_u64())
        .collect();
    assert!(
        workers.len() >= 2,
        "20000 sockets should need more than one worker"
    );
    assert!(doc["pids"].as_array().map_or(0, Vec::len) >= 2);
}

/// Every scenario over IPv6 (`--ipv6`, on ::1): the same checks as over IPv4 — each socket in
/// its state for tcpscope and ss, everything gone after SIGTERM.
mod over_ipv6 {
    use super::*;

    fn v6(args: &[&str], state: &str, count: usize) -> Value {
        let mut all = args.to_vec();
        all.push("--ipv6");
        let doc = scenario(&all, state, count);
        for s in sockets(&doc) {
            assert_eq!(s["local"]["addr"], "::1", "{s}");
        }
        doc
    }

    #[test]
    fn established() {
        v6(&["established", "--count", "4"], "established", 4);
    }

    #[test]
    fn listen() {
        v6(&["listen", "--count", "3"], "listen", 3);
    }

    #[test]
    fn close_wait() {
        v6(&["close-wait", "--count", "3"], "close-wait", 3);
    }

    #[test]
    fn fin_wait_2() {
        v6(&["fin-wait-2", "--count", "3"], "fin-wait-2", 3);
    }

    #[test]
    fn time_wait() {
        retry_if_expired(
            "over_ipv6::time_wait",
            || Lab::start(&["time-wait", "--count", "3", "--ipv6"]),
            all_alive,
            |lab| check_state(lab, "time-wait", 3),
        );
    }

    #[test]
    fn syn_recv() {
        v6(&["syn-recv", "--count", "3"], "syn-recv", 3);
    }

    #[test]
    fn fin_wait_1() {
        v6(&["fin-wait-1", "--count", "2"], "fin-wait-1", 2);
    }

    #[test]
    fn last_ack() {
        v6(&["last-ack", "--count", "2"], "last-ack", 2);
    }

    #[test]
    fn closing() {
        v6(&["closing", "--count", "2"], "closing", 2);
    }

    #[test]
    fn syn_sent() {
        v6(&["syn-sent", "--count", "3"], "syn-sent", 3);
    }

    #[test]
    fn stopped_server() {
        let doc = v6(&["stopped-server", "--count", "2"], "close-wait", 2);
        assert_eq!(doc["pids"].as_array().map(Vec::len), Some(3));
    }

    #[test]
    fn many_sockets_spread_over_workers() {
        let doc = v6(&["established", "--count", "20000"], "established", 20_000);
        let workers: HashSet<u64> = sockets(&doc)
            .iter()
            .filter_map(|s| s["pid"].as_u64())
            .collect();
        assert!(
            workers.len() >= 2,
            "20000 sockets need more than one worker"
        );
    }

    #[test]
    fn churn() {
        let out = bin()
            .args([
                "lab",
                "churn",
                "--ipv6",
                "--rate",
                "200",
                "--duration",
                "1s",
                "--json",
            ])
            .output()
            .expect("running lab churn");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        let listener = endpoint(&doc["listeners"][0]);
        assert!(listener.starts_with("[::1]:"), "{listener}");
        check_gone(&doc);
    }

    #[test]
    fn lossy_syn_sent() {
        lossy_v6("over_ipv6::lossy_syn_sent", "syn-sent");
    }

    #[test]
    fn lossy_fin_wait_1() {
        lossy_v6("over_ipv6::lossy_fin_wait_1", "fin-wait-1");
    }

    #[test]
    fn lossy_last_ack() {
        lossy_v6("over_ipv6::lossy_last_ack", "last-ack");
    }

    #[test]
    fn lossy_closing() {
        lossy_v6("over_ipv6::lossy_closing", "closing");
    }

    fn lossy_v6(name: &str, state: &str) {
        if !common::root_or_skip(name) || !common::tool_or_skip(name, "nft", "nftables") {
            return;
        }
        let lab = Lab::start(&[state, "--count", "2", "--lossy", "--ipv6"]);
        check_state(&lab, state, 2);
        let doc = lab.stop();
        check_gone(&doc);
    }

    #[test]
    fn a_fixed_port_needs_a_single_listener() {
        let out = bin()
            .args(["lab", "listen", "--ipv6", "--count", "2", "--port", "5999"])
            .output()
            .expect("running lab");
        assert_eq!(out.status.code(), Some(3));
        assert!(String::from_utf8_lossy(&out.stderr).contains("one loopback address"));
    }
}

#[test]
fn hold_expires_and_cleans_up() {
    let out = bin()
        .args(["lab", "close-wait", "--hold", "300ms", "--json"])
        .output()
        .expect("running lab");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    check_gone(&doc);
}

#[test]
fn killed_lab_takes_its_workers_along() {
    let mut lab = Lab::start(&["stopped-server", "--count", "1"]);
    let pids = lab.pids();
    lab.child.0.kill().expect("SIGKILL lab");
    let _ = lab.child.0.wait();
    for pid in pids {
        wait_for(&format!("process {pid} ending with its killed lab"), || {
            !pid_alive(pid)
        });
    }
}

fn netns_listed(name: &str) -> bool {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.split_whitespace().next() == Some(name))
}

/// Regression (issue 11, defect 12): the namespace of a lab killed with SIGKILL stayed
/// forever. The next lab run removes it — and leaves a running lab's namespace alone.
#[test]
fn a_killed_labs_namespace_is_swept_by_the_next_run() {
    let name = "a_killed_labs_namespace_is_swept_by_the_next_run";
    if !common::root_or_skip(name) {
        return;
    }
    let alive = Lab::start(&["listen", "--own-netns"]);
    let alive_ns = alive.netns().expect("a namespace");
    let mut killed = Lab::start(&["listen", "--own-netns"]);
    let killed_ns = killed.netns().expect("a namespace");
    killed.child.0.kill().expect("SIGKILL lab");
    let _ = killed.child.0.wait();
    assert!(
        netns_listed(&killed_ns),
        "SIGKILL leaves {killed_ns} behind"
    );

    let out = bin()
        .args(["lab", "listen", "--hold", "0"])
        .output()
        .expect("running lab");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("removed network namespace {killed_ns}")),
        "{err}"
    );
    assert!(!netns_listed(&killed_ns), "{killed_ns} was swept");
    assert!(netns_listed(&alive_ns), "a running lab keeps {alive_ns}");
    check_gone(&alive.stop());
}

/// Regression (issue 11, defect 9): options that do not apply were silently ignored.
#[test]
fn options_that_do_not_apply_are_refused() {
    for (args, says) in [
        (
            &["lab", "close-wait", "--rate", "5"][..],
            "applies to churn only",
        ),
        (
            &["lab", "established", "--duration", "3s"],
            "applies to churn only",
        ),
        (&["doctor", "--watch", "1s", "--count", "0"], "at least 1"),
        (&["ls", "--json", "-e"], "does not apply"),
        (&["ls", "-s", "-p"], "does not apply"),
        (
            &["ls", "--from", "x.json", "--source", "proc"],
            "drop --source",
        ),
        (&["simulate", "--rfc"], "SCENARIO"),
    ] {
        let out = bin().args(args).output().expect("running tcpscope");
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn churn_runs_for_its_duration_and_exits() {
    let start = Instant::now();
    let out = bin()
        .args([
            "lab",
            "churn",
            "--rate",
            "500",
            "--duration",
            "1s",
            "--json",
        ])
        .output()
        .expect("running lab churn");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(900));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["scenario"], "churn");
    // Every connection was opened and closed: its client end is now in TIME-WAIT — those
    // closed in the last 60 s, that is: on a host so busy that churn took longer, the first
    // ones are gone already.
    let listener = endpoint(&doc["listeners"][0]);
    let closed = ss_rows(None)
        .into_iter()
        .filter(|(s, _, p)| s == "TIME-WAIT" && *p == listener)
        .count();
    let want = if took < Duration::from_secs(50) {
        450
    } else {
        1
    };
    assert!(
        closed >= want,
        "churn left {closed} TIME-WAIT sockets, expected ~500 (it took {took:?})"
    );
    check_gone(&doc);
}

#[test]
fn limits_are_clear_errors() {
    for args in [
        &["lab", "established", "--count", "0"][..],
        &["lab", "established", "--count", "250001"],
        &["lab", "churn", "--rate", "20001"],
        &["lab", "churn", "--duration", "2h"],
        &["lab", "stopped-server", "--count", "5000"],
        &["lab", "listen", "--hold", "forever"],
    ] {
        let out = bin().args(args).output().expect("running lab");
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(!err.trim().is_empty(), "{args:?} said nothing");
    }
}

/// The lost-segment states the issue places in a namespace also work inside one (`--own-netns`).
fn in_netns(name: &str, state: &str) {
    if !common::root_or_skip(name) {
        return;
    }
    let doc = scenario(&[state, "--count", "2", "--own-netns"], state, 2);
    let ns = doc["netns"].as_str().expect("a namespace name");
    assert!(ns.starts_with("tcpscope-lab-"), "{ns}");
}

#[test]
fn syn_sent_in_netns() {
    in_netns("syn_sent_in_netns", "syn-sent");
}

#[test]
fn last_ack_in_netns() {
    in_netns("last_ack_in_netns", "last-ack");
}

#[test]
fn closing_in_netns() {
    in_netns("closing_in_netns", "closing");
}

#[test]
fn fin_wait_1_in_netns() {
    in_netns("fin_wait_1_in_netns", "fin-wait-1");
}

/// `--lossy`: the same states made by dropping a segment in lab's namespace (root + nftables).
fn lossy(name: &str, state: &str, timer: &str) {
    if !common::root_or_skip(name) || !common::tool_or_skip(name, "nft", "nftables") {
        return;
    }
    let lab = Lab::start(&[state, "--count", "2", "--lossy"]);
    let ns = lab.netns().expect("--lossy runs in a namespace");
    check_state(&lab, state, 2);
    // The kernel is retransmitting the lost segment.
    let exe = env!("CARGO_BIN_EXE_tcpscope");
    let out = command(Some(&ns), exe)
        .args(["ls", "--json", "state", state])
        .output()
        .expect("tcpscope ls");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let reported: HashSet<String> = lab.reported().into_iter().map(|(_, l, _)| l).collect();
    for s in sockets(&doc) {
        if reported.contains(&endpoint(&s["local"])) {
            assert_eq!(s["timer"]["kind"], timer, "{s}");
        }
    }
    let doc = lab.stop();
    check_gone(&doc);
}

#[test]
fn lossy_syn_sent() {
    lossy("lossy_syn_sent", "syn-sent", "retransmit");
}

#[test]
fn lossy_fin_wait_1() {
    lossy("lossy_fin_wait_1", "fin-wait-1", "retransmit");
}

#[test]
fn lossy_last_ack() {
    lossy("lossy_last_ack", "last-ack", "retransmit");
}

#[test]
fn lossy_closing() {
    lossy("lossy_closing", "closing", "retransmit");
}

#[test]
fn lossy_only_for_lost_segment_states() {
    let out = bin()
        .args(["lab", "established", "--lossy"])
        .output()
        .expect("running lab");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--lossy applies to"));
}
