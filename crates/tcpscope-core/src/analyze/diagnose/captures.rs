//! Doctor on every imported capture (the fixtures of `decode::import`): a CLOSE-WAIT pile-up is
//! blamed on its owner where the capture names one, and on its place where it does not; the
//! advice is the capture's system's; rules whose data the capture lacks say they could not run;
//! nothing tells the reader to "run as root" about a file.

use super::{diagnose, Context, Finding, Report, Severity};
use crate::decode::import::tests::{load, FIXTURES};
use crate::render::doctor::write_report;

fn report(name: &str) -> Report {
    let imp = load(name);
    let input = super::digest::Digest::of_snapshot(&imp.snapshot);
    diagnose(&Context::new(&input, None))
}

fn text(r: &Report) -> String {
    let mut out = Vec::new();
    write_report(&mut out, r).unwrap();
    String::from_utf8(out).unwrap()
}

fn close_wait(r: &Report) -> Vec<&Finding> {
    r.findings
        .iter()
        .filter(|f| f.rule == "close-wait-leak")
        .collect()
}

#[test]
fn no_capture_is_told_to_run_as_root_and_none_panics() {
    for (name, _) in FIXTURES {
        if name.contains("no-prompt") {
            continue;
        }
        let r = report(name);
        let t = text(&r);
        assert!(!t.contains("run as root"), "{name}:\n{t}");
        assert!(!t.contains("CAP_SYS_PTRACE"), "{name}:\n{t}");
    }
}

#[test]
fn close_wait_pile_ups_name_the_owner_where_the_capture_has_one() {
    let cases: &[(&str, &str)] = &[
        ("windows-netstat-ano.txt", "pid 4242"),
        ("windows-netstat-anob.txt", "pid 4242 (java.exe)"),
        ("windows-netstat-ano-p-tcp.de.utf16.txt", "pid 3112"),
        (
            "windows-powershell-get-nettcpconnection.utf16.txt",
            "pid 4242",
        ),
        (
            "windows-powershell-get-nettcpconnection.ps7.txt",
            "pid 7916",
        ),
        ("solaris-netstat-anu.illumos.txt", "pid 2121 (java)"),
        ("linux-netstat-tanp.txt", "(tcpscope)"),
        ("linux-netstat-tanpo.pt_BR.txt", "(tcpscope)"),
        ("linux-ss-tanp.txt", "(tcpscope)"),
        ("linux-ss-tanpoe.txt", "(tcpscope)"),
        ("linux-ss-state-close-wait.txt", "(tcpscope)"),
        // No owner column: the place the sockets share.
        (
            "windows-netstat-an.txt",
            "the program connected to 10.0.0.20:5432",
        ),
        (
            "bsd-netstat-an.macos.txt",
            "the program listening on port 8080",
        ),
        (
            "bsd-netstat-an-p-tcp.freebsd.txt",
            "the program listening on port 443",
        ),
        (
            "solaris-netstat-an.txt",
            "the program listening on port 8080",
        ),
        ("aix-netstat-an.txt", "the program listening on port 9080"),
        (
            "aix-netstat-Aan.txt",
            "the program serving 192.168.242.122:9080",
        ),
        ("linux-netstat-tan.txt", "the program listening on port"),
        ("linux-ss-tani.txt", "the program listening on port"),
        ("linux-proc-net-tcp.txt", "the program listening on port"),
    ];
    for (name, who) in cases {
        let r = report(name);
        let cw = close_wait(&r);
        assert!(
            !cw.is_empty(),
            "{name}: no close-wait finding\n{}",
            text(&r)
        );
        assert!(
            cw.iter().any(|f| f.title.contains(who)),
            "{name}: no finding names {who}: {:?}",
            cw.iter().map(|f| &f.title).collect::<Vec<_>>()
        );
        for f in &cw {
            assert!(
                !f.next_steps
                    .iter()
                    .any(|s| s.contains("sysctl") || s.contains("TcpTimedWaitDelay")),
                "{name}: tuning suggested for CLOSE-WAIT: {:?}",
                f.next_steps
            );
        }
    }
}

