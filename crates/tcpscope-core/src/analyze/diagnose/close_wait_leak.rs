//! Rule `close-wait-leak`: CLOSE-WAIT sockets grouped by the process holding them.
//!
//! CLOSE-WAIT means the peer closed and the kernel waits for the local program to call close().
//! It lasts as long as the program holds the descriptor — forever if it never closes it — so a
//! pile of them is a program bug (or a stopped/hung program), never a TCP tuning problem. The
//! finding names the process, shows how long the sockets have been idle, whether the program
//! even read the end of stream, who closed on it, the peer side when it is on this host, and the
//! process's state and descriptor use. Siblings — processes with the same command forked by the
//! same parent, like a pre-forking server's workers — are one finding listing every pid.
//!
//! A capture that does not name owners (Windows `netstat -an`, BSD, AIX) groups its CLOSE-WAIT
//! by where they are instead: the listening port they were accepted on, else the destination
//! they were opened to. The next steps are those of the capture's system ([`super::systems`]).

use super::{group_by, owner_pid, top_counts, Context, Finding, Severity, Subject};
use crate::analyze::duration::human_ms;
use crate::analyze::release::shell_quote;
use crate::analyze::tracking::CountKey;
use crate::model::missing::Datum;
use crate::model::process::ProcessFacts;
use crate::model::snapshot::System;
use crate::model::socket::{Endpoint, Socket};
use crate::model::state::TcpState;
use std::collections::BTreeMap;

/// Below this age a CLOSE-WAIT may simply be a program about to close.
const FRESH_MS: u64 = 10_000;

pub fn check(ctx: &Context) -> Vec<Finding> {
    let (cw, unnamed): (Vec<&Socket>, Vec<&Socket>) = ctx
        .snapshot
        .sockets
        .iter()
        .filter(|s| s.state == TcpState::CloseWait)
        // A capture that names no owner, or a recording made without them: by place instead.
        .partition(|s| !s.lacks(Datum::Owners) && !ctx.lacks(Datum::Owners));
    // First by process, then siblings (same command, same parent) together.
    let mut families: BTreeMap<Family, (Vec<u32>, Vec<&Socket>)> = BTreeMap::new();
    for (pid, socks) in group_by(cw, owner_pid) {
        let key = match pid.and_then(|p| ctx.process(p)) {
            Some(p) if p.ppid.is_some_and(|pp| pp > 1) => {
                Family::Siblings(p.process.comm.clone(), p.ppid)
            }
            _ => Family::Alone(pid),
        };
        let entry = families.entry(key).or_default();
        entry.0.extend(pid);
        entry.1.extend(socks);
    }
    let mut out: Vec<Finding> = families
        .into_values()
        .map(|(pids, socks)| finding(ctx, &pids, &socks, None))
        .collect();
    // Owners the capture does not name: by the place the sockets share.
    let listening: std::collections::HashSet<u16> = ctx
        .snapshot
        .sockets
        .iter()
        .filter(|s| s.state == TcpState::Listen)
        .map(|s| s.local.port)
        .collect();
    // Without the listener (a capture filtered to CLOSE-WAIT), a local endpoint that several
    // of them share is still a server's.
    let mut per_local: BTreeMap<Endpoint, usize> = BTreeMap::new();
    for s in &unnamed {
        *per_local.entry(s.local).or_default() += 1;
    }
    for (place, socks) in group_by(unnamed, |s| Place::of(s, &listening, &per_local)) {
        out.push(finding(ctx, &[], &socks, Some(&place)));
    }
    out
}

/// Where CLOSE-WAIT sockets without a named owner belong: accepted on a listening port (a
/// server's), or opened to a destination (a client's).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Place {
    Listener(u16),
    /// A local endpoint several of them share, whose listener the data does not show.
    Served(Endpoint),
    Destination(Endpoint),
}

