//! Rule `orphans`: sockets their programs closed that the kernel still finishes, against
//! net.ipv4.tcp_max_orphans.
//!
//! Past the limit the kernel resets orphans at once ("too many orphaned sockets") and peers see
//! connections end in RST. Orphans pile up when peers stop acknowledging (see closing-pileup)
//! or when a server closes very many connections with unsent data.

use super::{Context, Finding, Severity, Subject};

pub fn check(ctx: &Context) -> Vec<Finding> {
    let Some(stat) = ctx.snapshot.kernel.sockstat else {
        return vec![];
    };
    let Some(max) = ctx
        .sysctl_u64("net.ipv4.tcp_max_orphans")
        .filter(|m| *m > 0)
    else {
        return vec![];
    };
    let n = stat.tcp_orphan;
    let share = n as f64 / max as f64;
    let severity = if share >= 0.8 {
        Severity::Critical
    } else if share >= 0.5 {
        Severity::Warning
    } else if n >= 1000 {
        Severity::Info
    } else {
        return vec![];
    };
    let by_state = super::top_of(
        ctx.input
            .orphans
            .iter()
            .map(|(state, n)| (state.display_name().to_string(), *n)),
        4,
    );
    vec![Finding {
        rule: "orphans",
        severity,
        subject: Subject { kind: "host", name: "this host".into(), pid: None , pids: vec![]},
        title: format!("{n} orphaned sockets: {:.0}% of tcp_max_orphans", share * 100.0),
        evidence: vec![
            format!("/proc/net/sockstat orphan {n} of net.ipv4.tcp_max_orphans = {max}"),
            format!("orphans by state in this snapshot: {by_state}"),
        ],
        explanation: "Orphans are connections their programs already closed; the kernel finishes the close alone. \
            Past tcp_max_orphans it resets them immediately and peers see RSTs."
            .into(),
        next_steps: vec![
            "see the closing-pileup and fin-wait-2 findings: which peers stop acknowledging".into(),
            "tcpscope ls -e state fin-wait-1 state last-ack state closing".into(),
        ],
        sockets: n,
    }]
}

#[cfg(test)]
mod tests {
    use crate::analyze::diagnose::fixtures::*;
    use crate::analyze::diagnose::Severity;
    use crate::model::snapshot::SockStat;

    #[test]
    fn healthy_host_has_few_orphans() {
        let mut snap = healthy();
        snap.kernel.sockstat = Some(SockStat {
            tcp_orphan: 3,
            ..SockStat::default()
        });
        assert!(run_rule("orphans", &snap).is_empty());
    }

    #[test]
    fn near_the_limit_is_critical() {
        let mut snap = healthy();
        snap.kernel.sockstat = Some(SockStat {
            tcp_orphan: 120_000,
            ..SockStat::default()
        });
        let f = run_rule("orphans", &snap);
        assert_eq!(f[0].severity, Severity::Critical);
    }
}
