//! A trace beside `doctor --watch`: the tracepoint, filtered in the kernel to changes *into*
//! the states whose ages doctor reports (CLOSE-WAIT), read between polls. Each change tells the
//! collector's tracker exactly when a socket entered the state, so the next poll that sees that
//! socket reports its age exactly instead of between two polls (or as tcp_info's lower bound).
//! It asks for no owners (doctor's polls attribute what a finding names) and costs nothing
//! while no socket enters those states.

use super::live::{LiveOptions, LiveTrace, StartError};
use crate::collect::collector::Collector;
use std::time::{Duration, Instant};
use tcpscope_core::analyze::trace::{entering_filter, Emitted};
use tcpscope_core::StateSet;

/// How long to wait on the rings at most before looking at the clock again.
const TICK: Duration = Duration::from_millis(100);

/// The trace of entries into some states.
pub struct EntryWatch {
    live: LiveTrace,
    states: StateSet,
    /// Entries told to the tracker so far.
    pub seen: u64,
}

impl EntryWatch {
    /// Open the tracepoint for changes into `states` (root; else the caller's polls bound ages
    /// as before).
    pub fn start(states: StateSet) -> Result<EntryWatch, StartError> {
        let live = LiveTrace::start(LiveOptions {
            kernel_filter: entering_filter(states),
            // A few hundred entries a second at most: a small ring does.
            ring_bytes: 512 * 1024,
            reorder: Duration::from_millis(50),
            look_ahead: Duration::ZERO,
            lookups_per_sec: 0,
        })?;
        Ok(EntryWatch {
            live,
            states,
            seen: 0,
        })
    }

    /// The kernel filter in force.
    pub fn kernel_filter(&self) -> Option<&str> {
        self.live.kernel_filter()
    }

    /// Read the trace until `deadline` (instead of sleeping between polls), telling the
    /// collector's tracker each entry.
    pub fn run_until(&mut self, deadline: Instant, collector: &mut Collector) {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            let _ = self.live.wait(&[], left.min(TICK));
            for e in self.live.step(collector, &|_| false) {
                let Emitted::Transition { transition: t, .. } = e else {
                    continue;
                };
                if self.states.contains(t.new) {
                    self.seen += 1;
                    collector.traced_entry(
                        t.family,
                        t.local,
                        t.peer,
                        t.new,
                        t.time_unix_ns / 1_000_000,
                    );
                }
            }
        }
    }
}
