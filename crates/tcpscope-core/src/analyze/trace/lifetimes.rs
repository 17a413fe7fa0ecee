//! `trace --lifetimes`: one record per finished connection, like bcc's tcplife but from the
//! same stream `trace` prints (so passive closes are not missed): from the first change trace
//! saw to CLOSE, with the owner, the states the socket went through, and its cookie once
//! `tcp_destroy_sock` names it. Bytes are filled in by the caller from the collector's last
//! tcp_info for that cookie (only a poll that saw the socket alive knows them).
//!
//! A finished connection waits a short grace period after CLOSE for its destroy record (which
//! carries the cookie) before it is handed out. Listening sockets are not connections and are
//! left out.

use super::track::{Emitted, TrackId};
use crate::model::state::TcpState;
use crate::model::transition::{Lifetime, OwnerFrom, Transition};
use std::collections::{HashMap, VecDeque};

struct Life {
    lifetime: Lifetime,
}

/// The connections being followed and those waiting for their cookie.
pub struct Lifetimes {
    open: HashMap<TrackId, Life>,
    /// Closed, waiting for `tcp_destroy_sock`, by socket address: (deadline, life).
    ended: HashMap<u64, (u64, Life)>,
    /// (deadline, address) of closed lives in the order they closed (entries whose life has
    /// gone since are skipped).
    order: VecDeque<(u64, u64)>,
    grace_ns: u64,
}

fn rank(from: OwnerFrom) -> u8 {
    match from {
        OwnerFrom::Context => 3,
        OwnerFrom::Lookup => 2,
        OwnerFrom::Cache => 1,
        OwnerFrom::None => 0,
    }
}

impl Lifetimes {
    /// Closed connections wait up to `grace_ns` for their destroy record.
    pub fn new(grace_ns: u64) -> Lifetimes {
        Lifetimes {
            open: HashMap::new(),
            ended: HashMap::new(),
            order: VecDeque::new(),
            grace_ns,
        }
    }

    /// Take the next item the tracks handed out (after owners were resolved). Returns the
    /// connections this finishes.
    pub fn push(&mut self, item: &Emitted) -> Vec<Lifetime> {
        match item {
            Emitted::Transition { transition, track } => self.transition(transition, *track),
            Emitted::Destroy(d) => match self.ended.remove(&d.skaddr) {
                Some((_, mut life)) => {
                    life.lifetime.cookie = Some(d.cookie);
                    finished(life).into_iter().collect()
                }
                None => Vec::new(),
            },
            Emitted::Lost(_) => {
                for life in self.open.values_mut() {
                    life.lifetime.incomplete = true;
                }
                Vec::new()
            }
        }
    }

    fn transition(&mut self, t: &Transition, track: TrackId) -> Vec<Lifetime> {
        let life = self.open.entry(track).or_insert_with(|| {
            let born = t.old == TcpState::Close
                || (t.old == TcpState::Listen && t.new == TcpState::SynRecv);
            Life {
                lifetime: Lifetime {
                    start_unix_ns: born.then_some(t.time_unix_ns),
                    end_unix_ns: t.time_unix_ns,
                    duration_ms: None,
                    family: t.family,
                    local: t.local,
                    peer: t.peer,
                    owner: None,
                    owner_from: OwnerFrom::None,
                    netns: None,
                    cookie: None,
                    bytes_sent: None,
                    bytes_received: None,
                    states: vec![t.old],
                    incomplete: false,
                },
            }
        });
        let l = &mut life.lifetime;
        if l.states.last() != Some(&t.old) {
            // A change was missed (lost records): show where the socket was seen next.
            l.states.push(t.old);
            l.incomplete = true;
        }
        l.states.push(t.new);
        if l.local.port == 0 || l.local.is_unspecified() {
            l.local = t.local;
        }
        if l.peer.port == 0 {
            l.peer = t.peer;
        }
        if t.owner.is_some() && rank(t.owner_from) > rank(l.owner_from) {
            l.owner = t.owner.clone();
            l.owner_from = t.owner_from;
        }
        if l.netns.is_none() {
            l.netns = t.netns.clone();
        }
        if l.cookie.is_none() {
            l.cookie = t.cookie;
        }
        l.end_unix_ns = t.time_unix_ns;
        let mut out = Vec::new();
        if t.new == TcpState::Close {
            if let Some(life) = self.open.remove(&track) {
                let deadline = t.time_unix_ns.saturating_add(self.grace_ns);
                // The address's previous socket never got its destroy record: it is done.
                if let Some((_, old)) = self.ended.insert(t.skaddr, (deadline, life)) {
                    out.extend(finished(old));
                }
                self.order.push_back((deadline, t.skaddr));
            }
        }
        out
    }

