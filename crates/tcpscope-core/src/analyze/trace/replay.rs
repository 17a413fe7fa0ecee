//! A trace recording (`tcpscope trace --record`) replayed *as time*, for a live view that has
//! no kernel to read (`top --from TRACE`): a replay clock moves forward one step per poll, and
//! each step yields
//!
//! * the sockets alive at the clock's time — every track's latest state, addresses, owner,
//!   namespace and cookie from its changes up to then; a track that reached CLOSE (or whose
//!   socket was destroyed) is gone — as [`Socket`]s that say what a trace cannot tell
//!   (queues, timers, tcp_info, inodes: [`SourceKind::Trace`]'s missing data);
//! * the changes of that step's window, counted as a live trace counts them ([`TraceCounts`],
//!   filtered by the view's [`TraceFilter`]).
//!
//! The clock starts at the recording's start and stops at its end, where the last window is
//! kept, so a view stays on its last frame. Time only moves forward, so each change is applied
//! once. Sockets that did not change state while the trace ran are not in it, and TIME-WAIT is
//! not either: the kernel reports a connection entering TIME-WAIT as a change to CLOSE.

use crate::analyze::trace::filter::TraceFilter;
use crate::analyze::trace::rates::TraceCounts;
use crate::analyze::trace::track::{Emitted, TrackId};
use crate::analyze::tracking::Track;
use crate::model::missing::Datum;
use crate::model::process::{Owner, ProcessIdentity};
use crate::model::snapshot::{Host, Snapshot, SourceKind};
use crate::model::socket::{Endpoint, Family, Netns, Socket};
use crate::model::state::TcpState;
use crate::model::trace_recording::{Header, Line};
use crate::model::transition::TraceOwner;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

impl From<&Emitted> for Line {
    fn from(e: &Emitted) -> Line {
        match e {
            Emitted::Transition { transition, track } => Line::Transition {
                track: *track,
                transition: transition.clone(),
            },
            Emitted::Destroy(d) => Line::Destroy(d.clone()),
            Emitted::Lost(l) => Line::Lost(l.clone()),
        }
    }
}

/// Where a replay is: shown in a live view's title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayPosition {
    /// The replay clock, milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
    pub started_unix_ms: u64,
    pub ended_unix_ms: u64,
    /// True once the clock reached the recording's end (the view stays on its last frame).
    pub ended: bool,
}

/// One socket as its changes so far describe it.
#[derive(Debug, Clone)]
struct Alive {
    state: TcpState,
    family: Family,
    local: Endpoint,
    peer: Endpoint,
    skaddr: u64,
    owner: Option<(u32, Arc<ProcessIdentity>)>,
    netns: Option<Netns>,
    cookie: Option<u64>,
    /// When its first change in the recording happened, and when it entered its state, ms.
    first_ms: u64,
    entered_ms: u64,
    /// Earlier states it entered while traced, oldest first, with when.
    past: Vec<(TcpState, u64)>,
}

/// A trace recording with a clock.
pub struct TraceReplay {
    host: Host,
    notes: Vec<String>,
    /// Changes, destroys and losses, in time order.
    items: Vec<Emitted>,
    started_ns: u64,
    ended_ns: u64,
    clock_ns: u64,
    /// Items before this one are applied.
    next: usize,
    /// The items of the last step's window, and how long it was.
    window: std::ops::Range<usize>,
    window_ms: u64,
    /// Sockets alive at the clock, by track (in track order: stable listings).
    alive: BTreeMap<TrackId, Alive>,
    /// Alive tracks by socket address, for destroy records.
    by_skaddr: HashMap<u64, TrackId>,
    /// The next step shows the same time again (a filter changed).
    hold: bool,
    stepped: bool,
}

