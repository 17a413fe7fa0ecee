//! Which loopback addresses lab uses. 127.0.0.0/8 is all loopback on Linux, so spreading sockets
//! over many addresses gives every address its own ~28000 ephemeral ports: large counts never
//! run out of ports, and workers never collide with each other.
//!
//! * servers (listeners) of worker k: the k-th address from 127.0.0.1 (127.0.0.1 for one worker);
//! * clients of worker k: 127.64.0.0/10 and up, one /24 per worker;
//! * `lab listen`: listener j on the j-th address with `--port`, else 1000 per address.
//!
//! Over IPv6 (`--ipv6`) loopback is one address, `::1`, for servers and clients alike: each
//! worker's listener has a port of its own, so its connections still have ~28000 source ports.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The IP version lab builds on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ip {
    #[default]
    V4,
    V6,
}

impl Ip {
    /// Worker `k`'s server address.
    pub fn server(self, k: u64) -> IpAddr {
        match self {
            Ip::V4 => IpAddr::V4(server(k)),
            Ip::V6 => IpAddr::V6(Ipv6Addr::LOCALHOST),
        }
    }

    /// The source address of worker `k`'s connection number `i`.
    pub fn client(self, k: u64, i: u64) -> IpAddr {
        match self {
            Ip::V4 => IpAddr::V4(client(k, i)),
            Ip::V6 => IpAddr::V6(Ipv6Addr::LOCALHOST),
        }
    }

    /// The address of listener `j` of `lab listen`.
    pub fn listener(self, j: u64, fixed_port: bool) -> IpAddr {
        match self {
            Ip::V4 => IpAddr::V4(listener(j, fixed_port)),
            Ip::V6 => IpAddr::V6(Ipv6Addr::LOCALHOST),
        }
    }

    /// The wildcard address (a listener's peer).
    pub fn unspecified(self) -> IpAddr {
        match self {
            Ip::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Ip::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        }
    }
}

/// Connections one client address carries before the next address is used.
const CONNECTIONS_PER_CLIENT_ADDR: u64 = 8_000;
/// Listeners on one address when the kernel picks their ports.
const LISTENERS_PER_ADDR: u64 = 1_000;

/// The n-th usable loopback address from 127.0.0.1, skipping .0 and .255 last octets.
pub fn nth(n: u64) -> Ipv4Addr {
    let host = n / 254;
    let last = (n % 254) as u8 + 1;
    Ipv4Addr::new(127, (host >> 8) as u8, host as u8, last)
}

/// The address worker `k`'s listener binds.
pub fn server(k: u64) -> Ipv4Addr {
    nth(k)
}

/// The source address of worker `k`'s connection number `i`.
pub fn client(k: u64, i: u64) -> Ipv4Addr {
    let block = (i / CONNECTIONS_PER_CLIENT_ADDR) as u8;
    Ipv4Addr::new(127, 64 + (k >> 8) as u8, k as u8, block.saturating_add(1))
}

/// The address of listener `j` of `lab listen` (with a fixed port, every listener needs its
/// own address).
pub fn listener(j: u64, fixed_port: bool) -> Ipv4Addr {
    if fixed_port {
        nth(j)
    } else {
        nth(j / LISTENERS_PER_ADDR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_loopback_and_distinct() {
        assert_eq!(nth(0), Ipv4Addr::new(127, 0, 0, 1));
        assert_eq!(nth(253), Ipv4Addr::new(127, 0, 0, 254));
        assert_eq!(nth(254), Ipv4Addr::new(127, 0, 1, 1));
        assert_eq!(client(0, 0), Ipv4Addr::new(127, 64, 0, 1));
        assert_eq!(client(3, 17_999), Ipv4Addr::new(127, 64, 3, 3));
        assert_ne!(listener(0, true), listener(1, true));
        assert_eq!(listener(0, false), listener(999, false));
        assert!(nth(250_000).is_loopback());
    }
}
