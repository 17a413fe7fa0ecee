//! Rule `listen-overflow`: listeners whose accept queue reaches its backlog.
//!
//! For a LISTEN socket the kernel reports the accept queue length as Recv-Q and the backlog as
//! Send-Q. A full queue means completed handshakes wait for the program to call accept(); new
//! ones are dropped (ListenOverflows / ListenDrops count them since boot). The program is not
//! accepting fast enough — busy, blocked or stopped — or the backlog is too small for bursts.

use super::{owner_pid, Context, Finding, Severity, Subject};
use crate::analyze::tracking::CountKey;
use crate::model::socket::Socket;
use crate::model::state::TcpState;

pub fn check(ctx: &Context) -> Vec<Finding> {
    let mut out: Vec<Finding> = ctx
        .snapshot
        .sockets
        .iter()
        // A queue or backlog the source does not know (/proc/net/tcp, net-tools and BSD captures
        // print 0 for it) cannot be judged: "accept queue 1 of backlog 0" would be a false alarm.
        .filter(|s| s.state == TcpState::Listen && s.recv_q_known() && s.send_q_known())
        .filter(|s| s.recv_q > 0)
        .filter(|s| u64::from(s.recv_q) * 10 >= u64::from(s.send_q) * 8)
        .map(|l| listener_finding(ctx, l))
        .collect();
    let overflows = ctx.counter("ListenOverflows").unwrap_or(0);
    let drops = ctx.counter("ListenDrops").unwrap_or(0);
    if out.is_empty() && (overflows > 0 || drops > 0) {
        out.push(Finding {
            rule: "listen-overflow",
            severity: Severity::Info,
            subject: Subject { kind: "host", name: "this host".into(), pid: None , pids: vec![]},
            title: format!("accept queues overflowed {overflows} times since boot (none is full now)"),
            evidence: vec![format!(
                "TcpExt ListenOverflows = {overflows}, ListenDrops = {drops} (/proc/net/netstat, since boot)"
            )],
            explanation: "At some point a listener's accept queue was full and connection attempts were dropped. \
                `tcpscope doctor --watch 10s` shows whether the counters still grow."
                .into(),
            next_steps: vec!["tcpscope ls -l   # Recv-Q (queue) against Send-Q (backlog) per listener".into()],
            sockets: 0,
        });
    }
    out
}

fn listener_finding(ctx: &Context, l: &Socket) -> Finding {
    // The kernel drops when the queue exceeds the backlog (sk_acceptq_is_full: `>`), so a queue
    // of backlog + 1 is full; a queue at exactly its backlog is not dropping yet.
    let full = l.recv_q > l.send_q;
    let pid = owner_pid(l);
    let who = pid.map_or("its program".to_string(), |p| ctx.process_name(p));
    let syn_recv: u64 = ctx
        .input
        .syn_recv
        .iter()
        .filter(|(local, _)| {
            local.port == l.local.port && (l.local.is_unspecified() || local.addr == l.local.addr)
        })
        .map(|(_, n)| n)
        .sum();
    let mut evidence = vec![
        format!(
            "accept queue {} of backlog {} on {}",
            l.recv_q, l.send_q, l.local
        ),
        format!("{syn_recv} connection(s) still in the handshake (SYN-RECV) for this port"),
    ];
    if let Some(max) = ctx.sysctl_u64("net.core.somaxconn") {
        if u64::from(l.send_q) == max {
            evidence.push(format!("the backlog equals net.core.somaxconn = {max}: the program may have asked for more and been capped"));
        }
    }
    for name in ["ListenOverflows", "ListenDrops"] {
        if let Some(v) = ctx.counter(name) {
            let growth = ctx
                .tracker
                .and_then(|t| t.growth_text(CountKey::Counter(name), name))
                .map(|g| format!("; {g}"))
                .unwrap_or_default();
            evidence.push(format!("TcpExt {name} = {v} since boot{growth}"));
        }
    }
    if let Some(p) = pid.and_then(|p| ctx.process(p)) {
        if let (Some(text), Some(letter)) = (p.state_text(), p.state) {
            evidence.push(format!("{who} is {letter} — {text}"));
        }
    }
    Finding {
        rule: "listen-overflow",
        severity: if full { Severity::Critical } else { Severity::Warning },
        subject: Subject { kind: "listener", name: l.local.to_string(), pid, pids: vec![] },
        title: if full {
            format!("the accept queue of {} is full: {who} is not calling accept(); new connections are dropped", l.local)
        } else {
            format!("the accept queue of {} is {}% full", l.local, u64::from(l.recv_q) * 100 / u64::from(l.send_q.max(1)))
        },
        evidence,
        explanation: "Connections whose handshake completed wait in the accept queue until the program calls accept(). \
            When it is full the kernel drops new handshakes (clients see timeouts and retries). The cause is the \
            program: too few acceptor threads, a blocked or stopped event loop, or a backlog too small for bursts."
            .into(),
        next_steps: vec![
            pid.map_or("tcpscope ls -l -p   # who owns the listener".to_string(), |p| format!("cat /proc/{p}/stack; top -H -p {p}   # is it busy or blocked?")),
            "accept faster: more acceptor threads/workers, never block the accept loop".into(),
            "for bursts: a larger listen() backlog, and net.core.somaxconn at least as large".into(),
        ],
        sockets: u64::from(l.recv_q),
    }
}