impl TraceReplay {
    /// A replay of a recording's lines (its header apart), the clock at the start.
    pub fn new(header: &Header, lines: Vec<Line>) -> TraceReplay {
        let mut ended = None;
        let mut items = Vec::with_capacity(lines.len());
        for line in lines {
            match line {
                Line::Transition { track, transition } => {
                    items.push(Emitted::Transition { transition, track })
                }
                Line::Destroy(d) => items.push(Emitted::Destroy(d)),
                Line::Lost(l) => items.push(Emitted::Lost(l)),
                Line::End { ended_unix_ns } => ended = Some(ended_unix_ns),
                Line::Header(_) | Line::Bytes { .. } => {}
            }
        }
        // Recorded in time order; a stable sort keeps it so and mends a file that is not.
        items.sort_by_key(time_of);
        let last = items.last().map_or(0, time_of);
        let started_ns = header.started_unix_ns;
        // A recording cut short has no end line: it ends with its last change.
        let ended_ns = ended.unwrap_or(last).max(last).max(started_ns);
        let mut notes = vec![
            "a trace recording replayed as time: sockets are rebuilt from their traced state \
             changes; a trace has no queues, timers, tcp_info or inodes (shown as '-')"
                .to_string(),
            "sockets that did not change state while the trace ran are not in it, nor are \
             TIME-WAIT sockets (the kernel reports entering TIME-WAIT as a change to CLOSE)"
                .to_string(),
        ];
        if !header.filter.is_empty() {
            notes.push(format!(
                "the trace recorded only the changes matching: {}",
                header.filter
            ));
        }
        notes.extend(header.notes.iter().cloned());
        TraceReplay {
            host: Host {
                hostname: header.hostname.clone(),
                kernel: header.kernel.clone(),
            },
            notes,
            items,
            started_ns,
            ended_ns,
            clock_ns: started_ns,
            next: 0,
            window: 0..0,
            window_ms: 0,
            alive: BTreeMap::new(),
            by_skaddr: HashMap::new(),
            hold: false,
            stepped: false,
        }
    }

    /// Move the clock `step_ms` forward (not past the end) and apply the changes up to it.
    /// At the end, and after [`TraceReplay::hold`], the clock and the window stay as they are.
    pub fn step(&mut self, step_ms: u64) {
        if std::mem::take(&mut self.hold) && self.stepped {
            return;
        }
        if self.stepped && self.clock_ns >= self.ended_ns {
            return;
        }
        self.stepped = true;
        let from = self.clock_ns;
        self.clock_ns = from
            .saturating_add(step_ms.max(1).saturating_mul(1_000_000))
            .min(self.ended_ns);
        let first = self.next;
        while let Some(item) = self.items.get(self.next) {
            if time_of(item) > self.clock_ns {
                break;
            }
            self.next += 1;
            self.apply(self.next - 1);
        }
        self.window = first..self.next;
        self.window_ms = (self.clock_ns - from) / 1_000_000;
    }

    /// Show the same time again at the next step (the view's filter changed).
    pub fn hold(&mut self) {
        self.hold = true;
    }

    fn apply(&mut self, i: usize) {
        match &self.items[i] {
            Emitted::Transition {
                transition: t,
                track,
            } => {
                if t.new == TcpState::Close {
                    if let Some(a) = self.alive.remove(track) {
                        self.by_skaddr.remove(&a.skaddr);
                    }
                    return;
                }
                let at_ms = t.time_unix_ns / 1_000_000;
                let a = self.alive.entry(*track).or_insert_with(|| Alive {
                    state: t.new,
                    family: t.family,
                    local: t.local,
                    peer: t.peer,
                    skaddr: t.skaddr,
                    owner: None,
                    netns: None,
                    cookie: None,
                    first_ms: at_ms,
                    entered_ms: at_ms,
                    past: Vec::new(),
                });
                if a.state != t.new {
                    a.past.push((a.state, a.entered_ms));
                    a.entered_ms = at_ms;
                }
                a.state = t.new;
                a.family = t.family;
                // CLOSE -> SYN-SENT may carry local port 0 (picked after the change).
                if t.local.port != 0 || a.local.port == 0 {
                    a.local = t.local;
                }
                a.peer = t.peer;
                a.skaddr = t.skaddr;
                if let Some(TraceOwner { pid, comm }) = &t.owner {
                    if a.owner.as_ref().is_none_or(|(p, _)| p != pid) {
                        let name = comm.clone().unwrap_or_default();
                        a.owner = Some((*pid, ProcessIdentity::named(&name)));
                    }
                }
                if t.netns.is_some() {
                    a.netns = t.netns.clone();
                }
                if t.cookie.is_some() {
                    a.cookie = t.cookie;
                }
                self.by_skaddr.insert(t.skaddr, *track);
            }
            Emitted::Destroy(d) => {
                if let Some(track) = self.by_skaddr.remove(&d.skaddr) {
                    self.alive.remove(&track);
                }
            }
            Emitted::Lost(_) => {}
        }
    }

