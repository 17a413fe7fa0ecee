//! Operands of conditions, read the way ss (and iproute2) reads them: hosts and prefixes
//! (`10/8`, `[::1]:22`, `2001:db8::/32:80`), ports (`:22`, `:ssh`, C-style numbers), marks and
//! timer names. Each returns a message saying what was expected; the parser adds the column.

use super::ast::{HostCond, Prefix};
use super::Resolver;
use crate::model::socket::{Family, TimerKind};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub(super) fn parse_timer(v: &str) -> Option<Option<TimerKind>> {
    Some(match v.to_ascii_lowercase().as_str() {
        "none" | "off" => None,
        "on" | "retransmit" | "retrans" => Some(TimerKind::Retransmit),
        "keepalive" => Some(TimerKind::Keepalive),
        "timewait" | "time-wait" => Some(TimerKind::TimeWait),
        "persist" | "zero-window-probe" | "probe" => Some(TimerKind::ZeroWindowProbe),
        "delack" | "delayed-ack" => Some(TimerKind::DelayedAck),
        _ => return None,
    })
}

/// A C integer as `strtoul(s, .., 0)` reads it: `0x` hex, leading `0` octal, else decimal.
pub(crate) fn parse_c_int(s: &str) -> Option<u64> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

pub(super) fn parse_markmask(v: &str) -> Option<(u32, u32)> {
    let num = |s: &str| parse_c_int(s).and_then(|n| u32::try_from(n).ok());
    match v.split_once('/') {
        Some((m, k)) => Some((num(m)?, num(k)?)),
        None => Some((num(v)?, u32::MAX)),
    }
}

/// A port as ss reads it: `:22`, `22`, `:ssh` (from the resolver), `*` / `:*` / empty = any.
fn parse_port_str(p: &str, resolver: &dyn Resolver) -> Result<Option<u16>, String> {
    if p.is_empty() || p == "*" {
        return Ok(None);
    }
    if let Some(n) = parse_c_int(p) {
        return u16::try_from(n)
            .map(Some)
            .map_err(|_| format!("port {p} is out of range; ports go from 0 to 65535"));
    }
    resolver
        .service(p)
        .map(Some)
        .ok_or_else(|| format!("'{p}' does not look like a port; expected a number like :22 or a name from /etc/services"))
}

/// The operand of sport/dport: the whole word is the port (a leading ':' is optional).
pub(super) fn parse_port_word(v: &str, resolver: &dyn Resolver) -> Result<Option<u16>, String> {
    parse_port_str(v.strip_prefix(':').unwrap_or(v), resolver)
}

/// IPv4 the way iproute2 reads it: 1 to 4 parts, each a C integer (`10/8`, `127.1`).
fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    let mut b = [0u8; 4];
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() > 4 {
        return None;
    }
    for (i, p) in parts.iter().enumerate() {
        b[i] = u8::try_from(parse_c_int(p)?).ok()?;
    }
    Some(Ipv4Addr::from(b))
}

/// `ADDR` or `ADDR/LEN` (IPv4 also `ADDR/NETMASK`).
fn parse_prefix(s: &str) -> Option<Prefix> {
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr = if a.contains(':') {
        IpAddr::V6(a.parse::<Ipv6Addr>().ok()?)
    } else {
        IpAddr::V4(parse_ipv4(a)?)
    };
    let full: u8 = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => full,
        Some(l) => match l.parse::<u8>() {
            Ok(n) if !l.starts_with('+') => n,
            _ if addr.is_ipv4() => {
                let m = u32::from(parse_ipv4(l).filter(|_| l.contains('.'))?);
                if m.leading_ones() + m.trailing_zeros() != 32 {
                    return None;
                }
                m.leading_ones() as u8
            }
            _ => return None,
        },
    };
    (len <= full).then_some(Prefix { addr, len })
}

fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && s.chars().any(|c| c.is_ascii_alphabetic())
}

