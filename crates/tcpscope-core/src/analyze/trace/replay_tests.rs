//! A trace replayed as time: sockets rebuilt from changes written in code, window counts, the
//! end of the recording, and a top screen (and its diagram) made from a real recording
//! (`tests/fixtures/trace/churn-close-wait.jsonl`: `tcpscope trace --record` while `tcpscope lab
//! churn --rate 50 --duration 3s` and `tcpscope lab close-wait --count 3` ran).

use super::*;
use crate::analyze::diagnose::fixtures::ep;
use crate::analyze::filter::{Filter, NoResolver};
use crate::model::trace_recording::FORMAT;
use crate::model::transition::{Destroy, Lost, ModelCheck, OwnerFrom, Transition};
use crate::render::top::{Key, Options, TopApp};
use TcpState::*;

const T0: u64 = 1_795_000_000_000_000_000;
const MS: u64 = 1_000_000;

fn header() -> Header {
    Header {
        format: FORMAT.into(),
        version: 1,
        started_unix_ns: T0,
        mode: "tracepoint".into(),
        hostname: "lab".into(),
        kernel: "6.1.0".into(),
        filter: String::new(),
        notes: Vec::new(),
    }
}

/// A change of track `track` at `ms` after the start.
fn change(ms: u64, track: u64, old: TcpState, new: TcpState, local: &str, peer: &str) -> Line {
    Line::Transition {
        track,
        transition: Transition {
            time_unix_ns: T0 + ms * MS,
            family: Family::Inet,
            local: ep(local),
            peer: ep(peer),
            old,
            new,
            in_old_ms: None,
            owner: (track < 100).then(|| TraceOwner {
                pid: 4000 + track as u32,
                comm: Some(format!("p{track}")),
            }),
            owner_from: OwnerFrom::Context,
            netns: None,
            cookie: None,
            model: ModelCheck::Ok,
            skaddr: 0xffff_0000 + track,
            cpu: 0,
            sample_pid: 0,
            flags: 0,
        },
    }
}

/// A listener, a connection to it that ends up in CLOSE-WAIT (server) / FIN-WAIT-2 (client),
/// and one opened and closed within the second second.
fn lines() -> Vec<Line> {
    let (srv, cli) = ("127.0.0.1:8080", "127.0.0.1:40000");
    vec![
        change(100, 1, Close, Listen, "0.0.0.0:8080", "0.0.0.0:0"),
        change(500, 2, Close, SynSent, "127.0.0.1:0", srv),
        change(501, 3, Listen, SynRecv, srv, cli),
        change(502, 2, SynSent, Established, cli, srv),
        change(502, 3, SynRecv, Established, srv, cli),
        change(1200, 2, Established, FinWait1, cli, srv),
        change(1201, 3, Established, CloseWait, srv, cli),
        change(1201, 2, FinWait1, FinWait2, cli, srv),
        change(1300, 4, Close, SynSent, "127.0.0.1:41000", srv),
        change(1400, 4, SynSent, Close, "127.0.0.1:41000", srv),
        Line::Lost(Lost {
            time_unix_ns: T0 + 1500 * MS,
            cpu: 1,
            count: 2,
        }),
        Line::End {
            ended_unix_ns: T0 + 2500 * MS,
        },
    ]
}

fn all() -> TraceFilter {
    TraceFilter::new(Filter::all(), &[]).unwrap()
}

fn states(r: &TraceReplay) -> Vec<(TcpState, String)> {
    r.sockets()
        .map(|s| (s.state, s.local.to_string()))
        .collect()
}

