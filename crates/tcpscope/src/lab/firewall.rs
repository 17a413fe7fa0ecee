//! nftables rules for `--lossy`: drop the segment that would end a state, inside lab's own
//! network namespace only (the worker has entered it before it runs `nft`; the rules vanish with
//! the namespace). Lab never touches the host's firewall.
//!
//! Rules sit on the *input* hook: the segment leaves its sender normally and is lost on the way,
//! as on a real network. (Dropped on output, the sender would see a local transmit error and
//! treat the segment as never sent.)

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};

/// Which packets of the connections to `server` to drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drop {
    /// Client -> server (SYNs, and the ACK of the server's FIN).
    ToServer,
    /// Server -> client (the ACK of the client's FIN).
    FromServer,
    /// Both directions.
    Both,
}

/// Replace worker `k`'s rules with one that drops `what` for `server`.
pub fn drop_packets(k: u64, server: SocketAddr, what: Drop) -> Result<()> {
    let table = format!("tcpscope_lab_{k}");
    let (ip, port) = (server.ip(), server.port());
    // nftables' families: `ip` for IPv4, `ip6` for IPv6, for both the table and the match.
    let family = if ip.is_ipv6() { "ip6" } else { "ip" };
    let to = format!("{family} daddr {ip} tcp dport {port} drop");
    let from = format!("{family} saddr {ip} tcp sport {port} drop");
    let rules = match what {
        Drop::ToServer => vec![to],
        Drop::FromServer => vec![from],
        Drop::Both => vec![to, from],
    };
    // Declaring the table and chain is idempotent; the flush makes the rule set exactly `rules`.
    let mut script = format!(
        "table {family} {table} {{\n chain lose {{\n  type filter hook input priority 0; policy accept;\n }}\n}}\nflush chain {family} {table} lose\n"
    );
    for r in rules {
        script.push_str(&format!("add rule {family} {table} lose {r}\n"));
    }
    nft(&script)
}

fn nft(script: &str) -> Result<()> {
    if !rustix::process::geteuid().is_root() {
        bail!("--lossy needs root for nftables rules in lab's namespace; run as root, or leave out --lossy");
    }
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("running nft: --lossy needs nftables (e.g. apt-get install nftables)")?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(script.as_bytes())?;
    }
    let out = child.wait_with_output().context("waiting for nft")?;
    if !out.status.success() {
        bail!(
            "nft refused lab's rules: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}
