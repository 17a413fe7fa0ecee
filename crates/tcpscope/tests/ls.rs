//! `tcpscope ls` and `summary` against real sockets: a listener, established pairs, a CLOSE-WAIT,
//! a FIN-WAIT-2 and a TIME-WAIT opened by this test, found in the JSON output with the right
//! states and endpoints, and checked against `ss -Htan` on the same sockets. Also the output
//! modes (--jsonl, --record/--from, --source proc) and a quiet broken pipe.

mod common;

use common::{endpoint, row, run_json, run_ok, sockets, ss_rows};
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Read;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Stdio;

/// Sockets in known states, held open for the test's lifetime.
struct Fixture {
    listener: TcpListener,
    _est: (TcpStream, TcpStream),
    _close_wait: TcpStream,
    /// The client end of the CLOSE-WAIT pair: FIN-WAIT-2, held open (an orphaned FIN-WAIT-2
    /// would vanish after tcp_fin_timeout, and the tests must not depend on how long they take).
    _fin_wait_2: TcpStream,
    close_wait_client_port: u16,
    est_client_port: u16,
    time_wait_client_port: u16,
    _v6: Option<TcpListener>,
    v6_port: Option<u16>,
}

impl Fixture {
    fn port(&self) -> u16 {
        self.listener.local_addr().unwrap().port()
    }
    /// Every port that identifies one of our sockets.
    fn ports(&self) -> BTreeSet<u16> {
        let mut p = BTreeSet::from([
            self.port(),
            self.close_wait_client_port,
            self.est_client_port,
            self.time_wait_client_port,
        ]);
        p.extend(self.v6_port);
        p
    }
}

fn connect_pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

fn fixture() -> Fixture {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let est = connect_pair(&listener);
    let est_client_port = est.0.local_addr().unwrap().port();

    // CLOSE-WAIT: the client closes its sending side, the server never closes.
    let (fin_wait_2, server) = connect_pair(&listener);
    let close_wait_client_port = fin_wait_2.local_addr().unwrap().port();
    fin_wait_2.shutdown(Shutdown::Write).unwrap();

    // TIME-WAIT: the client closes first, then the server; the client side keeps the 4-tuple.
    let (client, mut server2) = connect_pair(&listener);
    let time_wait_client_port = client.local_addr().unwrap().port();
    client.shutdown(Shutdown::Both).unwrap();
    let mut buf = [0u8; 1];
    let _ = server2.read(&mut buf); // wait for the FIN
    drop(server2);
    drop(client);

    let v6 = TcpListener::bind("[::1]:0").ok();
    let v6_port = v6.as_ref().map(|l| l.local_addr().unwrap().port());
    let f = Fixture {
        listener,
        _est: est,
        _close_wait: server,
        _fin_wait_2: fin_wait_2,
        close_wait_client_port,
        est_client_port,
        time_wait_client_port,
        _v6: v6,
        v6_port,
    };
    wait_for_states(&f);
    f
}

/// Loopback is fast but not instant: wait until ss sees the closing states settle.
fn wait_for_states(f: &Fixture) {
    let tw = format!("127.0.0.1:{}", f.time_wait_client_port);
    let cw = format!("127.0.0.1:{}", f.close_wait_client_port);
    common::wait_for("the fixture's TIME-WAIT and FIN-WAIT-2", || {
        let rows = ss_rows(&[]);
        let tw_ok = rows.iter().any(|r| r.0 == "TIME-WAIT" && r.1 == tw);
        let cw_ok = rows.iter().any(|r| r.0 == "FIN-WAIT-2" && r.1 == cw);
        tw_ok && cw_ok
    });
}

/// True while the fixture's TIME-WAIT socket exists (it expires 60 s after it was made).
fn time_wait_alive(f: &Fixture) -> bool {
    let tw = format!("127.0.0.1:{}", f.time_wait_client_port);
    ss_rows(&[]).iter().any(|r| r.0 == "TIME-WAIT" && r.1 == tw)
}

/// Run `test` on a fixture; if it fails because the fixture's TIME-WAIT expired meanwhile (a
/// slow host), again on a fresh one.
fn with_fixture(name: &str, test: impl Fn(&Fixture)) {
    common::retry_if_expired(name, fixture, time_wait_alive, test);
}

