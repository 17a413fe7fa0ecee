//! Who each owning process is — comm, cmdline, user, container, systemd unit — read once per
//! process and shared by every socket it holds (`Arc<ProcessIdentity>`), so a server with 100k
//! connections costs one copy of its command line, not 100k.
//!
//! The cache lives as long as the collector: a live command re-reads a process only when its pid
//! was reused (the start time in /proc/PID/stat changed) or on a periodic refresh, and /etc/passwd
//! only when it changed.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::SystemTime;
use tcpscope_core::analyze::fasthash::FastMap;
use tcpscope_core::decode::cgroup::parse_cgroup_file;
use tcpscope_core::decode::process_text::{
    cmdline_text, comm_text, parse_passwd, parse_start_time, socket_inode, status_euid, user_name,
};
use tcpscope_core::model::process::ProcessIdentity;

/// One cached process: its start time (to notice pid reuse) and who it is; `None` when it had
/// exited by the time it was read.
#[derive(Debug, Clone)]
struct Entry {
    start_time: Option<u64>,
    identity: Option<Arc<ProcessIdentity>>,
}

/// pid -> identity, and the user names from /etc/passwd.
#[derive(Default)]
pub struct Identities {
    cache: FastMap<u32, Entry>,
    users: Option<(Option<SystemTime>, HashMap<u32, String>)>,
}

impl Identities {
    /// Who `pid` is, reading it the first time it is asked for; `None` when it has exited.
    pub fn get(&mut self, pid: u32) -> Option<Arc<ProcessIdentity>> {
        if let Some(e) = self.cache.get(&pid) {
            return e.identity.clone();
        }
        let entry = self.read(pid);
        let id = entry.identity.clone();
        self.cache.insert(pid, entry);
        id
    }

    /// Who holds socket `inode` as descriptor `fd` of `pid`, the holder the /proc walk found.
    /// The first time `pid` is read, its descriptor is read again afterwards: a process that
    /// exited between the walk and this read, whose pid another process then took, would
    /// otherwise lend that process's name to the socket. `None` when `pid` no longer holds it.
    pub fn get_holder(&mut self, pid: u32, fd: u32, inode: u64) -> Option<Arc<ProcessIdentity>> {
        if let Some(e) = self.cache.get(&pid) {
            return e.identity.clone();
        }
        let entry = self.read(pid);
        let holds = std::fs::read_link(format!("/proc/{pid}/fd/{fd}"))
            .is_ok_and(|l| socket_inode(l.as_os_str().as_encoded_bytes()) == Some(inode));
        if !holds {
            // Not cached: whoever has this pid now may be asked about on its own.
            return None;
        }
        let id = entry.identity.clone();
        self.cache.insert(pid, entry);
        id
    }

    /// Forget every process not in `keep` and every process whose pid was reused; with
    /// `everything`, forget all (a periodic refresh: comm and cmdline can change with exec).
    pub fn revalidate(&mut self, keep: impl Fn(u32) -> bool, everything: bool) {
        if everything {
            self.cache.clear();
            return;
        }
        self.cache.retain(|pid, e| {
            keep(*pid) && e.start_time.is_some() && read_start_time(*pid) == e.start_time
        });
    }

    /// Forget `pid` (it exited or exec'd another program): it is read again when next asked.
    pub fn forget(&mut self, pid: u32) {
        self.cache.remove(&pid);
    }

    fn read(&mut self, pid: u32) -> Entry {
        let base = format!("/proc/{pid}");
        let start_time = read_start_time(pid);
        let comm = match std::fs::read(format!("{base}/comm")) {
            Ok(c) => comm_text(&c),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Entry {
                    start_time,
                    identity: None,
                }
            }
            Err(_) => String::from("?"),
        };
        let cmdline = std::fs::read(format!("{base}/cmdline"))
            .map(|c| cmdline_text(&c))
            .unwrap_or_default();
        let uid = std::fs::read_to_string(format!("{base}/status"))
            .ok()
            .and_then(|s| status_euid(&s));
        let cgroup = std::fs::read_to_string(format!("{base}/cgroup"))
            .map(|t| parse_cgroup_file(&t))
            .unwrap_or_default();
        let user = uid.map(|u| user_name(self.users(), u)).unwrap_or_default();
        Entry {
            start_time,
            identity: Some(Arc::new(ProcessIdentity {
                comm,
                cmdline,
                user,
                container: cgroup.container,
                unit: cgroup.unit,
            })),
        }
    }

    /// /etc/passwd, re-read when its modification time changed.
    fn users(&mut self) -> &HashMap<u32, String> {
        let mtime = std::fs::metadata("/etc/passwd")
            .and_then(|m| m.modified())
            .ok();
        let stale = !matches!(&self.users, Some((t, _)) if *t == mtime);
        if stale {
            let map = parse_passwd(&std::fs::read_to_string("/etc/passwd").unwrap_or_default());
            self.users = Some((mtime, map));
        }
        match &self.users {
            Some((_, map)) => map,
            None => unreachable!("just filled"),
        }
    }
}

/// The start time of `pid` (field 22 of /proc/PID/stat, clock ticks since boot).
fn read_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start_time(&stat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_once_and_shares_it() {
        let me = std::process::id();
        let mut ids = Identities::default();
        let a = ids.get(me).expect("this process exists");
        let b = ids.get(me).expect("cached");
        assert!(Arc::ptr_eq(&a, &b), "one identity per process");
        assert!(!a.comm.is_empty() && !a.user.is_empty());
        assert!(ids.get(u32::MAX - 1).is_none(), "an exited process is None");
        ids.revalidate(|p| p == me, false);
        assert!(Arc::ptr_eq(&a, &ids.get(me).expect("kept")));
        ids.revalidate(|_| true, true);
        assert!(!Arc::ptr_eq(&a, &ids.get(me).expect("re-read")));
    }
}
