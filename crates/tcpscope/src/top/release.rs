//! The release key's work, done with `tcpscope release`'s own code on a thread of its own (below
//! the screen's priority, like the polls), so the screen keeps answering keys while owners are
//! looked up and sockets are ended: the selection and the dry run
//! ([`commands::release::select_sockets`], [`commands::release::dry_run`]) and, after the
//! user's `y`, the acting ([`commands::release::release`], i.e. `act::carry_out`).

use crate::collect::live::POLL_NICE;
use crate::commands::release::{dry_run, release, select_sockets, Scope};
use anyhow::Result;
use std::sync::mpsc::{channel, Receiver, TryRecvError};
use std::time::Duration;
use tcpscope_core::analyze::release::{Invocation, MethodChoice, Options, Report};
use tcpscope_core::render::top::release::ReleaseTarget;

/// How long acting waits for ended sockets to leave (release's `--wait` default).
const WAIT: Duration = Duration::from_secs(1);

/// Runs release requests, one at a time (a newer one replaces one still running: its answer
/// is dropped).
pub struct Releaser {
    scope: Scope,
    pending: Option<(u64, Receiver<Result<Report>>)>,
}

impl Releaser {
    /// Releases within `scope`: the namespaces top reads.
    pub fn new(scope: Scope) -> Releaser {
        Releaser {
            scope,
            pending: None,
        }
    }

    /// Select `target`'s sockets and decide, as `tcpscope release FILTER` does (a dry run).
    pub fn dry_run(&mut self, id: u64, target: ReleaseTarget) {
        let scope = self.scope.clone();
        self.spawn(id, move || {
            let invocation = Invocation {
                filter: target.filter.to_string(),
                flags: Vec::new(),
                scope: scope.words(),
            };
            let keep = target.keep;
            let (sockets, notes) = select_sockets(target.filter, &scope, &mut |s| keep.keeps(s))?;
            let options = Options {
                method: MethodChoice::Auto,
                listeners: false,
            };
            Ok(dry_run(sockets, notes, invocation, &options))
        });
    }

    /// End the sockets of `report` (a dry run), as `tcpscope release --yes` does.
    pub fn release(&mut self, id: u64, mut report: Report) {
        self.spawn(id, move || {
            release(&mut report, WAIT);
            Ok(report)
        });
    }

    /// A finished request's answer, if one has arrived.
    pub fn poll(&mut self) -> Option<(u64, Result<Report, String>)> {
        let (id, rx) = self.pending.as_ref()?;
        let id = *id;
        let answer = match rx.try_recv() {
            Ok(r) => r.map_err(|e| format!("{e:#}")),
            Err(TryRecvError::Empty) => return None,
            Err(TryRecvError::Disconnected) => Err("release stopped unexpectedly".to_string()),
        };
        self.pending = None;
        Some((id, answer))
    }

    fn spawn(&mut self, id: u64, work: impl FnOnce() -> Result<Report> + Send + 'static) {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            // This thread only: the screen's thread keeps its priority.
            let _ = rustix::process::setpriority_process(None, POLL_NICE);
            let _ = tx.send(work());
        });
        self.pending = Some((id, rx));
    }
}
