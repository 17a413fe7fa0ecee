//! Text form of a `doctor` report: the verdict first, then findings most severe first, each with
//! its evidence, what it means, and the next steps; last, the rules that found nothing and those
//! that could not run on this data (an imported capture without timers, say) and why. Findings
//! quote process names, units and namespace names — chosen by whoever runs those processes, or by
//! another host in a recording or capture — so every line passes through [`terminal_safe`].

use crate::analyze::diagnose::{Report, Severity};
use crate::render::safe::terminal_safe;
use crate::render::time::utc_text;
use std::io::{self, Write};

/// "1 socket", "3 sockets".
pub fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Write the report for a person.
pub fn write_report(out: &mut impl Write, r: &Report) -> io::Result<()> {
    writeln!(out, "{}", terminal_safe(&r.verdict))?;
    writeln!(
        out,
        "  at {}: {}, {}",
        utc_text(r.taken_at_unix_ms),
        plural(r.checked.sockets, "socket", "sockets"),
        plural(r.checked.processes, "process", "processes")
    )?;
    for note in &r.checked.notes {
        writeln!(out, "  note: {}", terminal_safe(note))?;
    }
    if r.findings.is_empty() {
        writeln!(out, "  checked: {}", r.checked.rules.join(", "))?;
        return write_not_run(out, r, "  ");
    }
    for f in &r.findings {
        writeln!(out)?;
        writeln!(
            out,
            "[{}] {}: {}",
            f.severity.label(),
            f.rule,
            terminal_safe(&f.title)
        )?;
        for e in &f.evidence {
            writeln!(out, "  - {}", terminal_safe(e))?;
        }
        writeln!(out, "  why: {}", terminal_safe(&f.explanation))?;
        for (i, step) in f.next_steps.iter().enumerate() {
            let lead = if i == 0 { "  next:" } else { "       " };
            writeln!(out, "{lead} {}", terminal_safe(step))?;
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
    use crate::model::state::TcpState;

    fn render(snap: &crate::Snapshot) -> (String, u8) {
        let input = crate::analyze::diagnose::digest::Digest::of_snapshot(snap);
        let report = diagnose(&Context::new(&input, None));
        let mut out = Vec::new();
        write_report(&mut out, &report).unwrap();
        (String::from_utf8(out).unwrap(), report.exit_code())
    }

    /// Regression (issue 11, defect 13): the header said "1 processes".
    #[test]
    fn one_process_is_not_processes() {
        assert_eq!(plural(1, "process", "processes"), "1 process");
        assert_eq!(plural(0, "process", "processes"), "0 processes");
        let (text, _) = render(&healthy());
        assert!(
            text.lines()
                .nth(1)
                .unwrap()
                .ends_with("7 sockets, 1 process"),
            "{text}"
        );
    }

    /// Regression (issue 11, defect 11): a young CLOSE-WAIT leak (an info finding) was headed
    /// "healthy: nothing wrong".
    #[test]
    fn a_young_close_wait_leak_is_not_headed_healthy() {
        let mut snap = healthy();
        let mut cw = sock(TcpState::CloseWait, "127.0.0.1:8080", "127.0.0.1:40000");
        owned(&mut cw, 4242, "server");
        idle(&mut cw, 2_000);
        snap.sockets.push(cw);
        let input = crate::analyze::diagnose::digest::Digest::of_snapshot(&snap);
        let report = diagnose(&Context::new(&input, None));
        assert_eq!(report.severity, Some(Severity::Info));
        assert_eq!(report.exit_code(), 0);
        let (text, _) = render(&snap);
        let headline = text.lines().next().unwrap();
        assert!(!headline.contains("healthy"), "{headline}");
        assert!(!headline.contains("nothing wrong"), "{headline}");
        assert!(
            headline.starts_with(
                "no warnings in 8 TCP sockets; 1 finding to keep an eye on: pid 4242 (server)"
            ),
            "{headline}"
        );
        assert!(text.contains("[INFO] close-wait-leak"), "{text}");
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
