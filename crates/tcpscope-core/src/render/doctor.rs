//! Text form of a `doctor` report: the verdict first, then findings most severe first, each with
//! its evidence, what it means, and the next steps; last, the rules that found nothing and those
//! that could not run on this data (an imported capture without timers, say) and why.

use crate::analyze::diagnose::{Report, Severity};
use crate::render::time::utc_text;
use std::io::{self, Write};

/// Write the report for a person.
pub fn write_report(out: &mut impl Write, r: &Report) -> io::Result<()> {
    writeln!(out, "{}", r.verdict)?;
    writeln!(
        out,
        "  at {}: {} sockets, {} processes",
        utc_text(r.taken_at_unix_ms),
        r.checked.sockets,
        r.checked.processes
    )?;
    for note in &r.checked.notes {
        writeln!(out, "  note: {note}")?;
    }
    if r.findings.is_empty() {
        writeln!(out, "  checked: {}", r.checked.rules.join(", "))?;
        return write_not_run(out, r, "  ");
    }
    for f in &r.findings {
        writeln!(out)?;
        writeln!(out, "[{}] {}: {}", f.severity.label(), f.rule, f.title)?;
        for e in &f.evidence {
            writeln!(out, "  - {e}")?;
        }
        writeln!(out, "  why: {}", f.explanation)?;
        for (i, step) in f.next_steps.iter().enumerate() {
            let lead = if i == 0 { "  next:" } else { "       " };
            writeln!(out, "{lead} {step}")?;
        }
    }
    let quiet: Vec<&str> = r
        .checked
        .rules
        .iter()
        .copied()
        .filter(|id| !r.findings.iter().any(|f| f.rule == *id))
        .collect();
    writeln!(out)?;
    writeln!(out, "nothing found by: {}", quiet.join(", "))?;
    write_not_run(out, r, "")?;
    let worst = r.severity.unwrap_or(Severity::Info);
    if worst > Severity::Info {
        writeln!(
            out,
            "exit status {}: {}",
            r.exit_code(),
            worst.label().to_lowercase()
        )?;
    }
    Ok(())
}

/// "could not run: listen-overflow (the capture ... has no listener backlogs nor kernel counters)".
fn write_not_run(out: &mut impl Write, r: &Report, indent: &str) -> io::Result<()> {
    for (i, n) in r.checked.could_not_run.iter().enumerate() {
        let lead = if i == 0 {
            "could not run:"
        } else {
            "              "
        };
        writeln!(out, "{indent}{lead} {} ({})", n.rule, n.why)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::diagnose::fixtures::*;
    use crate::analyze::diagnose::{diagnose, Context};

    fn render(snap: &crate::Snapshot) -> (String, u8) {
        let input = crate::analyze::diagnose::digest::Digest::of_snapshot(snap);
        let report = diagnose(&Context::new(&input, None));
        let mut out = Vec::new();
        write_report(&mut out, &report).unwrap();
        (String::from_utf8(out).unwrap(), report.exit_code())
    }

    #[test]
    fn healthy_report() {
        let (text, code) = render(&healthy());
        assert_eq!(code, 0);
        assert!(
            text.starts_with("healthy: no problems in 7 TCP sockets"),
            "{text}"
        );
        insta::assert_snapshot!(text);
    }

    #[test]
    fn stopped_server_report() {
        let mut snap = healthy();
        snap.sockets.extend(stopped_server_pairs(4242, 4, 95_000));
        process(&mut snap, 4242, "server", 'T');
        let (text, code) = render(&snap);
        assert_eq!(code, 2);
        assert!(
            text.starts_with("critical: 1 critical, 0 warning(s) — pid 4242 (server)"),
            "{text}"
        );
        insta::assert_snapshot!(text);
    }
}
