//! `tcpscope top` in a real terminal (tmux): beside a `tcpscope lab close-wait --count 7`, the
//! screen shows the 7 CLOSE-WAIT sockets and the process holding them; keys drive the grouping,
//! the sort, the filter prompt (a mistake pointed at in place) and the drill-down to one socket;
//! `q` — and SIGTERM, and a panic — leave the shell's prompt on a terminal restored to normal;
//! a terminal that goes away ends top; the release key ends CLOSE-WAIT sockets after showing
//! release's dry run; as root the diagram shows traced transition rates.
//! `--once` and `--from` are checked without a terminal. A trace recording (`trace --record`)
//! is replayed as time: traced rates, the replay's clock, its end (and ls, summary and doctor
//! refuse one, saying what to use). None of this needs root: lab
//! close-wait builds its sockets on loopback, and without root top reads its own namespace.

mod common;

use common::lab::Lab;
use common::tmux::{tmux_or_skip, Tmux};
use common::{bin, root_or_skip, run_ok, ss_close_wait};
use std::path::PathBuf;

fn golden(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn top_bin() -> String {
    env!("CARGO_BIN_EXE_tcpscope").to_string()
}

/// The line of `screen` holding `what`.
fn line_with<'a>(screen: &'a str, what: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no line with {what:?}:\n{screen}"))
}

/// True when the header shows `n` sockets in `state` (its name, then the count).
fn header_count(screen: &str, state: &str, n: u64) -> bool {
    screen.lines().any(|l| {
        let mut words = l.split_whitespace();
        while let Some(w) = words.next() {
            if w == state {
                return words.next() == Some(&n.to_string());
            }
        }
        false
    })
}

#[test]
fn top_shows_a_close_wait_leak_and_is_driven_by_keys() {
    if !tmux_or_skip("top_shows_a_close_wait_leak_and_is_driven_by_keys") {
        return;
    }
    let lab = Lab::start(&["close-wait", "--count", "7"]);
    let port = lab.doc["listeners"][0]["port"]
        .as_u64()
        .expect("lab's port");
    let pid = lab.pids()[0];
    let owner = format!("tcpscope[{pid}]");
    let t = Tmux::start(160, 45);
    t.run(&format!(
        "{} top --interval 500ms 'sport = :{port} or dport = :{port}'",
        top_bin()
    ));

    // The 7 CLOSE-WAIT sockets, their process, and doctor's verdict about it.
    let s = t.wait_for("7 CLOSE-WAIT sockets of the lab's process", |s| {
        header_count(s, "CLOSE-WAIT", 7) && s.contains(&owner)
    });
    let row = line_with(&s, &owner);
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells[1], "15",
        "7 CLOSE-WAIT + 7 FIN-WAIT-2 + the listener: {row}"
    );
    let head: Vec<&str> = line_with(&s, "Total").split_whitespace().collect();
    let cw = head
        .iter()
        .position(|c| *c == "CLOSE-W")
        .expect("a CLOSE-W column");
    assert_eq!(cells[cw], "7", "the CLOSE-W column of {row}\n{s}");
    assert!(
        s.contains(&format!("pid {pid} (tcpscope) is not closing 7 socket(s)")),
        "{s}"
    );

    // Grouping: a key cycles process -> container -> local port -> peer host -> namespace.
    t.keys(&["g"]);
    let s = t.wait_text("Sockets by container");
    assert!(line_with(&s, "host").contains("15"), "{s}");
    t.keys(&["g"]);
    let s = t.wait_text("Sockets by local port");
    assert!(s.contains(&format!(":{port}")), "{s}");
    t.keys(&["g"]);
    t.wait_text("Sockets by peer host");
    t.keys(&["g"]);
    t.wait_text("Sockets by namespace");
    t.keys(&["g"]);
    t.wait_text("Sockets by process");

    // Sorting: the next column, then reversed.
    t.keys(&["s"]);
    t.wait_text("sorted by Group ▲");
    t.keys(&["s"]);
    t.wait_text("sorted by Total ▼");
    t.keys(&["r"]);
    t.wait_text("sorted by Total ▲");

    // The filter prompt: a mistake is pointed at, then a good filter applies.
    t.keys(&["/"]);
    t.wait_text(&format!("/ sport = :{port} or dport = :{port}"));
    t.keys(&["C-u"]);
    t.type_text("state clos-wait");
    t.keys(&["Enter"]);
    let s = t.wait_text("invalid filter at column 7");
    let caret = line_with(&s, "^^^^^^^^^");
    assert_eq!(
        caret.find('^'),
        Some(2 + 6),
        "under 'clos-wait': {caret:?}\n{s}"
    );
    t.keys(&["C-u"]);
    t.type_text(&format!("state close-wait sport = :{port}"));
    t.keys(&["Enter"]);
    let s = t.wait_for("the new filter's counts", |s| {
        s.contains(&format!("filter: state close-wait sport = :{port}"))
            && line_with(s, &owner).split_whitespace().nth(1) == Some("7")
    });
    assert!(
        !header_count(&s, "FIN-WAIT-2", 7),
        "FIN-WAIT-2 filtered out:\n{s}"
    );

    // Drill down: the group's 7 sockets, then one socket in full.
    t.keys(&["Enter"]);
    let s = t.wait_text(&format!("process {owner}: 7 socket(s) now"));
    let rows = s
        .lines()
        .filter(|l| l.contains("CLOSE-WAIT") && l.contains(&format!("127.0.0.1:{port}")))
        .count();
    assert_eq!(rows, 7, "{s}");
    assert!(s.contains(&format!("{owner}/fd")), "{s}");
    t.keys(&["Enter"]);
    let s = t.wait_text("What CLOSE-WAIT means");
    assert!(s.contains(&format!("pid {pid} (tcpscope), fd")), "{s}");
    assert!(s.contains("command line:"), "{s}");
    assert!(s.contains("tcp_info"), "{s}");
    assert!(s.contains("in CLOSE-WAIT for at least"), "{s}");
    t.keys(&["Escape"]);
    t.wait_text(&format!("process {owner}: 7 socket(s) now"));
    t.keys(&["Escape"]);
    t.wait_text("Sockets by process");

    // q: back to a clean shell prompt.
    t.keys(&["q"]);
    t.wait_prompt();
    t.assert_restored();
    lab.stop();
}

