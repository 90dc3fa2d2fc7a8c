//! The time-travel session against forward-replay ground truth.
//!
//! The ground truth is a separate session that only ever single-steps forward from the start,
//! recording at every position the call depth, every frame's (function, pc), the innermost
//! frame's locals, the globals and a hash of memory. Every movement of a second session — with
//! tiny checkpoint spacing so that restores happen everywhere — must land where that truth
//! says, in both directions, with and without breakpoints and watchpoints.

use crate::{record_wasi, repo, scratch};
use deja_replayer::{Session, SessionOptions, StopReason};
use deja_runtime::{EngineKind, FuncIndex, Module, Val};
use deja_traces::TraceReader;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

const GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $g (mut i32) (i32.const 0))
  (data (i32.const 300) "done\n")
  (func $leaf (param i32) (result i32)
    (i32.store (i32.const 100) (i32.add (i32.load (i32.const 100)) (i32.const 1)))
    (global.set $g (i32.add (global.get $g) (local.get 0)))
    (i32.mul (local.get 0) (i32.const 3)))
  (func $rec (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (call $leaf (i32.const 1)))
      (else (i32.add (call $rec (i32.sub (local.get $n) (i32.const 1)))
                     (call $leaf (local.get $n))))))
  (func (export "_start")
    (local $i i32)
    (drop (call $random (i32.const 0) (i32.const 4)))
    (loop $l
      (drop (call $rec (i32.add (i32.const 1) (i32.and (i32.load8_u (local.get $i)) (i32.const 3)))))
      (drop (call $clock (i32.const 1) (i64.const 0) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))
    (i32.store (i32.const 200) (i32.const 300))
    (i32.store (i32.const 204) (i32.const 5))
    (drop (call $write (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 208)))))"#;

#[derive(Clone, Debug, PartialEq)]
struct State {
    position: u64,
    frames: Vec<(u32, u32)>,
    locals: Vec<Val>,
    globals: Vec<Val>,
    memory: u64,
    counter: Vec<u8>,
    clock: Vec<u8>,
}

fn state<R: std::io::Read + std::io::Seek + Send + 'static>(s: &mut Session<R>) -> State {
    let position = s.position();
    let globals = s.globals();
    let mut h = DefaultHasher::new();
    s.read_memory(0, 65536).unwrap().hash(&mut h);
    let counter = s.read_memory(100, 4).unwrap().to_vec();
    let clock = s.read_memory(16, 8).unwrap().to_vec();
    let mut frames = Vec::new();
    let mut locals = Vec::new();
    let mut c = s.store().debug_frames();
    let mut first = true;
    while !c.done() {
        let (f, pc) = c.wasm_function_index_and_pc().unwrap();
        frames.push((f.as_u32(), pc));
        if first {
            locals = (0..c.num_locals()).map(|i| c.local(i)).collect();
            first = false;
        }
        c.move_to_parent();
    }
    State {
        position,
        frames,
        locals,
        globals,
        memory: h.finish(),
        counter,
        clock,
    }
}

fn open(bytes: &[u8], options: SessionOptions) -> Session<std::io::Cursor<Vec<u8>>> {
    let reader = TraceReader::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    Session::open(reader, None, options, None).unwrap()
}

fn tiny() -> SessionOptions {
    SessionOptions {
        checkpoint_budget: 1 << 20,
        checkpoint_interval: 37,
        dense_spacing: 5,
        engine: EngineKind::Jit,
    }
}

/// Every position's state, by stepping forward one instruction at a time from the start, on
/// the interpreter.
fn ground_truth(bytes: &[u8]) -> Vec<State> {
    let mut s = open(
        bytes,
        SessionOptions {
            engine: EngineKind::Interp,
            ..SessionOptions::default()
        },
    );
    s.seek(s.start()).unwrap();
    let mut truth = vec![state(&mut s)];
    while s.position() < s.end() {
        s.step_forward(1).unwrap();
        truth.push(state(&mut s));
    }
    truth
}

fn depth(t: &[State], p: u64, start: u64) -> usize {
    t[(p - start) as usize].frames.len()
}

