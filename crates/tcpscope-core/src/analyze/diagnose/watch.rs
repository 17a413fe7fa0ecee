//! Memory across `doctor --watch` polls: when each socket (by kernel cookie) was first seen in
//! its state, so ages are known to within one interval instead of tcp_info lower bounds, and how
//! counts per state and process grow, so a finding can say "+12 CLOSE-WAIT/min in pid 4242".

use crate::model::snapshot::Snapshot;
use crate::model::socket::Socket;
use crate::model::state::TcpState;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// How many polls of counts are kept for growth rates.
const HISTORY: usize = 120;

/// State carried from one poll to the next.
#[derive(Debug, Default)]
pub struct Tracker {
    /// cookie -> (state, the poll that first saw it there, the poll before that).
    first_seen: HashMap<u64, (TcpState, u64, Option<u64>)>,
    last_poll_ms: Option<u64>,
    history: VecDeque<(u64, BTreeMap<String, u64>)>,
}

/// How long a socket has been in its state, bounded by the polls that saw (and did not see) it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InState {
    pub at_least_ms: u64,
    /// `None` for sockets already there at the first poll.
    pub at_most_ms: Option<u64>,
}

/// Kernel counters whose growth doctor reports.
pub const COUNTERS: &[&str] = &["ListenOverflows", "ListenDrops", "TCPTimeWaitOverflow"];

/// The key under which a kernel counter (TcpExt) is tracked.
pub fn counter_key(name: &str) -> String {
    format!("counter:{name}")
}

/// The key under which counts are tracked: a state, optionally within one process.
pub fn count_key(state: TcpState, pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!("{}/pid:{pid}", state.name()),
        None => state.name().to_string(),
    }
}

impl Tracker {
    pub fn new() -> Tracker {
        Tracker::default()
    }

    /// Take in one poll's snapshot.
    pub fn observe(&mut self, snap: &Snapshot) {
        let now = snap.taken_at_unix_ms;
        let previous = self.last_poll_ms.replace(now);
        let mut seen = HashMap::with_capacity(snap.sockets.len());
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for s in &snap.sockets {
            *counts.entry(count_key(s.state, None)).or_default() += 1;
            if let Some(o) = s.owners.first() {
                *counts.entry(count_key(s.state, Some(o.pid))).or_default() += 1;
            }
            if s.cookie == 0 {
                continue;
            }
            let entry = match self.first_seen.get(&s.cookie) {
                Some(&(state, since, before)) if state == s.state => (state, since, before),
                _ => (s.state, now, previous),
            };
            seen.insert(s.cookie, entry);
        }
        self.first_seen = seen;
        for name in COUNTERS {
            if let Some(v) = snap.kernel.tcp_ext.get(*name) {
                counts.insert(counter_key(name), *v);
            }
        }
        self.history.push_back((now, counts));
        while self.history.len() > HISTORY {
            self.history.pop_front();
        }
    }

    /// How long `s` has been in its state as far as the polls tell: at least since the poll that
    /// first saw it there and, when an earlier poll did not see it, at most since that one.
    pub fn in_state_for(&self, s: &Socket, now_ms: u64) -> Option<InState> {
        let &(state, since, before) = self.first_seen.get(&s.cookie)?;
        if state != s.state {
            return None;
        }
        Some(InState {
            at_least_ms: now_ms.saturating_sub(since),
            at_most_ms: before.map(|b| now_ms.saturating_sub(b)),
        })
    }

    /// Growth of a count per minute over the polls kept (`None` before two polls).
    pub fn rate_per_min(&self, key: &str) -> Option<f64> {
        let (t0, first) = self.history.front()?;
        let (t1, last) = self.history.back()?;
        if t1 <= t0 {
            return None;
        }
        let a = first.get(key).copied().unwrap_or(0) as f64;
        let b = last.get(key).copied().unwrap_or(0) as f64;
        Some((b - a) * 60_000.0 / (t1 - t0) as f64)
    }

    /// Evidence text for growth, when there is any to report: "+12.0 close-wait/min over 2m".
    pub fn growth_text(&self, key: &str, what: &str) -> Option<String> {
        let rate = self.rate_per_min(key)?;
        let (t0, _) = self.history.front()?;
        let (t1, _) = self.history.back()?;
        let span = crate::analyze::duration::human_ms(t1 - t0);
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
            })
        };
        assert_eq!(t.in_state_for(&a, 1_000_000), bounds(0, None));
        assert_eq!(t.rate_per_min("close-wait/pid:42"), None);

        let mut b = a.clone();
        b.cookie = 2;
        let mut s2 = snapshot_at(1_060_000, vec![a.clone(), b.clone()]);
        s2.kernel.tcp_ext.insert("ListenDrops".into(), 5);
        t.observe(&s2);
        assert_eq!(t.in_state_for(&a, 1_060_000), bounds(60_000, None));
        assert_eq!(t.in_state_for(&b, 1_070_000), bounds(10_000, Some(70_000)));
        assert_eq!(t.rate_per_min("close-wait/pid:42"), Some(1.0));
        assert_eq!(t.rate_per_min(&counter_key("ListenDrops")), Some(0.0));
        assert!(t
            .growth_text("close-wait/pid:42", "close-wait")
            .unwrap()
            .starts_with("+1.0 close-wait/min"));

        // A state change restarts the clock.
        let mut a2 = a.clone();
        a2.state = TcpState::LastAck;
        t.observe(&snapshot_at(1_070_000, vec![a2.clone()]));
        assert_eq!(t.in_state_for(&a2, 1_070_000), bounds(0, Some(10_000)));
    }
}
