//! Damaged, foreign, empty and hostile files give errors that name what and where — never a
//! panic, never an unbounded allocation — and thousands of mutated traces prove it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use deja_traces::{ChunkIndex, Error, Record, RecordIndex, Section, exercise_reader};

use crate::support::{self, Rng};

fn trace() -> (Vec<u8>, Vec<Record>) {
    let records = support::records(150, 9);
    let end = support::end_after(&records);
    let bytes = support::write(&records, &end, support::small_chunks());
    (bytes, support::with_end(&records, &end))
}

fn corrupt_at(result: deja_traces::Result<impl std::fmt::Debug>) -> (Section, u64, String) {
    match result {
        Err(
            error @ Error::Corrupt {
                section, offset, ..
            },
        ) => (section, offset, error.to_string()),
        other => panic!("expected a corruption error, got {other:?}"),
    }
}

#[test]
fn empty_file_is_refused() {
    assert!(matches!(support::open(&[]), Err(Error::Empty)));
}

#[test]
fn foreign_files_are_refused() {
    for foreign in [
        &b"\0asm\x01\0\0\0"[..],
        b"hello, world\n this is a text file that is long enough",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
        b"x",
    ] {
        assert!(
            matches!(support::open(foreign), Err(Error::NotATrace)),
            "{foreign:?}"
        );
    }
    // A prefix of the magic is a truncated trace, not a foreign file.
    assert!(matches!(
        support::open(b"\x89DEJA"),
        Err(Error::Truncated { .. })
    ));
}

#[test]
fn damaged_header_names_the_header() {
    let (mut bytes, _) = trace();
    bytes[12 + 40 + 5] ^= 0x20;
    let (section, offset, message) = corrupt_at(support::open(&bytes));
    assert_eq!((section, offset), (Section::Header, 12));
    assert!(
        message.contains("header") && message.contains("offset 12"),
        "{message}"
    );
}

#[test]
fn damaged_module_names_the_module() {
    let (mut bytes, _) = trace();
    let module_offset = 12 + 40 + u32::from_le_bytes(bytes[16..20].try_into().unwrap()) as usize;
    bytes[module_offset + 40 + 3] ^= 1;
    let (section, offset, _) = corrupt_at(support::open(&bytes));
    assert_eq!((section, offset), (Section::Module, module_offset as u64));
}

#[test]
fn damaged_chunk_names_the_chunk_and_spares_the_others() {
    let (mut bytes, all) = trace();
    let reader = support::open(&bytes).unwrap();
    let chunks = reader.chunks().to_vec();
    let damaged = chunks[2];
    bytes[damaged.offset as usize + 40 + 10] ^= 0x80;

    // A finished file opens through its index without touching chunk payloads.
    let reader = support::open(&bytes).unwrap();
    let mut records = reader.records();
    let before = damaged.first_record.0 as usize;
    for expected in &all[..before] {
        assert_eq!(&records.next().unwrap().unwrap(), expected);
    }
    let error = records.next().unwrap().unwrap_err();
    assert!(
        matches!(error, Error::Corrupt { section: Section::Chunk(ChunkIndex(2)), offset, .. } if offset == damaged.offset),
        "{error}"
    );
    assert!(
        error.to_string().contains("chunk 2") && error.to_string().contains("checksum"),
        "{error}"
    );
    assert!(records.next().is_none(), "iteration stops after an error");

    // Chunks are independent: the ones after the damage still read.
    let after = chunks[3].first_record;
    assert_eq!(reader.read_record(after).unwrap(), all[after.0 as usize]);
    let rest: Vec<Record> = reader
        .records_from(after)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rest[..], all[after.0 as usize..]);
    assert!(reader.read_record(RecordIndex(before as u64)).is_err());
}

