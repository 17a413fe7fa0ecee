//! Checks that the model is whole and agrees with RFC 9293 and with what Linux is known to do.

use super::edges::History;
use super::scenarios::SCENARIOS;
use super::simulate::{self, Action, Side};
use super::*;
use crate::model::state::TcpState as T;

#[test]
fn every_kernel_state_is_a_node_with_texts() {
    for s in TcpState::ALL {
        assert_eq!(info(s).state, s, "{s} has no StateInfo");
        let touching = EDGES.iter().filter(|e| e.from == s || e.to == s).count();
        assert!(touching > 0, "{s} is not connected to the machine");
        let i = info(s);
        for text in [i.summary, i.meaning, i.waits_for, i.problem, i.investigate] {
            assert!(!text.is_empty(), "{s} has an empty text");
        }
        assert!(i.investigate.starts_with("tcpscope "), "{s}");
    }
    assert_eq!(states::STATES.len(), TcpState::ALL.len());
    for (entry, state) in states::STATES.iter().zip(TcpState::ALL) {
        assert_eq!(entry.state, state, "STATES is not in kernel order");
    }
}

#[test]
fn every_event_is_used_by_some_edge() {
    for ev in Event::ALL {
        assert!(EDGES.iter().any(|e| e.event == ev), "{ev:?} unused");
    }
}

#[test]
fn edges_are_deterministic_per_flavor() {
    // Two edges with the same state, event and flavor must be told apart by a guard.
    for flavor in [Flavor::Linux, Flavor::Rfc] {
        for (i, a) in EDGES.iter().enumerate() {
            for b in &EDGES[i + 1..] {
                if a.from == b.from
                    && a.event == b.event
                    && flavor.includes(a.origin)
                    && flavor.includes(b.origin)
                {
                    assert!(
                        a.guard != b.guard,
                        "{:?} has two {:?} edges in {flavor:?}",
                        a.from,
                        a.event
                    );
                }
            }
        }
    }
}

#[test]
fn rfc_figure_edges_exist() {
    let h = History::default();
    let rfc = |from, ev, to| {
        let e = find_edge(from, ev, Flavor::Rfc, h).unwrap_or_else(|| panic!("{from} {ev:?}"));
        assert_eq!(e.to, to, "{from} on {ev:?}");
    };
    rfc(T::Close, Event::PassiveOpen, T::Listen);
    rfc(T::Close, Event::ActiveOpen, T::SynSent);
    rfc(T::Listen, Event::RcvSyn, T::SynRecv);
    rfc(T::Listen, Event::Send, T::SynSent);
    rfc(T::SynSent, Event::RcvSyn, T::SynRecv);
    rfc(T::SynSent, Event::RcvSynAck, T::Established);
    rfc(T::SynRecv, Event::RcvAckOfSyn, T::Established);
    rfc(T::SynRecv, Event::Close, T::FinWait1);
    rfc(T::Established, Event::Close, T::FinWait1);
    rfc(T::Established, Event::RcvFin, T::CloseWait);
    rfc(T::FinWait1, Event::RcvAckOfFin, T::FinWait2);
    rfc(T::FinWait1, Event::RcvFin, T::Closing);
    rfc(T::FinWait2, Event::RcvFin, T::TimeWait);
    rfc(T::Closing, Event::RcvAckOfFin, T::TimeWait);
    rfc(T::CloseWait, Event::Close, T::LastAck);
    rfc(T::LastAck, Event::RcvAckOfFin, T::Close);
    rfc(T::TimeWait, Event::TimeWaitExpiry, T::Close);
    let passive = History {
        passive_open: true,
        orphaned: false,
    };
    let e = find_edge(T::SynRecv, Event::RcvRst, Flavor::Rfc, passive).unwrap();
    assert_eq!(e.to, T::Listen);
}

#[test]
fn linux_facts_are_in_the_model() {
    let h = History::default();
    let linux = |from, ev| find_edge(from, ev, Flavor::Linux, h).map(|e| e.to);
    assert_eq!(linux(T::Listen, Event::RcvSyn), Some(T::NewSynRecv));
    assert_eq!(
        linux(T::NewSynRecv, Event::RcvAckOfSyn),
        Some(T::Established)
    );
    assert_eq!(linux(T::Listen, Event::Send), None);
    assert_eq!(linux(T::SynSent, Event::RetransmitGiveUp), Some(T::Close));
    // tcp_fin_timeout only for orphans.
    assert_eq!(linux(T::FinWait2, Event::FinTimeout), None);
    let orphan = History {
        orphaned: true,
        passive_open: false,
    };
    let e = find_edge(T::FinWait2, Event::FinTimeout, Flavor::Linux, orphan).unwrap();
    assert_eq!(e.to, T::Close);
    // RST from every synchronized state.
    for s in TcpState::ALL.into_iter().filter(|s| is_synchronized(*s)) {
        assert_eq!(linux(s, Event::RcvRst), Some(T::Close), "RST in {s}");
    }
    assert!(info(T::TimeWait).linux_duration.contains("60 s"));
    assert!(info(T::SynSent).linux_duration.contains("127 s"));
}