impl Place {
    fn of(
        s: &Socket,
        listening: &std::collections::HashSet<u16>,
        per_local: &BTreeMap<Endpoint, usize>,
    ) -> Place {
        if listening.contains(&s.local.port) {
            Place::Listener(s.local.port)
        } else if per_local.get(&s.local).is_some_and(|n| *n > 1) {
            Place::Served(s.local)
        } else {
            Place::Destination(s.peer)
        }
    }

    fn who(&self) -> String {
        match self {
            Place::Listener(port) => format!("the program listening on port {port}"),
            Place::Served(e) => format!("the program serving {e}"),
            Place::Destination(d) => format!("the program connected to {d}"),
        }
    }
}

/// How processes are grouped: alone, or with the siblings their parent forked.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Family {
    Alone(Option<u32>),
    Siblings(String, Option<u32>),
}

/// "pids 7425, 7426, 7427" (at most eight named).
fn pid_list(pids: &[u32]) -> String {
    let shown: Vec<String> = pids.iter().take(8).map(u32::to_string).collect();
    let more = pids.len().saturating_sub(8);
    let mut t = format!("pids {}", shown.join(", "));
    if more > 0 {
        t.push_str(&format!(" and {more} more"));
    }
    t
}

/// Who the finding is about, in words.
fn who(ctx: &Context, pids: &[u32]) -> String {
    match pids {
        [] => "an unidentified process".to_string(),
        [one] => ctx.process_name(*one),
        many => {
            let first = ctx.process(many[0]);
            let comm = first.map_or("?", |p| p.process.comm.as_str());
            let parent = first
                .and_then(|p| p.ppid)
                .map(|pp| format!(", forked by pid {pp}"))
                .unwrap_or_default();
            format!(
                "{} processes {comm} ({}{parent})",
                many.len(),
                pid_list(many)
            )
        }
    }
}

/// How long a socket has been in CLOSE-WAIT, and how that is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Age {
    /// A lower bound: tcp_info's time since the last ACK (≈ since the peer's FIN), or the
    /// first poll that saw it.
    AtLeast(u64),
    /// Between two polls of --watch (the one that first saw it there, and the one before).
    Between(u64, u64),
    /// Exactly: the trace beside --watch saw it enter CLOSE-WAIT.
    Traced(u64),
}

impl Age {
    /// The age to compare by (the lower bound).
    fn least(self) -> u64 {
        match self {
            Age::AtLeast(ms) | Age::Between(ms, _) | Age::Traced(ms) => ms,
        }
    }
}

/// How long `s` has been in CLOSE-WAIT: exact when a trace saw it enter, bounded on both sides
/// when --watch saw it arrive, else the larger of the tracked time and the tcp_info lower bound.
fn age(ctx: &Context, s: &Socket) -> Option<Age> {
    let tracked = ctx.tracker.and_then(|t| t.in_state_for(s, ctx.now_ms()));
    let lower = s
        .tcp_info
        .as_ref()
        .and_then(|i| i.last_ack_recv_ms.or(i.last_data_recv_ms))
        .map(u64::from);
    match (tracked, lower) {
        (Some(t), _) if t.traced => Some(Age::Traced(t.at_least_ms)),
        (Some(t), _) if t.at_most_ms.is_some() => Some(Age::Between(
            t.at_least_ms,
            t.at_most_ms.unwrap_or(t.at_least_ms),
        )),
        (Some(t), l) => Some(Age::AtLeast(t.at_least_ms.max(l.unwrap_or(0)))),
        (None, Some(l)) => Some(Age::AtLeast(l)),
        (None, None) => None,
    }
}