#[test]
fn damaged_chunk_in_an_unfinished_trace_is_an_error_not_a_truncation() {
    let (bytes, _) = trace();
    let reader = support::open(&bytes).unwrap();
    let chunk = reader.chunks()[1];
    let footer_start = {
        let last = reader.chunks().last().unwrap();
        (last.offset + 40 + u64::from(last.stored_len)) as usize
    };
    let mut unfinished = bytes[..footer_start].to_vec();
    unfinished[chunk.offset as usize + 40 + 1] ^= 4;
    let (section, offset, _) = corrupt_at(support::open(&unfinished));
    assert_eq!(
        (section, offset),
        (Section::Chunk(ChunkIndex(1)), chunk.offset)
    );
}

#[test]
fn damaged_footer_and_trailer_are_named() {
    let (bytes, _) = trace();
    let len = bytes.len();
    let mut footer = bytes.clone();
    footer[len - 20 - 8] ^= 1;
    let (section, _, _) = corrupt_at(support::open(&footer));
    assert_eq!(section, Section::Footer);

    let mut trailer = bytes.clone();
    trailer[len - 20] ^= 1; // the footer offset
    let (section, offset, _) = corrupt_at(support::open(&trailer));
    assert_eq!((section, offset), (Section::Trailer, len as u64 - 20));
}

