//! Format versions and the rule for which a reader accepts.
//!
//! The version is `major.minor`. A reader reads every minor of its own major up to its own minor,
//! and refuses anything else with a message naming both versions:
//!
//! - A **minor** bump may only add things an older file lacks and a newer reader can default:
//!   optional header fields (`#[serde(default)]`), new record variants appended after the existing
//!   ones, new frame tags that older files never contain. A newer reader therefore still reads
//!   every older minor; an older reader cannot know what a newer minor added, so it refuses it.
//! - A **major** bump is anything else (frame layout, meaning of a field, rkyv layout of an
//!   existing type). Readers refuse every other major.

use std::fmt;

/// Changelog of the trace format. Every bump adds a line here and a golden file under
/// `traces/tests/data/`, which the test suite keeps reading forever.
///
/// - **1.0** — first version: prelude, JSON header, zstd module, zstd+rkyv record chunks,
///   rkyv index footer, trailer.
/// - **1.1** — the header's optional `chaos` field (seed and strategy names of a
///   `record --chaos` run); 1.0 files read with it `None`.
/// - **1.2** — the record variant `Progress` (the run's position, written periodically so a
///   killed recording says how far it got); older files contain none.
/// - **1.3** — the interruption `Terminated` (SIGTERM; older files say `Signal` for it as for
///   SIGINT), appended after the other interruptions; older files contain none.
pub const FORMAT_VERSION: FormatVersion = FormatVersion { major: 1, minor: 3 };

/// A trace format version, `major.minor`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct FormatVersion {
    /// Incompatible changes.
    pub major: u16,
    /// Backward-compatible additions.
    pub minor: u16,
}

impl FormatVersion {
    /// Whether a reader of version `self` can read a file of version `file`.
    pub fn can_read(self, file: FormatVersion) -> bool {
        file.major == self.major && file.minor <= self.minor
    }
}

impl fmt::Display for FormatVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}
