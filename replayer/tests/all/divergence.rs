//! A replay that differs from its recording stops at the first difference and says where.

use crate::{record_wasi, replay_bytes};
use deja_replayer::{Actual, Error, Expected};
use deja_runtime::Module;
use deja_traces::{Record, RecordIndex, TraceReader, TraceWriter, WriterOptions};

/// Draws one random byte, spins that many times, then reads the clock: the clock call's
/// position depends on the byte.
const GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (local $n i32)
    (drop (call $random (i32.const 0) (i32.const 1)))
    (local.set $n (i32.load8_u (i32.const 0)))
    (block $done
      (loop $spin
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $spin)))
    (drop (call $clock (i32.const 1) (i64.const 0) (i32.const 8)))))"#;

/// Rewrites a trace through `edit`, which may change records.
fn rewrite(bytes: &[u8], mut edit: impl FnMut(&mut Record)) -> Vec<u8> {
    let reader = TraceReader::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let module = reader.module_bytes().unwrap();
    let end = reader.end_of_run().cloned().unwrap();
    let mut w = TraceWriter::new(
        Vec::new(),
        reader.header().clone(),
        &module,
        WriterOptions::default(),
    )
    .unwrap();
    for r in reader.records() {
        let mut r = r.unwrap();
        if matches!(r, Record::End(_)) {
            continue;
        }
        edit(&mut r);
        w.push(r).unwrap();
    }
    w.finish(end).unwrap()
}

#[test]
fn an_altered_random_byte_is_reported_at_the_first_call_it_moves() {
    let module = Module::new(GUEST.as_bytes()).unwrap();
    let (_, bytes) = record_wasi(&module, &["g"], None, false);
    let reader = TraceReader::new(std::io::Cursor::new(bytes.clone())).unwrap();
    let Record::HostCall(clock) = reader.read_record(RecordIndex(1)).unwrap() else {
        panic!("second record is the clock call")
    };
    let recorded_byte = match reader.read_record(RecordIndex(0)).unwrap() {
        Record::HostCall(r) => r.memory_writes[0].bytes[0],
        _ => panic!("first record is random_get"),
    };
    let altered = rewrite(&bytes, |r| {
        if let Record::HostCall(hc) = r
            && hc.import.0 == 0
        {
            hc.memory_writes[0].bytes[0] = recorded_byte.wrapping_add(1);
        }
    });
    let Err(Error::Diverged(d)) = replay_bytes(altered) else {
        panic!("the altered trace must diverge");
    };
    // One more spin: 8 more steps (local.get, i32.eqz, br_if, local.get, i32.const, i32.sub,
    // local.set, br) — except when the byte wrapped to zero.
    let per_spin = 8i64;
    let delta = if recorded_byte == 255 {
        -(255 * per_spin)
    } else {
        per_spin
    };
    assert_eq!(d.position as i64, clock.position.0 as i64 + delta, "{d}");
    assert!(d.expected.to_string().contains("clock_time_get"), "{d}");
    assert!(
        d.expected
            .to_string()
            .contains(&format!("at position {}", clock.position.0)),
        "{d}"
    );
    assert!(d.actual.to_string().contains("clock_time_get"), "{d}");
    assert_eq!(d.records_consumed, 2);
    assert!(!d.backtrace.is_empty());
    // The unaltered trace replays.
    replay_bytes(bytes).unwrap();
}

#[test]
fn an_altered_argument_or_missing_call_diverges() {
    let module = Module::new(GUEST.as_bytes()).unwrap();
    let (_, bytes) = record_wasi(&module, &["g"], None, false);
    let altered = rewrite(&bytes, |r| {
        if let Record::HostCall(hc) = r
            && hc.import.0 == 1
        {
            hc.args[0] = deja_traces::Value::I32(0);
        }
    });
    let Err(Error::Diverged(d)) = replay_bytes(altered) else {
        panic!("must diverge");
    };
    assert!(
        d.expected.to_string().contains("I32(0)") && d.actual.to_string().contains("I32(1)"),
        "{d}"
    );
    // The same, structured: both calls with their import, arguments and position.
    let (Expected::Call(recorded), Actual::Call(made)) = (&d.expected, &d.actual) else {
        panic!("expected two calls: {d:?}");
    };
    assert_eq!(recorded.import, made.import);
    assert_eq!(recorded.position, made.position);
    assert_eq!(recorded.args[0], deja_traces::Value::I32(0));
    assert_eq!(made.args[0], deja_traces::Value::I32(1));
}

/// Two traces of same-size modules spliced so that the header describes one module and the
/// file carries the other: the module is refused by its hash.
#[test]
fn a_trace_whose_module_was_altered_is_refused_by_its_hash() {
    let a = Module::new(GUEST.as_bytes()).unwrap();
    let b_text = GUEST.replace("(i32.const 8)", "(i32.const 9)");
    let b = Module::new(b_text.as_bytes()).unwrap();
    assert_eq!(a.bytes().len(), b.bytes().len());
    let (_, ta) = record_wasi(&a, &["g"], None, false);
    let (_, tb) = record_wasi(&b, &["g"], None, false);
    // prelude (12) + HEAD frame header (40) + JSON payload; stored_len is at offset 12 + 4.
    let head_end = |t: &[u8]| 12 + 40 + u32::from_le_bytes(t[16..20].try_into().unwrap()) as usize;
    assert_eq!(head_end(&ta), head_end(&tb), "headers of equal length");
    let mut spliced = ta[..head_end(&ta)].to_vec();
    spliced.extend_from_slice(&tb[head_end(&tb)..]);
    match replay_bytes(spliced) {
        Err(Error::Trace(e)) => assert!(e.to_string().contains("SHA-256"), "{e}"),
        other => panic!("expected refusal by hash, got {other:?}"),
    }
}
