//! Foreign captures in: the text other tools print — Windows `netstat -ano` and PowerShell
//! `Get-NetTCPConnection`, macOS/BSD, Solaris and AIX `netstat -an`, Linux net-tools `netstat`
//! (any translation that ships with it), `ss`, copies of /proc/net/tcp — read into a
//! [`Snapshot`] that says where it came from and what the capture lacks.
//!
//! [`import`] takes the bytes of a file and returns the snapshot plus the lines it could not read
//! (with their numbers); the rest is always read, and a capture with no recognisable row is an
//! error. Each format family has its own small parser (one file each); [`detect`] picks one from
//! the text (a prompt line with the command helps), and `--from-format` overrides it. Parsers
//! classify every line ([`Line`]); this module assembles the snapshot, its `source`, its
//! `missing` set and its notes. docs/import.md lists the formats.

mod addr;
mod bsd;
pub mod detect;
mod linux_netstat;
mod powershell;
mod procfs;
mod solaris;
mod ss;
mod ss_fields;
mod text;
mod windows;

#[cfg(test)]
pub(crate) mod tests;

pub use detect::Format;

use crate::model::missing::{Datum, Missing};
use crate::model::snapshot::{ImportOrigin, Origin, Snapshot, System};
use crate::model::socket::Socket;
use crate::model::state::TcpState;
use detect::Command;
use serde::Serialize;
use std::collections::BTreeMap;

/// Most line problems listed in a snapshot's notes; the rest are counted.
pub const MAX_LISTED_PROBLEMS: usize = 20;

/// How many lines [`import`] sees in `bytes` (problem line numbers run from 1 to this).
#[cfg(test)]
pub(crate) fn line_count(bytes: &[u8]) -> usize {
    text::lines(&text::decode(bytes).0).len()
}

/// A line that looked like a row of the table and could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// 1-based line number in the file.
    pub line: usize,
    /// The line (cut at 120 characters).
    pub text: String,
    pub why: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {} (`{}`)", self.line, self.why, self.text)
    }
}

/// What a parser made of one line.
#[derive(Debug)]
pub(crate) enum Line {
    /// A TCP socket.
    Row(Box<Socket>),
    /// Part of the table that is not a socket: headers, section titles, a row's detail lines.
    Part,
    /// A row of another protocol (udp, unix, ...), skipped and counted by its name.
    Other(String),
    /// A row that could not be read, and why.
    Bad(String),
    /// Anything else: banners, prompts, blank lines, other sections.
    Text,
}

/// A parser's reading of a whole capture.
pub(crate) struct Parsed {
    /// One entry per line of the input, in order.
    pub lines: Vec<Line>,
    /// The format name recorded in `source` (`windows-netstat-ano`, `linux-ss-tanp`, ...).
    pub format: String,
    pub system: System,
    /// What the parser wants the user to know (where states came from, ...).
    pub notes: Vec<String>,
    /// What to do when no row could be read, if the parser knows better than the generic advice.
    pub hint: Option<String>,
}

/// What the parsers know besides the lines: the prompt line's command, if the capture has one.
pub(crate) struct Context {
    pub command: Option<Command>,
}

/// How to import one file.
#[derive(Debug, Clone)]
pub struct Options {
    /// Parse as this format instead of detecting one.
    pub format: Option<Format>,
    /// The file name recorded in `source.file` (`-` for standard input).
    pub file: String,
    /// The time to record as `taken_at_unix_ms`: captures carry none.
    pub taken_at_unix_ms: u64,
    /// Where that time comes from, for the note ("the file's modification time").
    pub taken_at_from: String,
}

/// An imported capture.
#[derive(Debug, Clone)]
pub struct Imported {
    pub snapshot: Snapshot,
    /// Lines that looked like rows and could not be read (also summarised in the notes).
    pub problems: Vec<Problem>,
}

/// Why a capture could not be imported at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: not a capture tcpscope can read: no line looks like a TCP row of netstat, ss, Get-NetTCPConnection or /proc/net/tcp, nor a tcpscope recording. Formats: {formats} (docs/import.md)")]
    NotRecognised { file: String, formats: String },
    #[error("{file}: read as {format}, but no TCP row could be read{}{hint}", problem_list(.problems))]
    NoRows {
        file: String,
        format: String,
        problems: Vec<Problem>,
        hint: String,
    },
}

