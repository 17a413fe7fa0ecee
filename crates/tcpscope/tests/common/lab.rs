//! Running `tcpscope lab` from tests: start a scenario, wait for its JSON document, stop it
//! with SIGTERM and check it exits cleanly. Shared by the lab and doctor tests.

use super::{bin, row, ChildGuard};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `tcpscope lab ... --json` and the document it printed.
pub struct Lab {
    pub child: ChildGuard,
    pub doc: Value,
}

impl Lab {
    pub fn start(args: &[&str]) -> Lab {
        let mut child = ChildGuard(
            bin()
                .arg("lab")
                .args(args)
                .arg("--json")
                .stdout(Stdio::piped())
                .spawn()
                .expect("starting tcpscope lab"),
        );
        let stdout = child.0.stdout.take().expect("lab's stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(super::HANG_GUARD)
            .unwrap_or_else(|_| panic!("lab {args:?} printed nothing (a hang)"));
        let doc: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("lab {args:?} printed invalid JSON ({e}): {line:?}"));
        Lab { child, doc }
    }

    pub fn netns(&self) -> Option<String> {
        self.doc["netns"].as_str().map(String::from)
    }

    pub fn pids(&self) -> Vec<u32> {
        self.doc["pids"]
            .as_array()
            .expect("pids")
            .iter()
            .map(|p| p.as_u64().expect("a pid") as u32)
            .collect()
    }

    /// (state, local, peer) of every reported socket.
    pub fn reported(&self) -> Vec<(String, String, String)> {
        self.doc["sockets"]
            .as_array()
            .expect("sockets")
            .iter()
            .map(row)
            .collect()
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(mut self) -> Value {
        let pid = self.child.pid() as i32;
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let mut status = None;
        super::wait_for("lab exiting after SIGTERM", || {
            status = self.child.0.try_wait().expect("waiting for lab");
            status.is_some()
        });
        if let Some(status) = status {
            assert!(status.success(), "lab exited with {status} after SIGTERM");
        }
        std::mem::take(&mut self.doc)
    }
}

impl Drop for Lab {
    /// A test that fails before `stop()` still lets lab clean up: SIGTERM and a wait (its own
    /// cleanup removes workers, stopped children and its namespace), then the `ChildGuard` kills
    /// whatever is left, and a namespace lab reported is deleted.
    fn drop(&mut self) {
        if let Ok(None) = self.child.0.try_wait() {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(self.child.pid() as i32, libc::SIGTERM) };
            let until = Instant::now() + Duration::from_secs(60);
            while Instant::now() < until {
                if let Ok(Some(_)) = self.child.0.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        if let Some(ns) = self.doc["netns"].as_str() {
            let _ = std::process::Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
    }
}
