//! One TCP socket as tcpscope models it, whatever it was read from (netlink, /proc, a recording).
//!
//! The serde form of [`Socket`] *is* the JSON contract of `--json`/`--jsonl` (docs/json.md), so
//! field names here are public API: add fields, never rename them.

use crate::model::missing::{Datum, Missing};
use crate::model::process::Owner;
use crate::model::state::TcpState;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Address family of the socket (AF_INET or AF_INET6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Inet,
    Inet6,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Family::Inet => "inet",
            Family::Inet6 => "inet6",
        }
    }
    /// The address that means "any" in this family.
    pub fn unspecified(self) -> IpAddr {
        match self {
            Family::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        }
    }
}

/// An address and port. IPv4-mapped IPv6 addresses are stored as IPv4 (converted once, where
/// the socket is read), so `127.0.0.1` means the same on an inet and an inet6 socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Endpoint {
    pub addr: IpAddr,
    pub port: u16,
}

impl Endpoint {
    pub fn new(addr: IpAddr, port: u16) -> Endpoint {
        Endpoint {
            addr: addr.to_canonical(),
            port,
        }
    }
    pub fn is_unspecified(&self) -> bool {
        self.addr.is_unspecified()
    }

    /// The address part as shown: `127.0.0.1`, `[::1]`, `*` for a wildcard.
    pub fn addr_text(&self) -> String {
        match self.addr {
            a if a.is_unspecified() => "*".to_string(),
            IpAddr::V4(a) => a.to_string(),
            IpAddr::V6(a) => format!("[{a}]"),
        }
    }
}

impl fmt::Display for Endpoint {
    /// `127.0.0.1:80`, `[::1]:22`, `*:80` for a wildcard address, `*` for port 0.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.addr_text())?;
        if self.port == 0 {
            f.write_str(":*")
        } else {
            write!(f, ":{}", self.port)
        }
    }
}

/// Which kernel timer is pending on the socket (`idiag_timer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimerKind {
    /// Retransmission (also RACK reordering and tail-loss probe; the SYN-ACK timer of a request
    /// socket). ss calls this "on".
    Retransmit,
    /// Keepalive (or, for orphans, the FIN_WAIT2 timer held in the same slot).
    Keepalive,
    /// The TIME_WAIT / orphaned FIN_WAIT2 timer of a timewait mini-socket.
    TimeWait,
    /// Zero-window probe: the peer advertised a zero window and we are probing it.
    ZeroWindowProbe,
    /// Delayed ACK.
    DelayedAck,
}

impl TimerKind {
    /// From the kernel's `idiag_timer` (0 means no timer, hence `None`).
    pub fn from_kernel(n: u8) -> Option<TimerKind> {
        match n {
            1 => Some(TimerKind::Retransmit),
            2 => Some(TimerKind::Keepalive),
            3 => Some(TimerKind::TimeWait),
            4 => Some(TimerKind::ZeroWindowProbe),
            5 => Some(TimerKind::DelayedAck),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            TimerKind::Retransmit => "retransmit",
            TimerKind::Keepalive => "keepalive",
            TimerKind::TimeWait => "time-wait",
            TimerKind::ZeroWindowProbe => "zero-window-probe",
            TimerKind::DelayedAck => "delayed-ack",
        }
    }
}

/// A pending timer: its kind, milliseconds until it fires, and the retransmit/probe count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Timer {
    pub kind: TimerKind,
    pub expires_ms: u64,
    pub retrans: u32,
}

