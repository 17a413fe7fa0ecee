//! `tcpscope trace`: every TCP state change as it happens, with its owner, checked against the
//! model — from the tracepoint when it can be read, else by polling, or from a recording.
//! The loop here only wires: the source ([`LiveTrace`], [`PollTrace`] or a recording) hands out
//! items in time order, and [`Sink`] filters, prints, records and counts them.

use crate::cli::trace::TraceArgs;
use crate::collect::collector::Collector;
use crate::collect::plan::{DefaultScope, InputSpec, Needs, Owners, Plan};
use crate::collect::trace::bytes::ByteBook;
use crate::collect::trace::live::{wait_readable, LiveOptions, LiveTrace};
use crate::collect::trace::poll::PollTrace;
use crate::collect::trace::recording::{self, Header, Line, Recorder};
use crate::collect::trace::signals::StopSignals;
use crate::commands::output;
use anyhow::{Context, Result};
use std::collections::HashSet;
use std::io::{self, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tcpscope_core::analyze::trace::{Emitted, Lifetimes, TraceFilter};
use tcpscope_core::model::transition::{Lifetime, ModelCheck, TraceTotals};
use tcpscope_core::render::trace as render;

/// How long a finished connection waits for its cookie (`tcp_destroy_sock`).
const LIFETIME_GRACE: Duration = Duration::from_millis(500);
/// How often `--lifetimes` polls tcp_info, so long connections have bytes when they end.
const BYTES_POLL: Duration = Duration::from_secs(2);

pub fn run(args: &TraceArgs) -> Result<ExitCode> {
    let families = output::families(args.ipv4, args.ipv6);
    let filter = output::parse_filter(&args.filter)?;
    let shown_filter = filter.to_string();
    let filter = TraceFilter::new(filter, &families).map_err(anyhow::Error::msg)?;
    let mut sink = Sink::new(args, &filter);
    if let Some(path) = &args.from {
        return replay(path, &mut sink);
    }
    let started = Instant::now();
    let signals = StopSignals::block()?;
    let (mut source, mut collector) = open_source(args, &filter)?;
    if let Some(path) = &args.record {
        let host = crate::collect::kernel::host();
        sink.recorder = Some(Recorder::create(
            path,
            Header {
                format: recording::FORMAT.into(),
                version: recording::VERSION,
                started_unix_ns: now_ns(),
                mode: source.mode().into(),
                hostname: host.hostname,
                kernel: host.kernel,
                filter: shown_filter,
                notes: source.notes(),
            },
        )?);
    }
    sink.header()?;
    let deadline = args.duration.map(|d| started + d);
    let wanted = |t: &_| filter.needs_owners() || filter.matches(t);
    let mut bytes_polled = Instant::now();
    let mut done = false;
    while !done {
        let wait = match &source {
            Source::Live(_) => Duration::from_millis(20),
            Source::Poll(p) => p.due_in().min(Duration::from_millis(200)),
        };
        let wait = deadline.map_or(wait, |d| {
            wait.min(d.saturating_duration_since(Instant::now()))
        });
        wait_for(&source, &signals, wait)?;
        if signals.arrived() || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let items = match &mut source {
            Source::Live(live) => {
                let items = live.step(&mut collector, &wanted);
                report_lost(live);
                items
            }
            Source::Poll(p) => p.step(&mut collector, args.lifetimes.then_some(&mut sink.bytes))?,
        };
        done = sink.take(&items, now_ns())?;
        if args.lifetimes
            && matches!(source, Source::Live(_))
            && bytes_polled.elapsed() >= BYTES_POLL
        {
            bytes_polled = Instant::now();
            if let Err(e) = sink.bytes.poll(&mut collector) {
                sink.bytes_error = Some(format!("{e:#}"));
            }
        }
        sink.out.flush()?;
    }
    if !done {
        let items = match &mut source {
            Source::Live(live) => {
                let items = live.finish(&mut collector, &wanted);
                report_lost(live);
                items
            }
            Source::Poll(_) => Vec::new(),
        };
        if !sink.take(&items, u64::MAX)? {
            sink.drain_lifetimes()?;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    sink.summary(seconds)?;
    if let Some(r) = sink.recorder.take() {
        r.finish(now_ns())?;
    }
    report_end(&source, &sink);
    Ok(ExitCode::SUCCESS)
}

/// Tell about lost records as they are found.
fn report_lost(live: &mut LiveTrace) {
    for l in live.take_lost() {
        eprintln!(
            "tcpscope: warning: lost {} record{} on CPU {} (ring buffer full): sockets seen before have an unknown history; a larger --buffer-kib helps",
            l.count,
            if l.count == 1 { "" } else { "s" },
            l.cpu
        );
    }
}

fn now_ns() -> u64 {
    crate::collect::kernel::now_unix_ms().saturating_mul(1_000_000)
}

enum Source {
    Live(Box<LiveTrace>),
    Poll(PollTrace),
}

impl Source {
    fn mode(&self) -> &'static str {
        match self {
            Source::Live(_) => "tracepoint",
            Source::Poll(_) => "poll",
        }
    }
    fn notes(&self) -> Vec<String> {
        match self {
            Source::Live(l) => l.notes.clone(),
            Source::Poll(_) => vec![POLL_NOTE.to_string()],
        }
    }
}

const POLL_NOTE: &str =
    "changes are inferred by comparing socket lists taken one --interval apart: \
    changes between two polls are missed, and times are when a poll noticed them";

/// The command's one collector: its sock_diag sockets (in every namespace as root), owner cache
/// and process identities answer the live trace's lookups, or make the polls of the fallback.
fn collector(args: &TraceArgs, filter: &TraceFilter, polling: bool) -> Result<Collector> {
    let input = InputSpec {
        kernel_filter: !args.no_kernel_filter,
        ..InputSpec::default()
    };
    let needs = Needs {
        families: filter.families().to_vec(),
        states: None,
        tcp_info: args.lifetimes,
        info_states: None,
        memory: false,
        // The fallback's changes carry owners; the live trace looks up only the sockets whose
        // owner its records do not name.
        owners: if polling { Owners::All } else { Owners::None },
        counters: false,
        scope: DefaultScope::EveryAsRoot,
    };
    // A socket must not drop out of a poll when its state changes: no state conditions. Owner
    // conditions are judged on the changes, not on every socket of a poll.
    let dump_filter = filter
        .stateless()
        .filter(|f| !f.needs_owners())
        .cloned()
        .unwrap_or_default();
    Ok(Collector::new(Plan::new(&input, dump_filter, needs)?))
}

/// The tracepoint, or polling when it cannot be read (or --poll).
fn open_source(args: &TraceArgs, filter: &TraceFilter) -> Result<(Source, Collector)> {
    if !args.poll {
        let kernel_filter = if args.no_kernel_filter {
            "protocol == 6".to_string()
        } else {
            filter.kernel_filter()
        };
        let opts = LiveOptions {
            kernel_filter,
            ring_bytes: args.buffer_kib.max(4).saturating_mul(1024),
            reorder: args.reorder,
            look_ahead: args.look_ahead,
            lookups_per_sec: args.lookups,
        };
        match LiveTrace::start(opts) {
            Ok(live) => {
                let collector = collector(args, filter, false)?;
                eprintln!(
                    "tcpscope: tracing sock:inet_sock_set_state on {} CPUs (kernel filter: {}); stop with Ctrl-C",
                    live.cpus(),
                    live.kernel_filter().unwrap_or("none")
                );
                print_notes(&live.notes);
                return Ok((Source::Live(Box::new(live)), collector));
            }
            Err(e) => eprintln!("tcpscope: note: cannot read the tracepoint ({e})"),
        }
    }
    let mut collector = collector(args, filter, true)?;
    let mut poll = PollTrace::new(args.interval);
    // The first poll is the baseline every change is measured against.
    poll.step(&mut collector, None)?;
    eprintln!(
        "tcpscope: polling every socket every {} instead of tracing; stop with Ctrl-C",
        tcpscope_core::analyze::duration::human_ms(args.interval.as_millis() as u64)
    );
    let mut notes = vec![POLL_NOTE.to_string()];
    notes.extend(poll.notes.iter().cloned());
    print_notes(&notes);
    Ok((Source::Poll(poll), collector))
}

fn print_notes(notes: &[String]) {
    for n in notes {
        eprintln!("tcpscope: note: {n}");
    }
}

/// Sleep until a ring has data, a signal arrives, or `timeout`.
fn wait_for(source: &Source, signals: &StopSignals, timeout: Duration) -> Result<()> {
    let also = [signals.fd()];
    match source {
        Source::Live(l) => l.wait(&also, timeout),
        Source::Poll(_) => wait_readable(also.iter(), timeout),
    }
    .context("waiting for trace records")
}

fn report_end(source: &Source, sink: &Sink) {
    let mut notes = Vec::new();
    if let Source::Live(l) = source {
        let s = &l.stats;
        if s.undecodable > 0 {
            notes.push(format!(
                "{} records could not be decoded (first: {})",
                s.undecodable,
                s.first_undecodable.as_deref().unwrap_or("?")
            ));
        }
        if sink.totals.gaps > 0 {
            notes.push(format!(
                "{} change{} came after a record of the same socket that the kernel did not deliver, although it reported no loss (model: gap; their sockets' histories are unknown). Some kernels' perf skips tracepoint records made while an idle CPU other than CPU 0 handles a softirq (measured on Linux 6.18 in a Firecracker VM; scripts/perf-idle-check.sh tests a host): docs/trace.md, \"Known issue\"",
                sink.totals.gaps,
                if sink.totals.gaps == 1 { "" } else { "s" }
            ));
        }
        if l.late() > 0 {
            notes.push(format!(
                "{} records arrived after the reorder window: the histories of their sockets are unknown",
                l.late()
            ));
        }
        if s.lookups_skipped > 0 {
            notes.push(format!(
                "{} changes show no owner because the lookup budget was spent (--lookups per second, and 20 ms per read of the ring buffers)",
                s.lookups_skipped
            ));
        }
        if let Some(e) = &s.lookup_error {
            notes.push(format!("an owner lookup failed: {e}"));
        }
    }
    if let Some(e) = &sink.bytes_error {
        notes.push(format!(
            "reading byte counts for --lifetimes failed: {e}; those connections show '?'"
        ));
    }
    print_notes(&notes);
}

/// Replay a recording through the same filter and output.
fn replay(path: &std::path::Path, sink: &mut Sink) -> Result<ExitCode> {
    let (header, lines) = recording::load(path)?;
    sink.header()?;
    let mut ended = header.started_unix_ns;
    let mut items = Vec::new();
    for line in lines {
        match line {
            Line::Transition { track, transition } => {
                items.push(Emitted::Transition { transition, track })
            }
            Line::Destroy(d) => items.push(Emitted::Destroy(d)),
            Line::Lost(l) => items.push(Emitted::Lost(l)),
            Line::Bytes {
                cookie,
                sent,
                received,
            } => sink.bytes.insert(cookie, (sent, received)),
            Line::End { ended_unix_ns } => ended = ended_unix_ns,
            Line::Header(_) => {}
        }
    }
    if !sink.take(&items, u64::MAX)? {
        sink.drain_lifetimes()?;
    }
    let seconds = ended.saturating_sub(header.started_unix_ns) as f64 / 1e9;
    sink.summary(seconds)?;
    Ok(ExitCode::SUCCESS)
}

/// Where items go: filter, count, print, record, lifetimes.
struct Sink<'f> {
    out: io::BufWriter<io::StdoutLock<'static>>,
    filter: &'f TraceFilter,
    jsonl: bool,
    lifetimes: Option<Lifetimes>,
    count: Option<u64>,
    totals: TraceTotals,
    shown: u64,
    recorder: Option<Recorder>,
    /// Sockets with a recorded change, so their destroy record is recorded too.
    recorded: HashSet<u64>,
    /// Byte counts by cookie, from the collector's polls or a recording.
    bytes: ByteBook,
    /// Why the byte counts could not be read.
    bytes_error: Option<String>,
    text: render::TextOptions,
}

impl<'f> Sink<'f> {
    fn new(args: &TraceArgs, filter: &'f TraceFilter) -> Sink<'f> {
        let own_netns = std::fs::read_link("/proc/self/ns/net").ok().and_then(|l| {
            tcpscope_core::decode::process_text::namespace_inode(
                l.as_os_str().as_encoded_bytes(),
                "net",
            )
        });
        Sink {
            out: output::stdout(),
            filter,
            jsonl: args.jsonl,
            lifetimes: args
                .lifetimes
                .then(|| Lifetimes::new(LIFETIME_GRACE.as_nanos() as u64)),
            count: args.count,
            totals: TraceTotals::default(),
            shown: 0,
            recorder: None,
            recorded: HashSet::new(),
            bytes: ByteBook::default(),
            bytes_error: None,
            text: render::TextOptions { own_netns },
        }
    }

    fn header(&mut self) -> io::Result<()> {
        match (self.jsonl, self.lifetimes.is_some()) {
            (true, _) => Ok(()),
            (false, false) => render::write_header(&mut self.out),
            (false, true) => render::write_lifetime_header(&mut self.out),
        }
    }

    fn reached(&self) -> bool {
        self.count.is_some_and(|n| self.shown >= n)
    }

    /// Take items in time order. True once --count is reached.
    fn take(&mut self, items: &[Emitted], now_ns: u64) -> Result<bool> {
        for item in items {
            if self.reached() {
                return Ok(true);
            }
            match item {
                Emitted::Transition { transition: t, .. } => {
                    let matches = self.filter.matches(t);
                    if matches {
                        if let Some(r) = &mut self.recorder {
                            r.line(&Line::from(item))?;
                            self.recorded.insert(t.skaddr);
                        }
                    }
                    if self.lifetimes.is_none() && matches {
                        self.totals.events += 1;
                        match t.model {
                            ModelCheck::Violation => self.totals.violations += 1,
                            ModelCheck::Gap => self.totals.gaps += 1,
                            ModelCheck::Ok | ModelCheck::Unknown => {}
                        }
                        self.shown += 1;
                        if self.jsonl {
                            render::write_jsonl(&mut self.out, t)?;
                        } else {
                            render::write_text(&mut self.out, t, &self.text)?;
                        }
                    } else if matches {
                        self.totals.events += 1;
                        match t.model {
                            ModelCheck::Violation => self.totals.violations += 1,
                            ModelCheck::Gap => self.totals.gaps += 1,
                            ModelCheck::Ok | ModelCheck::Unknown => {}
                        }
                    }
                }
                Emitted::Destroy(d) => {
                    if self.recorded.remove(&d.skaddr) {
                        if let Some(r) = &mut self.recorder {
                            r.line(&Line::from(item))?;
                        }
                    }
                }
                Emitted::Lost(l) => {
                    self.totals.lost += l.count;
                    if let Some(r) = &mut self.recorder {
                        r.line(&Line::from(item))?;
                    }
                }
            }
            if let Some(lt) = &mut self.lifetimes {
                let finished = lt.push(item);
                self.lifetimes_out(finished)?;
            }
        }
        if let Some(lt) = &mut self.lifetimes {
            let finished = lt.flush(now_ns.saturating_sub(LIFETIME_GRACE.as_nanos() as u64));
            self.lifetimes_out(finished)?;
        }
        Ok(self.reached())
    }

    fn drain_lifetimes(&mut self) -> Result<()> {
        if let Some(lt) = &mut self.lifetimes {
            let finished = lt.drain();
            self.lifetimes_out(finished)?;
        }
        Ok(())
    }

    fn lifetimes_out(&mut self, finished: Vec<Lifetime>) -> Result<()> {
        for mut l in finished {
            if self.reached() {
                return Ok(());
            }
            if !self.filter.matches_lifetime(&l) {
                continue;
            }
            if let Some(cookie) = l.cookie {
                if let Some((sent, received)) = self.bytes.get(cookie) {
                    l.bytes_sent = sent;
                    l.bytes_received = received;
                    if let Some(r) = &mut self.recorder {
                        r.line(&Line::Bytes {
                            cookie,
                            sent,
                            received,
                        })?;
                    }
                }
            }
            self.shown += 1;
            if self.jsonl {
                render::write_lifetime_jsonl(&mut self.out, &l)?;
            } else {
                render::write_lifetime_text(&mut self.out, &l, &self.text)?;
            }
        }
        Ok(())
    }

    fn summary(&mut self, seconds: f64) -> io::Result<()> {
        if self.jsonl {
            render::write_summary_jsonl(&mut self.out, &self.totals, seconds)?;
        } else {
            let connections = self.lifetimes.as_ref().map(|_| self.shown);
            render::write_summary_text(&mut self.out, &self.totals, connections, seconds)?;
        }
        self.out.flush()
    }
}