/// Our sockets in a JSON document, as (state, local, peer): both ends on 127.0.0.1 or ::1 (or
/// a listener's wildcard peer) and one end on one of our ports. Other tests and benchmarks share
/// the host and use other 127.x addresses with the same port numbers.
fn ours(doc: &Value, ports: &BTreeSet<u16>) -> BTreeSet<(String, String, String)> {
    sockets(doc)
        .iter()
        .map(row)
        .filter(|(_, l, p)| is_ours(l, p, ports))
        .collect()
}

fn is_ours(local: &str, peer: &str, ports: &BTreeSet<u16>) -> bool {
    let split = |e: &str| {
        let (a, p) = e.rsplit_once(':').unwrap();
        (a.to_string(), p.parse::<u16>().unwrap_or(0))
    };
    let ((la, lp), (pa, pp)) = (split(local), split(peer));
    let home = |a: &str| matches!(a, "127.0.0.1" | "[::1]");
    let wildcard = |a: &str, p: u16| p == 0 && matches!(a, "0.0.0.0" | "[::]");
    home(&la) && (home(&pa) || wildcard(&pa, pp)) && (ports.contains(&lp) || ports.contains(&pp))
}

/// Our socket in `state` on `local_port`. The peer must be one of our ports too (or a listener's
/// wildcard): Linux gives the same ephemeral port to connections towards different peers, so a
/// local port alone can match another test's socket.
fn find<'a>(doc: &'a Value, state: &str, local_port: u16, ports: &BTreeSet<u16>) -> &'a Value {
    sockets(doc)
        .iter()
        .find(|s| {
            let peer_port = s["peer"]["port"].as_u64().unwrap_or(0);
            let peer_ok = u16::try_from(peer_port).is_ok_and(|p| ports.contains(&p))
                || (state == "listen" && peer_port == 0);
            s["state"] == state
                && s["local"]["port"] == local_port
                && peer_ok
                && is_ours(&endpoint(&s["local"]), &endpoint(&s["peer"]), ports)
        })
        .unwrap_or_else(|| panic!("no {state} socket on local port {local_port}"))
}

#[test]
fn finds_each_socket_with_its_state_and_endpoints() {
    with_fixture("finds_each_socket_with_its_state_and_endpoints", |f| {
        let doc = run_json(&["ls", "--json"]);
        assert_eq!(doc["format"], "tcpscope-snapshot");
        assert_eq!(doc["source"], "netlink");
        let port = f.port();

        let l = find(&doc, "listen", port, &f.ports());
        assert_eq!(l["family"], "inet");
        assert_eq!(l["local"]["addr"], "127.0.0.1");
        assert_eq!(l["peer"]["port"], 0);
        assert!(l["inode"].as_u64().unwrap() > 0);
        assert!(l["cookie"].as_u64().unwrap() > 0);
        assert!(l["owners"].as_array().unwrap().is_empty());

        let e = find(&doc, "established", f.est_client_port, &f.ports());
        assert_eq!(e["peer"]["port"], port);
        assert!(e["tcp_info"].is_object(), "tcp_info requested for --json");
        assert!(e["tcp_info"]["rtt_us"].as_u64().is_some());

        let cw = sockets(&doc)
            .iter()
            .find(|s| s["state"] == "close-wait" && s["peer"]["port"] == f.close_wait_client_port)
            .expect("the server side of the closed connection is in close-wait");
        assert_eq!(cw["local"]["port"], port);
        assert!(
            cw["inode"].as_u64().unwrap() > 0,
            "close-wait is held by us"
        );

        let fw2 = find(&doc, "fin-wait-2", f.close_wait_client_port, &f.ports());
        assert_eq!(fw2["peer"]["port"], port);

        let tw = find(&doc, "time-wait", f.time_wait_client_port, &f.ports());
        assert_eq!(tw["inode"], 0, "time-wait has no owner");
        assert_eq!(tw["timer"]["kind"], "time-wait");
        let left = tw["timer"]["expires_ms"].as_u64().unwrap();
        assert!(left > 0 && left <= 60_000, "time-wait timer {left} ms");

        if let Some(p6) = f.v6_port {
            let l6 = find(&doc, "listen", p6, &f.ports());
            assert_eq!(l6["family"], "inet6");
            assert_eq!(l6["local"]["addr"], "::1");
        }
    });
}

