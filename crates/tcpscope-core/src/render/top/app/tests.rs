//! Keys and views of `top` without a terminal: frames built in code, keys in, effects and
//! screen text out.

use super::*;
use crate::analyze::diagnose::fixtures::*;
use crate::analyze::filter::NoResolver;
use crate::analyze::tracking::Track;
use crate::model::state::TcpState;
use crate::render::top::testing::frame_of;

fn leaky(n: u16, at: u64, seq: u64) -> Arc<Frame> {
    let mut socks = Vec::new();
    for i in 0..n {
        let mut s = sock(
            TcpState::CloseWait,
            "127.0.0.1:8080",
            &format!("127.0.0.1:{}", 40000 + i),
        );
        s.cookie = 100 + u64::from(i);
        s.recv_q = 1;
        owned(&mut s, 4242, "leaky");
        idle(&mut s, 95_000);
        socks.push(s);
    }
    let mut est = sock(TcpState::Established, "127.0.0.1:22", "10.0.0.9:50000");
    owned(&mut est, 7, "sshd");
    socks.push(est);
    Arc::new(frame_of(seq, snapshot_at(at, socks)))
}

fn app() -> TopApp {
    let mut a = TopApp::new(Options::default());
    a.on_update(Some(leaky(3, 1_000_000, 1)), None, 0);
    a
}

fn keys(a: &mut TopApp, ks: &[Key]) -> Vec<Effect> {
    ks.iter().flat_map(|k| a.on_key(*k, &NoResolver)).collect()
}

fn typed(a: &mut TopApp, text: &str) -> Vec<Effect> {
    text.chars()
        .flat_map(|c| a.on_key(Key::Char(c), &NoResolver))
        .collect()
}

fn detail(cookie: u64, state: TcpState) -> SocketDetail {
    let mut s = sock(state, "127.0.0.1:8080", "127.0.0.1:40000");
    s.cookie = cookie;
    owned(&mut s, 4242, "leaky");
    SocketDetail {
        socket: s,
        track: Some(Track {
            state,
            state_seen_ms: 990_000,
            state_after_ms: Some(989_000),
            first_seen_ms: 900_000,
            last_seen_poll: 0,
            state_traced_ms: None,
            past: vec![(TcpState::Established, 900_000)],
        }),
    }
}

#[test]
fn the_first_screen_names_the_leak_and_its_process() {
    let mut a = app();
    let text = a.screen(100, 24).text();
    assert_eq!(a.screen(100, 24).lines.len(), 24);
    assert!(text.contains("CLOSE-WAIT"), "{text}");
    assert!(text.contains("leaky[4242]"), "{text}");
    assert!(
        text.contains("● WARNING pid 4242 (leaky) is not closing 3"),
        "{text}"
    );
    assert!(text.contains("Sockets by process"), "{text}");
    let row = text.lines().find(|l| l.contains("leaky[4242]")).unwrap();
    assert!(row.contains("1m35s"), "oldest CLOSE-WAIT idle: {row}");
}

#[test]
fn drill_down_to_a_socket_and_back() {
    let mut a = app();
    let effects = keys(&mut a, &[Key::Enter]);
    let [Effect::List {
        filter,
        group,
        limit,
    }] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(filter.to_string(), "pid = 4242");
    assert_eq!(group.1.label, "leaky[4242]");
    assert_eq!(*limit, DRILL_LIMIT);
    assert_eq!(a.level(), Level::Sockets);
    assert!(a.screen(100, 24).text().contains("listing its sockets"));
    a.on_sockets(Ok(vec![
        detail(100, TcpState::CloseWait),
        detail(101, TcpState::CloseWait),
    ]));
    let text = a.screen(100, 24).text();
    assert!(text.contains("2 socket(s) now"), "{text}");
    assert!(text.contains("leaky[4242]/fd"), "{text}");
    // A new frame refreshes the listing.
    let again = a.on_update(Some(leaky(3, 1_001_000, 2)), None, 0);
    assert!(
        matches!(again.as_slice(), [Effect::List { .. }]),
        "{again:?}"
    );
    a.on_sockets(Ok(vec![
        detail(100, TcpState::CloseWait),
        detail(101, TcpState::CloseWait),
    ]));
    keys(&mut a, &[Key::Down, Key::Enter]);
    assert_eq!(a.level(), Level::Detail);
    let text = a.screen(100, 80).text();
    assert!(text.contains("cookie 0x65"), "the second socket: {text}");
    assert!(text.contains("pid 4242 (leaky)"), "{text}");
    assert!(text.contains("states seen: ESTABLISHED"), "{text}");
    assert!(
        text.contains("not calling close()"),
        "explain's text: {text}"
    );
    // The socket goes away: the pane says so and keeps what it knew.
    a.on_update(Some(leaky(3, 1_002_000, 3)), None, 0);
    a.on_sockets(Ok(vec![detail(100, TcpState::CloseWait)]));
    let text = a.screen(100, 30).text();
    assert!(text.contains("closed since"), "{text}");
    keys(&mut a, &[Key::Esc]);
    assert_eq!(a.level(), Level::Sockets);
    keys(&mut a, &[Key::Esc]);
    assert_eq!(a.level(), Level::Groups);
    assert!(a
        .on_update(Some(leaky(3, 1_003_000, 4)), None, 0)
        .is_empty());
}