    /// Connections whose grace period for a cookie ended before `now_ns`.
    pub fn flush(&mut self, now_ns: u64) -> Vec<Lifetime> {
        let mut out = Vec::new();
        while self.order.front().is_some_and(|(d, _)| *d <= now_ns) {
            let Some((deadline, skaddr)) = self.order.pop_front() else {
                break;
            };
            if self.ended.get(&skaddr).is_some_and(|(d, _)| *d == deadline) {
                if let Some((_, life)) = self.ended.remove(&skaddr) {
                    out.extend(finished(life));
                }
            }
        }
        out
    }

    /// Every closed connection still waiting (at the end of a trace). Connections still open
    /// are not finished and are not reported.
    pub fn drain(&mut self) -> Vec<Lifetime> {
        self.flush(u64::MAX)
    }
}

/// The lifetime of a closed socket, or `None` for a listener.
fn finished(life: Life) -> Option<Lifetime> {
    let mut l = life.lifetime;
    let connected = l
        .states
        .iter()
        .any(|s| !matches!(s, TcpState::Close | TcpState::Listen));
    if !connected {
        return None;
    }
    l.duration_ms = l
        .start_unix_ns
        .map(|s| l.end_unix_ns.saturating_sub(s) / 1_000_000);
    Some(l)
}

#[cfg(test)]
mod tests {
    use super::super::track::tests::{change, connection, input, MS};
    use super::super::track::Tracks;
    use super::*;
    use crate::model::transition::{Destroy, TraceInput};

    fn lifetimes_of(inputs: Vec<TraceInput>) -> Vec<Lifetime> {
        let mut t = Tracks::new(0);
        for i in inputs {
            t.push(i, false);
        }
        let mut l = Lifetimes::new(5 * MS);
        let mut out = Vec::new();
        for e in t.drain() {
            out.extend(l.push(&e));
        }
        out.extend(l.drain());
        out
    }

    #[test]
    fn one_line_per_connection_end_with_owner_states_and_cookie() {
        let mut inputs: Vec<TraceInput> = connection().into_iter().map(input).collect();
        inputs.push(TraceInput::Destroy(Destroy {
            time_unix_ns: 21 * MS,
            cpu: 0,
            skaddr: 2,
            cookie: 42,
        }));
        let out = lifetimes_of(inputs);
        assert_eq!(out.len(), 2);
        let server = &out[0];
        assert_eq!(
            server.cookie,
            Some(42),
            "destroy came within the grace period"
        );
        assert_eq!(server.owner.as_ref().unwrap().pid, 200);
        assert_eq!(server.owner_from, OwnerFrom::Context);
        assert_eq!(server.duration_ms, Some(19));
        use TcpState::*;
        assert_eq!(
            server.states,
            [Listen, SynRecv, Established, CloseWait, LastAck, Close]
        );
        let client = &out[1];
        assert_eq!(client.cookie, None);
        assert_eq!(client.owner.as_ref().unwrap().pid, 100);
        assert_eq!(client.local.port, 40000);
        assert_eq!(client.states.first(), Some(&Close));
        assert!(!client.incomplete);
    }

    #[test]
    fn listeners_are_not_connections_and_old_sockets_have_no_duration() {
        use TcpState::*;
        let out = lifetimes_of(vec![
            input(change(1, 4, Close, Listen, 1, false)),
            input(change(2, 4, Listen, Close, 1, false)),
            input(change(3, 6, Established, CloseWait, 1, true)),
            input(change(4, 6, CloseWait, Close, 1, false)),
        ]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].duration_ms, None, "it existed before the trace");
        assert_eq!(out[0].start_unix_ns, None);
    }

    #[test]
    fn a_loss_marks_open_connections_incomplete() {
        use crate::model::transition::Lost;
        use TcpState::*;
        let out = lifetimes_of(vec![
            input(change(1, 4, Close, SynSent, 1, false)),
            TraceInput::Lost(Lost {
                time_unix_ns: 2 * MS,
                cpu: 1,
                count: 9,
            }),
            input(change(3, 4, FinWait2, Close, 1, true)),
        ]);
        assert_eq!(out.len(), 1);
        assert!(out[0].incomplete);
        assert_eq!(out[0].states, [Close, SynSent, FinWait2, Close]);
    }
}
