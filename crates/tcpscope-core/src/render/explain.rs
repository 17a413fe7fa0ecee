//! `tcpscope explain`: one line per state, the whole story of one state, or one transition —
//! all read from the state-machine model in [`crate::analyze::fsm`], never written twice.

use super::wrap::wrap;
use crate::analyze::fsm::{
    edges_from, edges_into, info, relief, tracepoint_edge_is_valid, tracepoint_edges, Edge, Origin,
    StateInfo, Traced,
};
use crate::model::state::TcpState;
use serde::Serialize;
use std::io::{self, Write};

/// The order `explain` lists states in: the life of a connection, then Linux's extras.
pub const EXPLAIN_ORDER: [TcpState; 13] = [
    TcpState::Close,
    TcpState::BoundInactive,
    TcpState::Listen,
    TcpState::SynSent,
    TcpState::SynRecv,
    TcpState::NewSynRecv,
    TcpState::Established,
    TcpState::FinWait1,
    TcpState::FinWait2,
    TcpState::Closing,
    TcpState::TimeWait,
    TcpState::CloseWait,
    TcpState::LastAck,
];

const WIDTH: usize = 100;
const LABEL: usize = 13;

/// Every state on one line: name and what it means.
pub fn write_overview(w: &mut impl Write) -> io::Result<()> {
    for s in EXPLAIN_ORDER {
        writeln!(w, "{:<13} {}", s.display_name(), info(s).summary)?;
    }
    writeln!(w)?;
    writeln!(
        w,
        "tcpscope explain STATE     one state in full (any spelling: CLOSE_WAIT, close-wait, ...)"
    )?;
    writeln!(w, "tcpscope explain FROM TO   one transition")
}

fn field(w: &mut impl Write, label: &str, text: &str) -> io::Result<()> {
    for (i, line) in wrap(text, WIDTH - LABEL - 1).iter().enumerate() {
        let label = if i == 0 { label } else { "" };
        writeln!(w, "{label:<LABEL$} {line}")?;
    }
    Ok(())
}

/// The records of `sock:inet_sock_set_state` into and out of `state`, per the model.
pub fn traced_around(state: TcpState) -> (Vec<[TcpState; 2]>, Vec<[TcpState; 2]>) {
    // A repeat (close() after the FIN: FIN_WAIT1 -> FIN_WAIT1) neither enters nor leaves.
    let all: Vec<_> = tracepoint_edges()
        .into_iter()
        .filter(|(o, n)| o != n)
        .collect();
    let into = all
        .iter()
        .filter(|(_, new)| *new == state)
        .map(|(o, n)| [*o, *n])
        .collect();
    let out = all
        .iter()
        .filter(|(old, _)| *old == state)
        .map(|(o, n)| [*o, *n])
        .collect();
    (into, out)
}