#[test]
fn tracepoint_view_matches_linux() {
    // Entering TIME-WAIT: a mini-socket takes over, the full socket goes to CLOSE.
    assert!(tracepoint_edge_is_valid(T::FinWait2, T::Close));
    assert!(tracepoint_edge_is_valid(T::Closing, T::Close));
    assert!(!tracepoint_edge_is_valid(T::FinWait2, T::TimeWait));
    assert!(!tracepoint_edge_is_valid(T::TimeWait, T::Close));
    // Passive open: the child is cloned from the listener.
    assert!(tracepoint_edge_is_valid(T::Listen, T::SynRecv));
    assert!(tracepoint_edge_is_valid(T::SynRecv, T::Established));
    assert!(!tracepoint_edge_is_valid(T::Listen, T::NewSynRecv));
    // Ordinary edges are seen as they are.
    assert!(tracepoint_edge_is_valid(T::Close, T::SynSent));
    assert!(tracepoint_edge_is_valid(T::Established, T::CloseWait));
    assert!(tracepoint_edge_is_valid(T::CloseWait, T::LastAck));
    assert!(tracepoint_edge_is_valid(T::LastAck, T::Close));
    assert!(tracepoint_edge_is_valid(T::Established, T::Close));
    assert!(!tracepoint_edge_is_valid(T::Established, T::Listen));
    // The tracepoint never shows TIME_WAIT or NEW_SYN_RECV.
    for (old, new) in tracepoint::tracepoint_edges() {
        for s in [old, new] {
            assert!(s != T::TimeWait && s != T::NewSynRecv, "{old} -> {new}");
        }
    }
}

#[test]
fn every_scenario_runs_on_model_edges() {
    for s in SCENARIOS {
        for flavor in [Flavor::Linux, Flavor::Rfc] {
            let sim = match simulate::run(s, flavor) {
                Ok(sim) => sim,
                // The RFC has no tcp_fin_timeout and no retry limits: those scenarios are Linux's.
                Err(e) if flavor == Flavor::Rfc => {
                    assert!(
                        matches!(s.name, "close-wait-leak" | "listen-overflow"),
                        "{e}"
                    );
                    continue;
                }
                Err(e) => panic!("{}: {e}", s.name),
            };
            for t in sim.rows.iter().flat_map(|r| &r.edges) {
                assert!(
                    EDGES.iter().any(|e| e.from == t.from
                        && e.to == t.to
                        && e.event == t.event
                        && flavor.includes(e.origin)),
                    "{}: {t:?} is not a {flavor:?} edge",
                    s.name
                );
            }
            assert!(!sim.rows.is_empty());
        }
    }
    // Every call and timer in the scripts is an event of the matching kind.
    for a in scenarios::actions() {
        match a {
            Action::Call(_, ev) => assert_eq!(ev.kind(), EventKind::UserCall),
            Action::Timer(_, ev) => assert_eq!(ev.kind(), EventKind::Timeout),
            _ => {}
        }
    }
}

fn sim(name: &str) -> simulate::Simulation {
    simulate::run(super::scenarios::scenario(name).unwrap(), Flavor::Linux).unwrap()
}

#[test]
fn scenarios_end_where_the_rfc_says() {
    let ends = [
        ("handshake", T::Established, T::Established),
        ("active-close", T::Close, T::Close),
        ("simultaneous-close", T::Close, T::Close),
        ("simultaneous-open", T::Established, T::Established),
        ("half-close", T::Close, T::Close),
        ("reset", T::Close, T::Close),
        ("lost-fin", T::Close, T::Close),
        ("close-wait-leak", T::Close, T::CloseWait),
        ("listen-overflow", T::Close, T::Listen),
    ];
    assert_eq!(ends.len(), SCENARIOS.len());
    for (name, a, b) in ends {
        let s = sim(name);
        assert_eq!((s.end.a, s.end.b), (a, b), "{name}");
    }
}

