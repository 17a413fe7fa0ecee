//! Who holds each socket: one pass over /proc/*/fd that maps socket inodes to (pid, fd), then
//! the details (comm, cmdline, user, container, systemd unit) of only the processes that hold a
//! wanted socket.
//!
//! Speed matters here (`ss -p` takes ~2 s at 100k sockets), so the walk uses directory fds:
//! openat(/proc, "PID/fd"), getdents on it, readlinkat relative to it — no path is built and no
//! allocation happens per fd. Work is handed out in chunks of 1024 fds to one thread per core, so
//! a few processes with 20k fds each still spread over all cores, and the walk is breadth-first
//! across processes ([`CHUNK`]). When only some sockets are wanted (a state filter), a process
//! that yields some is read to its end at once (a leak sits in one program), and the walk stops
//! as soon as every wanted inode has been seen once.
//!
//! Who the holding processes are is read once per process by [`Identities`](super::identities).
//!
//! Errors are told apart: a process that exits during the walk is normal and silent; a
//! permission failure (another user's process, without root or CAP_SYS_PTRACE) is counted and
//! reported once; anything else is reported with the first error seen.

use rustix::fs::{openat, Dir, Mode, OFlags, CWD};
use rustix::io::Errno;
use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use tcpscope_core::decode::process_text::{parse_decimal, socket_inode};

/// One descriptor through which a process holds a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Holder {
    pub pid: u32,
    pub fd: u32,
}

/// Which socket inodes the walk should find.
pub enum Wanted<'a> {
    /// Every socket of every process.
    All,
    /// Only these. With `stop_early`, the walk stops once each has been seen once (so a socket
    /// that several processes share may list only the first of them).
    Only {
        inodes: &'a HashSet<u64>,
        stop_early: bool,
    },
}

/// What the walk saw besides the holders.
#[derive(Debug, Default, Clone)]
pub struct ScanReport {
    /// Processes whose fd directory was read.
    pub processes: u64,
    /// Processes whose fds we may not read (permission denied).
    pub denied: u64,
    /// Processes that exited during the walk (not an error).
    pub vanished: u64,
    /// Other failures, and the first of them.
    pub failed: u64,
    pub first_failure: Option<String>,
}

impl ScanReport {
    pub fn merge(&mut self, o: ScanReport) {
        self.processes += o.processes;
        self.denied += o.denied;
        self.vanished += o.vanished;
        self.failed += o.failed;
        if self.first_failure.is_none() {
            self.first_failure = o.first_failure;
        }
    }

    /// What the user should be told, in words (empty when nothing is worth saying).
    /// `unattributed`: sockets with an inode that no visible process holds (`None` when not yet
    /// known); `root`: whether tcpscope runs as root (then a denial is not about ordinary
    /// permissions).
    pub fn notes(&self, unattributed: Option<usize>, root: bool) -> Vec<String> {
        let mut notes = Vec::new();
        let what = match unattributed {
            Some(0) | None => String::new(),
            Some(1) => "1 socket shows no owner: ".to_string(),
            Some(n) => format!("{n} sockets show no owner: "),
        };
        let matters = unattributed != Some(0);
        if self.denied > 0 && !root {
            notes.push(format!(
                "{what}the open files of {} of other users are hidden (permission denied); \
                 showing your own. Run as root or with CAP_SYS_PTRACE (e.g. `sudo tcpscope ls -p`) to see every owner",
                plural(self.denied, "process")
            ));
        } else if self.denied > 0 && matters {
            // Sockets closed between the dump and the walk show no owner either: on a busy host
            // they, not the hidden process, may be what has none (issue 17, fault tests).
            notes.push(format!(
                "{what}they belong to {} whose open files could not be read even as root \
                 (permission denied: another user namespace or a security module such as \
                 SELinux/AppArmor hides them), or were opened or closed while tcpscope read /proc",
                if self.denied == 1 {
                    "the 1 process".to_string()
                } else {
                    format!("the {} processes", self.denied)
                }
            ));
        }
        if self.failed > 0 {
            notes.push(format!(
                "could not read the open files of {}: {}",
                plural(self.failed, "process"),
                self.first_failure.as_deref().unwrap_or("unknown error")
            ));
        }
        notes
    }
}

