//! Windows `netstat -an`, `-ano`, `-anob`, `-ano -p tcp`, in any language:
//!
//! ```text
//!   Proto  Local Address          Foreign Address        State           PID
//!   TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       1060
//!   RpcSs
//!  [svchost.exe]
//!   TCP    [fe80::1%12]:445       [fe80::2%12]:50123     ESTABLISHED     4
//!  Can not obtain ownership information
//!   UDP    0.0.0.0:123            *:*                                    1234
//! ```
//!
//! Windows shows no queues, timers, uids or inodes. The PID column (`-o`) names the owner; PID 0
//! (the idle process, e.g. every TIME_WAIT) means no process holds the socket. `-b` adds the
//! executable (`[svchost.exe]`) and the service (`RpcSs`) on the lines under each row; those
//! become the owner's command and unit. The state may be translated (`ABHÖREN`, `HERGESTELLT`)
//! and, in some languages, be several words.

use super::addr;
use super::{state, Line, Parsed};
use crate::model::missing::{Datum, Missing};
use crate::model::process::Owner;
use crate::model::snapshot::System;
use crate::model::socket::Socket;

/// What Windows netstat never shows.
const LACKS: [Datum; 7] = [
    Datum::RecvQ,
    Datum::SendQ,
    Datum::Timer,
    Datum::Uid,
    Datum::Inode,
    Datum::Cookie,
    Datum::TcpInfo,
];

pub(crate) fn parse(lines: &[&str]) -> Parsed {
    let with_b = lines.iter().any(|l| is_exe_line(l));
    let mut out = Vec::with_capacity(lines.len());
    let mut with_pid = false;
    // Index in `out` of the last TCP row, for the -b lines under it.
    let mut last_row: Option<usize> = None;
    let mut after_row = false;
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        let first = words.first().copied().unwrap_or("");
        if first.eq_ignore_ascii_case("tcp") && words.len() >= 3 {
            match row(&words) {
                Ok((s, pid)) => {
                    with_pid |= pid;
                    last_row = Some(out.len());
                    out.push(Line::Row(Box::new(s)));
                }
                Err(why) => {
                    last_row = None;
                    out.push(Line::Bad(why));
                }
            }
            after_row = true;
            continue;
        }
        if first.eq_ignore_ascii_case("udp") && words.len() >= 3 {
            out.push(Line::Other("udp".to_string()));
            last_row = None;
            after_row = true;
            continue;
        }
        if with_b && after_row && !words.is_empty() {
            if let Some(Line::Row(s)) = last_row.and_then(|i| out.get_mut(i)) {
                attach_b_line(s, line.trim());
            }
            out.push(Line::Part);
            continue;
        }
        out.push(Line::Text);
    }
    let mut base = Missing::of(&LACKS);
    if !with_pid {
        base = base.with(Datum::Owners);
    }
    base = base.with(Datum::Fd);
    for l in out.iter_mut() {
        if let Line::Row(s) = l {
            s.missing = s.missing.union(base);
        }
    }
    let format = format!(
        "windows-netstat-an{}{}",
        if with_pid { "o" } else { "" },
        if with_b { "b" } else { "" }
    );
    Parsed {
        lines: out,
        format,
        system: System::Windows,
        notes: Vec::new(),
        hint: None,
    }
}

fn is_exe_line(l: &str) -> bool {
    let t = l.trim();
    t.len() > 2 && t.starts_with('[') && t.ends_with(']') && !t.contains(' ') && t.contains('.')
}

/// One TCP row: the socket and whether it had a PID column.
fn row(words: &[&str]) -> Result<(Socket, bool), String> {
    if words.len() < 4 {
        return Err("expected Proto, Local Address, Foreign Address and State".to_string());
    }
    let local = addr::colon(words[1])?;
    let peer = addr::colon(words[2])?;
    let mut rest = &words[3..];
    let pid = match rest.last() {
        Some(last) if rest.len() >= 2 && last.bytes().all(|b| b.is_ascii_digit()) => {
            let pid: u32 = last
                .parse()
                .map_err(|_| format!("PID '{last}' is out of range"))?;
            rest = &rest[..rest.len() - 1];
            Some(pid)
        }
        _ => None,
    };
    let (st, original) = state(&rest.join(" "))?;
    let family = addr::family(None, &local, &peer);
    let mut s = Socket::new(
        st,
        family,
        addr::endpoint(&local, family),
        addr::endpoint(&peer, family),
    );
    s.original_state = Some(original);
    if let Some(pid) = pid.filter(|p| *p != 0) {
        s.owners.push(Owner {
            pid,
            fd: 0,
            process: std::sync::Arc::new(crate::model::process::ProcessIdentity {
                comm: if pid == 4 {
                    "System".to_string()
                } else {
                    String::new()
                },
                cmdline: String::new(),
                user: String::new(),
                container: None,
                unit: None,
            }),
        });
    }
    Ok((s, pid.is_some()))
}

/// A `-b` line under a row: `[exe]` names the command, any other text the service (component),
/// except the notices that say there is nothing to name.
fn attach_b_line(s: &mut Socket, text: &str) {
    let Some(owner) = s.owners.first_mut() else {
        return;
    };
    let process = std::sync::Arc::make_mut(&mut owner.process);
    if let Some(exe) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        process.comm = exe.to_string();
    } else if !text.starts_with("--") && !text.contains(' ') && process.unit.is_none() {
        process.unit = Some(text.to_string());
    }
}
