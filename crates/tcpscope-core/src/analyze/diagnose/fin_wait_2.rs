//! Rule `fin-wait-2`: this end closed its sending side and waits for the peer's FIN.
//!
//! Two very different cases. An *orphaned* FIN-WAIT-2 (the program called close(); inode 0, a
//! timer running) expires after tcp_fin_timeout: harmless unless there are many. A FIN-WAIT-2
//! *held by a process* (it called shutdown(SHUT_WR) and keeps the descriptor) has no timeout at
//! all: it waits as long as the peer keeps its side open — the peer is the one not closing.

use super::{group_by, owner_pid, top_counts, Context, Finding, Severity, Subject};
use crate::analyze::duration::human_ms;
use crate::model::socket::Socket;
use crate::model::state::TcpState;

/// A held FIN-WAIT-2 whose peer sent data more recently than this is a live half-close.
const QUIET_MS: u32 = 10_000;

pub fn check(ctx: &Context) -> Vec<Finding> {
    let fw2: Vec<&Socket> = ctx
        .snapshot
        .sockets
        .iter()
        .filter(|s| s.state == TcpState::FinWait2)
        .collect();
    let mut out = Vec::new();
    // A peer that still sends data is in a legitimate half-close (`ssh host cmd </dev/null`):
    // only peers silent for a while count.
    let quiet = |s: &Socket| {
        s.tcp_info
            .as_ref()
            .and_then(|i| i.last_data_recv_ms)
            .is_none_or(|ms| ms >= QUIET_MS)
    };
    // Held or orphaned: the inode says (or, in a capture without inodes, its owner column).
    let held = group_by(
        fw2.iter()
            .copied()
            .filter(|s| s.held() == Some(true) && quiet(s)),
        owner_pid,
    );
    for (pid, socks) in held {
        out.push(held_finding(ctx, pid, &socks));
    }
    let orphaned: Vec<&Socket> = fw2
        .iter()
        .copied()
        .filter(|s| s.held() == Some(false))
        .collect();
    if orphaned.len() >= 100 {
        out.push(orphaned_finding(ctx, &orphaned));
    }
    out
}

fn peer_close_wait_owner(ctx: &Context, socks: &[&Socket]) -> String {
    top_counts(
        socks
            .iter()
            .filter_map(|s| ctx.partner(s))
            .filter(|p| p.state == TcpState::CloseWait)
            .map(|p| {
                owner_pid(p).map_or("an unidentified process".into(), |pid| {
                    ctx.process_name(pid)
                })
            }),
        3,
    )
}

fn held_finding(ctx: &Context, pid: Option<u32>, socks: &[&Socket]) -> Finding {
    let n = socks.len() as u64;
    let who = pid.map_or("an unidentified process".to_string(), |p| {
        ctx.process_name(p)
    });
    let oldest = socks
        .iter()
        .filter_map(|s| s.tcp_info.as_ref()?.last_ack_recv_ms)
        .max()
        .map(u64::from);
    let mut evidence = vec![
        format!("{n} FIN-WAIT-2 socket(s) still held by {who}: it called shutdown(SHUT_WR) and keeps the descriptor"),
        format!("peers that have not closed: {}", top_counts(socks.iter().map(|s| s.peer.to_string()), 3)),
    ];
    if let Some(ms) = oldest {
        evidence.push(format!(
            "waiting for at least {} (tcp_info last_ack_recv)",
            human_ms(ms)
        ));
    }
    let local_peer = peer_close_wait_owner(ctx, socks);
    if !local_peer.is_empty() {
        evidence.push(format!(
            "the peers are on this host, in CLOSE-WAIT, held by {local_peer}"
        ));
    }
    let severity = if n >= 10 || oldest.is_some_and(|ms| ms >= 60_000) {
        Severity::Warning
    } else {
        Severity::Info
    };
    Finding {
        rule: "fin-wait-2",
        severity,
        subject: Subject { kind: "process", name: who.clone(), pid, pids: vec![] },
        title: format!("{who} waits on {n} peer(s) that do not close (FIN-WAIT-2, no timeout)"),
        evidence,
        explanation: "This end finished sending and waits for the peer's FIN. While a program holds the socket no timer \
            applies (tcp_fin_timeout is only for orphans), so it waits as long as the peer keeps its side open: \
            the peer's program is the one not closing (it sits in CLOSE-WAIT on its host)."
            .to_string(),
        next_steps: vec![
            "look at the peer: `tcpscope doctor` on the peer host shows its close-wait-leak".to_string(),
            "in this program, add a deadline: after shutdown(SHUT_WR), close() if the peer has not closed within N seconds".to_string(),
            "tcpscope ls -e -p state fin-wait-2".to_string(),
        ],
        sockets: n,
    }
}

