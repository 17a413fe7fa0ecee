//! Linux net-tools `netstat -tan`, `-tanp`, `-tanpo`, `-tanpe` (and their combinations), in every
//! translation net-tools ships:
//!
//! ```text
//! Proto Recv-Q Send-Q Local Address           Foreign Address         State       User       Inode      PID/Program name     Timer
//! tcp        1      0 127.0.0.1:42805         127.64.0.1:49260        CLOSE_WAIT  0          2289770    29832/tcpscope       off (0.00/0/0)
//! tcp6       0      0 :::8443                 :::*                    LISTEN      0          2290780    30702/python3        off (0.00/0/0)
//! ```
//!
//! The optional columns are recognised from each row, not from the (translated) header: `-e`
//! adds a user (numeric with `-n`) and an inode, `-p` a `PID/program` (or `-`), `-o` a timer
//! `word (seconds/retransmits/probes)` whose word is translated too (`aus`, `desligado`, `オフ`).
//! net-tools reads /proc/net/tcp, so a listener's Send-Q is 0, not its backlog; its Recv-Q is
//! the accept queue. IPv6 addresses have no brackets (`::1:35954`).

use super::{addr, listener_gaps, owner_hidden, state, Line, Parsed};
use crate::model::missing::{Datum, Missing};
use crate::model::process::Owner;
use crate::model::snapshot::System;
use crate::model::socket::{Family, Socket, Timer, TimerKind};

/// Timer words as net-tools prints them, in every shipped translation (from the .mo files).
const TIMER_WORDS: &[(&str, Option<TimerKind>)] = &[
    ("off", None),
    ("aus", None),
    ("desligado", None),
    ("vyp", None),
    ("オフ", None),
    ("eikäi", None),
    ("on", Some(TimerKind::Retransmit)),
    ("ein", Some(TimerKind::Retransmit)),
    ("em", Some(TimerKind::Retransmit)),
    ("zapnut", Some(TimerKind::Retransmit)),
    ("オン", Some(TimerKind::Retransmit)),
    ("käib", Some(TimerKind::Retransmit)),
    ("keepalive", Some(TimerKind::Keepalive)),
    ("キープアライブ", Some(TimerKind::Keepalive)),
    ("timewait", Some(TimerKind::TimeWait)),
    ("時間待ち", Some(TimerKind::TimeWait)),
    ("probe", Some(TimerKind::ZeroWindowProbe)),
];

/// Which optional columns a row had.
#[derive(Default, Clone, Copy)]
struct Columns {
    user_inode: bool,
    program: bool,
    timer: bool,
}

/// netstat's warning (on stderr, in the capture when it was redirected too) that it could not see
/// other users' processes, in every shipped translation: a parenthesised line saying "root".
fn partial_owners(lines: &[&str]) -> bool {
    lines.iter().any(|l| {
        let t = l.trim_start();
        t.starts_with('(')
            && ["root", "superuživatel", "ルート"]
                .iter()
                .any(|w| t.contains(w))
    })
}

pub(crate) fn parse(lines: &[&str]) -> Parsed {
    let mut out = Vec::with_capacity(lines.len());
    let mut seen = Columns::default();
    let partial = partial_owners(lines);
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(first) = words.first().map(|w| w.to_ascii_lowercase()) else {
            out.push(Line::Text);
            continue;
        };
        let numbers = words.len() >= 3
            && words[1].bytes().all(|b| b.is_ascii_digit())
            && words[2].bytes().all(|b| b.is_ascii_digit());
        if !(first.starts_with("tcp") || first.starts_with("udp") || first.starts_with("raw"))
            || !numbers
        {
            out.push(Line::Text);
            continue;
        }
        if !first.starts_with("tcp") {
            out.push(Line::Other(first.trim_end_matches('6').to_string()));
            continue;
        }
        out.push(match row(&first, line, &words, partial) {
            Ok((s, cols)) => {
                seen.user_inode |= cols.user_inode;
                seen.program |= cols.program;
                seen.timer |= cols.timer;
                Line::Row(Box::new(s))
            }
            Err(why) => Line::Bad(why),
        });
    }
    let mut base = Missing::of(&[Datum::Cookie, Datum::TcpInfo, Datum::Fd]);
    if !seen.user_inode {
        base = base.with(Datum::Uid).with(Datum::Inode);
    }
    if !seen.program {
        base = base.with(Datum::Owners);
    }
    if !seen.timer {
        base = base.with(Datum::Timer);
    }
    for l in out.iter_mut() {
        if let Line::Row(s) = l {
            s.missing = s.missing.union(base);
        }
    }
    let flags: String = [
        (seen.program, 'p'),
        (seen.user_inode, 'e'),
        (seen.timer, 'o'),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, c)| *c)
    .collect();
    Parsed {
        lines: out,
        format: format!("linux-netstat-tan{flags}"),
        system: System::Linux,
        notes: Vec::new(),
        hint: None,
    }
}

