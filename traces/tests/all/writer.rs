//! Writer behaviour: flushing on a timer, refusing bad input, reporting I/O errors.

use std::io::Write;
use std::time::Duration;

use deja_traces::{
    CallOutcome, Error, HostCall, ImportIndex, MemoryIndex, MemoryWrite, Position, Record,
    TraceReader, TraceWriter, WriterOptions,
};

use crate::{support, truncation::temp_path};

/// Records reach the file within the flush interval even when no more are pushed — what makes
/// a killed recorder of a hung guest lose nothing.
#[test]
fn records_reach_the_file_within_the_flush_interval() {
    let path = temp_path("interval");
    let mut writer = TraceWriter::create(
        &path,
        support::header(),
        support::MODULE,
        WriterOptions::default(),
    )
    .unwrap();
    let records = support::records(10, 2);
    for record in &records {
        writer.push(record.clone()).unwrap();
    }
    std::thread::sleep(Duration::from_millis(600));
    // The writer is still alive: the file has no footer yet, but has the records.
    let reader = TraceReader::open(&path).unwrap();
    assert!(reader.is_truncated());
    let read: Vec<Record> = reader.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(read, records);
    let end = support::end_after(&records);
    writer.finish(end.clone()).unwrap();
    let reader = TraceReader::open(&path).unwrap();
    assert!(!reader.is_truncated());
    assert_eq!(reader.end_of_run(), Some(&end));
    std::fs::remove_file(path).unwrap();
}

#[test]
fn positions_must_not_go_backward() {
    let mut writer = TraceWriter::new(
        Vec::new(),
        support::header(),
        support::MODULE,
        WriterOptions::default(),
    )
    .unwrap();
    writer
        .push(support::host_call(Position(10), 0, vec![]))
        .unwrap();
    writer
        .push(support::host_call(Position(10), 0, vec![]))
        .unwrap();
    let error = writer
        .push(support::host_call(Position(9), 0, vec![]))
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::PositionOutOfOrder {
                position: Position(9),
                previous: Position(10),
                ..
            }
        ),
        "{error}"
    );
    // The refused record was not counted; the writer goes on.
    assert_eq!(writer.record_count(), 2);
    writer
        .push(support::host_call(Position(11), 0, vec![]))
        .unwrap();
    let mut end = support::end_after(&[]);
    end.total_steps = Position(5);
    assert!(matches!(
        writer.finish(end),
        Err(Error::PositionOutOfOrder { .. })
    ));
}

#[test]
fn end_records_go_through_finish() {
    let mut writer = TraceWriter::new(
        Vec::new(),
        support::header(),
        support::MODULE,
        WriterOptions::default(),
    )
    .unwrap();
    let error = writer
        .push(Record::End(support::end_after(&[])))
        .unwrap_err();
    assert!(matches!(error, Error::InvalidInput(_)), "{error}");
}

#[test]
fn oversized_records_and_bad_options_are_refused() {
    let mut writer = TraceWriter::new(
        Vec::new(),
        support::header(),
        support::MODULE,
        WriterOptions::default(),
    )
    .unwrap();
    let huge = HostCall {
        position: Position(1),
        import: ImportIndex(2),
        args: vec![],
        results: vec![],
        memory_writes: vec![MemoryWrite {
            memory: MemoryIndex(0),
            address: 0,
            bytes: vec![0; (deja_traces::limits::MAX_CHUNK_LEN / 2) as usize + 1],
        }],
        outcome: CallOutcome::Returned,
    };
    assert!(matches!(
        writer.push(huge),
        Err(Error::RecordTooLarge { .. })
    ));

    for options in [
        WriterOptions {
            compression_level: 0,
            ..WriterOptions::default()
        },
        WriterOptions {
            compression_level: 22,
            ..WriterOptions::default()
        },
        WriterOptions {
            max_records_per_chunk: 0,
            ..WriterOptions::default()
        },
    ] {
        let result = TraceWriter::new(Vec::new(), support::header(), support::MODULE, options);
        assert!(matches!(result, Err(Error::InvalidInput(_))));
    }
}

/// A sink that fails once it has taken `budget` bytes, like a full disk.
#[derive(Debug)]
struct FullDisk {
    budget: usize,
}

impl Write for FullDisk {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() > self.budget {
            return Err(std::io::Error::other("no space left on device"));
        }
        self.budget -= buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn write_errors_reach_the_caller() {
    let mut writer = TraceWriter::new(
        FullDisk { budget: 4096 },
        support::header(),
        support::MODULE,
        support::small_chunks(),
    )
    .unwrap();
    let mut failure = None;
    for record in support::records(5000, 4) {
        if let Err(error) = writer.push(record) {
            failure = Some(error);
            break;
        }
    }
    let error = match failure {
        Some(error) => error,
        None => writer.finish(support::end_after(&[])).unwrap_err(),
    };
    assert!(error.to_string().contains("no space left"), "{error}");
}
