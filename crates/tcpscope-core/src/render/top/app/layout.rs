//! Where everything goes on one screen: the title bar, the header (shrinking on short
//! terminals), the body (the table, a drill-down, a socket, or a pane, scrolled), the footer
//! (key hints, or the filter prompt with its error under it).

use super::{Level, Pane, Screen, TopApp};
use crate::analyze::duration::human_ms;
use crate::render::time::{utc_clock_tenths, utc_text};
use crate::render::top::header::header_lines;
use crate::render::top::panes::{diagram_lines, doctor_lines, help_lines};
use crate::render::top::release::{release_lines, to_end, ReleasePhase};
use crate::render::top::sockets::{detail_lines, socket_table, DrillView};
use crate::render::top::table::{group_table, TableState, TableView};
use crate::render::top::text::{fit, Line, LineKind, Tone};

impl TopApp {
    /// Lay out one screen of `width` x `height` characters.
    pub fn screen(&mut self, width: usize, height: usize) -> Screen {
        let mut lines = Vec::with_capacity(height);
        if height < 4 || width < 20 {
            lines.push(Line::of(
                fit("tcpscope top: enlarge the terminal", width),
                Tone::Bold,
            ));
            lines.resize(height, Line::new());
            lines.truncate(height);
            return Screen {
                lines,
                cursor: None,
            };
        }
        lines.push(self.title_bar(width));
        let (footer, cursor_in_footer) = self.footer(width);
        // The header shrinks on short terminals so the table keeps at least a few rows.
        let room = height - 1 - footer.len();
        let header_max = if room >= 24 {
            8
        } else if room >= 14 {
            4
        } else if room >= 8 {
            2
        } else {
            0
        };
        let header = match &self.frame {
            Some(f) if header_max > 0 => {
                header_lines(f, &self.history, width, header_max, self.error.as_deref())
            }
            _ => Vec::new(),
        };
        lines.extend(header);
        let body_height = height - lines.len() - footer.len();
        let body = self.body(width, body_height);
        lines.extend(body);
        lines.truncate(height - footer.len());
        lines.resize(height - footer.len(), Line::new());
        let footer_row = lines.len();
        lines.extend(footer);
        let cursor =
            cursor_in_footer.map(|(c, r)| (c.min(width.saturating_sub(1)), footer_row + r));
        Screen { lines, cursor }
    }

    fn title_bar(&self, width: usize) -> Line {
        let mut parts: Vec<String> = vec!["tcpscope top".to_string()];
        let replay = self.frame.as_ref().and_then(|f| f.replay);
        if let Some(f) = &self.frame {
            if !f.header.host.hostname.is_empty() {
                parts.push(f.header.host.hostname.clone());
            }
            if replay.is_none() {
                parts.push(utc_text(f.header.taken_at_unix_ms));
            }
        }
        // A replayed trace: which, and where its clock is ("trace rec.jsonl @ 12:00:03.5").
        if let Some(r) = replay {
            let what = self.source.as_deref().unwrap_or("trace");
            parts.push(format!("{what} @ {}", utc_clock_tenths(r.at_unix_ms)));
            parts.push(if r.ended {
                format!(
                    "replay ended ({} recorded)",
                    human_ms(r.ended_unix_ms - r.started_unix_ms)
                )
            } else if self.paused {
                "PAUSED (space)".to_string()
            } else {
                format!("step {} (+/-)", interval_text(self.interval_ms))
            });
            if let Some(f) = &self.frame {
                parts.push(format!("poll {} ms", f.poll_ms));
            }
            return Self::bar(parts, width);
        }
        // A capture of another tool says which, and from which system; else what top was told.
        let capture = self
            .frame
            .as_ref()
            .and_then(|f| f.header.source.import().cloned());
        match (capture, &self.source) {
            (Some(i), _) => {
                let file = i.file.rsplit('/').next().unwrap_or(&i.file);
                parts.push(format!(
                    "capture {file} ({}, {})",
                    i.format,
                    i.system.display_name()
                ));
            }
            (None, Some(src)) => parts.push(src.clone()),
            (None, None) => {}
        }
        parts.push(if self.paused {
            "PAUSED (space)".to_string()
        } else {
            format!("every {} (+/-)", interval_text(self.interval_ms))
        });
        if let Some(f) = &self.frame {
            parts.push(format!("poll {} ms", f.poll_ms));
        }
        Self::bar(parts, width)
    }