#[test]
fn each_step_shows_the_sockets_alive_then_and_counts_its_window() {
    let mut r = TraceReplay::new(&header(), lines());
    assert_eq!(r.position().at_unix_ms, T0 / MS);
    r.step(1000);
    let p = r.position();
    assert_eq!(p.at_unix_ms - p.started_unix_ms, 1000);
    assert!(!p.ended);
    assert_eq!(
        states(&r),
        vec![
            (Listen, "*:8080".to_string()),
            (Established, "127.0.0.1:40000".to_string()),
            (Established, "127.0.0.1:8080".to_string()),
        ],
        "the client's port is the one picked after CLOSE -> SYN-SENT"
    );
    let c = r.counts(&all());
    assert_eq!(
        (c.window_ms, c.opened, c.closed, c.changes()),
        (1000, 2, 0, 5)
    );

    r.step(1000);
    assert_eq!(
        states(&r),
        vec![
            (Listen, "*:8080".to_string()),
            (FinWait2, "127.0.0.1:40000".to_string()),
            (CloseWait, "127.0.0.1:8080".to_string()),
        ],
        "the connection opened and closed within the window is gone"
    );
    let c = r.counts(&all());
    assert_eq!((c.opened, c.closed, c.changes(), c.lost), (1, 1, 5, 2));
    // The filter of the view narrows the counts as a live trace's does.
    let srv = TraceFilter::new(Filter::parse("sport = :8080").unwrap(), &[]).unwrap();
    assert_eq!(r.counts(&srv).changes(), 1, "ESTABLISHED -> CLOSE-WAIT");
}

#[test]
fn the_replay_stops_at_the_end_on_its_last_window() {
    let mut r = TraceReplay::new(&header(), lines());
    r.step(2000);
    r.step(2000);
    let p = r.position();
    assert!(p.ended);
    assert_eq!(p.at_unix_ms, p.ended_unix_ms);
    assert_eq!(p.ended_unix_ms - p.started_unix_ms, 2500);
    let last = r.counts(&all());
    assert_eq!(last.window_ms, 500);
    r.step(2000);
    assert_eq!(r.position(), p, "the clock stays at the end");
    assert_eq!(r.counts(&all()), last, "and so does the last window");
    assert_eq!(r.alive(), 3);
}

#[test]
fn a_held_step_shows_the_same_time_again() {
    let mut r = TraceReplay::new(&header(), lines());
    r.step(1000);
    let (p, c) = (r.position(), r.counts(&all()));
    r.hold();
    r.step(1000);
    assert_eq!((r.position(), r.counts(&all())), (p, c));
    r.step(1000);
    assert!(r.position().at_unix_ms > p.at_unix_ms);
}

#[test]
fn rebuilt_sockets_carry_what_the_trace_knows_and_say_what_it_does_not() {
    let mut lines = lines();
    // A socket without an owner, and a destroy record that ends the listener's track.
    lines.insert(
        1,
        change(
            150,
            200,
            Established,
            CloseWait,
            "10.0.0.1:22",
            "10.0.0.2:5000",
        ),
    );
    lines.insert(
        2,
        Line::Destroy(Destroy {
            time_unix_ns: T0 + 160 * MS,
            cpu: 0,
            skaddr: 0xffff_0000 + 1,
            cookie: 77,
        }),
    );
    let mut r = TraceReplay::new(&header(), lines);
    r.step(200);
    let socks: Vec<Socket> = r.sockets().collect();
    assert_eq!(socks.len(), 1, "the destroyed listener is gone");
    let s = &socks[0];
    assert_eq!(s.state, CloseWait);
    assert!(s.owners.is_empty() && s.lacks(Datum::Owners));
    assert_eq!(s.held(), None, "not known, not kernel-owned");
    for d in [
        Datum::RecvQ,
        Datum::SendQ,
        Datum::TcpInfo,
        Datum::Timer,
        Datum::Cookie,
    ] {
        assert!(s.lacks(d), "{d:?}");
    }
    r.step(1000);
    let owned: Vec<Socket> = r.sockets().filter(|s| !s.owners.is_empty()).collect();
    assert_eq!(owned[0].owners[0].pid, 4002);
    assert_eq!(owned[0].owners[0].process.comm, "p2");
    let h = r.header();
    assert_eq!(h.source, SourceKind::Trace.into());
    assert!(h.lacks(Datum::KernelCounters) && h.lacks(Datum::TcpInfo));
    assert_eq!(h.host.hostname, "lab");
    assert!(h.notes.iter().any(|n| n.contains("TIME-WAIT")));
}

