//! Everything trace asks of sock_diag and /proc, behind one small trait, so trace does not grow
//! a second collection pipeline: the long-lived collector (netlink sockets per namespace, the
//! namespace set, an inode -> owner cache, a cookie tracker) implements [`SocketLookup`], and
//! trace only calls it.
//!
//! [`DiagLookup`] is the implementation on today's pieces — [`DiagSocket`] per namespace, the
//! /proc walk of [`owners`](crate::collect::owners) for just the inodes asked about, and
//! [`ProcessDetails`] — until the collector takes over. It keeps only what trace needs: a
//! bounded inode -> owners cache and, from its polls, each cookie's last state and tcp_info.

use crate::collect::netlink::DiagSocket;
use crate::collect::netns::{self, NetnsScope, Target};
use crate::collect::owner_details::ProcessDetails;
use crate::collect::owners::{self, Wanted};
use anyhow::Result;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use tcpscope_core::decode::inet_diag::Request;
use tcpscope_core::model::socket::{Netns, Owner, TcpInfo};
use tcpscope_core::{Endpoint, Family, Filter, Socket, StateSet, TcpState};

/// What polls have seen of one socket cookie.
#[derive(Debug, Clone, PartialEq)]
pub struct CookieHistory {
    pub state: TcpState,
    /// The first poll that saw the cookie (ms since the epoch).
    pub first_seen_unix_ms: u64,
    /// When it entered `state`, if a poll saw it change (bounded by the poll interval: the
    /// change happened between the previous poll and this time).
    pub state_seen_unix_ms: Option<u64>,
    /// The last tcp_info a poll read for it (bytes for `--lifetimes`).
    pub last_info: Option<TcpInfo>,
}

/// What trace needs from the system besides the tracepoint. Implemented by the collector.
pub trait SocketLookup {
    /// The socket the kernel has now with exactly these addresses, in whichever namespace it
    /// is (`socket.netns` says which), with inode, cookie and tcp_info. `None` when there is
    /// none, or when several namespaces have one (ambiguous).
    fn socket(&mut self, family: Family, local: &Endpoint, peer: &Endpoint) -> Option<Socket>;

    /// The processes holding each of these socket inodes (inodes are unique across
    /// namespaces). Inodes nobody holds are absent from the map.
    fn owners(&mut self, inodes: &[u64]) -> HashMap<u64, Vec<Owner>>;

    /// The namespace with this inode, named if it has a name.
    fn netns(&mut self, inode: u64) -> Netns;

    /// What polls have seen of this cookie.
    fn history(&mut self, cookie: u64) -> Option<CookieHistory>;

    /// Read every TCP socket now (with tcp_info when `want_info`), in every namespace the
    /// lookup covers, and update the cookie histories. Owners are not attached. `filter`, when
    /// given, may be applied by the kernel (it must have no state conditions: a socket that
    /// changes state must not drop out of the list).
    fn poll(&mut self, filter: Option<&Filter>, want_info: bool) -> Result<Vec<Socket>>;
}

/// Inode -> owners entries kept before the cache is cleared.
const OWNER_CACHE: usize = 65_536;
/// How often the namespace set is read again (lab and containers come and go).
const NETNS_REFRESH: Duration = Duration::from_secs(5);

/// [`SocketLookup`] on today's pieces (see the module comment).
pub struct DiagLookup {
    scope: NetnsScope,
    spaces: Vec<(Target, DiagSocket)>,
    refreshed: Option<Instant>,
    owner_cache: HashMap<u64, Vec<Owner>>,
    names: HashMap<u64, Netns>,
    history: HashMap<u64, CookieHistory>,
    /// Sockets the last poll no longer saw: their last word (bytes for `--lifetimes`), kept
    /// until the next poll.
    gone: HashMap<u64, CookieHistory>,
    /// Why some namespace could not be read (told once).
    pub notes: Vec<String>,
}

impl DiagLookup {
    /// Look sockets up in tcpscope's own namespace, or in every namespace (as root).
    pub fn new(all_namespaces: bool) -> DiagLookup {
        DiagLookup {
            scope: if all_namespaces {
                NetnsScope::All
            } else {
                NetnsScope::Current
            },
            spaces: Vec::new(),
            refreshed: None,
            owner_cache: HashMap::new(),
            names: HashMap::new(),
            history: HashMap::new(),
            gone: HashMap::new(),
            notes: Vec::new(),
        }
    }

    fn refresh(&mut self, force: bool) {
        if !force && self.refreshed.is_some_and(|t| t.elapsed() < NETNS_REFRESH) {
            return;
        }
        self.refreshed = Some(Instant::now());
        let targets = match &self.scope {
            NetnsScope::Current => netns::resolve(&NetnsScope::All)
                .map(|(t, _)| t.into_iter().filter(|t| t.current).collect::<Vec<_>>())
                .unwrap_or_default(),
            scope => match netns::resolve(scope) {
                Ok((t, _)) => t,
                Err(e) => {
                    self.notes.push(format!("{e:#}"));
                    Vec::new()
                }
            },
        };
        let mut spaces = Vec::new();
        for t in targets {
            self.names.insert(t.netns.inode, t.netns.clone());
            if let Some(i) = self
                .spaces
                .iter()
                .position(|(k, _)| k.netns.inode == t.netns.inode)
            {
                spaces.push(self.spaces.swap_remove(i));
                continue;
            }
            match netns::open_diag_in(&t) {
                Ok(sock) => spaces.push((t, sock)),
                Err(e) => {
                    if self.notes.len() < 5 {
                        self.notes.push(format!("{e:#}"));
                    }
                }
            }
        }
        if spaces.is_empty() {
            // No namespace list (e.g. /proc unreadable): at least our own.
            if let Ok(sock) = DiagSocket::open() {
                let netns = Netns {
                    inode: 0,
                    name: None,
                    pid: None,
                    container: None,
                };
                spaces.push((
                    Target {
                        netns,
                        path: "/proc/thread-self/ns/net".into(),
                        current: true,
                    },
                    sock,
                ));
            }
        }
        self.spaces = spaces;
    }
}