fn row(proto: &str, line: &str, w: &[&str], partial: bool) -> Result<(Socket, Columns), String> {
    if w.len() < 6 {
        return Err("expected Recv-Q, Send-Q, both addresses and a state".to_string());
    }
    let mut cols = Columns::default();
    let recv_q: u32 = w[1]
        .parse()
        .map_err(|_| format!("Recv-Q '{}' is too large", w[1]))?;
    let send_q: u32 = w[2]
        .parse()
        .map_err(|_| format!("Send-Q '{}' is too large", w[2]))?;
    let local = addr::colon(w[3])?;
    let peer = addr::colon(w[4])?;
    let family = addr::family(
        Some(if proto.ends_with('6') {
            Family::Inet6
        } else {
            Family::Inet
        }),
        &local,
        &peer,
    );
    // The timer, when present, ends the line: `word (12.34/0/0)` (Estonian doubles the '(').
    let mut rest: Vec<&str> = w[5..].to_vec();
    let timer = match timer_at_end(line) {
        Some((word_count, t)) => {
            cols.timer = true;
            rest.truncate(rest.len().saturating_sub(word_count));
            t
        }
        None => None,
    };
    // The state: one word, or two for translations with a space ("POSLEDNÍ ACK").
    let (st, original, used) = match state(rest.first().copied().unwrap_or("")) {
        Ok((s, o)) => (s, o, 1),
        Err(e) => match rest.get(..2).map(|two| state(&two.join(" "))) {
            Some(Ok((s, o))) => (s, o, 2),
            _ => return Err(e),
        },
    };
    let mut extra = &rest[used..];
    let mut s = Socket::new(
        st,
        family,
        addr::endpoint(&local, family),
        addr::endpoint(&peer, family),
    );
    s.recv_q = recv_q;
    s.send_q = send_q;
    s.original_state = Some(original);
    s.timer = timer;
    // -e: user and inode.
    if extra.len() >= 2 && !extra[0].contains('/') && extra[0] != "-" && is_number(extra[1]) {
        cols.user_inode = true;
        s.uid = extra[0].parse().unwrap_or(0);
        if !is_number(extra[0]) {
            s.missing = s.missing.with(Datum::Uid);
        }
        s.inode = extra[1]
            .parse()
            .map_err(|_| format!("inode '{}' is too large", extra[1]))?;
        extra = &extra[2..];
    }
    // -p: PID/program, or '-'.
    if let Some(first) = extra.first() {
        cols.program = true;
        if *first == "-" {
            if extra.len() > 1 {
                return Err(format!(
                    "unexpected '{}' after the owner",
                    extra[1..].join(" ")
                ));
            }
            if partial {
                owner_hidden(&mut s, cols.user_inode);
            }
        } else {
            let joined = extra.join(" ");
            let (pid, comm) = joined
                .split_once('/')
                .ok_or_else(|| format!("'{joined}' is not PID/program"))?;
            let pid: u32 = pid
                .parse()
                .map_err(|_| format!("'{joined}' is not PID/program"))?;
            s.owners.push(Owner {
                pid,
                fd: 0,
                process: std::sync::Arc::new(crate::model::process::ProcessIdentity {
                    comm: comm.to_string(),
                    cmdline: String::new(),
                    user: String::new(),
                    container: None,
                    unit: None,
                }),
            });
        }
    }
    // net-tools reads /proc/net/tcp: a listener's Send-Q is 0, not its backlog.
    listener_gaps(&mut s, &[Datum::Backlog]);
    Ok((s, cols))
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A timer at the end of the line: how many words it takes, and the timer (`None` for "off").
fn timer_at_end(line: &str) -> Option<(usize, Option<Timer>)> {
    let t = line.trim_end();
    let inner = t.strip_suffix(')')?;
    let open = inner.rfind('(')?;
    let numbers = &inner[open + 1..];
    let before = inner[..open].trim_end_matches('(').trim_end();
    let word = before.rsplit(char::is_whitespace).next()?;
    let mut parts = numbers.split('/');
    let secs: f64 = parts.next()?.trim().parse().ok()?;
    let retrans: u32 = parts.next()?.trim().parse().ok()?;
    let probes: u32 = parts
        .next()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(0);
    let kind = if let Some(n) = word
        .strip_prefix("unkn-")
        .or(word.strip_prefix("desconh.-"))
    {
        n.parse::<u8>().ok().and_then(TimerKind::from_kernel)
    } else {
        TIMER_WORDS.iter().find(|(w, _)| *w == word)?.1
    };
    let timer = kind.map(|kind| Timer {
        kind,
        expires_ms: (secs.max(0.0) * 1000.0).round() as u64,
        retrans: if kind == TimerKind::Retransmit {
            retrans
        } else {
            probes
        },
    });
    Some((2, timer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_in_every_translation() {
        let t =
            |l: &str| timer_at_end(l).map(|(_, t)| t.map(|t| (t.kind, t.expires_ms, t.retrans)));
        assert_eq!(t("x off (0.00/0/0)"), Some(None));
        assert_eq!(t("x eikäi ((0.00/0/0)"), Some(None));
        assert_eq!(
            t("x em (11.54/4/0)"),
            Some(Some((TimerKind::Retransmit, 11540, 4)))
        );
        assert_eq!(
            t("x keepalive (7199.25/0/0)"),
            Some(Some((TimerKind::Keepalive, 7_199_250, 0)))
        );
        assert_eq!(
            t("x 時間待ち (47.88/0/0)"),
            Some(Some((TimerKind::TimeWait, 47880, 0)))
        );
        assert_eq!(
            t("x probe (7.05/0/3)"),
            Some(Some((TimerKind::ZeroWindowProbe, 7050, 3)))
        );
        assert_eq!(
            t("x unkn-5 (1.00/0/0)").unwrap().unwrap().0,
            TimerKind::DelayedAck
        );
        assert_eq!(t("tcp 0 0 a b LISTEN"), None);
        assert_eq!(t("x bogus (1.0/0/0)"), None);
    }
}
