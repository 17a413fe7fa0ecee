//! Fuzz targets for foreign captures (`--from` a netstat, ss, Get-NetTCPConnection or
//! /proc/net/tcp text of any system; decode/import): a capture is whatever someone pasted into a
//! ticket, so every byte of it is untrusted.
//!
//! * `import`: every fixture under tests/fixtures/import (real captures and documented ones),
//!   bent by line operations (lines dropped, repeated, swapped, lines of another capture spliced
//!   in), byte edits, another encoding (UTF-16 either way, a UTF-8 BOM, CRLF) and sometimes a
//!   format named as `--from-format` would. The import must not panic; what it reads must be
//!   honest about itself (problem line numbers inside the file and in order, the count in its
//!   first note), go through everything a replay feeds it to, and survive `--record` (written
//!   as a recording and read back, it is the same snapshot).
//! * `import_rows`: the oracle. Random sockets (any state the tool prints, IPv4, IPv6,
//!   v4-mapped, wildcards, queues at the edges of u32, owners) are printed the way Windows
//!   `netstat -ano`, Linux `netstat -tanp`, `ss -tanp` and macOS `netstat -an` print them, under
//!   the tool's own header; the import must detect the tool and read back exactly those sockets.

use super::mutate::{apply, edits, Edit};
use super::recording::replay;
use super::{drive, Budget, Outcome};
use crate::decode::import::tests::FIXTURES;
use crate::decode::import::{self, Format, ImportError, Imported, Options};
use crate::model::process::Owner;
use crate::model::snapshot::Snapshot;
use crate::model::socket::{Endpoint, Family, Socket};
use crate::model::state::TcpState;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

// ---------------------------------------------------------------------------------------------
// import: mutated captures

/// A change to the lines of a capture (indices are taken modulo the line count).
#[derive(Debug, Clone)]
pub enum LineOp {
    Drop(usize),
    Repeat(usize, usize),
    Swap(usize, usize),
    /// Line `.2` of fixture `.1` inserted before line `.0`.
    Splice(usize, usize, usize),
}

#[derive(Debug, Clone, Copy)]
pub enum Encoding {
    Same,
    Utf16Le,
    Utf16Be,
    Utf8Bom,
    Crlf,
}

#[derive(Debug, Clone)]
pub struct Mutated {
    fixture: usize,
    /// The part of a long capture kept after its first lines (start, length): small inputs run
    /// faster and shrink further; the headers above stay.
    window: (usize, usize),
    lines: Vec<LineOp>,
    edits: Vec<Edit>,
    encoding: Encoding,
    /// Index into [`Format::ALL`]: the format named with `--from-format`.
    format: Option<usize>,
}

fn arb_line_op() -> impl Strategy<Value = LineOp> {
    let at = any::<usize>();
    prop_oneof![
        3 => at.prop_map(LineOp::Drop),
        2 => (at, 1usize..40).prop_map(|(a, n)| LineOp::Repeat(a, n)),
        2 => (at, at).prop_map(|(a, b)| LineOp::Swap(a, b)),
        3 => (at, 0..FIXTURES.len(), at).prop_map(|(a, f, l)| LineOp::Splice(a, f, l)),
    ]
}

fn arb_mutated() -> impl Strategy<Value = Mutated> {
    (
        0..FIXTURES.len(),
        (any::<usize>(), 1usize..48),
        prop::collection::vec(arb_line_op(), 0..6),
        prop_oneof![2 => Just(Vec::new()), 3 => edits(6)],
        prop_oneof![
            6 => Just(Encoding::Same),
            1 => Just(Encoding::Utf16Le),
            1 => Just(Encoding::Utf16Be),
            1 => Just(Encoding::Utf8Bom),
            1 => Just(Encoding::Crlf),
        ],
        prop_oneof![4 => Just(None), 1 => (0..Format::ALL.len()).prop_map(Some)],
    )
        .prop_map(
            |(fixture, window, lines, edits, encoding, format)| Mutated {
                fixture,
                window,
                lines,
                edits,
                encoding,
                format,
            },
        )
}

