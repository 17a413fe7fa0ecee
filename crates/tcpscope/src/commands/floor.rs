//! `tcpscope dump-floor` (hidden): the cost of a bare sock_diag dump of every TCP socket, with
//! no decoding and no output. Benchmarks compare `ls` against it (scripts/bench-ls.sh).

use crate::collect::netlink::DiagSocket;
use anyhow::Result;
use std::process::ExitCode;
use tcpscope_core::analyze::filter::Filter;
use tcpscope_core::decode::inet_diag::Request;
use tcpscope_core::Family;

pub fn run() -> Result<ExitCode> {
    let mut sock = DiagSocket::open()?;
    let mut bytes = 0;
    for family in [Family::Inet, Family::Inet6] {
        bytes += sock.dump_bare(&Request {
            family,
            // The states a plain `ls` asks for (bound-inactive only when a filter names it: asking
            // makes the kernel walk its bind table, which would inflate the floor).
            states: Filter::all().states().kernel_request_mask(),
            want_info: false,
            want_memory: false,
            bytecode: None,
            seq: 0,
        })?;
    }
    println!("{bytes}");
    Ok(ExitCode::SUCCESS)
}
