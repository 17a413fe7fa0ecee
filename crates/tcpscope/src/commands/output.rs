//! Shared plumbing of the commands: buffered stdout, the optional `--record` writer, warnings on
//! stderr, and the state-selection words (`state NAME... exclude NAME...`).

use crate::collect::{Source, StreamReport};
use anyhow::{bail, Context, Result};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use tcpscope_core::snapshot::SnapshotWriter;
use tcpscope_core::state::parse_state_or_group;
use tcpscope_core::{Family, Socket, StateSet};

/// Standard output, buffered in large blocks (one write syscall per 64 KiB).
pub fn stdout() -> BufWriter<io::StdoutLock<'static>> {
    BufWriter::with_capacity(64 * 1024, io::stdout().lock())
}

/// The families selected by -4 / -6 (both when neither is given).
pub fn families(ipv4: bool, ipv6: bool) -> Vec<Family> {
    match (ipv4, ipv6) {
        (true, false) => vec![Family::Inet],
        (false, true) => vec![Family::Inet6],
        _ => vec![Family::Inet, Family::Inet6],
    }
}

/// Parse `state NAME... exclude NAME...` into a state set. With no words, every state.
pub fn parse_state_words(words: &[String]) -> Result<StateSet> {
    // ss accepts one quoted string as well as separate words.
    let words: Vec<&str> = words.iter().flat_map(|w| w.split_whitespace()).collect();
    let mut include = StateSet::EMPTY;
    let mut exclude = StateSet::EMPTY;
    let mut mode: Option<bool> = None;
    for w in words {
        match w.to_ascii_lowercase().as_str() {
            "state" => mode = Some(true),
            "exclude" | "excl" => mode = Some(false),
            _ => {
                let Some(inc) = mode else {
                    bail!("unexpected '{w}' in the filter: start with `state NAME` or `exclude NAME`, e.g. `tcpscope ls state close-wait`");
                };
                let set = parse_state_or_group(w).map_err(|e| anyhow::anyhow!("{e}"))?;
                if inc {
                    include = include.union(set);
                } else {
                    exclude = exclude.union(set);
                }
            }
        }
    }
    if include.is_empty() {
        include = StateSet::ALL;
    }
    Ok(include.intersect(exclude.complement()))
}

/// The `--record FILE` writer, streaming the snapshot as sockets pass.
pub struct Recorder {
    writer: Option<SnapshotWriter<BufWriter<File>>>,
}

impl Recorder {
    pub fn open(path: Option<&Path>, source: &Source) -> Result<Recorder> {
        let Some(path) = path else {
            return Ok(Recorder { writer: None });
        };
        let file = File::create(path)
            .with_context(|| format!("creating recording {}", path.display()))?;
        let writer = SnapshotWriter::start(BufWriter::new(file), source.header())?;
        Ok(Recorder {
            writer: Some(writer),
        })
    }

    pub fn socket(&mut self, s: &Socket) -> io::Result<()> {
        match &mut self.writer {
            Some(w) => w.socket(s),
            None => Ok(()),
        }
    }

    pub fn finish(self) -> Result<()> {
        if let Some(w) = self.writer {
            w.finish().context("writing the recording")?;
        }
        Ok(())
    }
}

/// Tell the user, on stderr, what they should know about how the sockets were read.
pub fn report_notes(source: &Source, report: &StreamReport) {
    let mut err = io::stderr().lock();
    for n in &source.header().notes {
        let _ = writeln!(err, "tcpscope: note: {n}");
    }
    for w in &report.warnings {
        let _ = writeln!(err, "tcpscope: warning: {w}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcpscope_core::TcpState;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn state_words() {
        assert_eq!(parse_state_words(&[]).unwrap(), StateSet::ALL);
        let s = parse_state_words(&words("state close-wait TIME_WAIT")).unwrap();
        assert_eq!(s, StateSet::of(&[TcpState::CloseWait, TcpState::TimeWait]));
        let s = parse_state_words(&["state connected exclude established".into()]).unwrap();
        assert!(!s.contains(TcpState::Established) && s.contains(TcpState::CloseWait));
        let s = parse_state_words(&words("exclude time-wait")).unwrap();
        assert!(!s.contains(TcpState::TimeWait) && s.contains(TcpState::Listen));
        assert!(parse_state_words(&words("close-wait")).is_err());
        assert!(parse_state_words(&words("state bogus")).is_err());
    }
}
