//! Golden tests: every fixture under tests/fixtures/import (real output made on this machine by
//! scripts/capture-import-fixtures.sh, and captures written from each system's documentation;
//! docs/import.md says which) is imported and its snapshot compared with an insta snapshot: the
//! source, what the capture lacks, the notes, and one line per socket with every field a parser
//! fills. Then the properties: random bytes and mutated captures never panic.

use super::*;
use crate::model::socket::Family;
use proptest::prelude::*;
use std::fmt::Write as _;

pub(crate) const T0: u64 = 1_795_000_000_000;

pub(crate) fn options(name: &str) -> Options {
    Options {
        format: None,
        file: name.to_string(),
        taken_at_unix_ms: T0,
        taken_at_from: "the file's modification time".to_string(),
    }
}

/// A fixture's bytes, by file name.
macro_rules! fixture {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/import/",
                $name
            )) as &[u8],
        )
    };
}

/// Every fixture, for the properties.
pub(crate) const FIXTURES: &[(&str, &[u8])] = &[
    fixture!("linux-netstat-tan.txt"),
    fixture!("linux-netstat-tanp.txt"),
    fixture!("linux-netstat-tanpo.txt"),
    fixture!("linux-netstat-tanpe.txt"),
    fixture!("linux-netstat-tanpo.de.txt"),
    fixture!("linux-netstat-tanpo.pt_BR.txt"),
    fixture!("linux-netstat-tanpo.fr.txt"),
    fixture!("linux-netstat-tanpo.cs.txt"),
    fixture!("linux-netstat-tanpo.ja.txt"),
    fixture!("linux-netstat-tanpo.et.txt"),
    fixture!("linux-netstat-tanpe.pt_BR.txt"),
    fixture!("linux-netstat-tan.es.txt"),
    fixture!("linux-netstat-tanp.nonroot.txt"),
    fixture!("linux-ss-tan.txt"),
    fixture!("linux-ss-tanH.txt"),
    fixture!("linux-ss-tanp.txt"),
    fixture!("linux-ss-tanpoe.txt"),
    fixture!("linux-ss-tani.txt"),
    fixture!("linux-ss-an.txt"),
    fixture!("linux-ss-state-close-wait.txt"),
    fixture!("linux-ss-state-close-wait-no-prompt.txt"),
    fixture!("linux-proc-net-tcp.txt"),
    fixture!("windows-netstat-an.txt"),
    fixture!("windows-netstat-ano.txt"),
    fixture!("windows-netstat-anob.txt"),
    fixture!("windows-netstat-ano-p-tcp.de.utf16.txt"),
    fixture!("windows-powershell-get-nettcpconnection.utf16.txt"),
    fixture!("windows-powershell-get-nettcpconnection.ps7.txt"),
    fixture!("bsd-netstat-an.macos.txt"),
    fixture!("bsd-netstat-an-p-tcp.freebsd.txt"),
    fixture!("bsd-netstat-an.openbsd.txt"),
    fixture!("solaris-netstat-an.txt"),
    fixture!("solaris-netstat-anu.illumos.txt"),
    fixture!("aix-netstat-an.txt"),
    fixture!("aix-netstat-Aan.txt"),
];

fn fixture(name: &str) -> &'static [u8] {
    FIXTURES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| *b)
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

