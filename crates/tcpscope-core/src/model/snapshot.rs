//! A snapshot: every socket read at one moment, plus the kernel counters that explain them.
//!
//! This is also the recording format (`--record FILE`, `--from FILE`) and the document
//! `ls --json` prints, so one file can be replayed by every command. Time is data here:
//! `taken_at_unix_ms` is the `now` that rules use, never the wall clock of the replaying host.
//! [`SnapshotWriter`] streams the same document one socket at a time, in constant memory.

use crate::model::missing::{Datum, Missing};
pub use crate::model::origin::{ImportOrigin, Origin, System};
use crate::model::process::ProcessFacts;
use crate::model::socket::Socket;
use crate::model::state::TcpState;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// The `format` field of every recording.
pub const FORMAT: &str = "tcpscope-snapshot";
/// The current recording version. Readers accept this and older.
pub const VERSION: u32 = 1;

/// Which live source the sockets came from (see [`Origin`] for imports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// NETLINK_SOCK_DIAG, the normal path.
    #[default]
    Netlink,
    /// /proc/net/tcp and tcp6, the fallback (no cookies, no tcp_info).
    ProcNet,
    /// Rebuilt from a trace recording's state changes (`top --from TRACE`): addresses, states,
    /// owners and namespaces as traced; no queues, timers, tcp_info or inodes.
    Trace,
}

/// The host the snapshot was taken on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub kernel: String,
}

/// /proc/net/sockstat and sockstat6, TCP lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SockStat {
    /// All sockets of all protocols in use.
    pub sockets_used: u64,
    pub tcp_inuse: u64,
    /// Sockets closed by their program that the kernel still finishes (no owner).
    pub tcp_orphan: u64,
    /// TIME_WAIT mini sockets.
    pub tcp_tw: u64,
    pub tcp_alloc: u64,
    /// Memory used by TCP, in pages.
    pub tcp_mem_pages: u64,
    pub tcp6_inuse: u64,
}

/// Kernel-wide counters and settings that bear on socket states.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelCounters {
    #[serde(default)]
    pub sockstat: Option<SockStat>,
    /// The TcpExt section of /proc/net/netstat (ListenOverflows, TCPTimeWaitOverflow, ...).
    #[serde(default)]
    pub tcp_ext: BTreeMap<String, u64>,
    /// The Tcp section of /proc/net/snmp (ActiveOpens, EstabResets, RetransSegs, OutRsts, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tcp: BTreeMap<String, u64>,
    /// Sysctls by dotted name (`net.ipv4.tcp_fin_timeout` -> "60").
    #[serde(default)]
    pub sysctls: BTreeMap<String, String>,
}

/// Every socket read at one moment, with context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub format: String,
    pub version: u32,
    /// When the snapshot was taken, milliseconds since the Unix epoch.
    pub taken_at_unix_ms: u64,
    #[serde(default)]
    pub host: Host,
    /// Where the sockets came from: `"netlink"`, `"proc-net"`, or an import object.
    #[serde(default)]
    pub source: Origin,
    /// What this source could not tell (docs/json.md); see [`Snapshot::lacks`].
    #[serde(default, skip_serializing_if = "Missing::is_empty")]
    pub missing: Missing,
    /// Things the user should know about how the snapshot was taken (fallbacks, hidden data).
    #[serde(default)]
    pub notes: Vec<String>,
    #[serde(default)]
    pub kernel: KernelCounters,
    /// Facts about the processes that own sockets, by pid (filled when owners are attributed).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub processes: BTreeMap<u32, ProcessFacts>,
    /// Streamed by [`SnapshotWriter`] before `processes` and `notes`, which are known only at
    /// the end of a stream.
    pub sockets: Vec<Socket>,
}

/// Why a recording could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The JSON error is the source: it is printed once, after this message.
    #[error("not a tcpscope recording (record one with `tcpscope ls --record FILE`)")]
    Parse(#[from] serde_json::Error),
    #[error("not a tcpscope recording: format is '{0}', expected '{FORMAT}'")]
    Format(String),
    #[error("recording version {0} is newer than this tcpscope understands ({VERSION}); upgrade tcpscope")]
    TooNew(u32),
}

impl Snapshot {
    /// An empty snapshot taken at `taken_at_unix_ms`.
    pub fn new(taken_at_unix_ms: u64, source: impl Into<Origin>) -> Snapshot {
        let source = source.into();
        Snapshot {
            format: FORMAT.to_string(),
            version: VERSION,
            taken_at_unix_ms,
            host: Host::default(),
            missing: source.implied_missing(),
            source,
            notes: Vec::new(),
            kernel: KernelCounters::default(),
            processes: BTreeMap::new(),
            sockets: Vec::new(),
        }
    }

    /// Read a recording (the output of `--record` or `ls --json`).
    pub fn from_reader(reader: impl io::Read) -> Result<Snapshot, SnapshotError> {
        let mut snap: Snapshot = serde_json::from_reader(io::BufReader::new(reader))?;
        if snap.format != FORMAT {
            return Err(SnapshotError::Format(snap.format));
        }
        if snap.version > VERSION {
            return Err(SnapshotError::TooNew(snap.version));
        }
        snap.mark_implied_gaps();
        Ok(snap)
    }

    /// True when this snapshot's source could not tell `datum` (for every socket, or — for the
    /// listener data — for the listeners).
    pub fn lacks(&self, datum: Datum) -> bool {
        self.missing.contains(datum) || self.source.implied_missing().contains(datum)
    }

