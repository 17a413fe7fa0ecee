//! Rule `unread-receive-queue`: local programs that stopped reading.
//!
//! Data that arrived and sits in Recv-Q has been acknowledged by the kernel but not read by the
//! program. A large queue means this host's program is the slow or stuck one (the mirror image
//! of `send-queue-stall`).

use super::{group_by, owner_pid, Context, Finding, Severity, Subject};
use crate::model::state::TcpState;

/// Recv-Q from this size up counts as unread.
use super::digest::LARGE_RECV_Q;

pub fn check(ctx: &Context) -> Vec<Finding> {
    let unread = ctx.snapshot.sockets.iter().filter(|s| {
        matches!(
            s.state,
            TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2
        ) && s.recv_q >= LARGE_RECV_Q
    });
    group_by(unread, owner_pid)
        .into_iter()
        .map(|(pid, socks)| {
            let n = socks.len() as u64;
            let who = pid.map_or("an unidentified process".to_string(), |p| ctx.process_name(p));
            let bytes: u64 = socks.iter().map(|s| u64::from(s.recv_q)).sum();
            let mut evidence = vec![
                format!("{n} connection(s) with {bytes} bytes received and not read"),
                format!("largest Recv-Q {} bytes", socks.iter().map(|s| s.recv_q).max().unwrap_or(0)),
            ];
            if let Some(p) = pid.and_then(|p| ctx.process(p)) {
                if let (Some(t), Some(l)) = (p.state_text(), p.state) {
                    evidence.push(format!("process state: {l} — {t}"));
                }
            }
            let stuck = pid.and_then(|p| ctx.process(p)).is_some_and(|p| p.is_stuck());
            Finding {
                rule: "unread-receive-queue",
                severity: if stuck { Severity::Critical } else { Severity::Warning },
                subject: Subject { kind: "process", name: who.clone(), pid, pids: vec![] },
                title: format!("{who} is not reading: {bytes} bytes waiting in Recv-Q"),
                evidence,
                explanation: "The kernel received and acknowledged this data, but the program has not read it. It is busy, \
                    blocked or stopped; its peers will see a zero window and stall."
                    .into(),
                next_steps: vec![
                    pid.map_or("tcpscope ls -p -e   # who holds these sockets".to_string(), |p| format!("cat /proc/{p}/stack; top -H -p {p}")),
                    "tcpscope ls -e -p state established".into(),
                ],
                sockets: n,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::analyze::diagnose::fixtures::*;
    use crate::analyze::diagnose::Severity;
    use crate::model::state::TcpState;

    #[test]
    fn healthy_host_reads_its_data() {
        assert!(run_rule("unread-receive-queue", &healthy()).is_empty());
    }

    #[test]
    fn large_recv_q_blames_the_local_process() {
        let mut s = sock(TcpState::Established, "10.0.0.1:8080", "10.0.0.2:50000");
        s.recv_q = 300_000;
        owned(&mut s, 31, "worker");
        let mut snap = snapshot(vec![s]);
        process(&mut snap, 31, "worker", 'D');
        let f = run_rule("unread-receive-queue", &snap);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].evidence.join(" ").contains("uninterruptible"));
    }
}
