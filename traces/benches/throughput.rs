//! Trace write and read throughput on a realistic record mix, at several zstd levels.
//!
//! Run: `CARGO_TARGET_DIR=/work/target-traces cargo bench -j1 -p deja-traces --bench throughput`
//! (set `DEJA_BENCH_RECORDS` to change the record count, default 1,000,000).
//!
//! The mix is what WASI guests do: mostly `clock_time_get` (one 8-byte write of a timestamp),
//! many `random_get` (16–32 incompressible bytes), and a few `fd_read` of 4–64 KiB of file
//! contents (text-like, so compressible as real files are).

use std::io::Cursor;
use std::time::{Duration, Instant};

use deja_traces::{
    CallOutcome, EndOfRun, Header, HostCall, Import, ImportIndex, MemoryIndex, MemoryWrite,
    Position, Record, RecordIndex, RunOutcome, Signature, TraceReader, TraceWriter, ValType, Value,
    WriterOptions,
};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: &[&str] = &[
    "the",
    "request",
    "id",
    "user",
    "status",
    "ok",
    "error",
    "timeout",
    "=",
    "{",
    "}",
    "\n",
    "value",
    "count",
    "2026-11-21T11:45:00Z",
    "INFO",
    "WARN",
    "path",
    "/var/data",
    "retry",
];

fn header() -> Header {
    let mut header = Header::new("deja bench");
    for name in ["clock_time_get", "random_get", "fd_read"] {
        header.imports.push(Import {
            module: "wasi_snapshot_preview1".into(),
            name: name.into(),
            signature: Signature {
                params: vec![ValType::I32; 4],
                results: vec![ValType::I32],
            },
        });
    }
    header
}

/// The record mix, and the number of guest-visible bytes (memory writes) it carries.
fn mix(count: usize) -> (Vec<Record>, u64) {
    let mut rng = Rng(1);
    let mut position = 0u64;
    let mut clock = 1_700_000_000_000_000_000u64;
    let mut payload = 0u64;
    let records = (0..count)
        .map(|_| {
            position += 100 + rng.below(5000);
            let roll = rng.below(1000);
            let (import, args, bytes) = if roll < 1 {
                // fd_read: 4..64 KiB of text-like file contents.
                let len = 4096 + rng.below(60 * 1024) as usize;
                let mut text = Vec::with_capacity(len + 32);
                while text.len() < len {
                    text.extend_from_slice(
                        WORDS[rng.below(WORDS.len() as u64) as usize].as_bytes(),
                    );
                    text.push(b' ');
                }
                text.truncate(len);
                (
                    2,
                    vec![
                        Value::I32(3),
                        Value::I32(1024),
                        Value::I32(1),
                        Value::I32(2048),
                    ],
                    text,
                )
            } else if roll < 300 {
                let len = 16 + rng.below(17) as usize;
                let bytes = (0..len).map(|_| rng.next() as u8).collect();
                (1, vec![Value::I32(4096), Value::I32(len as u32)], bytes)
            } else {
                clock += 1_000 + rng.below(50_000);
                (
                    0,
                    vec![Value::I32(1), Value::I64(1), Value::I32(8192)],
                    clock.to_le_bytes().to_vec(),
                )
            };
            payload += bytes.len() as u64;
            Record::HostCall(HostCall {
                position: Position(position),
                import: ImportIndex(import),
                args,
                results: vec![Value::I32(0)],
                memory_writes: vec![MemoryWrite {
                    memory: MemoryIndex(0),
                    address: 8192,
                    bytes,
                }],
                outcome: CallOutcome::Returned,
            })
        })
        .collect();
    (records, payload)
}

fn main() {
    // `cargo test --benches` runs this with `--bench`-less arguments; keep that quick.
    let quick = std::env::args().any(|a| a == "--test");
    let count: usize = std::env::var("DEJA_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 10_000 } else { 1_000_000 });
    let (records, payload) = mix(count);
    let module = vec![0u8; 64 * 1024];
    println!(
        "{count} records, {:.1} MB of memory-write payload",
        payload as f64 / 1e6
    );
    println!();
    println!(
        "| zstd level | write records/s | write payload MB/s | read records/s | read payload MB/s | file MB | bytes/record | read_record (random) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for level in [1, 3, 9, 19] {
        let input = records.clone();
        let options = WriterOptions {
            compression_level: level,
            ..WriterOptions::default()
        };
        let start = Instant::now();
        let mut writer = TraceWriter::new(Vec::new(), header(), &module, options).unwrap();
        for record in input {
            writer.push(record).unwrap();
        }
        let end = EndOfRun {
            outcome: RunOutcome::Exit(0),
            total_steps: Position(u64::MAX / 2),
        };
        let bytes = writer.finish(end).unwrap();
        let write = start.elapsed();

        let start = Instant::now();
        let reader = TraceReader::new(Cursor::new(&bytes[..])).unwrap();
        let mut read = 0usize;
        for record in reader.records() {
            std::hint::black_box(record.unwrap());
            read += 1;
        }
        let read_time = start.elapsed();
        assert_eq!(read, count + 1);

        let mut rng = Rng(7);
        let probes = 200;
        let start = Instant::now();
        for _ in 0..probes {
            let k = rng.below(count as u64);
            std::hint::black_box(reader.read_record(RecordIndex(k)).unwrap());
        }
        let random = start.elapsed() / probes;

        let per_s = |n: f64, t: Duration| n / t.as_secs_f64();
        println!(
            "| {level} | {:.0} k | {:.1} | {:.0} k | {:.0} | {:.1} | {:.1} | {:.1} ms |",
            per_s(count as f64, write) / 1e3,
            per_s(payload as f64, write) / 1e6,
            per_s(count as f64, read_time) / 1e3,
            per_s(payload as f64, read_time) / 1e6,
            bytes.len() as f64 / 1e6,
            bytes.len() as f64 / count as f64,
            random.as_secs_f64() * 1e3,
        );
    }
}
