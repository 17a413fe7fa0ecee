//! Everything that reads the system (or a recording) and returns data: the impure half of the
//! collect -> model -> analyze -> present flow. Nothing here prints.
//!
//! [`Source`] hides where sockets come from — netlink sock_diag, the /proc/net/tcp fallback, or
//! a recorded snapshot (`--from`) — behind one streaming call, so every command runs unchanged
//! against a recording in tests.

pub mod kernel;
pub mod netlink;
pub mod procfs;
pub mod replay;

use anyhow::{Context, Result};
use std::io;
use tcpscope_core::inet_diag::Request;
use tcpscope_core::snapshot::{Snapshot, Source as SourceKind};
use tcpscope_core::{Family, Socket, StateSet};

/// Which sockets to read. Everything here is applied by the kernel on the live path and in user
/// space on the others, so results do not depend on the source.
#[derive(Debug, Clone)]
pub struct Query {
    pub families: Vec<Family>,
    pub states: StateSet,
    /// Ask for tcp_info (costs ~20% more on the live path).
    pub want_info: bool,
    /// A compiled kernel filter program (INET_DIAG_REQ_BYTECODE), if one applies.
    pub bytecode: Option<Vec<u8>>,
}

impl Query {
    pub fn all() -> Query {
        Query {
            families: vec![Family::Inet, Family::Inet6],
            states: StateSet::ALL,
            want_info: false,
            bytecode: None,
        }
    }

    /// True when `s` passes the parts of the query a kernel would apply.
    pub fn admits(&self, s: &Socket) -> bool {
        self.families.contains(&s.family) && self.states.contains(s.state)
    }
}

/// The user's choice of live source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum LiveSource {
    /// netlink sock_diag, falling back to /proc/net/tcp if it is unavailable.
    #[default]
    Auto,
    /// netlink sock_diag only.
    Netlink,
    /// /proc/net/tcp and /proc/net/tcp6 only (no cookies, no tcp_info, slower).
    Proc,
}

enum Backend {
    Netlink(netlink::DiagSocket),
    Proc,
    Replay(Snapshot),
}

/// An opened source of sockets, and the header of the snapshot it produces.
pub struct Source {
    backend: Backend,
    header: Snapshot,
}

/// What a stream saw besides its sockets.
#[derive(Debug, Default)]
pub struct StreamReport {
    pub sockets: u64,
    /// Things to tell the user on stderr (interrupted dumps, undecodable records).
    pub warnings: Vec<String>,
}

impl Source {
    /// Open the live kernel. `counters` also reads /proc/net counters and sysctls into the header
    /// (for summaries and recordings; skipped for plain listings).
    pub fn live(choice: LiveSource, counters: bool) -> Result<Source> {
        let taken_at = kernel::now_unix_ms();
        let (backend, kind, note) = match choice {
            LiveSource::Proc => (Backend::Proc, SourceKind::ProcNet, None),
            LiveSource::Netlink => (
                Backend::Netlink(netlink::DiagSocket::open()?),
                SourceKind::Netlink,
                None,
            ),
            LiveSource::Auto => match netlink::DiagSocket::open() {
                Ok(s) => (Backend::Netlink(s), SourceKind::Netlink, None),
                Err(e) => (Backend::Proc, SourceKind::ProcNet, Some(e.to_string())),
            },
        };
        let mut header = Snapshot::new(taken_at, kind);
        header.notes.extend(note);
        header.host = kernel::host();
        if counters {
            header.kernel = kernel::counters();
        }
        Ok(Source { backend, header })
    }

    /// Open a recording made with `--record` (or `ls --json`).
    pub fn replay(path: &std::path::Path) -> Result<Source> {
        let snap = replay::load(path)?;
        let mut header = snap.clone();
        header.sockets = Vec::new();
        Ok(Source {
            backend: Backend::Replay(snap),
            header,
        })
    }

    /// Open `--from FILE` if given, else the live kernel.
    pub fn open(from: Option<&std::path::Path>, live: LiveSource, counters: bool) -> Result<Source> {
        match from {
            Some(path) => Source::replay(path),
            None => Source::live(live, counters),
        }
    }

    /// The snapshot header: time, host, source, notes, counters (no sockets).
    pub fn header(&self) -> &Snapshot {
        &self.header
    }

    /// Hand every socket the query selects to `each`, in source order.
    pub fn stream(
        &mut self,
        query: &Query,
        each: &mut dyn FnMut(Socket) -> io::Result<()>,
    ) -> Result<StreamReport> {
        let mut report = StreamReport::default();
        match &mut self.backend {
            Backend::Netlink(sock) => {
                for family in &query.families {
                    let req = Request {
                        family: *family,
                        states: query.states.kernel_request_mask(),
                        want_info: query.want_info,
                        bytecode: query.bytecode.clone(),
                        seq: 0,
                    };
                    let stats = match sock.dump(&req, each) {
                        Ok(stats) => stats,
                        Err(netlink::DumpError::Consumer(e)) => return Err(e.into()),
                        Err(e) => return Err(e).context("listing sockets through netlink"),
                    };
                    report.sockets += stats.sockets;
                    if stats.interrupted {
                        report.warnings.push(format!(
                            "the kernel's {} socket table changed during the dump; some sockets may be missing or repeated",
                            family.name()
                        ));
                    }
                    for why in stats.skipped {
                        report.warnings.push(format!("skipped a socket record: {why}"));
                    }
                }
            }
            Backend::Proc => {
                for family in &query.families {
                    let (socks, errors) = procfs::read_tcp_table(*family)?;
                    for s in socks.into_iter().filter(|s| query.states.contains(s.state)) {
                        report.sockets += 1;
                        each(s)?;
                    }
                    for e in errors.into_iter().take(5) {
                        report.warnings.push(format!("skipped a line of /proc/net/tcp: {e}"));
                    }
                }
            }
            Backend::Replay(snap) => {
                for s in snap.sockets.iter().filter(|s| query.admits(s)) {
                    report.sockets += 1;
                    each(s.clone())?;
                }
            }
        }
        Ok(report)
    }

    /// Read everything the query selects into a full snapshot.
    pub fn snapshot(&mut self, query: &Query) -> Result<(Snapshot, StreamReport)> {
        let mut sockets = Vec::new();
        let report = self.stream(query, &mut |s| {
            sockets.push(s);
            Ok(())
        })?;
        let mut snap = self.header.clone();
        snap.sockets = sockets;
        Ok((snap, report))
    }
}
