//! On-disk layout: prelude, frame headers and trailer.
//!
//! Everything after the prelude is a sequence of frames, each a fixed 40-byte header followed by
//! its payload. The header carries its own checksum and the payload's, so a reader that scans a
//! file with no index (a killed recorder) can tell a complete frame from a torn one and a damaged
//! one before trusting any size in it. Each frame is written with a single `write_all` so that a
//! killed writer leaves a prefix of it, never a hole.
//!
//! All integers are little-endian.

use crate::error::{Error, Result, Section};
use crate::version::FormatVersion;

/// First bytes of every trace. The PNG trick: a non-ASCII first byte catches 7-bit transfers,
/// `\r\n` catches line-ending conversion, `\x1a` stops `type` on Windows.
pub const MAGIC: [u8; 8] = *b"\x89DEJA\r\n\x1a";

/// Last bytes of a finished trace.
pub const END_MAGIC: [u8; 8] = *b"DEJA-END";

/// Magic plus version.
pub const PRELUDE_LEN: u64 = 12;

/// Size of a frame header.
pub const FRAME_HEADER_LEN: u64 = 40;

/// Size of the trailer: footer offset, checksum, end magic.
pub const TRAILER_LEN: u64 = 20;

/// Which kind of frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    /// The JSON header.
    Header,
    /// The zstd-compressed module.
    Module,
    /// A zstd-compressed chunk of rkyv records.
    Chunk,
    /// The rkyv index footer.
    Footer,
}

impl Tag {
    fn bytes(self) -> [u8; 4] {
        match self {
            Tag::Header => *b"HEAD",
            Tag::Module => *b"MODL",
            Tag::Chunk => *b"CHNK",
            Tag::Footer => *b"INDX",
        }
    }

    fn from_bytes(bytes: [u8; 4]) -> Option<Self> {
        [Tag::Header, Tag::Module, Tag::Chunk, Tag::Footer]
            .into_iter()
            .find(|tag| tag.bytes() == bytes)
    }
}

/// Encodes the prelude.
pub fn encode_prelude(version: FormatVersion) -> [u8; PRELUDE_LEN as usize] {
    let mut out = [0; PRELUDE_LEN as usize];
    out[..8].copy_from_slice(&MAGIC);
    out[8..10].copy_from_slice(&version.major.to_le_bytes());
    out[10..12].copy_from_slice(&version.minor.to_le_bytes());
    out
}

/// Decodes the prelude's version after checking the magic.
pub fn decode_prelude(bytes: &[u8; PRELUDE_LEN as usize]) -> Result<FormatVersion> {
    if bytes[..8] != MAGIC {
        return Err(Error::NotATrace);
    }
    Ok(FormatVersion {
        major: u16::from_le_bytes([bytes[8], bytes[9]]),
        minor: u16::from_le_bytes([bytes[10], bytes[11]]),
    })
}

/// A frame header. For non-chunk frames the record fields are zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    pub tag: Tag,
    /// Payload bytes in the file.
    pub stored_len: u32,
    /// Payload bytes once decompressed (equal to `stored_len` when not compressed).
    pub raw_len: u32,
    /// Records in a chunk.
    pub record_count: u32,
    /// Number of a chunk's first record.
    pub first_record: u64,
    /// Position of a chunk's first record.
    pub first_position: u64,
    /// CRC-32 of the stored payload.
    pub payload_crc: u32,
}

impl FrameHeader {
    /// A header for `payload`, computing its checksum.
    pub fn for_payload(tag: Tag, payload: &[u8], raw_len: u32) -> Result<Self> {
        Ok(FrameHeader {
            tag,
            stored_len: u32::try_from(payload.len())
                .map_err(|_| Error::Internal(format!("{tag:?} frame payload over 4 GiB")))?,
            raw_len,
            record_count: 0,
            first_record: 0,
            first_position: 0,
            payload_crc: crc32fast::hash(payload),
        })
    }

