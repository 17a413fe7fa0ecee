//! Fuzz targets for the /proc text parsers: /proc/net/tcp and tcp6 lines made from known sockets
//! (parsed back to the same socket) and then bent; sockstat, netstat and the port range; the
//! per-process files (status, stat, limits, cmdline, comm, fd and namespace links, passwd);
//! and cgroup paths built from the pieces container runtimes use.

use super::mutate::{apply, apply_text, edits, Edit};
use super::{drive, Budget, Outcome};
use crate::decode::cgroup::{container_of_path, parse_cgroup_file, short_label, unit_of_path};
use crate::decode::proc_net::{
    parse_netstat_section, parse_port_range, parse_proc_net_tcp, parse_sockstat,
};
use crate::decode::process_text::{
    cmdline_text, comm_text, namespace_inode, parse_decimal, parse_limits_nofile, parse_passwd,
    parse_start_time, parse_stat, parse_status, socket_inode, status_euid, CMDLINE_MAX,
};
use crate::model::socket::Family;
use crate::model::state::TcpState;
use proptest::prelude::*;

/// One row of /proc/net/tcp, field by field.
#[derive(Debug, Clone)]
pub struct Row {
    v6: bool,
    local: [u32; 4],
    lport: u16,
    peer: [u32; 4],
    pport: u16,
    state: u8,
    tx: u32,
    rx: u32,
    timer: u8,
    when: u64,
    retrans: u32,
    uid: u32,
    inode: u64,
}

const HEADER: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

fn arb_row() -> impl Strategy<Value = Row> {
    let when = prop_oneof![0u64..100_000, Just(u64::from(u32::MAX)), any::<u64>()];
    (
        (
            any::<bool>(),
            any::<[u32; 4]>(),
            any::<u16>(),
            any::<[u32; 4]>(),
            any::<u16>(),
        ),
        (
            prop_oneof![1u8..=12, any::<u8>()],
            any::<u32>(),
            any::<u32>(),
            0u8..6,
            when,
        ),
        (any::<u32>(), any::<u32>(), any::<u64>()),
    )
        .prop_map(
            |(
                (v6, local, lport, peer, pport),
                (state, tx, rx, timer, when),
                (retrans, uid, inode),
            )| Row {
                v6,
                local,
                lport,
                peer,
                pport,
                state,
                tx,
                rx,
                timer,
                when,
                retrans,
                uid,
                inode,
            },
        )
}

fn addr_hex(a: &[u32; 4], v6: bool) -> String {
    let words = if v6 { &a[..] } else { &a[..1] };
    words.iter().map(|w| format!("{w:08X}")).collect()
}

fn row_text(i: usize, r: &Row) -> String {
    format!(
        "{i:4}: {}:{:04X} {}:{:04X} {:02X} {:08X}:{:08X} {:02X}:{:08X} {:08X} {:5} {:8} {} 1 0000000000000000 20 4 30 10 -1\n",
        addr_hex(&r.local, r.v6),
        r.lport,
        addr_hex(&r.peer, r.v6),
        r.pport,
        r.state,
        r.tx,
        r.rx,
        r.timer,
        r.when,
        r.retrans,
        r.uid,
        0,
        r.inode,
    )
}

/// A table of one family's rows (rows of the other family are left out), then edits.
#[derive(Debug, Clone)]
pub struct Table {
    v6: bool,
    rows: Vec<Row>,
    edits: Vec<Edit>,
}

fn table_text(t: &Table) -> String {
    let mut text = HEADER.to_string();
    for (i, r) in t.rows.iter().filter(|r| r.v6 == t.v6).enumerate() {
        text.push_str(&row_text(i, r));
    }
    apply_text(&text, &t.edits)
}