/// The problems by reason: "lines 2, 3, 4 and 5 more: why (`first such line`)".
fn problem_list(problems: &[Problem]) -> String {
    let mut reasons: Vec<(&str, Vec<&Problem>)> = Vec::new();
    for p in problems {
        match reasons.iter_mut().find(|(why, _)| *why == p.why) {
            Some((_, ps)) => ps.push(p),
            None => reasons.push((&p.why, vec![p])),
        }
    }
    let mut text = String::new();
    for (why, ps) in reasons.iter().take(5) {
        let mut numbers: Vec<String> = ps.iter().take(6).map(|p| p.line.to_string()).collect();
        if ps.len() > 6 {
            numbers.push(format!("{} more", ps.len() - 6));
        }
        let which = match numbers.as_slice() {
            [one] => format!("line {one}"),
            [rest @ .., last] => format!("lines {} and {last}", rest.join(", ")),
            [] => String::new(),
        };
        text.push_str(&format!("\n  {which}: {why} (`{}`)", ps[0].text));
    }
    if reasons.len() > 5 {
        text.push_str(&format!("\n  ... and {} other reasons", reasons.len() - 5));
    }
    text
}

/// Read a capture's bytes into a snapshot.
pub fn import(bytes: &[u8], opts: &Options) -> Result<Imported, ImportError> {
    let (text, encoding) = text::decode(bytes);
    let lines = text::lines(&text);
    let command = detect::command(&lines);
    let format = match opts
        .format
        .or_else(|| detect::detect(&lines, command.as_ref()))
    {
        Some(f) => f,
        None => {
            return Err(ImportError::NotRecognised {
                file: opts.file.clone(),
                formats: Format::names().join(", "),
            })
        }
    };
    let ctx = Context { command };
    let parsed = format.parse(&lines, &ctx);
    assemble(parsed, &lines, &ctx, opts, encoding, format)
}

