//! `tcpscope doctor` end to end, on real sockets built by `tcpscope lab`: a stopped server is a
//! critical close-wait leak naming the stopped processes and their FIN-WAIT-2 peers; a plain
//! CLOSE-WAIT pile names lab's pid and count; TIME-WAIT towards one destination names it; a
//! full accept queue is a listen overflow; a quiet namespace is "healthy" with exit status 0.
//!
//! The host is shared with other tests, so each test diagnoses only its own lab's sockets: in this
//! process's network namespace, with a filter on lab's listener address and port (both ends of
//! every connection match it; other 127.x addresses reuse the same port numbers).

mod common;

use common::lab::Lab;
use common::{bin, unique_name, NetnsGuard};
use serde_json::Value;
use std::process::Output;

/// Run doctor in this process's namespace with `args`; return its JSON report and exit status.
fn doctor(args: &[&str]) -> (Value, i32) {
    let chosen = args.iter().any(|a| *a == "--netns" || *a == "--from");
    let out: Output = bin()
        .arg("doctor")
        .arg("--json")
        .args(if chosen { Vec::new() } else { own_netns() })
        .args(args)
        .output()
        .expect("running tcpscope doctor");
    let code = out.status.code().expect("doctor exited normally");
    assert!(
        (0..=2).contains(&code),
        "doctor failed with {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor printed invalid JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (report, code)
}

/// Only this test process's namespace (as root doctor would read every namespace, including
/// other tests' private ones, where the same addresses and ports exist).
fn own_netns() -> Vec<String> {
    if rustix::process::geteuid().is_root() {
        vec!["--netns".into(), format!("pid:{}", std::process::id())]
    } else {
        Vec::new()
    }
}

/// The filter that selects both ends of every connection to lab's first listener.
fn port_filter(lab: &Lab) -> String {
    let l = &lab.doc["listeners"][0];
    let addr = l["addr"].as_str().expect("lab reports its listener");
    let port = l["port"].as_u64().expect("lab reports its listener");
    format!("src {addr}:{port} or dst {addr}:{port}")
}

fn findings<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

fn text(f: &Value) -> String {
    f.to_string()
}

#[test]
fn stopped_server_is_a_critical_close_wait_leak() {
    let lab = Lab::start(&["stopped-server", "--count", "3"]);
    let filter = port_filter(&lab);
    let (report, code) = doctor(&[&filter]);
    assert_eq!(code, 2, "critical: {}", report["verdict"]);
    assert!(report["verdict"].as_str().unwrap().starts_with("critical"));
    let leaks = findings(&report, "close-wait-leak");
    // Each stopped per-connection child holds one CLOSE-WAIT socket.
    let stopped: Vec<u64> = lab.doc["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["pid"].as_u64().expect("a stopped child's pid"))
        .collect();
    assert_eq!(stopped.len(), 3);
    // The children are siblings forked by one server: one finding names them all.
    assert_eq!(leaks.len(), 1, "{report:#}");
    let f = leaks[0];
    assert_eq!(f["severity"], "critical", "{f:#}");
    assert_eq!(f["sockets"], 3);
    let pids: Vec<u64> = f["subject"]["pids"]
        .as_array()
        .expect("the sibling pids")
        .iter()
        .map(|p| p.as_u64().unwrap())
        .collect();
    let mut want = stopped.clone();
    want.sort_unstable();
    assert_eq!(pids, want, "{f:#}");
    let t = text(f);
    assert!(t.contains("stopped"), "names the process state: {t}");
    assert!(t.contains("FIN-WAIT-2"), "names the FIN-WAIT-2 peers: {t}");
    assert!(t.contains("not a TCP tuning problem"), "{t}");
    let pid_words: Vec<String> = want.iter().map(u64::to_string).collect();
    assert!(
        t.contains(&format!("kill -CONT {}", pid_words.join(" "))),
        "{t}"
    );
    lab.stop();
}

#[test]
fn close_wait_pile_names_the_process_and_count() {
    let lab = Lab::start(&["close-wait", "--count", "12"]);
    let filter = port_filter(&lab);
    let owner = lab.doc["sockets"][0]["pid"].as_u64().expect("owner pid");
    let (report, code) = doctor(&[&filter]);
    let leaks = findings(&report, "close-wait-leak");
    assert_eq!(leaks.len(), 1, "{report:#}");
    let f = leaks[0];
    assert_eq!(f["subject"]["pid"], owner);
    assert_eq!(f["sockets"], 12);
    assert_eq!(f["severity"], "warning", "12 sockets: a warning");
    assert!(f["title"].as_str().unwrap().contains("12 socket(s)"));
    assert_eq!(code, 1);
    lab.stop();
}

#[test]
fn time_wait_towards_one_destination_is_named() {
    // TIME-WAIT lasts 60 s: should doctor take longer than that on a slow host, again.
    let alive = |lab: &Lab| {
        let reported: std::collections::HashSet<_> =
            lab.reported().into_iter().map(|(_, l, p)| (l, p)).collect();
        let present = common::ss_rows(&[])
            .into_iter()
            .filter(|(s, l, p)| s == "TIME-WAIT" && reported.contains(&(l.clone(), p.clone())))
            .count();
        present == reported.len()
    };
    let start = || Lab::start(&["time-wait", "--count", "1500"]);
    common::retry_if_expired(
        "time_wait_towards_one_destination_is_named",
        start,
        alive,
        |lab| {
            let filter = port_filter(lab);
            let listener = &lab.doc["listeners"][0];
            let dest = format!(
                "{}:{}",
                listener["addr"].as_str().unwrap(),
                listener["port"]
            );
            let source = lab.doc["sockets"][0]["local"]["addr"]
                .as_str()
                .unwrap()
                .to_string();
            let (report, _) = doctor(&[&filter]);
            let tw = findings(&report, "time-wait-pressure");
            let f = tw
                .iter()
                .find(|f| f["subject"]["kind"] == "destination")
                .unwrap_or_else(|| panic!("no destination finding: {report:#}"));
            assert_eq!(f["subject"]["name"], format!("{source} -> {dest}"));
            assert_eq!(f["sockets"], 1500);
            let t = text(f);
            assert!(
                t.contains("active closer") && t.contains("tcp_tw_reuse"),
                "{t}"
            );
        },
    );
}

#[test]
fn full_accept_queue_is_a_listen_overflow() {
    let lab = Lab::start(&["syn-recv", "--count", "4"]);
    let filter = port_filter(&lab);
    let listener = &lab.doc["listeners"][0];
    let name = format!(
        "{}:{}",
        listener["addr"].as_str().unwrap(),
        listener["port"]
    );
    let (report, code) = doctor(&[&filter]);
    let f = findings(&report, "listen-overflow")
        .into_iter()
        .find(|f| f["subject"]["name"] == name)
        .unwrap_or_else(|| panic!("no listen-overflow for {name}: {report:#}"));
    assert_eq!(f["severity"], "critical");
    assert!(text(f).contains("accept()"), "{f:#}");
    assert_eq!(code, 2);
    lab.stop();
}

#[test]
fn quiet_namespace_is_healthy() {
    if !common::root_or_skip("quiet_namespace_is_healthy") {
        return;
    }
    let ns = NetnsGuard::new("doctor");
    let (report, code) = doctor(&["--netns", &ns.name]);
    assert_eq!(code, 0, "{report:#}");
    assert!(
        report["verdict"].as_str().unwrap().starts_with("healthy"),
        "{report:#}"
    );
    assert_eq!(report["checked"]["rules"].as_array().unwrap().len(), 10);

    // The human report says what was checked.
    let out = bin()
        .args(["doctor", "--netns", &ns.name])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(
        t.starts_with("healthy: no problems in 0 TCP sockets"),
        "{t}"
    );
    assert!(
        t.contains("checked: close-wait-leak, time-wait-pressure"),
        "{t}"
    );
}

#[test]
fn recording_replays_to_the_same_report_and_watch_tracks_rounds() {
    let lab = Lab::start(&["close-wait", "--count", "2"]);
    let filter = port_filter(&lab);
    let dir = std::env::temp_dir().join(unique_name("tcpscope-doctor"));
    std::fs::create_dir_all(&dir).unwrap();
    let rec = dir.join("snap.json");
    let rec_s = rec.to_str().unwrap();
    let (live, live_code) = doctor(&["--record", rec_s, &filter]);
    // A recording carries its namespaces: replay it without --netns.
    let out = bin()
        .args(["doctor", "--json", "--from", rec_s])
        .output()
        .unwrap();
    let replay_code = out.status.code().unwrap();
    let replayed: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(live_code, replay_code);
    assert_eq!(live["verdict"], replayed["verdict"]);
    assert_eq!(live["findings"], replayed["findings"]);
    assert_eq!(live["taken_at_unix_ms"], replayed["taken_at_unix_ms"]);

    // --watch: one JSON report per round; the second round knows the growth.
    let mut args = vec!["doctor", "--json", "--watch", "200ms", "--count", "2"];
    let ns = own_netns();
    args.extend(ns.iter().map(String::as_str));
    args.push(&filter);
    let out = run_ok_or_findings(&args);
    let rounds: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON report per line"))
        .collect();
    assert_eq!(rounds.len(), 2);
    let second = findings(&rounds[1], "close-wait-leak");
    assert!(
        text(second[0]).contains("CLOSE-WAIT/min"),
        "growth appears once there are two rounds: {:#}",
        second[0]
    );
    std::fs::remove_dir_all(&dir).unwrap();
    lab.stop();
}

/// Run tcpscope, accepting doctor's health statuses (0, 1, 2) as success; return stdout.
fn run_ok_or_findings(args: &[&str]) -> String {
    let out = bin().args(args).output().unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        (0..=2).contains(&code),
        "tcpscope {args:?} failed with {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Regression (issue 11, defect 4): `ls --record` (no -p) then `doctor --from` blamed "an
/// unidentified process" and said "run as root"; the recording simply holds no owners.
#[test]
fn a_recording_without_owners_says_how_to_record_them() {
    let lab = Lab::start(&["close-wait", "--count", "3"]);
    let filter = port_filter(&lab);
    let dir = std::env::temp_dir().join(unique_name("tcpscope-doctor-noowners"));
    std::fs::create_dir_all(&dir).unwrap();
    let rec = dir.join("ls.json");
    let rec_s = rec.to_str().unwrap();
    let mut args = vec!["ls", "--record", rec_s];
    let ns = own_netns();
    args.extend(ns.iter().map(String::as_str));
    args.push(&filter);
    run_ok_or_findings(&args);
    let (report, _) = doctor(&["--from", rec_s]);
    let cw = findings(&report, "close-wait-leak");
    assert_eq!(cw.len(), 1, "one finding for the lab's server: {report:#}");
    let t = text(cw[0]);
    assert!(
        !t.contains("unidentified") && !t.contains("run as root"),
        "{t}"
    );
    assert!(
        t.contains("this recording holds no owning processes"),
        "{t}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    lab.stop();
}
