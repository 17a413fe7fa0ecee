//! What doctor keeps of a stream of sockets, so a diagnosis costs memory in proportion to what
//! its findings can name rather than to the number of sockets: at a million ESTABLISHED
//! connections doctor keeps the listeners and little else.
//!
//! Each socket is looked at once ([`Digest::add`]) and either kept whole — the states and queue
//! conditions some rule may name (CLOSE-WAIT, FIN-WAIT-*, LAST-ACK, CLOSING, SYN-SENT, LISTEN,
//! stalled queues) — or reduced to the counts the rules need: TIME-WAIT ends in a compact form
//! (their number is capped per namespace by tcp_max_tw_buckets), request sockets per local
//! address, orphans per state, sockets held by processes near their descriptor limit. The
//! result ([`Digest::finish`]) is what [`Context`](super::Context) gives the rules; a recorded
//! snapshot goes through the same path ([`Digest::of_snapshot`]), so a replay diagnoses exactly
//! as the live run did.

use super::netns_id;
use crate::model::snapshot::Snapshot;
use crate::model::socket::{Endpoint, Socket, TimerKind};
use crate::model::state::{StateSet, TcpState};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Send-Q from which a connection counts as stalled (send-queue-stall).
pub const LARGE_SEND_Q: u32 = 1 << 20;
/// Recv-Q from which a connection counts as unread (unread-receive-queue).
pub const LARGE_RECV_Q: u32 = 64 * 1024;
/// Descriptor use from which a process is watched (fd-exhaustion warns from here).
pub const FD_WATCH: f64 = 0.8;

/// A TIME-WAIT socket reduced to what time-wait-pressure groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWaitEnd {
    pub netns: u64,
    pub local: Endpoint,
    pub peer: Endpoint,
}

/// The sockets and counts a diagnosis works on.
#[derive(Debug, Clone)]
pub struct Digest {
    kept: Vec<Socket>,
    time_wait: Vec<TimeWaitEnd>,
    syn_recv: HashMap<Endpoint, u64>,
    orphans: BTreeMap<TcpState, u64>,
    watched: HashSet<u32>,
    held: HashMap<u32, BTreeMap<TcpState, u64>>,
    total: u64,
}

/// A finished digest: the snapshot of kept sockets (with the header, counters and process facts)
/// and the counts of everything else.
#[derive(Debug, Clone)]
pub struct Diagnosable {
    /// Header, counters, process facts, and the kept sockets only.
    pub snapshot: Snapshot,
    pub time_wait: Vec<TimeWaitEnd>,
    /// SYN-RECV / NEW-SYN-RECV request sockets per local address.
    pub syn_recv: HashMap<Endpoint, u64>,
    /// Sockets no process holds (inode 0) per state, TIME-WAIT, LISTEN and request sockets aside.
    pub orphans: BTreeMap<TcpState, u64>,
    /// TCP sockets per state held by each watched process (near its descriptor limit).
    pub held: HashMap<u32, BTreeMap<TcpState, u64>>,
    /// Every socket looked at.
    pub total: u64,
}

impl Digest {
    /// A digest that counts the sockets held by the `watched` processes (those near their
    /// descriptor limit: fd-exhaustion says what they hold).
    pub fn new(watched: impl IntoIterator<Item = u32>) -> Digest {
        Digest {
            kept: Vec::new(),
            time_wait: Vec::new(),
            syn_recv: HashMap::new(),
            orphans: BTreeMap::new(),
            watched: watched.into_iter().collect(),
            held: HashMap::new(),
            total: 0,
        }
    }

    /// The states whose tcp_info the rules read (idle times of CLOSE-WAIT and FIN-WAIT-2,
    /// ...): a diagnosis asks the kernel for tcp_info of these only.
    pub const INFO_STATES: StateSet = StateSet::of_const(&[
        TcpState::CloseWait,
        TcpState::FinWait1,
        TcpState::FinWait2,
        TcpState::LastAck,
        TcpState::Closing,
        TcpState::SynSent,
        TcpState::Listen,
    ]);

    /// True when some rule may name this socket: it is kept whole, and its owner is worth
    /// looking up.
    pub fn keeps(s: &Socket) -> bool {
        match s.state {
            TcpState::CloseWait
            | TcpState::FinWait1
            | TcpState::FinWait2
            | TcpState::LastAck
            | TcpState::Closing
            | TcpState::SynSent
            | TcpState::Listen => true,
            TcpState::TimeWait | TcpState::SynRecv | TcpState::NewSynRecv => false,
            _ => {
                s.send_q >= LARGE_SEND_Q
                    || s.timer
                        .is_some_and(|t| t.kind == TimerKind::ZeroWindowProbe)
                    || (s.state == TcpState::Established && s.recv_q >= LARGE_RECV_Q)
            }
        }
    }

    /// True when a rule may name the *owner* of this kept socket (listeners are kept for their
    /// ports; only a filling accept queue names its program).
    pub fn names_owner(s: &Socket) -> bool {
        s.inode != 0
            && (s.state != TcpState::Listen
                || (s.recv_q > 0 && u64::from(s.recv_q) * 10 >= u64::from(s.send_q) * 8))
    }

