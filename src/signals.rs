//! SIGINT and SIGTERM during a recording (signal-hook): the first asks the run to end at its
//! next progress pause, where the recorder writes an interruption event at the exact position
//! and finishes the trace; a second one exits at once with 128 + the signal (the trace is then
//! truncated, but the writer has flushed everything older than its flush interval).

use signal_hook::consts::{SIGINT, SIGTERM};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The flags the handlers set.
#[derive(Clone)]
pub struct Interrupt {
    /// Set by the first SIGINT or SIGTERM.
    pub flag: Arc<AtomicBool>,
    signal: Arc<AtomicUsize>,
}

impl Interrupt {
    /// Installs the handlers (once per call; a process records once or hunts once).
    ///
    /// # Errors
    /// The handlers could not be installed.
    pub fn install() -> std::io::Result<Interrupt> {
        let flag = Arc::new(AtomicBool::new(false));
        let signal = Arc::new(AtomicUsize::new(0));
        for sig in [SIGINT, SIGTERM] {
            // Registered first, so it sees the flag as the previous signal left it.
            signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, flag.clone())?;
            signal_hook::flag::register_usize(sig, signal.clone(), sig as usize)?;
            signal_hook::flag::register(sig, flag.clone())?;
        }
        Ok(Interrupt { flag, signal })
    }

    /// Whether a signal arrived.
    pub fn raised(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// The signal's name, as a shell prints it.
    pub fn name(&self) -> &'static str {
        match self.signal.load(Ordering::SeqCst) as i32 {
            SIGTERM => "SIGTERM",
            _ => "SIGINT",
        }
    }

    /// The exit code a shell expects after the signal: 128 + its number.
    pub fn exit_code(&self) -> u8 {
        match self.signal.load(Ordering::SeqCst) as i32 {
            SIGTERM => 128 + SIGTERM as u8,
            _ => 128 + SIGINT as u8,
        }
    }
}
