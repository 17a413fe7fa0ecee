//! The panes `top` shows over its table: the doctor report (the text of `tcpscope doctor`,
//! findings with evidence and next steps), the state machine with the sockets in each state now
//! (`tcpscope diagram`'s text with counts in the boxes), and the keys.

use super::table::state_tone;
use super::text::{wrap_indented, Line, Tone};
use crate::analyze::diagnose::{Report, Severity};
use crate::analyze::duration::human_ms;
use crate::analyze::frame::Frame;
use crate::model::state::TcpState;
use crate::render::diagram::{arrow_for_record, arrows, write_text_live, Arrow, DIAGRAM_ORDER};
use crate::render::doctor::write_report;
use crate::render::top::text::per_second;

/// The doctor report as `tcpscope doctor` prints it, wrapped to `width`, severities toned.
pub fn doctor_lines(report: &Report, width: usize) -> Vec<Line> {
    let mut text = Vec::new();
    if write_report(&mut text, report).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&text);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = if i == 0 {
            match report.severity {
                Some(Severity::Critical) => Tone::Bad,
                Some(Severity::Warning) => Tone::Warn,
                _ => Tone::Good,
            }
        } else if line.starts_with("[CRITICAL]") {
            Tone::Bad
        } else if line.starts_with("[WARNING]") {
            Tone::Warn
        } else if line.starts_with("[INFO]") {
            Tone::Bold
        } else if line.trim_start().starts_with("next:") {
            Tone::Key
        } else {
            Tone::Plain
        };
        // Continuation lines of evidence and steps hang under their text.
        let hang = if line.trim_start().starts_with("- ") {
            2
        } else if line.starts_with("  why:") || line.starts_with("  next:") {
            5
        } else {
            2
        };
        for l in wrap_indented(&format!(" {line}"), width, hang) {
            out.push(Line::of(l, t));
        }
    }
    out
}

/// The state machine with the number of sockets in each state of `frame` in its box; boxes of
/// states that have sockets stand out. With a trace (`frame.traced`), each arrow ends with the
/// rate of the changes it stands for since the previous frame, and changes the diagram does not
/// draw (resets, aborts) are listed under it; without one, the frame says why there are none.
pub fn diagram_lines(frame: Option<&Frame>, width: usize) -> Vec<Line> {
    let count = |s: TcpState| frame.map_or(0, |f| f.counts.state_total(s));
    let traced = frame.and_then(|f| f.traced.as_ref());
    let untraced = frame.and_then(|f| f.untraced.as_deref());
    let all = arrows();
    // Per drawn arrow, the changes it stands for; the rest by record.
    let mut on_arrow = vec![0u64; all.len()];
    let mut undrawn: Vec<((TcpState, TcpState), u64)> = Vec::new();
    if let Some(t) = traced {
        for (&(old, new), &n) in &t.records {
            match arrow_for_record(&all, old, new) {
                Some(i) => on_arrow[i] += n,
                None => undrawn.push(((old, new), n)),
            }
        }
    }
    let rate = |a: &Arrow| {
        let t = traced?;
        let i = all.iter().position(|x| x == a)?;
        (on_arrow[i] > 0).then(|| per_second(on_arrow[i], t.window_ms))
    };
    let mut text = Vec::new();
    if write_text_live(&mut text, &count, &rate).is_err() {
        return Vec::new();
    }
    let replay = frame.and_then(|f| f.replay);
    let mut out = vec![Line::of(
        if replay.is_some() {
            " Counts are the sockets alive at the replay's time, rebuilt from the recording's changes."
        } else {
            " Counts are the sockets in each state at the last poll."
        },
        Tone::Dim,
    )];
    match (traced, untraced) {
        (Some(t), _) => {
            let text = match replay {
                Some(r) => format!(
                    " Rates after the arrows: every change the trace recorded in the {} up to {}",
                    human_ms(t.window_ms),
                    crate::render::time::utc_clock_tenths(r.at_unix_ms)
                ),
                None => format!(
                    " Rates after the arrows: every change the tracepoint sock:inet_sock_set_state saw in the last {}",
                    human_ms(t.window_ms)
                ),
            };
            let mut l = Line::of(text, Tone::Dim);
            if t.lost > 0 {
                l.push(
                    format!(" ({} lost by the ring buffers: rates are too low)", t.lost),
                    Tone::Warn,
                );
            }
            out.push(l);
        }
        (None, Some(why)) => out.push(Line::of(
            format!(" Transition rates on the arrows: not traced ({why})."),
            Tone::Dim,
        )),
        (None, None) => out.push(Line::of(
            " Transition rates on the arrows: from the next frame on.",
            Tone::Dim,
        )),
    }
    out.push(Line::new());
    for line in String::from_utf8_lossy(&text).lines() {
        let boxed = DIAGRAM_ORDER.iter().find(|s| {
            line.strip_prefix("│ ")
                .or_else(|| line.strip_prefix("║ "))
                .is_some_and(|rest| rest.starts_with(&format!("{} ", s.display_name())))
        });
        let tone = match boxed {
            Some(s) if count(*s) > 0 => match state_tone(*s) {
                Tone::Plain => Tone::Bold,
                t => t,
            },
            Some(_) => Tone::Plain,
            None => Tone::Plain,
        };
        let mut l = Line::of(format!(" {line}"), tone);
        if l.width() > width {
            l = l.truncate(width);
        }
        out.push(l);
    }
    if let Some(t) = traced {
        if !undrawn.is_empty() {
            out.push(Line::new());
            out.push(Line::of(
                " Traced changes on edges not drawn above (resets, aborts, give-ups):",
                Tone::Bold,
            ));
            for ((old, new), n) in undrawn {
                out.push(Line::of(
                    format!(
                        "   {} -> {}  {}",
                        old.display_name(),
                        new.display_name(),
                        per_second(n, t.window_ms)
                    ),
                    Tone::Plain,
                ));
            }
        }
    }
    out
}

