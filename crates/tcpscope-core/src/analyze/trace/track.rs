//! Following each socket through its state changes: the per-socket *track* that turns raw
//! tracepoint records, merged in time order, into [`Transition`]s — with the time spent in the
//! old state, the model check, and the owner as far as it can honestly be known.
//!
//! A track is keyed by the socket's kernel address (`skaddr`). It starts with the first record
//! seen for that address and ends at CLOSE or `tcp_destroy_sock`, because the kernel reuses the
//! memory of a freed socket for the next one.
//!
//! **Owners.** A record's pid is the socket's owner only when the change ran in that process's
//! own system call (connect, listen, close, shutdown): the caller passes it as `context`. In
//! softirq the pid is whoever ran (on loopback, the *peer*), so it is never used. A track keeps
//! the last owner seen in context, which names the owner of its later softirq changes (`cache`).
//! Transitions are held for a short *look-ahead* window before they are handed out, so a change
//! that comes first (a server's LISTEN -> SYN_RECV, SYN_RECV -> ESTABLISHED, ESTABLISHED ->
//! CLOSE_WAIT, all in softirq) still gets the owner of a later change of the same socket that
//! runs in its owner's context (the server's close()), and so that CLOSE -> SYN_SENT, recorded
//! before the kernel picks the local port, shows the port of the next change. What is still
//! unknown when the window ends is left to a sock_diag lookup by the caller.
//!
//! **Model.** Each change is checked against the model's view of the tracepoint
//! ([`tracepoint_edge_is_valid`]) and against the track: old must be where the socket was.
//! After lost records (or a record that arrived too late to be merged in order) a track's
//! prior state is unknown, and a mismatch is `unknown`, not a violation.

use crate::analyze::fsm::tracepoint_edge_is_valid;
use crate::model::socket::Netns;
use crate::model::state::TcpState;
use crate::model::transition::{
    Destroy, Lost, ModelCheck, OwnerFrom, StateChange, TraceInput, TraceOwner, Transition,
};
use std::collections::{HashMap, VecDeque};

/// Closed tracks waiting for their destroy record before old ones are dropped.
const CLOSED_MAX: usize = 65_536;
/// How long a closed track waits for its destroy record once there are many.
const CLOSED_KEEP_NS: u64 = 10_000_000_000;

/// Identifies one track (one socket's life at one address).
pub type TrackId = u64;

struct Track {
    id: TrackId,
    state: TcpState,
    entered_ns: u64,
    /// The loss epoch when the track last saw a record.
    epoch: u64,
    owner: Option<TraceOwner>,
    netns: Option<Netns>,
    cookie: Option<u64>,
}

/// What the tracks hand out, in time order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Emitted {
    Transition {
        transition: Transition,
        track: TrackId,
    },
    Destroy(Destroy),
    Lost(Lost),
}

impl Emitted {
    fn time(&self) -> u64 {
        match self {
            Emitted::Transition { transition, .. } => transition.time_unix_ns,
            Emitted::Destroy(d) => d.time_unix_ns,
            Emitted::Lost(l) => l.time_unix_ns,
        }
    }
}

/// The per-socket tracks and the look-ahead queue.
pub struct Tracks {
    tracks: HashMap<u64, Track>,
    /// Tracks that reached CLOSE, by address, until their socket is destroyed (for the cookie).
    /// With the time of the CLOSE, so that entries whose destroy record never comes (a kernel
    /// without `tcp_destroy_sock`, a filtered or lost record) are dropped after a while.
    closed: HashMap<u64, (TrackId, u64)>,
    pending: VecDeque<Emitted>,
    /// Sequence number of `pending[0]`; item `n` of the queue has number `base + n`.
    base: u64,
    /// The held transitions of each track, by sequence number (ascending), so that what a
    /// later change learns reaches them without scanning the whole queue.
    held: HashMap<TrackId, Vec<u64>>,
    hold_ns: u64,
    epoch: u64,
    next_id: TrackId,
}

impl Tracks {
    /// Tracks that hold each transition `hold_ns` after its time before handing it out.
    pub fn new(hold_ns: u64) -> Tracks {
        Tracks {
            tracks: HashMap::new(),
            closed: HashMap::new(),
            pending: VecDeque::new(),
            base: 0,
            held: HashMap::new(),
            hold_ns,
            epoch: 0,
            next_id: 1,
        }
    }

