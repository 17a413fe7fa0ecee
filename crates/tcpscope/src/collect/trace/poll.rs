//! The fallback when the tracepoint cannot be read: poll the command's [`Collector`] (every
//! socket, with owners from its cache) and infer changes from cookie diffs
//! (`tcpscope_core::analyze::trace::poll`). It misses whatever happens between two polls, and
//! says so where it starts.

use super::bytes::ByteBook;
use crate::collect::collector::Collector;
use anyhow::Result;
use std::time::{Duration, Instant};
use tcpscope_core::analyze::trace::{Emitted, PollDiff};

/// Polls at a fixed interval.
pub struct PollTrace {
    diff: PollDiff,
    interval: Duration,
    next: Instant,
    polls: u64,
    /// What the first poll said about how sockets and owners were read.
    pub notes: Vec<String>,
}

impl PollTrace {
    pub fn new(interval: Duration) -> PollTrace {
        PollTrace {
            diff: PollDiff::default(),
            interval,
            next: Instant::now(),
            polls: 0,
            notes: Vec::new(),
        }
    }

    /// How long until the next poll is due.
    pub fn due_in(&self) -> Duration {
        self.next.saturating_duration_since(Instant::now())
    }

    /// Poll if one is due; the changes since the previous poll (the first poll is the
    /// baseline and reports none). Byte counts go to `book` (`--lifetimes`).
    pub fn step(
        &mut self,
        collector: &mut Collector,
        mut book: Option<&mut ByteBook>,
    ) -> Result<Vec<Emitted>> {
        if Instant::now() < self.next {
            return Ok(Vec::new());
        }
        self.next = Instant::now() + self.interval;
        if self.polls > 0 {
            collector.next_poll()?;
        }
        self.polls += 1;
        let mut sockets = Vec::new();
        let report = collector.stream(&mut |s| {
            if let Some(b) = book.as_deref_mut() {
                b.see(s);
            }
            sockets.push(s.clone());
            Ok(())
        })?;
        if let Some(b) = book {
            b.end_poll();
        }
        if self.polls == 1 {
            self.notes = collector.header().notes.clone();
            self.notes.extend(report.notes);
        }
        let now_ns = collector
            .header()
            .taken_at_unix_ms
            .saturating_mul(1_000_000);
        Ok(self
            .diff
            .update(now_ns, sockets)
            .into_iter()
            .map(|transition| Emitted::Transition {
                transition,
                track: 0,
            })
            .collect())
    }
}
