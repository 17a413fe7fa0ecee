//! What installing tcpscope relies on: `--version` names the commit, the completion scripts are
//! valid in their shell and complete what they promise (checked by running the shell), and the
//! manual pages render with `man` without a warning.

mod common;

use common::{bin, root_or_skip, run_ok, tool_or_skip, NetnsGuard};
use std::path::Path;
use std::process::Command;

fn script(shell: &str) -> String {
    String::from_utf8(run_ok(&["completions", shell]).stdout).expect("UTF-8 script")
}

fn write_temp(name: &str, text: &str) -> tempdir::TempFile {
    tempdir::TempFile::new(name, text)
}

/// A file removed when dropped.
mod tempdir {
    pub struct TempFile(pub std::path::PathBuf);
    impl TempFile {
        pub fn new(name: &str, text: &str) -> TempFile {
            let path = std::env::temp_dir().join(super::common::unique_name(name));
            std::fs::write(&path, text).expect("writing a temporary file");
            TempFile(path)
        }
        pub fn path(&self) -> &str {
            self.0.to_str().expect("UTF-8 temp path")
        }
    }
    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

fn sh(program: &str, args: &[&str]) -> (String, String, bool) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {program}: {e}"));
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let out = run_ok(&["--version"]);
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let version = env!("CARGO_PKG_VERSION");
    assert!(line.starts_with(&format!("tcpscope {version} (")), "{line}");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let head = Command::new("git")
        .arg("-C")
        .arg(&root)
        .args(["rev-parse", "--short=12", "HEAD"])
        .output();
    match head {
        Ok(h) if h.status.success() => {
            let commit = String::from_utf8_lossy(&h.stdout).trim().to_string();
            assert!(
                line.contains(&format!("commit {commit}")),
                "built in a checkout at {commit}, but --version says: {line}"
            );
        }
        // A build outside a git checkout (a tarball) says so.
        _ => assert!(line.contains("not built from a git checkout"), "{line}"),
    }
    // -V is the same line.
    assert_eq!(run_ok(&["-V"]).stdout, out.stdout);
}

#[test]
fn bash_completion_is_valid_and_completes_states_and_namespaces() {
    if !tool_or_skip(
        "bash_completion_is_valid_and_completes_states_and_namespaces",
        "bash",
        "bash",
    ) {
        return;
    }
    let file = write_temp("completion.bash", &script("bash"));
    let (_, err, ok) = sh("bash", &["-n", file.path()]);
    assert!(ok, "bash -n rejects the script: {err}");

    // Run the completion function as bash's `complete -F` would, and print what it offers.
    let complete = |words: &[&str]| -> Vec<String> {
        let cword = words.len() - 1;
        let code = format!(
            "source {}; COMP_WORDS=({}); COMP_CWORD={cword}; \
             f=$(complete -p tcpscope | sed 's/.*-F \\([^ ]*\\).*/\\1/'); \
             $f tcpscope '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            file.path(),
            words
                .iter()
                .map(|w| format!("'{w}'"))
                .collect::<Vec<_>>()
                .join(" "),
            words[cword],
            words[cword - 1],
        );
        let (out, err, ok) = sh("bash", &["-c", &code]);
        assert!(ok, "completing {words:?} failed: {err}");
        out.lines().map(str::to_string).collect()
    };
    assert_eq!(
        complete(&["tcpscope", "ls", "state", "close-w"]),
        ["close-wait"]
    );
    assert!(complete(&["tcpscope", "doctor", "exclude", ""]).contains(&"time-wait".to_string()));
    assert!(complete(&["tcpscope", "explain", "fin"]).contains(&"fin-wait-2".to_string()));
    assert!(complete(&["tcpscope", "explain", "fin-wait-2", "ti"]).contains(&"time-wait".into()));
    // Options and subcommands still come from clap's part of the script.
    assert!(complete(&["tcpscope", "ls", "--js"]).contains(&"--json".to_string()));
    assert!(complete(&["tcpscope", "doc"]).contains(&"doctor".to_string()));
    assert!(complete(&["tcpscope", "lab", "close-"]).contains(&"close-wait".to_string()));
    assert!(complete(&["tcpscope", "ls", "--netns", ""]).contains(&"pid:".to_string()));

    if root_or_skip("bash completion of --netns names") {
        let ns = NetnsGuard::new("compl");
        let got = complete(&["tcpscope", "ls", "--netns", &ns.name[..6]]);
        assert!(got.contains(&ns.name), "{} not offered: {got:?}", ns.name);
    }
}

