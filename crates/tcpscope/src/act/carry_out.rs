//! `release --yes`, socket by socket: look it up again by its id and cookie (inside its network
//! namespace), act only if it is still the socket listed (`analyze::release::recheck`), then
//! wait — up to `--wait` — for the sockets acted on to leave the TCP tables, and record what
//! became of each and of its other end (`settle`). Every kernel refusal becomes that socket's
//! outcome (`failed`); nothing here prints.

use super::destroy::{destroy, DestroyError};
use super::fin::{shutdown_through, still_held, FinError};
use super::namespace::{by_namespace, in_netns};
use crate::collect::netlink::{DiagSocket, DumpError};
use std::collections::{HashMap, HashSet};
use std::io;
use std::time::{Duration, Instant};
use tcpscope_core::analyze::release::{
    failed, not_attempted, owner_gone, recheck, settle, Invocation, Item, Method, Outcome, PeerEnd,
    Recheck, Report, Step,
};
use tcpscope_core::decode::inet_diag::SocketId;
use tcpscope_core::{Socket, TcpState};

/// `--yes`: act on every socket that was not refused, namespace by namespace.
pub fn carry_out(report: &mut Report, wait: Duration) {
    let inv = report.invocation.clone();
    for item in &mut report.sockets {
        if let Some(r) = &item.refused {
            item.outcome = Some(not_attempted(r));
        }
    }
    let groups = by_namespace(report.sockets.iter().map(|i| &i.socket));
    for (_, idx) in groups {
        let netns = report.sockets[idx[0]].socket.netns.clone();
        let wanted: HashSet<usize> = idx.into_iter().collect();
        let mut group: Vec<&mut Item> = report
            .sockets
            .iter_mut()
            .enumerate()
            .filter(|(i, item)| wanted.contains(i) && item.outcome.is_none())
            .map(|(_, item)| item)
            .collect();
        if group.is_empty() {
            continue;
        }
        let done = in_netns(netns.as_ref(), |diag| act_on(diag, &mut group, &inv, wait));
        if let Err(e) = done {
            for item in group.iter_mut().filter(|i| i.outcome.is_none()) {
                item.outcome = Some(failed(item, Step::Check, None, &format!("{e:#}"), &inv));
            }
        }
    }
}

/// Check and act on each socket of one namespace, then wait (up to `wait`) for those acted on
/// to leave the TCP tables, and record what became of each and of its other end.
fn act_on(diag: &mut DiagSocket, items: &mut [&mut Item], inv: &Invocation, wait: Duration) {
    let mut acted: Vec<(usize, Method)> = Vec::new();
    for (k, item) in items.iter_mut().enumerate() {
        if let Some(m) = act_on_one(diag, item, inv) {
            acted.push((k, m));
        }
    }
    let deadline = Instant::now() + wait;
    let mut after: HashMap<usize, Option<Socket>> = HashMap::new();
    let mut pending: Vec<usize> = acted.iter().map(|(k, _)| *k).collect();
    let mut pause = Duration::from_millis(5);
    loop {
        pending.retain(|&k| {
            let listed = &items[k].socket;
            let now = match diag.lookup(&SocketId::of(listed), false) {
                Ok(now) => now,
                // Unknown: report it as still there rather than guess it gone.
                Err(_) => Some(listed.clone()),
            };
            let settled = now.as_ref().is_none_or(|s| {
                s.state == TcpState::TimeWait && listed.state != TcpState::TimeWait
            });
            after.insert(k, now);
            !settled
        });
        let left = deadline.saturating_duration_since(Instant::now());
        if pending.is_empty() || left.is_zero() {
            break;
        }
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(100));
    }
    for (k, method) in acted {
        let now = after.remove(&k).flatten();
        let item = &mut items[k];
        item.outcome = Some(settle(item, method, now.as_ref(), inv));
        item.peer_after = diag.other_end(&item.socket).map(|p| PeerEnd::of(&p));
    }
}

/// Look one socket up again and, if it is still the one listed, act on it. Returns the method
/// used, or `None` with `item.outcome` set when nothing was done.
fn act_on_one(diag: &mut DiagSocket, item: &mut Item, inv: &Invocation) -> Option<Method> {
    let method = item.method?;
    let id = SocketId::of(&item.socket);
    let now = match diag.lookup(&id, false) {
        Ok(now) => now,
        Err(e) => {
            let (errno, text) = dump_error(&e);
            item.outcome = Some(failed(item, Step::Check, errno, &text, inv));
            return None;
        }
    };
    let holders: Vec<(u32, u32)> = item.socket.owners.iter().map(|o| (o.pid, o.fd)).collect();
    let held = still_held(&holders, item.socket.inode);
    if let Recheck::Done(o) = recheck(item, now.as_ref(), held) {
        item.outcome = Some(o);
        return None;
    }
    let result = match (method, item.via) {
        (Method::Fin, Some(via)) => match shutdown_through(via.pid, via.fd, item.socket.cookie) {
            Ok(()) => Ok(()),
            Err(FinError::NotThere(why)) => {
                let now = diag.lookup(&id, false).ok().flatten();
                item.outcome = Some(owner_gone(item, now.as_ref(), &why));
                return None;
            }
            Err(FinError::Failed(e)) => Err((Step::Fin, e.raw_os_error())),
        },
        (Method::Fin, None) => Err((Step::Fin, libc::EBADF)),
        (Method::Rst, _) => match destroy(diag, &id) {
            Ok(()) => Ok(()),
            Err(DestroyError::Gone) => {
                item.outcome = Some(Outcome::AlreadyGone {
                    text: "it closed just before the reset".to_string(),
                });
                return None;
            }
            Err(DestroyError::Failed(e)) => Err((Step::Rst, e.raw_os_error().unwrap_or(0))),
        },
    };
    match result {
        Ok(()) => Some(method),
        Err((step, errno)) => {
            item.outcome = Some(failed(item, step, Some(errno), &os_message(errno), inv));
            None
        }
    }
}

fn dump_error(e: &DumpError) -> (Option<i32>, String) {
    let io = e.io_error();
    (io.raw_os_error(), e.to_string())
}

/// "Operation not permitted" for errno 1 (without std's " (os error 1)").
fn os_message(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    match text.rfind(" (os error") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}
