//! The top of `top`'s screen: how many sockets are in each state with a sparkline of the last
//! polls, sockets opened and closed per second, and the doctor's verdict with its headline —
//! what an operator reads first during an incident.

use super::history::History;
use super::table::state_tone;
use super::text::{fit, fit_right, per_second, sparkline, thousands, Line, Tone};
use crate::analyze::diagnose::Severity;
use crate::analyze::duration::human_ms;
use crate::analyze::frame::Frame;
use crate::model::state::TcpState;

/// The header in at most `max_rows` lines of `width` characters. `error`: why the last poll
/// failed (the frame shown is then stale).
pub fn header_lines(
    frame: &Frame,
    history: &History,
    width: usize,
    max_rows: usize,
    error: Option<&str>,
) -> Vec<Line> {
    let mut out = Vec::new();
    if max_rows == 0 {
        return out;
    }
    let verdict = verdict_line(frame, width);
    let stale = error.map(|e| {
        Line::of(
            fit(&format!(" STALE: the last poll failed: {e}"), width),
            Tone::Bad,
        )
    });
    // Rows left for the states once the verdict, rates (and a staleness line) have theirs.
    let fixed = 2 + usize::from(stale.is_some());
    let state_rows = max_rows.saturating_sub(fixed);
    let states: Vec<TcpState> = TcpState::ALL
        .into_iter()
        .filter(|s| frame.counts.state_total(*s) > 0 || history.ever(*s))
        .collect();
    // A grid cell needs 22 columns; when the states do not fit in the rows there are, they go
    // on as few lines as they need, without sparklines.
    let grid_cols = (width / 22).clamp(1, 3);
    if state_rows > 0 && !states.is_empty() && states.len().div_ceil(grid_cols) <= state_rows {
        out.extend(state_grid(frame, history, &states, width, grid_cols));
    } else {
        out.extend(compact_states(frame, &states, width, state_rows.max(1)));
    }
    if max_rows > out.len() + 1 {
        out.push(rates_line(frame, history, width));
    }
    if let Some(s) = stale {
        if max_rows > out.len() + 1 {
            out.push(s);
        }
    }
    out.push(verdict);
    out.truncate(max_rows);
    out
}

/// Every state as `CLOSE-W 18 · TIME-W 1,500 ...`, over at most `rows` lines (short
/// terminals), what matters most first: CLOSE-WAIT, then the states that should not last, then
/// the largest counts.
fn compact_states(frame: &Frame, states: &[TcpState], width: usize, rows: usize) -> Vec<Line> {
    let mut states = states.to_vec();
    states.sort_by_key(|s| {
        let rank = match state_tone(*s) {
            Tone::Bad => 0,
            Tone::Warn => 1,
            _ => 2,
        };
        (rank, std::cmp::Reverse(frame.counts.state_total(*s)))
    });
    let mut lines = Vec::new();
    let mut l = Line::new();
    for s in &states {
        let n = frame.counts.state_total(*s);
        let item = format!(" {} {}", super::table::short_state(*s), thousands(n));
        if l.width() > 0 {
            if l.width() + item.chars().count() + 2 > width && lines.len() + 1 < rows {
                lines.push(std::mem::take(&mut l));
            } else {
                l.push(" ·", Tone::Dim);
            }
        }
        l.push(item, if n > 0 { state_tone(*s) } else { Tone::Dim });
    }
    lines.push(l);
    lines.into_iter().map(|l| l.truncate(width)).collect()
}