#[test]
fn zsh_completion_is_valid_and_its_helpers_complete_states_and_namespaces() {
    if !tool_or_skip(
        "zsh_completion_is_valid_and_its_helpers_complete_states_and_namespaces",
        "zsh",
        "zsh",
    ) {
        return;
    }
    let text = script("zsh");
    assert!(
        text.starts_with("#compdef tcpscope\n"),
        "zsh needs #compdef first"
    );
    let file = write_temp("_tcpscope", &text);
    let (_, err, ok) = sh("zsh", &["-n", file.path()]);
    assert!(ok, "zsh -n rejects the script: {err}");
    // Every place clap left to `_default` that tcpscope knows better is replaced.
    let lines_with =
        |marker: &str| -> Vec<&str> { text.lines().filter(|l| l.contains(marker)).collect() };
    let netns = lines_with("--netns=[");
    assert!(!netns.is_empty());
    for l in netns {
        assert!(
            l.ends_with(":NAME|pid:PID|PATH:_tcpscope_netns_names' \\")
                || l.ends_with(":NAME|pid:PID:_tcpscope_netns_names' \\"),
            "{l}"
        );
    }
    let filters = lines_with("::filter -- ");
    assert!(filters.len() >= 4, "{filters:?}");
    for l in filters {
        assert!(l.ends_with(":_tcpscope_filter_words' \\"), "{l}");
    }
    for marker in ["'::state -- ", "'::to -- ", "--highlight=["] {
        for l in lines_with(marker) {
            assert!(l.ends_with(":_tcpscope_state_words' \\"), "{l}");
        }
    }

    // The helpers, run with the completion system's functions stubbed to print their words.
    let ns = rustix::process::geteuid()
        .is_root()
        .then(|| NetnsGuard::new("zcompl"));
    let code = format!(
        r#"
        compdef() {{ : }}
        _describe() {{ print -rl -- "${{(@P)4}}" }}
        _alternative() {{ print -rl -- "$@"; print -rl -- $names }}
        _default() {{ print -r -- DEFAULT }}
        source {}
        print -- --states; _tcpscope_state_words
        print -- --netns; _tcpscope_netns_names
        print -- --filter-after-state; words=(ls state clo); CURRENT=3; _tcpscope_filter_words
        print -- --filter-elsewhere; words=(ls sport clo); CURRENT=3; _tcpscope_filter_words
        "#,
        file.path()
    );
    let (out, err, ok) = sh("zsh", &["-f", "-c", &code]);
    assert!(ok, "zsh helpers failed: {err}\n{out}");
    let section = |name: &str| -> Vec<&str> {
        out.split(&format!("--{name}\n"))
            .nth(1)
            .unwrap_or("")
            .lines()
            .take_while(|l| !l.starts_with("--"))
            .collect()
    };
    assert!(section("states").contains(&"close-wait:CLOSE-WAIT state"));
    assert!(section("states").iter().any(|l| l.starts_with("bucket:")));
    assert!(section("filter-after-state").contains(&"close-wait:CLOSE-WAIT state"));
    assert_eq!(section("filter-elsewhere"), ["DEFAULT"]);
    if let Some(ns) = &ns {
        assert!(section("netns").contains(&ns.name.as_str()), "{out}");
    }
}

