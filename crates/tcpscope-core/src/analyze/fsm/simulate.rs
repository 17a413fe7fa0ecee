//! Two endpoints, A and B, driven through the state machine by a script of user calls, segment
//! deliveries, losses and timers. Every state change is an edge looked up in [`EDGES`]; nothing
//! about the outcome is written by hand, so a wrong edge shows up as a wrong simulation.
//!
//! The result is a list of rows, each a segment on the wire (or a call or timer that sent
//! nothing) with both sides' states after it: the data of a ladder (sequence) diagram.
//!
//! [`EDGES`]: super::edges::EDGES

use super::edges::{find_edge, History, Origin, EDGES};
use super::events::{Event, Segment};
use super::tracepoint::tracepoint_view;
use super::Flavor;
use crate::model::state::TcpState;
use serde::Serialize;
use std::collections::VecDeque;
use std::fmt;

/// One of the two endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    A,
    B,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::A => "A",
            Side::B => "B",
        })
    }
}

/// One step of a scenario's script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The program on a side makes a call (an event of kind user call).
    Call(Side, Event),
    /// A side's kernel timer fires (an event of kind timeout).
    Timer(Side, Event),
    /// The program on a side sends data (no state change).
    SendData(Side),
    /// The oldest segment in flight arrives.
    Deliver,
    /// The oldest segment in flight is lost (or dropped by the receiver).
    Lose,
}

/// A named scenario: where the two ends start, what happens, and a comment per step. A comment
/// that starts with `[linux] ` is shown only when simulating Linux.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    pub name: &'static str,
    pub title: &'static str,
    pub start: (TcpState, TcpState),
    pub script: &'static [(Action, &'static str)],
}

/// How a segment appears in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Sent and received within this row.
    Whole,
    /// Leaves the sender in this row and is still in flight (it crosses another segment).
    Sent,
    /// Arrives in this row; it left in an earlier row.
    Arrived,
    /// Sent and lost (or dropped by the receiver).
    Lost,
}

/// A segment as shown in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Wire {
    pub segment: Segment,
    pub from: Side,
    pub phase: Phase,
}

/// A model edge taken during a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Taken {
    pub side: Side,
    pub from: TcpState,
    pub to: TcpState,
    pub event: Event,
}

/// One row of the ladder: at most one segment, and both states after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub n: usize,
    pub wire: Option<Wire>,
    pub a: TcpState,
    pub b: TcpState,
    pub notes: Vec<String>,
    pub edges: Vec<Taken>,
}

/// A finished simulation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Simulation {
    pub scenario: &'static str,
    pub title: &'static str,
    pub flavor: Flavor,
    pub start: Ends,
    pub rows: Vec<Row>,
    pub end: Ends,
}

/// The states of A and B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Ends {
    pub a: TcpState,
    pub b: TcpState,
}

impl Simulation {
    /// Every state each side passed through, in order (starting state first, no repeats).
    pub fn path(&self, side: Side) -> Vec<TcpState> {
        let start = match side {
            Side::A => self.start.a,
            Side::B => self.start.b,
        };
        let mut path = vec![start];
        for e in self.rows.iter().flat_map(|r| &r.edges) {
            if e.side == side && path.last() != Some(&e.to) {
                path.push(e.to);
            }
        }
        path
    }
}

impl Simulation {
    /// What `tcpscope trace` would show for one side on Linux: the `sock:inet_sock_set_state`
    /// records (old, new) its changes make, in order — no TIME-WAIT (FIN-WAIT-2 -> CLOSED:
    /// a mini-socket takes over), nothing for the mini-socket's end. Empty for an RFC run.
    pub fn traced(&self, side: Side) -> Vec<(TcpState, TcpState)> {
        if self.flavor != Flavor::Linux {
            return Vec::new();
        }
        self.rows
            .iter()
            .flat_map(|r| &r.edges)
            .filter(|t| t.side == side)
            .filter_map(|t| {
                EDGES.iter().find(|e| {
                    e.from == t.from
                        && e.to == t.to
                        && e.event == t.event
                        && e.origin != Origin::Rfc
                })
            })
            .flat_map(tracepoint_view)
            .collect()
    }
}

/// Why a script could not run: the model has no edge for a call or timer it asks for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("scenario step {step}: {side} in {state} has no edge for '{event}'")]
    NoEdge {
        step: usize,
        side: Side,
        state: TcpState,
        event: &'static str,
    },
    #[error("scenario step {step}: nothing is in flight to deliver or lose")]
    NothingInFlight { step: usize },
    #[error("scenario step {step}: {side} cannot send data in {state}")]
    CannotSend {
        step: usize,
        side: Side,
        state: TcpState,
    },
}