    /// Sockets currently followed.
    pub fn open_tracks(&self) -> usize {
        self.tracks.len()
    }

    /// The next item, in time order. `late`: it arrived after later items had been processed,
    /// so tracks' history is as uncertain as after a loss.
    pub fn push(&mut self, input: TraceInput, late: bool) {
        if late {
            self.epoch += 1;
        }
        match input {
            TraceInput::Change {
                change,
                context,
                netns,
            } => self.change(change, context, netns),
            TraceInput::Destroy(d) => self.destroy(d),
            TraceInput::Lost(l) => {
                self.epoch += 1;
                self.pending.push_back(Emitted::Lost(l));
            }
        }
    }

    fn change(&mut self, c: StateChange, context: Option<TraceOwner>, ctx_netns: Option<Netns>) {
        let edge_ok = tracepoint_edge_is_valid(c.old, c.new);
        let prior = self.tracks.remove(&c.skaddr);
        let (model, in_old_ms, id, mut owner, mut netns, cookie) = match prior {
            Some(t) => {
                let continuous = t.state == c.old;
                let same_epoch = t.epoch == self.epoch;
                let model = match (edge_ok, continuous, same_epoch) {
                    (false, _, _) => ModelCheck::Violation,
                    (true, true, _) => ModelCheck::Ok,
                    // Allowed, but not where the socket was, and nothing was reported lost.
                    (true, false, true) => ModelCheck::Gap,
                    (true, false, false) => ModelCheck::Unknown,
                };
                let in_old = (continuous && same_epoch)
                    .then(|| c.time_unix_ns.saturating_sub(t.entered_ns) / 1_000_000);
                if continuous || !starts_socket(&c) {
                    (model, in_old, t.id, t.owner, t.netns, t.cookie)
                } else {
                    // The address was reused by a new socket whose old track's end was missed.
                    (model, None, self.new_id(), None, None, None)
                }
            }
            None => {
                let model = if edge_ok {
                    ModelCheck::Ok
                } else {
                    ModelCheck::Violation
                };
                (model, None, self.new_id(), None, None, None)
            }
        };
        let from = if let Some(mut ctx) = context {
            // A process that exits closes its sockets after /proc stops naming it: keep the
            // name an earlier change (or a lookup) gave the same pid.
            if ctx.comm.is_none() {
                ctx.comm = owner
                    .as_ref()
                    .filter(|o| o.pid == ctx.pid)
                    .and_then(|o| o.comm.clone());
            }
            owner = Some(ctx);
            netns = ctx_netns.or(netns);
            self.backfill_owner(id, owner.as_ref(), netns.as_ref());
            OwnerFrom::Context
        } else if owner.is_some() {
            OwnerFrom::Cache
        } else {
            OwnerFrom::None
        };
        self.backfill_local(id, &c);
        self.closed.remove(&c.skaddr);
        if c.new == TcpState::Close {
            if self.closed.len() >= CLOSED_MAX {
                let now = c.time_unix_ns;
                self.closed
                    .retain(|_, (_, at)| now.saturating_sub(*at) < CLOSED_KEEP_NS);
            }
            self.closed.insert(c.skaddr, (id, c.time_unix_ns));
        } else {
            self.tracks.insert(
                c.skaddr,
                Track {
                    id,
                    state: c.new,
                    entered_ns: c.time_unix_ns,
                    epoch: self.epoch,
                    owner: owner.clone(),
                    netns: netns.clone(),
                    cookie,
                },
            );
        }
        let transition = Transition {
            time_unix_ns: c.time_unix_ns,
            family: c.family,
            local: c.local,
            peer: c.peer,
            old: c.old,
            new: c.new,
            in_old_ms,
            owner,
            owner_from: from,
            netns,
            cookie,
            model,
            skaddr: c.skaddr,
            cpu: c.cpu,
            sample_pid: c.pid,
            flags: c.flags,
        };
        let seq = self.base + self.pending.len() as u64;
        self.held.entry(id).or_default().push(seq);
        self.pending.push_back(Emitted::Transition {
            transition,
            track: id,
        });
    }