fn orphaned_finding(ctx: &Context, socks: &[&Socket]) -> Finding {
    let n = socks.len() as u64;
    let timeout = ctx.sysctl("net.ipv4.tcp_fin_timeout").unwrap_or("60");
    let mut evidence = vec![
        format!("{n} orphaned FIN-WAIT-2 sockets (closed by their programs; inode 0)"),
        format!(
            "peers that have not closed: {}",
            top_counts(socks.iter().map(|s| s.peer.addr_text()), 3)
        ),
        format!("each expires after net.ipv4.tcp_fin_timeout = {timeout} s"),
    ];
    let local_peer = peer_close_wait_owner(ctx, socks);
    if !local_peer.is_empty() {
        evidence.push(format!(
            "their peers are on this host, in CLOSE-WAIT, held by {local_peer}"
        ));
    }
    Finding {
        rule: "fin-wait-2",
        severity: if n >= 1000 { Severity::Warning } else { Severity::Info },
        subject: Subject { kind: "host", name: "this host".into(), pid: None , pids: vec![]},
        title: format!("{n} orphaned FIN-WAIT-2: peers that do not close"),
        evidence,
        explanation: "These programs closed their connections but the peers never sent their FIN. The kernel drops each \
            after tcp_fin_timeout; a steady pile means some peer keeps sockets in CLOSE-WAIT."
            .to_string(),
        next_steps: vec!["find the peer that does not close: `tcpscope doctor` on the peer hosts".to_string()],
        sockets: n,
    }
}

#[cfg(test)]
mod tests {
    use crate::analyze::diagnose::fixtures::*;
    use crate::analyze::diagnose::Severity;
    use crate::model::state::TcpState;

    #[test]
    fn healthy_host_has_no_fin_wait_2_finding() {
        assert!(run_rule("fin-wait-2", &healthy()).is_empty());
    }

    #[test]
    fn held_fin_wait_2_blames_the_peer() {
        let mut socks = vec![];
        for i in 0..2 {
            let mut f = sock(
                TcpState::FinWait2,
                &format!("127.0.0.1:{}", 41000 + i),
                "127.0.0.1:9000",
            );
            owned(&mut f, 55, "client");
            idle(&mut f, 120_000);
            socks.push(f);
            let mut cw = sock(
                TcpState::CloseWait,
                "127.0.0.1:9000",
                &format!("127.0.0.1:{}", 41000 + i),
            );
            owned(&mut cw, 66, "lazy-server");
            socks.push(cw);
        }
        let f = run_rule("fin-wait-2", &snapshot(socks));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(f[0].subject.pid, Some(55));
        let ev = f[0].evidence.join("\n");
        assert!(ev.contains("pid 66 (lazy-server)"), "{ev}");
    }

    #[test]
    fn many_orphans_are_noted() {
        let socks = (0..150)
            .map(|i| {
                let mut s = sock(
                    TcpState::FinWait2,
                    &format!("10.0.0.1:{}", 40000 + i),
                    "10.0.0.2:80",
                );
                s.inode = 0;
                s
            })
            .collect();
        let f = run_rule("fin-wait-2", &snapshot(socks));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Info);
        assert!(f[0].evidence.join(" ").contains("tcp_fin_timeout = 60"));
    }
}