/// Opening a session on the JIT replays the whole run in compiled code: its checkpoints come
/// at soft pauses, and each one restores to the state the interpreter shows there.
#[test]
fn opening_on_the_jit_takes_checkpoints_without_leaving_compiled_code() {
    let module = Module::new(GUEST.as_bytes()).unwrap();
    let (_, bytes) = record_wasi(&module, &["g"], None, false);
    let truth = ground_truth(&bytes);
    let options = SessionOptions {
        checkpoint_interval: 10,
        dense_spacing: u64::MAX / 4,
        ..SessionOptions::default()
    };
    let mut s = open(&bytes, options);
    let stats = s.store().engine_stats();
    assert!(stats.jit_calls >= 1, "{stats:?}");
    assert_eq!(stats.interp_calls, 0, "{stats:?}");
    assert_eq!(stats.hand_overs, 0, "{stats:?}");
    // About one per loop iteration of the guest's (a soft pause comes at a check).
    let n = s.checkpoint_count();
    assert!(n >= 8, "{n} checkpoints over {} steps", s.end() - s.start());
    let start = s.start();
    for p in (start..=s.end()).rev() {
        s.seek(p).unwrap();
        assert_eq!(state(&mut s), truth[(p - start) as usize], "seek({p})");
    }
}

#[test]
fn movements_land_where_forward_replay_says_in_both_directions() {
    let module = Module::new(GUEST.as_bytes()).unwrap();
    let (recorded, bytes) = record_wasi(&module, &["g"], None, false);
    assert_eq!(recorded.stdout, b"done\n");
    let truth = ground_truth(&bytes);
    let mut s = open(&bytes, tiny());
    let start = s.start();
    let end = s.end();
    assert_eq!(truth.len() as u64, end - start + 1);
    assert_eq!(s.position(), end, "a session opens at the end");
    let at = |p: u64| &truth[(p - start) as usize];
    let all: Vec<u64> = (start..=end).collect();

    // Seek anywhere, in any order; reverse step then step returns to the same state.
    let mut order = all.clone();
    order.reverse();
    let third = order.len() / 3;
    order.rotate_left(third);
    for &p in &order {
        s.seek(p).unwrap();
        assert_eq!(&state(&mut s), at(p), "seek({p})");
        if p > start {
            s.reverse_step(1).unwrap();
            assert_eq!(&state(&mut s), at(p - 1), "rstep from {p}");
            s.step_forward(1).unwrap();
            assert_eq!(&state(&mut s), at(p), "step back to {p}");
        }
    }

    // next / rnext / finish / rfinish.
    next_and_finish_land_where_the_truth_says(&mut s, &truth);

    // continue / rcontinue with no stop points: the ends.
    s.seek(start + 10).unwrap();
    assert_eq!(s.continue_forward().unwrap().position, end);
    let stop = s.reverse_continue().unwrap();
    assert_eq!((stop.position, stop.reason), (start, StopReason::Start));

    // With a breakpoint at the entry of $leaf (function 4: three imports come first).
    let leaf = FuncIndex::from_u32(4);
    let id = s.add_breakpoint(leaf, None).unwrap();
    let entry_pc = s.module().instruction_pcs(leaf)[0];
    let hit = |q: u64| at(q).frames.first() == Some(&(4, entry_pc));
    let hits: Vec<u64> = all.iter().copied().filter(|&q| hit(q)).collect();
    assert!(hits.len() > 5, "{hits:?}");
    for &p in all.iter().step_by(3) {
        s.seek(p).unwrap();
        let stop = s.continue_forward().unwrap();
        match hits.iter().find(|&&q| q > p) {
            Some(&q) => assert_eq!(
                stop,
                deja_replayer::Stop {
                    reason: StopReason::Breakpoint(id),
                    position: q
                },
                "continue from {p}"
            ),
            None => assert_eq!(stop.position, end),
        }
        s.seek(p).unwrap();
        let stop = s.reverse_continue().unwrap();
        match hits.iter().rev().find(|&&q| q < p) {
            Some(&q) => assert_eq!(
                stop,
                deja_replayer::Stop {
                    reason: StopReason::Breakpoint(id),
                    position: q
                },
                "rcontinue from {p}"
            ),
            None => assert_eq!(stop.position, start),
        }
        assert_eq!(&state(&mut s), at(stop.position));
    }
    assert!(s.delete(id));

    // Watchpoints: one written by instructions ($leaf's counter), one by a host call (the
    // clock's result). A stop lands right after the write.
    for (addr, len, written) in [
        (
            100u64,
            4u64,
            (|st: &State| st.counter.clone()) as fn(&State) -> Vec<u8>,
        ),
        (16, 8, |st: &State| st.clock.clone()),
    ] {
        let id = s.add_watchpoint(addr, len);
        let writes: Vec<u64> = (start + 1..=end)
            .filter(|&q| written(at(q)) != written(at(q - 1)))
            .collect();
        assert!(writes.len() >= 4, "{writes:?}");
        for &p in all.iter().step_by(3) {
            s.seek(p).unwrap();
            let stop = s.continue_forward().unwrap();
            match writes.iter().find(|&&q| q > p) {
                Some(&q) => assert_eq!(
                    stop,
                    deja_replayer::Stop {
                        reason: StopReason::Watchpoint(id),
                        position: q
                    },
                    "continue from {p} watching {addr}"
                ),
                None => assert_eq!(stop.position, end),
            }
            s.seek(p).unwrap();
            let stop = s.reverse_continue().unwrap();
            match writes.iter().rev().find(|&&q| q < p) {
                Some(&q) => assert_eq!(
                    stop,
                    deja_replayer::Stop {
                        reason: StopReason::Watchpoint(id),
                        position: q
                    },
                    "rcontinue from {p} watching {addr}"
                ),
                None => assert_eq!(stop.position, start),
            }
        }
        assert!(s.delete(id));
    }

    // Both at once: each stop names the watchpoint that was written, by an instruction or by
    // a host call.
    let counter = s.add_watchpoint(100, 4);
    let clock = s.add_watchpoint(16, 8);
    let mut seen = (0, 0);
    s.seek(start).unwrap();
    loop {
        let stop = s.continue_forward().unwrap();
        let q = stop.position;
        let StopReason::Watchpoint(id) = stop.reason else {
            break;
        };
        let expected = if at(q).counter != at(q - 1).counter {
            seen.0 += 1;
            counter
        } else {
            seen.1 += 1;
            clock
        };
        assert_eq!(id, expected, "continue to {q}");
        let back = s.reverse_continue().unwrap();
        if let StopReason::Watchpoint(id) = back.reason {
            let p = back.position;
            let expected = if at(p).counter != at(p - 1).counter {
                counter
            } else {
                clock
            };
            assert_eq!(id, expected, "rcontinue to {p}");
        }
        s.seek(q).unwrap();
    }
    assert!(seen.0 >= 4 && seen.1 >= 4, "{seen:?}");
    assert!(s.delete(counter) && s.delete(clock));

    // Host calls: going to call K lands before it.
    for (k, &p) in s.host_calls().to_vec().iter().enumerate() {
        assert_eq!(s.seek_host_call(k).unwrap().position, p);
        assert!(s.store().debug_frames().is_at_call());
    }
}

