//! The filter as the command line sees it: errors point at the column, recordings are filtered
//! in user space exactly like the live kernel path, and `summary` counts what `ls` lists.

mod common;

use common::{bin, endpoint, run_json, run_ok, sockets};
use std::net::{TcpListener, TcpStream};

#[test]
fn a_bad_filter_points_at_the_mistake() {
    let out = bin()
        .args(["ls", "sport", "=", ":22", "or", "dst", "10.0.0.0/33"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid filter at column 20"), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    let text = lines
        .iter()
        .position(|l| l.contains("sport = :22 or dst"))
        .expect(&err);
    assert_eq!(
        lines[text + 1].find('^'),
        lines[text].find("10.0.0.0/33"),
        "{err}"
    );
}

#[test]
fn recordings_are_filtered_like_the_live_kernel() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (_server, _) = listener.accept().unwrap();
    let dir = std::env::temp_dir().join(common::unique_name("tcpscope-filter"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("rec.json");
    let filter = format!("sport = :{port} or dport = :{port}");
    let live = run_json(&["ls", "--json", "--record", file.to_str().unwrap(), &filter]);
    let replayed = run_json(&[
        "ls",
        "--json",
        "--from",
        file.to_str().unwrap(),
        "sport",
        "=",
        &format!(":{port}"),
    ]);
    let rows = |doc: &serde_json::Value| {
        let mut v: Vec<String> = sockets(doc)
            .iter()
            .map(|s| {
                format!(
                    "{} {} {}",
                    s["state"],
                    endpoint(&s["local"]),
                    endpoint(&s["peer"])
                )
            })
            .collect();
        v.sort();
        v
    };
    let live_rows = rows(&live);
    assert_eq!(
        live_rows.len(),
        3,
        "listener, client, server: {live_rows:?}"
    );
    let want: Vec<String> = live_rows
        .iter()
        .filter(|r| {
            r.split(' ')
                .nth(1)
                .is_some_and(|l| l.ends_with(&format!(":{port}")))
        })
        .cloned()
        .collect();
    assert_eq!(rows(&replayed), want);
    let summary = run_json(&[
        "summary",
        "--json",
        "--from",
        file.to_str().unwrap(),
        "state",
        "listening",
        &format!("sport = :{port}"),
    ]);
    assert_eq!(summary["total"], 1, "{summary}");
    let out = run_ok(&[
        "ls",
        "-H",
        "--from",
        file.to_str().unwrap(),
        &format!("( state listening or dport = :{port} )"),
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    // Owner conditions: this recording has no owners, so nothing matches, and the user is told.
    let out = run_ok(&[
        "ls",
        "-H",
        "--from",
        file.to_str().unwrap(),
        "pid",
        "1",
        "or",
        "comm",
        "x",
    ]);
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("owning processes"));
    let _ = std::fs::remove_dir_all(&dir);
}
