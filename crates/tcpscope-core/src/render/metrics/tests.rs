//! What serve exports, checked on frames made from snapshots written as code.

use super::*;
use crate::analyze::diagnose::fixtures::*;
use crate::analyze::frame::of_snapshot;
use crate::model::snapshot::Snapshot;
use crate::model::socket::Socket;

fn status(frame: Option<&Frame>) -> ScrapeStatus<'_> {
    ScrapeStatus {
        frame,
        stale: false,
        polls_total: 3,
        errors_total: 0,
        scrape_seconds: 0.01,
        version: "0.1.0",
        transitions: None,
    }
}

fn family<'a>(fams: &'a [MetricFamily], name: &str) -> &'a MetricFamily {
    fams.iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no family {name}"))
}

fn value(f: &MetricFamily, labels: &[(&str, &str)]) -> Option<f64> {
    f.samples
        .iter()
        .find(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|s| s.value)
}

fn close_waits(pid: u32, comm: &str, n: usize, port: u16) -> Vec<Socket> {
    (0..n)
        .map(|i| {
            let mut s = sock(
                TcpState::CloseWait,
                &format!("127.0.0.1:{port}"),
                &format!("127.0.0.1:{}", 40000 + i),
            );
            s.cookie = u64::from(pid) * 100_000 + i as u64;
            owned(&mut s, pid, comm);
            idle(&mut s, 60_000 + i as u32 * 1000);
            s
        })
        .collect()
}

fn host() -> Snapshot {
    let mut socks = close_waits(10, "leaky", 30, 8080);
    socks.extend(close_waits(11, "leaky", 5, 8081));
    socks.extend(close_waits(12, "fine", 1, 8082));
    let mut l = sock(TcpState::Listen, "0.0.0.0:8080", "0.0.0.0:0");
    l.send_q = 128;
    l.recv_q = 3;
    owned(&mut l, 10, "leaky");
    socks.push(l);
    let mut l6 = sock(TcpState::Listen, "[::]:22", "[::]:0");
    l6.send_q = 128;
    socks.push(l6);
    let mut est = sock(TcpState::Established, "127.0.0.1:8080", "127.0.0.1:50000");
    owned(&mut est, 12, "fine");
    socks.push(est);
    for i in 0..40 {
        let mut tw = sock(
            TcpState::TimeWait,
            &format!("127.0.0.1:{}", 33000 + i),
            "10.0.0.5:443",
        );
        tw.inode = 0;
        socks.push(tw);
    }
    // Server-side TIME-WAIT: the local port is a listener's, not a destination's.
    let mut tw = sock(TcpState::TimeWait, "127.0.0.1:8080", "127.0.0.1:40001");
    tw.inode = 0;
    socks.push(tw);
    let mut snap = snapshot(socks);
    snap.kernel.tcp_ext.insert("ListenOverflows".into(), 7);
    snap.kernel.tcp.insert("EstabResets".into(), 3);
    snap
}

#[test]
fn every_state_and_family_is_listed_with_zeros() {
    let frame = of_snapshot(1, &host());
    let fams = families(&status(Some(&frame)), MetricLimits::default());
    let f = family(&fams, "tcpscope_sockets");
    assert_eq!(f.samples.len(), TcpState::ALL.len() * 2);
    let get = |state, family| value(f, &[("state", state), ("family", family), ("netns", "own")]);
    assert_eq!(get("close-wait", "inet"), Some(36.0));
    assert_eq!(get("close-wait", "inet6"), Some(0.0));
    assert_eq!(get("listen", "inet6"), Some(1.0));
    assert_eq!(get("time-wait", "inet"), Some(41.0));
    assert_eq!(get("bound-inactive", "inet6"), Some(0.0));
}

#[test]
fn processes_are_summed_by_command_and_capped() {
    let frame = of_snapshot(1, &host());
    let fams = families(&status(Some(&frame)), MetricLimits { top: 2 });
    let f = family(&fams, "tcpscope_process_sockets");
    // Two pids of `leaky` are one series; `kernel` holds the TIME-WAIT; `fine` is past the top 2.
    assert_eq!(
        value(f, &[("comm", "leaky"), ("state", "close-wait")]),
        Some(35.0)
    );
    assert_eq!(
        value(f, &[("comm", "leaky"), ("state", "listen")]),
        Some(1.0)
    );
    assert_eq!(
        value(f, &[("comm", "kernel"), ("state", "time-wait")]),
        Some(41.0)
    );
    assert_eq!(
        value(f, &[("comm", "other"), ("state", "close-wait")]),
        Some(1.0),
        "fine's CLOSE-WAIT"
    );
    assert!(
        f.samples
            .iter()
            .all(|s| s.labels.iter().all(|(_, v)| v != "established")),
        "ESTABLISHED is not exported per process"
    );
    // Per state, the processes add up to the host's count.
    for state in TcpState::ALL
        .into_iter()
        .filter(|s| *s != TcpState::Established)
    {
        let sum: f64 = f
            .samples
            .iter()
            .filter(|s| s.labels.contains(&("state", state.name().to_string())))
            .map(|s| s.value)
            .sum();
        assert_eq!(sum as u64, frame.counts.state_total(state), "{state}");
    }
    let oldest = family(&fams, "tcpscope_close_wait_oldest_idle_seconds");
    assert_eq!(value(oldest, &[("comm", "leaky")]), Some(89.0));
}

