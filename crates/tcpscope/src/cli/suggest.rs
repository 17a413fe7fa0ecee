//! A mistyped command. With no command, tcpscope lists sockets and takes its arguments as a
//! filter (`tcpscope sport = :22`), so `tcpscope sumary` used to end as "invalid filter ...
//! unknown word 'sumary'". When the very first word is what the filter cannot read and it looks
//! like a command, say so and suggest the command.

use anyhow::{bail, Result};
use tcpscope_core::analyze::filter::{Filter, NoResolver};

/// The commands people type (hidden ones left out).
const COMMANDS: &[&str] = &[
    "ls", "list", "summary", "doctor", "explain", "simulate", "diagram", "lab",
];

/// An error naming the command `words` (the arguments of a command-less run) probably meant,
/// when their first word is no filter and close to a command's name.
pub fn refuse_mistyped_command(words: &[String]) -> Result<()> {
    let Some(first) = words.first() else {
        return Ok(());
    };
    let Err(e) = Filter::parse_with(&words.join(" "), &NoResolver) else {
        return Ok(());
    };
    // Only a problem with the first word itself makes it a command-shaped mistake.
    if e.col != 0 || !first.chars().all(|c| c.is_ascii_alphabetic() || c == '-') {
        return Ok(());
    }
    let word = first.to_ascii_lowercase();
    if let Some(cmd) = closest(&word) {
        bail!(
            "unknown command '{first}'; did you mean `tcpscope {cmd}`? (`tcpscope --help` lists \
             the commands; with no command, the arguments are a filter for `tcpscope ls`)"
        );
    }
    Ok(())
}

/// The command within two edits of `word` (or that `word` begins), if one is.
fn closest(word: &str) -> Option<&'static str> {
    COMMANDS
        .iter()
        .map(|c| (distance(word, c), *c))
        .filter(|(d, c)| *d <= 2.min(c.len() / 2) || (word.len() >= 3 && c.starts_with(word)))
        .min()
        .map(|(_, c)| c)
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn a_typo_of_a_command_is_suggested() {
        for (typed, want) in [
            ("sumary", "summary"),
            ("doctr", "doctor"),
            ("dcotor", "doctor"),
            ("explian CLOSE_WAIT", "explain"),
            ("simul", "simulate"),
            ("summ", "summary"),
        ] {
            let err = refuse_mistyped_command(&words(typed))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("`tcpscope {want}`")),
                "{typed}: {err}"
            );
        }
    }

    #[test]
    fn filters_and_unrelated_words_are_left_to_the_filter() {
        for ok in [
            "",
            "sport = :22",
            "state close-wait",
            "src 10.0.0.1",
            "idle > 5m",
        ] {
            assert!(refuse_mistyped_command(&words(ok)).is_ok(), "{ok}");
        }
        // Not near any command: the filter's own error says what is wrong.
        assert!(refuse_mistyped_command(&words("bogus")).is_ok());
        // A mistake later in a filter is the filter's.
        assert!(refuse_mistyped_command(&words("sport = :22 and lsx")).is_ok());
    }
}
