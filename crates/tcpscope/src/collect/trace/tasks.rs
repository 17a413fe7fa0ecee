//! The processes that ran a state change in their own context: command name, network namespace,
//! and whether it is a kernel thread (a kworker closing sockets of a dying namespace owns none
//! of them). Read once per pid from /proc and kept up to date by the comm and exit records the
//! ring buffers carry (`comm(true)`, `task(true)`), so a pid reused by a new process is not
//! named after the old one.

use std::collections::HashMap;
use std::time::{Duration, Instant};
use tcpscope_core::decode::process_text::{comm_text, namespace_inode, parse_stat};

/// What is known about one process.
#[derive(Debug, Clone, Default)]
pub struct Task {
    pub comm: Option<String>,
    pub netns_inode: Option<u64>,
    pub kernel_thread: bool,
}

/// Processes by pid. Entries leave a while after the process exits: the exit record can be
/// read from one CPU's ring before the process's last changes are read from another's.
#[derive(Default)]
pub struct Tasks {
    cache: HashMap<u32, Task>,
    exits: Vec<(Instant, u32)>,
}

/// How long an exited process stays known.
const LINGER: Duration = Duration::from_secs(1);

/// Entries kept before the cache is cleared (a host that forks without end).
const MAX: usize = 65_536;

impl Tasks {
    pub fn get(&mut self, pid: u32) -> &Task {
        if self.cache.len() >= MAX && !self.cache.contains_key(&pid) {
            self.cache.clear();
        }
        self.cache.entry(pid).or_insert_with(|| read(pid))
    }

    /// A COMM record: the process renamed itself or exec'd.
    pub fn renamed(&mut self, pid: u32, comm: String) {
        if let Some(t) = self.cache.get_mut(&pid) {
            t.comm = Some(comm);
        }
    }

    /// An EXIT record of the process (its last thread).
    pub fn exited(&mut self, pid: u32) {
        let now = Instant::now();
        let cache = &mut self.cache;
        self.exits.retain(|(at, p)| {
            let keep = now.duration_since(*at) < LINGER;
            if !keep {
                cache.remove(p);
            }
            keep
        });
        self.exits.push((now, pid));
    }
}

fn read(pid: u32) -> Task {
    let base = format!("/proc/{pid}");
    let comm = std::fs::read(format!("{base}/comm"))
        .ok()
        .map(|c| comm_text(&c));
    let netns_inode = std::fs::read_link(format!("{base}/ns/net"))
        .ok()
        .and_then(|l| namespace_inode(l.as_os_str().as_encoded_bytes(), "net"));
    let ppid = std::fs::read_to_string(format!("{base}/stat"))
        .ok()
        .and_then(|s| parse_stat(&s))
        .map(|(_, ppid)| ppid);
    Task {
        comm,
        netns_inode,
        kernel_thread: pid == 2 || ppid == Some(2),
    }
}
