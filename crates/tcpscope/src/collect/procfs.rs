//! The fallback socket source: /proc/net/tcp and /proc/net/tcp6, parsed by
//! `tcpscope_core::decode::proc_net`. Slower than netlink and without cookies or tcp_info; used only
//! when sock_diag is unavailable or when asked for with `--source proc`. Lines the kernel
//! repeats while the table changes under the read are dropped.

use anyhow::{Context, Result};
use tcpscope_core::decode::proc_net::{parse_proc_net_tcp, ParseError};
use tcpscope_core::{Family, Socket};

/// Read and parse the table of one family. A missing tcp6 table (IPv6 disabled) is empty.
pub fn read_tcp_table(family: Family) -> Result<(Vec<Socket>, Vec<ParseError>)> {
    let path = match family {
        Family::Inet => "/proc/net/tcp",
        Family::Inet6 => "/proc/net/tcp6",
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && family == Family::Inet6 => {
            return Ok((Vec::new(), Vec::new()))
        }
        Err(e) => return Err(e).with_context(|| format!("reading {path}; is /proc mounted?")),
    };
    let (mut socks, errors) = parse_proc_net_tcp(&text, family);
    // The kernel prints the table a page at a time; a socket opened or closed between two pages
    // shifts the rest, and a line can appear twice. No two sockets share local, peer and inode
    // (reuseport listeners differ in inode; TIME-WAIT and orphans differ in their 4-tuple).
    let mut seen = std::collections::HashSet::with_capacity(socks.len());
    socks.retain(|s| seen.insert((s.local, s.peer, s.inode)));
    Ok((socks, errors))
}