/// Lines at the top of a capture (prompt, titles, headers) always kept.
const HEAD_LINES: usize = 6;

/// The lines of a fixture (its bytes split at `\n`, kept as bytes: some are UTF-16).
fn fixture_lines(i: usize) -> Vec<&'static [u8]> {
    FIXTURES[i % FIXTURES.len()]
        .1
        .split(|b| *b == b'\n')
        .collect()
}

fn build_mutated(m: &Mutated) -> Vec<u8> {
    let all = fixture_lines(m.fixture);
    let head = all.len().min(HEAD_LINES);
    let start = head + m.window.0 % (all.len() - head + 1);
    let end = (start + m.window.1).min(all.len());
    let mut lines: Vec<&[u8]> = all[..head]
        .iter()
        .chain(&all[start..end])
        .copied()
        .collect();
    for op in &m.lines {
        let n = lines.len().max(1);
        match *op {
            LineOp::Drop(a) if !lines.is_empty() => {
                lines.remove(a % n);
            }
            LineOp::Repeat(a, times) if !lines.is_empty() => {
                let l = lines[a % n];
                for _ in 0..times {
                    lines.insert(a % n, l);
                }
            }
            LineOp::Swap(a, b) if !lines.is_empty() => lines.swap(a % n, b % n),
            LineOp::Splice(a, f, l) => {
                let other = fixture_lines(f);
                let line = other[l % other.len()];
                lines.insert(a % (lines.len() + 1), line);
            }
            _ => {}
        }
    }
    let joined = lines.join(&b'\n');
    let bytes = apply(&joined, &m.edits);
    match m.encoding {
        Encoding::Same => bytes,
        Encoding::Utf8Bom => [&[0xEF, 0xBB, 0xBF][..], &bytes].concat(),
        Encoding::Crlf => {
            let text = String::from_utf8_lossy(&bytes).replace('\n', "\r\n");
            text.into_bytes()
        }
        Encoding::Utf16Le | Encoding::Utf16Be => {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let le = matches!(m.encoding, Encoding::Utf16Le);
            let mut out = if le {
                vec![0xFF, 0xFE]
            } else {
                vec![0xFE, 0xFF]
            };
            for u in text.encode_utf16() {
                out.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
            }
            out
        }
    }
}

fn options(format: Option<Format>) -> Options {
    Options {
        format,
        file: "capture.txt".to_string(),
        taken_at_unix_ms: 1_795_000_000_000,
        taken_at_from: "the file's modification time".to_string(),
    }
}

/// What an import says about lines must point inside the file, in order.
fn problems_are_in_the_file(
    problems: &[import::Problem],
    lines: usize,
) -> Result<(), TestCaseError> {
    let mut last = 0;
    for p in problems {
        prop_assert!(
            p.line > last && p.line <= lines,
            "problem at line {} (after {last}, file has {lines})",
            p.line
        );
        prop_assert!(p.text.chars().count() <= 121, "problem text not cut: {p}");
        last = p.line;
    }
    Ok(())
}

fn check_imported(imp: &Imported, lines: usize) -> Result<(), TestCaseError> {
    let snap = &imp.snapshot;
    problems_are_in_the_file(&imp.problems, lines)?;
    prop_assert!(
        !snap.sockets.is_empty(),
        "an import without sockets is an error"
    );
    prop_assert!(
        snap.sockets.len() + imp.problems.len() <= lines,
        "{} sockets and {} problems from {lines} lines",
        snap.sockets.len(),
        imp.problems.len()
    );
    let first = snap.notes.first().map(String::as_str).unwrap_or("");
    prop_assert!(
        first.starts_with(&format!("imported {} socket(s) from ", snap.sockets.len())),
        "first note: {first}"
    );
    prop_assert!(snap.source.import().is_some(), "no import origin");
    replay(snap)?;
    // `--from capture --record file`: the recording reads back as the same snapshot.
    let mut json = Vec::new();
    prop_assert!(snap.write_json(&mut json).is_ok());
    match Snapshot::from_reader(&json[..]) {
        Ok(back) => prop_assert_eq!(&back, snap),
        Err(e) => prop_assert!(false, "an imported capture recorded does not read: {}", e),
    }
    Ok(())
}

