//! Which processes hold which sockets, kept across polls: the inode -> (pid, fd) table from the
//! /proc walk of [`owners`](super::owners), and who each holding process is
//! ([`Identities`](super::identities)). Every command that shows owners goes through it.
//!
//! How the table is filled depends on what is wanted:
//! * [`OwnerCache::walk_all`]: every process's fds on all cores — before a dump of every state
//!   (`ls -p`), and periodically in live commands;
//! * [`OwnerCache::find`]: only some inodes — the few sockets a state filter selected, the
//!   sockets a doctor finding may name, the sockets that appeared since the last poll. A
//!   process that yields one is read to its end, processes whose fd count changed since the last
//!   walk are read first, and the walk stops once each inode has been seen (unless listeners are
//!   among them: pre-fork servers share those, so every holder is wanted);
//! * [`OwnerCache::walk_pids`]: the whole tables of named processes (those near their descriptor
//!   limit, for doctor's fd-exhaustion).
//!
//! Between polls a socket keeps its holders: an inode names one socket for its life, and a
//! socket rarely changes hands. Entries of sockets that closed are swept after each live poll;
//! holders whose process exited (or whose pid was reused) are dropped; a full walk every
//! [`REFRESH_POLLS`] polls catches descriptors passed to or closed by other processes.
//! Recordings (`--from`) are never attributed again: the live /proc says nothing about them.

use super::identities::Identities;
use super::owners::{self, InodeTable, ScanReport, Wanted};
use std::collections::{HashMap, HashSet};
use std::io;
use tcpscope_core::analyze::fasthash::FastSet;
use tcpscope_core::model::process::Owner;
use tcpscope_core::Socket;

/// A live command walks everything again after this many polls.
pub const REFRESH_POLLS: u32 = 30;

/// inode -> holders, and who the holders are.
#[derive(Default)]
pub struct OwnerCache {
    table: InodeTable,
    /// Which table entries the current poll used (swept after a live poll).
    used: Vec<bool>,
    identities: Identities,
    /// What the last walks saw (permissions, failures), for the notes.
    report: ScanReport,
    /// Inodes a walk looked for and did not find (no visible holder): not looked for again
    /// until the next full walk.
    unfound: HashSet<u64>,
    /// The fd count of every process at the last full walk: processes whose count changed are
    /// walked first when new sockets are looked for.
    fd_counts: HashMap<u32, u64>,
    /// The table holds every visible holder (a full walk ran this poll).
    complete: bool,
    polls_since_full: Option<u32>,
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

impl OwnerCache {
    pub fn new() -> OwnerCache {
        OwnerCache::default()
    }

    /// True when no full walk has run yet, or the periodic refresh is due.
    pub fn wants_full_walk(&self) -> bool {
        self.polls_since_full.is_none_or(|n| n >= REFRESH_POLLS)
    }

    /// True right after a full walk: an inode missing from the table has no visible holder.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Start a poll: forget processes that exited or whose pid was reused.
    pub fn begin_poll(&mut self) {
        self.complete = false;
        self.polls_since_full = self.polls_since_full.map(|n| n + 1);
        self.used = vec![false; self.table.pairs()];
        if self.table.pairs() > 0 {
            let pids: HashSet<u32> = self.table.entries().iter().map(|(_, h)| h.pid).collect();
            self.identities.revalidate(|p| pids.contains(&p), false);
        }
    }

    /// Walk every process's fds (all cores), replacing the table.
    pub fn walk_all(&mut self) -> io::Result<()> {
        let (table, report) = owners::scan(Wanted::All, owners::default_threads())?;
        self.table = table;
        self.used = vec![false; self.table.pairs()];
        self.report = report;
        self.unfound.clear();
        self.identities.revalidate(|_| true, true);
        self.fd_counts = fd_counts_now();
        self.complete = true;
        self.polls_since_full = Some(0);
        Ok(())
    }

    /// Walk the whole fd tables of `pids` and add what they hold.
    pub fn walk_pids(&mut self, pids: &[u32]) -> io::Result<()> {
        if pids.is_empty() {
            return Ok(());
        }
        let (table, report) =
            owners::scan_in(Some(pids.to_vec()), Wanted::All, owners::default_threads())?;
        self.add(table, report);
        Ok(())
    }

