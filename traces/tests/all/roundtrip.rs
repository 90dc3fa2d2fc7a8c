//! Property-based round trips: whatever is written reads back identical, through every record
//! type and chunking.

use deja_traces::{
    BacktraceFrame, CallOutcome, DebugEvent, EndOfRun, EventKind, FuncIndex, HostCall, ImportIndex,
    Interruption, MemoryIndex, MemoryWrite, Position, Record, RunOutcome, TagIndex, Value,
    WriterOptions,
};
use proptest::prelude::*;

use crate::support;

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<u32>().prop_map(Value::I32),
        any::<u64>().prop_map(Value::I64),
        any::<u32>().prop_map(Value::F32),
        any::<u64>().prop_map(Value::F64),
        any::<u128>().prop_map(Value::V128),
        any::<Option<u32>>().prop_map(Value::FuncRef),
        any::<Option<u32>>().prop_map(Value::ExternRef),
    ]
}

fn host_call(position: u64) -> impl Strategy<Value = HostCall> {
    let write = (
        any::<u32>(),
        any::<u64>(),
        prop::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(memory, address, bytes)| MemoryWrite {
            memory: MemoryIndex(memory),
            address,
            bytes,
        });
    let outcome = prop_oneof![
        Just(CallOutcome::Returned),
        ".{0,40}".prop_map(CallOutcome::Error),
        any::<u32>().prop_map(CallOutcome::Exit),
    ];
    (
        0..support::header().imports.len() as u32,
        prop::collection::vec(value(), 0..6),
        prop::collection::vec(value(), 0..3),
        prop::collection::vec(write, 0..4),
        outcome,
    )
        .prop_map(
            move |(import, args, results, memory_writes, outcome)| HostCall {
                position: Position(position),
                import: ImportIndex(import),
                args,
                results,
                memory_writes,
                outcome,
            },
        )
}

fn debug_event(position: u64) -> impl Strategy<Value = DebugEvent> {
    let kind = prop_oneof![
        (any::<u8>(), proptest::option::of(".{0,30}"))
            .prop_map(|(code, message)| EventKind::Trap { code, message }),
        (any::<u32>(), ".{0,30}").prop_map(|(import, message)| EventKind::HostCallError {
            import: ImportIndex(import),
            message
        }),
        (any::<u32>(), any::<bool>()).prop_map(|(tag, caught)| EventKind::Exception {
            tag: TagIndex(tag),
            caught
        }),
        Just(EventKind::Interrupted(Interruption::Signal)),
        Just(EventKind::Interrupted(Interruption::StepBudget)),
        Just(EventKind::Interrupted(Interruption::Terminated)),
        ".{0,20}".prop_map(|m| EventKind::Interrupted(Interruption::Other(m))),
    ];
    let frame = (any::<u32>(), any::<u32>()).prop_map(|(func, pc)| BacktraceFrame {
        func: FuncIndex(func),
        pc,
    });
    (kind, prop::collection::vec(frame, 0..8)).prop_map(move |(kind, backtrace)| DebugEvent {
        position: Position(position),
        kind,
        backtrace,
    })
}

fn run_outcome() -> impl Strategy<Value = RunOutcome> {
    prop_oneof![
        Just(RunOutcome::Returned),
        any::<u32>().prop_map(RunOutcome::Exit),
        (any::<u8>(), proptest::option::of(".{0,30}"))
            .prop_map(|(code, message)| RunOutcome::Trap { code, message }),
        (any::<u32>(), ".{0,30}").prop_map(|(import, message)| RunOutcome::HostError {
            import: ImportIndex(import),
            message
        }),
        Just(RunOutcome::Interrupted),
    ]
}

/// A stream of records with non-decreasing positions (deltas of zero included), then an end.
fn stream() -> impl Strategy<Value = (Vec<Record>, EndOfRun)> {
    let step = (0u64..1_000_000, any::<bool>(), any::<u64>());
    (
        prop::collection::vec(step, 0..120),
        run_outcome(),
        0u64..1000,
    )
        .prop_flat_map(|(steps, outcome, tail)| {
            let mut position = 0u64;
            let records: Vec<BoxedStrategy<Record>> = steps
                .into_iter()
                .map(|(delta, is_call, zero)| {
                    // One record in four shares its predecessor's position.
                    position += if zero % 4 == 0 { 0 } else { delta };
                    if is_call {
                        host_call(position).prop_map(Record::HostCall).boxed()
                    } else if zero % 3 == 0 {
                        Just(Record::Progress(Position(position))).boxed()
                    } else {
                        debug_event(position).prop_map(Record::Event).boxed()
                    }
                })
                .collect();
            let end = EndOfRun {
                outcome,
                total_steps: Position(position + tail),
            };
            (records, Just(end))
        })
}

