//! `tcpscope release` as text: the dry run (the sockets it would end, how, what their owners and
//! peers will see, the risk per process, what it refuses and leaves alone, the command that acts)
//! and the report after `--yes` (what happened to each socket and what to do about the rest).

use super::table::{netns_text, owners_text};
use super::wrap::wrap;
use crate::analyze::duration::human_ms;
use crate::analyze::release::{Item, Method, Outcome, Report};
use crate::model::state::TcpState;
use std::collections::BTreeMap;
use std::io::{self, Write};

const WIDTH: usize = 100;

/// Write the report: a dry run's listing, or what `--yes` did.
pub fn write_report(w: &mut impl Write, r: &Report) -> io::Result<()> {
    for n in &r.notes {
        writeln!(w, "note: {n}")?;
    }
    if r.dry_run {
        write_dry_run(w, r)
    } else {
        write_done(w, r)
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn write_dry_run(w: &mut impl Write, r: &Report) -> io::Result<()> {
    let acting = r.sockets.iter().filter(|i| i.method.is_some()).count();
    let refused = r.sockets.len() - acting;
    if r.sockets.is_empty() {
        writeln!(w, "tcpscope release: no socket to end matches the filter")?;
    } else {
        let mut head = format!(
            "tcpscope release: dry run — {} would be ended",
            plural(acting, "socket")
        );
        if refused > 0 {
            head.push_str(&format!(", {refused} refused"));
        }
        writeln!(w, "{head}; nothing is touched without --yes")?;
        writeln!(w)?;
        write_table(w, &r.sockets, false)?;
        write_what_happens(w, &r.sockets)?;
        write_processes(w, &r.sockets)?;
        write_refusals(w, &r.sockets)?;
    }
    write_left_alone(w, r)?;
    if acting > 0 {
        writeln!(w)?;
        writeln!(w, "to end them: {}", r.invocation.yes_command())?;
    }
    Ok(())
}

fn write_done(w: &mut impl Write, r: &Report) -> io::Result<()> {
    if r.sockets.is_empty() {
        writeln!(
            w,
            "tcpscope release: no socket to end matches the filter; nothing done"
        )?;
        return write_left_alone(w, r);
    }
    let outcomes: Vec<&Outcome> = r
        .sockets
        .iter()
        .filter_map(|i| i.outcome.as_ref())
        .collect();
    let count = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    let released = count(|o| matches!(o, Outcome::Released { .. }));
    let already = count(|o| matches!(o, Outcome::AlreadyGone { .. }));
    let remain = r.sockets.len() - released - already;
    let mut head = format!(
        "tcpscope release: {released} of {} released",
        plural(r.sockets.len(), "socket")
    );
    if already > 0 {
        head.push_str(&format!(", {already} already gone"));
    }
    head.push_str(&format!(
        "; {} {}",
        remain,
        if remain == 1 { "remains" } else { "remain" }
    ));
    if r.exit_code() == 3 {
        head = format!(
            "tcpscope release: nothing was touched — none of the {} could be attempted",
            plural(r.sockets.len(), "selected socket")
        );
    }
    writeln!(w, "{head}")?;
    writeln!(w)?;
    write_table(w, &r.sockets, true)?;
    let after = peer_counts(r.sockets.iter().filter_map(|i| i.peer_after));
    if !after.is_empty() {
        writeln!(w)?;
        writeln!(w, "their other ends on this host now: {after}")?;
    }
    let troubled: Vec<&Item> = r
        .sockets
        .iter()
        .filter(|i| i.outcome.as_ref().is_some_and(|o| o.details().is_some()))
        .collect();
    if !troubled.is_empty() {
        writeln!(w)?;
        writeln!(w, "not released ({}):", troubled.len())?;
        // Sockets that fared alike are told once.
        let mut groups: Vec<(String, &str, Vec<&Item>)> = Vec::new();
        for i in &troubled {
            let Some(o) = &i.outcome else { continue };
            let Some((text, _)) = o.details() else {
                continue;
            };
            let label = match o {
                Outcome::Refused { error: Some(e), .. } => format!("refused ({e})"),
                other => other.label(),
            };
            match groups.iter_mut().find(|g| g.0 == label && g.1 == text) {
                Some(g) => g.2.push(i),
                None => groups.push((label, text, vec![i])),
            }
        }
        for (label, text, items) in groups {
            write_group(w, r, &label, text, &items)?;
        }
    }
    let endangered: Vec<String> = danger_lines(r.sockets.iter().filter(|i| {
        i.outcome
            .as_ref()
            .is_some_and(|o| matches!(o, Outcome::Released { .. }))
    }));
    if !endangered.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "warning: processes that do not ignore SIGPIPE hold released sockets:"
        )?;
        for l in endangered {
            para(w, "  ", "    ", &l)?;
        }
    }
    write_left_alone(w, r)?;
    writeln!(w)?;
    let code = r.exit_code();
    let why = match code {
        0 => "every selected socket is gone",
        3 => "nothing could be attempted",
        _ => "some sockets remain",
    };
    writeln!(w, "exit status {code}: {why}")
}

