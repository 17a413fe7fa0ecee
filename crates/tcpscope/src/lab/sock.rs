//! Thin, safe wrappers over the socket calls lab needs, including the options std does not
//! offer (TCP_SYNCNT, TCP_DEFER_ACCEPT, IP_BIND_ADDRESS_NO_PORT, tcp_info's state byte).

use rustix::net::{self as rnet, AddressFamily, SocketFlags, SocketType};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

/// Options applied to a new socket before bind/listen/connect.
#[derive(Debug, Clone, Copy, Default)]
pub struct Opts {
    /// SO_RCVBUF in bytes (the kernel doubles it and enforces a minimum).
    pub rcvbuf: Option<usize>,
    /// SO_SNDBUF in bytes.
    pub sndbuf: Option<usize>,
    /// TCP_SYNCNT: SYN (or, on a listener, SYN+ACK) retransmissions before giving up (max 127).
    pub syncnt: Option<i32>,
    /// TCP_DEFER_ACCEPT on a client: the kernel delays the handshake's final ACK by 200 ms.
    pub defer_ack: bool,
}

fn new_socket(v6: bool, opts: &Opts, flags: SocketFlags) -> io::Result<OwnedFd> {
    let family = if v6 {
        AddressFamily::INET6
    } else {
        AddressFamily::INET
    };
    let fd = rnet::socket_with(
        family,
        SocketType::STREAM,
        SocketFlags::CLOEXEC | flags,
        None,
    )?;
    // Any close, including the death of the process, resets instead of lingering in TIME-WAIT:
    // nothing lab made outlives it.
    rnet::sockopt::set_socket_linger(&fd, Some(Duration::ZERO))?;
    if let Some(n) = opts.rcvbuf {
        rnet::sockopt::set_socket_recv_buffer_size(&fd, n)?;
    }
    if let Some(n) = opts.sndbuf {
        rnet::sockopt::set_socket_send_buffer_size(&fd, n)?;
    }
    if let Some(n) = opts.syncnt {
        set_int(&fd, libc::IPPROTO_TCP, libc::TCP_SYNCNT, n)?;
    }
    if opts.defer_ack {
        set_int(&fd, libc::IPPROTO_TCP, libc::TCP_DEFER_ACCEPT, 1)?;
    }
    Ok(fd)
}

fn set_int(fd: &impl AsFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: the pointer and length describe a live c_int for the duration of the call.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_fd().as_raw_fd(),
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// A listening socket on `addr` with `backlog`.
pub fn listen(addr: SocketAddr, backlog: i32, opts: &Opts) -> io::Result<OwnedFd> {
    let fd = new_socket(addr.is_ipv6(), opts, SocketFlags::empty())?;
    rnet::sockopt::set_socket_reuseaddr(&fd, true)?;
    match rnet::bind(&fd, &addr) {
        Err(rustix::io::Errno::ADDRINUSE) if addr.port() != 0 => {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!(
                    "port {} is in use on {}; choose another --port or leave it out",
                    addr.port(),
                    addr.ip()
                ),
            ))
        }
        r => r?,
    }
    rnet::listen(&fd, backlog)?;
    Ok(fd)
}

/// Start connecting from `src` (port chosen at connect time) to `dst` without waiting; on
/// loopback the handshake normally completes before this returns.
pub fn connect_start(src: IpAddr, dst: SocketAddr, opts: &Opts) -> io::Result<OwnedFd> {
    let fd = new_socket(dst.is_ipv6(), opts, SocketFlags::NONBLOCK)?;
    set_int(&fd, libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT, 1)?;
    rnet::bind(&fd, &SocketAddr::new(src, 0))?;
    match rnet::connect(&fd, &dst) {
        Ok(()) | Err(rustix::io::Errno::INPROGRESS) => Ok(fd),
        Err(e) => Err(e.into()),
    }
}

/// Connect and wait for the handshake (blocking).
pub fn connect(src: IpAddr, dst: SocketAddr, opts: &Opts) -> io::Result<OwnedFd> {
    let fd = connect_start(src, dst, opts)?;
    wait_ready(&fd, libc::POLLOUT, Duration::from_secs(5))?;
    match rnet::sockopt::socket_error(&fd)? {
        Ok(()) if tcp_state(&fd)? == ESTABLISHED => Ok(fd),
        Ok(()) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("connecting to {dst} did not complete within 5 s"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The kernel's number for ESTABLISHED.
const ESTABLISHED: u8 = 1;

/// Wait until `fd` has `events` (POLLIN, POLLOUT) or `timeout` passes; false on timeout.
pub fn wait_ready(fd: &impl AsFd, events: i16, timeout: Duration) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: fd.as_fd().as_raw_fd(),
        events,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    loop {
        // SAFETY: one valid pollfd for the duration of the call.
        let r = unsafe { libc::poll(&mut pfd, 1, ms) };
        if r >= 0 {
            return Ok(r > 0);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Accept one connection (blocking), nonblocking afterwards.
pub fn accept(listener: &OwnedFd) -> io::Result<OwnedFd> {
    loop {
        match rnet::accept_with(listener, SocketFlags::CLOEXEC | SocketFlags::NONBLOCK) {
            Ok(fd) => return Ok(fd),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// The local address of a socket.
pub fn local(fd: &OwnedFd) -> io::Result<SocketAddr> {
    SocketAddr::try_from(rnet::getsockname(fd)?).map_err(|_| io::Error::other("not an IP socket"))
}

/// The peer address of a connected socket.
pub fn peer(fd: &OwnedFd) -> io::Result<SocketAddr> {
    let addr = rnet::getpeername(fd)?.ok_or_else(|| io::Error::other("no peer address"))?;
    SocketAddr::try_from(addr).map_err(|_| io::Error::other("not an IP socket"))
}

/// The kernel's state number of a socket (tcp_info's first byte).
pub fn tcp_state(fd: &impl AsFd) -> io::Result<u8> {
    let mut info = [0u8; 8];
    let mut len = info.len() as libc::socklen_t;
    // SAFETY: the pointer and length describe a live buffer; the kernel writes at most `len`.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_fd().as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc == 0 {
        Ok(info[0])
    } else {
        Err(io::Error::last_os_error())
    }
}

/// [`tcp_state`] of a descriptor this process holds by number.
pub fn tcp_state_raw(fd: RawFd) -> io::Result<u8> {
    // SAFETY: callers pass descriptors they keep open (lab's `Built::fds`) for this call.
    tcp_state(&unsafe { BorrowedFd::borrow_raw(fd) })
}

/// Write into a nonblocking socket until the kernel refuses more: the peer's receive window and
/// our send buffer are then full. Returns the bytes written.
pub fn fill_send(fd: &OwnedFd) -> io::Result<usize> {
    let chunk = [b'x'; 16 * 1024];
    let mut total = 0;
    loop {
        match rnet::send(fd, &chunk, rnet::SendFlags::NOSIGNAL) {
            Ok(n) => total += n,
            Err(rustix::io::Errno::AGAIN) => return Ok(total),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Close the write side: send FIN (or queue it behind unsent data).
pub fn shutdown_write(fd: &OwnedFd) -> io::Result<()> {
    Ok(rnet::shutdown(fd, rnet::Shutdown::Write)?)
}

/// Close the socket normally (FIN, not reset), unlike dropping it.
pub fn close_gracefully(fd: OwnedFd) -> io::Result<()> {
    rnet::sockopt::set_socket_linger(&fd, None)?;
    drop(fd);
    Ok(())
}
