//! Text form of `tcpscope summary`: totals, a per-state table, the kernel's own counters, and
//! pointers at whatever is piling up.

use crate::analyze::summary::Summary;
use crate::model::state::TcpState;
use crate::render::time::utc_text;
use std::io::{self, Write};

/// Write the summary for a person.
pub fn write_summary(out: &mut impl Write, s: &Summary) -> io::Result<()> {
    writeln!(
        out,
        "TCP sockets: {} (inet {}, inet6 {}) at {}",
        s.total,
        s.families["inet"],
        s.families["inet6"],
        utc_text(s.taken_at_unix_ms)
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<14} {:>8} {:>8} {:>8}",
        "State", "Total", "inet", "inet6"
    )?;
    for st in TcpState::ALL {
        let total = s.states[st.name()];
        if total == 0 {
            continue;
        }
        writeln!(
            out,
            "{:<14} {:>8} {:>8} {:>8}",
            st.display_name(),
            total,
            s.by_family["inet"][st.name()],
            s.by_family["inet6"][st.name()]
        )?;
    }
    if s.total == 0 {
        writeln!(out, "(no TCP sockets)")?;
    }
    if let Some(k) = &s.sockstat {
        writeln!(out)?;
        let tw_max = s
            .tcp_max_tw_buckets
            .map_or(String::new(), |m| format!(" of max {m}"));
        let orphan_max = s
            .tcp_max_orphans
            .map_or(String::new(), |m| format!(" of max {m}"));
        writeln!(
            out,
            "Kernel (/proc/net/sockstat): in use {} (+{} inet6), orphans {}{}, time-wait {}{}, allocated {}, memory {} pages",
            k.tcp_inuse, k.tcp6_inuse, k.tcp_orphan, orphan_max, k.tcp_tw, tw_max, k.tcp_alloc, k.tcp_mem_pages
        )?;
    }
    if !s.attention.is_empty() {
        writeln!(out)?;
        writeln!(out, "Worth a look (`tcpscope doctor` diagnoses it):")?;
        for a in &s.attention {
            let name = a
                .state
                .parse::<TcpState>()
                .map_or(a.state, |st| st.display_name());
            writeln!(out, "  {name} x{}: {}", a.count, a.why)?;
            writeln!(out, "    next: {}", a.next)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::summary::StateCounts;
    use crate::model::snapshot::SockStat;
    use crate::model::socket::{Endpoint, Family, Socket};
    use std::collections::BTreeMap;

    #[test]
    fn summary_snapshot() {
        let mk = |state, family: Family| {
            let any = |port| Endpoint::new(family.unspecified(), port);
            Socket::new(state, family, any(1), any(2))
        };
        let mut c = StateCounts::default();
        for _ in 0..3 {
            c.add(&mk(TcpState::Established, Family::Inet));
        }
        c.add(&mk(TcpState::Listen, Family::Inet6));
        c.add(&mk(TcpState::CloseWait, Family::Inet));
        for _ in 0..1200 {
            c.add(&mk(TcpState::TimeWait, Family::Inet));
        }
        let sysctls = BTreeMap::from([
            (
                "net.ipv4.tcp_max_tw_buckets".to_string(),
                "262144".to_string(),
            ),
            ("net.ipv4.tcp_max_orphans".to_string(), "65536".to_string()),
        ]);
        let stat = SockStat {
            sockets_used: 100,
            tcp_inuse: 4,
            tcp_orphan: 0,
            tcp_tw: 1200,
            tcp_alloc: 6,
            tcp_mem_pages: 2,
            tcp6_inuse: 1,
        };
        let s = Summary::new(&c, Some(stat), &sysctls, 1_795_000_000_000);
        let mut out = Vec::new();
        write_summary(&mut out, &s).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }
}
