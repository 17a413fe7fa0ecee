//! `doctor`'s rules: each looks at a snapshot and says what is wrong, whose fault it is, with
//! the numbers that show it, and what to do next. Pure: the snapshot carries `now`
//! (`taken_at_unix_ms`), the kernel counters, and the facts about owning processes, so a
//! recording diagnoses exactly as the live host did.
//!
//! One file per rule; [`RULES`] is the table that names them, with the data each needs: a rule
//! whose data the snapshot's source lacks (an imported capture without timers, say) does not
//! run, and the report says so instead of calling the host healthy. Advice for captures of other
//! systems comes from [`systems`]. Rules never suggest TCP tuning for a CLOSE-WAIT leak: that is
//! a program bug, and the text says so.

mod close_wait_leak;
mod closing_pileup;
pub mod digest;
mod fd_exhaustion;
mod fin_wait_2;
mod listen_overflow;
mod orphans;
mod send_queue_stall;
mod syn_sent_stuck;
pub mod systems;
mod time_wait_pressure;
mod unread_receive_queue;

use crate::analyze::tracking::Tracker;
use crate::model::missing::{Datum, Missing};
use crate::model::process::ProcessFacts;
use crate::model::snapshot::{Snapshot, System};
use crate::model::socket::{Endpoint, Socket};
use digest::Diagnosable;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

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
    /// The header, counters and process facts, with the sockets some rule may name (the
    /// [`digest`] keeps those; everything else is counted in `input`).
    pub snapshot: &'a Snapshot,
    pub input: &'a Diagnosable,
    /// Across `--watch` polls: ages by cookie and growth rates. `None` for one-shot runs.
    pub tracker: Option<&'a Tracker>,
    partners: HashMap<(u64, Endpoint, Endpoint), usize>,
}

impl<'a> Context<'a> {
    pub fn new(input: &'a Diagnosable, tracker: Option<&'a Tracker>) -> Context<'a> {
        let snapshot = &input.snapshot;
        let partners = snapshot
            .sockets
            .iter()
            .enumerate()
            .map(|(i, s)| ((netns_id(s), s.local, s.peer), i))
            .collect();
        Context {
            snapshot,
            input,
            tracker,
            partners,
        }
    }

    /// The other end of `s`, when it is on this host (loopback or another namespace listed).
    pub fn partner(&self, s: &Socket) -> Option<&'a Socket> {
        let i = self.partners.get(&(netns_id(s), s.peer, s.local))?;
        self.snapshot.sockets.get(*i)
    }

    pub fn process(&self, pid: u32) -> Option<&'a ProcessFacts> {
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

    /// True when the snapshot's source could not tell `datum` (see [`crate::model::missing`]).
    pub fn lacks(&self, datum: Datum) -> bool {
        self.snapshot.lacks(datum)
    }

    /// The system the sockets were read on: Linux live, or an imported capture's.
    pub fn system(&self) -> System {
        self.snapshot.source.system()
    }

    /// True for a capture imported from another tool's text (not read by tcpscope).
    pub fn is_import(&self) -> bool {
        self.snapshot.source.import().is_some()
    }

    /// Facts and advice for the system the sockets were read on.
    pub fn facts(&self) -> &'static systems::SystemFacts {
        systems::facts(self.system())
    }

    /// "pid 4242 (java)" or "pid 4242", with the container when there is one.
    pub fn process_name(&self, pid: u32) -> String {
        let comm = self
            .process(pid)
            .map(|p| p.process.comm.clone())
            .or_else(|| {
                self.snapshot
                    .sockets
                    .iter()
                    .flat_map(|s| &s.owners)
                    .find(|o| o.pid == pid)
                    .map(|o| o.process.comm.clone())
            })
            .filter(|c| !c.is_empty());
        let container = self
            .process(pid)
            .and_then(|p| p.process.container.as_ref())
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
    top_of(counts, n)
}

