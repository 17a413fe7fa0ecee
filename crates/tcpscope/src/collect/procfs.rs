//! The fallback socket source: /proc/net/tcp and /proc/net/tcp6, parsed by
//! `tcpscope_core::decode::proc_net`. Slower than netlink and without cookies or tcp_info; used only
//! when sock_diag is unavailable or when asked for with `--source proc`. Lines the kernel
//! repeats while the table changes under the read are dropped. Also what /proc itself says about
//! who may see what: hidepid, and whether a denied process has in fact exited.

use anyhow::{Context, Result};
use rustix::fs::{openat, Mode, OFlags};
use rustix::io::Errno;
use std::os::fd::BorrowedFd;
use tcpscope_core::decode::proc_net::{parse_proc_net_tcp, ParseError};
use tcpscope_core::decode::process_text::parse_stat;
use tcpscope_core::{Family, Socket};

/// Read and parse the table of one family. A missing tcp6 table (IPv6 disabled) is empty.
pub fn read_tcp_table(family: Family) -> Result<(Vec<Socket>, Vec<ParseError>)> {
    let path = match family {
        Family::Inet => "/proc/net/tcp",
        Family::Inet6 => "/proc/net/tcp6",
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && family == Family::Inet6 => {
            return Ok((Vec::new(), Vec::new()))
        }
        Err(e) => return Err(e).with_context(|| format!("reading {path}; is /proc mounted?")),
    };
    let (mut socks, errors) = parse_proc_net_tcp(&text, family);
    // The kernel prints the table a page at a time; a socket opened or closed between two pages
    // shifts the rest, and a line can appear twice. No two sockets share local, peer and inode
    // (reuseport listeners differ in inode; TIME-WAIT and orphans differ in their 4-tuple).
    let mut seen = std::collections::HashSet::with_capacity(socks.len());
    socks.retain(|s| seen.insert((s.local, s.peer, s.inode)));
    Ok((socks, errors))
}

/// True when process `pid` has exited (reaped, or a zombie). The kernel answers EACCES, not
/// ENOENT, for an fd or namespace link of a task reaped while the link was being read
/// (`get_proc_task` finds nothing, and the permission check fails): a denial is believed only
/// for a process that still runs. Its stat being unreadable for another reason (hidepid=1) is
/// not an exit.
pub fn exited(proc_dir: BorrowedFd<'_>, pid: u32) -> bool {
    let fd = match openat(
        proc_dir,
        format!("{pid}/stat").as_str(),
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(e) => return matches!(e, Errno::NOENT | Errno::SRCH),
    };
    let mut buf = [0u8; 512];
    match rustix::io::read(&fd, &mut buf) {
        Ok(n) => parse_stat(&String::from_utf8_lossy(&buf[..n]))
            .is_some_and(|(state, _)| matches!(state, 'Z' | 'X' | 'x')),
        Err(e) => matches!(e, Errno::NOENT | Errno::SRCH),
    }
}

/// How /proc hides other users' processes from this one, from its mount options: `Some` with
/// the option (`hidepid=invisible`, `hidepid=2`, `hidepid=ptraceable`, `hidepid=4`) when
/// processes are left out of /proc altogether (`hidepid=1`/`noaccess` shows them and denies
/// their files, which the walk counts as denied). Root (CAP_SYS_PTRACE) sees them anyway.
pub fn proc_hides_processes() -> Option<String> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    hidepid_of(&mountinfo)
}

/// The hiding `hidepid` option of the /proc mount in the text of /proc/self/mountinfo (the
/// last mount on /proc wins, as the kernel stacks them).
fn hidepid_of(mountinfo: &str) -> Option<String> {
    let mut found = None;
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(sep) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        if fields.get(4) != Some(&"/proc") || fields.get(sep + 1) != Some(&"proc") {
            continue;
        }
        let options = fields.get(sep + 3).copied().unwrap_or("");
        found = options
            .split(',')
            .find(|o| {
                matches!(
                    *o,
                    "hidepid=2" | "hidepid=invisible" | "hidepid=4" | "hidepid=ptraceable"
                )
            })
            .map(str::to_string);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::{exited, hidepid_of};

    #[test]
    fn a_running_process_has_not_exited_a_zombie_and_a_reaped_one_have() {
        let proc_dir = std::fs::File::open("/proc").unwrap();
        let proc_dir = std::os::fd::AsFd::as_fd(&proc_dir);
        assert!(!exited(proc_dir, std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Not reaped yet: a zombie once it has run (wait for that without reaping it).
        let mut info = std::mem::MaybeUninit::<libc::siginfo_t>::zeroed();
        // SAFETY: waitid writes into `info`; WNOWAIT leaves the child to be reaped below.
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid,
                info.as_mut_ptr(),
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        assert_eq!(r, 0);
        assert!(exited(proc_dir, pid), "a zombie has exited");
        child.wait().unwrap();
        assert!(exited(proc_dir, pid), "a reaped process has exited");
    }

    #[test]
    fn hidepid_is_read_from_the_proc_mount() {
        let plain = "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n";
        assert_eq!(hidepid_of(plain), None);
        let hidden =
            format!("{plain}99 22 0:50 / /proc rw,relatime - proc proc rw,hidepid=invisible\n");
        assert_eq!(hidepid_of(&hidden).as_deref(), Some("hidepid=invisible"));
        let elsewhere = "30 1 0:60 / /mnt/proc rw - proc proc rw,hidepid=2\n";
        assert_eq!(hidepid_of(elsewhere), None);
        let noaccess = "22 1 0:21 / /proc rw - proc proc rw,hidepid=noaccess\n";
        assert_eq!(
            hidepid_of(noaccess),
            None,
            "noaccess shows the processes: counted as denied"
        );
    }
}