fn finding(ctx: &Context, pids: &[u32], socks: &[&Socket], place: Option<&Place>) -> Finding {
    let n = socks.len() as u64;
    let who = match place {
        Some(p) => p.who(),
        None => who(ctx, pids),
    };
    let pid = pids.first().copied();
    let infos: Vec<&ProcessFacts> = pids.iter().filter_map(|p| ctx.process(*p)).collect();
    let stuck = infos.iter().any(|p| p.is_stuck());
    let fd_usage = infos.iter().filter_map(|p| p.fd_usage()).reduce(f64::max);

    let oldest = socks
        .iter()
        .filter_map(|s| age(ctx, s))
        .max_by_key(|a| a.least());
    let mut evidence = Vec::new();
    // A server's sockets share its port; a client's each have their own ephemeral port, so
    // those are named by where they go.
    let distinct_locals = socks
        .iter()
        .map(|s| s.local)
        .collect::<std::collections::HashSet<_>>()
        .len();
    if distinct_locals > 3 && distinct_locals == socks.len() {
        let routes = top_counts(
            socks
                .iter()
                .map(|s| format!("{} to {}", s.local.addr_text(), s.peer)),
            3,
        );
        evidence.push(format!("{n} socket(s) in CLOSE-WAIT from {routes}"));
    } else {
        let locals = top_counts(socks.iter().map(|s| s.local.to_string()), 3);
        evidence.push(format!("{n} socket(s) in CLOSE-WAIT on {locals}"));
    }
    match oldest {
        Some(Age::Traced(ms)) => evidence.push(format!(
            "the oldest entered CLOSE-WAIT {} ago (traced: sock:inet_sock_set_state saw it happen)",
            human_ms(ms)
        )),
        Some(Age::Between(lo, hi)) => evidence.push(format!(
            "the oldest entered CLOSE-WAIT between {} and {} ago (seen arriving by --watch, by socket cookie)",
            human_ms(lo),
            human_ms(hi)
        )),
        Some(Age::AtLeast(ms)) => evidence.push(format!(
            "the oldest has been idle for at least {} (from tcp_info last_ack_recv: a lower bound on the time since the peer's FIN)",
            human_ms(ms)
        )),
        None => {}
    }
    // On Linux, in CLOSE-WAIT the FIN occupies one byte of sequence space in Recv-Q until the
    // program reads the end of stream; reading it (read() returning 0) empties the queue. Other
    // systems count only the bytes in the socket buffer: Recv-Q is unread data, nothing more.
    let with_queue: Vec<&&Socket> = socks.iter().filter(|s| s.recv_q_known()).collect();
    if ctx.system() != System::Linux {
        let unread: Vec<&&&Socket> = with_queue.iter().filter(|s| s.recv_q > 0).collect();
        if !unread.is_empty() {
            evidence.push(format!(
                "{} of them: the program has not read everything its peer sent ({} bytes still in Recv-Q)",
                unread.len(),
                unread.iter().map(|s| u64::from(s.recv_q)).sum::<u64>()
            ));
        }
    }
    let with_queue: Vec<&&Socket> = if ctx.system() == System::Linux {
        with_queue
    } else {
        Vec::new()
    };
    let fin_unread = with_queue.iter().filter(|s| s.recv_q >= 1).count();
    let data_unread: u64 = with_queue
        .iter()
        .map(|s| u64::from(s.recv_q.saturating_sub(1)))
        .sum();
    if fin_unread > 0 {
        evidence.push(format!(
            "{fin_unread} of them: the program has not even read the end of stream (Recv-Q still holds the FIN{})",
            if data_unread > 0 {
                format!(", plus {data_unread} bytes of unread data")
            } else {
                String::new()
            }
        ));
    }
    if fin_unread < with_queue.len() {
        evidence.push(format!(
            "{} of them: the program read the end of stream (read() returned 0) and still did not close()",
            with_queue.len() - fin_unread
        ));
    }
    evidence.push(format!(
        "peers that closed: {}",
        top_counts(socks.iter().map(|s| s.peer.addr_text()), 3)
    ));
    if let Some(text) = partner_text(ctx, socks) {
        evidence.push(text);
    }
    evidence.extend(process_evidence(&infos));
    if let (Some(t), Some(p)) = (ctx.tracker, pid) {
        if let Some(g) = t.growth_text(CountKey::StateOfPid(TcpState::CloseWait, p), "CLOSE-WAIT") {
            evidence.push(g);
        }
    }

    let old = oldest.is_some_and(|a| a.least() >= FRESH_MS);
    let severity = if stuck || n >= 100 || fd_usage.is_some_and(|u| u >= 0.8) {
        Severity::Critical
    } else if n >= 10 || old {
        Severity::Warning
    } else {
        Severity::Info
    };

    let mut explanation = format!(
        "CLOSE-WAIT means the peer has closed its side and the kernel is waiting for {who} to call close(). \
         It lasts as long as the program holds the descriptor, forever if it never closes it. \
         This is a bug (or a hang) in the program, not a TCP tuning problem: no {} ends CLOSE-WAIT.",
        if ctx.system() == System::Linux {
            "sysctl"
        } else {
            "setting (sysctl, registry value or tunable)"
        }
    );
    if stuck {
        explanation.push_str(if pids.len() > 1 {
            " Stopped processes cannot close anything until they run again."
        } else {
            " The process is stopped, so it cannot close anything until it runs again."
        });
    }
    let mut next = Vec::new();
    if ctx.is_import() {
        // Advice for the host the capture came from, in its own commands.
        let facts = ctx.facts();
        match pid {
            Some(p) => next.extend((facts.look_at_process)(p)),
            None => next.push(facts.find_owners.to_string()),
        }
    } else {
        next.push(match pid {
            Some(p) => format!("tcpscope ls -p state close-wait   # each socket with pid {p}'s fd number"),
            None if ctx.lacks(Datum::Owners) => "tcpscope doctor --record FILE   # this recording holds no owning processes: record with them (doctor --record, or ls -p --record) to see which program it is".to_string(),
            None => "tcpscope ls -p state close-wait   # run as root (or with CAP_SYS_PTRACE) to see the owners".to_string(),
        });
        if let Some(p) = pid {
            next.extend((ctx.facts().look_at_process)(p));
        }
    }
    if pid.is_some() && stuck {
        let stopped: Vec<String> = infos
            .iter()
            .filter(|i| i.is_stuck())
            .map(|i| i.pid.to_string())
            .collect();
        next.push(format!(
            "kill -CONT {}   # let it run again (or restart it); its sockets close when it closes them",
            stopped.join(" ")
        ));
    }
    if !ctx.is_import() {
        // A capture's sockets live on another host: tcpscope cannot end them from here.
        next.push(release_step(ctx, pids, socks));
    }
    next.push(
        "fix the program: close the socket when read() returns 0 (end of stream) and on every error path \
         (try-with-resources / defer / RAII); check connection pools return and close broken connections"
            .to_string(),
    );
    Finding {
        rule: "close-wait-leak",
        severity,
        subject: Subject {
            kind: match place {
                Some(Place::Listener(_) | Place::Served(_)) => "listener",
                Some(Place::Destination(_)) => "destination",
                None => "process",
            },
            name: who.clone(),
            pid,
            pids: if pids.len() > 1 {
                pids.to_vec()
            } else {
                vec![]
            },
        },
        title: format!(
            "{who} {} not closing {n} socket(s) its peers closed (CLOSE-WAIT)",
            if pids.len() > 1 { "are" } else { "is" }
        ),
        evidence,
        explanation,
        next_steps: next,
        sockets: n,
    }
}