#[test]
fn the_filter_prompt_points_at_mistakes_and_applies_filters() {
    let mut a = app();
    keys(&mut a, &[Key::Char('/')]);
    assert!(a.prompting());
    typed(&mut a, "state bogus");
    assert!(keys(&mut a, &[Key::Enter]).is_empty());
    let s = a.screen(100, 24);
    let text = s.text();
    assert!(text.contains("invalid filter at column 7"), "{text}");
    let caret = text.lines().find(|l| l.contains('^')).unwrap();
    assert_eq!(caret.find('^'), Some(2 + 6), "under 'bogus': {caret:?}");
    assert_eq!(
        s.cursor,
        Some((2 + 11, 20)),
        "on the prompt line, after the text"
    );
    keys(&mut a, &[Key::Ctrl('u')]);
    typed(&mut a, "state close-wait");
    let effects = keys(&mut a, &[Key::Enter]);
    let [Effect::SetFilter(f)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(f.to_string(), "state close-wait");
    assert!(!a.prompting());
    assert!(
        a.history().is_empty(),
        "a new filter starts the history again"
    );
    assert!(a
        .screen(120, 24)
        .text()
        .contains("filter: state close-wait"));
    // Esc leaves the filter as it was; an empty one clears it.
    keys(&mut a, &[Key::Char('/'), Key::Char('x'), Key::Esc]);
    assert_eq!(a.filter().to_string(), "state close-wait");
    keys(&mut a, &[Key::Char('/'), Key::Ctrl('u')]);
    let effects = keys(&mut a, &[Key::Enter]);
    assert!(matches!(effects.as_slice(), [Effect::SetFilter(f)] if f.is_all()));
}

#[test]
fn grouping_sorting_interval_and_pause() {
    let mut a = app();
    a.screen(120, 30);
    keys(&mut a, &[Key::Char('g')]);
    assert_eq!(a.group_by(), GroupBy::Container);
    assert!(a.screen(120, 30).text().contains("Sockets by container"));
    keys(
        &mut a,
        &[
            Key::Char('g'),
            Key::Char('g'),
            Key::Char('g'),
            Key::Char('g'),
        ],
    );
    assert_eq!(a.group_by(), GroupBy::Process);
    keys(&mut a, &[Key::Char('G')]);
    assert_eq!(a.group_by(), GroupBy::Netns);
    keys(&mut a, &[Key::Tab]);
    assert_eq!(a.sort(), (SortKey::Attention, true));
    keys(&mut a, &[Key::Char('s')]);
    assert_eq!(a.sort(), (SortKey::Group, false));
    keys(&mut a, &[Key::Char('s')]);
    assert_eq!(a.sort(), (SortKey::Total, true));
    assert!(a.screen(120, 30).text().contains("sorted by Total ▼"));
    keys(&mut a, &[Key::Char('r')]);
    assert!(a.screen(120, 30).text().contains("sorted by Total ▲"));
    keys(&mut a, &[Key::Char('S'), Key::Char('S')]);
    assert_eq!(a.sort().0, SortKey::Attention);
    assert_eq!(keys(&mut a, &[Key::Char('+')]), [Effect::SetInterval(2000)]);
    assert_eq!(
        keys(&mut a, &[Key::Char('-'), Key::Char('-')]),
        [Effect::SetInterval(1000), Effect::SetInterval(500)]
    );
    assert_eq!(keys(&mut a, &[Key::Char(' ')]), [Effect::Pause(true)]);
    assert!(a.screen(120, 30).text().contains("PAUSED"));
    assert_eq!(keys(&mut a, &[Key::Char(' ')]), [Effect::Pause(false)]);
    assert_eq!(keys(&mut a, &[Key::Char('q')]), [Effect::Quit]);
    assert_eq!(keys(&mut a, &[Key::Ctrl('c')]), [Effect::Quit]);
}

#[test]
fn panes_open_close_and_scroll() {
    let mut a = app();
    keys(&mut a, &[Key::Char('d')]);
    assert_eq!(a.pane(), Some(Pane::Doctor));
    let text = a.screen(100, 40).text();
    assert!(text.contains("[WARNING] close-wait-leak"), "{text}");
    assert!(text.contains("next:"), "{text}");
    keys(&mut a, &[Key::Char('m')]);
    assert_eq!(a.pane(), Some(Pane::Diagram));
    let text = a.screen(100, 200).text();
    assert!(text.contains("│ CLOSE-WAIT       3 │"), "{text}");
    assert!(
        text.contains("Transition rates on the arrows: from the next frame on"),
        "{text}"
    );
    let first = a.screen(100, 20).text();
    keys(&mut a, &[Key::PageDown]);
    assert_ne!(a.screen(100, 20).text(), first, "scrolls");
    keys(&mut a, &[Key::Esc]);
    assert_eq!(a.pane(), None);
    keys(&mut a, &[Key::Char('?')]);
    let text = a.screen(100, 60).text();
    assert!(text.contains("the TCP state machine"), "{text}");
    assert!(text.contains("tcpscope release"), "{text}");
    keys(&mut a, &[Key::Char('?')]);
    assert_eq!(a.pane(), None);
}

#[test]
fn every_view_fits_small_terminals() {
    let mut a = app();
    for (w, h) in [(60, 20), (79, 24), (40, 10), (20, 4), (10, 2)] {
        for pane in [None, Some('d'), Some('m'), Some('?')] {
            let mut b = app();
            if let Some(p) = pane {
                keys(&mut b, &[Key::Char(p)]);
            }
            let s = b.screen(w, h);
            assert_eq!(s.lines.len(), h, "{w}x{h}");
            for l in &s.lines {
                assert!(l.width() <= w, "{w}x{h} {pane:?}: {:?}", l.text());
            }
        }
    }
    // Narrow, the table keeps the group, its CLOSE-WAIT and total.
    let text = a.screen(60, 20).text();
    let row = text.lines().find(|l| l.contains("leaky[4242]")).unwrap();
    assert!(row.contains('3'), "{row}");
}

#[test]
fn a_failed_poll_marks_the_frame_stale() {
    let mut a = app();
    a.on_update(
        Some(leaky(3, 1_000_000, 1)),
        Some("netlink: permission denied".into()),
        1,
    );
    let text = a.screen(100, 30).text();
    assert!(
        text.contains("STALE: the last poll failed: netlink: permission denied"),
        "{text}"
    );
}

/// `tcpscope release`'s dry run of `sockets`, decided as root with nothing known of the owners.
fn dry_run_of(sockets: Vec<crate::model::socket::Socket>, filter: &Filter) -> Report {
    use crate::analyze::release::{plan, Invocation, Privileges, Selected};
    let selected = sockets
        .into_iter()
        .map(|socket| Selected { socket, peer: None })
        .collect();
    let privs = Privileges {
        uid: 0,
        net_admin: true,
        sys_ptrace: true,
        sys_admin: true,
        netns_inode: None,
    };
    let (items, left) = plan(selected, &Default::default(), &Default::default(), &privs);
    Report {
        dry_run: true,
        invocation: Invocation {
            filter: filter.to_string(),
            ..Invocation::default()
        },
        sockets: items,
        listeners_left_alone: left,
        notes: Vec::new(),
    }
}

/// The leaking process's three CLOSE-WAIT sockets, as release would select them.
fn the_leak() -> Vec<crate::model::socket::Socket> {
    (0..3u16)
        .map(|i| {
            let mut s = sock(
                TcpState::CloseWait,
                "127.0.0.1:8080",
                &format!("127.0.0.1:{}", 40000 + i),
            );
            s.cookie = 100 + u64::from(i);
            owned(&mut s, 4242, "leaky");
            s
        })
        .collect()
}

#[test]
fn the_release_key_shows_the_dry_run_and_acts_only_on_y() {
    use crate::analyze::release::{Method, Outcome};
    use crate::render::top::release::Keep;
    let mut a = app();
    // The selected group is the leaking process: its CLOSE-WAIT sockets.
    let effects = keys(&mut a, &[Key::Char('K')]);
    let [Effect::ReleaseDryRun { id: 1, target }] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert_eq!(target.filter.to_string(), "state close-wait pid = 4242");
    assert_eq!(target.keep, Keep::Every);
    assert!(a.releasing());
    assert!(a.screen(110, 30).text().contains("selecting the sockets"));
    let report = dry_run_of(the_leak(), &target.filter);

    // n cancels: nothing was asked of the system but the dry run.
    a.on_release(1, Ok(report.clone()));
    let text = a.screen(110, 40).text();
    assert!(
        text.contains("tcpscope release: dry run — 3 sockets would be ended"),
        "{text}"
    );
    assert!(
        text.contains("Press y to end these 3 sockets now"),
        "{text}"
    );
    assert!(text.contains("y release them"), "{text}");
    assert!(keys(&mut a, &[Key::Char('n')]).is_empty());
    assert!(!a.releasing());

    // Again; an older request's answer does not land in the new pane.
    let effects = keys(&mut a, &[Key::Char('K')]);
    assert!(matches!(
        effects.as_slice(),
        [Effect::ReleaseDryRun { id: 2, .. }]
    ));
    a.on_release(1, Ok(report.clone()));
    assert!(a.screen(110, 30).text().contains("selecting the sockets"));
    a.on_release(2, Ok(report.clone()));
    assert!(keys(&mut a, &[Key::Down, Key::Char('x')]).is_empty());
    let effects = keys(&mut a, &[Key::Char('y')]);
    assert_eq!(
        effects,
        vec![Effect::Release {
            id: 2,
            report: report.clone()
        }]
    );
    assert!(a.screen(110, 30).text().contains("ending the sockets"));
    // Sockets being released are seen through: Esc does not leave.
    assert!(keys(&mut a, &[Key::Esc]).is_empty());
    assert!(a.releasing());

    let mut done = report;
    done.dry_run = false;
    for i in &mut done.sockets {
        assert_eq!(i.method, Some(Method::Fin));
        i.outcome = Some(Outcome::Released {
            now: None,
            text: "gone".into(),
        });
    }
    a.on_release(2, Ok(done));
    let text = a.screen(110, 30).text();
    assert!(
        text.contains("tcpscope release: 3 of 3 sockets released; 0 remain"),
        "{text}"
    );
    assert!(!text.contains("exit status"), "{text}");
    // Closing the pane polls at once, to show what remains.
    assert_eq!(keys(&mut a, &[Key::Esc]), vec![Effect::PollNow]);
    assert!(!a.releasing());
}

#[test]
fn the_release_key_on_a_socket_and_where_it_cannot_act() {
    use crate::render::top::release::Keep;
    let mut a = app();
    keys(&mut a, &[Key::Enter]);
    a.on_sockets(Ok(vec![detail(100, TcpState::CloseWait)]));
    let effects = keys(&mut a, &[Key::Char('K')]);
    let [Effect::ReleaseDryRun { target, .. }] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert_eq!(
        target.filter.to_string(),
        "state close-wait src 127.0.0.1:8080 and dst 127.0.0.1:40000"
    );
    assert_eq!(target.keep, Keep::Cookie(100));
    a.on_release(1, Err("pidfd_open: Operation not permitted".into()));
    let text = a.screen(110, 30).text();
    assert!(
        text.contains("release failed: pidfd_open: Operation not permitted"),
        "{text}"
    );
    keys(&mut a, &[Key::Esc]);
    assert_eq!(a.level(), Level::Sockets, "back where it was");

    // A recording: the key says why it cannot act, and asks nothing of the front end.
    let mut a = TopApp::new(Options {
        release_unavailable: Some("top is showing a file".into()),
        ..Options::default()
    });
    a.on_update(Some(leaky(3, 1_000_000, 1)), None, 0);
    assert!(keys(&mut a, &[Key::Char('K')]).is_empty());
    assert!(a.screen(110, 30).text().contains("top is showing a file"));
}