/// The release key (issue 14 with `release`, issue 15): on one socket of a drill-down, then on
/// the leaking process's group — each time `tcpscope release`'s dry run first (nothing touched:
/// ss still sees every socket; `n` cancels), then `y` ends them and the pane reports per socket.
/// The lab's process lives on; only its sockets are gone.
#[test]
fn the_release_key_ends_close_wait_sockets_after_a_dry_run() {
    if !tmux_or_skip("the_release_key_ends_close_wait_sockets_after_a_dry_run") {
        return;
    }
    let lab = Lab::start(&["close-wait", "--count", "5"]);
    let port = lab.doc["listeners"][0]["port"]
        .as_u64()
        .expect("lab's port");
    let pid = lab.pids()[0];
    let owner = format!("tcpscope[{pid}]");
    assert_eq!(ss_close_wait(port as u16), 5);
    let t = Tmux::start(160, 60);
    t.run(&format!(
        "{} top --interval 500ms 'sport = :{port}'",
        top_bin()
    ));
    t.wait_for("the 5 CLOSE-WAIT sockets", |s| {
        header_count(s, "CLOSE-WAIT", 5) && s.contains(&owner)
    });

    // One socket: the first CLOSE-WAIT of the drill-down (the listener is listed first).
    t.keys(&["Enter"]);
    let s = t.wait_text(&format!("process {owner}: 6 socket(s) now"));
    let rows: Vec<&str> = s
        .lines()
        .skip_while(|l| !l.contains("Local Address"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect();
    let first_cw = rows
        .iter()
        .position(|l| l.contains("CLOSE-WAIT"))
        .expect("a CLOSE-WAIT row");
    let peer = rows[first_cw]
        .split_whitespace()
        .nth(4)
        .expect("the peer column")
        .to_string();
    for _ in 0..first_cw {
        t.keys(&["Down"]);
    }
    t.keys(&["K"]);
    // The prompt is the pane's last line: waiting for it (not the first) means the capture
    // never catches the pane half drawn.
    let s = t.wait_text("Press y to end this socket now");
    assert!(s.contains("dry run — 1 socket would be ended"), "{s}");
    assert!(s.contains(&peer), "the selected socket, {peer}:\n{s}");
    assert!(s.contains(&format!("{owner}/fd")), "{s}");
    assert_eq!(ss_close_wait(port as u16), 5, "a dry run touches nothing");
    t.keys(&["y"]);
    let s = t.wait_text("1 of 1 socket released; 0 remain");
    let row = s
        .lines()
        .find(|l| l.trim_start().starts_with("CLOSE-WAIT") && l.contains(&peer))
        .unwrap_or_else(|| panic!("no row for {peer}:\n{s}"));
    assert!(row.trim_end().ends_with("released"), "{s}");
    assert_eq!(ss_close_wait(port as u16), 4);
    t.keys(&["Escape"]);
    t.wait_text(&format!("process {owner}: 5 socket(s) now"));

    // The group: its CLOSE-WAIT sockets (the filter names no state).
    t.keys(&["Escape"]);
    t.wait_for("4 CLOSE-WAIT sockets left", |s| {
        s.contains("Sockets by process") && header_count(s, "CLOSE-WAIT", 4)
    });
    t.keys(&["K"]);
    t.wait_text("dry run — 4 sockets would be ended");
    // The end of the dry run: the command that does the same.
    t.keys(&["End"]);
    let s = t.wait_text("Press y to end these 4 sockets now");
    assert!(
        // (--all-netns as root: top reads every namespace, and so does its release key.)
        line_with(&s, "to end them: tcpscope release --yes").contains(&format!(
            "'state close-wait sport = :{port} and pid = {pid}'"
        )),
        "the same as the command:\n{s}"
    );
    t.keys(&["n"]);
    t.wait_text("Sockets by process");
    assert_eq!(ss_close_wait(port as u16), 4, "cancelled: nothing touched");
    t.keys(&["K"]);
    t.wait_text("dry run — 4 sockets would be ended");
    t.keys(&["y"]);
    let s = t.wait_text("4 of 4 sockets released; 0 remain");
    let released = s
        .lines()
        .filter(|l| l.contains("CLOSE-WAIT") && l.trim_end().ends_with("released"))
        .count();
    assert_eq!(released, 4, "one line per socket:\n{s}");
    assert_eq!(ss_close_wait(port as u16), 0);
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "release never kills the owner"
    );
    t.keys(&["Escape"]);
    t.wait_for("no CLOSE-WAIT left in the table", |s| {
        s.contains("Sockets by process") && !header_count(s, "CLOSE-WAIT", 4)
    });
    t.keys(&["q"]);
    t.wait_prompt();
    t.assert_restored();
    lab.stop();
}

/// As root, top traces every state change beside its polls (issue 14 with `trace`): beside a
/// `lab churn`, the header counts connections opened and closed from the tracepoint, and the
/// diagram shows a rate after the arrows the churn's connections take. Rates depend on the
/// host's speed, so only their presence is checked, never their values.
#[test]
fn as_root_the_diagram_shows_traced_transition_rates() {
    let name = "as_root_the_diagram_shows_traced_transition_rates";
    if !root_or_skip(name) || !tmux_or_skip(name) {
        return;
    }
    let lab = Lab::start(&["churn", "--rate", "50", "--duration", "10m"]);
    let port = lab.doc["listeners"][0]["port"]
        .as_u64()
        .expect("lab's port");
    let t = Tmux::start(140, 70);
    t.run(&format!(
        "{} top 'sport = :{port} or dport = :{port}'",
        top_bin()
    ));
    let s = t.wait_for("traced opened/closed rates", |s| {
        s.contains("(traced)") && !s.contains("opened 0/s")
    });
    assert!(line_with(&s, "(traced)").contains("state changes"), "{s}");
    t.keys(&["m"]);
    // A connect(), its handshake, and the close into TIME-WAIT: each arrow ends with a rate.
    let arrow_rate = |s: &str, label: &str, to: &str| {
        s.lines().any(|l| {
            l.contains(label)
                && l.split('▶')
                    .nth(1)
                    .is_some_and(|r| r.trim_start().starts_with(to) && r.trim_end().ends_with("/s"))
        })
    };
    let s = t.wait_for("rates on the churn's arrows", |s| {
        s.contains("Rates after the arrows")
            && arrow_rate(s, "connect() / snd SYN", "SYN-SENT")
            && arrow_rate(s, "rcv SYN+ACK / snd ACK", "ESTABLISHED")
    });
    assert!(
        !arrow_rate(&s, "listen()", "LISTEN"),
        "no listener was opened meanwhile:\n{s}"
    );
    t.keys(&["q"]);
    t.wait_prompt();
    t.assert_restored();
    lab.stop();
}

/// Where the tracepoint and the screen would not see the same sockets (one namespace), or
/// without root, the diagram says why it has no rates instead of showing none silently.
#[test]
fn the_diagram_says_why_it_has_no_rates() {
    let name = "the_diagram_says_why_it_has_no_rates";
    if !tmux_or_skip(name) {
        return;
    }
    let t = Tmux::start(120, 40);
    let root = rustix::process::geteuid().is_root();
    // As root, one namespace (this test's); without root top reads only its own anyway.
    let (scope, why) = if root {
        (
            format!("--netns pid:{}", std::process::id()),
            "top reads one network namespace",
        )
    } else {
        (String::new(), "needs root")
    };
    t.run(&format!("{} top {scope} 'sport = :1'", top_bin()));
    t.wait_text("Sockets by process");
    t.keys(&["m"]);
    let s = t.wait_text("Transition rates on the arrows: not traced");
    assert!(s.contains(why), "{s}");
    t.keys(&["q"]);
    t.wait_prompt();
    t.assert_restored();
}

#[test]
fn sigterm_and_a_panic_restore_the_terminal() {
    if !tmux_or_skip("sigterm_and_a_panic_restore_the_terminal") {
        return;
    }
    let t = Tmux::start(120, 30);
    t.run(&format!(
        "{} top --from {}",
        top_bin(),
        golden("mixed.json")
    ));
    t.wait_text("Sockets by process");
    let pid = t.child_pid().expect("top's pid");
    // SAFETY: kill has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGTERM) }, 0);
    t.wait_prompt();
    t.assert_restored();

    t.run(&format!(
        "TCPSCOPE_TEST_PANIC_IN_TOP=1 {} top --from {}",
        top_bin(),
        golden("mixed.json")
    ));
    let s = t.wait_for("the panic message and the prompt", |s| {
        s.contains("panicking on purpose")
            && s.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| l.trim_end() == common::tmux::PROMPT)
    });
    assert!(
        !s.contains("Sockets by process"),
        "the screen was left:\n{s}"
    );
    t.assert_restored();
}

