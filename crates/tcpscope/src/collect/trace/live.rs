//! The live trace: ring buffers -> decoded records -> merged by time -> tracks -> owners.
//!
//! Each [`LiveTrace::step`] drains every CPU's ring, decodes the records with the layouts read
//! from tracefs, pushes them into the reorder buffer, hands the tracks what is older than the
//! reorder window, and takes back what is older than their look-ahead window. Changes still
//! without an owner then get a lookup (within a budget: a busy host makes far more changes than
//! lookups are worth) through the command's [`Collector`] — the same sock_diag sockets per
//! namespace, inode -> owner cache and process identities its polls use — and namespaces are
//! labelled by it. What trace sees end (closed sockets, exited processes) is forgotten there.

use super::perf::{OpenError, PerfOptions, PerfTrace};
use super::tasks::Tasks;
use super::tracefs;
use crate::collect::collector::Collector;
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};
use tcpscope_core::analyze::fasthash::{FastMap, FastSet};
use tcpscope_core::analyze::trace::{Emitted, Reorder, Tracks};
use tcpscope_core::decode::perf_record::{self, PerfRecord};
use tcpscope_core::decode::tracepoint::{
    record_type, DestroyLayout, SampleMeta, StateChangeLayout,
};
use tcpscope_core::model::socket::Netns;
use tcpscope_core::model::transition::{Lost, OwnerFrom, TraceInput, TraceOwner, Transition};
use tcpscope_core::Socket;

/// The longest a step spends looking sockets up before it reads the rings again.
const LOOKUP_SLICE: Duration = Duration::from_millis(20);

/// How the live trace is tuned.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// The kernel filter for `inet_sock_set_state`.
    pub kernel_filter: String,
    /// Ring buffer bytes per CPU.
    pub ring_bytes: usize,
    /// How long records wait to be merged in time order.
    pub reorder: Duration,
    /// How long changes wait for a later change of the same socket to name its owner.
    pub look_ahead: Duration,
    /// sock_diag lookups allowed per second for changes whose owner is still unknown.
    pub lookups_per_sec: u32,
}

/// Counts of what happened besides the changes themselves.
#[derive(Debug, Default, Clone)]
pub struct LiveStats {
    pub records: u64,
    pub lost: u64,
    /// Lost records reported by PERF_RECORD_LOST, per CPU.
    pub lost_by_cpu: HashMap<u32, u64>,
    pub undecodable: u64,
    pub first_undecodable: Option<String>,
    pub lookups: u64,
    /// Changes left without an owner because the lookup budget was spent.
    pub lookups_skipped: u64,
    /// Why the last lookup that failed did (a namespace gone, /proc unreadable).
    pub lookup_error: Option<String>,
}

/// Nanoseconds since the epoch of a CLOCK_MONOTONIC time, and now on that clock.
struct Clock {
    offset_ns: i128,
}

fn ns(t: rustix::time::Timespec) -> i128 {
    i128::from(t.tv_sec) * 1_000_000_000 + i128::from(t.tv_nsec)
}

impl Clock {
    fn new() -> Clock {
        use rustix::time::{clock_gettime, ClockId};
        // Realtime read between two monotonic reads: the offset to within their distance.
        let before = ns(clock_gettime(ClockId::Monotonic));
        let real = ns(clock_gettime(ClockId::Realtime));
        let after = ns(clock_gettime(ClockId::Monotonic));
        Clock {
            offset_ns: real - (before + after) / 2,
        }
    }
    fn unix(&self, mono_ns: u64) -> u64 {
        (i128::from(mono_ns) + self.offset_ns).max(0) as u64
    }
    fn now_unix(&self) -> u64 {
        self.unix(
            ns(rustix::time::clock_gettime(
                rustix::time::ClockId::Monotonic,
            ))
            .max(0) as u64,
        )
    }
}

/// A running trace of the tracepoints.
pub struct LiveTrace {
    perf: PerfTrace,
    set_state: StateChangeLayout,
    destroy: Option<DestroyLayout>,
    reorder: Reorder<TraceInput>,
    tracks: Tracks,
    tasks: Tasks,
    /// Socket inodes lookups found, by socket address, to be forgotten by the collector's
    /// owner cache when the socket ends.
    inodes: FastMap<u64, u64>,
    /// Processes that exited or exec'd since the last step (their identities are stale).
    gone_pids: Vec<u32>,
    /// Namespace labels by inode.
    labels: FastMap<u64, Netns>,
    clock: Clock,
    opts: LiveOptions,
    budget: (Instant, u32),
    pub stats: LiveStats,
    /// Lost-record notices not yet told to the user.
    lost_news: Vec<Lost>,
    /// Records copied out of the rings by the last drain, and (type, misc, start, end) of each.
    arena: Vec<u8>,
    index: Vec<(u32, u16, usize, usize)>,
    /// Notes on how the trace runs (kernel filter refused, no destroy event, ...).
    pub notes: Vec<String>,
    cpus: usize,
}