    fn new_id(&mut self) -> TrackId {
        self.next_id += 1;
        self.next_id
    }

    /// Apply `f` to each held transition of track `id`.
    fn each_held(&mut self, id: TrackId, mut f: impl FnMut(&mut Transition)) {
        let Some(seqs) = self.held.get(&id) else {
            return;
        };
        for seq in seqs {
            let Some(i) = seq.checked_sub(self.base) else {
                continue;
            };
            if let Some(Emitted::Transition { transition, .. }) = self.pending.get_mut(i as usize) {
                f(transition);
            }
        }
    }

    /// Give held transitions of track `id` that have no owner yet the owner found now.
    fn backfill_owner(&mut self, id: TrackId, owner: Option<&TraceOwner>, netns: Option<&Netns>) {
        self.each_held(id, |t| {
            if t.owner.is_none() {
                t.owner = owner.cloned();
                t.owner_from = OwnerFrom::Cache;
                if t.netns.is_none() {
                    t.netns = netns.cloned();
                }
            }
        });
    }

    /// CLOSE -> SYN_SENT is recorded before connect() picks the local port: show the port the
    /// socket's next change carries.
    fn backfill_local(&mut self, id: TrackId, c: &StateChange) {
        if c.local.port == 0 {
            return;
        }
        self.each_held(id, |t| {
            if t.local.port == 0 && t.peer == c.peer {
                t.local = c.local;
            }
        });
    }

    fn destroy(&mut self, d: Destroy) {
        let id = match self.tracks.remove(&d.skaddr) {
            Some(t) => Some(t.id),
            None => self.closed.remove(&d.skaddr).map(|(id, _)| id),
        };
        if let Some(id) = id {
            self.each_held(id, |t| t.cookie = Some(d.cookie));
        }
        self.pending.push_back(Emitted::Destroy(d));
    }

    /// What a lookup found out about the socket of track `id` (at `skaddr`): later changes of
    /// the same socket use it (`cache`) instead of looking again.
    pub fn learned(
        &mut self,
        skaddr: u64,
        id: TrackId,
        owner: Option<TraceOwner>,
        netns: Option<Netns>,
        cookie: Option<u64>,
    ) {
        if let Some(t) = self.tracks.get_mut(&skaddr) {
            if t.id == id {
                if t.owner.is_none() {
                    t.owner = owner;
                }
                if t.netns.is_none() {
                    t.netns = netns;
                }
                if t.cookie.is_none() {
                    t.cookie = cookie;
                }
            }
        }
    }

    /// Everything held whose time is at least the look-ahead window before `now_ns`.
    pub fn release(&mut self, now_ns: u64) -> Vec<Emitted> {
        let upto = now_ns.saturating_sub(self.hold_ns);
        let mut out = Vec::new();
        while self.pending.front().is_some_and(|e| e.time() <= upto) {
            if let Some(e) = self.pop() {
                out.push(e);
            }
        }
        out
    }

    fn pop(&mut self) -> Option<Emitted> {
        let e = self.pending.pop_front()?;
        if let Emitted::Transition { track, .. } = &e {
            if let Some(seqs) = self.held.get_mut(track) {
                // Released in order: this is the track's oldest held transition.
                if seqs.first() == Some(&self.base) {
                    seqs.remove(0);
                }
                if seqs.is_empty() {
                    self.held.remove(track);
                }
            }
        }
        self.base += 1;
        Some(e)
    }

    /// Everything held (at the end of a trace).
    pub fn drain(&mut self) -> Vec<Emitted> {
        let mut out = Vec::with_capacity(self.pending.len());
        while let Some(e) = self.pop() {
            out.push(e);
        }
        out
    }
}

/// True for a change that begins a socket's life: connect() or listen() on a new socket
/// (CLOSE -> ...), or a connection cloned from a listener (LISTEN -> SYN_RECV on a new address).
pub fn starts_socket(c: &StateChange) -> bool {
    c.old == TcpState::Close || (c.old == TcpState::Listen && c.new == TcpState::SynRecv)
}

#[cfg(test)]
#[path = "track_tests.rs"]
pub(crate) mod tests;
