//! What each state means to an operator: which end is in it, what it waits for, how long it
//! lasts (Linux, RFC, Windows), when it signals a problem, what the peer is most likely in, and
//! the tcpscope command that investigates it. The texts are facts; `explain` prints them.

use crate::model::state::TcpState;
use serde::Serialize;

/// Which end of a connection is in a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum End {
    /// No connection yet, or no longer.
    Neither,
    /// The server, before or while accepting.
    Server,
    /// The client that called connect().
    Client,
    /// Either end (established, simultaneous open or close).
    Either,
    /// The end that closed first.
    ActiveCloser,
    /// The end whose peer closed first.
    PassiveCloser,
}

impl End {
    pub fn describe(self) -> &'static str {
        match self {
            End::Neither => "no connection (before connect()/listen(), or after the end)",
            End::Server => "the server (passive opener)",
            End::Client => "the client (active opener, it called connect())",
            End::Either => "either end",
            End::ActiveCloser => "the end that closed first (the active closer)",
            End::PassiveCloser => "the end whose peer closed first (the passive closer)",
        }
    }
}

/// The timer that governs a state, as sock_diag reports it (`idiag_timer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GoverningTimer {
    /// No timer: the state lasts until a call or a segment.
    None,
    /// Keepalive, only when the program set SO_KEEPALIVE (idiag_timer 2).
    Keepalive,
    /// Retransmission of an unacknowledged SYN, SYN+ACK or FIN (idiag_timer 1).
    Retransmit,
    /// The TIME-WAIT timer of a timewait mini-socket (idiag_timer 3).
    TimeWait,
    /// tcp_fin_timeout of an orphaned FIN-WAIT-2, also a mini-socket timer (idiag_timer 3).
    FinTimeout,
}

impl GoverningTimer {
    pub fn describe(self) -> &'static str {
        match self {
            GoverningTimer::None => "none: only the program or the peer can move it on",
            GoverningTimer::Keepalive => "keepalive, only if the program set SO_KEEPALIVE (first probe after tcp_keepalive_time, 2 h)",
            GoverningTimer::Retransmit => "retransmission: the unacknowledged segment is sent again with exponential backoff until the retries run out",
            GoverningTimer::TimeWait => "TIME-WAIT: 60 s on Linux (fixed), then the 4-tuple is free",
            GoverningTimer::FinTimeout => "tcp_fin_timeout (default 60 s) for orphans; none when the program still holds the socket",
        }
    }
}

/// Everything `explain` says about one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StateInfo {
    pub state: TcpState,
    /// One line, for the `explain` overview.
    pub summary: &'static str,
    pub meaning: &'static str,
    pub end: End,
    pub waits_for: &'static str,
    pub timer: GoverningTimer,
    pub linux_duration: &'static str,
    pub rfc_duration: &'static str,
    pub windows_duration: &'static str,
    /// When this state points at a problem, and whose.
    pub problem: &'static str,
    /// The states the peer is most likely in, most likely first.
    pub peer_likely: &'static [TcpState],
    /// The tcpscope command to look closer.
    pub investigate: &'static str,
}

use TcpState as T;

