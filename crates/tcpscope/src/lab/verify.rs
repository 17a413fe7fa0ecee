//! The check behind lab's promise: every socket a worker reports is, according to the kernel's
//! own sock_diag dump, in the promised state. Some states settle a moment after the calls that
//! make them (syn-recv waits for a 200 ms delayed ACK), so the check polls for a while.

use super::addrs::Ip;
use super::pairs::Built;
use super::{sock, LabSocket};
use crate::collect::netlink::DiagSocket;
use anyhow::{bail, Context, Result};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use tcpscope_core::decode::inet_diag::Request;
use tcpscope_core::{Endpoint, Family, StateSet, TcpState};

/// Wait until every socket `built` reports is in `state`, or fail after `timeout` saying which
/// socket is in which state instead. Sockets held here are checked with tcp_info, the others
/// (kernel-held or held by a child) in a sock_diag dump.
pub fn wait_for_state(state: TcpState, ip: Ip, built: &Built, timeout: Duration) -> Result<()> {
    let family = match ip {
        Ip::V4 => Family::Inet,
        Ip::V6 => Family::Inet6,
    };
    let sockets = &built.sockets;
    let mut diag = DiagSocket::open().context("opening sock_diag to check the sockets")?;
    let start = Instant::now();
    loop {
        let need_dump = built.held.iter().any(Option::is_none);
        let present = if need_dump {
            dump(&mut diag, family, StateSet::of(&[state]))?
        } else {
            HashSet::new()
        };
        let missing: Vec<&LabSocket> = sockets
            .iter()
            .zip(&built.held)
            .filter(|(s, fd)| match fd {
                Some(fd) => sock::tcp_state_raw(*fd).ok() != Some(state.kernel_number()),
                None => !present.contains(&(s.local, s.peer)),
            })
            .map(|(s, _)| s)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        if start.elapsed() >= timeout {
            let all = dump_states(&mut diag, family)?;
            let first = missing[0];
            let actual = all
                .get(&(first.local, first.peer))
                .map_or("gone", |s| s.name());
            bail!(
                "{} of {} sockets did not reach {} within {:?} (e.g. {} -> {} is {}); \
                 is something else on this host using the same loopback ports? try again or with \
                 --own-netns",
                missing.len(),
                sockets.len(),
                state.name(),
                timeout,
                first.local,
                first.peer,
                actual
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn request(family: Family, states: StateSet) -> Request {
    Request {
        family,
        states: states.kernel_request_mask(),
        want_info: false,
        want_memory: false,
        bytecode: None,
        seq: 0,
    }
}

fn dump(
    diag: &mut DiagSocket,
    family: Family,
    states: StateSet,
) -> Result<HashSet<(Endpoint, Endpoint)>> {
    let mut seen = HashSet::new();
    diag.dump(&request(family, states), &mut |s| {
        seen.insert((s.local, s.peer));
        Ok(())
    })
    .context("listing sockets through sock_diag")?;
    Ok(seen)
}

fn dump_states(
    diag: &mut DiagSocket,
    family: Family,
) -> Result<HashMap<(Endpoint, Endpoint), TcpState>> {
    let mut seen = HashMap::new();
    diag.dump(&request(family, StateSet::ALL), &mut |s| {
        seen.insert((s.local, s.peer), s.state);
        Ok(())
    })
    .context("listing sockets through sock_diag")?;
    Ok(seen)
}
