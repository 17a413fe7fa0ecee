//! `--from` with captures of other tools (issue 16), end to end through the real binary:
//! `doctor --from` on every capture fixture with a CLOSE-WAIT pile-up names the owner where the
//! capture has one; standard input, recordings made from captures, unreadable lines listed with
//! their numbers, exit status 3 for a file with no row; and, on real sockets made by `tcpscope
//! lab`, captures of `ss` and `netstat` (German too) taken here agree with the live kernel.
//! Also the `/proc/net/tcp` source, which shares the "unknown backlog" concern with captures.

mod common;

use common::lab::Lab;
use common::{bin, row, run_json, run_ok, sockets, unique_name};
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn fixture(name: &str) -> String {
    let p: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "tcpscope-core",
        "tests",
        "fixtures",
        "import",
        name,
    ]
    .iter()
    .collect();
    p.to_string_lossy().into_owned()
}

/// doctor's JSON report and exit status for `args` (which name the input).
fn doctor_json(args: &[&str]) -> (Value, i32) {
    let out = bin()
        .arg("doctor")
        .arg("--json")
        .args(args)
        .output()
        .expect("running tcpscope doctor");
    let code = out.status.code().expect("doctor exited normally");
    assert!(
        (0..=2).contains(&code),
        "doctor {args:?} failed with {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = serde_json::from_slice(&out.stdout).expect("doctor's JSON");
    (report, code)
}

fn close_wait_titles(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "close-wait-leak")
        .map(|f| f["title"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn doctor_on_every_capture_with_a_close_wait_pile_up_names_the_owner() {
    // (fixture, the owner — or, where the capture names none, the place — a finding must name)
    let cases = [
        ("windows-netstat-ano.txt", "pid 4242"),
        ("windows-netstat-anob.txt", "pid 4242 (java.exe)"),
        ("windows-netstat-ano-p-tcp.de.utf16.txt", "pid 3112"),
        (
            "windows-powershell-get-nettcpconnection.utf16.txt",
            "pid 4242",
        ),
        (
            "windows-powershell-get-nettcpconnection.ps7.txt",
            "pid 7916",
        ),
        ("solaris-netstat-anu.illumos.txt", "pid 2121 (java)"),
        ("linux-netstat-tanp.txt", "(tcpscope)"),
        ("linux-netstat-tanpo.cs.txt", "(tcpscope)"),
        ("linux-netstat-tanpe.pt_BR.txt", "(tcpscope)"),
        ("linux-ss-tanp.txt", "(tcpscope)"),
        ("linux-ss-tanpoe.txt", "(tcpscope)"),
        ("linux-ss-state-close-wait.txt", "(tcpscope)"),
        (
            "windows-netstat-an.txt",
            "the program connected to 10.0.0.20:5432",
        ),
        (
            "bsd-netstat-an.macos.txt",
            "the program listening on port 8080",
        ),
        (
            "bsd-netstat-an-p-tcp.freebsd.txt",
            "the program listening on port 443",
        ),
        (
            "bsd-netstat-an.openbsd.txt",
            "the program connected to 10.0.0.3:40000",
        ),
        (
            "solaris-netstat-an.txt",
            "the program listening on port 8080",
        ),
        ("aix-netstat-an.txt", "the program listening on port 9080"),
        (
            "aix-netstat-Aan.txt",
            "the program serving 192.168.242.122:9080",
        ),
        (
            "linux-netstat-tan.es.txt",
            "the program listening on port 5432",
        ),
        ("linux-proc-net-tcp.txt", "the program listening on port"),
    ];
    for (name, who) in cases {
        let path = fixture(name);
        let (report, code) = doctor_json(&["--from", &path]);
        let titles = close_wait_titles(&report);
        assert!(
            titles.iter().any(|t| t.contains(who)),
            "{name}: no close-wait finding names {who}: {titles:?}"
        );
        assert!(code >= 0);
        let text = bin()
            .args(["doctor", "--from", &path])
            .output()
            .expect("doctor");
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(!text.contains("run as root"), "{name}:\n{text}");
        assert!(text.contains("could not run:"), "{name}:\n{text}");
    }
}

#[test]
fn a_capture_on_stdin_records_its_origin_and_becomes_a_recording() {
    let bytes = std::fs::read(fixture("windows-netstat-ano.txt")).expect("fixture");
    let mut child = bin()
        .args(["ls", "--from", "-", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcpscope ls");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&bytes)
        .expect("writing the capture");
    let out = child.wait_with_output().expect("ls");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["source"]["kind"], "import");
    assert_eq!(doc["source"]["format"], "windows-netstat-ano");
    assert_eq!(doc["source"]["system"], "windows");
    assert_eq!(doc["source"]["file"], "-");
    let missing: Vec<&str> = doc["missing"]
        .as_array()
        .expect("missing")
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    for d in ["recv-q", "send-q", "timer", "kernel-counters"] {
        assert!(missing.contains(&d), "{missing:?}");
    }
    let cw = sockets(&doc)
        .iter()
        .find(|s| s["state"] == "close-wait")
        .expect("a close-wait socket");
    assert_eq!(cw["original_state"], "CLOSE_WAIT");
    assert_eq!(cw["owners"][0]["pid"], 4242);

    // A recording made from the capture diagnoses the same.
    let dir = std::env::temp_dir().join(unique_name("tcpscope-import"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let rec = dir.join("rec.json");
    let rec = rec.to_string_lossy();
    run_ok(&[
        "ls",
        "--from",
        &fixture("windows-netstat-ano.txt"),
        "--record",
        &rec,
    ]);
    let (from_capture, a) = doctor_json(&["--from", &fixture("windows-netstat-ano.txt")]);
    let (from_recording, b) = doctor_json(&["--from", &rec]);
    assert_eq!(a, b);
    assert_eq!(from_capture["findings"], from_recording["findings"]);
    assert_eq!(
        from_capture["checked"]["could_not_run"],
        from_recording["checked"]["could_not_run"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unreadable_lines_are_listed_with_their_numbers_and_the_rest_is_read() {
    let dir = std::env::temp_dir().join(unique_name("tcpscope-import"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("mixed.txt");
    std::fs::write(
        &path,
        "$ netstat -tan\n\
Proto Recv-Q Send-Q Local Address           Foreign Address         State\n\
tcp        0      0 0.0.0.0:22              0.0.0.0:*               LISTEN\n\
tcp        0      0 10.0.0.1:22             10.0.0.9:5000           WIBBLE\n\
tcp        1      0 10.0.0.1:8080           10.0.0.9:5001           CLOSE_WAIT\n",
    )
    .expect("writing");
    let path = path.to_string_lossy().into_owned();
    let out = run_ok(&["ls", "--from", &path]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout.lines().count(), 3, "header and two rows:\n{stdout}");
    assert!(
        stderr.contains("could not read line 4: unknown state 'WIBBLE'"),
        "{stderr}"
    );
    let doc = run_json(&["ls", "--from", &path, "--json"]);
    let notes = doc["notes"].to_string();
    assert!(notes.contains("line 4"), "{notes}");
    assert_eq!(sockets(&doc).len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_with_no_row_is_an_error_and_the_format_can_be_named() {
    let dir = std::env::temp_dir().join(unique_name("tcpscope-import"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("notes.txt");
    std::fs::write(&path, "the server was slow\nno idea why\n").expect("writing");
    let out = bin()
        .args(["ls", "--from", &path.to_string_lossy()])
        .output()
        .expect("ls");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a capture tcpscope can read"), "{err}");
    assert!(err.contains("windows-netstat"), "{err}");

    // Named wrong: every row fails, with the advice to leave --from-format out.
    let out = bin()
        .args([
            "ls",
            "--from",
            &fixture("linux-ss-tan.txt"),
            "--from-format",
            "solaris-netstat",
        ])
        .output()
        .expect("ls");
    assert_eq!(out.status.code(), Some(3));
    // Named right where rows alone cannot tell (AIX prints BSD's rows).
    let doc = run_json(&[
        "ls",
        "--json",
        "--from",
        &fixture("bsd-netstat-an.openbsd.txt"),
        "--from-format",
        "aix-netstat",
    ]);
    assert_eq!(doc["source"]["system"], "aix");
    let out = bin()
        .args(["ls", "--from-format", "bogus", "--from", "x"])
        .output()
        .expect("ls");
    assert_eq!(out.status.code(), Some(3), "clap rejects an unknown format");
    let _ = std::fs::remove_dir_all(&dir);
}

/// (state, local, peer) of every socket `ls --json` reads from `args`, sorted.
fn rows(args: &[&str]) -> Vec<(String, String, String)> {
    let mut r: Vec<_> = sockets(&run_json(args)).iter().map(row).collect();
    r.sort();
    r
}

/// A capture to take: its file name, the command, and the environment (a language) to run it in.
type Capture<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)]);

#[test]
fn real_ss_and_netstat_captures_agree_with_the_live_kernel() {
    if !common::root_or_skip("real_ss_and_netstat_captures_agree_with_the_live_kernel") {
        return;
    }
    // CLOSE-WAIT held by lab, FIN-WAIT-2 held by its clients, a listener: nothing expires.
    let lab = Lab::start(&["close-wait", "--count", "4", "--own-netns"]);
    let ns = lab.netns().expect("lab's namespace");
    let pid = lab.pids()[0];
    let dir = std::env::temp_dir().join(unique_name("tcpscope-import"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let live = rows(&["ls", "--json", "--netns", &ns]);
    assert!(
        live.iter().filter(|r| r.0 == "close-wait").count() == 4,
        "{live:?}"
    );
    let captures: &[Capture] = &[
        ("ss-tanp.txt", &["ss", "-tanp"], &[]),
        ("ss-tanpoei.txt", &["ss", "-tanpoei"], &[]),
        ("netstat-tanpe.txt", &["netstat", "-tanpe"], &[]),
        (
            "netstat-tanpo.de.txt",
            &["netstat", "-tanpo"],
            &[("LANGUAGE", "de")],
        ),
        (
            "netstat-tanpo.pt_BR.txt",
            &["netstat", "-tanpo"],
            &[("LANGUAGE", "pt_BR")],
        ),
        (
            "proc-net-tcp.txt",
            &["cat", "/proc/net/tcp", "/proc/net/tcp6"],
            &[],
        ),
    ];
    for (file, cmd, env) in captures {
        let out = Command::new("ip")
            .args(["netns", "exec", &ns])
            .args(*cmd)
            .envs(env.iter().copied())
            .output()
            .expect("capturing");
        assert!(out.status.success(), "{cmd:?} failed");
        let path = dir.join(file);
        std::fs::write(&path, &out.stdout).expect("writing the capture");
        let path = path.to_string_lossy().into_owned();
        assert_eq!(rows(&["ls", "--json", "--from", &path]), live, "{file}");
        if cmd[0] != "cat" {
            let (report, _) = doctor_json(&["--from", &path]);
            let f = report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["rule"] == "close-wait-leak")
                .unwrap_or_else(|| panic!("{file}: {report:#}"));
            assert_eq!(f["subject"]["pid"], pid, "{file}: {f:#}");
            assert_eq!(f["sockets"], 4, "{file}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    lab.stop();
}

#[test]
fn the_proc_source_does_not_judge_backlogs_it_cannot_see() {
    // A full accept queue: ss (netlink) sees queue 9 of backlog 8 and doctor says so; /proc/net/tcp
    // has no backlog, so doctor --source proc must not invent "queue 9 of backlog 0".
    let lab = Lab::start(&["syn-recv", "--count", "2"]);
    let l = &lab.doc["listeners"][0];
    let name = format!("{}:{}", l["addr"].as_str().unwrap(), l["port"]);
    let filter = format!("src {name} or dst {name}");
    let listeners = |report: &Value| -> usize {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "listen-overflow" && f["subject"]["name"] == name)
            .count()
    };
    let netns = format!("pid:{}", std::process::id());
    let mut live_args = vec![filter.as_str()];
    if rustix::process::geteuid().is_root() {
        live_args = vec!["--netns", &netns, filter.as_str()];
    }
    let (netlink, _) = doctor_json(&live_args);
    assert_eq!(listeners(&netlink), 1, "{netlink:#}");
    let (proc, _) = doctor_json(&["--source", "proc", &filter]);
    assert_eq!(listeners(&proc), 0, "{proc:#}");
    let table = run_ok(&["ls", "--source", "proc", "-l", &filter]);
    let table = String::from_utf8_lossy(&table.stdout);
    let line = table
        .lines()
        .find(|l| l.contains(&name))
        .unwrap_or_else(|| panic!("{table}"));
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cols[2], "-", "the backlog is unknown: {line}");
    lab.stop();
}
