//! `tcpscope lab SCENARIO` and its hidden `lab-worker` processes: real sockets in chosen states
//! (the work itself lives in `crate::lab`).

use crate::cli::lab::{LabArgs, WorkerArgs};
use crate::lab::{supervisor, worker};
use anyhow::Result;
use std::process::ExitCode;

pub fn run(args: &LabArgs) -> Result<ExitCode> {
    supervisor::run(&args.into())
}

pub fn run_worker(args: &WorkerArgs) -> Result<ExitCode> {
    worker::run(&args.into())
}
