//! The `tcpscope lab` process itself: checks the request, splits it over worker processes,
//! collects their reports, prints what was made, holds until Ctrl-C / SIGTERM / `--hold`, and
//! removes everything it made on the way out — also when a step fails half-way (the
//! [`Running`] guard cleans up on drop).
//!
//! SIGINT, SIGTERM, SIGHUP and SIGCHLD are blocked and waited for with sigtimedwait(), so a
//! signal never interrupts the cleanup, and workers see nothing of it (std resets the signal
//! mask of the processes it spawns).

use super::netns::Netns;
use super::report::LabDoc;
use super::{
    handshake, lossy, Scenario, WorkerReport, FDS_PER_WORKER, MAX_COUNT, MAX_DURATION_MS, MAX_RATE,
    MAX_STOPPED,
};
use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};
use tcpscope_core::analyze::duration::human_ms;

/// What the user asked lab for (from `cli::lab::LabArgs`).
#[derive(Debug, Clone)]
pub struct LabRequest {
    pub scenario: Scenario,
    pub count: Option<u64>,
    pub hold: Option<Duration>,
    pub port: Option<u16>,
    pub json: bool,
    pub own_netns: bool,
    pub lossy: bool,
    pub ipv6: bool,
    /// churn only (default [`DEFAULT_RATE`]).
    pub rate: Option<u64>,
    /// churn only (default [`DEFAULT_DURATION`]).
    pub duration: Option<Duration>,
}

/// Churn's connections per second when `--rate` is not given.
pub const DEFAULT_RATE: u64 = 100;
/// How long churn runs when `--duration` is not given.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);

impl LabRequest {
    fn rate(&self) -> u64 {
        self.rate.unwrap_or(DEFAULT_RATE)
    }
    fn duration(&self) -> Duration {
        self.duration.unwrap_or(DEFAULT_DURATION)
    }
}

/// One worker's share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub index: u64,
    pub count: u64,
    pub first: u64,
}

/// Check the request and split it over workers: units (connections, listeners...) per worker.
pub fn plan(args: &LabRequest, somaxconn: u64, max_tw: u64) -> Result<Vec<Job>> {
    let s = args.scenario;
    let count = args
        .count
        .unwrap_or(if s == Scenario::Established { 2 } else { 1 });
    if let Some(h) = args.hold {
        if h.as_millis() as u64 > MAX_DURATION_MS {
            bail!("--hold is at most 1h");
        }
    }
    if args.lossy && !lossy::SCENARIOS.contains(&s) {
        bail!("--lossy applies to syn-sent, fin-wait-1, last-ack and closing");
    }
    if s != Scenario::Churn {
        for (given, flag) in [
            (args.rate.is_some(), "--rate"),
            (args.duration.is_some(), "--duration"),
        ] {
            if given {
                bail!(
                    "{flag} applies to churn only; {} holds its sockets until Ctrl-C or --hold",
                    s.name()
                );
            }
        }
    }
    if s == Scenario::Churn {
        let rate = args.rate();
        if rate == 0 || rate > MAX_RATE {
            bail!("--rate must be between 1 and {MAX_RATE} connections per second");
        }
        let ms = args.duration().as_millis() as u64;
        if ms == 0 || ms > MAX_DURATION_MS {
            bail!("--duration must be between 1ms and 1h");
        }
        let total = rate * ms / 1000;
        let total = args.count.map_or(total, |c| c.min(total)).max(1);
        return Ok(vec![Job {
            index: 0,
            count: total,
            first: 0,
        }]);
    }
    if count == 0 || count > MAX_COUNT {
        bail!("--count must be between 1 and {MAX_COUNT}");
    }
    let (units, per_worker) = match s {
        Scenario::Established => (count.div_ceil(2), FDS_PER_WORKER / 2),
        Scenario::Listen => (count, FDS_PER_WORKER),
        Scenario::SynSent => (count, FDS_PER_WORKER - 10),
        Scenario::SynRecv => (count, handshake::syn_recv_per_listener(somaxconn)),
        Scenario::StoppedServer => {
            if count > MAX_STOPPED {
                bail!("stopped-server makes one process per connection: --count is at most {MAX_STOPPED}");
            }
            (count, MAX_STOPPED)
        }
        Scenario::TimeWait => {
            let cap = max_tw * 9 / 10;
            if count > cap {
                bail!("the kernel keeps at most {max_tw} TIME-WAIT sockets (net.ipv4.tcp_max_tw_buckets): --count is at most {cap} for time-wait");
            }
            (count, FDS_PER_WORKER / 2)
        }
        _ => (count, FDS_PER_WORKER / 2),
    };
    let workers = units.div_ceil(per_worker);
    // IPv6 loopback is one address: listeners can share a port only if there is one of them.
    let listeners = if s == Scenario::Listen {
        units
    } else {
        workers
    };
    if args.ipv6 && args.port.is_some() && listeners > 1 {
        bail!(
            "--port with --ipv6 needs a single listener: IPv6 has one loopback address (::1), \
             and {listeners} listeners cannot share port {}; leave --port out",
            args.port.unwrap_or(0)
        );
    }
    let mut jobs = Vec::new();
    let mut first = 0;
    for index in 0..workers {
        let n = units / workers + u64::from(index < units % workers);
        jobs.push(Job {
            index,
            count: n,
            first,
        });
        first += n;
    }
    Ok(jobs)
}