/// "1 process", "3 processes", "2 sockets".
fn plural(n: u64, word: &str) -> String {
    match (n, word.ends_with('s')) {
        (1, _) => format!("1 {word}"),
        (_, true) => format!("{n} {word}es"),
        (_, false) => format!("{n} {word}s"),
    }
}

/// inode -> every (pid, fd) holding it: one vector sorted by inode (one allocation for 100k
/// sockets, where a map of vectors would make 100k), with a bucket index over the inode range so a
/// lookup touches two or three cache lines instead of the ~17 of a binary search (a live poll
/// looks up every socket).
#[derive(Debug, Default)]
pub struct InodeTable {
    entries: Vec<(u64, Holder)>,
    /// index[b] = the first entry whose bucket is >= b; one bucket per entry, rounded up.
    index: Vec<u32>,
    min: u64,
    max: u64,
    shift: u32,
}

impl InodeTable {
    fn from_sorted(entries: Vec<(u64, Holder)>) -> InodeTable {
        let mut t = InodeTable {
            entries,
            ..InodeTable::default()
        };
        t.reindex();
        t
    }

    fn bucket(&self, inode: u64) -> usize {
        ((inode - self.min) >> self.shift) as usize
    }

    /// Rebuild the bucket index after the entries changed.
    fn reindex(&mut self) {
        self.index.clear();
        let (Some(first), Some(last)) = (self.entries.first(), self.entries.last()) else {
            return;
        };
        self.min = first.0;
        self.max = last.0;
        let buckets = self.entries.len().next_power_of_two() as u64;
        let span_bits = 64 - (self.max - self.min).leading_zeros();
        self.shift = span_bits.saturating_sub(buckets.trailing_zeros());
        let n = self.bucket(self.max) + 1;
        self.index = Vec::with_capacity(n + 1);
        let mut pos = 0usize;
        for b in 0..=n {
            while pos < self.entries.len() && self.bucket(self.entries[pos].0) < b {
                pos += 1;
            }
            self.index.push(pos as u32);
        }
    }

    /// Every (inode, holder) pair, sorted by inode.
    pub fn entries(&self) -> &[(u64, Holder)] {
        &self.entries
    }

    /// Number of (inode, holder) pairs.
    pub fn pairs(&self) -> usize {
        self.entries.len()
    }

    /// Add another table's pairs (a later, partial walk), keeping the order and no duplicates.
    pub fn merge(&mut self, other: InodeTable) {
        if other.entries.is_empty() {
            return;
        }
        self.entries.extend(other.entries);
        self.entries.sort_unstable();
        self.entries.dedup();
        self.reindex();
    }

    /// Keep only the pairs `keep` says yes to.
    pub fn retain(&mut self, mut keep: impl FnMut(usize, &(u64, Holder)) -> bool) {
        let mut i = 0;
        self.entries.retain(|e| {
            let k = keep(i, e);
            i += 1;
            k
        });
        self.reindex();
    }

    /// The index range of `inode`'s pairs in [`InodeTable::entries`].
    pub fn range_of(&self, inode: u64) -> std::ops::Range<usize> {
        if self.index.is_empty() || inode < self.min || inode > self.max {
            return 0..0;
        }
        let b = self.bucket(inode);
        let (lo, hi) = (self.index[b] as usize, self.index[b + 1] as usize);
        let slice = &self.entries[lo..hi];
        let start = slice.partition_point(|(i, _)| *i < inode);
        let len = slice[start..].partition_point(|(i, _)| *i == inode);
        lo + start..lo + start + len
    }

    pub fn holders(&self, inode: u64) -> &[(u64, Holder)] {
        &self.entries[self.range_of(inode)]
    }
}

/// Walk /proc once and map socket inodes to their holders, on `threads` threads.
pub fn scan(wanted: Wanted<'_>, threads: usize) -> io::Result<(InodeTable, ScanReport)> {
    scan_in(None, wanted, threads)
}

