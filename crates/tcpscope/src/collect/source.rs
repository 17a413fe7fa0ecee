//! Where sockets come from — netlink sock_diag in tcpscope's own network namespace, threads
//! living in other namespaces (`--netns`, `--all-netns`), the /proc/net/tcp fallback, or a
//! recording (`--from`: a snapshot, or a trace recording replayed as time, one step per poll,
//! for `top`) — behind one streaming call, so every command runs unchanged against a
//! recording in tests. A source lives as long as its collector: its sock_diag sockets and
//! namespace threads are opened once, and each poll takes a fresh header (time, counters).

use super::dump::stream_netlink;
use super::dump::StreamReport;
use super::netns::{self, NetnsScope, NsReader};
use super::query::Query;
use super::trace::recording;
use super::{kernel, netlink, procfs, replay};
use anyhow::{Context, Result};
use std::io;
use tcpscope_core::analyze::trace::{ReplayPosition, TraceCounts, TraceFilter, TraceReplay};
use tcpscope_core::analyze::tracking::Track;
use tcpscope_core::decode::inet_diag::SocketId;
use tcpscope_core::model::snapshot::{Host, Snapshot, SourceKind};
use tcpscope_core::model::socket::Netns;
use tcpscope_core::{Filter, Socket};

/// Where live sockets are read from (the user's `--source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LiveSource {
    /// netlink sock_diag, falling back to /proc/net/tcp if it is unavailable.
    #[default]
    Auto,
    /// netlink sock_diag only.
    Netlink,
    /// /proc/net/tcp and /proc/net/tcp6 only.
    Proc,
}

enum Backend {
    Netlink(netlink::DiagSocket),
    Proc,
    Replay(Box<Snapshot>),
    /// A trace recording replayed as time: each poll moves its clock one step.
    Trace {
        replay: Box<TraceReplay>,
        step_ms: u64,
    },
    /// Other network namespaces, each read by a thread living inside it.
    Netns {
        readers: Vec<NsReader>,
        scope: NetnsScope,
        /// A single named target is an error when unreadable; with --all-netns, a warning.
        all: bool,
    },
}

/// An opened source of sockets, and the header of the snapshot its current poll produces.
pub struct Source {
    backend: Backend,
    header: Snapshot,
    /// Notes that hold for every poll (how the source was opened).
    notes: Vec<String>,
    counters: bool,
    host: Host,
}

impl Source {
    /// Open `--from FILE` if given, else the live kernel in the namespaces `scope` names. A
    /// trace recording is replayed as time when `traces` allows (top), else refused.
    pub fn open(
        from: Option<replay::Input>,
        live: LiveSource,
        counters: bool,
        scope: &NetnsScope,
        traces: bool,
    ) -> Result<Source> {
        match from {
            Some(_) if *scope != NetnsScope::Current => anyhow::bail!(
                "--netns and --all-netns read the live kernel; a recording (--from) already carries each socket's namespace"
            ),
            Some(input) if traces && replay::is_trace(&input)? => Source::trace(input.path),
            Some(input) => Source::replay(&input),
            None if *scope == NetnsScope::Current => Source::live_current(live, counters),
            None => Source::live_in(live, counters, scope),
        }
    }

    fn live_in(choice: LiveSource, counters: bool, scope: &NetnsScope) -> Result<Source> {
        if choice == LiveSource::Proc {
            anyhow::bail!("--netns and --all-netns read sockets through netlink sock_diag; drop --source proc");
        }
        let all = *scope == NetnsScope::All;
        let (readers, notes) = open_readers(scope, all)?;
        let mut source = Source {
            backend: Backend::Netns {
                readers,
                scope: scope.clone(),
                all,
            },
            header: Snapshot::new(0, SourceKind::Netlink),
            notes,
            counters,
            host: kernel::host(),
        };
        source.begin_poll()?;
        Ok(source)
    }

