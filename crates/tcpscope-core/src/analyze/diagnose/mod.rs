//! `doctor`'s rules: each looks at a snapshot and says what is wrong, whose fault it is, with
//! the numbers that show it, and what to do next. Pure: the snapshot carries `now`
//! (`taken_at_unix_ms`), the kernel counters, and the facts about owning processes, so a
//! recording diagnoses exactly as the live host did.
//!
//! One file per rule; [`RULES`] is the table that names them. Rules never suggest TCP tuning for
//! a CLOSE-WAIT leak: that is a program bug, and the text says so.

mod close_wait_leak;
mod closing_pileup;
mod fd_exhaustion;
mod fin_wait_2;
mod listen_overflow;
mod orphans;
mod send_queue_stall;
mod syn_sent_stuck;
mod time_wait_pressure;
mod unread_receive_queue;
pub mod watch;

use crate::model::process::ProcessInfo;
use crate::model::snapshot::Snapshot;
use crate::model::socket::{Endpoint, Socket};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use watch::Tracker;

/// How bad a finding is. Ordered: `Critical` is the greatest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Warning => "WARNING",
            Severity::Critical => "CRITICAL",
        }
    }
}

/// Who or what a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subject {
    /// process, container, destination, listener, peer or host.
    pub kind: &'static str,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Every process the finding is about, when it is several (siblings forked by one server).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pids: Vec<u32>,
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub subject: Subject,
    /// One line: what is wrong and whose it is.
    pub title: String,
    /// The numbers that show it.
    pub evidence: Vec<String>,
    /// What it means, in plain words.
    pub explanation: String,
    /// What to do: commands, code fixes, settings.
    pub next_steps: Vec<String>,
    /// How many sockets the finding is about.
    pub sockets: u64,
}

/// Everything a rule may look at.
pub struct Context<'a> {
    pub snapshot: &'a Snapshot,
    /// Across `--watch` polls: ages by cookie and growth rates. `None` for one-shot runs.
    pub tracker: Option<&'a Tracker>,
    partners: HashMap<(u64, Endpoint, Endpoint), usize>,
}

impl<'a> Context<'a> {
    pub fn new(snapshot: &'a Snapshot, tracker: Option<&'a Tracker>) -> Context<'a> {
        let partners = snapshot
            .sockets
            .iter()
            .enumerate()
            .map(|(i, s)| ((netns_id(s), s.local, s.peer), i))
            .collect();
        Context {
            snapshot,
            tracker,
            partners,
        }
    }

    /// The other end of `s`, when it is on this host (loopback or another namespace listed).
    pub fn partner(&self, s: &Socket) -> Option<&'a Socket> {
        let i = self.partners.get(&(netns_id(s), s.peer, s.local))?;
        self.snapshot.sockets.get(*i)
    }

    pub fn process(&self, pid: u32) -> Option<&'a ProcessInfo> {
        self.snapshot.processes.get(&pid)
    }

    pub fn sysctl(&self, name: &str) -> Option<&'a str> {
        self.snapshot.kernel.sysctls.get(name).map(String::as_str)
    }

    pub fn sysctl_u64(&self, name: &str) -> Option<u64> {
        self.sysctl(name)?.trim().parse().ok()
    }

    pub fn counter(&self, name: &str) -> Option<u64> {
        self.snapshot.kernel.tcp_ext.get(name).copied()
    }

    pub fn now_ms(&self) -> u64 {
        self.snapshot.taken_at_unix_ms
    }

    /// "pid 4242 (java)" or "pid 4242", with the container when there is one.
    pub fn process_name(&self, pid: u32) -> String {
        let comm = self.process(pid).map(|p| p.comm.clone()).or_else(|| {
            self.snapshot
                .sockets
                .iter()
                .flat_map(|s| &s.owners)
                .find(|o| o.pid == pid)
                .map(|o| o.comm.clone())
        });
        let container = self
            .process(pid)
            .and_then(|p| p.container.as_ref())
            .map(|c| format!(" in container {}", crate::decode::cgroup::short_label(c)))
            .unwrap_or_default();
        match comm {
            Some(c) => format!("pid {pid} ({c}){container}"),
            None => format!("pid {pid}{container}"),
        }
    }
}

/// The network namespace a socket lives in (0 when namespaces are not listed): rules group by it,
/// since ports, addresses and limits are per namespace.
pub(crate) fn netns_id(s: &Socket) -> u64 {
    s.netns.as_ref().map_or(0, |n| n.inode)
}

/// The pid of the first process holding `s`, if attribution ran and found one.
pub fn owner_pid(s: &Socket) -> Option<u32> {
    s.owners.first().map(|o| o.pid)
}

/// Group sockets by a key, keeping the order keys were first seen in deterministic (sorted) form.
pub fn group_by<'s, K: Ord>(
    socks: impl IntoIterator<Item = &'s Socket>,
    key: impl Fn(&Socket) -> K,
) -> BTreeMap<K, Vec<&'s Socket>> {
    let mut m: BTreeMap<K, Vec<&'s Socket>> = BTreeMap::new();
    for s in socks {
        m.entry(key(s)).or_default().push(s);
    }
    m
}

