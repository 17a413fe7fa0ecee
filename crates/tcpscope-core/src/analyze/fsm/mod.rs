//! The TCP state machine of RFC 9293 (section 3.3.2 and its figure) as *data*, with the places
//! where Linux does it differently written down next to the RFC's edges.
//!
//! Every text, diagram and simulation tcpscope shows is generated from these tables, so they
//! cannot disagree with each other: `explain` reads [`states::info`] and [`edges::EDGES`],
//! `diagram` draws the same edges, `simulate` drives two endpoints through them, and a later live
//! trace can be checked against [`tracepoint::tracepoint_edge_is_valid`].
//!
//! The states are the one [`TcpState`] enum of tcpscope; this module adds no second state list.

pub mod edges;
pub mod events;
pub mod scenarios;
pub mod simulate;
pub mod states;
pub mod tracepoint;

pub use edges::{edges_from, edges_into, find_edge, Edge, Guard, Origin, Traced, EDGES};
pub use events::{Event, EventKind, Segment};
pub use states::{info, relief, End, GoverningTimer, StateInfo};
pub use tracepoint::{tracepoint_edge_is_valid, tracepoint_edges, tracepoint_view};

use crate::model::state::TcpState;

/// Which behaviour to follow where RFC 9293 and Linux differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    /// What the Linux kernel does (request sockets in NEW_SYN_RECV, fixed 60 s TIME_WAIT, ...).
    Linux,
    /// What RFC 9293's figure draws.
    Rfc,
}

impl Flavor {
    /// True when an edge of `origin` is part of this flavor's machine.
    pub fn includes(self, origin: Origin) -> bool {
        match self {
            Flavor::Linux => origin != Origin::Rfc,
            Flavor::Rfc => origin != Origin::Linux,
        }
    }
}

/// True for the states RFC 9293 calls synchronized: a RST received in any of them (with a valid
/// sequence number) closes the connection at once.
pub fn is_synchronized(state: TcpState) -> bool {
    use TcpState::*;
    matches!(
        state,
        Established | FinWait1 | FinWait2 | CloseWait | Closing | LastAck | TimeWait
    )
}

#[cfg(test)]
mod tests;