fn read_sysctl(path: &str, default: u64) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

/// What lab started: killed, reaped and removed when dropped.
struct Running {
    workers: Vec<Child>,
    children: Vec<u32>,
    netns: Option<Netns>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for &pid in &self.children {
            if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
        for w in &mut self.workers {
            let _ = w.kill();
            let _ = w.wait();
        }
        // As child subreaper, we inherit the workers' orphans: reap them so no zombie is left.
        let until = Instant::now() + Duration::from_secs(2);
        loop {
            let r = rustix::process::waitpid(None, rustix::process::WaitOptions::NOHANG);
            if r.is_err() || Instant::now() > until {
                break;
            }
            if matches!(r, Ok(None)) {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        if let Some(ns) = self.netns.take() {
            drop(ns);
        }
    }
}

/// Signals that end the hold, blocked so they are only ever taken by [`Signals::wait`].
struct Signals {
    set: libc::sigset_t,
}

impl Signals {
    fn block() -> Result<Signals> {
        // SAFETY: sigset_t is plain data initialised by sigemptyset before use.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGCHLD] {
                libc::sigaddset(&mut set, s);
            }
            if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
                bail!("blocking signals failed");
            }
            Ok(Signals { set })
        }
    }

    /// Wait for one of the signals, or until `deadline`. None on timeout.
    fn wait(&self, deadline: Option<Instant>) -> Option<i32> {
        loop {
            let r = match deadline {
                None => {
                    // SAFETY: `set` is initialised; info may be null.
                    unsafe { libc::sigwaitinfo(&self.set, std::ptr::null_mut()) }
                }
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    let ts = libc::timespec {
                        tv_sec: left.as_secs() as libc::time_t,
                        tv_nsec: left.subsec_nanos() as libc::c_long,
                    };
                    // SAFETY: `set` and `ts` are initialised; info may be null.
                    unsafe { libc::sigtimedwait(&self.set, std::ptr::null_mut(), &ts) }
                }
            };
            if r > 0 {
                return Some(r);
            }
            // EAGAIN: timeout; EINTR: try again.
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EAGAIN) {
                return None;
            }
        }
    }
}

