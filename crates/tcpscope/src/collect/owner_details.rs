//! The details of the processes that hold wanted sockets — comm, cmdline, user, container,
//! systemd unit — read once per process, and copied into each socket's `owners`. Kept apart from
//! the fd walk in [`owners`](super::owners): the walk is about speed over 100k fds, this is about
//! a handful of small files per holding process.

use super::owners::InodeTable;
use std::collections::HashMap;
use std::io;
use tcpscope_core::decode::cgroup::parse_cgroup_file;
use tcpscope_core::decode::process_text::{
    cmdline_text, comm_text, parse_passwd, status_euid, user_name,
};
use tcpscope_core::model::socket::{Container, Owner};
use tcpscope_core::Socket;

/// What is known about one process that holds a wanted socket.
#[derive(Debug, Clone)]
struct ProcInfo {
    comm: String,
    cmdline: String,
    user: String,
    container: Option<Container>,
    unit: Option<String>,
}

/// The details of the processes that hold wanted sockets, read once per process.
#[derive(Default)]
pub struct ProcessDetails {
    /// `None` for a process that exited before its details were read.
    cache: HashMap<u32, Option<ProcInfo>>,
    /// /etc/passwd, read when the first user name is needed.
    users: Option<HashMap<u32, String>>,
}

impl ProcessDetails {
    /// Read the details of every process that holds one of `sockets` (and no other).
    pub fn load(sockets: &[Socket], table: &InodeTable) -> ProcessDetails {
        let mut pids: Vec<u32> = sockets
            .iter()
            .filter(|s| s.inode != 0)
            .flat_map(|s| table.holders(s.inode).iter().map(|(_, h)| h.pid))
            .collect();
        pids.sort_unstable();
        pids.dedup();
        let mut users: Option<HashMap<u32, String>> = None;
        let cache = pids
            .into_iter()
            .map(|pid| (pid, read_info(pid, &mut users)))
            .collect();
        ProcessDetails { cache, users }
    }

    /// Make sure the details of every holder of `inode` have been read.
    pub fn ensure_holders_of(&mut self, inode: u64, table: &InodeTable) {
        if inode == 0 {
            return;
        }
        for (_, h) in table.holders(inode) {
            if !self.cache.contains_key(&h.pid) {
                let info = read_info(h.pid, &mut self.users);
                self.cache.insert(h.pid, info);
            }
        }
    }

    /// Fill `socket.owners` from the table. Returns false when the socket has an inode that no
    /// visible process holds.
    pub fn attach(&self, socket: &mut Socket, table: &InodeTable) -> bool {
        if socket.inode == 0 {
            return true;
        }
        socket.owners.clear();
        for (_, h) in table.holders(socket.inode) {
            if let Some(Some(info)) = self.cache.get(&h.pid) {
                socket.owners.push(Owner {
                    pid: h.pid,
                    comm: info.comm.clone(),
                    cmdline: info.cmdline.clone(),
                    user: info.user.clone(),
                    fd: h.fd,
                    container: info.container.clone(),
                    unit: info.unit.clone(),
                });
            }
        }
        !socket.owners.is_empty()
    }

    /// [`ProcessDetails::attach`] every socket, spread over `threads` threads (copying the
    /// details into 100k sockets is worth splitting). Returns how many sockets stay unattributed.
    pub fn attach_all(&self, sockets: &mut [Socket], table: &InodeTable, threads: usize) -> usize {
        let per = sockets.len().div_ceil(threads.max(1)).max(4096);
        std::thread::scope(|s| {
            let handles: Vec<_> = sockets
                .chunks_mut(per)
                .map(|chunk| {
                    s.spawn(move || {
                        let mut missing = 0usize;
                        for sock in chunk.iter_mut() {
                            if !self.attach(sock, table) {
                                missing += 1;
                            }
                        }
                        missing
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
        })
    }
}

/// Read one process's details; `None` when it has exited.
fn read_info(pid: u32, users: &mut Option<HashMap<u32, String>>) -> Option<ProcInfo> {
    let base = format!("/proc/{pid}");
    let comm = match std::fs::read(format!("{base}/comm")) {
        Ok(c) => comm_text(&c),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
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
    let users = users.get_or_insert_with(|| {
        parse_passwd(&std::fs::read_to_string("/etc/passwd").unwrap_or_default())
    });
    Some(ProcInfo {
        comm,
        cmdline,
        user: uid.map(|u| user_name(users, u)).unwrap_or_default(),
        container: cgroup.container,
        unit: cgroup.unit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcpscope_core::{Endpoint, Family, TcpState};

    fn sock(inode: u64) -> Socket {
        let ep = |p| Endpoint::new("127.0.0.1".parse().unwrap(), p);
        Socket {
            inode,
            ..Socket::new(TcpState::Established, Family::Inet, ep(1), ep(2))
        }
    }

    #[test]
    fn a_process_that_exited_is_skipped_not_an_error() {
        let me = std::process::id();
        let gone = u32::MAX - 1;
        let table = InodeTable::from_triples(&[(10, me, 3), (10, gone, 4), (11, gone, 5)]);
        let mut details = ProcessDetails::default();
        let mut shared = sock(10);
        details.ensure_holders_of(shared.inode, &table);
        assert!(details.attach(&mut shared, &table));
        assert_eq!(shared.owners.len(), 1, "only the living holder");
        assert_eq!((shared.owners[0].pid, shared.owners[0].fd), (me, 3));
        assert!(!shared.owners[0].comm.is_empty());
        assert!(!shared.owners[0].user.is_empty());

        let mut orphan = sock(11);
        details.ensure_holders_of(orphan.inode, &table);
        assert!(!details.attach(&mut orphan, &table), "no visible owner");
        let mut kernel = sock(0);
        assert!(
            details.attach(&mut kernel, &table),
            "inode 0 needs no owner"
        );
    }

    #[test]
    fn load_then_attach_in_parallel() {
        let me = std::process::id();
        let triples: Vec<(u64, u32, u32)> = (1..=10_000u64).map(|i| (i, me, i as u32)).collect();
        let table = InodeTable::from_triples(&triples);
        let mut sockets: Vec<Socket> = (0..=10_000u64).map(sock).collect();
        let details = ProcessDetails::load(&sockets, &table);
        assert_eq!(details.attach_all(&mut sockets, &table, 2), 0);
        assert!(sockets[1..]
            .iter()
            .all(|s| s.owners.len() == 1 && s.owners[0].fd as u64 == s.inode));
    }
}
