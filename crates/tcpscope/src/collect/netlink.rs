//! Socket I/O for NETLINK_SOCK_DIAG dumps: open the socket, send a request, receive buffers.
//!
//! The bytes themselves are encoded and decoded by `tcpscope_core::decode::inet_diag` (pure, tested with
//! fixtures); this file only moves them. A netlink socket belongs to the network namespace it was
//! created in, so to read another namespace create the [`DiagSocket`] from a thread that entered it.
//!
//! Besides dumps, [`DiagSocket::exchange`] sends one request about exactly one socket and reads
//! its answer; [`DiagSocket::lookup`] uses it to find one socket again by its id and cookie
//! (`release` re-checks each socket this way just before acting on it).

use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};
use std::collections::HashMap;
use std::io;
use std::os::fd::OwnedFd;
use std::sync::mpsc;
use tcpscope_core::decode::inet_diag::{self, ExactReply, Item, Request, SocketId};
use tcpscope_core::{Socket, TcpState};

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
    #[error(
        "netlink sock_diag is not available here ({0}); use --source proc to read /proc/net/tcp"
    )]
    Unavailable(io::Error),
    #[error("the kernel rejected the sock_diag request: {0}")]
    Kernel(io::Error),
    #[error("reading the sock_diag dump failed: {0}")]
    Io(io::Error),
    /// The consumer of the sockets failed (for example, stdout was closed).
    #[error(transparent)]
    Consumer(io::Error),
}

impl DumpError {
    /// The operating system's error underneath.
    pub fn io_error(&self) -> &io::Error {
        match self {
            DumpError::Unavailable(e)
            | DumpError::Kernel(e)
            | DumpError::Io(e)
            | DumpError::Consumer(e) => e,
        }
    }
}

