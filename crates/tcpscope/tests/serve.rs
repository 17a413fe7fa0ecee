//! `tcpscope serve` over real HTTP, on real sockets: every endpoint against what `ls` and
//! `doctor` say about the same lab sockets; 50 clients making 5,000 scrapes (no errors, no
//! CLOSE-WAIT of serve's own, descriptors and memory back where they were); clients that send
//! nothing, a byte a second, or too much, while others scrape; a collector whose every poll fails;
//! process names holding quotes, backslashes and newlines.
//!
//! serve reads only a namespace the test owns (lab's `--own-netns`, or a `NetnsGuard`): the host
//! is shared with other tests, whose sockets must not change the counts. That needs root.

mod common;

use common::lab::Lab;
use common::serve::{get, parse_metrics, sum, KeepAlive, Serve};
use common::{bin, root_or_skip, wait_for, ChildGuard, NetnsGuard, HANG_GUARD};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Sockets `tcpscope ls` lists in namespace `ns` for `filter`.
fn ls_count(ns: &str, filter: &str) -> usize {
    let out = bin()
        .args(["ls", "--json", "--netns", ns, filter])
        .output()
        .expect("running tcpscope ls");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    doc["sockets"].as_array().expect("sockets").len()
}

fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// A raw request, and everything the server sends back until it closes.
fn raw(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).expect("connecting");
    s.set_read_timeout(Some(HANG_GUARD)).unwrap();
    let _ = s.write_all(request);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn every_endpoint_answers_from_the_collector() {
    if !root_or_skip("every_endpoint_answers_from_the_collector") {
        return;
    }
    let lab = Lab::start(&["close-wait", "--count", "4", "--own-netns"]);
    let ns = lab.netns().expect("lab's namespace");
    let serve = Serve::start(&["--netns", &ns]);

    // /metrics: the same counts as ls, every state listed for both families.
    let m = serve.metrics();
    let cw = sum(&m, "tcpscope_sockets", &[("state", "close-wait")]);
    assert_eq!(cw, 4.0);
    assert_eq!(cw as usize, ls_count(&ns, "state close-wait"));
    assert_eq!(sum(&m, "tcpscope_sockets", &[("state", "fin-wait-2")]), 4.0);
    let sockets: Vec<_> = m.iter().filter(|s| s.name == "tcpscope_sockets").collect();
    assert_eq!(
        sockets.len(),
        13 * 2,
        "every state, both families, one namespace"
    );
    assert!(
        sockets.iter().all(|s| s.label("netns") == ns),
        "{sockets:?}"
    );
    assert_eq!(
        sum(
            &m,
            "tcpscope_process_sockets",
            &[("comm", "tcpscope"), ("state", "close-wait")]
        ),
        4.0,
        "lab's workers hold them"
    );
    assert!(m
        .iter()
        .any(|s| s.name == "tcpscope_close_wait_oldest_idle_seconds"));
    assert_eq!(sum(&m, "tcpscope_stale", &[]), 0.0);
    assert_eq!(sum(&m, "tcpscope_scrape_errors_total", &[]), 0.0);
    assert!(m.iter().any(|s| s.name == "tcpscope_build_info"));
    assert!(m
        .iter()
        .any(|s| s.name == "tcpscope_listen_overflows_total"));
    assert!(m
        .iter()
        .any(|s| s.name == "tcpscope_established_resets_total"));

    // OpenMetrics when asked as Prometheus asks.
    let om = get(
        serve.addr,
        "/metrics",
        &[(
            "Accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )],
    )
    .unwrap();
    assert!(om
        .header("content-type")
        .unwrap()
        .starts_with("application/openmetrics-text; version=1.0.0"));
    assert!(om.text().ends_with("# EOF\n"));
    let text = serve.get("/metrics");
    assert!(text
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));

    // /api/doctor: the doctor --json document.
    let d = serve.get("/api/doctor");
    assert_eq!(d.status, 200);
    let report = d.json();
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let out = bin()
        .args(["doctor", "--json", "--netns", &ns])
        .output()
        .unwrap();
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(keys(&report), keys(&cli));
    assert_eq!(report["checked"]["sockets"], cli["checked"]["sockets"]);
    let rules = |v: &Value| {
        let mut r: Vec<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_string())
            .collect();
        r.sort();
        r
    };
    assert_eq!(rules(&report), rules(&cli));

    // /api/snapshot: the ls --json document, filtered and limited.
    let snap = serve.get("/api/snapshot?filter=state%20close-wait").json();
    assert_eq!(snap["format"], "tcpscope-snapshot");
    let socks = snap["sockets"].as_array().unwrap();
    assert_eq!(socks.len(), 4);
    assert!(socks.iter().all(|s| s["state"] == "close-wait"));
    assert!(socks.iter().all(|s| s["owners"][0]["comm"] == "tcpscope"));
    let two = serve.get("/api/snapshot?limit=2").json();
    assert_eq!(two["sockets"].as_array().unwrap().len(), 2);
    assert!(
        two["notes"].to_string().contains("limit=2"),
        "{}",
        two["notes"]
    );
    let bad = serve.get("/api/snapshot?filter=state+bogus");
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("bogus"), "{}", bad.text());

    // /api/frame: the page's data.
    let frame = serve.get("/api/frame").json();
    assert_eq!(frame["ready"], true);
    assert_eq!(frame["states"]["close-wait"], 4);

    // The page, health, and what is refused.
    let page = serve.get("/");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("default-src 'none'"));
    assert!(page.text().contains("<svg"));
    let health = serve.get("/healthz");
    assert_eq!(health.status, 200, "{}", health.text());
    assert!(health.text().starts_with("ok"));
    assert_eq!(serve.get("/nope").status, 404);
    let post = raw(
        serve.addr,
        format!(
            "POST /metrics HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            serve.addr
        )
        .as_bytes(),
    );
    assert!(post.starts_with("HTTP/1.1 405"), "{post}");
    assert!(post.to_lowercase().contains("allow: get, head"), "{post}");
    let head = raw(
        serve.addr,
        format!(
            "HEAD /metrics HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            serve.addr
        )
        .as_bytes(),
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.ends_with("\r\n\r\n"), "no body after HEAD: {head}");
    // A request for another host name (DNS rebinding) is not answered on loopback.
    let foreign = raw(
        serve.addr,
        b"GET /metrics HTTP/1.1\r\nHost: evil.example:9983\r\nConnection: close\r\n\r\n",
    );
    assert!(foreign.starts_with("HTTP/1.1 421"), "{foreign}");
    lab.stop();
}

