//! Every view of `top` as drawn by ratatui (its `TestBackend`), fed by real recordings replayed
//! through the real collector (tests/golden: a lab with every rule's sockets, recorded by
//! `doctor --record`): no root, no terminal. Insta snapshots pin the screens; a few checks say
//! what each must show.

use super::draw;
use crate::collect::collector::Collector;
use crate::collect::plan::{InputSpec, Plan};
use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};
use ratatui::Terminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tcpscope_core::analyze::filter::NoResolver;
use tcpscope_core::analyze::frame::Frame;
use tcpscope_core::analyze::groups::GroupBy;
use tcpscope_core::render::top::{Effect, Key, Options, SortKey, TopApp};
use tcpscope_core::Filter;

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn collector(path: &Path) -> Collector {
    let input = InputSpec {
        from: Some(path.to_path_buf()),
        kernel_filter: true,
        ..InputSpec::default()
    };
    let needs = crate::commands::top::needs();
    Collector::new(Plan::new(&input, Filter::all(), needs).expect("the recording opens"))
}

/// A frame of the recording at `path`, as the live collector makes it (for a file: no trace,
/// and why); the poll's duration is fixed so screens do not depend on the machine.
fn frame(c: &mut Collector, seq: u64) -> Arc<Frame> {
    c.next_poll().expect("a poll");
    let mut f = c.frame(seq).expect("a frame");
    f.poll_ms = 7;
    f.untraced = Some(crate::commands::top::UNTRACED_FILE.to_string());
    Arc::new(f)
}

/// The mixed lab, then the same host a second later with one server's CLOSE-WAIT sockets grown
/// by three more and some TIME-WAIT gone: two frames, so sparklines and changes show.
fn app_with_history() -> (TopApp, Collector) {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("tcpscope-top-test-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let later = dir.join("mixed-later.json");
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(golden("mixed.json")).unwrap()).unwrap();
    let t = doc["taken_at_unix_ms"].as_u64().unwrap();
    doc["taken_at_unix_ms"] = (t + 1000).into();
    let socks = doc["sockets"].as_array_mut().unwrap();
    let cw: Vec<serde_json::Value> = socks
        .iter()
        .filter(|s| s["state"] == "close-wait" && s["owners"][0]["pid"] == 26446)
        .take(3)
        .cloned()
        .collect();
    for (i, mut s) in cw.into_iter().enumerate() {
        s["cookie"] = (900_000 + i as u64).into();
        s["peer"]["port"] = (61000 + i as u64).into();
        socks.push(s);
    }
    let mut dropped = 0;
    socks.retain(|s| {
        let drop = s["state"] == "time-wait" && dropped < 300;
        dropped += usize::from(drop);
        !drop
    });
    std::fs::write(&later, serde_json::to_string(&doc).unwrap()).unwrap();
    let mut first = collector(&golden("mixed.json"));
    let mut second = collector(&later);
    let mut app = TopApp::new(Options {
        source: Some("recording mixed.json".into()),
        ..Options::default()
    });
    app.on_update(Some(frame(&mut first, 1)), None, 0);
    app.on_update(Some(frame(&mut second, 2)), None, 0);
    let _ = std::fs::remove_dir_all(&dir);
    (app, first)
}

fn draw(app: &mut TopApp, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| draw::frame(f, app, true)).unwrap();
    t
}

fn text(t: &Terminal<TestBackend>) -> String {
    t.backend().to_string()
}

fn press(app: &mut TopApp, keys: &[Key]) -> Vec<Effect> {
    keys.iter()
        .flat_map(|k| app.on_key(*k, &NoResolver))
        .collect()
}

/// Carry out a drill-down listing on the collector, as the live loop does through `Live`.
fn list(app: &mut TopApp, c: &mut Collector, effects: Vec<Effect>) {
    for e in effects {
        if let Effect::List {
            filter,
            group,
            limit,
        } = e
        {
            let r = c.list_group(&filter, Some(&group), limit);
            app.on_sockets(r.map_err(|e| e.to_string()));
        }
    }
}

#[test]
fn groups_by_process() {
    let (mut app, _) = app_with_history();
    let t = draw(&mut app, 140, 36);
    let s = text(&t);
    assert!(s.contains("● CRITICAL"), "{s}");
    assert!(s.contains("tcpscope[26446]"), "{s}");
    assert!(s.contains("+3"), "the change since the last refresh: {s}");
    assert!(s.contains('▁') || s.contains('█'), "sparklines: {s}");
    insta::assert_snapshot!(s);
}