/// What `tcpscope trace` shows of a state: the command, and the records entering and leaving
/// it — or why it never appears.
fn trace_text(state: TcpState) -> String {
    let records = |rs: &[[TcpState; 2]]| {
        rs.iter()
            .map(|[o, n]| format!("{} -> {}", o.display_name(), n.display_name()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match state {
        TcpState::TimeWait => "never shown: entering TIME-WAIT is traced as FIN-WAIT-2 -> CLOSED or \
            CLOSING -> CLOSED (a mini-socket takes over the 4-tuple), and its end is not traced. \
            `tcpscope trace --lifetimes` shows the connections that end this way (docs/trace.md)"
            .to_string(),
        TcpState::NewSynRecv => "never shown (request sockets are not full sockets): a completed \
            handshake is traced as LISTEN -> SYN-RECV -> ESTABLISHED on the new connection's socket \
            (docs/trace.md)"
            .to_string(),
        _ => {
            let (into, out) = traced_around(state);
            if into.is_empty() && out.is_empty() {
                return format!(
                    "never shown: the tracepoint sees no change into or out of {}",
                    state.display_name()
                );
            }
            let mut t = format!(
                "`tcpscope trace state {}` shows each socket",
                state.name()
            );
            if !into.is_empty() {
                t.push_str(&format!(" entering it ({})", records(&into)));
            }
            if !out.is_empty() {
                if !into.is_empty() {
                    t.push_str(" and");
                }
                t.push_str(&format!(" leaving it ({})", records(&out)));
            }
            t.push_str(", with its owner and the time it spent there (docs/trace.md)");
            t
        }
    }
}

/// "rcv FIN / send ACK" for an edge.
pub fn edge_label(e: &Edge) -> String {
    match e.sends {
        Some(seg) => format!("{} / send {}", e.event.label(), seg.label()),
        None => e.event.label().to_string(),
    }
}

fn origin_tag(o: Origin) -> &'static str {
    match o {
        Origin::Both => "",
        Origin::Rfc => " [RFC only]",
        Origin::Linux => " [Linux]",
    }
}

fn names(states: &[TcpState]) -> String {
    if states.is_empty() {
        return "none: there is no connection".into();
    }
    let names = states
        .iter()
        .map(|s| s.display_name())
        .collect::<Vec<_>>()
        .join(", or ");
    format!("most likely {names}")
}

/// Everything about one state.
pub fn write_state(w: &mut impl Write, state: TcpState) -> io::Result<()> {
    let i = info(state);
    writeln!(
        w,
        "{} (netstat {}, ss {}, kernel state {})",
        state.display_name(),
        state.netstat_name(),
        state.ss_name(),
        state.kernel_number()
    )?;
    writeln!(w, "  {}", i.summary)?;
    writeln!(w)?;
    field(w, "Meaning", i.meaning)?;
    field(w, "Which end", i.end.describe())?;
    field(w, "Waits for", i.waits_for)?;
    field(w, "Timer", i.timer.describe())?;
    field(w, "Lasts", &format!("Linux: {}", i.linux_duration))?;
    field(w, "", &format!("RFC: {}", i.rfc_duration))?;
    field(w, "", &format!("Windows: {}", i.windows_duration))?;
    field(w, "A problem?", i.problem)?;
    field(w, "Peer is", &names(i.peer_likely))?;
    field(w, "Investigate", i.investigate)?;
    if let Some(now) = relief(state) {
        field(w, "Right now", now)?;
    }
    field(w, "In a trace", &trace_text(state))?;
    writeln!(w)?;
    writeln!(w, "How a socket gets here:")?;
    write_edges(w, edges_into(state), true)?;
    writeln!(w, "Where it goes next:")?;
    write_edges(w, edges_from(state), false)
}

fn write_edges<'a>(
    w: &mut impl Write,
    edges: impl Iterator<Item = &'a Edge>,
    incoming: bool,
) -> io::Result<()> {
    let mut any = false;
    for e in edges {
        any = true;
        let other = if incoming { e.from } else { e.to };
        let arrow = if incoming { "from" } else { "  to" };
        let head = format!(
            "  {arrow} {:<13} {}{}",
            other.display_name(),
            edge_label(e),
            origin_tag(e.origin)
        );
        writeln!(w, "{head}")?;
        if !e.note.is_empty() {
            for line in wrap(e.note, WIDTH - 21) {
                writeln!(w, "{:21}{line}", "")?;
            }
        }
    }
    if !any {
        writeln!(w, "  (none)")?;
    }
    Ok(())
}

/// The model's edges from `from` to `to` (more than one when several events lead there).
pub fn transitions(from: TcpState, to: TcpState) -> Vec<&'static Edge> {
    edges_from(from).filter(|e| e.to == to).collect()
}

/// One transition: every edge `from -> to`, with what sends it, who does it, and how the
/// kernel tracepoint shows it. The caller checks that there is at least one.
pub fn write_transition(w: &mut impl Write, from: TcpState, to: TcpState) -> io::Result<()> {
    writeln!(w, "{} -> {}", from.display_name(), to.display_name())?;
    for e in transitions(from, to) {
        writeln!(w)?;
        field(w, "Event", e.event.description())?;
        field(w, "Sends", e.sends.map(|s| s.label()).unwrap_or("nothing"))?;
        let whose = match e.origin {
            Origin::Both => "RFC 9293 and Linux",
            Origin::Rfc => "RFC 9293 only (Linux does this differently)",
            Origin::Linux => "Linux (not in RFC 9293's figure)",
        };
        field(w, "Whose", whose)?;
        if !e.note.is_empty() {
            field(w, "Note", e.note)?;
        }
        field(w, "Tracepoint", &traced_text(e))?;
    }
    writeln!(w)?;
    writeln!(w, "{}: {}", to.display_name(), info(to).summary)
}