    pub fn encode(&self) -> [u8; FRAME_HEADER_LEN as usize] {
        let mut out = [0; FRAME_HEADER_LEN as usize];
        out[0..4].copy_from_slice(&self.tag.bytes());
        out[4..8].copy_from_slice(&self.stored_len.to_le_bytes());
        out[8..12].copy_from_slice(&self.raw_len.to_le_bytes());
        out[12..16].copy_from_slice(&self.record_count.to_le_bytes());
        out[16..24].copy_from_slice(&self.first_record.to_le_bytes());
        out[24..32].copy_from_slice(&self.first_position.to_le_bytes());
        out[32..36].copy_from_slice(&self.payload_crc.to_le_bytes());
        let header_crc = crc32fast::hash(&out[..36]);
        out[36..40].copy_from_slice(&header_crc.to_le_bytes());
        out
    }

    /// Decodes and checks a frame header read at `offset`; `section` names it in errors.
    pub fn decode(
        bytes: &[u8; FRAME_HEADER_LEN as usize],
        section: Section,
        offset: u64,
    ) -> Result<Self> {
        let u32_at =
            |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap_or([0; 8]));
        if !checksum_matches(crc32fast::hash(&bytes[..36]), u32_at(36)) {
            return Err(Error::Corrupt {
                section,
                offset,
                reason: "frame header checksum mismatch".into(),
            });
        }
        let tag_bytes = [bytes[0], bytes[1], bytes[2], bytes[3]];
        let tag = Tag::from_bytes(tag_bytes).ok_or_else(|| Error::Corrupt {
            section,
            offset,
            reason: format!(
                "unknown frame tag {:?}",
                String::from_utf8_lossy(&tag_bytes)
            ),
        })?;
        Ok(FrameHeader {
            tag,
            stored_len: u32_at(4),
            raw_len: u32_at(8),
            record_count: u32_at(12),
            first_record: u64_at(16),
            first_position: u64_at(24),
            payload_crc: u32_at(32),
        })
    }
}

/// Compares a computed checksum with the stored one.
///
/// Fuzz builds (`cfg(fuzzing)`, set by cargo-fuzz) accept any checksum: a fuzzer cannot forge
/// CRCs, and without this it would never get past them to the decompression, rkyv validation and
/// index checks that must hold even for data whose checksum matches.
pub fn checksum_matches(computed: u32, stored: u32) -> bool {
    computed == stored || cfg!(fuzzing)
}

/// Encodes the trailer pointing at the footer frame.
pub fn encode_trailer(footer_offset: u64) -> [u8; TRAILER_LEN as usize] {
    let mut out = [0; TRAILER_LEN as usize];
    out[0..8].copy_from_slice(&footer_offset.to_le_bytes());
    out[12..20].copy_from_slice(&END_MAGIC);
    let crc = trailer_crc(&out);
    out[8..12].copy_from_slice(&crc.to_le_bytes());
    out
}

/// What the last [`TRAILER_LEN`] bytes of a file say.
pub enum Trailer {
    /// No end magic: the writer never finished.
    Absent,
    /// A finished file's footer is at this offset.
    Footer(u64),
}

/// Decodes a trailer read at `offset`.
pub fn decode_trailer(bytes: &[u8; TRAILER_LEN as usize], offset: u64) -> Result<Trailer> {
    if bytes[12..20] != END_MAGIC {
        return Ok(Trailer::Absent);
    }
    let stored = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if !checksum_matches(trailer_crc(bytes), stored) {
        return Err(Error::Corrupt {
            section: Section::Trailer,
            offset,
            reason: "trailer checksum mismatch".into(),
        });
    }
    let mut footer_offset = [0; 8];
    footer_offset.copy_from_slice(&bytes[0..8]);
    Ok(Trailer::Footer(u64::from_le_bytes(footer_offset)))
}

/// CRC over the trailer's offset and end magic (its checksum field excluded).
fn trailer_crc(bytes: &[u8; TRAILER_LEN as usize]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&bytes[0..8]);
    hasher.update(&bytes[12..20]);
    hasher.finalize()
}
