//! A trace beside a live view's polls (`top` as root): every state change the tracepoint sees,
//! filtered like the view (in the kernel where the filter allows, then in user space), counted
//! per window between two frames ([`TraceCounts`]: the diagram's rates, connections opened and
//! closed). Each change into a state also tells the collector's tracker when the socket entered
//! it, so a socket's detail gives its exact age, as `doctor --watch` does. Read on the
//! collector's own thread between polls (`collect::live`), with its [`Collector`] for the few
//! owner lookups a filter on owners needs.

use super::live::{LiveOptions, LiveTrace};
use crate::collect::collector::Collector;
use std::time::{Duration, Instant};
use tcpscope_core::analyze::trace::{Emitted, TraceCounts, TraceFilter};
use tcpscope_core::{Filter, TcpState};

/// Ring buffer bytes per CPU: the rings are read every 100 ms, and a busy host (10k
/// connections a second, ~100k changes a second) writes well under this much meanwhile.
const RING_BYTES: usize = 2 * 1024 * 1024;

/// Owner lookups a second at most, when the filter names owners (pid, comm).
const LOOKUPS_PER_SEC: u32 = 200;

/// The tracepoint, counted per window.
pub struct RateWatch {
    live: LiveTrace,
    filter: TraceFilter,
    counts: TraceCounts,
    since: Instant,
}

/// The trace filter for a view's filter, or why changes cannot be judged by it.
fn trace_filter(filter: &Filter) -> Result<TraceFilter, String> {
    TraceFilter::new(filter.clone(), &[]).map_err(|e| format!("the filter: {e}"))
}

impl RateWatch {
    /// Open the tracepoint for the changes `filter` selects (root or CAP_PERFMON).
    pub fn start(filter: &Filter) -> Result<RateWatch, String> {
        let tf = trace_filter(filter)?;
        let owners = tf.needs_owners();
        let live = LiveTrace::start(LiveOptions {
            kernel_filter: tf.kernel_filter(),
            ring_bytes: RING_BYTES,
            reorder: Duration::from_millis(50),
            // A change in softirq context learns its owner from a later one in the owner's.
            look_ahead: if owners {
                Duration::from_millis(500)
            } else {
                Duration::ZERO
            },
            lookups_per_sec: if owners { LOOKUPS_PER_SEC } else { 0 },
        })
        .map_err(|e| e.to_string())?;
        Ok(RateWatch {
            live,
            filter: tf,
            counts: TraceCounts::default(),
            since: Instant::now(),
        })
    }

    /// The view's filter changed: trace what the new one selects (counts start again).
    pub fn restart(&mut self, filter: &Filter) -> Result<(), String> {
        *self = RateWatch::start(filter)?;
        Ok(())
    }

    /// Read what the rings hold and count what the filter selects.
    pub fn step(&mut self, collector: &mut Collector) {
        let filter = &self.filter;
        let owners = filter.needs_owners();
        let emitted = self.live.step(collector, &|_| owners);
        for e in emitted {
            match e {
                Emitted::Transition { transition: t, .. } => {
                    if !filter.matches(&t) {
                        continue;
                    }
                    self.counts.add(&t);
                    if t.new != TcpState::Close {
                        collector.traced_entry(
                            t.family,
                            t.local,
                            t.peer,
                            t.new,
                            t.time_unix_ns / 1_000_000,
                        );
                    }
                }
                Emitted::Lost(l) => self.counts.lost += l.count,
                Emitted::Destroy(_) => {}
            }
        }
    }

    /// What was counted since the last call (or the start).
    pub fn take(&mut self) -> TraceCounts {
        let mut c = std::mem::take(&mut self.counts);
        c.window_ms = self.since.elapsed().as_millis() as u64;
        self.since = Instant::now();
        c
    }
}