#[cfg(test)]
mod tests {
    use crate::analyze::diagnose::fixtures::*;
    use crate::analyze::diagnose::Severity;
    use crate::model::state::TcpState;

    #[test]
    fn healthy_host_has_no_overflow() {
        assert!(run_rule("listen-overflow", &healthy()).is_empty());
    }

    #[test]
    fn full_queue_is_critical_and_counts_syn_recv() {
        let mut l = sock(TcpState::Listen, "127.0.0.1:7000", "0.0.0.0:0");
        l.recv_q = 5;
        l.send_q = 4;
        owned(&mut l, 9, "slow");
        let sr = sock(TcpState::SynRecv, "127.0.0.1:7000", "127.0.0.1:50000");
        let mut snap = snapshot(vec![l, sr]);
        snap.kernel.tcp_ext.insert("ListenOverflows".into(), 30);
        let f = run_rule("listen-overflow", &snap);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Critical);
        assert_eq!(f[0].subject.name, "127.0.0.1:7000");
        let ev = f[0].evidence.join("\n");
        assert!(
            ev.contains("accept queue 5 of backlog 4")
                && ev.contains("1 connection(s) still in the handshake"),
            "{ev}"
        );
        assert!(ev.contains("ListenOverflows = 30"), "{ev}");
    }

    #[test]
    fn a_queue_at_its_backlog_is_not_dropping_yet() {
        let mut at = sock(TcpState::Listen, "127.0.0.1:7001", "0.0.0.0:0");
        at.recv_q = 4;
        at.send_q = 4;
        let mut zero = sock(TcpState::Listen, "127.0.0.1:7002", "0.0.0.0:0");
        zero.recv_q = 1;
        zero.send_q = 0; // listen(fd, 0): one waiting connection already fills it
        let f = run_rule("listen-overflow", &snapshot(vec![at, zero]));
        assert_eq!(f.len(), 2);
        let sev = |name: &str| f.iter().find(|f| f.subject.name == name).unwrap().severity;
        assert_eq!(sev("127.0.0.1:7001"), Severity::Warning);
        assert_eq!(sev("127.0.0.1:7002"), Severity::Critical);
    }

    /// Regression: with `--source proc` a listener's backlog is unknown (/proc/net/tcp prints
    /// 0), and one waiting connection gave a false critical "accept queue 1 of backlog 0".
    #[test]
    fn a_listener_of_unknown_backlog_is_not_judged() {
        use crate::model::missing::{Datum, Missing};
        use crate::model::snapshot::SourceKind;
        let mut l = sock(TcpState::Listen, "127.0.0.1:7003", "0.0.0.0:0");
        l.recv_q = 1;
        l.send_q = 0;
        l.missing = Missing::of(&[Datum::Backlog]);
        let mut snap = snapshot(vec![l]);
        snap.source = SourceKind::ProcNet.into();
        snap.kernel.tcp_ext.insert("ListenOverflows".into(), 2);
        let f = run_rule("listen-overflow", &snap);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].severity, Severity::Info, "only the counters' note");
        // An old proc-net recording without `missing` reads the same way.
        let mut old = snapshot(vec![sock(TcpState::Listen, "127.0.0.1:7004", "0.0.0.0:0")]);
        old.sockets[0].recv_q = 1;
        old.source = SourceKind::ProcNet.into();
        let mut json = Vec::new();
        old.write_json(&mut json).unwrap();
        assert!(!String::from_utf8_lossy(&json).contains("missing"));
        let back = crate::model::snapshot::Snapshot::from_reader(&json[..]).unwrap();
        assert!(run_rule("listen-overflow", &back).is_empty());
    }

    #[test]
    fn past_overflows_alone_are_a_note() {
        let mut snap = healthy();
        snap.kernel.tcp_ext.insert("ListenOverflows".into(), 3);
        let f = run_rule("listen-overflow", &snap);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Info);
    }
}
