//! SIGINT and SIGTERM during a recording (signal-hook): the first asks the run to end at its
//! next progress pause, where the recorder writes an interruption event at the exact position
//! and finishes the trace; another one, half a second or more later, exits at once with 128 +
//! the signal (the trace is then truncated, but the writer has flushed everything older than
//! its flush interval).
//!
//! Signals that arrive together count once: `timeout -s INT` signals its child and then its
//! whole process group, so the child gets the same interruption twice within microseconds.

use signal_hook::consts::{SIGINT, SIGTERM};

/// What deja exits with after SIGINT (128 + its number), as a shell expects.
pub const SIGINT_EXIT: u8 = 128 + SIGINT as u8;
/// What deja exits with after SIGTERM.
pub const SIGTERM_EXIT: u8 = 128 + SIGTERM as u8;
use signal_hook::iterator::Signals;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// A second signal within this time is the same interruption delivered twice.
const SAME: Duration = Duration::from_millis(500);

/// The flags the signal thread sets.
#[derive(Clone)]
pub struct Interrupt {
    /// Set by the first SIGINT or SIGTERM.
    pub flag: Arc<AtomicBool>,
    /// The first signal's number.
    pub signal: Arc<AtomicI32>,
}

impl Interrupt {
    /// Installs the handlers and the thread that watches them (once per command).
    ///
    /// # Errors
    /// The handlers could not be installed.
    pub fn install() -> std::io::Result<Interrupt> {
        let flag = Arc::new(AtomicBool::new(false));
        let signal = Arc::new(AtomicI32::new(0));
        let mut signals = Signals::new([SIGINT, SIGTERM])?;
        let (f, s) = (flag.clone(), signal.clone());
        std::thread::spawn(move || {
            let mut first: Option<Instant> = None;
            for sig in signals.forever() {
                match first {
                    None => {
                        s.store(sig, Ordering::SeqCst);
                        f.store(true, Ordering::SeqCst);
                        first = Some(Instant::now());
                    }
                    Some(t) if t.elapsed() >= SAME => std::process::exit(128 + sig),
                    Some(_) => {}
                }
            }
        });
        Ok(Interrupt { flag, signal })
    }

    /// Whether a signal arrived.
    pub fn raised(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// The signal's name, as a shell prints it.
    pub fn name(&self) -> &'static str {
        match self.signal.load(Ordering::SeqCst) {
            SIGTERM => "SIGTERM",
            _ => "SIGINT",
        }
    }

    /// The exit code a shell expects after the signal: 128 + its number.
    pub fn exit_code(&self) -> u8 {
        match self.signal.load(Ordering::SeqCst) {
            SIGTERM => 128 + SIGTERM as u8,
            _ => 128 + SIGINT as u8,
        }
    }
}
