//! The text `top` draws, as data: lines of spans, each span with a *tone* (what it means — bad,
//! warning, good, dim — not a colour). The terminal front end maps tones to styles, and to plain
//! bold/dim/reverse under `NO_COLOR`; snapshots and `--once` use the text alone.
//!
//! Widths are counted in characters: everything `top` writes itself is single-width (ASCII,
//! box drawing, block elements).

use std::fmt::Write as _;

/// What a piece of text means, for the front end to style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tone {
    Plain,
    /// Less important (zeros, hints, units).
    Dim,
    /// Headings and emphasis.
    Bold,
    /// Healthy.
    Good,
    /// Worth a look.
    Warn,
    /// A problem.
    Bad,
    /// A key the user can press.
    Key,
}

/// A run of text in one tone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    pub tone: Tone,
}

/// How a whole line is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineKind {
    #[default]
    Normal,
    /// The selected row: reversed across the whole width.
    Selected,
    /// A title bar: reversed across the whole width.
    Bar,
    /// A table's column header: underlined/bold.
    ColumnHeader,
}

/// One line of the screen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Line {
    pub spans: Vec<Span>,
    pub kind: LineKind,
}

impl Line {
    pub fn new() -> Line {
        Line::default()
    }

    /// A line of one span.
    pub fn of(text: impl Into<String>, tone: Tone) -> Line {
        let mut l = Line::new();
        l.push(text, tone);
        l
    }

    pub fn kind(mut self, kind: LineKind) -> Line {
        self.kind = kind;
        self
    }

    pub fn push(&mut self, text: impl Into<String>, tone: Tone) -> &mut Line {
        let text = text.into();
        if !text.is_empty() {
            match self.spans.last_mut() {
                Some(last) if last.tone == tone => last.text.push_str(&text),
                _ => self.spans.push(Span { text, tone }),
            }
        }
        self
    }

    /// Width in characters.
    pub fn width(&self) -> usize {
        self.spans.iter().map(|s| s.text.chars().count()).sum()
    }

    /// The text without tones.
    pub fn text(&self) -> String {
        self.spans.iter().map(|s| s.text.as_str()).collect()
    }

    /// Cut to `width` characters, ending in `…` when something was cut.
    pub fn truncate(mut self, width: usize) -> Line {
        if self.width() <= width {
            return self;
        }
        let mut left = width.saturating_sub(1);
        let mut spans = Vec::new();
        for mut s in std::mem::take(&mut self.spans) {
            let n = s.text.chars().count();
            if n <= left {
                left -= n;
                spans.push(s);
                continue;
            }
            s.text = s.text.chars().take(left).collect();
            spans.push(s);
            break;
        }
        self.spans = spans;
        if width > 0 {
            self.push("…", Tone::Dim);
        }
        self
    }
}

/// `text` cut or padded to exactly `width` characters (left-aligned), `…` marking a cut.
pub fn fit(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width {
        let mut s = text.to_string();
        s.extend(std::iter::repeat_n(' ', width - n));
        s
    } else if width == 0 {
        String::new()
    } else {
        let mut s: String = text.chars().take(width - 1).collect();
        s.push('…');
        s
    }
}

/// `text` right-aligned in `width` characters (cut from the left if longer).
pub fn fit_right(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width {
        let mut s: String = std::iter::repeat_n(' ', width - n).collect();
        s.push_str(text);
        s
    } else {
        text.chars().skip(n - width).collect()
    }
}

/// `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `+3`, `-2`, `0`.
pub fn signed(d: i64) -> String {
    if d > 0 {
        format!("+{d}")
    } else {
        d.to_string()
    }
}

/// A per-second rate: `12/s`, `0.4/s`.
pub fn per_second(n: u64, interval_ms: u64) -> String {
    if interval_ms == 0 {
        return "-".to_string();
    }
    let r = n as f64 * 1000.0 / interval_ms as f64;
    let mut s = String::new();
    if r >= 10.0 || r == 0.0 {
        let _ = write!(s, "{r:.0}/s");
    } else {
        let _ = write!(s, "{r:.1}/s");
    }
    s
}

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The last `width` values as a sparkline scaled to their own maximum (zero is the lowest bar,
/// any non-zero value at least the second), right-aligned: older polls fall off the left.
pub fn sparkline(values: &[u64], width: usize) -> String {
    let shown = &values[values.len().saturating_sub(width)..];
    let max = shown.iter().copied().max().unwrap_or(0);
    let mut s: String = std::iter::repeat_n(' ', width - shown.len()).collect();
    for &v in shown {
        let i = if max == 0 || v == 0 {
            0
        } else {
            (v * 7).div_ceil(max).clamp(1, 7) as usize
        };
        s.push(BARS[i]);
    }
    s
}

/// Break `text` into lines of at most `width` characters at spaces, continuation lines indented
/// like the first line's leading spaces (plus `hang` more).
pub fn wrap_indented(text: &str, width: usize, hang: usize) -> Vec<String> {
    let indent = text.len() - text.trim_start().len();
    let cont = " ".repeat((indent + hang).min(width / 2));
    let mut out = Vec::new();
    let mut line = text[..indent].to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        let wl = word.chars().count();
        let ll = line.chars().count();
        if !empty && ll + 1 + wl > width {
            out.push(std::mem::replace(&mut line, cont.clone()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
        // A single word longer than the width is cut into pieces.
        while line.chars().count() > width && width > cont.len() + 1 {
            let head: String = line.chars().take(width).collect();
            let tail: String = line.chars().skip(width).collect();
            out.push(head);
            line = format!("{cont}{tail}");
        }
    }
    if !empty || out.is_empty() {
        out.push(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_merge_truncate_and_fit() {
        let mut l = Line::new();
        l.push("ab", Tone::Bad)
            .push("cd", Tone::Bad)
            .push("efgh", Tone::Dim);
        assert_eq!(l.spans.len(), 2);
        assert_eq!(l.width(), 8);
        let t = l.clone().truncate(5);
        assert_eq!(t.text(), "abcd…");
        assert_eq!(l.truncate(8).text(), "abcdefgh");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("ab", 4), "ab  ");
        assert_eq!(fit_right("7", 3), "  7");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(signed(3), "+3");
        assert_eq!(signed(-2), "-2");
        assert_eq!(per_second(5, 1000), "5.0/s");
        assert_eq!(per_second(120, 1000), "120/s");
        assert_eq!(per_second(1, 0), "-");
    }

    #[test]
    fn sparklines_scale_to_their_maximum() {
        assert_eq!(sparkline(&[0, 1, 2, 4, 8], 5), "▁▂▃▅█");
        assert_eq!(sparkline(&[0, 0], 4), "  ▁▁");
        assert_eq!(sparkline(&[5, 5, 5, 5, 5, 5], 3), "███");
        assert_eq!(sparkline(&[1000, 1], 2), "█▂");
    }

    #[test]
    fn wrapping_keeps_the_indent() {
        let lines = wrap_indented("  - one two three four", 12, 2);
        assert_eq!(lines, vec!["  - one two", "    three", "    four"]);
        assert_eq!(wrap_indented("", 10, 0), vec![""]);
        let long = wrap_indented("abcdefghijklmnop", 6, 0);
        assert!(long.iter().all(|l| l.chars().count() <= 6), "{long:?}");
    }
}
