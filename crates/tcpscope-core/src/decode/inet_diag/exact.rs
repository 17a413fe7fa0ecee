//! Requests about exactly one socket, named by its [`SocketId`] (4-tuple, interface, cookie):
//! a lookup of its current record, and SOCK_DESTROY (what `ss -K` sends). `tcpscope release`
//! looks each socket up again just before acting on it, and destroys it by the same id, so a
//! later connection on the same 4-tuple (another cookie) is never touched.

use super::{
    align4, ext_mask, i32_at, parse_diag_msg, push_header, push_req, u16_at, u32_at, NLMSG_DONE,
    NLMSG_ERROR, NLMSG_HDRLEN, NLM_F_ACK, NLM_F_REQUEST, REQ_LEN, SOCK_DESTROY,
    SOCK_DIAG_BY_FAMILY,
};
use crate::model::socket::{Endpoint, Family, Socket};
use std::net::IpAddr;

/// The kernel's name for one socket (`inet_diag_sockid`): enough to find exactly that socket
/// again, and only it — the cookie tells a socket from a later one on the same 4-tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketId {
    pub family: Family,
    pub local: Endpoint,
    pub peer: Endpoint,
    pub ifindex: u32,
    /// 0 means "any socket on this 4-tuple" (sent as INET_DIAG_NOCOOKIE).
    pub cookie: u64,
}

impl SocketId {
    /// The id of `s` as it was read (cookie included).
    pub fn of(s: &Socket) -> SocketId {
        SocketId {
            family: s.family,
            local: s.local,
            peer: s.peer,
            ifindex: s.ifindex,
            cookie: s.cookie,
        }
    }

    /// The other end of the same connection, were it on this host (any cookie).
    pub fn reversed(&self) -> SocketId {
        SocketId {
            local: self.peer,
            peer: self.local,
            cookie: 0,
            ..*self
        }
    }
}

/// Encode a request for exactly one socket: its current record (`SOCK_DIAG_BY_FAMILY` without
/// NLM_F_DUMP; the kernel answers with the socket, or an error: ENOENT when no socket has that
/// 4-tuple, ESTALE when one has but its cookie differs).
pub fn encode_lookup(id: &SocketId, want_info: bool, seq: u32) -> Vec<u8> {
    encode_exact(SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, id, want_info, seq)
}

/// Encode SOCK_DESTROY for exactly one socket (`ss -K`): the kernel aborts it (tcp_abort) and
/// acknowledges with error 0, or refuses (EPERM without CAP_NET_ADMIN in the socket's network
/// namespace, EOPNOTSUPP without CONFIG_INET_DIAG_DESTROY, ENOENT / ESTALE as for a lookup).
pub fn encode_destroy(id: &SocketId, seq: u32) -> Vec<u8> {
    encode_exact(SOCK_DESTROY, NLM_F_REQUEST | NLM_F_ACK, id, false, seq)
}

fn encode_exact(kind: u16, flags: u16, id: &SocketId, want_info: bool, seq: u32) -> Vec<u8> {
    let total = NLMSG_HDRLEN + REQ_LEN;
    let mut b = Vec::with_capacity(total);
    push_header(&mut b, total, kind, flags, seq);
    push_req(&mut b, id.family, ext_mask(want_info, false), u32::MAX);
    b.extend_from_slice(&id.local.port.to_be_bytes());
    b.extend_from_slice(&id.peer.port.to_be_bytes());
    push_addr(&mut b, id.family, id.local.addr);
    push_addr(&mut b, id.family, id.peer.addr);
    b.extend_from_slice(&id.ifindex.to_ne_bytes());
    let (lo, hi) = match id.cookie {
        0 => (u32::MAX, u32::MAX), // INET_DIAG_NOCOOKIE
        c => (c as u32, (c >> 32) as u32),
    };
    b.extend_from_slice(&lo.to_ne_bytes());
    b.extend_from_slice(&hi.to_ne_bytes());
    b
}

/// An address as the 16 bytes of `idiag_src`/`idiag_dst`. Endpoints hold IPv4-mapped addresses
/// as IPv4, so an inet6 socket's are mapped back (the kernel then looks in the IPv4 tables).
fn push_addr(b: &mut Vec<u8>, family: Family, addr: IpAddr) {
    let bytes: [u8; 16] = match (family, addr) {
        (Family::Inet, IpAddr::V4(a)) => {
            let mut x = [0u8; 16];
            x[..4].copy_from_slice(&a.octets());
            x
        }
        (Family::Inet, IpAddr::V6(a)) => a.to_ipv4_mapped().map_or([0u8; 16], |v4| {
            let mut x = [0u8; 16];
            x[..4].copy_from_slice(&v4.octets());
            x
        }),
        (Family::Inet6, IpAddr::V4(a)) => a.to_ipv6_mapped().octets(),
        (Family::Inet6, IpAddr::V6(a)) => a.octets(),
    };
    b.extend_from_slice(&bytes);
}

/// The answer to an exact request ([`encode_lookup`], [`encode_destroy`]).
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum ExactReply {
    Socket(Socket),
    /// Success without data (the ACK of SOCK_DESTROY).
    Ack,
    /// The kernel's error, as a positive errno.
    Error(i32),
    /// A reply that could not be understood.
    Malformed(String),
}

