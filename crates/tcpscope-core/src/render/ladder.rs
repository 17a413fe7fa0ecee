//! Ladder (sequence) diagrams of simulations: A on the left, B on the right, one row per segment
//! on the wire with the arrow pointing the way it travels, both sides' states after it, and what
//! happened in a notes column; then what `tcpscope trace` would show of it on Linux.

use super::wrap::wrap;
use crate::analyze::fsm::simulate::{Phase, Side, Simulation, Wire};
use crate::analyze::fsm::Flavor;
use crate::model::state::TcpState;
use std::io::{self, Write};

const STATE: usize = 13;
const WIRE: usize = 26;
const NOTES: usize = 44;

/// The arrow of one row, exactly [`WIRE`] characters wide.
pub fn wire_art(w: &Wire) -> String {
    let label = format!(" {} ", w.segment.label());
    let n = WIRE - 2; // one space each side
    let body = |dashes: usize| -> (String, String) {
        let left = (dashes.saturating_sub(label.len())) / 2;
        let right = dashes.saturating_sub(label.len() + left);
        ("-".repeat(left), "-".repeat(right))
    };
    let art = match (w.from, w.phase) {
        (Side::A, Phase::Whole) => {
            let (l, r) = body(n - 1);
            format!("{l}{label}{r}>")
        }
        (Side::B, Phase::Whole) => {
            let (l, r) = body(n - 1);
            format!("<{l}{label}{r}")
        }
        (Side::A, Phase::Sent) => {
            let (l, r) = body(n / 2 - 1);
            format!("{l}{label}{r}>{}", dots(n - n / 2))
        }
        (Side::B, Phase::Sent) => {
            let (l, r) = body(n / 2 - 1);
            format!("{}<{l}{label}{r}", dots(n - n / 2))
        }
        (Side::A, Phase::Arrived) => {
            let (l, r) = body(n / 2 - 1);
            format!("{}{l}{label}{r}>", dots(n - n / 2))
        }
        (Side::B, Phase::Arrived) => {
            let (l, r) = body(n / 2 - 1);
            format!("<{l}{label}{r}{}", dots(n - n / 2))
        }
        (Side::A, Phase::Lost) => {
            let (l, r) = body(n / 2 + 2);
            format!("{l}{label}{r}>X{}", " ".repeat(n - n / 2 - 4))
        }
        (Side::B, Phase::Lost) => {
            let (l, r) = body(n / 2 + 2);
            format!("{}X<{l}{label}{r}", " ".repeat(n - n / 2 - 4))
        }
    };
    format!(" {art} ")
}

fn dots(n: usize) -> String {
    " .".repeat(n / 2 + 1).chars().take(n).collect()
}

/// Write the ladder of `sim`.
pub fn write_ladder(w: &mut impl Write, sim: &Simulation) -> io::Result<()> {
    writeln!(w, "{}: {}", sim.scenario, sim.title)?;
    writeln!(w)?;
    let blank_wire = " ".repeat(WIRE);
    writeln!(w, "     {:<STATE$}{blank_wire}B", "A")?;
    writeln!(
        w,
        "     {:<STATE$}{blank_wire}{}",
        sim.start.a.display_name(),
        sim.start.b.display_name()
    )?;
    for row in &sim.rows {
        let art = row
            .wire
            .as_ref()
            .map(wire_art)
            .unwrap_or(blank_wire.clone());
        let notes = wrap(&row.notes.join("; "), NOTES);
        let left = format!(
            "{:>3}  {:<STATE$}{art}{:<STATE$}",
            row.n,
            row.a.display_name(),
            row.b.display_name()
        );
        writeln!(w, "{}", format!("{left} {}", notes[0]).trim_end())?;
        for more in &notes[1..] {
            writeln!(w, "{:width$} {more}", "", width = left.chars().count())?;
        }
    }
    writeln!(w)?;
    writeln!(
        w,
        "End: A in {}, B in {}.",
        sim.end.a.display_name(),
        sim.end.b.display_name()
    )
}