    /// Where the clock is.
    pub fn position(&self) -> ReplayPosition {
        ReplayPosition {
            at_unix_ms: self.clock_ns / 1_000_000,
            started_unix_ms: self.started_ns / 1_000_000,
            ended_unix_ms: self.ended_ns / 1_000_000,
            ended: self.stepped && self.clock_ns >= self.ended_ns,
        }
    }

    /// The changes `filter` selects in the last step's window, counted as a live view's trace
    /// counts them.
    pub fn counts(&self, filter: &TraceFilter) -> TraceCounts {
        let mut c = TraceCounts {
            window_ms: self.window_ms,
            ..TraceCounts::default()
        };
        for item in &self.items[self.window.clone()] {
            match item {
                Emitted::Transition { transition: t, .. } if filter.matches(t) => c.add(t),
                Emitted::Lost(l) => c.lost += l.count,
                _ => {}
            }
        }
        c
    }

    /// How many sockets are alive at the clock.
    pub fn alive(&self) -> usize {
        self.alive.len()
    }

    /// The sockets alive at the clock, in track order.
    pub fn sockets(&self) -> impl Iterator<Item = Socket> + '_ {
        self.alive.values().map(socket_of)
    }

    /// The history of each of `sockets` (sockets of this replay, at the clock), as a live view's
    /// tracker gives one: first seen, when it entered its state (exact: traced), earlier states.
    pub fn tracks_of(&self, sockets: &[Socket]) -> Vec<Option<Track>> {
        type Key = (Family, Endpoint, Endpoint, TcpState, u64);
        let ns = |n: &Option<Netns>| n.as_ref().map_or(0, |n| n.inode);
        let by_ends: HashMap<Key, &Alive> = self
            .alive
            .values()
            .map(|a| ((a.family, a.local, a.peer, a.state, ns(&a.netns)), a))
            .collect();
        sockets
            .iter()
            .map(|s| {
                let a = by_ends.get(&(s.family, s.local, s.peer, s.state, ns(&s.netns)))?;
                Some(Track {
                    state: a.state,
                    state_seen_ms: a.entered_ms,
                    state_after_ms: Some(a.entered_ms),
                    first_seen_ms: a.first_ms,
                    last_seen_poll: 0,
                    past: a.past.clone(),
                    state_traced_ms: Some(a.entered_ms),
                })
            })
            .collect()
    }

    /// A snapshot header for the clock's time: the recording's host and notes, what a trace
    /// cannot tell.
    pub fn header(&self) -> Snapshot {
        let mut snap = Snapshot::new(self.clock_ns / 1_000_000, SourceKind::Trace);
        snap.host = self.host.clone();
        snap.notes = self.notes.clone();
        snap.mark_implied_gaps();
        snap
    }
}

fn time_of(e: &Emitted) -> u64 {
    match e {
        Emitted::Transition { transition, .. } => transition.time_unix_ns,
        Emitted::Destroy(d) => d.time_unix_ns,
        Emitted::Lost(l) => l.time_unix_ns,
    }
}

fn socket_of(a: &Alive) -> Socket {
    let mut s = Socket::new(a.state, a.family, a.local, a.peer);
    s.missing = crate::model::origin::Origin::Live(SourceKind::Trace).implied_missing();
    match &a.owner {
        Some((pid, identity)) => s.owners.push(Owner {
            pid: *pid,
            fd: 0,
            process: identity.clone(),
        }),
        None => s.missing = s.missing.with(Datum::Owners),
    }
    match a.cookie {
        Some(c) => s.cookie = c,
        None => s.missing = s.missing.with(Datum::Cookie),
    }
    s.netns = a.netns.clone();
    s
}

#[cfg(test)]
#[path = "replay_tests.rs"]
mod tests;