/// The reply to request `seq` in a received buffer; `None` when the buffer holds none (keep
/// receiving: it may carry the answer to an earlier request).
pub fn parse_exact_reply(buf: &[u8], seq: u32) -> Option<ExactReply> {
    let mut off = 0;
    while off + NLMSG_HDRLEN <= buf.len() {
        let len = u32_at(buf, off) as usize;
        if len < NLMSG_HDRLEN || off + len > buf.len() {
            return Some(ExactReply::Malformed(format!(
                "netlink message of length {len} at offset {off} overruns the buffer"
            )));
        }
        let payload = &buf[off + NLMSG_HDRLEN..off + len];
        if u32_at(buf, off + 8) == seq {
            return Some(match u16_at(buf, off + 4) {
                SOCK_DIAG_BY_FAMILY => match parse_diag_msg(payload) {
                    Ok(s) => ExactReply::Socket(s),
                    Err(why) => ExactReply::Malformed(why),
                },
                NLMSG_ERROR | NLMSG_DONE if payload.len() >= 4 => match i32_at(payload, 0) {
                    0 => ExactReply::Ack,
                    e => ExactReply::Error(e.saturating_neg()),
                },
                NLMSG_DONE => ExactReply::Ack,
                kind => ExactReply::Malformed(format!("unexpected netlink message type {kind}")),
            });
        }
        off += align4(len);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::tests::{done, msg};
    use super::super::{AF_INET, AF_INET6, IPPROTO_TCP};
    use super::*;
    use crate::model::state::TcpState;
    use std::net::Ipv6Addr;

    fn id(family: Family, local: &str, peer: &str, cookie: u64) -> SocketId {
        let ep = |t: &str| {
            let a: std::net::SocketAddr = t.parse().unwrap();
            Endpoint::new(a.ip(), a.port())
        };
        SocketId {
            family,
            local: ep(local),
            peer: ep(peer),
            ifindex: 3,
            cookie,
        }
    }

    #[test]
    fn exact_requests_name_one_socket() {
        let i = id(
            Family::Inet,
            "127.0.0.1:5555",
            "10.1.2.3:40000",
            0x1_dead_beef,
        );
        let r = encode_lookup(&i, true, 9);
        assert_eq!(r.len(), 72);
        assert_eq!(u16_at(&r, 4), SOCK_DIAG_BY_FAMILY);
        assert_eq!(u16_at(&r, 6), NLM_F_REQUEST, "not a dump");
        assert_eq!(u32_at(&r, 8), 9);
        assert_eq!(
            &r[16..20],
            &[AF_INET, IPPROTO_TCP, ext_mask(true, false), 0]
        );
        assert_eq!(&r[24..28], &[0x15, 0xb3, 0x9c, 0x40], "ports big-endian");
        assert_eq!(&r[28..32], &[127, 0, 0, 1]);
        assert_eq!(&r[32..44], &[0; 12]);
        assert_eq!(&r[44..48], &[10, 1, 2, 3]);
        assert_eq!(u32_at(&r, 60), 3, "ifindex");
        assert_eq!((u32_at(&r, 64), u32_at(&r, 68)), (0xdead_beef, 1));

        let d = encode_destroy(&i, 10);
        assert_eq!(u16_at(&d, 4), SOCK_DESTROY);
        assert_eq!(u16_at(&d, 6), NLM_F_REQUEST | NLM_F_ACK);
        assert_eq!(d[18], 0, "no tcp_info asked with a destroy");
        assert_eq!(&d[24..], &r[24..], "the same socket id");

        // No cookie: INET_DIAG_NOCOOKIE. The reverse id swaps the ends.
        let rev = encode_lookup(&i.reversed(), false, 1);
        assert_eq!((u32_at(&rev, 64), u32_at(&rev, 68)), (u32::MAX, u32::MAX));
        assert_eq!(&rev[28..32], &[10, 1, 2, 3]);
        assert_eq!(&rev[24..26], &40000u16.to_be_bytes());
    }

    #[test]
    fn inet6_sockets_get_mapped_addresses_back() {
        // Endpoints store ::ffff:127.0.0.1 as 127.0.0.1; the kernel needs the mapped form.
        let i = id(Family::Inet6, "[::ffff:127.0.0.1]:80", "[::1]:40000", 5);
        let r = encode_destroy(&i, 1);
        assert_eq!(r[16], AF_INET6);
        let mut mapped = [0u8; 16];
        mapped[10] = 0xff;
        mapped[11] = 0xff;
        mapped[12..].copy_from_slice(&[127, 0, 0, 1]);
        assert_eq!(&r[28..44], &mapped);
        assert_eq!(&r[44..60], &Ipv6Addr::LOCALHOST.octets());
    }

    #[test]
    fn exact_replies() {
        let err = |errno: i32, seq: u32| {
            let mut m = done(errno);
            m[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
            m[8..12].copy_from_slice(&seq.to_ne_bytes());
            m
        };
        assert_eq!(parse_exact_reply(&err(0, 4), 4), Some(ExactReply::Ack));
        assert_eq!(
            parse_exact_reply(&err(-2, 4), 4),
            Some(ExactReply::Error(2))
        );
        // An answer to another request is passed over.
        assert_eq!(parse_exact_reply(&err(-2, 3), 4), None);
        let both = [err(-1, 3), err(-116, 4)].concat();
        assert_eq!(parse_exact_reply(&both, 4), Some(ExactReply::Error(116)));
        // msg() uses seq 1.
        let Some(ExactReply::Socket(s)) = parse_exact_reply(&msg(8, 0, 0, 77, &[]), 1) else {
            panic!("a socket record")
        };
        assert_eq!((s.state, s.inode), (TcpState::CloseWait, 77));
        assert!(matches!(
            parse_exact_reply(&msg(8, 0, 0, 77, &[])[..40], 1),
            Some(ExactReply::Malformed(_))
        ));
    }
}