#[test]
fn agrees_with_ss_on_the_same_sockets() {
    with_fixture("agrees_with_ss_on_the_same_sockets", |f| {
        let ports = f.ports();
        let doc = run_json(&["ls", "--json"]);
        let mine = ours(&doc, &ports);
        let theirs: BTreeSet<(String, String, String)> = ss_rows(&[])
            .into_iter()
            .map(|(state, l, p)| (ss_state(&state), normalise_ss(&l), normalise_ss(&p)))
            .filter(|(_, l, p)| is_ours(l, p, &ports))
            .collect();
        assert!(mine.len() >= 7, "expected our 7+ sockets, got {mine:?}");
        assert_eq!(mine, theirs);
    });
}

/// ss's state names in tcpscope's JSON spelling.
fn ss_state(s: &str) -> String {
    match s {
        "ESTAB" => "established".to_string(),
        "UNCONN" => "closed".to_string(),
        other => other.to_ascii_lowercase(),
    }
}

/// ss prints "0.0.0.0:*" / "[::]:*" / "*:*" for wildcards; tcpscope's JSON gives addr+port 0.
fn normalise_ss(s: &str) -> String {
    let s = s.replace("[::ffff:", "[").replace(":*", ":0");
    if let Some(rest) = s.strip_prefix('[') {
        if let Some((a, p)) = rest.split_once("]:") {
            if a.contains('.') {
                return format!("{a}:{p}");
            }
        }
    }
    if s == "*:0" {
        return "0.0.0.0:0".into();
    }
    s
}

#[test]
fn state_filter_family_and_listening_options() {
    with_fixture("state_filter_family_and_listening_options", |f| {
        let doc = run_json(&["ls", "--json", "state", "CLOSE_WAIT", "time-wait"]);
        let states: BTreeSet<&str> = sockets(&doc)
            .iter()
            .map(|s| s["state"].as_str().unwrap())
            .collect();
        assert!(
            states
                .iter()
                .all(|s| *s == "close-wait" || *s == "time-wait"),
            "{states:?}"
        );
        assert!(states.contains("close-wait") && states.contains("time-wait"));

        let doc = run_json(&["ls", "--json", "-l"]);
        assert!(sockets(&doc).iter().all(|s| s["state"] == "listen"));
        find(&doc, "listen", f.port(), &f.ports());

        let doc = run_json(&["ls", "--json", "-4"]);
        assert!(sockets(&doc).iter().all(|s| s["family"] == "inet"));
        let doc = run_json(&["ls", "--json", "-6"]);
        assert!(sockets(&doc).iter().all(|s| s["family"] == "inet6"));

        let doc = run_json(&["ls", "--json", "exclude", "time-wait", "exclude", "listen"]);
        assert!(sockets(&doc)
            .iter()
            .all(|s| s["state"] != "time-wait" && s["state"] != "listen"));
    });
}

#[test]
fn table_shows_states_and_timers() {
    with_fixture("table_shows_states_and_timers", |f| {
        let out = run_ok(&["ls", "-e"]);
        let text = String::from_utf8(out.stdout).unwrap();
        let header = text.lines().next().unwrap();
        assert!(
            header.starts_with("State") && header.contains("Peer Address:Port"),
            "{header}"
        );
        let tw_line = text
            .lines()
            .find(|l| {
                l.contains(&format!("127.0.0.1:{} ", f.time_wait_client_port))
                    && l.starts_with("TIME-WAIT")
            })
            .expect("a TIME-WAIT row");
        assert!(
            tw_line
                .split_once("time-wait ")
                .is_some_and(|(_, left)| left.starts_with(|c: char| c.is_ascii_digit())),
            "{tw_line}"
        );
        assert!(tw_line.contains("ino:0"), "{tw_line}");
        let listen = text
            .lines()
            .find(|l| l.starts_with("LISTEN") && l.contains(&format!("127.0.0.1:{}", f.port())))
            .expect("a LISTEN row");
        assert!(listen.contains("uid:"), "{listen}");
    });
}

