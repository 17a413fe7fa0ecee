//! The options of `tcpscope lab` and of its hidden `lab-worker` processes, and their conversion
//! into the lab's own request types (so `lab/` does not depend on clap).

use crate::lab::supervisor::LabRequest;
use crate::lab::worker::WorkerJob;
use crate::lab::Scenario;
use clap::Args;
use std::time::Duration;
use tcpscope_core::analyze::duration::parse_duration;

/// What lab builds: the scenarios as the command line spells and explains them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScenarioArg {
    /// Connected pairs; both ends are reported (so counts round up to even).
    Established,
    /// Listening sockets that nobody connects to.
    Listen,
    /// The server end after the client closed; the server never calls close().
    CloseWait,
    /// The client end that closed its write side; the peer of a close-wait, held open.
    #[value(name = "fin-wait-2")]
    FinWait2,
    /// The client end after both sides closed, client first (kernel-owned, expires in 60 s).
    TimeWait,
    /// Handshakes whose final ACK a listener with a full accept queue dropped.
    SynRecv,
    /// A close whose FIN waits behind data the peer does not read (zero window).
    #[value(name = "fin-wait-1")]
    FinWait1,
    /// The server closed after the client's FIN, its FIN stuck behind unread data.
    LastAck,
    /// Both sides closed at once; this side's FIN is stuck behind unread data.
    Closing,
    /// connect() to a listener whose accept queue is full: the SYN is dropped, again and again.
    SynSent,
    /// The socat recipe: a forking server whose per-connection child stops itself; clients give
    /// up after 1 s, so the stopped children hold CLOSE-WAIT sockets.
    StoppedServer,
    /// Open and close connections at a steady rate (--rate, --duration).
    Churn,
}

impl From<ScenarioArg> for Scenario {
    fn from(s: ScenarioArg) -> Scenario {
        match s {
            ScenarioArg::Established => Scenario::Established,
            ScenarioArg::Listen => Scenario::Listen,
            ScenarioArg::CloseWait => Scenario::CloseWait,
            ScenarioArg::FinWait2 => Scenario::FinWait2,
            ScenarioArg::TimeWait => Scenario::TimeWait,
            ScenarioArg::SynRecv => Scenario::SynRecv,
            ScenarioArg::FinWait1 => Scenario::FinWait1,
            ScenarioArg::LastAck => Scenario::LastAck,
            ScenarioArg::Closing => Scenario::Closing,
            ScenarioArg::SynSent => Scenario::SynSent,
            ScenarioArg::StoppedServer => Scenario::StoppedServer,
            ScenarioArg::Churn => Scenario::Churn,
        }
    }
}

/// Options of `tcpscope lab`.
#[derive(Debug, Args, Clone)]
pub struct LabArgs {
    /// What to build.
    #[arg(value_enum, value_name = "SCENARIO")]
    pub scenario: ScenarioArg,

    /// How many sockets in the scenario's state (default 1; established sockets come in pairs,
    /// so odd counts round up). For churn: stop after N connections.
    #[arg(short = 'c', long, value_name = "N")]
    pub count: Option<u64>,

    /// Keep the sockets this long (e.g. 30s, 5m), then clean up and exit. Default: until
    /// Ctrl-C or SIGTERM (churn: until it has run for --duration).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub hold: Option<Duration>,

    /// Port of the listening side (default: one the kernel picks). Extra workers listen on
    /// 127.0.0.2, 127.0.0.3, ... with the same port.
    #[arg(short = 'p', long, value_name = "P")]
    pub port: Option<u16>,

    /// Print one JSON document once everything is in place (docs/lab.md).
    #[arg(long)]
    pub json: bool,

    /// Build inside a private network namespace (needs root), deleted on exit.
    #[arg(long)]
    pub own_netns: bool,

    /// Make syn-sent, fin-wait-1, last-ack or closing by losing a segment instead: inside a
    /// private network namespace (implies --own-netns; needs root and nftables) whose rules drop the
    /// segment that would end the state, so the kernel keeps retransmitting it.
    #[arg(long)]
    pub lossy: bool,

    /// Build over IPv6, on ::1 (the default is IPv4 on 127.0.0.0/8). Every scenario works.
    #[arg(short = '6', long)]
    pub ipv6: bool,

    /// churn only: connections opened (and closed) per second, at most 20000 (default 100).
    #[arg(long, value_name = "R")]
    pub rate: Option<u64>,

    /// churn only: how long to keep churning, at most 1h (default 10s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
}

impl From<&LabArgs> for LabRequest {
    fn from(a: &LabArgs) -> LabRequest {
        LabRequest {
            scenario: a.scenario.into(),
            count: a.count,
            hold: a.hold,
            port: a.port,
            json: a.json,
            own_netns: a.own_netns,
            lossy: a.lossy,
            ipv6: a.ipv6,
            rate: a.rate,
            duration: a.duration,
        }
    }
}

/// Arguments the supervisor gives a worker (not meant for people).
#[derive(Debug, Args, Clone)]
pub struct WorkerArgs {
    #[arg(long, value_enum)]
    pub scenario: ScenarioArg,
    /// This worker's number (chooses its loopback addresses).
    #[arg(long)]
    pub index: u64,
    /// How many units (connections, listeners, ...) this worker makes.
    #[arg(long)]
    pub count: u64,
    /// Number of this worker's first unit among all workers (listen scenario).
    #[arg(long, default_value_t = 0)]
    pub first: u64,
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// The supervisor's pid: the worker exits if it is not its parent.
    #[arg(long)]
    pub parent: u32,
    /// Make the state by losing segments (inside lab's namespace).
    #[arg(long)]
    pub lossy: bool,
    /// Churn: connections per second.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Build over IPv6.
    #[arg(long)]
    pub ipv6: bool,
}

impl From<&WorkerArgs> for WorkerJob {
    fn from(a: &WorkerArgs) -> WorkerJob {
        WorkerJob {
            scenario: a.scenario.into(),
            index: a.index,
            count: a.count,
            first: a.first,
            port: a.port,
            parent: a.parent,
            lossy: a.lossy,
            rate: a.rate,
            ipv6: a.ipv6,
        }
    }
}
