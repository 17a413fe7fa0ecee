//! Fuzz targets for the sock_diag decoder (decode/inet_diag): buffers of netlink messages laid
//! out as the kernel lays them out — any family, state, timer, queue and attribute, tcp_info of
//! any length, DONE/ERROR/OVERRUN and unknown messages — decoded and compared with what was
//! encoded; then the same buffers bent by byte edits, which must only ever be skipped or
//! reported, never panic.

use super::mutate::{apply, edits, Edit};
use super::{drive, Budget, Outcome};
use crate::decode::inet_diag::{
    parse_buffer, parse_exact_reply, parse_tcp_info, ExactReply, Item, INET_DIAG_CGROUP_ID,
    INET_DIAG_CONG, INET_DIAG_INFO, INET_DIAG_MARK, INET_DIAG_SHUTDOWN, INET_DIAG_SKMEMINFO,
    INET_DIAG_SKV6ONLY, NLMSG_DONE, NLMSG_ERROR, NLMSG_OVERRUN, NLM_F_DUMP_INTR,
    SOCK_DIAG_BY_FAMILY,
};
use crate::model::socket::{Family, Socket, SocketMemory, TcpInfo, TimerKind};
use crate::model::state::TcpState;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One `inet_diag_msg` with its attributes, field by field.
#[derive(Debug, Clone)]
pub struct Msg {
    family: u8,
    state: u8,
    timer: u8,
    retrans: u8,
    sport: u16,
    dport: u16,
    src: [u8; 16],
    dst: [u8; 16],
    ifindex: u32,
    cookie: u64,
    expires: u32,
    rqueue: u32,
    wqueue: u32,
    uid: u32,
    inode: u32,
    attrs: Vec<(u16, Vec<u8>)>,
}

/// One netlink message of a dump.
#[derive(Debug, Clone)]
pub enum Part {
    Diag { msg: Msg, flags: u16, seq: u32 },
    Done(i32),
    Error(i32),
    Overrun,
    Other { kind: u16, payload: Vec<u8> },
}

/// A buffer as the kernel would send it, then `edits`.
#[derive(Debug, Clone)]
pub struct Input {
    parts: Vec<Part>,
    edits: Vec<Edit>,
}

fn arb_attr() -> impl Strategy<Value = (u16, Vec<u8>)> {
    let kind = prop_oneof![
        4 => Just(INET_DIAG_INFO),
        2 => Just(INET_DIAG_SHUTDOWN),
        2 => Just(INET_DIAG_MARK),
        1 => Just(INET_DIAG_CONG),
        1 => Just(INET_DIAG_SKMEMINFO),
        1 => Just(INET_DIAG_SKV6ONLY),
        1 => Just(INET_DIAG_CGROUP_ID),
        1 => Just(INET_DIAG_INFO | 0x8000),
        2 => any::<u16>(),
    ];
    // tcp_info is 104 bytes on old kernels, 232-280 on new ones: every length in between too.
    let len = prop_oneof![0usize..16, Just(104usize), 100usize..300];
    (
        kind,
        len.prop_flat_map(|n| prop::collection::vec(any::<u8>(), n)),
    )
}

fn arb_msg() -> impl Strategy<Value = Msg> {
    let family = prop_oneof![8 => Just(2u8), 8 => Just(10u8), 1 => any::<u8>()];
    let state = prop_oneof![8 => 1u8..=13, 1 => any::<u8>()];
    let wide = || prop_oneof![any::<u32>(), 0u32..4, Just(u32::MAX)];
    (
        (
            family,
            state,
            any::<u8>(),
            any::<u8>(),
            any::<u16>(),
            any::<u16>(),
        ),
        (
            any::<[u8; 16]>(),
            any::<[u8; 16]>(),
            any::<u32>(),
            any::<u64>(),
        ),
        (wide(), wide(), wide(), wide(), wide()),
        prop::collection::vec(arb_attr(), 0..5),
    )
        .prop_map(
            |(
                (family, state, timer, retrans, sport, dport),
                (src, dst, ifindex, cookie),
                (expires, rqueue, wqueue, uid, inode),
                attrs,
            )| Msg {
                family,
                state,
                timer,
                retrans,
                sport,
                dport,
                src,
                dst,
                ifindex,
                cookie,
                expires,
                rqueue,
                wqueue,
                uid,
                inode,
                attrs,
            },
        )
}