/// One entry per kernel state, in kernel order (tests check that every state has one).
pub const STATES: &[StateInfo] = &[
    StateInfo {
        state: T::Established,
        summary: "connection open, data flows both ways",
        meaning: "The handshake is complete and both ends may send and receive. This is the normal state of a working connection.",
        end: End::Either,
        waits_for: "data, or a close() by either program",
        timer: GoverningTimer::Keepalive,
        linux_duration: "as long as both programs keep the connection",
        rfc_duration: "unlimited",
        windows_duration: "unlimited",
        problem: "Not by itself. A growing Recv-Q means this program is not reading; a growing Send-Q means the peer (or the network) is not taking data.",
        peer_likely: &[T::Established, T::FinWait1],
        investigate: "tcpscope ls -e state established",
    },
    StateInfo {
        state: T::SynSent,
        summary: "connect() called, waiting for the SYN+ACK",
        meaning: "This end sent a SYN and waits for the peer to answer with SYN+ACK.",
        end: End::Client,
        waits_for: "a SYN+ACK (success), a RST (ECONNREFUSED) or the SYN retries to run out (ETIMEDOUT)",
        timer: GoverningTimer::Retransmit,
        linux_duration: "one round trip; without an answer the SYN is resent after 1, 2, 4, ... s and connect() fails after tcp_syn_retries=6 retries, about 127 s",
        rfc_duration: "until the user timeout (RFC 1122: at least 3 minutes for a SYN)",
        windows_duration: "about 21 s (TcpMaxConnectRetransmissions=2)",
        problem: "When many pile up or last seconds: the destination is unreachable, a firewall drops SYNs silently, or the server's accept queue is full and it drops them.",
        peer_likely: &[T::Listen, T::NewSynRecv, T::Close],
        investigate: "tcpscope ls state syn-sent",
    },
    StateInfo {
        state: T::SynRecv,
        summary: "SYN received and answered, waiting for the final ACK",
        meaning: "A SYN arrived and was answered with SYN+ACK; the handshake's last ACK has not come yet. On Linux a full socket is in this state only after a simultaneous open or for TCP Fast Open; ordinary half-open connections are request sockets (NEW-SYN-RECV), which ss also prints as SYN-RECV.",
        end: End::Server,
        waits_for: "the ACK of its SYN+ACK",
        timer: GoverningTimer::Retransmit,
        linux_duration: "one round trip; the SYN+ACK is resent up to tcp_synack_retries=5 times, about 63 s",
        rfc_duration: "until the user timeout",
        windows_duration: "a few SYN+ACK retransmissions (TcpMaxConnectResponseRetransmissions=2)",
        problem: "Hundreds: a SYN flood (syncookies take over), clients whose final ACK is dropped, or a full accept queue.",
        peer_likely: &[T::SynSent, T::Established],
        investigate: "tcpscope ls state syn-recv",
    },
    StateInfo {
        state: T::FinWait1,
        summary: "this end closed first, its FIN is not acknowledged yet",
        meaning: "The program called close() or shutdown(SHUT_WR); the kernel sent a FIN and waits for the peer to acknowledge it.",
        end: End::ActiveCloser,
        waits_for: "the ACK of its FIN (to FIN-WAIT-2), or the peer's FIN (to CLOSING)",
        timer: GoverningTimer::Retransmit,
        linux_duration: "one round trip; if the peer does not answer (or its window is closed) the FIN is resent, and an orphan gives up after tcp_orphan_retries (default 8)",
        rfc_duration: "until the user timeout",
        windows_duration: "until the retransmissions give up (TcpMaxDataRetransmissions=5)",
        problem: "Many, lasting: the peers vanished or stopped reading (data still queued in front of the FIN); check Send-Q.",
        peer_likely: &[T::Established, T::CloseWait],
        investigate: "tcpscope ls -e state fin-wait-1",
    },
    StateInfo {
        state: T::FinWait2,
        summary: "this end closed first, the peer acknowledged but has not closed yet",
        meaning: "Our FIN is acknowledged. The peer's program has not closed its side yet; this end waits for the peer's FIN.",
        end: End::ActiveCloser,
        waits_for: "the peer's FIN (then TIME-WAIT)",
        timer: GoverningTimer::FinTimeout,
        linux_duration: "an orphan (closed with close()) is dropped after tcp_fin_timeout, default 60 s; after shutdown(SHUT_WR) the program still holds it and it lasts until the peer closes",
        rfc_duration: "unlimited",
        windows_duration: "a closed socket is dropped after TcpFinWait2Delay",
        problem: "Many: the PEER is not closing — its sockets are in CLOSE-WAIT and the bug is in the peer's program, not here.",
        peer_likely: &[T::CloseWait],
        investigate: "tcpscope ls -e state fin-wait-2   (then, on the peer: tcpscope ls -p state close-wait)",
    },
    StateInfo {
        state: T::TimeWait,
        summary: "this end closed first; the 4-tuple is kept a while after the end",
        meaning: "Both FINs are exchanged and acknowledged. The end that closed first keeps the 4-tuple so that late segments of this connection die and the last ACK can be repeated if it was lost. A kernel mini-socket holds it: no process owns it.",
        end: End::ActiveCloser,
        waits_for: "nothing but the timer (a repeated FIN is ACKed again)",
        timer: GoverningTimer::TimeWait,
        linux_duration: "60 s, fixed (TCP_TIMEWAIT_LEN, not a sysctl)",
        rfc_duration: "2*MSL = 4 minutes (RFC 793's MSL of 2 minutes)",
        windows_duration: "120 s by default (TcpTimedWaitDelay, 30-300 s)",
        problem: "Normal, even by the thousands. A problem only when the local ports towards one destination run out (ip_local_port_range) or tcp_max_tw_buckets overflows: reuse connections (keep-alive, pooling), set tcp_tw_reuse=1 for outgoing connections. Never SO_LINGER 0 (it resets connections).",
        peer_likely: &[T::Close, T::LastAck],
        investigate: "tcpscope summary",
    },
    StateInfo {
        state: T::Close,
        summary: "no connection: new socket, or the connection is over",
        meaning: "The socket is not connected: it was just created, its connection attempt failed, or the connection ended and the program still holds the descriptor. RFC 9293's CLOSED is 'no TCB at all'.",
        end: End::Neither,
        waits_for: "connect(), listen() or close() by the program",
        timer: GoverningTimer::None,
        linux_duration: "until the program uses or closes the descriptor",
        rfc_duration: "not a real state (no connection record)",
        windows_duration: "rarely shown",
        problem: "Many held by one process: descriptors kept after failed connects or resets (a leak).",
        peer_likely: &[T::Close, T::TimeWait],
        investigate: "tcpscope ls -p state closed",
    },
    StateInfo {
        state: T::CloseWait,
        summary: "the peer closed; waiting for THIS program to call close()",
        meaning: "The peer sent FIN: it will send nothing more. The kernel acknowledged it and now waits for the local program to call close(). Only the program can end this state.",
        end: End::PassiveCloser,
        waits_for: "the local program to call close() (or shutdown)",
        timer: GoverningTimer::None,
        linux_duration: "as long as the program holds the descriptor: forever if it never closes",
        rfc_duration: "unlimited (until the user closes)",
        windows_duration: "unlimited (until the program closes)",
        problem: "More than a handful, or any older than a few seconds: an application bug — the program holding the socket is not calling close() (a leaked descriptor, a stuck thread, a forgotten error path). It is not a TCP tuning issue; no sysctl fixes it.",
        peer_likely: &[T::FinWait2, T::Close],
        investigate: "tcpscope ls -p state close-wait",
    },
    StateInfo {
        state: T::LastAck,
        summary: "the peer closed, then this end closed; waiting for the last ACK",
        meaning: "The peer closed first and then the local program closed too; the kernel sent its FIN and waits for the peer to acknowledge it.",
        end: End::PassiveCloser,
        waits_for: "the ACK of its FIN",
        timer: GoverningTimer::Retransmit,
        linux_duration: "one round trip; the FIN is resent until the retries run out",
        rfc_duration: "until the user timeout",
        windows_duration: "until the retransmissions give up",
        problem: "Many, lasting: the peer is gone without a RST (a firewall or NAT dropped the state).",
        peer_likely: &[T::TimeWait, T::FinWait2],
        investigate: "tcpscope ls -e state last-ack",
    },
    StateInfo {
        state: T::Listen,
        summary: "a server waiting for connections",
        meaning: "The program called listen(): the socket accepts SYNs and queues finished connections for accept(). ss shows the accept queue length as Recv-Q and the backlog as Send-Q.",
        end: End::Server,
        waits_for: "SYNs from clients, and the program's accept() calls",
        timer: GoverningTimer::None,
        linux_duration: "as long as the server runs",
        rfc_duration: "unlimited",
        windows_duration: "unlimited (netstat says LISTENING)",
        problem: "When Recv-Q reaches Send-Q the accept queue is full: new SYNs and handshake ACKs are dropped (ListenOverflows grows) and clients see slow or failed connects. The program is not calling accept() fast enough.",
        peer_likely: &[T::SynSent],
        investigate: "tcpscope ls -l",
    },
    StateInfo {
        state: T::Closing,
        summary: "both ends closed at the same time; waiting for the ACK of our FIN",
        meaning: "Simultaneous close: this end sent FIN and received the peer's FIN before its own was acknowledged.",
        end: End::Either,
        waits_for: "the ACK of its FIN (then TIME-WAIT)",
        timer: GoverningTimer::Retransmit,
        linux_duration: "one round trip",
        rfc_duration: "until the user timeout",
        windows_duration: "until the retransmissions give up",
        problem: "Rare and brief. Many: ACKs are being lost.",
        peer_likely: &[T::Closing, T::TimeWait],
        investigate: "tcpscope ls -e state closing",
    },
    StateInfo {
        state: T::NewSynRecv,
        summary: "Linux request socket: a SYN answered on behalf of a listener",
        meaning: "A SYN reached a LISTEN socket; Linux answered with SYN+ACK from a small request socket instead of a full one (the listener stays in LISTEN). When the final ACK arrives the real socket is created and queued for accept(). ss and /proc print it as SYN-RECV.",
        end: End::Server,
        waits_for: "the final ACK of the handshake",
        timer: GoverningTimer::Retransmit,
        linux_duration: "one round trip; the SYN+ACK is resent up to tcp_synack_retries=5 times, about 63 s",
        rfc_duration: "not in the RFC (its SYN-RECEIVED)",
        windows_duration: "not applicable",
        problem: "Hundreds per listener: a SYN flood, lost final ACKs, or a full accept queue (the final ACK is dropped).",
        peer_likely: &[T::Established, T::SynSent],
        investigate: "tcpscope ls state syn-recv",
    },
    StateInfo {
        state: T::BoundInactive,
        summary: "bound to a port, neither listening nor connected",
        meaning: "The program called bind() but not listen() or connect(). The kernel state is CLOSE; Linux 6.9+ sock_diag reports such sockets as BOUND-INACTIVE when asked. Solaris calls this BOUND.",
        end: End::Neither,
        waits_for: "listen(), connect() or close() by the program",
        timer: GoverningTimer::None,
        linux_duration: "until the program uses or closes the descriptor",
        rfc_duration: "not in the RFC",
        windows_duration: "not shown",
        problem: "It holds the port: another program's bind() to it fails with EADDRINUSE.",
        peer_likely: &[],
        investigate: "tcpscope ls -p state bound-inactive",
    },
];