    /// Look for the holders of `inodes` that the table does not know yet (and that no earlier
    /// walk failed to find). With `every_holder` the walk reads every process (shared
    /// listeners); otherwise it stops once each inode has been seen once.
    pub fn find(
        &mut self,
        inodes: impl IntoIterator<Item = u64>,
        every_holder: bool,
    ) -> io::Result<()> {
        let wanted: HashSet<u64> = inodes
            .into_iter()
            .filter(|i| *i != 0 && !self.unfound.contains(i) && self.table.holders(*i).is_empty())
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let order = self.walk_order();
        let only = Wanted::Only {
            inodes: &wanted,
            stop_early: !every_holder,
        };
        let (table, report) = owners::scan_in(order, only, owners::default_threads())?;
        let found: HashSet<u64> = table.entries().iter().map(|(i, _)| *i).collect();
        self.unfound
            .extend(wanted.iter().filter(|i| !found.contains(i)));
        self.add(table, report);
        Ok(())
    }

    /// Every process, those whose fd count changed since the last full walk first (`None`
    /// before any full walk: /proc's order).
    fn walk_order(&self) -> Option<Vec<u32>> {
        if self.fd_counts.is_empty() {
            return None;
        }
        let now = fd_counts_now();
        let mut changed = Vec::new();
        let mut same = Vec::new();
        for (pid, count) in now {
            if self.fd_counts.get(&pid) == Some(&count) {
                same.push(pid);
            } else {
                changed.push(pid);
            }
        }
        changed.sort_unstable();
        same.sort_unstable();
        changed.extend(same);
        Some(changed)
    }

    fn add(&mut self, table: InodeTable, report: ScanReport) {
        self.report.merge(report);
        if table.pairs() == 0 {
            return;
        }
        // Keep the marks of entries already used this poll across the merge.
        let used: HashSet<(u64, u32, u32)> = self
            .table
            .entries()
            .iter()
            .zip(&self.used)
            .filter(|(_, u)| **u)
            .map(|((i, h), _)| (*i, h.pid, h.fd))
            .collect();
        self.table.merge(table);
        self.used = self
            .table
            .entries()
            .iter()
            .map(|(i, h)| used.contains(&(*i, h.pid, h.fd)))
            .collect();
    }

    /// True when the table knows a holder of `inode` (or a walk already failed to find one).
    pub fn knows(&self, inode: u64) -> bool {
        inode == 0 || self.unfound.contains(&inode) || !self.table.holders(inode).is_empty()
    }

    /// Fill `socket.owners` from the table. Returns false when the socket has an inode that no
    /// visible process holds.
    pub fn attach(&mut self, socket: &mut Socket) -> bool {
        if socket.inode == 0 {
            return true;
        }
        socket.owners.clear();
        let range = self.table.range_of(socket.inode);
        for i in range {
            let (_, h) = self.table.entries()[i];
            if let Some(process) = self.identities.get_holder(h.pid, h.fd, socket.inode) {
                if let Some(u) = self.used.get_mut(i) {
                    *u = true;
                }
                socket.owners.push(Owner {
                    pid: h.pid,
                    fd: h.fd,
                    process,
                });
            }
        }
        !socket.owners.is_empty()
    }

    /// End a live poll: forget the entries of sockets that were not seen (closed).
    pub fn sweep(&mut self) {
        let used = std::mem::take(&mut self.used);
        self.table
            .retain(|i, _| used.get(i).copied().unwrap_or(false));
        self.used = vec![false; self.table.pairs()];
    }

    /// Who `pid` is (read once and shared).
    pub fn identity(
        &mut self,
        pid: u32,
    ) -> Option<std::sync::Arc<tcpscope_core::model::process::ProcessIdentity>> {
        self.identities.get(pid)
    }

    /// Stream `query`'s sockets with owners from the table, looking up only those it does
    /// not know — outside a poll (a drill-down): nothing is marked used or swept.
    pub fn find_only(
        &mut self,
        source: &mut super::source::Source,
        query: &super::query::Query,
        each: &mut dyn FnMut(&Socket) -> io::Result<()>,
    ) -> anyhow::Result<()> {
        let mut pending = Vec::new();
        source.stream(query, &mut |mut s| {
            if self.attach_quietly(&mut s) || self.knows(s.inode) {
                return each(&s);
            }
            pending.push(s);
            Ok(())
        })?;
        self.attribute(&mut pending)?;
        for s in &pending {
            each(s)?;
        }
        Ok(())
    }

    /// Fill the owners of sockets found outside a poll (a drill-down, trace's lookups): from
    /// the table, walking /proc only for the inodes it does not know. Nothing is marked used.
    pub fn attribute(&mut self, sockets: &mut [Socket]) -> io::Result<()> {
        let shared = sockets
            .iter()
            .any(|s| s.state == tcpscope_core::TcpState::Listen);
        self.find(sockets.iter().map(|s| s.inode), shared)?;
        for s in sockets {
            self.attach_quietly(s);
        }
        Ok(())
    }

