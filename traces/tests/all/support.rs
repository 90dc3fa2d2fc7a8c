//! Shared builders for test traces.

use std::io::Cursor;

use deja_traces::{
    BacktraceFrame, CallOutcome, Chaos, DebugEvent, EndOfRun, EventKind, FuncIndex, Header,
    HostCall, Import, ImportIndex, MemoryIndex, MemoryWrite, Position, Record, RunOutcome,
    Signature, TraceReader, TraceWriter, ValType, Value, WriterOptions,
};

pub const MODULE: &[u8] = b"\0asm\x01\0\0\0 test module bytes, not a real module";

/// A header with a small imports table, deterministic apart from nothing (time and host fixed).
pub fn header() -> Header {
    let import = |name: &str, params: Vec<ValType>| Import {
        module: "wasi_snapshot_preview1".into(),
        name: name.into(),
        signature: Signature {
            params,
            results: vec![ValType::I32],
        },
    };
    Header {
        tool_version: "deja-traces tests".into(),
        created_unix_ms: 1_700_000_000_000,
        host: "test-host".into(),
        module: Default::default(),
        args: vec!["app.wasm".into(), "--flag".into()],
        env: vec![("RUST_LOG".into(), "debug".into())],
        preopens: vec!["/data".into()],
        runtime_config: serde_json::json!({"features": ["simd"], "canonicalize_nans": true}),
        imports: vec![
            import(
                "clock_time_get",
                vec![ValType::I32, ValType::I64, ValType::I32],
            ),
            import("random_get", vec![ValType::I32, ValType::I32]),
            import("fd_read", vec![ValType::I32; 4]),
            import("proc_exit", vec![ValType::I32]),
        ],
        chaos: Some(Chaos {
            seed: 0x5eed,
            strategies: vec!["clock-equal".into(), "short-read".into()],
        }),
    }
}

/// A small deterministic pseudo-random generator (SplitMix64), so tests need no dependency and
/// every failure reproduces.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// A realistic mix of records: clock and random calls, some reads, an event now and then.
/// Positions increase, sometimes repeat.
pub fn records(count: usize, seed: u64) -> Vec<Record> {
    let mut rng = Rng(seed);
    let mut position = 0u64;
    (0..count)
        .map(|_| {
            position += rng.below(3) * rng.below(1000);
            let position = Position(position);
            match rng.below(20) {
                0 => Record::Event(DebugEvent {
                    position,
                    kind: EventKind::Trap {
                        code: rng.below(16) as u8,
                        message: Some("integer divide by zero".into()),
                    },
                    backtrace: vec![
                        BacktraceFrame {
                            func: FuncIndex(7),
                            pc: rng.below(5000) as u32,
                        },
                        BacktraceFrame {
                            func: FuncIndex(2),
                            pc: 12,
                        },
                    ],
                }),
                1 => {
                    let len = rng.below(300) as usize;
                    host_call(position, 2, rng.bytes(len))
                }
                2..=9 => {
                    let len = 16 + rng.below(17) as usize;
                    host_call(position, 1, rng.bytes(len))
                }
                _ => host_call(position, 0, (position.0 * 1000).to_le_bytes().to_vec()),
            }
        })
        .collect()
}

pub fn host_call(position: Position, import: u32, bytes: Vec<u8>) -> Record {
    Record::HostCall(HostCall {
        position,
        import: ImportIndex(import),
        args: vec![Value::I32(1024), Value::I64(1), Value::I32(2048)],
        results: vec![Value::I32(0)],
        memory_writes: vec![MemoryWrite {
            memory: MemoryIndex(0),
            address: 2048,
            bytes,
        }],
        outcome: CallOutcome::Returned,
    })
}

pub fn end_after(records: &[Record]) -> EndOfRun {
    EndOfRun {
        outcome: RunOutcome::Exit(3),
        total_steps: Position(records.last().map_or(0, |r| r.position().0) + 10),
    }
}

/// Options that make many small chunks, so small traces exercise multi-chunk paths.
pub fn small_chunks() -> WriterOptions {
    WriterOptions {
        chunk_target_bytes: 2048,
        ..WriterOptions::default()
    }
}

/// Writes a finished trace in memory.
pub fn write(records: &[Record], end: &EndOfRun, options: WriterOptions) -> Vec<u8> {
    let mut writer = TraceWriter::new(Vec::new(), header(), MODULE, options).unwrap();
    for record in records {
        writer.push(record.clone()).unwrap();
    }
    writer.finish(end.clone()).unwrap()
}

/// `records` followed by the end record, as a finished trace reads back.
pub fn with_end(records: &[Record], end: &EndOfRun) -> Vec<Record> {
    let mut all = records.to_vec();
    all.push(Record::End(end.clone()));
    all
}

pub fn open(bytes: &[u8]) -> deja_traces::Result<TraceReader<Cursor<&[u8]>>> {
    TraceReader::new(Cursor::new(bytes))
}

pub fn read_all(bytes: &[u8]) -> deja_traces::Result<Vec<Record>> {
    open(bytes)?.records().collect()
}
