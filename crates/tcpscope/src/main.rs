//! tcpscope's entry point: parse the command line, run one command, turn the outcome into an
//! exit status. A closed pipe (`tcpscope ls | head`) ends the program quietly with status 0.

mod act;
mod cli;
mod collect;
mod commands;
mod lab;
mod serve;
mod top;

use clap::Parser;
use std::process::ExitCode;

/// Exit status for any failure of tcpscope itself (0..=2 are reserved for health verdicts).
const EXIT_ERROR: u8 = 3;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Messages may quote names from the host or a recording: no raw control characters.
            let text = format!("{e:#}");
            eprintln!(
                "tcpscope: {}",
                tcpscope_core::render::safe::terminal_safe_lines(&text)
            );
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
