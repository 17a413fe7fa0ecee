//! Running `tcpscope lab` from tests: start a scenario, wait for its JSON document, stop it
//! with SIGTERM and check it exits cleanly. Shared by the lab and doctor tests.

use super::{bin, endpoint, ChildGuard};
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
                .stderr(Stdio::null())
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
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("lab {args:?} printed nothing within 60 s"));
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
            .map(|s| {
                (
                    s["state"].as_str().expect("state").to_string(),
                    endpoint(&s["local"]),
                    endpoint(&s["peer"]),
                )
            })
            .collect()
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(mut self) -> Value {
        let pid = self.child.pid() as i32;
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.0.try_wait().expect("waiting for lab") {
                assert!(status.success(), "lab exited with {status} after SIGTERM");
                break;
            }
            assert!(
                Instant::now() < until,
                "lab did not exit within 20 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        std::mem::take(&mut self.doc)
    }
}
