//! The streaming trace writer.
//!
//! `push` only appends the record to an in-memory batch; a background thread compresses and
//! writes batches. The thread also owns the clock: it writes out whatever batch has waited half
//! the flush interval, so records reach the file within the interval even while the guest computes
//! for minutes without a host call — which is exactly when a user kills a hung recorder.
//!
//! Memory stays bounded: one batch being filled, at most [`MAX_QUEUED_BATCHES`] waiting (the
//! caller blocks when the queue is full), one being compressed, and the chunk index (a few dozen
//! bytes per chunk).
//!
//! All batch hand-over happens under one mutex, in order, so chunks are written in record order
//! whether a batch was cut because it was full, because it was old, or because the run ended.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::footer::{ChunkEntry, Footer};
use crate::frame::{self, FRAME_HEADER_LEN, FrameHeader, PRELUDE_LEN, Tag};
use crate::limits::{MAX_CHUNK_LEN, MAX_HEADER_LEN, MAX_MODULE_LEN, MAX_RECORDS_PER_CHUNK};
use crate::version::{FORMAT_VERSION, FormatVersion};
use crate::{EndOfRun, Header, Position, Record, RecordIndex};

/// Batches cut but not yet written before `push` waits.
const MAX_QUEUED_BATCHES: usize = 2;

/// zstd level used unless the caller picks another; chosen by the measurements in
/// `traces/BENCHMARKS-traces.md`.
pub const DEFAULT_COMPRESSION_LEVEL: i32 = 1;

/// How a [`TraceWriter`] cuts and compresses chunks.
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// zstd level, 1..=19. Levels above 19 need more decoder memory than readers allow.
    pub compression_level: i32,
    /// A chunk is cut once its records' estimated size reaches this many bytes.
    pub chunk_target_bytes: usize,
    /// A chunk is cut once it holds this many records.
    pub max_records_per_chunk: u32,
    /// Longest time a pushed record waits before it is written to the file.
    pub flush_interval: Duration,
    /// Version stamped in the file. Only tests of the version rules change it.
    #[doc(hidden)]
    pub format_version: FormatVersion,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            compression_level: DEFAULT_COMPRESSION_LEVEL,
            // 1 MiB: large enough that zstd finds the repetition between similar host calls,
            // small enough that random access decompresses little.
            chunk_target_bytes: 1 << 20,
            max_records_per_chunk: 1 << 16,
            flush_interval: Duration::from_millis(250),
            format_version: FORMAT_VERSION,
        }
    }
}

/// Writes a trace: header and module at creation, then records as they are pushed, then the
/// index footer on [`finish`](Self::finish).
///
/// Dropping a writer without finishing writes the records pushed so far and no footer; the file
/// then opens as truncated.
pub struct TraceWriter<W: Write + Send + 'static> {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<Result<W>>>,
    next_record: u64,
    last_position: Position,
    options: WriterOptions,
}

impl<W: Write + Send + 'static> std::fmt::Debug for TraceWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceWriter")
            .field("next_record", &self.next_record)
            .field("last_position", &self.last_position)
            .finish_non_exhaustive()
    }
}

/// State shared with the worker thread.
struct Shared {
    state: Mutex<State>,
    /// Signalled when the worker has something to do.
    work: Condvar,
    /// Signalled when the worker took a batch off the queue.
    space: Condvar,
}

struct State {
    /// Records pushed but not yet cut into a batch.
    pending: Vec<Record>,
    /// Estimated archived size of `pending`.
    pending_bytes: usize,
    /// When the first record of `pending` was pushed.
    pending_since: Option<Instant>,
    /// Batches cut and waiting for the worker, oldest first.
    queue: VecDeque<Vec<Record>>,
    /// Set when the writer is finishing (with the end of run) or being dropped (without).
    closing: Option<Closing>,
    /// Set by the worker when it stopped on an error.
    failed: bool,
}

enum Closing {
    Finish(EndOfRun),
    Abandon,
}