/// The `tcpscope release` command that ends exactly this finding's sockets now, without
/// restarting the program: a dry run first (it says what the program and the peers will see).
fn release_step(ctx: &Context, pids: &[u32], socks: &[&Socket]) -> String {
    let owners = match pids {
        [] => None,
        [one] => Some(format!("pid = {one}")),
        few if few.len() <= 8 => {
            let each: Vec<String> = few.iter().map(|p| format!("pid = {p}")).collect();
            Some(format!("( {} )", each.join(" or ")))
        }
        // Siblings share their command name (that is how they were grouped).
        many => ctx
            .process(many[0])
            .map(|p| format!("comm \"{}\"", p.process.comm)),
    };
    let mut names: Vec<Option<&str>> = socks
        .iter()
        .filter_map(|s| s.netns.as_ref())
        .map(|n| n.name.as_deref())
        .collect();
    names.sort_unstable();
    names.dedup();
    let scope = match names.as_slice() {
        [] => "",
        [Some(name)] => &format!(" --netns {}", shell_quote(name)),
        _ => " --all-netns",
    };
    match owners {
        Some(o) => format!(
            "tcpscope release{scope} {}   # end them now without restarting it: a dry run first, --yes acts (FIN through its descriptors)",
            shell_quote(&format!("state close-wait {o}"))
        ),
        None => format!(
            "sudo tcpscope release{scope} 'state close-wait'   # as root it sees the owners; a dry run first, --yes ends them"
        ),
    }
}