/// ss's address prefixes for other kinds of socket, refused: tcpscope shows TCP only.
const OTHER_KINDS: &[(&str, &str)] = &[
    ("unix:", "Unix sockets: `ss -x`"),
    ("link:", "packet sockets: `ss -0`"),
    ("netlink:", "netlink sockets: `ss --netlink`"),
    ("vsock:", "vsock sockets: `ss --vsock`"),
    ("tipc:", "TIPC sockets: `ss --tipc`"),
    ("udp:", "UDP sockets: `ss -u`"),
];

/// A src/dst operand with ss's optional family prefix: `inet:ADDR` (IPv4 sockets only),
/// `inet6:ADDR` (IPv6 sockets only), and `tcp:ADDR` (all tcpscope's sockets are TCP, so it
/// only says so). The prefixes of other kinds of socket (`unix:`, `link:`, ...) are refused.
pub(crate) fn parse_host(word: &str, resolver: &dyn Resolver) -> Result<HostCond, String> {
    if let Some((prefix, what)) = OTHER_KINDS.iter().find(|(p, _)| word.starts_with(p)) {
        return Err(format!(
            "'{prefix}' addresses belong to other kinds of socket; tcpscope shows TCP sockets \
             only (for {what})"
        ));
    }
    let (family, rest) = if let Some(r) = word.strip_prefix("inet6:") {
        (Some(Family::Inet6), r)
    } else if let Some(r) = word.strip_prefix("inet:") {
        (Some(Family::Inet), r)
    } else if let Some(r) = word.strip_prefix("tcp:") {
        (None, r)
    } else {
        (None, word)
    };
    let mut cond = parse_plain_host(rest, resolver)?;
    let Some(family) = family else {
        return Ok(cond);
    };
    let of_family = |p: &Prefix| p.addr.is_ipv4() == (family == Family::Inet);
    let (prefix, other) = match family {
        Family::Inet => ("inet:", "inet6:"),
        Family::Inet6 => ("inet6:", "inet:"),
    };
    if cond.name.is_some() {
        cond.addrs.retain(of_family);
        if cond.addrs.is_empty() {
            return Err(format!(
                "'{rest}' has no address of the family '{prefix}' names"
            ));
        }
    } else if let Some(p) = cond.addrs.iter().find(|p| !of_family(p)) {
        return Err(format!(
            "'{prefix}' names {} sockets, and {} is not such an address (write {other}{})",
            if family == Family::Inet {
                "IPv4"
            } else {
                "IPv6"
            },
            p.addr,
            rest
        ));
    }
    cond.family = Some(family);
    Ok(cond)
}