    /// The title bar: `parts` joined, the help hint at the right.
    fn bar(parts: Vec<String>, width: usize) -> Line {
        let help = " ? help ";
        let left = width.saturating_sub(help.len());
        let text = fit(&format!(" {}", parts.join(" │ ")), left);
        let mut l = Line::of(text, Tone::Bold).kind(LineKind::Bar);
        l.push(help, Tone::Bold);
        l.truncate(width)
    }

    fn body(&mut self, width: usize, height: usize) -> Vec<Line> {
        if height == 0 {
            return Vec::new();
        }
        // Title, and a column header for tables: the rest are rows.
        self.body_rows = height.saturating_sub(2).max(1);
        if let Some(v) = &mut self.release {
            let text = release_lines(&v.target, &v.phase);
            let title = match v.phase {
                ReleasePhase::Confirm(_) => {
                    "Release: tcpscope release's dry run (y ends them, n or Esc cancels, ↑↓ scroll)"
                }
                ReleasePhase::Acting(_) => "Release: ending the sockets…",
                _ => "Release (Esc to close, ↑↓ scroll)",
            };
            return scrolled(title, text, &mut v.scroll, width, height);
        }
        if let Some(pane) = self.pane {
            let (title, text) = match pane {
                Pane::Doctor => (
                    "Doctor: findings, evidence, next steps (d or Esc to close, ↑↓ scroll)",
                    self.frame
                        .as_ref()
                        .map(|f| doctor_lines(&f.report, width))
                        .unwrap_or_default(),
                ),
                Pane::Diagram => (
                    "State machine with the sockets in each state now (m or Esc to close, ↑↓ scroll)",
                    diagram_lines(self.frame.as_deref(), width),
                ),
                Pane::Help => ("Keys (? or Esc to close)", help_lines(width)),
            };
            return scrolled(title, text, &mut self.pane_scroll, width, height);
        }
        let Some(frame) = self.frame.clone() else {
            let mut v = vec![Line::of(
                fit(" waiting for the first poll…", width),
                Tone::Dim,
            )];
            if let Some(e) = &self.error {
                v.push(Line::of(
                    fit(&format!(" poll failed: {e}"), width),
                    Tone::Bad,
                ));
            }
            return v;
        };
        match self.level {
            Level::Groups => {
                let rows = self.rows();
                let selected = self.resolve_selection(&rows);
                let TableView { lines, sort_cycle } = group_table(
                    &frame,
                    &rows,
                    &mut TableState {
                        by: self.group_by,
                        sort: self.sort,
                        descending: self.descending,
                        filter: &self.filter,
                        selected,
                        offset: &mut self.group_offset,
                    },
                    width,
                    height,
                );
                self.sort_cycle = sort_cycle;
                lines
            }
            Level::Sockets => match &mut self.drill {
                Some(d) => socket_table(
                    &DrillView {
                        by: d.by,
                        key: &d.key,
                        expected: d.expected,
                        sockets: &d.sockets,
                        loading: d.loading && d.received == 0,
                        error: d.error.as_deref(),
                        selected: d.selected,
                    },
                    &mut d.offset,
                    width,
                    height,
                ),
                None => Vec::new(),
            },
            Level::Detail => {
                let Some(r) = self.drill.as_ref().and_then(|d| d.detail.as_ref()) else {
                    return Vec::new();
                };
                let title = if r.gone {
                    "Socket (closed since: gone from the last listing; Esc back, ↑↓ scroll)"
                } else {
                    "Socket (Esc back, ↑↓ scroll)"
                };
                let text = detail_lines(
                    &r.last,
                    frame.header.taken_at_unix_ms,
                    self.interval_ms,
                    frame.replay.is_some(),
                    width,
                );
                scrolled(title, text, &mut self.detail_scroll, width, height)
            }
        }
    }