#[test]
fn fifty_clients_and_five_thousand_scrapes_leave_nothing_behind() {
    if !root_or_skip("fifty_clients_and_five_thousand_scrapes_leave_nothing_behind") {
        return;
    }
    let ns = NetnsGuard::new("serve-load");
    let serve = Serve::start(&["--netns", &ns.name]);
    let addr = serve.addr;
    let pid = serve.pid();
    // Warm up, then take the baseline.
    for _ in 0..200 {
        assert_eq!(serve.get("/metrics").status, 200);
    }
    let fds = fd_count(pid);
    let rss = rss_kib(pid);

    let clients: Vec<_> = (0..50)
        .map(|i| {
            std::thread::spawn(move || -> Result<(), String> {
                if i % 2 == 0 {
                    // One keep-alive connection, 100 scrapes.
                    let mut c = KeepAlive::connect(addr).map_err(|e| e.to_string())?;
                    for _ in 0..100 {
                        let r = c.get("/metrics").map_err(|e| format!("keep-alive: {e}"))?;
                        if r.status != 200 || !r.text().contains("tcpscope_sockets") {
                            return Err(format!("status {}: {}", r.status, r.text()));
                        }
                    }
                } else {
                    // A new connection for each of 100 scrapes.
                    for _ in 0..100 {
                        let r = get(addr, "/metrics", &[]).map_err(|e| format!("get: {e}"))?;
                        if r.status != 200 || !r.text().contains("tcpscope_sockets") {
                            return Err(format!("status {}: {}", r.status, r.text()));
                        }
                    }
                }
                Ok(())
            })
        })
        .collect();
    let errors: Vec<String> = clients
        .into_iter()
        .filter_map(|c| c.join().expect("a client thread").err())
        .collect();
    assert!(
        errors.is_empty(),
        "{} clients failed: {:?}",
        errors.len(),
        errors
    );

    // Every connection closed on both sides: no CLOSE-WAIT on serve's port, descriptors and
    // memory back to the baseline.
    let close_wait = || common::ss_close_wait(addr.port());
    wait_for("serve's port to have no CLOSE-WAIT left", || {
        close_wait() == 0
    });
    wait_for("serve's descriptors to be back at the baseline", || {
        fd_count(pid) <= fds + 2
    });
    let grown = rss_kib(pid).saturating_sub(rss);
    assert!(
        grown < 16 * 1024,
        "RSS grew by {grown} KiB (from {rss} KiB)"
    );
    assert!(alive(pid));
}