/// From every position, `next`, `finish`, `rnext` and `rfinish` land at the first position
/// (after or before) whose depth the ground truth says they stop at.
fn next_and_finish_land_where_the_truth_says(
    s: &mut Session<std::io::Cursor<Vec<u8>>>,
    truth: &[State],
) {
    let (start, end) = (s.start(), s.end());
    for p in start..=end {
        let d = depth(truth, p, start);
        s.seek(p).unwrap();
        let is_call = s.store().debug_frames().is_at_call() && d > 0;
        let stop = s.step_over().unwrap();
        let expected = if is_call {
            (p + 1..=end)
                .find(|&q| depth(truth, q, start) <= d)
                .unwrap_or(end)
        } else {
            (p + 1).min(end)
        };
        assert_eq!(stop.position, expected, "next from {p}");

        s.seek(p).unwrap();
        let stop = s.finish().unwrap();
        let expected = (p + 1..=end)
            .find(|&q| depth(truth, q, start) < d)
            .unwrap_or(end);
        assert_eq!(stop.position, expected, "finish from {p}");

        s.seek(p).unwrap();
        let stop = s.reverse_step_over().unwrap();
        // With no frame (after the run returned) reverse-next is a reverse step.
        let expected = if d == 0 {
            p.saturating_sub(1).max(start)
        } else {
            (start..p)
                .rev()
                .find(|&q| depth(truth, q, start) <= d)
                .unwrap_or(start)
        };
        assert_eq!(stop.position, expected, "rnext from {p}");

        s.seek(p).unwrap();
        let stop = s.reverse_finish().unwrap();
        let expected = (start..p)
            .rev()
            .find(|&q| depth(truth, q, start) < d)
            .unwrap_or(start);
        assert_eq!(stop.position, expected, "rfinish from {p}");
    }
}