/// A frame header with a valid checksum that declares a huge payload must be refused from the
/// header alone, before anything is allocated.
#[test]
fn huge_declared_sizes_are_refused_before_allocation() {
    let (bytes, _) = trace();
    let reader = support::open(&bytes).unwrap();
    let chunk = reader.chunks()[0].offset as usize;
    for (field, value) in [(4usize, u32::MAX), (8, u32::MAX), (12, u32::MAX)] {
        let mut forged = bytes[..chunk + 40].to_vec(); // an unfinished file: the reader scans
        forged[chunk + field..chunk + field + 4].copy_from_slice(&value.to_le_bytes());
        let crc = crc32(&forged[chunk..chunk + 36]);
        forged[chunk + 36..chunk + 40].copy_from_slice(&crc.to_le_bytes());
        let start = Instant::now();
        let result = support::open(&forged);
        assert!(
            matches!(
                result,
                Err(Error::TooLarge {
                    section: Section::Chunk(ChunkIndex(0)),
                    ..
                }) | Err(Error::Corrupt { .. })
            ),
            "field {field}: {result:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}

/// Thousands of mutants of a valid trace — bit flips, byte overwrites, truncations at every chunk
/// boundary and at random offsets, duplicated, swapped, dropped and foreign chunks, in finished
/// and unfinished files. The reader must return an error or valid records, never panic, and
/// finish each quickly. Mutants of one trace that read without error must read a prefix of its
/// records: the checksums leave no way to change a record unnoticed.
#[test]
fn mutated_traces_give_errors_or_valid_records() {
    let (bytes, all) = trace();
    let reader = support::open(&bytes).unwrap();
    let chunks: Vec<(usize, usize)> = reader
        .chunks()
        .iter()
        .map(|c| {
            (
                c.offset as usize,
                c.offset as usize + 40 + c.stored_len as usize,
            )
        })
        .collect();
    let data_start = chunks[0].0;
    let footer_start = chunks.last().unwrap().1;
    let unfinished = bytes[..footer_start].to_vec();
    let other = {
        let records = support::records(150, 1234);
        support::write(
            &records,
            &support::end_after(&records),
            support::small_chunks(),
        )
    };
    let other_chunks: Vec<(usize, usize)> = support::open(&other)
        .unwrap()
        .chunks()
        .iter()
        .map(|c| {
            (
                c.offset as usize,
                c.offset as usize + 40 + c.stored_len as usize,
            )
        })
        .collect();

    let mut rng = Rng(0xde7a_5eed);
    let mut mutants: Vec<(String, Vec<u8>, bool)> = Vec::new();
    for base in [&bytes, &unfinished] {
        let kind = if base.len() == bytes.len() {
            "finished"
        } else {
            "unfinished"
        };
        for _ in 0..1500 {
            let mut m = base.clone();
            let at = rng.below(m.len() as u64) as usize;
            m[at] ^= 1 << rng.below(8);
            mutants.push((format!("{kind}: bit flip at {at}"), m, true));
        }
        for _ in 0..300 {
            let mut m = base.clone();
            let at = rng.below(m.len() as u64) as usize;
            let len = 1 + rng.below(16) as usize;
            for byte in m.iter_mut().skip(at).take(len) {
                *byte = rng.next_u64() as u8;
            }
            mutants.push((format!("{kind}: {len} random bytes at {at}"), m, true));
        }
        for &(start, end) in &chunks {
            for cut in [
                start,
                start + 1,
                start + 39,
                start + 40,
                end - 1,
                end,
                end + 1,
            ] {
                if cut <= base.len() {
                    mutants.push((format!("{kind}: cut at {cut}"), base[..cut].to_vec(), true));
                }
            }
        }
        for _ in 0..200 {
            let cut = rng.below(base.len() as u64) as usize;
            mutants.push((format!("{kind}: cut at {cut}"), base[..cut].to_vec(), true));
        }
        let tail = &base[footer_start.min(base.len())..];
        let rebuild = |order: &[(usize, usize)]| {
            let mut m = base[..data_start].to_vec();
            for &(s, e) in order {
                m.extend_from_slice(&base[s..e]);
            }
            m.extend_from_slice(tail);
            m
        };
        for i in 0..chunks.len() {
            let mut dup = chunks.clone();
            dup.insert(i, chunks[i]);
            mutants.push((format!("{kind}: chunk {i} duplicated"), rebuild(&dup), true));
            let mut dropped = chunks.clone();
            dropped.remove(i);
            mutants.push((
                format!("{kind}: chunk {i} dropped"),
                rebuild(&dropped),
                true,
            ));
            let j = rng.below(chunks.len() as u64) as usize;
            let mut swapped = chunks.clone();
            swapped.swap(i, j);
            mutants.push((
                format!("{kind}: chunks {i} and {j} swapped"),
                rebuild(&swapped),
                true,
            ));
            // A chunk of another trace put in place of this one: valid on its own.
            let (os, oe) = other_chunks[i.min(other_chunks.len() - 1)];
            let mut m = base[..chunks[i].0].to_vec();
            m.extend_from_slice(&other[os..oe]);
            m.extend_from_slice(&base[chunks[i].1.min(base.len())..]);
            mutants.push((format!("{kind}: chunk {i} from another trace"), m, false));
        }
    }
    assert!(mutants.len() > 4000, "{} mutants", mutants.len());

    let mut outcomes = [0usize; 2];
    for (what, mutant, same_trace) in &mutants {
        let start = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| exercise_reader(mutant)))
            .unwrap_or_else(|_| panic!("the reader panicked on mutant `{what}`"));
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "mutant `{what}` took {:?}",
            start.elapsed()
        );
        match result {
            Ok(count) => {
                outcomes[0] += 1;
                if *same_trace {
                    let read = support::read_all(mutant).unwrap();
                    assert_eq!(read.len() as u64, count);
                    assert_eq!(
                        read[..],
                        all[..read.len()],
                        "mutant `{what}` read other records"
                    );
                }
            }
            Err(error) => {
                outcomes[1] += 1;
                assert!(!error.to_string().is_empty());
                assert!(
                    !matches!(error, Error::Internal(_)),
                    "mutant `{what}`: {error}"
                );
            }
        }
    }
    // Both outcomes must occur, or the mutants are not testing what they claim.
    assert!(
        outcomes[0] > 100 && outcomes[1] > 1000,
        "ok/err: {outcomes:?}"
    );
}

fn crc32(bytes: &[u8]) -> u32 {
    // Bitwise CRC-32 (IEEE), independent of the crate's implementation.
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