    /// Forget what is known to be over without a poll (trace sees it happen): the entries of
    /// sockets that closed, and who processes were that exited or exec'd another program.
    pub fn forget(&mut self, inodes: &FastSet<u64>, pids: &[u32]) {
        for pid in pids {
            self.identities.forget(*pid);
        }
        if inodes.is_empty() {
            return;
        }
        self.unfound.retain(|i| !inodes.contains(i));
        let used = std::mem::take(&mut self.used);
        let mut kept_used = Vec::with_capacity(used.len());
        self.table.retain(|i, (inode, _)| {
            let keep = !inodes.contains(inode);
            if keep {
                kept_used.push(used.get(i).copied().unwrap_or(false));
            }
            keep
        });
        self.used = kept_used;
    }

    /// [`OwnerCache::attach`] without marking the entries used.
    fn attach_quietly(&mut self, socket: &mut Socket) -> bool {
        if socket.inode == 0 {
            return true;
        }
        socket.owners.clear();
        for i in self.table.range_of(socket.inode) {
            let (_, h) = self.table.entries()[i];
            if let Some(process) = self.identities.get_holder(h.pid, h.fd, socket.inode) {
                socket.owners.push(Owner {
                    pid: h.pid,
                    fd: h.fd,
                    process,
                });
            }
        }
        !socket.owners.is_empty()
    }

    /// What to tell the user about what could not be seen. `unattributed`: sockets with an
    /// inode that no visible process holds (`None` when not known yet).
    pub fn notes(&self, unattributed: Option<usize>) -> Vec<String> {
        let mut notes = self.report.notes(unattributed, is_root());
        if let (Some(n @ 1..), false) = (unattributed, is_root()) {
            if let Some(option) = super::procfs::proc_hides_processes() {
                notes.push(format!(
                    "/proc is mounted with {option}: other users' processes are invisible, so {} \
                     show no owner; run as root or with CAP_SYS_PTRACE (or as a member of the \
                     mount's gid= group) to see them",
                    if n == 1 {
                        "1 socket".to_string()
                    } else {
                        format!("{n} sockets")
                    }
                ));
            }
        }
        notes
    }

    /// Forget the walks' permission and failure counts (a new poll reports its own).
    pub fn clear_report(&mut self) {
        self.report = ScanReport::default();
    }
}

/// The fd count of every process now (one stat per process).
fn fd_counts_now() -> HashMap<u32, u64> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let pid = tcpscope_core::decode::process_text::parse_decimal(
                e.file_name().as_encoded_bytes(),
            )?;
            Some((pid, super::facts::fd_count(pid)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::os::fd::AsRawFd;
    use tcpscope_core::decode::process_text::socket_inode;
    use tcpscope_core::{Endpoint, Family, TcpState};

    fn inode_of(fd: i32) -> u64 {
        let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
        socket_inode(link.to_string_lossy().as_bytes()).unwrap()
    }

    fn sock(inode: u64) -> Socket {
        let ep = |p| Endpoint::new("127.0.0.1".parse().unwrap(), p);
        Socket {
            inode,
            ..Socket::new(TcpState::Listen, Family::Inet, ep(1), ep(0))
        }
    }

    #[test]
    fn finds_then_remembers_then_sweeps() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let ino = inode_of(l.as_raw_fd());
        let me = std::process::id();
        let mut cache = OwnerCache::new();
        cache.begin_poll();
        assert!(!cache.knows(ino));
        cache.find([ino], false).unwrap();
        let mut s = sock(ino);
        assert!(cache.attach(&mut s));
        assert_eq!(
            (s.owners[0].pid, s.owners[0].fd),
            (me, l.as_raw_fd() as u32)
        );
        // The next poll knows it without walking; a poll that does not see it forgets it.
        cache.sweep();
        cache.begin_poll();
        assert!(cache.knows(ino));
        cache.sweep();
        cache.begin_poll();
        assert!(!cache.knows(ino), "not seen in the last poll: swept");
    }

    #[test]
    fn an_inode_nobody_holds_is_looked_for_once() {
        let mut cache = OwnerCache::new();
        cache.begin_poll();
        let nobody = u64::MAX - 7;
        cache.find([nobody], false).unwrap();
        assert!(cache.knows(nobody), "remembered as unfound");
        let mut s = sock(nobody);
        assert!(!cache.attach(&mut s));
        cache.walk_all().unwrap();
        assert!(
            !cache.knows(nobody),
            "a full walk forgets what was not found"
        );
        assert!(cache.is_complete());
    }
}
