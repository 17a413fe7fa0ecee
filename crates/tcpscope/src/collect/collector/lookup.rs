//! The collector asked about single sockets between polls — what `tcpscope trace` needs when a
//! state change arrives without its owner: the socket at exactly these addresses (one sock_diag
//! request per namespace the source reads, through the same sockets and namespace threads its
//! polls use), its owners (from the same inode -> owner cache and process identities, walking
//! /proc only for inodes the cache does not know), the label of a namespace, and forgetting
//! what trace saw end. No poll is made, nothing is marked used or swept.

use super::{Collector, WALK};
use anyhow::{Context, Result};
use std::time::{Duration, Instant};
use tcpscope_core::analyze::fasthash::FastSet;
use tcpscope_core::decode::inet_diag::SocketId;
use tcpscope_core::model::socket::Netns;
use tcpscope_core::{Endpoint, Family, Socket, TcpState};

/// How often an unknown namespace makes the collector look at the namespace set again.
const NAMESPACE_LOOK: Duration = Duration::from_secs(1);

impl Collector {
    /// The socket the kernel has now at exactly these addresses, in whichever namespace it is
    /// (`socket.netns` says which when the source spans several), without owners. `None` when
    /// there is none, or when more than one namespace has one (ambiguous: never guessed).
    pub fn find_socket(
        &mut self,
        family: Family,
        local: Endpoint,
        peer: Endpoint,
    ) -> Result<Option<Socket>> {
        let id = SocketId {
            family,
            local,
            peer,
            ifindex: 0,
            cookie: 0,
        };
        let mut found = self.source.lookup(&id)?;
        Ok(if found.len() == 1 { found.pop() } else { None })
    }

    /// Attach owners to sockets found outside a poll ([`Collector::find_socket`]).
    pub fn attribute(&mut self, sockets: &mut [Socket]) -> Result<()> {
        self.cache.attribute(sockets).context(WALK)
    }

    /// Forget sockets that ended (by inode) and processes that exited or exec'd, so a long
    /// trace's cache holds only what is alive.
    pub fn forget(&mut self, inodes: &FastSet<u64>, pids: &[u32]) {
        self.cache.forget(inodes, pids);
    }

    /// A trace saw the socket at these addresses enter `state` at `at_ms`: the tracker gives
    /// it that exact age when a poll sees it there (`doctor --watch`).
    pub fn traced_entry(
        &mut self,
        family: Family,
        local: Endpoint,
        peer: Endpoint,
        state: TcpState,
        at_ms: u64,
    ) {
        self.tracker.entered(family, local, peer, state, at_ms);
    }

    /// The network namespace with this inode, labelled (name, a process in it, its container)
    /// when the source reads it; a namespace that appeared since the source was opened is
    /// looked for (at most once a second). `None` for one the source does not read.
    pub fn namespace(&mut self, inode: u64) -> Option<Netns> {
        if let Some(n) = self.source.namespace(inode) {
            return Some(n.clone());
        }
        if self
            .namespaces_looked
            .is_none_or(|t| t.elapsed() >= NAMESPACE_LOOK)
        {
            self.namespaces_looked = Some(Instant::now());
            if self.source.refresh_namespaces().is_ok() {
                return self.source.namespace(inode).cloned();
            }
        }
        None
    }
}
