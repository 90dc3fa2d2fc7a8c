//! The crate's one error type.

use std::{fmt, io};

use crate::{ChunkIndex, FormatVersion, Position, RecordIndex};

/// The part of a trace file an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// The magic bytes and format version at the start of the file.
    Prelude,
    /// The metadata header frame.
    Header,
    /// The embedded module frame.
    Module,
    /// A record chunk frame.
    Chunk(ChunkIndex),
    /// The index footer frame.
    Footer,
    /// The fixed-size trailer at the end of a finished file.
    Trailer,
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Section::Prelude => f.write_str("prelude"),
            Section::Header => f.write_str("header"),
            Section::Module => f.write_str("module"),
            Section::Chunk(index) => write!(f, "chunk {index}"),
            Section::Footer => f.write_str("index footer"),
            Section::Trailer => f.write_str("trailer"),
        }
    }
}

/// Everything that can go wrong writing or reading a trace.
///
/// Reading errors name what is wrong and where: the [`Section`] and the file offset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The operating system failed a read or write.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),

    /// The file has no bytes at all.
    #[error("empty file: not a deja trace")]
    Empty,

    /// The file does not start with the deja magic bytes.
    #[error("not a deja trace: the file does not start with the deja magic bytes")]
    NotATrace,

    /// The file is of a format version this reader does not read.
    #[error("{}", version_message(*.file, *.reader))]
    UnsupportedVersion {
        /// The file's format version.
        file: FormatVersion,
        /// The newest version this reader reads.
        reader: FormatVersion,
    },

    /// The file ends inside a part that cannot be recovered (prelude, header, module).
    #[error(
        "truncated file: {section} at offset {offset} needs {needed} bytes but the file ends after {available}"
    )]
    Truncated {
        /// Where the file ends.
        section: Section,
        /// Offset of the incomplete part.
        offset: u64,
        /// Bytes the part needs from `offset`.
        needed: u64,
        /// Bytes the file has from `offset`.
        available: u64,
    },

    /// A part of the file declares a size beyond the format's limits; nothing was allocated.
    #[error(
        "corrupt {section} at offset {offset}: declared size {declared} exceeds the limit of {limit} bytes"
    )]
    TooLarge {
        /// Which part.
        section: Section,
        /// Offset of its frame.
        offset: u64,
        /// The declared size.
        declared: u64,
        /// The format's limit.
        limit: u64,
    },

    /// A part of the file is damaged: a checksum, tag, count, order or content check failed.
    #[error("corrupt {section} at offset {offset}: {reason}")]
    Corrupt {
        /// Which part.
        section: Section,
        /// Offset of its frame.
        offset: u64,
        /// What check failed.
        reason: String,
    },

    /// A record number past the end of the trace was asked for.
    #[error("record {index} is out of range: the trace has {count} records")]
    RecordOutOfRange {
        /// The record asked for.
        index: RecordIndex,
        /// Records in the trace.
        count: u64,
    },

    /// The writer was given a record whose position is before the previous record's.
    #[error(
        "record {record} at position {position} comes before the previous record's position {previous}"
    )]
    PositionOutOfOrder {
        /// Number the record would have had.
        record: RecordIndex,
        /// Its position.
        position: Position,
        /// The previous record's position.
        previous: Position,
    },

    /// The writer was given a record too large to fit in one chunk.
    #[error(
        "record {record} is about {size} bytes, more than the largest record a chunk holds ({limit} bytes)"
    )]
    RecordTooLarge {
        /// Number the record would have had.
        record: RecordIndex,
        /// Its estimated archived size.
        size: u64,
        /// The limit.
        limit: u64,
    },

    /// The writer was given something it refuses (an option out of range, an end record).
    #[error("invalid use of the trace writer: {0}")]
    InvalidInput(String),

    /// A previous write failed, so the writer stopped; the file holds what was written before.
    #[error("the trace writer stopped after an earlier error")]
    WriterStopped,

    /// A bug in this crate, not a problem with the file or the caller.
    #[error("internal error in deja-traces (this is a bug): {0}")]
    Internal(String),
}

fn version_message(file: FormatVersion, reader: FormatVersion) -> String {
    if file.major == reader.major && file.minor > reader.minor || file.major > reader.major {
        format!(
            "trace format version {file} is newer than this reader's {reader}; open it with a newer deja"
        )
    } else {
        format!(
            "trace format version {file} is from an older major version than this reader's {reader}; open it with an older deja"
        )
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
