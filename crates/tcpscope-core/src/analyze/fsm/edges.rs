//! The edges of the state machine: from which state, on which event, to which state, sending
//! which segment — and whether the edge is RFC 9293's, Linux's, or both, with how the kernel
//! tracepoint shows it. One table; everything else (explain, diagrams, simulations, trace checks)
//! reads it.

use super::events::{Event, Segment};
use super::Flavor;
use crate::model::state::TcpState;
use serde::Serialize;

/// Whose state machine an edge belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// RFC 9293 and Linux agree.
    Both,
    /// Drawn by the RFC, done differently by Linux.
    Rfc,
    /// Linux only (request sockets, tcp_fin_timeout, bound-inactive sockets, give-ups).
    Linux,
}

/// A condition on the endpoint's history that decides between edges with the same event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Guard {
    /// Always taken.
    None,
    /// Only when the connection began with a passive open (from LISTEN).
    PassiveOpen,
    /// Only when the program has closed the socket with close() (an orphan).
    Orphaned,
}

/// What an endpoint remembers that guards can ask about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct History {
    pub passive_open: bool,
    pub orphaned: bool,
}

impl Guard {
    pub fn admits(self, h: History) -> bool {
        match self {
            Guard::None => true,
            Guard::PassiveOpen => h.passive_open,
            Guard::Orphaned => h.orphaned,
        }
    }
}

/// One transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub from: TcpState,
    pub to: TcpState,
    pub event: Event,
    /// The segment this endpoint sends when it takes the edge.
    pub sends: Option<Segment>,
    pub origin: Origin,
    pub guard: Guard,
    /// How `sock:inet_sock_set_state` shows this edge on Linux.
    pub traced: Traced,
    /// What a user should know about this edge (empty when the event says it all).
    pub note: &'static str,
}

impl Edge {
    /// True for self-loops (retransmissions, a FIN repeated into TIME-WAIT).
    pub fn is_loop(&self) -> bool {
        self.from == self.to
    }

    /// True for the edges that the RFC figure leaves out and diagrams summarise in one note:
    /// aborts, RSTs, retransmissions and give-ups.
    pub fn is_exceptional(&self) -> bool {
        matches!(
            self.event,
            Event::Abort | Event::RcvRst | Event::Retransmit | Event::RetransmitGiveUp
        ) && !(self.event == Event::RcvRst
            && (self.from == TcpState::SynSent || self.to != TcpState::Close))
    }
}

