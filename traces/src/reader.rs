//! The trace reader.
//!
//! Opening reads the prelude, header and module frame, then the index: from the footer when the
//! trailer says the file was finished, otherwise by scanning chunk frames from the start and
//! stopping at the first incomplete one (a killed writer leaves a prefix of its last frame). After
//! that, reading record K or the records from position P is a binary search in the index and the
//! decoding of only the chunks that hold them.
//!
//! Nothing read from the file is trusted: every size is bounded (see [`crate::limits`]) and
//! checked against the file's length before anything is allocated, every frame's checksum is
//! verified before its payload is used, rkyv data is validated by `bytecheck` before access, and
//! the decoded records are checked against the index (count, numbers, positions, imports).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result, Section};
use crate::footer::{ChunkEntry, Footer};
use crate::frame::{
    self, FRAME_HEADER_LEN, FrameHeader, MAGIC, PRELUDE_LEN, TRAILER_LEN, Tag, Trailer,
};
use crate::limits::{
    MAX_CHUNK_LEN, MAX_FOOTER_LEN, MAX_HEADER_LEN, MAX_MODULE_LEN, MAX_RECORDS_PER_CHUNK,
    max_stored_len,
};
use crate::version::{FORMAT_VERSION, FormatVersion};
use crate::{ChunkIndex, EndOfRun, Header, Position, Record, RecordIndex};

/// How a [`TraceReader`] opens a file.
#[derive(Clone, Debug)]
pub struct ReaderOptions {
    /// The newest version the reader claims to read. Only tests of the version rules change it.
    #[doc(hidden)]
    pub reader_version: FormatVersion,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            reader_version: FORMAT_VERSION,
        }
    }
}

/// What is known about a trace whose writer never finished.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Truncation {
    /// Complete records recovered.
    pub records_recovered: u64,
    /// Offset where the recovered data ends; bytes after it are an incomplete frame.
    pub valid_len: u64,
    /// File length.
    pub file_len: u64,
}

/// Where one chunk is and what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkInfo {
    /// File offset of the chunk's frame.
    pub offset: u64,
    /// Compressed size.
    pub stored_len: u32,
    /// Records in the chunk.
    pub record_count: u32,
    /// Number of its first record.
    pub first_record: RecordIndex,
    /// Position of its first record.
    pub first_position: Position,
}

impl From<ChunkEntry> for ChunkInfo {
    fn from(entry: ChunkEntry) -> Self {
        ChunkInfo {
            offset: entry.offset,
            stored_len: entry.stored_len,
            record_count: entry.record_count,
            first_record: entry.first_record,
            first_position: entry.first_position,
        }
    }
}

/// A summary of a trace, merging header, footer and index, e.g. for `deja info --json`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TraceSummary {
    /// The file's format version.
    pub format_version: FormatVersion,
    /// The metadata header.
    pub header: Header,
    /// How the run ended; `None` when the trace is truncated.
    pub end: Option<EndOfRun>,
    /// Records in the trace (recovered ones, when truncated).
    pub record_count: u64,
    /// Chunks in the trace.
    pub chunk_count: usize,
    /// File size in bytes.
    pub file_len: u64,
    /// Set when the writer never finished.
    pub truncation: Option<Truncation>,
}

/// An open trace file.
///
/// `R` is any seekable byte source: a [`File`] from [`open`](TraceReader::open), or a
/// `std::io::Cursor` over bytes in memory.
pub struct TraceReader<R = File> {
    source: Mutex<R>,
    file_len: u64,
    version: FormatVersion,
    header: Header,
    /// Module frame header and its offset; the payload's checksum was verified at open.
    module: (u64, FrameHeader),
    chunks: Vec<ChunkInfo>,
    record_count: u64,
    end: Option<EndOfRun>,
    truncation: Option<Truncation>,
    /// The last chunk decoded by [`read_record`](Self::read_record).
    cache: Mutex<Option<(usize, Vec<Record>)>>,
}