pub fn proc_net_tcp(budget: &Budget) -> Outcome {
    let strategy = (
        any::<bool>(),
        prop::collection::vec(arb_row(), 0..6),
        prop_oneof![Just(Vec::new()), edits(6)],
    )
        .prop_map(|(v6, rows, edits)| Table { v6, rows, edits });
    drive(
        "proc_net_tcp",
        budget,
        strategy,
        |t| table_text(t).into_bytes(),
        |t| {
            let family = if t.v6 { Family::Inet6 } else { Family::Inet };
            let text = table_text(t);
            let (sockets, errors) = parse_proc_net_tcp(&text, family);
            let lines = text
                .lines()
                .skip(1)
                .filter(|l| !l.trim().is_empty())
                .count();
            prop_assert_eq!(
                sockets.len() + errors.len(),
                lines,
                "every line is a socket or an error"
            );
            for e in &errors {
                prop_assert!(
                    e.line >= 2 && e.line <= text.lines().count(),
                    "error on line {}",
                    e.line
                );
            }
            if !t.edits.is_empty() {
                return Ok(());
            }
            let rows: Vec<&Row> = t.rows.iter().filter(|r| r.v6 == t.v6).collect();
            let valid: Vec<&&Row> = rows
                .iter()
                .filter(|r| TcpState::from_kernel(r.state).is_some())
                .collect();
            prop_assert_eq!(sockets.len(), valid.len());
            for (s, r) in sockets.iter().zip(valid) {
                prop_assert_eq!(s.local.port, r.lport);
                prop_assert_eq!(s.peer.port, r.pport);
                prop_assert_eq!(s.state.kernel_number(), r.state);
                prop_assert_eq!((s.send_q, s.recv_q), (r.tx, r.rx));
                prop_assert_eq!((s.uid, s.inode), (r.uid, r.inode));
                let local: Vec<u8> = r.local.iter().flat_map(|w| w.to_ne_bytes()).collect();
                match s.local.addr {
                    std::net::IpAddr::V4(a) => prop_assert_eq!(&a.octets()[..], &local[..4]),
                    std::net::IpAddr::V6(a) => prop_assert_eq!(&a.octets()[..], &local[..]),
                }
                if let Some(timer) = &s.timer {
                    prop_assert_eq!(timer.retrans, r.retrans);
                    // USER_HZ ticks to milliseconds, saturating for absurd values.
                    prop_assert_eq!(timer.expires_ms, r.when.saturating_mul(10));
                }
            }
            Ok(())
        },
    )
}

/// Text made of the words and separators the counter files use.
fn arb_counter_text() -> impl Strategy<Value = String> {
    let word = prop::sample::select(vec![
        "sockets:",
        "used",
        "TCP:",
        "TCP6:",
        "inuse",
        "orphan",
        "tw",
        "alloc",
        "mem",
        "TcpExt:",
        "ListenOverflows",
        "ListenDrops",
        "Tcp:",
        "1",
        "0",
        "18446744073709551615",
        "18446744073709551616",
        "-3",
        "\n",
        " ",
        "\t",
        ":",
        "32768",
        "60999",
        "65536",
    ]);
    prop::collection::vec(word, 0..30).prop_map(|w| w.join(" "))
}

pub fn proc_net_counters(budget: &Budget) -> Outcome {
    let strategy = (arb_counter_text(), arb_counter_text(), edits(4));
    drive(
        "proc_net_counters",
        budget,
        strategy,
        |(a, _, _)| a.clone().into_bytes(),
        |(a, b, e)| {
            let a = apply_text(a, e);
            let st = parse_sockstat(&a, b);
            let _ = st.tcp_inuse;
            for section in ["TcpExt", "Tcp", ""] {
                for (name, _) in parse_netstat_section(&a, section) {
                    prop_assert!(!name.is_empty());
                }
            }
            if let Some((lo, hi)) = parse_port_range(&a) {
                let words: Vec<&str> = a.split_whitespace().collect();
                prop_assert_eq!(Ok(lo), words[0].parse::<u16>());
                prop_assert_eq!(Ok(hi), words[1].parse::<u16>());
            }
            Ok(())
        },
    )
}

/// The per-process files: generated from known values, bent, parsed.
#[derive(Debug, Clone)]
pub struct Process {
    comm: String,
    state: char,
    ppid: u32,
    start: u64,
    uids: [u32; 4],
    sigign: u64,
    nofile: Option<u64>,
    cmdline: Vec<u8>,
    link: Vec<u8>,
    edits: Vec<Edit>,
}

