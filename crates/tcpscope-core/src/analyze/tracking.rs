//! Memory across polls, for every live command (doctor --watch, top, serve, trace's fallback):
//! which sockets (by kernel cookie) were seen, in which state, since when — so ages are known to
//! within one poll interval instead of tcp_info lower bounds — and how counts grow, so a finding
//! can say "+12 CLOSE-WAIT/min in pid 4242" and a screen can show sockets opened and closed per
//! second.
//!
//! Pure: the caller feeds one poll at a time ([`Tracker::begin`], [`Tracker::see`] for each
//! socket it wants tracked, [`Tracker::count`], [`Tracker::end`]) with the poll's own time, so a
//! replayed sequence of snapshots gives the same answers as the live one did.
//!
//! When a trace runs beside the polls (`doctor --watch` as root), it tells the tracker when
//! sockets *entered* a state ([`Tracker::entered`], by addresses: a traced change does not carry
//! the cookie yet), and the next poll that sees such a socket in that state takes the exact
//! time instead of the bounds the polls give.

use crate::analyze::duration::human_ms;
use crate::analyze::fasthash::FastMap;
use crate::model::snapshot::{KernelCounters, Snapshot};
use crate::model::socket::{Endpoint, Family, Socket};
use crate::model::state::TcpState;
use std::collections::{BTreeMap, VecDeque};

/// How many polls of counts are kept for growth rates.
const HISTORY: usize = 120;
/// How many earlier states a track remembers.
const PAST_STATES: usize = 8;
/// Traced entries waiting for a poll, at most (a trace on a busy host must not grow without
/// bound when the polls keep none of those sockets).
const ENTERED_MAX: usize = 65_536;
/// How much later than the poll that first saw a socket in a state its traced entry may be:
/// a poll's time is taken before its dump, which can last a second on a large host.
const ENTERED_SLACK_MS: u64 = 2_000;

/// What a count is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CountKey {
    /// Sockets in a state.
    State(TcpState),
    /// Sockets in a state held by one process.
    StateOfPid(TcpState, u32),
    /// A kernel counter (TcpExt), as read.
    Counter(&'static str),
}

/// Kernel counters whose growth is tracked.
pub const COUNTERS: &[&str] = &["ListenOverflows", "ListenDrops", "TCPTimeWaitOverflow"];

/// One socket as the polls saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    /// Its state at the last poll that saw it.
    pub state: TcpState,
    /// The poll that first saw it in this state.
    pub state_seen_ms: u64,
    /// The poll before that one, when there was one: it entered the state after this.
    pub state_after_ms: Option<u64>,
    /// The poll that first saw the socket at all.
    pub first_seen_ms: u64,
    /// The number of the last poll that saw it (entries the current poll did not see are gone
    /// at its end). Crate-visible so the views' tests can make tracks.
    pub(crate) last_seen_poll: u64,
    /// Earlier states, oldest first: (state, the poll that first saw it there).
    pub past: Vec<(TcpState, u64)>,
    /// When the socket entered `state`, exactly, when a trace saw it happen.
    pub state_traced_ms: Option<u64>,
}

/// A state entered as a trace saw it, waiting for a poll to see the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entered {
    state: TcpState,
    at_ms: u64,
    /// Two sockets with the same addresses entered it (other namespaces): never guessed.
    ambiguous: bool,
}

/// A socket by its addresses (what a traced change carries).
type Ends = (Family, Endpoint, Endpoint);

/// How long a socket has been in its state, bounded by the polls that saw (and did not see) it,
/// or exactly when a trace saw it enter the state (then both bounds are that time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InState {
    pub at_least_ms: u64,
    /// `None` for sockets already there at the first poll.
    pub at_most_ms: Option<u64>,
    /// The time is exact: a trace saw the socket enter the state.
    pub traced: bool,
}

/// What changed between the last two polls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changes {
    /// Tracked sockets seen for the first time (not counted at the first poll).
    pub opened: u64,
    /// Tracked sockets no longer seen.
    pub closed: u64,
    /// Tracked sockets whose state changed.
    pub changed: u64,
    /// Milliseconds between the two polls (0 at the first).
    pub interval_ms: u64,
}

