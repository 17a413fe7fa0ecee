//! What makes a TCP endpoint change state: a call by its program, a segment from the peer, or a
//! timer. Each event has a stable machine name (JSON), a short label for diagrams and a sentence
//! for `explain`.

use serde::Serialize;

/// The three sources of events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// The local program called the sockets API.
    UserCall,
    /// A segment arrived from the peer.
    Segment,
    /// A timer of the local kernel fired.
    Timeout,
}

/// One event of the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    /// listen(): passive OPEN.
    PassiveOpen,
    /// connect(): active OPEN.
    ActiveOpen,
    /// bind() without listen() or connect() (Linux reports BOUND-INACTIVE on request).
    Bind,
    /// SEND on a listening socket (RFC only; Linux cannot do this).
    Send,
    /// close(): the program lets go of the socket; a FIN is queued.
    Close,
    /// shutdown(SHUT_WR): a FIN is queued but the program keeps the socket to read.
    ShutdownWrite,
    /// ABORT: SO_LINGER with timeout 0 then close(), or close() with unread received data.
    Abort,
    /// A SYN arrived.
    RcvSyn,
    /// A SYN+ACK that acknowledges our SYN arrived.
    RcvSynAck,
    /// The ACK of our SYN (the third segment of the handshake) arrived.
    RcvAckOfSyn,
    /// A FIN arrived: the peer will send no more data.
    RcvFin,
    /// The ACK of our FIN arrived.
    RcvAckOfFin,
    /// A RST arrived (with an acceptable sequence number).
    RcvRst,
    /// The retransmission timer fired: the unacknowledged SYN, SYN+ACK or FIN is sent again.
    Retransmit,
    /// Retransmissions gave up (tcp_syn_retries, tcp_synack_retries, tcp_retries2, tcp_orphan_retries).
    RetransmitGiveUp,
    /// The TIME-WAIT timer (2*MSL; fixed 60 s on Linux) expired.
    TimeWaitExpiry,
    /// An orphaned FIN-WAIT-2 timed out after tcp_fin_timeout (Linux; default 60 s).
    FinTimeout,
}

impl Event {
    /// Every event, user calls first, then segments, then timeouts.
    pub const ALL: [Event; 17] = [
        Event::PassiveOpen,
        Event::ActiveOpen,
        Event::Bind,
        Event::Send,
        Event::Close,
        Event::ShutdownWrite,
        Event::Abort,
        Event::RcvSyn,
        Event::RcvSynAck,
        Event::RcvAckOfSyn,
        Event::RcvFin,
        Event::RcvAckOfFin,
        Event::RcvRst,
        Event::Retransmit,
        Event::RetransmitGiveUp,
        Event::TimeWaitExpiry,
        Event::FinTimeout,
    ];

    /// Where the event comes from.
    pub fn kind(self) -> EventKind {
        use Event::*;
        match self {
            PassiveOpen | ActiveOpen | Bind | Send | Close | ShutdownWrite | Abort => {
                EventKind::UserCall
            }
            RcvSyn | RcvSynAck | RcvAckOfSyn | RcvFin | RcvAckOfFin | RcvRst => EventKind::Segment,
            Retransmit | RetransmitGiveUp | TimeWaitExpiry | FinTimeout => EventKind::Timeout,
        }
    }

    /// Stable machine name (as in JSON).
    pub fn name(self) -> &'static str {
        use Event::*;
        match self {
            PassiveOpen => "passive-open",
            ActiveOpen => "active-open",
            Bind => "bind",
            Send => "send",
            Close => "close",
            ShutdownWrite => "shutdown-write",
            Abort => "abort",
            RcvSyn => "rcv-syn",
            RcvSynAck => "rcv-syn-ack",
            RcvAckOfSyn => "rcv-ack-of-syn",
            RcvFin => "rcv-fin",
            RcvAckOfFin => "rcv-ack-of-fin",
            RcvRst => "rcv-rst",
            Retransmit => "retransmit",
            RetransmitGiveUp => "retransmit-give-up",
            TimeWaitExpiry => "time-wait-expiry",
            FinTimeout => "fin-timeout",
        }
    }

    /// Short label for diagrams, in the RFC figure's style (`rcv FIN`, `close()`).
    pub fn label(self) -> &'static str {
        use Event::*;
        match self {
            PassiveOpen => "listen()",
            ActiveOpen => "connect()",
            Bind => "bind()",
            Send => "SEND",
            Close => "close()",
            ShutdownWrite => "shutdown(WR)",
            Abort => "abort",
            RcvSyn => "rcv SYN",
            RcvSynAck => "rcv SYN+ACK",
            RcvAckOfSyn => "rcv ACK of SYN",
            RcvFin => "rcv FIN",
            RcvAckOfFin => "rcv ACK of FIN",
            RcvRst => "rcv RST",
            Retransmit => "RTO",
            RetransmitGiveUp => "retries exhausted",
            TimeWaitExpiry => "2MSL timeout",
            FinTimeout => "tcp_fin_timeout",
        }
    }

    /// One sentence for `explain`.
    pub fn description(self) -> &'static str {
        use Event::*;
        match self {
            PassiveOpen => "the program calls listen() (passive OPEN)",
            ActiveOpen => "the program calls connect() (active OPEN); a SYN is sent",
            Bind => "the program calls bind() and nothing else yet",
            Send => "the program sends on a listening socket (RFC only; Linux has no such call)",
            Close => "the program calls close() (or exits); the kernel sends a FIN and the socket becomes an orphan nobody owns",
            ShutdownWrite => "the program calls shutdown(SHUT_WR): a FIN is sent, but the program keeps the socket and can still read",
            Abort => "the connection is aborted: SO_LINGER with 0 s then close(), close() with unread received data, or `ss -K`; a RST is sent",
            RcvSyn => "a SYN arrives from the peer",
            RcvSynAck => "a SYN+ACK arrives that acknowledges our SYN",
            RcvAckOfSyn => "the ACK of our SYN arrives (third segment of the handshake)",
            RcvFin => "a FIN arrives: the peer has finished sending",
            RcvAckOfFin => "the ACK of our FIN arrives",
            RcvRst => "a RST arrives: the peer refuses or aborts the connection",
            Retransmit => "the retransmission timer fires and the unacknowledged SYN, SYN+ACK or FIN is sent again (Linux: RTO starts at 1 s for SYN, about 200 ms + RTT otherwise, doubling each time)",
            RetransmitGiveUp => "retransmissions are exhausted: tcp_syn_retries (6, about 127 s) for SYN, tcp_synack_retries (5) for SYN+ACK, tcp_orphan_retries / tcp_retries2 (15, about 15 min) for FIN",
            TimeWaitExpiry => "the TIME-WAIT timer of 2*MSL expires (fixed 60 s on Linux)",
            FinTimeout => "an orphaned FIN-WAIT-2 socket has waited tcp_fin_timeout (default 60 s) for the peer's FIN and is dropped",
        }
    }
}

/// A segment on the wire, as tcpscope's diagrams name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Segment {
    Syn,
    SynAck,
    Ack,
    Fin,
    Rst,
    Data,
}

impl Segment {
    /// The label drawn on an arrow.
    pub fn label(self) -> &'static str {
        match self {
            Segment::Syn => "SYN",
            Segment::SynAck => "SYN+ACK",
            Segment::Ack => "ACK",
            Segment::Fin => "FIN",
            Segment::Rst => "RST",
            Segment::Data => "DATA",
        }
    }
}
