//! `tcpscope release`: which selected sockets to end, how (FIN or RST), what the program holding
//! each and the peer will see, what could go wrong — and afterwards, what happened to each.
//!
//! Pure: the binary hands in the selected sockets (with owners and, when it is on this host, the
//! other end), what /proc/PID/status says about the owning processes, and tcpscope's own
//! privileges; later, what the kernel answered when each socket was looked up again and acted on.
//! Every decision and every sentence the user reads is made here, so all of it is tested without
//! root. The steps, in order:
//!
//! * [`plan`] ([`decide`]): the method per socket — FIN (shutdown through a duplicate of the
//!   owner's descriptor) for sockets a process holds that can still send one, RST (SOCK_DESTROY)
//!   for kernel-owned ones, for those past their FIN, and with `--rst` — or a refusal saying why
//!   not and what to do; listeners are left alone unless `--listeners`.
//! * [`recheck`] ([`outcome`]): just before acting, is the socket still the one listed?
//! * [`settle`] / [`failed`]: after acting, what the socket's fate means (released, still in
//!   LAST-ACK because the peer is gone, refused by the kernel) and the next step.
//! * [`Report::exit_code`]: 0 every selected socket is gone, 1 some remain, 3 nothing could be
//!   attempted.

mod decide;
mod outcome;

pub use decide::{plan, Selected};
pub use outcome::{failed, not_attempted, owner_gone, recheck, settle, Recheck, Step};

use crate::decode::process_text::{ProcStatus, SIGPIPE};
use crate::model::socket::{Endpoint, Socket};
use crate::model::state::TcpState;
use serde::{Deserialize, Serialize};

/// How a socket is ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// shutdown(SHUT_RDWR) on a duplicate of the owner's descriptor (pidfd_getfd): the kernel
    /// sends the FIN the program never sent, as if it had closed.
    Fin,
    /// SOCK_DESTROY over sock_diag (`ss -K`): the kernel aborts the socket, with a reset where
    /// the state calls for one.
    Rst,
}

impl Method {
    pub fn label(self) -> &'static str {
        match self {
            Method::Fin => "FIN",
            Method::Rst => "RST",
        }
    }
}

/// The method the user asked for (`--fin`, `--rst`, or neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MethodChoice {
    #[default]
    Auto,
    Fin,
    Rst,
}

/// What the user asked for besides the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    pub method: MethodChoice,
    /// `--listeners`: listening sockets may be ended too.
    pub listeners: bool,
}

/// What tcpscope itself may do, from its own /proc/self/status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Privileges {
    /// tcpscope's real uid (ptrace access to a process of the same user needs no capability).
    pub uid: u32,
    /// CAP_NET_ADMIN: SOCK_DESTROY.
    pub net_admin: bool,
    /// CAP_SYS_PTRACE: duplicating another user's descriptor.
    pub sys_ptrace: bool,
    /// CAP_SYS_ADMIN: entering another network namespace.
    pub sys_admin: bool,
    /// The inode of tcpscope's own network namespace.
    pub netns_inode: Option<u64>,
}

/// How a process treats SIGPIPE, which a write on an ended socket raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sigpipe {
    /// SIG_IGN: the write fails with EPIPE and the program carries on.
    Ignored,
    /// A handler is installed: it runs, then the write fails with EPIPE.
    Handled,
    /// The default action: the process is killed.
    Default,
    /// /proc/PID/status could not be read.
    Unknown,
}

impl Sigpipe {
    pub fn from_status(st: Option<&ProcStatus>) -> Sigpipe {
        let Some(st) = st else {
            return Sigpipe::Unknown;
        };
        match (st.ignores(SIGPIPE), st.catches(SIGPIPE)) {
            (Some(true), _) => Sigpipe::Ignored,
            (_, Some(true)) => Sigpipe::Handled,
            (Some(false), _) => Sigpipe::Default,
            _ => Sigpipe::Unknown,
        }
    }
}

/// For FIN: the process and descriptor tcpscope duplicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Via {
    pub pid: u32,
    pub fd: u32,
}

/// How long the socket has been in its state, as far as the kernel tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Age {
    pub ms: u64,
    /// True when `ms` is a lower bound (tcp_info's time since the last ACK or data).
    pub at_least: bool,
}

