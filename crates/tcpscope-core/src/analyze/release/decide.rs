//! The dry run's decisions: for each selected socket, the method (FIN or RST) or a refusal, the
//! descriptor a FIN goes through, and what the owner and the peer will see. What the kernel does
//! for each (measured on this kind of machine, KERNEL-FACTS.md "Releasing a stuck socket"):
//!
//! * FIN: shutdown(SHUT_RDWR) on a duplicate of the owner's descriptor. In ESTABLISHED and
//!   CLOSE-WAIT the kernel sends a FIN; in SYN-SENT it aborts the connect; on a listener it stops
//!   listening. Past its own FIN (FIN-WAIT-*, CLOSING, LAST-ACK, TIME-WAIT) a socket gains
//!   nothing from it. The owner keeps its descriptor: reads return 0, writes fail with EPIPE.
//! * RST: SOCK_DESTROY (tcp_abort). A reset goes out only from ESTABLISHED, CLOSE-WAIT,
//!   FIN-WAIT-1/2 and SYN-RECV (`tcp_need_reset`); TIME-WAIT and orphaned FIN-WAIT-2 mini-sockets
//!   and request sockets are simply forgotten. The owner's next call fails with ECONNABORTED.

use super::{
    Age, Item, Method, MethodChoice, Options, OwnerRisk, PeerEnd, Privileges, Refusal, Sigpipe, Via,
};
use crate::decode::process_text::ProcStatus;
use crate::model::socket::{Socket, TimerKind};
use crate::model::state::TcpState;
use std::collections::BTreeMap;

/// A socket the filter selected, and its other end when that is on this host.
#[derive(Debug, Clone)]
pub struct Selected {
    pub socket: Socket,
    pub peer: Option<Socket>,
}

/// TIME-WAIT lasts exactly this long on Linux (TCP_TIMEWAIT_LEN).
const TIME_WAIT_MS: u64 = 60_000;

/// Decide what to do with each selected socket. Listening sockets come back apart, untouched,
/// unless `opts.listeners`. `status` holds /proc/PID/status of the owning processes.
pub fn plan(
    selected: Vec<Selected>,
    status: &BTreeMap<u32, ProcStatus>,
    opts: &Options,
    privs: &Privileges,
) -> (Vec<Item>, Vec<Socket>) {
    let mut items = Vec::new();
    let mut left_alone = Vec::new();
    for Selected { socket, peer } in selected {
        if socket.state == TcpState::Listen && !opts.listeners {
            left_alone.push(socket);
            continue;
        }
        items.push(item(socket, peer.as_ref(), status, opts, privs));
    }
    // Listed in a stable, readable order: by namespace, state, then endpoints.
    let key = |s: &Socket| (s.netns.as_ref().map(|n| n.inode), s.state, s.local, s.peer);
    items.sort_by_key(|i| key(&i.socket));
    left_alone.sort_by_key(key);
    (items, left_alone)
}

fn item(
    socket: Socket,
    peer: Option<&Socket>,
    status: &BTreeMap<u32, ProcStatus>,
    opts: &Options,
    privs: &Privileges,
) -> Item {
    let chosen = choose(&socket, opts, privs);
    let (method, via, refused) = match chosen.and_then(|m| permitted(&socket, m, status, privs)) {
        Ok((m, via)) => (Some(m), via, None),
        Err(r) => (None, None, Some(r)),
    };
    // What would happen is said even for a refused socket (with the method it would take).
    let shown = method.or_else(|| choose(&socket, opts, privs).ok());
    let owners = socket
        .owners
        .iter()
        .map(|o| {
            risk(
                o.pid,
                &o.process.comm,
                o.fd,
                &socket,
                shown,
                status.get(&o.pid),
            )
        })
        .collect();
    Item {
        age: age(&socket),
        owner_sees: owner_sees(&socket, shown),
        peer_sees: peer_sees(&socket, shown),
        peer: peer.map(PeerEnd::of),
        owners,
        method,
        via,
        refused,
        outcome: None,
        peer_after: None,
        socket,
    }
}

/// States in which shutdown() still does something: sends the FIN, aborts the connect, or stops
/// the listener.
fn fin_helps(state: TcpState) -> bool {
    matches!(
        state,
        TcpState::Established | TcpState::CloseWait | TcpState::SynSent | TcpState::Listen
    )
}