/// One endpoint's kernel state and what it remembers about the handshake and the close.
#[derive(Debug, Clone, Copy)]
struct Endpoint {
    state: TcpState,
    history: History,
    sent_syn: bool,
    syn_acked: bool,
    got_syn: bool,
    sent_fin: bool,
    fin_acked: bool,
    got_fin: bool,
}

impl Endpoint {
    fn new(state: TcpState) -> Endpoint {
        use TcpState::*;
        let synchronized = !matches!(state, Close | Listen | BoundInactive);
        Endpoint {
            state,
            history: History::default(),
            sent_syn: synchronized,
            syn_acked: synchronized,
            got_syn: synchronized,
            sent_fin: false,
            fin_acked: false,
            got_fin: false,
        }
    }
}

/// A segment in flight, with what it acknowledges.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    segment: Segment,
    from: Side,
    acks_syn: bool,
    acks_fin: bool,
    /// True when a row already showed it leaving.
    shown_leaving: bool,
}

struct Engine {
    flavor: Flavor,
    a: Endpoint,
    b: Endpoint,
    flight: VecDeque<InFlight>,
    rows: Vec<Row>,
    /// A call or timer row whose segment may merge into the next delivery.
    pending: Option<Row>,
}

impl Engine {
    fn ep(&mut self, side: Side) -> &mut Endpoint {
        match side {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }

    fn send(&mut self, from: Side, segment: Segment) {
        let ep = self.ep(from);
        match segment {
            Segment::Syn | Segment::SynAck => ep.sent_syn = true,
            Segment::Fin => ep.sent_fin = true,
            _ => {}
        }
        let (acks_syn, acks_fin) = (ep.got_syn, ep.got_fin);
        self.flight.push_back(InFlight {
            segment,
            from,
            acks_syn,
            acks_fin,
            shown_leaving: false,
        });
    }

    /// Take the edge for `event` at `side`; returns false when the model has none.
    fn take(&mut self, side: Side, event: Event, taken: &mut Vec<Taken>) -> bool {
        let ep = *self.ep(side);
        let Some(edge) = find_edge(ep.state, event, self.flavor, ep.history) else {
            return false;
        };
        self.ep(side).state = edge.to;
        taken.push(Taken {
            side,
            from: edge.from,
            to: edge.to,
            event,
        });
        if let Some(seg) = edge.sends {
            self.send(side, seg);
        }
        true
    }

    fn row(&self, wire: Option<Wire>, notes: Vec<String>, edges: Vec<Taken>) -> Row {
        Row {
            n: 0,
            wire,
            a: self.a.state,
            b: self.b.state,
            notes,
            edges,
        }
    }

    /// Show the pending row on its own: its segment did not arrive next, so it is drawn leaving.
    /// A pending row's segment was alone in flight when sent and nothing took it since, so it is
    /// the oldest in flight.
    fn flush_pending(&mut self) {
        if let Some(mut row) = self.pending.take() {
            if let Some(w) = &mut row.wire {
                w.phase = Phase::Sent;
                if let Some(f) = self.flight.front_mut() {
                    f.shown_leaving = true;
                }
            }
            self.rows.push(row);
        }
    }

    fn push(&mut self, row: Row) {
        self.flush_pending();
        self.rows.push(row);
    }

    /// A call, timer or data send: the row waits in `pending` in case its segment is delivered
    /// (or lost) next, so that one row can show the whole trip.
    fn local(&mut self, side: Side, notes: Vec<String>, taken: Vec<Taken>, sent_before: usize) {
        self.flush_pending();
        let sent = self.flight.len() > sent_before;
        let wire = self.flight.back().filter(|_| sent).map(|f| Wire {
            segment: f.segment,
            from: side,
            phase: Phase::Sent,
        });
        let row = self.row(wire, notes, taken);
        if sent && self.flight.len() == 1 {
            self.pending = Some(row);
        } else {
            if sent {
                if let Some(f) = self.flight.back_mut() {
                    f.shown_leaving = true;
                }
            }
            self.rows.push(row);
        }
    }

    /// The oldest segment in flight, and the notes of the row that sent it if that row merges.
    fn next_in_flight(
        &mut self,
        step: usize,
    ) -> Result<(InFlight, Vec<String>, Vec<Taken>), SimError> {
        let f = self
            .flight
            .pop_front()
            .ok_or(SimError::NothingInFlight { step })?;
        match self.pending.take() {
            Some(p) => Ok((f, p.notes, p.edges)),
            None => Ok((f, Vec::new(), Vec::new())),
        }
    }

    fn deliver(&mut self, step: usize, comment: &str) -> Result<(), SimError> {
        let (f, mut notes, mut taken) = self.next_in_flight(step)?;
        let to = f.from.other();
        let r = *self.ep(to);
        let mut events = Vec::new();
        match f.segment {
            Segment::Rst => events.push(Event::RcvRst),
            Segment::Syn => events.push(Event::RcvSyn),
            Segment::SynAck if r.state == TcpState::SynSent => events.push(Event::RcvSynAck),
            _ => {
                if (f.acks_syn || f.segment == Segment::SynAck) && r.sent_syn && !r.syn_acked {
                    events.push(Event::RcvAckOfSyn);
                }
                if f.acks_fin && r.sent_fin && !r.fin_acked {
                    events.push(Event::RcvAckOfFin);
                }
                if f.segment == Segment::Fin {
                    events.push(Event::RcvFin);
                }
            }
        }
        {
            let ep = self.ep(to);
            match f.segment {
                Segment::Syn | Segment::SynAck => ep.got_syn = true,
                Segment::Fin => ep.got_fin = true,
                _ => {}
            }
            if f.acks_syn || f.segment == Segment::SynAck {
                ep.syn_acked = ep.sent_syn;
            }
            if f.acks_fin {
                ep.fin_acked = ep.sent_fin;
            }
        }
        if r.state == TcpState::Close && f.segment != Segment::Rst {
            notes.push(format!("{to} has no connection: it answers with RST"));
            self.send(to, Segment::Rst);
        } else if f.segment == Segment::Data {
            self.send(to, Segment::Ack);
        }
        for event in events {
            let state = self.ep(to).state;
            if !self.take(to, event, &mut taken) {
                notes.push(format!("{to} ignores it in {state}"));
            }
        }
        if !comment.is_empty() {
            notes.push(comment.to_string());
        }
        let phase = if f.shown_leaving {
            Phase::Arrived
        } else {
            Phase::Whole
        };
        let wire = Wire {
            segment: f.segment,
            from: f.from,
            phase,
        };
        let row = self.row(Some(wire), notes, taken);
        self.push(row);
        Ok(())
    }

    fn lose(&mut self, step: usize, comment: &str) -> Result<(), SimError> {
        let (f, mut notes, taken) = self.next_in_flight(step)?;
        if !comment.is_empty() {
            notes.push(comment.to_string());
        }
        let wire = Wire {
            segment: f.segment,
            from: f.from,
            phase: Phase::Lost,
        };
        let row = self.row(Some(wire), notes, taken);
        self.push(row);
        Ok(())
    }
}

/// Run `scenario` through the model.
pub fn run(scenario: &Scenario, flavor: Flavor) -> Result<Simulation, SimError> {
    let mut e = Engine {
        flavor,
        a: Endpoint::new(scenario.start.0),
        b: Endpoint::new(scenario.start.1),
        flight: VecDeque::new(),
        rows: Vec::new(),
        pending: None,
    };
    for (i, (action, comment)) in scenario.script.iter().enumerate() {
        let comment = match comment.strip_prefix("[linux] ") {
            Some(c) if flavor == Flavor::Linux => c,
            Some(_) => "",
            None => comment,
        };
        let step = i + 1;
        let mut notes = Vec::new();
        match *action {
            Action::Call(side, event) | Action::Timer(side, event) => {
                let ep = e.ep(side);
                match event {
                    Event::Close => ep.history.orphaned = true,
                    Event::PassiveOpen => ep.history.passive_open = true,
                    _ => {}
                }
                let state = ep.state;
                let before = e.flight.len();
                let mut taken = Vec::new();
                if !e.take(side, event, &mut taken) {
                    return Err(SimError::NoEdge {
                        step,
                        side,
                        state,
                        event: event.name(),
                    });
                }
                notes.push(format!("{side}: {}", event.label()));
                if !comment.is_empty() {
                    notes.push(comment.to_string());
                }
                e.local(side, notes, taken, before);
            }
            Action::SendData(side) => {
                let state = e.ep(side).state;
                if !matches!(state, TcpState::Established | TcpState::CloseWait) {
                    return Err(SimError::CannotSend { step, side, state });
                }
                let before = e.flight.len();
                e.send(side, Segment::Data);
                notes.push(format!("{side}: send()"));
                if !comment.is_empty() {
                    notes.push(comment.to_string());
                }
                e.local(side, notes, Vec::new(), before);
            }
            Action::Deliver => e.deliver(step, comment)?,
            Action::Lose => e.lose(step, comment)?,
        }
    }
    e.flush_pending();
    for (i, row) in e.rows.iter_mut().enumerate() {
        row.n = i + 1;
    }
    Ok(Simulation {
        scenario: scenario.name,
        title: scenario.title,
        flavor,
        start: Ends {
            a: scenario.start.0,
            b: scenario.start.1,
        },
        end: Ends {
            a: e.a.state,
            b: e.b.state,
        },
        rows: e.rows,
    })
}
