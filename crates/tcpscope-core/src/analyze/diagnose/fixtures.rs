//! Builders for the rule tests: small snapshots written as code, so each test shows exactly the
//! sockets, processes and counters its rule sees.

use crate::model::process::{Owner, ProcessFacts, ProcessIdentity};
use crate::model::snapshot::{Snapshot, SourceKind};
use crate::model::socket::{Endpoint, Family, Socket, TcpInfo, Timer, TimerKind};
use crate::model::state::TcpState;
use std::sync::Arc;

pub const NOW: u64 = 1_795_000_000_000;

pub fn ep(s: &str) -> Endpoint {
    let (a, p) = s.rsplit_once(':').expect("ADDR:PORT");
    let a = a.trim_start_matches('[').trim_end_matches(']');
    Endpoint::new(a.parse().expect("address"), p.parse().expect("port"))
}

pub fn sock(state: TcpState, local: &str, peer: &str) -> Socket {
    let local = ep(local);
    let family = if local.addr.is_ipv4() {
        Family::Inet
    } else {
        Family::Inet6
    };
    Socket {
        inode: 1000,
        cookie: 1,
        ..Socket::new(state, family, local, ep(peer))
    }
}

pub fn owned(s: &mut Socket, pid: u32, comm: &str) {
    s.owners.push(Owner {
        pid,
        fd: 3,
        process: identity(comm),
    });
}

pub fn idle(s: &mut Socket, ms: u32) {
    s.tcp_info = Some(TcpInfo {
        last_data_sent_ms: Some(ms),
        last_data_recv_ms: Some(ms),
        last_ack_recv_ms: Some(ms),
        ..TcpInfo::default()
    });
}

pub fn timer(s: &mut Socket, kind: TimerKind, expires_ms: u64, retrans: u32) {
    s.timer = Some(Timer {
        kind,
        expires_ms,
        retrans,
    });
}

pub fn snapshot_at(now: u64, sockets: Vec<Socket>) -> Snapshot {
    let mut snap = Snapshot::new(now, SourceKind::Netlink);
    snap.sockets = sockets;
    for (k, v) in [
        ("net.ipv4.ip_local_port_range", "32768\t60999"),
        ("net.ipv4.tcp_fin_timeout", "60"),
        ("net.ipv4.tcp_tw_reuse", "2"),
        ("net.ipv4.tcp_max_tw_buckets", "131072"),
        ("net.ipv4.tcp_max_orphans", "131072"),
        ("net.ipv4.tcp_syn_retries", "6"),
        ("net.core.somaxconn", "4096"),
    ] {
        snap.kernel.sysctls.insert(k.to_string(), v.to_string());
    }
    snap
}

pub fn snapshot(sockets: Vec<Socket>) -> Snapshot {
    snapshot_at(NOW, sockets)
}

pub fn process<'a>(
    snap: &'a mut Snapshot,
    pid: u32,
    comm: &str,
    state: char,
) -> &'a mut ProcessFacts {
    snap.processes.entry(pid).or_insert(ProcessFacts {
        state: Some(state),
        ppid: None,
        fd_count: Some(20),
        fd_limit: Some(1024),
        wchan: Some("do_epoll_wait".to_string()),
        ..ProcessFacts::new(pid, identity(comm))
    })
}

/// The identity the fixtures give a process called `comm`.
pub fn identity(comm: &str) -> Arc<ProcessIdentity> {
    Arc::new(ProcessIdentity {
        comm: comm.to_string(),
        cmdline: comm.to_string(),
        user: "app".to_string(),
        container: None,
        unit: None,
    })
}

/// `n` connections to a stopped server on 127.0.0.1:8080: each server end in CLOSE-WAIT (FIN
/// unread, idle for `idle_ms`) held by `pid`, each client end an orphaned FIN-WAIT-2.
pub fn stopped_server_pairs(pid: u32, n: u16, idle_ms: u32) -> Vec<Socket> {
    let mut socks = Vec::new();
    for i in 0..n {
        let client = format!("127.0.0.1:{}", 40000 + i);
        let mut cw = sock(TcpState::CloseWait, "127.0.0.1:8080", &client);
        cw.recv_q = 1;
        owned(&mut cw, pid, "server");
        idle(&mut cw, idle_ms);
        socks.push(cw);
        let mut fw2 = sock(TcpState::FinWait2, &client, "127.0.0.1:8080");
        fw2.inode = 0;
        socks.push(fw2);
    }
    socks
}

/// A quiet, healthy host: a listener, a few established connections, a short TIME-WAIT.
pub fn healthy() -> Snapshot {
    let mut l = sock(TcpState::Listen, "0.0.0.0:443", "0.0.0.0:0");
    l.send_q = 4096;
    owned(&mut l, 10, "nginx");
    let mut socks = vec![l];
    for i in 0..5 {
        let mut e = sock(
            TcpState::Established,
            "10.0.0.1:443",
            &format!("10.0.0.9:{}", 50000 + i),
        );
        owned(&mut e, 10, "nginx");
        idle(&mut e, 200);
        socks.push(e);
    }
    let mut tw = sock(TcpState::TimeWait, "10.0.0.1:443", "10.0.0.9:49999");
    tw.inode = 0;
    timer(&mut tw, TimerKind::TimeWait, 40_000, 0);
    socks.push(tw);
    let mut snap = snapshot(socks);
    process(&mut snap, 10, "nginx", 'S');
    snap
}

/// Run one rule by id over a snapshot.
pub fn run_rule(id: &str, snap: &Snapshot) -> Vec<super::Finding> {
    let rule = super::RULES
        .iter()
        .find(|r| r.id == id)
        .expect("a rule with that id");
    let input = super::digest::Digest::of_snapshot(snap);
    (rule.run)(&super::Context::new(&input, None))
}