impl TraceWriter<File> {
    /// Creates (or truncates) the file at `path` and writes the header and module.
    ///
    /// # Errors
    /// I/O errors, a header too large to serialize, a module over the size limit, bad options.
    pub fn create(
        path: impl AsRef<Path>,
        header: Header,
        module: &[u8],
        options: WriterOptions,
    ) -> Result<Self> {
        Self::new(File::create(path)?, header, module, options)
    }
}

impl<W: Write + Send + 'static> TraceWriter<W> {
    /// Writes the prelude, `header` and `module` to `sink` and starts the writer thread.
    ///
    /// `header.module` is filled in from `module`.
    ///
    /// # Errors
    /// I/O errors, a header too large to serialize, a module over the size limit, bad options.
    pub fn new(
        mut sink: W,
        mut header: Header,
        module: &[u8],
        options: WriterOptions,
    ) -> Result<Self> {
        if !(1..=19).contains(&options.compression_level) {
            return Err(Error::InvalidInput(format!(
                "compression level {} is outside 1..=19",
                options.compression_level
            )));
        }
        if options.max_records_per_chunk == 0
            || options.max_records_per_chunk > MAX_RECORDS_PER_CHUNK
        {
            return Err(Error::InvalidInput(format!(
                "max_records_per_chunk {} is outside 1..={MAX_RECORDS_PER_CHUNK}",
                options.max_records_per_chunk
            )));
        }
        let module_len = u32::try_from(module.len())
            .ok()
            .filter(|&len| len <= MAX_MODULE_LEN)
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "module is {} bytes, more than the limit of {MAX_MODULE_LEN}",
                    module.len()
                ))
            })?;
        header.module.size = module.len() as u64;
        header.module.sha256 = Sha256::digest(module)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let header_json =
            serde_json::to_vec(&header).map_err(|e| Error::InvalidInput(format!("header: {e}")))?;
        let header_len = u32::try_from(header_json.len())
            .ok()
            .filter(|&len| len <= MAX_HEADER_LEN)
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "header is {} bytes of JSON, more than the limit of {MAX_HEADER_LEN}",
                    header_json.len()
                ))
            })?;
        let compressed_module = zstd::bulk::compress(module, options.compression_level)?;

        let mut start = Vec::with_capacity(
            PRELUDE_LEN as usize + 2 * FRAME_HEADER_LEN as usize + header_json.len(),
        );
        start.extend_from_slice(&frame::encode_prelude(options.format_version));
        start.extend_from_slice(
            &FrameHeader::for_payload(Tag::Header, &header_json, header_len)?.encode(),
        );
        start.extend_from_slice(&header_json);
        start.extend_from_slice(
            &FrameHeader::for_payload(Tag::Module, &compressed_module, module_len)?.encode(),
        );
        sink.write_all(&start)?;
        sink.write_all(&compressed_module)?;
        sink.flush()?;
        let offset = (start.len() + compressed_module.len()) as u64;

        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                pending: Vec::new(),
                pending_bytes: 0,
                pending_since: None,
                queue: VecDeque::new(),
                closing: None,
                failed: false,
            }),
            work: Condvar::new(),
            space: Condvar::new(),
        });
        let worker = Worker {
            shared: Arc::clone(&shared),
            sink,
            offset,
            next_record: 0,
            chunks: Vec::new(),
            compressor: zstd::bulk::Compressor::new(options.compression_level)?,
            tick: options.flush_interval / 2,
        };
        let worker = std::thread::Builder::new()
            .name("deja-trace-writer".into())
            .spawn(move || worker.run())?;
        Ok(TraceWriter {
            shared,
            worker: Some(worker),
            next_record: 0,
            last_position: Position(0),
            options,
        })
    }

    /// Appends a record to the trace and returns its number.
    ///
    /// Blocks only when the writer thread is two chunks behind.
    ///
    /// # Errors
    /// A record whose position is before the previous record's, a record too large for a chunk,
    /// a [`Record::End`] (use [`finish`](Self::finish)), or an earlier write error.
    pub fn push(&mut self, record: impl Into<Record>) -> Result<RecordIndex> {
        let record = record.into();
        if matches!(record, Record::End(_)) {
            return Err(Error::InvalidInput(
                "the end of the run is written by TraceWriter::finish, not push".into(),
            ));
        }
        self.push_record(record)
    }

    fn push_record(&mut self, record: Record) -> Result<RecordIndex> {
        let index = RecordIndex(self.next_record);
        let position = record.position();
        if position < self.last_position {
            return Err(Error::PositionOutOfOrder {
                record: index,
                position,
                previous: self.last_position,
            });
        }
        let size = record.estimated_size();
        // Half the chunk limit leaves room for rkyv's per-chunk overhead and padding.
        let limit = MAX_CHUNK_LEN as usize / 2;
        if size > limit {
            return Err(Error::RecordTooLarge {
                record: index,
                size: size as u64,
                limit: limit as u64,
            });
        }
        let mut state = self.lock();
        if state.failed {
            drop(state);
            return Err(self.worker_error());
        }
        if state.pending.is_empty() {
            state.pending_since = Some(Instant::now());
        }
        state.pending.push(record);
        state.pending_bytes += size;
        if state.pending_bytes >= self.options.chunk_target_bytes
            || state.pending.len() >= self.options.max_records_per_chunk as usize
        {
            while state.queue.len() >= MAX_QUEUED_BATCHES && !state.failed {
                state = self
                    .shared
                    .space
                    .wait(state)
                    .unwrap_or_else(|e| e.into_inner());
            }
            if state.failed {
                drop(state);
                return Err(self.worker_error());
            }
            cut_batch(&mut state);
            self.shared.work.notify_one();
        }
        drop(state);
        self.next_record += 1;
        self.last_position = position;
        Ok(index)
    }

    /// Records pushed so far.
    pub fn record_count(&self) -> u64 {
        self.next_record
    }

    /// Appends the end of the run as the last record, writes every chunk, the index footer and
    /// the trailer, and returns the sink.
    ///
    /// # Errors
    /// An end whose position is before the last record's, or any write error.
    pub fn finish(mut self, end: EndOfRun) -> Result<W> {
        self.push_record(Record::End(end.clone()))?;
        self.close(Closing::Finish(end))
    }

    fn close(&mut self, closing: Closing) -> Result<W> {
        let Some(worker) = self.worker.take() else {
            return Err(Error::WriterStopped);
        };
        {
            let mut state = self.lock();
            state.closing = Some(closing);
            self.shared.work.notify_one();
        }
        worker
            .join()
            .map_err(|_| Error::Internal("the trace writer thread panicked".into()))?
    }

    /// Takes the worker's error once; later calls report that the writer stopped.
    fn worker_error(&mut self) -> Error {
        match self.worker.take().map(JoinHandle::join) {
            Some(Ok(Err(error))) => error,
            Some(Err(_)) => Error::Internal("the trace writer thread panicked".into()),
            Some(Ok(Ok(_))) | None => Error::WriterStopped,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.shared)
    }
}