/// [`scan`] over the fd tables of `pids` only, in the order given (`None`: every process, in
/// pid order). Put the processes most likely to hold what is wanted first: a partial walk that
/// stops early then reads little else.
pub fn scan_in(
    pids: Option<Vec<u32>>,
    wanted: Wanted<'_>,
    threads: usize,
) -> io::Result<(InodeTable, ScanReport)> {
    let proc_dir = openat(
        CWD,
        "/proc",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| {
        let e = io::Error::from(e);
        let why = if super::limits::is_out_of_descriptors(&e) {
            super::limits::advice()
        } else {
            format!("{e}; is /proc mounted?")
        };
        io::Error::new(e.kind(), format!("opening /proc: {why}"))
    })?;
    let pids = match pids {
        Some(p) => p,
        None => list_pids(proc_dir.as_fd())?,
    };

    // For a partial walk: each wanted inode gets a slot, marked the first time it is seen.
    let index: HashMap<u64, usize> = match &wanted {
        Wanted::All => HashMap::new(),
        Wanted::Only { inodes, .. } => inodes
            .iter()
            .enumerate()
            .map(|(i, ino)| (*ino, i))
            .collect(),
    };
    let seen: Vec<AtomicBool> = (0..index.len()).map(|_| AtomicBool::new(false)).collect();
    let remaining = AtomicUsize::new(index.len());
    let partial = matches!(wanted, Wanted::Only { .. });
    let stop_early = matches!(
        wanted,
        Wanted::Only {
            stop_early: true,
            ..
        }
    );
    let next = AtomicUsize::new(0);
    let threads = threads.clamp(1, 64).min(pids.len().max(1));

    let walker = Walker {
        proc_dir: proc_dir.as_fd(),
        pids: &pids,
        next: &next,
        open: Mutex::new(VecDeque::new()),
        partial,
        stop_early,
        index: &index,
        seen: &seen,
        remaining: &remaining,
    };
    let results: Vec<(Vec<(u64, Holder)>, ScanReport)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(|| walker.run())).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    let report = ScanReport {
                        failed: 1,
                        first_failure: Some("a thread walking /proc panicked".to_string()),
                        ..ScanReport::default()
                    };
                    (Vec::new(), report)
                })
            })
            .collect()
    });

    let mut report = ScanReport::default();
    let total: usize = results.iter().map(|(v, _)| v.len()).sum();
    let mut entries: Vec<(u64, Holder)> = Vec::with_capacity(total);
    for (found, r) in results {
        report.merge(r);
        entries.extend(found);
    }
    entries.sort_unstable();
    Ok((InodeTable::from_sorted(entries), report))
}