pub fn run(args: &LabRequest) -> Result<ExitCode> {
    let somaxconn = read_sysctl("/proc/sys/net/core/somaxconn", 128);
    let max_tw = read_sysctl("/proc/sys/net/ipv4/tcp_max_tw_buckets", 4096);
    let jobs = plan(args, somaxconn, max_tw)?;
    for note in super::netns::sweep_stale() {
        eprintln!("tcpscope lab: {note}");
    }
    let signals = Signals::block()?;
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
        .context("becoming the subreaper of lab's workers")?;
    let mut running = Running {
        workers: Vec::new(),
        children: Vec::new(),
        netns: if args.own_netns || args.lossy {
            Some(Netns::create()?)
        } else {
            None
        },
    };
    let exe =
        std::env::current_exe().context("finding the tcpscope executable to start workers")?;
    let started = Instant::now();
    for job in &jobs {
        let mut cmd = Command::new(&exe);
        cmd.arg("lab-worker")
            .args(["--scenario", args.scenario.name()])
            .args(["--index", &job.index.to_string()])
            .args(["--count", &job.count.to_string()])
            .args(["--first", &job.first.to_string()])
            .args(["--port", &args.port.unwrap_or(0).to_string()])
            .args(["--parent", &std::process::id().to_string()])
            .args(["--rate", &args.rate().to_string()])
            .args(args.lossy.then_some("--lossy"))
            .args(args.ipv6.then_some("--ipv6"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // Out of the terminal's process group: Ctrl-C reaches lab, which cleans up in
            // order, instead of killing workers behind its back.
            .process_group(0);
        if let Some(ns) = &running.netns {
            ns.enter_on_exec(&mut cmd);
        }
        let child = cmd.spawn().context("starting a lab worker")?;
        running.workers.push(child);
    }
    let mut reports = Vec::new();
    for w in &mut running.workers {
        let pid = w.id();
        let Some(stdout) = w.stdout.take() else {
            bail!("lab worker {pid} has no stdout");
        };
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .with_context(|| format!("reading the report of lab worker {pid}"))?;
        if line.is_empty() {
            bail!("lab worker {pid} failed before its sockets were ready (its error is above); everything lab made is removed");
        }
        let report: WorkerReport = serde_json::from_str(&line)
            .with_context(|| format!("lab worker {pid} sent an unreadable report"))?;
        running.children.extend(&report.children);
        reports.push(report);
    }
    let build_time = started.elapsed();
    let doc = assemble(args.scenario, &running, reports);
    let mut out = std::io::stdout().lock();
    if args.json {
        doc.write_json(&mut out)?;
    } else {
        doc.write_text(&mut out)?;
        writeln!(out, "built in {:.2} s", build_time.as_secs_f64())?;
    }
    drop(out);
    let note = hold_note(args);
    eprintln!("tcpscope lab: {note}; everything lab made is removed on exit");
    hold(args, &signals, &mut running)?;
    drop(running);
    Ok(ExitCode::SUCCESS)
}

/// What lab says it does next, once everything is built.
fn hold_note(args: &LabRequest) -> String {
    let human = |d: Duration| human_ms(d.as_millis() as u64);
    match (args.hold, args.scenario) {
        (Some(h), _) if h.is_zero() => "not holding (--hold 0)".to_string(),
        (Some(h), _) => format!("holding for {}, or until Ctrl-C / SIGTERM", human(h)),
        (None, Scenario::Churn) => format!(
            "churning for {}, or until Ctrl-C / SIGTERM",
            human(args.duration())
        ),
        (None, _) => "holding until Ctrl-C or SIGTERM".to_string(),
    }
}

/// Wait for the end of the hold: a signal, --hold, or (churn) the worker finishing.
fn hold(args: &LabRequest, signals: &Signals, running: &mut Running) -> Result<()> {
    let deadline = args.hold.map(|h| Instant::now() + h);
    loop {
        match signals.wait(deadline) {
            None => return Ok(()),
            Some(libc::SIGCHLD) => {
                for w in &mut running.workers {
                    if let Some(status) = w.try_wait()? {
                        if args.scenario == Scenario::Churn && status.success() {
                            return Ok(());
                        }
                        bail!(
                            "lab worker {} ended unexpectedly ({status}); cleaning up",
                            w.id()
                        );
                    }
                }
            }
            Some(_) => return Ok(()),
        }
    }
}

fn assemble(scenario: Scenario, running: &Running, reports: Vec<WorkerReport>) -> LabDoc {
    let netns = running.netns.as_ref().map(|n| n.name.clone());
    let mut doc = LabDoc {
        scenario,
        state: scenario.state(),
        show: LabDoc::show_command(scenario, netns.as_deref()),
        netns,
        pids: Vec::new(),
        listeners: Vec::new(),
        count: 0,
        sockets: Vec::new(),
    };
    for r in reports {
        doc.pids.push(r.pid);
        doc.pids.extend(r.children);
        doc.listeners.extend(r.listeners);
        doc.sockets.extend(r.sockets);
    }
    doc.count = doc.sockets.len();
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        lab: crate::cli::lab::LabArgs,
    }

    fn args(s: &str) -> LabRequest {
        LabRequest::from(&T::parse_from(std::iter::once("t").chain(s.split_whitespace())).lab)
    }

    /// Regression (issue 11, defect 9): `lab close-wait --rate 5` ignored --rate silently.
    #[test]
    fn options_of_churn_are_refused_elsewhere() {
        for a in [
            "close-wait --rate 5",
            "established --duration 3s",
            "listen --rate 1",
        ] {
            let err = plan(&args(a), 4096, 131072).unwrap_err().to_string();
            assert!(err.contains("applies to churn only"), "{a}: {err}");
        }
        assert!(plan(&args("churn --rate 5 --duration 2s"), 4096, 131072).is_ok());
    }

    /// Regression (issue 11, defect 13): "holding for 0ns".
    #[test]
    fn the_hold_is_said_in_words() {
        assert_eq!(
            hold_note(&args("listen --hold 0")),
            "not holding (--hold 0)"
        );
        assert_eq!(
            hold_note(&args("listen --hold 90s")),
            "holding for 1m30s, or until Ctrl-C / SIGTERM"
        );
        assert_eq!(
            hold_note(&args("churn")),
            "churning for 10s, or until Ctrl-C / SIGTERM"
        );
    }

    #[test]
    fn large_counts_spread_over_workers() {
        let jobs = plan(&args("established --count 200000"), 4096, 131072).unwrap();
        assert_eq!(jobs.iter().map(|j| j.count).sum::<u64>(), 100_000);
        assert!(jobs.iter().all(|j| j.count * 2 <= FDS_PER_WORKER));
        let jobs = plan(&args("listen --count 5"), 4096, 131072).unwrap();
        assert_eq!(
            jobs,
            vec![Job {
                index: 0,
                count: 5,
                first: 0
            }]
        );
        let jobs = plan(&args("syn-recv --count 5000"), 4096, 131072).unwrap();
        assert_eq!(jobs.len(), 3);
        assert_eq!(jobs.iter().map(|j| j.count).sum::<u64>(), 5000);
        assert_eq!(jobs[1].first, jobs[0].count);
    }

    #[test]
    fn limits_are_errors() {
        assert!(plan(&args("established --count 0"), 4096, 131072).is_err());
        assert!(plan(&args("established --count 250001"), 4096, 131072).is_err());
        assert!(plan(&args("stopped-server --count 1001"), 4096, 131072).is_err());
        assert!(plan(&args("time-wait --count 200000"), 4096, 131072).is_err());
        assert!(plan(&args("churn --rate 20001"), 4096, 131072).is_err());
        assert!(plan(&args("churn --duration 2h"), 4096, 131072).is_err());
        assert!(plan(&args("listen --hold 2h"), 4096, 131072).is_err());
        assert!(plan(&args("established --lossy"), 4096, 131072).is_err());
        assert!(plan(&args("closing --lossy"), 4096, 131072).is_ok());
        assert!(plan(&args("listen --count 2 --ipv6 --port 5000"), 4096, 131072).is_err());
        assert!(plan(&args("listen --count 1 --ipv6 --port 5000"), 4096, 131072).is_ok());
        let jobs = plan(&args("churn --rate 1000 --duration 2s"), 4096, 131072).unwrap();
        assert_eq!(jobs[0].count, 2000);
    }
}