/// A way out right now, for the states no timer ends on its own while the program or the
/// peer fails to act: CLOSE-WAIT (the program never closes) and LAST-ACK (the peer is gone).
pub fn relief(state: TcpState) -> Option<&'static str> {
    match state {
        TcpState::CloseWait => Some(
            "end them without restarting the program: `tcpscope release state close-wait pid = PID` \
             sends the FIN it never sent through its own descriptor (a dry run first; --yes acts; \
             docs/release.md). Its bug remains until it is fixed.",
        ),
        TcpState::LastAck => Some(
            "when the peer is gone: `tcpscope release --rst state last-ack dst PEER` ends them with \
             SOCK_DESTROY (a dry run first; --yes acts; docs/release.md).",
        ),
        _ => None,
    }
}

/// The texts of `state`. [`STATES`] is in kernel order with one entry per state (a test checks
/// it), so the kernel number indexes it; a table gone wrong falls back to a search, then to the
/// first entry, rather than panicking.
pub fn info(state: TcpState) -> &'static StateInfo {
    let index = usize::from(state.kernel_number()).saturating_sub(1);
    match STATES.get(index) {
        Some(i) if i.state == state => i,
        _ => STATES
            .iter()
            .find(|i| i.state == state)
            .unwrap_or(&STATES[0]),
    }
}
