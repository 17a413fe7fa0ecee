//! Keeps docs/states.md honest: every ```console example in it is run with the real binary and
//! must print exactly what the document shows; docs/tcp-states.svg must be the current SVG.

mod common;

use common::bin;
use std::path::PathBuf;

fn docs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

/// (command line, expected output) for every console block.
fn examples(md: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = md.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "```console" {
            continue;
        }
        let command = lines.next().unwrap_or_default().to_string();
        let mut body = Vec::new();
        for l in lines.by_ref() {
            if l.trim() == "```" {
                break;
            }
            body.push(l);
        }
        out.push((command, body.join("\n")));
    }
    out
}

#[test]
fn every_example_in_states_md_is_real_output() {
    let md = std::fs::read_to_string(docs().join("states.md")).expect("docs/states.md");
    let examples = examples(&md);
    assert!(examples.len() >= 8, "too few examples found");
    for (command, expected) in examples {
        let args: Vec<&str> = command
            .strip_prefix("$ tcpscope")
            .unwrap_or_else(|| panic!("example does not start with `$ tcpscope`: {command}"))
            .split_whitespace()
            .collect();
        let out = bin().args(&args).output().expect("running tcpscope");
        let printed = if out.status.success() {
            out.stdout
        } else {
            out.stderr
        };
        let printed = String::from_utf8_lossy(&printed);
        assert_eq!(
            printed.trim_end(),
            expected.trim_end(),
            "docs/states.md is out of date for `{command}`; regenerate the example"
        );
    }
}

#[test]
fn the_svg_in_docs_is_current() {
    let doc = std::fs::read(docs().join("tcp-states.svg")).expect("docs/tcp-states.svg");
    let out = bin()
        .args(["diagram", "--format", "svg"])
        .output()
        .expect("running tcpscope");
    assert!(
        doc == out.stdout,
        "docs/tcp-states.svg is out of date: tcpscope diagram --format svg > docs/tcp-states.svg"
    );
}