#[test]
fn jsonl_record_and_replay_agree() {
    with_fixture("jsonl_record_and_replay_agree", |f| {
        let ports = f.ports();
        let dir = std::env::temp_dir().join(common::unique_name("tcpscope-rec"));
        std::fs::create_dir_all(&dir).unwrap();
        let rec = dir.join("snap.json");
        let rec_s = rec.to_str().unwrap();

        let live = run_json(&["ls", "--json", "--record", rec_s]);
        let replayed = run_json(&["ls", "--json", "--from", rec_s]);
        assert_eq!(ours(&live, &ports), ours(&replayed, &ports));
        assert_eq!(
            sockets(&live).len(),
            sockets(&replayed).len(),
            "the recording holds what was listed"
        );
        assert_eq!(live["taken_at_unix_ms"], replayed["taken_at_unix_ms"]);

        // The table from the recording lists the same sockets; filters apply on replay too.
        let only_tw = run_json(&["ls", "--json", "--from", rec_s, "state", "time-wait"]);
        assert!(sockets(&only_tw).iter().all(|s| s["state"] == "time-wait"));

        // --jsonl: one socket object per line, same sockets.
        let out = run_ok(&["ls", "--jsonl", "--from", rec_s]);
        let lines: Vec<Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is a JSON object"))
            .collect();
        assert_eq!(lines.len(), sockets(&replayed).len());
        assert_eq!(&lines, sockets(&replayed));

        // summary from the recording counts the same sockets.
        let sum = run_json(&["summary", "--json", "--from", rec_s]);
        assert_eq!(
            sum["total"].as_u64().unwrap() as usize,
            sockets(&replayed).len()
        );
        assert!(sum["states"]["time-wait"].as_u64().unwrap() >= 1);
        assert!(sum["states"]["close-wait"].as_u64().unwrap() >= 1);
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

#[test]
fn proc_fallback_agrees_with_netlink() {
    with_fixture("proc_fallback_agrees_with_netlink", |f| {
        let ports = f.ports();
        let nl = run_json(&["ls", "--json"]);
        let pr = run_json(&["ls", "--json", "--source", "proc"]);
        assert_eq!(pr["source"], "proc-net");
        assert_eq!(ours(&nl, &ports), ours(&pr, &ports));
    });
}

#[test]
fn summary_counts_live_sockets() {
    let _f = fixture();
    let sum = run_json(&["summary", "--json"]);
    let total = sum["total"].as_u64().unwrap();
    let by_state: u64 = sum["states"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, by_state);
    assert!(sum["states"]["listen"].as_u64().unwrap() >= 1);
    assert!(sum["sockstat"]["tcp_inuse"].as_u64().is_some());
    let text = String::from_utf8(run_ok(&["summary"]).stdout).unwrap();
    assert!(
        text.contains("CLOSE-WAIT") && text.contains("close()"),
        "{text}"
    );
}

#[test]
fn broken_pipe_exits_zero_quietly() {
    // A large recording guarantees output well beyond the pipe buffer.
    let dir = std::env::temp_dir().join(common::unique_name("tcpscope-pipe"));
    std::fs::create_dir_all(&dir).unwrap();
    let rec = dir.join("big.json");
    let one = r#"{"state":"established","family":"inet","local":{"addr":"127.0.0.1","port":1},"peer":{"addr":"127.0.0.1","port":2},"recv_q":0,"send_q":0,"timer":null,"uid":0,"inode":1,"cookie":1,"tcp_info":null,"owners":[]}"#;
    let body = vec![one; 50_000].join(",\n");
    std::fs::write(
        &rec,
        format!(r#"{{"format":"tcpscope-snapshot","version":1,"taken_at_unix_ms":0,"sockets":[{body}]}}"#),
    )
    .unwrap();
    for args in [vec!["ls"], vec!["ls", "--jsonl"], vec!["ls", "--json"]] {
        let mut child = common::bin()
            .args(&args)
            .args(["--from", rec.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 10];
        child
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut first)
            .unwrap();
        drop(child.stdout.take()); // the reader goes away, like `| head -1`
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", out.status);
        assert!(
            out.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let out = common::bin()
        .args(["ls", "state", "bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown state 'bogus'") && err.contains("close-wait") && err.contains('^'),
        "{err}"
    );

    let out = common::bin()
        .args(["ls", "--from", "/nonexistent/rec.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--record"));

    let dir = std::env::temp_dir().join(common::unique_name("tcpscope-bad"));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{not json").unwrap();
    let out = common::bin()
        .args(["summary", "--from", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Regression (issue 11, defect 7): the cause of a bad `--from` file was printed twice, and
/// `--record /dev/full` failed without naming the file.
#[test]
fn errors_say_the_cause_once_and_name_the_file() {
    let dir = std::env::temp_dir().join(common::unique_name("tcpscope-err"));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{not json").unwrap();
    for cmd in ["ls", "summary", "doctor"] {
        let out = common::bin()
            .args([cmd, "--from", bad.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err.matches("key must be a string").count(),
            1,
            "{cmd}: {err}"
        );
        assert!(err.contains(bad.to_str().unwrap()), "{cmd}: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();

    for args in [
        vec!["ls", "--record", "/dev/full"],
        vec!["ls", "-p", "--record", "/dev/full"],
        vec!["ls", "-p", "--record", "/dev/full", "state", "listening"],
        vec!["summary", "--record", "/dev/full"],
        vec!["doctor", "--record", "/dev/full"],
    ] {
        let out = common::bin().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("recording /dev/full") && err.contains("No space left"),
            "{args:?}: {err}"
        );
    }
}

/// Regression (issue 11, defect 8): `tcpscope sumary` was "invalid filter ... unknown word".
#[test]
fn a_mistyped_command_is_suggested() {
    let out = common::bin().arg("sumary").output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did you mean `tcpscope summary`"), "{err}");
    assert!(!err.contains("invalid filter"), "{err}");
    // A filter as the first word still lists.
    let out = common::bin()
        .args(["-H", "state", "listening"])
        .output()
        .unwrap();
    assert!(out.status.success());
}

/// ss flags typed by habit either work as in ss or say what to use instead.
#[test]
fn ss_habits_work_or_say_what_to_use() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let (_c, _s) = connect_pair(&listener);
    let p = listener.local_addr().unwrap().port();
    let filter = format!("sport = :{p} or dport = :{p}");

    run_ok(&["-tanpo"]);
    let text =
        String::from_utf8(run_ok(&["ls", "-i", "-m", "state", "established", &filter]).stdout)
            .unwrap();
    let details: Vec<&str> = text.lines().filter(|l| l.starts_with('\t')).collect();
    assert_eq!(details.len(), 2, "one detail line per connection:\n{text}");
    for d in details {
        assert!(d.starts_with("\t skmem:(r"), "{d}");
        for word in [" rtt:", " cwnd:", " mss:", " rcv_space:", " send "] {
            assert!(d.contains(word), "{word} in {d}");
        }
    }
    let summary = String::from_utf8(run_ok(&["-s"]).stdout).unwrap();
    assert!(summary.starts_with("TCP sockets: "), "{summary}");
    for (flag, says) in [
        ("-u", "ss -uan"),
        ("-x", "ss -xa"),
        ("-w", "ss -wa"),
        ("-E", "tcpscope trace"),
        ("-K", "tcpscope release"),
    ] {
        let out = common::bin().args(["ls", flag]).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{flag}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{flag}: {err}");
    }
    let help = String::from_utf8(run_ok(&["ls", "--help"]).stdout).unwrap();
    assert!(
        help.contains("Examples:") && help.contains("tcpscope ls -p state close-wait"),
        "{help}"
    );
}

/// Regression (issue 11, defect 10): listeners showed idle times and an rtt of 0, and
/// `state listening 'idle < 1s'` matched every listener.
#[test]
fn listeners_show_and_match_no_idle_time() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let p = listener.local_addr().unwrap().port();
    let filter = format!("sport = :{p}");
    let text =
        String::from_utf8(run_ok(&["ls", "-e", "state", "listening", &filter]).stdout).unwrap();
    let row = text
        .lines()
        .find(|l| l.starts_with("LISTEN"))
        .unwrap_or_else(|| panic!("no LISTEN row:\n{text}"));
    assert!(!row.contains("last-") && !row.contains("rtt:"), "{row}");
    let doc = run_json(&["ls", "--json", "state", "listening", &filter]);
    let l = &sockets(&doc)[0];
    assert!(l["tcp_info"]["last_data_sent_ms"].is_null(), "{l}");
    assert!(l["tcp_info"]["rtt_us"].is_null(), "{l}");
    let doc = run_json(&[
        "ls",
        "--json",
        "state",
        "listening",
        "idle < 1s",
        "and",
        &filter,
    ]);
    assert!(sockets(&doc).is_empty(), "{doc}");
}
