//! Encoder and decoder for NETLINK_SOCK_DIAG messages of the inet family (`linux/inet_diag.h`).
//!
//! Hand-written on purpose: the existing crate drops the TIME_WAIT timer (`idiag_expires`) and
//! rejects tcp_info structs shorter than it expects. Here every message is parsed from bytes into
//! a [`Socket`], tcp_info of any length is read field by field within the length received, and
//! nothing touches the system — the collector in the binary does the socket I/O and hands the
//! received buffers to [`parse_buffer`]. Byte fixtures in the tests pin the layout.
//!
//! Besides dumps, [`exact`] encodes the two requests about exactly one socket ([`SocketId`]): a
//! lookup (is this socket, by cookie, still there, and in which state?) and SOCK_DESTROY
//! (`ss -K`), which `tcpscope release` sends; [`parse_exact_reply`] reads their answers.

use crate::model::socket::{Endpoint, Family, Socket, SocketMemory, TcpInfo, Timer, TimerKind};
use crate::model::state::TcpState;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

mod exact;
pub use exact::{encode_destroy, encode_lookup, parse_exact_reply, ExactReply, SocketId};

pub const NETLINK_SOCK_DIAG: i32 = 4;
pub const SOCK_DIAG_BY_FAMILY: u16 = 20;
pub const SOCK_DESTROY: u16 = 21;

pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLMSG_OVERRUN: u16 = 4;
pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_ROOT: u16 = 0x100;
pub const NLM_F_MATCH: u16 = 0x200;
pub const NLM_F_DUMP: u16 = NLM_F_ROOT | NLM_F_MATCH;
pub const NLM_F_DUMP_INTR: u16 = 0x10;

pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;
pub const IPPROTO_TCP: u8 = 6;

/// Request attribute carrying filter bytecode.
pub const INET_DIAG_REQ_BYTECODE: u16 = 1;
/// Reply attributes.
pub const INET_DIAG_INFO: u16 = 2;
pub const INET_DIAG_CONG: u16 = 4;
pub const INET_DIAG_SKMEMINFO: u16 = 7;
pub const INET_DIAG_SHUTDOWN: u16 = 8;
pub const INET_DIAG_SKV6ONLY: u16 = 11;
pub const INET_DIAG_MARK: u16 = 15;
pub const INET_DIAG_CGROUP_ID: u16 = 21;

const NLMSG_HDRLEN: usize = 16;
const REQ_LEN: usize = 56;
const MSG_LEN: usize = 72;

/// What to ask the kernel for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub family: Family,
    /// Kernel state bitmask (`1 << state`), see [`crate::model::state::StateSet::kernel_request_mask`].
    pub states: u32,
    /// Ask for tcp_info (INET_DIAG_INFO) and the congestion algorithm (INET_DIAG_CONG); costs
    /// ~20% more time.
    pub want_info: bool,
    /// Ask for socket memory (INET_DIAG_SKMEMINFO, `ls -m`).
    pub want_memory: bool,
    /// Compiled `inet_diag_bc_op` program the kernel runs on each socket, if any.
    pub bytecode: Option<Vec<u8>>,
    pub seq: u32,
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Encode a SOCK_DIAG_BY_FAMILY dump request (nlmsghdr + inet_diag_req_v2 + optional bytecode).
pub fn encode_request(req: &Request) -> Vec<u8> {
    let bc_len = req.bytecode.as_ref().map_or(0, |b| 4 + align4(b.len()));
    let total = NLMSG_HDRLEN + REQ_LEN + bc_len;
    let mut b = Vec::with_capacity(total);
    push_header(
        &mut b,
        total,
        SOCK_DIAG_BY_FAMILY,
        NLM_F_REQUEST | NLM_F_DUMP,
        req.seq,
    );
    push_req(
        &mut b,
        req.family,
        ext_mask(req.want_info, req.want_memory),
        req.states,
    );
    b.extend_from_slice(&[0u8; 48]); // inet_diag_sockid: wildcard for a dump
    if let Some(code) = &req.bytecode {
        b.extend_from_slice(&((4 + code.len()) as u16).to_ne_bytes());
        b.extend_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
        b.extend_from_slice(code);
        b.resize(total, 0);
    }
    b
}

