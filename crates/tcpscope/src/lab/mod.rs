//! `tcpscope lab`: real sockets on loopback, put on purpose into the TCP state the user names, so
//! that every state can be seen, explained and tested on a real kernel.
//!
//! The lab process (the *supervisor*) never holds the sockets itself: it re-executes tcpscope as
//! hidden `lab-worker` processes (a process may hold at most ~20000 descriptors here), each of
//! which builds its share, checks through sock_diag that every socket it reports is in the
//! promised state, reports one JSON line on stdout and then sleeps until it is killed. Workers die
//! with the supervisor (PR_SET_PDEATHSIG), and every socket they hold has SO_LINGER 0, so a dead
//! worker leaves resets behind, not TIME-WAIT.
//!
//! How each state is made without losing a packet on purpose (docs/lab.md has the long story):
//! * a full accept queue makes the kernel drop SYNs (syn-sent) and handshake ACKs (syn-recv);
//! * a peer that never reads closes its receive window, so a FIN queued behind unsent data stays
//!   unsent: fin-wait-1, closing and last-ack last as long as lab holds them.
//!
//! `--lossy` makes syn-sent, fin-wait-1, last-ack and closing the other way, by losing a segment
//! (nftables rules inside lab's own network namespace; root), see [`lossy`].

pub mod addrs;
pub mod churn;
pub mod firewall;
pub mod handshake;
pub mod lossy;
pub mod netns;
pub mod pairs;
pub mod report;
pub mod sock;
pub mod stopped_server;
pub mod supervisor;
pub mod verify;
pub mod worker;

use serde::{Deserialize, Serialize};
use tcpscope_core::{Endpoint, TcpState};

/// Most sockets one lab run makes (and most connections one churn run opens).
pub const MAX_COUNT: u64 = 250_000;
/// Descriptors one worker may hold: 75% of the 20000 a process may hold here, so lab's own
/// workers stay below doctor's fd-exhaustion threshold (80%) and do not show up as a finding in
/// every benchmark of doctor.
pub const FDS_PER_WORKER: u64 = 15_000;
/// Most stopped server processes (one process per connection).
pub const MAX_STOPPED: u64 = 1_000;
/// Highest churn rate, connections per second.
pub const MAX_RATE: u64 = 20_000;
/// Longest churn run and longest --hold.
pub const MAX_DURATION_MS: u64 = 3_600_000;

/// What lab builds (the command line's spelling and help live in `cli::lab::ScenarioArg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    Established,
    Listen,
    CloseWait,
    #[serde(rename = "fin-wait-2")]
    FinWait2,
    TimeWait,
    SynRecv,
    #[serde(rename = "fin-wait-1")]
    FinWait1,
    LastAck,
    Closing,
    SynSent,
    StoppedServer,
    Churn,
}

impl Scenario {
    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Established => "established",
            Scenario::Listen => "listen",
            Scenario::CloseWait => "close-wait",
            Scenario::FinWait2 => "fin-wait-2",
            Scenario::TimeWait => "time-wait",
            Scenario::SynRecv => "syn-recv",
            Scenario::FinWait1 => "fin-wait-1",
            Scenario::LastAck => "last-ack",
            Scenario::Closing => "closing",
            Scenario::SynSent => "syn-sent",
            Scenario::StoppedServer => "stopped-server",
            Scenario::Churn => "churn",
        }
    }

    /// The state every reported socket is in (none for churn, which reports no sockets).
    pub fn state(self) -> Option<TcpState> {
        Some(match self {
            Scenario::Established => TcpState::Established,
            Scenario::Listen => TcpState::Listen,
            Scenario::CloseWait | Scenario::StoppedServer => TcpState::CloseWait,
            Scenario::FinWait2 => TcpState::FinWait2,
            Scenario::TimeWait => TcpState::TimeWait,
            Scenario::SynRecv => TcpState::SynRecv,
            Scenario::FinWait1 => TcpState::FinWait1,
            Scenario::LastAck => TcpState::LastAck,
            Scenario::Closing => TcpState::Closing,
            Scenario::SynSent => TcpState::SynSent,
            Scenario::Churn => return None,
        })
    }
}

/// One socket lab made and checked, as reported in `--json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabSocket {
    pub state: TcpState,
    pub local: Endpoint,
    pub peer: Endpoint,
    /// The process holding the socket; null when only the kernel holds it (time-wait,
    /// syn-recv request sockets).
    pub pid: Option<u32>,
}

/// What one worker made: its report line on stdout.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WorkerReport {
    pub pid: u32,
    /// Further processes the worker started (stopped-server children).
    #[serde(default)]
    pub children: Vec<u32>,
    /// Listening sockets the worker holds to make its sockets (not themselves reported).
    #[serde(default)]
    pub listeners: Vec<Endpoint>,
    pub sockets: Vec<LabSocket>,
}