/// "10.0.0.5 (200), 10.0.0.6 (112)" — the most frequent values, at most `n`.
pub fn top_counts(values: impl IntoIterator<Item = String>, n: usize) -> String {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let more = v.len().saturating_sub(n);
    let mut text = v
        .into_iter()
        .take(n)
        .map(|(k, c)| format!("{k} ({c})"))
        .collect::<Vec<_>>()
        .join(", ");
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    text
}

/// A rule: its id, what it checks (shown when the host is healthy), and the check.
pub struct Rule {
    pub id: &'static str,
    pub checks: &'static str,
    pub run: fn(&Context) -> Vec<Finding>,
}

/// Every rule doctor runs, in the order they are listed when nothing is found.
pub const RULES: &[Rule] = &[
    Rule {
        id: "close-wait-leak",
        checks: "CLOSE-WAIT sockets per owning process",
        run: close_wait_leak::check,
    },
    Rule {
        id: "time-wait-pressure",
        checks: "TIME-WAIT per destination against the ephemeral port range and tcp_max_tw_buckets",
        run: time_wait_pressure::check,
    },
    Rule {
        id: "fin-wait-2",
        checks: "FIN-WAIT-2, orphaned or held by a process",
        run: fin_wait_2::check,
    },
    Rule {
        id: "listen-overflow",
        checks: "accept queues against their backlog, ListenOverflows/ListenDrops",
        run: listen_overflow::check,
    },
    Rule {
        id: "syn-sent-stuck",
        checks: "connection attempts that are not answered",
        run: syn_sent_stuck::check,
    },
    Rule {
        id: "closing-pileup",
        checks: "LAST-ACK, FIN-WAIT-1 and CLOSING sockets whose peers vanished",
        run: closing_pileup::check,
    },
    Rule {
        id: "send-queue-stall",
        checks: "peers that stopped reading (zero window, large Send-Q)",
        run: send_queue_stall::check,
    },
    Rule {
        id: "unread-receive-queue",
        checks: "local programs that stopped reading (large Recv-Q)",
        run: unread_receive_queue::check,
    },
    Rule {
        id: "orphans",
        checks: "orphaned sockets against tcp_max_orphans",
        run: orphans::check,
    },
    Rule {
        id: "fd-exhaustion",
        checks: "descriptor use of socket-holding processes against RLIMIT_NOFILE",
        run: fd_exhaustion::check,
    },
];

/// What one diagnosis found, with the verdict line at its top.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// One line: "healthy: ..." when nothing was found, "no warnings: ..." for notes only, or
    /// the worst problem. It never contradicts the findings below it.
    pub verdict: String,
    /// The most severe finding's severity, `None` when nothing was found.
    pub severity: Option<Severity>,
    pub findings: Vec<Finding>,
    pub checked: Checked,
    pub taken_at_unix_ms: u64,
}

/// What was looked at, so "healthy" says what it covers.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    pub sockets: u64,
    pub processes: u64,
    pub rules: Vec<&'static str>,
    pub notes: Vec<String>,
}

impl Report {
    /// Exit status for scripts: 0 healthy (or notes only), 1 warnings, 2 critical.
    pub fn exit_code(&self) -> u8 {
        match self.severity {
            Some(Severity::Critical) => 2,
            Some(Severity::Warning) => 1,
            _ => 0,
        }
    }
}

/// Run every rule over the snapshot.
pub fn diagnose(ctx: &Context) -> Report {
    let mut findings: Vec<Finding> = RULES.iter().flat_map(|r| (r.run)(ctx)).collect();
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.sockets.cmp(&a.sockets))
            .then(a.rule.cmp(b.rule))
    });
    let severity = findings.iter().map(|f| f.severity).max();
    let snap = ctx.snapshot;
    let checked = Checked {
        sockets: snap.sockets.len() as u64,
        processes: snap.processes.len() as u64,
        rules: RULES.iter().map(|r| r.id).collect(),
        notes: snap.notes.clone(),
    };
    let count = |sev| findings.iter().filter(|f| f.severity == sev).count();
    let verdict = match findings.first() {
        None => format!(
            "healthy: no problems in {} TCP sockets ({} rules checked)",
            checked.sockets,
            RULES.len()
        ),
        // Notes only: not healthy-and-nothing-wrong while a note says a program is not closing
        // its sockets (a young CLOSE-WAIT leak is a note until it ages).
        Some(top) if top.severity == Severity::Info => format!(
            "no warnings in {} TCP sockets; {} to keep an eye on: {}",
            checked.sockets,
            match findings.len() {
                1 => "1 finding".to_string(),
                n => format!("{n} findings, first"),
            },
            top.title
        ),
        Some(top) => format!(
            "{}: {} critical, {} warning(s) — {}",
            if top.severity == Severity::Critical {
                "critical"
            } else {
                "warning"
            },
            count(Severity::Critical),
            count(Severity::Warning),
            top.title
        ),
    };
    Report {
        verdict,
        severity,
        findings,
        checked,
        taken_at_unix_ms: snap.taken_at_unix_ms,
    }
}

#[cfg(test)]
pub(crate) mod fixtures;
