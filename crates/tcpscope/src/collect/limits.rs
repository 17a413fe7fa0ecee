//! Running out of file descriptors (EMFILE), said as what it is. tcpscope keeps one sock_diag
//! socket and one namespace handle per network namespace it reads, and the /proc walk opens a
//! directory per thread, so a low `ulimit -n` (or a host with many namespaces) can exhaust the
//! limit; the user must hear "raise the limit", not "is /proc mounted?" or "it may have gone
//! away" (issue 17's fault tests run tcpscope under `ulimit -n 64`).

use std::io;

/// The soft limit on open files (RLIMIT_NOFILE), if it is finite.
pub fn open_files_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// True when `e` is EMFILE or ENFILE.
pub fn is_out_of_descriptors(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// What to tell the user about running out: the limit and how to raise it.
pub fn advice() -> String {
    match open_files_limit() {
        Some(n) => format!(
            "tcpscope ran out of file descriptors (its limit, ulimit -n, is {n}); raise it, e.g. `ulimit -n 4096`"
        ),
        None => "tcpscope ran out of file descriptors (the system-wide limit was reached)".to_string(),
    }
}

/// True when an error's text says it ran out (errors formatted into `anyhow!` text keep only
/// the operating system's message).
pub fn text_is_out_of_descriptors(text: &str) -> bool {
    text.contains("(os error 24)") || text.contains("(os error 23)")
}

/// Replace the notes of namespaces that could not be opened for lack of descriptors with one
/// note that says so and how many.
pub fn fold_namespace_notes(notes: &mut Vec<String>) {
    let before = notes.len();
    notes.retain(|n| !(n.contains("network namespace") && text_is_out_of_descriptors(n)));
    let skipped = before - notes.len();
    if skipped > 0 {
        notes.push(format!(
            "{} could not be read: {} (each namespace read costs two)",
            if skipped == 1 {
                "1 network namespace".to_string()
            } else {
                format!("{skipped} network namespaces")
            },
            advice()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_notes_for_lack_of_descriptors_become_one() {
        let mut notes = vec![
            "network namespaces read (3): ...".to_string(),
            "opening network namespace 'a' (/run/netns/a): Too many open files (os error 24); it may have gone away".to_string(),
            "opening network namespace 'b' (/run/netns/b): Too many open files (os error 24); it may have gone away".to_string(),
        ];
        fold_namespace_notes(&mut notes);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[1].starts_with(
            "2 network namespaces could not be read: tcpscope ran out of file descriptors"
        ));
        assert!(is_out_of_descriptors(&io::Error::from_raw_os_error(
            libc::EMFILE
        )));
        assert!(!is_out_of_descriptors(&io::Error::from_raw_os_error(
            libc::ENOENT
        )));
    }
}