impl<R> std::fmt::Debug for TraceReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceReader")
            .field("version", &self.version)
            .field("file_len", &self.file_len)
            .field("record_count", &self.record_count)
            .field("chunks", &self.chunks.len())
            .field("truncation", &self.truncation)
            .finish_non_exhaustive()
    }
}

impl TraceReader<File> {
    /// Opens the trace at `path`.
    ///
    /// # Errors
    /// I/O errors, and any damaged, foreign, empty or newer file (see [`Error`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::new(File::open(path)?)
    }
}

impl<R: Read + Seek> TraceReader<R> {
    /// Opens a trace from any seekable source.
    ///
    /// # Errors
    /// I/O errors, and any damaged, foreign, empty or newer file (see [`Error`]).
    pub fn new(source: R) -> Result<Self> {
        Self::with_options(source, ReaderOptions::default())
    }

    /// Opens a trace with explicit options.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_options(mut source: R, options: ReaderOptions) -> Result<Self> {
        let file_len = source.seek(SeekFrom::End(0))?;
        let mut io = Io {
            source: &mut source,
            file_len,
        };

        // Prelude: magic, then version before anything whose layout the version decides.
        if file_len == 0 {
            return Err(Error::Empty);
        }
        if file_len < PRELUDE_LEN {
            let head = io.read_vec(0, file_len as usize)?;
            return if MAGIC.starts_with(&head[..head.len().min(MAGIC.len())]) {
                Err(Error::Truncated {
                    section: Section::Prelude,
                    offset: 0,
                    needed: PRELUDE_LEN,
                    available: file_len,
                })
            } else {
                Err(Error::NotATrace)
            };
        }
        let mut prelude = [0; PRELUDE_LEN as usize];
        io.read_exact_at(0, &mut prelude)?;
        let version = frame::decode_prelude(&prelude)?;
        if !options.reader_version.can_read(version) {
            return Err(Error::UnsupportedVersion {
                file: version,
                reader: options.reader_version,
            });
        }

        // Header.
        let (header_frame, header_json) =
            io.read_whole_frame(PRELUDE_LEN, Section::Header, Tag::Header, MAX_HEADER_LEN)?;
        if header_frame.raw_len != header_frame.stored_len {
            return Err(corrupt(
                Section::Header,
                PRELUDE_LEN,
                "raw and stored sizes differ",
            ));
        }
        let header: Header = serde_json::from_slice(&header_json).map_err(|e| {
            corrupt(
                Section::Header,
                PRELUDE_LEN,
                format!("invalid header JSON: {e}"),
            )
        })?;
        drop(header_json);

        // Module: checksum now, decompression when asked for.
        let module_offset = PRELUDE_LEN + FRAME_HEADER_LEN + u64::from(header_frame.stored_len);
        let (module_frame, module_payload) =
            io.read_whole_frame(module_offset, Section::Module, Tag::Module, MAX_MODULE_LEN)?;
        drop(module_payload);
        if u64::from(module_frame.raw_len) != header.module.size {
            return Err(corrupt(
                Section::Module,
                module_offset,
                format!(
                    "module frame holds {} bytes but the header says {}",
                    module_frame.raw_len, header.module.size
                ),
            ));
        }
        let data_start = module_offset + FRAME_HEADER_LEN + u64::from(module_frame.stored_len);

        // Index: from the footer if the trailer says the file was finished, else by scanning.
        let trailer = if file_len >= data_start + TRAILER_LEN {
            let mut bytes = [0; TRAILER_LEN as usize];
            let offset = file_len - TRAILER_LEN;
            io.read_exact_at(offset, &mut bytes)?;
            frame::decode_trailer(&bytes, offset)?
        } else {
            Trailer::Absent
        };
        let index = match trailer {
            Trailer::Footer(footer_offset) => io.read_footer(footer_offset, data_start)?,
            Trailer::Absent => io.scan(data_start)?,
        };

