//! The options of what installing tcpscope needs from tcpscope itself: `completions` (a shell's
//! completion script) and the hidden `man` (one manual page per subcommand), written by
//! commands/completions.rs and commands/man.rs from the clap definitions in this directory.

use clap::Args;
use std::path::PathBuf;

/// Shells tcpscope writes completion scripts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShellArg {
    Bash,
    Zsh,
    Fish,
}

/// Options of `tcpscope completions`.
#[derive(Debug, Args, Clone)]
#[command(after_help = "Install:\n  \
tcpscope completions bash > /usr/share/bash-completion/completions/tcpscope\n  \
tcpscope completions zsh  > /usr/local/share/zsh/site-functions/_tcpscope\n  \
tcpscope completions fish > ~/.config/fish/completions/tcpscope.fish\n\n\
Besides options and subcommands, the scripts complete state names after `state` and `exclude`,\n\
network namespace names after --netns (from /run/netns), and lab scenarios.")]
pub struct CompletionsArgs {
    /// The shell to write the script for.
    #[arg(value_enum)]
    pub shell: ShellArg,
}

/// Options of the hidden `tcpscope man`.
#[derive(Debug, Args, Clone)]
pub struct ManArgs {
    /// Write tcpscope.1 and one tcpscope-COMMAND.1 per subcommand into DIR (created if missing).
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
}