impl<W: Write + Send + 'static> Drop for TraceWriter<W> {
    /// Writes the records pushed so far, without a footer: the file opens as truncated.
    fn drop(&mut self) {
        if self.worker.is_some() {
            // Nothing to report an error to; what was written stays readable.
            let _ = self.close(Closing::Abandon);
        }
    }
}

/// Locks the state even if the other side panicked while holding it: the state is a queue of
/// records, still consistent, and writing it out is the best a crashing recorder can do.
fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.state.lock().unwrap_or_else(|e| e.into_inner())
}

fn cut_batch(state: &mut State) {
    let batch = std::mem::take(&mut state.pending);
    state.pending_bytes = 0;
    state.pending_since = None;
    if !batch.is_empty() {
        state.queue.push_back(batch);
    }
}

/// The writer thread: compresses and writes batches, then the footer.
struct Worker<W> {
    shared: Arc<Shared>,
    sink: W,
    /// File offset of the next frame.
    offset: u64,
    next_record: u64,
    chunks: Vec<ChunkEntry>,
    compressor: zstd::bulk::Compressor<'static>,
    tick: Duration,
}

impl<W: Write> Worker<W> {
    fn run(mut self) -> Result<W> {
        let result = self.run_loop();
        if result.is_err() {
            lock(&self.shared).failed = true;
            self.shared.space.notify_all();
        }
        result.map(|()| self.sink)
    }