#[test]
fn a_windows_pile_up_gets_windows_advice() {
    let r = report("windows-netstat-ano.txt");
    let cw = close_wait(&r);
    assert_eq!(cw[0].severity, Severity::Critical, "120 sockets");
    assert!(cw[0].next_steps.iter().any(|s| s.starts_with("tasklist")));
    assert!(!cw[0].next_steps.iter().any(|s| s.contains("/proc/")));
    let tw = r
        .findings
        .iter()
        .find(|f| f.rule == "time-wait-pressure")
        .expect("900 TIME_WAIT to one destination");
    let all = format!("{tw:?}");
    assert!(all.contains("TcpTimedWaitDelay"), "{all}");
    assert!(all.contains("dynamicport"), "{all}");
    assert!(all.contains("16384 ports"), "{all}");
    assert!(all.contains("120 s"), "{all}");
    assert!(!all.contains("tcp_tw_reuse"), "{all}");
    // Windows shows no queues, timers or kernel counters: those rules say they could not run.
    let not_run: Vec<&str> = r.checked.could_not_run.iter().map(|n| n.rule).collect();
    for rule in [
        "listen-overflow",
        "syn-sent-stuck",
        "closing-pileup",
        "send-queue-stall",
        "unread-receive-queue",
        "orphans",
        "fd-exhaustion",
    ] {
        assert!(not_run.contains(&rule), "{rule} ran: {not_run:?}");
    }
    assert!(!r.checked.rules.contains(&"listen-overflow"));
    let t = text(&r);
    assert!(
        t.contains("could not run: listen-overflow (the capture has no listener backlogs"),
        "{t}"
    );
}

#[test]
fn unnamed_owners_get_the_systems_way_to_find_them() {
    let steps = |name: &str| close_wait(&report(name))[0].next_steps.join("\n");
    assert!(steps("bsd-netstat-an.macos.txt").contains("lsof -nP -iTCP -sTCP:CLOSE_WAIT"));
    assert!(steps("aix-netstat-an.txt").contains("rmsock"));
    assert!(steps("solaris-netstat-an.txt").contains("netstat -anu"));
    assert!(steps("windows-netstat-an.txt").contains("netstat -ano"));
    assert!(steps("linux-netstat-tan.txt").contains("ss -tnp state close-wait"));
    assert!(steps("solaris-netstat-anu.illumos.txt").contains("pfiles 2121"));
}

#[test]
fn listeners_of_unknown_backlog_are_not_judged() {
    // net-tools and /proc show the accept queue (9) but not the backlog (8): no "9 of 0" alarm.
    for name in ["linux-netstat-tan.txt", "linux-proc-net-tcp.txt"] {
        let r = report(name);
        assert!(
            !r.findings.iter().any(|f| f.rule == "listen-overflow"),
            "{name}: {:?}",
            r.findings
        );
    }
    // ss shows both: the full queue (9 of 8) is found.
    let r = report("linux-ss-tan.txt");
    let lo = r
        .findings
        .iter()
        .find(|f| f.rule == "listen-overflow")
        .expect("ss knows the backlog");
    assert!(
        lo.evidence[0].contains("accept queue 9 of backlog 8"),
        "{:?}",
        lo.evidence
    );
}

#[test]
fn solaris_time_wait_advice_is_tcp_time_wait_interval() {
    use crate::analyze::diagnose::fixtures::{snapshot, sock};
    use crate::model::snapshot::{ImportOrigin, Origin, System};
    use crate::model::state::TcpState;
    let socks = (0..9000)
        .map(|i| {
            let mut s = sock(
                TcpState::TimeWait,
                &format!("10.0.0.1:{}", 33000 + i),
                "10.0.0.9:1521",
            );
            s.inode = 0;
            s
        })
        .collect();
    let mut snap = snapshot(socks);
    snap.kernel.sysctls.clear();
    snap.source = Origin::Import(ImportOrigin {
        format: "solaris-netstat-an".into(),
        file: "x".into(),
        system: System::Solaris,
        command: None,
    });
    let input = super::digest::Digest::of_snapshot(&snap);
    let r = diagnose(&Context::new(&input, None));
    let tw = r
        .findings
        .iter()
        .find(|f| f.rule == "time-wait-pressure")
        .unwrap();
    let all = format!("{tw:?}");
    assert!(all.contains("tcp_time_wait_interval"), "{all}");
    assert!(all.contains("smallest_anon_port"), "{all}");
    assert!(
        all.contains("of 32768-65535") || all.contains("32768 ports"),
        "{all}"
    );
}

#[test]
fn doctor_reports_on_captures() {
    for name in [
        "windows-netstat-ano.txt",
        "windows-powershell-get-nettcpconnection.utf16.txt",
        "bsd-netstat-an.macos.txt",
        "solaris-netstat-anu.illumos.txt",
        "aix-netstat-an.txt",
        "linux-netstat-tanpo.de.txt",
    ] {
        let t = text(&report(name));
        insta::assert_snapshot!(name.replace('.', "_"), t);
    }
}