fn arb_part() -> impl Strategy<Value = Part> {
    prop_oneof![
        12 => (arb_msg(), prop_oneof![Just(2u16), Just(2 | NLM_F_DUMP_INTR), any::<u16>()], any::<u32>())
            .prop_map(|(msg, flags, seq)| Part::Diag { msg, flags, seq }),
        1 => prop_oneof![Just(0), Just(-105), any::<i32>()].prop_map(Part::Done),
        1 => prop_oneof![Just(0), Just(-2), Just(-22), any::<i32>()].prop_map(Part::Error),
        1 => Just(Part::Overrun),
        // A type the decoder ignores (not DONE, ERROR, OVERRUN or a socket).
        1 => (any::<u16>(), prop::collection::vec(any::<u8>(), 0..40)).prop_map(|(kind, payload)| {
            let kind = if matches!(kind, NLMSG_ERROR | NLMSG_DONE | NLMSG_OVERRUN | SOCK_DIAG_BY_FAMILY) {
                kind + 100
            } else {
                kind
            };
            Part::Other { kind, payload }
        }),
    ]
}

fn arb_input(max_edits: usize) -> impl Strategy<Value = Input> {
    (
        prop::collection::vec(arb_part(), 0..8),
        prop_oneof![2 => Just(Vec::new()), 3 => edits(max_edits)],
    )
        .prop_map(|(parts, edits)| Input { parts, edits })
}

fn header(out: &mut Vec<u8>, len: usize, kind: u16, flags: u16, seq: u32) {
    out.extend_from_slice(&(len as u32).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&4242u32.to_ne_bytes());
}

fn pad4(b: &mut Vec<u8>) {
    while !b.len().is_multiple_of(4) {
        b.push(0);
    }
}

/// The payload of one `inet_diag_msg`, as the kernel writes it.
fn encode_msg(m: &Msg) -> Vec<u8> {
    let mut p = vec![m.family, m.state, m.timer, m.retrans];
    p.extend_from_slice(&m.sport.to_be_bytes());
    p.extend_from_slice(&m.dport.to_be_bytes());
    p.extend_from_slice(&m.src);
    p.extend_from_slice(&m.dst);
    p.extend_from_slice(&m.ifindex.to_ne_bytes());
    p.extend_from_slice(&(m.cookie as u32).to_ne_bytes());
    p.extend_from_slice(&((m.cookie >> 32) as u32).to_ne_bytes());
    for v in [m.expires, m.rqueue, m.wqueue, m.uid, m.inode] {
        p.extend_from_slice(&v.to_ne_bytes());
    }
    for (kind, data) in &m.attrs {
        p.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        p.extend_from_slice(&kind.to_ne_bytes());
        p.extend_from_slice(data);
        pad4(&mut p);
    }
    p
}

fn encode(parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        let (kind, flags, seq, payload) = match part {
            Part::Diag { msg, flags, seq } => (SOCK_DIAG_BY_FAMILY, *flags, *seq, encode_msg(msg)),
            Part::Done(e) => (NLMSG_DONE, 2, 1, e.to_ne_bytes().to_vec()),
            Part::Error(e) => {
                // nlmsgerr: the error, then the header of the request it answers.
                let mut p = e.to_ne_bytes().to_vec();
                header(&mut p, 16, SOCK_DIAG_BY_FAMILY, 1, 1);
                (NLMSG_ERROR, 0, 1, p)
            }
            Part::Overrun => (NLMSG_OVERRUN, 0, 1, Vec::new()),
            Part::Other { kind, payload } => (*kind, 0, 1, payload.clone()),
        };
        header(&mut out, 16 + payload.len(), kind, flags, seq);
        out.extend_from_slice(&payload);
        pad4(&mut out);
    }
    out
}

