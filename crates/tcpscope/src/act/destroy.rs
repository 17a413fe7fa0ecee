//! The RST: SOCK_DESTROY over sock_diag, what `ss -K` does (CONFIG_INET_DIAG_DESTROY, and
//! CAP_NET_ADMIN in the socket's network namespace). The kernel aborts the socket (tcp_abort):
//! a reset goes to the peer from ESTABLISHED, CLOSE-WAIT, FIN-WAIT-1/2 and SYN-RECV; TIME-WAIT
//! and orphaned FIN-WAIT-2 mini-sockets are simply forgotten. The request names the socket by its
//! 4-tuple and cookie, so a later connection on the same 4-tuple is never hit (ESTALE).
//!
//! Unlike `ss -K`, which prints "RTNETLINK answers: ..." and exits 0 whatever happened, every
//! answer is read and reported per socket.

use crate::collect::netlink::{DiagSocket, DumpError};
use std::io;
use tcpscope_core::decode::inet_diag::{encode_destroy, ExactReply, SocketId};

/// Why the socket was not destroyed.
#[derive(Debug)]
pub enum DestroyError {
    /// No such socket any more (ENOENT, or ESTALE: its 4-tuple belongs to a later socket).
    Gone,
    /// The kernel refused, or the exchange failed.
    Failed(io::Error),
}

/// Destroy the socket `id` names, through `diag` (opened in the socket's network namespace).
pub fn destroy(diag: &mut DiagSocket, id: &SocketId) -> Result<(), DestroyError> {
    match diag.exchange(|seq| encode_destroy(id, seq)) {
        Ok(ExactReply::Ack) => Ok(()),
        Ok(ExactReply::Error(libc::ENOENT | libc::ESTALE)) => Err(DestroyError::Gone),
        Ok(ExactReply::Error(e)) => Err(DestroyError::Failed(io::Error::from_raw_os_error(e))),
        Ok(ExactReply::Socket(_)) => Err(DestroyError::Failed(io::Error::other(
            "the kernel answered SOCK_DESTROY with a socket record",
        ))),
        Ok(ExactReply::Malformed(why)) => Err(DestroyError::Failed(io::Error::other(why))),
        Err(e) => Err(DestroyError::Failed(match e {
            DumpError::Unavailable(e)
            | DumpError::Kernel(e)
            | DumpError::Io(e)
            | DumpError::Consumer(e) => e,
        })),
    }
}
