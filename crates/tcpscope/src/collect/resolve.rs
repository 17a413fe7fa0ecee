//! The names a filter may use that only the system knows — host names from /etc/hosts, TCP
//! services from /etc/services, interfaces from /sys/class/net, users from /etc/passwd — read
//! on demand, never through DNS (a filter must not hang on a resolver or leak queries).

use std::net::IpAddr;
use tcpscope_core::filter::Resolver;

/// A [`Resolver`] over the local files.
pub struct SystemResolver;

fn file(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Lines of a file without comments, split into words.
fn records(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .map(|l| {
            l.split('#')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .collect::<Vec<_>>()
        })
        .filter(|w| !w.is_empty())
}

impl Resolver for SystemResolver {
    fn host(&self, name: &str) -> Vec<IpAddr> {
        let text = file("/etc/hosts");
        let mut found: Vec<IpAddr> = records(&text)
            .filter(|w| w[1..].iter().any(|n| n.eq_ignore_ascii_case(name)))
            .filter_map(|w| w[0].parse().ok())
            .collect();
        found.dedup();
        if found.is_empty() {
            // /etc/hosts may lack localhost inside minimal containers.
            return tcpscope_core::filter::NoResolver.host(name);
        }
        found
    }

    fn service(&self, name: &str) -> Option<u16> {
        let text = file("/etc/services");
        let found = records(&text).find_map(|w| {
            let (port, proto) = w.get(1)?.split_once('/')?;
            let named = w[0] == name || w[2..].contains(&name);
            (proto == "tcp" && named)
                .then(|| port.parse().ok())
                .flatten()
        });
        found
    }

    fn interface(&self, name: &str) -> Option<u32> {
        if name.contains('/') || name.starts_with('.') {
            return None;
        }
        file(&format!("/sys/class/net/{name}/ifindex"))
            .trim()
            .parse()
            .ok()
    }

    fn user(&self, name: &str) -> Option<u32> {
        file("/etc/passwd").lines().find_map(|l| {
            let mut f = l.split(':');
            (f.next()? == name)
                .then(|| f.nth(1)?.parse().ok())
                .flatten()
        })
    }
}
