//! One module per subcommand, each wiring collect -> core -> render. This file dispatches and
//! holds the small pieces every command shares (output, state-selection words).

pub mod completions;
pub mod diagram;
pub mod doctor;
pub mod explain;
pub mod floor;
pub mod lab;
pub mod ls;
pub mod man;
pub mod output;
pub mod release;
pub mod serve;
pub mod simulate;
pub mod summary;
pub mod trace;

use crate::cli::{habits, Cli, Command, LsArgs, SummaryArgs};
use anyhow::Result;
use std::process::ExitCode;

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        None => {
            crate::cli::suggest::refuse_mistyped_command(&cli.ls.filter)?;
            list(&cli.ls)
        }
        Some(Command::Ls(args)) => list(&args),
        Some(Command::Release(args)) => release::run(&args),
        Some(Command::Summary(args)) => {
            habits::check_input(&args.input)?;
            summary::run(&args)
        }
        Some(Command::Doctor(args)) => {
            habits::check_input(&args.input)?;
            doctor::run(&args)
        }
        Some(Command::DumpFloor) => floor::run(),
        Some(Command::PollBench(args)) => floor::run_poll_bench(&args),
        Some(Command::Explain(args)) => explain::run(&args),
        Some(Command::Simulate(args)) => simulate::run(&args),
        Some(Command::Diagram(args)) => diagram::run(&args),
        Some(Command::Serve(args)) => serve::run(&args),
        Some(Command::Trace(args)) => trace::run(&args),
        Some(Command::Lab(args)) => lab::run(&args),
        Some(Command::LabWorker(args)) => lab::run_worker(&args),
        Some(Command::Completions(args)) => completions::run(&args),
        Some(Command::Man(args)) => man::run(&args),
    }
}

/// `ls`, after refusing what does not apply; `ls -s` is the summary, as `ss -s`.
fn list(args: &LsArgs) -> Result<ExitCode> {
    if args.kill {
        return release::ls_kill(&args.filter);
    }
    habits::check_ls(args)?;
    if args.summary {
        return summary::run(&SummaryArgs::from(args));
    }
    ls::run(args)
}
