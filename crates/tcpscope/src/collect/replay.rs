//! Loading a recorded snapshot (`--from FILE`, `-` for stdin) so every command can run without
//! the live kernel: in tests, on another machine, or from a bug report.

use anyhow::{Context, Result};
use std::path::Path;
use tcpscope_core::Snapshot;

pub fn load(path: &Path) -> Result<Snapshot> {
    let snap = if path == Path::new("-") {
        Snapshot::from_reader(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(path).with_context(|| {
            format!("opening recording {}; make one with `tcpscope ls --record FILE`", path.display())
        })?;
        Snapshot::from_reader(file)
    };
    snap.with_context(|| format!("reading recording {}", path.display()))
}
