//! The options of `tcpscope release` and their conversion into the release model's own types
//! (so `tcpscope_core::analyze::release` does not depend on clap).

use clap::Args;
use std::path::PathBuf;
use tcpscope_core::analyze::release::{Invocation, MethodChoice, Options};

/// Options of `tcpscope release`.
#[derive(Debug, Args, Clone, Default)]
#[command(
    after_help = "Without --yes nothing is touched: release lists the sockets it would end, with their\n\
owners, what each owner and peer will see, and the risk (a program that does not ignore\n\
SIGPIPE dies on its next write to a released socket). tcpscope never signals or kills a process.\n\n\
Methods: FIN (the default for sockets a process holds that can still send one: ESTABLISHED,\n\
CLOSE-WAIT, SYN-SENT, LISTEN) duplicates the owner's descriptor (pidfd_getfd) and calls\n\
shutdown(); RST (the default for TIME-WAIT, orphans, SYN-RECV and sockets past their FIN)\n\
is SOCK_DESTROY, as `ss -K`. A FIN to a dead peer leaves LAST-ACK retransmitting: then --rst.\n\n\
Exit status: 0 every selected socket is gone (or a dry run), 1 some remain, 3 error or\n\
nothing could be attempted (e.g. without root).\n\n\
Examples:\n  \
tcpscope release state close-wait pid = 4242        what would end (a dry run)\n  \
tcpscope release --yes state close-wait pid = 4242  end them: FIN through pid 4242's descriptors\n  \
tcpscope release --rst --yes state last-ack dport = :5432\n  \
tcpscope release --json state close-wait > plan.json; tcpscope release --yes --listed plan.json\n\n\
docs/release.md"
)]
pub struct ReleaseArgs {
    /// Act: end the selected sockets. Without --yes, release is a dry run that changes nothing.
    #[arg(long)]
    pub yes: bool,

    /// End every selected socket with a FIN: shutdown(SHUT_RDWR) through a duplicate of its
    /// owner's descriptor (pidfd_getfd; root, CAP_SYS_PTRACE, or the owner's own user).
    #[arg(long, conflicts_with = "rst")]
    pub fin: bool,

    /// End every selected socket with a reset: SOCK_DESTROY over sock_diag, as `ss -K` does
    /// (CAP_NET_ADMIN). Also removes TIME-WAIT sockets.
    #[arg(long)]
    pub rst: bool,

    /// Also end listening sockets the filter matches (the service stops accepting connections);
    /// without it they are left alone and named.
    #[arg(long)]
    pub listeners: bool,

    /// Print the report as JSON: {"dry_run", "sockets": [{"socket", "method", "owners",
    /// "owner_sees", "peer_sees", "refused", "outcome"...}], ...}.
    #[arg(long)]
    pub json: bool,

    /// With --yes: how long to wait for ended sockets to leave the TCP tables (a FIN needs the
    /// peer's ACK, one round trip) before reporting those that remain.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_wait)]
    pub wait: u64,

    /// Act on exactly the sockets a dry run listed (FILE: its --json output, '-' for standard
    /// input), not on whatever the filter matches now. Each is checked again before acting.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["filter", "netns", "all_netns"])]
    pub listed: Option<PathBuf>,

    /// Release sockets of another network namespace: a name from `ip netns list`, or pid:PID
    /// for the namespace of a process (e.g. a container's). Root.
    #[arg(long, value_name = "NAME|pid:PID", conflicts_with = "all_netns")]
    pub netns: Option<String>,

    /// Select from every network namespace on the host (named ones and those of all processes).
    /// Root.
    #[arg(long)]
    pub all_netns: bool,

    /// Which sockets, in ss's filter language (as for `tcpscope ls`, docs/filter.md). Required:
    /// release refuses to act on every socket. Owners narrow it: `state close-wait pid = 4242`.
    #[arg(value_name = "FILTER", trailing_var_arg = true)]
    pub filter: Vec<String>,
}

/// A --wait duration in milliseconds (at most a minute).
fn parse_wait(s: &str) -> Result<u64, String> {
    let ms = tcpscope_core::analyze::duration::parse_duration_ms(s)?;
    if ms > 60_000 {
        return Err(format!("'{s}' is too long; wait at most 60s"));
    }
    Ok(ms)
}

impl From<&ReleaseArgs> for Options {
    fn from(a: &ReleaseArgs) -> Options {
        Options {
            method: match (a.fin, a.rst) {
                (true, _) => MethodChoice::Fin,
                (_, true) => MethodChoice::Rst,
                _ => MethodChoice::Auto,
            },
            listeners: a.listeners,
        }
    }
}

impl From<&ReleaseArgs> for Invocation {
    fn from(a: &ReleaseArgs) -> Invocation {
        let flags = [
            (a.fin, "--fin"),
            (a.rst, "--rst"),
            (a.listeners, "--listeners"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, f)| f.to_string())
        .collect();
        let scope = match (&a.netns, a.all_netns) {
            (Some(ns), _) => vec!["--netns".to_string(), ns.clone()],
            (None, true) => vec!["--all-netns".to_string()],
            (None, false) => vec![],
        };
        Invocation {
            filter: a.filter.join(" "),
            flags,
            scope,
        }
    }
}
