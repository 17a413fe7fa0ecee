//! Facts about a process that holds sockets, as doctor needs them: its scheduler state (a
//! stopped or hung program cannot close anything), its descriptor use against RLIMIT_NOFILE, and
//! where it sleeps. Recorded in the snapshot so a replayed diagnosis sees what the live one saw.

use crate::model::socket::Container;
use serde::{Deserialize, Serialize};

/// One process, read from /proc/PID/{stat,limits,wchan,fd}.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessInfo {
    pub pid: u32,
    pub comm: String,
    #[serde(default)]
    pub cmdline: String,
    #[serde(default)]
    pub user: String,
    /// The state letter of /proc/PID/stat: R, S, D, T, t, Z, I, X.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<char>,
    /// The parent's pid (siblings forked by one server are diagnosed together).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ppid: Option<u32>,
    /// Open file descriptors (st_size of /proc/PID/fd).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fd_count: Option<u64>,
    /// The soft RLIMIT_NOFILE ("Max open files" in /proc/PID/limits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fd_limit: Option<u64>,
    /// The kernel function the process sleeps in (/proc/PID/wchan), when readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wchan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<Container>,
}

impl ProcessInfo {
    /// The state letter in words, with what it means for closing sockets.
    pub fn state_text(&self) -> Option<&'static str> {
        Some(match self.state? {
            'R' => "running",
            'S' => "sleeping",
            'D' => "in uninterruptible sleep (blocked in the kernel, usually on I/O)",
            'T' => "stopped (SIGSTOP/SIGTSTP): it cannot run, so it cannot close anything",
            't' => "stopped by a debugger (tracing stop)",
            'Z' => "a zombie (exited, not yet reaped by its parent)",
            'X' => "dead",
            'I' => "idle",
            _ => "in an unknown state",
        })
    }

    /// True when the process cannot make progress on its own (stopped, traced, zombie, dead).
    pub fn is_stuck(&self) -> bool {
        matches!(self.state, Some('T' | 't' | 'Z' | 'X'))
    }

    /// Descriptor use as a fraction of the soft limit.
    pub fn fd_usage(&self) -> Option<f64> {
        match (self.fd_count, self.fd_limit) {
            (Some(n), Some(lim)) if lim > 0 => Some(n as f64 / lim as f64),
            _ => None,
        }
    }
}

/// The state letter and the parent pid from the text of /proc/PID/stat (fields 3 and 4, after
/// the parenthesised comm, which may itself contain spaces and parentheses).
pub fn parse_stat(stat: &str) -> Option<(char, u32)> {
    let mut after = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = after.next()?.chars().next()?;
    let ppid = after.next()?.parse().ok()?;
    Some((state, ppid))
}

/// The soft "Max open files" limit from the text of /proc/PID/limits (`None` for unlimited).
pub fn parse_limits_nofile(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line["Max open files".len()..].split_whitespace().next()?;
    soft.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_and_limits() {
        assert_eq!(
            parse_stat("4242 (my (odd) prog) T 1 4242 ..."),
            Some(('T', 1))
        );
        assert_eq!(parse_stat("1 (init) S 0"), Some(('S', 0)));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat("5 (x) S notapid"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \nMax cpu time              unlimited            unlimited            seconds   \nMax open files            1024                 20000                files     \n";
        assert_eq!(parse_limits_nofile(limits), Some(1024));
        assert_eq!(
            parse_limits_nofile("Max open files unlimited unlimited files"),
            None
        );
    }

    #[test]
    fn stuck_and_usage() {
        let p = ProcessInfo {
            state: Some('T'),
            fd_count: Some(900),
            fd_limit: Some(1000),
            ..ProcessInfo::default()
        };
        assert!(p.is_stuck());
        assert_eq!(p.fd_usage(), Some(0.9));
        assert!(p.state_text().unwrap().contains("cannot close"));
    }
}