/// The method for `s`, or why none applies.
fn choose(s: &Socket, opts: &Options, privs: &Privileges) -> Result<Method, Refusal> {
    let held = !s.owners.is_empty();
    let hidden = !held && s.inode != 0;
    let refuse = |why: String, next: &str| Refusal {
        why,
        next: next.to_string(),
        privilege: false,
    };
    match opts.method {
        MethodChoice::Rst => Ok(Method::Rst),
        MethodChoice::Fin if hidden => Err(hidden_owner(privs)),
        MethodChoice::Fin if !held => Err(refuse(
            format!(
                "no process holds it ({}), so there is no descriptor to shut down",
                s.kernel_owned_reason().unwrap_or("kernel-owned")
            ),
            "leave out --fin: RST (SOCK_DESTROY) is how kernel-owned sockets end",
        )),
        MethodChoice::Fin if !fin_helps(s.state) => Err(refuse(
            format!(
                "it is in {}: its FIN is already sent, so shutdown() changes nothing",
                s.state.display_name()
            ),
            "use --rst (or leave out --fin) to end it with SOCK_DESTROY",
        )),
        MethodChoice::Fin => Ok(Method::Fin),
        MethodChoice::Auto if held && fin_helps(s.state) => Ok(Method::Fin),
        MethodChoice::Auto if hidden => Err(hidden_owner(privs)),
        MethodChoice::Auto => Ok(Method::Rst),
    }
}

/// A socket with an inode no visible process holds: without CAP_SYS_PTRACE, most likely another
/// user's process; with it, something tcpscope cannot see even as root.
fn hidden_owner(privs: &Privileges) -> Refusal {
    if privs.sys_ptrace {
        Refusal {
            why: "no process tcpscope can see holds it, even as root: a kernel user (an NFS or \
                  iSCSI mount), or a process in another PID namespace"
                .to_string(),
            next: "find its owner first (tcpscope ls -e shows its inode); --rst resets it anyway"
                .to_string(),
            privilege: false,
        }
    } else {
        Refusal {
            why: "a process of another user holds it, hidden from tcpscope without root \
                  (CAP_SYS_PTRACE)"
                .to_string(),
            next: "run as root (sudo tcpscope release ...): it then sees the owner and sends the \
                   FIN through its descriptor"
                .to_string(),
            privilege: true,
        }
    }
}

/// Check tcpscope may carry out `method` on `s`; for FIN, choose the descriptor.
fn permitted(
    s: &Socket,
    method: Method,
    status: &BTreeMap<u32, ProcStatus>,
    privs: &Privileges,
) -> Result<(Method, Option<Via>), Refusal> {
    let denied = |why: String| Refusal {
        why,
        next: "run as root (sudo tcpscope release ...)".to_string(),
        privilege: true,
    };
    if let Some(ns) = &s.netns {
        if Some(ns.inode) != privs.netns_inode && !privs.sys_admin {
            return Err(denied(format!(
                "it lives in another network namespace (net:[{}]); checking and ending it there \
                 means entering it (setns), which needs CAP_SYS_ADMIN",
                ns.inode
            )));
        }
    }
    match method {
        Method::Rst if !privs.net_admin => Err(denied(
            "ending a socket with SOCK_DESTROY (RST) needs CAP_NET_ADMIN".to_string(),
        )),
        Method::Rst => Ok((Method::Rst, None)),
        Method::Fin => {
            let usable = s
                .owners
                .iter()
                .find(|o| may_ptrace(status.get(&o.pid), privs))
                .map(|o| Via {
                    pid: o.pid,
                    fd: o.fd,
                });
            match (usable, s.owners.first()) {
                (Some(via), _) => Ok((Method::Fin, Some(via))),
                (None, Some(o)) => Err(denied(format!(
                    "pid {} ({}) runs as another user: duplicating its descriptor \
                     (pidfd_getfd) needs root or CAP_SYS_PTRACE",
                    o.pid, o.process.comm
                ))),
                (None, None) => Err(hidden_owner(privs)),
            }
        }
    }
}

/// Whether ptrace access (what pidfd_getfd asks) is likely granted: with CAP_SYS_PTRACE, or to
/// a process whose real, effective and saved uids are tcpscope's. An unreadable status (the
/// process may have just exited) is left for the kernel to judge.
fn may_ptrace(status: Option<&ProcStatus>, privs: &Privileges) -> bool {
    if privs.sys_ptrace {
        return true;
    }
    match status.and_then(|s| s.uids) {
        Some([real, effective, saved, _]) => [real, effective, saved] == [privs.uid; 3],
        None => true,
    }
}

/// How long it has been in its state: exact for TIME-WAIT (60 s minus what is left), else a
/// lower bound from tcp_info (for CLOSE-WAIT the time since the last ACK ≈ since the peer's FIN).
fn age(s: &Socket) -> Option<Age> {
    if let Some(t) = s.timer.filter(|t| t.kind == TimerKind::TimeWait) {
        if s.state == TcpState::TimeWait && t.expires_ms <= TIME_WAIT_MS {
            return Some(Age {
                ms: TIME_WAIT_MS - t.expires_ms,
                at_least: false,
            });
        }
    }
    let info = s.tcp_info.as_ref()?;
    let ms = match s.state {
        TcpState::CloseWait => info.last_ack_recv_ms.or(info.last_data_recv_ms),
        _ => info.idle_ms(),
    }?;
    Some(Age {
        ms: u64::from(ms),
        at_least: true,
    })
}