/// A src/dst operand, split as ss splits it: `[ADDR]:PORT`, `*:PORT`, else at the last ':'
/// after any '/'. Where ss would fail on a bare IPv6 address (`::1`), the whole word is tried
/// as one address.
fn parse_plain_host(word: &str, resolver: &dyn Resolver) -> Result<HostCond, String> {
    let bad_port = || format!("'{word}': expected ':PORT' after the address, like [::1]:22");
    let (addr, port, bare) = if let Some(rest) = word.strip_prefix('[') {
        let close = rest
            .find(']')
            .ok_or_else(|| format!("'{word}' has '[' without ']'; write [::1] or [::1]:22"))?;
        let after = &rest[close + 1..];
        let port = match after {
            "" => None,
            a => Some(a.strip_prefix(':').ok_or_else(bad_port)?),
        };
        (&rest[..close], port, false)
    } else if let Some(rest) = word.strip_prefix('*') {
        let port = match rest {
            "" => None,
            r => Some(r.strip_prefix(':').ok_or_else(bad_port)?),
        };
        ("", port, false)
    } else {
        let from = word.find('/').unwrap_or(0);
        match word[from..].rfind(':') {
            Some(i) => (&word[..from + i], Some(&word[from + i + 1..]), true),
            None => (word, None, false),
        }
    };
    // Where ss's split fails on a bare IPv6 address (`::1`, `::ffff:1.2.3.4`), take the whole
    // word as one address.
    let whole_v6 = || {
        (bare && !word.contains('/'))
            .then(|| word.parse::<Ipv6Addr>().ok())
            .flatten()
            .map(|a| HostCond {
                family: None,
                name: None,
                addrs: vec![Prefix {
                    addr: IpAddr::V6(a),
                    len: 128,
                }],
                port: None,
            })
    };
    if addr.is_empty() {
        return match parse_port_str(port.unwrap_or(""), resolver) {
            Ok(port) => Ok(HostCond {
                family: None,
                name: None,
                addrs: Vec::new(),
                port,
            }),
            Err(e) => whole_v6().ok_or(e),
        };
    }
    if let Some(p) = parse_prefix(addr) {
        return match parse_port_str(port.unwrap_or(""), resolver) {
            Ok(port) => Ok(HostCond {
                family: None,
                name: None,
                addrs: vec![p],
                port,
            }),
            Err(e) => whole_v6().ok_or(e),
        };
    }
    if let Some(h) = whole_v6() {
        return Ok(h);
    }
    if is_host_name(addr) {
        let addrs: Vec<Prefix> = resolver
            .host(addr)
            .into_iter()
            .map(|a| Prefix {
                addr: a,
                len: if a.is_ipv4() { 32 } else { 128 },
            })
            .collect();
        if addrs.is_empty() {
            return Err(format!(
                "unknown host '{addr}'; tcpscope does not ask DNS: use an address, or a name from /etc/hosts"
            ));
        }
        let port = parse_port_str(port.unwrap_or(""), resolver)?;
        return Ok(HostCond {
            family: None,
            name: Some(addr.to_string()),
            addrs,
            port,
        });
    }
    Err(format!(
        "'{addr}' is not an address; expected e.g. 10.0.0.1, 10.0.0.0/8, [::1], 2001:db8::/32 or *"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::filter::NoResolver;

    #[test]
    fn numbers_read_like_c() {
        assert_eq!(parse_c_int("22"), Some(22));
        assert_eq!(parse_c_int("0x16"), Some(22));
        assert_eq!(parse_c_int("026"), Some(22));
        assert_eq!(parse_c_int("0"), Some(0));
        assert_eq!(parse_c_int("09"), None);
        assert_eq!(parse_c_int(""), None);
        assert_eq!(parse_c_int("-1"), None);
        assert_eq!(parse_markmask("0x10/0xff"), Some((0x10, 0xff)));
        assert_eq!(parse_markmask("7"), Some((7, u32::MAX)));
        assert_eq!(parse_markmask("0x1/"), None);
    }

    #[test]
    fn hosts_split_like_ss() {
        let h = |w: &str| parse_host(w, &NoResolver).map(|c| c.to_string());
        assert_eq!(
            h("127.1").unwrap(),
            "127.1.0.0",
            "iproute2 reads missing parts as 0"
        );
        assert_eq!(h("2001:db8::/32:80").unwrap(), "[2001:db8::/32]:80");
        assert_eq!(h("::ffff:1.2.3.4").unwrap(), "[::ffff:1.2.3.4]");
        assert_eq!(h("*:*").unwrap(), "*");
        assert!(h("[::1]x").is_err());
        assert!(h("10.0.0.0/255.0.255.0").is_err(), "non-contiguous mask");
        assert!(h("256.0.0.1").is_err());
    }

    #[test]
    fn family_prefixes_as_ss_and_other_kinds_refused() {
        let h = |w: &str| parse_host(w, &NoResolver);
        let c = h("inet:127.0.0.1:22").unwrap();
        assert_eq!((c.family, c.port), (Some(Family::Inet), Some(22)));
        assert_eq!(c.to_string(), "inet:127.0.0.1:22");
        assert_eq!(h("inet6:[::1]").unwrap().to_string(), "inet6:[::1]");
        assert_eq!(h("inet:*:22").unwrap().to_string(), "inet:*:22");
        assert_eq!(h("tcp:10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        let local = h("inet6:localhost").unwrap();
        assert!(local.addrs.iter().all(|p| p.addr.is_ipv6()), "{local:?}");
        assert!(h("inet:[::1]").unwrap_err().contains("inet6:"));
        assert!(h("inet6:127.0.0.1").is_err());
        for other in [
            "unix:/run/x.sock",
            "link:eth0",
            "netlink:kernel",
            "vsock:1",
            "udp:1.2.3.4",
        ] {
            let err = h(other).unwrap_err();
            assert!(err.contains("TCP sockets only"), "{other}: {err}");
        }
    }
}