fn assemble(
    parsed: Parsed,
    lines: &[&str],
    ctx: &Context,
    opts: &Options,
    encoding: text::Encoding,
    format: Format,
) -> Result<Imported, ImportError> {
    let first = parsed.lines.iter().position(is_tabular);
    let last = parsed.lines.iter().rposition(is_tabular);
    let rows = parsed
        .lines
        .iter()
        .filter(|l| matches!(l, Line::Row(_)))
        .count();
    let mut sockets = Vec::with_capacity(rows);
    let mut problems = Vec::new();
    let mut others: BTreeMap<String, u64> = BTreeMap::new();
    for (i, kind) in parsed.lines.into_iter().enumerate() {
        let text = lines.get(i).copied().unwrap_or("");
        let problem = |why: String| Problem {
            line: i + 1,
            text: cut(text.trim(), 120),
            why,
        };
        match kind {
            Line::Row(s) => sockets.push(*s),
            Line::Bad(why) => problems.push(problem(why)),
            Line::Other(proto) => *others.entry(proto).or_default() += 1,
            Line::Text if !text.trim().is_empty() && first < Some(i) && Some(i) < last => {
                problems.push(problem("not a row of this table".to_string()))
            }
            Line::Part | Line::Text => {}
        }
    }
    if sockets.is_empty() {
        let hint = if let Some(h) = parsed.hint {
            format!("\n  {h}")
        } else if problems.is_empty() && !others.is_empty() {
            format!(
                "\n  it holds only rows of other protocols ({}); capture TCP (e.g. `netstat -an`, `ss -tan`)",
                others.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        } else if opts.format.is_some() {
            "\n  the format was named with --from-format; leave it out to detect the format"
                .to_string()
        } else {
            "\n  if the format was guessed wrong, name it: --from-format NAME (docs/import.md)"
                .to_string()
        };
        return Err(ImportError::NoRows {
            file: opts.file.clone(),
            format: parsed.format,
            problems,
            hint,
        });
    }

    let origin = ImportOrigin {
        format: parsed.format.clone(),
        file: opts.file.clone(),
        system: parsed.system,
        command: ctx.command.as_ref().map(|c| c.text.clone()),
    };
    let mut snap = Snapshot::new(opts.taken_at_unix_ms, Origin::Import(origin));
    snap.missing = lacking_everywhere(&sockets).union(Missing::of(&[
        Datum::KernelCounters,
        Datum::Sysctls,
        Datum::ProcessFacts,
        Datum::TakenAt,
    ]));
    snap.notes = notes(
        &parsed.notes,
        &sockets,
        &problems,
        &others,
        opts,
        encoding,
        format,
        &snap,
    );
    snap.sockets = sockets;
    Ok(Imported {
        snapshot: snap,
        problems,
    })
}

/// What the capture lacks as a whole: each datum that every socket it applies to lacks (the
/// listener data apply to listeners only; with no such socket, nothing is lacking).
fn lacking_everywhere(sockets: &[Socket]) -> Missing {
    Datum::ALL
        .into_iter()
        .filter(|d| {
            let mut applicable = sockets
                .iter()
                .filter(|s| {
                    !matches!(d, Datum::Backlog | Datum::AcceptQueue) || s.state == TcpState::Listen
                })
                .peekable();
            applicable.peek().is_some() && applicable.all(|s| s.lacks(*d))
        })
        .fold(Missing::NONE, Missing::with)
}

fn is_tabular(l: &Line) -> bool {
    matches!(l, Line::Row(_) | Line::Bad(_) | Line::Other(_))
}

#[allow(clippy::too_many_arguments)]
fn notes(
    parser_notes: &[String],
    sockets: &[Socket],
    problems: &[Problem],
    others: &BTreeMap<String, u64>,
    opts: &Options,
    encoding: text::Encoding,
    format: Format,
    snap: &Snapshot,
) -> Vec<String> {
    let origin = snap.source.import();
    let mut notes = vec![format!(
        "imported {} socket(s) from {} as {} ({}{}); time unknown: {} is used",
        sockets.len(),
        opts.file,
        origin.map_or(format.name(), |o| o.format.as_str()),
        snap.source.system().display_name(),
        if encoding == text::Encoding::Utf8 {
            String::new()
        } else {
            format!(", read as {}", encoding.name())
        },
        opts.taken_at_from
    )];
    let lacking: Missing = snap
        .missing
        .iter()
        .filter(|d| !matches!(d, Datum::TakenAt | Datum::Backlog | Datum::AcceptQueue))
        .fold(Missing::NONE, Missing::with);
    notes.push(format!(
        "not in this capture: {} — rules that need them say they could not run",
        lacking.describe()
    ));
    if snap.missing.contains(Datum::Backlog) && !snap.missing.contains(Datum::SendQ) {
        notes.push(
            "this format does not show listener backlogs: their Send-Q is shown as '-' and listen-overflow cannot judge them"
                .to_string(),
        );
    }
    notes.extend(parser_notes.iter().cloned());
    let hidden = sockets
        .iter()
        .filter(|s| s.lacks(Datum::Owners) && !snap.lacks(Datum::Owners))
        .count();
    if hidden > 0 {
        notes.push(format!(
            "{hidden} socket(s) show no owner although a process may hold them: the capturing tool could not see other users' processes (run it as root)"
        ));
    }
    if !others.is_empty() {
        let list: Vec<String> = others.iter().map(|(p, n)| format!("{p} ({n})")).collect();
        notes.push(format!(
            "skipped {} row(s) of other protocols: {}",
            others.values().sum::<u64>(),
            list.join(", ")
        ));
    }
    for p in problems.iter().take(MAX_LISTED_PROBLEMS) {
        notes.push(format!("could not read {p}"));
    }
    if problems.len() > MAX_LISTED_PROBLEMS {
        notes.push(format!(
            "... and {} more unreadable line(s)",
            problems.len() - MAX_LISTED_PROBLEMS
        ));
    }
    notes
}

/// `s` cut to at most `max` characters, with `…` when cut.
fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Look a state up in the one table of spellings ([`crate::model::state::ALIASES`]), keeping
/// the original. Unknown spellings are an error for the line, never a guess.
pub(crate) fn state(word: &str) -> Result<(TcpState, String), String> {
    word.parse::<TcpState>()
        .map(|s| (s, word.to_string()))
        .map_err(|_| format!("unknown state '{word}'"))
}

/// A socket listed without an owner by a tool that said it could not see every process: its
/// owner is unknown — unless no process can hold it (TIME-WAIT, a request socket), or its inode
/// (when the capture has one) is 0.
pub(crate) fn owner_hidden(s: &mut Socket, inode_known: bool) {
    let never_held = matches!(
        s.state,
        TcpState::TimeWait | TcpState::SynRecv | TcpState::NewSynRecv
    );
    let unowned = if inode_known {
        s.inode == 0
    } else {
        never_held
    };
    if !unowned {
        s.missing = s.missing.with(Datum::Owners).with(Datum::Fd);
    }
}

/// The missing set of a row from a format that shows queues for connections but not for
/// listeners (BSD, AIX, Solaris; Linux net-tools lacks the backlog only).
pub(crate) fn listener_gaps(s: &mut Socket, gaps: &[Datum]) {
    if s.state == TcpState::Listen {
        for d in gaps {
            s.missing = s.missing.with(*d);
        }
    }
}