/// Regression: crossterm reads a hung-up terminal in an endless loop; top polled the closed
/// pty at 100% CPU forever after its tmux was killed.
#[test]
fn top_ends_when_its_terminal_goes_away() {
    if !tmux_or_skip("top_ends_when_its_terminal_goes_away") {
        return;
    }
    let mixed = golden("mixed.json");
    let bin = top_bin();
    let t = Tmux::start_program(100, 30, &[bin.as_str(), "top", "--from", mixed.as_str()]);
    t.wait_text("Sockets by process");
    let pid = t.var("pane_pid");
    assert!(!pid.is_empty());
    t.kill();
    let deadline = std::time::Instant::now() + common::HANG_GUARD;
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // A zombie has ended; tmux is gone, so nobody reaps it but init.
        if state
            .rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z'))
        {
            break;
        }
        if std::time::Instant::now() > deadline {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(pid.parse().unwrap(), libc::SIGKILL) };
            panic!(
                "top (pid {pid}) still runs {:?} after its terminal went away",
                common::HANG_GUARD
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn once_draws_one_screen_of_a_recording_without_a_terminal() {
    let out = run_ok(&[
        "top",
        "--once",
        "--size",
        "100x30",
        "--from",
        &golden("mixed.json"),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 30, "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    assert!(text.contains("● CRITICAL"), "{text}");
    assert!(text.contains("tcpscope[26446]"), "{text}");
    assert!(text.contains("recording mixed.json"), "{text}");
    // Options choose the grouping and the sort; a narrow screen still shows the groups.
    let out = run_ok(&[
        "top",
        "--once",
        "--size",
        "60x20",
        "-g",
        "local-port",
        "-s",
        "close-wait",
        "--from",
        &golden("mixed.json"),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Sockets by local port"), "{text}");
    assert!(text.contains("sorted by CLOSE-W"), "{text}");
    assert!(text.contains(":43129"), "{text}");
}

#[test]
fn top_refuses_what_it_cannot_do_with_a_clear_error() {
    let out = bin()
        .args(["top", "--from", &golden("mixed.json")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "not a terminal");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--once"), "{err}");
    let out = bin()
        .args(["top", "--record", "/tmp/x.json", "--once"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not record"));
    let out = bin()
        .args(["top", "--once", "-s", "bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a column"));
}

/// A trace recording made here (`tcpscope trace --record` while `tcpscope lab churn --rate 50
/// --duration 3s` and `tcpscope lab close-wait --count 3` ran), shared with core's tests.
fn trace_fixture() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tcpscope-core/tests/fixtures/trace/churn-close-wait.jsonl")
        .to_string_lossy()
        .into_owned()
}

/// True when a line of the diagram has the arrow `label` into `to` ending with a rate.
fn arrow_rate(s: &str, label: &str, to: &str) -> bool {
    s.lines().any(|l| {
        l.contains(label)
            && l.split('▶')
                .nth(1)
                .is_some_and(|r| r.trim_start().starts_with(to) && r.trim_end().ends_with("/s"))
    })
}

/// The replay clock in the title (`trace NAME @ 12:00:03.5`).
fn replay_time(s: &str) -> Option<String> {
    let title = s.lines().next()?;
    let at = title.split(" @ ").nth(1)?;
    Some(at.split_whitespace().next()?.to_string())
}

/// `top --from TRACE` without root: an interval longer than the recording takes the replay to
/// its end at the first poll, whose window is the whole recording — the header's opened,
/// closed and changes per second "(traced)", the lab's 3 CLOSE-WAIT sockets alive at the end,
/// the title saying the replay ended, and rates on the diagram's arrows. Nothing here depends
/// on how fast the host replays.
#[test]
fn a_trace_recording_replayed_to_its_end_shows_traced_rates() {
    let name = "a_trace_recording_replayed_to_its_end_shows_traced_rates";
    if !tmux_or_skip(name) {
        return;
    }
    let rec = trace_fixture();
    let bin = top_bin();
    let t = Tmux::start_program(
        140,
        70,
        &[
            bin.as_str(),
            "top",
            "--interval",
            "60s",
            "--from",
            rec.as_str(),
        ],
    );
    let s = t.wait_for("the traced header and the 3 CLOSE-WAIT sockets", |s| {
        s.contains("(traced)") && header_count(s, "CLOSE-WAIT", 3)
    });
    let rates = line_with(&s, "(traced)");
    assert!(rates.contains("state changes"), "{s}");
    assert!(
        !rates.contains("opened 0/s"),
        "the churn opened connections: {s}"
    );
    let title = s.lines().next().unwrap_or_default();
    assert!(title.contains("trace churn-close-wait.jsonl @ "), "{title}");
    assert!(title.contains("replay ended"), "{title}");
    assert!(replay_time(&s).is_some(), "{title}");
    t.keys(&["m"]);
    let s = t.wait_for("rates on the churn's arrows", |s| {
        s.contains("Rates after the arrows: every change the trace recorded")
            && arrow_rate(s, "connect() / snd SYN", "SYN-SENT")
            && arrow_rate(s, "rcv SYN+ACK / snd ACK", "ESTABLISHED")
    });
    assert!(
        arrow_rate(&s, "listen()", "LISTEN"),
        "the labs' listeners were opened while the trace ran:\n{s}"
    );
    t.keys(&["q"]);
}

/// The replay moves one interval per poll: its clock advances in the title, space pauses it,
/// and it stops at the recording's end with the CLOSE-WAIT sockets of the lab.
#[test]
fn a_trace_recording_is_replayed_as_time() {
    let name = "a_trace_recording_is_replayed_as_time";
    if !tmux_or_skip(name) {
        return;
    }
    let rec = trace_fixture();
    let bin = top_bin();
    let t = Tmux::start_program(
        140,
        45,
        &[
            bin.as_str(),
            "top",
            "--interval",
            "500ms",
            "--from",
            rec.as_str(),
        ],
    );
    let s = t.wait_for("the first step of the replay", |s| replay_time(s).is_some());
    let first = replay_time(&s).expect("a replay time");
    assert!(
        s.contains("step 500ms (+/-)") || s.contains("replay ended"),
        "the title says how far each poll moves the clock:\n{s}"
    );
    t.keys(&["Space"]);
    // Paused unless the whole replay ran already (a very slow host).
    t.wait_for("the replay paused", |s| {
        s.contains("PAUSED (space)") || s.contains("replay ended")
    });
    t.keys(&["Space"]);
    let s = t.wait_for("the end of the replay", |s| {
        s.contains("replay ended") && header_count(s, "CLOSE-WAIT", 3)
    });
    let last = replay_time(&s).expect("a replay time");
    assert!(last > first, "the clock moved from {first} to {last}");
    // A socket's detail gives its history from the trace, and says what the trace lacks.
    t.keys(&["Enter"]);
    t.wait_for("the group's sockets listed", |s| {
        s.lines()
            .skip_while(|l| !l.contains("Local Address:Port"))
            .skip(1)
            .any(|l| l.contains("tcpscope["))
    });
    t.keys(&["Enter"]);
    let s = t.wait_text("Age and history (the trace's changes up to the replay's time)");
    assert!(s.contains("(traced: exact)"), "{s}");
    assert!(s.contains("Recv-Q - · Send-Q - · timer -"), "{s}");
    t.keys(&["q"]);
}

/// `--once` on a trace recording: the sockets alive at its end, the rates over all of it.
#[test]
fn once_shows_the_end_of_a_trace_recording() {
    let out = run_ok(&[
        "top",
        "--once",
        "--size",
        "120x40",
        "--from",
        &trace_fixture(),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("replay ended"), "{text}");
    assert!(text.contains("(traced)"), "{text}");
    assert!(header_count(&text, "CLOSE-WAIT", 3), "{text}");
}

/// ls, summary and doctor read snapshots: a trace recording is refused with what to use.
#[test]
fn snapshot_commands_refuse_a_trace_recording_and_say_what_to_use() {
    let rec = trace_fixture();
    for cmd in [
        vec!["ls"],
        vec!["summary"],
        vec!["doctor"],
        vec!["ls", "-p", "--json"],
    ] {
        let mut args = cmd.clone();
        args.extend(["--from", rec.as_str()]);
        let out = bin().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("is a trace recording"), "{args:?}: {err}");
        assert!(err.contains("tcpscope top --from"), "{args:?}: {err}");
        assert!(err.contains("tcpscope trace --from"), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // On standard input too (top included: it cannot read the file twice).
    for cmd in ["ls", "top"] {
        let mut args = vec![cmd, "--from", "-"];
        if cmd == "top" {
            args.push("--once");
        }
        let out = bin()
            .args(&args)
            .stdin(std::fs::File::open(&rec).unwrap())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("standard input holds a trace recording") && err.contains("--from FILE"),
            "{args:?}: {err}"
        );
    }
}