pub(crate) fn load(name: &str) -> Imported {
    import(fixture(name), &options(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The snapshot as text: header, then one line per socket; `?` where the capture lacks a value.
pub(crate) fn golden(imp: &Imported) -> String {
    let snap = &imp.snapshot;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "source: {}",
        serde_json::to_string(&snap.source).unwrap()
    );
    let _ = writeln!(
        out,
        "missing: {}",
        serde_json::to_string(&snap.missing).unwrap()
    );
    for n in &snap.notes {
        let _ = writeln!(out, "note: {n}");
    }
    // Large captures: the first rows, then counts per state (the rest are alike).
    const SHOWN: usize = 80;
    for s in snap.sockets.iter().take(SHOWN) {
        let _ = writeln!(out, "{}", socket_line(s));
    }
    if snap.sockets.len() > SHOWN {
        let mut by_state: Vec<(TcpState, usize)> = Vec::new();
        for s in &snap.sockets[SHOWN..] {
            match by_state.iter_mut().find(|(st, _)| *st == s.state) {
                Some((_, n)) => *n += 1,
                None => by_state.push((s.state, 1)),
            }
        }
        let counts: Vec<String> = by_state
            .iter()
            .map(|(st, n)| format!("{} {n}", st.name()))
            .collect();
        let _ = writeln!(
            out,
            "... {} more: {}",
            snap.sockets.len() - SHOWN,
            counts.join(", ")
        );
    }
    out
}

fn socket_line(s: &Socket) -> String {
    let known = |d: Datum, v: String| if s.lacks(d) { "?".to_string() } else { v };
    let rq = if s.recv_q_known() {
        s.recv_q.to_string()
    } else {
        "?".into()
    };
    let sq = if s.send_q_known() {
        s.send_q.to_string()
    } else {
        "?".into()
    };
    let timer = known(
        Datum::Timer,
        s.timer.map_or("-".to_string(), |t| {
            format!("{}/{}ms/{}", t.kind.name(), t.expires_ms, t.retrans)
        }),
    );
    let owners = known(
        Datum::Owners,
        s.owners
            .iter()
            .map(|o| {
                let mut t = format!("{}[{}]", o.process.comm, o.pid);
                if !s.lacks(Datum::Fd) {
                    t.push_str(&format!("/fd{}", o.fd));
                }
                if !o.process.user.is_empty() {
                    t.push_str(&format!("@{}", o.process.user));
                }
                if let Some(u) = &o.process.unit {
                    t.push_str(&format!("({u})"));
                }
                t
            })
            .collect::<Vec<_>>()
            .join(","),
    );
    let info = s.tcp_info.as_ref().map_or(String::new(), |i| {
        format!(
            " info:rtt={:?}us,lastack={:?}ms,lastrcv={:?}ms,cwnd={:?}",
            i.rtt_us, i.last_ack_recv_ms, i.last_data_recv_ms, i.snd_cwnd
        )
    });
    let fam = match s.family {
        Family::Inet => "4",
        Family::Inet6 => "6",
    };
    format!(
        "{} ({}) {fam} {} {} q:{rq}/{sq} t:{timer} uid:{} ino:{} sk:{} sh:{} held:{} own:{owners}{info} lacks:{}",
        s.state.name(),
        s.original_state.as_deref().unwrap_or("-"),
        s.local,
        s.peer,
        known(Datum::Uid, s.uid.to_string()),
        known(Datum::Inode, s.inode.to_string()),
        known(Datum::Cookie, format!("{:x}", s.cookie)),
        s.shutdown.map_or("-".to_string(), |b| b.to_string()),
        s.held().map_or("?", |h| if h { "yes" } else { "no" }),
        serde_json::to_string(&s.missing).unwrap(),
    )
}

macro_rules! golden_tests {
    ($($test:ident => $file:literal),* $(,)?) => {$(
        #[test]
        fn $test() {
            let imp = load($file);
            insta::assert_snapshot!(golden(&imp));
        }
    )*};
}

golden_tests! {
    linux_netstat_tan => "linux-netstat-tan.txt",
    linux_netstat_tanp => "linux-netstat-tanp.txt",
    linux_netstat_tanpo => "linux-netstat-tanpo.txt",
    linux_netstat_tanpe => "linux-netstat-tanpe.txt",
    linux_netstat_tanpo_de => "linux-netstat-tanpo.de.txt",
    linux_netstat_tanpo_pt_br => "linux-netstat-tanpo.pt_BR.txt",
    linux_netstat_tanpo_fr => "linux-netstat-tanpo.fr.txt",
    linux_netstat_tanpo_cs => "linux-netstat-tanpo.cs.txt",
    linux_netstat_tanpo_ja => "linux-netstat-tanpo.ja.txt",
    linux_netstat_tanpo_et => "linux-netstat-tanpo.et.txt",
    linux_netstat_tanpe_pt_br => "linux-netstat-tanpe.pt_BR.txt",
    linux_netstat_tan_es => "linux-netstat-tan.es.txt",
    linux_netstat_tanp_nonroot => "linux-netstat-tanp.nonroot.txt",
    linux_ss_tan => "linux-ss-tan.txt",
    linux_ss_tan_no_header => "linux-ss-tanH.txt",
    linux_ss_tanp => "linux-ss-tanp.txt",
    linux_ss_tanpoe => "linux-ss-tanpoe.txt",
    linux_ss_tani => "linux-ss-tani.txt",
    linux_ss_an => "linux-ss-an.txt",
    linux_ss_state_close_wait => "linux-ss-state-close-wait.txt",
    linux_proc_net_tcp => "linux-proc-net-tcp.txt",
    windows_netstat_an => "windows-netstat-an.txt",
    windows_netstat_ano => "windows-netstat-ano.txt",
    windows_netstat_anob => "windows-netstat-anob.txt",
    windows_netstat_ano_p_tcp_de_utf16 => "windows-netstat-ano-p-tcp.de.utf16.txt",
    windows_powershell_get_nettcpconnection_utf16 => "windows-powershell-get-nettcpconnection.utf16.txt",
    windows_powershell_get_nettcpconnection_ps7 => "windows-powershell-get-nettcpconnection.ps7.txt",
    bsd_netstat_an_macos => "bsd-netstat-an.macos.txt",
    bsd_netstat_an_p_tcp_freebsd => "bsd-netstat-an-p-tcp.freebsd.txt",
    bsd_netstat_an_openbsd => "bsd-netstat-an.openbsd.txt",
    solaris_netstat_an => "solaris-netstat-an.txt",
    solaris_netstat_anu_illumos => "solaris-netstat-anu.illumos.txt",
    aix_netstat_an => "aix-netstat-an.txt",
    aix_netstat_aan => "aix-netstat-Aan.txt",
}

#[test]
fn every_fixture_is_detected_as_its_family() {
    for (name, bytes) in FIXTURES {
        let want = name.split('.').next().unwrap();
        let Ok(imp) = import(bytes, &options(name)) else {
            assert_eq!(*name, "linux-ss-state-close-wait-no-prompt.txt");
            continue;
        };
        let got = &imp.snapshot.source.import().unwrap().format;
        let family = Format::from_name(got).unwrap();
        assert!(want.starts_with(family.name()), "{name} was read as {got}");
    }
}

#[test]
fn real_captures_read_every_row_of_the_same_sockets() {
    // The real captures were taken of the same sockets, one after the other: every format reads
    // every row, and they agree on the sockets that do not expire while the captures run (TIME-WAIT
    // and orphaned FIN-WAIT-2 last 60 s and may end between two captures).
    let stable = |name: &str| {
        let imp = load(name);
        assert!(imp.problems.is_empty(), "{name}: {:?}", imp.problems);
        let mut v: Vec<(TcpState, String, String)> = imp
            .snapshot
            .sockets
            .iter()
            .filter(|s| !matches!(s.state, TcpState::TimeWait | TcpState::FinWait2))
            .map(|s| (s.state, s.local.to_string(), s.peer.to_string()))
            .collect();
        v.sort();
        v
    };
    let want = stable("linux-ss-tan.txt");
    assert_eq!(want.len(), 47);
    assert_eq!(
        want.iter().filter(|s| s.0 == TcpState::CloseWait).count(),
        8
    );
    for (name, _) in FIXTURES.iter().filter(|(n, _)| {
        n.starts_with("linux-") && !n.contains(".es.") && !n.contains("state-close-wait")
    }) {
        assert_eq!(stable(name), want, "{name}");
    }
}

#[test]
fn a_stateless_ss_capture_without_its_command_is_refused_with_advice() {
    let name = "linux-ss-state-close-wait-no-prompt.txt";
    let err = import(fixture(name), &options(name)).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("no State column"), "{text}");
    assert!(text.contains("$ ss -tn state close-wait"), "{text}");
}

#[test]
fn unparseable_lines_are_listed_with_their_numbers_and_the_rest_is_read() {
    let text = "Active Internet connections (servers and established)\n\
Proto Recv-Q Send-Q Local Address           Foreign Address         State\n\
tcp        0      0 0.0.0.0:22              0.0.0.0:*               LISTEN\n\
tcp        0      0 10.0.0.1:22             10.0.0.9:5000           WIBBLE\n\
garbage in the middle\n\
tcp        1      0 10.0.0.1:8080           10.0.0.9:5001           CLOSE_WAIT\n\
tcp        0      0 10.0.0.1:99999          10.0.0.9:5002           ESTABLISHED\n";
    let imp = import(text.as_bytes(), &options("mixed.txt")).unwrap();
    assert_eq!(imp.snapshot.sockets.len(), 2);
    let lines: Vec<usize> = imp.problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, vec![4, 5, 7]);
    assert!(imp.problems[0].why.contains("unknown state 'WIBBLE'"));
    let notes = imp.snapshot.notes.join("\n");
    assert!(
        notes.contains("could not read line 4: unknown state 'WIBBLE'"),
        "{notes}"
    );
}

