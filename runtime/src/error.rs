//! The runtime's error type.
//!
//! Three classes stay apart: problems with the input (a malformed or invalid module, an import
//! that cannot be satisfied, a bad argument), guest outcomes that end a call early (a trap, a
//! host-function error or exit), and engine bugs ([`Error::Internal`]).

use crate::trap::Trap;
use crate::types::FuncType;
use std::path::PathBuf;

/// Why a paused call stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PauseReason {
    /// The step budget ran out: the store's position equals the budget's end.
    StepBudget,
    /// A breakpoint at the next instruction to execute.
    Breakpoint,
    /// The instruction just executed wrote to a watched memory range.
    Watchpoint,
    /// The host function just called asked for a pause ([`crate::Caller::request_pause`]).
    HostRequest,
}

impl std::fmt::Display for PauseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PauseReason::StepBudget => "step budget",
            PauseReason::Breakpoint => "breakpoint",
            PauseReason::Watchpoint => "watchpoint",
            PauseReason::HostRequest => "host request",
        })
    }
}

/// Everything that can go wrong in the runtime.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Text format that does not parse.
    #[error("syntax error in WebAssembly text: {0}")]
    Syntax(String),
    /// A binary that does not decode.
    #[error("malformed module at byte offset {offset:#x}: {message}")]
    Malformed {
        /// wasmparser's message.
        message: String,
        /// Byte offset in the binary.
        offset: u64,
    },
    /// A module that decodes but does not validate.
    #[error("invalid module at byte offset {offset:#x}: {message}")]
    Invalid {
        /// The validator's message.
        message: String,
        /// Byte offset in the binary.
        offset: u64,
    },
    /// A module using a WebAssembly proposal deja does not support yet.
    #[error(
        "module uses the WebAssembly {proposal} proposal (at byte offset {offset:#x}), which deja does not support yet"
    )]
    Unsupported {
        /// The proposal's name.
        proposal: &'static str,
        /// Where its first use was found.
        offset: u64,
    },
    /// Imports that no definition satisfies.
    #[error("unknown import{}: {}", if .0.len() == 1 { "" } else { "s" }, .0.join(", "))]
    UnknownImports(Vec<String>),
    /// An import whose definition has the wrong type.
    #[error("incompatible import type for {module}::{name}: {reason}")]
    IncompatibleImport {
        /// Import module.
        module: String,
        /// Import name.
        name: String,
        /// What does not match.
        reason: String,
    },
    /// No export of that name, or not of the expected kind.
    #[error("no exported {kind} named `{name}`")]
    NoSuchExport {
        /// Expected kind.
        kind: &'static str,
        /// Name asked for.
        name: String,
    },
    /// Arguments that do not match a function's signature.
    #[error("bad arguments for {ty}: {reason}")]
    BadArguments {
        /// The function's signature.
        ty: FuncType,
        /// What is wrong.
        reason: String,
    },
    /// The guest trapped.
    #[error("{0}")]
    Trap(Trap),
    /// A host function failed; the run ends.
    #[error("host function {import} failed at position {position}: {message}")]
    Host {
        /// `module::name` of the import.
        import: String,
        /// The host's message.
        message: String,
        /// Position of the `call` instruction.
        position: u64,
        /// The embedder's typed error, when the host function failed with one
        /// ([`crate::HostError::Typed`]).
        source: Option<crate::host::TypedHostError>,
    },
    /// A host function ended the run with an exit code (WASI `proc_exit`).
    #[error("guest exited with code {code} at position {position}")]
    Exit {
        /// The exit code.
        code: i32,
        /// Position of the `call` instruction.
        position: u64,
    },
    /// The start function paused (at the step budget) while instantiating; an instance whose
    /// start function has not finished cannot be used, so the call was abandoned.
    #[error("the start function stopped at position {} ({})", .0.position, .0.reason)]
    StartPaused(crate::Pause),
    /// A memory or table could not be grown by the host allocator, or a resource limit of the
    /// store's configuration was exceeded during instantiation.
    #[error("resource limit exceeded: {0}")]
    Resource(String),
    /// The embedder used the API in a way it does not allow (for example calling into a store
    /// whose previous call is still paused).
    #[error("{0}")]
    Usage(String),
    /// A bug in deja.
    #[error("internal error (a bug in deja): {0}")]
    Internal(String),
}

/// The three classes of [`Error`], which callers keep apart: what the guest did (recorded as
/// events in a trace), what the user or the environment got wrong (one clear line, an exit
/// code), and bugs in deja.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// A guest outcome: a trap, a host function's failure or exit.
    Guest,
    /// A user or I/O error: unreadable or invalid input, unsatisfied imports, bad arguments,
    /// misuse of the API, exhausted host resources.
    User,
    /// A bug in deja.
    Internal,
}

impl Error {
    /// Which class this error belongs to.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Trap(_) | Error::Host { .. } | Error::Exit { .. } | Error::StartPaused(_) => {
                ErrorClass::Guest
            }
            Error::Internal(_) => ErrorClass::Internal,
            Error::Io { .. }
            | Error::Syntax(_)
            | Error::Malformed { .. }
            | Error::Invalid { .. }
            | Error::Unsupported { .. }
            | Error::UnknownImports(_)
            | Error::IncompatibleImport { .. }
            | Error::NoSuchExport { .. }
            | Error::BadArguments { .. }
            | Error::Resource(_)
            | Error::Usage(_) => ErrorClass::User,
        }
    }
}

impl From<wasmparser::BinaryReaderError> for Error {
    fn from(e: wasmparser::BinaryReaderError) -> Error {
        Error::Invalid {
            message: e.message().to_string(),
            offset: e.offset(),
        }
    }
}

/// Shorthand.
pub type Result<T, E = Error> = std::result::Result<T, E>;
