//! deja's replayer: feeds a trace back into `deja-runtime`.
//!
//! [`replay`] re-executes the trace's embedded module with a *replay layer* on the host-call
//! seam: every imported function is replaced by one that takes the next recorded call, checks
//! that the guest calls the same import at the same position with the same arguments, applies
//! the recorded memory writes and returns the recorded results. It performs no real effect — no
//! file is touched, nothing is printed unless a [`Tap`] asks. The first mismatch is a
//! [`Divergence`]: position, expected and actual call, backtrace, and how many records were
//! consumed. At the end, the outcome and the total step count are checked against the
//! recording. Like the recorder it knows nothing of WASI.
//!
//! [`Session`] is the time-travel front: a replay that moves backward as easily as forward
//! (step, next, finish, continue, seek — each in both directions), with breakpoints,
//! watchpoints and checkpoints.
//!
//! ```
//! use deja_recorder::{record, Settings};
//! use deja_runtime::{Config, Linker, Module, Store};
//! let module = Module::new(br#"(module (func (export "_start") (drop (i32.const 1))))"#).unwrap();
//! let mut store = Store::new(Config::default(), ());
//! let (_, bytes) =
//!     record(&mut store, &Linker::new(), &module, Vec::new(), Settings::new("test")).unwrap();
//! let trace = deja_traces::TraceReader::new(std::io::Cursor::new(bytes)).unwrap();
//! let report = deja_replayer::replay(trace, None).unwrap();
//! assert_eq!(report.total_steps, 3);
//! ```

#![forbid(unsafe_code)]

mod replay;
mod session;

/// The runtime types a session exposes (frames, values, indices).
pub use deja_runtime as runtime;
/// The trace types a session exposes (outcomes, records).
pub use deja_traces as traces;

pub use replay::{
    Actual, CallSite, Divergence, Error, Expected, Outcome, Report, Tap, replay, replay_on,
    replay_with,
};
pub use session::{
    Checkpoint, OutputDecoder, Progress, Session, SessionOptions, Stop, StopPoint, StopReason,
};
