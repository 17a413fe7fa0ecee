//! Which container and which systemd unit a process belongs to, read from the text of
//! /proc/PID/cgroup. Pure: the caller reads the file, this module only parses the paths.
//!
//! Container runtimes leave recognisable names in cgroup paths, under either the cgroupfs or the
//! systemd cgroup driver:
//!
//! | runtime    | cgroupfs driver                    | systemd driver                          |
//! |------------|------------------------------------|-----------------------------------------|
//! | docker     | `/docker/<id>`                     | `/system.slice/docker-<id>.scope`       |
//! | containerd | `/kubepods/.../pod<uid>/<id>`      | `.../cri-containerd-<id>.scope`         |
//! | cri-o      | `/kubepods/.../pod<uid>/crio-<id>` | `.../crio-<id>.scope`                   |
//! | podman     | `/libpod_parent/libpod-<id>`       | `/machine.slice/libpod-<id>.scope`      |
//! | lxc        | `/lxc/<name>`, `/lxc.payload.<name>` |                                       |
//!
//! A container id is 64 hex digits (lxc: the container's name). A Kubernetes pod uid appears as
//! `pod<uid>` (dashes) or, under systemd, `kubepods-<qos>-pod<uid>.slice` (underscores instead of
//! dashes). The conmon monitor processes of cri-o and podman (`crio-conmon-<id>`,
//! `libpod-conmon-<id>`) are not the container and are not reported as one.

use crate::model::process::Container;

/// What one process's cgroup file says about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgroupInfo {
    pub container: Option<Container>,
    /// The deepest systemd unit (`*.service` or `*.scope`) in the path.
    pub unit: Option<String>,
}

/// Parse the whole text of /proc/PID/cgroup. The unified (cgroup v2, `0::`) line is preferred;
/// on a v1 host the first line that names a container wins.
pub fn parse_cgroup_file(text: &str) -> CgroupInfo {
    let paths: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let _id = parts.next()?;
            let _controllers = parts.next()?;
            parts.next()
        })
        .collect();
    // The unified line first, then the systemd named hierarchy, then the rest in file order.
    let mut ordered: Vec<&str> = Vec::with_capacity(paths.len());
    for l in text.lines() {
        if let Some(p) = l.strip_prefix("0::") {
            ordered.push(p);
        }
    }
    for l in text.lines() {
        if let Some((_, p)) = l.split_once(":name=systemd:") {
            ordered.push(p);
        }
    }
    ordered.extend(paths.iter().copied());
    let container = ordered.iter().find_map(|p| container_of_path(p));
    let unit = ordered.iter().find_map(|p| unit_of_path(p));
    CgroupInfo { container, unit }
}

/// The container named by one cgroup path, if any.
pub fn container_of_path(path: &str) -> Option<Container> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let pod_uid = parts.iter().find_map(|p| pod_uid_of(p));
    // The innermost component that names a container decides.
    for (i, part) in parts.iter().enumerate().rev() {
        let name = part.strip_suffix(".scope").unwrap_or(part);
        for (prefix, runtime) in [
            ("docker-", "docker"),
            ("cri-containerd-", "containerd"),
            ("crio-", "cri-o"),
            ("libpod-", "podman"),
        ] {
            if let Some(id) = name.strip_prefix(prefix) {
                if is_container_id(id) {
                    return Some(container(runtime, id, pod_uid.clone()));
                }
            }
        }
        // `.../cri-containerd-<id>.scope` may also appear as `cri-containerd:<id>` (containerd's
        // own systemd naming, `<slice>:cri-containerd:<id>`).
        if let Some((_, id)) = part.rsplit_once(":cri-containerd:") {
            if is_container_id(id) {
                return Some(container("containerd", id, pod_uid.clone()));
            }
        }
        if let Some(id) = part.strip_prefix("lxc.payload.") {
            if !id.is_empty() {
                return Some(container("lxc", id, None));
            }
        }
        if is_container_id(part) && i > 0 {
            let parent = parts[i - 1];
            if parent == "docker" {
                return Some(container("docker", part, None));
            }
            if pod_uid_of(parent).is_some() {
                // cgroupfs driver under Kubernetes: the runtime is not in the path.
                return Some(container("kubernetes", part, pod_uid.clone()));
            }
            if parent == "libpod_parent" || parent.starts_with("libpod-") {
                return Some(container("podman", part, None));
            }
        }
        if i == 1 && parts[0] == "lxc" {
            return Some(container("lxc", part, None));
        }
    }
    None
}

/// The deepest systemd unit in one cgroup path (`nginx.service`, `session-3.scope`).
pub fn unit_of_path(path: &str) -> Option<String> {
    path.split('/')
        .rev()
        .find(|p| p.ends_with(".service") || p.ends_with(".scope"))
        .map(str::to_string)
}

fn container(runtime: &str, id: &str, pod_uid: Option<String>) -> Container {
    Container {
        runtime: runtime.to_string(),
        id: id.to_string(),
        pod_uid,
    }
}

/// 64 hex digits: the id docker, containerd, cri-o and podman give containers.
fn is_container_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `pod<uid>` or `kubepods-<qos>-pod<uid>.slice`: the pod uid, with dashes.
fn pod_uid_of(part: &str) -> Option<String> {
    let name = part.split(':').next().unwrap_or(part);
    let name = name.strip_suffix(".slice").unwrap_or(name);
    let idx = name.rfind("pod")?;
    if idx > 0 && !name[..idx].ends_with('-') {
        return None;
    }
    let uid = name[idx + 3..].replace('_', "-");
    let is_uid = uid.len() == 36
        && uid.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
    is_uid.then_some(uid)
}

