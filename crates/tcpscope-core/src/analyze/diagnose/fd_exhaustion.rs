//! Rule `fd-exhaustion`: socket-holding processes close to their descriptor limit.
//!
//! At RLIMIT_NOFILE accept() and socket() fail with EMFILE ("Too many open files"). A process
//! near it usually leaks descriptors — often the CLOSE-WAIT sockets reported next to it.

use super::{Context, Finding, Severity, Subject};

pub fn check(ctx: &Context) -> Vec<Finding> {
    ctx.snapshot
        .processes
        .values()
        .filter_map(|p| {
            let usage = p.fd_usage()?;
            let severity = if usage >= 0.95 {
                Severity::Critical
            } else if usage >= 0.8 {
                Severity::Warning
            } else {
                return None;
            };
            let (count, limit) = (p.fd_count?, p.fd_limit?);
            let held = ctx.input.held.get(&p.pid);
            let total: u64 = held.map_or(0, |h| h.values().sum());
            let states = super::top_of(
                held.into_iter()
                    .flatten()
                    .map(|(state, n)| (state.display_name().to_string(), *n)),
                4,
            );
            let who = ctx.process_name(p.pid);
            Some(Finding {
                rule: "fd-exhaustion",
                severity,
                subject: Subject { kind: "process", name: who.clone(), pid: Some(p.pid) , pids: vec![]},
                title: format!("{who} uses {count} of {limit} file descriptors ({:.0}%)", usage * 100.0),
                evidence: vec![
                    format!("{count} open descriptors, soft RLIMIT_NOFILE {limit} (/proc/{}/limits)", p.pid),
                    format!("{total} TCP sockets among them: {states}"),
                ],
                explanation: "At the limit, accept(), socket() and open() fail with EMFILE (\"Too many open files\"). \
                    A process this close usually leaks descriptors."
                    .into(),
                next_steps: vec![
                    format!("ls /proc/{}/fd | wc -l; tcpscope ls -p   # what the descriptors are", p.pid),
                    "fix the leak first (see close-wait-leak); raise the limit only for real need (LimitNOFILE= in the systemd unit, ulimit -n)".into(),
                ],
                sockets: total,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::analyze::diagnose::fixtures::*;
    use crate::analyze::diagnose::Severity;

    #[test]
    fn healthy_processes_have_room() {
        assert!(run_rule("fd-exhaustion", &healthy()).is_empty());
    }

    #[test]
    fn near_the_limit_warns() {
        let mut snap = healthy();
        let p = process(&mut snap, 10, "nginx", 'S');
        p.fd_count = Some(900);
        let f = run_rule("fd-exhaustion", &snap);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(
            f[0].evidence[1].starts_with("6 TCP sockets"),
            "{:?}",
            f[0].evidence
        );
    }
}
