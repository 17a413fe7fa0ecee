//! State changes as `tcpscope trace` sees them: what the kernel's tracepoints report (raw, in
//! [`TraceInput`]) and what trace concludes about each change ([`Transition`]: who owned the
//! socket and how we know, how long it sat in its old state, whether the model allows it).
//!
//! Plain data. The serde form of [`Transition`] is the *recording* format of `trace --record`
//! (it carries internal facts such as the kernel's socket address); the public `--jsonl`
//! contract is written by `render::trace` from the same value (docs/json.md).

use crate::model::socket::{Endpoint, Family, Netns};
use crate::model::state::TcpState;
use serde::{Deserialize, Serialize};

/// `sock:inet_sock_set_state`, decoded: one socket changed `sk_state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChange {
    /// When it happened, nanoseconds since the Unix epoch.
    pub time_unix_ns: u64,
    /// The CPU whose ring buffer carried the record.
    pub cpu: u32,
    /// The process (thread group) that was running when the tracepoint fired — the socket's
    /// owner only when [`StateChange::in_task_context`] holds.
    pub pid: u32,
    /// The record's `common_flags` (0x08 hardirq, 0x10 softirq, 0x40 NMI, ...).
    pub flags: u8,
    /// The kernel address of the socket: the key of a socket's track. Reused after the
    /// socket is freed, so a track ends at CLOSE (or at `tcp_destroy_sock`).
    pub skaddr: u64,
    pub old: TcpState,
    pub new: TcpState,
    pub family: Family,
    /// Local and remote ends. CLOSE -> SYN_SENT carries local port 0 (the port is picked after
    /// the state changes); CLOSE -> LISTEN a wildcard peer.
    pub local: Endpoint,
    pub peer: Endpoint,
}

/// `common_flags` bits that mean the tracepoint fired in interrupt context, where the running
/// process has nothing to do with the socket (include/linux/trace_events.h).
pub const FLAG_HARDIRQ: u8 = 0x08;
pub const FLAG_SOFTIRQ: u8 = 0x10;
pub const FLAG_NMI: u8 = 0x40;

impl StateChange {
    /// True when the change ran in a process's own context (a system call such as connect,
    /// listen, close, shutdown), so the sample's pid is the process acting on the socket.
    /// In softirq/hardirq context the pid is whoever happened to run: the peer process on
    /// loopback, ksoftirqd, or the idle task (pid 0).
    pub fn in_task_context(&self) -> bool {
        self.pid != 0 && self.flags & (FLAG_HARDIRQ | FLAG_SOFTIRQ | FLAG_NMI) == 0
    }
}

/// `tcp:tcp_destroy_sock`, decoded: a socket is freed. Carries the socket cookie, the key
/// sock_diag uses, so it joins a track to snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destroy {
    pub time_unix_ns: u64,
    pub cpu: u32,
    pub skaddr: u64,
    pub cookie: u64,
}

/// The kernel could not write `count` records into one CPU's ring buffer (PERF_RECORD_LOST).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lost {
    pub time_unix_ns: u64,
    pub cpu: u32,
    pub count: u64,
}

/// A process as trace names it: the pid, its command name, and the network namespace it is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceOwner {
    pub pid: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
}

/// One item of the stream trace analyses, in time order once merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TraceInput {
    /// A state change, with the process that ran it when that process is the socket's owner
    /// (task context and not a kernel thread; see [`StateChange::in_task_context`]) and the
    /// namespace that process is in.
    Change {
        change: StateChange,
        context: Option<TraceOwner>,
        netns: Option<Netns>,
    },
    Destroy(Destroy),
    Lost(Lost),
}

impl TraceInput {
    pub fn time_unix_ns(&self) -> u64 {
        match self {
            TraceInput::Change { change, .. } => change.time_unix_ns,
            TraceInput::Destroy(d) => d.time_unix_ns,
            TraceInput::Lost(l) => l.time_unix_ns,
        }
    }
}

