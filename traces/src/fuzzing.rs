//! The reader exercise shared by the fuzz target, the mutation test and the corpus test.
//!
//! It lives in the library (hidden from docs) so that all three drive the reader identically and
//! the invariants checked here are compiled and tested by `cargo test` even where cargo-fuzz
//! cannot run.

use std::io::Cursor;

use crate::{Error, Position, Record, RecordIndex, TraceReader};

/// Opens `bytes` as a trace and reads everything in it through every access path, asserting the
/// reader's invariants. Returns the number of records read, or the first error.
///
/// # Panics
/// When the reader breaks an invariant (the point: the fuzzer reports panics): a record iterator
/// that disagrees with random access, positions out of order, a count that does not add up.
#[doc(hidden)]
pub fn exercise_reader(bytes: &[u8]) -> Result<u64, Error> {
    let reader = TraceReader::new(Cursor::new(bytes))?;
    let _ = reader.summary();
    let _ = reader.module_bytes();

    let mut records: Vec<Record> = Vec::new();
    for record in reader.records() {
        records.push(record?);
    }
    assert_eq!(
        records.len() as u64,
        reader.record_count(),
        "iteration count differs from index"
    );
    assert!(
        records
            .windows(2)
            .all(|w| w[0].position() <= w[1].position()),
        "positions out of order"
    );
    for (i, record) in records.iter().enumerate() {
        let is_last = i + 1 == records.len();
        assert!(
            !matches!(record, Record::End(_)) || is_last,
            "end record before the end"
        );
    }
    if let Some(end) = reader.end_of_run() {
        assert_eq!(
            records.last(),
            Some(&Record::End(end.clone())),
            "footer end differs from last record"
        );
    }

    // Random access must agree with iteration; probe a few places.
    let count = records.len();
    for k in [0, count / 3, count / 2, count.saturating_sub(1)] {
        if k < count {
            assert_eq!(
                reader.read_record(RecordIndex(k as u64))?,
                records[k],
                "read_record({k})"
            );
            let from: Vec<Record> = reader
                .records_from(RecordIndex(k as u64))?
                .take(2)
                .collect::<Result<_, _>>()?;
            assert_eq!(
                from[..],
                records[k..(k + 2).min(count)],
                "records_from({k})"
            );
            let position = records[k].position();
            let first = records
                .iter()
                .position(|r| r.position() >= position)
                .unwrap_or(count);
            let at: Vec<Record> = reader
                .records_from_position(position)
                .take(1)
                .collect::<Result<_, _>>()?;
            assert_eq!(
                at[..],
                records[first..(first + 1).min(count)],
                "records_from_position({position})"
            );
        }
    }
    let beyond = records
        .last()
        .map_or(Position(0), |r| Position(r.position().0.saturating_add(1)));
    assert_eq!(
        reader.records_from_position(beyond).count(),
        0,
        "records past the end"
    );
    Ok(count as u64)
}
