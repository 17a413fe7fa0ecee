//! What `top` remembers across frames: a frame says what one poll saw, the history says how it
//! moved — the counts per state over the last polls (the header's sparklines) and each group's
//! size at the previous refresh (the table's change column). Bounded: [`SAMPLES`] polls, and
//! one grouping's totals from one frame back.

use crate::analyze::frame::Frame;
use crate::analyze::groups::{GroupBy, GroupKey};
use crate::model::state::TcpState;
use std::collections::{HashMap, VecDeque};

/// Polls kept for the sparklines (10 minutes at the default 1 s interval).
pub const SAMPLES: usize = 600;

/// Counts per state and time, of the polls seen.
#[derive(Debug, Default, Clone)]
pub struct History {
    /// (poll time in ms, sockets per kernel state number).
    samples: VecDeque<(u64, [u64; 15])>,
    /// Group totals of the last frame and of the one before, per grouping.
    last: HashMap<(GroupBy, GroupKey), u64>,
    before: Option<HashMap<(GroupBy, GroupKey), u64>>,
    /// The last frame's seq, so a frame seen twice is not counted twice.
    last_seq: Option<u64>,
}

impl History {
    pub fn new() -> History {
        History::default()
    }

    /// Forget everything (the filter changed: the counts mean something else now).
    pub fn clear(&mut self) {
        *self = History::default();
    }

    /// Take a new frame in; a frame already seen (same seq) is ignored.
    pub fn push(&mut self, frame: &Frame) {
        if self.last_seq == Some(frame.seq) {
            return;
        }
        self.last_seq = Some(frame.seq);
        let mut counts = [0u64; 15];
        for s in TcpState::ALL {
            counts[s as usize] = frame.counts.state_total(s);
        }
        self.samples
            .push_back((frame.header.taken_at_unix_ms, counts));
        while self.samples.len() > SAMPLES {
            self.samples.pop_front();
        }
        let mut now = HashMap::with_capacity(self.last.len());
        for (by, groups) in &frame.groups {
            for (key, stats) in groups {
                now.insert((*by, key.clone()), stats.sockets);
            }
        }
        self.before = Some(std::mem::replace(&mut self.last, now));
        if self.samples.len() == 1 {
            // The first frame has nothing before it.
            self.before = None;
        }
    }

    /// Frames taken in.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The counts of `state` at each poll kept, oldest first.
    pub fn series(&self, state: TcpState) -> Vec<u64> {
        self.samples
            .iter()
            .map(|(_, c)| c[state as usize])
            .collect()
    }

    /// True when `state` had sockets at any poll kept.
    pub fn ever(&self, state: TcpState) -> bool {
        self.samples.iter().any(|(_, c)| c[state as usize] > 0)
    }

    /// Change of `state`'s count since the previous poll.
    pub fn state_change(&self, state: TcpState) -> Option<i64> {
        let n = self.samples.len();
        if n < 2 {
            return None;
        }
        let now = self.samples[n - 1].1[state as usize] as i64;
        let before = self.samples[n - 2].1[state as usize] as i64;
        Some(now - before)
    }

    /// Milliseconds the last `n` samples span (0 when they were taken at one time, as a
    /// replayed recording's are).
    pub fn span_ms(&self, n: usize) -> u64 {
        let len = self.samples.len();
        if len < 2 || n < 2 {
            return 0;
        }
        let first = self.samples[len - n.min(len)].0;
        let last = self.samples[len - 1].0;
        last.saturating_sub(first)
    }

    /// Change of a group's size since the previous refresh: `None` at the first frame; a group
    /// that is new counts from zero.
    pub fn group_change(&self, by: GroupBy, key: &GroupKey) -> Option<i64> {
        let before = self.before.as_ref()?;
        let now = *self.last.get(&(by, key.clone()))? as i64;
        let then = before.get(&(by, key.clone())).copied().unwrap_or(0) as i64;
        Some(now - then)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::diagnose::fixtures::*;
    use crate::render::top::testing::frame_of;

    #[test]
    fn series_changes_and_group_deltas() {
        let mut a = sock(TcpState::CloseWait, "127.0.0.1:80", "127.0.0.1:4000");
        owned(&mut a, 42, "srv");
        let mut b = a.clone();
        b.peer.port = 4001;
        let f1 = frame_of(1, snapshot_at(1_000_000, vec![a.clone()]));
        let f2 = frame_of(2, snapshot_at(1_001_000, vec![a.clone(), b.clone()]));
        let mut h = History::new();
        h.push(&f1);
        let key = GroupKey {
            label: "srv[42]".into(),
            pid: Some(42),
        };
        assert_eq!(h.group_change(GroupBy::Process, &key), None);
        assert_eq!(h.state_change(TcpState::CloseWait), None);
        h.push(&f2);
        h.push(&f2);
        assert_eq!(h.len(), 2, "a frame seen twice counts once");
        assert_eq!(h.series(TcpState::CloseWait), vec![1, 2]);
        assert_eq!(h.state_change(TcpState::CloseWait), Some(1));
        assert_eq!(h.group_change(GroupBy::Process, &key), Some(1));
        assert_eq!(h.span_ms(10), 1000);
        assert!(h.ever(TcpState::CloseWait) && !h.ever(TcpState::TimeWait));
        h.clear();
        assert!(h.is_empty());
    }
}