/// An open NETLINK_SOCK_DIAG socket.
pub struct DiagSocket {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
    /// Interface names by index, in this socket's namespace (for sockets bound to a device).
    devices: HashMap<u32, Option<String>>,
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
            devices: HashMap::new(),
        })
    }

    fn send_request(&mut self, req: &Request) -> Result<(), DumpError> {
        self.seq = self.seq.wrapping_add(1);
        let bytes = inet_diag::encode_request(&Request {
            seq: self.seq,
            ..req.clone()
        });
        send_all(&self.fd, &bytes)
    }

    fn recv(&mut self) -> Result<usize, DumpError> {
        recv_into(&self.fd, &mut self.buf)
    }

    /// Dump the sockets `req` selects, handing each to `each` as it is decoded.
    ///
    /// Receiving (kernel time) and decoding plus the consumer's work (user time) overlap: a
    /// scoped thread pulls buffers off the socket while this thread decodes the previous ones,
    /// so on two cores a listing costs little more than the bare dump.
    pub fn dump(
        &mut self,
        req: &Request,
        each: &mut dyn FnMut(Socket) -> io::Result<()>,
    ) -> Result<DumpStats, DumpError> {
        self.send_request(req)?;
        let fd = &self.fd;
        let devices = &mut self.devices;
        // Sockets bound to a device get its name, looked up in this thread's namespace (the
        // one the socket was opened in) and remembered: few sockets are bound, few devices.
        let mut each = |mut s: Socket| {
            if s.ifindex != 0 {
                s.dev = devices
                    .entry(s.ifindex)
                    .or_insert_with(|| device_name(s.ifindex))
                    .clone();
            }
            each(s)
        };
        let each: &mut dyn FnMut(Socket) -> io::Result<()> = &mut each;
        let outcome = std::thread::scope(|scope| {
            let (full_tx, full_rx) = mpsc::sync_channel::<Result<Received, DumpError>>(16);
            let (empty_tx, empty_rx) = mpsc::channel::<Vec<u8>>();
            scope.spawn(move || receive_until_done(fd, &full_tx, &empty_rx));
            let mut stats = DumpStats::default();
            for received in full_rx.iter() {
                let (buf, n) = received?;
                if n == 0 {
                    return Ok(stats);
                }
                if let Some(end) = decode(&buf[..n], &mut stats, each) {
                    // Leaving the scope drops `full_rx`; the receiver thread then stops.
                    return end.map(|()| stats);
                }
                let _ = empty_tx.send(buf);
            }
            Ok(stats)
        });
        if let Err(DumpError::Consumer(_)) = &outcome {
            // The rest of the dump is still queued on the socket; start afresh next time.
            *self = DiagSocket::open()?;
        }
        outcome
    }

    /// Send one request about exactly one socket (built by `build` for the sequence number it
    /// is given) and return the kernel's answer to it.
    pub fn exchange(
        &mut self,
        build: impl FnOnce(u32) -> Vec<u8>,
    ) -> Result<ExactReply, DumpError> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        send_all(&self.fd, &build(seq))?;
        loop {
            let n = self.recv()?;
            if n == 0 {
                return Err(DumpError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the sock_diag socket closed without an answer",
                )));
            }
            if let Some(reply) = inet_diag::parse_exact_reply(&self.buf[..n], seq) {
                return Ok(reply);
            }
        }
    }

    /// The socket `id` names, as it is now; `None` when it is gone (ENOENT: no socket has its
    /// 4-tuple; ESTALE: another socket, a later connection, has it).
    pub fn lookup(&mut self, id: &SocketId, want_info: bool) -> Result<Option<Socket>, DumpError> {
        match self.exchange(|seq| inet_diag::encode_lookup(id, want_info, seq))? {
            ExactReply::Socket(s) => Ok(Some(s)),
            ExactReply::Error(libc::ENOENT | libc::ESTALE) => Ok(None),
            ExactReply::Error(e) => Err(DumpError::Kernel(io::Error::from_raw_os_error(e))),
            ExactReply::Ack => Err(DumpError::Io(io::Error::other(
                "the kernel acknowledged a lookup without sending the socket",
            ))),
            ExactReply::Malformed(why) => Err(DumpError::Io(io::Error::other(why))),
        }
    }

    /// The other end of `s` when it is on this host (in this namespace): the socket with the
    /// reversed 4-tuple. A listener the kernel falls back to for that 4-tuple is not it.
    pub fn other_end(&mut self, s: &Socket) -> Option<Socket> {
        if s.state == TcpState::Listen || s.peer.port == 0 {
            return None;
        }
        let found = self.lookup(&SocketId::of(s).reversed(), false).ok()??;
        (found.state != TcpState::Listen && found.local == s.peer && found.peer == s.local)
            .then_some(found)
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

/// The name of interface `index` in the calling thread's network namespace, if it exists.
fn device_name(index: u32) -> Option<String> {
    let mut buf = [0u8; libc::IF_NAMESIZE];
    // SAFETY: `buf` has the IF_NAMESIZE bytes if_indextoname writes at most (with the NUL).
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr().cast()) };
    if p.is_null() {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Some(String::from_utf8_lossy(&buf[..end]).into_owned())
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

/// Send one request; a signal arriving meanwhile (EINTR) is not a failure. (tests/faults.rs
/// injects EINTR and ENOBUFS at these two calls with strace.)
fn send_all(fd: &OwnedFd, bytes: &[u8]) -> Result<(), DumpError> {
    loop {
        match rustix::net::send(fd, bytes, SendFlags::empty()) {
            Ok(_) => return Ok(()),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(DumpError::Io(e.into())),
        }
    }
}

/// Receive one buffer. EINTR is retried; ENOBUFS means the kernel dropped part of the reply, so
/// what was received is incomplete: said in those words, never passed off as the whole dump.
fn recv_into(fd: &OwnedFd, buf: &mut [u8]) -> Result<usize, DumpError> {
    loop {
        match rustix::net::recv(fd, &mut *buf, RecvFlags::empty()) {
            Ok((n, _)) => return Ok(n),
            Err(rustix::io::Errno::INTR) => continue,
            Err(rustix::io::Errno::NOBUFS) => return Err(overrun()),
            Err(e) => return Err(DumpError::Io(e.into())),
        }
    }
}

/// The kernel ran out of room for the dump (ENOBUFS, or an NLMSG_OVERRUN message).
fn overrun() -> DumpError {
    DumpError::Io(io::Error::new(
        io::ErrorKind::OutOfMemory,
        "the kernel dropped part of it (ENOBUFS: no room in tcpscope's netlink receive buffer), \
         so what was read is incomplete; run the command again",
    ))
}

/// The receiving half of [`DiagSocket::dump`]: read buffers until the dump ends, recycling the
/// buffers the decoder hands back. Stops when the decoder goes away.
/// A received buffer and how many of its bytes the kernel filled. Buffers keep their full
/// length as they go round, so none is zeroed again (re-zeroing 64 KiB per receive was a tenth
/// of a 100k-socket poll).
type Received = (Vec<u8>, usize);

fn receive_until_done(
    fd: &OwnedFd,
    full: &mpsc::SyncSender<Result<Received, DumpError>>,
    empty: &mpsc::Receiver<Vec<u8>>,
) {
    loop {
        let mut buf = empty.try_recv().unwrap_or_default();
        if buf.len() < RECV_BUF {
            buf.resize(RECV_BUF, 0);
        }
        match recv_into(fd, &mut buf) {
            Ok(n) => {
                let last = n == 0 || ends_with_done(&buf[..n]);
                if full.send(Ok((buf, n))).is_err() || last {
                    return;
                }
            }
            Err(e) => {
                let _ = full.send(Err(e));
                return;
            }
        }
    }
}

/// Decode one received buffer into `each`. `Some` when the dump is over (done, failed, or the
/// consumer gave up), `None` to keep reading.
fn decode(
    buf: &[u8],
    stats: &mut DumpStats,
    each: &mut dyn FnMut(Socket) -> io::Result<()>,
) -> Option<Result<(), DumpError>> {
    let mut end = None;
    let flags = inet_diag::parse_buffer(buf, |item| match item {
        Item::Socket(s) => {
            stats.sockets += 1;
            match each(s) {
                Ok(()) => true,
                Err(e) => {
                    end = Some(Err(DumpError::Consumer(e)));
                    false
                }
            }
        }
        Item::Done { error } => {
            end = Some(if error < 0 {
                Err(DumpError::Kernel(io::Error::from_raw_os_error(-error)))
            } else {
                Ok(())
            });
            false
        }
        Item::Error { errno } if errno == -libc::ENOBUFS => {
            end = Some(Err(overrun()));
            false
        }
        Item::Error { errno } => {
            end = Some(Err(DumpError::Kernel(io::Error::from_raw_os_error(-errno))));
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
    end
}
