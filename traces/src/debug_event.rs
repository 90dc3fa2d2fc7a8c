//! Debug events: things that happened to the guest that are not host calls.

use crate::{FuncIndex, ImportIndex, Position, TagIndex};

/// An event raised while the guest ran, with the Wasm backtrace at that moment.
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
pub struct DebugEvent {
    /// Position of the event: a trap at position N is raised by the instruction that would have
    /// been step N + 1.
    pub position: Position,
    /// What happened.
    pub kind: EventKind,
    /// Wasm frames, innermost first.
    pub backtrace: Vec<BacktraceFrame>,
}

/// What kind of debug event happened.
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
pub enum EventKind {
    /// A trap. `code` is the runtime's stable `#[repr(u8)]` `TrapCode` discriminant; traces store
    /// the byte so that this crate does not depend on the runtime.
    Trap {
        /// The trap code's discriminant.
        code: u8,
        /// Extra detail, when the runtime has any.
        message: Option<String>,
    },
    /// An imported function returned an error.
    HostCallError {
        /// The import that failed.
        import: ImportIndex,
        /// The host's error message.
        message: String,
    },
    /// A Wasm exception was thrown.
    Exception {
        /// The exception's tag.
        tag: TagIndex,
        /// Whether a handler in the guest caught it.
        caught: bool,
    },
    /// The run was interrupted.
    Interrupted(Interruption),
}

/// Why a run was interrupted.
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
pub enum Interruption {
    /// The user asked (Ctrl-C): SIGINT. (Before format 1.3, SIGTERM too.)
    Signal,
    /// The configured step budget ran out.
    StepBudget,
    /// Anything else, described.
    Other(String),
    /// SIGTERM asked the run to end (format 1.3).
    Terminated,
}

/// One Wasm frame of a backtrace.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
pub struct BacktraceFrame {
    /// The frame's function.
    pub func: FuncIndex,
    /// Module-relative byte offset of the frame's next instruction.
    pub pc: u32,
}

impl std::fmt::Display for BacktraceFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "func {} at pc {:#x}", self.func.0, self.pc)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EventKind::Trap {
                message: Some(m), ..
            } => write!(f, "trap: {m}"),
            EventKind::Trap {
                code,
                message: None,
            } => write!(f, "trap (code {code})"),
            EventKind::HostCallError { import, message } => {
                write!(f, "host call error in import {}: {message}", import.0)
            }
            EventKind::Interrupted(Interruption::Signal) => f.write_str("interrupted by a signal"),
            EventKind::Interrupted(Interruption::StepBudget) => {
                f.write_str("interrupted at the step budget")
            }
            EventKind::Interrupted(Interruption::Other(why)) => write!(f, "interrupted: {why}"),
            EventKind::Interrupted(Interruption::Terminated) => {
                f.write_str("interrupted by SIGTERM")
            }
            EventKind::Exception { tag, caught } => write!(
                f,
                "exception with tag {} {}",
                tag.0,
                if *caught { "caught" } else { "uncaught" }
            ),
        }
    }
}
