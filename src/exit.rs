//! Mapping outcomes to exit codes and one-line error messages.

use deja_runtime::{Error, TrapCode};
use std::process::ExitCode;

/// How a command ended, when not plainly successful.
#[derive(Debug)]
pub enum Failure {
    /// An error with its exit code.
    Runtime(Error),
    /// A usage problem found after argument parsing (bad invoke arguments, ...).
    Usage(String),
    /// A message with its exit code.
    Message {
        /// One line (or a few, for backtraces).
        message: String,
        /// Exit code.
        code: u8,
    },
    /// Exit with this code; everything was already said.
    Silent(u8),
    /// Writing to stdout failed because the reader went away: exit quietly.
    BrokenPipe,
    /// Anything else (I/O on our side).
    Other(anyhow::Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Runtime(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Failure::BrokenPipe
        } else {
            Failure::Other(e.into())
        }
    }
}

/// The exit code deja gives for a guest's `proc_exit(code)`: the code itself when a process can
/// exit with it (0 to 255), else 1 — as wasmtime, a code that cannot be passed through is a
/// failure, never a success (`proc_exit(256)` used to exit 0, `256 & 0xff`).
pub fn guest_exit_code(code: u32) -> u8 {
    u8::try_from(code).unwrap_or(1)
}

/// The exit code of a run stopped by its step budget (`--max-steps`).
pub const STEP_BUDGET: u8 = 115;

/// The exit code of a run that ended with an exception nothing caught.
pub const UNCAUGHT_EXCEPTION: u8 = 121;

/// The exit code for a runtime error (see `deja --help`).
pub fn code_for(e: &Error) -> u8 {
    match e {
        Error::Io { .. } => 111,
        Error::Syntax(_) | Error::Malformed { .. } => 112,
        Error::Invalid { .. } | Error::Unsupported { .. } => 113,
        Error::UnknownImports(_) | Error::IncompatibleImport { .. } => 114,
        Error::Trap(t) if t.code == TrapCode::CallStackExhausted => 116,
        Error::Trap(t) if t.code == TrapCode::UncaughtException => UNCAUGHT_EXCEPTION,
        Error::Trap(_) => 134,
        Error::Host { .. } => 117,
        Error::Exit { code, .. } => guest_exit_code(*code as u32),
        Error::NoSuchExport { .. } | Error::BadArguments { .. } | Error::Usage(_) => 2,
        Error::Resource(_) => 117,
        Error::StartPaused(_) => STEP_BUDGET,
        Error::Internal(_) => 110,
    }
}

/// The exit code of a recorded or replayed run: the guest's own, or deja's for traps and
/// errors (the same as `deja run` gives).
pub fn run_outcome_code(outcome: &deja_traces::RunOutcome) -> u8 {
    use deja_traces::RunOutcome;
    match outcome {
        RunOutcome::Returned => 0,
        RunOutcome::Exit(c) => guest_exit_code(*c),
        RunOutcome::Trap { code, .. } if *code == TrapCode::CallStackExhausted.as_u8() => 116,
        RunOutcome::Trap { code, .. } if *code == TrapCode::UncaughtException.as_u8() => {
            UNCAUGHT_EXCEPTION
        }
        RunOutcome::Trap { .. } => 134,
        RunOutcome::HostError { .. } => 117,
        RunOutcome::Interrupted => STEP_BUDGET,
    }
}

/// Prints the failure (if any) and returns the exit code.
pub fn report(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) | Err(Failure::BrokenPipe) => ExitCode::SUCCESS,
        Err(Failure::Usage(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
        Err(Failure::Silent(code)) => ExitCode::from(code),
        Err(Failure::Message { message, code }) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
        Err(Failure::Runtime(Error::Exit { code, .. })) => {
            let exit = guest_exit_code(code as u32);
            if u32::from(exit) != code as u32 {
                eprintln!(
                    "deja: the guest exited with code {}, which a process cannot exit with; exiting {exit}",
                    code as u32
                );
            }
            ExitCode::from(exit)
        }
        Err(Failure::Runtime(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(code_for(&e))
        }
        Err(Failure::Other(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(111)
        }
    }
}
