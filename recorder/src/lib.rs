//! deja's recorder: runs a guest on `deja-runtime` and writes everything it receives from the
//! outside world into a trace.
//!
//! The recorder sits on the runtime's host-call seam. Every imported function call — WASI or an
//! embedder's own host function — is observed after it completes and becomes a
//! [`HostCall`](deja_traces::HostCall) record with its position, arguments, results and guest
//! memory writes; every debug event (trap, host-call error, interruption) becomes an event
//! record; the end of the run becomes the [`EndOfRun`](deja_traces::EndOfRun). It knows nothing
//! of WASI: the caller builds the [`Store`](deja_runtime::Store) and
//! [`Linker`](deja_runtime::Linker) with whatever host functions the guest needs.
//!
//! Main items: [`record`] and its [`Settings`] and [`Report`]; [`convert`] translates between
//! the runtime's and the trace format's values, trap codes and configuration.
//!
//! ```
//! use deja_recorder::{record, Settings};
//! use deja_runtime::{Config, Linker, Module, Store};
//! let module = Module::new(br#"(module (func (export "_start") (drop (i32.const 1))))"#).unwrap();
//! let mut store = Store::new(Config::default(), ());
//! let (report, bytes) =
//!     record(&mut store, &Linker::new(), &module, Vec::new(), Settings::new("test")).unwrap();
//! assert_eq!(report.total_steps, 3);
//! let trace = deja_traces::TraceReader::new(std::io::Cursor::new(bytes)).unwrap();
//! assert_eq!(trace.record_count(), 1); // just the end of the run
//! ```

#![forbid(unsafe_code)]

/// The conversions between runtime and trace types (the `deja-convert` crate).
pub use deja_convert as convert;
mod record;

pub use record::{Error, Report, Settings, record};
