//! `tcpscope diagram`: the whole TCP state machine as text, Graphviz dot or SVG, optionally
//! with one state highlighted.

use super::explain::parse_state;
use super::output::stdout;
use crate::cli::{DiagramArgs, DiagramFormat};
use anyhow::Result;
use std::io::Write;
use std::process::ExitCode;
use tcpscope_core::render::diagram::{write_dot, write_text};
use tcpscope_core::render::svg::render_svg;

pub fn run(args: &DiagramArgs) -> Result<ExitCode> {
    let highlight = args.highlight.as_deref().map(parse_state).transpose()?;
    let mut out = stdout();
    match args.format {
        DiagramFormat::Text => write_text(&mut out, highlight)?,
        DiagramFormat::Dot => write_dot(&mut out, highlight)?,
        DiagramFormat::Svg => out.write_all(render_svg(highlight).as_bytes())?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