fn check_mutated(m: &Mutated) -> Result<(), TestCaseError> {
    let bytes = build_mutated(m);
    let lines = import::line_count(&bytes);
    let format = m.format.map(|i| Format::ALL[i % Format::ALL.len()]);
    match import::import(&bytes, &options(format)) {
        Ok(imp) => {
            check_imported(&imp, lines)?;
            if let Some(f) = format {
                let recorded = &imp.snapshot.source.import().map(|o| o.format.clone());
                let family = recorded.as_deref().and_then(Format::from_name);
                prop_assert_eq!(family, Some(f), "named {:?}, recorded {:?}", f, recorded);
            }
        }
        Err(e) => {
            prop_assert!(!e.to_string().is_empty());
            if let ImportError::NoRows { problems, .. } = &e {
                problems_are_in_the_file(problems, lines)?;
            }
        }
    }
    Ok(())
}

pub fn captures(budget: &Budget) -> Outcome {
    drive(
        "import",
        budget,
        arb_mutated(),
        build_mutated,
        check_mutated,
    )
}

// ---------------------------------------------------------------------------------------------
// import_rows: printed the way each tool prints them, read back exactly

/// The tools whose printing the generator imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    WindowsNetstatAno,
    LinuxNetstatTanp,
    SsTanp,
    MacosNetstatAn,
}

impl Tool {
    const ALL: [Tool; 4] = [
        Tool::WindowsNetstatAno,
        Tool::LinuxNetstatTanp,
        Tool::SsTanp,
        Tool::MacosNetstatAn,
    ];

    fn format(self) -> Format {
        match self {
            Tool::WindowsNetstatAno => Format::WindowsNetstat,
            Tool::LinuxNetstatTanp => Format::LinuxNetstat,
            Tool::SsTanp => Format::LinuxSs,
            Tool::MacosNetstatAn => Format::BsdNetstat,
        }
    }

    /// The states this tool prints, in its own spelling.
    fn states(self) -> &'static [(&'static str, TcpState)] {
        use TcpState::*;
        match self {
            Tool::WindowsNetstatAno => &[
                ("LISTENING", Listen),
                ("ESTABLISHED", Established),
                ("SYN_SENT", SynSent),
                ("SYN_RECEIVED", SynRecv),
                ("FIN_WAIT_1", FinWait1),
                ("FIN_WAIT_2", FinWait2),
                ("CLOSE_WAIT", CloseWait),
                ("CLOSING", Closing),
                ("LAST_ACK", LastAck),
                ("TIME_WAIT", TimeWait),
                ("CLOSED", Close),
            ],
            Tool::LinuxNetstatTanp => &[
                ("LISTEN", Listen),
                ("ESTABLISHED", Established),
                ("SYN_SENT", SynSent),
                ("SYN_RECV", SynRecv),
                ("FIN_WAIT1", FinWait1),
                ("FIN_WAIT2", FinWait2),
                ("CLOSE_WAIT", CloseWait),
                ("CLOSING", Closing),
                ("LAST_ACK", LastAck),
                ("TIME_WAIT", TimeWait),
                ("CLOSE", Close),
            ],
            Tool::SsTanp => &[
                ("LISTEN", Listen),
                ("ESTAB", Established),
                ("SYN-SENT", SynSent),
                ("SYN-RECV", SynRecv),
                ("FIN-WAIT-1", FinWait1),
                ("FIN-WAIT-2", FinWait2),
                ("CLOSE-WAIT", CloseWait),
                ("CLOSING", Closing),
                ("LAST-ACK", LastAck),
                ("TIME-WAIT", TimeWait),
                ("UNCONN", Close),
            ],
            Tool::MacosNetstatAn => &[
                ("LISTEN", Listen),
                ("ESTABLISHED", Established),
                ("SYN_SENT", SynSent),
                ("SYN_RCVD", SynRecv),
                ("FIN_WAIT_1", FinWait1),
                ("FIN_WAIT_2", FinWait2),
                ("CLOSE_WAIT", CloseWait),
                ("CLOSING", Closing),
                ("LAST_ACK", LastAck),
                ("TIME_WAIT", TimeWait),
                ("CLOSED", Close),
            ],
        }
    }
}

