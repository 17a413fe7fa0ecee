//! The terminal while `top` runs: raw mode, the alternate screen, a hidden cursor — and all
//! three undone whatever way top ends: on return (the guard's drop), on a panic (a hook restores
//! the terminal before the panic message prints), and on SIGTERM, SIGHUP or SIGINT (a flag the
//! loop checks at least ten times a second, so it ends through the guard as on `q`).

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::{Hide, Show};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::Terminal;
use std::io::{self, Stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
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
