//! Rule `syn-sent-stuck`: connection attempts that the destination does not answer.
//!
//! A SYN-SENT socket whose SYN has been retransmitted is waiting on a destination that neither
//! answers nor refuses: a firewall dropping SYNs, a host that is down, a wrong route. The kernel
//! gives up after net.ipv4.tcp_syn_retries (6 by default, about 127 s).

use super::{group_by, Context, Finding, Severity, Subject};
use crate::model::state::TcpState;

pub fn check(ctx: &Context) -> Vec<Finding> {
    let syn_sent = ctx
        .snapshot
        .sockets
        .iter()
        .filter(|s| s.state == TcpState::SynSent);
    let retries = ctx.sysctl_u64("net.ipv4.tcp_syn_retries").unwrap_or(6);
    group_by(syn_sent, |s| s.peer)
        .into_iter()
        .filter_map(|(dest, socks)| {
            let n = socks.len() as u64;
            let max_retrans = socks.iter().filter_map(|s| s.timer.map(|t| t.retrans)).max().unwrap_or(0);
            // Without a retransmission the SYN is simply in flight: not a finding however many.
            let severity = match max_retrans {
                0 => return None,
                1 if n < 10 => Severity::Info,
                _ => Severity::Warning,
            };
            Some(Finding {
                rule: "syn-sent-stuck",
                severity,
                subject: Subject { kind: "destination", name: dest.to_string(), pid: None , pids: vec![]},
                title: format!("{n} connection attempt(s) to {dest} get no answer"),
                evidence: vec![
                    format!("{n} socket(s) in SYN-SENT to {dest}"),
                    format!("SYN retransmitted up to {max_retrans} time(s); the kernel gives up after net.ipv4.tcp_syn_retries = {retries}"),
                ],
                explanation: format!(
                    "The SYN to {dest} is neither answered (SYN+ACK) nor refused (RST). Something drops it: a firewall, \
                     a host that is down, a wrong route or address. The program's connect() blocks or times out meanwhile."
                ),
                next_steps: vec![
                    format!("check {dest} is up and reachable from here (ping, traceroute, firewall rules on both sides)"),
                    format!("tcpscope ls -e state syn-sent dst {dest}"),
                    "give connect() a timeout in the program, so a dead destination fails fast".into(),
                ],
                sockets: n,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::analyze::diagnose::fixtures::*;
    use crate::analyze::diagnose::Severity;
    use crate::model::socket::TimerKind;
    use crate::model::state::TcpState;

    #[test]
    fn healthy_host_has_no_stuck_syn() {
        assert!(run_rule("syn-sent-stuck", &healthy()).is_empty());
    }

    #[test]
    fn retransmitted_syns_are_named_by_destination() {
        let mut a = sock(TcpState::SynSent, "10.0.0.1:40000", "192.0.2.7:5432");
        timer(&mut a, TimerKind::Retransmit, 4000, 3);
        let fresh = sock(TcpState::SynSent, "10.0.0.1:40001", "10.0.0.8:80");
        let f = run_rule("syn-sent-stuck", &snapshot(vec![a, fresh]));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(f[0].subject.name, "192.0.2.7:5432");
    }
}