#[test]
fn scrapes_within_the_cache_interval_share_one_poll() {
    if !root_or_skip("scrapes_within_the_cache_interval_share_one_poll") {
        return;
    }
    let ns = NetnsGuard::new("serve-cache");
    let serve = Serve::start(&["--netns", &ns.name, "--cache", "1h"]);
    let addr = serve.addr;
    // 20 clients at once from the start (before any poll), 10 scrapes each.
    let clients: Vec<_> = (0..20)
        .map(|_| {
            std::thread::spawn(move || {
                (0..10).all(|_| get(addr, "/metrics", &[]).is_ok_and(|r| r.status == 200))
            })
        })
        .collect();
    for c in clients {
        assert!(c.join().expect("a client thread"), "a scrape failed");
    }
    assert_eq!(serve.get("/api/frame").json()["ready"], true);
    assert_eq!(
        sum(&serve.metrics(), "tcpscope_polls_total", &[]),
        1.0,
        "202 answers within --cache 1h make one poll"
    );
}

#[test]
fn state_changes_are_counted_from_the_tracepoint() {
    if !root_or_skip("state_changes_are_counted_from_the_tracepoint") {
        return;
    }
    let ns = NetnsGuard::new("serve-trans");
    let serve = Serve::start(&["--netns", &ns.name]);
    let changes = |from: &str, to: &str| {
        sum(
            &serve.metrics(),
            "tcpscope_transitions_total",
            &[("from", from), ("to", to)],
        )
    };
    // Every edge the tracepoint can show is listed from the start, zeros included.
    let m = serve.metrics();
    let listed = m
        .iter()
        .filter(|s| s.name == "tcpscope_transitions_total")
        .count();
    assert_eq!(
        listed,
        tcpscope_core::analyze::fsm::tracepoint_edges().len(),
        "{m:?}"
    );
    assert!(m
        .iter()
        .any(|s| s.name == "tcpscope_trace_lost_events_total"));
    assert!(
        !m.iter()
            .any(|s| s.name == "tcpscope_transitions_total" && s.label("to") == "time-wait"),
        "the tracepoint shows no TIME-WAIT"
    );
    // The counts are the host's (a change carries no namespace): other work adds to them, so
    // they must grow by at least what lab's sockets did.
    let entered = changes("established", "close-wait");
    let listened = changes("closed", "listen");
    let lab = Lab::start(&["close-wait", "--count", "4", "--own-netns"]);
    wait_for("4 changes into CLOSE-WAIT counted", || {
        changes("established", "close-wait") >= entered + 4.0
    });
    assert!(changes("closed", "listen") >= listened + 1.0);
    lab.stop();

    // --no-trace: neither family.
    let quiet = Serve::start(&["--netns", &ns.name, "--no-trace"]);
    assert!(!quiet.metrics().iter().any(
        |s| s.name.starts_with("tcpscope_transitions") || s.name.starts_with("tcpscope_trace")
    ));
}

fn alive(pid: u32) -> bool {
    std::fs::metadata(format!("/proc/{pid}")).is_ok()
}