/// The subset of the kernel's `struct tcp_info` that diagnosis uses. Every field is optional:
/// kernels differ in how long the struct is, and only fields inside the received length are set.
/// Durations are in the unit their name says (`_us` microseconds, `_ms` milliseconds).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retransmits: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probes: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto_us: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snd_mss: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rcv_mss: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unacked: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrans: Option<u32>,
    /// Milliseconds since data was last sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_data_sent_ms: Option<u32>,
    /// Milliseconds since data was last received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_data_recv_ms: Option<u32>,
    /// Milliseconds since an ACK was last received (for CLOSE_WAIT: a lower bound on the time
    /// since the peer's FIN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ack_recv_ms: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pmtu: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_us: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rttvar_us: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snd_cwnd: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_retrans: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_acked: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_received: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notsent_bytes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_rtt_us: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_sent: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_retrans: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snd_wnd: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rcv_wnd: Option<u32>,
    // Added for `ls -i` (ss's detail line); same rule: only what the kernel's struct held.
    /// Congestion-avoidance state (`tcpi_ca_state`: 0 open, 1 disorder, 2 cwr, 3 recovery, 4 loss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_state: Option<u8>,
    /// `tcpi_options` bits: 1 timestamps, 2 SACK, 4 window scaling, 8 ECN, 16 ECN seen, 32 SYN data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<u8>,
    /// Window scale the peer uses for what it sends (`tcpi_snd_wscale`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snd_wscale: Option<u8>,
    /// Window scale this end uses (`tcpi_rcv_wscale`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rcv_wscale: Option<u8>,
    /// The last delivery-rate sample was limited by the application, not the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_rate_app_limited: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ato_us: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sacked: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rcv_ssthresh: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snd_ssthresh: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advmss: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reordering: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rcv_rtt_us: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rcv_space: Option<u32>,
    /// Bytes per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pacing_rate: Option<u64>,
    /// Bytes per second (u64::MAX: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pacing_rate: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segs_out: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segs_in: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_segs_in: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_segs_out: Option<u32>,
    /// Bytes per second, the latest delivery-rate sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_rate: Option<u64>,
    /// Microseconds spent sending data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub busy_time_us: Option<u64>,
    /// Microseconds limited by the peer's receive window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rwnd_limited_us: Option<u64>,
    /// Microseconds limited by the local send buffer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sndbuf_limited_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_ce: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsack_dups: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reord_seen: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rcv_ooopack: Option<u32>,
}

/// Socket memory from INET_DIAG_SKMEMINFO (`ss -m`), in bytes: what the socket holds against its
/// buffers' limits. Named as ss names them in `skmem:(r..,rb..,t..,tb..,f..,w..,o..,bl..,d..)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketMemory {
    /// `r`: memory holding received data (sk_rmem_alloc).
    pub rmem_alloc: u32,
    /// `rb`: the receive buffer's limit (sk_rcvbuf).
    pub rcvbuf: u32,
    /// `t`: memory holding data sent and not yet freed (sk_wmem_alloc).
    pub wmem_alloc: u32,
    /// `tb`: the send buffer's limit (sk_sndbuf).
    pub sndbuf: u32,
    /// `f`: memory allocated ahead and not used yet (sk_forward_alloc).
    pub fwd_alloc: u32,
    /// `w`: memory holding data queued to send (sk_wmem_queued).
    pub wmem_queued: u32,
    /// `o`: memory for socket options and filters (sk_omem_alloc).
    pub optmem: u32,
    /// `bl`: the backlog queue (data that arrived while the socket was busy).
    pub backlog: u32,
    /// `d`: packets dropped before they reached the socket (sk_drops); absent on old kernels.
    #[serde(default)]
    pub drops: u32,
}

