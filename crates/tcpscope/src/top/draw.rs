//! Core's screen onto ratatui's buffer. Tones become styles here, and only here: the colours
//! are the terminal's own named ones (red for problems, magenta for warnings, green for good),
//! which every palette adapts to light and dark backgrounds — no fixed background, no black,
//! white, yellow or blue, which vanish on one kind or the other — and emphasis is bold, dim and
//! reverse. With `NO_COLOR` set (no-color.org) only bold, dim, underline and reverse remain.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use tcpscope_core::render::top::text::{LineKind, Tone};
use tcpscope_core::render::top::{Screen, TopApp};

/// Colours unless `NO_COLOR` is set to something.
pub fn colours_wanted() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub fn style(tone: Tone, colours: bool) -> Style {
    let s = Style::default();
    let bold = s.add_modifier(Modifier::BOLD);
    match (tone, colours) {
        (Tone::Plain, _) => s,
        (Tone::Dim, _) => s.add_modifier(Modifier::DIM),
        (Tone::Bold, _) | (Tone::Key, _) => bold,
        (Tone::Good, true) => s.fg(Color::Green),
        (Tone::Good, false) => s,
        (Tone::Warn, true) => bold.fg(Color::Magenta),
        (Tone::Bad, true) => bold.fg(Color::Red),
        (Tone::Warn | Tone::Bad, false) => bold,
    }
}

fn line_style(kind: LineKind) -> Style {
    match kind {
        LineKind::Normal => Style::default(),
        LineKind::Selected => Style::default().add_modifier(Modifier::REVERSED),
        LineKind::Bar => Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        LineKind::ColumnHeader => Style::default().add_modifier(Modifier::UNDERLINED),
    }
}

/// Draw `screen` into `area` of `buf`.
pub fn render(screen: &Screen, area: Rect, buf: &mut Buffer, colours: bool) {
    for (row, line) in screen
        .lines
        .iter()
        .enumerate()
        .take(usize::from(area.height))
    {
        let y = area.y + row as u16;
        let whole = line_style(line.kind);
        let mut x = area.x;
        let right = area.x + area.width;
        for span in &line.spans {
            if x >= right {
                break;
            }
            let st = style(span.tone, colours).patch(whole);
            let (nx, _) = buf.set_stringn(x, y, &span.text, usize::from(right - x), st);
            x = nx;
        }
        if line.kind != LineKind::Normal && x < right {
            let fill = " ".repeat(usize::from(right - x));
            buf.set_stringn(x, y, fill, usize::from(right - x), whole);
        }
    }
}

/// Lay out `app` for the frame's size and draw it, the prompt's cursor included.
pub fn frame(f: &mut ratatui::Frame, app: &mut TopApp, colours: bool) {
    let area = f.area();
    let screen = app.screen(usize::from(area.width), usize::from(area.height));
    render(&screen, area, f.buffer_mut(), colours);
    if let Some((x, y)) = screen.cursor {
        f.set_cursor_position(Position::new(x as u16, y as u16));
    }
}
