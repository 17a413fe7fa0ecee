//! `tcpscope simulate [SCENARIO]`: two endpoints driven through the state-machine model and
//! drawn as a ladder diagram (or printed as JSON steps), with what `tcpscope trace` would show.

use super::output::stdout;
use crate::cli::SimulateArgs;
use anyhow::{Context, Result};
use std::io::Write;
use std::process::ExitCode;
use tcpscope_core::analyze::fsm::scenarios::{scenario, SCENARIOS};
use tcpscope_core::analyze::fsm::simulate::run as simulate;
use tcpscope_core::analyze::fsm::Flavor;
use tcpscope_core::render::ladder::{write_ladder, write_traced};

pub fn run(args: &SimulateArgs) -> Result<ExitCode> {
    let mut out = stdout();
    let Some(name) = &args.scenario else {
        if args.json {
            let list: Vec<_> = SCENARIOS
                .iter()
                .map(|s| serde_json::json!({"name": s.name, "title": s.title}))
                .collect();
            serde_json::to_writer_pretty(&mut out, &list)?;
            writeln!(out)?;
        } else {
            writeln!(out, "Scenarios (tcpscope simulate NAME):")?;
            for s in SCENARIOS {
                writeln!(out, "  {:<20} {}", s.name, s.title)?;
            }
        }
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    };
    let scenario = scenario(name)?;
    let flavor = if args.rfc { Flavor::Rfc } else { Flavor::Linux };
    let sim = simulate(scenario, flavor).with_context(|| {
        format!(
            "scenario '{}' needs Linux behaviour that RFC 9293 does not define; run it without --rfc",
            scenario.name
        )
    })?;
    if args.json {
        serde_json::to_writer_pretty(&mut out, &sim)?;
        writeln!(out)?;
    } else {
        write_ladder(&mut out, &sim)?;
        write_traced(&mut out, &sim)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
