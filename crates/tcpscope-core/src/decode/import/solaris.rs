//! Solaris and illumos `netstat -an` (`-f inet`, `-P tcp`): one section per protocol and family,
//! windows and queues as numbers, the port after the last dot; illumos `-u` adds the owner.
//!
//! ```text
//! TCP: IPv4
//!    Local Address        Remote Address    Swind Send-Q Rwind Recv-Q    State
//! -------------------- -------------------- ----- ------ ----- ------ -----------
//!       *.*                  *.*                0      0 49152      0 IDLE
//!       *.22                 *.*                0      0 49152      0 LISTEN
//! 192.168.1.10.22      192.168.1.20.51234   64240      0 128872     0 ESTABLISHED
//!
//! TCP: IPv6
//!    Local Address                     Remote Address                 Swind Send-Q Rwind Recv-Q   State      If
//! ```
//!
//! IDLE is a socket not yet bound (tcpscope's `closed`), BOUND one bound but not listening. With
//! `-u` (illumos) each holder of a socket gets its own row (`User Pid Command` columns); rows of
//! one socket are merged into one socket with several owners. Listener queues are not shown.

use super::{addr, listener_gaps, state, Line, Parsed};
use crate::model::missing::{Datum, Missing};
use crate::model::process::Owner;
use crate::model::snapshot::System;
use crate::model::socket::{Family, Socket};

const LACKS: [Datum; 6] = [
    Datum::Timer,
    Datum::Fd,
    Datum::Uid,
    Datum::Inode,
    Datum::Cookie,
    Datum::TcpInfo,
];

/// True for the words of a TCP row: two `addr.port` endpoints, then (owner words and) four
/// numbers and a state.
pub(crate) fn is_row(w: &[&str]) -> bool {
    w.len() >= 7
        && w[0].contains('.')
        && w[1].contains('.')
        && state_index(w).is_some_and(|i| i >= 6 && numbers(&w[i - 4..i]))
}

fn numbers(w: &[&str]) -> bool {
    w.iter()
        .all(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
}

/// The state is the last word, or the one before a trailing interface name.
fn state_index(w: &[&str]) -> Option<usize> {
    let n = w.len();
    [n - 1, n.saturating_sub(2)]
        .into_iter()
        .find(|i| *i >= 2 && w[*i].parse::<crate::model::state::TcpState>().is_ok())
}

#[derive(Clone, Copy, PartialEq)]
enum Section {
    Tcp(Family),
    Other,
    None,
}

pub(crate) fn parse(lines: &[&str]) -> Parsed {
    let mut out: Vec<Line> = Vec::with_capacity(lines.len());
    let mut section = Section::None;
    let mut with_owner = false;
    let mut last_row: Option<usize> = None;
    for line in lines {
        let t = line.trim();
        let words: Vec<&str> = t.split_whitespace().collect();
        if let Some((proto, fam)) = t.split_once(':').filter(|(p, _)| {
            !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_uppercase())
        }) {
            section = match (proto, fam.trim()) {
                ("TCP", "IPv6") => Section::Tcp(Family::Inet6),
                ("TCP", _) => Section::Tcp(Family::Inet),
                _ => Section::Other,
            };
            last_row = None;
            out.push(Line::Part);
            continue;
        }
        if t.starts_with("Active ") {
            section = Section::None;
            out.push(Line::Text);
            continue;
        }
        if t.starts_with("Local Address") || (t.starts_with('-') && t.contains("----")) {
            if t.starts_with("Local Address") {
                with_owner = words.contains(&"Pid");
            }
            out.push(Line::Part);
            continue;
        }
        match section {
            Section::Tcp(family) if !words.is_empty() => {
                match row(&words, family, with_owner) {
                    Ok(s) => {
                        // illumos -u: another holder of the socket on the row above.
                        let merged = last_row.and_then(|i| match out.get_mut(i) {
                            Some(Line::Row(prev))
                                if with_owner
                                    && prev.local == s.local
                                    && prev.peer == s.peer
                                    && prev.state == s.state =>
                            {
                                prev.owners.extend(s.owners.iter().cloned());
                                Some(())
                            }
                            _ => None,
                        });
                        if merged.is_some() {
                            out.push(Line::Part);
                        } else {
                            last_row = Some(out.len());
                            out.push(Line::Row(Box::new(s)));
                        }
                    }
                    Err(why) => out.push(Line::Bad(why)),
                }
            }
            Section::Other if !words.is_empty() => out.push(Line::Other("udp/sctp".to_string())),
            _ => out.push(Line::Text),
        }
    }
    Parsed {
        lines: out,
        format: if with_owner {
            "solaris-netstat-anu".to_string()
        } else {
            "solaris-netstat-an".to_string()
        },
        system: System::Solaris,
        notes: Vec::new(),
        hint: None,
    }
}

fn row(w: &[&str], family: Family, with_owner: bool) -> Result<Socket, String> {
    let si = state_index(w).ok_or_else(|| "no known state at the end of the row".to_string())?;
    if si < 6 || !numbers(&w[si - 4..si]) {
        return Err("expected Swind, Send-Q, Rwind and Recv-Q before the state".to_string());
    }
    let local = addr::dot(w[0])?;
    let peer = addr::dot(w[1])?;
    let (st, original) = state(w[si])?;
    let num = |i: usize| {
        w[i].parse::<u32>()
            .map_err(|_| format!("'{}' is too large", w[i]))
    };
    let mut s = Socket::new(
        st,
        family,
        addr::endpoint(&local, family),
        addr::endpoint(&peer, family),
    );
    s.send_q = num(si - 3)?;
    s.recv_q = num(si - 1)?;
    s.original_state = Some(original);
    s.missing = Missing::of(&LACKS);
    if with_owner {
        // User Pid Command between the endpoints and the counters.
        let owner = &w[2..si - 4];
        if let [user, pid, command @ ..] = owner {
            let pid: u32 = pid
                .parse()
                .map_err(|_| format!("Pid '{pid}' is not a number"))?;
            s.owners.push(Owner {
                pid,
                fd: 0,
                process: std::sync::Arc::new(crate::model::process::ProcessIdentity {
                    comm: command.join(" "),
                    cmdline: String::new(),
                    user: user.to_string(),
                    container: None,
                    unit: None,
                }),
            });
        }
    } else {
        s.missing = s.missing.with(Datum::Owners);
    }
    listener_gaps(&mut s, &[Datum::AcceptQueue, Datum::Backlog]);
    Ok(s)
}
