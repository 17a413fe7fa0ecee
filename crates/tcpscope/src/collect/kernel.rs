//! Host facts and kernel counters that explain socket states: /proc/net/sockstat, the TcpExt
//! counters of /proc/net/netstat, the Tcp counters of /proc/net/snmp (EstabResets, OutRsts, ...),
//! and the sysctls that bound TIME_WAIT, orphans, ports and accept queues. Each file is tiny; a
//! missing one is left out, never an error.

use std::collections::BTreeMap;
use tcpscope_core::decode::proc_net::{parse_netstat_section, parse_sockstat};
use tcpscope_core::model::snapshot::{Host, KernelCounters};

/// Sysctls recorded with every snapshot that carries counters.
pub const SYSCTLS: &[&str] = &[
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_tw_reuse",
    "net.ipv4.tcp_max_tw_buckets",
    "net.ipv4.tcp_max_orphans",
    "net.ipv4.tcp_max_syn_backlog",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.tcp_syn_retries",
    "net.ipv4.tcp_synack_retries",
    "net.ipv4.tcp_retries2",
    "net.ipv4.tcp_orphan_retries",
    "net.ipv4.tcp_keepalive_time",
    "net.core.somaxconn",
];

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// Milliseconds since the Unix epoch, now.
pub fn now_unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub fn host() -> Host {
    Host {
        hostname: read("/proc/sys/kernel/hostname")
            .unwrap_or_default()
            .trim()
            .to_string(),
        kernel: read("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// The counters and sysctls of the calling thread's network namespace (/proc/thread-self/net and
/// /proc/sys/net follow the reading thread, so a thread that entered another namespace with
/// setns reads that namespace's).
pub fn counters() -> KernelCounters {
    let sockstat = read("/proc/thread-self/net/sockstat").map(|s| {
        parse_sockstat(
            &s,
            &read("/proc/thread-self/net/sockstat6").unwrap_or_default(),
        )
    });
    let tcp_ext = read("/proc/thread-self/net/netstat")
        .map(|t| parse_netstat_section(&t, "TcpExt"))
        .unwrap_or_default();
    // MaxConn is -1 (signed) and is left out; every other Tcp counter is unsigned.
    let tcp = read("/proc/thread-self/net/snmp")
        .map(|t| parse_netstat_section(&t, "Tcp"))
        .unwrap_or_default();
    let sysctls: BTreeMap<String, String> = SYSCTLS
        .iter()
        .filter_map(|name| {
            let path = format!("/proc/sys/{}", name.replace('.', "/"));
            read(&path).map(|v| {
                (
                    name.to_string(),
                    v.split_whitespace().collect::<Vec<_>>().join(" "),
                )
            })
        })
        .collect();
    KernelCounters {
        sockstat,
        tcp_ext,
        tcp,
        sysctls,
    }
}

/// ip_local_port_range: the ports the kernel picks for sockets that did not bind() a port
/// (what `autobound` judges in user space). Linux's default when unreadable.
pub fn ephemeral_range() -> (u16, u16) {
    read("/proc/sys/net/ipv4/ip_local_port_range")
        .and_then(|t| tcpscope_core::decode::proc_net::parse_port_range(&t))
        .unwrap_or(tcpscope_core::analyze::filter::DEFAULT_EPHEMERAL)
}
