//! Shared plumbing of the commands: buffered stdout, the optional `--record` writer, warnings on
//! stderr, and parsing the filter (the ss language, `tcpscope_core::analyze::filter`).

use crate::cli::InputArgs;
use crate::collect::netns::NetnsScope;
use crate::collect::resolve::SystemResolver;
use crate::collect::{Source, StreamReport};
use anyhow::{Context, Result};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::Arc;
use tcpscope_core::model::snapshot::SnapshotWriter;
use tcpscope_core::render::safe::terminal_safe;
use tcpscope_core::{Family, Filter, Snapshot, Socket};

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

/// Parse the filter words (separate arguments or one quoted string, as in ss).
pub fn parse_filter(words: &[String]) -> Result<Filter> {
    Filter::from_args(words, &SystemResolver)
        .map_err(|e| anyhow::anyhow!("{e}\nthe filter language is described in docs/filter.md"))
}

/// The filter as the query carries it: `None` when it selects everything.
pub fn query_filter(filter: &Filter) -> Option<Arc<Filter>> {
    (!filter.is_all()).then(|| Arc::new(filter.clone()))
}

/// The final check of conditions on owning processes (pid, comm, container), made once owners
/// are attached — or known to be absent: the collector can only pre-filter those conditions.
pub fn owners_match(filter: &Filter, s: &Socket) -> bool {
    !filter.needs_owners() || filter.matches(s)
}

/// A note when owner conditions meet a recording that holds no owners: they can match nothing.
pub fn ownerless_recording_note(filter: &Filter, source: &Source, snap: &Snapshot) -> Vec<String> {
    if filter.needs_owners()
        && source.is_replay()
        && snap.sockets.iter().all(|s| s.owners.is_empty())
    {
        vec!["this recording holds no owning processes (record with `tcpscope ls -p --record FILE`), \
              so pid, comm, user and container conditions match nothing"
            .to_string()]
    } else {
        Vec::new()
    }
}

/// Print notes (e.g. on owners that could not be seen) on stderr, terminal-safe: a note can
/// quote a recording made elsewhere.
pub fn print_notes(notes: &[String]) {
    let mut err = io::stderr().lock();
    for n in notes {
        let _ = writeln!(err, "tcpscope: note: {}", terminal_safe(n));
    }
}

/// Open the source the input options name: a recording (`--from`), or the live kernel in the
/// namespaces of `--netns` / `--all-netns`. Every command opens its sockets through this.
pub fn open_source(input: &InputArgs, counters: bool) -> Result<Source> {
    let scope = NetnsScope::from_args(input.netns.as_deref(), input.all_netns)?;
    Source::open_in(input.from.as_deref(), input.source.into(), counters, &scope)
}

/// The `--record FILE` writer, streaming the snapshot as sockets pass. Its errors name the file.
pub struct Recorder {
    writer: Option<SnapshotWriter<BufWriter<File>>>,
    path: std::path::PathBuf,
}

impl Recorder {
    pub fn open(path: Option<&Path>, source: &Source) -> Result<Recorder> {
        Recorder::open_with_header(path, source.header())
    }

    /// Open with an explicit header (e.g. one that carries notes added after reading).
    pub fn open_with_header(
        path: Option<&Path>,
        header: &tcpscope_core::Snapshot,
    ) -> Result<Recorder> {
        let Some(path) = path else {
            return Ok(Recorder {
                writer: None,
                path: Default::default(),
            });
        };
        let file =
            File::create(path).with_context(|| format!("creating recording {}", path.display()))?;
        let writer = SnapshotWriter::start(BufWriter::new(file), header)
            .with_context(|| format!("writing recording {}", path.display()))?;
        Ok(Recorder {
            writer: Some(writer),
            path: path.to_path_buf(),
        })
    }

    pub fn socket(&mut self, s: &Socket) -> io::Result<()> {
        match &mut self.writer {
            Some(w) => w
                .socket(s)
                .map_err(|e| self::recording_error(&self.path, e)),
            None => Ok(()),
        }
    }

    pub fn finish(self) -> Result<()> {
        if let Some(w) = self.writer {
            w.finish()
                .with_context(|| format!("writing recording {}", self.path.display()))?;
        }
        Ok(())
    }
}

/// An error writing the recording, naming it (its kind kept: a closed pipe stays one).
fn recording_error(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        format!("writing recording {}: {e}", path.display()),
    )
}

/// Tell the user, on stderr, what they should know about how the sockets were read.
pub fn report_notes(source: &Source, report: &StreamReport) {
    let mut err = io::stderr().lock();
    for n in &source.header().notes {
        let _ = writeln!(err, "tcpscope: note: {}", terminal_safe(n));
    }
    for w in &report.warnings {
        let _ = writeln!(err, "tcpscope: warning: {}", terminal_safe(w));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcpscope_core::{StateSet, TcpState};

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn state_words_still_work() {
        assert_eq!(
            parse_filter(&[]).unwrap().states(),
            StateSet::ALL.without(TcpState::BoundInactive)
        );
        let s = parse_filter(&words("state close-wait state TIME_WAIT"))
            .unwrap()
            .states();
        assert_eq!(s, StateSet::of(&[TcpState::CloseWait, TcpState::TimeWait]));
        let s = parse_filter(&["state connected exclude established".into()])
            .unwrap()
            .states();
        assert!(!s.contains(TcpState::Established) && s.contains(TcpState::CloseWait));
        let s = parse_filter(&words("exclude time-wait")).unwrap().states();
        assert!(!s.contains(TcpState::TimeWait) && s.contains(TcpState::Listen));
        assert!(parse_filter(&words("close-wait")).is_err());
        assert!(parse_filter(&words("state bogus")).is_err());
    }

    #[test]
    fn separate_words_and_one_string_are_the_same() {
        let a = parse_filter(&words("sport = :22 or dport = :22")).unwrap();
        let b = parse_filter(&["sport = :22 or dport = :22".into()]).unwrap();
        assert_eq!(a, b);
    }
}