        Ok(TraceReader {
            source: Mutex::new(source),
            file_len,
            version,
            header,
            module: (module_offset, module_frame),
            chunks: index.chunks,
            record_count: index.record_count,
            end: index.end,
            truncation: index.truncation,
            cache: Mutex::new(None),
        })
    }

    /// The file's format version.
    pub fn format_version(&self) -> FormatVersion {
        self.version
    }

    /// The metadata header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// How the run ended; `None` when the trace is truncated.
    pub fn end_of_run(&self) -> Option<&EndOfRun> {
        self.end.as_ref()
    }

    /// Whether the writer never finished (killed recorder); see [`truncation`](Self::truncation).
    pub fn is_truncated(&self) -> bool {
        self.truncation.is_some()
    }

    /// Details of the truncation, if the trace is truncated.
    pub fn truncation(&self) -> Option<&Truncation> {
        self.truncation.as_ref()
    }

    /// Records in the trace (the recovered ones, when truncated).
    pub fn record_count(&self) -> u64 {
        self.record_count
    }

    /// The chunk index.
    pub fn chunks(&self) -> &[ChunkInfo] {
        &self.chunks
    }

    /// Header, end and index in one serializable value.
    pub fn summary(&self) -> TraceSummary {
        TraceSummary {
            format_version: self.version,
            header: self.header.clone(),
            end: self.end.clone(),
            record_count: self.record_count,
            chunk_count: self.chunks.len(),
            file_len: self.file_len,
            truncation: self.truncation.clone(),
        }
    }

    /// The embedded module, decompressed and checked against the header's size and hash.
    ///
    /// # Errors
    /// I/O errors, or a damaged module frame.
    pub fn module_bytes(&self) -> Result<Vec<u8>> {
        let (offset, frame) = self.module;
        let payload = self.io(|io| io.read_payload(offset, &frame, Section::Module))?;
        let bytes = decompress(&payload, frame.raw_len, Section::Module, offset)?;
        let hash: String = Sha256::digest(&bytes[..])
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if hash != self.header.module.sha256 {
            return Err(corrupt(
                Section::Module,
                offset,
                "module SHA-256 differs from the header's",
            ));
        }
        Ok(bytes.to_vec())
    }

    /// Iterates over all records from the first.
    pub fn records(&self) -> Records<'_, R> {
        Records::new(self, 0, RecordIndex(0), None)
    }

    /// Iterates over the records from number `start`; empty if `start` is the record count.
    ///
    /// # Errors
    /// [`Error::RecordOutOfRange`] if `start` is past the record count.
    pub fn records_from(&self, start: RecordIndex) -> Result<Records<'_, R>> {
        if start.0 > self.record_count {
            return Err(Error::RecordOutOfRange {
                index: start,
                count: self.record_count,
            });
        }
        let chunk = if start.0 == self.record_count {
            self.chunks.len()
        } else {
            self.chunks.partition_point(|c| c.first_record <= start) - 1
        };
        Ok(Records::new(self, chunk, start, None))
    }

    /// Iterates over the records whose position is at least `position`.
    pub fn records_from_position(&self, position: Position) -> Records<'_, R> {
        // The first record at or after `position` is either in the last chunk that starts before
        // it (in its tail) or is the first record of the next chunk; chunks can share a first
        // position when several records happen at one position.
        let chunk = self
            .chunks
            .partition_point(|c| c.first_position < position)
            .saturating_sub(1);
        let first_record = self
            .chunks
            .get(chunk)
            .map_or(RecordIndex(self.record_count), |c| c.first_record);
        Records::new(self, chunk, first_record, Some(position))
    }

    /// Reads record number `index`, decoding only its chunk (the last chunk decoded is cached).
    ///
    /// # Errors
    /// [`Error::RecordOutOfRange`], I/O errors, or a damaged chunk.
    pub fn read_record(&self, index: RecordIndex) -> Result<Record> {
        if index.0 >= self.record_count {
            return Err(Error::RecordOutOfRange {
                index,
                count: self.record_count,
            });
        }
        let chunk = self.chunks.partition_point(|c| c.first_record <= index) - 1;
        let within = (index.0 - self.chunks[chunk].first_record.0) as usize;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let missing = || Error::Internal(format!("record {index} missing from its checked chunk"));
        if let Some((cached, records)) = cache.as_ref()
            && *cached == chunk
        {
            return records.get(within).cloned().ok_or_else(missing);
        }
        let records = self.read_chunk(chunk)?;
        let record = records.get(within).cloned().ok_or_else(missing)?;
        *cache = Some((chunk, records));
        Ok(record)
    }

    /// Decodes and checks chunk `chunk` of the index.
    fn read_chunk(&self, chunk: usize) -> Result<Vec<Record>> {
        let info = self.chunks[chunk];
        let section = Section::Chunk(ChunkIndex(chunk as u32));
        let offset = info.offset;
        let (frame, payload) = self.io(|io| {
            let frame = io.read_frame_header(offset, section, Tag::Chunk, MAX_CHUNK_LEN)?;
            let payload = io.read_payload(offset, &frame, section)?;
            Ok((frame, payload))
        })?;
        if frame.stored_len != info.stored_len
            || frame.record_count != info.record_count
            || frame.first_record != info.first_record.0
            || frame.first_position != info.first_position.0
        {
            return Err(corrupt(
                section,
                offset,
                "chunk frame disagrees with the index",
            ));
        }
        let raw = decompress(&payload, frame.raw_len, section, offset)?;
        drop(payload);
        let records = rkyv::from_bytes::<Vec<Record>, rkyv::rancor::Error>(&raw)
            .map_err(|e| corrupt(section, offset, format!("invalid record data: {e}")))?;
        self.check_records(chunk, &records)
            .map_err(|reason| corrupt(section, offset, reason))?;
        Ok(records)
    }

    /// Checks decoded records against the index, the header and the stream's invariants.
    fn check_records(&self, chunk: usize, records: &[Record]) -> Result<(), String> {
        let info = self.chunks[chunk];
        if records.len() != info.record_count as usize {
            return Err(format!(
                "chunk holds {} records but its frame says {}",
                records.len(),
                info.record_count
            ));
        }
        if records.first().map(Record::position) != Some(info.first_position) {
            return Err("first record's position differs from the chunk's".into());
        }
        let next_first = self.chunks.get(chunk + 1).map(|c| c.first_position);
        let last_chunk = chunk + 1 == self.chunks.len();
        let mut previous = info.first_position;
        for (i, record) in records.iter().enumerate() {
            let position = record.position();
            if position < previous || next_first.is_some_and(|next| position > next) {
                return Err(format!("record {i} of the chunk is out of position order"));
            }
            previous = position;
            match record {
                Record::HostCall(call) if call.import.0 as usize >= self.header.imports.len() => {
                    return Err(format!(
                        "record {i} of the chunk calls import {} but the header has {} imports",
                        call.import,
                        self.header.imports.len()
                    ));
                }
                Record::End(_) if !(last_chunk && i + 1 == records.len()) => {
                    return Err(format!(
                        "record {i} of the chunk is an end of run before the end"
                    ));
                }
                _ => {}
            }
        }
        // A finished trace ends with the end record its footer repeats.
        if let Some(end) = &self.end
            && last_chunk
            && records.last() != Some(&Record::End(end.clone()))
        {
            return Err("the last record is not the end of run the footer holds".into());
        }
        Ok(())
    }

    fn io<T>(&self, f: impl FnOnce(&mut Io<'_, R>) -> Result<T>) -> Result<T> {
        let mut source: MutexGuard<'_, R> = self.source.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut Io {
            source: &mut *source,
            file_len: self.file_len,
        })
    }
}

