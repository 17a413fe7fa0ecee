//! Counting sockets per state and family: the data behind `tcpscope summary`.
//!
//! Counting is done one socket at a time so the collector can stream into it without keeping
//! sockets; the result is plain data that renderers turn into text or JSON.

use crate::model::snapshot::SockStat;
use crate::model::socket::{Family, Socket};
use crate::model::state::TcpState;
use serde::Serialize;
use std::collections::BTreeMap;

/// Sockets per state, split by family: a fixed array indexed by the kernel's state number, so
/// counting a socket is two additions (a live poll counts every socket several times).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateCounts {
    counts: [[u64; 2]; 16],
}

impl StateCounts {
    pub fn add(&mut self, s: &Socket) {
        self.counts[s.state as usize][usize::from(s.family == Family::Inet6)] += 1;
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().map(|c| c[0] + c[1]).sum()
    }

    pub fn family_total(&self, family: Family) -> u64 {
        let i = usize::from(family == Family::Inet6);
        self.counts.iter().map(|c| c[i]).sum()
    }

    /// (inet, inet6) sockets in `state`.
    pub fn of(&self, state: TcpState) -> (u64, u64) {
        let c = self.counts[state as usize];
        (c[0], c[1])
    }

    pub fn state_total(&self, state: TcpState) -> u64 {
        let (a, b) = self.of(state);
        a + b
    }

    /// States present, in kernel order.
    pub fn states(&self) -> impl Iterator<Item = TcpState> + '_ {
        TcpState::ALL
            .into_iter()
            .filter(|s| self.state_total(*s) > 0)
    }
}

impl<'a> FromIterator<&'a Socket> for StateCounts {
    fn from_iter<I: IntoIterator<Item = &'a Socket>>(iter: I) -> Self {
        let mut c = StateCounts::default();
        for s in iter {
            c.add(s);
        }
        c
    }
}

/// Everything `summary` shows, as data (also its `--json` form).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub total: u64,
    /// Sockets per state name, every state listed (zeros included) so scripts need no defaults.
    pub states: BTreeMap<&'static str, u64>,
    pub families: BTreeMap<&'static str, u64>,
    pub by_family: BTreeMap<&'static str, BTreeMap<&'static str, u64>>,
    pub sockstat: Option<SockStat>,
    pub tcp_max_tw_buckets: Option<u64>,
    pub tcp_max_orphans: Option<u64>,
    pub taken_at_unix_ms: u64,
    /// Short pointers at states that pile up, each with the command to look closer.
    pub attention: Vec<Attention>,
}

/// One thing worth a closer look.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Attention {
    pub state: &'static str,
    pub count: u64,
    pub why: String,
    pub next: String,
}

impl Summary {
    pub fn new(
        counts: &StateCounts,
        sockstat: Option<SockStat>,
        sysctls: &BTreeMap<String, String>,
        taken_at_unix_ms: u64,
    ) -> Summary {
        let sysctl = |k: &str| sysctls.get(k).and_then(|v| v.trim().parse::<u64>().ok());
        let mut states = BTreeMap::new();
        let mut by_family: BTreeMap<&'static str, BTreeMap<&'static str, u64>> = BTreeMap::new();
        for st in TcpState::ALL {
            let (v4, v6) = counts.of(st);
            states.insert(st.name(), v4 + v6);
            by_family.entry("inet").or_default().insert(st.name(), v4);
            by_family.entry("inet6").or_default().insert(st.name(), v6);
        }
        let families = BTreeMap::from([
            ("inet", counts.family_total(Family::Inet)),
            ("inet6", counts.family_total(Family::Inet6)),
        ]);
        let max_tw = sysctl("net.ipv4.tcp_max_tw_buckets");
        Summary {
            total: counts.total(),
            states,
            families,
            by_family,
            sockstat,
            tcp_max_tw_buckets: max_tw,
            tcp_max_orphans: sysctl("net.ipv4.tcp_max_orphans"),
            taken_at_unix_ms,
            attention: attention(counts, max_tw),
        }
    }
}

fn attention(counts: &StateCounts, max_tw: Option<u64>) -> Vec<Attention> {
    use TcpState::*;
    let mut out = Vec::new();
    let mut note = |state: TcpState, why: String, next: &str| {
        out.push(Attention {
            state: state.name(),
            count: counts.state_total(state),
            why,
            next: next.to_string(),
        })
    };
    if counts.state_total(CloseWait) > 0 {
        note(
            CloseWait,
            "the peer closed; the local program has not called close() (an application bug, not TCP tuning)".into(),
            "tcpscope ls -p state close-wait",
        );
    }
    let tw = counts.state_total(TimeWait);
    if tw >= 1000 {
        let of = max_tw.map_or(String::new(), |m| {
            format!(
                " ({:.1}% of tcp_max_tw_buckets {m})",
                tw as f64 * 100.0 / m as f64
            )
        });
        note(
            TimeWait,
            format!("this host closed these connections first; each 4-tuple is kept 60 s{of}"),
            "tcpscope ls state time-wait",
        );
    }
    for (st, why) in [
        (SynSent, "connection attempts not answered yet"),
        (
            LastAck,
            "closed after the peer; waiting for the peer's last ACK",
        ),
        (FinWait1, "closed; the FIN is not acknowledged yet"),
        (
            Closing,
            "both ends closed at once; waiting for the last ACK",
        ),
    ] {
        if counts.state_total(st) >= 10 {
            note(
                st,
                why.to_string(),
                &format!("tcpscope ls -e state {}", st.name()),
            );
        }
    }
    if counts.state_total(FinWait2) >= 10 {
        note(
            FinWait2,
            "closed; waiting for the peer to close its side (the peer may be in close-wait)".into(),
            "tcpscope ls -e -p state fin-wait-2",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::socket::Endpoint;

    fn s(state: TcpState, family: Family) -> Socket {
        let any = Endpoint::new(family.unspecified(), 0);
        Socket::new(state, family, any, any)
    }

    #[test]
    fn counts_per_state_and_family() {
        let socks = [
            s(TcpState::Established, Family::Inet),
            s(TcpState::Established, Family::Inet6),
            s(TcpState::CloseWait, Family::Inet),
            s(TcpState::Listen, Family::Inet6),
        ];
        let c: StateCounts = socks.iter().collect();
        assert_eq!(c.total(), 4);
        assert_eq!(c.of(TcpState::Established), (1, 1));
        assert_eq!(c.family_total(Family::Inet6), 2);
        let sum = Summary::new(&c, None, &BTreeMap::new(), 0);
        assert_eq!(sum.states["close-wait"], 1);
        assert_eq!(sum.states["time-wait"], 0);
        assert_eq!(sum.attention.len(), 1);
        assert_eq!(sum.attention[0].state, "close-wait");
    }
}