/// Sockets that fared alike after --yes: which, what happened, and what to do next.
fn write_group(
    w: &mut impl Write,
    r: &Report,
    label: &str,
    text: &str,
    items: &[&Item],
) -> io::Result<()> {
    let nexts: Vec<&str> = items
        .iter()
        .filter_map(|i| Some(i.outcome.as_ref()?.details()?.1))
        .collect();
    let same_next = nexts.windows(2).all(|p| p[0] == p[1]);
    if let [one] = items {
        let line = format!(
            "{} → {}: {label} — {text}",
            one.socket.local, one.socket.peer
        );
        para(w, "  ", "    ", &line)?;
    } else {
        para(
            w,
            "  ",
            "    ",
            &format!("{} sockets: {label} — {text}", items.len()),
        )?;
        write_endpoints(w, items)?;
    }
    let remaining: Vec<_> = items
        .iter()
        .filter_map(|i| match &i.outcome {
            Some(Outcome::Remains { now, .. }) => Some((*now, i.socket.local, i.socket.peer)),
            _ => None,
        })
        .collect();
    // Not wrapped: it often ends in a command to copy.
    match nexts.first() {
        Some(next) if same_next => writeln!(w, "    next: {next}"),
        _ if remaining.len() == items.len() => writeln!(
            w,
            "    next: end them now: {}",
            r.invocation.rst_command(&remaining)
        ),
        _ => {
            for (i, next) in items.iter().zip(nexts) {
                writeln!(w, "    next for {}: {next}", i.socket.peer)?;
            }
            Ok(())
        }
    }
}

/// "127.0.0.1:8080 → 10.0.0.1:5000" for the first few sockets of a group.
fn write_endpoints(w: &mut impl Write, items: &[&Item]) -> io::Result<()> {
    const SHOWN: usize = 3;
    for i in items.iter().take(SHOWN) {
        writeln!(w, "    {} → {}", i.socket.local, i.socket.peer)?;
    }
    if items.len() > SHOWN {
        writeln!(w, "    and {} more", items.len() - SHOWN)?;
    }
    Ok(())
}