/// Iterator over records, decoding one chunk at a time. Yields `Err` once on a damaged chunk and
/// then ends.
pub struct Records<'a, R> {
    reader: &'a TraceReader<R>,
    /// Next chunk to decode.
    chunk: usize,
    /// Number of the next record to yield.
    next: RecordIndex,
    /// Skip records before this position (for `records_from_position`).
    from_position: Option<Position>,
    current: std::vec::IntoIter<Record>,
    failed: bool,
}

impl<R> std::fmt::Debug for Records<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records")
            .field("chunk", &self.chunk)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl<'a, R: Read + Seek> Records<'a, R> {
    fn new(
        reader: &'a TraceReader<R>,
        chunk: usize,
        next: RecordIndex,
        from_position: Option<Position>,
    ) -> Self {
        Records {
            reader,
            chunk,
            next,
            from_position,
            current: Vec::new().into_iter(),
            failed: false,
        }
    }

    /// Number of the record the next call to `next` yields.
    pub fn next_index(&self) -> RecordIndex {
        self.next
    }
}

impl<R: Read + Seek> Iterator for Records<'_, R> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.failed {
                return None;
            }
            if let Some(record) = self.current.next() {
                let index = self.next;
                self.next.0 += 1;
                if self
                    .from_position
                    .is_some_and(|from| record.position() < from)
                {
                    continue;
                }
                self.from_position = None;
                debug_assert_eq!(index.0 + 1, self.next.0);
                return Some(Ok(record));
            }
            let info = *self.reader.chunks.get(self.chunk)?;
            match self.reader.read_chunk(self.chunk) {
                Ok(records) => {
                    let mut records = records.into_iter();
                    // Skip to the requested record within the first chunk.
                    let skip = self.next.0.saturating_sub(info.first_record.0);
                    for _ in 0..skip {
                        records.next();
                    }
                    self.current = records;
                    self.chunk += 1;
                }
                Err(error) => {
                    self.failed = true;
                    return Some(Err(error));
                }
            }
        }
    }
}

