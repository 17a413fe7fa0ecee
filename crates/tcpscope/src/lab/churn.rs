//! `lab churn`: open and close connections at a steady rate, so live views, diffs and tracing
//! have a known stream of state changes to see. Each connection goes SYN-SENT -> ESTABLISHED ->
//! FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT on the client and SYN-RECV -> ESTABLISHED ->
//! CLOSE-WAIT -> LAST-ACK -> CLOSED on the server; client addresses rotate over 250 loopback
//! addresses so the TIME-WAIT 4-tuples left behind never exhaust the ports.

use super::addrs::Ip;
use super::pairs::accept_within;
use super::sock::{self, Opts};
use anyhow::{Context, Result};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

/// Client source addresses churn rotates over.
const CLIENT_ADDRS: u64 = 250;

/// A listener for churn on worker `k`'s address.
pub fn listener(ip: Ip, k: u64, port: u16) -> Result<(OwnedFd, SocketAddr)> {
    let addr = SocketAddr::new(ip.server(k), port);
    let l = sock::listen(addr, 4096, &Opts::default())
        .with_context(|| format!("listening on {addr}"))?;
    let addr = sock::local(&l)?;
    Ok((l, addr))
}

/// Open and close `total` connections to `server` at `rate` per second.
pub fn run(
    ip: Ip,
    k: u64,
    listener: &OwnedFd,
    server: SocketAddr,
    rate: u64,
    total: u64,
) -> Result<()> {
    let start = Instant::now();
    let rate = rate.max(1);
    for i in 0..total {
        let due = start + Duration::from_micros(i.saturating_mul(1_000_000) / rate);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        // IPv6 has one loopback address: the kernel reuses TIME-WAIT ports towards loopback
        // (net.ipv4.tcp_tw_reuse = 2, the default, covers IPv6 too).
        let src = match ip.client(k, 0) {
            IpAddr::V4(a) => IpAddr::V4((u32::from(a) + (i % CLIENT_ADDRS) as u32).into()),
            v6 => v6,
        };
        let c = sock::connect(src, server, &Opts::default())
            .with_context(|| format!("connecting to {server}"))?;
        let a = accept_within(listener, Duration::from_secs(5))?;
        sock::close_gracefully(c)?;
        sock::close_gracefully(a)?;
    }
    Ok(())
}
