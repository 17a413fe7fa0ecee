//! Everything that reads the system (or a recording) and returns data: the impure half of the
//! collect -> model -> analyze -> present flow. Nothing here prints.
//!
//! [`Source`] hides where sockets come from — netlink sock_diag, the /proc/net/tcp fallback, or
//! a recorded snapshot (`--from`) — behind one streaming call, so every command runs unchanged
//! against a recording in tests.

pub mod attribute;
pub mod kernel;
pub mod netlink;
pub mod netns;
pub mod owner_details;
pub mod owners;
pub mod process;
pub mod procfs;
pub mod replay;
pub mod resolve;

use anyhow::{Context, Result};
use std::io;
use std::sync::Arc;
use tcpscope_core::analyze::filter::DEFAULT_EPHEMERAL;
use tcpscope_core::decode::inet_diag::Request;
use tcpscope_core::model::snapshot::{Snapshot, SourceKind};
use tcpscope_core::{Family, Filter, Socket, StateSet};

/// Which sockets to read. Everything here is applied by the kernel on the live path where it can
/// be, and always in user space too, so results do not depend on the source.
#[derive(Debug, Clone)]
pub struct Query {
    pub families: Vec<Family>,
    pub states: StateSet,
    /// Ask for tcp_info (costs ~20% more on the live path).
    pub want_info: bool,
    /// Ask for socket memory (`ls -m`).
    pub want_memory: bool,
    /// The user's filter: compiled per family into INET_DIAG_REQ_BYTECODE on the live path, and
    /// evaluated in user space on every socket of every source.
    pub filter: Option<Arc<Filter>>,
    /// Send the compiled filter to the kernel (off with the hidden `--no-kernel-filter`, to check
    /// that user space alone gives the same answer).
    pub kernel_filter: bool,
}

impl Query {
    /// Every socket of both families, no tcp_info, no filter.
    #[cfg(test)]
    pub fn all() -> Query {
        Query {
            families: vec![Family::Inet, Family::Inet6],
            states: StateSet::ALL,
            want_info: false,
            want_memory: false,
            filter: None,
            kernel_filter: true,
        }
    }

    /// True when `s` passes the parts of the query a kernel would apply.
    pub fn admits(&self, s: &Socket) -> bool {
        self.families.contains(&s.family) && self.states.contains(s.state)
    }

    /// True when `s` passes the filter as far as can be judged before owners are looked up
    /// (owner conditions are checked again by commands that attach owners).
    pub fn keeps(&self, s: &Socket, ephemeral: (u16, u16)) -> bool {
        match &self.filter {
            None => true,
            Some(f) if f.needs_owners() => f.may_match(s, ephemeral),
            Some(f) => f.matches_with(s, ephemeral),
        }
    }