#[test]
fn time_wait_destinations_are_client_side_only() {
    let frame = of_snapshot(1, &host());
    let fams = families(&status(Some(&frame)), MetricLimits::default());
    let f = family(&fams, "tcpscope_time_wait_sockets_by_destination");
    assert_eq!(f.samples.len(), 1, "{f:?}");
    assert_eq!(value(f, &[("peer", "10.0.0.5:443")]), Some(40.0));
    let ports = family(&fams, "tcpscope_ephemeral_ports");
    assert_eq!(ports.samples[0].value, 28232.0);
}

#[test]
fn time_wait_destinations_past_the_top_are_other() {
    let socks: Vec<Socket> = (0..5u16)
        .flat_map(|d| {
            (0..=d).map(move |i| {
                let mut s = sock(
                    TcpState::TimeWait,
                    &format!("127.0.0.1:{}", 33000 + d * 100 + i),
                    &format!("10.0.0.{d}:80"),
                );
                s.inode = 0;
                s
            })
        })
        .collect();
    let frame = of_snapshot(1, &snapshot(socks));
    let fams = families(&status(Some(&frame)), MetricLimits { top: 2 });
    let f = family(&fams, "tcpscope_time_wait_sockets_by_destination");
    let peers: Vec<&str> = f.samples.iter().map(|s| s.labels[0].1.as_str()).collect();
    assert_eq!(peers, vec!["10.0.0.4:80", "10.0.0.3:80", "other"]);
    assert_eq!(f.samples[2].value, 6.0, "1 + 2 + 3");
}

#[test]
fn listeners_fullest_first_and_reuseport_summed() {
    let mut socks = Vec::new();
    for (local, q, b) in [
        ("0.0.0.0:80", 0, 128),
        ("0.0.0.0:443", 100, 128),
        ("0.0.0.0:443", 20, 128),
        ("127.0.0.1:9000", 5, 10),
    ] {
        let mut l = sock(TcpState::Listen, local, "0.0.0.0:0");
        l.recv_q = q;
        l.send_q = b;
        socks.push(l);
    }
    let frame = of_snapshot(1, &snapshot(socks));
    let fams = families(&status(Some(&frame)), MetricLimits { top: 2 });
    let q = family(&fams, "tcpscope_listen_queue");
    let locals: Vec<&str> = q.samples.iter().map(|s| s.labels[0].1.as_str()).collect();
    assert_eq!(locals, vec!["127.0.0.1:9000", "0.0.0.0:443"]);
    assert_eq!(q.samples[1].value, 120.0);
    let b = family(&fams, "tcpscope_listen_backlog");
    assert_eq!(b.samples[1].value, 256.0);
    assert_eq!(b.samples[1].labels[1], ("netns", "own".to_string()));
}

#[test]
fn findings_health_and_kernel_counters() {
    let frame = of_snapshot(1, &host());
    let fams = families(&status(Some(&frame)), MetricLimits::default());
    let f = family(&fams, "tcpscope_finding");
    assert!(
        f.samples
            .iter()
            .any(|s| s.labels[0] == ("rule", "close-wait-leak".to_string())),
        "{f:?}"
    );
    assert!(f.samples.iter().all(|s| s.value == 1.0));
    let health = family(&fams, "tcpscope_health");
    assert_eq!(health.samples[0].value, f64::from(frame.report.exit_code()));
    assert_eq!(
        family(&fams, "tcpscope_listen_overflows").samples[0].value,
        7.0
    );
    assert_eq!(
        family(&fams, "tcpscope_established_resets").samples[0].value,
        3.0
    );
    assert!(
        !fams.iter().any(|f| f.name == "tcpscope_listen_drops"),
        "a counter the kernel did not report is left out"
    );
}

#[test]
fn without_a_frame_only_the_exporter_speaks_and_says_stale() {
    let mut st = status(None);
    st.errors_total = 4;
    let fams = families(&st, MetricLimits::default());
    let names: Vec<&str> = fams.iter().map(|f| f.name).collect();
    assert_eq!(
        names,
        vec![
            "tcpscope_scrape_duration_seconds",
            "tcpscope_scrape_errors",
            "tcpscope_polls",
            "tcpscope_stale",
            "tcpscope_build"
        ]
    );
    assert_eq!(
        family(&fams, "tcpscope_scrape_errors").samples[0].value,
        4.0
    );
    assert_eq!(family(&fams, "tcpscope_stale").samples[0].value, 1.0);

    let frame = of_snapshot(1, &host());
    let mut st = status(Some(&frame));
    assert_eq!(
        family(&families(&st, MetricLimits::default()), "tcpscope_stale").samples[0].value,
        0.0
    );
    st.stale = true;
    let fams = families(&st, MetricLimits::default());
    assert_eq!(family(&fams, "tcpscope_stale").samples[0].value, 1.0);
    assert!(
        fams.iter().any(|f| f.name == "tcpscope_sockets"),
        "stale values are still shown"
    );
}