/// [`top_counts`] of values already counted.
pub fn top_of(counts: impl IntoIterator<Item = (String, u64)>, n: usize) -> String {
    let mut v: Vec<(String, u64)> = counts.into_iter().filter(|(_, c)| *c > 0).collect();
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

/// A rule: its id, what it checks (shown when the host is healthy), the data it needs, and the
/// check.
pub struct Rule {
    pub id: &'static str,
    pub checks: &'static str,
    /// The rule cannot run when the snapshot lacks every one of these (empty: it always runs).
    pub needs: &'static [Datum],
    pub run: fn(&Context) -> Vec<Finding>,
}

impl Rule {
    /// Why this rule cannot run on this snapshot, if it cannot.
    pub fn cannot_run(&self, ctx: &Context) -> Option<String> {
        if self.needs.is_empty() || !self.needs.iter().all(|d| ctx.lacks(*d)) {
            return None;
        }
        let source = if ctx.is_import() {
            "the capture".to_string()
        } else {
            ctx.snapshot.source.describe()
        };
        Some(format!(
            "{source} has no {}",
            Missing::of(self.needs).describe().replace(" and ", " nor ")
        ))
    }
}

/// Every rule doctor runs, in the order they are listed when nothing is found.
pub const RULES: &[Rule] = &[
    Rule {
        id: "close-wait-leak",
        checks: "CLOSE-WAIT sockets per owning process",
        needs: &[],
        run: close_wait_leak::check,
    },
    Rule {
        id: "time-wait-pressure",
        checks: "TIME-WAIT per destination against the ephemeral port range and tcp_max_tw_buckets",
        needs: &[],
        run: time_wait_pressure::check,
    },
    Rule {
        id: "fin-wait-2",
        checks: "FIN-WAIT-2, orphaned or held by a process",
        needs: &[Datum::Inode, Datum::Owners],
        run: fin_wait_2::check,
    },
    Rule {
        id: "listen-overflow",
        checks: "accept queues against their backlog, ListenOverflows/ListenDrops",
        needs: &[Datum::Backlog, Datum::KernelCounters],
        run: listen_overflow::check,
    },
    Rule {
        id: "syn-sent-stuck",
        checks: "connection attempts that are not answered",
        needs: &[Datum::Timer],
        run: syn_sent_stuck::check,
    },
    Rule {
        id: "closing-pileup",
        checks: "LAST-ACK, FIN-WAIT-1 and CLOSING sockets whose peers vanished",
        needs: &[Datum::Timer],
        run: closing_pileup::check,
    },
    Rule {
        id: "send-queue-stall",
        checks: "peers that stopped reading (zero window, large Send-Q)",
        needs: &[Datum::SendQ],
        run: send_queue_stall::check,
    },
    Rule {
        id: "unread-receive-queue",
        checks: "local programs that stopped reading (large Recv-Q)",
        needs: &[Datum::RecvQ],
        run: unread_receive_queue::check,
    },
    Rule {
        id: "orphans",
        checks: "orphaned sockets against tcp_max_orphans",
        needs: &[Datum::KernelCounters],
        run: orphans::check,
    },
    Rule {
        id: "fd-exhaustion",
        checks: "descriptor use of socket-holding processes against RLIMIT_NOFILE",
        needs: &[Datum::ProcessFacts],
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
    /// The rules that ran.
    pub rules: Vec<&'static str>,
    pub notes: Vec<String>,
    /// Rules that could not run because the source lacks their data, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub could_not_run: Vec<NotRun>,
}

/// A rule that did not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotRun {
    pub rule: &'static str,
    pub why: String,
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
    let mut could_not_run = Vec::new();
    let mut ran = Vec::new();
    for r in RULES {
        match r.cannot_run(ctx) {
            Some(why) => could_not_run.push(NotRun { rule: r.id, why }),
            None => ran.push(r),
        }
    }
    let mut findings: Vec<Finding> = ran.iter().flat_map(|r| (r.run)(ctx)).collect();
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.sockets.cmp(&a.sockets))
            .then(a.rule.cmp(b.rule))
    });
    let severity = findings.iter().map(|f| f.severity).max();
    let snap = ctx.snapshot;
    let checked = Checked {
        sockets: ctx.input.total,
        processes: snap.processes.len() as u64,
        rules: ran.iter().map(|r| r.id).collect(),
        notes: snap.notes.clone(),
        could_not_run,
    };
    let not_run = if checked.could_not_run.is_empty() {
        String::new()
    } else {
        format!(
            "; {} could not run on this data",
            checked.could_not_run.len()
        )
    };
    let count = |sev| findings.iter().filter(|f| f.severity == sev).count();
    let verdict = match findings.first() {
        None => format!(
            "healthy: no problems in {} TCP sockets ({} rules checked{not_run})",
            checked.sockets,
            checked.rules.len()
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
mod captures;
#[cfg(test)]
pub(crate) mod fixtures;