/// One socket to print: `None` addresses are the wildcard, where the tool prints one.
#[derive(Debug, Clone)]
pub struct Row {
    state: usize,
    local: (Option<IpAddr>, u16),
    peer: (Option<IpAddr>, u16),
    v6: bool,
    recv_q: u32,
    send_q: u32,
    owner: Option<(u32, String, u32)>,
}

#[derive(Debug, Clone)]
pub struct Printed {
    tool: Tool,
    rows: Vec<Row>,
}

fn arb_v4() -> impl Strategy<Value = Ipv4Addr> {
    prop_oneof![
        any::<u32>().prop_map(Ipv4Addr::from),
        prop::sample::select(vec![
            Ipv4Addr::LOCALHOST,
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::BROADCAST,
            Ipv4Addr::new(10, 0, 0, 1),
        ]),
    ]
}

fn arb_v6() -> impl Strategy<Value = Ipv6Addr> {
    prop_oneof![
        any::<u128>().prop_map(Ipv6Addr::from),
        // Runs of zeros, where `::` compression starts and ends.
        (any::<u16>(), 0usize..8, 0usize..8).prop_map(|(v, a, b)| {
            let mut seg = [0u16; 8];
            seg[a] = v;
            seg[b] = v.wrapping_add(1);
            Ipv6Addr::from(seg)
        }),
        arb_v4().prop_map(|v4| v4.to_ipv6_mapped()),
        prop::sample::select(vec![
            Ipv6Addr::LOCALHOST,
            Ipv6Addr::UNSPECIFIED,
            "fe80::1".parse().unwrap_or(Ipv6Addr::LOCALHOST),
        ]),
    ]
}

fn arb_queue() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 0u32..1000, 1 => any::<u32>(), 1 => Just(u32::MAX)]
}

fn arb_port() -> impl Strategy<Value = u16> {
    prop_oneof![3 => 1u16..=u16::MAX, 1 => Just(u16::MAX), 1 => Just(1u16)]
}

/// A command name: printable, no spaces (netstat cuts at the first '/'; ss quotes it).
fn arb_comm() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9._:-]{1,15}"
}

fn arb_row(v6: bool) -> impl Strategy<Value = Row> {
    let ip = move || -> BoxedStrategy<Option<IpAddr>> {
        if v6 {
            prop_oneof![5 => arb_v6().prop_map(|a| Some(IpAddr::V6(a))), 1 => Just(None)].boxed()
        } else {
            prop_oneof![5 => arb_v4().prop_map(|a| Some(IpAddr::V4(a))), 1 => Just(None)].boxed()
        }
    };
    (
        0usize..11,
        (ip(), arb_port()),
        (ip(), prop_oneof![3 => arb_port(), 1 => Just(0u16)]),
        arb_queue(),
        arb_queue(),
        prop::option::of((1u32..=u32::MAX, arb_comm(), 0u32..100_000)),
    )
        .prop_map(move |(state, local, peer, recv_q, send_q, owner)| Row {
            state,
            local,
            peer,
            v6,
            recv_q,
            send_q,
            owner,
        })
}

fn arb_printed() -> impl Strategy<Value = Printed> {
    (
        prop::sample::select(Tool::ALL.to_vec()),
        prop::collection::vec(any::<bool>().prop_flat_map(arb_row), 1..12),
    )
        .prop_map(|(tool, rows)| Printed { tool, rows })
}

