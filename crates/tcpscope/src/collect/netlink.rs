//! Socket I/O for NETLINK_SOCK_DIAG dumps: open the socket, send a request, receive buffers.
//!
//! The bytes themselves are encoded and decoded by `tcpscope_core::inet_diag` (pure, tested with
//! fixtures); this file only moves them. A netlink socket belongs to the network namespace it was
//! created in, so to read another namespace create the [`DiagSocket`] from a thread that entered it.

use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};
use std::io;
use std::os::fd::OwnedFd;
use tcpscope_core::inet_diag::{self, Item, Request};
use tcpscope_core::Socket;

/// Receive buffer: the kernel fills at most ~32 KiB per dump message batch; twice that is safe.
const RECV_BUF: usize = 64 * 1024;

/// What a dump saw besides the sockets it delivered.
#[derive(Debug, Default, Clone)]
pub struct DumpStats {
    pub sockets: u64,
    /// The kernel flagged the dump as interrupted (tables changed while it ran).
    pub interrupted: bool,
    /// Records that could not be decoded (first few reasons).
    pub skipped: Vec<String>,
}

/// Why a dump failed.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("netlink sock_diag is not available here ({0}); tcpscope falls back to /proc/net/tcp")]
    Unavailable(io::Error),
    #[error("the kernel rejected the sock_diag request: {0}")]
    Kernel(io::Error),
    #[error("reading the sock_diag dump failed: {0}")]
    Io(io::Error),
    /// The consumer of the sockets failed (for example, stdout was closed).
    #[error(transparent)]
    Consumer(io::Error),
}

/// An open NETLINK_SOCK_DIAG socket.
pub struct DiagSocket {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

impl DiagSocket {
    /// Open a sock_diag socket in the calling thread's network namespace.
    pub fn open() -> Result<DiagSocket, DumpError> {
        let fd = rustix::net::socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::CLOEXEC,
            Some(rustix::net::netlink::SOCK_DIAG),
        )
        .map_err(|e| DumpError::Unavailable(e.into()))?;
        Ok(DiagSocket {
            fd,
            seq: 0,
            buf: vec![0; RECV_BUF],
        })
    }

    fn send_request(&mut self, req: &Request) -> Result<(), DumpError> {
        self.seq = self.seq.wrapping_add(1);
        let bytes = inet_diag::encode_request(&Request {
            seq: self.seq,
            ..req.clone()
        });
        rustix::net::send(&self.fd, &bytes, SendFlags::empty())
            .map_err(|e| DumpError::Io(e.into()))?;
        Ok(())
    }

    fn recv(&mut self) -> Result<usize, DumpError> {
        loop {
            match rustix::net::recv(&self.fd, &mut self.buf[..], RecvFlags::empty()) {
                Ok((n, _)) => return Ok(n),
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(DumpError::Io(e.into())),
            }
        }
    }

    /// Dump the sockets `req` selects, handing each to `each` as it is decoded.
    pub fn dump(
        &mut self,
        req: &Request,
        each: &mut dyn FnMut(Socket) -> io::Result<()>,
    ) -> Result<DumpStats, DumpError> {
        self.send_request(req)?;
        let mut stats = DumpStats::default();
        loop {
            let n = self.recv()?;
            if n == 0 {
                return Ok(stats);
            }
            let mut finished: Option<Result<(), DumpError>> = None;
            let mut consumer_err = None;
            let flags = inet_diag::parse_buffer(&self.buf[..n], |item| match item {
                Item::Socket(s) => {
                    stats.sockets += 1;
                    match each(*s) {
                        Ok(()) => true,
                        Err(e) => {
                            consumer_err = Some(e);
                            false
                        }
                    }
                }
                Item::Done { error } => {
                    finished = Some(if error < 0 {
                        Err(DumpError::Kernel(io::Error::from_raw_os_error(-error)))
                    } else {
                        Ok(())
                    });
                    false
                }
                Item::Error { errno } => {
                    finished = Some(Err(DumpError::Kernel(io::Error::from_raw_os_error(
                        -errno,
                    ))));
                    false
                }
                Item::Skipped { reason } => {
                    if stats.skipped.len() < 5 {
                        stats.skipped.push(reason);
                    }
                    true
                }
            });
            stats.interrupted |= flags.interrupted;
            if let Some(e) = consumer_err {
                // Dropping the socket discards the rest of the dump; reopen for the next one.
                *self = DiagSocket::open()?;
                return Err(DumpError::Consumer(e));
            }
            if let Some(done) = finished {
                return done.map(|()| stats);
            }
        }
    }

    /// Receive a whole dump without decoding any socket: the floor every listing is measured
    /// against. Returns the number of bytes received.
    pub fn dump_bare(&mut self, req: &Request) -> Result<u64, DumpError> {
        self.send_request(req)?;
        let mut total = 0u64;
        loop {
            let n = self.recv()?;
            total += n as u64;
            if n == 0 || ends_with_done(&self.buf[..n]) {
                return Ok(total);
            }
        }
    }
}

/// True when the last netlink message in `buf` is NLMSG_DONE or NLMSG_ERROR (headers only).
fn ends_with_done(buf: &[u8]) -> bool {
    let mut off = 0;
    let mut last = 0u16;
    while off + 16 <= buf.len() {
        let len = u32::from_ne_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]]) as usize;
        last = u16::from_ne_bytes([buf[off + 4], buf[off + 5]]);
        if len < 16 {
            break;
        }
        off += (len + 3) & !3;
    }
    last == inet_diag::NLMSG_DONE || last == inet_diag::NLMSG_ERROR
}