/// The index, however it was found.
struct Index {
    chunks: Vec<ChunkInfo>,
    record_count: u64,
    end: Option<EndOfRun>,
    truncation: Option<Truncation>,
}

/// Bounded, positioned reads from the source.
struct Io<'a, R> {
    source: &'a mut R,
    file_len: u64,
}

impl<R: Read + Seek> Io<'_, R> {
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.source.seek(SeekFrom::Start(offset))?;
        self.source.read_exact(buf)?;
        Ok(())
    }

    /// Reads `len` bytes that the caller has already bounds-checked against the file.
    fn read_vec(&mut self, offset: u64, len: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0; len];
        self.read_exact_at(offset, &mut buf)?;
        Ok(buf)
    }

    fn available(&self, offset: u64) -> u64 {
        self.file_len.saturating_sub(offset)
    }

    /// Reads and checks the frame header at `offset`: header checksum, tag, size limit, and that
    /// the payload fits in the file.
    fn read_frame_header(
        &mut self,
        offset: u64,
        section: Section,
        tag: Tag,
        raw_limit: u32,
    ) -> Result<FrameHeader> {
        if self.available(offset) < FRAME_HEADER_LEN {
            return Err(Error::Truncated {
                section,
                offset,
                needed: FRAME_HEADER_LEN,
                available: self.available(offset),
            });
        }
        let mut bytes = [0; FRAME_HEADER_LEN as usize];
        self.read_exact_at(offset, &mut bytes)?;
        let frame = FrameHeader::decode(&bytes, section, offset)?;
        if frame.tag != tag {
            return Err(corrupt(
                section,
                offset,
                format!("expected a {tag:?} frame, found {:?}", frame.tag),
            ));
        }
        check_sizes(&frame, section, offset, raw_limit)?;
        let needed = FRAME_HEADER_LEN + u64::from(frame.stored_len);
        if self.available(offset) < needed {
            return Err(Error::Truncated {
                section,
                offset,
                needed,
                available: self.available(offset),
            });
        }
        Ok(frame)
    }

    /// Reads a checked frame's payload and verifies its checksum.
    fn read_payload(
        &mut self,
        offset: u64,
        frame: &FrameHeader,
        section: Section,
    ) -> Result<Vec<u8>> {
        let payload = self.read_vec(offset + FRAME_HEADER_LEN, frame.stored_len as usize)?;
        if !frame::checksum_matches(crc32fast::hash(&payload), frame.payload_crc) {
            return Err(corrupt(section, offset, "payload checksum mismatch"));
        }
        Ok(payload)
    }

    fn read_whole_frame(
        &mut self,
        offset: u64,
        section: Section,
        tag: Tag,
        raw_limit: u32,
    ) -> Result<(FrameHeader, Vec<u8>)> {
        let frame = self.read_frame_header(offset, section, tag, raw_limit)?;
        let payload = self.read_payload(offset, &frame, section)?;
        Ok((frame, payload))
    }

    /// Reads the footer of a finished file and checks the index it holds.
    fn read_footer(&mut self, offset: u64, data_start: u64) -> Result<Index> {
        let section = Section::Footer;
        let trailer_offset = self.file_len - TRAILER_LEN;
        if offset < data_start || offset > trailer_offset {
            return Err(corrupt(
                Section::Trailer,
                trailer_offset,
                format!(
                    "footer offset {offset} is outside the record area {data_start}..{trailer_offset}"
                ),
            ));
        }
        let (frame, payload) =
            self.read_whole_frame(offset, section, Tag::Footer, MAX_FOOTER_LEN)?;
        if offset + FRAME_HEADER_LEN + u64::from(frame.stored_len) != trailer_offset {
            return Err(corrupt(
                section,
                offset,
                "footer does not end where the trailer begins",
            ));
        }
        let mut aligned = rkyv::util::AlignedVec::<16>::with_capacity(payload.len());
        aligned.extend_from_slice(&payload);
        drop(payload);
        let footer = rkyv::from_bytes::<Footer, rkyv::rancor::Error>(&aligned)
            .map_err(|e| corrupt(section, offset, format!("invalid footer data: {e}")))?;
        let chunks: Vec<ChunkInfo> = footer.chunks.iter().copied().map(ChunkInfo::from).collect();
        check_index(&chunks, data_start, offset, footer.record_count)
            .map_err(|reason| corrupt(section, offset, reason))?;
        if footer.record_count == 0 {
            return Err(corrupt(
                section,
                offset,
                "a finished trace holds at least its end record",
            ));
        }
        Ok(Index {
            chunks,
            record_count: footer.record_count,
            end: Some(footer.end),
            truncation: None,
        })
    }

    /// Rebuilds the index of an unfinished file by walking its chunk frames, verifying each one's
    /// checksums. Stops at the first frame that does not fit in the file: that is where the writer
    /// was killed. A complete frame that fails a check is damage, not truncation, and an error.
    fn scan(&mut self, data_start: u64) -> Result<Index> {
        let mut chunks: Vec<ChunkInfo> = Vec::new();
        let mut offset = data_start;
        let mut record_count = 0u64;
        let mut last_position = Position(0);
        loop {
            let section =
                Section::Chunk(ChunkIndex(u32::try_from(chunks.len()).unwrap_or(u32::MAX)));
            let frame = match self.read_frame_header(offset, section, Tag::Chunk, MAX_CHUNK_LEN) {
                Ok(frame) => frame,
                Err(Error::Truncated { .. }) => break,
                // The writer was killed while finishing: every chunk is complete, but the
                // footer or trailer is not. The records are all there; the end of run is not.
                Err(Error::Corrupt { .. }) if self.is_footer_frame(offset)? => {
                    break;
                }
                Err(error) => return Err(error),
            };
            self.read_payload(offset, &frame, section)?;
            if frame.first_record != record_count {
                return Err(corrupt(
                    section,
                    offset,
                    format!(
                        "chunk starts at record {} but {record_count} records precede it",
                        frame.first_record
                    ),
                ));
            }
            if Position(frame.first_position) < last_position {
                return Err(corrupt(
                    section,
                    offset,
                    "chunk starts before the previous chunk's position",
                ));
            }
            last_position = Position(frame.first_position);
            chunks.push(ChunkInfo {
                offset,
                stored_len: frame.stored_len,
                record_count: frame.record_count,
                first_record: RecordIndex(record_count),
                first_position: last_position,
            });
            record_count += u64::from(frame.record_count);
            offset += FRAME_HEADER_LEN + u64::from(frame.stored_len);
        }
        Ok(Index {
            chunks,
            record_count,
            end: None,
            truncation: Some(Truncation {
                records_recovered: record_count,
                valid_len: offset,
                file_len: self.file_len,
            }),
        })
    }

    /// Whether a well-formed footer frame header starts at `offset`.
    fn is_footer_frame(&mut self, offset: u64) -> Result<bool> {
        let mut bytes = [0; FRAME_HEADER_LEN as usize];
        self.read_exact_at(offset, &mut bytes)?;
        Ok(
            FrameHeader::decode(&bytes, Section::Footer, offset)
                .is_ok_and(|f| f.tag == Tag::Footer),
        )
    }
}

