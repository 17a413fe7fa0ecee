//! Ctrl-C, SIGTERM and SIGHUP end a trace gracefully (the summary line is still printed): they
//! are blocked and read from a signalfd that sits in the same poll(2) as the ring buffers, so
//! a signal wakes the loop at once and never interrupts a write half-way.

use anyhow::{bail, Result};
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};

/// The blocked signals, readable as an fd.
pub struct StopSignals {
    fd: OwnedFd,
}

impl StopSignals {
    /// Block SIGINT, SIGTERM and SIGHUP in this thread (and threads it starts later) and open
    /// a signalfd for them.
    pub fn block() -> Result<StopSignals> {
        // SAFETY: sigset_t is plain data initialised by sigemptyset before use; signalfd gets
        // a valid set and returns a new fd that we own.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::sigaddset(&mut set, s);
            }
            if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
                bail!("blocking signals failed");
            }
            let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
            if fd < 0 {
                bail!("signalfd failed: {}", std::io::Error::last_os_error());
            }
            Ok(StopSignals {
                fd: OwnedFd::from_raw_fd(fd),
            })
        }
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// True when a stop signal arrived (it is consumed).
    pub fn arrived(&self) -> bool {
        let mut buf = [0u8; 128]; // sizeof(struct signalfd_siginfo)
        matches!(rustix::io::read(&self.fd, &mut buf), Ok(n) if n > 0)
    }
}
