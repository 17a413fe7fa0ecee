//! Rule `time-wait-pressure`: TIME-WAIT per destination against the ephemeral port range, and
//! overall against tcp_max_tw_buckets.
//!
//! TIME-WAIT sits on the end that closed first and holds the 4-tuple for 60 s (fixed on Linux).
//! Towards one destination ip:port from one local address, each socket pins one ephemeral port,
//! so a client that opens and closes connections fast runs out of ports. The advice is the real
//! fix (reuse connections) and the safe setting (tcp_tw_reuse), and it names the folklore that
//! hurts (tcp_tw_recycle, SO_LINGER 0, tcp_fin_timeout). For a capture from another system the
//! port range, the TIME-WAIT length and the settings are that system's ([`super::systems`]:
//! Windows' dynamic ports and TcpTimedWaitDelay, Solaris' tcp_time_wait_interval, ...).

use super::digest::TimeWaitEnd;
use super::{netns_id, Context, Finding, Severity, Subject};
use crate::analyze::tracking::CountKey;
use crate::model::snapshot::System;
use crate::model::socket::Endpoint;
use crate::model::state::TcpState;
use std::collections::BTreeMap;

/// (low, high) of net.ipv4.ip_local_port_range, or the default of the system the sockets were
/// read on.
fn port_range(ctx: &Context) -> (u16, u16) {
    ctx.sysctl("net.ipv4.ip_local_port_range")
        .and_then(crate::decode::proc_net::parse_port_range)
        .unwrap_or(ctx.facts().ephemeral)
}

/// How long TIME-WAIT lasts where the sockets were read (60 s on Linux).
fn time_wait_ms(ctx: &Context) -> u64 {
    ctx.facts().time_wait_ms
}

/// "60 s" — TIME-WAIT's length as the evidence says it.
fn time_wait_secs(ctx: &Context) -> String {
    format!("{} s", time_wait_ms(ctx) / 1000)
}

pub fn check(ctx: &Context) -> Vec<Finding> {
    let (lo, hi) = port_range(ctx);
    let range = u64::from(hi.saturating_sub(lo)) + 1;
    let listening: std::collections::HashSet<(u64, u16)> = ctx
        .snapshot
        .sockets
        .iter()
        .filter(|s| s.state == TcpState::Listen)
        .map(|s| (netns_id(s), s.local.port))
        .collect();
    let tw = &ctx.input.time_wait;
    // Client side: the local port is ephemeral and not a listener's.
    let is_client = |s: &TimeWaitEnd| {
        (lo..=hi).contains(&s.local.port) && !listening.contains(&(s.netns, s.local.port))
    };
    let mut out = Vec::new();
    // Ports are per namespace: the same addresses in two namespaces are two port pools.
    let mut clients: BTreeMap<(u64, String, Endpoint), u64> = BTreeMap::new();
    let mut servers: BTreeMap<(u64, Endpoint), u64> = BTreeMap::new();
    for s in tw {
        if is_client(s) {
            *clients
                .entry((s.netns, s.local.addr_text(), s.peer))
                .or_default() += 1;
        } else {
            *servers.entry((s.netns, s.local)).or_default() += 1;
        }
    }
    for ((_, local, dest), n) in clients {
        let share = n as f64 / range as f64;
        let severity = if share >= 0.8 {
            Severity::Critical
        } else if share >= 0.5 {
            Severity::Warning
        } else if share >= 0.05 || n >= 1000 {
            Severity::Info
        } else {
            continue;
        };
        out.push(client_finding(
            ctx,
            severity,
            &local,
            &dest,
            n,
            range,
            (lo, hi),
        ));
    }
    for ((_, local), n) in servers {
        if n < 1000 {
            continue;
        }
        out.push(Finding {
            rule: "time-wait-pressure",
            severity: Severity::Info,
            subject: Subject {
                kind: "listener",
                name: local.to_string(),
                pid: None, pids: vec![]
            },
            title: format!("the server on {local} closes connections first: {n} in TIME-WAIT"),
            evidence: vec![
                format!("{n} TIME-WAIT sockets with local address {local} (about {:.0} connections closed per second)", n as f64 * 1000.0 / time_wait_ms(ctx) as f64),
                "the local side is the active closer: it sent the first FIN".to_string(),
            ],
            explanation: "Server-side TIME-WAIT does not use ephemeral ports (the clients' ports differ), it costs a \
                little kernel memory each and counts against tcp_max_tw_buckets."
                .to_string(),
            next_steps: vec![
                "let clients close first where the protocol allows (HTTP keep-alive with client-side close)".to_string(),
                "set SO_REUSEADDR on the listening socket so the server restarts while old connections are in TIME-WAIT".to_string(),
            ],
            sockets: n,
        });
    }
    out.extend(overall(ctx));
    out
}

