//! Size limits the reader checks before allocating anything a file asks for.
//!
//! Every size in a file is untrusted until its checksum and these bounds pass. Writers never
//! produce anything larger, so a file beyond a limit is damaged or hostile.

/// Largest header JSON. Headers hold arguments and environment, which are small in practice.
pub const MAX_HEADER_LEN: u32 = 16 << 20;

/// Largest embedded module, uncompressed.
pub const MAX_MODULE_LEN: u32 = 256 << 20;

/// Largest record chunk, uncompressed (rkyv bytes). One record must fit in one chunk, so this is
/// also the bound on a single host call's memory writes (a 256 MiB `fd_read`).
pub const MAX_CHUNK_LEN: u32 = 256 << 20;

/// Most records in one chunk.
pub const MAX_RECORDS_PER_CHUNK: u32 = 1 << 20;

/// Largest index footer (rkyv bytes): about 5 million chunks.
pub const MAX_FOOTER_LEN: u32 = 256 << 20;

/// The largest compressed size zstd can produce for `raw` bytes (its documented bound
/// `ZSTD_COMPRESSBOUND`, rounded up), so stored sizes can be bounded from raw limits.
pub(crate) const fn max_stored_len(raw: u32) -> u32 {
    raw + raw / 128 + (128 << 10)
}