/// One row per socket: state, endpoints, age (dry run) or result (after --yes), owner, method.
fn write_table(w: &mut impl Write, items: &[Item], done: bool) -> io::Result<()> {
    let netns = items.iter().any(|i| i.socket.netns.is_some());
    let owners: Vec<String> = items.iter().map(|i| owners_text(&i.socket)).collect();
    let ow = owners
        .iter()
        .map(|o| o.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(7, 40);
    let nw = items
        .iter()
        .filter_map(|i| {
            i.socket
                .netns
                .as_ref()
                .map(|n| netns_text(n).chars().count())
        })
        .max()
        .unwrap_or(0)
        .clamp(5, 24);
    let mut head = format!(
        "{:<12} {:<22} {:<22} ",
        "State", "Local Address:Port", "Peer Address:Port"
    );
    if netns {
        head.push_str(&format!("{:<nw$} ", "Netns"));
    }
    if !done {
        head.push_str(&format!("{:<7} ", "Age"));
    }
    head.push_str(&format!("{:<ow$} Action", "Process"));
    if done {
        head.push_str("  Result");
    }
    writeln!(w, "{}", head.trim_end())?;
    for (i, owner) in items.iter().zip(owners) {
        let s = &i.socket;
        let mut line = format!(
            "{:<12} {:<22} {:<22} ",
            s.state.display_name(),
            s.local.to_string(),
            s.peer.to_string()
        );
        if netns {
            let n = s.netns.as_ref().map(netns_text).unwrap_or_default();
            line.push_str(&format!("{n:<nw$} "));
        }
        if !done {
            let age = match i.age {
                Some(a) if a.at_least => format!("≥{}", human_ms(a.ms)),
                Some(a) => human_ms(a.ms),
                None => "-".to_string(),
            };
            line.push_str(&format!("{age:<7} "));
        }
        let action = i.method.map_or("-", Method::label);
        line.push_str(&format!("{owner:<ow$} {action:<6}"));
        if done {
            let result = i.outcome.as_ref().map(Outcome::label).unwrap_or_default();
            line.push_str(&format!("  {result}"));
        }
        writeln!(w, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Per method and state: how tcpscope acts, what the owner and the peer will see.
fn write_what_happens(w: &mut impl Write, items: &[Item]) -> io::Result<()> {
    let mut groups: BTreeMap<(Method, TcpState, &str, &str), Vec<&Item>> = BTreeMap::new();
    for i in items {
        if let Some(m) = i.method {
            groups
                .entry((m, i.socket.state, &i.owner_sees, &i.peer_sees))
                .or_default()
                .push(i);
        }
    }
    for ((method, state, owner, peer), group) in groups {
        writeln!(w)?;
        let it = if group.len() == 1 { "it" } else { "each" };
        let how = match method {
            Method::Fin => format!("tcpscope duplicates the owner's descriptor (pidfd_getfd) and calls shutdown(SHUT_RDWR) on {it}"),
            Method::Rst => format!("tcpscope asks the kernel to destroy {it} (SOCK_DESTROY over sock_diag, as `ss -K` does)"),
        };
        let head = format!(
            "{} ({} in {}): {how}.",
            method.label(),
            plural(group.len(), "socket"),
            state.display_name()
        );
        para(w, "", "  ", &head)?;
        para(w, "  the owner: ", "             ", owner)?;
        para(w, "  the peer:  ", "             ", peer)?;
        let here = peer_counts(group.iter().filter_map(|i| i.peer));
        if !here.is_empty() {
            para(w, "  on this host the other ends are: ", "    ", &here)?;
        }
    }
    Ok(())
}

/// The risk per process holding a selected socket.
fn write_processes(w: &mut impl Write, items: &[Item]) -> io::Result<()> {
    // One line per process and risk (a process may hold sockets ended both ways).
    let mut by_pid: BTreeMap<(u32, &str), (&str, bool, usize)> = BTreeMap::new();
    for i in items {
        for o in &i.owners {
            let e = by_pid
                .entry((o.pid, &o.text))
                .or_insert((&o.comm, o.danger, 0));
            e.2 += 1;
        }
    }
    if by_pid.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(
        w,
        "processes holding them (tcpscope never signals or kills a process):"
    )?;
    for ((pid, text), (comm, danger, n)) in by_pid {
        let mark = if danger { "! " } else { "  " };
        let line = format!("pid {pid} ({comm}, {}): {text}", plural(n, "socket"));
        para(w, &format!("  {mark}"), "      ", &line)?;
    }
    Ok(())
}

fn write_refusals(w: &mut impl Write, items: &[Item]) -> io::Result<()> {
    let mut groups: Vec<(&str, &str, Vec<&Item>)> = Vec::new();
    for i in items {
        let Some(r) = &i.refused else { continue };
        match groups.iter_mut().find(|g| g.0 == r.why && g.1 == r.next) {
            Some(g) => g.2.push(i),
            None => groups.push((&r.why, &r.next, vec![i])),
        }
    }
    if groups.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    let n: usize = groups.iter().map(|g| g.2.len()).sum();
    writeln!(w, "refused ({n}):")?;
    for (why, next, group) in groups {
        if let [i] = group.as_slice() {
            let line = format!(
                "{} → {} ({}): {why}",
                i.socket.local,
                i.socket.peer,
                i.socket.state.display_name()
            );
            para(w, "  ", "    ", &line)?;
        } else {
            para(w, "  ", "    ", &format!("{} sockets: {why}", group.len()))?;
            write_endpoints(w, &group)?;
        }
        writeln!(w, "    next: {next}")?;
    }
    Ok(())
}

fn write_left_alone(w: &mut impl Write, r: &Report) -> io::Result<()> {
    let l = &r.listeners_left_alone;
    if l.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = l.iter().take(5).map(|s| s.local.to_string()).collect();
    let more = if l.len() > 5 {
        format!(" and {} more", l.len() - 5)
    } else {
        String::new()
    };
    writeln!(w)?;
    let text = format!(
        "left alone: {} the filter matches ({}{more}): ending a listener stops its service \
         accepting connections; add --listeners to include {}",
        plural(l.len(), "listening socket"),
        shown.join(", "),
        if l.len() == 1 { "it" } else { "them" }
    );
    para(w, "", "  ", &text)
}

/// "3 in TIME-WAIT, 1 in FIN-WAIT-2 (held by a process)".
fn peer_counts(peers: impl Iterator<Item = crate::analyze::release::PeerEnd>) -> String {
    let mut counts: BTreeMap<(TcpState, bool), usize> = BTreeMap::new();
    for p in peers {
        *counts.entry((p.state, p.held)).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|((state, held), n)| {
            let who = if held {
                "held by a process"
            } else {
                "kernel-owned"
            };
            format!("{n} in {} ({who})", state.display_name())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn danger_lines<'a>(items: impl Iterator<Item = &'a Item>) -> Vec<String> {
    let mut by_pid: BTreeMap<u32, &str> = BTreeMap::new();
    for i in items {
        for o in i.owners.iter().filter(|o| o.danger) {
            by_pid.insert(o.pid, &o.comm);
        }
    }
    by_pid
        .into_iter()
        .map(|(pid, comm)| {
            format!("pid {pid} ({comm}): its next write() on a released socket kills it (SIGPIPE), unless it sends with MSG_NOSIGNAL")
        })
        .collect()
}

/// A paragraph wrapped to the page: `first` before the first line, `rest` before the others.
fn para(w: &mut impl Write, first: &str, rest: &str, text: &str) -> io::Result<()> {
    let width = WIDTH
        .saturating_sub(first.chars().count().max(rest.chars().count()))
        .max(40);
    for (n, line) in wrap(text, width).iter().enumerate() {
        writeln!(w, "{}{line}", if n == 0 { first } else { rest })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::diagnose::fixtures::{idle, owned, sock, timer};
    use crate::analyze::release::{
        failed, plan, settle, Invocation, Options, PeerEnd, Privileges, Selected, Step,
    };
    use crate::decode::process_text::parse_status;
    use crate::model::socket::{Socket, TimerKind};

    const IGNORES: &str = "State:\tS\nUid:\t0\t0\t0\t0\nSigIgn:\t0000000000001000\nSigCgt:\t0\n";
    const DEFAULT: &str = "State:\tT\nUid:\t0\t0\t0\t0\nSigIgn:\t0\nSigCgt:\t0\n";

    fn cw(port: u16, pid: u32) -> Socket {
        let mut s = sock(
            TcpState::CloseWait,
            "127.0.0.1:8080",
            &format!("127.64.0.1:{port}"),
        );
        owned(&mut s, pid, "server");
        idle(&mut s, 42_000);
        s
    }

    fn report(dry_run: bool) -> Report {
        let mut shared = cw(40001, 42);
        owned(&mut shared, 43, "worker");
        let mut tw = sock(TcpState::TimeWait, "127.64.0.1:40009", "127.0.0.1:8080");
        tw.inode = 0;
        timer(&mut tw, TimerKind::TimeWait, 51_000, 0);
        let hidden = sock(TcpState::CloseWait, "127.0.0.1:8080", "127.64.0.1:40010");
        let mut listener = sock(TcpState::Listen, "127.0.0.1:8080", "0.0.0.0:0");
        owned(&mut listener, 42, "server");
        let mut fw2 = sock(TcpState::FinWait2, "127.64.0.1:40000", "127.0.0.1:8080");
        fw2.inode = 0;
        let sel = |socket: Socket, peer: Option<Socket>| Selected { socket, peer };
        let selected = vec![
            sel(cw(40000, 42), Some(fw2)),
            sel(shared, None),
            sel(tw, None),
            sel(hidden, None),
            sel(listener, None),
        ];
        let status = [(42, IGNORES), (43, DEFAULT)]
            .into_iter()
            .map(|(p, t)| (p, parse_status(t)))
            .collect();
        let privs = Privileges {
            net_admin: true,
            sys_ptrace: true,
            sys_admin: true,
            ..Privileges::default()
        };
        let (items, left) = plan(selected, &status, &Options::default(), &privs);
        Report {
            dry_run,
            invocation: Invocation {
                filter: "sport = :8080 or dport = :8080".into(),
                flags: vec![],
                scope: vec![],
            },
            sockets: items,
            listeners_left_alone: left,
            notes: vec![],
        }
    }

    fn text(r: &Report) -> String {
        let mut out = Vec::new();
        write_report(&mut out, r).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn dry_run_snapshot() {
        let t = text(&report(true));
        assert!(t.contains("to end them: tcpscope release --yes 'sport = :8080 or dport = :8080'"));
        insta::assert_snapshot!(t);
    }

    #[test]
    fn done_snapshot() {
        let mut r = report(false);
        let inv = r.invocation.clone();
        for i in r.sockets.iter_mut() {
            let mut last_ack = i.socket.clone();
            last_ack.state = TcpState::LastAck;
            let o = match (i.socket.state, i.socket.peer.port) {
                (TcpState::CloseWait, 40000) => settle(i, Method::Fin, None, &inv),
                (TcpState::CloseWait, 40001) => settle(i, Method::Fin, Some(&last_ack), &inv),
                (TcpState::TimeWait, _) => {
                    failed(i, Step::Rst, Some(1), "Operation not permitted", &inv)
                }
                _ => crate::analyze::release::not_attempted(i.refused.as_ref().unwrap()),
            };
            if i.socket.peer.port == 40000 {
                i.peer_after = Some(PeerEnd {
                    state: TcpState::TimeWait,
                    held: false,
                });
            }
            i.outcome = Some(o);
        }
        assert_eq!(r.exit_code(), 1);
        insta::assert_snapshot!(text(&r));
    }
}
