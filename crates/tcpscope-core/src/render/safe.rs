//! Text from the host made safe for a terminal. Process names, command lines, unit and
//! namespace names — and everything in a recording made on another host — are chosen by
//! whoever made them: `prctl(PR_SET_NAME, "\x1b[31m...")` is one call. Printed raw, such a name
//! recolours the screen, moves the cursor or rewrites earlier lines. Every text renderer passes
//! host strings through [`terminal_safe`]; JSON keeps the exact bytes (serde escapes control
//! characters as `\u001b`), so nothing is lost for machines.

use std::borrow::Cow;

/// `s` with every control character written as an escape a person can read: C0 controls
/// (including tab and newline) and DEL as `\xNN`, C1 controls (U+0080..U+009F, which some
/// terminals obey like ESC sequences) as `\u{NN}`. A backslash is left alone. Borrowed when
/// nothing needs escaping, the common case.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_safe(&mut out, c);
    }
    Cow::Owned(out)
}

/// [`terminal_safe`], except that line breaks stay line breaks: for messages of several lines
/// (an error with a caret under the filter) that quote host strings.
pub fn terminal_safe_lines(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && is_control(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        push_terminal_safe(&mut out, line);
    }
    Cow::Owned(out)
}

/// Append `s` to `out`, escaped as [`terminal_safe`] does, without an allocation of its own.
pub fn push_terminal_safe(out: &mut String, s: &str) {
    if s.chars().any(is_control) {
        s.chars().for_each(|c| push_safe(out, c));
    } else {
        out.push_str(s);
    }
}

fn is_control(c: char) -> bool {
    c.is_control()
}

fn push_safe(out: &mut String, c: char) {
    use std::fmt::Write as _;
    match c as u32 {
        n @ (0..=0x1f | 0x7f) => {
            let _ = write!(out, "\\x{n:02x}");
        }
        n @ 0x80..=0x9f => {
            let _ = write!(out, "\\u{{{n:x}}}");
        }
        _ => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert!(matches!(terminal_safe("nginx"), Cow::Borrowed("nginx")));
        assert_eq!(terminal_safe("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
        assert_eq!(terminal_safe("a\tb\nc\rd\x07"), "a\\x09b\\x0ac\\x0dd\\x07");
        assert_eq!(terminal_safe("\u{9b}2J"), "\\u{9b}2J");
        assert_eq!(terminal_safe("x\x7f"), "x\\x7f");
        assert_eq!(terminal_safe("naïve 進程 C:\\dir"), "naïve 進程 C:\\dir");
        assert_eq!(terminal_safe_lines("a\n\x1bb\n"), "a\n\\x1bb\n");
        let mut s = String::from(">");
        push_terminal_safe(&mut s, "\x1b]0;title\x07");
        assert_eq!(s, ">\\x1b]0;title\\x07");
    }
}
