//! Linux iproute2 `ss`: `-tan`, `-tanp`, `-tanpoe`, `-tani`, with or without a header (`-H`),
//! with a Netid column (`ss -an`), and filtered on one state — when ss leaves the State column
//! out:
//!
//! ```text
//! State      Recv-Q Send-Q      Local Address:Port        Peer Address:Port Process
//! LISTEN     0      4096            127.0.0.1:45447            0.0.0.0:*     users:(("tcpscope",pid=29827,fd=3)) ino:2289759 sk:112e2b <->
//! CLOSE-WAIT 1      0               127.0.0.1:42805         127.64.0.1:49260 users:(("tcpscope",pid=29832,fd=3)) ino:2289770 sk:f6f53 -->
//!          bbr wscale:10,10 rto:204 rtt:0.013/0.006 ... lastsnd:19712 lastrcv:19712 lastack:18712
//! ```
//!
//! (the `-i` detail line starts with a tab)
//!
//! ss reads sock_diag: queues and listener backlogs are real. What else the capture has depends
//! on its options (`-p` owners, `-o` timers, `-e` uid/inode/cookie/shutdown, `-i` tcp_info);
//! seen in the rows, or named on the prompt line. A stateless capture takes its state from the
//! prompt's `state NAME`; without a prompt line the state is unknown and the capture refused,
//! with advice (tcpscope has no "unknown" state to give the rows).

use super::ss_fields::{self, Seen};
use super::{addr, state, Context, Line, Parsed};
use crate::model::missing::{Datum, Missing};
use crate::model::snapshot::System;
use crate::model::socket::{Family, Socket};
use crate::model::state::TcpState;

/// The state names ss prints.
const STATE_WORDS: [&str; 12] = [
    "ESTAB",
    "SYN-SENT",
    "SYN-RECV",
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "TIME-WAIT",
    "UNCONN",
    "CLOSE-WAIT",
    "LAST-ACK",
    "LISTEN",
    "CLOSING",
    "UNKNOWN",
];

pub(crate) fn is_state_word(w: &str) -> bool {
    STATE_WORDS.contains(&w)
}

