//! Endpoints as the tools print them: `127.0.0.1:80`, `[::1]:22`, `[fe80::1%12]:445`, `*:*`,
//! `:::8443` and `::1:35954` (net-tools, no brackets), `0.0.0.0:*` (the colon family: Linux
//! netstat and ss, Windows), and `10.0.0.1.22`, `*.*`, `fe80::1%lo0.49152` (the dot family: BSD,
//! macOS, AIX, Solaris). Names instead of numbers (`localhost.ipp`, `*:ssh`) are refused with
//! advice: a capture made without `-n` cannot be read back into addresses.

use crate::model::socket::{Endpoint, Family};
use std::net::IpAddr;

/// One printed endpoint: an address (`None` for the wildcard `*`) and a port (0 for `*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addr {
    pub ip: Option<IpAddr>,
    pub port: u16,
}

/// `ADDR:PORT` with the port after the last colon.
pub fn colon(s: &str) -> Result<Addr, String> {
    let (addr, port) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("'{s}' is not ADDRESS:PORT"))?;
    Ok(Addr {
        ip: ip(addr, s)?,
        port: port_number(port, s)?,
    })
}

/// `ADDR.PORT` with the port after the last dot.
pub fn dot(s: &str) -> Result<Addr, String> {
    let (addr, port) = s
        .rsplit_once('.')
        .ok_or_else(|| format!("'{s}' is not ADDRESS.PORT"))?;
    Ok(Addr {
        ip: ip(addr, s)?,
        port: port_number(port, s)?,
    })
}

fn port_number(port: &str, whole: &str) -> Result<u16, String> {
    if port == "*" {
        return Ok(0);
    }
    if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
        return port
            .parse()
            .map_err(|_| format!("port {port} in '{whole}' is out of range"));
    }
    Err(format!(
        "'{port}' in '{whole}' is a name, not a port number (capture with -n for numbers)"
    ))
}

/// An address with its brackets and `%zone` removed; `*` (or nothing) is the wildcard.
fn ip(addr: &str, whole: &str) -> Result<Option<IpAddr>, String> {
    let bare = match addr.strip_prefix('[') {
        Some(inner) => match inner.split_once(']') {
            Some((inside, _zone_after)) => inside,
            None => return Err(format!("'{whole}' has an unclosed '['")),
        },
        None => addr,
    };
    let bare = bare.split('%').next().unwrap_or(bare);
    if bare.is_empty() || bare == "*" {
        return Ok(None);
    }
    bare.parse::<IpAddr>().map(Some).map_err(|_| {
        if bare.chars().any(|c| c.is_ascii_alphabetic()) && !bare.contains(':') {
            format!("'{bare}' in '{whole}' is a host name, not an address (capture with -n for numbers)")
        } else {
            format!("'{bare}' in '{whole}' is not an IP address (cut short?)")
        }
    })
}

/// The family of a row: as its protocol says (`tcp6`), else from its addresses (an IPv6 address
/// anywhere makes it inet6), else inet.
pub fn family(said: Option<Family>, local: &Addr, peer: &Addr) -> Family {
    said.unwrap_or_else(|| {
        if [local.ip, peer.ip].iter().flatten().any(IpAddr::is_ipv6) {
            Family::Inet6
        } else {
            Family::Inet
        }
    })
}

/// The endpoint of `a` in `family` (the wildcard becomes that family's "any" address).
pub fn endpoint(a: &Addr, family: Family) -> Endpoint {
    Endpoint::new(a.ip.unwrap_or_else(|| family.unspecified()), a.port)
}

/// The family a protocol word names: `tcp6`/`tcp46`/`TCPv6` are inet6, `tcp4` inet, `tcp` says
/// nothing.
pub fn protocol_family(proto: &str) -> Option<Family> {
    let p = proto.to_ascii_lowercase();
    if p.ends_with('6') {
        Some(Family::Inet6)
    } else if p.ends_with('4') {
        Some(Family::Inet)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> (Option<String>, u16) {
        let a = colon(s).unwrap();
        (a.ip.map(|i| i.to_string()), a.port)
    }

    #[test]
    fn colon_forms() {
        assert_eq!(c("127.0.0.1:80"), (Some("127.0.0.1".into()), 80));
        assert_eq!(c("[::1]:22"), (Some("::1".into()), 22));
        assert_eq!(c("[fe80::1%12]:445"), (Some("fe80::1".into()), 445));
        assert_eq!(c("[fe80::1]%eth0:22"), (Some("fe80::1".into()), 22));
        assert_eq!(c("127.0.0.1%lo:53"), (Some("127.0.0.1".into()), 53));
        assert_eq!(c("*:*"), (None, 0));
        assert_eq!(c("0.0.0.0:*"), (Some("0.0.0.0".into()), 0));
        assert_eq!(c(":::*"), (Some("::".into()), 0));
        assert_eq!(c(":::8443"), (Some("::".into()), 8443));
        assert_eq!(c("::1:35954"), (Some("::1".into()), 35954));
        assert_eq!(
            c("[::ffff:127.0.0.1]:8443"),
            (Some("::ffff:127.0.0.1".into()), 8443)
        );
        assert!(colon("*:ssh").unwrap_err().contains("-n"));
        assert!(colon("localhost:80").unwrap_err().contains("host name"));
        assert!(colon("127.0.0.1:99999").unwrap_err().contains("range"));
        assert!(
            colon("fe80::1234:5678:9abc:de").is_err(),
            "an address cut short"
        );
        assert!(colon("noport").is_err());
        assert!(colon("[::1:22").is_err());
    }

    #[test]
    fn dot_forms() {
        let d = |s: &str| {
            let a = dot(s).unwrap();
            (a.ip.map(|i| i.to_string()), a.port)
        };
        assert_eq!(d("10.0.0.1.22"), (Some("10.0.0.1".into()), 22));
        assert_eq!(d("*.*"), (None, 0));
        assert_eq!(d("*.80"), (None, 80));
        assert_eq!(d("::1.25"), (Some("::1".into()), 25));
        assert_eq!(d("fe80::1%lo0.49152"), (Some("fe80::1".into()), 49152));
        assert!(dot("localhost.ipp").unwrap_err().contains("-n"));
    }

    #[test]
    fn families() {
        let v6 = colon("[::1]:1").unwrap();
        let any = colon("*:*").unwrap();
        assert_eq!(family(None, &v6, &any), Family::Inet6);
        assert_eq!(family(None, &any, &any), Family::Inet);
        assert_eq!(family(Some(Family::Inet6), &any, &any), Family::Inet6);
        assert_eq!(protocol_family("tcp46"), Some(Family::Inet6));
        assert_eq!(protocol_family("TCPv6"), Some(Family::Inet6));
        assert_eq!(protocol_family("tcp4"), Some(Family::Inet));
        assert_eq!(protocol_family("tcp"), None);
        assert_eq!(endpoint(&any, Family::Inet6).to_string(), "*:*");
    }
}
