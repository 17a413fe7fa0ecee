//! The whole state machine as a picture: text boxes and arrows for a terminal, or Graphviz dot.
//! (The SVG, laid out like the RFC figure, is in `svg.rs`.) Both are drawn from the model's
//! edges: the main edges one by one, the exceptional ones (RST, abort, retransmission, give-up)
//! summarised in a legend, as the RFC figure does.

use crate::analyze::fsm::{tracepoint_view, Event, Origin, EDGES};
use crate::model::state::TcpState;
use std::fmt::Write as _;
use std::io::{self, Write};

/// The order states are drawn in: the RFC figure's, then Linux's extra states.
pub const DIAGRAM_ORDER: [TcpState; 13] = [
    TcpState::Close,
    TcpState::BoundInactive,
    TcpState::Listen,
    TcpState::NewSynRecv,
    TcpState::SynRecv,
    TcpState::SynSent,
    TcpState::Established,
    TcpState::FinWait1,
    TcpState::FinWait2,
    TcpState::Closing,
    TcpState::TimeWait,
    TcpState::CloseWait,
    TcpState::LastAck,
];

/// One arrow of a diagram: the model edges between two states that send the same segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrow {
    pub from: TcpState,
    pub to: TcpState,
    /// "rcv FIN / snd ACK", or "close() | shutdown(WR) / snd FIN".
    pub label: String,
    pub origin: Origin,
}

impl Arrow {
    pub fn is_loop(&self) -> bool {
        self.from == self.to
    }

    pub fn touches(&self, state: Option<TcpState>) -> bool {
        state.is_some_and(|s| self.from == s || self.to == s)
    }
}

