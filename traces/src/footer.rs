//! The index footer written by [`crate::TraceWriter::finish`].

use crate::{EndOfRun, Position, RecordIndex};

/// The footer frame's payload: how the run ended and where every chunk is.
#[derive(Clone, Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(crate) struct Footer {
    pub end: EndOfRun,
    pub record_count: u64,
    pub chunks: Vec<ChunkEntry>,
}

/// Where one chunk is and which records it holds. The reader binary-searches these, so they are
/// sorted by offset, record number and position alike (checked when the file is opened).
#[derive(Clone, Copy, Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct ChunkEntry {
    /// File offset of the chunk's frame header.
    pub offset: u64,
    /// Compressed payload size.
    pub stored_len: u32,
    /// Records in the chunk (at least one).
    pub record_count: u32,
    /// Number of the chunk's first record.
    pub first_record: RecordIndex,
    /// Position of the chunk's first record.
    pub first_position: Position,
}
