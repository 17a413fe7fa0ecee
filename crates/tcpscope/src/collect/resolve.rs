//! The names a filter may use that only the system knows — host names from /etc/hosts, TCP
//! services from /etc/services, interfaces from /sys/class/net, users from /etc/passwd, cgroups
//! from the cgroup v2 hierarchy — read on demand, never through DNS (a filter must not hang on a
//! resolver or leak queries).

use std::net::IpAddr;
use std::sync::OnceLock;
use tcpscope_core::analyze::filter::Resolver;
use tcpscope_core::decode::names::Names;

/// cgroup2's filesystem magic.
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid
/// systems), from /proc/self/mountinfo.
fn cgroup2_mount() -> Option<std::path::PathBuf> {
    file("/proc/self/mountinfo").lines().find_map(|l| {
        let (before, after) = l.split_once(" - ")?;
        (after.split_whitespace().next()? == "cgroup2")
            .then(|| {
                before
                    .split_whitespace()
                    .nth(4)
                    .map(std::path::PathBuf::from)
            })
            .flatten()
    })
}

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

    /// As ss: PATH is tried as a file first (when it is a cgroup v2 directory), then relative
    /// to the cgroup v2 mount. The id of a cgroup v2 directory is its inode number.
    fn cgroup(&self, path: &str) -> Option<u64> {
        // f_type is i64 here, another integer type on other targets.
        #[allow(clippy::unnecessary_cast)]
        let is_cgroup2 = |p: &std::path::Path| {
            rustix::fs::statfs(p).is_ok_and(|fs| fs.f_type as i64 == CGROUP2_SUPER_MAGIC)
        };
        let given = std::path::Path::new(path);
        let dir = if given.is_dir() && is_cgroup2(given) {
            given.to_path_buf()
        } else {
            cgroup2_mount()?.join(path.trim_start_matches('/'))
        };
        if !dir.is_dir() || !is_cgroup2(&dir) {
            return None;
        }
        rustix::fs::stat(&dir).ok().map(|st| st.st_ino)
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
