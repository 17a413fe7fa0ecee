//! State changes counted over a window, as a live view shows them: per (old, new) record of the
//! tracepoint (the diagram's arrows), connections opened and closed, and records lost. Unlike
//! the cookie tracker's counts, which compare two polls, these see every change — a connection
//! opened and closed between two polls included.

use crate::model::state::TcpState;
use crate::model::transition::Transition;
use std::collections::BTreeMap;

/// What a trace saw during one window (between two frames of a live view).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceCounts {
    /// How long the window was, milliseconds.
    pub window_ms: u64,
    /// Changes per (old, new) state, as the tracepoint reports them (entering TIME-WAIT is
    /// FIN-WAIT-2 -> CLOSE, an accepted connection LISTEN -> SYN-RECV on its new socket).
    pub records: BTreeMap<(TcpState, TcpState), u64>,
    /// Connections opened: connect() (CLOSE -> SYN-SENT) and accepted handshakes
    /// (LISTEN -> SYN-RECV).
    pub opened: u64,
    /// Connections whose socket closed (any state but LISTEN -> CLOSE; entering TIME-WAIT
    /// counts: the full socket closes and a mini-socket keeps the 4-tuple).
    pub closed: u64,
    /// Records the ring buffers lost (the counts are then too low).
    pub lost: u64,
}

impl TraceCounts {
    /// Count one change.
    pub fn add(&mut self, t: &Transition) {
        *self.records.entry((t.old, t.new)).or_default() += 1;
        match (t.old, t.new) {
            (TcpState::Close, TcpState::SynSent) | (TcpState::Listen, TcpState::SynRecv) => {
                self.opened += 1
            }
            (TcpState::Listen, TcpState::Close) => {}
            (_, TcpState::Close) => self.closed += 1,
            _ => {}
        }
    }

    /// Every change counted.
    pub fn changes(&self) -> u64 {
        self.records.values().sum()
    }

    /// Changes `old -> new` counted.
    pub fn of(&self, old: TcpState, new: TcpState) -> u64 {
        self.records.get(&(old, new)).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::diagnose::fixtures::ep;
    use crate::model::socket::Family;
    use crate::model::transition::{ModelCheck, OwnerFrom};

    fn change(old: TcpState, new: TcpState) -> Transition {
        Transition {
            time_unix_ns: 0,
            family: Family::Inet,
            local: ep("127.0.0.1:80"),
            peer: ep("127.0.0.1:5000"),
            old,
            new,
            in_old_ms: None,
            owner: None,
            owner_from: OwnerFrom::None,
            netns: None,
            cookie: None,
            model: ModelCheck::Ok,
            skaddr: 1,
            cpu: 0,
            sample_pid: 0,
            flags: 0,
        }
    }

    #[test]
    fn a_connection_opened_and_closed_is_counted_once_each() {
        use TcpState::*;
        let mut c = TraceCounts::default();
        for (o, n) in [
            (Close, SynSent),
            (SynSent, Established),
            (Established, FinWait1),
            (FinWait1, FinWait2),
            (FinWait2, Close),
            (Listen, SynRecv),
            (SynRecv, Established),
            (Established, CloseWait),
            (CloseWait, LastAck),
            (LastAck, Close),
            (Close, Listen),
            (Listen, Close),
        ] {
            c.add(&change(o, n));
        }
        assert_eq!(c.opened, 2);
        assert_eq!(c.closed, 2, "the listener's close is not a connection's");
        assert_eq!(c.changes(), 12);
        assert_eq!(c.of(FinWait2, Close), 1);
        assert_eq!(c.of(Close, FinWait2), 0);
    }
}
