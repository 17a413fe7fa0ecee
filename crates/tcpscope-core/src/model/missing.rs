//! What a source could not tell: the one concept every consumer asks before trusting a field.
//!
//! A socket read through netlink has every field; one read from /proc/net/tcp has no backlog for
//! its listeners, no cookie and no tcp_info; one read from a Windows `netstat -an` capture has no
//! queues, no timers and no owners. A zero in such a field is not a measurement, and treating it
//! as one gives false answers ("accept queue 1 of backlog 0"). So a [`Missing`] set of [`Datum`]
//! travels with the data: on the [`Snapshot`](crate::model::snapshot::Snapshot) for what the whole
//! source lacks (kernel counters, sysctls, process facts, ...), and on each
//! [`Socket`](crate::model::socket::Socket) for the per-socket fields it lacks, so a consumer
//! that sees one socket at a time (a streamed table, `--jsonl`) can tell too. Ask through
//! `Snapshot::lacks` and `Socket::lacks`, which also know what older recordings imply.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// One kind of information a source may lack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Datum {
    /// Recv-Q of every socket (bytes not yet read; for listeners the accept queue).
    RecvQ,
    /// Send-Q of every socket (bytes not yet acknowledged; for listeners the backlog).
    SendQ,
    /// The backlog of listeners (their Send-Q), e.g. /proc/net/tcp and net-tools print 0.
    Backlog,
    /// The accept queue of listeners (their Recv-Q), e.g. BSD `netstat -an` prints 0.
    AcceptQueue,
    /// Pending timers (retransmit, keepalive, time-wait) and their retransmission counts.
    Timer,
    /// Which processes hold each socket (pid, command).
    Owners,
    /// The descriptor numbers of the owners.
    Fd,
    /// The socket's owner uid.
    Uid,
    /// The socket's inode: whether any process holds it at all (0 = kernel-owned).
    Inode,
    /// The kernel's socket cookie.
    Cookie,
    /// tcp_info: ages, rtt, retransmissions.
    TcpInfo,
    /// Kernel counters: /proc/net/sockstat and TcpExt.
    KernelCounters,
    /// The settings (sysctls) of the host.
    Sysctls,
    /// Facts about owning processes: run state, descriptor use, wait channel.
    ProcessFacts,
    /// When the sockets were read (an import's time is the file's modification time).
    TakenAt,
}

impl Datum {
    /// Every datum, in the order they are listed.
    pub const ALL: [Datum; 15] = [
        Datum::RecvQ,
        Datum::SendQ,
        Datum::Backlog,
        Datum::AcceptQueue,
        Datum::Timer,
        Datum::Owners,
        Datum::Fd,
        Datum::Uid,
        Datum::Inode,
        Datum::Cookie,
        Datum::TcpInfo,
        Datum::KernelCounters,
        Datum::Sysctls,
        Datum::ProcessFacts,
        Datum::TakenAt,
    ];

    /// The machine name, used in JSON (`"missing": ["recv-q", "owners"]`).
    pub fn name(self) -> &'static str {
        match self {
            Datum::RecvQ => "recv-q",
            Datum::SendQ => "send-q",
            Datum::Backlog => "backlog",
            Datum::AcceptQueue => "accept-queue",
            Datum::Timer => "timer",
            Datum::Owners => "owners",
            Datum::Fd => "fd",
            Datum::Uid => "uid",
            Datum::Inode => "inode",
            Datum::Cookie => "cookie",
            Datum::TcpInfo => "tcp-info",
            Datum::KernelCounters => "kernel-counters",
            Datum::Sysctls => "sysctls",
            Datum::ProcessFacts => "process-facts",
            Datum::TakenAt => "taken-at",
        }
    }

    /// What it is, for people: "the listeners' backlog", "owning processes".
    pub fn describe(self) -> &'static str {
        match self {
            Datum::RecvQ => "receive queues (Recv-Q)",
            Datum::SendQ => "send queues (Send-Q)",
            Datum::Backlog => "listener backlogs (their Send-Q)",
            Datum::AcceptQueue => "listener accept queues (their Recv-Q)",
            Datum::Timer => "timers",
            Datum::Owners => "owning processes",
            Datum::Fd => "descriptor numbers",
            Datum::Uid => "socket uids",
            Datum::Inode => "inodes (whether a process holds a socket)",
            Datum::Cookie => "socket cookies",
            Datum::TcpInfo => "tcp_info (ages, rtt)",
            Datum::KernelCounters => "kernel counters (sockstat, TcpExt)",
            Datum::Sysctls => "host settings (sysctls)",
            Datum::ProcessFacts => "facts about owning processes (state, descriptors)",
            Datum::TakenAt => "the time of capture",
        }
    }

    fn from_name(name: &str) -> Option<Datum> {
        Datum::ALL.into_iter().find(|d| d.name() == name)
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Datum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of [`Datum`]: what a snapshot or a socket lacks. Empty for a full netlink read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Missing(u32);

impl Missing {
    pub const NONE: Missing = Missing(0);

    pub fn of(data: &[Datum]) -> Missing {
        data.iter().fold(Missing::NONE, |m, d| m.with(*d))
    }
    pub fn with(self, d: Datum) -> Missing {
        Missing(self.0 | d.bit())
    }
    pub fn union(self, other: Missing) -> Missing {
        Missing(self.0 | other.0)
    }
    pub fn contains(self, d: Datum) -> bool {
        self.0 & d.bit() != 0
    }
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
    pub fn iter(self) -> impl Iterator<Item = Datum> {
        Datum::ALL.into_iter().filter(move |d| self.contains(*d))
    }
    /// "the owning processes, timers and retransmission counts" — for notes.
    pub fn describe(self) -> String {
        let parts: Vec<&str> = self.iter().map(Datum::describe).collect();
        match parts.as_slice() {
            [] => String::new(),
            [one] => (*one).to_string(),
            [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
        }
    }
}

impl Serialize for Missing {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(Datum::name))
    }
}

impl<'de> Deserialize<'de> for Missing {
    /// Names this build does not know (written by a newer tcpscope) are ignored.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let names = Vec::<std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(names
            .iter()
            .filter_map(|n| Datum::from_name(n))
            .fold(Missing::NONE, Missing::with))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_ignored() {
        let m = Missing::of(&[Datum::Owners, Datum::RecvQ, Datum::TakenAt]);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"["recv-q","owners","taken-at"]"#);
        let back: Missing = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        let newer: Missing = serde_json::from_str(r#"["owners","warp-drive"]"#).unwrap();
        assert_eq!(newer, Missing::of(&[Datum::Owners]));
        for d in Datum::ALL {
            assert_eq!(Datum::from_name(d.name()), Some(d));
        }
    }

    #[test]
    fn describe_lists_in_words() {
        assert_eq!(Missing::NONE.describe(), "");
        assert_eq!(
            Missing::of(&[Datum::Timer, Datum::Owners]).describe(),
            "timers and owning processes"
        );
        assert!(Missing::of(&[Datum::RecvQ, Datum::SendQ, Datum::Owners])
            .describe()
            .starts_with("receive queues (Recv-Q), send queues (Send-Q) and"));
    }
}
