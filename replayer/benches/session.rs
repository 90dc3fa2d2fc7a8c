//! Time travel on a long trace: `cargo bench -p deja-replayer --bench session`.
//!
//! Records a guest of about 10^9 steps (a sweep writing 8 MiB of its 16 MiB memory over and
//! over, reading the clock every million iterations), then measures: recording time; time to
//! open a session at the end (one full replay taking checkpoints); reverse-step latency at 100
//! random positions, both right after seeking there ("warm") and from a position reached by a
//! forward continue with no checkpoint near it ("cold"); reverse-continue to a breakpoint hit
//! only at the very beginning, and to a watchpoint written only there; and the process's peak
//! memory (VmHWM). The recording and the session's forward passes run on the JIT, or with
//! `DEJA_SESSION_ENGINE=interp` on the interpreter.

use deja_recorder::{Settings, record};
use deja_replayer::{Session, SessionOptions};
use deja_runtime::wasi::{self, OutputSink, WasiCtx, WasiCtxBuilder};
use deja_runtime::{Config, EngineKind, FuncIndex, Linker, Module, Store};
use deja_traces::TraceReader;
use std::time::{Duration, Instant};

const GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (memory (export "memory") 256)
  (func $mark (i32.store (i32.const 0) (i32.const 1)))
  (func (export "_start")
    (local $i i32) (local $acc i32)
    (call $mark)
    (loop $l
      (i32.store offset=64 (i32.and (i32.shl (local.get $i) (i32.const 3)) (i32.const 0x7ffff8))
        (i32.add (local.get $acc) (local.get $i)))
      (local.set $acc (i32.xor (local.get $acc)
        (i32.load offset=64 (i32.and (i32.shl (i32.add (local.get $i) (i32.const 7)) (i32.const 3)) (i32.const 0x7ffff8)))))
      (if (i32.eqz (i32.and (local.get $i) (i32.const 0xfffff)))
        (then (drop (call $clock (i32.const 1) (i64.const 0) (i32.const 16)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (global.get 0))))))"#;

fn peak_memory_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    // The engine of the sessions' forward passes (`DEJA_SESSION_ENGINE=interp` for the
    // interpreter's figures).
    let engine = match std::env::var("DEJA_SESSION_ENGINE").as_deref() {
        Ok("interp") => EngineKind::Interp,
        Ok("jit") | Err(_) => EngineKind::Jit,
        Ok(other) => panic!("DEJA_SESSION_ENGINE must be jit or interp, not {other}"),
    };
    let options = SessionOptions {
        engine,
        ..SessionOptions::default()
    };
    let iterations: u32 = if quick { 1_000_000 } else { 36_000_000 };
    let wat = GUEST.replace(
        "(memory (export \"memory\") 256)",
        &format!("(memory (export \"memory\") 256) (global i32 (i32.const {iterations}))"),
    );
    let module = Module::new(wat.as_bytes()).unwrap();
    let path = std::env::temp_dir().join(format!("deja-session-bench-{}.deja", std::process::id()));

    let t = Instant::now();
    let (stdout, _) = OutputSink::buffer();
    let ctx = WasiCtxBuilder::new().stdout(stdout).build().unwrap();
    let mut store = Store::new(Config::default(), ctx);
    // Recorded on the engine of the forward passes, as `deja record` would.
    store.set_engine(engine).unwrap();
    let mut linker = Linker::new();
    wasi::add_to_linker(&mut linker, |c: &mut WasiCtx| c);
    let file = std::fs::File::create(&path).unwrap();
    let (report, _) = record(&mut store, &linker, &module, file, Settings::new("bench")).unwrap();
    let record_time = t.elapsed();
    drop(store);
    let steps = report.total_steps;
    let trace_bytes = std::fs::metadata(&path).unwrap().len();

    let t = Instant::now();
    let mut s = Session::open(
        TraceReader::open(&path).unwrap(),
        None,
        options.clone(),
        None,
    )
    .unwrap();
    let open_time = t.elapsed();
    let (start, end) = (s.start(), s.end());

    // A deterministic spread of positions.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut positions = Vec::new();
    for _ in 0..100 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        positions.push(start + 1 + x % (end - start - 1));
    }
    let mut warm = Vec::new();
    for &p in &positions {
        s.seek(p).unwrap();
        let t = Instant::now();
        s.reverse_step(1).unwrap();
        warm.push(t.elapsed());
        assert_eq!(s.position(), p - 1);
    }
    // Far back: reverse-continue from the end to a breakpoint hit only at the very start.
    s.seek(end).unwrap();
    s.add_breakpoint(FuncIndex::from_u32(1), None).unwrap();
    let t = Instant::now();
    let stop = s.reverse_continue().unwrap();
    let rcontinue_time = t.elapsed();
    assert!(stop.position < 10, "{stop:?}");
    // The same to a watchpoint on the word only `$mark` writes, at the start.
    s.seek(end).unwrap();
    for id in s.stop_points().keys().copied().collect::<Vec<_>>() {
        s.delete(id);
    }
    s.add_watchpoint(0, 4);
    let t = Instant::now();
    let stop = s.reverse_continue().unwrap();
    let watch_time = t.elapsed();
    assert!(stop.position < 10, "{stop:?}");
    // Peak memory with one session open (recording included, which streams).
    let peak = peak_memory_mib();
    let (held, held_bytes) = (s.checkpoint_count(), s.checkpoint_bytes());
    drop(s);

    // Cold: from positions reached without dense checkpoints behind them (only the grid's,
    // as thinned by the budget), in a second session.
    let mut cold = Vec::new();
    let mut cold_session = Session::open(
        TraceReader::open(&path).unwrap(),
        None,
        SessionOptions {
            dense_spacing: u64::MAX / 4,
            ..options.clone()
        },
        None,
    )
    .unwrap();
    for &p in positions.iter().take(30) {
        // Land on a grid checkpoint, then move forward without leaving checkpoints behind.
        let grid = SessionOptions::default().checkpoint_interval;
        let base = (p / grid) * grid;
        cold_session.seek(base.max(start)).unwrap();
        cold_session.seek(p).unwrap();
        let t = Instant::now();
        cold_session.reverse_step(1).unwrap();
        cold.push(t.elapsed());
    }
    drop(cold_session);

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("| metric | value |");
    println!("|---|---|");
    println!("| engine of the forward passes | {engine:?} |");
    println!("| steps in the trace | {steps} |");
    println!("| trace size | {:.1} KiB |", trace_bytes as f64 / 1024.0);
    println!("| record (run + write) | {:.0} ms |", ms(record_time));
    println!(
        "| open at the end (full replay, checkpoints) | {:.0} ms |",
        ms(open_time)
    );
    println!(
        "| checkpoints held / their memory | {held} / {:.0} MiB |",
        held_bytes as f64 / (1 << 20) as f64
    );
    println!(
        "| reverse step after a seek, p50 / p99 (100 positions) | {:.2} / {:.2} ms |",
        ms(percentile(&mut warm, 0.5)),
        ms(percentile(&mut warm, 0.99))
    );
    println!(
        "| reverse step, cold (grid checkpoints only), p50 / p99 (30 positions) | {:.1} / {:.1} ms |",
        ms(percentile(&mut cold, 0.5)),
        ms(percentile(&mut cold, 0.99))
    );
    println!(
        "| reverse-continue from the end to a breakpoint at the start | {:.0} ms |",
        ms(rcontinue_time)
    );
    println!(
        "| reverse-continue from the end to a watchpoint written at the start | {:.0} ms |",
        ms(watch_time)
    );
    println!("| peak memory with one session open (VmHWM); guest memory 16 MiB | {peak:.0} MiB |");
    let _ = std::fs::remove_file(&path);
}
