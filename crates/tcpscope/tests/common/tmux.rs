//! A real terminal for tests: a private tmux server (its own socket, so nothing is shared with
//! anyone's tmux) running a plain shell whose prompt is known. Tests type into it, read the
//! screen back with `capture-pane`, and wait for what they expect — never for a fixed time.

use std::process::Command;
use std::time::{Duration, Instant};

/// The prompt of the shell inside the terminal.
pub const PROMPT: &str = "top-test$";

/// How long any one expectation may take before the test calls it a hang: only a guard (polls
/// on a busy shared host can take many seconds; a test never depends on how long they take).
const PATIENCE: Duration = super::HANG_GUARD;

/// True when tmux runs; otherwise `test` skips saying so (a failure where skips are
/// forbidden: `.ci/run` installs tmux). tmux has `-V`, not `--version`.
pub fn tmux_or_skip(test: &str) -> bool {
    let found = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        super::skip(
            test,
            "tmux is not installed (apt-get install tmux; .ci/run does)",
        );
    }
    found
}

pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// A `cols` x `rows` terminal with a shell at its prompt.
    pub fn start(cols: u16, rows: u16) -> Tmux {
        let socket = super::unique_name("tcpscope-tmux");
        let t = Tmux { socket };
        let status = Command::new("tmux")
            .args([
                "-L",
                &t.socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "t",
            ])
            .args(["-x", &cols.to_string(), "-y", &rows.to_string()])
            .args([
                "env",
                &format!("PS1={PROMPT} "),
                "bash",
                "--norc",
                "--noprofile",
            ])
            .status()
            .unwrap_or_else(|e| panic!("running tmux ({e}): install it (.ci/run does)"));
        assert!(status.success(), "tmux new-session failed");
        t.wait_for("the shell's prompt", |s| s.contains(PROMPT));
        t
    }

    /// A terminal running `argv` itself (no shell): when the terminal goes, so must it.
    pub fn start_program(cols: u16, rows: u16, argv: &[&str]) -> Tmux {
        let socket = super::unique_name("tcpscope-tmux");
        let t = Tmux { socket };
        let status = Command::new("tmux")
            .args([
                "-L",
                &t.socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "t",
            ])
            .args(["-x", &cols.to_string(), "-y", &rows.to_string()])
            .args(argv)
            .status()
            .unwrap_or_else(|e| panic!("running tmux ({e}): install it (.ci/run does)"));
        assert!(status.success(), "tmux new-session failed");
        t
    }

    /// Close the terminal (the tmux server and its ptys go away).
    pub fn kill(&self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("running tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Type `text` literally, then Enter.
    pub fn run(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "t", "-l", text]);
        self.keys(&["Enter"]);
    }

    /// Type `text` literally.
    pub fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", "t", "-l", text]);
    }

    /// Press keys by tmux's names (`Enter`, `Escape`, `Down`, `C-u`, `g`, ...).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// The screen as text.
    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "t"])
    }

    /// A tmux format variable of the pane (`alternate_on`, `cursor_flag`, `pane_pid`, ...).
    pub fn var(&self, name: &str) -> String {
        self.tmux(&["display-message", "-p", "-t", "t", &format!("#{{{name}}}")])
            .trim()
            .to_string()
    }

    /// Wait until the screen satisfies `ok`; panic with the screen if it never does.
    pub fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        // A program redraws row by row: a capture can catch a screen half drawn. The screen
        // counts once two captures in a row agree (a settled screen), not when one matches.
        let mut matched: Option<String> = None;
        loop {
            let s = self.screen();
            if ok(&s) {
                if matched.as_deref() == Some(s.as_str()) || Instant::now() >= deadline {
                    return s;
                }
                matched = Some(s);
                std::thread::sleep(Duration::from_millis(30));
                continue;
            }
            matched = None;
            assert!(
                Instant::now() < deadline,
                "waited {PATIENCE:?} for {what}; the screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Wait until the (settled) screen shows `text`.
    pub fn wait_text(&self, text: &str) -> String {
        self.wait_for(&format!("{text:?}"), |s| s.contains(text))
    }

    /// Wait for the shell's prompt on the last line with text, i.e. the program ended.
    pub fn wait_prompt(&self) -> String {
        self.wait_for("the shell's prompt after the program", |s| {
            s.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .is_some_and(|l| l.trim_end() == PROMPT)
        })
    }

    /// Whether the terminal is back to normal: main screen, cursor shown, canonical mode and echo
    /// (a program left in raw mode would have turned them off). Checked from the shell itself.
    pub fn assert_restored(&self) {
        assert_eq!(
            self.var("alternate_on"),
            "0",
            "still on the alternate screen"
        );
        assert_eq!(self.var("cursor_flag"), "1", "the cursor is still hidden");
        self.run(
            "stty -a | tr ' ' '\\n' | grep -xE -- '-?(icanon|echo)' | tr '\\n' ' '; echo END-STTY",
        );
        let s = self.wait_for("stty's answer", |s| {
            s.lines()
                .any(|l| l.trim_end().ends_with("END-STTY") && !l.contains("grep"))
        });
        let line = s
            .lines()
            .find(|l| l.trim_end().ends_with("END-STTY") && !l.contains("grep"))
            .unwrap_or_default();
        assert!(
            line.starts_with("icanon echo"),
            "the terminal is still in raw mode: {line:?}\n{s}"
        );
    }

    /// The pid of the program running in the shell (the shell's only child).
    pub fn child_pid(&self) -> Option<u32> {
        let shell = self.var("pane_pid");
        let children =
            std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).ok()?;
        children.split_whitespace().next()?.parse().ok()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let path = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "display-message",
                "-p",
                "#{socket_path}",
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default();
        self.kill();
        // kill-server does not always remove its socket file.
        if !path.is_empty() {
            let _ = std::fs::remove_file(path);
        }
    }
}