fn arb_process() -> impl Strategy<Value = Process> {
    let comm = prop_oneof![
        "[a-z]{1,15}",
        "\\PC{0,15}",
        Just(") S 1 (".to_string()),
        Just("a) (b".to_string())
    ];
    let link = prop_oneof![
        any::<u64>().prop_map(|n| format!("socket:[{n}]").into_bytes()),
        "[0-9]{0,25}".prop_map(|d| format!("socket:[{d}]").into_bytes()),
        any::<u64>().prop_map(|n| format!("net:[{n}]").into_bytes()),
        prop::collection::vec(any::<u8>(), 0..24),
    ];
    let cmdline = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        (1usize..3).prop_map(|k| vec![b'a'; CMDLINE_MAX * k + 1]),
        Just(b"java\0-cp\0x.jar\0".to_vec()),
    ];
    (
        (
            comm,
            prop::sample::select(vec!['R', 'S', 'D', 'T', 'Z', 't']),
            any::<u32>(),
            any::<u64>(),
        ),
        (
            any::<[u32; 4]>(),
            any::<u64>(),
            prop::option::of(any::<u64>()),
        ),
        (cmdline, link, prop_oneof![Just(Vec::new()), edits(4)]),
    )
        .prop_map(
            |((comm, state, ppid, start), (uids, sigign, nofile), (cmdline, link, edits))| {
                Process {
                    comm,
                    state,
                    ppid,
                    start,
                    uids,
                    sigign,
                    nofile,
                    cmdline,
                    link,
                    edits,
                }
            },
        )
}

fn stat_text(p: &Process) -> String {
    format!(
        "4242 ({}) {} {} 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 {} 12345 100 18446744073709551615\n",
        p.comm, p.state, p.ppid, p.start
    )
}

fn status_text(p: &Process) -> String {
    let [r, e, s, f] = p.uids;
    format!(
        "Name:\t{}\nState:\t{} (x)\nPPid:\t{}\nUid:\t{r}\t{e}\t{s}\t{f}\nSigIgn:\t{:016x}\nCapEff:\t000001ffffffffff\n",
        p.comm, p.state, p.ppid, p.sigign
    )
}

fn limits_text(p: &Process) -> String {
    let soft = p.nofile.map_or("unlimited".to_string(), |n| n.to_string());
    format!("Limit                     Soft Limit           Hard Limit           Units\nMax open files            {soft:<20} 524288               files\n")
}

pub fn process_text(budget: &Budget) -> Outcome {
    drive(
        "process_text",
        budget,
        arb_process(),
        |p| stat_text(p).into_bytes(),
        |p| {
            let (stat, status, limits) = (
                apply_text(&stat_text(p), &p.edits),
                apply_text(&status_text(p), &p.edits),
                apply_text(&limits_text(p), &p.edits),
            );
            let (got_stat, got_start) = (parse_stat(&stat), parse_start_time(&stat));
            let got_status = parse_status(&status);
            let got_euid = status_euid(&status);
            let got_nofile = parse_limits_nofile(&limits);
            let _ = parse_passwd(&apply_text(
                "root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534\n#c\n",
                &p.edits,
            ));
            let link = apply(&p.link, &p.edits);
            let inode = socket_inode(&link);
            let ns = namespace_inode(&link, "net");
            let _ = parse_decimal(&link);
            let cmd = cmdline_text(&apply(&p.cmdline, &p.edits));
            let _ = comm_text(&link);
            if p.cmdline.len() <= CMDLINE_MAX && p.edits.is_empty() {
                prop_assert!(!cmd.ends_with(" bytes]"));
            }
            prop_assert!(
                cmd.len() <= CMDLINE_MAX * 3 + 32,
                "a cut command line stays short"
            );
            // A number is read only from `socket:[DIGITS]` / `net:[DIGITS]`, and it is those digits.
            let digits_of = |prefix: &[u8]| -> Option<u64> {
                let d = link.strip_prefix(prefix)?.strip_suffix(b"]")?;
                // The kernel prints no leading zeros: more than 20 digits is not a u64.
                (!d.is_empty() && d.len() <= 20 && d.iter().all(u8::is_ascii_digit))
                    .then(|| std::str::from_utf8(d).ok()?.parse().ok())?
            };
            prop_assert_eq!(inode, digits_of(b"socket:["));
            prop_assert_eq!(ns, digits_of(b"net:["));
            if !p.edits.is_empty() {
                return Ok(());
            }
            // The comm may hold ") S 1 (": the stat parsers look for the last ')'.
            prop_assert_eq!(got_stat, Some((p.state, p.ppid)));
            prop_assert_eq!(got_start, Some(p.start));
            prop_assert_eq!(got_status.uids, Some(p.uids));
            prop_assert_eq!(got_status.sig_ignored, Some(p.sigign));
            prop_assert_eq!(got_status.state, Some(p.state));
            prop_assert_eq!(got_euid, Some(p.uids[1]));
            prop_assert_eq!(got_nofile, p.nofile);
            Ok(())
        },
    )
}

