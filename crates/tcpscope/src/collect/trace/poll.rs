//! The fallback when the tracepoint cannot be read: poll every socket through the lookup (the
//! collector) and infer changes from cookie diffs (`tcpscope_core::analyze::trace::poll`). It
//! misses whatever happens between two polls, and says so where it starts.

use super::lookup::SocketLookup;
use anyhow::Result;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tcpscope_core::analyze::trace::{Emitted, PollDiff};
use tcpscope_core::model::transition::{OwnerFrom, TraceOwner};
use tcpscope_core::Filter;

/// Polls at a fixed interval.
pub struct PollTrace {
    diff: PollDiff,
    /// The user's filter when the kernel may apply it to each dump.
    filter: Option<Filter>,
    interval: Duration,
    next: Instant,
}

impl PollTrace {
    pub fn new(interval: Duration, filter: Option<Filter>) -> PollTrace {
        PollTrace {
            diff: PollDiff::default(),
            filter,
            interval,
            next: Instant::now(),
        }
    }

    /// How long until the next poll is due.
    pub fn due_in(&self) -> Duration {
        self.next.saturating_duration_since(Instant::now())
    }

    /// Poll if one is due; the changes since the previous poll.
    pub fn step(&mut self, lookup: &mut dyn SocketLookup) -> Result<Vec<Emitted>> {
        if Instant::now() < self.next {
            return Ok(Vec::new());
        }
        self.next = Instant::now() + self.interval;
        let sockets = lookup.poll(self.filter.as_ref(), false)?;
        let now_ns = crate::collect::kernel::now_unix_ms() * 1_000_000;
        let inodes: HashMap<u64, u64> = sockets
            .iter()
            .filter(|s| s.cookie != 0 && s.inode != 0)
            .map(|s| (s.cookie, s.inode))
            .collect();
        let mut changes = self.diff.update(now_ns, sockets);
        let wanted: Vec<u64> = changes
            .iter()
            .filter_map(|t| t.cookie.and_then(|c| inodes.get(&c)).copied())
            .collect();
        if !wanted.is_empty() {
            let owners = lookup.owners(&wanted);
            for t in &mut changes {
                let inode = t.cookie.and_then(|c| inodes.get(&c));
                if let Some(o) = inode.and_then(|i| owners.get(i)).and_then(|o| o.first()) {
                    t.owner = Some(TraceOwner {
                        pid: o.pid,
                        comm: Some(o.comm.clone()),
                    });
                    t.owner_from = OwnerFrom::Lookup;
                }
            }
        }
        Ok(changes
            .into_iter()
            .map(|transition| Emitted::Transition {
                transition,
                track: 0,
            })
            .collect())
    }
}
