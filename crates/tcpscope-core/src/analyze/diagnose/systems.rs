//! The facts doctor's advice rests on, per operating system a capture can come from: how long
//! TIME-WAIT lasts and what sets it, the default ephemeral (dynamic) port range and how to widen
//! it, and how to find and look at the process that holds a socket there. A live snapshot (and a
//! Linux capture) is Linux; rules ask [`facts`] by the snapshot's origin instead of printing Linux
//! commands for a Windows host. CLOSE-WAIT gets no tuning anywhere: no setting ends it.
//!
//! Sources: Microsoft's TCP/IP registry reference (TcpTimedWaitDelay) and `netsh int ipv4 set
//! dynamicport`; the macOS/FreeBSD `net.inet.tcp.msl` and `net.inet.ip.portrange` sysctls; the
//! Solaris/illumos tunable parameters reference (tcp_time_wait_interval, smallest_anon_port);
//! IBM's AIX `no` tunables (tcp_timewait, tcp_ephemeral_low/high) and `rmsock`. docs/import.md.

use crate::model::snapshot::System;

/// What tcpscope says about one system.
pub struct SystemFacts {
    /// How long TIME-WAIT lasts by default, in milliseconds (for rates).
    pub time_wait_ms: u64,
    /// The same, in words, with what sets it.
    pub time_wait_text: &'static str,
    /// The default ephemeral port range (used when the capture has no settings).
    pub ephemeral: (u16, u16),
    /// What that range is called there and how to see it.
    pub ephemeral_text: &'static str,
    /// What helps against TIME-WAIT port exhaustion beyond reusing connections, most useful first.
    pub time_wait_steps: &'static [&'static str],
    /// How to list who holds the CLOSE-WAIT sockets there, when the capture does not say.
    pub find_owners: &'static str,
    /// Commands to look at the process with this pid there.
    pub look_at_process: fn(u32) -> Vec<String>,
}

/// The facts for `system`.
pub fn facts(system: System) -> &'static SystemFacts {
    match system {
        System::Linux => &LINUX,
        System::Windows => &WINDOWS,
        System::Bsd => &BSD,
        System::Solaris => &SOLARIS,
        System::Aix => &AIX,
    }
}

static LINUX: SystemFacts = SystemFacts {
    time_wait_ms: 60_000,
    time_wait_text: "60 s (fixed in the kernel, TCP_TIMEWAIT_LEN)",
    ephemeral: crate::analyze::filter::DEFAULT_EPHEMERAL,
    ephemeral_text: "net.ipv4.ip_local_port_range (default 32768-60999)",
    time_wait_steps: &[
        "sysctl -w net.ipv4.tcp_tw_reuse=1   # lets new outgoing connections take over TIME-WAIT ports safely (needs TCP timestamps)",
        "more room: a wider net.ipv4.ip_local_port_range, or more local source addresses",
    ],
    find_owners: "sudo ss -tnp state close-wait   # each socket's process, on that host",
    look_at_process: |p| {
        vec![
            format!("ls -l /proc/{p}/fd | grep socket   # the descriptors it holds"),
            format!("cat /proc/{p}/stack   # where it is blocked (root), or /proc/{p}/wchan"),
        ]
    },
};

static WINDOWS: SystemFacts = SystemFacts {
    time_wait_ms: 120_000,
    time_wait_text: "120 s unless TcpTimedWaitDelay says otherwise (HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters, 30-300 s; 240 s on Windows Server 2003 and older)",
    ephemeral: (49152, 65535),
    ephemeral_text: "the dynamic port range (default 49152-65535; `netsh int ipv4 show dynamicport tcp`)",
    time_wait_steps: &[
        "netsh int ipv4 show dynamicport tcp   # the dynamic port range in force (default 49152-65535: 16384 ports)",
        "netsh int ipv4 set dynamicport tcp start=10000 num=55536   # more ports (administrator; keep clear of ports your services listen on); also for ipv6",
        "TcpTimedWaitDelay (REG_DWORD, seconds, 30-300) under HKLM\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters shortens TIME_WAIT after a reboot: a last resort, after fixing the churn",
        "System log, source Tcpip, events 4227 and 4231: Windows saying the ports ran out",
    ],
    find_owners: "netstat -ano   # the PID column; or Get-NetTCPConnection -State CloseWait | Select-Object LocalAddress,LocalPort,RemoteAddress,RemotePort,OwningProcess",
    look_at_process: |p| {
        vec![
            format!("tasklist /V /FI \"PID eq {p}\"   # which program, its user and status"),
            format!("Get-Process -Id {p} | Format-List Name,Path,StartTime,Handles,Threads   # PowerShell"),
        ]
    },
};

