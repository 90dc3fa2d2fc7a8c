//! Progress bars on stderr (indicatif), shown as nextest shows them: only when stderr is a
//! terminal, and only once the work has taken two seconds, so quick commands and scripts see
//! nothing. Cleared when done.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How long work runs before its bar appears.
const DELAY: Duration = Duration::from_secs(2);

/// One progress bar.
pub struct Bar {
    bar: ProgressBar,
    started: Instant,
    shown: bool,
}

impl Bar {
    /// A bar for `what` ("replaying"), of unknown length until [`Bar::update`] says.
    pub fn new(what: &str) -> Bar {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {percent:>3}% {msg} ({elapsed}, {eta} left)",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("deja: {what}"));
        Bar {
            bar,
            started: Instant::now(),
            shown: false,
        }
    }

    /// `done` of `total` (0: unknown), with a short message after the bar.
    pub fn update(&mut self, done: u64, total: u64, msg: impl Into<String>) {
        if total > 0 {
            self.bar.set_length(total);
        }
        self.bar.set_position(done);
        self.bar.set_message(msg.into());
        if !self.shown && self.started.elapsed() >= DELAY && std::io::stderr().is_terminal() {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown = true;
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