fn traced_text(e: &Edge) -> String {
    if e.origin == Origin::Rfc {
        let mut text = String::from("Linux does not take this edge");
        if tracepoint_edge_is_valid(e.from, e.to) {
            text.push_str(&format!(
                "; sock:inet_sock_set_state can still report {} -> {}, produced by a Linux edge (see `tcpscope diagram`)",
                e.from.netstat_name(),
                e.to.netstat_name()
            ));
        }
        return text;
    }
    match e.traced {
        Traced::Same => format!(
            "sock:inet_sock_set_state shows {} -> {}",
            e.from.netstat_name(),
            e.to.netstat_name()
        ),
        Traced::Seen(recs) => format!(
            "sock:inet_sock_set_state shows {}",
            recs.iter()
                .map(|(a, b)| format!("{} -> {}", a.netstat_name(), b.netstat_name()))
                .collect::<Vec<_>>()
                .join(", then ")
        ),
        Traced::NotSeen => {
            "not seen by sock:inet_sock_set_state (no full socket changes state)".into()
        }
    }
}

/// The JSON form of `explain STATE`.
#[derive(Debug, Serialize)]
pub struct StateDoc {
    pub name: &'static str,
    pub display_name: &'static str,
    pub netstat_name: &'static str,
    pub kernel_number: u8,
    #[serde(flatten)]
    pub info: StateInfo,
    /// A way out right now, where tcpscope has one (`tcpscope release`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relief: Option<&'static str>,
    pub incoming: Vec<Edge>,
    pub outgoing: Vec<Edge>,
    /// What `tcpscope trace` shows: the tracepoint's records into and out of the state.
    pub traced: TracedDoc,
}

/// The `sock:inet_sock_set_state` records (old, new) around one state.
#[derive(Debug, Clone, Serialize)]
pub struct TracedDoc {
    pub entering: Vec<[TcpState; 2]>,
    pub leaving: Vec<[TcpState; 2]>,
}

impl StateDoc {
    pub fn new(state: TcpState) -> StateDoc {
        StateDoc {
            name: state.name(),
            display_name: state.display_name(),
            netstat_name: state.netstat_name(),
            kernel_number: state.kernel_number(),
            info: *info(state),
            relief: relief(state),
            incoming: edges_into(state).copied().collect(),
            outgoing: edges_from(state).copied().collect(),
            traced: {
                let (entering, leaving) = traced_around(state);
                TracedDoc { entering, leaving }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl Fn(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn overview_snapshot() {
        insta::assert_snapshot!(text(write_overview));
    }

    #[test]
    fn close_wait_snapshot() {
        let out = text(|w| write_state(w, TcpState::CloseWait));
        assert!(out.contains("not calling close()"));
        assert!(out.contains("tcpscope ls -p state close-wait"));
        assert!(
            out.contains("tcpscope release state close-wait"),
            "links to release"
        );
        insta::assert_snapshot!(out);
    }

    #[test]
    fn time_wait_snapshot() {
        insta::assert_snapshot!(text(|w| write_state(w, TcpState::TimeWait)));
    }

    #[test]
    fn transition_snapshot() {
        let out = text(|w| write_transition(w, TcpState::FinWait2, TcpState::TimeWait));
        assert!(out.contains("FIN_WAIT2 -> CLOSE"));
        insta::assert_snapshot!(out);
    }

    #[test]
    fn every_state_renders_within_the_width() {
        for s in TcpState::ALL {
            let out = text(|w| write_state(w, s));
            for line in out.lines() {
                assert!(line.chars().count() <= WIDTH, "{s}: {line}");
            }
        }
    }

    #[test]
    fn json_carries_texts_and_edges() {
        let doc = serde_json::to_value(StateDoc::new(TcpState::CloseWait)).unwrap();
        assert_eq!(doc["name"], "close-wait");
        assert_eq!(doc["end"], "passive-closer");
        assert!(doc["outgoing"].as_array().unwrap().len() >= 2);
        assert_eq!(doc["traced"]["entering"][0][1], "close-wait");
    }

    #[test]
    fn every_state_says_what_a_trace_shows() {
        let close_wait = text(|w| write_state(w, TcpState::CloseWait));
        assert!(close_wait.contains("tcpscope trace state close-wait"));
        assert!(close_wait.contains("entering it (ESTABLISHED ->"));
        let time_wait = text(|w| write_state(w, TcpState::TimeWait));
        assert!(time_wait.contains("traced as FIN-WAIT-2 -> CLOSED"));
        for s in TcpState::ALL {
            assert!(text(|w| write_state(w, s)).contains("In a trace"), "{s}");
        }
    }
}
