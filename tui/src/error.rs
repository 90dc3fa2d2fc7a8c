//! What can go wrong in a front end's command (a batch line, a TUI key or prompt).

/// Why a command failed. Shown to the user as its `Display`, one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The session failed underneath: the replay diverged or the trace cannot be read there.
    #[error(transparent)]
    Session(#[from] deja_replayer::Error),
    /// The command cannot be done as given: an unknown command, a bad number, a stop point or
    /// frame or host call that does not exist, a movement with nowhere to go.
    #[error("{0}")]
    Command(String),
    /// Source-level work failed: no DWARF, an expression that does not evaluate, a line with
    /// no code.
    #[error("{0}")]
    Source(String),
}

impl From<String> for Error {
    fn from(message: String) -> Error {
        Error::Command(message)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Error {
        Error::Command(message.to_string())
    }
}

/// A command's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
