//! Shared plumbing of the commands: buffered stdout, the -4/-6 family choice, parsing the filter
//! (the ss language, `tcpscope_core::analyze::filter`), and telling the user on stderr what they
//! should know about how sockets were read.

use crate::collect::collector::PollReport;
use crate::collect::resolve::SystemResolver;
use anyhow::Result;
use std::io::{self, BufWriter, Write};
use tcpscope_core::render::safe::terminal_safe;
use tcpscope_core::{Family, Filter, Snapshot};

/// Standard output, buffered in large blocks (one write syscall per 64 KiB).
pub fn stdout() -> BufWriter<io::StdoutLock<'static>> {
    BufWriter::with_capacity(64 * 1024, io::stdout().lock())
}

/// The families selected by -4 / -6 (both when neither is given).
pub fn families(ipv4: bool, ipv6: bool) -> Vec<Family> {
    match (ipv4, ipv6) {
        (true, false) => vec![Family::Inet],
        (false, true) => vec![Family::Inet6],
        _ => vec![Family::Inet, Family::Inet6],
    }
}

/// Parse the filter words (separate arguments or one quoted string, as in ss).
pub fn parse_filter(words: &[String]) -> Result<Filter> {
    Filter::from_args(words, &SystemResolver)
        .map_err(|e| anyhow::anyhow!("{e}\nthe filter language is described in docs/filter.md"))
}

/// Tell the user, on stderr, the header's notes (how the sockets were read), what went wrong
/// while reading, and what the poll learned (owners that could not be seen).
pub fn print_poll_notes(header: &Snapshot, report: &PollReport) {
    let mut err = io::stderr().lock();
    for n in &header.notes {
        let _ = writeln!(err, "tcpscope: note: {}", terminal_safe(n));
    }
    for w in &report.warnings {
        let _ = writeln!(err, "tcpscope: warning: {}", terminal_safe(w));
    }
    for n in &report.notes {
        let _ = writeln!(err, "tcpscope: note: {}", terminal_safe(n));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcpscope_core::{StateSet, TcpState};

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn state_words_still_work() {
        assert_eq!(
            parse_filter(&[]).unwrap().states(),
            StateSet::ALL.without(TcpState::BoundInactive)
        );
        let s = parse_filter(&words("state close-wait state TIME_WAIT"))
            .unwrap()
            .states();
        assert_eq!(s, StateSet::of(&[TcpState::CloseWait, TcpState::TimeWait]));
        let s = parse_filter(&["state connected exclude established".into()])
            .unwrap()
            .states();
        assert!(!s.contains(TcpState::Established) && s.contains(TcpState::CloseWait));
        let s = parse_filter(&words("exclude time-wait")).unwrap().states();
        assert!(!s.contains(TcpState::TimeWait) && s.contains(TcpState::Listen));
        assert!(parse_filter(&words("close-wait")).is_err());
        assert!(parse_filter(&words("state bogus")).is_err());
    }

    #[test]
    fn separate_words_and_one_string_are_the_same() {
        let a = parse_filter(&words("sport = :22 or dport = :22")).unwrap();
        let b = parse_filter(&["sport = :22 or dport = :22".into()]).unwrap();
        assert_eq!(a, b);
    }
}
