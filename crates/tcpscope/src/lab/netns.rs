//! A private network namespace for a lab run (`--own-netns`, `--lossy`): created with iproute2 so that
//! `ip netns exec NAME ...` and `tcpscope ls --netns NAME` find it, entered by the workers with
//! setns() before they exec, and deleted when the guard drops — on every exit but SIGKILL of the
//! supervisor itself (then `ip netns del NAME` removes it; the name says which run made it).

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
