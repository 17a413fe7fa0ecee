//! Parsers for the text files the kernel writes under /proc/net: tcp, tcp6 (the fallback
//! socket source), sockstat, sockstat6 and netstat (counters).
//!
//! They take `&str` and never touch the system, so they are tested against fixtures anywhere.
//! /proc/net/tcp prints addresses as the hex of native-endian `u32` words; this parser assumes
//! it runs on the machine (endianness) that wrote the text, which is how the collector uses it.

use crate::model::missing::{Datum, Missing};
use crate::model::snapshot::SockStat;
use crate::model::socket::{Endpoint, Family, Socket, Timer, TimerKind};
use crate::model::state::TcpState;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A line of /proc/net/tcp that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {what}")]
pub struct ParseError {
    pub line: usize,
    pub what: String,
}

/// Jiffies in /proc/net/tcp's `tm->when` are printed in USER_HZ (clock ticks), 100 on Linux.
const USER_HZ: u64 = 100;

/// Parse /proc/net/tcp (`Family::Inet`) or /proc/net/tcp6 (`Family::Inet6`), skipping the
/// header. Lines that do not parse are returned as errors next to the sockets that did.
///
/// The kernel writes the table a page at a time and resumes by position, so a table that
/// changes during the read can list a socket twice (measured here while other programs opened
/// and closed connections): a repeat of the same socket — state, both ends and inode — is
/// dropped. (SO_REUSEPORT listeners share their ends but not their inode, and stay apart.)
pub fn parse_proc_net_tcp(text: &str, family: Family) -> (Vec<Socket>, Vec<ParseError>) {
    let mut sockets = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        match parse_tcp_line(line, family) {
            Ok(s) => {
                if seen.insert((s.state, s.local, s.peer, s.inode)) {
                    sockets.push(s);
                }
            }
            Err(what) => errors.push(ParseError { line: i + 1, what }),
        }
    }
    (sockets, errors)
}

/// One socket line of /proc/net/tcp or tcp6. A listener's backlog is not in the file (its
/// `tx_queue` is 0), so it is marked missing on the socket.
pub(crate) fn parse_tcp_line(line: &str, family: Family) -> Result<Socket, String> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 10 {
        return Err(format!("expected at least 10 fields, found {}", f.len()));
    }
    let local = parse_hex_endpoint(f[1], family)?;
    let peer = parse_hex_endpoint(f[2], family)?;
    let st = u8::from_str_radix(f[3], 16).map_err(|e| format!("state '{}': {e}", f[3]))?;
    let state = TcpState::from_kernel(st).ok_or_else(|| format!("unknown state number {st}"))?;
    let (tx, rx) = split_hex_pair(f[4])?;
    let (tr, when) = split_hex_pair(f[5])?;
    let retrans = u32::from_str_radix(f[6], 16).map_err(|e| format!("retrnsmt: {e}"))?;
    let uid: u32 = f[7].parse().map_err(|e| format!("uid '{}': {e}", f[7]))?;
    let inode: u64 = f[9].parse().map_err(|e| format!("inode '{}': {e}", f[9]))?;
    let timer = match tr {
        0 => None,
        // /proc prints 1 for retransmit-class timers, 4 for the zero window probe, 2 for the
        // socket timer (keepalive), 3 for the timewait timer.
        n => TimerKind::from_kernel(n as u8).map(|kind| Timer {
            kind,
            // Saturating: a line with an absurd `tm->when` must not overflow (found by fuzzing).
            expires_ms: when.saturating_mul(1000 / USER_HZ),
            retrans,
        }),
    };
    let missing = if state == TcpState::Listen {
        Missing::of(&[Datum::Backlog])
    } else {
        Missing::NONE
    };
    Ok(Socket {
        recv_q: rx as u32,
        send_q: tx as u32,
        timer,
        uid,
        inode,
        missing,
        ..Socket::new(state, family, local, peer)
    })
}

fn split_hex_pair(s: &str) -> Result<(u64, u64), String> {
    let (a, b) = s
        .split_once(':')
        .ok_or_else(|| format!("expected HEX:HEX, found '{s}'"))?;
    let a = u64::from_str_radix(a, 16).map_err(|e| format!("'{s}': {e}"))?;
    let b = u64::from_str_radix(b, 16).map_err(|e| format!("'{s}': {e}"))?;
    Ok((a, b))
}