/// Why the live trace could not start; the caller falls back to polling.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("{0:#}")]
    Setup(anyhow::Error),
}

impl LiveTrace {
    /// Find the tracepoints, read their formats, open and enable the rings.
    pub fn start(opts: LiveOptions) -> Result<LiveTrace, StartError> {
        let events = tracefs::events_dir().map_err(StartError::Setup)?;
        let set_format = tracefs::event_format(&events, "sock/inet_sock_set_state")
            .map_err(StartError::Setup)?;
        let set_state = StateChangeLayout::from_format(&set_format)
            .context("sock:inet_sock_set_state")
            .map_err(StartError::Setup)?;
        let mut notes = Vec::new();
        let destroy = match tracefs::event_format(&events, "tcp/tcp_destroy_sock")
            .and_then(|f| DestroyLayout::from_format(&f).map_err(anyhow::Error::from))
        {
            Ok(d) => Some(d),
            Err(e) => {
                notes.push(format!(
                    "{e:#}: cookies come from lookups only, and lifetimes of short connections have none"
                ));
                None
            }
        };
        let mut perf = PerfTrace::open(&PerfOptions {
            set_state: set_state.id,
            destroy: destroy.as_ref().map(|d| d.id),
            filter: opts.kernel_filter.clone(),
            ring_bytes: opts.ring_bytes,
        })?;
        if let Err(why) = &perf.filter_applied {
            notes.push(format!("{why}; filtering in user space only"));
        }
        perf.enable()
            .context("enabling the tracepoint")
            .map_err(StartError::Setup)?;
        let cpus = perf.fds().len();
        Ok(LiveTrace {
            perf,
            set_state,
            destroy,
            reorder: Reorder::default(),
            tracks: Tracks::new(opts.look_ahead.as_nanos() as u64),
            tasks: Tasks::default(),
            inodes: FastMap::default(),
            gone_pids: Vec::new(),
            labels: FastMap::default(),
            clock: Clock::new(),
            budget: (Instant::now(), opts.lookups_per_sec),
            opts,
            stats: LiveStats::default(),
            lost_news: Vec::new(),
            arena: Vec::new(),
            index: Vec::new(),
            notes,
            cpus,
        })
    }

    pub fn cpus(&self) -> usize {
        self.cpus
    }

    /// The kernel filter in force (None when the kernel refused it).
    pub fn kernel_filter(&self) -> Option<&str> {
        self.perf.filter_applied.as_deref().ok()
    }