    /// Make what the source implies explicit on the snapshot and on each socket: recordings made
    /// before `missing` existed (a `proc-net` one has listeners with a backlog of "0") read as
    /// what they are.
    pub fn mark_implied_gaps(&mut self) {
        let implied = self.source.implied_missing();
        self.missing = self.missing.union(implied);
        if implied.contains(Datum::Backlog) {
            for s in self
                .sockets
                .iter_mut()
                .filter(|s| s.state == TcpState::Listen)
            {
                s.missing = s.missing.with(Datum::Backlog);
            }
        }
    }

    /// Write the whole snapshot as one JSON document.
    pub fn write_json(&self, out: impl Write) -> io::Result<()> {
        let mut w = SnapshotWriter::start(out, self)?;
        for s in &self.sockets {
            w.socket(s)?;
        }
        w.finish(&self.processes, &self.notes).map(drop)
    }
}

/// Streams a snapshot document: the header first, then one socket at a time, then what is only
/// known at the end (the facts about owning processes, and the notes). Memory stays constant
/// however many sockets pass through. Readers do not depend on the order of fields.
pub struct SnapshotWriter<W: Write> {
    out: W,
    first: bool,
}

/// The fields written before the sockets.
#[derive(Serialize)]
struct HeaderOut<'a> {
    format: &'a str,
    version: u32,
    taken_at_unix_ms: u64,
    host: &'a Host,
    source: &'a Origin,
    #[serde(skip_serializing_if = "Missing::is_empty")]
    missing: Missing,
    kernel: &'a KernelCounters,
}

impl<W: Write> SnapshotWriter<W> {
    /// Write the header's time, host, source and counters, and open the socket list. Its notes
    /// and process facts are written by [`SnapshotWriter::finish`].
    pub fn start(mut out: W, header: &Snapshot) -> io::Result<SnapshotWriter<W>> {
        let text = serde_json::to_string(&HeaderOut {
            format: &header.format,
            version: header.version,
            taken_at_unix_ms: header.taken_at_unix_ms,
            host: &header.host,
            source: &header.source,
            missing: header.missing,
            kernel: &header.kernel,
        })
        .map_err(io::Error::other)?;
        let open = text
            .strip_suffix('}')
            .ok_or_else(|| io::Error::other("snapshot header is not a JSON object"))?;
        out.write_all(open.as_bytes())?;
        out.write_all(b",\"sockets\":[")?;
        Ok(SnapshotWriter { out, first: true })
    }

    /// Append one socket.
    pub fn socket(&mut self, socket: &Socket) -> io::Result<()> {
        self.out
            .write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        serde_json::to_writer(&mut self.out, socket).map_err(io::Error::from)
    }

    /// Close the socket list, write the process facts and notes, close the document and hand
    /// back the writer.
    pub fn finish(
        mut self,
        processes: &BTreeMap<u32, ProcessFacts>,
        notes: &[String],
    ) -> io::Result<W> {
        self.out.write_all(b"\n]")?;
        if !processes.is_empty() {
            self.out.write_all(b",\"processes\":")?;
            serde_json::to_writer(&mut self.out, processes)?;
        }
        self.out.write_all(b",\"notes\":")?;
        serde_json::to_writer(&mut self.out, notes)?;
        self.out.write_all(b"}\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl Snapshot {
    /// Everything but the sockets: the header of a streamed document or a replayed source.
    pub fn clone_without_sockets(&self) -> Snapshot {
        Snapshot {
            format: self.format.clone(),
            version: self.version,
            taken_at_unix_ms: self.taken_at_unix_ms,
            host: self.host.clone(),
            source: self.source.clone(),
            missing: self.missing,
            notes: self.notes.clone(),
            kernel: self.kernel.clone(),
            processes: self.processes.clone(),
            sockets: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::socket::{Endpoint, Family, Socket};
    use crate::model::state::TcpState;

    fn sock(port: u16) -> Socket {
        Socket {
            send_q: 128,
            uid: 1000,
            inode: 42,
            cookie: 7,
            ..Socket::new(
                TcpState::Listen,
                Family::Inet,
                Endpoint::new("127.0.0.1".parse().unwrap(), port),
                Endpoint::new("0.0.0.0".parse().unwrap(), 0),
            )
        }
    }

    #[test]
    fn streamed_document_reads_back() {
        let mut snap = Snapshot::new(1_700_000_000_000, SourceKind::Netlink);
        snap.notes.push("a note".into());
        snap.sockets = vec![sock(80), sock(443)];
        let who = crate::model::process::ProcessIdentity::named("srv");
        snap.processes
            .insert(7, crate::model::process::ProcessFacts::new(7, who));
        let mut buf = Vec::new();
        snap.write_json(&mut buf).unwrap();
        let back = Snapshot::from_reader(&buf[..]).unwrap();
        assert_eq!(back, snap);

        let empty = Snapshot::new(5, SourceKind::ProcNet);
        let mut buf = Vec::new();
        empty.write_json(&mut buf).unwrap();
        assert_eq!(Snapshot::from_reader(&buf[..]).unwrap(), empty);
    }

    #[test]
    fn rejects_other_documents_with_advice() {
        let err = Snapshot::from_reader(&b"[1,2]"[..]).unwrap_err();
        assert!(err.to_string().contains("--record"), "{err}");
        // Regression (issue 11, defect 7): the cause was printed twice, once in the message
        // and once as its source.
        let cause = std::error::Error::source(&err)
            .expect("the JSON error")
            .to_string();
        assert!(!err.to_string().contains(&cause), "{err} / {cause}");
        let err = Snapshot::from_reader(
            &br#"{"format":"x","version":1,"taken_at_unix_ms":0,"sockets":[]}"#[..],
        )
        .unwrap_err();
        assert!(err.to_string().contains("format is 'x'"), "{err}");
    }
}