/// The state, descriptor use and wait channel of the process(es) holding the sockets.
fn process_evidence(infos: &[&ProcessFacts]) -> Vec<String> {
    let mut out = Vec::new();
    if let [p] = infos {
        if let (Some(text), Some(letter)) = (p.state_text(), p.state) {
            out.push(format!("process state: {letter} — {text}"));
        }
        if let (Some(count), Some(limit)) = (p.fd_count, p.fd_limit) {
            out.push(format!(
                "descriptors: {count} open of a limit of {limit} ({:.0}%)",
                count as f64 * 100.0 / limit.max(1) as f64
            ));
        }
        if let Some(w) = p.wchan.as_deref().filter(|w| !w.is_empty() && *w != "0") {
            out.push(format!(
                "sleeping in kernel function {w} (/proc/{}/wchan)",
                p.pid
            ));
        }
        return out;
    }
    if infos.is_empty() {
        return out;
    }
    let states = top_counts(
        infos
            .iter()
            .filter_map(|p| Some(format!("{} — {}", p.state?, p.state_text()?))),
        3,
    );
    out.push(format!("process states: {states}"));
    if let Some(p) = infos
        .iter()
        .filter(|p| p.fd_usage().is_some())
        .max_by(|a, b| {
            a.fd_usage()
                .partial_cmp(&b.fd_usage())
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    {
        if let (Some(count), Some(limit)) = (p.fd_count, p.fd_limit) {
            out.push(format!(
                "most descriptors: pid {} with {count} of a limit of {limit}",
                p.pid
            ));
        }
    }
    let wchans = top_counts(
        infos
            .iter()
            .filter_map(|p| p.wchan.clone().filter(|w| !w.is_empty() && w != "0")),
        3,
    );
    if !wchans.is_empty() {
        out.push(format!("sleeping in kernel functions: {wchans}"));
    }
    out
}

/// What the other ends are doing, when they are on this host (loopback, listed namespaces).
fn partner_text(ctx: &Context, socks: &[&Socket]) -> Option<String> {
    let partners: Vec<&Socket> = socks.iter().filter_map(|s| ctx.partner(s)).collect();
    if partners.is_empty() {
        return None;
    }
    let fw2: Vec<&&Socket> = partners
        .iter()
        .filter(|p| p.state == TcpState::FinWait2)
        .collect();
    let orphaned = fw2.iter().filter(|p| p.held() == Some(false)).count();
    let holders = top_counts(
        fw2.iter()
            .filter_map(|p| owner_pid(p))
            .map(|pid| ctx.process_name(pid)),
        3,
    );
    let mut text = format!(
        "peer side on this host: {} in FIN-WAIT-2 ({} orphaned: they expire after tcp_fin_timeout {} s",
        fw2.len(),
        orphaned,
        ctx.sysctl("net.ipv4.tcp_fin_timeout").unwrap_or("60")
    );
    if !holders.is_empty() {
        text.push_str(&format!("; held by {holders}"));
    }
    text.push(')');
    let others = partners.len() - fw2.len();
    if others > 0 {
        text.push_str(&format!(", {others} in other states"));
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use crate::analyze::diagnose::fixtures::*;
    use crate::analyze::diagnose::Severity;
    use crate::model::state::TcpState;

    #[test]
    fn healthy_host_has_no_close_wait_finding() {
        assert!(run_rule("close-wait-leak", &healthy()).is_empty());
    }

    #[test]
    fn stopped_server_is_critical_and_names_its_peers() {
        let mut snap = snapshot(stopped_server_pairs(4242, 3, 30_000));
        process(&mut snap, 4242, "server", 'T');
        let f = run_rule("close-wait-leak", &snap);
        assert_eq!(f.len(), 1);
        let f = &f[0];
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(f.subject.pid, Some(4242));
        assert!(
            f.title.contains("pid 4242 (server)") && f.title.contains('3'),
            "{}",
            f.title
        );
        let ev = f.evidence.join("\n");
        assert!(ev.contains("stopped"), "{ev}");
        assert!(
            ev.contains("at least 30s") && ev.contains("lower bound"),
            "{ev}"
        );
        assert!(ev.contains("3 in FIN-WAIT-2 (3 orphaned"), "{ev}");
        assert!(ev.contains("not even read the end of stream"), "{ev}");
        assert!(f.explanation.contains("not a TCP tuning problem"));
        assert!(f.next_steps.iter().any(|s| s.contains("kill -CONT 4242")));
        assert!(
            f.next_steps
                .iter()
                .any(|s| s.starts_with("tcpscope release 'state close-wait pid = 4242'")),
            "{:?}",
            f.next_steps
        );
        assert!(
            !f.next_steps.iter().any(|s| s.contains("sysctl")),
            "never suggest tuning for a close-wait leak"
        );
    }

    #[test]
    fn forked_siblings_are_one_finding() {
        let mut socks = vec![];
        for (i, pid) in [501, 502, 503].into_iter().enumerate() {
            let mut cw = sock(
                TcpState::CloseWait,
                "127.0.0.1:8080",
                &format!("127.0.0.1:{}", 41000 + i),
            );
            owned(&mut cw, pid, "prefork");
            socks.push(cw);
        }
        let mut other = sock(TcpState::CloseWait, "127.0.0.1:9090", "127.0.0.1:42000");
        owned(&mut other, 600, "prefork");
        socks.push(other);
        let mut snap = snapshot(socks);
        for pid in [501, 502, 503] {
            process(&mut snap, pid, "prefork", 'T').ppid = Some(500);
        }
        process(&mut snap, 600, "prefork", 'S').ppid = Some(77);
        let f = run_rule("close-wait-leak", &snap);
        assert_eq!(
            f.len(),
            2,
            "siblings of 500 together, the other parent's child apart"
        );
        let family = f.iter().find(|f| f.sockets == 3).unwrap();
        assert_eq!(family.subject.pids, vec![501, 502, 503]);
        assert_eq!(family.severity, Severity::Critical);
        assert!(
            family
                .title
                .starts_with("3 processes prefork (pids 501, 502, 503, forked by pid 500)"),
            "{}",
            family.title
        );
        assert!(
            family
                .evidence
                .join("\n")
                .contains("process states: T — stopped"),
            "{:?}",
            family.evidence
        );
        assert!(family
            .next_steps
            .iter()
            .any(|s| s.starts_with("kill -CONT 501 502 503")));
        // The release step selects exactly the finding's sockets.
        let step = family
            .next_steps
            .iter()
            .find(|s| s.starts_with("tcpscope release '"))
            .expect("a release step");
        let quoted = step.split('\'').nth(1).unwrap();
        assert_eq!(
            quoted,
            "state close-wait ( pid = 501 or pid = 502 or pid = 503 )"
        );
        let filter = crate::analyze::filter::Filter::parse(quoted).unwrap();
        let chosen: Vec<_> = snap.sockets.iter().filter(|s| filter.matches(s)).collect();
        assert_eq!(chosen.len(), 3);
        assert!(chosen.iter().all(|s| s.owners[0].pid != 600));
    }

    /// Regression (issue 11, defect 4): a recording made without owners (`ls --record`) was
    /// diagnosed as "an unidentified process ... run as root".
    #[test]
    fn a_recording_without_owners_says_how_to_record_them() {
        use crate::model::missing::Datum;
        let mut listener = sock(TcpState::Listen, "127.0.0.1:8080", "0.0.0.0:0");
        listener.owners.clear();
        let mut socks = vec![listener];
        socks.extend(stopped_server_pairs(4242, 3, 30_000));
        for s in &mut socks {
            s.owners.clear();
        }
        let mut snap = snapshot(socks);
        snap.missing = snap.missing.with(Datum::Owners);
        let f = run_rule("close-wait-leak", &snap);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(!f[0].title.contains("unidentified"), "{}", f[0].title);
        assert!(
            f[0].title.starts_with("the program listening on port 8080"),
            "{}",
            f[0].title
        );
        let next = f[0].next_steps.join("\n");
        assert!(!next.contains("run as root"), "{next}");
        assert!(
            next.contains("this recording holds no owning processes")
                && next.contains("doctor --record"),
            "{next}"
        );
    }

    /// The same recording filtered to CLOSE-WAIT (no listener in it): still one finding.
    #[test]
    fn close_waits_sharing_a_local_endpoint_are_one_servers() {
        use crate::model::missing::Datum;
        let mut socks: Vec<_> = stopped_server_pairs(4242, 3, 30_000)
            .into_iter()
            .filter(|s| s.state == TcpState::CloseWait)
            .collect();
        for s in &mut socks {
            s.owners.clear();
        }
        let mut snap = snapshot(socks);
        snap.missing = snap.missing.with(Datum::Owners);
        let f = run_rule("close-wait-leak", &snap);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].title.starts_with("the program serving 127.0.0.1:8080"),
            "{}",
            f[0].title
        );
    }

    #[test]
    fn fresh_single_close_wait_is_only_a_note() {
        let mut cw = sock(TcpState::CloseWait, "127.0.0.1:8080", "127.0.0.1:40000");
        owned(&mut cw, 7, "app");
        idle(&mut cw, 500);
        let mut snap = snapshot(vec![cw]);
        process(&mut snap, 7, "app", 'S');
        let f = run_rule("close-wait-leak", &snap);
        assert_eq!(f[0].severity, Severity::Info);
        assert!(f[0]
            .evidence
            .join(" ")
            .contains("read the end of stream (read() returned 0)"));
    }

    #[test]
    fn a_clients_close_waits_are_named_by_where_they_go() {
        let socks = (0..6)
            .map(|i| {
                let mut cw = sock(
                    TcpState::CloseWait,
                    &format!("10.0.0.5:{}", 50000 + i),
                    "10.0.0.20:5432",
                );
                owned(&mut cw, 77, "app");
                cw
            })
            .collect();
        let f = run_rule("close-wait-leak", &snapshot(socks));
        assert_eq!(
            f[0].evidence[0],
            "6 socket(s) in CLOSE-WAIT from 10.0.0.5 to 10.0.0.20:5432 (6)"
        );
    }

    #[test]
    fn many_or_old_close_waits_warn_per_process() {
        let mut socks = vec![];
        for i in 0..12 {
            let mut cw = sock(
                TcpState::CloseWait,
                "10.0.0.1:5432",
                &format!("10.0.0.{}:5000", i % 3 + 2),
            );
            owned(&mut cw, if i < 10 { 100 } else { 200 }, "db");
            idle(&mut cw, 700_000);
            socks.push(cw);
        }
        let f = run_rule("close-wait-leak", &snapshot(socks));
        assert_eq!(f.len(), 2);
        assert!(f.iter().all(|f| f.severity == Severity::Warning));
        let ten = f.iter().find(|f| f.subject.pid == Some(100)).unwrap();
        assert_eq!(ten.sockets, 10);
        assert!(
            ten.evidence.join(" ").contains("10.0.0."),
            "{:?}",
            ten.evidence
        );
    }
}