/// The first `n` whitespace-separated words of `line` and the text after them.
fn split_words(line: &str, n: usize) -> Option<(Vec<&str>, &str)> {
    let mut words = Vec::with_capacity(n);
    let mut rest = line;
    for _ in 0..n {
        let t = rest.trim_start();
        if t.is_empty() {
            return None;
        }
        let end = t.find(char::is_whitespace).unwrap_or(t.len());
        words.push(&t[..end]);
        rest = &t[end..];
    }
    Some((words, rest))
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The state stateless rows get from the command line, and what to say about it.
struct StateFromCommand {
    state: Option<(TcpState, String)>,
    command: Option<String>,
}

pub(crate) fn parse(lines: &[&str], ctx: &Context) -> Parsed {
    let from_command = StateFromCommand {
        state: ctx
            .command
            .as_ref()
            .and_then(|c| c.ss_single_state())
            .and_then(|w| w.parse::<TcpState>().ok().map(|s| (s, w))),
        command: ctx.command.as_ref().map(|c| c.text.clone()),
    };
    let mut out: Vec<Line> = Vec::with_capacity(lines.len());
    let mut seen = Seen::default();
    let mut last_row: Option<usize> = None;
    let mut stateless = 0usize;
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(first) = words.first().copied() else {
            last_row = None;
            out.push(Line::Text);
            continue;
        };
        // `ss -an`: a Netid column before the state.
        let (netid, skip) =
            if words.len() >= 6 && is_state_word(words.get(1).copied().unwrap_or("")) {
                (Some(first), 1)
            } else {
                (None, 0)
            };
        let with_state = words.get(skip).is_some_and(|w| is_state_word(w));
        let queues_at = skip + usize::from(with_state);
        let row_shape = words.len() >= queues_at + 4
            && is_number(words[queues_at])
            && is_number(words[queues_at + 1]);
        // A detail line (-i) is indented and belongs to the row above.
        if !row_shape && line.starts_with(char::is_whitespace) {
            if let Some(Line::Row(s)) = last_row.and_then(|i| out.get_mut(i)) {
                let kind = match ss_fields::apply(s, line, &mut seen) {
                    Ok(()) => Line::Part,
                    Err(why) => Line::Bad(why),
                };
                out.push(kind);
                continue;
            }
        }
        last_row = None;
        if let Some(n) = netid.filter(|n| *n != "tcp") {
            out.push(Line::Other(n.to_string()));
            continue;
        }
        if !row_shape {
            out.push(Line::Text);
            continue;
        }
        if !with_state {
            stateless += 1;
        }
        let Some((head, rest)) = split_words(line, queues_at + 4) else {
            out.push(Line::Text);
            continue;
        };
        let result = row(&head[skip..], with_state, &from_command).and_then(|mut s| {
            ss_fields::apply(&mut s, rest, &mut seen)?;
            Ok(s)
        });
        match result {
            Ok(s) => {
                last_row = Some(out.len());
                out.push(Line::Row(Box::new(s)));
            }
            Err(why) => out.push(Line::Bad(why)),
        }
    }
    let command_has = |flag: char| {
        ctx.command.as_ref().is_some_and(|c| {
            c.args
                .iter()
                .any(|a| a.starts_with('-') && !a.starts_with("--") && a.contains(flag))
        })
    };
    let mut base = Missing::NONE;
    if !(seen.users || command_has('p')) {
        base = base.with(Datum::Owners).with(Datum::Fd);
    }
    if !(seen.timer || command_has('o')) {
        base = base.with(Datum::Timer);
    }
    if !(seen.extended || command_has('e')) {
        base = base.with(Datum::Uid).with(Datum::Inode).with(Datum::Cookie);
    }
    if !(seen.info || command_has('i')) {
        base = base.with(Datum::TcpInfo);
    }
    for l in out.iter_mut() {
        if let Line::Row(s) = l {
            s.missing = s.missing.union(base);
        }
    }
    let flags: String = [
        (!base.contains(Datum::Owners), 'p'),
        (!base.contains(Datum::Timer), 'o'),
        (!base.contains(Datum::Inode), 'e'),
        (!base.contains(Datum::TcpInfo), 'i'),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, c)| *c)
    .collect();
    let mut notes = Vec::new();
    if stateless > 0 {
        if let (Some((st, word)), Some(cmd)) = (&from_command.state, &from_command.command) {
            notes.push(format!(
                "ss printed no State column (its filter names one state): every row is {} as the command line `{cmd}` says ('{word}')",
                st.display_name()
            ));
        }
    }
    let hint = (stateless > 0 && from_command.state.is_none()).then(|| {
        "ss leaves out the State column when its filter names one state; put the command that made the capture on its first line (`$ ss -tn state close-wait`) and read it again"
            .to_string()
    });
    Parsed {
        lines: out,
        format: format!("linux-ss-tan{flags}"),
        system: System::Linux,
        notes,
        hint,
    }
}

/// `[STATE] Recv-Q Send-Q Local Peer` into a socket.
fn row(w: &[&str], with_state: bool, cmd: &StateFromCommand) -> Result<Socket, String> {
    let (st, original, q) = if with_state {
        let (s, o) = state(w[0])?;
        (s, o, 1)
    } else {
        match &cmd.state {
            Some((s, word)) => (*s, word.clone(), 0),
            None => {
                return Err(
                    "no State column: ss leaves it out when its filter names one state (`ss -tn state close-wait`), and this capture does not show the command line, so the state is unknown"
                        .to_string(),
                )
            }
        }
    };
    let recv_q: u32 = w[q]
        .parse()
        .map_err(|_| format!("Recv-Q '{}' is too large", w[q]))?;
    let send_q: u32 = w[q + 1]
        .parse()
        .map_err(|_| format!("Send-Q '{}' is too large", w[q + 1]))?;
    let local = addr::colon(w[q + 2])?;
    let peer = addr::colon(w[q + 3])?;
    // ss prints the dual-stack IPv6 wildcard as `*` (and `0.0.0.0` for IPv4's).
    let family = if local.ip.is_none() {
        Family::Inet6
    } else {
        addr::family(None, &local, &peer)
    };
    let mut s = Socket::new(
        st,
        family,
        addr::endpoint(&local, family),
        addr::endpoint(&peer, family),
    );
    s.recv_q = recv_q;
    s.send_q = send_q;
    s.original_state = Some(original);
    Ok(s)
}
