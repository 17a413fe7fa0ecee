//! `--record FILE`: the snapshot a command reads, streamed to a file as sockets pass, in the
//! format `--from` reads back (docs/json.md). Process facts and notes, known only at the end,
//! close the document.

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use tcpscope_core::model::process::ProcessFacts;
use tcpscope_core::model::snapshot::SnapshotWriter;
use tcpscope_core::{Snapshot, Socket};

/// The recording being written, or nothing when `--record` was not given.
pub struct Recorder {
    writer: Option<(PathBuf, SnapshotWriter<BufWriter<File>>)>,
}

impl Recorder {
    /// Start a recording with `header`'s time, host and counters.
    pub fn open(path: Option<&Path>, header: &Snapshot) -> Result<Recorder> {
        let Some(path) = path else {
            return Ok(Recorder { writer: None });
        };
        let file = File::create(path).with_context(|| {
            format!(
                "creating recording {} (check the directory exists and is writable)",
                path.display()
            )
        })?;
        let writer = SnapshotWriter::start(BufWriter::new(file), header)
            .with_context(|| format!("writing recording {}", path.display()))?;
        Ok(Recorder {
            writer: Some((path.to_path_buf(), writer)),
        })
    }

    /// True when a recording is being written.
    pub fn is_on(&self) -> bool {
        self.writer.is_some()
    }

    pub fn socket(&mut self, s: &Socket) -> io::Result<()> {
        match &mut self.writer {
            Some((path, w)) => w.socket(s).map_err(|e| named(path, e)),
            None => Ok(()),
        }
    }

    /// Close the document with the process facts and notes.
    pub fn finish(self, processes: &BTreeMap<u32, ProcessFacts>, notes: &[String]) -> Result<()> {
        if let Some((path, w)) = self.writer {
            w.finish(processes, notes)
                .map_err(|e| named(&path, e))
                .with_context(|| format!("writing recording {}", path.display()))?;
        }
        Ok(())
    }
}

/// An I/O error that says which recording it happened to (a full disk must name the file).
fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("recording {}: {e}", path.display()))
}