/// The numeric entries of /proc, in ascending order.
fn list_pids(proc_dir: BorrowedFd<'_>) -> io::Result<Vec<u32>> {
    let mut dir = Dir::read_from(proc_dir)
        .map_err(|e| io::Error::new(e.kind(), format!("listing /proc: {e}")))?;
    let mut pids = Vec::with_capacity(512);
    while let Some(entry) = dir.read() {
        let entry = entry.map_err(|e| io::Error::new(e.kind(), format!("listing /proc: {e}")))?;
        if let Some(pid) = parse_decimal(entry.file_name().to_bytes()) {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    Ok(pids)
}

/// The shared state of the walking threads.
struct Walker<'a> {
    proc_dir: BorrowedFd<'a>,
    pids: &'a [u32],
    next: &'a AtomicUsize,
    /// fd tables read in part, resumed round-robin (see [`CHUNK`]).
    open: Mutex<VecDeque<Open>>,
    partial: bool,
    stop_early: bool,
    index: &'a HashMap<u64, usize>,
    seen: &'a [AtomicBool],
    remaining: &'a AtomicUsize,
}

/// A process whose fd table is being read, a chunk at a time.
struct Open {
    pid: u32,
    dir: Dir,
}

/// fds read from one process before moving on to the next. The walk is breadth-first across
/// processes: the first CHUNK fds of every process, then the next CHUNK of each, and so on. Old
/// sockets (the leaked CLOSE-WAIT ones) sit in low fds, so a partial walk finds them without
/// reading the whole table of every big process first.
const CHUNK: usize = 1024;

enum Task {
    Start(u32),
    Resume(Open),
}

impl Walker<'_> {
    fn done(&self) -> bool {
        self.stop_early && self.remaining.load(Ordering::Relaxed) == 0
    }

    fn next_task(&self) -> Option<Task> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if let Some(&pid) = self.pids.get(i) {
            return Some(Task::Start(pid));
        }
        let mut queue = self.open.lock().unwrap_or_else(|e| e.into_inner());
        queue.pop_front().map(Task::Resume)
    }

    fn run(&self) -> (Vec<(u64, Holder)>, ScanReport) {
        let mut found = Vec::new();
        let mut report = ScanReport::default();
        let mut path = String::with_capacity(24);
        while !self.done() {
            let Some(task) = self.next_task() else { break };
            let before = found.len();
            let (pid, mut result) = match task {
                Task::Start(pid) => {
                    path.clear();
                    path.push_str(itoa(pid).as_str());
                    path.push_str("/fd");
                    (pid, self.start(pid, &path, &mut found))
                }
                Task::Resume(mut open) => {
                    let pid = open.pid;
                    let r = match self.read_chunk(pid, &mut open.dir, &mut found) {
                        Ok(true) => Ok(None),
                        Ok(false) => Ok(Some(open)),
                        Err(e) => Err(e),
                    };
                    (pid, r)
                }
            };
            // A process that just turned up wanted sockets probably holds more (a leak sits in
            // one program): read the rest of its table now rather than after every other one.
            if self.partial && found.len() > before {
                if let Ok(Some(open)) = result {
                    result = self.read_to_end(open, &mut found);
                }
            }
            match result {
                Ok(Some(open)) => {
                    let mut queue = self.open.lock().unwrap_or_else(|e| e.into_inner());
                    queue.push_back(open);
                }
                Ok(None) => report.processes += 1,
                Err(Errno::NOENT | Errno::SRCH) => report.vanished += 1,
                // A process reaped while its links were read answers EACCES too.
                Err(Errno::ACCESS | Errno::PERM) if super::procfs::exited(self.proc_dir, pid) => {
                    report.vanished += 1
                }
                Err(Errno::ACCESS | Errno::PERM) => report.denied += 1,
                Err(e) => {
                    report.failed += 1;
                    if report.first_failure.is_none() {
                        report.first_failure = Some(format!("/proc/{pid}/fd: {e}"));
                    }
                }
            }
        }
        (found, report)
    }

    /// Open a process's fd table and read its first chunk; the rest is handed back to resume.
    fn start(
        &self,
        pid: u32,
        path: &str,
        found: &mut Vec<(u64, Holder)>,
    ) -> Result<Option<Open>, Errno> {
        let fd_dir: OwnedFd = openat(
            self.proc_dir,
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        // st_size of /proc/PID/fd is the number of open fds (Linux 6.2+): skip empty tables
        // (kernel threads) without reading them. Older kernels always say 0: read them all.
        if super::facts::fd_sizes_are_counts() && rustix::fs::fstat(&fd_dir)?.st_size == 0 {
            return Ok(None);
        }
        let mut dir = Dir::new(fd_dir)?;
        if self.read_chunk(pid, &mut dir, found)? {
            Ok(None)
        } else {
            Ok(Some(Open { pid, dir }))
        }
    }

    /// Read the rest of a process's table (stopping early if the walk is done).
    fn read_to_end(
        &self,
        mut open: Open,
        found: &mut Vec<(u64, Holder)>,
    ) -> Result<Option<Open>, Errno> {
        while !self.read_chunk(open.pid, &mut open.dir, found)? {}
        Ok(None)
    }

    /// Read up to [`CHUNK`] fds; true when the table is finished (or the walk is done).
    fn read_chunk(
        &self,
        pid: u32,
        dir: &mut Dir,
        found: &mut Vec<(u64, Holder)>,
    ) -> Result<bool, Errno> {
        let mut link = [0u8; 64];
        for n in 1..=CHUNK {
            if n % CHECK_EVERY == 0 && self.done() {
                return Ok(true);
            }
            let Some(entry) = dir.read() else {
                return Ok(true);
            };
            let entry = entry?;
            let name: &CStr = entry.file_name();
            let Some(fd) = parse_decimal(name.to_bytes()) else {
                continue;
            };
            let len = match rustix::fs::readlinkat_raw(dir.fd()?, name, &mut link) {
                Ok(len) => len.min(link.len()),
                // The fd was closed between getdents and readlinkat.
                Err(Errno::NOENT) => continue,
                Err(e) => return Err(e),
            };
            let Some(inode) = socket_inode(&link[..len]) else {
                continue;
            };
            if self.partial {
                let Some(&slot) = self.index.get(&inode) else {
                    continue;
                };
                if !self.seen[slot].swap(true, Ordering::Relaxed) {
                    self.remaining.fetch_sub(1, Ordering::Relaxed);
                }
            }
            found.push((inode, Holder { pid, fd }));
        }
        Ok(false)
    }
}

