//! How the Linux tracepoint `sock:inet_sock_set_state` sees the state machine, so that a live
//! trace can be checked against the model.
//!
//! The tracepoint fires when a *full* socket changes `sk_state`. It does not see:
//! * request sockets (NEW_SYN_RECV): a SYN to a listener creates one silently; when the
//!   handshake completes, the connection's socket is cloned from the listener, which the
//!   tracepoint shows as LISTEN -> SYN_RECV followed by SYN_RECV -> ESTABLISHED;
//! * timewait mini-sockets: entering TIME-WAIT shows as FIN_WAIT2 -> CLOSE (or CLOSING -> CLOSE)
//!   because the full socket is closed and a mini-socket takes over the 4-tuple; the mini-socket's
//!   own expiry (and an orphaned FIN-WAIT-2's tcp_fin_timeout) is never traced;
//! * retransmissions, which change no state.
//!
//! It also reports changes that are none: `close()` on a socket that already sent its FIN
//! (after `shutdown(SHUT_WR)`, or a `release --fin`) runs `tcp_close_state`, whose table maps
//! FIN_WAIT1, FIN_WAIT2, LAST_ACK and CLOSING to themselves, and `tcp_set_state` fires the
//! tracepoint anyway: FIN_WAIT1 -> FIN_WAIT1 and so on ([`CLOSE_REPEATS`]).

use super::edges::{Origin, Traced, EDGES};
use crate::model::state::TcpState;

/// States that `close()` sets again when the socket has already sent its FIN: the tracepoint
/// shows `s -> s` (Linux `tcp_close_state`'s table). Not edges of the state machine — nothing
/// changes — so they are not in [`EDGES`] or the diagram.
pub const CLOSE_REPEATS: [TcpState; 4] = [
    TcpState::FinWait1,
    TcpState::FinWait2,
    TcpState::LastAck,
    TcpState::Closing,
];

/// The (oldstate, newstate) records the tracepoint emits for the model edge `from -> to`, or
/// an empty list. Only Linux edges count: RFC-only edges never happen on Linux.
pub fn tracepoint_view(edge: &super::Edge) -> Vec<(TcpState, TcpState)> {
    if edge.origin == Origin::Rfc {
        return Vec::new();
    }
    match edge.traced {
        Traced::Same => vec![(edge.from, edge.to)],
        Traced::Seen(records) => records.to_vec(),
        Traced::NotSeen => Vec::new(),
    }
}

/// Every (oldstate, newstate) pair the tracepoint can report on Linux, per the model.
pub fn tracepoint_edges() -> Vec<(TcpState, TcpState)> {
    let mut all: Vec<(TcpState, TcpState)> = EDGES
        .iter()
        .flat_map(tracepoint_view)
        .chain(CLOSE_REPEATS.iter().map(|s| (*s, *s)))
        .collect();
    all.sort();
    all.dedup();
    all
}

/// True when a record `old -> new` of `sock:inet_sock_set_state` is something Linux does
/// according to the model. A live trace that shows anything else means the model is wrong.
pub fn tracepoint_edge_is_valid(old: TcpState, new: TcpState) -> bool {
    (old == new && CLOSE_REPEATS.contains(&old))
        || EDGES
            .iter()
            .any(|e| tracepoint_view(e).contains(&(old, new)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_after_a_fin_repeats_the_state_and_nothing_else_repeats() {
        // Seen on this VM from a program that shut down its side and then closed: the kernel
        // reported FIN_WAIT1 -> FIN_WAIT1.
        for s in CLOSE_REPEATS {
            assert!(tracepoint_edge_is_valid(s, s), "{s:?}");
            assert!(tracepoint_edges().contains(&(s, s)));
        }
        for s in [
            TcpState::Established,
            TcpState::Listen,
            TcpState::CloseWait,
            TcpState::SynSent,
        ] {
            assert!(!tracepoint_edge_is_valid(s, s), "{s:?}");
        }
    }
}
