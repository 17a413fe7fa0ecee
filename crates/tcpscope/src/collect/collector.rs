//! The one collector under every command. It holds what lives across polls — the source (its
//! sock_diag sockets and namespace threads), the inode -> owner cache with the identities of
//! owning processes, and the cookie tracker — and turns a [`Plan`] into sockets, one poll at a
//! time:
//!
//! * [`Collector::stream`] hands every selected socket, with owners when the plan wants them,
//!   to the caller as it arrives (ls, summary, release; top and serve through
//!   [`live`](super::live));
//! * [`Collector::digest`] keeps only what doctor's findings can name (the
//!   [`Digest`]), looks up owners for those alone, and reads the facts of their processes.
//!
//! One-shot commands make one poll; live ones call [`Collector::next_poll`] and poll again, and
//! the second poll costs little more than the kernel's dump: owners come from the cache, and
//! only sockets that appeared since are looked for in /proc. Between polls, `trace` asks about
//! single sockets through the same source and caches ([`lookup`]). Nothing here prints.

mod lookup;

use super::dump::StreamReport;
use super::facts;
use super::owner_cache::OwnerCache;
use super::plan::{covers_every_state, Owners, Plan};
use super::query::Query;
use super::record::Recorder;
use super::source::Source;
use anyhow::{Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tcpscope_core::analyze::diagnose::digest::{Diagnosable, Digest, FD_WATCH};
use tcpscope_core::analyze::diagnose::{diagnose, Context as DiagnoseContext};
use tcpscope_core::analyze::frame::{Frame, GROUPS_PER_FRAME};
use tcpscope_core::analyze::groups::{key_of, GroupBy, GroupKey, Groups};
use tcpscope_core::analyze::summary::StateCounts;
use tcpscope_core::analyze::tracking::{CountKey, Tracker};
use tcpscope_core::model::missing::Datum;
use tcpscope_core::model::process::ProcessFacts;
use tcpscope_core::{Filter, Snapshot, Socket, TcpState};

/// What a poll saw besides the sockets it handed out.
#[derive(Debug, Default)]
pub struct PollReport {
    /// What the user should know about owners (hidden processes) and the like.
    pub notes: Vec<String>,
    /// What went wrong while reading (interrupted dumps, unreadable namespaces).
    pub warnings: Vec<String>,
}

/// One socket of a drill-down, with what the polls saw of it (defined in core, next to
/// [`Frame`], so live views' pure parts can take it).
pub use tcpscope_core::analyze::frame::SocketDetail;

/// A plan, opened, with the state it keeps across polls.
pub struct Collector {
    source: Source,
    query: Query,
    filter: Arc<Filter>,
    owners: Owners,
    record: Option<PathBuf>,
    cache: OwnerCache,
    tracker: Tracker,
    /// The groupings a frame carries (all of them unless a front end asks for fewer).
    groupings: Vec<GroupBy>,
    polls: u64,
    /// When a lookup last made the source look at the namespace set again.
    namespaces_looked: Option<Instant>,
}

impl Collector {
    pub fn new(plan: Plan) -> Collector {
        Collector {
            source: plan.source,
            query: plan.query,
            filter: plan.filter,
            owners: plan.owners,
            record: plan.record,
            cache: OwnerCache::new(),
            tracker: Tracker::new(),
            groupings: GroupBy::ALL.to_vec(),
            polls: 0,
            namespaces_looked: None,
        }
    }

    /// The header of the current poll: time, host, source, notes, counters.
    pub fn header(&self) -> &Snapshot {
        self.source.header()
    }

    pub fn is_replay(&self) -> bool {
        self.source.is_replay()
    }

    /// True when sockets come from more than one network namespace.
    pub fn spans_namespaces(&self) -> bool {
        self.source.spans_namespaces()
    }

    /// Ages and growth across the polls made so far.
    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// Group sockets in frames only these ways (serve exports per-process series only; a
    /// grouping costs a hash update per socket, and by local port one group per client port).
    pub fn set_groupings(&mut self, groupings: &[GroupBy]) {
        self.groupings = groupings.to_vec();
    }

    /// For a replayed trace recording (`top --from TRACE`): how far each poll moves its clock.
    pub fn set_replay_step(&mut self, ms: u64) {
        self.source.set_replay_step(ms);
    }

    /// For a replayed trace recording: the next poll shows the same time again.
    pub fn hold_replay_clock(&mut self) {
        self.source.hold_replay_clock();
    }

    /// The filter in force.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// Change the filter between polls (a live screen's filter prompt).
    pub fn set_filter(&mut self, filter: Filter) {
        self.query.states = filter.states();
        self.query.want_info |= filter.needs_info();
        self.query.filter = (!filter.is_all()).then(|| Arc::new(filter.clone()));
        if filter.needs_owners() && self.owners == Owners::None && !self.is_replay() {
            self.owners = Owners::All;
        }
        self.filter = Arc::new(filter);
    }

    /// Start the next poll: a fresh header (time, counters), and now and then a fresh look at
    /// which namespaces exist. The first poll starts when the collector is made.
    pub fn next_poll(&mut self) -> Result<()> {
        if self.polls > 0 && self.polls.is_multiple_of(10) {
            self.source.refresh_namespaces()?;
        }
        self.source.begin_poll()
    }

    /// One poll: hand every selected socket to `each`, with owners as the plan says; record it
    /// when asked.
    pub fn stream(
        &mut self,
        each: &mut dyn FnMut(&Socket) -> io::Result<()>,
    ) -> Result<PollReport> {
        let live = !self.source.is_replay();
        let attributing = matches!(self.owners, Owners::All | Owners::AllHolders);
        let mut header = self.source.header().clone();
        if live && !attributing {
            // Say so in the recording: a doctor reading it must not blame "an unidentified
            // process" and advise root, but say how to record owners.
            header.missing = header.missing.with(Datum::Owners);
        }
        let mut rec = Recorder::open(self.record.as_deref(), &header)?;
        let recording = rec.is_on();
        let filter = self.filter.clone();
        let check_owners = filter.needs_owners();
        let mut pids: BTreeSet<u32> = BTreeSet::new();
        let mut deliver = |s: &Socket| -> io::Result<()> {
            // Owner conditions could only be pre-judged before owners were attached.
            if check_owners && !filter.matches(s) {
                return Ok(());
            }
            if recording {
                pids.extend(s.owners.iter().map(|o| o.pid));
            }
            rec.socket(s)?;
            each(s)
        };
        let mut unattributed = 0usize;
        let stream = if live && attributing {
            attributed(
                &mut self.source,
                &self.query,
                &mut self.cache,
                self.polls == 0,
                self.owners == Owners::AllHolders,
                &mut unattributed,
                &mut deliver,
            )?
        } else {
            self.source.stream(&self.query, &mut |s| deliver(&s))?
        };
        let mut report = PollReport {
            notes: Vec::new(),
            warnings: stream.warnings,
        };
        if check_owners && self.source.replay_has_owners() == Some(false) {
            report.notes.push(
                "this recording holds no owning processes (record with `tcpscope ls -p --record FILE`), \
                 so pid, comm, user and container conditions match nothing"
                    .to_string(),
            );
        }
        let mut processes = BTreeMap::new();
        if live && attributing {
            report.notes = self.cache.notes(Some(unattributed));
            self.cache.clear_report();
            if recording {
                processes = self.facts(pids);
            }
        }
        let mut notes = header.notes.clone();
        notes.extend(report.notes.iter().cloned());
        notes.extend(report.warnings.iter().cloned());
        rec.finish(&processes, &notes)?;
        self.polls += 1;
        Ok(report)
    }

    /// One poll for doctor: every socket looked at once, kept only when a finding may name it,
    /// owners looked up for the kept ones (and for processes near their descriptor limit), the
    /// facts of those processes read. Recorded when asked (kept sockets last, with owners).
    pub fn digest(&mut self) -> Result<(Diagnosable, PollReport)> {
        let mut header = self.source.header().clone();
        if self.source.replay_has_owners() == Some(false) {
            // A recording made without -p (older ones do not say so in `missing`).
            header.missing = header.missing.with(Datum::Owners);
        }
        let mut rec = Recorder::open(self.record.as_deref(), &header)?;
        let live = !self.source.is_replay();
        let filter = self.filter.clone();
        let check_owners = filter.needs_owners();
        let watched: Vec<u32> = if live {
            facts::near_fd_limit(FD_WATCH)
                .into_iter()
                .map(|(pid, _, _)| pid)
                .collect()
        } else {
            header
                .processes
                .values()
                .filter(|p| p.fd_usage().is_some_and(|u| u >= FD_WATCH))
                .map(|p| p.pid)
                .collect()
        };
        let mut digest = Digest::new(watched.iter().copied());
        let mut attach_all = false;
        if live {
            self.cache.begin_poll();
            if self.owners == Owners::All {
                // Owner conditions in the filter: every socket needs its owners.
                if self.cache.wants_full_walk() {
                    self.cache.walk_all().context(WALK)?;
                }
                attach_all = true;
            } else {
                self.cache.walk_pids(&watched).context(WALK)?;
                attach_all = !watched.is_empty();
            }
        }
        let cache = &mut self.cache;
        let stream = self.source.stream(&self.query, &mut |mut s| {
            if attach_all {
                cache.attach(&mut s);
            }
            if check_owners && !filter.matches(&s) {
                return Ok(());
            }
            if !Digest::keeps(&s) {
                rec.socket(&s)?;
            }
            digest.add(s);
            Ok(())
        })?;
        let mut report = PollReport {
            notes: Vec::new(),
            warnings: stream.warnings,
        };
        if live {
            let wanted: Vec<u64> = digest
                .kept()
                .iter()
                .filter(|s| Digest::names_owner(s) && !self.cache.knows(s.inode))
                .map(|s| s.inode)
                .collect();
            let shared = digest
                .kept()
                .iter()
                .any(|s| s.state == TcpState::Listen && Digest::names_owner(s));
            self.cache.find(wanted, shared).context(WALK)?;
            let mut unattributed = 0;
            for s in digest.kept_mut() {
                if !self.cache.attach(s) && Digest::names_owner(s) {
                    unattributed += 1;
                }
            }
            self.cache.sweep();
            let mut pids: BTreeSet<u32> = digest
                .kept()
                .iter()
                .flat_map(|s| s.owners.iter().map(|o| o.pid))
                .collect();
            pids.extend(digest.held_pids());
            header.processes = self.facts(pids);
            report.notes = self.cache.notes(Some(unattributed));
            self.cache.clear_report();
            header.notes.extend(report.notes.iter().cloned());
        }
        header.notes.extend(report.warnings.iter().cloned());
        for s in digest.kept() {
            rec.socket(s)?;
        }
        rec.finish(&header.processes, &header.notes)?;
        self.track(&header, digest.kept());
        self.polls += 1;
        Ok((digest.finish(header), report))
    }

    /// One poll as a live view's frame: every socket counted, grouped and tracked (with
    /// owners when the plan wants them), the doctor report over the same sockets. No socket is
    /// kept but those a finding may name.
    pub fn frame(&mut self, seq: u64) -> Result<Frame> {
        let started = Instant::now();
        let mut header = self.source.header().clone();
        let live = !self.source.is_replay();
        let watched: Vec<u32> = if live {
            facts::near_fd_limit(FD_WATCH)
                .into_iter()
                .map(|(pid, _, _)| pid)
                .collect()
        } else {
            Vec::new()
        };
        let mut digest = Digest::new(watched.iter().copied());
        let mut counts = StateCounts::default();
        let mut by_netns: std::collections::HashMap<u64, (String, StateCounts)> =
            Default::default();
        let mut groups: Vec<Groups> = self.groupings.iter().map(|g| Groups::new(*g)).collect();
        let filter = self.filter.clone();
        let check_owners = filter.needs_owners();
        self.tracker.begin(header.taken_at_unix_ms);
        let tracker = &mut self.tracker;
        let mut take = |s: &Socket| -> io::Result<()> {
            if check_owners && !filter.matches(s) {
                return Ok(());
            }
            tracker.see(s);
            if let Some(o) = s.owners.first() {
                tracker.count(CountKey::StateOfPid(s.state, o.pid), 1);
            }
            counts.add(s);
            let inode = s.netns.as_ref().map_or(0, |n| n.inode);
            by_netns
                .entry(inode)
                .or_insert_with(|| {
                    let label = s
                        .netns
                        .as_ref()
                        .map_or_else(|| "own".to_string(), |n| n.describe());
                    (label, StateCounts::default())
                })
                .1
                .add(s);
            for g in &mut groups {
                g.add(s, None);
            }
            digest.add_ref(s);
            Ok(())
        };
        // tcp_info only where the rules and the groupings read it (CLOSE-WAIT ages, ...).
        let query = Query {
            info_states: self
                .query
                .info_states
                .or((!filter.needs_info()).then_some(Digest::INFO_STATES)),
            ..self.query.clone()
        };
        let mut unattributed = 0usize;
        let stream = if live && self.owners == Owners::All {
            attributed(
                &mut self.source,
                &query,
                &mut self.cache,
                self.polls == 0,
                false,
                &mut unattributed,
                &mut take,
            )?
        } else {
            self.source.stream(&query, &mut |s| take(&s))?
        };
        let changes = self.tracker.end(&header.kernel);
        if live {
            let pids: BTreeSet<u32> = digest
                .kept()
                .iter()
                .flat_map(|s| s.owners.iter().map(|o| o.pid))
                .chain(digest.held_pids())
                .collect();
            header.processes = self.facts(pids);
            if self.owners == Owners::All {
                header.notes.extend(self.cache.notes(Some(unattributed)));
                self.cache.clear_report();
            }
        }
        header.notes.extend(stream.warnings);
        let input = digest.finish(header);
        let report = diagnose(&DiagnoseContext::new(&input, Some(&self.tracker)));
        let time_wait_by_destination = input.time_wait_by_destination(GROUPS_PER_FRAME);
        let (lo, hi) = input.port_range();
        let listeners = input
            .snapshot
            .sockets
            .iter()
            .filter(|s| s.state == TcpState::Listen)
            .cloned()
            .collect();
        let mut header = input.snapshot;
        header.sockets = Vec::new();
        self.polls += 1;
        // A replayed trace brings its own counts of the step's changes, filtered as a live
        // trace filters them.
        let (traced, untraced) = match self.source.replay_counts(&filter) {
            Some(Ok(c)) => (Some(c), None),
            Some(Err(why)) => (None, Some(why)),
            None => (None, None),
        };
        Ok(Frame {
            seq,
            header,
            poll_ms: started.elapsed().as_millis() as u64,
            counts,
            counts_by_netns: by_netns.into_values().collect(),
            groups: groups
                .into_iter()
                .map(|g| (g.by, g.top(GROUPS_PER_FRAME)))
                .collect(),
            listeners,
            time_wait_by_destination,
            ephemeral_ports: u64::from(hi.saturating_sub(lo)) + 1,
            report,
            changes,
            // Else a trace beside the polls (top as root) fills this in: `collect::live`.
            traced,
            untraced,
            replay: self.source.replay_position(),
        })
    }

    /// The sockets `filter` selects right now (at most `limit`), with owners when the plan
    /// wants them and each one's track from earlier polls, of one group of a frame's grouping
    /// (`top`'s and serve's drill-down; `None`: every group): only the sockets whose key under
    /// `group.0` is `group.1` count towards `limit`. The filter should narrow the dump where it
    /// can (`groups::drill_filter`); the key decides.
    pub fn list_group(
        &mut self,
        filter: &Filter,
        group: Option<&(GroupBy, GroupKey)>,
        limit: usize,
    ) -> Result<Vec<SocketDetail>> {
        let query = Query {
            states: filter.states(),
            want_info: true,
            // The detail pane shows tcp_info whatever the state.
            info_states: None,
            filter: (!filter.is_all()).then(|| Arc::new(filter.clone())),
            ..self.query.clone()
        };
        let mut out = Vec::new();
        let mut keep = |s: &Socket| -> io::Result<()> {
            if out.len() < limit
                && (!filter.needs_owners() || filter.matches(s))
                && group.is_none_or(|(by, key)| key_of(*by, s) == *key)
            {
                out.push(s.clone());
            }
            Ok(())
        };
        if !self.source.is_replay() && self.owners == Owners::All {
            // Not a poll: the cache must keep what this listing does not see.
            self.cache.find_only(&mut self.source, &query, &mut keep)?;
        } else {
            self.source.stream(&query, &mut |s| keep(&s))?;
        }
        // A replayed trace knows each socket's history from its changes.
        let mut traced = self.source.replay_tracks(&out).map(Vec::into_iter);
        Ok(out
            .into_iter()
            .map(|socket| SocketDetail {
                track: match traced.as_mut() {
                    Some(t) => t.next().flatten(),
                    None => self.tracker.track(socket.cookie).cloned(),
                },
                socket,
            })
            .collect())
    }

    /// Feed the tracker the sockets doctor may name (ages of CLOSE-WAIT, growth per process).
    fn track(&mut self, header: &Snapshot, kept: &[Socket]) {
        self.tracker.begin(header.taken_at_unix_ms);
        for s in kept {
            self.tracker.see(s);
            if let Some(o) = s.owners.first() {
                self.tracker.count(CountKey::StateOfPid(s.state, o.pid), 1);
            }
        }
        self.tracker.end(&header.kernel);
    }

    /// The facts of `pids` (those still running), keyed by pid.
    fn facts(&mut self, pids: impl IntoIterator<Item = u32>) -> BTreeMap<u32, ProcessFacts> {
        pids.into_iter()
            .filter_map(|pid| {
                let id = self.cache.identity(pid)?;
                Some((pid, facts::read_facts(pid, id)))
            })
            .collect()
    }
}

const WALK: &str = "finding which processes hold the sockets";

/// A stream with every socket's owners attached, choosing the cheapest walk:
/// * a full walk first when every state is wanted and the cache is cold or due a refresh
///   (then sockets stream straight through);
/// * on the first poll of a filtered read, the (few) sockets are gathered first and only their
///   inodes are looked for, stopping once each is found;
/// * on later polls, sockets whose holders the cache knows stream through, and the ones that
///   appeared since are looked for at the end.
fn attributed(
    source: &mut Source,
    query: &Query,
    cache: &mut OwnerCache,
    first: bool,
    every_holder: bool,
    unattributed: &mut usize,
    deliver: &mut dyn FnMut(&Socket) -> io::Result<()>,
) -> Result<StreamReport> {
    cache.begin_poll();
    if cache.wants_full_walk() && covers_every_state(query.states) {
        cache.walk_all().context(WALK)?;
    }
    let report;
    if cache.is_complete() {
        report = source.stream(query, &mut |mut s| {
            if !cache.attach(&mut s) {
                *unattributed += 1;
            }
            deliver(&s)
        })?;
    } else if first {
        let mut all = Vec::new();
        report = source.stream(query, &mut |s| {
            all.push(s);
            Ok(())
        })?;
        let shared = every_holder || all.iter().any(|s| s.state == TcpState::Listen);
        cache
            .find(all.iter().map(|s| s.inode), shared)
            .context(WALK)?;
        for mut s in all {
            if !cache.attach(&mut s) {
                *unattributed += 1;
            }
            deliver(&s)?;
        }
    } else {
        let mut pending = Vec::new();
        report = source.stream(query, &mut |mut s| {
            if cache.attach(&mut s) {
                return deliver(&s);
            }
            if cache.knows(s.inode) {
                *unattributed += 1;
                return deliver(&s);
            }
            pending.push(s);
            Ok(())
        })?;
        let shared = every_holder || pending.iter().any(|s| s.state == TcpState::Listen);
        cache
            .find(pending.iter().map(|s| s.inode), shared)
            .context(WALK)?;
        for mut s in pending {
            if !cache.attach(&mut s) {
                *unattributed += 1;
            }
            deliver(&s)?;
        }
    }
    cache.sweep();
    Ok(report)
}
