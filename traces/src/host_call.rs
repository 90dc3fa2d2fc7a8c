//! The record of one call through the host-call seam (DESIGN §5).

use crate::{ImportIndex, MemoryIndex, Position, Value};

/// One call from the guest to an imported function, with everything the replayer needs to
/// substitute it: what was called with what, and every effect it had on the guest.
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
pub struct HostCall {
    /// Position of the call: the `call` instruction is step `position + 1`.
    pub position: Position,
    /// Which import was called, as an index into [`crate::Header::imports`].
    pub import: ImportIndex,
    /// Arguments, in parameter order.
    pub args: Vec<Value>,
    /// Results, in result order. Empty unless the outcome is [`CallOutcome::Returned`].
    pub results: Vec<Value>,
    /// Every write the host made to guest memory during the call, in the order made. The
    /// replayer applies them in this order, so overlapping writes end as they did.
    pub memory_writes: Vec<MemoryWrite>,
    /// How the call ended.
    pub outcome: CallOutcome,
}

/// Bytes a host function wrote to guest memory.
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
pub struct MemoryWrite {
    /// Which memory was written.
    pub memory: MemoryIndex,
    /// Byte address of the first byte written (u64 so memory64 fits).
    pub address: u64,
    /// The bytes written.
    pub bytes: Vec<u8>,
}

/// How a host call ended.
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
pub enum CallOutcome {
    /// The call returned [`HostCall::results`] to the guest.
    Returned,
    /// The host function failed; the run ends with this message.
    Error(String),
    /// The host function ended the run with this exit code (WASI `proc_exit`).
    Exit(u32),
}

impl std::fmt::Display for CallOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallOutcome::Returned => f.write_str("returned"),
            CallOutcome::Error(m) => write!(f, "failed: {m}"),
            CallOutcome::Exit(code) => write!(f, "exit {code}"),
        }
    }
}