/// A row's address as the tool's family sees it: the wildcard of that family, or the address.
fn ip_or_any(ip: Option<IpAddr>, v6: bool) -> IpAddr {
    ip.unwrap_or(if v6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    })
}

/// `a.b.c.d:port` / `[v6]:port`, `*` for a zero port when `star_port`.
fn colon(ip: IpAddr, port: u16, brackets: bool, star_port: bool) -> String {
    let p = if port == 0 && star_port {
        "*".to_string()
    } else {
        port.to_string()
    };
    match ip {
        IpAddr::V4(a) => format!("{a}:{p}"),
        IpAddr::V6(a) if brackets => format!("[{a}]:{p}"),
        IpAddr::V6(a) => format!("{a}:{p}"),
    }
}

/// macOS: `a.b.c.d.port`, `v6.port`, `*.port`, `*.*`.
fn dot(ip: Option<IpAddr>, port: u16) -> String {
    let a = ip.map_or("*".to_string(), |i| i.to_string());
    let p = if port == 0 {
        "*".to_string()
    } else {
        port.to_string()
    };
    format!("{a}.{p}")
}

fn print(p: &Printed) -> String {
    let mut out = String::new();
    let states = p.tool.states();
    match p.tool {
        Tool::WindowsNetstatAno => {
            out.push_str("C:\\>netstat -ano\r\n\r\nActive Connections\r\n\r\n  Proto  Local Address          Foreign Address        State           PID\r\n");
            for r in &p.rows {
                let local = colon(ip_or_any(r.local.0, r.v6), r.local.1, true, false);
                let peer = colon(ip_or_any(r.peer.0, r.v6), r.peer.1, true, false);
                let pid = r.owner.as_ref().map_or(0, |o| o.0);
                out.push_str(&format!(
                    "  TCP    {local:<22} {peer:<22} {:<15} {pid}\r\n",
                    states[r.state].0
                ));
            }
        }
        Tool::LinuxNetstatTanp => {
            out.push_str("Active Internet connections (servers and established)\nProto Recv-Q Send-Q Local Address           Foreign Address         State       PID/Program name    \n");
            for r in &p.rows {
                let local = colon(ip_or_any(r.local.0, r.v6), r.local.1, false, true);
                let peer = colon(ip_or_any(r.peer.0, r.v6), r.peer.1, false, true);
                let owner = r
                    .owner
                    .as_ref()
                    .map_or("-".to_string(), |(pid, comm, _)| format!("{pid}/{comm}"));
                out.push_str(&format!(
                    "{:<5} {:>6} {:>6} {local:<23} {peer:<23} {:<11} {owner}\n",
                    if r.v6 { "tcp6" } else { "tcp" },
                    r.recv_q,
                    r.send_q,
                    states[r.state].0
                ));
            }
        }
        Tool::SsTanp => {
            out.push_str("State      Recv-Q Send-Q      Local Address:Port        Peer Address:Port Process\n");
            for r in &p.rows {
                // ss: `0.0.0.0`/`[::]` for a wildcard of the row's family; `*` for the
                // dual-stack IPv6 listener (read as IPv6).
                let addr = |a: (Option<IpAddr>, u16)| match a.0 {
                    None if r.v6 => format!(
                        "*:{}",
                        if a.1 == 0 {
                            "*".into()
                        } else {
                            a.1.to_string()
                        }
                    ),
                    ip => colon(ip_or_any(ip, false), a.1, true, true),
                };
                let users = r.owner.as_ref().map_or(String::new(), |(pid, comm, fd)| {
                    format!(" users:((\"{comm}\",pid={pid},fd={fd}))")
                });
                out.push_str(&format!(
                    "{:<10} {:<6} {:<6} {:>22} {:>20}{users}\n",
                    states[r.state].0,
                    r.recv_q,
                    r.send_q,
                    addr(r.local),
                    addr(r.peer),
                ));
            }
        }
        Tool::MacosNetstatAn => {
            out.push_str("% netstat -an\nActive Internet connections (including servers)\nProto Recv-Q Send-Q  Local Address          Foreign Address        (state)\n");
            for r in &p.rows {
                out.push_str(&format!(
                    "{:<5} {:>6} {:>6}  {:<22} {:<22} {}\n",
                    if r.v6 { "tcp6" } else { "tcp4" },
                    r.recv_q,
                    r.send_q,
                    dot(r.local.0, r.local.1),
                    dot(r.peer.0, r.peer.1),
                    states[r.state].0
                ));
            }
        }
    }
    out
}