/// State carried from one poll to the next.
#[derive(Debug, Default)]
pub struct Tracker {
    tracks: FastMap<u64, Track>,
    /// Polls begun so far.
    poll: u64,
    now_ms: u64,
    last_poll_ms: Option<u64>,
    /// This poll's counts: per state in an array, the rest in a hash map (one update per socket
    /// each, where a BTreeMap cost two ordered searches per socket); ordered when the poll ends.
    counts: FastMap<CountKey, u64>,
    states: [u64; 16],
    changes: Changes,
    history: VecDeque<(u64, BTreeMap<CountKey, u64>)>,
    entered: FastMap<Ends, Entered>,
}

impl Tracker {
    pub fn new() -> Tracker {
        Tracker::default()
    }

    /// Start a poll taken at `now_ms`.
    pub fn begin(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        self.poll += 1;
        self.counts.clear();
        self.states = [0; 16];
        self.changes = Changes::default();
    }

    /// Count `s` in its state and, when it has a cookie, track it.
    pub fn see(&mut self, s: &Socket) {
        self.states[s.state as usize] += 1;
        if s.cookie == 0 {
            return;
        }
        let now = self.now_ms;
        let poll = self.poll;
        let previous = self.last_poll_ms;
        let t = match self.tracks.entry(s.cookie) {
            std::collections::hash_map::Entry::Occupied(e) => {
                let t = e.into_mut();
                if t.last_seen_poll == poll {
                    return; // the same socket twice in one poll (a dump that was interrupted)
                }
                t.last_seen_poll = poll;
                if t.state != s.state {
                    self.changes.changed += 1;
                    t.past.push((t.state, t.state_seen_ms));
                    if t.past.len() > PAST_STATES {
                        t.past.remove(0);
                    }
                    t.state = s.state;
                    t.state_seen_ms = now;
                    t.state_after_ms = previous;
                    t.state_traced_ms = None;
                }
                t
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                if previous.is_some() {
                    self.changes.opened += 1;
                }
                e.insert(Track {
                    state: s.state,
                    state_seen_ms: now,
                    state_after_ms: previous,
                    first_seen_ms: now,
                    last_seen_poll: poll,
                    past: Vec::new(),
                    state_traced_ms: None,
                })
            }
        };
        if t.state_traced_ms.is_none() && !self.entered.is_empty() {
            let ends = (s.family, s.local, s.peer);
            if let Some(e) = self.entered.get(&ends) {
                // The entry must fall between the poll before the one that first saw the
                // socket in this state and that poll: else it was another socket's.
                let fits = e.state == t.state
                    && !e.ambiguous
                    && e.at_ms <= t.state_seen_ms + ENTERED_SLACK_MS
                    && t.state_after_ms
                        .is_none_or(|after| e.at_ms + ENTERED_SLACK_MS >= after);
                if fits {
                    t.state_traced_ms = Some(e.at_ms);
                    self.entered.remove(&ends);
                }
            }
        }
    }

    /// A trace saw the socket at these addresses enter `state` at `at_ms`: the poll that sees
    /// it there (this one or a later one) takes that time as exact. Two sockets with the same
    /// addresses entering the same state before a poll (in different namespaces) make it
    /// ambiguous, and neither gets a time.
    pub fn entered(
        &mut self,
        family: Family,
        local: Endpoint,
        peer: Endpoint,
        state: TcpState,
        at_ms: u64,
    ) {
        if self.entered.len() >= ENTERED_MAX {
            self.entered.clear();
        }
        let e = self
            .entered
            .entry((family, local, peer))
            .or_insert(Entered {
                state,
                at_ms,
                ambiguous: false,
            });
        if e.state != state {
            *e = Entered {
                state,
                at_ms,
                ambiguous: false,
            };
        } else if e.at_ms != at_ms {
            e.ambiguous = true;
        }
    }

    /// Add `n` to a count of this poll (e.g. CLOSE-WAIT sockets of one process).
    pub fn count(&mut self, key: CountKey, n: u64) {
        *self.counts.entry(key).or_default() += n;
    }

