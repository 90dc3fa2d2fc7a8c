//! deja's trace file format.
//!
//! A trace is what a user shares to reproduce a failure: one self-contained file holding the
//! module, its arguments and environment, and every input the guest received through host calls.
//! So the format is small (zstd), survives a killed recorder (streamed, append-only chunks that a
//! reader recovers by scanning), and never harms whoever opens it (checksums, bounded sizes,
//! validated rkyv, errors that say what is wrong and where instead of panics).
//!
//! The layout is specified in [`format`]; the format version and its changelog are
//! [`FORMAT_VERSION`].
//!
//! # Main types
//!
//! - [`TraceWriter`] streams a trace: [`Header`] and module bytes at creation, then
//!   [`Record`]s, then [`TraceWriter::finish`] with the [`EndOfRun`].
//! - [`TraceReader`] opens one, finished or truncated, and reads records from the start, from
//!   record K or from position P, touching only the chunks needed.
//! - [`Record`] is a [`HostCall`], a [`DebugEvent`] or the [`EndOfRun`]; host calls carry
//!   [`Value`]s and [`MemoryWrite`]s and refer to imports by [`ImportIndex`] into
//!   [`Header::imports`].
//! - [`Error`] is the one error type.
//!
//! This crate depends on no other deja crate: trap codes are stored as the runtime's `u8`
//! discriminant, values as this crate's [`Value`], runtime configuration as a JSON value.
//!
//! # Example
//!
//! ```
//! use deja_traces::{
//!     CallOutcome, EndOfRun, Header, HostCall, Import, ImportIndex, MemoryIndex, MemoryWrite,
//!     Position, Record, RecordIndex, RunOutcome, Signature, TraceReader, TraceWriter, ValType,
//!     Value, WriterOptions,
//! };
//!
//! # fn main() -> Result<(), deja_traces::Error> {
//! let mut header = Header::new("deja 0.1.0");
//! header.imports.push(Import {
//!     module: "wasi_snapshot_preview1".into(),
//!     name: "random_get".into(),
//!     signature: Signature { params: vec![ValType::I32, ValType::I32], results: vec![ValType::I32] },
//! });
//! let module = b"\0asm\x01\0\0\0";
//!
//! // Write to memory here; `TraceWriter::create(path, ..)` writes a file.
//! let mut writer = TraceWriter::new(Vec::new(), header, module, WriterOptions::default())?;
//! writer.push(HostCall {
//!     position: Position(42),
//!     import: ImportIndex(0),
//!     args: vec![Value::I32(1024), Value::I32(4)],
//!     results: vec![Value::I32(0)],
//!     memory_writes: vec![MemoryWrite { memory: MemoryIndex(0), address: 1024, bytes: vec![1, 2, 3, 4] }],
//!     outcome: CallOutcome::Returned,
//! })?;
//! let end = EndOfRun { outcome: RunOutcome::Exit(1), total_steps: Position(100) };
//! let bytes = writer.finish(end.clone())?;
//!
//! let reader = TraceReader::new(std::io::Cursor::new(bytes))?;
//! assert!(!reader.is_truncated());
//! assert_eq!(reader.end_of_run(), Some(&end));
//! assert_eq!(reader.module_bytes()?, module);
//! assert_eq!(reader.record_count(), 2); // the host call and the end of the run
//! let first = reader.records_from_position(Position(40)).next().unwrap()?;
//! assert_eq!(first.position(), Position(42));
//! assert!(matches!(reader.read_record(RecordIndex(1))?, Record::End(_)));
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod debug_event;
mod end_of_run;
mod error;
mod footer;
mod frame;
mod fuzzing;
mod header;
mod host_call;
mod indices;
pub mod limits;
mod reader;
mod record;
mod value;
mod version;
mod writer;

pub mod format {
    #![doc = include_str!("../FORMAT.md")]
}

pub use debug_event::{BacktraceFrame, DebugEvent, EventKind, Interruption};
pub use end_of_run::{EndOfRun, RunOutcome};
pub use error::{Error, Result, Section};
/// The bytes every trace file starts with.
pub use frame::MAGIC;
#[doc(hidden)]
pub use fuzzing::exercise_reader;
pub use header::{Chaos, Header, Import, ModuleInfo, Signature};
pub use host_call::{CallOutcome, HostCall, MemoryWrite};
pub use indices::{
    ChunkIndex, FuncIndex, ImportIndex, MemoryIndex, Position, RecordIndex, TagIndex,
};
pub use reader::{ChunkInfo, ReaderOptions, Records, TraceReader, TraceSummary, Truncation};
pub use record::Record;
pub use value::{ValType, Value};
pub use version::{FORMAT_VERSION, FormatVersion};
pub use writer::{DEFAULT_COMPRESSION_LEVEL, TraceWriter, WriterOptions};