fn client_finding(
    ctx: &Context,
    severity: Severity,
    local: &str,
    dest_ep: &Endpoint,
    n: u64,
    range: u64,
    (lo, hi): (u16, u16),
) -> Finding {
    let dest = dest_ep.to_string();
    let linux = ctx.system() == System::Linux;
    let reuse = ctx.sysctl("net.ipv4.tcp_tw_reuse").unwrap_or("?");
    let reuse_text = match reuse {
        "0" => "0 (off: new connections never reuse a TIME-WAIT port)",
        "1" => "1 (on: outgoing connections reuse TIME-WAIT ports when timestamps make it safe)",
        "2" => "2 (the default: reuse only for loopback connections)",
        _ => "unknown",
    };
    // With reuse in force a new connection takes over a TIME-WAIT port, so the range does not
    // run out; the churn is still worth knowing, one level less urgent.
    let reuse_applies = reuse == "1" || (reuse == "2" && dest_ep.addr.is_loopback());
    let severity = match (reuse_applies, severity) {
        (true, Severity::Critical) => Severity::Warning,
        (true, _) => Severity::Info,
        (false, s) => s,
    };
    let consequence = if reuse_applies {
        format!(
            "tcp_tw_reuse lets new connections to {dest} take over these ports (with TCP timestamps), so the range \
             is unlikely to run out; the churn still costs a handshake and a port per request"
        )
    } else if linux {
        format!(
            "At this rate new connections to {dest} will fail with EADDRNOTAVAIL (\"Cannot assign requested address\") \
             when the range is used up"
        )
    } else {
        format!(
            "At this rate new connections to {dest} will fail when the range is used up (Windows: WSAENOBUFS 10055 or \
             WSAEADDRINUSE 10048; elsewhere EADDRNOTAVAIL or EADDRINUSE)"
        )
    };
    let mut next_steps = vec![format!(
        "reuse connections to {dest}: HTTP keep-alive, a connection pool, fewer short-lived connections"
    )];
    if linux {
        if reuse != "1" {
            next_steps.push(ctx.facts().time_wait_steps[0].to_string());
        }
        next_steps.extend([
            ctx.facts().time_wait_steps[1].to_string(),
            "do not: tcp_tw_recycle (removed in Linux 4.12; it broke clients behind NAT), SO_LINGER with timeout 0 (aborts with RST and can lose data), lowering tcp_fin_timeout (it does not shorten TIME-WAIT)".to_string(),
        ]);
    } else {
        // The capture's own system: its port range and TIME-WAIT settings.
        next_steps.extend(ctx.facts().time_wait_steps.iter().map(|s| s.to_string()));
        next_steps.push(
            "do not: SO_LINGER with timeout 0 to dodge TIME-WAIT (aborts with RST and can lose data)"
                .to_string(),
        );
    }
    next_steps.push(format!("tcpscope ls state time-wait dst {dest}"));
    Finding {
        rule: "time-wait-pressure",
        severity,
        subject: Subject {
            kind: "destination",
            name: format!("{local} -> {dest}"),
            pid: None,
            pids: vec![],
        },
        title: format!(
            "{n} TIME-WAIT from {local} to {dest}: {:.0}% of the ephemeral ports",
            n as f64 * 100.0 / range as f64
        ),
        evidence: {
            let mut e = vec![
                if linux && !ctx.is_import() {
                    format!(
                        "{n} TIME-WAIT sockets from {local} to {dest}, {:.1}% of the {range} ports in ip_local_port_range ({lo}-{hi})",
                        n as f64 * 100.0 / range as f64
                    )
                } else {
                    format!(
                        "{n} TIME-WAIT sockets from {local} to {dest}, {:.1}% of the {range} ports of {} — assuming the default, the capture does not show the setting",
                        n as f64 * 100.0 / range as f64,
                        ctx.facts().ephemeral_text
                    )
                },
                format!(
                    "this host closed them first (it is the active closer); each keeps its port for {}, so about {:.0} connections per second are opened and closed",
                    time_wait_secs(ctx),
                    n as f64 * 1000.0 / time_wait_ms(ctx) as f64
                ),
            ];
            if linux {
                e.push(format!("net.ipv4.tcp_tw_reuse = {reuse_text}"));
            } else {
                e.push(format!("TIME-WAIT on {}: {}", ctx.system().display_name(), ctx.facts().time_wait_text));
            }
            e
        },
        explanation: format!(
            "Every connection from {local} to {dest} needs its own local port; a closed one keeps it for {} in TIME-WAIT. \
             {consequence}.",
            time_wait_secs(ctx)
        ),
        next_steps,
        sockets: n,
    }
}