/// Throws that unwind the frames a `next` or `finish` started in: the movement stops where
/// the exception lands, in either direction, as the depths say.
const THROWING: &str = r#"(module
  (memory (export "memory") 1)
  (tag $e (param i32))
  (func $inner (param i32) (result i32)
    (if (local.get 0) (then (throw $e (local.get 0))))
    (i32.const 5))
  (func $mid (param i32) (result i32)
    (i32.add (call $inner (local.get 0)) (i32.const 1)))
  ;; Caught in a frame the movement is inside of.
  (func $safe (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (call $mid (local.get 0)))))
  ;; A cleanup pad (legacy): what $mid throws lands on the rethrow, which throws it on.
  (func $pad (param i32) (result i32)
    try (result i32)
      (call $mid (local.get 0))
    catch_all
      rethrow 0
    end)
  (func $padded (param i32) (result i32)
    (i32.add (call $pad (local.get 0)) (i32.const 100)))
  (func (export "_start")
    (local $r i32)
    (local.set $r (call $safe (i32.const 3)))
    (local.set $r (i32.add (local.get $r)
      (block $h (result i32)
        (try_table (result i32) (catch $e $h)
          (call $padded (i32.const 9))))))
    (local.set $r (i32.add (local.get $r)
      (block $h (result i32)
        (try_table (result i32) (catch $e $h)
          (call $mid (i32.const 7))))))
    (local.set $r (i32.add (local.get $r) (call $mid (i32.const 0))))
    (i32.store (i32.const 0) (local.get $r))))"#;

#[test]
fn next_and_finish_stop_where_a_throw_lands_above_them() {
    let module = Module::new(THROWING.as_bytes()).unwrap();
    let (_, bytes) = record_wasi(&module, &["t"], None, false);
    let truth = ground_truth(&bytes);
    let mut s = open(&bytes, tiny());
    next_and_finish_land_where_the_truth_says(&mut s, &truth);
    s.seek(s.end()).unwrap();
    assert_eq!(s.read_memory(0, 4).unwrap(), 25u32.to_le_bytes());
    let (start, end) = (s.start(), s.end());
    let depth = |p: u64| truth[(p - start) as usize].frames.len();

    // `catch throw`, `continue` to each throw, then `finish` from there: it lands where the
    // truth says, also when the throw's landing is another throw (the pad's rethrow).
    let catch = s.add_catch_throw();
    let mut throws = Vec::new();
    s.seek(start).unwrap();
    loop {
        let stop = s.continue_forward().unwrap();
        if stop.reason != StopReason::Throw(catch) {
            break;
        }
        throws.push(stop.position);
    }
    assert_eq!(throws.len(), 4, "{throws:?}");
    s.delete(catch);
    for &p in &throws {
        s.add_catch_throw();
        s.seek(start).unwrap();
        while s.continue_forward().unwrap().position < p {}
        assert_eq!(s.position(), p);
        let stop = s.finish().unwrap();
        let expected = (p + 1..=end).find(|&q| depth(q) < depth(p)).unwrap_or(end);
        assert_eq!(stop.position, expected, "finish from the throw at {p}");
        let ids: Vec<u32> = s.stop_points().keys().copied().collect();
        for id in ids {
            s.delete(id);
        }
    }

    // A breakpoint where a throw lands, inside the call a `next` steps over: it stops there,
    // as a breakpoint.
    let landing = (start..end)
        .find(|&q| depth(q + 1) + 1 < depth(q))
        .map(|q| q + 1)
        .expect("a throw that unwinds a frame");
    let (f, pc) = truth[(landing - start) as usize].frames[0];
    let bp = s.add_breakpoint(FuncIndex::from_u32(f), Some(pc)).unwrap();
    let call = (start..landing)
        .rev()
        .find(|&q| depth(q) == 1)
        .expect("the call from _start");
    s.seek(call).unwrap();
    let stop = s.step_over().unwrap();
    assert_eq!(
        (stop.position, stop.reason),
        (landing, StopReason::Breakpoint(bp)),
        "next from {call}"
    );
}

