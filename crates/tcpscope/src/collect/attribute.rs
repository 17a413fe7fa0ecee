//! Sockets with their owners: the one entry point every command uses for `-p` (ls, doctor, and
//! later ones). It decides how to combine the socket dump with the /proc walk of
//! [`owners`](super::owners):
//!
//! * every state wanted ([`wants_everything`]): the walk of all processes comes first, on all
//!   cores; then sockets stream from the kernel with owners attached one by one ([`FullWalk`]),
//!   so 100k sockets never sit in memory at once;
//! * a state filter (`state close-wait`): the dump comes first (it is cheap when the kernel
//!   applies the state mask), then the walk looks only for those inodes and stops once each has
//!   been found (unless a listening socket is among them: pre-fork servers share those, so the
//!   walk goes on to find every holder); with no socket to attribute there is no walk at all.
//!
//! Recordings (`--from`) are never attributed again: the live /proc says nothing about them.

use super::owner_details::ProcessDetails;
use super::owners::{self, InodeTable, ScanReport, Wanted};
use super::{Query, Source, StreamReport};
use anyhow::{Context, Result};
use std::collections::HashSet;
use tcpscope_core::{Snapshot, Socket, StateSet, TcpState};

/// True when the query takes every state, so the whole /proc walk is needed anyway and the
/// streaming path ([`FullWalk`]) applies.
pub fn wants_everything(source: &Source, query: &Query) -> bool {
    !source.is_replay() && covers_every_state(query.states)
}

/// Every state, bound-inactive aside: a plain `ls -p` or `doctor` does not ask for that one
/// (`Filter::states` leaves it out unless named), and must still take the streaming path.
fn covers_every_state(states: StateSet) -> bool {
    states.with(TcpState::BoundInactive).is_all()
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The whole /proc walk, done before the dump; attaches owners to sockets as they stream past.
pub struct FullWalk {
    table: InodeTable,
    scan: ScanReport,
    details: ProcessDetails,
    unattributed: usize,
}

impl FullWalk {
    /// Walk every process's fds on all cores.
    pub fn run() -> Result<FullWalk> {
        let (table, scan) = owners::scan(Wanted::All, owners::default_threads())
            .context("finding which processes hold the sockets")?;
        Ok(FullWalk {
            table,
            scan,
            details: ProcessDetails::default(),
            unattributed: 0,
        })
    }

    /// Fill in the owners of one socket (reading a process's details the first time it shows).
    pub fn attach(&mut self, socket: &mut Socket) {
        self.details.ensure_holders_of(socket.inode, &self.table);
        if !self.details.attach(socket, &self.table) {
            self.unattributed += 1;
        }
    }

    /// What to tell the user before any socket is seen (for a document's header).
    pub fn early_notes(&self) -> Vec<String> {
        self.scan.notes(None, is_root())
    }

    /// What to tell the user after the sockets went by (with how many lack an owner).
    pub fn notes(&self) -> Vec<String> {
        self.scan.notes(Some(self.unattributed), is_root())
    }
}

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
    if wants_everything(source, query) {
        let mut walk = FullWalk::run()?;
        let mut sockets = Vec::new();
        let report = source.stream(query, &mut |mut s| {
            walk.attach(&mut s);
            sockets.push(s);
            Ok(())
        })?;
        let notes = walk.notes();
        let mut snap = source.header().clone();
        snap.sockets = sockets;
        snap.notes.extend(notes.iter().cloned());
        return Ok((snap, report, notes));
    }

    let (mut snap, report) = source.snapshot(query)?;
    // Pre-fork servers share listening sockets among workers: with a listener among the wanted
    // sockets, walk everything so each lists all its holders. Connections are rarely shared, so
    // for them the walk stops once each has been found.
    let stop_early = !snap.sockets.iter().any(|s| s.state == TcpState::Listen);
    let wanted: HashSet<u64> = snap
        .sockets
        .iter()
        .map(|s| s.inode)
        .filter(|i| *i != 0)
        .collect();
    let threads = owners::default_threads();
    let (table, scan) = if wanted.is_empty() {
        (InodeTable::default(), ScanReport::default())
    } else {
        let only = Wanted::Only {
            inodes: &wanted,
            stop_early,
        };
        owners::scan(only, threads).context("finding which processes hold the sockets")?
    };
    let details = ProcessDetails::load(&snap.sockets, &table);
    let unattributed = details.attach_all(&mut snap.sockets, &table, threads);
    let notes = scan.notes(Some(unattributed), is_root());
    snap.notes.extend(notes.iter().cloned());
    Ok((snap, report, notes))
}

#[cfg(test)]
mod tests {
    use super::covers_every_state;
    use tcpscope_core::analyze::filter::Filter;
    use tcpscope_core::{StateSet, TcpState};

    /// Regression: once the default state set left out bound-inactive, `ls -p` and `doctor`
    /// no longer took the streaming path and held 100k sockets in memory (136 MiB, 2x slower).
    #[test]
    fn the_default_filter_wants_every_state() {
        let plain = Filter::parse("").expect("an empty filter parses").states();
        assert_eq!(plain, Filter::default().states());
        assert!(!plain.contains(TcpState::BoundInactive));
        assert!(covers_every_state(plain));
        assert!(covers_every_state(StateSet::ALL));
        assert!(!covers_every_state(StateSet::of(&[TcpState::CloseWait])));
        assert!(!covers_every_state(StateSet::ALL.without(TcpState::Listen)));
    }
}
