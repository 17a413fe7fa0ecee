//! ss habits and options that do not apply, checked once before a command runs: a flag typed by
//! habit either works, or is refused with what to do instead — never silently ignored.
//!
//! * ss's other protocols (`-u`, `-x`, `-w`, `-S`, `-M`): tcpscope shows TCP only; say which ss
//!   command shows them.
//! * `-E` (events): tcpscope has its own command for that (`trace`), which says more. (`-K`,
//!   kill, is answered by `commands::release::ls_kill` with the exact `release` command line.)
//! * Options that mean nothing with the others given (`-e` with `--json`, `-p` with `-s`,
//!   `--source proc` with a recording): refused, naming the one to drop.

use super::{LsArgs, SourceArg};
use anyhow::{bail, Result};
use clap::Args;

/// ss flags for what tcpscope does not show or does elsewhere; hidden from `--help` (whose
/// examples mention them) and refused with advice when given.
#[derive(Debug, Args, Clone, Default)]
pub struct NotTcpArgs {
    /// UDP sockets (ss -u).
    #[arg(short = 'u', long = "udp", hide = true)]
    pub udp: bool,
    /// Unix sockets (ss -x).
    #[arg(short = 'x', long = "unix", hide = true)]
    pub unix: bool,
    /// Raw sockets (ss -w).
    #[arg(short = 'w', long = "raw", hide = true)]
    pub raw: bool,
    /// SCTP sockets (ss -S).
    #[arg(short = 'S', long = "sctp", hide = true)]
    pub sctp: bool,
    /// MPTCP sockets (ss -M).
    #[arg(short = 'M', long = "mptcp", hide = true)]
    pub mptcp: bool,
    /// Socket events (ss -E).
    #[arg(short = 'E', long = "events", hide = true)]
    pub events: bool,
}

/// Refuse what `ls` cannot do as asked.
pub fn check_ls(a: &LsArgs) -> Result<()> {
    let n = &a.not_tcp;
    for (given, flag, what, ss) in [
        (n.udp, "-u", "UDP", "ss -uan"),
        (n.unix, "-x", "Unix", "ss -xa"),
        (n.raw, "-w", "raw", "ss -wa"),
        (n.sctp, "-S", "SCTP", "ss -San"),
        (n.mptcp, "-M", "MPTCP", "ss -Man"),
    ] {
        if given {
            bail!(
                "{flag}: tcpscope shows TCP sockets only; for {what} sockets use `{ss}`{}",
                if flag == "-M" {
                    " (the TCP subflows of MPTCP connections are listed by tcpscope)"
                } else {
                    ""
                }
            );
        }
    }
    if n.events {
        bail!(
            "-E: ss -E streams socket events; tcpscope's way is `tcpscope trace`, which shows \
             every state change as it happens and whose socket it was"
        );
    }
    let machine = if a.json {
        Some("--json")
    } else if a.jsonl {
        Some("--jsonl")
    } else {
        None
    };
    if let Some(m) = machine {
        for (given, flag, why) in [
            (
                a.extended,
                "-e",
                "JSON always carries uid, inode, cookie and tcp_info",
            ),
            (
                a.info,
                "-i",
                "JSON always carries tcp_info and the congestion algorithm",
            ),
            (a.resolve, "-r", "JSON gives addresses and ports as numbers"),
            (a.no_header, "-H", "JSON has no header line"),
        ] {
            if given {
                bail!("{flag} does not apply to {m}: {why}; drop {flag}");
            }
        }
    }
    if a.summary {
        for (given, flag) in [
            (a.extended, "-e"),
            (a.info, "-i"),
            (a.memory, "-m"),
            (a.processes, "-p"),
            (a.listening, "-l"),
            (a.resolve, "-r"),
            (a.no_header, "-H"),
            (a.jsonl, "--jsonl"),
        ] {
            if given {
                bail!("{flag} does not apply to -s (the summary counts sockets); drop {flag}, or -s to list them");
            }
        }
    }
    check_input(&a.input)
}

/// Refuse input options that do not apply together.
pub fn check_input(input: &super::InputArgs) -> Result<()> {
    if input.from.is_some() && input.source != SourceArg::Auto {
        bail!("--source chooses how the live kernel is read; a recording (--from) is read as it was recorded: drop --source");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn ls(args: &str) -> Result<()> {
        let cli = Cli::try_parse_from(std::iter::once("tcpscope").chain(args.split_whitespace()))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        match cli.command {
            Some(crate::cli::Command::Ls(a)) => check_ls(&a),
            None => check_ls(&cli.ls),
            _ => Ok(()),
        }
    }

    #[test]
    fn ss_habits_work_or_say_what_to_use() {
        assert!(ls("-tan").is_ok());
        assert!(ls("-tanpo").is_ok());
        assert!(ls("ls -s").is_ok());
        let err = ls("-u").unwrap_err().to_string();
        assert!(
            err.contains("TCP sockets only") && err.contains("ss -uan"),
            "{err}"
        );
        assert!(ls("-x").unwrap_err().to_string().contains("ss -xa"));
        assert!(ls("ls -w").unwrap_err().to_string().contains("ss -wa"));
        assert!(ls("-E").unwrap_err().to_string().contains("tcpscope trace"));
    }

    #[test]
    fn options_that_do_not_apply_are_refused() {
        for args in [
            "ls --json -e",
            "ls --jsonl -H",
            "ls --json -i",
            "ls -s -p",
            "ls -s -e",
        ] {
            let err = ls(args).unwrap_err().to_string();
            assert!(err.contains("does not apply"), "{args}: {err}");
        }
        assert!(ls("ls --json -m").is_ok(), "memory goes into JSON");
        assert!(ls("ls --from x.json --source proc")
            .unwrap_err()
            .to_string()
            .contains("drop --source"));
    }
}