#[test]
fn a_socket_history_is_its_traced_changes() {
    let mut r = TraceReplay::new(&header(), lines());
    r.step(2000);
    let socks: Vec<Socket> = r.sockets().collect();
    let tracks = r.tracks_of(&socks);
    let i = socks.iter().position(|s| s.state == CloseWait).unwrap();
    let t = tracks[i].as_ref().expect("a track");
    let ms = |m: u64| T0 / MS + m;
    assert_eq!(t.first_seen_ms, ms(501));
    assert_eq!(t.state_traced_ms, Some(ms(1201)));
    assert_eq!(t.past, vec![(SynRecv, ms(501)), (Established, ms(502))]);
    // A socket that is not the replay's has none.
    let mut other = socks[i].clone();
    other.peer.port = 1;
    assert_eq!(r.tracks_of(&[other]), vec![None]);
}

#[test]
fn a_recording_cut_short_ends_with_its_last_change() {
    let mut lines = lines();
    lines.retain(|l| !matches!(l, Line::End { .. }));
    let mut r = TraceReplay::new(&header(), lines);
    r.step(60_000);
    let p = r.position();
    assert!(p.ended);
    assert_eq!(p.ended_unix_ms - p.started_unix_ms, 1500);
}

// ---- A real recording, shown by top ----

fn fixture() -> (Header, Vec<Line>) {
    let text = include_str!("../../../tests/fixtures/trace/churn-close-wait.jsonl");
    let mut header = None;
    let mut lines = Vec::new();
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<Line>(l).expect("a recording line") {
            Line::Header(h) => header = Some(h),
            other => lines.push(other),
        }
    }
    (header.expect("a header line"), lines)
}

/// The frame the collector makes of one step: the sockets alive, the window's counts, where
/// the replay is.
fn frame_at(r: &TraceReplay, seq: u64) -> crate::analyze::frame::Frame {
    let mut snap = r.header();
    snap.sockets = r.sockets().collect();
    let mut f = crate::analyze::frame::of_snapshot(seq, &snap);
    f.traced = Some(r.counts(&all()));
    f.replay = Some(r.position());
    f
}

#[test]
fn a_real_recording_ends_with_the_close_wait_sockets_of_the_lab() {
    let (h, lines) = fixture();
    assert!(
        !lines.is_empty(),
        "the fixture holds changes (regenerate it as the module says)"
    );
    let mut r = TraceReplay::new(&h, lines);
    let (mut opened, mut closed) = (0, 0);
    while !r.position().ended {
        r.step(500);
        let c = r.counts(&all());
        opened += c.opened;
        closed += c.closed;
    }
    // 41 connections (38 of the churn in the 0.8 s it was traced, 3 of close-wait), each
    // opened twice (connect, accept); 38 closed on both sides.
    assert_eq!((opened, closed), (82, 76));
    let end: Vec<Socket> = r.sockets().collect();
    let cw = end.iter().filter(|s| s.state == CloseWait).count();
    assert_eq!(cw, 3, "lab close-wait --count 3");
    assert!(end.iter().all(|s| s.state != TimeWait && s.state != Close));
}

#[test]
fn top_shows_a_replayed_trace_with_traced_rates_and_its_time() {
    let (h, lines) = fixture();
    let mut r = TraceReplay::new(&h, lines);
    // Into the churn: the recording's second half second (it lasts 1.1 s).
    r.step(500);
    r.step(500);
    assert!(!r.position().ended);
    let mut app = TopApp::new(Options {
        interval_ms: 500,
        source: Some("trace churn-close-wait.jsonl".into()),
        ..Options::default()
    });
    app.on_update(Some(Arc::new(frame_at(&r, 2))), None, 0);
    let screen = app.screen(120, 40).text();
    assert!(screen.contains("(traced)"), "{screen}");
    assert!(
        screen.contains("trace churn-close-wait.jsonl @ "),
        "{screen}"
    );
    insta::assert_snapshot!("replayed_trace_screen", screen);
    app.on_key(Key::Char('m'), &NoResolver);
    let diagram = app.screen(120, 60).text();
    assert!(diagram.contains("/s"), "{diagram}");
    insta::assert_snapshot!("replayed_trace_diagram", diagram);
    // At the end the title says so and the CLOSE-WAIT sockets are there.
    while !r.position().ended {
        r.step(500);
    }
    app.on_key(Key::Esc, &NoResolver);
    app.on_update(Some(Arc::new(frame_at(&r, 9))), None, 0);
    let screen = app.screen(120, 40).text();
    assert!(screen.contains("replay ended"), "{screen}");
    insta::assert_snapshot!("replayed_trace_end", screen);
}
