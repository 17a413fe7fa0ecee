//! After the dry run: is each socket still the one listed (checked just before acting), and what
//! does its state after acting — or the kernel's error — mean, with the next step.

use super::{errno_name, Invocation, Item, Method, Outcome, Refusal};
use crate::model::socket::Socket;
use crate::model::state::TcpState;

/// Linux errno numbers the outcomes tell apart.
const EPERM: i32 = 1;
const EACCES: i32 = 13;
const ENOSYS: i32 = 38;
const EOPNOTSUPP: i32 = 95;

/// What the check before acting found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recheck {
    /// Still the socket listed: act.
    Proceed,
    /// Gone or changed: do not act; this is its outcome.
    Done(Outcome),
}

/// Which step failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// pidfd_open / pidfd_getfd / shutdown.
    Fin,
    /// SOCK_DESTROY.
    Rst,
    /// Looking the socket up again (or entering its namespace to do so).
    Check,
}

/// Compare the socket as listed with what a lookup by its id and cookie finds now (`None`: no
/// such socket). `still_held`: whether a listed owner's descriptor still refers to it (`None`
/// when it had no owners, or that was not checked).
pub fn recheck(item: &Item, now: Option<&Socket>, still_held: Option<bool>) -> Recheck {
    let listed = &item.socket;
    let Some(now) = now else {
        return Recheck::Done(Outcome::AlreadyGone {
            text: "it closed before tcpscope acted".to_string(),
        });
    };
    if listed.cookie != 0 && now.cookie != listed.cookie {
        return Recheck::Done(Outcome::AlreadyGone {
            text: "it closed before tcpscope acted; its 4-tuple belongs to a new connection now"
                .to_string(),
        });
    }
    let changed = |text: String| {
        Recheck::Done(Outcome::Changed {
            now: now.state,
            text: format!("{text}: not touched, since it is no longer what was listed"),
            next: "run the dry run again to see it as it is now".to_string(),
        })
    };
    if now.state != listed.state {
        return changed(format!(
            "it moved from {} to {} meanwhile",
            listed.state.display_name(),
            now.state.display_name()
        ));
    }
    if now.inode != listed.inode {
        return changed("another descriptor (inode) holds it now".to_string());
    }
    if still_held == Some(false) {
        return changed(format!(
            "no listed process holds it any more ({})",
            holders(listed)
        ));
    }
    Recheck::Proceed
}

