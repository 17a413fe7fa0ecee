//! The fallback when the tracepoint cannot be read (no root, no tracefs): changes inferred by
//! comparing two socket dumps, socket by socket (by cookie).
//!
//! This sees far less than a trace and the output says so: a socket that went through several
//! states between two polls shows one change from the first to the last; one that lived and died
//! between polls is not seen at all; times are when a poll noticed, not when it happened. So every
//! change found this way is `model: unknown` and has no time in its old state. Sockets that appear
//! show as CLOSED -> state; those that vanish as state -> CLOSED. A TIME-WAIT mini-socket replaces
//! the full socket it came from (a new cookie with the same addresses): that shows as one change,
//! e.g. FIN-WAIT-2 -> TIME-WAIT.

use crate::model::process::Owner;
use crate::model::socket::{Endpoint, Family, Socket};
use crate::model::state::TcpState;
use crate::model::transition::{ModelCheck, OwnerFrom, TraceOwner, Transition};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Cookie(u64),
    /// Sources without cookies (/proc/net/tcp): the addresses.
    Ends(Family, Endpoint, Endpoint),
}

fn key(s: &Socket) -> Key {
    if s.cookie != 0 {
        Key::Cookie(s.cookie)
    } else {
        Key::Ends(s.family, s.local, s.peer)
    }
}

/// The sockets of the previous poll.
#[derive(Default)]
pub struct PollDiff {
    prev: Option<HashMap<Key, Socket>>,
}

fn owner_of(s: &Socket) -> Option<TraceOwner> {
    s.owners.first().map(|o: &Owner| TraceOwner {
        pid: o.pid,
        comm: Some(o.process.comm.clone()),
    })
}

fn change(now_ns: u64, s: &Socket, old: TcpState, new: TcpState) -> Transition {
    let owner = owner_of(s);
    Transition {
        time_unix_ns: now_ns,
        family: s.family,
        local: s.local,
        peer: s.peer,
        old,
        new,
        in_old_ms: None,
        owner_from: if owner.is_some() {
            OwnerFrom::Lookup
        } else {
            OwnerFrom::None
        },
        owner,
        netns: s.netns.clone(),
        cookie: (s.cookie != 0).then_some(s.cookie),
        model: ModelCheck::Unknown,
        skaddr: 0,
        cpu: 0,
        sample_pid: 0,
        flags: 0,
    }
}

impl PollDiff {
    /// Compare this poll's sockets with the previous poll's. The first poll is the baseline
    /// and reports nothing.
    pub fn update(&mut self, now_ns: u64, sockets: Vec<Socket>) -> Vec<Transition> {
        let now: HashMap<Key, Socket> = sockets.into_iter().map(|s| (key(&s), s)).collect();
        let Some(prev) = self.prev.replace(HashMap::new()) else {
            self.prev = Some(now);
            return Vec::new();
        };
        let mut out = Vec::new();
        // Vanished full sockets by their addresses, for TIME-WAIT mini-sockets that replace them.
        let mut vanished: HashMap<(Family, Endpoint, Endpoint), &Socket> = prev
            .iter()
            .filter(|(k, _)| !now.contains_key(k))
            .map(|(_, s)| ((s.family, s.local, s.peer), s))
            .collect();
        let mut appeared: Vec<&Socket> = Vec::new();
        for (k, s) in &now {
            match prev.get(k) {
                Some(p) if p.state != s.state => out.push(change(now_ns, s, p.state, s.state)),
                Some(_) => {}
                None => appeared.push(s),
            }
        }
        for s in appeared {
            match vanished.remove(&(s.family, s.local, s.peer)) {
                Some(p) if s.state == TcpState::TimeWait => {
                    let mut t = change(now_ns, s, p.state, s.state);
                    if t.owner.is_none() {
                        t.owner = owner_of(p);
                        t.owner_from = if t.owner.is_some() {
                            OwnerFrom::Lookup
                        } else {
                            OwnerFrom::None
                        };
                    }
                    out.push(t)
                }
                Some(p) => {
                    out.push(change(now_ns, p, p.state, TcpState::Close));
                    out.push(change(now_ns, s, TcpState::Close, s.state));
                }
                None => out.push(change(now_ns, s, TcpState::Close, s.state)),
            }
        }
        for p in vanished.into_values() {
            out.push(change(now_ns, p, p.state, TcpState::Close));
        }
        out.sort_by_key(|t| (t.local, t.peer, t.old));
        self.prev = Some(now);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TcpState::*;

    fn sock(cookie: u64, state: TcpState, lport: u16) -> Socket {
        let ep = |p| Endpoint::new("127.0.0.1".parse().unwrap(), p);
        Socket {
            cookie,
            ..Socket::new(state, Family::Inet, ep(lport), ep(9000))
        }
    }

    #[test]
    fn changes_between_two_polls() {
        let mut d = PollDiff::default();
        assert!(d
            .update(
                1,
                vec![
                    sock(1, Established, 1),
                    sock(2, FinWait2, 2),
                    sock(3, Listen, 3)
                ]
            )
            .is_empty());
        let out = d.update(
            2,
            vec![
                sock(1, CloseWait, 1),
                sock(9, TimeWait, 2),
                sock(4, SynSent, 4),
            ],
        );
        let pairs: Vec<(u16, TcpState, TcpState)> =
            out.iter().map(|t| (t.local.port, t.old, t.new)).collect();
        assert_eq!(
            pairs,
            [
                (1, Established, CloseWait),
                (2, FinWait2, TimeWait),
                (3, Listen, Close),
                (4, Close, SynSent)
            ]
        );
        assert!(out
            .iter()
            .all(|t| t.model == ModelCheck::Unknown && t.in_old_ms.is_none()));
        assert_eq!(out[1].cookie, Some(9));
    }
}