/// States in up to three columns: name, count, sparkline of the polls kept.
fn state_grid(
    frame: &Frame,
    history: &History,
    states: &[TcpState],
    width: usize,
    max_cols: usize,
) -> Vec<Line> {
    let cols = if width >= 120 {
        3
    } else if width >= 70 {
        2
    } else {
        1
    }
    .max(max_cols.min(3))
    .min(max_cols.max(1));
    let cell = width / cols;
    // " NAME........ 1234567 " then the sparkline.
    let spark = cell.saturating_sub(22);
    let spark = if spark >= 6 { spark } else { 0 };
    let per_col = states.len().div_ceil(cols);
    let mut lines = Vec::new();
    for r in 0..per_col {
        let mut l = Line::new();
        for c in 0..cols {
            let Some(&s) = states.get(c * per_col + r) else {
                continue;
            };
            let n = frame.counts.state_total(s);
            let tone = if n > 0 { state_tone(s) } else { Tone::Dim };
            let name_tone = if tone == Tone::Plain {
                Tone::Bold
            } else {
                tone
            };
            l.push(fit(&format!(" {}", s.display_name()), 13), name_tone);
            l.push(fit_right(&thousands(n), 8), tone);
            l.push(" ", Tone::Plain);
            if spark > 0 && history.len() >= 2 {
                let line = sparkline(&history.series(s), spark);
                l.push(
                    line,
                    if tone == Tone::Plain {
                        Tone::Good
                    } else {
                        tone
                    },
                );
            }
            let used = l.width();
            let target = (c + 1) * cell;
            if used < target {
                l.push(" ".repeat(target - used), Tone::Plain);
            }
        }
        lines.push(l.truncate(width));
    }
    lines
}

/// Totals and what changed: sockets, opened and closed per second, the span of the sparklines.
fn rates_line(frame: &Frame, history: &History, width: usize) -> Line {
    let mut l = Line::new();
    l.push(
        format!(" {} sockets", thousands(frame.counts.total())),
        Tone::Bold,
    );
    if frame.counts_by_netns.len() > 1 {
        l.push(
            format!(" in {} namespaces", frame.counts_by_netns.len()),
            Tone::Plain,
        );
    }
    let c = &frame.changes;
    if let Some(t) = frame.traced.as_ref().filter(|t| t.window_ms > 0) {
        l.push(" · opened ", Tone::Plain)
            .push(per_second(t.opened, t.window_ms), Tone::Bold)
            .push(" · closed ", Tone::Plain)
            .push(per_second(t.closed, t.window_ms), Tone::Bold)
            .push(" · state changes ", Tone::Plain)
            .push(per_second(t.changes(), t.window_ms), Tone::Bold)
            .push(" (traced)", Tone::Dim);
        if t.lost > 0 {
            l.push(format!(" · {} lost", thousands(t.lost)), Tone::Warn);
        }
    } else if c.interval_ms > 0 {
        l.push(" · opened ", Tone::Plain)
            .push(per_second(c.opened, c.interval_ms), Tone::Bold)
            .push(" · closed ", Tone::Plain)
            .push(per_second(c.closed, c.interval_ms), Tone::Bold)
            .push(" · changed state ", Tone::Plain)
            .push(per_second(c.changed, c.interval_ms), Tone::Bold);
    } else {
        l.push(
            " · opened/closed per second: from the next poll on",
            Tone::Dim,
        );
    }
    let n = history.len();
    if n >= 2 {
        let span = history.span_ms(n);
        let what = if span > 0 {
            format!(" · sparklines: last {} ({n} polls)", human_ms(span))
        } else {
            format!(" · sparklines: {n} polls")
        };
        l.push(what, Tone::Dim);
    }
    l.truncate(width)
}

/// The doctor's verdict, coloured by severity, with its headline.
fn verdict_line(frame: &Frame, width: usize) -> Line {
    let r = &frame.report;
    let (label, tone) = match r.severity {
        Some(Severity::Critical) => ("CRITICAL", Tone::Bad),
        Some(Severity::Warning) => ("WARNING", Tone::Warn),
        _ => ("HEALTHY", Tone::Good),
    };
    // The verdict starts with its own severity word; the label says it already.
    // and the counts are in the doctor pane: keep the headline.
    let headline = r
        .verdict
        .split_once(": ")
        .filter(|(word, _)| word.eq_ignore_ascii_case(label))
        .map_or(r.verdict.as_str(), |(_, rest)| rest);
    let headline = headline
        .split_once(" — ")
        .map_or(headline, |(_, title)| title);
    let mut l = Line::new();
    l.push(format!(" ● {label} "), tone)
        .push(headline.to_string(), Tone::Plain);
    if !r.findings.is_empty() {
        l.push("  (d: doctor)", Tone::Dim);
    }
    l.truncate(width)
}
