//! Rule `send-queue-stall`: peers that stopped reading.
//!
//! When the peer's program stops reading, its receive buffer fills, it advertises a zero window,
//! and this end's data piles up in Send-Q while the kernel sends zero-window probes. The fault is
//! on the peer's side; this end's writes block or buffer without bound.

use super::{group_by, owner_pid, Context, Finding, Severity, Subject};
use crate::model::socket::TimerKind;
use crate::model::state::TcpState;

/// Send-Q above this on a connected socket counts as stalled even without a probe timer.
use super::digest::LARGE_SEND_Q;

pub fn check(ctx: &Context) -> Vec<Finding> {
    let stalled = ctx.snapshot.sockets.iter().filter(|s| {
        s.state != TcpState::Listen
            && (s
                .timer
                .is_some_and(|t| t.kind == TimerKind::ZeroWindowProbe)
                || s.send_q >= LARGE_SEND_Q)
    });
    group_by(stalled, |s| s.peer)
        .into_iter()
        .map(|(peer, socks)| {
            let n = socks.len() as u64;
            let probing = socks
                .iter()
                .filter(|s| s.timer.is_some_and(|t| t.kind == TimerKind::ZeroWindowProbe))
                .count();
            let queued: u64 = socks.iter().map(|s| u64::from(s.send_q)).sum();
            let senders = super::top_counts(
                socks.iter().filter_map(|s| owner_pid(s)).map(|p| ctx.process_name(p)),
                3,
            );
            let mut evidence = vec![
                format!("{n} connection(s) to {peer} with {queued} bytes waiting in Send-Q"),
                format!("{probing} of them probing a zero window (the peer's receive buffer is full)"),
            ];
            if !senders.is_empty() {
                evidence.push(format!("held here by {senders}"));
            }
            Finding {
                rule: "send-queue-stall",
                // A zero window proves the peer stopped reading; a large Send-Q alone may be a
                // bulk transfer on a long, fast path.
                severity: if probing > 0 { Severity::Warning } else { Severity::Info },
                subject: Subject { kind: "peer", name: peer.to_string(), pid: None , pids: vec![]},
                title: format!("{peer} is not reading: {queued} bytes stuck in Send-Q"),
                evidence,
                explanation: "The peer's program is not reading its socket (busy, blocked, or stopped), so its window is \
                    closed and data queues here. The fault is on the peer's side."
                    .into(),
                next_steps: vec![
                    format!("look at the program behind {peer}: `tcpscope doctor` there shows an unread-receive-queue"),
                    "give writes a timeout in this program so a stuck peer does not stall it".into(),
                ],
                sockets: n,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::analyze::diagnose::fixtures::*;
    use crate::model::socket::TimerKind;
    use crate::model::state::TcpState;

    #[test]
    fn healthy_host_has_no_stall() {
        assert!(run_rule("send-queue-stall", &healthy()).is_empty());
    }

    #[test]
    fn zero_window_probe_names_the_peer() {
        let mut s = sock(TcpState::Established, "10.0.0.1:40000", "10.0.0.3:9092");
        s.send_q = 2_500_000;
        timer(&mut s, TimerKind::ZeroWindowProbe, 800, 5);
        let f = run_rule("send-queue-stall", &snapshot(vec![s]));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].subject.name, "10.0.0.3:9092");
        assert!(f[0].evidence[1].starts_with("1 of them probing"));
    }
}