static BSD: SystemFacts = SystemFacts {
    time_wait_ms: 60_000,
    time_wait_text: "twice net.inet.tcp.msl: 30 s on macOS (msl 15000 ms), 60 s on FreeBSD (msl 30000 ms) and OpenBSD",
    ephemeral: (49152, 65535),
    ephemeral_text: "net.inet.ip.portrange.first/last (macOS 49152-65535, FreeBSD 10000-65535)",
    time_wait_steps: &[
        "sysctl net.inet.ip.portrange.first net.inet.ip.portrange.last   # the ephemeral range in force",
        "sysctl -w net.inet.ip.portrange.first=10000   # more ports (root; keep clear of ports your services listen on)",
        "net.inet.tcp.msl (milliseconds; TIME-WAIT lasts twice it) shortens TIME-WAIT: a last resort, after fixing the churn",
    ],
    find_owners: "sudo lsof -nP -iTCP -sTCP:CLOSE_WAIT   # each socket's process (FreeBSD: sockstat -c; OpenBSD: fstat)",
    look_at_process: |p| {
        vec![
            format!("ps -o pid,stat,lstart,command -p {p}   # what it is and whether it runs"),
            format!("sudo lsof -nP -a -p {p} -iTCP   # its TCP sockets"),
        ]
    },
};

static SOLARIS: SystemFacts = SystemFacts {
    time_wait_ms: 60_000,
    time_wait_text: "tcp_time_wait_interval, 60000 ms by default",
    ephemeral: (32768, 65535),
    ephemeral_text: "smallest_anon_port-largest_anon_port (default 32768-65535; `ipadm show-prop -p smallest_anon_port,largest_anon_port tcp`)",
    time_wait_steps: &[
        "ipadm show-prop -p smallest_anon_port,largest_anon_port tcp   # the anonymous port range in force",
        "ipadm set-prop -p smallest_anon_port=10000 tcp   # more ports (keep clear of ports your services listen on)",
        "ipadm set-prop -p _time_wait_interval=30000 tcp (older releases: ndd -set /dev/tcp tcp_time_wait_interval 30000) shortens TIME-WAIT: a last resort, after fixing the churn",
    ],
    find_owners: "netstat -anu -P tcp   # illumos and Solaris 11.2+: User, Pid and Command per socket; else pfiles on the suspects",
    look_at_process: |p| {
        vec![
            format!("pfiles {p}   # its descriptors, sockets with their addresses"),
            format!("pstack {p}   # where its threads are"),
        ]
    },
};

static AIX: SystemFacts = SystemFacts {
    time_wait_ms: 15_000,
    time_wait_text: "`no -o tcp_timewait` in 15-second units, 1 (15 s) by default",
    ephemeral: (32768, 65535),
    ephemeral_text: "tcp_ephemeral_low-tcp_ephemeral_high (default 32768-65535; `no -o tcp_ephemeral_low -o tcp_ephemeral_high`)",
    time_wait_steps: &[
        "no -o tcp_ephemeral_low -o tcp_ephemeral_high   # the ephemeral range in force",
        "no -p -o tcp_ephemeral_low=10000   # more ports, kept across reboots (keep clear of ports your services listen on)",
    ],
    find_owners: "netstat -Aan | grep CLOSE_WAIT, then rmsock <PCB/ADDR> tcpcb   # rmsock names the process holding each socket",
    look_at_process: |p| {
        vec![
            format!("ps -fp {p}   # what it is"),
            format!("procfiles -n {p}   # its descriptors"),
        ]
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_system_has_its_own_advice() {
        for s in [
            System::Linux,
            System::Windows,
            System::Bsd,
            System::Solaris,
            System::Aix,
        ] {
            let f = facts(s);
            assert!(f.ephemeral.0 < f.ephemeral.1);
            assert!(!f.time_wait_steps.is_empty());
            assert!((f.look_at_process)(42).iter().all(|c| c.contains("42")));
        }
        assert!(facts(System::Windows)
            .time_wait_steps
            .iter()
            .any(|s| s.contains("TcpTimedWaitDelay")));
        assert!(facts(System::Solaris)
            .time_wait_text
            .contains("tcp_time_wait_interval"));
    }
}