#[test]
fn names_and_labels_are_valid_and_series_unique() {
    let frame = of_snapshot(1, &host());
    let fams = families(&status(Some(&frame)), MetricLimits { top: 1 });
    let name_ok = |n: &str| {
        n.starts_with("tcpscope_")
            && n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    let mut names = std::collections::HashSet::new();
    for f in &fams {
        assert!(name_ok(f.name), "{}", f.name);
        assert!(names.insert(f.exposed_name()), "two families {}", f.name);
        assert!(!f.help.is_empty());
        if f.kind == MetricType::Counter {
            assert!(
                !f.name.ends_with("_total"),
                "the encoder adds _total: {}",
                f.name
            );
        } else {
            assert!(!f.name.ends_with("_total"), "{}", f.name);
        }
        let mut series = std::collections::HashSet::new();
        for s in &f.samples {
            for (k, _) in &s.labels {
                assert!(name_ok(&format!("tcpscope_{k}")), "label {k}");
            }
            assert!(
                series.insert(s.labels.clone()),
                "{} repeats {:?}",
                f.name,
                s.labels
            );
        }
    }
}

#[test]
fn odd_process_names_pass_through_bounded() {
    let weird = "a\"b\\c\nd\u{1}é";
    let mut socks = close_waits(10, weird, 2, 8080);
    socks.extend(close_waits(11, &"x".repeat(300), 1, 8081));
    let frame = of_snapshot(1, &snapshot(socks));
    let fams = families(&status(Some(&frame)), MetricLimits::default());
    let f = family(&fams, "tcpscope_process_sockets");
    assert_eq!(value(f, &[("comm", weird)]), Some(2.0), "{f:?}");
    let long = f
        .samples
        .iter()
        .find(|s| s.labels[0].1.starts_with('x'))
        .expect("the long name");
    assert_eq!(long.labels[0].1.chars().count(), MAX_LABEL_CHARS);
    assert!(long.labels[0].1.ends_with('…'));
}

#[test]
fn namespaces_are_labelled_without_quotes() {
    assert_eq!(netns_label("'blue'"), "blue");
    assert_eq!(netns_label("own"), "own");
    assert_eq!(
        netns_label("of pid 1 (docker:0123)"),
        "of pid 1 (docker:0123)"
    );
}

#[test]
fn negotiation_follows_accept() {
    // What Prometheus 2.42 sends.
    let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    assert_eq!(negotiate(Some(prom)), Exposition::OpenMetrics);
    assert_eq!(negotiate(Some("*/*")), Exposition::PrometheusText);
    assert_eq!(negotiate(None), Exposition::PrometheusText);
    assert_eq!(
        negotiate(Some("text/plain;version=0.0.4")),
        Exposition::PrometheusText
    );
    assert_eq!(
        negotiate(Some("application/openmetrics-text; q=0, text/plain")),
        Exposition::PrometheusText
    );
    assert_eq!(
        negotiate(Some("text/plain;q=0.3, application/openmetrics-text;q=0.9")),
        Exposition::OpenMetrics
    );
}

#[test]
fn transitions_list_every_traced_edge_with_zeros_and_what_the_kernel_reported() {
    let mut t = TransitionTotals::default();
    t.counts
        .insert((TcpState::Established, TcpState::CloseWait), 4);
    // Not in the model: exported anyway (the kernel said so).
    t.counts.insert((TcpState::Listen, TcpState::CloseWait), 1);
    t.lost = 2;
    let mut st = status(None);
    let fams = families(&st, MetricLimits::default());
    assert!(!fams.iter().any(|f| f.name == "tcpscope_transitions"));
    st.transitions = Some(&t);
    let fams = families(&st, MetricLimits::default());
    let f = family(&fams, "tcpscope_transitions");
    assert_eq!(f.kind, MetricType::Counter);
    assert_eq!(f.exposed_name(), "tcpscope_transitions_total");
    let edges = crate::analyze::fsm::tracepoint_edges();
    assert_eq!(f.samples.len(), edges.len() + 1);
    assert_eq!(
        value(f, &[("from", "established"), ("to", "close-wait")]),
        Some(4.0)
    );
    assert_eq!(
        value(f, &[("from", "listen"), ("to", "close-wait")]),
        Some(1.0)
    );
    assert_eq!(
        value(f, &[("from", "syn-sent"), ("to", "established")]),
        Some(0.0)
    );
    assert!(
        value(f, &[("to", "time-wait")]).is_none(),
        "the tracepoint never shows TIME-WAIT"
    );
    let lost = family(&fams, "tcpscope_trace_lost_events");
    assert_eq!(value(lost, &[]), Some(2.0));
}