/// A short label for a container: `docker:0123456789ab` (the first 12 digits of the id, as
/// `docker ps` shows them), `lxc:web`.
pub fn short_label(c: &Container) -> String {
    let short: String = c.id.chars().take(12).collect();
    format!("{}:{short}", c.runtime)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f4e1c2b9a8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f";
    const POD: &str = "1b2c3d4e-5f6a-7b8c-9d0e-1f2a3b4c5d6e";

    fn parse(text: &str) -> CgroupInfo {
        parse_cgroup_file(text)
    }

    #[test]
    fn docker_cgroupfs_v1() {
        let text = format!(
            "12:memory:/docker/{ID}\n11:cpu,cpuacct:/docker/{ID}\n1:name=systemd:/docker/{ID}\n"
        );
        let info = parse(&text);
        let c = info.container.unwrap();
        assert_eq!((c.runtime.as_str(), c.id.as_str()), ("docker", ID));
        assert_eq!(c.pod_uid, None);
        assert_eq!(info.unit, None);
    }

    #[test]
    fn docker_systemd_v2() {
        let info = parse(&format!("0::/system.slice/docker-{ID}.scope\n"));
        let c = info.container.unwrap();
        assert_eq!((c.runtime.as_str(), c.id.as_str()), ("docker", ID));
        assert_eq!(info.unit.unwrap(), format!("docker-{ID}.scope"));
    }

    #[test]
    fn containerd_kubernetes_systemd_driver() {
        let pod_us = POD.replace('-', "_");
        let text = format!(
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{pod_us}.slice/cri-containerd-{ID}.scope\n"
        );
        let c = parse(&text).container.unwrap();
        assert_eq!(c.runtime, "containerd");
        assert_eq!(c.id, ID);
        assert_eq!(c.pod_uid.as_deref(), Some(POD));
    }

    #[test]
    fn containerd_own_systemd_naming() {
        let pod_us = POD.replace('-', "_");
        let text = format!(
            "0::/system.slice/containerd.service/kubepods-besteffort-pod{pod_us}.slice:cri-containerd:{ID}\n"
        );
        let info = parse(&text);
        let c = info.container.unwrap();
        assert_eq!((c.runtime.as_str(), c.id.as_str()), ("containerd", ID));
        assert_eq!(c.pod_uid.as_deref(), Some(POD));
        assert_eq!(info.unit.as_deref(), Some("containerd.service"));
    }

    #[test]
    fn kubernetes_cgroupfs_driver() {
        let text = format!("0::/kubepods/burstable/pod{POD}/{ID}\n");
        let c = parse(&text).container.unwrap();
        assert_eq!((c.runtime.as_str(), c.id.as_str()), ("kubernetes", ID));
        assert_eq!(c.pod_uid.as_deref(), Some(POD));
        let text = format!("0::/kubepods/besteffort/pod{POD}/crio-{ID}\n");
        let c = parse(&text).container.unwrap();
        assert_eq!(
            (c.runtime.as_str(), c.pod_uid.as_deref()),
            ("cri-o", Some(POD))
        );
    }

    #[test]
    fn crio_and_not_its_conmon() {
        let pod_us = POD.replace('-', "_");
        let text = format!("0::/kubepods.slice/kubepods-pod{pod_us}.slice/crio-{ID}.scope\n");
        let c = parse(&text).container.unwrap();
        assert_eq!(
            (c.runtime.as_str(), c.pod_uid.as_deref()),
            ("cri-o", Some(POD))
        );
        let conmon =
            format!("0::/kubepods.slice/kubepods-pod{pod_us}.slice/crio-conmon-{ID}.scope\n");
        assert_eq!(parse(&conmon).container, None);
    }

    #[test]
    fn podman_rootful_and_rootless() {
        let c = parse(&format!("0::/machine.slice/libpod-{ID}.scope/container\n"))
            .container
            .unwrap();
        assert_eq!((c.runtime.as_str(), c.id.as_str()), ("podman", ID));
        let rootless = format!(
            "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope\n"
        );
        assert_eq!(parse(&rootless).container.unwrap().runtime, "podman");
        let conmon = format!("0::/machine.slice/libpod-conmon-{ID}.scope\n");
        assert_eq!(parse(&conmon).container, None);
        let cgroupfs = format!("0::/libpod_parent/libpod-{ID}\n");
        assert_eq!(parse(&cgroupfs).container.unwrap().runtime, "podman");
    }

    #[test]
    fn lxc() {
        let c = parse("0::/lxc.payload.web1/system.slice/nginx.service\n");
        assert_eq!(c.container.unwrap().id, "web1");
        assert_eq!(c.unit.as_deref(), Some("nginx.service"));
        let c = parse("4:memory:/lxc/db\n").container.unwrap();
        assert_eq!((c.runtime.as_str(), c.id.as_str()), ("lxc", "db"));
    }

    #[test]
    fn plain_host_processes() {
        let info = parse("0::/system.slice/nginx.service\n");
        assert_eq!(info.container, None);
        assert_eq!(info.unit.as_deref(), Some("nginx.service"));
        let info = parse("0::/user.slice/user-0.slice/session-3.scope\n");
        assert_eq!(info.unit.as_deref(), Some("session-3.scope"));
        // A sandbox's own cgroup with a 32-digit id is not a container we know.
        let info = parse("4:memory:/process_api/37ed4e94baf687cc5242f1ac2711ee6a\n0::/\n");
        assert_eq!(info, CgroupInfo::default());
        assert_eq!(parse(""), CgroupInfo::default());
        assert_eq!(parse("garbage without colons\n"), CgroupInfo::default());
    }

    #[test]
    fn labels() {
        let c = container("docker", ID, None);
        assert_eq!(short_label(&c), "docker:3f4e1c2b9a8d");
    }
}
