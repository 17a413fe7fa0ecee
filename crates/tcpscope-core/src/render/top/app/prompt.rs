//! The filter prompt: a line editor for ss's filter language that parses on Enter and keeps
//! the parser's error (column and message) to show under the text until the next edit.

use super::Key;
use crate::analyze::filter::{Filter, ParseError, Resolver};

/// The filter prompt being typed.
#[derive(Debug, Clone, Default)]
pub(super) struct Prompt {
    pub(super) text: String,
    /// Cursor position in characters.
    pub(super) cursor: usize,
    pub(super) error: Option<ParseError>,
}

pub(super) enum PromptOutcome {
    Cancel,
    Filter(Filter),
}

/// Edit the prompt; `Some` when it closes.
pub(super) fn prompt_key(
    p: &mut Prompt,
    key: Key,
    resolver: &dyn Resolver,
) -> Option<PromptOutcome> {
    let byte = |t: &str, c: usize| t.char_indices().nth(c).map_or(t.len(), |(i, _)| i);
    match key {
        Key::Esc | Key::Ctrl('c') => return Some(PromptOutcome::Cancel),
        Key::Enter => {
            return match Filter::parse_with(&p.text, resolver) {
                Ok(f) => Some(PromptOutcome::Filter(f)),
                Err(e) => {
                    p.error = Some(e);
                    None
                }
            }
        }
        Key::Char(c) => {
            let at = byte(&p.text, p.cursor);
            p.text.insert(at, c);
            p.cursor += 1;
        }
        Key::Backspace if p.cursor > 0 => {
            p.cursor -= 1;
            let at = byte(&p.text, p.cursor);
            p.text.remove(at);
        }
        Key::Delete if p.cursor < p.text.chars().count() => {
            let at = byte(&p.text, p.cursor);
            p.text.remove(at);
        }
        Key::Left => p.cursor = p.cursor.saturating_sub(1),
        Key::Right => p.cursor = (p.cursor + 1).min(p.text.chars().count()),
        Key::Home | Key::Ctrl('a') => p.cursor = 0,
        Key::End | Key::Ctrl('e') => p.cursor = p.text.chars().count(),
        Key::Ctrl('u') => {
            p.text.clear();
            p.cursor = 0;
        }
        _ => return None,
    }
    // The error pointed at the old text.
    p.error = None;
    None
}
