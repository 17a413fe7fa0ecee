//! `tcpscope serve`'s page in a real browser (Debian's Chromium, headless): it loads the page
//! from a running serve, runs its script against /api/frame and /api/snapshot, and the DOM it
//! ends with shows the counts on the state diagram, doctor's verdict and findings, the processes,
//! and the sockets the filter box selects. A screenshot is taken the same way
//! (docs/serve-page.png was made so: see docs/metrics.md).

mod common;

use common::lab::Lab;
use common::serve::{tool_or_skip, Serve};
use common::{root_or_skip, unique_name};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Run headless Chromium with the flags that work here (no sandbox as root, no GPU, no network
/// but loopback, a fresh profile) plus `args`; return its stdout.
fn chromium(binary: &Path, args: &[&str]) -> String {
    let profile: PathBuf = std::env::temp_dir().join(unique_name("tcpscope-chromium"));
    let out = Command::new(binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("running chromium");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_page_shows_counts_findings_and_filtered_sockets_in_chromium() {
    let test = "the_page_shows_counts_findings_and_filtered_sockets_in_chromium";
    if !root_or_skip(test) {
        return;
    }
    let Some(browser) = tool_or_skip(test, "chromium") else {
        return;
    };
    let lab = Lab::start(&["close-wait", "--count", "3", "--own-netns"]);
    let ns = lab.netns().expect("lab's namespace");
    // A full accept queue: a critical finding.
    let _full = Lab::start_in(&ns, &["syn-sent", "--count", "2"]);
    let serve = Serve::start(&["--netns", &ns]);
    let url = format!("http://{}/#state%20close-wait", serve.addr);

    let dom = chromium(
        &browser,
        &["--virtual-time-budget=10000", "--dump-dom", &url],
    );
    // The state diagram carries live counts.
    assert!(
        dom.contains(r#"data-state="close-wait">3</text>"#),
        "no CLOSE-WAIT count in the diagram: {}",
        &dom[..dom.len().min(3000)]
    );
    assert!(dom.contains(r#"data-state="fin-wait-2">3</text>"#));
    assert!(dom.contains(r#"data-state="syn-sent">2</text>"#));
    // doctor's verdict and findings, with evidence and next steps.
    assert!(
        dom.contains(r#"id="verdict" class="sev-critical">critical:"#),
        "verdict"
    );
    assert!(dom.contains("listen-overflow: "), "the critical finding");
    assert!(dom.contains("close-wait-leak: "), "the CLOSE-WAIT finding");
    assert!(dom.contains("Next steps:"));
    // The processes, and the sockets the filter in the address selects.
    assert!(dom.contains("<td>tcpscope["), "the processes table");
    assert!(
        dom.contains(r#"id="filter-summary">3 socket(s)<"#),
        "the filter's sockets"
    );
    assert_eq!(dom.matches("<td>close-wait</td>").count(), 3);

    let shot = std::env::temp_dir()
        .join(unique_name("tcpscope-page"))
        .with_extension("png");
    chromium(
        &browser,
        &[
            "--window-size=1400,1700",
            "--virtual-time-budget=10000",
            &format!("--screenshot={}", shot.display()),
            &url,
        ],
    );
    let png = std::fs::read(&shot).expect("a screenshot");
    let _ = std::fs::remove_file(&shot);
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    assert!(
        png.len() > 50_000,
        "an almost empty picture: {} bytes",
        png.len()
    );
    lab.stop();
}
