//! `--from FILE` (`-` for stdin): the one place that turns a file into a snapshot, so every
//! command runs without the live kernel — in tests, on another machine, from a bug report.
//!
//! The file is a tcpscope recording (`--record`, `ls --json`), read as it streams, or a capture of
//! another tool's text — `netstat`, `ss`, `Get-NetTCPConnection`, /proc/net/tcp, from any system
//! — imported by `tcpscope_core::decode::import` (docs/import.md). `--from-format` names the
//! format when detection guesses wrong. A capture carries no time: the file's modification time
//! (for standard input, the time it was read) becomes the snapshot's.
//!
//! A trace recording (`trace --record`) is not a snapshot: only `top` replays one, as time
//! (`source.rs`, [`is_trace`]); every other command refuses it here and says what to use.

use anyhow::{bail, Context, Result};
use std::io::{self, Read};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};
use tcpscope_core::decode::import::{self, Format};
use tcpscope_core::model::trace_recording::looks_like_trace;
use tcpscope_core::Snapshot;

/// What `--from-format` names: a tcpscope recording, or one family of captures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FromFormat {
    Recording,
    Capture(Format),
}

impl std::str::FromStr for FromFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "tcpscope" | "tcpscope-snapshot" | "recording" | "json" => Ok(FromFormat::Recording),
            _ => s
                .parse::<Format>()
                .map(FromFormat::Capture)
                .map_err(|e| format!("{e}, or tcpscope (a recording)")),
        }
    }
}

/// A file to read instead of the live kernel.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub path: &'a Path,
    pub format: Option<FromFormat>,
}

/// Bytes read before deciding between a recording and a capture.
const PEEK: usize = 64 * 1024;

pub fn load(input: &Input) -> Result<Snapshot> {
    let path = input.path;
    let stdin = path == Path::new("-");
    let mut reader: Box<dyn Read> = if stdin {
        Box::new(io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(path).with_context(|| {
            format!(
                "opening {}; give a recording (`tcpscope ls --record FILE`) or a netstat/ss capture",
                path.display()
            )
        })?)
    };
    let mut head = Vec::with_capacity(PEEK);
    (&mut reader)
        .take(PEEK as u64)
        .read_to_end(&mut head)
        .with_context(|| format!("reading {}", path.display()))?;
    if looks_like_trace(&head) && stdin {
        bail!(
            "standard input holds a trace recording (`tcpscope trace --record`), not a snapshot: \
             save it to a file and replay it as time with `tcpscope top --from FILE`, or list its \
             changes with `tcpscope trace --from -`"
        );
    }
    if looks_like_trace(&head) {
        bail!(
            "{path} is a trace recording (`tcpscope trace --record`), not a snapshot: replay it as \
             time with `tcpscope top --from {path}`, or list its changes with `tcpscope trace \
             --from {path}`; ls, summary, doctor, serve and release read snapshots (record one \
             with `tcpscope ls -p --record FILE`)",
            path = path.display()
        );
    }
    let recording = match input.format {
        Some(FromFormat::Recording) => true,
        Some(FromFormat::Capture(_)) => false,
        None => looks_like_json(&head),
    };
    if recording {
        return Snapshot::from_reader(io::Cursor::new(head).chain(reader))
            .with_context(|| format!("reading recording {}", path.display()));
    }
    reader
        .read_to_end(&mut head)
        .with_context(|| format!("reading {}", path.display()))?;
    let (taken_at_unix_ms, taken_at_from) = match modified_ms(path).filter(|_| !stdin) {
        Some(ms) => (ms, "the file's modification time".to_string()),
        None => (now_ms(), "the time it was read".to_string()),
    };
    let options = import::Options {
        format: match input.format {
            Some(FromFormat::Capture(f)) => Some(f),
            _ => None,
        },
        file: path.display().to_string(),
        taken_at_unix_ms,
        taken_at_from,
    };
    let imported = import::import(&head, &options)?;
    Ok(imported.snapshot)
}

/// True when `input` is a trace recording (`trace --record`) rather than a snapshot or a
/// capture: its first line is a trace header. Standard input is not looked at (it can be read
/// once only): a trace there is refused by [`load`].
pub fn is_trace(input: &Input) -> Result<bool> {
    if input.path == Path::new("-") || input.format.is_some() {
        return Ok(false);
    }
    let file = std::fs::File::open(input.path).with_context(|| {
        format!(
            "opening {}; give a recording (`tcpscope ls --record FILE`, `tcpscope trace --record \
             FILE`) or a netstat/ss capture",
            input.path.display()
        )
    })?;
    let mut head = Vec::with_capacity(PEEK);
    file.take(PEEK as u64)
        .read_to_end(&mut head)
        .with_context(|| format!("reading {}", input.path.display()))?;
    Ok(looks_like_trace(&head))
}

/// A recording is a JSON object: `{` first, after an optional UTF-8 BOM and white space.
fn looks_like_json(head: &[u8]) -> bool {
    let body = head.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(head);
    body.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
}

fn modified_ms(path: &Path) -> Option<u64> {
    let t = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(t.duration_since(UNIX_EPOCH).ok()?.as_millis() as u64)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_are_told_from_captures() {
        assert!(looks_like_json(b"\xEF\xBB\xBF  \n{\"format\""));
        assert!(!looks_like_json(b"Active Connections\r\n"));
        assert!(!looks_like_json(b""));
        assert_eq!("tcpscope".parse(), Ok(FromFormat::Recording));
        assert_eq!(
            "windows-netstat-ano".parse(),
            Ok(FromFormat::Capture(Format::WindowsNetstat))
        );
        assert!("cisco"
            .parse::<FromFormat>()
            .unwrap_err()
            .contains("linux-ss"));
    }
}