    fn live_current(choice: LiveSource, counters: bool) -> Result<Source> {
        let (backend, kind, note) = match choice {
            LiveSource::Proc => (Backend::Proc, SourceKind::ProcNet, None),
            LiveSource::Netlink => (
                Backend::Netlink(netlink::DiagSocket::open()?),
                SourceKind::Netlink,
                None,
            ),
            LiveSource::Auto => match netlink::DiagSocket::open() {
                Ok(s) => (Backend::Netlink(s), SourceKind::Netlink, None),
                Err(e) => (
                    Backend::Proc,
                    SourceKind::ProcNet,
                    Some(format!(
                        "netlink sock_diag is not available here ({}); read /proc/net/tcp instead",
                        e.io_error()
                    )),
                ),
            },
        };
        let mut notes = Vec::new();
        if kind == SourceKind::ProcNet {
            notes.push(
                "/proc/net/tcp gives no backlog for listeners (their Send-Q shows '-'), no cookies and no tcp_info"
                    .to_string(),
            );
        }
        notes.extend(note);
        let mut source = Source {
            backend,
            header: Snapshot::new(0, kind),
            notes,
            counters,
            host: kernel::host(),
        };
        source.begin_poll()?;
        Ok(source)
    }

    /// Open a recording made with `--record` (or `ls --json`), or a capture of another tool.
    pub fn replay(input: &replay::Input) -> Result<Source> {
        let snap = replay::load(input)?;
        let header = snap.clone_without_sockets();
        Ok(Source {
            backend: Backend::Replay(Box::new(snap)),
            notes: Vec::new(),
            counters: false,
            host: header.host.clone(),
            header,
        })
    }

    /// Open a trace recording (`trace --record`), to replay as time; its clock is at the start
    /// until the first poll.
    pub fn trace(path: &std::path::Path) -> Result<Source> {
        let (header, lines) = recording::load(path)?;
        let replay = TraceReplay::new(&header, lines);
        let header = replay.header();
        Ok(Source {
            backend: Backend::Trace {
                replay: Box::new(replay),
                step_ms: 1000,
            },
            notes: Vec::new(),
            counters: false,
            host: header.host.clone(),
            header,
        })
    }

    /// For a replayed trace: how far each poll moves its clock.
    pub fn set_replay_step(&mut self, ms: u64) {
        if let Backend::Trace { step_ms, .. } = &mut self.backend {
            *step_ms = ms;
        }
    }

    /// For a replayed trace: the next poll shows the same time again (the filter changed).
    pub fn hold_replay_clock(&mut self) {
        if let Backend::Trace { replay, .. } = &mut self.backend {
            replay.hold();
        }
    }

    /// For a replayed trace: each socket's history from its traced changes (`None` for every
    /// other source, whose histories are the collector's tracker's).
    pub fn replay_tracks(&self, sockets: &[Socket]) -> Option<Vec<Option<Track>>> {
        match &self.backend {
            Backend::Trace { replay, .. } => Some(replay.tracks_of(sockets)),
            _ => None,
        }
    }

    /// For a replayed trace: where its clock is.
    pub fn replay_position(&self) -> Option<ReplayPosition> {
        match &self.backend {
            Backend::Trace { replay, .. } => Some(replay.position()),
            _ => None,
        }
    }

    /// For a replayed trace: the changes of the last poll's window that `filter` selects, or why
    /// they cannot be judged by it (`None` for every other source).
    pub fn replay_counts(&self, filter: &Filter) -> Option<Result<TraceCounts, String>> {
        let Backend::Trace { replay, .. } = &self.backend else {
            return None;
        };
        Some(
            TraceFilter::new(filter.clone(), &[])
                .map(|f| replay.counts(&f))
                .map_err(|e| format!("the filter: {e}")),
        )
    }

