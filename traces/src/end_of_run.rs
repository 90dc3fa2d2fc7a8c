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

impl std::fmt::Display for RunOutcome {
    /// How a person reads it: `returned`, `exited with code 1`, `trapped: integer divide by
    /// zero`, `host error in import 3: …`, `interrupted`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunOutcome::Returned => f.write_str("returned"),
            RunOutcome::Exit(code) => write!(f, "exited with code {code}"),
            RunOutcome::Trap {
                message: Some(m), ..
            } => write!(f, "trapped: {m}"),
            RunOutcome::Trap {
                code,
                message: None,
            } => write!(f, "trapped (trap code {code})"),
            RunOutcome::HostError { import, message } => {
                write!(f, "host error in import {}: {message}", import.0)
            }
            RunOutcome::Interrupted => f.write_str("interrupted"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_read_as_sentences() {
        let trap = RunOutcome::Trap {
            code: 6,
            message: Some("integer divide by zero".into()),
        };
        assert_eq!(trap.to_string(), "trapped: integer divide by zero");
        assert_eq!(RunOutcome::Exit(1).to_string(), "exited with code 1");
        assert_eq!(
            RunOutcome::Trap {
                code: 9,
                message: None
            }
            .to_string(),
            "trapped (trap code 9)"
        );
    }
}
