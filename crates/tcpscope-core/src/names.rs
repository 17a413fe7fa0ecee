//! Names for addresses and ports (`ls -r`), from the text of /etc/hosts and /etc/services.
//!
//! tcpscope never sends DNS queries: a listing must not hang on a resolver or leak traffic, so
//! names come only from the local files, which the binary reads and hands over as text.

use std::collections::HashMap;
use std::net::IpAddr;

/// Address -> host name and TCP port -> service name tables.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Names {
    hosts: HashMap<IpAddr, String>,
    services: HashMap<u16, String>,
}

impl Names {
    /// Build the tables from the text of /etc/hosts and /etc/services. The first name given for
    /// an address wins, as in glibc.
    pub fn parse(hosts: &str, services: &str) -> Names {
        let mut n = Names::default();
        for line in hosts.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut words = line.split_whitespace();
            let (Some(addr), Some(name)) = (words.next(), words.next()) else {
                continue;
            };
            if let Ok(ip) = addr.parse::<IpAddr>() {
                n.hosts.entry(ip.to_canonical()).or_insert_with(|| name.to_string());
            }
        }
        for line in services.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut words = line.split_whitespace();
            let (Some(name), Some(port_proto)) = (words.next(), words.next()) else {
                continue;
            };
            let Some((port, "tcp")) = port_proto.split_once('/') else {
                continue;
            };
            if let Ok(port) = port.parse::<u16>() {
                n.services.entry(port).or_insert_with(|| name.to_string());
            }
        }
        n
    }

    pub fn host(&self, ip: IpAddr) -> Option<&str> {
        self.hosts.get(&ip).map(String::as_str)
    }

    pub fn service(&self, port: u16) -> Option<&str> {
        self.services.get(&port).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_and_services() {
        let hosts = "127.0.0.1\tlocalhost\n::1 localhost ip6-localhost # comment\n# 10.0.0.1 nope\n127.0.0.1 other\n";
        let services = "ssh\t\t22/tcp\nhttp 80/tcp www # web\nsyslog 514/udp\n";
        let n = Names::parse(hosts, services);
        assert_eq!(n.host("127.0.0.1".parse().unwrap()), Some("localhost"));
        assert_eq!(n.host("::1".parse().unwrap()), Some("localhost"));
        assert_eq!(n.host("10.0.0.1".parse().unwrap()), None);
        assert_eq!(n.service(22), Some("ssh"));
        assert_eq!(n.service(80), Some("http"));
        assert_eq!(n.service(514), None);
    }
}