#[test]
fn slow_silent_and_oversized_clients_do_not_block_scrapes() {
    if !root_or_skip("slow_silent_and_oversized_clients_do_not_block_scrapes") {
        return;
    }
    let ns = NetnsGuard::new("serve-slow");
    let serve = Serve::start(&["--netns", &ns.name]);
    let addr = serve.addr;
    // Connect and send nothing.
    let silent: Vec<TcpStream> = (0..30)
        .map(|_| TcpStream::connect(addr).expect("connecting"))
        .collect();
    // Send a request one byte a second.
    let tricklers: Vec<_> = (0..5)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).expect("connecting");
                let req = format!(
                    "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nX-Slow: {}\r\n\r\n",
                    "z".repeat(100)
                );
                for b in req.bytes() {
                    if s.write_all(&[b]).is_err() {
                        return true; // dropped by the server
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
                // Not dropped: the server must not have answered a request it never completed
                // in time.
                let mut out = Vec::new();
                let _ = s.read_to_end(&mut out);
                !String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200")
            })
        })
        .collect();
    // Meanwhile, scrapes go through.
    for _ in 0..20 {
        let r = serve.get("/metrics");
        assert_eq!(r.status, 200);
    }
    // An oversized request head is refused, and serve goes on.
    let big = format!(
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let answer = raw(addr, big.as_bytes());
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{}",
        &answer[..answer.len().min(200)]
    );
    assert_eq!(serve.get("/metrics").status, 200);
    // The silent ones are closed by serve (header read timeout): they read end-of-file.
    for mut s in silent {
        s.set_read_timeout(Some(HANG_GUARD)).unwrap();
        let mut buf = [0u8; 512];
        // A read timeout here (an error) means serve kept the connection open.
        let n = s
            .read(&mut buf)
            .expect("serve closes a connection that sends nothing");
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(
            n == 0 || text.starts_with("HTTP/1.1 408"),
            "a silent client got {text:?}"
        );
    }
    for t in tricklers {
        assert!(
            t.join().expect("a trickler"),
            "a request sent over 100 s was answered"
        );
    }
    assert_eq!(serve.get("/metrics").status, 200);
}

#[test]
fn a_collector_that_fails_every_poll_is_reported_not_fatal() {
    if !root_or_skip("a_collector_that_fails_every_poll_is_reported_not_fatal") {
        return;
    }
    // Unprivileged, a filter on socket marks makes the kernel refuse every dump (EPERM).
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_tcpscope"));
    let serve = Serve::start_with(cmd, &["fwmark", "=", "0x1/0xff"]);
    for _ in 0..3 {
        let m = serve.metrics();
        assert!(sum(&m, "tcpscope_scrape_errors_total", &[]) >= 1.0, "{m:?}");
        assert_eq!(sum(&m, "tcpscope_stale", &[]), 1.0);
        assert!(
            !m.iter().any(|s| s.name == "tcpscope_sockets"),
            "no values to show"
        );
    }
    let health = serve.get("/healthz");
    assert_eq!(health.status, 503);
    assert!(health.text().contains("CAP_NET_ADMIN"), "{}", health.text());
    let doctor = serve.get("/api/doctor");
    assert_eq!(doctor.status, 503);
    assert!(doctor.json()["error"]
        .as_str()
        .unwrap()
        .contains("CAP_NET_ADMIN"));
    let frame = serve.get("/api/frame").json();
    assert_eq!(frame["ready"], false);
    assert_eq!(frame["stale"], true);
    assert!(alive(serve.pid()), "serve survived");
}

/// A process whose name holds a quote, a backslash and a newline, with a CLOSE-WAIT socket.
const WEIRD: &str = r#"
import ctypes, json, socket, sys
name = b'q"b\\s\nl\x01'
ctypes.CDLL(None).prctl(15, ctypes.c_char_p(name), 0, 0, 0)
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(8)
c = socket.create_connection(l.getsockname()); a, _ = l.accept()
c.shutdown(socket.SHUT_WR)
print(json.dumps({"port": l.getsockname()[1]}), flush=True)
sys.stdin.read()
"#;

#[test]
fn process_names_with_quotes_backslashes_and_newlines_are_escaped() {
    if !root_or_skip("process_names_with_quotes_backslashes_and_newlines_are_escaped") {
        return;
    }
    let ns = NetnsGuard::new("serve-esc");
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns.name, "python3", "-c", WEIRD])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting python3");
    let stdout = child.stdout.take().unwrap();
    let _guard = ChildGuard(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    assert!(line.contains("port"), "{line}");
    let serve = Serve::start(&["--netns", &ns.name]);
    let text = serve.get("/metrics").text();
    assert!(
        text.contains(r#"comm="q\"b\\s\nl"#),
        "escaped in the text format: {}",
        text.lines()
            .filter(|l| l.contains("comm="))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let m = parse_metrics(&text);
    let weird = "q\"b\\s\nl\u{1}";
    assert_eq!(
        sum(
            &m,
            "tcpscope_process_sockets",
            &[("comm", weird), ("state", "close-wait")]
        ),
        1.0,
        "{:?}",
        m.iter()
            .filter(|s| s.name == "tcpscope_process_sockets")
            .collect::<Vec<_>>()
    );
    // The page's data carries it as JSON text.
    let frame = serve.get("/api/frame").json();
    assert!(frame["processes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["comm"] == weird));
}
