//! A private network namespace for a lab run (`--own-netns`, `--lossy`): created with iproute2 so that
//! `ip netns exec NAME ...` and `tcpscope ls --netns NAME` find it, entered by the workers with
//! setns() before they exec, and deleted when the guard drops — on every exit but SIGKILL of the
//! supervisor itself. What a killed run leaves (its namespace, and with it any nftables rules of
//! `--lossy`, which live inside it; the workers die with the supervisor) is swept by the next
//! lab run as root ([`sweep_stale`]): the name says which process made it.

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
        let name = format!("{PREFIX}{}", std::process::id());
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

/// Every lab namespace is `PREFIX` + the supervisor's pid.
const PREFIX: &str = "tcpscope-lab-";

/// Delete the namespaces of lab runs that are gone (killed with SIGKILL, so their guard never
/// ran): a `tcpscope-lab-PID` in /run/netns whose PID is no longer a `tcpscope lab` process.
/// Returns what was removed, and what could not be, with why. Needs root (not checked: `ip`
/// says so and the name lands in the second list).
pub fn sweep_stale() -> (Vec<String>, Vec<(String, String)>) {
    let mut removed = Vec::new();
    let mut failed = Vec::new();
    let Ok(dir) = std::fs::read_dir("/run/netns") else {
        return (removed, failed);
    };
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() || is_lab_supervisor(pid) {
            continue;
        }
        match ip(&["netns", "del", &name]) {
            Ok(()) => removed.push(name),
            Err(e) => failed.push((name, format!("{e:#}"))),
        }
    }
    removed.sort();
    (removed, failed)
}

/// True when `pid` runs `tcpscope lab` (its command line: an executable named tcpscope*, and a
/// `lab` argument). A pid reused by any other program is not lab's; when in doubt the
/// namespace is kept.
fn is_lab_supervisor(pid: u32) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let mut args = cmdline.split(|b| *b == 0);
    let exe = args.next().unwrap_or_default();
    let base = exe.rsplit(|b| *b == b'/').next().unwrap_or_default();
    base.starts_with(b"tcpscope") && args.any(|a| a == b"lab")
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