impl TcpInfo {
    /// Milliseconds since anything happened on the connection (the smallest of the ages).
    pub fn idle_ms(&self) -> Option<u32> {
        [
            self.last_data_sent_ms,
            self.last_data_recv_ms,
            self.last_ack_recv_ms,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// Which network namespace a socket lives in, when more than one is listed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Netns {
    /// The namespace's inode number (as in `/proc/PID/ns/net -> net:[INODE]`).
    pub inode: u64,
    /// Its name under /var/run/netns, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A process inside it (for unnamed namespaces, e.g. a container's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The container that process runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The file it was named by with `--netns PATH` (a runtime's bind mount, say), when neither
    /// a name under /var/run/netns nor a process says which it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl Netns {
    /// The namespace in words: `'blue'`, `of pid 1234 (docker:0123456789ab)`,
    /// `/run/docker/netns/0123`, `net:[4026531840]`.
    pub fn describe(&self) -> String {
        match (&self.name, self.pid, &self.container, &self.path) {
            (Some(name), _, _, _) => format!("'{name}'"),
            (None, Some(pid), Some(c), _) => format!("of pid {pid} ({c})"),
            (None, Some(pid), None, _) => format!("of pid {pid}"),
            (None, None, _, Some(path)) => path.clone(),
            (None, None, _, None) => format!("net:[{}]", self.inode),
        }
    }
}

/// One TCP socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Socket {
    pub state: TcpState,
    pub family: Family,
    pub local: Endpoint,
    pub peer: Endpoint,
    /// Bytes received and not yet read by the program; for LISTEN, the accept queue length.
    pub recv_q: u32,
    /// Bytes sent and not yet acknowledged; for LISTEN, the backlog.
    pub send_q: u32,
    pub timer: Option<Timer>,
    pub uid: u32,
    /// 0 when no process holds the socket (TIME_WAIT, orphans).
    pub inode: u64,
    /// The kernel's unique socket id (`idiag_cookie`); 0 when the source does not give one.
    pub cookie: u64,
    /// Interface the socket is bound to (SO_BINDTODEVICE), 0 for none.
    #[serde(default)]
    pub ifindex: u32,
    /// Firewall mark (SO_MARK), when the kernel reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark: Option<u32>,
    /// The kernel's `sk_shutdown` bits: 1 = receiving is over (the peer's FIN arrived, or the
    /// program called shutdown(SHUT_RD)), 2 = sending is over (the program called close() or
    /// shutdown(SHUT_WR)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown: Option<u8>,
    pub tcp_info: Option<TcpInfo>,
    /// Processes holding the socket; empty when not asked for or when no process holds it.
    #[serde(default)]
    pub owners: Vec<Owner>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<Netns>,
    /// What the source could not tell about this socket (a zero in such a field is not a
    /// measurement): see [`Socket::lacks`] and docs/json.md.
    #[serde(default, skip_serializing_if = "Missing::is_empty")]
    pub missing: Missing,
    /// The state as an imported capture spelled it (`LISTENING`, `ESPERANDO_FECHAR`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_state: Option<String>,
    /// The name of the interface `ifindex` names (in the socket's namespace), when it is bound to
    /// one; tables show it as ss does: `127.0.0.1%lo:8080`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    /// IPV6_V6ONLY, for inet6 sockets that are listening or closed (the kernel reports it for
    /// those only). A wildcard listener without it takes IPv4 too, and ss prints it as `*:PORT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v6only: Option<bool>,
    /// The id of the cgroup (v2) the socket was created in, for `cgroup PATH` filters; absent
    /// for kernel-owned mini sockets (TIME-WAIT, request sockets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup_id: Option<u64>,
    /// The congestion-control algorithm (`cubic`, `bbr`, ...), with tcp_info.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub congestion: Option<String>,
    /// Socket memory (`ls -m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<SocketMemory>,
}

impl Socket {
    /// A socket with these essentials and everything else empty (no timer, queues, owners, uid 0,
    /// inode 0, cookie 0). Parsers fill in the rest; tests build fixtures from it.
    pub fn new(state: TcpState, family: Family, local: Endpoint, peer: Endpoint) -> Socket {
        Socket {
            state,
            family,
            local,
            peer,
            recv_q: 0,
            send_q: 0,
            timer: None,
            uid: 0,
            inode: 0,
            cookie: 0,
            ifindex: 0,
            mark: None,
            shutdown: None,
            tcp_info: None,
            owners: Vec::new(),
            netns: None,
            missing: Missing::NONE,
            original_state: None,
            dev: None,
            v6only: None,
            cgroup_id: None,
            congestion: None,
            memory: None,
        }
    }

