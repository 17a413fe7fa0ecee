//! The names a filter may use that only the system knows — host names from /etc/hosts, TCP
//! services from /etc/services, interfaces from /sys/class/net, users from /etc/passwd — read
//! on demand, never through DNS (a filter must not hang on a resolver or leak queries).

use std::net::IpAddr;
use std::sync::OnceLock;
use tcpscope_core::analyze::filter::Resolver;
use tcpscope_core::decode::names::Names;

/// A [`Resolver`] over the local files.
pub struct SystemResolver;

fn file(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// /etc/hosts and /etc/services, read once per run (for filters and for `ls -r`).
pub fn names() -> &'static Names {
    static NAMES: OnceLock<Names> = OnceLock::new();
    NAMES.get_or_init(|| Names::parse(&file("/etc/hosts"), &file("/etc/services")))
}

impl Resolver for SystemResolver {
    fn host(&self, name: &str) -> Vec<IpAddr> {
        match names().addresses(name) {
            // /etc/hosts may lack localhost inside minimal containers.
            [] => tcpscope_core::analyze::filter::NoResolver.host(name),
            found => found.to_vec(),
        }
    }

    fn service(&self, name: &str) -> Option<u16> {
        names().port(name)
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