/// The socket a row must be read as (the fields the tool shows).
fn expected(tool: Tool, r: &Row) -> Socket {
    let (_, state) = tool.states()[r.state];
    // Every address of a row prints in the row's family (the wildcard too: `[::]`, `:::*`,
    // ss's dual-stack `*`, the protocol `tcp6`), so that is the family read back.
    let family = if r.v6 { Family::Inet6 } else { Family::Inet };
    let end = |a: (Option<IpAddr>, u16)| Endpoint::new(a.0.unwrap_or(family.unspecified()), a.1);
    let mut s = Socket::new(state, family, end(r.local), end(r.peer));
    if tool != Tool::WindowsNetstatAno {
        s.recv_q = r.recv_q;
        s.send_q = r.send_q;
    }
    s
}

fn owner_of(s: &Socket) -> Option<(u32, String, u32)> {
    s.owners
        .first()
        .map(|o: &Owner| (o.pid, o.process.comm.clone(), o.fd))
}

fn check_printed(p: &Printed) -> Result<(), TestCaseError> {
    let text = print(p);
    let imp = match import::import(text.as_bytes(), &options(None)) {
        Ok(i) => i,
        Err(e) => return Err(TestCaseError::fail(format!("not imported: {e}\n{text}"))),
    };
    let recorded = imp
        .snapshot
        .source
        .import()
        .map(|o| o.format.clone())
        .unwrap_or_default();
    prop_assert_eq!(
        Format::from_name(&recorded),
        Some(p.tool.format()),
        "read as {}:\n{}",
        recorded,
        text
    );
    prop_assert!(imp.problems.is_empty(), "{:?}\n{}", imp.problems, text);
    prop_assert_eq!(imp.snapshot.sockets.len(), p.rows.len(), "{}", text);
    for (got, row) in imp.snapshot.sockets.iter().zip(&p.rows) {
        let want = expected(p.tool, row);
        let line = || format!("{row:?}\n{text}");
        prop_assert_eq!(got.state, want.state, "{}", line());
        prop_assert_eq!(got.family, want.family, "{}", line());
        prop_assert_eq!(got.local, want.local, "{}", line());
        prop_assert_eq!(got.peer, want.peer, "{}", line());
        if p.tool != Tool::WindowsNetstatAno {
            prop_assert_eq!(got.recv_q, want.recv_q, "{}", line());
            prop_assert_eq!(got.send_q, want.send_q, "{}", line());
        }
        let owner = owner_of(got);
        match (p.tool, &row.owner) {
            (Tool::MacosNetstatAn, _) => prop_assert!(owner.is_none()),
            (Tool::WindowsNetstatAno, Some((pid, _, _))) => {
                prop_assert_eq!(owner.map(|o| o.0), Some(*pid), "{}", line())
            }
            (Tool::LinuxNetstatTanp, Some((pid, comm, _))) => {
                prop_assert_eq!(owner.map(|o| (o.0, o.1)), Some((*pid, comm.clone())))
            }
            (Tool::SsTanp, Some(o)) => prop_assert_eq!(owner.as_ref(), Some(o), "{}", line()),
            (_, None) => prop_assert!(owner.is_none(), "{}", line()),
        }
    }
    check_imported(&imp, import::line_count(text.as_bytes()))
}

pub fn printed_rows(budget: &Budget) -> Outcome {
    drive(
        "import_rows",
        budget,
        arb_printed(),
        |p| print(p).into_bytes(),
        check_printed,
    )
}
