//! The socat recipe, natively: a forking server whose per-connection child stops itself
//! (SIGSTOP) before touching its connection, and clients that give up after one second. The
//! stopped children hold their sockets in CLOSE-WAIT for as long as they live; the clients'
//! sockets sit in FIN-WAIT-2 until tcp_fin_timeout (60 s) and vanish.
//!
//! The worker that runs this is single-threaded, so fork() is safe here.

use super::addrs::Ip;
use super::pairs::{accept_within, endpoint, Built};
use super::sock::{self, Opts};
use super::LabSocket;
use anyhow::{bail, Context, Result};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;
use tcpscope_core::TcpState;

/// How long the clients wait for the (stopped) server before giving up, like `socat -T1`.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(1);

/// `n` connections, each served by a stopped child. Returns what was built and the children.
pub fn build(ip: Ip, k: u64, n: u64, port: u16) -> Result<(Built, Vec<u32>)> {
    let server = SocketAddr::new(ip.server(k), port);
    let listener = sock::listen(server, 4096, &Opts::default())
        .with_context(|| format!("listening on {server}"))?;
    let server = sock::local(&listener)?;
    let mut built = Built {
        listeners: vec![server],
        ..Built::default()
    };
    let mut children = Vec::new();
    let mut clients = Vec::new();
    for i in 0..n {
        let c = sock::connect(ip.client(k, i), server, &Opts::default())
            .with_context(|| format!("connecting to {server}"))?;
        let a = accept_within(&listener, Duration::from_secs(5))?;
        let child = fork_stopped_child(&a)?;
        let s = LabSocket {
            state: TcpState::CloseWait,
            local: endpoint(sock::local(&a)?),
            peer: endpoint(sock::peer(&a)?),
            pid: Some(child),
        };
        built.push(s, None);
        children.push(child);
        // The child holds its copy; the server forgets the connection, like a forking server.
        drop(a);
        clients.push(c);
    }
    std::thread::sleep(CLIENT_TIMEOUT);
    for c in clients {
        sock::close_gracefully(c)?;
    }
    built.fds.push(listener);
    Ok((built, children))
}

/// Fork a child that keeps only `conn`, dies with its parent, and stops itself.
fn fork_stopped_child(conn: &OwnedFd) -> Result<u32> {
    let parent = std::process::id();
    let raw = conn.as_raw_fd();
    // SAFETY: this process is single-threaded (a lab worker), so the child may run any code;
    // it only makes async-signal-safe calls anyway and never returns into Rust code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        bail!(
            "fork failed: {} (too many processes? lower --count)",
            std::io::Error::last_os_error()
        );
    }
    if pid == 0 {
        // SAFETY: plain syscalls in the child; see above.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() as u32 != parent {
                libc::_exit(1);
            }
            // Keep the connection as fd 3 and nothing else but stdin/stderr, so the client
            // sockets and the worker's report pipe are not held open by the child.
            libc::dup2(raw, 3);
            libc::syscall(libc::SYS_close_range, 4u32, u32::MAX, 0u32);
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            if null >= 0 {
                libc::dup2(null, 1);
            }
            libc::raise(libc::SIGSTOP);
            libc::_exit(0);
        }
    }
    Ok(pid as u32)
}
