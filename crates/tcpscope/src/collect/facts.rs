//! What tcpscope needs to know about processes, read from /proc: for doctor, the scheduler
//! state, parent, descriptor count against RLIMIT_NOFILE and wchan of the processes a finding
//! names ([`read_facts`]), and which processes are near their descriptor limit at all
//! ([`near_fd_limit`]) — found from the size of each /proc/PID/fd directory, without reading a
//! single descriptor; for release, /proc/PID/status (signal dispositions, uids, capabilities —
//! tcpscope's own too: [`read_status`]). A process that exits meanwhile is skipped, never an
//! error.

use std::sync::Arc;
use tcpscope_core::decode::process_text::{
    parse_decimal, parse_limits_nofile, parse_stat, parse_status, ProcStatus,
};
use tcpscope_core::model::process::{ProcessFacts, ProcessIdentity};

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

/// The number of open descriptors of `pid`: from st_size where the kernel gives it, else by
/// listing the directory (names only, no readlink).
pub fn fd_count(pid: u32) -> Option<u64> {
    let dir = format!("/proc/{pid}/fd");
    if fd_sizes_are_counts() {
        return rustix::fs::stat(dir.as_str())
            .ok()
            .map(|st| st.st_size as u64);
    }
    std::fs::read_dir(dir).ok().map(|d| d.count() as u64)
}

/// The soft RLIMIT_NOFILE of `pid` (`None` when unlimited or unreadable).
pub fn fd_limit(pid: u32) -> Option<u64> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    parse_limits_nofile(&limits)
}

/// What /proc says about `pid`, who is `identity`; fields it cannot read stay `None`.
pub fn read_facts(pid: u32, identity: Arc<ProcessIdentity>) -> ProcessFacts {
    let dir = format!("/proc/{pid}");
    let read = |name: &str| std::fs::read_to_string(format!("{dir}/{name}")).ok();
    let stat = read("stat").as_deref().and_then(parse_stat);
    ProcessFacts {
        state: stat.map(|(state, _)| state),
        ppid: stat.map(|(_, ppid)| ppid),
        fd_count: fd_count(pid),
        fd_limit: fd_limit(pid),
        wchan: read("wchan").map(|w| w.trim().to_string()),
        ..ProcessFacts::new(pid, identity)
    }
}

/// Below this many descriptors a process is not worth reading the limits of (no real program
/// runs with a descriptor limit under 20).
const FEW_FDS: u64 = 16;

/// Every process whose descriptor use is at least `share` of its soft limit: (pid, count, limit).
/// Costs one stat per process plus one small read for the busier ones.
pub fn near_fd_limit(share: f64) -> Vec<(u32, u64, u64)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = parse_decimal(entry.file_name().as_encoded_bytes()) else {
            continue;
        };
        let Some(count) = fd_count(pid).filter(|c| *c >= FEW_FDS) else {
            continue;
        };
        if let Some(limit) = fd_limit(pid).filter(|l| *l > 0) {
            if count as f64 >= share * limit as f64 {
                out.push((pid, count, limit));
            }
        }
    }
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let p = read_facts(std::process::id(), ProcessIdentity::named("me"));
        assert!(matches!(p.state, Some('R' | 'S')), "{p:?}");
        assert!(p.fd_count.unwrap() >= 3);
        assert!(p.fd_limit.unwrap() >= 1);
    }

    #[test]
    fn a_vanished_process_is_empty_not_an_error() {
        let p = read_facts(u32::MAX - 1, ProcessIdentity::named("gone"));
        assert_eq!(p.state, None);
        assert_eq!(p.fd_count, None);
    }

    #[test]
    fn a_process_near_its_limit_is_found() {
        // A share of 0 lists every process with more than a few descriptors open: hold enough.
        let _held: Vec<std::fs::File> = (0..FEW_FDS)
            .map(|_| std::fs::File::open("/dev/null").expect("/dev/null"))
            .collect();
        let me = std::process::id();
        let all = near_fd_limit(0.0);
        let mine = all
            .iter()
            .find(|(pid, _, _)| *pid == me)
            .expect("this process");
        assert!(mine.1 >= FEW_FDS && mine.2 >= mine.1, "{mine:?}");
        assert!(near_fd_limit(2.0).is_empty(), "nobody uses twice its limit");
    }
}
