//! Running the UI on a real terminal: ratatui's terminal setup (raw mode, alternate screen, a
//! panic hook that restores the terminal) plus the mouse, and the event loop.
//!
//! The loop blocks on one channel that carries both terminal input (from an input thread) and
//! the worker's replies (forwarded by a second thread), as gitui's `select_event` does, and
//! redraws only when something changed: no polling, no redraw while nothing happens.

use crate::app::{Action, App};
use crate::worker::{Command, Reply};
use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event};
use crossterm::execute;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};

/// What the event loop waits for.
enum Message {
    Input(Event),
    Reply(Reply),
    /// The worker thread ended: its reply channel closed.
    WorkerGone,
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
    let mut terminal = ratatui::try_init()?;
    // ratatui's hook restores the terminal on any panic. A panic on another thread (the
    // worker's) is caught there and shown in the UI, so only the UI thread's own panics may
    // take the terminal down.
    let ui = std::thread::current().id();
    let restore_and_report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == ui {
            restore_and_report(info);
        }
    }));
    let result = execute!(io::stdout(), EnableMouseCapture)
        .and_then(|()| event_loop(&mut terminal, commands, replies, cancel));
    let _ = execute!(io::stdout(), DisableMouseCapture);
    ratatui::try_restore()?;
    result
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    commands: Sender<Command>,
    replies: Receiver<Reply>,
    cancel: &AtomicBool,
) -> io::Result<()> {
    let mut app = App {
        // https://no-color.org: any non-empty NO_COLOR turns colours off.
        color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        ..App::default()
    };
    let (tx, messages) = std::sync::mpsc::channel::<Message>();
    let input = tx.clone();
    std::thread::spawn(move || {
        while let Ok(e) = event::read() {
            if input.send(Message::Input(e)).is_err() {
                return;
            }
        }
    });
    std::thread::spawn(move || {
        for reply in replies {
            if tx.send(Message::Reply(reply)).is_err() {
                return;
            }
        }
        let _ = tx.send(Message::WorkerGone);
    });
    let mut changed = true;
    loop {
        if changed {
            terminal.draw(|f| f.render_widget(&app, f.area()))?;
            changed = false;
        }
        if app.quit {
            let _ = commands.send(Command::Quit);
            return Ok(());
        }
        let Ok(first) = messages.recv() else {
            return Ok(());
        };
        // Everything that has arrived, then one redraw.
        for message in std::iter::once(first).chain(messages.try_iter()) {
            changed |= handle(&mut app, message, &commands, cancel);
        }
    }
}

/// Applies one message; whether the screen changed.
fn handle(
    app: &mut App,
    message: Message,
    commands: &Sender<Command>,
    cancel: &AtomicBool,
) -> bool {
    let action = match message {
        Message::Reply(reply) => {
            app.receive(reply);
            return true;
        }
        Message::WorkerGone => {
            if !app.quit {
                app.worker_ended();
            }
            return true;
        }
        Message::Input(Event::Key(k)) if k.kind == event::KeyEventKind::Press => app.handle_key(k),
        Message::Input(Event::Mouse(m)) => app.handle_mouse(m),
        Message::Input(Event::Resize(..)) => return true,
        Message::Input(_) => return false,
    };
    let Some(action) = action else {
        return false;
    };
    if action == Action::Escape && app.busy.is_some() {
        cancel.store(true, Ordering::SeqCst);
    }
    if let Some(cmd) = app.update(action)
        && commands.send(cmd).is_err()
    {
        app.worker_ended();
    }
    true
}
