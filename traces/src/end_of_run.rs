//! How and when the recorded run ended.

use crate::{ImportIndex, Position};

/// The end of the run: the last record of a finished trace, repeated in its footer so that
/// `deja info` can show it without reading the record stream.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
pub struct EndOfRun {
    /// How the run ended.
    pub outcome: RunOutcome,
    /// Steps completed by the whole run, which is also the position of its end.
    pub total_steps: Position,
}

/// How the run ended.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
pub enum RunOutcome {
    /// The entry point returned normally.
    Returned,
    /// The guest exited with this code (WASI `proc_exit`).
    Exit(u32),
    /// The guest trapped; `code` is the runtime's `TrapCode` discriminant.
    Trap {
        /// The trap code's discriminant.
        code: u8,
        /// Extra detail, when the runtime has any.
        message: Option<String>,
    },
    /// An imported function failed and ended the run.
    HostError {
        /// The import that failed.
        import: ImportIndex,
        /// The host's error message.
        message: String,
    },
    /// The run was interrupted (Ctrl-C, step budget) before it ended by itself.
    Interrupted,
}
