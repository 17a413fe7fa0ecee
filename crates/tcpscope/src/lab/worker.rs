//! The hidden `tcpscope lab-worker` subcommand: one process of a lab run. It builds its share
//! of the sockets, checks they are in the promised state, prints one JSON line (a
//! [`WorkerReport`]) on stdout and sleeps until the supervisor kills it. It dies with the
//! supervisor (PR_SET_PDEATHSIG), whatever killed that.

use super::addrs::Ip;
use super::pairs::Built;
use super::{churn, handshake, lossy, pairs, stopped_server, verify, Scenario, WorkerReport};
use anyhow::{bail, Result};
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

/// One worker's share of a lab run, as the supervisor passed it (from `cli::lab::WorkerArgs`).
#[derive(Debug, Clone)]
pub struct WorkerJob {
    pub scenario: Scenario,
    /// This worker's number (chooses its loopback addresses).
    pub index: u64,
    /// How many units (connections, listeners, ...) this worker makes.
    pub count: u64,
    /// Number of this worker's first unit among all workers (listen scenario).
    pub first: u64,
    pub port: u16,
    /// The supervisor's pid: the worker exits if it is not its parent.
    pub parent: u32,
    /// Make the state by losing segments (inside lab's namespace).
    pub lossy: bool,
    /// Churn: connections per second.
    pub rate: u64,
    /// Build over IPv6 (::1) instead of IPv4.
    pub ipv6: bool,
}

/// How long a worker waits for its sockets to reach their state: they normally do at once (the
/// check returns then); the limit only ends a run that cannot work, even on a busy host.
const SETTLE: Duration = Duration::from_secs(30);

pub fn run(args: &WorkerJob) -> Result<ExitCode> {
    die_with_parent(args.parent)?;
    let pid = std::process::id();
    let (k, n, port) = (args.index, args.count, args.port);
    let ip = if args.ipv6 { Ip::V6 } else { Ip::V4 };
    let mut children = Vec::new();
    let mut churn_listener = None;
    let built: Built = match args.scenario {
        s if args.lossy => lossy::build(s, ip, k, n, port, pid)?,
        Scenario::Listen => handshake::listeners(ip, args.first, n, port, pid)?,
        Scenario::SynSent => handshake::syn_sent(ip, k, n, port, pid)?,
        Scenario::SynRecv => handshake::syn_recv(ip, k, n, port)?,
        Scenario::StoppedServer => {
            let (built, kids) = stopped_server::build(ip, k, n, port)?;
            children = kids;
            built
        }
        Scenario::Churn => {
            let (l, addr) = churn::listener(ip, k, port)?;
            churn_listener = Some((l, addr));
            Built {
                listeners: vec![addr],
                ..Built::default()
            }
        }
        other => pairs::build(other, ip, k, n, port, pid)?,
    };
    if let Some(state) = args.scenario.state() {
        verify::wait_for_state(state, ip, &built, SETTLE)?;
    }
    let report = WorkerReport {
        pid,
        children,
        listeners: built
            .listeners
            .iter()
            .map(|a| pairs::endpoint(*a))
            .collect(),
        sockets: built.sockets,
    };
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, &report)?;
    out.write_all(b"\n")?;
    out.flush()?;
    drop(out);
    if let Some((l, addr)) = churn_listener {
        churn::run(ip, k, &l, addr, args.rate, n)?;
        return Ok(ExitCode::SUCCESS);
    }
    let _keep = built.fds;
    loop {
        // Sleep until a signal ends the process (the supervisor sends SIGKILL).
        // SAFETY: pause() has no preconditions.
        unsafe { libc::pause() };
    }
}

/// Ask the kernel to kill this process when the supervisor dies, and make sure it has not died
/// already (in which case we were reparented).
fn die_with_parent(parent: u32) -> Result<()> {
    if let Err(e) =
        rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
    {
        bail!("prctl(PR_SET_PDEATHSIG): {e}");
    }
    if rustix::process::getppid().map(|p| p.as_raw_nonzero().get() as u32) != Some(parent) {
        bail!("the lab supervisor {parent} is gone; this worker is not meant to be run by hand");
    }
    Ok(())
}