/// One process holding a selected socket, and what ending the socket risks for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerRisk {
    pub pid: u32,
    pub comm: String,
    pub fd: u32,
    pub sigpipe: Sigpipe,
    /// Stopped (SIGSTOP) or traced: it notices only when it runs again.
    pub stopped: bool,
    /// A write on the ended socket would kill it (SIGPIPE not ignored nor handled).
    pub danger: bool,
    /// The risk in words ("its next write() on the socket ...").
    pub text: String,
}

/// The other end of a selected connection, when it is on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PeerEnd {
    pub state: TcpState,
    /// A process holds it (inode != 0).
    pub held: bool,
}

impl PeerEnd {
    pub fn of(s: &Socket) -> PeerEnd {
        PeerEnd {
            state: s.state,
            held: s.inode != 0,
        }
    }
}

/// Why a socket will not be touched, and what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub why: String,
    pub next: String,
    /// Refused for lack of privilege (rather than because the method cannot work).
    pub privilege: bool,
}

/// What happened to one socket with `--yes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Outcome {
    /// tcpscope acted and the socket left the TCP tables (`now: null`), or closed cleanly into
    /// TIME-WAIT (a kernel-owned remainder that expires in 60 s).
    Released { now: Option<TcpState>, text: String },
    /// It was gone before tcpscope acted.
    AlreadyGone { text: String },
    /// It is no longer the socket listed (state or owner changed): not touched.
    Changed {
        now: TcpState,
        text: String,
        next: String,
    },
    /// tcpscope acted, and the socket is still there.
    Remains {
        now: TcpState,
        text: String,
        next: String,
    },
    /// Not done: refused before acting, or by the kernel.
    Refused {
        #[serde(skip_serializing_if = "Option::is_none")]
        errno: Option<i32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        text: String,
        next: String,
    },
}

impl Outcome {
    /// True when the socket is gone (or only its TIME-WAIT remainder is left).
    pub fn is_gone(&self) -> bool {
        matches!(self, Outcome::Released { .. } | Outcome::AlreadyGone { .. })
    }

    /// The short form for a table column.
    pub fn label(&self) -> String {
        match self {
            Outcome::Released { now: None, .. } => "released".to_string(),
            Outcome::Released { now: Some(s), .. } => format!("released ({})", s.display_name()),
            Outcome::AlreadyGone { .. } => "already gone".to_string(),
            Outcome::Changed { now, .. } => format!("changed: now {}", now.display_name()),
            Outcome::Remains { now, .. } => format!("remains: {}", now.display_name()),
            Outcome::Refused { errno: Some(e), .. } => format!("refused: {}", errno_name(*e)),
            Outcome::Refused { .. } => "refused".to_string(),
        }
    }

    /// The sentence and the next step, when there is more to say than the label.
    pub fn details(&self) -> Option<(&str, &str)> {
        match self {
            Outcome::Changed { text, next, .. }
            | Outcome::Remains { text, next, .. }
            | Outcome::Refused { text, next, .. } => Some((text, next)),
            _ => None,
        }
    }
}

/// One selected socket: what release will do (or did) to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub socket: Socket,
    /// How it is ended; `null` when it will not be touched (see `refused`).
    pub method: Option<Method>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age: Option<Age>,
    pub owners: Vec<OwnerRisk>,
    /// What the program holding the socket will see.
    pub owner_sees: String,
    /// What the other end will see.
    pub peer_sees: String,
    /// The other end before acting, when it is on this host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<PeerEnd>,
    /// Why it will not be touched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<Refusal>,
    /// With --yes: what happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// With --yes: the other end afterwards, when it is (still) on this host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_after: Option<PeerEnd>,
}

/// How the command was invoked, for the commands the report suggests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Invocation {
    /// The filter as the user wrote it (words joined by spaces).
    pub filter: String,
    /// `--fin`, `--rst`, `--listeners` as given.
    pub flags: Vec<String>,
    /// `--netns NAME` or `--all-netns` as given.
    pub scope: Vec<String>,
}

