//! `tcpscope explain [STATE [TO]]`: what a TCP state means, whose fault it is and what to do
//! next, or what one transition does — rendered from the state-machine model in core.

use super::output::stdout;
use crate::cli::ExplainArgs;
use anyhow::{bail, Result};
use std::io::Write;
use std::process::ExitCode;
use tcpscope_core::analyze::fsm::edges_from;
use tcpscope_core::render::explain::{
    transitions, write_overview, write_state, write_transition, StateDoc, EXPLAIN_ORDER,
};
use tcpscope_core::TcpState;

/// Parse a state name the user typed; the error lists the names tcpscope knows.
pub fn parse_state(name: &str) -> Result<TcpState> {
    name.parse::<TcpState>()
        .map_err(|e| anyhow::anyhow!("{e}; `tcpscope explain` lists them with their meaning"))
}

pub fn run(args: &ExplainArgs) -> Result<ExitCode> {
    let mut out = stdout();
    match (&args.state, &args.to) {
        (None, _) => {
            if args.json {
                let docs: Vec<StateDoc> = EXPLAIN_ORDER.iter().map(|s| StateDoc::new(*s)).collect();
                serde_json::to_writer_pretty(&mut out, &docs)?;
                writeln!(out)?;
            } else {
                write_overview(&mut out)?;
            }
        }
        (Some(state), None) => {
            let state = parse_state(state)?;
            if args.json {
                serde_json::to_writer_pretty(&mut out, &StateDoc::new(state))?;
                writeln!(out)?;
            } else {
                write_state(&mut out, state)?;
            }
        }
        (Some(from), Some(to)) => {
            let (from, to) = (parse_state(from)?, parse_state(to)?);
            let edges = transitions(from, to);
            if edges.is_empty() {
                let mut next: Vec<&str> = edges_from(from).map(|e| e.to.display_name()).collect();
                next.dedup();
                next.sort_unstable();
                next.dedup();
                bail!(
                    "TCP has no transition from {} to {}; from {} a socket can go to: {}. Try `tcpscope explain {}`",
                    from.display_name(),
                    to.display_name(),
                    from.display_name(),
                    next.join(", "),
                    from.name()
                );
            }
            if args.json {
                let doc = serde_json::json!({
                    "from": from,
                    "to": to,
                    "edges": edges,
                });
                serde_json::to_writer_pretty(&mut out, &doc)?;
                writeln!(out)?;
            } else {
                write_transition(&mut out, from, to)?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