/// Where a transition's owner came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OwnerFrom {
    /// The change ran in the owner's own system call (task context).
    Context,
    /// Another change of the same socket ran in the owner's context (earlier, or within the
    /// look-ahead window after it).
    Cache,
    /// sock_diag found the socket by its addresses, and the process holding its inode.
    Lookup,
    /// Not known.
    None,
}

impl OwnerFrom {
    pub fn name(self) -> &'static str {
        match self {
            OwnerFrom::Context => "context",
            OwnerFrom::Cache => "cache",
            OwnerFrom::Lookup => "lookup",
            OwnerFrom::None => "none",
        }
    }
}

/// What the state machine model says about a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelCheck {
    /// The model's tracepoint view allows old -> new, and old is where the socket's track was.
    Ok,
    /// The model does not allow old -> new: the model (or the kernel) is wrong.
    Violation,
    /// Records were lost since the socket was last seen, so its prior state is not known.
    Unknown,
    /// old -> new is allowed, but the socket was last seen in another state and the kernel
    /// reported no loss: a record it did not deliver (docs/trace.md, "Known issue"). Its prior
    /// state is not known, as after a loss.
    Gap,
}

impl ModelCheck {
    pub fn name(self) -> &'static str {
        match self {
            ModelCheck::Ok => "ok",
            ModelCheck::Violation => "violation",
            ModelCheck::Unknown => "unknown",
            ModelCheck::Gap => "gap",
        }
    }
}

/// One state change of one socket, with everything trace concluded about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub time_unix_ns: u64,
    pub family: Family,
    pub local: Endpoint,
    pub peer: Endpoint,
    pub old: TcpState,
    pub new: TcpState,
    /// Milliseconds the socket spent in `old`, when trace saw it enter that state (or the
    /// collector knows when it did).
    pub in_old_ms: Option<u64>,
    pub owner: Option<TraceOwner>,
    pub owner_from: OwnerFrom,
    pub netns: Option<Netns>,
    /// The socket cookie (sock_diag's id), once known from `tcp_destroy_sock` or a lookup.
    pub cookie: Option<u64>,
    pub model: ModelCheck,
    /// Internal: the socket's kernel address (the track key), the ring buffer's CPU, and the
    /// pid and flags of the raw record. Kept in recordings, not in the `--jsonl` contract.
    pub skaddr: u64,
    pub cpu: u32,
    pub sample_pid: u32,
    pub flags: u8,
}

impl Transition {
    /// True for a change whose socket no longer exists afterwards (CLOSE; a TIME_WAIT
    /// mini-socket may take over its addresses), so there is nothing left to look up.
    pub fn ends_socket(&self) -> bool {
        self.new == TcpState::Close
    }
}

/// One finished connection (`trace --lifetimes`): from the first change trace saw to CLOSE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifetime {
    /// When trace first saw the socket; `None` when it existed before trace started.
    pub start_unix_ns: Option<u64>,
    pub end_unix_ns: u64,
    /// `None` when the start was not seen (the socket is older than the trace).
    pub duration_ms: Option<u64>,
    pub family: Family,
    pub local: Endpoint,
    pub peer: Endpoint,
    pub owner: Option<TraceOwner>,
    pub owner_from: OwnerFrom,
    pub netns: Option<Netns>,
    pub cookie: Option<u64>,
    /// Bytes acknowledged by the peer / received, from the collector's last tcp_info of this
    /// socket; `None` when no poll saw the socket alive.
    pub bytes_sent: Option<u64>,
    pub bytes_received: Option<u64>,
    /// Every state the socket was seen in, in order, ending with `closed`.
    pub states: Vec<TcpState>,
    /// True when records were lost while the socket lived: states may be missing.
    pub incomplete: bool,
}

/// Counts for the final summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceTotals {
    /// Transitions reported (after the filter).
    pub events: u64,
    /// Records the kernel could not deliver (PERF_RECORD_LOST).
    pub lost: u64,
    /// Transitions reported whose model check is `violation`.
    pub violations: u64,
    /// Transitions reported whose model check is `gap`: a record before them, of the same
    /// socket, was not delivered although the kernel reported no loss.
    #[serde(default)]
    pub gaps: u64,
}