    /// Sleep until a ring has records to read, one of `also` is readable, or `timeout`.
    pub fn wait(&self, also: &[BorrowedFd<'_>], timeout: Duration) -> std::io::Result<()> {
        wait_readable(self.perf.fds().iter().chain(also), timeout)
    }

    /// Lost-record notices since the last call.
    pub fn take_lost(&mut self) -> Vec<Lost> {
        std::mem::take(&mut self.lost_news)
    }

    /// Drain every ring and decode what it held into the reorder buffer. Returns the time the
    /// drain started: every record written before it minus the reorder window has been read
    /// (a record becomes visible within microseconds of its timestamp), however long decoding
    /// the batch took — the release horizon must not move with the decoding's own time, or
    /// records written meanwhile would count as late.
    fn ingest(&mut self) -> u64 {
        let mut inputs: Vec<TraceInput> = Vec::new();
        let (set_state, destroy, clock) = (&self.set_state, &self.destroy, &self.clock);
        let tasks = &mut self.tasks;
        let gone_pids = &mut self.gone_pids;
        let stats = &mut self.stats;
        let lost_news = &mut self.lost_news;
        let bad = |why: String, stats: &mut LiveStats| {
            stats.undecodable += 1;
            stats.first_undecodable.get_or_insert(why);
        };
        // Copy the records out of the rings first and decode after: the rings are handed back
        // to the kernel as fast as possible, whatever the per-record work costs.
        let arena = &mut self.arena;
        let index = &mut self.index;
        arena.clear();
        index.clear();
        let drained_at = clock.now_unix();
        self.perf.drain(&mut |kind, misc, body| {
            let start = arena.len();
            arena.extend_from_slice(body);
            index.push((kind, misc, start, arena.len()));
        });
        for &(kind, misc, start, end) in index.iter() {
            let body = &arena[start..end];
            stats.records += 1;
            match perf_record::parse(kind, misc, body) {
                Ok(PerfRecord::Sample {
                    pid,
                    time_ns,
                    cpu,
                    raw,
                    ..
                }) => {
                    let meta = SampleMeta {
                        time_unix_ns: clock.unix(time_ns),
                        cpu,
                        pid,
                    };
                    let ty = record_type(raw);
                    if let Some(d) = destroy.as_ref().filter(|d| Some(d.id) == ty) {
                        match d.decode(raw, meta) {
                            Ok(d) => inputs.push(TraceInput::Destroy(d)),
                            Err(e) => bad(e.to_string(), stats),
                        }
                        continue;
                    }
                    match set_state.decode(raw, meta) {
                        Ok(change) => {
                            let (context, netns_inode) = if change.in_task_context() {
                                let t = tasks.get(change.pid);
                                let ctx = (!t.kernel_thread).then(|| TraceOwner {
                                    pid: change.pid,
                                    comm: t.comm.clone(),
                                });
                                (ctx, t.netns_inode)
                            } else {
                                (None, None)
                            };
                            // Labelled in `resolve`, by the collector.
                            let netns = context.as_ref().and(netns_inode).map(bare_netns);
                            inputs.push(TraceInput::Change {
                                change,
                                context,
                                netns,
                            });
                        }
                        // Other protocols pass when the kernel refused the filter.
                        Err(tcpscope_core::decode::tracepoint::RecordError::Protocol(_)) => {}
                        Err(e) => bad(e.to_string(), stats),
                    }
                }
                Ok(PerfRecord::Lost { lost, time_ns, cpu }) => {
                    stats.lost += lost;
                    *stats.lost_by_cpu.entry(cpu).or_default() += lost;
                    let l = Lost {
                        time_unix_ns: clock.unix(time_ns),
                        cpu,
                        count: lost,
                    };
                    lost_news.push(l.clone());
                    inputs.push(TraceInput::Lost(l));
                }
                Ok(PerfRecord::Comm {
                    pid,
                    tid,
                    comm,
                    exec,
                }) => {
                    if pid == tid || exec {
                        tasks.renamed(pid, comm);
                        gone_pids.push(pid);
                    }
                }
                Ok(PerfRecord::Exit { pid, tid, .. }) => {
                    if pid == tid {
                        tasks.exited(pid);
                        gone_pids.push(pid);
                    }
                }
                Ok(PerfRecord::Other(_)) => {}
                Err(e) => bad(e.to_string(), stats),
            }
        }
        for i in inputs {
            self.reorder.push(i.time_unix_ns(), i);
        }
        drained_at
    }

    /// Read what the rings hold and return what is ready, in time order, owners resolved as
    /// far as `wanted` changes deserve a lookup.
    pub fn step(
        &mut self,
        collector: &mut Collector,
        wanted: &dyn Fn(&Transition) -> bool,
    ) -> Vec<Emitted> {
        let drained_at = self.ingest();
        let upto = drained_at.saturating_sub(self.opts.reorder.as_nanos() as u64);
        for r in self.reorder.release(upto) {
            self.tracks.push(r.item, r.late);
        }
        let mut out = self.tracks.release(upto);
        self.resolve(&mut out, collector, wanted);
        out
    }

    /// Everything still buffered (at the end).
    pub fn finish(
        &mut self,
        collector: &mut Collector,
        wanted: &dyn Fn(&Transition) -> bool,
    ) -> Vec<Emitted> {
        self.ingest();
        // A loss is announced in the ring only when the next record is written: take the
        // kernel's own count for what no record announced yet.
        let now = self.clock.now_unix();
        for (cpu, counted) in self.perf.lost_by_cpu().unwrap_or_default() {
            let told = self.stats.lost_by_cpu.get(&cpu).copied().unwrap_or(0);
            if counted > told {
                let l = Lost {
                    time_unix_ns: now,
                    cpu,
                    count: counted - told,
                };
                self.stats.lost += l.count;
                *self.stats.lost_by_cpu.entry(cpu).or_default() += l.count;
                self.lost_news.push(l.clone());
                self.reorder.push(now, TraceInput::Lost(l));
            }
        }
        for r in self.reorder.drain() {
            self.tracks.push(r.item, r.late);
        }
        let mut out = self.tracks.drain();
        self.resolve(&mut out, collector, wanted);
        out
    }

    /// Records that arrived too late to be merged in order.
    pub fn late(&self) -> u64 {
        self.reorder.late()
    }

    /// Label namespaces, look up the owners of changes that still have none, and let the
    /// collector forget what ended.
    fn resolve(
        &mut self,
        out: &mut [Emitted],
        collector: &mut Collector,
        wanted: &dyn Fn(&Transition) -> bool,
    ) {
        if self.budget.0.elapsed() >= Duration::from_secs(1) {
            self.budget = (Instant::now(), self.opts.lookups_per_sec);
        }
        // Lookups never hold up reading the rings for long: what does not fit in this slice is
        // left without an owner, like what exceeds the budget per second.
        let slice_ends = Instant::now() + LOOKUP_SLICE;
        let mut found: Vec<(usize, Socket)> = Vec::new();
        for (i, e) in out.iter_mut().enumerate() {
            let Emitted::Transition { transition: t, .. } = e else {
                continue;
            };
            if let Some(n) = &mut t.netns {
                label(n, &mut self.labels, collector);
            }
            if t.owner.is_some() || t.ends_socket() || !wanted(t) {
                continue;
            }
            if self.budget.1 == 0 || Instant::now() >= slice_ends {
                self.stats.lookups_skipped += 1;
                continue;
            }
            self.budget.1 -= 1;
            self.stats.lookups += 1;
            match collector.find_socket(t.family, t.local, t.peer) {
                Ok(Some(s)) => found.push((i, s)),
                Ok(None) => {}
                Err(e) => self.stats.lookup_error = Some(format!("{e:#}")),
            }
        }
        if !found.is_empty() {
            let mut sockets: Vec<Socket> = found.iter().map(|(_, s)| s.clone()).collect();
            if let Err(e) = collector.attribute(&mut sockets) {
                self.stats.lookup_error = Some(format!("{e:#}"));
            }
            for ((i, _), s) in found.into_iter().zip(sockets) {
                let Emitted::Transition {
                    transition: t,
                    track,
                } = &mut out[i]
                else {
                    continue;
                };
                let owner = s.owners.first().map(|o| TraceOwner {
                    pid: o.pid,
                    comm: Some(o.process.comm.clone()),
                });
                if owner.is_some() {
                    t.owner = owner.clone();
                    t.owner_from = OwnerFrom::Lookup;
                }
                if t.netns.is_none() {
                    t.netns = s.netns.clone();
                }
                if t.cookie.is_none() && s.cookie != 0 {
                    t.cookie = Some(s.cookie);
                }
                if s.inode != 0 {
                    self.inodes.insert(t.skaddr, s.inode);
                }
                self.tracks.learned(
                    t.skaddr,
                    *track,
                    owner,
                    s.netns.clone(),
                    (s.cookie != 0).then_some(s.cookie),
                );
            }
        }
        // Sockets that ended leave the owner cache; processes that exited or exec'd are read
        // again when next named.
        let mut ended = FastSet::default();
        for e in out.iter() {
            let skaddr = match e {
                Emitted::Transition { transition: t, .. } if t.ends_socket() => t.skaddr,
                Emitted::Destroy(d) => d.skaddr,
                _ => continue,
            };
            if let Some(inode) = self.inodes.remove(&skaddr) {
                ended.insert(inode);
            }
        }
        if !ended.is_empty() || !self.gone_pids.is_empty() {
            collector.forget(&ended, &self.gone_pids);
            self.gone_pids.clear();
        }
    }
}

/// Sleep until one of `fds` is readable or `timeout` (a signal interrupting is not an error).
pub fn wait_readable<'a>(
    fds: impl Iterator<Item = &'a BorrowedFd<'a>>,
    timeout: Duration,
) -> std::io::Result<()> {
    use rustix::event::{PollFd, PollFlags};
    let mut polled: Vec<PollFd> = fds
        .map(|fd| PollFd::from_borrowed_fd(*fd, PollFlags::IN))
        .collect();
    let ts = rustix::time::Timespec {
        tv_sec: timeout.as_secs() as i64,
        tv_nsec: i64::from(timeout.subsec_nanos()),
    };
    match rustix::event::poll(&mut polled, Some(&ts)) {
        Ok(_) | Err(rustix::io::Errno::INTR) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// A namespace known only by its inode (labelled later).
fn bare_netns(inode: u64) -> Netns {
    Netns {
        inode,
        name: None,
        pid: None,
        container: None,
        path: None,
    }
}

/// Give a namespace known by its inode the collector's label (name, a process, a container).
fn label(n: &mut Netns, labels: &mut FastMap<u64, Netns>, collector: &mut Collector) {
    if let Some(l) = labels.get(&n.inode) {
        *n = l.clone();
        return;
    }
    if let Some(l) = collector.namespace(n.inode) {
        labels.insert(n.inode, l.clone());
        *n = l;
    }
}
