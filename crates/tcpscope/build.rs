//! Build script: puts the git commit tcpscope is built from into `tcpscope --version`, so a bug
//! report names the exact code. Sets `TCPSCOPE_VERSION` for clap:
//!
//! * in a git checkout: `0.1.0 (commit 1a2b3c4d5e6f, 2026-11-29)`, with `+ uncommitted changes`
//!   when tracked files differ from that commit;
//! * from a tarball (no `.git`, or git missing): `0.1.0 (not built from a git checkout: commit
//!   unknown)`, unless the packager says which commit it is in `TCPSCOPE_GIT_COMMIT`.
//!
//! A checkout that merely *contains* the source (a tarball unpacked inside some other repository)
//! is not taken for ours: git's top level must be this workspace.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let workspace = manifest
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest.clone());
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();

    println!("cargo:rerun-if-env-changed=TCPSCOPE_GIT_COMMIT");
    // Sources changing may change the "uncommitted changes" mark; both crates' sources count.
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=../tcpscope-core/src");

    let described = match std::env::var("TCPSCOPE_GIT_COMMIT") {
        Ok(commit) if !commit.trim().is_empty() => format!("commit {}", commit.trim()),
        _ => match git_facts(&workspace) {
            Some(f) => {
                for watched in &f.watch {
                    println!("cargo:rerun-if-changed={}", watched.display());
                }
                let dirty = if f.dirty {
                    " + uncommitted changes"
                } else {
                    ""
                };
                format!("commit {}{dirty}, {}", f.commit, f.date)
            }
            None => "not built from a git checkout: commit unknown".to_string(),
        },
    };
    println!("cargo:rustc-env=TCPSCOPE_VERSION={version} ({described})");
}

struct GitFacts {
    commit: String,
    date: String,
    dirty: bool,
    /// Files whose change means another commit is checked out.
    watch: Vec<PathBuf>,
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn git_facts(workspace: &Path) -> Option<GitFacts> {
    let top = git(workspace, &["rev-parse", "--show-toplevel"])?;
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same(Path::new(&top), workspace) {
        return None;
    }
    let commit = git(workspace, &["rev-parse", "--short=12", "HEAD"])?;
    let date = git(workspace, &["log", "-1", "--format=%cs", "HEAD"]).unwrap_or_default();
    let dirty = git(
        workspace,
        &["status", "--porcelain", "--untracked-files=no"],
    )
    .is_some_and(|s| !s.is_empty());
    let mut watch = Vec::new();
    for name in ["HEAD", "packed-refs"] {
        if let Some(p) = git(workspace, &["rev-parse", "--git-path", name]) {
            watch.push(workspace.join(p));
        }
    }
    // The branch HEAD points at (refs/heads/NAME), which moves on every commit.
    if let Some(r) = git(workspace, &["symbolic-ref", "-q", "HEAD"]) {
        if let Some(p) = git(workspace, &["rev-parse", "--git-path", &r]) {
            watch.push(workspace.join(p));
        }
    }
    // A watched file that does not exist would make cargo run this script on every build.
    watch.retain(|p| p.exists());
    Some(GitFacts {
        commit,
        date,
        dirty,
        watch,
    })
}