/// How often (in fds read) a partial walk checks whether everything has been found.
const CHECK_EVERY: usize = 256;

/// A pid in decimal without allocating through `format!` on the hot path.
fn itoa(mut n: u32) -> ItoaBuf {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    ItoaBuf { buf, start: i }
}

struct ItoaBuf {
    buf: [u8; 10],
    start: usize,
}

impl ItoaBuf {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[self.start..]).unwrap_or("0")
    }
}

/// Threads for the walk: one per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::os::fd::AsRawFd;

    fn inode_of(fd: i32) -> u64 {
        let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
        socket_inode(link.to_string_lossy().as_bytes()).unwrap()
    }

    #[test]
    fn finds_our_own_listener_fully_and_partially() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let ino = inode_of(l.as_raw_fd());
        let me = std::process::id();
        let (table, report) = scan(Wanted::All, 2).unwrap();
        let holder = Holder {
            pid: me,
            fd: l.as_raw_fd() as u32,
        };
        assert!(table.holders(ino).contains(&(ino, holder)));
        assert!(report.processes > 0);

        let wanted: HashSet<u64> = [ino].into_iter().collect();
        let only = Wanted::Only {
            inodes: &wanted,
            stop_early: true,
        };
        let (table, _) = scan(only, 2).unwrap();
        assert_eq!(table.pairs(), 1);
        assert_eq!(table.holders(ino)[0].1.pid, me);
    }

    #[test]
    fn notes_say_what_is_hidden_and_how_to_see_it() {
        let denied = ScanReport {
            denied: 3,
            ..ScanReport::default()
        };
        let n = denied.notes(Some(2), false);
        assert_eq!(n.len(), 1);
        assert!(n[0].starts_with("2 sockets show no owner"), "{n:?}");
        assert!(
            n[0].contains("3 processes") && n[0].contains("CAP_SYS_PTRACE"),
            "{n:?}"
        );
        assert!(denied.notes(None, false)[0].starts_with("the open files of 3 processes"));
        // As root, a denial matters only when a socket is left without an owner.
        assert!(denied.notes(Some(0), true).is_empty());
        assert!(denied.notes(Some(1), true)[0].contains("even as root"));
        let vanished = ScanReport {
            vanished: 5,
            ..ScanReport::default()
        };
        assert!(
            vanished.notes(Some(0), false).is_empty(),
            "exiting is not an error"
        );
        let failed = ScanReport {
            failed: 1,
            first_failure: Some("/proc/7/fd: I/O error".into()),
            ..ScanReport::default()
        };
        assert!(failed.notes(Some(0), true)[0].contains("1 process: /proc/7/fd: I/O error"));
    }

    #[test]
    fn the_bucket_index_finds_what_a_binary_search_finds() {
        let h = |pid| Holder { pid, fd: 3 };
        let mut entries: Vec<(u64, Holder)> = (0..5000u64)
            .map(|i| (1_000_000 + i * i % 977_777, h(i as u32)))
            .collect();
        entries.push((u64::MAX - 1, h(1)));
        entries.push((5, h(2)));
        entries.push((5, h(3)));
        entries.sort_unstable();
        let t = InodeTable::from_sorted(entries.clone());
        for probe in [
            0u64,
            4,
            5,
            6,
            1_000_000,
            1_000_001,
            1_500_000,
            u64::MAX - 1,
            u64::MAX,
        ] {
            let want: Vec<_> = entries.iter().filter(|(i, _)| *i == probe).collect();
            let got: Vec<_> = t.holders(probe).iter().collect();
            assert_eq!(got, want, "inode {probe}");
        }
        for (inode, _) in &entries {
            assert!(!t.holders(*inode).is_empty());
        }
        assert!(InodeTable::default().holders(5).is_empty());
    }

    #[test]
    fn itoa_matches_display() {
        for n in [0u32, 7, 10, 4242, u32::MAX] {
            assert_eq!(itoa(n).as_str(), n.to_string());
        }
    }
}