/// Pieces of cgroup paths: runtime scopes, pod slices, ids of every length, plain names.
fn arb_cgroup_file() -> impl Strategy<Value = String> {
    let id = prop_oneof!["[0-9a-f]{64}", "[0-9a-f]{63}", "[0-9a-fA-F]{0,70}"];
    let uid = prop_oneof![
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[0-9a-f_-]{0,40}"
    ];
    let piece = prop_oneof![
        id.clone().prop_map(|i| format!("docker-{i}.scope")),
        id.clone().prop_map(|i| format!("cri-containerd-{i}.scope")),
        id.clone().prop_map(|i| format!("crio-{i}")),
        id.clone().prop_map(|i| format!("libpod-{i}.scope")),
        id.clone()
            .prop_map(|i| format!("kubepods-burstable.slice:cri-containerd:{i}")),
        id,
        uid.clone().prop_map(|u| format!("pod{u}")),
        uid.prop_map(|u| format!("kubepods-besteffort-pod{}.slice", u.replace('-', "_"))),
        prop::sample::select(vec![
            "docker",
            "lxc",
            "lxc.payload.web",
            "lxc.payload.",
            "libpod_parent",
            "system.slice",
            "nginx.service",
            "session-3.scope",
            ".scope",
            "pod",
            "kubepods",
            "",
            "..",
            ":",
            "::",
        ])
        .prop_map(str::to_string),
        "\\PC{0,12}",
    ];
    let path = prop::collection::vec(piece, 0..6).prop_map(|p| format!("/{}", p.join("/")));
    let line = prop_oneof![
        path.clone().prop_map(|p| format!("0::{p}")),
        path.clone().prop_map(|p| format!("1:name=systemd:{p}")),
        path.clone().prop_map(|p| format!("4:cpu,cpuacct:{p}")),
        path,
    ];
    prop::collection::vec(line, 0..4).prop_map(|l| l.join("\n"))
}

pub fn cgroup(budget: &Budget) -> Outcome {
    let strategy = (
        arb_cgroup_file(),
        prop_oneof![2 => Just(Vec::new()), 1 => edits(4)],
    );
    drive(
        "cgroup",
        budget,
        strategy,
        |(t, e)| apply_text(t, e).into_bytes(),
        |(text, e)| {
            let text = apply_text(text, e);
            let info = parse_cgroup_file(&text);
            if let Some(c) = &info.container {
                prop_assert!(!c.id.is_empty() && !c.runtime.is_empty());
                if c.runtime != "lxc" {
                    prop_assert!(
                        c.id.len() == 64 && c.id.bytes().all(|b| b.is_ascii_hexdigit()),
                        "{:?}",
                        c
                    );
                }
                if let Some(pod) = &c.pod_uid {
                    prop_assert_eq!(pod.len(), 36);
                }
                let label = short_label(c);
                prop_assert!(label.starts_with(&c.runtime));
            }
            if let Some(u) = &info.unit {
                prop_assert!(u.ends_with(".service") || u.ends_with(".scope"));
            }
            for line in text.lines() {
                let _ = container_of_path(line);
                let _ = unit_of_path(line);
            }
            Ok(())
        },
    )
}