    /// The ephemeral port range `autobound` conditions use: the live host's when it matters.
    fn ephemeral(&self, live: bool) -> (u16, u16) {
        match &self.filter {
            Some(f) if live && f.uses_autobound() => kernel::ephemeral_range(),
            _ => DEFAULT_EPHEMERAL,
        }
    }
}

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
    /// Other network namespaces, each read by a thread inside it (`--netns`, `--all-netns`).
    Netns {
        targets: Vec<netns::Target>,
        /// A single named target is an error when unreadable; with --all-netns, a warning.
        all: bool,
    },
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
    /// Open the live kernel in the namespaces `scope` names (see [`netns`]). Only netlink can
    /// read another namespace; the /proc fallback reads tcpscope's own.
    pub fn live_in(
        choice: LiveSource,
        counters: bool,
        scope: &netns::NetnsScope,
    ) -> Result<Source> {
        if *scope == netns::NetnsScope::Current {
            return Source::live_current(choice, counters);
        }
        if choice == LiveSource::Proc {
            anyhow::bail!("--netns and --all-netns read sockets through netlink sock_diag; drop --source proc");
        }
        let (targets, notes) = netns::resolve(scope)?;
        let mut header = Snapshot::new(kernel::now_unix_ms(), SourceKind::Netlink);
        header.notes.extend(notes);
        header.host = kernel::host();
        if counters {
            match targets.as_slice() {
                // One namespace: its own counters, read from inside it.
                [one] => header.kernel = netns::counters_in(one)?,
                _ => {
                    header.kernel = kernel::counters();
                    header.notes.push(
                        "kernel counters and sysctls are those of tcpscope's own network namespace"
                            .to_string(),
                    );
                }
            }
        }
        let all = *scope == netns::NetnsScope::All;
        Ok(Source {
            backend: Backend::Netns { targets, all },
            header,
        })
    }

    fn live_current(choice: LiveSource, counters: bool) -> Result<Source> {
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
        let mut header = Snapshot::new(taken_at, kind);
        if kind == SourceKind::ProcNet {
            header.notes.push(
                "/proc/net/tcp gives no backlog for listeners (their Send-Q shows 0), no cookies and no tcp_info"
                    .to_string(),
            );
        }
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
        let header = snap.clone_without_sockets();
        Ok(Source {
            backend: Backend::Replay(Box::new(snap)),
            header,
        })
    }

    /// Open `--from FILE` if given, else the live kernel in the namespaces `scope` names.
    pub fn open_in(
        from: Option<&std::path::Path>,
        live: LiveSource,
        counters: bool,
        scope: &netns::NetnsScope,
    ) -> Result<Source> {
        match from {
            Some(_) if *scope != netns::NetnsScope::Current => anyhow::bail!(
                "--netns and --all-netns read the live kernel; a recording (--from) already carries each socket's namespace"
            ),
            Some(path) => Source::replay(path),
            None => Source::live_in(live, counters, scope),
        }
    }

    /// Add a note on how the snapshot was taken (kept in recordings and reports).
    pub fn add_note(&mut self, note: String) {
        self.header.notes.push(note);
    }

    /// The snapshot header: time, host, source, notes, counters (no sockets).
    pub fn header(&self) -> &Snapshot {
        &self.header
    }

    /// True for a recording: its sockets already carry whatever owners were recorded, and the
    /// live /proc says nothing about them.
    pub fn is_replay(&self) -> bool {
        matches!(self.backend, Backend::Replay(_))
    }

    /// The namespaces a live multi-namespace source reads, described for people; empty for
    /// tcpscope's own namespace and recordings.
    pub fn namespace_labels(&self) -> Vec<String> {
        match &self.backend {
            Backend::Netns { targets, .. } => targets
                .iter()
                .map(|t| {
                    let label = netns::describe(&t.netns);
                    if t.current {
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
            Backend::Netns { targets, all } => {
                for target in targets.iter() {
                    match netns::stream_in(target, query, &mut pass) {
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
        }
        report.sockets = kept;
        Ok(report)
    }

    /// Read everything the query selects into a full snapshot (for commands that analyse the
    /// whole set, like doctor; listings stream instead).
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

/// Dump the sockets `query` selects from one open sock_diag socket.
pub fn stream_netlink(
    sock: &mut netlink::DiagSocket,
    query: &Query,
    each: &mut dyn FnMut(Socket) -> io::Result<()>,
) -> Result<StreamReport> {
    let mut report = StreamReport::default();
    for family in &query.families {
        let bytecode = match &query.filter {
            Some(f) if query.kernel_filter => f.bytecode(*family),
            _ => None,
        };
        let compiled = bytecode.is_some();
        let req = Request {
            family: *family,
            states: query.states.kernel_request_mask(),
            want_info: query.want_info,
            want_memory: query.want_memory,
            bytecode,
            seq: 0,
        };
        let stats = match sock.dump(&req, each) {
            Ok(stats) => stats,
            Err(netlink::DumpError::Consumer(e)) => return Err(e.into()),
            Err(netlink::DumpError::Kernel(e))
                if compiled && e.raw_os_error() == Some(libc::EPERM) =>
            {
                anyhow::bail!(
                    "fwmark conditions need CAP_NET_ADMIN: the kernel evaluates and reports \
                     socket marks only for privileged callers; run as root"
                )
            }
            Err(e @ netlink::DumpError::Kernel(_)) if compiled => {
                return Err(e).context(
                    "the kernel refused the compiled filter (a tcpscope bug: please report it \
                     with the filter). Rerun with --no-kernel-filter to filter in user space only",
                )
            }
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
            report
                .warnings
                .push(format!("skipped a socket record: {why}"));
        }
    }
    Ok(report)
}

/// True when the error came from the consumer of the sockets (e.g. a closed stdout), which
/// must end the listing rather than be reported as an unreadable namespace.
fn is_consumer_error(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