fn raw(i: &Input) -> Vec<u8> {
    apply(&encode(&i.parts), &i.edits)
}

/// What the decoder must make of an unedited buffer, by the rules of linux/netlink.h and
/// linux/inet_diag.h: sockets, skipped records, and the end (DONE, an error) that stops it.
#[derive(Debug, PartialEq)]
enum Expect {
    Socket(Box<Socket>),
    Skipped,
    Done(i32),
    Error(i32),
}

fn addr(family: Family, b: &[u8; 16]) -> IpAddr {
    match family {
        Family::Inet => IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])),
        Family::Inet6 => IpAddr::V6(Ipv6Addr::from(*b)),
    }
}

fn expected_socket(m: &Msg) -> Option<Socket> {
    let family = match m.family {
        2 => Family::Inet,
        10 => Family::Inet6,
        _ => return None,
    };
    let state = TcpState::from_kernel(m.state)?;
    let mut s = Socket::new(
        state,
        family,
        crate::Endpoint::new(addr(family, &m.src), m.sport),
        crate::Endpoint::new(addr(family, &m.dst), m.dport),
    );
    s.recv_q = m.rqueue;
    s.send_q = m.wqueue;
    s.uid = m.uid;
    s.inode = u64::from(m.inode);
    s.cookie = m.cookie;
    s.ifindex = m.ifindex;
    s.timer = TimerKind::from_kernel(m.timer).map(|kind| crate::model::socket::Timer {
        kind,
        expires_ms: u64::from(m.expires),
        retrans: u32::from(m.retrans),
    });
    for (kind, data) in &m.attrs {
        match kind & 0x3fff {
            INET_DIAG_INFO => s.tcp_info = Some(parse_tcp_info(data)),
            INET_DIAG_SHUTDOWN if !data.is_empty() => s.shutdown = Some(data[0]),
            INET_DIAG_MARK if data.len() >= 4 => {
                s.mark = Some(u32::from_ne_bytes([data[0], data[1], data[2], data[3]]))
            }
            INET_DIAG_SKV6ONLY if !data.is_empty() => s.v6only = Some(data[0] != 0),
            INET_DIAG_CGROUP_ID if data.len() >= 8 => {
                let mut id = [0u8; 8];
                id.copy_from_slice(&data[..8]);
                s.cgroup_id = Some(u64::from_ne_bytes(id));
            }
            // A C string: up to the first NUL; nothing (or not UTF-8) is no name.
            INET_DIAG_CONG => {
                let name = data.split(|b| *b == 0).next().unwrap_or_default();
                s.congestion = std::str::from_utf8(name)
                    .ok()
                    .filter(|n| !n.is_empty())
                    .map(str::to_string);
            }
            // u32 meminfo[SK_MEMINFO_VARS]: 8 values, 9 since Linux 4.6 (drops).
            INET_DIAG_SKMEMINFO => {
                let v = |i: usize| {
                    data.get(i * 4..i * 4 + 4)
                        .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                };
                s.memory = (data.len() >= 32).then(|| SocketMemory {
                    rmem_alloc: v(0).unwrap_or_default(),
                    rcvbuf: v(1).unwrap_or_default(),
                    wmem_alloc: v(2).unwrap_or_default(),
                    sndbuf: v(3).unwrap_or_default(),
                    fwd_alloc: v(4).unwrap_or_default(),
                    wmem_queued: v(5).unwrap_or_default(),
                    optmem: v(6).unwrap_or_default(),
                    backlog: v(7).unwrap_or_default(),
                    drops: v(8).unwrap_or_default(),
                });
            }
            _ => {}
        }
    }
    // A listener's tcp_info holds settings, not measurements (no data flows): only those stay.
    if s.state == TcpState::Listen {
        if let Some(i) = &mut s.tcp_info {
            *i = TcpInfo {
                rto_us: i.rto_us,
                snd_mss: i.snd_mss,
                rcv_mss: i.rcv_mss,
                advmss: i.advmss,
                options: i.options,
                ..TcpInfo::default()
            };
        }
    }
    Some(s)
}