fn holders(s: &Socket) -> String {
    s.owners
        .iter()
        .map(|o| format!("pid {} fd {}", o.pid, o.fd))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A FIN could not go through the listed descriptor because the process exited, closed that
/// descriptor or reused it for something else; `now` is what a fresh lookup finds.
pub fn owner_gone(item: &Item, now: Option<&Socket>, why: &str) -> Outcome {
    match now {
        None => Outcome::AlreadyGone {
            text: format!("{why}, and the socket closed, before tcpscope acted"),
        },
        Some(s) => Outcome::Changed {
            now: s.state,
            text: format!(
                "{why} ({}): not touched, since it is no longer what was listed",
                holders(&item.socket)
            ),
            next: "run the dry run again to see who holds it now".to_string(),
        },
    }
}

/// The outcome of a socket refused before acting.
pub fn not_attempted(r: &Refusal) -> Outcome {
    Outcome::Refused {
        errno: None,
        error: None,
        text: format!("not attempted: {}", r.why),
        next: r.next.clone(),
    }
}

/// What the socket's state after acting (`None`: gone from the TCP tables) means.
pub fn settle(item: &Item, method: Method, after: Option<&Socket>, inv: &Invocation) -> Outcome {
    let before = item.socket.state;
    let Some(s) = after else {
        return Outcome::Released {
            now: None,
            text: match (method, before) {
                (Method::Fin, TcpState::CloseWait) => "the FIN went out, the peer acknowledged it, and the socket left the TCP tables (the owner still holds a dead descriptor)".to_string(),
                (Method::Fin, _) => "shut down; the socket left the TCP tables (the owner still holds a dead descriptor)".to_string(),
                (Method::Rst, _) => "SOCK_DESTROY aborted it; it left the TCP tables".to_string(),
            },
        };
    };
    if s.state == TcpState::TimeWait && before != TcpState::TimeWait {
        return Outcome::Released {
            now: Some(TcpState::TimeWait),
            text: "closed cleanly: TIME-WAIT keeps its 4-tuple for 60 s, held by no process"
                .to_string(),
        };
    }
    let rst = inv.rst_command(&[(s.state, s.local, s.peer)]);
    let (text, next) = match (method, s.state) {
        (Method::Fin, TcpState::LastAck) => (
            "the FIN went out but the peer has not acknowledged it: a dead or unreachable peer \
             leaves this side in LAST-ACK, retransmitting until net.ipv4.tcp_retries2 gives up \
             (~15 min)"
                .to_string(),
            format!("end it now: {rst}"),
        ),
        (Method::Fin, TcpState::FinWait1 | TcpState::FinWait2) => (
            "the FIN went out; this side waits for the peer to close its own (FIN-WAIT-2 has \
             no timeout while the owner holds the descriptor)"
                .to_string(),
            format!("if the peer never closes: {rst}"),
        ),
        (Method::Fin, now) => (
            format!("still {} after shutdown()", now.display_name()),
            format!("end it with a reset: {rst}"),
        ),
        (Method::Rst, now) => (
            format!("still {} after SOCK_DESTROY", now.display_name()),
            "look at it with `tcpscope ls -e` and report this: the kernel accepted the request \
             but kept the socket"
                .to_string(),
        ),
    };
    Outcome::Remains {
        now: s.state,
        text,
        next,
    }
}

/// The kernel refused `step` with `errno` (`error`: the system's message).
pub fn failed(
    item: &Item,
    step: Step,
    errno: Option<i32>,
    error: &str,
    inv: &Invocation,
) -> Outcome {
    let s = &item.socket;
    let rst = inv.rst_command(&[(s.state, s.local, s.peer)]);
    let who = item
        .via
        .map(|v| format!("pid {}'s fd {}", v.pid, v.fd))
        .unwrap_or_else(|| "the owner's descriptor".to_string());
    let (text, next) = match (step, errno) {
        (Step::Fin, Some(EPERM | EACCES)) => (
            format!(
                "the kernel would not hand over {who}: pidfd_getfd needs ptrace access (root or \
                 CAP_SYS_PTRACE), and a Yama ptrace_scope setting or a container's seccomp \
                 profile can forbid it even to root"
            ),
            format!("--rst ends it without the owner's descriptor: {rst}"),
        ),
        (Step::Fin, Some(ENOSYS)) => (
            "this kernel has no pidfd_getfd (it needs Linux 5.6 or later)".to_string(),
            format!("--rst ends it with SOCK_DESTROY instead: {rst}"),
        ),
        (Step::Fin, _) => (
            format!("duplicating {who} or shutting it down failed"),
            format!("--rst ends it with SOCK_DESTROY instead: {rst}"),
        ),
        (Step::Rst, Some(EPERM | EACCES)) => (
            "the kernel refused SOCK_DESTROY: it needs CAP_NET_ADMIN in the socket's network \
             namespace"
                .to_string(),
            "run as root (sudo tcpscope release ...)".to_string(),
        ),
        (Step::Rst, Some(EOPNOTSUPP)) => (
            "this kernel cannot destroy sockets (built without CONFIG_INET_DIAG_DESTROY)"
                .to_string(),
            "for a socket a process holds, --fin; otherwise it ends with its timer, or with \
             its program"
                .to_string(),
        ),
        (Step::Rst, _) => (
            "SOCK_DESTROY failed".to_string(),
            "look at it with `tcpscope ls -e` and report this error".to_string(),
        ),
        (Step::Check, _) => (
            "it could not be looked up again before acting, so it was not touched".to_string(),
            "run the dry run again".to_string(),
        ),
    };
    Outcome::Refused {
        errno,
        error: Some(match errno {
            Some(e) => format!("{}: {error}", errno_name(e)),
            None => error.to_string(),
        }),
        text,
        next,
    }
}
