//! Facts about the processes that own sockets, for doctor: scheduler state, descriptor count
//! against RLIMIT_NOFILE, wchan; for release: /proc/PID/status (signal dispositions, uids,
//! capabilities — tcpscope's own too). Read only for the pids attribution found, after the
//! socket dump, so listing stays free of /proc work. A process that exits meanwhile is skipped.

use std::collections::BTreeMap;
use tcpscope_core::decode::process_text::{parse_status, ProcStatus};
use tcpscope_core::model::process::{parse_limits_nofile, parse_stat, ProcessInfo};
use tcpscope_core::Socket;

/// ProcessInfo for every pid that owns one of `sockets`, seeded from the owner records.
pub fn read_owner_processes(sockets: &[Socket]) -> BTreeMap<u32, ProcessInfo> {
    let mut out = BTreeMap::new();
    for o in sockets.iter().flat_map(|s| &s.owners) {
        out.entry(o.pid).or_insert_with(|| {
            let mut p = read_process(o.pid);
            p.comm.clone_from(&o.comm);
            p.cmdline.clone_from(&o.cmdline);
            p.user.clone_from(&o.user);
            p.container.clone_from(&o.container);
            p
        });
    }
    out
}

/// /proc/PID/status of `pid` (of tcpscope itself for `None`); `None` when it cannot be read
/// (the process exited).
pub fn read_status(pid: Option<u32>) -> Option<ProcStatus> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".to_string(),
    };
    std::fs::read_to_string(path).ok().map(|t| parse_status(&t))
}

/// True when `stat` of /proc/PID/fd gives the number of open descriptors in st_size (Linux 6.2
/// and later; before, st_size is always 0). Probed once on our own fd table, which is never empty.
pub fn fd_sizes_are_counts() -> bool {
    static PROBE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PROBE.get_or_init(|| rustix::fs::stat("/proc/self/fd").is_ok_and(|st| st.st_size > 0))
}

/// The number of open descriptors in an fd directory: from st_size where the kernel gives it,
/// else by listing the directory.
fn fd_count(fd_dir: &str) -> Option<u64> {
    if fd_sizes_are_counts() {
        return rustix::fs::stat(fd_dir).ok().map(|st| st.st_size as u64);
    }
    std::fs::read_dir(fd_dir).ok().map(|d| d.count() as u64)
}

/// What /proc says about `pid`; fields it cannot read stay `None`.
pub fn read_process(pid: u32) -> ProcessInfo {
    let dir = format!("/proc/{pid}");
    let read = |name: &str| std::fs::read_to_string(format!("{dir}/{name}")).ok();
    let fd_count = fd_count(&format!("{dir}/fd"));
    let stat = read("stat").as_deref().and_then(parse_stat);
    ProcessInfo {
        pid,
        comm: read("comm").unwrap_or_default().trim().to_string(),
        state: stat.map(|(state, _)| state),
        ppid: stat.map(|(_, ppid)| ppid),
        fd_count,
        fd_limit: read("limits").as_deref().and_then(parse_limits_nofile),
        wchan: read("wchan").map(|w| w.trim().to_string()),
        ..ProcessInfo::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let p = read_process(std::process::id());
        assert!(matches!(p.state, Some('R' | 'S')), "{p:?}");
        assert!(p.fd_count.unwrap() >= 3);
        assert!(p.fd_limit.unwrap() >= 1);
        assert!(!p.comm.is_empty());
    }

    #[test]
    fn a_vanished_process_is_empty_not_an_error() {
        let p = read_process(u32::MAX - 1);
        assert_eq!(p.state, None);
        assert_eq!(p.fd_count, None);
    }
}
