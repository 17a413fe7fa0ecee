//! Rule `closing-pileup`: LAST-ACK, FIN-WAIT-1 and CLOSING sockets whose peers stopped
//! answering.
//!
//! Each of these waits for the peer to acknowledge our FIN. Normally that takes one round trip;
//! sockets that stay, with the retransmission timer running, mean the peer vanished (host gone,
//! firewall, NAT entry expired) and the kernel keeps retransmitting until tcp_orphan_retries
//! (orphans) or tcp_retries2 gives up.

use super::{group_by, Context, Finding, Severity, Subject};
use crate::model::state::TcpState;

fn meaning(state: TcpState) -> &'static str {
    match state {
        TcpState::LastAck => "the peer closed first, this end closed too and waits for the ACK of its FIN",
        TcpState::FinWait1 => "this end closed and its FIN is not acknowledged yet (or unsent data waits for the peer's window)",
        _ => "both ends closed at the same time; this end waits for the ACK of its FIN",
    }
}

pub fn check(ctx: &Context) -> Vec<Finding> {
    let closing = ctx.snapshot.sockets.iter().filter(|s| {
        matches!(
            s.state,
            TcpState::LastAck | TcpState::FinWait1 | TcpState::Closing
        )
    });
    group_by(closing, |s| (s.state, s.peer.addr_text()))
        .into_iter()
        .filter_map(|((state, peer), socks)| {
            let n = socks.len() as u64;
            let max_retrans = socks.iter().filter_map(|s| s.timer.map(|t| t.retrans)).max().unwrap_or(0);
            let orphans = socks.iter().filter(|s| s.held() == Some(false)).count();
            // Without a retransmission the FIN is simply in flight: not a finding however many.
            let severity = match max_retrans {
                0 => return None,
                1 | 2 if n < 10 => Severity::Info,
                _ => Severity::Warning,
            };
            let limit = if orphans > 0 {
                format!(
                    "net.ipv4.tcp_orphan_retries = {} for the {orphans} orphaned one(s)",
                    ctx.sysctl("net.ipv4.tcp_orphan_retries").unwrap_or("0 (means 8)")
                )
            } else {
                format!("net.ipv4.tcp_retries2 = {}", ctx.sysctl("net.ipv4.tcp_retries2").unwrap_or("15"))
            };
            Some(Finding {
                rule: "closing-pileup",
                severity,
                subject: Subject { kind: "peer", name: peer.clone(), pid: None , pids: vec![]},
                title: format!("{n} socket(s) in {} towards {peer}: the peer does not acknowledge", state.display_name()),
                evidence: vec![
                    format!("{n} socket(s) in {} with peer {peer} ({orphans} orphaned: no process holds them)", state.display_name()),
                    format!("FIN retransmitted up to {max_retrans} time(s); the kernel gives up per {limit}"),
                ],
                explanation: format!(
                    "{}: {}. Staying here with retransmissions means the peer vanished or something between drops its packets.",
                    state.display_name(),
                    meaning(state)
                ),
                next_steps: vec![
                    format!("check that {peer} is alive and reachable; look for a firewall or NAT that forgets idle connections"),
                    format!("tcpscope ls -e state {} dst {peer}", state.name()),
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
    fn healthy_host_has_no_pileup() {
        assert!(run_rule("closing-pileup", &healthy()).is_empty());
    }

    #[test]
    fn last_ack_with_retransmissions_is_flagged() {
        let mut s = sock(TcpState::LastAck, "10.0.0.1:443", "10.0.0.77:5000");
        s.inode = 0;
        timer(&mut s, TimerKind::Retransmit, 3000, 4);
        let f = run_rule("closing-pileup", &snapshot(vec![s]));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].title.contains("LAST-ACK") && f[0].title.contains("10.0.0.77"));
        assert!(f[0].evidence[1].contains("tcp_orphan_retries"));
    }
}