    /// End the poll: what was not seen is gone; counts and counters join the history.
    pub fn end(&mut self, kernel: &KernelCounters) -> Changes {
        let poll = self.poll;
        let before = self.tracks.len();
        self.tracks.retain(|_, t| t.last_seen_poll == poll);
        if self.last_poll_ms.is_some() {
            self.changes.closed = (before - self.tracks.len()) as u64;
        }
        let mut counts: BTreeMap<CountKey, u64> = self.counts.drain().collect();
        for state in TcpState::ALL {
            let n = self.states[state as usize];
            if n > 0 {
                *counts.entry(CountKey::State(state)).or_default() += n;
            }
        }
        for name in COUNTERS {
            if let Some(v) = kernel.tcp_ext.get(*name) {
                counts.insert(CountKey::Counter(name), *v);
            }
        }
        // Traced entries from before the previous poll that no poll has claimed since were of
        // sockets the polls do not keep (or that are gone).
        if let Some(before) = self.last_poll_ms {
            let oldest = before.saturating_sub(ENTERED_SLACK_MS);
            self.entered.retain(|_, e| e.at_ms >= oldest);
        }
        self.changes.interval_ms = self
            .last_poll_ms
            .map_or(0, |t| self.now_ms.saturating_sub(t));
        self.last_poll_ms = Some(self.now_ms);
        self.history.push_back((self.now_ms, counts));
        while self.history.len() > HISTORY {
            self.history.pop_front();
        }
        self.changes
    }

    /// One whole snapshot as a poll: every socket tracked, with per-process counts of the first
    /// owner of each socket.
    pub fn observe(&mut self, snap: &Snapshot) -> Changes {
        self.begin(snap.taken_at_unix_ms);
        for s in &snap.sockets {
            self.see(s);
            if let Some(o) = s.owners.first() {
                self.count(CountKey::StateOfPid(s.state, o.pid), 1);
            }
        }
        self.end(&snap.kernel)
    }

    /// How long `s` has been in its state as far as the polls tell: at least since the poll that
    /// first saw it there and, when an earlier poll did not see it there, at most since that one.
    pub fn in_state_for(&self, s: &Socket, now_ms: u64) -> Option<InState> {
        let t = self.tracks.get(&s.cookie)?;
        if t.state != s.state {
            return None;
        }
        if let Some(at) = t.state_traced_ms {
            let ms = now_ms.saturating_sub(at);
            return Some(InState {
                at_least_ms: ms,
                at_most_ms: Some(ms),
                traced: true,
            });
        }
        Some(InState {
            at_least_ms: now_ms.saturating_sub(t.state_seen_ms),
            at_most_ms: t.state_after_ms.map(|b| now_ms.saturating_sub(b)),
            traced: false,
        })
    }

    /// The track of one socket, by cookie.
    pub fn track(&self, cookie: u64) -> Option<&Track> {
        self.tracks.get(&cookie)
    }

    /// Sockets tracked now.
    pub fn tracked(&self) -> usize {
        self.tracks.len()
    }

    /// The polls kept, oldest first: (time, counts).
    pub fn history(&self) -> impl Iterator<Item = (u64, &BTreeMap<CountKey, u64>)> {
        self.history.iter().map(|(t, c)| (*t, c))
    }

    /// Growth of a count per minute over the polls kept (`None` before two polls).
    pub fn rate_per_min(&self, key: CountKey) -> Option<f64> {
        let (t0, first) = self.history.front()?;
        let (t1, last) = self.history.back()?;
        if t1 <= t0 {
            return None;
        }
        let a = first.get(&key).copied().unwrap_or(0) as f64;
        let b = last.get(&key).copied().unwrap_or(0) as f64;
        Some((b - a) * 60_000.0 / (t1 - t0) as f64)
    }