/// What a process holding the socket risks, in words.
fn risk(
    pid: u32,
    comm: &str,
    fd: u32,
    s: &Socket,
    method: Option<Method>,
    status: Option<&ProcStatus>,
) -> OwnerRisk {
    let sigpipe = Sigpipe::from_status(status);
    let stopped = status
        .and_then(|st| st.state)
        .is_some_and(|c| matches!(c, 'T' | 't'));
    let writes = s.state != TcpState::Listen;
    let (first, danger) = match (writes, method, sigpipe) {
        (false, _, _) => (
            "its accept() calls fail; it writes nothing on a listener, so SIGPIPE does not arise"
                .to_string(),
            false,
        ),
        (true, Some(Method::Rst), sp) => (
            format!(
                "its next call on the socket fails with ECONNABORTED; a write after that {}",
                sigpipe_words(sp)
            ),
            sp == Sigpipe::Default,
        ),
        (true, _, sp) => (
            format!("its next write() on the socket {}", sigpipe_words(sp)),
            sp == Sigpipe::Default,
        ),
    };
    let mut text = first;
    if stopped {
        text.push_str(
            "; it is stopped and notices only when it runs again (tcpscope never signals it)",
        );
    }
    OwnerRisk {
        pid,
        comm: comm.to_string(),
        fd,
        sigpipe,
        stopped,
        danger: danger && writes,
        text,
    }
}

fn sigpipe_words(sp: Sigpipe) -> &'static str {
    match sp {
        Sigpipe::Ignored => "fails with EPIPE — it ignores SIGPIPE, so it lives on if it handles the error",
        Sigpipe::Handled => "raises SIGPIPE, which its handler catches, and fails with EPIPE",
        Sigpipe::Default => "raises SIGPIPE, which KILLS it: it does not ignore SIGPIPE (unless it sends with MSG_NOSIGNAL)",
        Sigpipe::Unknown => "fails with EPIPE and raises SIGPIPE; whether that kills it is unknown (its /proc/PID/status could not be read)",
    }
}

/// What the program holding the socket will see.
fn owner_sees(s: &Socket, method: Option<Method>) -> String {
    if s.owners.is_empty() && s.inode == 0 {
        return format!(
            "nothing: no process holds it ({})",
            s.kernel_owned_reason().unwrap_or("kernel-owned")
        );
    }
    let keeps = "its descriptor stays open until it calls close()";
    match (method, s.state) {
        (Some(Method::Rst), TcpState::Listen) => format!("accept() fails: it accepts no more connections on this socket; {keeps}"),
        (Some(Method::Rst), _) => format!("its next call on the socket fails with ECONNABORTED, then reads return 0 and writes fail with EPIPE; {keeps}"),
        (_, TcpState::CloseWait) => "read() returns 0 (end of stream, which it may have seen already) and write() fails with EPIPE; its descriptor stays open: the descriptor leak remains until it calls close()".to_string(),
        (_, TcpState::Listen) => format!("accept() fails (EINVAL): it accepts no more connections on this socket; {keeps}"),
        (_, TcpState::SynSent) => format!("its connect() is aborted; {keeps}"),
        _ => format!("read() returns 0 (end of stream) and write() fails with EPIPE; {keeps}"),
    }
}

/// What the other end will see.
fn peer_sees(s: &Socket, method: Option<Method>) -> String {
    let mini = s.timer.is_some_and(|t| t.kind == TimerKind::TimeWait);
    match (method, s.state) {
        (_, TcpState::Listen) => "clients connecting to it are refused (reset), and connections still waiting in its accept queue are reset".to_string(),
        (Some(Method::Fin), TcpState::CloseWait) => "it has closed its side and gets the FIN it was waiting for: FIN-WAIT-2 → TIME-WAIT, a clean close (a peer that no longer has the connection answers with a reset, which ends this side too). A dead or unreachable peer never acknowledges: this side then stays in LAST-ACK, retransmitting the FIN — end it with --rst".to_string(),
        (Some(Method::Fin), TcpState::SynSent) => "nothing: the handshake is abandoned".to_string(),
        (Some(Method::Fin), _) => "end of stream: its read() returns 0, and it stays in CLOSE-WAIT until its program closes; meanwhile this side waits in FIN-WAIT-2 (no timeout while the owner holds the descriptor)".to_string(),
        (_, TcpState::TimeWait) => "nothing is sent: the connection is over already; its 4-tuple is free for a new connection at once".to_string(),
        (_, TcpState::FinWait2) if mini => "nothing is sent: the kernel forgets the connection; if the peer ever sends its FIN, it gets a reset".to_string(),
        (_, TcpState::SynRecv | TcpState::NewSynRecv) => "nothing is sent: the half-open connection is dropped; the client learns it when it sends again (a reset)".to_string(),
        (_, TcpState::LastAck | TcpState::Closing) => "nothing is sent: this side stops retransmitting its FIN; the peer's side ends by itself".to_string(),
        (_, TcpState::SynSent) => "nothing is sent: the handshake is abandoned".to_string(),
        _ => "a reset (RST): its next call fails with ECONNRESET; no TIME-WAIT on either side".to_string(),
    }
}
