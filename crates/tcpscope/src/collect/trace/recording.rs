//! `trace --record FILE` and `trace --from FILE`: a trace saved as JSON lines and replayed.
//!
//! The file holds what the live trace concluded, in order — every change with its owner, model
//! check and internal facts (socket address, CPU, raw flags; the serde form of a
//! `Transition`), destroy records (cookies), lost-record notices, the bytes found for finished
//! connections — between a header line and an end line. Replaying runs the same filter,
//! lifetimes and output as a live trace, so `--from rec --lifetimes 'sport = :80'` works on a
//! recording made with neither; `top --from rec` replays it as time (`source.rs`). The format's
//! types are core's (`model::trace_recording`), so pure code and its tests read it too.

use anyhow::{bail, Context, Result};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

pub use tcpscope_core::model::trace_recording::{Header, Line, FORMAT, VERSION};

/// Writes a recording line by line.
pub struct Recorder {
    out: BufWriter<File>,
    path: String,
}

impl Recorder {
    pub fn create(path: &Path, header: Header) -> Result<Recorder> {
        let file =
            File::create(path).with_context(|| format!("creating recording {}", path.display()))?;
        let mut r = Recorder {
            out: BufWriter::new(file),
            path: path.display().to_string(),
        };
        r.line(&Line::Header(header))?;
        Ok(r)
    }

    pub fn line(&mut self, line: &Line) -> Result<()> {
        serde_json::to_writer(&mut self.out, line)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"))
            .with_context(|| format!("writing recording {}", self.path))
    }

    pub fn finish(mut self, ended_unix_ns: u64) -> Result<()> {
        self.line(&Line::End { ended_unix_ns })?;
        self.out
            .flush()
            .with_context(|| format!("writing recording {}", self.path))
    }
}

/// Read a whole recording ('-' is standard input).
pub fn load(path: &Path) -> Result<(Header, Vec<Line>)> {
    let reader: Box<dyn BufRead> = if path == Path::new("-") {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        Box::new(BufReader::new(File::open(path).with_context(|| {
            format!("opening recording {}", path.display())
        })?))
    };
    let mut header = None;
    let mut lines = Vec::new();
    for (n, text) in reader.lines().enumerate() {
        let text = text.with_context(|| format!("reading {}", path.display()))?;
        if text.trim().is_empty() {
            continue;
        }
        let line: Line = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} line {}: not a trace recording line (make one with `tcpscope trace --record FILE`)",
                path.display(),
                n + 1
            )
        })?;
        match line {
            Line::Header(h) => {
                if h.format != FORMAT || h.version > VERSION {
                    bail!(
                        "{} is a {} recording of version {}; this tcpscope reads {FORMAT} up to version {VERSION}",
                        path.display(),
                        h.format,
                        h.version
                    );
                }
                header = Some(h);
            }
            other => lines.push(other),
        }
    }
    let Some(header) = header else {
        bail!(
            "{} has no trace header line: not a `tcpscope trace --record` file (snapshots from ls --record are replayed by ls, summary and doctor)",
            path.display()
        );
    };
    Ok((header, lines))
}