fn push_header(b: &mut Vec<u8>, total: usize, kind: u16, flags: u16, seq: u32) {
    b.extend_from_slice(&(total as u32).to_ne_bytes());
    b.extend_from_slice(&kind.to_ne_bytes());
    b.extend_from_slice(&flags.to_ne_bytes());
    b.extend_from_slice(&seq.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes()); // pid: the kernel
}

/// The fixed part of `inet_diag_req_v2` before the socket id.
/// The `idiag_ext` bitmask, (1 << (attr - 1)) per attribute asked for. INET_DIAG_SHUTDOWN,
/// SKV6ONLY (listening and closed inet6 sockets) and CGROUP_ID always come, unasked.
pub(crate) fn ext_mask(want_info: bool, want_memory: bool) -> u8 {
    let mut ext = 0u8;
    if want_info {
        ext |= 1 << (INET_DIAG_INFO - 1) | 1 << (INET_DIAG_CONG - 1);
    }
    if want_memory {
        ext |= 1 << (INET_DIAG_SKMEMINFO - 1);
    }
    ext
}

fn push_req(b: &mut Vec<u8>, family: Family, ext: u8, states: u32) {
    b.push(match family {
        Family::Inet => AF_INET,
        Family::Inet6 => AF_INET6,
    });
    b.push(IPPROTO_TCP);
    b.push(ext);
    b.push(0); // pad
    b.extend_from_slice(&states.to_ne_bytes());
}

/// One item found in a received buffer. Items are handed to a callback one at a time and never
/// stored, so the large `Socket` variant is not boxed (a heap allocation per socket would cost
/// more than decoding it).
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Item {
    Socket(Socket),
    /// NLMSG_DONE: the dump is complete. The kernel may put an error in it (negative errno).
    Done {
        error: i32,
    },
    /// NLMSG_ERROR with a negative errno (0 is an ACK and is skipped).
    Error {
        errno: i32,
    },
    /// A message whose socket record could not be understood; the dump goes on.
    Skipped {
        reason: String,
    },
}

/// Facts about a received buffer as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BufferFlags {
    /// Some message carried NLM_F_DUMP_INTR: the socket tables changed during the dump, so the
    /// result may miss or repeat sockets.
    pub interrupted: bool,
}

/// Decode every netlink message in `buf` (one `recv`), calling `each` for each item in order.
/// `each` returns false to stop early. Malformed framing ends the buffer with a `Skipped`.
pub fn parse_buffer(buf: &[u8], mut each: impl FnMut(Item) -> bool) -> BufferFlags {
    let mut flags = BufferFlags::default();
    let mut off = 0;
    while off + NLMSG_HDRLEN <= buf.len() {
        let len = u32_at(buf, off) as usize;
        let kind = u16_at(buf, off + 4);
        let nl_flags = u16_at(buf, off + 6);
        if len < NLMSG_HDRLEN || off + len > buf.len() {
            each(Item::Skipped {
                reason: format!(
                    "netlink message of length {len} at offset {off} overruns the buffer"
                ),
            });
            break;
        }
        if nl_flags & NLM_F_DUMP_INTR != 0 {
            flags.interrupted = true;
        }
        let payload = &buf[off + NLMSG_HDRLEN..off + len];
        let item = match kind {
            NLMSG_DONE => Item::Done {
                error: if payload.len() >= 4 {
                    i32_at(payload, 0)
                } else {
                    0
                },
            },
            NLMSG_ERROR => {
                let errno = if payload.len() >= 4 {
                    i32_at(payload, 0)
                } else {
                    0
                };
                if errno == 0 {
                    off += align4(len);
                    continue;
                }
                Item::Error { errno }
            }
            SOCK_DIAG_BY_FAMILY => match parse_diag_msg(payload) {
                Ok(s) => Item::Socket(s),
                Err(reason) => Item::Skipped { reason },
            },
            NLMSG_OVERRUN => Item::Error {
                errno: -libc_enobufs(),
            },
            _ => {
                off += align4(len);
                continue;
            }
        };
        let stop = matches!(item, Item::Done { .. } | Item::Error { .. });
        if !each(item) || stop {
            break;
        }
        off += align4(len);
    }
    flags
}

