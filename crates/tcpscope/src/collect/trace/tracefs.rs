//! tracefs: where the tracepoints' ids and `format` files are. Mounted at /sys/kernel/tracing
//! on current systems (or under debugfs at /sys/kernel/debug/tracing on old ones); trace mounts
//! it when it is missing, as `perf` does (EBUSY from mount means it is mounted already).

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use tcpscope_core::decode::tracepoint::EventFormat;

/// Where tracefs is mounted on current kernels.
pub const TRACEFS: &str = "/sys/kernel/tracing";
/// Where old kernels expose it, inside debugfs.
const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

/// The tracefs directory whose `events/` holds the tracepoints, mounting tracefs if needed.
pub fn events_dir() -> Result<PathBuf> {
    for dir in [TRACEFS, DEBUGFS_TRACING] {
        let events = Path::new(dir).join("events");
        match std::fs::metadata(&events) {
            Ok(m) if m.is_dir() => return Ok(events),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => bail!(
                "reading kernel tracepoints needs root ({} is readable by root only)",
                events.display()
            ),
            _ => {}
        }
    }
    mount()?;
    let events = Path::new(TRACEFS).join("events");
    if events.is_dir() {
        Ok(events)
    } else {
        bail!("tracefs is mounted at {TRACEFS} but has no events/ directory (a kernel without tracepoints?)")
    }
}

fn mount() -> Result<()> {
    match rustix::mount::mount(
        "nodev",
        TRACEFS,
        "tracefs",
        rustix::mount::MountFlags::empty(),
        None,
    ) {
        Ok(()) | Err(rustix::io::Errno::BUSY) => Ok(()),
        Err(rustix::io::Errno::PERM | rustix::io::Errno::ACCESS) => bail!(
            "tracefs is not mounted at {TRACEFS} and mounting it needs root \
             (`sudo mount -t tracefs nodev {TRACEFS}`)"
        ),
        Err(rustix::io::Errno::NODEV) => {
            bail!("this kernel has no tracefs (CONFIG_TRACING is off): tracepoints cannot be read")
        }
        Err(e) => {
            Err(std::io::Error::from(e)).with_context(|| format!("mounting tracefs at {TRACEFS}"))
        }
    }
}

/// The `format` of one tracepoint (`sock/inet_sock_set_state`), parsed.
pub fn event_format(events: &Path, name: &str) -> Result<EventFormat> {
    let path = events.join(name).join("format");
    let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => anyhow::anyhow!(
            "this kernel has no tracepoint {name} ({} is missing)",
            path.display()
        ),
        std::io::ErrorKind::PermissionDenied => anyhow::anyhow!(
            "reading {} needs root (tracefs is readable by root only)",
            path.display()
        ),
        _ => anyhow::anyhow!("reading {}: {e}", path.display()),
    })?;
    EventFormat::parse(&text).with_context(|| format!("reading {}", path.display()))
}