/// How the tracepoint shows one edge of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "as")]
pub enum Traced {
    /// As the edge itself: oldstate = from, newstate = to.
    Same,
    /// As these (oldstate, newstate) records, in order.
    Seen(&'static [(TcpState, TcpState)]),
    /// Not at all (no full socket changes state).
    NotSeen,
}

use Event as E;
use Origin::{Both, Linux, Rfc};
use Segment as S;
use TcpState as T;

const fn edge(from: T, event: E, to: T, sends: Option<S>, origin: Origin) -> Edge {
    Edge {
        from,
        to,
        event,
        sends,
        origin,
        guard: Guard::None,
        traced: Traced::Same,
        note: "",
    }
}

const fn traced(mut e: Edge, traced: Traced) -> Edge {
    e.traced = traced;
    e
}

const fn note(mut e: Edge, note: &'static str) -> Edge {
    e.note = note;
    e
}

const fn guard(mut e: Edge, guard: Guard) -> Edge {
    e.guard = guard;
    e
}

/// Every edge. Order matters only where two edges share a state and an event: the first whose
/// guard admits the endpoint's history is taken.
pub const EDGES: &[Edge] = &[
    // Opening: user calls.
    edge(T::Close, E::PassiveOpen, T::Listen, None, Both),
    note(
        edge(T::Close, E::ActiveOpen, T::SynSent, Some(S::Syn), Both),
        "connect() blocks (or returns EINPROGRESS) until the SYN+ACK arrives",
    ),
    traced(
        note(
            edge(T::Close, E::Bind, T::BoundInactive, None, Linux),
            "the kernel state stays CLOSE; sock_diag (Linux 6.9+) reports bound sockets as BOUND-INACTIVE when asked",
        ),
        Traced::NotSeen,
    ),
    traced(
        edge(T::BoundInactive, E::PassiveOpen, T::Listen, None, Linux),
        Traced::Seen(&[(T::Close, T::Listen)]),
    ),
    traced(
        edge(T::BoundInactive, E::ActiveOpen, T::SynSent, Some(S::Syn), Linux),
        Traced::Seen(&[(T::Close, T::SynSent)]),
    ),
    traced(
        edge(T::BoundInactive, E::Close, T::Close, None, Linux),
        Traced::NotSeen,
    ),
    note(
        edge(T::Listen, E::Send, T::SynSent, Some(S::Syn), Rfc),
        "RFC only: the sockets API has no way to turn a listener into a connecting socket",
    ),
    // Opening: segments.
    note(
        edge(T::Listen, E::RcvSyn, T::SynRecv, Some(S::SynAck), Rfc),
        "Linux keeps the listener in LISTEN and answers with a request socket (NEW-SYN-RECV)",
    ),
    traced(
        note(
            edge(T::Listen, E::RcvSyn, T::NewSynRecv, Some(S::SynAck), Linux),
            "the listener stays in LISTEN; a small request socket answers (ss shows it as SYN-RECV). When the accept queue is full the SYN is dropped instead (ListenOverflows)",
        ),
        Traced::NotSeen,
    ),
    note(
        edge(T::SynSent, E::RcvSynAck, T::Established, Some(S::Ack), Both),
        "connect() returns: the client is connected",
    ),
    note(
        edge(T::SynSent, E::RcvSyn, T::SynRecv, Some(S::SynAck), Both),
        "simultaneous open: both ends sent a SYN",
    ),
    note(
        edge(T::SynSent, E::RcvRst, T::Close, None, Both),
        "connect() fails with ECONNREFUSED: nothing listens on that port",
    ),
    edge(T::SynRecv, E::RcvAckOfSyn, T::Established, None, Both),
    traced(
        note(
            edge(T::NewSynRecv, E::RcvAckOfSyn, T::Established, None, Linux),
            "the kernel creates the connection's socket and queues it for accept(); if the accept queue is full the ACK is dropped and the request waits (tcp_abort_on_overflow=0)",
        ),
        Traced::Seen(&[(T::Listen, T::SynRecv), (T::SynRecv, T::Established)]),
    ),
    guard(
        note(
            edge(T::SynRecv, E::RcvRst, T::Listen, None, Rfc),
            "RFC: a connection that came from LISTEN returns to LISTEN",
        ),
        Guard::PassiveOpen,
    ),
    note(
        edge(T::SynRecv, E::RcvRst, T::Close, None, Both),
        "on Linux the listener is a separate socket, so this connection's socket simply closes",
    ),
    traced(
        note(
            edge(T::NewSynRecv, E::RcvRst, T::Close, None, Linux),
            "the request socket is dropped; the listener is unaffected",
        ),
        Traced::NotSeen,
    ),
    // Closing: user calls.
    edge(T::Listen, E::Close, T::Close, None, Both),
    edge(T::SynSent, E::Close, T::Close, None, Both),
    edge(T::SynRecv, E::Close, T::FinWait1, Some(S::Fin), Both),
    note(
        edge(T::Established, E::Close, T::FinWait1, Some(S::Fin), Both),
        "active close: this end closes first and will pass through TIME-WAIT",
    ),
    note(
        edge(T::Established, E::ShutdownWrite, T::FinWait1, Some(S::Fin), Both),
        "half-close: this end can still read what the peer sends",
    ),
    note(
        edge(T::CloseWait, E::Close, T::LastAck, Some(S::Fin), Both),
        "the program finally closed: this is what ends a CLOSE-WAIT",
    ),
    edge(T::CloseWait, E::ShutdownWrite, T::LastAck, Some(S::Fin), Both),
    // Aborts: Linux sends a RST from these states (tcp_need_reset), as RFC 9293 does.
    edge(T::SynRecv, E::Abort, T::Close, Some(S::Rst), Both),
    edge(T::Established, E::Abort, T::Close, Some(S::Rst), Both),
    edge(T::FinWait1, E::Abort, T::Close, Some(S::Rst), Both),
    edge(T::FinWait2, E::Abort, T::Close, Some(S::Rst), Both),
    edge(T::CloseWait, E::Abort, T::Close, Some(S::Rst), Both),
    edge(T::SynSent, E::Abort, T::Close, None, Both),
    // Closing: segments.
    note(
        edge(T::Established, E::RcvFin, T::CloseWait, Some(S::Ack), Both),
        "passive close: the peer closed first; the kernel now waits for this program to call close()",
    ),
    note(
        edge(T::FinWait1, E::RcvAckOfFin, T::FinWait2, None, Both),
        "if the program used close() (an orphan), Linux hands the socket to a timewait mini-socket at once: the tracepoint then shows FIN_WAIT2 -> CLOSE",
    ),
    note(
        edge(T::FinWait1, E::RcvFin, T::Closing, Some(S::Ack), Both),
        "simultaneous close: both FINs crossed on the wire",
    ),
    traced(
        note(
            edge(T::FinWait2, E::RcvFin, T::TimeWait, Some(S::Ack), Both),
            "a timewait mini-socket takes over the 4-tuple: the tracepoint shows FIN_WAIT2 -> CLOSE",
        ),
        Traced::Seen(&[(T::FinWait2, T::Close)]),
    ),
    traced(
        note(
            edge(T::Closing, E::RcvAckOfFin, T::TimeWait, None, Both),
            "a timewait mini-socket takes over: the tracepoint shows CLOSING -> CLOSE",
        ),
        Traced::Seen(&[(T::Closing, T::Close)]),
    ),
    edge(T::LastAck, E::RcvAckOfFin, T::Close, None, Both),
    traced(
        note(
            edge(T::TimeWait, E::RcvFin, T::TimeWait, Some(S::Ack), Both),
            "the peer repeated its FIN (our ACK was lost): ACK it again and restart the 2MSL timer",
        ),
        Traced::NotSeen,
    ),
    // RST in a synchronized state: the connection is gone at once.
    note(
        edge(T::Established, E::RcvRst, T::Close, None, Both),
        "recv()/send() fail with ECONNRESET",
    ),
    edge(T::FinWait1, E::RcvRst, T::Close, None, Both),
    edge(T::FinWait2, E::RcvRst, T::Close, None, Both),
    note(
        edge(T::CloseWait, E::RcvRst, T::Close, None, Both),
        "typical when the program writes to a connection the peer has already forgotten",
    ),
    edge(T::Closing, E::RcvRst, T::Close, None, Both),
    edge(T::LastAck, E::RcvRst, T::Close, None, Both),
    traced(
        note(
            edge(T::TimeWait, E::RcvRst, T::Close, None, Both),
            "Linux honours it unless net.ipv4.tcp_rfc1337=1 (RFC 1337 'TIME-WAIT assassination')",
        ),
        Traced::NotSeen,
    ),
    // Timers: retransmission of an unacknowledged SYN, SYN+ACK or FIN.
    traced(
        note(
            edge(T::SynSent, E::Retransmit, T::SynSent, Some(S::Syn), Both),
            "Linux: 1 s, 2 s, 4 s, ... up to tcp_syn_retries=6 retries",
        ),
        Traced::NotSeen,
    ),
    traced(
        edge(T::SynRecv, E::Retransmit, T::SynRecv, Some(S::SynAck), Both),
        Traced::NotSeen,
    ),
    traced(
        note(
            edge(T::NewSynRecv, E::Retransmit, T::NewSynRecv, Some(S::SynAck), Linux),
            "up to tcp_synack_retries=5 retries",
        ),
        Traced::NotSeen,
    ),
    traced(
        edge(T::FinWait1, E::Retransmit, T::FinWait1, Some(S::Fin), Both),
        Traced::NotSeen,
    ),
    traced(
        edge(T::Closing, E::Retransmit, T::Closing, Some(S::Fin), Both),
        Traced::NotSeen,
    ),
    traced(
        edge(T::LastAck, E::Retransmit, T::LastAck, Some(S::Fin), Both),
        Traced::NotSeen,
    ),
    note(
        edge(T::SynSent, E::RetransmitGiveUp, T::Close, None, Linux),
        "connect() fails with ETIMEDOUT after tcp_syn_retries=6 retries: about 127 s",
    ),
    edge(T::SynRecv, E::RetransmitGiveUp, T::Close, None, Linux),
    traced(
        note(
            edge(T::NewSynRecv, E::RetransmitGiveUp, T::Close, None, Linux),
            "the request is dropped after tcp_synack_retries=5 retries (about 63 s)",
        ),
        Traced::NotSeen,
    ),
    note(
        edge(T::Established, E::RetransmitGiveUp, T::Close, None, Linux),
        "unacknowledged data after tcp_retries2=15 retries (about 15 min): ETIMEDOUT",
    ),
    note(
        edge(T::FinWait1, E::RetransmitGiveUp, T::Close, None, Linux),
        "an orphan gives up after tcp_orphan_retries (0 means 8)",
    ),
    edge(T::CloseWait, E::RetransmitGiveUp, T::Close, None, Linux),
    edge(T::Closing, E::RetransmitGiveUp, T::Close, None, Linux),
    edge(T::LastAck, E::RetransmitGiveUp, T::Close, None, Linux),
    // Timers: the end of TIME-WAIT and of an orphaned FIN-WAIT-2.
    traced(
        note(
            edge(T::TimeWait, E::TimeWaitExpiry, T::Close, None, Both),
            "Linux: TCP_TIMEWAIT_LEN, fixed 60 s and not tunable; RFC 793: 2*MSL = 4 min. The mini-socket's end is not traced",
        ),
        Traced::NotSeen,
    ),
    traced(
        guard(
            note(
                edge(T::FinWait2, E::FinTimeout, T::Close, None, Linux),
                "only for orphans (the program called close()); a FIN-WAIT-2 after shutdown(SHUT_WR) waits forever. Traced as FIN-WAIT-2 -> CLOSED at once, when a mini-socket takes the orphan over, not when the timer fires",
            ),
            Guard::Orphaned,
        ),
        Traced::Seen(&[(T::FinWait2, T::Close)]),
    ),
];

/// The edge taken from `from` on `event` by an endpoint with history `h`, in `flavor`.
pub fn find_edge(
    from: TcpState,
    event: Event,
    flavor: Flavor,
    h: History,
) -> Option<&'static Edge> {
    EDGES.iter().find(|e| {
        e.from == from && e.event == event && flavor.includes(e.origin) && e.guard.admits(h)
    })
}

/// Edges leaving `state` (self-loops included).
pub fn edges_from(state: TcpState) -> impl Iterator<Item = &'static Edge> {
    EDGES.iter().filter(move |e| e.from == state)
}

/// Edges entering `state` from another state.
pub fn edges_into(state: TcpState) -> impl Iterator<Item = &'static Edge> {
    EDGES
        .iter()
        .filter(move |e| e.to == state && e.from != state)
}