#[test]
fn the_flaky_example_seeks_to_the_same_state_as_forward_stepping() {
    let module = Module::from_file(repo().join("examples/flaky/flaky.wasm")).unwrap();
    let dir = scratch("session-flaky", Some(&repo().join("examples/flaky/data")));
    let (_, bytes) = record_wasi(&module, &["flaky.wasm"], Some((&dir, "data")), false);
    std::fs::remove_dir_all(&dir).unwrap();
    let mut fwd = open(&bytes, SessionOptions::default());
    let start = fwd.start();
    let end = fwd.end();
    // Sample positions spread over the run, checked in a scrambled order.
    let samples: Vec<u64> = (0..40).map(|i| start + (end - start) * i / 39).collect();
    let mut truth = Vec::new();
    fwd.seek(start).unwrap();
    for &p in &samples {
        while fwd.position() < p {
            fwd.step_forward(1).unwrap();
        }
        truth.push(state(&mut fwd));
    }
    let mut s = open(
        &bytes,
        SessionOptions {
            checkpoint_interval: 1000,
            dense_spacing: 50,
            ..Default::default()
        },
    );
    let mut order: Vec<usize> = (0..samples.len()).collect();
    order.sort_by_key(|i| (i * 7919) % samples.len());
    for i in order {
        s.seek(samples[i]).unwrap();
        assert_eq!(state(&mut s), truth[i], "seek({})", samples[i]);
        if samples[i] > start {
            s.reverse_step(1).unwrap();
            s.step_forward(1).unwrap();
            assert_eq!(state(&mut s), truth[i], "rstep+step at {}", samples[i]);
        }
    }
}

#[test]
fn a_tiny_checkpoint_budget_thins_but_stays_correct() {
    let module = Module::new(GUEST.as_bytes()).unwrap();
    let (_, bytes) = record_wasi(&module, &["g"], None, false);
    let truth = ground_truth(&bytes);
    let mut s = open(
        &bytes,
        SessionOptions {
            checkpoint_budget: 64 << 10,
            checkpoint_interval: 3,
            dense_spacing: 2,
            engine: EngineKind::Jit,
        },
    );
    let start = s.start();
    for p in (start..=s.end()).rev().step_by(7) {
        s.seek(p).unwrap();
        assert_eq!(state(&mut s), truth[(p - start) as usize]);
    }
    assert!(s.checkpoint_bytes() <= 64 << 10 || s.checkpoint_count() <= 2);
}

#[test]
fn output_is_shown_as_of_the_current_position() {
    let module = Module::new(GUEST.as_bytes()).unwrap();
    let (_, bytes) = record_wasi(&module, &["g"], None, false);
    let reader = TraceReader::new(std::io::Cursor::new(bytes)).unwrap();
    let mut s = Session::open(
        reader,
        Some(deja_runtime::wasi::pending_output),
        SessionOptions::default(),
        None,
    )
    .unwrap();
    assert_eq!(s.output().0, b"done\n");
    let write_call = *s.host_calls().last().unwrap();
    s.seek(write_call).unwrap();
    assert_eq!(s.output().0, b"");
    s.step_forward(1).unwrap();
    assert_eq!(s.output().0, b"done\n");
}

