//! Sockets with their owners: the one entry point every command uses for `-p` (ls today, doctor
//! and others later). It decides how to combine the socket dump with the /proc walk of
//! [`owners`](super::owners):
//!
//! * every state wanted: the walk of all processes runs on its own threads *while* the kernel
//!   dumps the sockets, and the two meet at the end;
//! * a state filter (`state close-wait`): the dump comes first (it is cheap when the kernel
//!   applies the state mask), then the walk looks only for those inodes and stops once each has
//!   been found (unless a listening socket is among them: pre-fork servers share those, so the
//!   walk goes on to find every holder); with no socket to attribute there is no walk at all.
//!
//! Recordings (`--from`) are never attributed again: the live /proc says nothing about them.

use super::owners::{self, InodeTable, ProcessDetails, ScanReport, Wanted};
use super::{Query, Source, StreamReport};
use anyhow::{anyhow, Context, Result};
use std::collections::HashSet;
use tcpscope_core::{Snapshot, StateSet, TcpState};

/// Read every socket the query selects, with `owners` filled in. Notes on what could not be
/// attributed (permissions) are added to the snapshot's notes and also returned on their own.
pub fn snapshot_with_owners(
    source: &mut Source,
    query: &Query,
) -> Result<(Snapshot, StreamReport, Vec<String>)> {
    if source.is_replay() {
        let (snap, report) = source.snapshot(query)?;
        return Ok((snap, report, Vec::new()));
    }
    let threads = owners::default_threads();
    let (mut snap, report, table, scan) = if query.states == StateSet::ALL {
        std::thread::scope(|s| -> Result<_> {
            let walk = s.spawn(move || owners::scan(Wanted::All, threads));
            let dumped = source.snapshot(query);
            let walked = walk
                .join()
                .map_err(|_| anyhow!("the /proc walk for process owners panicked"))?;
            let (snap, report) = dumped?;
            let (table, scan) = walked.context("finding which processes hold the sockets")?;
            Ok((snap, report, table, scan))
        })?
    } else {
        let (snap, report) = source.snapshot(query)?;
        // Pre-fork servers share listening sockets among workers: with a listener among the
        // wanted sockets, walk everything so each lists all its holders. Connections are rarely
        // shared, so for them the walk stops once each has been found.
        let stop_early = !snap.sockets.iter().any(|s| s.state == TcpState::Listen);
        let wanted: HashSet<u64> = snap
            .sockets
            .iter()
            .map(|s| s.inode)
            .filter(|i| *i != 0)
            .collect();
        let (table, scan) = if wanted.is_empty() {
            (InodeTable::default(), ScanReport::default())
        } else {
            let only = Wanted::Only {
                inodes: &wanted,
                stop_early,
            };
            owners::scan(only, threads).context("finding which processes hold the sockets")?
        };
        (snap, report, table, scan)
    };

    let details = ProcessDetails::load(&snap.sockets, &table);
    let unattributed = details.attach_all(&mut snap.sockets, &table, threads);
    let notes = scan.notes(unattributed, rustix::process::geteuid().is_root());
    snap.notes.extend(notes.iter().cloned());
    Ok((snap, report, notes))
}
