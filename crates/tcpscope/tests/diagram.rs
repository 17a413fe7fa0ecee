//! `tcpscope diagram` through the real binary: the text diagram fits a terminal, dot is
//! Graphviz, and the SVG renders with a real renderer (rsvg-convert).

mod common;

use common::{bin, run_ok};
use std::io::Write;
use std::process::{Command, Stdio};

fn stdout(args: &[&str]) -> String {
    String::from_utf8(run_ok(args).stdout).expect("utf-8 output")
}

#[test]
fn text_is_the_default_and_fits_80_columns() {
    let out = stdout(&["diagram"]);
    assert_eq!(out, stdout(&["diagram", "--format", "text"]));
    for line in out.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line}");
    }
    assert!(out.contains("CLOSE-WAIT"));
    let hl = stdout(&["diagram", "--highlight", "CLOSE_WAIT"]);
    assert!(hl.contains("║ CLOSE-WAIT"), "{hl}");
}

#[test]
fn dot_is_graphviz() {
    let out = stdout(&["diagram", "--format", "dot", "--highlight", "time-wait"]);
    assert!(out.starts_with("digraph tcp_states {"));
    assert!(out.trim_end().ends_with('}'));
    assert!(out.contains("fin_wait_2 -> time_wait"));
}

#[test]
fn bad_highlight_is_an_error() {
    let out = bin()
        .args(["diagram", "--highlight", "nope"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("known states"));
}

#[test]
fn svg_renders_with_rsvg_convert() {
    if !common::tool_or_skip(
        "svg_renders_with_rsvg_convert",
        "rsvg-convert",
        "librsvg2-bin",
    ) {
        return;
    }
    for args in [
        vec!["diagram", "--format", "svg"],
        vec!["diagram", "--format", "svg", "--highlight", "close-wait"],
    ] {
        let svg = run_ok(&args).stdout;
        let mut child = Command::new("rsvg-convert")
            .args(["--format", "png"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting rsvg-convert");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(&svg)
            .expect("feeding rsvg-convert");
        let out = child.wait_with_output().expect("rsvg-convert");
        assert!(
            out.status.success(),
            "rsvg-convert failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.starts_with(b"\x89PNG"), "not a PNG");
        // Width and height from the IHDR chunk: the figure is drawn at its full size.
        let width = u32::from_be_bytes([
            out.stdout[16],
            out.stdout[17],
            out.stdout[18],
            out.stdout[19],
        ]);
        let height = u32::from_be_bytes([
            out.stdout[20],
            out.stdout[21],
            out.stdout[22],
            out.stdout[23],
        ]);
        assert!(width >= 1000 && height >= 1000, "{width}x{height}");
    }
}