impl Invocation {
    /// `tcpscope release --yes ... 'FILTER'`: what ends the sockets a dry run listed.
    pub fn yes_command(&self) -> String {
        let mut words = vec!["tcpscope release --yes".to_string()];
        words.extend(self.flags.iter().cloned());
        words.extend(self.scope.iter().cloned());
        words.push(shell_quote(&self.filter));
        words.join(" ")
    }

    /// `tcpscope release --rst --yes ... 'FILTER'` for exactly `sockets` as they are now.
    pub fn rst_command(&self, sockets: &[(TcpState, Endpoint, Endpoint)]) -> String {
        let mut words = vec!["tcpscope release --rst --yes".to_string()];
        words.extend(self.scope.iter().cloned());
        words.push(shell_quote(&exact_filter(sockets)));
        words.join(" ")
    }
}

/// The whole run: a dry run's listing, or what `--yes` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub dry_run: bool,
    pub invocation: Invocation,
    pub sockets: Vec<Item>,
    /// Listening sockets the filter matched, not touched without `--listeners`.
    pub listeners_left_alone: Vec<Socket>,
    /// How the sockets were read (hidden owners, unreadable namespaces).
    pub notes: Vec<String>,
}

impl Report {
    /// 0 when every selected socket is gone (or nothing was asked: a dry run, no match), 1 when
    /// some remain, 3 when none could even be attempted (all refused before acting).
    pub fn exit_code(&self) -> u8 {
        if self.dry_run || self.sockets.is_empty() {
            return 0;
        }
        if self.sockets.iter().all(|i| i.refused.is_some()) {
            return 3;
        }
        let gone = |i: &Item| i.outcome.as_ref().is_some_and(Outcome::is_gone);
        if self.sockets.iter().all(gone) {
            0
        } else {
            1
        }
    }

    /// The `--rst` command for every socket that is still there after acting (LAST-ACK with a
    /// dead peer, FIN-WAIT-2 waiting for one), when there are any.
    pub fn rst_command_for_remaining(&self) -> Option<String> {
        let remaining: Vec<(TcpState, Endpoint, Endpoint)> = self
            .sockets
            .iter()
            .filter_map(|i| match &i.outcome {
                Some(Outcome::Remains { now, .. }) => Some((*now, i.socket.local, i.socket.peer)),
                _ => None,
            })
            .collect();
        (!remaining.is_empty()).then(|| self.invocation.rst_command(&remaining))
    }
}

/// A filter in tcpscope's language that selects exactly these sockets (by state and both
/// endpoints); past eight sockets, the state and the local endpoint or port they share.
pub fn exact_filter(sockets: &[(TcpState, Endpoint, Endpoint)]) -> String {
    let mut states: Vec<TcpState> = sockets.iter().map(|s| s.0).collect();
    states.sort_unstable();
    states.dedup();
    let mut words: Vec<String> = states
        .iter()
        .map(|s| format!("state {}", s.name()))
        .collect();
    let pair = |(_, l, p): &(TcpState, Endpoint, Endpoint)| format!("( src {l} and dst {p} )");
    match sockets {
        [] => {}
        [one] => words.push(pair(one)),
        many if many.len() <= 8 => {
            let pairs: Vec<String> = many.iter().map(pair).collect();
            words.push(format!("( {} )", pairs.join(" or ")));
        }
        many => {
            let local = many[0].1;
            if many.iter().all(|s| s.1 == local) {
                words.push(format!("src {local}"));
            } else if many.iter().all(|s| s.1.port == local.port) {
                words.push(format!("sport = :{}", local.port));
            }
        }
    }
    words.join(" ")
}

/// `text` as one shell word: single-quoted unless it is plain.
pub fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,:/=@%+".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// The symbolic name of the errnos release meets (Linux numbering).
pub fn errno_name(errno: i32) -> String {
    let name = match errno {
        1 => "EPERM",
        2 => "ENOENT",
        3 => "ESRCH",
        9 => "EBADF",
        13 => "EACCES",
        22 => "EINVAL",
        38 => "ENOSYS",
        88 => "ENOTSOCK",
        95 => "EOPNOTSUPP",
        107 => "ENOTCONN",
        116 => "ESTALE",
        _ => return format!("errno {errno}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests;