fn libc_enobufs() -> i32 {
    105
}

/// Decode one `inet_diag_msg` and its attributes.
pub fn parse_diag_msg(p: &[u8]) -> Result<Socket, String> {
    if p.len() < MSG_LEN {
        return Err(format!(
            "inet_diag_msg of {} bytes, expected at least {MSG_LEN}",
            p.len()
        ));
    }
    let family = match p[0] {
        AF_INET => Family::Inet,
        AF_INET6 => Family::Inet6,
        f => return Err(format!("address family {f} is not inet or inet6")),
    };
    let state =
        TcpState::from_kernel(p[1]).ok_or_else(|| format!("unknown TCP state number {}", p[1]))?;
    let timer_code = p[2];
    let retrans = p[3];
    // inet_diag_sockid at offset 4: sport, dport (big-endian), src[16], dst[16], if, cookie[2].
    let sport = u16::from_be_bytes([p[4], p[5]]);
    let dport = u16::from_be_bytes([p[6], p[7]]);
    let src = addr_at(p, 8, family);
    let dst = addr_at(p, 24, family);
    let ifindex = u32_at(p, 40);
    let cookie = u64::from(u32_at(p, 44)) | u64::from(u32_at(p, 48)) << 32;
    let expires = u32_at(p, 52);
    let rqueue = u32_at(p, 56);
    let wqueue = u32_at(p, 60);
    let uid = u32_at(p, 64);
    let inode = u32_at(p, 68);

    let mut socket = Socket {
        recv_q: rqueue,
        send_q: wqueue,
        timer: TimerKind::from_kernel(timer_code).map(|kind| Timer {
            kind,
            expires_ms: u64::from(expires),
            retrans: u32::from(retrans),
        }),
        uid,
        inode: u64::from(inode),
        cookie,
        ifindex,
        ..Socket::new(
            state,
            family,
            Endpoint::new(src, sport),
            Endpoint::new(dst, dport),
        )
    };

    let mut off = MSG_LEN;
    while off + 4 <= p.len() {
        let alen = u16_at(p, off) as usize;
        let atype = u16_at(p, off + 2) & 0x3fff; // strip NLA_F_NESTED / NLA_F_NET_BYTEORDER
        if alen < 4 || off + alen > p.len() {
            break;
        }
        let data = &p[off + 4..off + alen];
        match atype {
            INET_DIAG_INFO => socket.tcp_info = Some(parse_tcp_info(data)),
            INET_DIAG_SHUTDOWN if !data.is_empty() => socket.shutdown = Some(data[0]),
            INET_DIAG_MARK if data.len() >= 4 => socket.mark = Some(u32_at(data, 0)),
            INET_DIAG_SKV6ONLY if !data.is_empty() => socket.v6only = Some(data[0] != 0),
            INET_DIAG_CGROUP_ID if data.len() >= 8 => socket.cgroup_id = Some(u64_at(data, 0)),
            INET_DIAG_CONG => socket.congestion = c_string(data),
            INET_DIAG_SKMEMINFO => socket.memory = parse_skmeminfo(data),
            _ => {}
        }
        off += align4(alen);
    }
    if socket.state == TcpState::Listen {
        if let Some(info) = &mut socket.tcp_info {
            keep_what_a_listener_has(info);
        }
    }
    Ok(socket)
}