fn parse_hex_endpoint(s: &str, family: Family) -> Result<Endpoint, String> {
    let (addr, port) = s
        .split_once(':')
        .ok_or_else(|| format!("expected ADDR:PORT, found '{s}'"))?;
    let port = u16::from_str_radix(port, 16).map_err(|e| format!("port '{port}': {e}"))?;
    let word = |i: usize| -> Result<[u8; 4], String> {
        let hex = addr
            .get(i * 8..i * 8 + 8)
            .ok_or_else(|| format!("address '{addr}' too short"))?;
        u32::from_str_radix(hex, 16)
            .map(u32::to_ne_bytes)
            .map_err(|e| format!("address '{addr}': {e}"))
    };
    let ip = match (family, addr.len()) {
        (Family::Inet, 8) => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        (Family::Inet6, 32) => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => {
            return Err(format!(
                "address '{addr}' has the wrong length for {family:?}"
            ))
        }
    };
    Ok(Endpoint::new(ip, port))
}

/// Parse net.ipv4.ip_local_port_range ("32768\t60999"): the ports the kernel picks for sockets
/// that did not bind() one.
pub fn parse_port_range(text: &str) -> Option<(u16, u16)> {
    let mut words = text.split_whitespace().map(|w| w.parse::<u16>().ok());
    Some((words.next()??, words.next()??))
}

/// Parse /proc/net/sockstat and /proc/net/sockstat6 (either may be empty).
pub fn parse_sockstat(sockstat: &str, sockstat6: &str) -> SockStat {
    let mut st = SockStat::default();
    for line in sockstat.lines().chain(sockstat6.lines()) {
        let Some((proto, rest)) = line.split_once(':') else {
            continue;
        };
        let pairs = key_values(rest);
        let get = |k: &str| pairs.get(k).copied().unwrap_or(0);
        match proto.trim() {
            "sockets" => st.sockets_used = get("used"),
            "TCP" => {
                st.tcp_inuse = get("inuse");
                st.tcp_orphan = get("orphan");
                st.tcp_tw = get("tw");
                st.tcp_alloc = get("alloc");
                st.tcp_mem_pages = get("mem");
            }
            "TCP6" => st.tcp6_inuse = get("inuse"),
            _ => {}
        }
    }
    st
}

fn key_values(s: &str) -> BTreeMap<&str, u64> {
    let words: Vec<&str> = s.split_whitespace().collect();
    words
        .chunks(2)
        .filter_map(|kv| match kv {
            [k, v] => v.parse().ok().map(|v| (*k, v)),
            _ => None,
        })
        .collect()
}

/// Parse one section (e.g. `TcpExt`) of /proc/net/netstat or /proc/net/snmp: a line of names
/// followed by a line of values, both prefixed with `Section:`.
pub fn parse_netstat_section(text: &str, section: &str) -> BTreeMap<String, u64> {
    let prefix = format!("{section}:");
    let mut lines = text.lines().filter(|l| l.starts_with(&prefix));
    let (Some(names), Some(values)) = (lines.next(), lines.next()) else {
        return BTreeMap::new();
    };
    names
        .split_whitespace()
        .skip(1)
        .zip(values.split_whitespace().skip(1))
        .filter_map(|(n, v)| v.parse().ok().map(|v| (n.to_string(), v)))
        .collect()
}

#[cfg(test)]
mod tests {
    /// Found by the proc_net_tcp fuzz target: `tm->when` of FFFFFFFFFFFFFFFF overflowed the
    /// conversion to milliseconds (a panic in debug builds, a wrong time in release).
    #[test]
    fn fuzz_proc_net_tcp_timer_overflow() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:0016 00000000:0000 0A 00000000:00000000 01:FFFFFFFFFFFFFFFF 00000000     0        0 12345 1\n";
        let (socks, errors) = super::parse_proc_net_tcp(text, crate::model::socket::Family::Inet);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            socks[0].timer.as_ref().map(|t| t.expires_ms),
            Some(u64::MAX)
        );
    }

    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 123456 1 0000000000000000 100 0 0 10 0
   1: 0100007F:A2C4 0100007F:0CEA 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000
   2: 0100007F:0CEA 0100007F:A2C6 08 00000005:00000003 00:00000000 00000000  1000        0 777 1 0000000000000000 20 4 30 10 -1
