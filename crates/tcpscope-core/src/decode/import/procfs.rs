//! Copies of /proc/net/tcp and /proc/net/tcp6 (`cat /proc/net/tcp /proc/net/tcp6 > file`),
//! read line by line with the live fallback's parser ([`crate::decode::proc_net`]); each line's
//! family comes from its address length, so both tables may share one file.
//!
//! Everything but a listener's backlog, the cookie and tcp_info is there; owners are not (the
//! inode says whether some process holds a socket, not which). Addresses are read as written by
//! a little-endian machine (x86, arm64 — nearly every Linux host).

use super::{Line, Parsed};
use crate::decode::proc_net::parse_tcp_line;
use crate::model::missing::{Datum, Missing};
use crate::model::snapshot::System;
use crate::model::socket::Family;

/// True for the words of a /proc/net/tcp socket line: `N: HEX:HEX HEX:HEX ST ...`.
pub(crate) fn is_row(w: &[&str]) -> bool {
    w.len() >= 10
        && w[0]
            .strip_suffix(':')
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        && hex_endpoint(w[1]).is_some()
        && hex_endpoint(w[2]).is_some()
        && w[3].len() == 2
}

/// The family a hex endpoint's length says (8 hex digits IPv4, 32 IPv6).
fn hex_endpoint(s: &str) -> Option<Family> {
    let (a, p) = s.split_once(':')?;
    let hex = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_hexdigit());
    if !hex(a) || !hex(p) || p.len() != 4 {
        return None;
    }
    match a.len() {
        8 => Some(Family::Inet),
        32 => Some(Family::Inet6),
        _ => None,
    }
}

pub(crate) fn parse(lines: &[&str]) -> Parsed {
    let gaps = Missing::of(&[Datum::Owners, Datum::Fd, Datum::Cookie, Datum::TcpInfo]);
    let out = lines
        .iter()
        .map(|line| {
            let w: Vec<&str> = line.split_whitespace().collect();
            let numbered = w
                .first()
                .and_then(|f| f.strip_suffix(':'))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if w.first() == Some(&"sl") {
                return Line::Part;
            }
            if !numbered {
                return Line::Text;
            }
            let Some(family) = w.get(1).and_then(|e| hex_endpoint(e)) else {
                return Line::Bad("expected a hex ADDRESS:PORT after the slot number".to_string());
            };
            match parse_tcp_line(line, family) {
                Ok(mut s) => {
                    s.missing = s.missing.union(gaps);
                    Line::Row(Box::new(s))
                }
                Err(why) => Line::Bad(why),
            }
        })
        .collect();
    Parsed {
        lines: out,
        format: "linux-proc-net-tcp".to_string(),
        system: System::Linux,
        notes: Vec::new(),
        hint: None,
    }
}