#[test]
fn groups_by_local_port_sorted_by_close_wait() {
    let (mut app, _) = app_with_history();
    press(&mut app, &[Key::Char('g'), Key::Char('g')]);
    assert_eq!(app.group_by(), GroupBy::LocalPort);
    draw(&mut app, 120, 30);
    // Step the sort to the CLOSE-WAIT column.
    while app.sort().0 != SortKey::State(tcpscope_core::TcpState::CloseWait) {
        press(&mut app, &[Key::Char('s')]);
    }
    let s = text(&draw(&mut app, 120, 30));
    assert!(s.contains("sorted by CLOSE-W ▼"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn narrow_terminal() {
    let (mut app, _) = app_with_history();
    let s = text(&draw(&mut app, 64, 22));
    assert!(s.contains("CLOSE-W"), "{s}");
    assert!(s.contains("tcpscope[26446]"), "{s}");
    insta::assert_snapshot!(s);
}

/// Move the selection to the group labelled `label`.
fn select_group(app: &mut TopApp, label: &str) {
    let rows = text(&draw(app, 140, 36));
    let at = rows
        .lines()
        .skip_while(|l| !l.contains("Process"))
        .skip(1)
        .position(|l| l.contains(label))
        .expect("the group's row");
    for _ in 0..at {
        press(app, &[Key::Down]);
    }
}

#[test]
fn drill_down_and_detail() {
    let (mut app, mut c) = app_with_history();
    // The server with the CLOSE-WAIT sockets: select it, Enter.
    select_group(&mut app, "tcpscope[26446]");
    let effects = press(&mut app, &[Key::Enter]);
    list(&mut app, &mut c, effects);
    let s = text(&draw(&mut app, 160, 36));
    assert!(s.contains("process tcpscope[26446]:"), "{s}");
    assert!(s.contains("CLOSE-WAIT"), "{s}");
    assert!(s.contains("tcpscope[26446]/fd"), "{s}");
    insta::assert_snapshot!("drill_down", s);
    // A CLOSE-WAIT socket (the first row is the listener).
    press(&mut app, &[Key::Down, Key::Enter]);
    let s = text(&draw(&mut app, 110, 60));
    assert!(
        s.contains(" CLOSE-WAIT  127.0.0.1:43129 → 127.64.0.1:"),
        "{s}"
    );
    assert!(s.contains("Owner"), "{s}");
    assert!(s.contains("tcp_info"), "{s}");
    assert!(s.contains("Age and history"), "{s}");
    assert!(s.contains("(the text of `tcpscope explain"), "{s}");
    insta::assert_snapshot!("detail", s);
}

#[test]
fn doctor_diagram_and_help_panes() {
    let (mut app, _) = app_with_history();
    press(&mut app, &[Key::Char('d')]);
    let s = text(&draw(&mut app, 120, 40));
    assert!(s.contains("[CRITICAL] listen-overflow"), "{s}");
    assert!(s.contains("next:"), "{s}");
    insta::assert_snapshot!("doctor", s);
    press(&mut app, &[Key::Char('m')]);
    let s = text(&draw(&mut app, 100, 95));
    assert!(s.contains("│ CLOSE-WAIT      21 │"), "{s}");
    insta::assert_snapshot!("diagram", s);
    press(&mut app, &[Key::Char('?')]);
    let s = text(&draw(&mut app, 100, 50));
    assert!(
        s.contains("sock:inet_sock_set_state"),
        "the trace, said: {s}"
    );
    insta::assert_snapshot!("help", s);
}

#[test]
fn filter_prompt_with_an_error_in_place() {
    let (mut app, _) = app_with_history();
    press(&mut app, &[Key::Char('/')]);
    for c in "sport = :http or state clos-wait".chars() {
        press(&mut app, &[Key::Char(c)]);
    }
    assert!(press(&mut app, &[Key::Enter]).is_empty());
    let t = draw(&mut app, 100, 24);
    let s = text(&t);
    assert!(s.contains("invalid filter at column"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn colours_and_no_colour() {
    let (mut app, _) = app_with_history();
    let find = |t: &Terminal<TestBackend>, what: &str| {
        let buf = t.backend().buffer();
        let area = buf.area;
        for y in 0..area.height {
            let row: String = (0..area.width).map(|x| buf[(x, y)].symbol()).collect();
            if let Some(i) = row.find(what) {
                let x = row[..i].chars().count() as u16;
                return buf[(x, y)].clone();
            }
        }
        panic!("{what} not on screen");
    };
    let t = draw(&mut app, 140, 36);
    let cell = find(&t, "● CRITICAL");
    assert_eq!(cell.fg, Color::Red);
    assert!(cell.modifier.contains(Modifier::BOLD));
    let mut plain = Terminal::new(TestBackend::new(140, 36)).unwrap();
    plain.draw(|f| draw::frame(f, &mut app, false)).unwrap();
    let cell = find(&plain, "● CRITICAL");
    assert_eq!(cell.fg, Color::Reset, "NO_COLOR: no colour");
    assert!(cell.modifier.contains(Modifier::BOLD), "but still bold");
    // The title bar and the selected row are reversed across the whole width.
    let buf = plain.backend().buffer();
    assert!(buf[(139, 0)].modifier.contains(Modifier::REVERSED));
}

/// The release key on the leaking server: `tcpscope release`'s dry run of its CLOSE-WAIT
/// sockets, then what became of each. The sockets come from the recording through the target's
/// filter (live, top selects them with release's own code, tests/top.rs); the decisions are
/// release's, made as root with nothing known of the owners.
#[test]
fn release_dry_run_and_outcome() {
    use tcpscope_core::analyze::release::{
        plan, settle, Invocation, Options as ReleaseOptions, Privileges, Report, Selected,
    };
    let (mut app, mut c) = app_with_history();
    select_group(&mut app, "tcpscope[26446]");
    let effects = press(&mut app, &[Key::Char('K')]);
    let [Effect::ReleaseDryRun { id, target }] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert_eq!(target.filter.to_string(), "state close-wait pid = 26446");
    let selected: Vec<Selected> = c
        .list_group(&target.filter, None, usize::MAX)
        .expect("the recording lists")
        .into_iter()
        .filter(|d| target.keep.keeps(&d.socket))
        .map(|d| Selected {
            socket: d.socket,
            peer: None,
        })
        .collect();
    assert_eq!(
        selected.len(),
        12,
        "the server's CLOSE-WAIT sockets (`ls --from mixed.json state close-wait pid = 26446`)"
    );
    let privs = Privileges {
        uid: 0,
        net_admin: true,
        sys_ptrace: true,
        sys_admin: true,
        netns_inode: None,
    };
    let (items, left) = plan(
        selected,
        &Default::default(),
        &ReleaseOptions::default(),
        &privs,
    );
    let invocation = Invocation {
        filter: target.filter.to_string(),
        ..Invocation::default()
    };
    let report = Report {
        dry_run: true,
        invocation: invocation.clone(),
        sockets: items,
        listeners_left_alone: left,
        notes: Vec::new(),
    };
    app.on_release(*id, Ok(report));
    let s = text(&draw(&mut app, 120, 50));
    assert!(s.contains("dry run — 12 sockets would be ended"), "{s}");
    assert!(s.contains("Press y to end these 12 sockets now"), "{s}");
    insta::assert_snapshot!("release_dry_run", s);

    let effects = press(&mut app, &[Key::Char('y')]);
    let [Effect::Release { id, report }] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    let mut done = report.clone();
    done.dry_run = false;
    for item in &mut done.sockets {
        let method = item.method.expect("a method");
        item.outcome = Some(settle(item, method, None, &invocation));
    }
    app.on_release(*id, Ok(done));
    let s = text(&draw(&mut app, 120, 40));
    assert!(s.contains("12 of 12 sockets released; 0 remain"), "{s}");
    insta::assert_snapshot!("release_done", s);
}

/// With a trace beside the polls (root): the header's rates are the tracepoint's, and the
/// diagram has a rate after each arrow the changes stand for, the rest listed under it.
#[test]
fn traced_rates_in_the_header_and_on_the_diagram() {
    use tcpscope_core::analyze::trace::TraceCounts;
    use tcpscope_core::TcpState as T;
    let (mut app, mut c) = app_with_history();
    let mut f = (*frame(&mut c, 3)).clone();
    let mut t = TraceCounts {
        window_ms: 2000,
        ..TraceCounts::default()
    };
    for ((old, new), n) in [
        ((T::Close, T::SynSent), 100),
        ((T::SynSent, T::Established), 98),
        ((T::Listen, T::SynRecv), 98),
        ((T::SynRecv, T::Established), 98),
        ((T::Established, T::FinWait1), 96),
        ((T::Established, T::CloseWait), 96),
        ((T::FinWait1, T::FinWait2), 96),
        ((T::FinWait2, T::Close), 96),
        ((T::CloseWait, T::LastAck), 90),
        ((T::LastAck, T::Close), 90),
        ((T::SynSent, T::Close), 2),
        ((T::Established, T::Close), 6),
    ] {
        t.records.insert((old, new), n);
    }
    t.opened = 198;
    t.closed = 194;
    f.traced = Some(t);
    app.on_update(Some(Arc::new(f)), None, 0);
    let s = text(&draw(&mut app, 120, 30));
    assert!(
        s.contains("opened 99/s · closed 97/s · state changes 483/s (traced)"),
        "{s}"
    );
    press(&mut app, &[Key::Char('m')]);
    let s = text(&draw(&mut app, 100, 100));
    assert!(s.contains("▶ SYN-SENT        50/s"), "{s}");
    assert!(
        s.contains("ESTABLISHED -> CLOSED  3.0/s"),
        "not drawn, listed: {s}"
    );
    insta::assert_snapshot!("diagram_traced", s);
}
