//! Addresses exactly as `ss -tan` prints them, so the Local and Peer columns of the two tools
//! can be compared character for character:
//!
//! * IPv4: dotted, the wildcard too (`0.0.0.0:22`);
//! * IPv6: bracketed (`[::1]:22`), as glibc's inet_ntop writes it (`[::ffff:127.0.0.1]:8080` for
//!   an IPv4-mapped address, which the model keeps as IPv4 with family inet6);
//! * the IPv6 wildcard is `[::]` on a socket that is IPv6-only and `*` on a dual-stack one (it
//!   takes IPv4 connections too): `[::]:22` and `*:22` are different listeners;
//! * a socket bound to a device carries it after its local address: `127.0.0.1%lo:52947`,
//!   `[fe80::1]%eth0:22` (the scope of a link-local address is that device);
//! * port 0 is `*`.

use crate::decode::names::Names;
use crate::model::socket::{Endpoint, Family, Socket};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv6Addr};

/// Which end of the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Local,
    Peer,
}

/// Append the address and port of one end of `s` as ss prints them (with names from
/// /etc/hosts and /etc/services when `names` is given, as `ss -r`).
pub fn push_address(out: &mut String, s: &Socket, side: Side, names: Option<&Names>) {
    let e = match side {
        Side::Local => &s.local,
        Side::Peer => &s.peer,
    };
    match names.and_then(|n| n.host(e.addr)) {
        Some(host) => crate::render::safe::push_terminal_safe(out, host),
        None => push_host(out, e, s.family, s.v6only),
    }
    if side == Side::Local && s.ifindex != 0 {
        out.push('%');
        match &s.dev {
            Some(dev) => crate::render::safe::push_terminal_safe(out, dev),
            // ss's fallback for an index it cannot name.
            None => {
                let _ = write!(out, "if{}", s.ifindex);
            }
        }
    }
    out.push(':');
    match (e.port, names.and_then(|n| n.service(e.port))) {
        (0, _) => out.push('*'),
        (_, Some(svc)) => crate::render::safe::push_terminal_safe(out, svc),
        (p, None) => {
            let _ = write!(out, "{p}");
        }
    }
}

/// [`push_address`] into a new string.
pub fn address_text(s: &Socket, side: Side, names: Option<&Names>) -> String {
    let mut out = String::new();
    push_address(&mut out, s, side, names);
    out
}

fn push_host(out: &mut String, e: &Endpoint, family: Family, v6only: Option<bool>) {
    match (family, e.addr) {
        (Family::Inet, IpAddr::V4(a)) => {
            let _ = write!(out, "{a}");
        }
        // A wildcard that takes IPv4 as well (IPV6_V6ONLY off, or not reported).
        (Family::Inet6, IpAddr::V6(a)) if a.is_unspecified() && v6only != Some(true) => {
            out.push('*')
        }
        (Family::Inet6, IpAddr::V6(a)) => push_bracketed(out, a),
        // The model holds IPv4-mapped addresses of inet6 sockets as IPv4.
        (_, IpAddr::V4(a)) => push_bracketed(out, a.to_ipv6_mapped()),
        (Family::Inet, IpAddr::V6(a)) => push_bracketed(out, a),
    }
}

/// `[ADDR]` with ADDR as glibc's inet_ntop writes it. Rust's own form differs in one case:
/// an IPv4-compatible address (`::a.b.c.d`, six leading zero groups) keeps its dotted tail.
fn push_bracketed(out: &mut String, a: Ipv6Addr) {
    let w = a.segments();
    out.push('[');
    if w[..6] == [0; 6] && w[6] != 0 {
        let [_, _, _, _, _, _, _, _, _, _, _, _, b0, b1, b2, b3] = a.octets();
        let _ = write!(out, "::{b0}.{b1}.{b2}.{b3}");
    } else {
        let _ = write!(out, "{a}");
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::state::TcpState;

    fn sock(family: Family, local: &str, peer: &str) -> Socket {
        let ep = |s: &str| {
            let (a, p) = s.rsplit_once(':').unwrap();
            let a = a.trim_start_matches('[').trim_end_matches(']');
            Endpoint::new(a.parse().unwrap(), p.parse().unwrap())
        };
        Socket::new(TcpState::Listen, family, ep(local), ep(peer))
    }

    fn both(s: &Socket) -> (String, String) {
        (
            address_text(s, Side::Local, None),
            address_text(s, Side::Peer, None),
        )
    }

    #[test]
    fn addresses_print_as_ss_prints_them() {
        let v4 = sock(Family::Inet, "0.0.0.0:22", "0.0.0.0:0");
        assert_eq!(both(&v4), ("0.0.0.0:22".into(), "0.0.0.0:*".into()));

        let mut dual = sock(Family::Inet6, "[::]:22", "[::]:0");
        dual.v6only = Some(false);
        assert_eq!(both(&dual), ("*:22".into(), "*:*".into()));
        dual.v6only = None;
        assert_eq!(both(&dual), ("*:22".into(), "*:*".into()), "ss's default");

        let mut v6only = sock(Family::Inet6, "[::]:22", "[::]:0");
        v6only.v6only = Some(true);
        assert_eq!(both(&v6only), ("[::]:22".into(), "[::]:*".into()));

        let mapped = sock(
            Family::Inet6,
            "[::ffff:127.0.0.1]:8080",
            "[::ffff:10.0.0.9]:40000",
        );
        assert_eq!(
            both(&mapped),
            (
                "[::ffff:127.0.0.1]:8080".into(),
                "[::ffff:10.0.0.9]:40000".into()
            )
        );

        let mut bound = sock(Family::Inet, "127.0.0.1:52947", "127.0.0.1:80");
        bound.ifindex = 1;
        bound.dev = Some("lo".into());
        assert_eq!(
            both(&bound),
            ("127.0.0.1%lo:52947".into(), "127.0.0.1:80".into())
        );
        bound.dev = None;
        assert_eq!(
            address_text(&bound, Side::Local, None),
            "127.0.0.1%if1:52947"
        );

        let mut link_local = sock(Family::Inet6, "[fe80::1]:22", "[fe80::2]:50000");
        link_local.ifindex = 3;
        link_local.dev = Some("eth0".into());
        assert_eq!(
            both(&link_local),
            ("[fe80::1]%eth0:22".into(), "[fe80::2]:50000".into())
        );

        let compat = sock(Family::Inet6, "[::2.0.0.1]:1", "[::1]:2");
        assert_eq!(both(&compat), ("[::2.0.0.1]:1".into(), "[::1]:2".into()));
        let long = sock(Family::Inet6, "[2001:db8:0:0:1:0:0:1]:1", "[2001:db8::]:2");
        assert_eq!(
            both(&long),
            ("[2001:db8::1:0:0:1]:1".into(), "[2001:db8::]:2".into())
        );
    }

    #[test]
    fn names_replace_numbers_when_asked() {
        let names = Names::parse("127.0.0.1 localhost\n", "ssh 22/tcp\n");
        let s = sock(Family::Inet, "127.0.0.1:22", "127.0.0.1:40000");
        assert_eq!(address_text(&s, Side::Local, Some(&names)), "localhost:ssh");
        assert_eq!(
            address_text(&s, Side::Peer, Some(&names)),
            "localhost:40000"
        );
    }
}
