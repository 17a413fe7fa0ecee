//! A private network namespace for a lab run (`--own-netns`, `--lossy`): created with iproute2 so that
//! `ip netns exec NAME ...` and `tcpscope ls --netns NAME` find it, entered by the workers with
//! setns() before they exec, and deleted when the guard drops — on every exit but SIGKILL of the
//! supervisor itself: then the next lab run removes it ([`sweep_stale`]; the name says which
//! run made it, `ip netns del NAME` removes it by hand).

use anyhow::{bail, Context, Result};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// A named network namespace with loopback up, deleted on drop.
#[derive(Debug)]
pub struct Netns {
    pub name: String,
    file: File,
}

impl Netns {
    /// Create `tcpscope-lab-<pid>`. Needs root.
    pub fn create() -> Result<Netns> {
        if !rustix::process::geteuid().is_root() {
            bail!("--own-netns and --lossy need root to create a network namespace; run as root (e.g. sudo tcpscope lab ...), or leave them out");
        }
        let name = format!("tcpscope-lab-{}", std::process::id());
        ip(&["netns", "add", &name])?;
        let file = match File::open(format!("/run/netns/{name}")) {
            Ok(f) => f,
            Err(e) => {
                let _ = ip(&["netns", "del", &name]);
                return Err(e).context("opening the new namespace in /run/netns");
            }
        };
        let ns = Netns { name, file };
        ip(&["-n", &ns.name, "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Make `cmd` run inside this namespace.
    pub fn enter_on_exec(&self, cmd: &mut Command) {
        let fd = self.file.as_raw_fd();
        // SAFETY: setns is async-signal-safe and `fd` stays open until exec (the guard outlives
        // the spawn); the closure touches no memory shared with other threads.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.name]);
    }
}

fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("running `ip` (install iproute2)")?;
    if !out.status.success() {
        bail!(
            "ip {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// The prefix of every lab namespace; the rest of the name is the lab process's pid.
const PREFIX: &str = "tcpscope-lab-";

/// Remove the namespaces of lab runs that are gone: a lab killed with SIGKILL cannot delete its
/// own (`tcpscope-lab-PID`), so the next lab run does. A namespace is stale when no process
/// PID exists or PID is no longer a tcpscope lab (the pid was reused). Root only (without root
/// there is nothing lab could have made, or remove). Returns what was removed, in words.
pub fn sweep_stale() -> Vec<String> {
    if !rustix::process::geteuid().is_root() {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir(crate::collect::netns::NETNS_DIR) else {
        return Vec::new();
    };
    let me = std::process::id();
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != me && is_lab(pid) {
            continue;
        }
        match ip(&["netns", "del", &name]) {
            Ok(()) => removed.push(format!(
                "removed network namespace {name}, left by a lab run that was killed (no lab runs as pid {pid} now)"
            )),
            Err(e) => removed.push(format!(
                "network namespace {name} was left by a lab run that was killed, and could not be removed: {e:#}"
            )),
        }
    }
    removed
}

/// True when `pid` is a running `tcpscope lab` process.
fn is_lab(pid: u32) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let mut args = cmdline.split(|b| *b == 0);
    let exe_is_tcpscope = args
        .next()
        .is_some_and(|a| a.ends_with(b"tcpscope") || a.windows(8).any(|w| w == b"tcpscope"));
    exe_is_tcpscope && args.any(|a| a == b"lab")
}
