//! `tcpscope man --dir DIR`: the manual pages, made from the same clap definitions as `--help`
//! (clap_mangen), so they never disagree with it: tcpscope.1 and one tcpscope-COMMAND.1 per
//! visible subcommand. The Debian package ships them (scripts/build-deb.sh).

use crate::cli::install::ManArgs;
use crate::cli::Cli;
use anyhow::{Context, Result};
use clap::CommandFactory;
use std::path::Path;
use std::process::ExitCode;

pub fn run(args: &ManArgs) -> Result<ExitCode> {
    let written = write_pages(&args.dir)?;
    for name in written {
        println!("{}", args.dir.join(name).display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Write every page into `dir`; returns the file names, the main page first.
pub fn write_pages(dir: &Path) -> Result<Vec<String>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    // Built, every subcommand's display name is `tcpscope-NAME`: the page's title and file.
    let mut main = Cli::command().disable_help_subcommand(true);
    main.build();
    let version = env!("CARGO_PKG_VERSION");
    let mut pages = vec![main.clone()];
    pages.extend(main.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
    let mut written = Vec::new();
    for cmd in pages {
        let man = clap_mangen::Man::new(cmd)
            .source(format!("tcpscope {version}"))
            .manual("tcpscope manual");
        let file = man.get_filename();
        let mut out = Vec::new();
        man.render(&mut out)
            .with_context(|| format!("cannot render the manual page {file}"))?;
        let page = lay_out_notes(&String::from_utf8_lossy(&out));
        let path = dir.join(&file);
        std::fs::write(&path, page)
            .with_context(|| format!("cannot write the manual page {}", path.display()))?;
        written.push(file);
    }
    Ok(written)
}

/// clap_mangen puts each command's after-help text (examples, exit status) in a section named
/// EXTRA as filled text, which runs the example lines together. Name it NOTES and keep the
/// indented lines (examples, one per line) as they are.
fn lay_out_notes(page: &str) -> String {
    let mut out = String::with_capacity(page.len() + 64);
    let mut in_notes = false;
    let mut verbatim = false;
    for line in page.lines() {
        if line.starts_with(".SH ") {
            if verbatim {
                out.push_str(".fi\n");
                verbatim = false;
            }
            in_notes = line == ".SH EXTRA";
            out.push_str(if in_notes { ".SH NOTES" } else { line });
            out.push('\n');
            continue;
        }
        if in_notes {
            let indented = line.starts_with("  ");
            if indented && !verbatim {
                out.push_str(".nf\n");
                verbatim = true;
            } else if !indented && verbatim {
                out.push_str(".fi\n");
                verbatim = false;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    if verbatim {
        out.push_str(".fi\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::lay_out_notes;

    #[test]
    fn examples_in_the_notes_keep_their_lines() {
        let page = ".SH OPTIONS\ntext\n.SH EXTRA\nExamples:\n  a  one\n  b  two\nExit status: 0\n";
        assert_eq!(
            lay_out_notes(page),
            ".SH OPTIONS\ntext\n.SH NOTES\nExamples:\n.nf\n  a  one\n  b  two\n.fi\nExit status: 0\n"
        );
        assert_eq!(
            lay_out_notes(".SH EXTRA\n  last\n"),
            ".SH NOTES\n.nf\n  last\n.fi\n"
        );
    }
}