/// What `tcpscope trace` shows for the simulation (Linux only): each side's tracepoint records
/// as one chain, what the records leave out, and where to watch real sockets do it.
pub fn write_traced(w: &mut impl Write, sim: &Simulation) -> io::Result<()> {
    if sim.flavor != Flavor::Linux {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(
        w,
        "What `tcpscope trace` shows (the kernel's sock:inet_sock_set_state records):"
    )?;
    let mut mini = false;
    for (label, side) in [("A", Side::A), ("B", Side::B)] {
        let records = sim.traced(side);
        mini |= records
            .iter()
            .any(|r| matches!(r, (TcpState::FinWait2 | TcpState::Closing, TcpState::Close)));
        writeln!(w, "  {label}  {}", chains(&records))?;
    }
    if mini {
        writeln!(
            w,
            "  FIN-WAIT-2 or CLOSING -> CLOSED: a TIME-WAIT mini-socket took over (trace shows no TIME-WAIT)."
        )?;
    }
    writeln!(
        w,
        "Watch real sockets do it: `tcpscope trace` while `tcpscope lab` builds them (docs/trace.md)."
    )
}

/// Records as chains: `CLOSED -> SYN-SENT -> ESTABLISHED`, a new chain where one does not
/// continue the last.
fn chains(records: &[(TcpState, TcpState)]) -> String {
    if records.is_empty() {
        return "(no record: no state change the tracepoint sees)".to_string();
    }
    let mut out = String::new();
    let mut last = None;
    for (old, new) in records {
        if last != Some(*old) {
            if last.is_some() {
                out.push_str(", ");
            }
            out.push_str(old.display_name());
        }
        out.push_str(" -> ");
        out.push_str(new.display_name());
        last = Some(*new);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::fsm::scenarios::SCENARIOS;
    use crate::analyze::fsm::simulate::run;

    #[test]
    fn every_scenario_snapshot() {
        for s in SCENARIOS {
            let sim = run(s, Flavor::Linux).unwrap();
            let mut out = Vec::new();
            write_ladder(&mut out, &sim).unwrap();
            let out = String::from_utf8(out).unwrap();
            for line in out.lines() {
                assert!(line.chars().count() <= 104, "{}: {line}", s.name);
            }
            insta::assert_snapshot!(format!("ladder_{}", s.name), out);
        }
    }

    #[test]
    fn what_trace_shows_for_each_scenario() {
        let mut out = Vec::new();
        for s in SCENARIOS {
            let sim = run(s, Flavor::Linux).unwrap();
            writeln!(out, "== {}", s.name).unwrap();
            write_traced(&mut out, &sim).unwrap();
            // Every record is one the model says the tracepoint can show.
            for side in [Side::A, Side::B] {
                for (old, new) in sim.traced(side) {
                    assert!(
                        crate::analyze::fsm::tracepoint_edge_is_valid(old, new),
                        "{}: {old:?} -> {new:?}",
                        s.name
                    );
                }
            }
        }
        let out = String::from_utf8(out).unwrap();
        for line in out.lines() {
            assert!(line.chars().count() <= 104, "{line}");
        }
        insta::assert_snapshot!("traced_every_scenario", out);
        let rfc = run(&SCENARIOS[0], Flavor::Rfc).unwrap();
        let mut none = Vec::new();
        write_traced(&mut none, &rfc).unwrap();
        assert!(none.is_empty(), "the tracepoint is Linux's");
    }

    #[test]
    fn arrows_point_the_way_segments_travel() {
        use crate::analyze::fsm::Segment;
        for phase in [Phase::Whole, Phase::Sent, Phase::Arrived, Phase::Lost] {
            for from in [Side::A, Side::B] {
                let art = wire_art(&Wire {
                    segment: Segment::SynAck,
                    from,
                    phase,
                });
                assert_eq!(art.chars().count(), WIRE, "{art:?}");
                assert!(art.contains("SYN+ACK"));
                assert_eq!(art.contains('>'), from == Side::A, "{art}");
                assert_eq!(art.contains('<'), from == Side::B, "{art}");
            }
        }
    }
}