/// The arrows drawn one by one: every edge except the exceptional ones, grouped.
pub fn arrows() -> Vec<Arrow> {
    let mut out: Vec<(Arrow, Option<&'static str>)> = Vec::new();
    for e in EDGES.iter().filter(|e| !e.is_exceptional()) {
        let sends = e.sends.map(|s| s.label());
        match out
            .iter_mut()
            .find(|(a, s)| a.from == e.from && a.to == e.to && *s == sends && a.origin == e.origin)
        {
            Some((a, _)) => {
                a.label = a
                    .label
                    .replacen(" / ", &format!(" | {} / ", e.event.label()), 1);
                if sends.is_none() {
                    a.label = format!("{} | {}", a.label, e.event.label());
                }
            }
            None => {
                let label = match sends {
                    Some(s) => format!("{} / snd {s}", e.event.label()),
                    None => e.event.label().to_string(),
                };
                out.push((
                    Arrow {
                        from: e.from,
                        to: e.to,
                        label,
                        origin: e.origin,
                    },
                    sends,
                ));
            }
        }
    }
    out.into_iter().map(|(a, _)| a).collect()
}

/// The legend lines for the exceptional edges: "rcv RST in ESTABLISHED, ... -> CLOSED".
pub fn exceptional_summary() -> Vec<String> {
    let mut groups: Vec<(Event, Option<&str>, TcpState, Vec<&str>)> = Vec::new();
    for e in EDGES.iter().filter(|e| e.is_exceptional()) {
        let sends = e.sends.map(|s| s.label());
        let name = e.from.display_name();
        // Retransmissions are loops: group them by what they resend, not by their state.
        let to = if e.is_loop() { TcpState::Close } else { e.to };
        match groups
            .iter_mut()
            .find(|g| g.0 == e.event && g.1 == sends && g.2 == to)
        {
            Some(g) if !g.3.contains(&name) => g.3.push(name),
            Some(_) => {}
            None => groups.push((e.event, sends, to, vec![name])),
        }
    }
    groups
        .into_iter()
        .map(|(event, sends, to, from)| {
            let what = match sends {
                Some(s) => format!("{} / snd {s}", event.label()),
                None => event.label().to_string(),
            };
            let from = from.join(", ");
            if event == Event::Retransmit {
                format!("{what} again (state kept) in {from}")
            } else {
                format!("{what} in {from} -> {}", to.display_name())
            }
        })
        .collect()
}

const BOX: usize = 16;
/// The box with a count in it (`top`'s live diagram): the name and up to five characters.
const COUNTED_BOX: usize = 22;
const LINE: usize = 42;

/// The text diagram: one box per state with its outgoing arrows, at most 80 columns wide.
/// `highlight` draws that state's box with double lines and its arrows heavy.
pub fn write_text(w: &mut impl Write, highlight: Option<TcpState>) -> io::Result<()> {
    write_text_with(w, highlight, None, None)
}

/// [`write_text`] with the number of sockets in each state written in its box (`top`'s live
/// diagram); still at most 80 columns wide.
pub fn write_text_counted(
    w: &mut impl Write,
    highlight: Option<TcpState>,
    count: &dyn Fn(TcpState) -> u64,
) -> io::Result<()> {
    write_text_with(w, highlight, Some(count), None)
}

/// What a live diagram writes after an arrow: its rate, when it has one.
pub type RateOf<'a> = dyn Fn(&Arrow) -> Option<String> + 'a;

/// [`write_text_counted`] with a rate after each arrow's target ("12/s"), where `rate` gives
/// one (`top` with a trace: see [`arrow_for_record`]).
pub fn write_text_live(
    w: &mut impl Write,
    count: &dyn Fn(TcpState) -> u64,
    rate: &RateOf<'_>,
) -> io::Result<()> {
    write_text_with(w, None, Some(count), Some(rate))
}

/// The drawn arrow (an index into `arrows`) a record `old -> new` of the tracepoint
/// `sock:inet_sock_set_state` is shown on: one whose Linux edges the tracepoint reports as that
/// record ([`tracepoint_view`]), preferring an arrow that leaves `old`, then the first drawn.
/// `None` for records of the exceptional edges the diagram only lists (RST, abort, give-up).
/// Several arrows can stand for one record — FIN-WAIT-2 -> CLOSE is entering TIME-WAIT or an
/// orphan handed to a mini-socket — and it is shown on the first: the diagram's order puts the
/// usual meaning first.
pub fn arrow_for_record(arrows: &[Arrow], old: TcpState, new: TcpState) -> Option<usize> {
    let claims = |a: &Arrow| {
        EDGES
            .iter()
            .filter(|e| !e.is_exceptional())
            .filter(|e| e.from == a.from && e.to == a.to && e.origin == a.origin)
            .any(|e| tracepoint_view(e).contains(&(old, new)))
    };
    let order = |a: &Arrow| DIAGRAM_ORDER.iter().position(|s| *s == a.from);
    let mut best: Option<(bool, Option<usize>, usize)> = None;
    for (i, a) in arrows.iter().enumerate() {
        if !claims(a) {
            continue;
        }
        // Leaving `old` first, then the diagram's order.
        let key = (a.from != old, order(a), i);
        if best.is_none_or(|b| key < b) {
            best = Some(key);
        }
    }
    best.map(|(_, _, i)| i)
}

/// 12345, 123k, 1.2M: a count in at most five characters.
pub fn short_count(n: u64) -> String {
    match n {
        0..=99_999 => n.to_string(),
        100_000..=999_999 => format!("{}k", n / 1000),
        1_000_000..=9_999_999 => format!("{:.1}M", n as f64 / 1e6),
        _ => format!("{}M", n / 1_000_000),
    }
}

fn write_text_with(
    w: &mut impl Write,
    highlight: Option<TcpState>,
    count: Option<&dyn Fn(TcpState) -> u64>,
    rate: Option<&RateOf<'_>>,
) -> io::Result<()> {
    let arrows = arrows();
    writeln!(
        w,
        "TCP state machine: RFC 9293 and Linux. ── both  ╌╌ Linux only  ┈┈ RFC only"
    )?;
    if let Some(h) = highlight {
        writeln!(
            w,
            "Highlighted: {} (double box, ━━ arrows)",
            h.display_name()
        )?;
    }
    writeln!(w)?;
    let inner = if count.is_some() { COUNTED_BOX } else { BOX } - 2;
    for state in DIAGRAM_ORDER {
        let out: Vec<&Arrow> = arrows.iter().filter(|a| a.from == state).collect();
        let hl = highlight == Some(state);
        let (tl, tr, bl, br, h, v) = if hl {
            ('╔', '╗', '╚', '╝', '═', '║')
        } else {
            ('╭', '╮', '╰', '╯', '─', '│')
        };
        writeln!(w, "{tl}{}{tr}", h.to_string().repeat(inner))?;
        let rows = out.len().max(1);
        for i in 0..rows {
            let name = match (i, count) {
                (0, Some(n)) => format!("{:<13}{:>5}", state.display_name(), short_count(n(state))),
                (0, None) => state.display_name().to_string(),
                _ => String::new(),
            };
            let mut line = format!("{v} {name:<width$}{v}", width = inner - 1);
            if let Some(a) = out.get(i) {
                line.push_str(&arrow_text(a, a.touches(highlight)));
                if let Some(r) = rate.and_then(|f| f(a)) {
                    let pad = 13usize.saturating_sub(a.to.display_name().chars().count());
                    line.push_str(&format!("{}{r:>7}", " ".repeat(pad)));
                }
            }
            writeln!(w, "{}", line.trim_end())?;
        }
        writeln!(w, "{bl}{}{br}", h.to_string().repeat(inner))?;
    }
    writeln!(w)?;
    writeln!(w, "Not drawn above:")?;
    for line in exceptional_summary() {
        let mut first = true;
        for part in super::wrap::wrap(&line, 76) {
            writeln!(w, "{} {part}", if first { "*" } else { " " })?;
            first = false;
        }
    }
    writeln!(
        w,
        "* Linux's tracepoint sock:inet_sock_set_state sees entering TIME-WAIT as"
    )?;
    writeln!(
        w,
        "  FIN_WAIT2 -> CLOSE (or CLOSING -> CLOSE): a timewait mini-socket takes over."
    )
}

fn arrow_text(a: &Arrow, heavy: bool) -> String {
    let dash = match (heavy, a.origin) {
        (true, _) => '━',
        (false, Origin::Both) => '─',
        (false, Origin::Linux) => '╌',
        (false, Origin::Rfc) => '┈',
    };
    let label = format!(" {} ", a.label);
    let fill = LINE.saturating_sub(label.chars().count() + 2);
    let mut s = String::new();
    let _ = write!(
        s,
        "{d}{d}{label}{}▶ {}",
        dash.to_string().repeat(fill),
        a.to.display_name(),
        d = dash
    );
    s
}

/// Graphviz dot of the machine. `highlight` colours a state and its arrows.
pub fn write_dot(w: &mut impl Write, highlight: Option<TcpState>) -> io::Result<()> {
    writeln!(w, "digraph tcp_states {{")?;
    writeln!(w, "  rankdir=TB;")?;
    writeln!(w, "  labelloc=b;")?;
    let legend: Vec<String> = exceptional_summary();
    writeln!(
        w,
        "  label=\"TCP state machine (RFC 9293 + Linux). Dashed: Linux only; dotted: RFC only.\\l{}\\l\";",
        legend.join("\\l")
    )?;
    writeln!(w, "  fontname=\"Helvetica\"; fontsize=10;")?;
    writeln!(
        w,
        "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#eef2f7\", color=\"#44546a\", fontname=\"Helvetica\"];"
    )?;
    writeln!(
        w,
        "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#44546a\"];"
    )?;
    for s in DIAGRAM_ORDER {
        let mut attrs = format!("label=\"{}\"", s.display_name());
        if matches!(s, TcpState::NewSynRecv | TcpState::BoundInactive) {
            attrs.push_str(", style=\"rounded,dashed,filled\"");
        }
        if highlight == Some(s) {
            attrs.push_str(", fillcolor=\"#ffd54f\", penwidth=2.5");
        }
        writeln!(w, "  {} [{attrs}];", dot_id(s))?;
    }
    for a in arrows() {
        let mut attrs = format!("label=\"{}\"", a.label);
        match a.origin {
            Origin::Both => {}
            Origin::Linux => attrs.push_str(", style=dashed, color=\"#1f6feb\""),
            Origin::Rfc => attrs.push_str(", style=dotted"),
        }
        if a.touches(highlight) {
            attrs.push_str(", color=\"#d9480f\", fontcolor=\"#d9480f\", penwidth=2.5");
        }
        writeln!(w, "  {} -> {} [{attrs}];", dot_id(a.from), dot_id(a.to))?;
    }
    writeln!(w, "}}")
}

fn dot_id(s: TcpState) -> String {
    s.name().replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracepoint_records_land_on_the_arrow_they_stand_for() {
        use TcpState as T;
        let arrows = arrows();
        let on =
            |old, new| arrow_for_record(&arrows, old, new).map(|i| (arrows[i].from, arrows[i].to));
        assert_eq!(on(T::Close, T::SynSent), Some((T::Close, T::SynSent)));
        assert_eq!(
            on(T::Close, T::Listen),
            Some((T::Close, T::Listen)),
            "not BOUND's"
        );
        // An accepted connection's socket appears as LISTEN -> SYN-RECV: the handshake done.
        assert_eq!(
            on(T::Listen, T::SynRecv),
            Some((T::NewSynRecv, T::Established))
        );
        assert_eq!(
            on(T::SynRecv, T::Established),
            Some((T::SynRecv, T::Established))
        );
        assert_eq!(on(T::FinWait2, T::Close), Some((T::FinWait2, T::TimeWait)));
        assert_eq!(on(T::Closing, T::Close), Some((T::Closing, T::TimeWait)));
        assert_eq!(
            on(T::CloseWait, T::LastAck),
            Some((T::CloseWait, T::LastAck))
        );
        // Resets and aborts are only listed under the diagram.
        assert_eq!(on(T::Established, T::Close), None);
        // Every record Linux makes on a drawn edge has an arrow.
        for (old, new) in crate::analyze::fsm::tracepoint_edges() {
            let drawn = EDGES
                .iter()
                .any(|e| !e.is_exceptional() && tracepoint_view(e).contains(&(old, new)));
            assert_eq!(on(old, new).is_some(), drawn, "{old:?} -> {new:?}");
        }
    }

    #[test]
    fn live_diagram_puts_rates_after_the_arrows() {
        let text = render(|w| {
            write_text_live(w, &|s| u64::from(s == TcpState::CloseWait) * 7, &|a| {
                (a.from == TcpState::Established && a.to == TcpState::CloseWait)
                    .then(|| "2.5/s".to_string())
            })
        });
        let line = text
            .lines()
            .find(|l| l.contains("rcv FIN / snd ACK") && l.contains("CLOSE-WAIT"))
            .unwrap();
        assert!(line.ends_with("▶ CLOSE-WAIT     2.5/s"), "{line:?}");
        assert!(text.contains("│ CLOSE-WAIT       7 │"), "{text}");
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    }

    fn render(f: impl Fn(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_diagram_snapshot_fits_80_columns() {
        let out = render(|w| write_text(w, None));
        for line in out.lines() {
            assert!(
                line.chars().count() <= 80,
                "{} chars: {line}",
                line.chars().count()
            );
        }
        for s in TcpState::ALL {
            assert!(out.contains(s.display_name()), "{s} missing");
        }
        insta::assert_snapshot!(out);
    }

    #[test]
    fn counted_diagram_fits_80_columns_and_shows_counts() {
        let out = render(|w| {
            write_text_counted(w, None, &|s| match s {
                TcpState::CloseWait => 7,
                TcpState::Established => 123_456,
                _ => 0,
            })
        });
        for line in out.lines() {
            assert!(line.chars().count() <= 80, "{line}");
        }
        assert!(out.contains("│ CLOSE-WAIT       7 │"), "{out}");
        assert!(out.contains("│ ESTABLISHED   123k │"), "{out}");
        assert_eq!(short_count(99_999), "99999");
        assert_eq!(short_count(1_234_567), "1.2M");
        assert_eq!(short_count(12_345_678), "12M");
    }

    #[test]
    fn highlight_marks_the_state_and_its_arrows() {
        let out = render(|w| write_text(w, Some(TcpState::CloseWait)));
        assert!(out.contains("║ CLOSE-WAIT"));
        assert!(out.contains("━ rcv FIN / snd ACK ━"));
        insta::assert_snapshot!(out);
    }

    #[test]
    fn dot_has_every_state_and_arrow() {
        let out = render(|w| write_dot(w, Some(TcpState::TimeWait)));
        assert!(out.starts_with("digraph"));
        let edges = out
            .lines()
            .filter(|l| l.split_whitespace().nth(1) == Some("->"))
            .count();
        assert_eq!(edges, arrows().len());
        assert!(out.contains("time_wait [label=\"TIME-WAIT\", fillcolor=\"#ffd54f\""));
        insta::assert_snapshot!(out);
    }
}