/// The namespace-wide table against its limit. Both numbers come from the namespace the counters
/// were read in (sockstat's `tw`, not a count of listed sockets, which may span namespaces).
fn overall(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    let max = ctx.sysctl_u64("net.ipv4.tcp_max_tw_buckets");
    let tw = ctx.snapshot.kernel.sockstat.map(|s| s.tcp_tw);
    if let (Some(max), Some(tw)) = (max.filter(|m| *m > 0), tw) {
        let share = tw as f64 / max as f64;
        if share >= 0.5 {
            out.push(Finding {
                rule: "time-wait-pressure",
                severity: if share >= 0.8 { Severity::Critical } else { Severity::Warning },
                subject: Subject { kind: "host", name: "this host".into(), pid: None , pids: vec![]},
                title: format!("{tw} TIME-WAIT sockets: {:.0}% of tcp_max_tw_buckets", share * 100.0),
                evidence: vec![format!("{tw} TIME-WAIT of net.ipv4.tcp_max_tw_buckets = {max}")],
                explanation: "When the table is full the kernel destroys new TIME-WAIT sockets at once (\"TCP: time wait bucket table overflow\"), which can let delayed segments of an old connection corrupt a new one.".into(),
                next_steps: vec!["find who closes first: the destination findings above, or `tcpscope summary`".into()],
                sockets: tw,
            });
        }
    }
    if let Some(overflow) = ctx.counter("TCPTimeWaitOverflow").filter(|n| *n > 0) {
        // Since boot: a note, unless --watch sees it grow now.
        let growing = ctx
            .tracker
            .and_then(|t| t.rate_per_min(CountKey::Counter("TCPTimeWaitOverflow")))
            .is_some_and(|r| r > 0.0);
        out.push(Finding {
            rule: "time-wait-pressure",
            severity: if growing { Severity::Warning } else { Severity::Info },
            subject: Subject { kind: "host", name: "this host".into(), pid: None , pids: vec![]},
            title: format!("the TIME-WAIT table overflowed {overflow} times since boot"),
            evidence: vec![format!("TcpExt TCPTimeWaitOverflow = {overflow} (/proc/net/netstat)")],
            explanation: "TIME-WAIT sockets were dropped early because tcp_max_tw_buckets was reached.".into(),
            next_steps: vec!["reduce connection churn (keep-alive, pooling) on the hosts with the most TIME-WAIT".into()],
            sockets: 0,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::analyze::diagnose::fixtures::*;
    use crate::analyze::diagnose::Severity;
    use crate::model::socket::TimerKind;
    use crate::model::state::TcpState;

    fn tw(local: &str, peer: &str) -> crate::model::socket::Socket {
        let mut s = sock(TcpState::TimeWait, local, peer);
        s.inode = 0;
        timer(&mut s, TimerKind::TimeWait, 30_000, 0);
        s
    }

    #[test]
    fn healthy_host_has_no_pressure() {
        assert!(run_rule("time-wait-pressure", &healthy()).is_empty());
    }

    #[test]
    fn one_destination_exhausting_ports_is_named() {
        let mut socks: Vec<_> = (0..15_000)
            .map(|i| tw(&format!("10.0.0.1:{}", 32768 + i), "10.0.0.5:443"))
            .collect();
        socks.extend((0..50).map(|i| tw(&format!("10.0.0.1:{}", 50000 + i), "10.0.0.6:80")));
        let f = run_rule("time-wait-pressure", &snapshot(socks));
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(f[0].subject.name, "10.0.0.1 -> 10.0.0.5:443");
        let text = format!("{:?}", f[0]);
        assert!(
            text.contains("active closer") && text.contains("tcp_tw_recycle"),
            "{text}"
        );
        assert!(text.contains("28232 ports"), "{text}");
    }

    #[test]
    fn table_overflow_and_server_side() {
        let mut socks: Vec<_> = (0..1200)
            .map(|i| tw("10.0.0.1:443", &format!("10.0.0.9:{}", 30000 + i)))
            .collect();
        let mut l = sock(TcpState::Listen, "0.0.0.0:443", "0.0.0.0:0");
        l.send_q = 128;
        socks.push(l);
        let mut snap = snapshot(socks);
        snap.kernel.tcp_ext.insert("TCPTimeWaitOverflow".into(), 12);
        snap.kernel.sockstat = Some(crate::model::snapshot::SockStat {
            tcp_tw: 1200,
            ..Default::default()
        });
        snap.kernel
            .sysctls
            .insert("net.ipv4.tcp_max_tw_buckets".into(), "1500".into());
        let f = run_rule("time-wait-pressure", &snap);
        let kinds: Vec<&str> = f.iter().map(|f| f.subject.kind).collect();
        assert_eq!(kinds, vec!["listener", "host", "host"], "{f:#?}");
        assert_eq!(f[1].severity, Severity::Critical, "the table is 80% full");
        assert_eq!(
            f[2].severity,
            Severity::Info,
            "an overflow since boot is a note"
        );
    }

    #[test]
    fn reuse_on_loopback_lowers_the_urgency() {
        let socks: Vec<_> = (0..15_000)
            .map(|i| tw(&format!("127.0.0.1:{}", 32768 + i), "127.0.0.1:8080"))
            .collect();
        let f = run_rule("time-wait-pressure", &snapshot(socks));
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].severity,
            Severity::Info,
            "tcp_tw_reuse=2 covers loopback"
        );
        assert!(
            f[0].explanation.contains("unlikely to run out"),
            "{}",
            f[0].explanation
        );
        assert!(!f[0].explanation.contains("EADDRNOTAVAIL"));
    }
}
