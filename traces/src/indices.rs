//! Newtype indices and counters used throughout the format.
//!
//! They are newtypes rather than bare integers so that a record number can never be passed where a
//! position is expected (both are `u64`), nor an import index where a function index is.

use std::fmt;

macro_rules! index_type {
    ($(#[$meta:meta])* $name:ident($inner:ty)) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize,
            rkyv::Archive, rkyv::Serialize, rkyv::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl $name {
            /// The raw integer.
            pub const fn get(self) -> $inner {
                self.0
            }
        }

        impl From<$inner> for $name {
            fn from(raw: $inner) -> Self {
                Self(raw)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

index_type!(
    /// Number of steps completed since the start of the run (DESIGN §3).
    Position(u64)
);
index_type!(
    /// Number of a record in the trace's record stream, counting from 0.
    RecordIndex(u64)
);
index_type!(
    /// Index into the header's imports table ([`crate::Header::imports`]).
    ImportIndex(u32)
);
index_type!(
    /// A function index in the module's function index space (imports first).
    FuncIndex(u32)
);
index_type!(
    /// A linear memory index (0 unless the module uses multi-memory).
    MemoryIndex(u32)
);
index_type!(
    /// An exception tag index.
    TagIndex(u32)
);
index_type!(
    /// Number of a chunk of records in the file, counting from 0.
    ChunkIndex(u32)
);