/// Bounds a frame's declared sizes before anything is allocated for them.
fn check_sizes(frame: &FrameHeader, section: Section, offset: u64, raw_limit: u32) -> Result<()> {
    let too_large = |declared: u32, limit: u32| Error::TooLarge {
        section,
        offset,
        declared: u64::from(declared),
        limit: u64::from(limit),
    };
    if frame.raw_len > raw_limit {
        return Err(too_large(frame.raw_len, raw_limit));
    }
    if frame.stored_len > max_stored_len(raw_limit) {
        return Err(too_large(frame.stored_len, max_stored_len(raw_limit)));
    }
    if frame.tag == Tag::Chunk && !(1..=MAX_RECORDS_PER_CHUNK).contains(&frame.record_count) {
        return Err(corrupt(
            section,
            offset,
            format!(
                "chunk declares {} records, outside 1..={MAX_RECORDS_PER_CHUNK}",
                frame.record_count
            ),
        ));
    }
    Ok(())
}

/// Checks that index entries tile the record area in order and number records consecutively.
fn check_index(
    chunks: &[ChunkInfo],
    data_start: u64,
    end: u64,
    record_count: u64,
) -> Result<(), String> {
    let mut offset = data_start;
    let mut next_record = 0u64;
    let mut position = Position(0);
    for (i, chunk) in chunks.iter().enumerate() {
        if chunk.offset != offset {
            return Err(format!(
                "index entry {i} points at offset {} but the previous chunk ends at {offset}",
                chunk.offset
            ));
        }
        if chunk.first_record.0 != next_record {
            return Err(format!(
                "index entry {i} starts at record {} instead of {next_record}",
                chunk.first_record
            ));
        }
        if !(1..=MAX_RECORDS_PER_CHUNK).contains(&chunk.record_count) {
            return Err(format!(
                "index entry {i} has {} records",
                chunk.record_count
            ));
        }
        if chunk.first_position < position {
            return Err(format!(
                "index entry {i} starts before the previous chunk's position"
            ));
        }
        position = chunk.first_position;
        next_record += u64::from(chunk.record_count);
        offset = offset
            .checked_add(FRAME_HEADER_LEN + u64::from(chunk.stored_len))
            .ok_or("index offsets overflow")?;
    }
    if offset != end {
        return Err(format!(
            "indexed chunks end at offset {offset} but the footer starts at {end}"
        ));
    }
    if next_record != record_count {
        return Err(format!(
            "index counts {next_record} records but the footer says {record_count}"
        ));
    }
    Ok(())
}

/// Decompresses a checked payload into an rkyv-aligned buffer of exactly `raw_len` bytes.
fn decompress(
    payload: &[u8],
    raw_len: u32,
    section: Section,
    offset: u64,
) -> Result<rkyv::util::AlignedVec<16>> {
    // `raw_len` was bounded by the section's limit; the buffer is exactly that big and zstd fails
    // rather than write past it.
    let mut raw = rkyv::util::AlignedVec::<16>::with_capacity(raw_len as usize);
    raw.resize(raw_len as usize, 0);
    let mut decompressor = zstd::bulk::Decompressor::new()?;
    let written = decompressor
        .decompress_to_buffer(payload, &mut raw[..])
        .map_err(|e| corrupt(section, offset, format!("zstd: {e}")))?;
    if written != raw_len as usize {
        return Err(corrupt(
            section,
            offset,
            format!("decompressed to {written} bytes but the frame says {raw_len}"),
        ));
    }
    Ok(raw)
}

fn corrupt(section: Section, offset: u64, reason: impl Into<String>) -> Error {
    Error::Corrupt {
        section,
        offset,
        reason: reason.into(),
    }
}
