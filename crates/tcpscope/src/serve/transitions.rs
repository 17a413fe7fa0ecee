//! `tcpscope_transitions_total{from,to}` for serve: every TCP state change the kernel's
//! `sock:inet_sock_set_state` tracepoint reports, counted by (old, new) on a thread of its own,
//! with the records the ring buffers lost.
//!
//! It reads the same perf rings as `tcpscope trace` ([`crate::collect::trace::perf`]) but keeps
//! nothing per socket: no reordering, no owners, no model check — a counter per pair is all an
//! exporter needs, and a busy host makes tens of thousands of changes a second. A change
//! carries no network namespace, so the counts are the host's, every namespace included,
//! whatever `--netns` or the filter select (docs/metrics.md says so). Needs root (or
//! CAP_PERFMON) and tracefs; without them serve runs without these two families and says why.

use crate::collect::trace::live::wait_readable;
use crate::collect::trace::perf::{PerfOptions, PerfTrace};
use crate::collect::trace::tracefs;
use anyhow::{anyhow, Context, Result};
use std::collections::BTreeMap;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use tcpscope_core::decode::perf_record::{self, PerfRecord};
use tcpscope_core::decode::tracepoint::{SampleMeta, StateChangeLayout};
use tcpscope_core::render::metrics::TransitionTotals;
use tcpscope_core::TcpState;

/// Ring buffer per CPU: measured here, a few hundred KiB with the kernel filter kept up with lab
/// churn at 10,000 connections a second (docs/trace.md); a loss is counted, never hidden.
const RING_BYTES: usize = 1024 * 1024;
/// The kernel-side filter: TCP only (SCTP and MPTCP use the same tracepoint).
const KERNEL_FILTER: &str = "protocol == 6";
/// How often the counting thread wakes up when nothing arrives (to read the kernel's lost count).
const IDLE_WAKEUP: Duration = Duration::from_secs(1);

/// The counts, shared between the counting thread and the scrapes.
#[derive(Clone)]
pub struct Transitions {
    totals: Arc<Mutex<TransitionTotals>>,
}

impl Transitions {
    /// Open the tracepoint and start counting; an error says why it cannot (not root, no
    /// tracefs, no tracepoint).
    pub fn start() -> Result<Transitions> {
        let totals = Arc::new(Mutex::new(TransitionTotals::default()));
        let shared = totals.clone();
        let (ready, started) = mpsc::channel();
        std::thread::Builder::new()
            .name("tcpscope-transitions".into())
            .spawn(move || {
                // The rings are opened on this thread and never leave it.
                match open() {
                    Ok((perf, layout)) => {
                        let _ = ready.send(Ok(()));
                        count(perf, &layout, &shared);
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                    }
                }
            })
            .context("starting the thread that counts state changes")?;
        started
            .recv()
            .map_err(|_| anyhow!("the thread that counts state changes ended at once"))??;
        Ok(Transitions { totals })
    }

    /// The counts so far.
    pub fn totals(&self) -> TransitionTotals {
        self.totals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn open() -> Result<(PerfTrace, StateChangeLayout)> {
    let events = tracefs::events_dir()?;
    let format = tracefs::event_format(&events, "sock/inet_sock_set_state")?;
    let layout =
        StateChangeLayout::from_format(&format).context("reading sock:inet_sock_set_state")?;
    let mut perf = PerfTrace::open(&PerfOptions {
        set_state: layout.id,
        destroy: None,
        filter: KERNEL_FILTER.to_string(),
        ring_bytes: RING_BYTES,
    })?;
    perf.enable().context("enabling the tracepoint")?;
    Ok((perf, layout))
}

/// Count until the process ends.
fn count(mut perf: PerfTrace, layout: &StateChangeLayout, shared: &Mutex<TransitionTotals>) {
    let mut announced_lost = 0u64;
    let mut batch: BTreeMap<(TcpState, TcpState), u64> = BTreeMap::new();
    loop {
        if wait_readable(perf.fds().iter(), IDLE_WAKEUP).is_err() {
            std::thread::sleep(IDLE_WAKEUP);
        }
        perf.drain(
            &mut |kind, misc, body| match perf_record::parse(kind, misc, body) {
                Ok(PerfRecord::Sample {
                    raw,
                    pid,
                    cpu,
                    time_ns,
                    ..
                }) => {
                    let meta = SampleMeta {
                        time_unix_ns: time_ns,
                        cpu,
                        pid,
                    };
                    // Records of other protocols pass only when the kernel refused the filter.
                    if let Ok(c) = layout.decode(raw, meta) {
                        *batch.entry((c.old, c.new)).or_default() += 1;
                    }
                }
                Ok(PerfRecord::Lost { lost, .. }) => announced_lost += lost,
                _ => {}
            },
        );
        // The kernel's own count (Linux 6.0+) includes losses no record announced yet.
        let counted: Option<u64> = perf
            .lost_by_cpu()
            .map(|by_cpu| by_cpu.iter().map(|(_, n)| n).sum());
        let mut t = shared.lock().unwrap_or_else(|e| e.into_inner());
        for (pair, n) in std::mem::take(&mut batch) {
            *t.counts.entry(pair).or_default() += n;
        }
        t.lost = t.lost.max(counted.unwrap_or(0).max(announced_lost));
    }
}