#[test]
fn long_movements_report_progress_and_can_be_cancelled_consistently() {
    let module = Module::new(GUEST.as_bytes()).unwrap();
    let (_, bytes) = record_wasi(&module, &["g"], None, false);
    let truth = ground_truth(&bytes);
    // No grid checkpoints: the seek below runs from the start and reports progress at each
    // dense checkpoint it leaves before its target (the run's length depends on recorded
    // random bytes, so checkpoints near the end would make the count vary).
    let mut s = open(
        &bytes,
        SessionOptions {
            checkpoint_budget: 1 << 20,
            checkpoint_interval: u64::MAX / 4,
            dense_spacing: 5,
            engine: EngineKind::Jit,
        },
    );
    let (start, end) = (s.start(), s.end());
    assert!(
        end - start > 100,
        "the guest runs long enough for several reports"
    );
    s.seek(start).unwrap();
    // Cancel a forward seek at its third progress report.
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let seen = calls.clone();
    s.set_progress(Some(Box::new(move |done, total| {
        assert!(done <= total);
        seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2
    })));
    let stop = s.seek(end).unwrap();
    assert_eq!(stop.reason, StopReason::Cancelled);
    assert!(stop.position > start && stop.position < end, "{stop:?}");
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
    // The session stands at a consistent position: exactly forward replay's state there.
    assert_eq!(state(&mut s), truth[(stop.position - start) as usize]);
    // A reverse search can be cancelled too, and then everything works again.
    s.set_progress(Some(Box::new(|_, _| false)));
    s.seek(end).unwrap_or_else(|_| unreachable!());
    s.set_progress(None);
    let p = s.seek(end).unwrap().position;
    assert_eq!(p, end);
    s.add_breakpoint(FuncIndex::from_u32(4), None).unwrap();
    s.set_progress(Some(Box::new(|_, _| false)));
    let stop = s.reverse_continue().unwrap();
    assert!(
        matches!(
            stop.reason,
            StopReason::Cancelled | StopReason::Breakpoint(_)
        ),
        "{stop:?}"
    );
    assert_eq!(state(&mut s), truth[(stop.position - start) as usize]);
    s.set_progress(None);
    assert_eq!(s.seek(end).unwrap().position, end);
}

/// stdout and stderr keep their interleaving: a guest writes `a` to stdout, `b` to stderr, then
/// `c` and `d` to stdout.
#[test]
fn output_keeps_the_order_of_stdout_and_stderr() {
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 100) "abcd")
      (func $put (param $fd i32) (param $at i32)
        (i32.store (i32.const 0) (local.get $at)) (i32.store (i32.const 4) (i32.const 1))
        (drop (call $w (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
      (func (export "_start")
        (call $put (i32.const 1) (i32.const 100))
        (call $put (i32.const 2) (i32.const 101))
        (call $put (i32.const 1) (i32.const 102))
        (call $put (i32.const 1) (i32.const 103))))"#;
    let module = Module::new(wat.as_bytes()).unwrap();
    let (_, bytes) = record_wasi(&module, &["g"], None, false);
    let reader = TraceReader::new(std::io::Cursor::new(bytes)).unwrap();
    let mut s = Session::open(
        reader,
        Some(deja_runtime::wasi::pending_output),
        SessionOptions::default(),
        None,
    )
    .unwrap();
    assert_eq!(
        s.output_in_order(),
        vec![(1, b"a".to_vec()), (2, b"b".to_vec()), (1, b"cd".to_vec())]
    );
    assert_eq!(s.output(), (b"acd".to_vec(), b"b".to_vec()));
    // As of the second write, only `a` has been written.
    let second = s.host_calls()[1];
    s.seek(second).unwrap();
    assert_eq!(s.output_in_order(), vec![(1, b"a".to_vec())]);
}