    /// True when the source could not tell `datum` for this socket. The listener data
    /// (`Backlog`, `AcceptQueue`) concern listeners only, and a listener without a Send-Q (Recv-Q)
    /// lacks its backlog (accept queue) too.
    pub fn lacks(&self, datum: Datum) -> bool {
        let listen = self.state == TcpState::Listen;
        match datum {
            Datum::Backlog => {
                listen
                    && (self.missing.contains(Datum::Backlog)
                        || self.missing.contains(Datum::SendQ))
            }
            Datum::AcceptQueue => {
                listen
                    && (self.missing.contains(Datum::AcceptQueue)
                        || self.missing.contains(Datum::RecvQ))
            }
            d => self.missing.contains(d),
        }
    }

    /// True when `recv_q` is a measurement (for a listener: its accept queue).
    pub fn recv_q_known(&self) -> bool {
        !self.lacks(Datum::RecvQ) && !self.lacks(Datum::AcceptQueue)
    }

    /// True when `send_q` is a measurement (for a listener: its backlog).
    pub fn send_q_known(&self) -> bool {
        !self.lacks(Datum::SendQ) && !self.lacks(Datum::Backlog)
    }

    /// Whether some process holds the socket: `Some(true)` held, `Some(false)` kernel-owned (no
    /// process can hold it), `None` when the source cannot say (no inode and no owner column).
    pub fn held(&self) -> Option<bool> {
        if self.state == TcpState::Listen {
            return Some(true);
        }
        if !self.lacks(Datum::Inode) {
            return Some(self.inode != 0);
        }
        if !self.lacks(Datum::Owners) {
            return Some(!self.owners.is_empty());
        }
        None
    }

    /// True when no process can hold this socket: the kernel keeps it alone (TIME_WAIT mini
    /// sockets, orphans after close()). Such sockets have inode 0; for an imported capture
    /// without inodes, the capture's owner column says (no owner listed); without either, it
    /// is not known and this is false.
    pub fn is_kernel_owned(&self) -> bool {
        self.held() == Some(false)
    }

    /// Why no process holds the socket, in words, when [`Socket::is_kernel_owned`].
    pub fn kernel_owned_reason(&self) -> Option<&'static str> {
        if !self.is_kernel_owned() {
            return None;
        }
        Some(match self.state {
            TcpState::TimeWait => "time-wait: the kernel keeps the 4-tuple for 60 s after close",
            TcpState::FinWait2 => {
                "orphaned fin-wait-2: closed by its program; expires after tcp_fin_timeout"
            }
            TcpState::FinWait1 | TcpState::Closing | TcpState::LastAck => {
                "orphaned: closed by its program; the kernel finishes the close"
            }
            TcpState::SynRecv | TcpState::NewSynRecv => {
                "request socket: not yet accepted by the listener"
            }
            _ => "no process holds it",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_display() {
        let v4 = Endpoint::new("127.0.0.1".parse().unwrap(), 80);
        assert_eq!(v4.to_string(), "127.0.0.1:80");
        let v6 = Endpoint::new("::1".parse().unwrap(), 22);
        assert_eq!(v6.to_string(), "[::1]:22");
        let any = Endpoint::new("0.0.0.0".parse().unwrap(), 0);
        assert_eq!(any.to_string(), "*:*");
        let mapped = Endpoint::new("::ffff:10.1.2.3".parse().unwrap(), 443);
        assert_eq!(mapped.to_string(), "10.1.2.3:443");
    }

    #[test]
    fn timer_kinds_from_kernel() {
        assert_eq!(TimerKind::from_kernel(0), None);
        assert_eq!(TimerKind::from_kernel(3), Some(TimerKind::TimeWait));
        assert_eq!(TimerKind::from_kernel(9), None);
        let json = serde_json::to_string(&TimerKind::ZeroWindowProbe).unwrap();
        assert_eq!(json, "\"zero-window-probe\"");
    }

    #[test]
    fn idle_is_the_smallest_age() {
        let info = TcpInfo {
            last_data_sent_ms: Some(5000),
            last_data_recv_ms: Some(700),
            last_ack_recv_ms: None,
            ..TcpInfo::default()
        };
        assert_eq!(info.idle_ms(), Some(700));
        assert_eq!(TcpInfo::default().idle_ms(), None);
    }
}