    /// The footer: the prompt (with the parse error under it) or the key hints. Returns the
    /// lines and the cursor's (column, row) in them.
    fn footer(&self, width: usize) -> (Vec<Line>, Option<(usize, usize)>) {
        if let Some(p) = &self.prompt {
            let mut lines = Vec::new();
            let mut l = Line::of("/", Tone::Key);
            l.push(" ", Tone::Plain).push(p.text.clone(), Tone::Plain);
            lines.push(l.truncate(width));
            if let Some(e) = &p.error {
                let caret = format!("  {}{}", " ".repeat(e.col), "^".repeat(e.len.max(1)));
                lines.push(Line::of(fit(&caret, width), Tone::Bad));
                lines.push(Line::of(
                    fit(
                        &format!("invalid filter at column {}: {}", e.col + 1, e.message),
                        width,
                    ),
                    Tone::Bad,
                ));
            }
            let mut hint = Line::new();
            for (k, what) in [
                ("Enter", "apply"),
                ("Esc", "cancel"),
                ("^U", "clear"),
                ("", "ss filter language: state close-wait, sport = :443, dst 10.0.0.0/8, comm nginx, idle > 5m"),
            ] {
                if !k.is_empty() {
                    hint.push(k, Tone::Key).push(" ", Tone::Plain);
                }
                hint.push(format!("{what}  "), Tone::Dim);
            }
            lines.push(hint.truncate(width));
            return (lines, Some((2 + p.cursor, 0)));
        }
        let confirm = matches!(
            self.release.as_ref().map(|v| &v.phase),
            Some(ReleasePhase::Confirm(r)) if to_end(r) > 0
        );
        let hints: &[(&str, &str)] = match (self.pane, self.level) {
            _ if confirm => &[("y", "release them"), ("n/Esc", "cancel"), ("↑↓", "scroll")],
            _ if self.release.is_some() => &[("Esc", "close"), ("↑↓", "scroll"), ("q", "quit")],
            (Some(_), _) => &[("Esc", "close"), ("↑↓", "scroll"), ("q", "quit")],
            (None, Level::Groups) => &[
                ("q", "quit"),
                ("?", "help"),
                ("⏎", "sockets"),
                ("g", "group"),
                ("s", "sort"),
                ("r", "reverse"),
                ("/", "filter"),
                ("d", "doctor"),
                ("m", "diagram"),
                ("K", "release"),
                ("+/-", "interval"),
                ("␣", "pause"),
            ],
            (None, Level::Sockets) => &[
                ("q", "quit"),
                ("Esc", "back"),
                ("⏎", "detail"),
                ("K", "release"),
                ("/", "filter"),
                ("d", "doctor"),
                ("?", "help"),
            ],
            (None, Level::Detail) => &[
                ("q", "quit"),
                ("Esc", "back"),
                ("↑↓", "scroll"),
                ("K", "release"),
                ("d", "doctor"),
                ("?", "help"),
            ],
        };
        let mut l = Line::new();
        for (k, what) in hints {
            l.push(*k, Tone::Key).push(format!(" {what}  "), Tone::Dim);
        }
        (vec![l.truncate(width)], None)
    }
}

/// `250ms`, `1s`, `2.5s`, `5m`: an interval as a person types it.
pub fn interval_text(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms}ms"),
        _ if ms.is_multiple_of(60_000) => format!("{}m", ms / 60_000),
        _ if ms.is_multiple_of(1000) => format!("{}s", ms / 1000),
        _ => human_ms(ms),
    }
}

/// A titled text pane of `height` lines, scrolled to `offset` (clamped to the text).
fn scrolled(
    title: &str,
    text: Vec<Line>,
    offset: &mut usize,
    width: usize,
    height: usize,
) -> Vec<Line> {
    let rows = height.saturating_sub(1);
    *offset = (*offset).min(text.len().saturating_sub(rows));
    let mut out = Vec::with_capacity(height);
    let more = if text.len() > rows {
        format!(
            " [{}-{} of {}]",
            *offset + 1,
            (*offset + rows).min(text.len()),
            text.len()
        )
    } else {
        String::new()
    };
    out.push(
        Line::of(fit(&format!(" {title}{more}"), width), Tone::Bold).kind(LineKind::ColumnHeader),
    );
    out.extend(
        text.into_iter()
            .skip(*offset)
            .take(rows)
            .map(|l| l.truncate(width)),
    );
    out
}