#[test]
fn nothing_recognisable_is_an_error_naming_the_formats() {
    let err = import(b"hello\nworld\n", &options("notes.txt")).unwrap_err();
    assert!(matches!(err, ImportError::NotRecognised { .. }));
    assert!(err.to_string().contains("windows-netstat"), "{err}");
    let udp_only = b"  UDP    0.0.0.0:123            *:*                                    1234\n";
    let err = import(udp_only, &options("udp.txt")).unwrap_err();
    assert!(err.to_string().contains("other protocols (udp)"), "{err}");
    let forced = Options {
        format: Some(Format::SolarisNetstat),
        ..options("x.txt")
    };
    let err = import(fixture("linux-ss-tan.txt"), &forced).unwrap_err();
    assert!(err.to_string().contains("--from-format"), "{err}");
}

#[test]
fn the_format_can_be_named() {
    // AIX and BSD rows look alike: naming the format picks AIX's facts.
    let named = Options {
        format: Some(Format::AixNetstat),
        ..options("aix.txt")
    };
    let imp = import(fixture("bsd-netstat-an.openbsd.txt"), &named).unwrap();
    assert_eq!(imp.snapshot.source.system(), System::Aix);
}

#[test]
fn crlf_tabs_prompts_and_utf16_are_read() {
    let crlf = "C:\\>netstat -ano\r\n\r\nActive Connections\r\n\r\n  Proto\tLocal Address\tForeign Address\tState\tPID\r\n  TCP\t0.0.0.0:135\t0.0.0.0:0\tLISTENING\t1060\r\n  TCP\t10.0.0.5:8080\t10.0.0.9:50000\tCLOSE_WAIT\t4242\r\n";
    let imp = import(crlf.as_bytes(), &options("crlf.txt")).unwrap();
    assert_eq!(imp.snapshot.sockets.len(), 2);
    assert!(imp.problems.is_empty(), "{:?}", imp.problems);
    let o = imp.snapshot.source.import().unwrap();
    assert_eq!(o.format, "windows-netstat-ano");
    assert_eq!(o.command.as_deref(), Some("netstat -ano"));
    let mut utf16 = vec![0xFF, 0xFE];
    for u in crlf.encode_utf16() {
        utf16.extend(u.to_le_bytes());
    }
    let again = import(&utf16, &options("utf16.txt")).unwrap();
    assert_eq!(again.snapshot.sockets, imp.snapshot.sockets);
    assert!(again.snapshot.notes[0].contains("read as UTF-16LE"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = import(&bytes, &options("random"));
        for f in Format::ALL {
            let _ = import(&bytes, &Options { format: Some(f), ..options("random") });
        }
    }

    #[test]
    fn mutated_captures_never_panic(
        which in 0..FIXTURES.len(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..4), 1..24),
    ) {
        let mut bytes = FIXTURES[which].1.to_vec();
        for (at, byte, op) in edits {
            if bytes.is_empty() {
                bytes.push(byte);
                continue;
            }
            let i = at % bytes.len();
            match op {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                2 => bytes.insert(i, byte),
                _ => bytes.truncate(i),
            }
        }
        let _ = import(&bytes, &options("mutated"));
        for f in Format::ALL {
            let _ = import(&bytes, &Options { format: Some(f), ..options("mutated") });
        }
    }
}