    fn run_loop(&mut self) -> Result<()> {
        loop {
            let (batch, closing) = self.next_batch();
            if let Some(batch) = batch {
                self.write_chunk(batch)?;
                continue;
            }
            self.sink.flush()?;
            if let Some(Closing::Finish(end)) = closing {
                self.write_footer(end)?;
            }
            return Ok(());
        }
    }

    /// Waits for the next batch to write; `None` once closing and everything is written.
    fn next_batch(&self) -> (Option<Vec<Record>>, Option<Closing>) {
        let mut state = lock(&self.shared);
        loop {
            if let Some(batch) = state.queue.pop_front() {
                self.shared.space.notify_all();
                return (Some(batch), None);
            }
            let age = state.pending_since.map(|since| since.elapsed());
            if state.closing.is_some() || age.is_some_and(|age| age >= self.tick) {
                cut_batch(&mut state);
                if let Some(batch) = state.queue.pop_front() {
                    return (Some(batch), None);
                }
                if let Some(closing) = state.closing.take() {
                    return (None, Some(closing));
                }
                continue;
            }
            let wait = age.map_or(self.tick, |age| self.tick.saturating_sub(age));
            state = self
                .shared
                .work
                .wait_timeout(state, wait.max(Duration::from_millis(1)))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn write_chunk(&mut self, batch: Vec<Record>) -> Result<()> {
        let first_position = batch.first().map_or(Position(0), Record::position);
        let record_count = u32::try_from(batch.len())
            .map_err(|_| Error::Internal("chunk over 4 billion records".into()))?;
        let raw = rkyv::to_bytes::<rkyv::rancor::Error>(&batch)
            .map_err(|e| Error::Internal(format!("archiving records: {e}")))?;
        drop(batch);
        let raw_len = u32::try_from(raw.len())
            .ok()
            .filter(|&len| len <= MAX_CHUNK_LEN)
            .ok_or_else(|| {
                Error::Internal(format!(
                    "chunk of {} bytes exceeds the chunk limit despite the size estimate",
                    raw.len()
                ))
            })?;
        let payload = self.compressor.compress(&raw)?;
        let mut header = FrameHeader::for_payload(Tag::Chunk, &payload, raw_len)?;
        header.record_count = record_count;
        header.first_record = self.next_record;
        header.first_position = first_position.0;
        self.chunks.push(ChunkEntry {
            offset: self.offset,
            stored_len: header.stored_len,
            record_count,
            first_record: RecordIndex(self.next_record),
            first_position,
        });
        self.write_frame(&header, &payload)?;
        self.next_record += u64::from(record_count);
        Ok(())
    }

    fn write_footer(&mut self, end: EndOfRun) -> Result<()> {
        let footer_offset = self.offset;
        let footer = Footer {
            end,
            record_count: self.next_record,
            chunks: std::mem::take(&mut self.chunks),
        };
        let payload = rkyv::to_bytes::<rkyv::rancor::Error>(&footer)
            .map_err(|e| Error::Internal(format!("archiving the footer: {e}")))?;
        let raw_len = u32::try_from(payload.len())
            .map_err(|_| Error::Internal("footer over 4 GiB".into()))?;
        let header = FrameHeader::for_payload(Tag::Footer, &payload, raw_len)?;
        self.write_frame(&header, &payload)?;
        self.sink.write_all(&frame::encode_trailer(footer_offset))?;
        self.sink.flush()?;
        Ok(())
    }

    /// Writes header and payload with one `write_all`, so a killed process leaves a prefix.
    fn write_frame(&mut self, header: &FrameHeader, payload: &[u8]) -> Result<()> {
        let mut bytes = Vec::with_capacity(FRAME_HEADER_LEN as usize + payload.len());
        bytes.extend_from_slice(&header.encode());
        bytes.extend_from_slice(payload);
        self.sink.write_all(&bytes)?;
        self.sink.flush()?;
        self.offset += bytes.len() as u64;
        Ok(())
    }
}