/// A listener sends and receives no data, so the kernel's tcp_info for it holds ages counted
/// from nothing (`last-send 0.0s`) and an rtt of 0: not measurements. Keep only the settings.
fn keep_what_a_listener_has(info: &mut TcpInfo) {
    *info = TcpInfo {
        rto_us: info.rto_us,
        snd_mss: info.snd_mss,
        rcv_mss: info.rcv_mss,
        advmss: info.advmss,
        options: info.options,
        ..TcpInfo::default()
    };
}

/// A NUL-terminated string attribute (INET_DIAG_CONG), `None` when empty or not UTF-8.
fn c_string(data: &[u8]) -> Option<String> {
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    std::str::from_utf8(&data[..end])
        .ok()
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// INET_DIAG_SKMEMINFO: `u32 meminfo[SK_MEMINFO_VARS]`, eight values, nine since Linux 4.6.
pub fn parse_skmeminfo(d: &[u8]) -> Option<SocketMemory> {
    let at = |i: usize| d.get(i * 4..i * 4 + 4).map(|_| u32_at(d, i * 4));
    Some(SocketMemory {
        rmem_alloc: at(0)?,
        rcvbuf: at(1)?,
        wmem_alloc: at(2)?,
        sndbuf: at(3)?,
        fwd_alloc: at(4)?,
        wmem_queued: at(5)?,
        optmem: at(6)?,
        backlog: at(7)?,
        drops: at(8).unwrap_or(0),
    })
}

fn addr_at(p: &[u8], off: usize, family: Family) -> IpAddr {
    match family {
        Family::Inet => IpAddr::V4(Ipv4Addr::new(p[off], p[off + 1], p[off + 2], p[off + 3])),
        Family::Inet6 => {
            let mut b = [0u8; 16];
            b.copy_from_slice(&p[off..off + 16]);
            IpAddr::V6(Ipv6Addr::from(b))
        }
    }
}

/// Read the fields of `struct tcp_info` that lie inside `d` (any kernel's length).
pub fn parse_tcp_info(d: &[u8]) -> TcpInfo {
    let u8f = |o: usize| d.get(o).copied();
    let u32f = |o: usize| {
        d.get(o..o + 4)
            .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64f = |o: usize| {
        d.get(o..o + 8).map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_ne_bytes(a)
        })
    };
    let bits = u8f(6);
    TcpInfo {
        ca_state: u8f(1),
        options: u8f(5),
        snd_wscale: bits.map(|b| b & 0x0f),
        rcv_wscale: bits.map(|b| b >> 4),
        delivery_rate_app_limited: u8f(7).map(|b| b & 1 != 0),
        ato_us: u32f(12),
        sacked: u32f(28),
        rcv_ssthresh: u32f(64),
        snd_ssthresh: u32f(76),
        advmss: u32f(84),
        reordering: u32f(88),
        rcv_rtt_us: u32f(92),
        rcv_space: u32f(96),
        pacing_rate: u64f(104),
        max_pacing_rate: u64f(112),
        segs_out: u32f(136),
        segs_in: u32f(140),
        data_segs_in: u32f(152),
        data_segs_out: u32f(156),
        delivery_rate: u64f(160),
        busy_time_us: u64f(168),
        rwnd_limited_us: u64f(176),
        sndbuf_limited_us: u64f(184),
        delivered: u32f(192),
        delivered_ce: u32f(196),
        dsack_dups: u32f(216),
        reord_seen: u32f(220),
        rcv_ooopack: u32f(224),
        retransmits: u8f(2),
        probes: u8f(3),
        backoff: u8f(4),
        rto_us: u32f(8),
        snd_mss: u32f(16),
        rcv_mss: u32f(20),
        unacked: u32f(24),
        lost: u32f(32),
        retrans: u32f(36),
        last_data_sent_ms: u32f(44),
        last_data_recv_ms: u32f(52),
        last_ack_recv_ms: u32f(56),
        pmtu: u32f(60),
        rtt_us: u32f(68),
        rttvar_us: u32f(72),
        snd_cwnd: u32f(80),
        total_retrans: u32f(100),
        bytes_acked: u64f(120),
        bytes_received: u64f(128),
        notsent_bytes: u32f(144),
        min_rtt_us: u32f(148),
        bytes_sent: u64f(200),
        bytes_retrans: u64f(208),
        snd_wnd: u32f(228),
        rcv_wnd: u32f(232),
    }
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_ne_bytes([b[o], b[o + 1]])
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_ne_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_ne_bytes(a)
}
fn i32_at(b: &[u8], o: usize) -> i32 {
    i32::from_ne_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Build a reply message the way the kernel lays it out.
    pub(super) fn msg(
        state: u8,
        timer: u8,
        expires: u32,
        inode: u32,
        attrs: &[(u16, Vec<u8>)],
    ) -> Vec<u8> {
        let mut p = vec![AF_INET, state, timer, 0];
        p.extend_from_slice(&5555u16.to_be_bytes());
        p.extend_from_slice(&40000u16.to_be_bytes());
        p.extend_from_slice(&[127, 0, 0, 1]);
        p.extend_from_slice(&[0; 12]);
        p.extend_from_slice(&[127, 0, 0, 2]);
        p.extend_from_slice(&[0; 12]);
        p.extend_from_slice(&0u32.to_ne_bytes()); // if
        p.extend_from_slice(&0xdead_beefu32.to_ne_bytes()); // cookie lo
        p.extend_from_slice(&0x1u32.to_ne_bytes()); // cookie hi
        p.extend_from_slice(&expires.to_ne_bytes());
        p.extend_from_slice(&3u32.to_ne_bytes()); // rqueue
        p.extend_from_slice(&9u32.to_ne_bytes()); // wqueue
        p.extend_from_slice(&1000u32.to_ne_bytes()); // uid
        p.extend_from_slice(&inode.to_ne_bytes());
        for (t, data) in attrs {
            p.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
            p.extend_from_slice(&t.to_ne_bytes());
            p.extend_from_slice(data);
            while p.len() % 4 != 0 {
                p.push(0);
            }
        }
        let mut m = Vec::new();
        m.extend_from_slice(&((16 + p.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        m.extend_from_slice(&2u16.to_ne_bytes()); // NLM_F_MULTI
        m.extend_from_slice(&1u32.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(&p);
        m
    }

    pub(super) fn done(err: i32) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&20u32.to_ne_bytes());
        m.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
        m.extend_from_slice(&2u16.to_ne_bytes());
        m.extend_from_slice(&1u32.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(&err.to_ne_bytes());
        m
    }

    fn items(buf: &[u8]) -> Vec<Item> {
        let mut v = Vec::new();
        parse_buffer(buf, |i| {
            v.push(i);
            true
        });
        v
    }

    #[test]
    fn request_layout() {
        let r = encode_request(&Request {
            family: Family::Inet6,
            states: 1 << 8,
            want_info: true,
            want_memory: false,
            bytecode: None,
            seq: 7,
        });
        assert_eq!(r.len(), 72);
        assert_eq!(u32_at(&r, 0), 72);
        assert_eq!(u16_at(&r, 4), SOCK_DIAG_BY_FAMILY);
        assert_eq!(u16_at(&r, 6), NLM_F_REQUEST | NLM_F_DUMP);
        assert_eq!(u32_at(&r, 8), 7);
        assert_eq!(&r[16..20], &[AF_INET6, IPPROTO_TCP, 2 | 8, 0]);
        assert_eq!(u32_at(&r, 20), 256);

        let r = encode_request(&Request {
            family: Family::Inet,
            states: 0x3ffe,
            want_info: false,
            want_memory: true,
            bytecode: Some(vec![1, 2, 3, 4, 5, 6]),
            seq: 1,
        });
        // 72 + attr header 4 + 6 bytes padded to 8
        assert_eq!(r.len(), 84);
        assert_eq!(u32_at(&r, 0), 84);
        assert_eq!(u16_at(&r, 72), 10); // nla_len counts unpadded payload
        assert_eq!(u16_at(&r, 74), INET_DIAG_REQ_BYTECODE);
        assert_eq!(r[18], 1 << 6, "SKMEMINFO only");
    }

    #[test]
    fn time_wait_record_keeps_its_timer() {
        let buf = [msg(6, 3, 51234, 0, &[]), done(0)].concat();
        let got = items(&buf);
        assert_eq!(got.len(), 2);
        let Item::Socket(s) = &got[0] else {
            panic!("{got:?}")
        };
        assert_eq!(s.state, TcpState::TimeWait);
        assert_eq!(
            s.timer,
            Some(Timer {
                kind: TimerKind::TimeWait,
                expires_ms: 51234,
                retrans: 0
            })
        );
        assert_eq!(s.local.to_string(), "127.0.0.1:5555");
        assert_eq!(s.peer.to_string(), "127.0.0.2:40000");
        assert_eq!(s.cookie, 0x1_dead_beef);
        assert_eq!((s.recv_q, s.send_q, s.uid, s.inode), (3, 9, 1000, 0));
        assert!(s.is_kernel_owned());
        assert_eq!(got[1], Item::Done { error: 0 });
    }

    #[test]
    fn short_tcp_info_reads_only_what_is_there() {
        // A 60-byte tcp_info, as an old kernel would send: up to last_ack_recv.
        let mut info = vec![0u8; 60];
        info[2] = 4; // retransmits
        info[8..12].copy_from_slice(&200_000u32.to_ne_bytes()); // rto
        info[52..56].copy_from_slice(&1500u32.to_ne_bytes()); // last_data_recv
        info[56..60].copy_from_slice(&1400u32.to_ne_bytes()); // last_ack_recv
        let buf = msg(
            8,
            0,
            0,
            4242,
            &[(INET_DIAG_INFO, info), (INET_DIAG_SHUTDOWN, vec![1])],
        );
        let got = items(&buf);
        let Item::Socket(s) = &got[0] else {
            panic!("{got:?}")
        };
        assert_eq!(s.state, TcpState::CloseWait);
        assert_eq!(s.timer, None);
        assert_eq!(s.shutdown, Some(1));
        let ti = s.tcp_info.as_ref().unwrap();
        assert_eq!(ti.retransmits, Some(4));
        assert_eq!(ti.rto_us, Some(200_000));
        assert_eq!(ti.last_data_recv_ms, Some(1500));
        assert_eq!(ti.last_ack_recv_ms, Some(1400));
        assert_eq!(ti.pmtu, None);
        assert_eq!(ti.bytes_acked, None);
    }

    #[test]
    fn long_tcp_info_from_a_newer_kernel_is_accepted() {
        let mut info = vec![0u8; 400];
        info[120..128].copy_from_slice(&123_456u64.to_ne_bytes());
        info[128..136].copy_from_slice(&654_321u64.to_ne_bytes());
        let buf = msg(1, 2, 7_000_000, 1, &[(INET_DIAG_INFO, info)]);
        let Item::Socket(s) = &items(&buf)[0] else {
            panic!()
        };
        let ti = s.tcp_info.as_ref().unwrap();
        assert_eq!(ti.bytes_acked, Some(123_456));
        assert_eq!(ti.bytes_received, Some(654_321));
        assert_eq!(s.timer.unwrap().kind, TimerKind::Keepalive);
    }

    #[test]
    fn errors_and_garbage() {
        let mut err = done(-22);
        err[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        assert_eq!(items(&err), vec![Item::Error { errno: -22 }]);
        assert_eq!(items(&done(-1)), vec![Item::Done { error: -1 }]);
        // Truncated message: length says more than the buffer has.
        let m = msg(1, 0, 0, 1, &[]);
        let got = items(&m[..50]);
        assert!(matches!(got[0], Item::Skipped { .. }), "{got:?}");
        // Unknown state number.
        let bad = msg(99, 0, 0, 1, &[]);
        assert!(matches!(items(&bad)[0], Item::Skipped { .. }));
        // Interrupted-dump flag is reported.
        let mut intr = msg(1, 0, 0, 1, &[]);
        intr[6..8].copy_from_slice(&(2 | NLM_F_DUMP_INTR).to_ne_bytes());
        assert!(parse_buffer(&intr, |_| true).interrupted);
    }

    /// Regression (issue 11, defect 10): a listener's tcp_info ages and rtt are not
    /// measurements (nothing was sent or received); they must not reach any output or filter.
    #[test]
    fn a_listeners_tcp_info_keeps_no_ages_or_rtt() {
        let mut info = vec![0u8; 240];
        info[8..12].copy_from_slice(&1_000_000u32.to_ne_bytes()); // rto
        info[16..20].copy_from_slice(&536u32.to_ne_bytes()); // snd_mss
        let buf = msg(10, 0, 0, 7, &[(INET_DIAG_INFO, info.clone())]);
        let Item::Socket(l) = &items(&buf)[0] else {
            panic!()
        };
        assert_eq!(l.state, TcpState::Listen);
        let ti = l.tcp_info.as_ref().unwrap();
        assert_eq!((ti.rto_us, ti.snd_mss), (Some(1_000_000), Some(536)));
        assert_eq!(ti.last_data_sent_ms, None);
        assert_eq!(ti.rtt_us, None);
        assert_eq!(ti.idle_ms(), None);
        // An established socket keeps them.
        let buf = msg(1, 0, 0, 7, &[(INET_DIAG_INFO, info)]);
        let Item::Socket(e) = &items(&buf)[0] else {
            panic!()
        };
        assert_eq!(e.tcp_info.as_ref().unwrap().last_data_sent_ms, Some(0));
    }

    #[test]
    fn v6only_cgroup_congestion_and_memory_attributes() {
        let mut mem = Vec::new();
        for v in [1u32, 131072, 3, 2626560, 5, 6, 7, 8, 9] {
            mem.extend_from_slice(&v.to_ne_bytes());
        }
        let buf = msg(
            10,
            0,
            0,
            7,
            &[
                (INET_DIAG_SKV6ONLY, vec![1]),
                (INET_DIAG_CGROUP_ID, 4242u64.to_ne_bytes().to_vec()),
                (INET_DIAG_CONG, b"cubic\0".to_vec()),
                (INET_DIAG_SKMEMINFO, mem),
            ],
        );
        let Item::Socket(s) = &items(&buf)[0] else {
            panic!()
        };
        assert_eq!(s.v6only, Some(true));
        assert_eq!(s.cgroup_id, Some(4242));
        assert_eq!(s.congestion.as_deref(), Some("cubic"));
        let m = s.memory.unwrap();
        assert_eq!(
            (m.rmem_alloc, m.rcvbuf, m.sndbuf, m.drops),
            (1, 131072, 2626560, 9)
        );
        // Eight values (kernels before 4.6): no drops count.
        let short = parse_skmeminfo(&[0u8; 32]).unwrap();
        assert_eq!(short.drops, 0);
        assert_eq!(parse_skmeminfo(&[0u8; 20]), None);
    }

    #[test]
    fn never_panics_on_any_prefix() {
        let info = vec![7u8; 300];
        let buf = [msg(1, 1, 5, 1, &[(INET_DIAG_INFO, info)]), done(0)].concat();
        for n in 0..buf.len() {
            parse_buffer(&buf[..n], |_| true);
            let _ = parse_diag_msg(&buf[16..16 + n.min(buf.len() - 16)]);
        }
    }
}