impl SocketLookup for DiagLookup {
    fn socket(&mut self, family: Family, local: &Endpoint, peer: &Endpoint) -> Option<Socket> {
        self.refresh(false);
        let mut found: Vec<Socket> = Vec::new();
        for (target, sock) in &mut self.spaces {
            if let Ok(Some(mut s)) = sock.lookup(family, local, peer, true) {
                // With the connection gone the kernel answers with the listener: not it.
                if s.peer == *peer && s.local.port == local.port {
                    if target.netns.inode != 0 {
                        s.netns = Some(target.netns.clone());
                    }
                    found.push(s);
                }
            }
        }
        if found.len() == 1 {
            found.pop()
        } else {
            None
        }
    }

    fn owners(&mut self, inodes: &[u64]) -> HashMap<u64, Vec<Owner>> {
        let missing: HashSet<u64> = inodes
            .iter()
            .copied()
            .filter(|i| *i != 0 && !self.owner_cache.contains_key(i))
            .collect();
        if !missing.is_empty() {
            let wanted = Wanted::Only {
                inodes: &missing,
                stop_early: true,
            };
            if let Ok((table, _)) = owners::scan(wanted, owners::default_threads()) {
                let mut sockets: Vec<Socket> = missing
                    .iter()
                    .map(|i| Socket {
                        inode: *i,
                        ..Socket::new(
                            TcpState::Established,
                            Family::Inet,
                            Endpoint::new(Family::Inet.unspecified(), 0),
                            Endpoint::new(Family::Inet.unspecified(), 0),
                        )
                    })
                    .collect();
                let details = ProcessDetails::load(&sockets, &table);
                if self.owner_cache.len() + sockets.len() > OWNER_CACHE {
                    self.owner_cache.clear();
                }
                for s in &mut sockets {
                    details.attach(s, &table);
                    // An inode nobody holds yet (not accepted) may be held later: not cached.
                    if !s.owners.is_empty() {
                        self.owner_cache
                            .insert(s.inode, std::mem::take(&mut s.owners));
                    }
                }
            }
        }
        inodes
            .iter()
            .filter_map(|i| self.owner_cache.get(i).map(|o| (*i, o.clone())))
            .collect()
    }

    fn netns(&mut self, inode: u64) -> Netns {
        if !self.names.contains_key(&inode) {
            self.refresh(true);
        }
        // A namespace the list does not show (hidden from us) is not searched for again.
        self.names
            .entry(inode)
            .or_insert(Netns {
                inode,
                name: None,
                pid: None,
                container: None,
            })
            .clone()
    }

    fn history(&mut self, cookie: u64) -> Option<CookieHistory> {
        self.history
            .get(&cookie)
            .or_else(|| self.gone.get(&cookie))
            .cloned()
    }

    fn poll(&mut self, filter: Option<&Filter>, want_info: bool) -> Result<Vec<Socket>> {
        self.refresh(false);
        let now = crate::collect::kernel::now_unix_ms();
        let mut all = Vec::new();
        for (target, sock) in &mut self.spaces {
            for family in [Family::Inet, Family::Inet6] {
                let req = Request {
                    family,
                    states: StateSet::ALL
                        .without(TcpState::BoundInactive)
                        .kernel_request_mask(),
                    want_info,
                    bytecode: filter.and_then(|f| f.bytecode(family)),
                    seq: 0,
                };
                let label = (target.netns.inode != 0).then(|| target.netns.clone());
                let res = sock.dump(&req, &mut |mut s| {
                    s.netns = label.clone();
                    all.push(s);
                    Ok(())
                });
                if let Err(e) = res {
                    anyhow::bail!("listing sockets through netlink: {e}");
                }
            }
        }
        let mut next = HashMap::with_capacity(all.len());
        for s in &all {
            if s.cookie == 0 {
                continue;
            }
            let h = match self.history.remove(&s.cookie) {
                Some(mut h) => {
                    if h.state != s.state {
                        h.state = s.state;
                        h.state_seen_unix_ms = Some(now);
                    }
                    if s.tcp_info.is_some() {
                        h.last_info = s.tcp_info.clone();
                    }
                    h
                }
                None => CookieHistory {
                    state: s.state,
                    first_seen_unix_ms: now,
                    state_seen_unix_ms: None,
                    last_info: s.tcp_info.clone(),
                },
            };
            next.insert(s.cookie, h);
        }
        // What is left vanished since the last poll.
        self.gone = std::mem::replace(&mut self.history, next);
        Ok(all)
    }
}