    /// Start a poll: a fresh header (time, counters). A recording keeps its own; a replayed
    /// trace moves its clock one step.
    pub fn begin_poll(&mut self) -> Result<()> {
        let kind = self.header.source.clone();
        let counters = match &mut self.backend {
            Backend::Replay(_) => return Ok(()),
            Backend::Trace { replay, step_ms } => {
                replay.step(*step_ms);
                self.header = replay.header();
                self.header.notes.extend(self.notes.iter().cloned());
                return Ok(());
            }
            _ if !self.counters => Default::default(),
            // One namespace: its own counters, read from inside it.
            Backend::Netns { readers, .. } if readers.len() == 1 => readers[0].counters()?,
            _ => kernel::counters(),
        };
        let mut header = Snapshot::new(kernel::now_unix_ms(), kind);
        header.host = self.host.clone();
        header.notes = self.notes.clone();
        header.kernel = counters;
        if let Backend::Netns { readers, .. } = &self.backend {
            if self.counters && readers.len() != 1 {
                header.notes.push(
                    "kernel counters and sysctls are those of tcpscope's own network namespace"
                        .to_string(),
                );
            }
        }
        self.header = header;
        Ok(())
    }

    /// Look for namespaces that appeared or went away since the source was opened (live
    /// `--all-netns`): threads of gone namespaces end, new ones start.
    pub fn refresh_namespaces(&mut self) -> Result<()> {
        let Backend::Netns {
            readers,
            scope,
            all,
            ..
        } = &mut self.backend
        else {
            return Ok(());
        };
        if *scope != NetnsScope::All {
            return Ok(());
        }
        let (targets, notes) = netns::resolve(scope)?;
        let mut old: Vec<NsReader> = std::mem::take(readers);
        for t in targets {
            match old
                .iter()
                .position(|r| r.target.netns.inode == t.netns.inode)
            {
                Some(i) => readers.push(old.swap_remove(i)),
                None => match NsReader::spawn(t) {
                    Ok(r) => readers.push(r),
                    Err(e) if *all => self.notes.push(format!("{e:#}")),
                    Err(e) => return Err(e),
                },
            }
        }
        // Opening notes are about the namespaces seen at the last look.
        self.notes.retain(|n| !n.contains("namespace of"));
        self.notes.extend(notes);
        super::limits::fold_namespace_notes(&mut self.notes);
        Ok(())
    }

    /// Add a note on how the snapshot was taken (kept in recordings and reports).
    pub fn add_note(&mut self, note: String) {
        self.notes.push(note.clone());
        self.header.notes.push(note);
    }

    /// The header of the current poll: time, host, source, notes, counters (no sockets).
    pub fn header(&self) -> &Snapshot {
        &self.header
    }

    /// True for a recording: its sockets already carry whatever owners were recorded, and the
    /// live /proc says nothing about them.
    pub fn is_replay(&self) -> bool {
        matches!(self.backend, Backend::Replay(_) | Backend::Trace { .. })
    }

    /// For a recording: whether any of its sockets carries owners (`None` for a live source).
    pub fn replay_has_owners(&self) -> Option<bool> {
        match &self.backend {
            Backend::Replay(snap) => Some(snap.sockets.iter().any(|s| !s.owners.is_empty())),
            Backend::Trace { replay, .. } => Some(replay.sockets().any(|s| !s.owners.is_empty())),
            _ => None,
        }
    }

