//! The terminal while `top` runs: raw mode, the alternate screen, a hidden cursor — and all
//! three undone whatever way top ends: on return (the guard's drop), on a panic (a hook restores
//! the terminal before the panic message prints), and on SIGTERM, SIGHUP or SIGINT (a flag the
//! loop checks at least ten times a second, so it ends through the guard as on `q`).
//!
//! [`Input`] waits for keys on the terminal itself before crossterm reads them: crossterm 0.29
//! reads a terminal that hung up (its window closed, tmux killed) in an endless loop of empty
//! reads, at 100% CPU, never returning; polling the descriptor first sees the hang-up and top
//! ends instead.

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::{Hide, Show};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::Terminal;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use std::io::{self, IsTerminal, Stdout};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;
use tcpscope_core::render::top::TopApp;

/// The terminal in top's mode; restored when dropped.
pub struct Screen {
    term: Terminal<CrosstermBackend<Stdout>>,
}

impl Screen {
    pub fn enter() -> io::Result<Screen> {
        install_panic_hook();
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let entered = execute!(io::stdout(), EnterAlternateScreen, Hide)
            .and_then(|()| Terminal::new(CrosstermBackend::new(io::stdout())));
        match entered {
            Ok(term) => Ok(Screen { term }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }

    /// Lay out and draw one screen.
    pub fn draw(&mut self, app: &mut TopApp, colours: bool) -> io::Result<()> {
        self.term.draw(|f| super::draw::frame(f, app, colours))?;
        Ok(())
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}

/// True while the terminal is in top's mode.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Leave raw mode and the alternate screen, show the cursor — once: a second "leave the
/// alternate screen" (the panic hook, then the guard while unwinding) makes terminals restore
/// the saved cursor again, and the shell's prompt would land above the panic message.
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let _ = execute!(io::stdout(), LeaveAlternateScreen, Show);
    }
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

/// A flag raised by SIGTERM, SIGHUP or SIGINT.
pub fn stop_on_signals() -> io::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGINT,
    ] {
        signal_hook::flag::register(sig, flag.clone())?;
    }
    Ok(flag)
}

/// The terminal's input, as crossterm reads it: standard input when it is a terminal, else
/// /dev/tty.
pub struct Input {
    tty: Option<OwnedFd>,
}

/// What [`Input::wait`] saw.
#[derive(Debug, PartialEq, Eq)]
pub enum Waited {
    /// Bytes to read: crossterm's turn.
    Ready,
    Timeout,
    /// The terminal hung up or went away: nothing will ever come.
    Gone,
}

impl Input {
    pub fn open() -> io::Result<Input> {
        let tty = if io::stdin().is_terminal() {
            None
        } else {
            Some(std::fs::File::open("/dev/tty")?.into())
        };
        Ok(Input { tty })
    }

    /// Wait up to `timeout` for input.
    pub fn wait(&self, timeout: Duration) -> io::Result<Waited> {
        let stdin = io::stdin();
        let fd = match &self.tty {
            Some(t) => t.as_fd(),
            None => stdin.as_fd(),
        };
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        let ts = Timespec {
            tv_sec: timeout.as_secs() as i64,
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        match poll(&mut fds, Some(&ts)) {
            Ok(0) => Ok(Waited::Timeout),
            Ok(_) => {
                let r = fds[0].revents();
                if r.intersects(PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL) {
                    Ok(Waited::Gone)
                } else {
                    Ok(Waited::Ready)
                }
            }
            Err(rustix::io::Errno::INTR) => Ok(Waited::Timeout),
            Err(e) => Err(e.into()),
        }
    }
}
