//! `--lossy`: the "lost segment" way to the half-closed and half-open states. Inside lab's own
//! network namespace, nftables rules drop the segment that would end the state, so the kernel
//! retransmits it (a `retransmit` timer, not the zero-window probes of the default way) until
//! TCP_SYNCNT or net.ipv4.tcp_retries2 (~15 min) gives up — what a vanished peer looks like.
//!
//! * syn-sent: SYNs to the listener are dropped.
//! * fin-wait-1: the server's ACK of the client's FIN is dropped.
//! * last-ack: the client's ACK of the server's FIN is dropped.
//! * closing: both FINs are lost, then only client -> server traffic is: the server's
//!   retransmitted FIN reaches the client while the client's own FIN is still unacknowledged.

use super::addrs::Ip;
use super::firewall::{self, Drop};
use super::pairs::{self, endpoint, Built};
use super::sock::{self, Opts};
use super::{handshake, LabSocket, Scenario};
use anyhow::{bail, Result};
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use tcpscope_core::TcpState;

/// The scenarios `--lossy` can make.
pub const SCENARIOS: [Scenario; 4] = [
    Scenario::SynSent,
    Scenario::FinWait1,
    Scenario::LastAck,
    Scenario::Closing,
];

/// Build `n` sockets of `scenario` for worker `k` by losing segments.
pub fn build(scenario: Scenario, ip: Ip, k: u64, n: u64, port: u16, pid: u32) -> Result<Built> {
    let mut built = Built::default();
    if scenario == Scenario::SynSent {
        let server = SocketAddr::new(ip.server(k), port);
        let l = sock::listen(server, 4096, &Opts::default())?;
        let server = sock::local(&l)?;
        built.listeners.push(server);
        built.fds.push(l);
        firewall::drop_packets(k, server, Drop::ToServer)?;
        handshake::syn_sent_clients(ip, k, 0..n, server, pid, &mut built)?;
        return Ok(built);
    }
    let mut pairs: Vec<(OwnedFd, OwnedFd)> = Vec::new();
    let opts = Opts::default();
    let server = pairs::connect_pairs(ip, k, n, port, (&opts, &opts), &mut built, |c, a, _| {
        pairs.push((c, a));
        Ok(())
    })?;
    match scenario {
        Scenario::FinWait1 => {
            firewall::drop_packets(k, server, Drop::FromServer)?;
            for (c, _) in &pairs {
                sock::shutdown_write(c)?;
            }
        }
        Scenario::LastAck => {
            for (c, _) in &pairs {
                sock::shutdown_write(c)?;
            }
            // The client's FIN has been acknowledged (loopback is synchronous); now lose the
            // client's ACK of the server's FIN.
            firewall::drop_packets(k, server, Drop::ToServer)?;
            for (_, a) in &pairs {
                sock::shutdown_write(a)?;
            }
        }
        Scenario::Closing => {
            firewall::drop_packets(k, server, Drop::Both)?;
            for (c, a) in &pairs {
                sock::shutdown_write(c)?;
                sock::shutdown_write(a)?;
            }
            firewall::drop_packets(k, server, Drop::ToServer)?;
        }
        other => bail!("--lossy does not apply to {}", other.name()),
    }
    let (state, client_side) = match scenario {
        Scenario::FinWait1 => (TcpState::FinWait1, true),
        Scenario::LastAck => (TcpState::LastAck, false),
        _ => (TcpState::Closing, true),
    };
    for (c, a) in pairs {
        let fd = if client_side { &c } else { &a };
        let s = LabSocket {
            state,
            local: endpoint(sock::local(fd)?),
            peer: endpoint(sock::peer(fd)?),
            pid: Some(pid),
        };
        built.push(s, Some(fd));
        built.fds.push(c);
        built.fds.push(a);
    }
    Ok(built)
}