#[test]
fn scenarios_pass_through_the_rfc_states() {
    use T::*;
    let s = sim("active-close");
    assert_eq!(
        s.path(Side::A),
        [Established, FinWait1, FinWait2, TimeWait, Close]
    );
    assert_eq!(s.path(Side::B), [Established, CloseWait, LastAck, Close]);
    let s = sim("simultaneous-close");
    for side in [Side::A, Side::B] {
        assert_eq!(
            s.path(side),
            [Established, FinWait1, Closing, TimeWait, Close]
        );
    }
    let s = sim("simultaneous-open");
    for side in [Side::A, Side::B] {
        assert_eq!(s.path(side), [Close, SynSent, SynRecv, Established]);
    }
    let s = sim("handshake");
    assert_eq!(s.path(Side::A), [Close, SynSent, Established]);
    assert_eq!(s.path(Side::B), [Close, Listen, NewSynRecv, Established]);
    let rfc = simulate::run(
        super::scenarios::scenario("handshake").unwrap(),
        Flavor::Rfc,
    )
    .unwrap();
    assert_eq!(rfc.path(Side::B), [Close, Listen, SynRecv, Established]);
    let s = sim("close-wait-leak");
    assert_eq!(s.path(Side::A), [Established, FinWait1, FinWait2, Close]);
    assert_eq!(s.path(Side::B), [Established, CloseWait]);
    let s = sim("half-close");
    assert!(s.rows.iter().any(|r| r.a == FinWait2
        && r.wire
            .is_some_and(|w| w.segment == Segment::Data && w.from == Side::B)));
}

#[test]
fn unknown_scenario_lists_the_valid_ones() {
    let err = super::scenarios::scenario("handshak")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("handshake") && err.contains("close-wait-leak"),
        "{err}"
    );
    assert!(super::scenarios::scenario("Close_Wait_Leak").is_ok());
}

#[test]
fn tracepoint_pairs_snapshot() {
    // The complete list of (oldstate, newstate) records the model allows on Linux: a live trace
    // that shows anything else means the model (or this list) is wrong.
    let pairs: Vec<String> = tracepoint::tracepoint_edges()
        .into_iter()
        .map(|(a, b)| format!("{} -> {}", a.netstat_name(), b.netstat_name()))
        .collect();
    insta::assert_snapshot!(pairs.join("\n"));
}

mod random_scripts {
    use super::super::simulate::{run, Action, Scenario, Side, SimError};
    use super::super::{Event, Flavor, EDGES};
    use crate::model::state::TcpState;
    use proptest::prelude::*;

    fn side() -> impl Strategy<Value = Side> {
        prop_oneof![Just(Side::A), Just(Side::B)]
    }

    fn action() -> impl Strategy<Value = Action> {
        let event = proptest::sample::select(Event::ALL.to_vec());
        prop_oneof![
            (side(), event.clone()).prop_map(|(s, e)| Action::Call(s, e)),
            (side(), event).prop_map(|(s, e)| Action::Timer(s, e)),
            side().prop_map(Action::SendData),
            Just(Action::Deliver),
            Just(Action::Deliver),
            Just(Action::Lose),
        ]
    }

    proptest! {
        /// Any script either runs or stops with an error naming the step; it never panics, and
        /// every state change it makes is an edge of the model.
        #[test]
        fn any_script_moves_only_along_model_edges(
            script in proptest::collection::vec(action(), 0..24),
            start in proptest::sample::select(vec![
                (TcpState::Close, TcpState::Close),
                (TcpState::Established, TcpState::Established),
            ]),
            linux in any::<bool>(),
        ) {
            let flavor = if linux { Flavor::Linux } else { Flavor::Rfc };
            let script: Vec<(Action, &'static str)> = script.into_iter().map(|a| (a, "")).collect();
            let scenario = Scenario {
                name: "random",
                title: "random",
                start,
                script: Box::leak(script.into_boxed_slice()),
            };
            match run(&scenario, flavor) {
                Ok(sim) => {
                    for t in sim.rows.iter().flat_map(|r| &r.edges) {
                        prop_assert!(EDGES.iter().any(|e| e.from == t.from
                            && e.to == t.to
                            && e.event == t.event
                            && flavor.includes(e.origin)));
                    }
                    for (i, r) in sim.rows.iter().enumerate() {
                        prop_assert_eq!(r.n, i + 1);
                    }
                }
                Err(SimError::NoEdge { .. } | SimError::NothingInFlight { .. } | SimError::CannotSend { .. }) => {}
            }
        }
    }
}
