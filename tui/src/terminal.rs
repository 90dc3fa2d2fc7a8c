//! Running the UI on a real terminal: raw mode, alternate screen, mouse, a panic hook that
//! restores the terminal, and the event loop that feeds keys to the app and replies from the
//! worker.

use crate::app::App;
use crate::worker::{Command, Reply};
use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::time::Duration;

fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), LeaveAlternateScreen, DisableMouseCapture);
}

/// Runs the UI until the user quits.
///
/// # Errors
/// Terminal I/O errors; the terminal is restored in every case, panics included.
pub fn run(
    commands: Sender<Command>,
    replies: Receiver<Reply>,
    cancel: &AtomicBool,
) -> io::Result<()> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        hook(info);
    }));
    enable_raw_mode()?;
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
    let result = event_loop(commands, replies, cancel);
    restore();
    result
}

fn event_loop(
    commands: Sender<Command>,
    replies: Receiver<Reply>,
    cancel: &AtomicBool,
) -> io::Result<()> {
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    let mut app = App {
        // https://no-color.org: any non-empty NO_COLOR turns colours off.
        color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        ..App::default()
    };
    loop {
        while let Ok(reply) = replies.try_recv() {
            app.receive(reply);
        }
        terminal.draw(|f| f.render_widget(&app, f.area()))?;
        if app.quit {
            let _ = commands.send(Command::Quit);
            return Ok(());
        }
        if !event::poll(Duration::from_millis(30))? {
            continue;
        }
        let action = match event::read()? {
            Event::Key(k) if k.kind == event::KeyEventKind::Press => app.handle_key(k),
            Event::Mouse(m) => app.handle_mouse(m),
            _ => None,
        };
        if let Some(action) = action {
            if action == crate::app::Action::Escape && app.busy.is_some() {
                cancel.store(true, Ordering::SeqCst);
            }
            if let Some(cmd) = app.update(action)
                && commands.send(cmd).is_err()
            {
                return Ok(());
            }
        }
    }
}
