//! Scenarios about opening connections: listen, syn-sent and syn-recv.
//!
//! Both half-open states come from a listener whose accept queue is full and that never calls
//! accept(). Linux then drops incoming SYNs (the client stays in SYN-SENT, retrying; TCP_SYNCNT
//! 127 makes it retry for hours) and drops the final ACK of handshakes it already answered (the
//! listener keeps a SYN-RECV request socket and retransmits its SYN+ACK). To get a handshake
//! answered *before* the queue fills and acknowledged *after*, those clients set
//! TCP_DEFER_ACCEPT, which makes the kernel delay the handshake's last ACK by 200 ms.

use super::addrs::Ip;
use super::pairs::{endpoint, Built};
use super::sock::{self, Opts};
use super::LabSocket;
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::time::Duration;
use tcpscope_core::TcpState;

/// Longest SYN / SYN+ACK retry count the kernel allows: hours of retrying.
const MAX_SYNCNT: i32 = 127;
/// Longer than the 200 ms (TCP_DELACK_MAX) the deferred ACKs wait.
const DELAYED_ACK_SETTLE: Duration = Duration::from_millis(300);

/// `n` listeners numbered from `first`, on `port` (0: any).
pub fn listeners(ip: Ip, first: u64, n: u64, port: u16, pid: u32) -> Result<Built> {
    let mut built = Built::default();
    for j in first..first + n {
        let addr = SocketAddr::new(ip.listener(j, port != 0), port);
        let l = sock::listen(addr, 128, &Opts::default())
            .with_context(|| format!("listening on {addr}"))?;
        let s = LabSocket {
            state: TcpState::Listen,
            local: endpoint(sock::local(&l)?),
            peer: endpoint(SocketAddr::new(ip.unspecified(), 0)),
            pid: Some(pid),
        };
        built.push(s, Some(&l));
        built.fds.push(l);
    }
    Ok(built)
}

/// A listener on worker `k`'s address whose accept queue is filled with `fill` connections.
fn full_listener(
    ip: Ip,
    k: u64,
    port: u16,
    backlog: i32,
    fill: u64,
    built: &mut Built,
) -> Result<SocketAddr> {
    let opts = Opts {
        syncnt: Some(MAX_SYNCNT),
        ..Opts::default()
    };
    let addr = SocketAddr::new(ip.server(k), port);
    let l = sock::listen(addr, backlog, &opts).with_context(|| format!("listening on {addr}"))?;
    let addr = sock::local(&l)?;
    built.listeners.push(addr);
    built.fds.push(l);
    for i in 0..fill {
        let c = sock::connect(ip.client(k, i), addr, &Opts::default())
            .with_context(|| format!("filling the accept queue of {addr}"))?;
        built.fds.push(c);
    }
    Ok(addr)
}

/// `n` clients in SYN-SENT towards a listener whose accept queue is full.
pub fn syn_sent(ip: Ip, k: u64, n: u64, port: u16, pid: u32) -> Result<Built> {
    let mut built = Built::default();
    // backlog 1: the queue is full at 2 connections.
    let server = full_listener(ip, k, port, 1, 2, &mut built)?;
    syn_sent_clients(ip, k, 2..n + 2, server, pid, &mut built)?;
    Ok(built)
}

/// Clients (numbered `clients` among worker `k`'s source addresses) that start connecting to
/// `server` and stay in SYN-SENT because nothing answers; each retries for as long as Linux
/// allows (TCP_SYNCNT 127).
pub fn syn_sent_clients(
    ip: Ip,
    k: u64,
    clients: std::ops::Range<u64>,
    server: SocketAddr,
    pid: u32,
    built: &mut Built,
) -> Result<()> {
    let opts = Opts {
        syncnt: Some(MAX_SYNCNT),
        ..Opts::default()
    };
    for i in clients {
        let c = sock::connect_start(ip.client(k, i), server, &opts)
            .with_context(|| format!("connecting to {server}"))?;
        let s = LabSocket {
            state: TcpState::SynSent,
            local: endpoint(sock::local(&c)?),
            peer: endpoint(server),
            pid: Some(pid),
        };
        built.push(s, Some(&c));
        built.fds.push(c);
    }
    Ok(())
}

/// The most syn-recv request sockets one listener can keep without the kernel pruning them:
/// the queue of requests must stay under half the backlog, which somaxconn caps.
pub fn syn_recv_per_listener(somaxconn: u64) -> u64 {
    (somaxconn.saturating_sub(2) / 2).clamp(1, 2000)
}

/// `n` SYN-RECV request sockets on one listener whose accept queue filled up between their SYN
/// and their (delayed) final ACK.
pub fn syn_recv(ip: Ip, k: u64, n: u64, port: u16) -> Result<Built> {
    let mut built = Built::default();
    let backlog = (2 * n + 2).max(8);
    // One short of full: new SYNs are still answered.
    let server = full_listener(ip, k, port, backlog as i32, backlog, &mut built)?;
    let opts = Opts {
        defer_ack: true,
        ..Opts::default()
    };
    for i in 0..n {
        let c = sock::connect_start(ip.client(k, backlog + 1 + i), server, &opts)
            .with_context(|| format!("connecting to {server}"))?;
        let s = LabSocket {
            state: TcpState::SynRecv,
            local: endpoint(server),
            peer: endpoint(sock::local(&c)?),
            pid: None,
        };
        built.push(s, None);
        built.fds.push(c);
    }
    // The last connection fills the queue before the delayed ACKs arrive (200 ms).
    // (Not waited for: should a delayed ACK have beaten it, the check below says so.)
    let c = sock::connect_start(ip.client(k, backlog), server, &Opts::default())
        .with_context(|| format!("filling the accept queue of {server}"))?;
    built.fds.push(c);
    // Let the delayed ACKs arrive (and be dropped) before anyone looks.
    std::thread::sleep(DELAYED_ACK_SETTLE);
    Ok(built)
}