    /// Look at one socket, keeping it when a rule may name it.
    pub fn add(&mut self, s: Socket) {
        if self.count(&s) {
            self.kept.push(s);
        }
    }

    /// [`Digest::add`] for a socket the caller keeps using (cloned only when kept).
    pub fn add_ref(&mut self, s: &Socket) {
        if self.count(s) {
            self.kept.push(s.clone());
        }
    }

    /// Count `s` where it counts; true when it is to be kept whole.
    fn count(&mut self, s: &Socket) -> bool {
        self.total += 1;
        if !self.watched.is_empty() {
            let mut pids: Vec<u32> = s
                .owners
                .iter()
                .map(|o| o.pid)
                .filter(|p| self.watched.contains(p))
                .collect();
            pids.dedup();
            for pid in pids {
                *self
                    .held
                    .entry(pid)
                    .or_default()
                    .entry(s.state)
                    .or_default() += 1;
            }
        }
        if s.inode == 0
            && !matches!(
                s.state,
                TcpState::TimeWait | TcpState::Listen | TcpState::SynRecv | TcpState::NewSynRecv
            )
        {
            *self.orphans.entry(s.state).or_default() += 1;
        }
        match s.state {
            TcpState::TimeWait => {
                self.time_wait.push(TimeWaitEnd {
                    netns: netns_id(s),
                    local: s.local,
                    peer: s.peer,
                });
                false
            }
            TcpState::SynRecv | TcpState::NewSynRecv => {
                *self.syn_recv.entry(s.local).or_default() += 1;
                false
            }
            _ => Digest::keeps(s),
        }
    }

    /// The sockets kept so far (owners are attached to these after the stream).
    pub fn kept(&self) -> &[Socket] {
        &self.kept
    }

    pub fn kept_mut(&mut self) -> &mut [Socket] {
        &mut self.kept
    }

    /// Sockets looked at so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The watched processes that hold at least one of the sockets looked at.
    pub fn held_pids(&self) -> impl Iterator<Item = u32> + '_ {
        self.held.keys().copied()
    }

    /// Finish with the snapshot header (time, counters, notes, process facts; its sockets are
    /// replaced by the kept ones).
    pub fn finish(self, mut header: Snapshot) -> Diagnosable {
        header.sockets = self.kept;
        Diagnosable {
            snapshot: header,
            time_wait: self.time_wait,
            syn_recv: self.syn_recv,
            orphans: self.orphans,
            held: self.held,
            total: self.total,
        }
    }

    /// A whole recorded snapshot, digested as a live stream would be: the processes it carries
    /// facts for near their descriptor limit are the watched ones.
    pub fn of_snapshot(snap: &Snapshot) -> Diagnosable {
        let watched = snap
            .processes
            .values()
            .filter(|p| p.fd_usage().is_some_and(|u| u >= FD_WATCH))
            .map(|p| p.pid);
        let mut d = Digest::new(watched);
        for s in &snap.sockets {
            d.add_ref(s);
        }
        let mut header = snap.clone_without_sockets();
        header.sockets = Vec::new();
        d.finish(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::diagnose::fixtures::*;

    #[test]
    fn keeps_what_rules_name_and_counts_the_rest() {
        let mut est = sock(TcpState::Established, "127.0.0.1:80", "127.0.0.1:40000");
        let mut d = Digest::new([42]);
        owned(&mut est, 42, "srv");
        d.add(est.clone());
        let mut big = est.clone();
        big.recv_q = LARGE_RECV_Q;
        d.add(big);
        d.add(sock(TcpState::CloseWait, "127.0.0.1:80", "127.0.0.1:40001"));
        let mut tw = sock(TcpState::TimeWait, "127.0.0.1:40002", "127.0.0.1:80");
        tw.inode = 0;
        d.add(tw);
        let mut req = sock(TcpState::NewSynRecv, "127.0.0.1:80", "127.0.0.1:40003");
        req.inode = 0;
        d.add(req.clone());
        d.add(req);
        let mut orphan = sock(TcpState::FinWait1, "127.0.0.1:40004", "127.0.0.1:80");
        orphan.inode = 0;
        d.add(orphan);
        let done = d.finish(snapshot(vec![]));
        assert_eq!(done.total, 7);
        let kept: Vec<TcpState> = done.snapshot.sockets.iter().map(|s| s.state).collect();
        assert_eq!(
            kept,
            vec![
                TcpState::Established,
                TcpState::CloseWait,
                TcpState::FinWait1
            ]
        );
        assert_eq!(done.time_wait.len(), 1);
        assert_eq!(done.syn_recv.values().sum::<u64>(), 2);
        assert_eq!(done.orphans.get(&TcpState::FinWait1), Some(&1));
        assert_eq!(done.held[&42].get(&TcpState::Established), Some(&2));
    }

    #[test]
    fn only_filling_listeners_name_their_owner() {
        let mut l = sock(TcpState::Listen, "0.0.0.0:80", "0.0.0.0:0");
        l.send_q = 10;
        assert!(!Digest::names_owner(&l));
        l.recv_q = 8;
        assert!(Digest::names_owner(&l));
        assert!(Digest::names_owner(&sock(
            TcpState::CloseWait,
            "127.0.0.1:80",
            "127.0.0.1:1"
        )));
    }
}
