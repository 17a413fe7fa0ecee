//! Names for addresses and ports and back, from the text of /etc/hosts and /etc/services: names
//! for `ls -r`, addresses and ports for the words of a filter (`dst db1`, `sport = :ssh`).
//!
//! tcpscope never sends DNS queries: a listing must not hang on a resolver or leak traffic, so
//! names come only from the local files, which the binary reads and hands over as text.

use std::collections::HashMap;
use std::net::IpAddr;

/// Address <-> host name and TCP port <-> service name tables.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Names {
    hosts: HashMap<IpAddr, String>,
    services: HashMap<u16, String>,
    /// Every name and alias (lower case) -> its addresses, in file order.
    addresses: HashMap<String, Vec<IpAddr>>,
    /// Every service name and alias -> its TCP port (the first line wins).
    ports: HashMap<String, u16>,
}

/// The words of each line of a hosts/services-style file, comments removed, empty lines skipped.
fn records(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .map(|l| {
            l.split('#')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .collect::<Vec<_>>()
        })
        .filter(|w| w.len() >= 2)
}

impl Names {
    /// Build the tables from the text of /etc/hosts and /etc/services. The first name given for
    /// an address wins, as in glibc.
    pub fn parse(hosts: &str, services: &str) -> Names {
        let mut n = Names::default();
        for words in records(hosts) {
            let Ok(ip) = words[0].parse::<IpAddr>() else {
                continue;
            };
            let ip = ip.to_canonical();
            n.hosts.entry(ip).or_insert_with(|| words[1].to_string());
            for alias in &words[1..] {
                let known = n.addresses.entry(alias.to_ascii_lowercase()).or_default();
                if !known.contains(&ip) {
                    known.push(ip);
                }
            }
        }
        for words in records(services) {
            let Some((port, "tcp")) = words[1].split_once('/') else {
                continue;
            };
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            n.services
                .entry(port)
                .or_insert_with(|| words[0].to_string());
            for alias in std::iter::once(&words[0]).chain(&words[2..]) {
                n.ports.entry(alias.to_string()).or_insert(port);
            }
        }
        n
    }

    /// The name of an address.
    pub fn host(&self, ip: IpAddr) -> Option<&str> {
        self.hosts.get(&ip).map(String::as_str)
    }

    /// The name of a TCP port.
    pub fn service(&self, port: u16) -> Option<&str> {
        self.services.get(&port).map(String::as_str)
    }

    /// The addresses of a host name or alias (case-insensitive), in file order.
    pub fn addresses(&self, name: &str) -> &[IpAddr] {
        self.addresses
            .get(&name.to_ascii_lowercase())
            .map_or(&[], Vec::as_slice)
    }

    /// The TCP port of a service name or alias.
    pub fn port(&self, name: &str) -> Option<u16> {
        self.ports.get(name).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_and_services_both_ways() {
        let hosts = "127.0.0.1\tlocalhost\n::1 localhost ip6-localhost # comment\n# 10.0.0.1 nope\n127.0.0.1 other\n";
        let services = "ssh\t\t22/tcp\nhttp 80/tcp www # web\nsyslog 514/udp\n";
        let n = Names::parse(hosts, services);
        assert_eq!(n.host("127.0.0.1".parse().unwrap()), Some("localhost"));
        assert_eq!(n.host("::1".parse().unwrap()), Some("localhost"));
        assert_eq!(n.host("10.0.0.1".parse().unwrap()), None);
        assert_eq!(n.service(22), Some("ssh"));
        assert_eq!(n.service(80), Some("http"));
        assert_eq!(n.service(514), None);
        let both: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
        assert_eq!(n.addresses("LOCALHOST"), &both[..]);
        assert_eq!(n.addresses("ip6-localhost"), &both[1..]);
        assert_eq!(n.addresses("other"), &both[..1]);
        assert!(n.addresses("nope").is_empty());
        assert_eq!(n.port("www"), Some(80));
        assert_eq!(n.port("ssh"), Some(22));
        assert_eq!(n.port("syslog"), None);
    }
}