#[test]
fn fish_completion_is_valid_and_completes_states_namespaces_and_scenarios() {
    if !tool_or_skip(
        "fish_completion_is_valid_and_completes_states_namespaces_and_scenarios",
        "fish",
        "fish",
    ) {
        return;
    }
    let file = write_temp("tcpscope.fish", &script("fish"));
    let (_, err, ok) = sh("fish", &["--no-execute", file.path()]);
    assert!(ok, "fish rejects the script: {err}");
    let complete = |line: &str| -> Vec<String> {
        let code = format!("source {}; complete -C '{line}'", file.path());
        let (out, err, ok) = sh("fish", &["-c", &code]);
        assert!(ok, "completing {line:?} failed: {err}");
        out.lines()
            .map(|l| l.split('\t').next().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(complete("tcpscope ls state close-w"), ["close-wait"]);
    assert!(complete("tcpscope explain fin").contains(&"fin-wait-1".to_string()));
    assert!(complete("tcpscope diagram --highlight last").contains(&"last-ack".to_string()));
    assert!(complete("tcpscope lab stop").contains(&"stopped-server".to_string()));
    assert!(complete("tcpscope doctor --js").contains(&"--json".to_string()));
    if root_or_skip("fish completion of --netns names") {
        let ns = NetnsGuard::new("fcompl");
        let got = complete(&format!("tcpscope ls --netns {}", &ns.name[..6]));
        assert!(got.contains(&ns.name), "{} not offered: {got:?}", ns.name);
    }
}

#[test]
fn completion_of_an_unknown_shell_is_refused_with_the_choices() {
    let out = bin().args(["completions", "tcsh"]).output().expect("run");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bash") && err.contains("zsh") && err.contains("fish"),
        "{err}"
    );
}

#[test]
fn man_pages_one_per_visible_command_render_without_warnings() {
    let dir = std::env::temp_dir().join(common::unique_name("tcpscope-man"));
    let _cleanup = tempdir::TempFile(dir.clone());
    let out = run_ok(&["man", "--dir", dir.to_str().expect("UTF-8")]);
    let listed = String::from_utf8_lossy(&out.stdout);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("man --dir wrote the directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    for page in [
        "tcpscope.1",
        "tcpscope-ls.1",
        "tcpscope-summary.1",
        "tcpscope-doctor.1",
        "tcpscope-release.1",
        "tcpscope-explain.1",
        "tcpscope-simulate.1",
        "tcpscope-diagram.1",
        "tcpscope-lab.1",
        "tcpscope-completions.1",
    ] {
        assert!(
            files.contains(&page.to_string()),
            "{page} missing: {files:?}"
        );
        assert!(listed.contains(page), "{page} not printed");
    }
    for hidden in ["lab-worker", "dump-floor", "poll-bench", "man", "help"] {
        let page = format!("tcpscope-{hidden}.1");
        assert!(!files.contains(&page), "hidden command has a page: {page}");
    }
    if !tool_or_skip(
        "man_pages_one_per_visible_command_render_without_warnings",
        "man",
        "man-db",
    ) || !tool_or_skip(
        "man_pages_one_per_visible_command_render_without_warnings",
        "groff",
        "groff-base",
    ) {
        return;
    }
    for f in &files {
        let path = dir.join(f);
        let out = Command::new("man")
            .args(["--warnings=all", "-E", "UTF-8", "-l"])
            .arg(&path)
            .env("MANWIDTH", "80")
            .output()
            .expect("running man");
        let err = String::from_utf8_lossy(&out.stderr);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "man -l {f} failed: {err}");
        assert!(err.trim().is_empty(), "man -l {f} warns:\n{err}");
        assert!(text.contains("NAME"), "{f} has no NAME section:\n{text}");
    }
    // The ls page carries the same option text as `tcpscope ls --help`.
    let ls = std::fs::read_to_string(dir.join("tcpscope-ls.1")).expect("ls page");
    assert!(
        ls.contains("kernel\\-owned") || ls.contains("kernel-owned"),
        "{ls}"
    );
}
