//! Scenarios built from connected pairs on loopback: established, close-wait, fin-wait-2,
//! time-wait, and the three "stuck FIN" states.
//!
//! fin-wait-1, closing and last-ack need a FIN that is never acknowledged. Instead of dropping
//! packets, lab makes the FIN unsendable: the closing side first fills the peer's receive window
//! with data the peer never reads (tiny SO_RCVBUF, tiny SO_SNDBUF), so its FIN sits in the send
//! queue behind that data while the kernel probes the zero window — for as long as both
//! processes live, with no root, namespace or firewall needed.

use super::addrs::Ip;
use super::sock::{self, Opts};
use super::{LabSocket, Scenario};
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Duration;
use tcpscope_core::{Endpoint, TcpState};

/// Connections made before their server ends are accepted (well under any somaxconn).
const BATCH: u64 = 128;
/// The smallest buffer the kernel accepts; it rounds up to its own minimum.
const TINY: usize = 1;

/// A built scenario: what to report and what to keep open.
#[derive(Default)]
pub struct Built {
    pub sockets: Vec<LabSocket>,
    /// For each of `sockets`, the descriptor this process holds it by (None: held by the
    /// kernel or another process), for a cheap state check.
    pub held: Vec<Option<RawFd>>,
    pub listeners: Vec<SocketAddr>,
    /// Everything to keep open until the end.
    pub fds: Vec<OwnedFd>,
}

impl Built {
    /// Report `s`, held by `fd` (which must also be kept in `fds`).
    pub fn push(&mut self, s: LabSocket, fd: Option<&OwnedFd>) {
        self.sockets.push(s);
        self.held.push(fd.map(|f| f.as_raw_fd()));
    }
}

/// Options for (listener, client) in `scenario`.
fn options(scenario: Scenario) -> (Opts, Opts) {
    let tiny_recv = Opts {
        rcvbuf: Some(TINY),
        ..Opts::default()
    };
    let tiny_send = Opts {
        sndbuf: Some(TINY),
        ..Opts::default()
    };
    match scenario {
        // The server never reads; the client's FIN waits behind its unsent data.
        Scenario::FinWait1 | Scenario::Closing => (tiny_recv, tiny_send),
        // The client never reads; the server's FIN waits behind its unsent data.
        Scenario::LastAck => (Opts::default(), tiny_recv),
        _ => (Opts::default(), Opts::default()),
    }
}

/// Build `n` connections of `scenario` for worker `k`, listening on `port` (0: any).
pub fn build(scenario: Scenario, ip: Ip, k: u64, n: u64, port: u16, pid: u32) -> Result<Built> {
    let (server_opts, client_opts) = options(scenario);
    let mut built = Built::default();
    connect_pairs(
        ip,
        k,
        n,
        port,
        (&server_opts, &client_opts),
        &mut built,
        |c, a, built| finish_pair(scenario, c, a, pid, built),
    )?;
    Ok(built)
}

/// Open `n` connections from worker `k`'s client addresses to a listener on its server address
/// and hand each (client, accepted) pair to `each`. The listener is kept in `built`.
#[allow(clippy::too_many_arguments)]
pub fn connect_pairs(
    ip: Ip,
    k: u64,
    n: u64,
    port: u16,
    (server_opts, client_opts): (&Opts, &Opts),
    built: &mut Built,
    mut each: impl FnMut(OwnedFd, OwnedFd, &mut Built) -> Result<()>,
) -> Result<SocketAddr> {
    let server = SocketAddr::new(ip.server(k), port);
    let listener = sock::listen(server, 4096, server_opts)
        .with_context(|| format!("listening on {server}"))?;
    let server = sock::local(&listener)?;
    built.listeners.push(server);
    let mut i = 0;
    while i < n {
        let batch = BATCH.min(n - i);
        let mut clients = HashMap::new();
        for j in i..i + batch {
            let c = sock::connect_start(ip.client(k, j), server, client_opts)
                .with_context(|| format!("connecting to {server}"))?;
            clients.insert(sock::local(&c)?, c);
        }
        for _ in 0..batch {
            let a = accept_within(&listener, Duration::from_secs(5))?;
            let Some(c) = clients.remove(&sock::peer(&a)?) else {
                bail!("accepted a connection lab did not make on {server}; is another program connecting to it?");
            };
            each(c, a, built)?;
        }
        i += batch;
    }
    built.fds.push(listener);
    Ok(server)
}

/// Take one connected pair (client, accepted) to the scenario's state.
fn finish_pair(
    scenario: Scenario,
    c: OwnedFd,
    a: OwnedFd,
    pid: u32,
    built: &mut Built,
) -> Result<()> {
    let entry = |fd: &OwnedFd, state: TcpState, pid: Option<u32>| -> Result<LabSocket> {
        Ok(LabSocket {
            state,
            local: endpoint(sock::local(fd)?),
            peer: endpoint(sock::peer(fd)?),
            pid,
        })
    };
    match scenario {
        Scenario::Established => {
            built.push(entry(&c, TcpState::Established, Some(pid))?, Some(&c));
            built.push(entry(&a, TcpState::Established, Some(pid))?, Some(&a));
        }
        Scenario::CloseWait | Scenario::FinWait2 => {
            sock::shutdown_write(&c)?;
            if scenario == Scenario::CloseWait {
                built.push(entry(&a, TcpState::CloseWait, Some(pid))?, Some(&a));
            } else {
                built.push(entry(&c, TcpState::FinWait2, Some(pid))?, Some(&c));
            }
        }
        Scenario::TimeWait => {
            let e = entry(&c, TcpState::TimeWait, None)?;
            sock::close_gracefully(c)?;
            sock::close_gracefully(a)?;
            built.push(e, None);
            return Ok(());
        }
        Scenario::FinWait1 => {
            sock::fill_send(&c)?;
            sock::shutdown_write(&c)?;
            built.push(entry(&c, TcpState::FinWait1, Some(pid))?, Some(&c));
        }
        Scenario::Closing => {
            sock::fill_send(&c)?;
            sock::shutdown_write(&c)?;
            sock::shutdown_write(&a)?;
            built.push(entry(&c, TcpState::Closing, Some(pid))?, Some(&c));
        }
        Scenario::LastAck => {
            rustix::net::sockopt::set_socket_send_buffer_size(&a, TINY)?;
            sock::fill_send(&a)?;
            sock::shutdown_write(&c)?;
            sock::shutdown_write(&a)?;
            built.push(entry(&a, TcpState::LastAck, Some(pid))?, Some(&a));
        }
        other => bail!("{} is not a connected-pair scenario", other.name()),
    }
    built.fds.push(c);
    built.fds.push(a);
    Ok(())
}

/// Accept one connection, failing after `timeout` (a dropped SYN would otherwise hang lab).
pub fn accept_within(listener: &OwnedFd, timeout: Duration) -> Result<OwnedFd> {
    if !sock::wait_ready(listener, libc::POLLIN, timeout)? {
        bail!("no connection arrived within {timeout:?}: the listen queue overflowed (see net.core.somaxconn)");
    }
    Ok(sock::accept(listener)?)
}

pub fn endpoint(a: SocketAddr) -> Endpoint {
    Endpoint::new(a.ip(), a.port())
}