";

    #[cfg(target_endian = "little")]
    #[test]
    fn parses_proc_net_tcp() {
        let (socks, errs) = parse_proc_net_tcp(TCP, Family::Inet);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(socks.len(), 3);
        assert_eq!(socks[0].state, TcpState::Listen);
        assert_eq!(socks[0].local.to_string(), "127.0.0.1:3306");
        assert_eq!(socks[0].inode, 123456);
        assert_eq!(socks[0].uid, 1000);
        assert!(
            !socks[0].send_q_known() && socks[0].recv_q_known(),
            "a listener's backlog is not in /proc/net/tcp; its accept queue is"
        );
        let tw = &socks[1];
        assert_eq!(tw.state, TcpState::TimeWait);
        assert_eq!(
            tw.timer,
            Some(Timer {
                kind: TimerKind::TimeWait,
                expires_ms: 60_000,
                retrans: 0
            })
        );
        assert!(tw.is_kernel_owned());
        assert_eq!(socks[2].state, TcpState::CloseWait);
        assert_eq!((socks[2].recv_q, socks[2].send_q), (3, 5));
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn parses_proc_net_tcp6_and_maps_v4() {
        let text = "header\n   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0\n   1: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000100007F:C000 01 00000000:00000000 02:000AFC80 00000000  1000        0 100 1 0\n";
        let (socks, errs) = parse_proc_net_tcp(text, Family::Inet6);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(socks[0].local.to_string(), "[::1]:22");
        assert_eq!(socks[1].local.to_string(), "127.0.0.1:8080");
        assert_eq!(socks[1].family, Family::Inet6);
        assert_eq!(socks[1].timer.unwrap().kind, TimerKind::Keepalive);
    }

    #[test]
    fn bad_lines_are_errors_not_panics() {
        let text = "hdr\n 0: zz:zz\n 1: 0100007F:0CEA 00000000:0000 FF 0:0 0:0 0 0 0 1\n";
        let (socks, errs) = parse_proc_net_tcp(text, Family::Inet);
        assert!(socks.is_empty());
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[1].line, 3);
    }

    #[test]
    fn a_socket_listed_twice_while_the_table_changed_is_one() {
        let header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
        let est = "   0: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 5555 1 0000000000000000 20 4 30 10 -1\n";
        let listener = |inode: u32| {
            format!("   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 {inode} 1 0000000000000000 100 0 0 10 0\n")
        };
        let text = format!("{header}{est}{}{est}{}", listener(7), listener(8));
        let (socks, errors) = parse_proc_net_tcp(&text, Family::Inet);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            socks.len(),
            3,
            "the repeat dropped, both reuseport listeners kept"
        );
    }

    #[test]
    fn parses_port_range() {
        assert_eq!(parse_port_range("32768\t60999\n"), Some((32768, 60999)));
        assert_eq!(parse_port_range("1024 65535"), Some((1024, 65535)));
        assert_eq!(parse_port_range("x y"), None);
        assert_eq!(parse_port_range("80"), None);
    }

    #[test]
    fn parses_sockstat() {
        let s =
            "sockets: used 290\nTCP: inuse 7 orphan 1 tw 52 alloc 12 mem 3\nUDP: inuse 2 mem 1\n";
        let s6 = "TCP6: inuse 4\nUDP6: inuse 1\n";
        let st = parse_sockstat(s, s6);
        assert_eq!(
            st,
            SockStat {
                sockets_used: 290,
                tcp_inuse: 7,
                tcp_orphan: 1,
                tcp_tw: 52,
                tcp_alloc: 12,
                tcp_mem_pages: 3,
                tcp6_inuse: 4
            }
        );
    }

    #[test]
    fn parses_netstat_section() {
        let text = "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 0 17 19\nIpExt: InNoRoutes\nIpExt: 3\n";
        let m = parse_netstat_section(text, "TcpExt");
        assert_eq!(m.get("ListenOverflows"), Some(&17));
        assert_eq!(m.get("ListenDrops"), Some(&19));
        assert!(parse_netstat_section(text, "Nope").is_empty());
    }
}
