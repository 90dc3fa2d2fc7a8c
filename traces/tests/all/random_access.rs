//! Random access: record K and position P are found through the index and decode only the
//! chunks that hold them.

use std::io::{Cursor, Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};

use deja_traces::{Error, Position, Record, RecordIndex, TraceReader};

use crate::support;

/// A source that logs the byte ranges read, to prove which chunks an access touched.
struct Logged {
    inner: Cursor<Vec<u8>>,
    reads: Arc<Mutex<Vec<(u64, u64)>>>,
}

impl Read for Logged {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let at = self.inner.position();
        let n = self.inner.read(buf)?;
        self.reads.lock().unwrap().push((at, at + n as u64));
        Ok(n)
    }
}

impl Seek for Logged {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

fn big_trace() -> (Vec<u8>, Vec<Record>) {
    let records = support::records(3000, 21);
    let end = support::end_after(&records);
    let bytes = support::write(&records, &end, support::small_chunks());
    (bytes, support::with_end(&records, &end))
}

#[test]
fn read_record_and_records_from_touch_only_their_chunks() {
    let (bytes, all) = big_trace();
    let reads = Arc::new(Mutex::new(Vec::new()));
    let reader = TraceReader::new(Logged {
        inner: Cursor::new(bytes),
        reads: Arc::clone(&reads),
    })
    .unwrap();
    let chunks = reader.chunks().to_vec();
    assert!(chunks.len() > 50, "{} chunks", chunks.len());
    let range = |i: usize| {
        (
            chunks[i].offset,
            chunks[i].offset + 40 + u64::from(chunks[i].stored_len),
        )
    };

    for i in [0, 1, chunks.len() / 2, chunks.len() - 1] {
        let k = chunks[i].first_record.0 + u64::from(chunks[i].record_count) / 2;
        reads.lock().unwrap().clear();
        assert_eq!(reader.read_record(RecordIndex(k)).unwrap(), all[k as usize]);
        let (start, end) = range(i);
        for &(a, b) in reads.lock().unwrap().iter() {
            assert!(
                a >= start && b <= end,
                "read_record({k}) read {a}..{b} outside chunk {i}"
            );
        }

        reads.lock().unwrap().clear();
        let got: Vec<Record> = reader
            .records_from(RecordIndex(k))
            .unwrap()
            .take(1)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got, vec![all[k as usize].clone()]);
        for &(a, b) in reads.lock().unwrap().iter() {
            assert!(
                a >= start && b <= end,
                "records_from({k}) read {a}..{b} outside chunk {i}"
            );
        }

        // Position lookups read at most the chunk before (for its tail) and the chunk itself.
        let p = all[k as usize].position();
        reads.lock().unwrap().clear();
        let got = reader.records_from_position(p).next().unwrap().unwrap();
        let first = all.iter().find(|r| r.position() >= p).unwrap();
        assert_eq!(&got, first);
        let allowed = (range(i.saturating_sub(1)).0, range(i).1);
        let touched = reads.lock().unwrap().clone();
        for (a, b) in touched {
            assert!(
                a >= allowed.0 && b <= allowed.1,
                "records_from_position({p}) read {a}..{b}"
            );
        }
    }
}

#[test]
fn records_from_every_k_matches_the_stream() {
    let (bytes, all) = big_trace();
    let reader = support::open(&bytes).unwrap();
    for k in (0..=all.len()).step_by(7).chain([all.len() - 1, all.len()]) {
        let from: Vec<Record> = reader
            .records_from(RecordIndex(k as u64))
            .unwrap()
            .take(3)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            from[..],
            all[k..(k + 3).min(all.len())],
            "records_from({k})"
        );
        if k < all.len() {
            assert_eq!(reader.read_record(RecordIndex(k as u64)).unwrap(), all[k]);
        }
    }
    assert!(matches!(
        reader.records_from(RecordIndex(all.len() as u64 + 1)),
        Err(Error::RecordOutOfRange { .. })
    ));
    assert!(matches!(
        reader.read_record(RecordIndex(all.len() as u64)),
        Err(Error::RecordOutOfRange { .. })
    ));
}

#[test]
fn records_from_position_finds_the_first_record_at_or_after_it() {
    let (bytes, all) = big_trace();
    let reader = support::open(&bytes).unwrap();
    let last = all.last().unwrap().position().0;
    let mut probes: Vec<u64> = all.iter().step_by(13).map(|r| r.position().0).collect();
    probes.extend(all.iter().step_by(17).map(|r| r.position().0 + 1));
    // The first positions of chunks, where several chunks may start at the same position.
    probes.extend(reader.chunks().iter().map(|c| c.first_position.0));
    probes.extend([0, last, last + 1, u64::MAX]);
    for p in probes {
        let expected: Vec<&Record> = all.iter().filter(|r| r.position().0 >= p).take(4).collect();
        let got: Vec<Record> = reader
            .records_from_position(Position(p))
            .take(4)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            got.iter().collect::<Vec<_>>(),
            expected,
            "records_from_position({p})"
        );
    }
}

/// Many records at one position, spanning several chunks, must all be found from that position.
#[test]
fn equal_positions_across_chunk_boundaries() {
    let records: Vec<Record> = (0..400)
        .map(|i| {
            support::host_call(
                Position(if i < 100 { i } else { 100 }),
                0,
                vec![i as u8; 30],
            )
        })
        .collect();
    let end = support::end_after(&records);
    let bytes = support::write(&records, &end, support::small_chunks());
    let reader = support::open(&bytes).unwrap();
    let starting_at_100 = reader
        .chunks()
        .iter()
        .filter(|c| c.first_position == Position(100))
        .count();
    assert!(
        starting_at_100 >= 2,
        "several chunks must start at position 100"
    );
    let got: Vec<Record> = reader
        .records_from_position(Position(100))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(got[..], support::with_end(&records, &end)[100..]);
}