fn expected(parts: &[Part]) -> Vec<Expect> {
    let mut out = Vec::new();
    for part in parts {
        match part {
            Part::Diag { msg, .. } => out.push(match expected_socket(msg) {
                Some(s) => Expect::Socket(Box::new(s)),
                None => Expect::Skipped,
            }),
            Part::Done(e) => {
                out.push(Expect::Done(*e));
                break;
            }
            Part::Error(0) | Part::Other { .. } => {}
            Part::Error(e) => {
                out.push(Expect::Error(*e));
                break;
            }
            Part::Overrun => {
                out.push(Expect::Error(-105));
                break;
            }
        }
    }
    out
}

/// True when a message the decoder reads before the dump's end carries NLM_F_DUMP_INTR.
fn expected_interrupted(parts: &[Part]) -> bool {
    for part in parts {
        match part {
            Part::Diag { flags, .. } if flags & NLM_F_DUMP_INTR != 0 => return true,
            Part::Done(_) | Part::Overrun => return false,
            Part::Error(e) if *e != 0 => return false,
            _ => {}
        }
    }
    false
}

/// tcp_info's fields are read at their offsets in `struct tcp_info`, whatever the length.
fn check_tcp_info(data: &[u8]) -> Result<(), TestCaseError> {
    let info = parse_tcp_info(data);
    let u32_at = |o: usize| {
        data.get(o..o + 4)
            .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    prop_assert_eq!(info.retransmits, data.get(2).copied());
    prop_assert_eq!(info.rtt_us, u32_at(68));
    prop_assert_eq!(info.snd_cwnd, u32_at(80));
    prop_assert_eq!(info.last_ack_recv_ms, u32_at(56));
    prop_assert_eq!(info.rcv_wnd, u32_at(232));
    Ok(())
}

fn check(input: &Input) -> Result<(), TestCaseError> {
    let buf = raw(input);
    let mut items = Vec::new();
    let flags = parse_buffer(&buf, |item| {
        items.push(item);
        true
    });
    for item in &items {
        if let Item::Skipped { reason } = item {
            prop_assert!(!reason.is_empty());
        }
    }
    if !input.edits.is_empty() {
        return Ok(());
    }
    for part in &input.parts {
        if let Part::Diag { msg, .. } = part {
            for (kind, data) in &msg.attrs {
                if kind & 0x3fff == INET_DIAG_INFO {
                    check_tcp_info(data)?;
                }
            }
        }
    }
    let got: Vec<Expect> = items
        .into_iter()
        .map(|i| match i {
            Item::Socket(s) => Expect::Socket(Box::new(s)),
            Item::Skipped { .. } => Expect::Skipped,
            Item::Done { error } => Expect::Done(error),
            Item::Error { errno } => Expect::Error(errno),
        })
        .collect();
    prop_assert_eq!(got, expected(&input.parts));
    prop_assert_eq!(flags.interrupted, expected_interrupted(&input.parts));
    Ok(())
}

pub fn inet_diag(budget: &Budget) -> Outcome {
    drive("inet_diag", budget, arb_input(6), raw, check)
}

/// The answer to one exact request (release's lookup and SOCK_DESTROY): any buffer, the asked
/// sequence number present or not.
pub fn exact_reply(budget: &Budget) -> Outcome {
    let strategy = (arb_input(4), any::<bool>(), any::<u32>());
    drive(
        "inet_diag_exact",
        budget,
        strategy,
        |(i, _, _)| raw(i),
        |(input, ask_present, other)| {
            let buf = raw(input);
            let seq = input
                .parts
                .iter()
                .find_map(|p| match p {
                    Part::Diag { seq, .. } if *ask_present => Some(*seq),
                    _ => None,
                })
                .unwrap_or(*other);
            match parse_exact_reply(&buf, seq) {
                Some(ExactReply::Error(e)) => prop_assert!(e != 0),
                Some(ExactReply::Malformed(why)) => prop_assert!(!why.is_empty()),
                _ => {}
            }
            Ok(())
        },
    )
}