    /// The namespaces a live multi-namespace source reads, described for people; empty for
    /// tcpscope's own namespace and recordings.
    pub fn namespace_labels(&self) -> Vec<String> {
        match &self.backend {
            Backend::Netns { readers, .. } => readers
                .iter()
                .map(|r| {
                    let label = netns::describe(&r.target.netns);
                    if r.target.current {
                        format!("{label} (tcpscope's own)")
                    } else {
                        label
                    }
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// True when sockets come from more than one network namespace (show a Netns column).
    pub fn spans_namespaces(&self) -> bool {
        matches!(self.backend, Backend::Netns { all: true, .. })
    }

    /// The socket the kernel has now at exactly `id`'s addresses, in each namespace the source
    /// reads (labelled with it): one request per namespace, answered from the kernel's hash
    /// tables, not a dump. A listener the kernel falls back to for a gone connection is not
    /// it. Nothing for /proc/net/tcp and recordings, which cannot be asked about one socket.
    pub fn lookup(&mut self, id: &SocketId) -> Result<Vec<Socket>> {
        let is_it = |s: &Socket| s.peer == id.peer && s.local.port == id.local.port;
        match &mut self.backend {
            Backend::Netlink(sock) => Ok(sock
                .lookup(id, false)
                .context("looking a socket up through netlink")?
                .into_iter()
                .filter(is_it)
                .collect()),
            Backend::Netns { readers, all, .. } => {
                // Every namespace is asked before any answer is awaited: they work in parallel.
                let asked: Vec<_> = readers.iter().map(|r| r.lookup(id)).collect();
                let mut found = Vec::new();
                for answer in asked {
                    let reply = answer.and_then(|rx| {
                        rx.recv()
                            .map_err(|_| anyhow::anyhow!("a namespace's thread stopped"))?
                    });
                    match reply {
                        Ok(s) => found.extend(s.filter(is_it)),
                        Err(_) if *all => {} // a namespace that went away
                        Err(e) => return Err(e),
                    }
                }
                Ok(found)
            }
            Backend::Proc | Backend::Replay(_) | Backend::Trace { .. } => Ok(Vec::new()),
        }
    }

    /// The namespace with this inode among those the source reads, labelled (name, a process
    /// in it, its container).
    pub fn namespace(&self, inode: u64) -> Option<&Netns> {
        match &self.backend {
            Backend::Netns { readers, .. } => readers
                .iter()
                .map(|r| &r.target.netns)
                .find(|n| n.inode == inode),
            _ => None,
        }
    }

    /// Hand every socket the query selects to `each`, in source order.
    pub fn stream(
        &mut self,
        query: &Query,
        each: &mut dyn FnMut(Socket) -> io::Result<()>,
    ) -> Result<StreamReport> {
        let mut report = StreamReport::default();
        let ephemeral = query.ephemeral(!self.is_replay());
        let mut kept = 0u64;
        let mut pass = |s: Socket| -> io::Result<()> {
            if query.keeps(&s, ephemeral) {
                kept += 1;
                each(s)
            } else {
                Ok(())
            }
        };
        match &mut self.backend {
            Backend::Netlink(sock) => {
                report = stream_netlink(sock, query, &mut pass)?;
            }
            Backend::Netns { readers, all, .. } => {
                for reader in readers.iter() {
                    match reader.stream(query, &mut pass) {
                        Ok(r) => {
                            report.sockets += r.sockets;
                            report.warnings.extend(r.warnings);
                        }
                        Err(e) if is_consumer_error(&e) => return Err(e),
                        Err(e) if *all => report.warnings.push(format!("{e:#}")),
                        Err(e) => return Err(e),
                    }
                }
            }
            Backend::Proc => {
                for family in &query.families {
                    let (socks, errors) = procfs::read_tcp_table(*family)?;
                    for s in socks.into_iter().filter(|s| query.states.contains(s.state)) {
                        pass(s)?;
                    }
                    for e in errors.into_iter().take(5) {
                        report
                            .warnings
                            .push(format!("skipped a line of /proc/net/tcp: {e}"));
                    }
                }
            }
            Backend::Replay(snap) => {
                for s in snap.sockets.iter().filter(|s| query.admits(s)) {
                    pass(s.clone())?;
                }
            }
            Backend::Trace { replay, .. } => {
                for s in replay.sockets().filter(|s| query.admits(s)) {
                    pass(s)?;
                }
            }
        }
        report.sockets = kept;
        Ok(report)
    }
}

/// One reader per namespace the scope names; with --all-netns, namespaces that cannot be read
/// become notes.
fn open_readers(scope: &NetnsScope, all: bool) -> Result<(Vec<NsReader>, Vec<String>)> {
    let (targets, mut notes) = netns::resolve(scope)?;
    let mut readers = Vec::with_capacity(targets.len());
    for t in targets {
        match NsReader::spawn(t) {
            Ok(r) => readers.push(r),
            Err(e) if all => notes.push(format!("{e:#}")),
            Err(e) => return Err(e),
        }
    }
    super::limits::fold_namespace_notes(&mut notes);
    Ok((readers, notes))
}

/// True when the error came from the consumer of the sockets (e.g. a closed stdout), which
/// must end the listing rather than be reported as an unreadable namespace.
pub fn is_consumer_error(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
