//! Work inside a socket's network namespace. sock_diag answers only about the namespace its
//! netlink socket was created in, so looking a socket up again and destroying it happen on a
//! dedicated thread that enters the namespace with setns() (CAP_SYS_ADMIN) and opens its own
//! [`DiagSocket`] there; the thread ends with the work, so the namespace never leaks into the
//! rest of tcpscope. Sockets read from tcpscope's own namespace need no setns.

use crate::collect::netlink::DiagSocket;
use crate::collect::netns::{self, describe};
use anyhow::{anyhow, Context, Result};
use std::collections::BTreeMap;
use tcpscope_core::model::socket::Netns;
use tcpscope_core::Socket;

/// Run `work` with a sock_diag socket inside `netns` (tcpscope's own for `None`).
pub fn in_netns<R: Send>(
    netns: Option<&Netns>,
    work: impl FnOnce(&mut DiagSocket) -> R + Send,
) -> Result<R> {
    let target = netns.map(netns::target_for).filter(|t| !t.current);
    let label = netns.map_or("tcpscope's own".to_string(), describe);
    std::thread::scope(|s| {
        s.spawn(|| -> Result<R> {
            if let Some(t) = &target {
                netns::enter(t)?;
            }
            let mut diag = DiagSocket::open()
                .with_context(|| format!("opening sock_diag in network namespace {label}"))?;
            Ok(work(&mut diag))
        })
        .join()
        .map_err(|_| anyhow!("the thread working in network namespace {label} panicked"))?
    })
}

/// Indices of `sockets` by network namespace inode (`None`: read unlabelled, from tcpscope's
/// own), so each namespace is entered once.
pub fn by_namespace<'a>(
    sockets: impl Iterator<Item = &'a Socket>,
) -> BTreeMap<Option<u64>, Vec<usize>> {
    let mut groups: BTreeMap<Option<u64>, Vec<usize>> = BTreeMap::new();
    for (i, s) in sockets.enumerate() {
        groups
            .entry(s.netns.as_ref().map(|n| n.inode))
            .or_default()
            .push(i);
    }
    groups
}
