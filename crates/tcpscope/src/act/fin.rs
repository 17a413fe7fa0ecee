//! The FIN: borrow the owner's descriptor with pidfd_getfd (Linux 5.6; ptrace access to the
//! owner: root, CAP_SYS_PTRACE, or the same user) and shut the socket down for both directions.
//! The kernel sends the FIN the program never sent (CLOSE-WAIT -> LAST-ACK -> gone). The owner
//! keeps its own descriptor — its leak is not fixed, only the connection is ended — and sees
//! end of stream on read and EPIPE on write. The duplicate is closed at once.
//!
//! Before shutting anything down, the duplicate's SO_COOKIE must equal the listed socket's: a
//! descriptor number the program reused for another socket is never touched.

use rustix::io::Errno;
use rustix::net::{sockopt, Shutdown};
use rustix::process::{pidfd_getfd, pidfd_open, Pid, PidfdFlags, PidfdGetfdFlags};
use std::os::fd::RawFd;

/// Why the FIN was not sent.
#[derive(Debug)]
pub enum FinError {
    /// The descriptor listed no longer leads to the socket (the process exited, closed it, or
    /// reused the number): the caller looks the socket up again to say what became of it.
    NotThere(String),
    /// The kernel refused (permissions, an old kernel, ...).
    Failed(Errno),
}

/// Shut down the socket `pid` holds as `fd`, if that is still the socket with `cookie`.
pub fn shutdown_through(pid: u32, fd: u32, cookie: u64) -> Result<(), FinError> {
    let not_there = |why: String| Err(FinError::NotThere(why));
    let Some(target) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return not_there(format!("{pid} is not a process id"));
    };
    let pidfd = match pidfd_open(target, PidfdFlags::empty()) {
        Ok(p) => p,
        Err(Errno::SRCH) => return not_there(format!("pid {pid} exited")),
        Err(e) => return Err(FinError::Failed(e)),
    };
    let Ok(raw) = RawFd::try_from(fd) else {
        return not_there(format!("{fd} is not a descriptor number"));
    };
    let dup = match pidfd_getfd(&pidfd, raw, PidfdGetfdFlags::empty()) {
        Ok(d) => d,
        Err(Errno::BADF) => return not_there(format!("pid {pid} closed fd {fd}")),
        Err(Errno::SRCH) => return not_there(format!("pid {pid} exited")),
        Err(e) => return Err(FinError::Failed(e)),
    };
    match sockopt::socket_cookie(&dup) {
        Ok(c) if c == cookie => {}
        Ok(_) | Err(Errno::NOTSOCK | Errno::NOPROTOOPT) => {
            return not_there(format!("pid {pid}'s fd {fd} is another socket or file now"))
        }
        Err(e) => return Err(FinError::Failed(e)),
    }
    match rustix::net::shutdown(&dup, Shutdown::Both) {
        Ok(()) => Ok(()),
        // The socket closed between the check and the shutdown.
        Err(Errno::NOTCONN) => not_there(format!("the socket behind pid {pid}'s fd {fd} closed")),
        Err(e) => Err(FinError::Failed(e)),
    }
}

/// Whether any of `holders` (pid, fd) still has socket `inode` open there (readlink of
/// /proc/PID/fd/N); `None` when there are no holders to check.
pub fn still_held(holders: &[(u32, u32)], inode: u64) -> Option<bool> {
    if holders.is_empty() || inode == 0 {
        return None;
    }
    let want = format!("socket:[{inode}]");
    Some(holders.iter().any(|(pid, fd)| {
        std::fs::read_link(format!("/proc/{pid}/fd/{fd}"))
            .is_ok_and(|l| l.as_os_str().as_encoded_bytes() == want.as_bytes())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;

    /// Our own process is always ptrace-able by us: the FIN path works without root.
    #[test]
    fn a_fin_through_our_own_descriptor_ends_the_peer_stream() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (a, _) = l.accept().unwrap();
        let cookie = sockopt::socket_cookie(&a).unwrap();
        let me = std::process::id();
        let fd = a.as_raw_fd() as u32;
        assert_eq!(still_held(&[(me, fd)], inode_of(&a)), Some(true));
        // A wrong cookie: refused, nothing shut down.
        assert!(matches!(
            shutdown_through(me, fd, cookie ^ 1),
            Err(FinError::NotThere(_))
        ));
        shutdown_through(me, fd, cookie).unwrap();
        let mut buf = [0u8; 1];
        assert_eq!(
            std::io::Read::read(&mut &c, &mut buf).unwrap(),
            0,
            "the peer sees EOF"
        );
        assert!(matches!(
            shutdown_through(me, 999_999, cookie),
            Err(FinError::NotThere(_))
        ));
    }

    fn inode_of(s: &TcpStream) -> u64 {
        rustix::fs::fstat(s).unwrap().st_ino
    }
}