    /// Evidence text for growth, when there is any to report: "+12.0 close-wait/min over 2m".
    pub fn growth_text(&self, key: CountKey, what: &str) -> Option<String> {
        let rate = self.rate_per_min(key)?;
        let (t0, _) = self.history.front()?;
        let (t1, _) = self.history.back()?;
        let span = human_ms(t1 - t0);
        Some(format!(
            "{rate:+.1} {what}/min over the last {span} of polling"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::diagnose::fixtures::*;

    #[test]
    fn ages_become_exact_and_rates_appear() {
        let mut t = Tracker::new();
        let mut a = sock(TcpState::CloseWait, "127.0.0.1:80", "127.0.0.1:40000");
        a.cookie = 1;
        owned(&mut a, 42, "srv");
        let mut s1 = snapshot_at(1_000_000, vec![a.clone()]);
        s1.kernel.tcp_ext.insert("ListenDrops".into(), 5);
        t.observe(&s1);
        let bounds = |lo, hi| {
            Some(InState {
                at_least_ms: lo,
                at_most_ms: hi,
                traced: false,
            })
        };
        assert_eq!(t.in_state_for(&a, 1_000_000), bounds(0, None));
        let cw42 = CountKey::StateOfPid(TcpState::CloseWait, 42);
        assert_eq!(t.rate_per_min(cw42), None);

        let mut b = a.clone();
        b.cookie = 2;
        let mut s2 = snapshot_at(1_060_000, vec![a.clone(), b.clone()]);
        s2.kernel.tcp_ext.insert("ListenDrops".into(), 5);
        let changes = t.observe(&s2);
        assert_eq!(
            (changes.opened, changes.closed, changes.interval_ms),
            (1, 0, 60_000)
        );
        assert_eq!(t.in_state_for(&a, 1_060_000), bounds(60_000, None));
        assert_eq!(t.in_state_for(&b, 1_070_000), bounds(10_000, Some(70_000)));
        assert_eq!(t.rate_per_min(cw42), Some(1.0));
        assert_eq!(t.rate_per_min(CountKey::Counter("ListenDrops")), Some(0.0));
        assert!(t
            .growth_text(cw42, "close-wait")
            .unwrap()
            .starts_with("+1.0 close-wait/min"));

        // A state change restarts the clock and is remembered; b is gone.
        let mut a2 = a.clone();
        a2.state = TcpState::LastAck;
        let changes = t.observe(&snapshot_at(1_070_000, vec![a2.clone()]));
        assert_eq!((changes.changed, changes.closed), (1, 1));
        assert_eq!(t.in_state_for(&a2, 1_070_000), bounds(0, Some(10_000)));
        let track = t.track(1).unwrap();
        assert_eq!(track.past, vec![(TcpState::CloseWait, 1_000_000)]);
        assert_eq!(track.first_seen_ms, 1_000_000);
        assert_eq!(t.tracked(), 1);
    }

    #[test]
    fn a_traced_entry_makes_the_age_exact() {
        let mut t = Tracker::new();
        let mut a = sock(TcpState::CloseWait, "127.0.0.1:80", "127.0.0.1:40000");
        a.cookie = 1;
        let mut b = sock(TcpState::CloseWait, "127.0.0.1:80", "127.0.0.1:40001");
        b.cookie = 2;
        let mut old = sock(TcpState::CloseWait, "127.0.0.1:80", "127.0.0.1:40002");
        old.cookie = 3;
        t.observe(&snapshot_at(1_000_000, vec![old.clone()]));
        // a: traced entering CLOSE-WAIT before the poll that first sees it.
        t.entered(a.family, a.local, a.peer, TcpState::CloseWait, 1_004_000);
        // b: the trace delivers its entry only after the poll that first saw it.
        t.observe(&snapshot_at(
            1_010_000,
            vec![old.clone(), a.clone(), b.clone()],
        ));
        t.entered(b.family, b.local, b.peer, TcpState::CloseWait, 1_009_500);
        // old: an entry long after the poll that first saw it is another socket's.
        t.entered(
            old.family,
            old.local,
            old.peer,
            TcpState::CloseWait,
            1_009_000,
        );
        t.observe(&snapshot_at(
            1_020_000,
            vec![old.clone(), a.clone(), b.clone()],
        ));
        let exact = |ms| {
            Some(InState {
                at_least_ms: ms,
                at_most_ms: Some(ms),
                traced: true,
            })
        };
        assert_eq!(t.in_state_for(&a, 1_030_000), exact(26_000));
        assert_eq!(t.in_state_for(&b, 1_030_000), exact(20_500));
        assert!(!t.in_state_for(&old, 1_030_000).unwrap().traced);
        // Leaving the state forgets the traced time.
        let mut a2 = a.clone();
        a2.state = TcpState::LastAck;
        t.observe(&snapshot_at(1_040_000, vec![a2.clone()]));
        assert!(!t.in_state_for(&a2, 1_040_000).unwrap().traced);
    }

    #[test]
    fn two_sockets_with_the_same_addresses_get_no_traced_time() {
        let mut t = Tracker::new();
        let mut a = sock(TcpState::CloseWait, "10.0.0.2:80", "10.0.0.1:40000");
        a.cookie = 1;
        t.observe(&snapshot_at(1_000_000, Vec::new()));
        t.entered(a.family, a.local, a.peer, TcpState::CloseWait, 1_001_000);
        t.entered(a.family, a.local, a.peer, TcpState::CloseWait, 1_002_000);
        t.observe(&snapshot_at(1_010_000, vec![a.clone()]));
        let age = t.in_state_for(&a, 1_010_000).unwrap();
        assert!(!age.traced);
        assert_eq!(age.at_most_ms, Some(10_000));
    }
}
