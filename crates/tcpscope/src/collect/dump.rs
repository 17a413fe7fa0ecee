//! One sock_diag dump of a [`Query`] on one open netlink socket: the requests a query needs
//! (per family; tcp_info for some states only means one request with it and one without), the
//! kernel's refusals explained, and what the dump saw besides its sockets. Both the source in
//! tcpscope's own namespace and the readers living in other namespaces (`netns.rs`) call it, so
//! it sits below both.

use super::netlink;
use super::query::Query;
use anyhow::{Context, Result};
use std::io;
use tcpscope_core::decode::inet_diag::Request;
use tcpscope_core::{Socket, StateSet};

/// What a stream saw besides its sockets.
#[derive(Debug, Default)]
pub struct StreamReport {
    pub sockets: u64,
    /// Things to tell the user on stderr (interrupted dumps, undecodable records).
    pub warnings: Vec<String>,
}

/// Dump the sockets `query` selects from one open sock_diag socket.
pub fn stream_netlink(
    sock: &mut netlink::DiagSocket,
    query: &Query,
    each: &mut dyn FnMut(Socket) -> io::Result<()>,
) -> Result<StreamReport> {
    let mut report = StreamReport::default();
    for family in &query.families {
        let bytecode = match &query.filter {
            Some(f) if query.kernel_filter => f.bytecode(*family),
            _ => None,
        };
        let compiled = bytecode.is_some();
        // tcp_info for some states only: one request with it, one without.
        let with_info = match query.info_states {
            Some(only) if query.want_info => query.states.intersect(only),
            _ if query.want_info => query.states,
            _ => StateSet::EMPTY,
        };
        let without = query.states.intersect(with_info.complement());
        let mut requests = Vec::with_capacity(2);
        for (states, want_info) in [(with_info, true), (without, false)] {
            if !states.is_empty() {
                requests.push(Request {
                    family: *family,
                    states: states.kernel_request_mask(),
                    want_info,
                    want_memory: query.want_memory,
                    bytecode: bytecode.clone(),
                    seq: 0,
                });
            }
        }
        for req in requests {
            dump_one(sock, &req, compiled, each, &mut report, *family)?;
        }
    }
    Ok(report)
}

/// One sock_diag request's dump into `each`, with its problems added to `report`.
fn dump_one(
    sock: &mut netlink::DiagSocket,
    req: &Request,
    compiled: bool,
    each: &mut dyn FnMut(Socket) -> io::Result<()>,
    report: &mut StreamReport,
    family: tcpscope_core::Family,
) -> Result<()> {
    let stats = match sock.dump(req, each) {
        Ok(stats) => stats,
        Err(netlink::DumpError::Consumer(e)) => return Err(e.into()),
        Err(netlink::DumpError::Kernel(e)) if compiled && e.raw_os_error() == Some(libc::EPERM) => {
            anyhow::bail!(
                "fwmark conditions need CAP_NET_ADMIN: the kernel evaluates and reports \
                 socket marks only for privileged callers; run as root"
            )
        }
        Err(e @ netlink::DumpError::Kernel(_)) if compiled => {
            return Err(e).context(
                "the kernel refused the compiled filter (a tcpscope bug: please report it \
                 with the filter). Rerun with --no-kernel-filter to filter in user space only",
            )
        }
        Err(e) => return Err(e).context("listing sockets through netlink"),
    };
    report.sockets += stats.sockets;
    if stats.interrupted {
        report.warnings.push(format!(
            "the kernel's {} socket table changed during the dump; some sockets may be missing or repeated",
            family.name()
        ));
    }
    for why in stats.skipped {
        report
            .warnings
            .push(format!("skipped a socket record: {why}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use tcpscope_core::{Family, TcpState};

    #[test]
    fn tcp_info_can_be_asked_for_some_states_only() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let _c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let _a = l.accept().unwrap();
        let mut sock = netlink::DiagSocket::open().unwrap();
        let query = Query {
            families: vec![Family::Inet],
            want_info: true,
            info_states: Some(StateSet::of(&[TcpState::Listen])),
            ..Query::all()
        };
        let mut seen = Vec::new();
        stream_netlink(&mut sock, &query, &mut |s| {
            if s.local.port == port || s.peer.port == port {
                seen.push((s.state, s.tcp_info.is_some()));
            }
            Ok(())
        })
        .unwrap();
        seen.sort();
        assert_eq!(
            seen,
            vec![
                (TcpState::Established, false),
                (TcpState::Established, false),
                (TcpState::Listen, true)
            ]
        );
    }
}
