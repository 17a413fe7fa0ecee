//! One module per subcommand, each wiring collect -> core -> render. This file dispatches and
//! holds the small pieces every command shares (output, state-selection words).

pub mod lab;
pub mod ls;
pub mod output;
pub mod summary;

use crate::cli::{Cli, Command};
use anyhow::Result;
use std::process::ExitCode;

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        None => ls::run(&cli.ls),
        Some(Command::Ls(args)) => ls::run(&args),
        Some(Command::Summary(args)) => summary::run(&args),
        Some(Command::Lab(args)) => lab::run(&args),
        Some(Command::LabWorker(args)) => lab::run_worker(&args),
    }
}
