//! macOS, FreeBSD, OpenBSD and AIX `netstat -an` (also `-p tcp`, and AIX's `-Aan` with its
//! PCB/ADDR column): one row shape, the port after the last dot.
//!
//! ```text
//! Proto Recv-Q Send-Q  Local Address          Foreign Address        (state)
//! tcp4       0      0  192.168.1.5.55555      17.57.144.10.5223      ESTABLISHED
//! tcp46      0      0  *.80                   *.*                    LISTEN
//! tcp6       0      0  fe80::1%lo0.49152      fe80::1%lo0.631        CLOSE_WAIT
//! udp4       0      0  *.5353                 *.*
//! ```
//!
//! Queues are real for connections; for listeners these systems print the socket buffers (0),
//! not the accept queue or backlog (`netstat -L` shows those), so both are unknown there. No
//! owners, timers, uids or inodes. Other sections (UNIX domain sockets, kernel control modules)
//! are passed over.

use super::{addr, listener_gaps, state, Line, Parsed};
use crate::model::missing::{Datum, Missing};
use crate::model::snapshot::System;
use crate::model::socket::Socket;

const LACKS: [Datum; 7] = [
    Datum::Timer,
    Datum::Owners,
    Datum::Fd,
    Datum::Uid,
    Datum::Inode,
    Datum::Cookie,
    Datum::TcpInfo,
];

pub(crate) fn parse(lines: &[&str], aix: bool) -> Parsed {
    let mut out = Vec::with_capacity(lines.len());
    let mut pcb = false;
    for line in lines {
        let mut words: Vec<&str> = line.split_whitespace().collect();
        // AIX -A (and BSD -A): a control block address before the protocol.
        if words.len() >= 6
            && words[0].len() >= 8
            && words[0].bytes().all(|b| b.is_ascii_hexdigit())
            && is_proto(words[1])
        {
            words.remove(0);
            pcb = true;
        }
        let Some(first) = words.first().map(|w| w.to_ascii_lowercase()) else {
            out.push(Line::Text);
            continue;
        };
        // Each protocol's table has its own title and header (OpenBSD prints TCP, then UDP).
        if first == "active" || first == "proto" || first == "pcb/addr" {
            out.push(Line::Part);
            continue;
        }
        if !is_proto(&first) || words.len() < 5 {
            out.push(Line::Text);
            continue;
        }
        if !first.starts_with("tcp") {
            out.push(Line::Other(first.trim_end_matches(['4', '6']).to_string()));
            continue;
        }
        out.push(match row(&first, &words) {
            Ok(s) => Line::Row(Box::new(s)),
            Err(why) => Line::Bad(why),
        });
    }
    let format = match (aix, pcb) {
        (true, true) => "aix-netstat-Aan",
        (true, false) => "aix-netstat-an",
        (false, _) => "bsd-netstat-an",
    };
    Parsed {
        lines: out,
        format: format.to_string(),
        system: if aix { System::Aix } else { System::Bsd },
        notes: Vec::new(),
        hint: None,
    }
}

fn is_proto(w: &str) -> bool {
    let w = w.to_ascii_lowercase();
    ["tcp", "udp", "icm", "raw", "sctp", "div"]
        .iter()
        .any(|p| w.starts_with(p))
        && w.len() <= 6
}

fn row(proto: &str, w: &[&str]) -> Result<Socket, String> {
    if w.len() < 6 {
        return Err("no state".to_string());
    }
    let number = |i: usize, what: &str| -> Result<u32, String> {
        w[i].parse()
            .map_err(|_| format!("{what} '{}' is not a number", w[i]))
    };
    let recv_q = number(1, "Recv-Q")?;
    let send_q = number(2, "Send-Q")?;
    let local = addr::dot(w[3])?;
    let peer = addr::dot(w[4])?;
    let (st, original) = state(w[5])?;
    let family = addr::family(addr::protocol_family(proto), &local, &peer);
    let mut s = Socket::new(
        st,
        family,
        addr::endpoint(&local, family),
        addr::endpoint(&peer, family),
    );
    s.recv_q = recv_q;
    s.send_q = send_q;
    s.original_state = Some(original);
    s.missing = Missing::of(&LACKS);
    listener_gaps(&mut s, &[Datum::AcceptQueue, Datum::Backlog]);
    Ok(s)
}