fn options() -> impl Strategy<Value = WriterOptions> {
    (
        prop_oneof![Just(1), Just(3), Just(19)],
        1usize..8192,
        1u32..40,
    )
        .prop_map(
            |(compression_level, chunk_target_bytes, max_records_per_chunk)| WriterOptions {
                compression_level,
                chunk_target_bytes,
                max_records_per_chunk,
                ..WriterOptions::default()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn any_stream_round_trips((records, end) in stream(), options in options()) {
        let bytes = support::write(&records, &end, options);
        let reader = support::open(&bytes).unwrap();
        prop_assert!(!reader.is_truncated());
        prop_assert_eq!(reader.end_of_run(), Some(&end));
        prop_assert_eq!(reader.header().args.clone(), support::header().args);
        prop_assert_eq!(reader.module_bytes().unwrap(), support::MODULE);
        let read: Vec<Record> = reader.records().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(read, support::with_end(&records, &end));
        // The whole exercise (random access included) agrees too.
        prop_assert_eq!(deja_traces::exercise_reader(&bytes).unwrap(), records.len() as u64 + 1);
    }

    #[test]
    fn host_calls_round_trip(call in host_call(5)) {
        let end = EndOfRun { outcome: RunOutcome::Returned, total_steps: Position(9) };
        let records = vec![Record::HostCall(call)];
        let bytes = support::write(&records, &end, WriterOptions::default());
        prop_assert_eq!(support::read_all(&bytes).unwrap(), support::with_end(&records, &end));
    }

    #[test]
    fn debug_events_round_trip(event in debug_event(5)) {
        let end = EndOfRun { outcome: RunOutcome::Returned, total_steps: Position(9) };
        let records = vec![Record::Event(event)];
        let bytes = support::write(&records, &end, WriterOptions::default());
        prop_assert_eq!(support::read_all(&bytes).unwrap(), support::with_end(&records, &end));
    }

    #[test]
    fn ends_of_run_round_trip(outcome in run_outcome(), total_steps in any::<u64>()) {
        let end = EndOfRun { outcome, total_steps: Position(total_steps) };
        let bytes = support::write(&[], &end, WriterOptions::default());
        let reader = support::open(&bytes).unwrap();
        prop_assert_eq!(reader.end_of_run(), Some(&end));
        prop_assert_eq!(support::read_all(&bytes).unwrap(), vec![Record::End(end)]);
    }

    #[test]
    fn records_round_trip_through_json(record in host_call(1).prop_map(Record::HostCall)) {
        let json = serde_json::to_string(&record).unwrap();
        prop_assert_eq!(serde_json::from_str::<Record>(&json).unwrap(), record);
    }
}

#[test]
fn header_round_trips_with_module_info_filled_in() {
    let bytes = support::write(&[], &support::end_after(&[]), WriterOptions::default());
    let reader = support::open(&bytes).unwrap();
    let mut expected = support::header();
    expected.module.size = support::MODULE.len() as u64;
    // sha256 of MODULE, as `sha256sum` prints it.
    use sha2::Digest;
    expected.module.sha256 = sha2::Sha256::digest(support::MODULE)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(reader.header(), &expected);
    let summary = serde_json::to_value(reader.summary()).unwrap();
    assert_eq!(summary["format_version"]["major"], 1);
    assert_eq!(summary["header"]["imports"][1]["name"], "random_get");
}

#[test]
fn empty_module_and_empty_stream_round_trip() {
    let end = support::end_after(&[]);
    let writer =
        deja_traces::TraceWriter::new(Vec::new(), support::header(), &[], WriterOptions::default())
            .unwrap();
    assert_eq!(writer.record_count(), 0);
    let bytes = writer.finish(end.clone()).unwrap();
    let reader = support::open(&bytes).unwrap();
    assert_eq!(reader.module_bytes().unwrap(), Vec::<u8>::new());
    assert_eq!(support::read_all(&bytes).unwrap(), vec![Record::End(end)]);
}