/// The keys and the columns.
pub fn help_lines(width: usize) -> Vec<Line> {
    let keys: &[(&str, &str)] = &[
        ("q, Ctrl-C", "quit (the terminal is restored)"),
        ("?", "this help"),
        ("↑ ↓ j k PgUp PgDn Home End", "move the selection (or scroll a pane)"),
        ("Enter, →", "the selected group's sockets; on a socket: everything about it"),
        ("Esc, ←, Backspace", "back (or close a pane)"),
        ("g / G, Tab", "group by the next / previous of: process, container, local port, peer host, namespace"),
        ("s / S, > / <", "sort by the next / previous column (the frame's attention order first)"),
        ("r", "reverse the order"),
        ("/", "filter in ss's language (state close-wait, sport = :443, dst 10.0.0.0/8, comm nginx, idle > 5m, ...); an empty filter shows everything; a mistake is pointed at in place"),
        ("d", "doctor: findings with their evidence and next steps"),
        ("m", "the TCP state machine with the sockets in each state now"),
        ("K", "release: end the selected group's sockets (in CLOSE-WAIT unless the filter names states) or the selected socket, as `tcpscope release` does — its dry run first, then y to act, n or Esc to cancel"),
        ("+ / -", "poll less / more often (250ms ... 5m)"),
        ("space", "pause / resume polling"),
    ];
    let mut out = Vec::new();
    for (k, what) in keys {
        let mut first = true;
        for piece in wrap_indented(what, width.saturating_sub(30).max(20), 0) {
            let mut l = Line::new();
            let key = if first { *k } else { "" };
            l.push(format!(" {key:<28} "), Tone::Key)
                .push(piece, Tone::Plain);
            out.push(l);
            first = false;
        }
    }
    out.push(Line::new());
    out.push(Line::of(" Columns", Tone::Bold));
    for (c, what) in [
        ("Total", "sockets in the group"),
        (
            "ESTAB, CLOSE-W, ...",
            "sockets in each state (only states present are shown)",
        ),
        (
            "CW idle",
            "the oldest CLOSE-WAIT's idle time (tcp_info: at least this long since the peer's FIN)",
        ),
        (
            "Recv-Q, Send-Q",
            "bytes queued, summed over the group (listeners left out)",
        ),
        (
            "Change",
            "sockets more or fewer than at the previous refresh",
        ),
    ] {
        for (i, piece) in wrap_indented(what, width.saturating_sub(30).max(20), 0)
            .into_iter()
            .enumerate()
        {
            let mut l = Line::new();
            let name = if i == 0 { c } else { "" };
            l.push(format!(" {name:<28} "), Tone::Bold)
                .push(piece, Tone::Plain);
            out.push(l);
        }
    }
    out.push(Line::new());
    out.push(Line::of(" Traced", Tone::Bold));
    for l in wrap_indented(
        " As root, top reads the tracepoint sock:inet_sock_set_state beside its polls (as `tcpscope trace` does): the header's opened, closed and state changes per second count every change (marked 'traced'), the diagram shows a rate after each arrow, and a socket's detail says exactly when it entered its state. Otherwise these come from comparing polls.",
        width,
        1,
    ) {
        out.push(Line::of(l, Tone::Dim));
    }
    out
}
