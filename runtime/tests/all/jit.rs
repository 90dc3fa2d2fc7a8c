//! The JIT against the interpreter on hand-written programs: results, exact positions of
//! traps and host calls, frames seen from a host call, step budgets and the hand-over.

use deja_runtime::{
    Config, EngineKind, Error, FrameInfo, FuncType, Linker, Module, PauseReason, Resumable, Store,
    Val, ValType,
};

/// A program with loops, calls, memory, globals, an indirect call and a host call.
const PROGRAM: &str = r#"
(module
  (import "host" "log" (func $log (param i32 i64) (result i32)))
  (memory 1)
  (global $g (mut i64) (i64.const 7))
  (table funcref (elem $fib $sum))
  (type $t (func (param i32) (result i32)))
  (func $fib (type $t)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func $sum (type $t) (local $i i32) (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get 0)))
        (i32.store (i32.mul (local.get $i) (i32.const 4)) (local.get $i))
        (local.set $acc (i32.add (local.get $acc)
                          (i32.load (i32.mul (local.get $i) (i32.const 4)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $acc))
  (func (export "main") (param i32) (result i32 i64)
    (local $r i32)
    (local.set $r (call_indirect (type $t) (local.get 0) (i32.const 0)))
    (local.set $r (i32.add (local.get $r)
                    (call_indirect (type $t) (i32.const 1000) (i32.const 1))))
    (global.set $g (i64.mul (global.get $g) (i64.extend_i32_u (local.get $r))))
    (drop (call $log (local.get $r) (global.get $g)))
    (local.get $r) (global.get $g))
  (func (export "divide") (param i32 i32) (result i32)
    (call $inner (local.get 0) (local.get 1)))
  (func $inner (param i32 i32) (result i32)
    (i32.add (i32.const 1) (i32.div_s (local.get 0) (local.get 1))))
  (func $deep (export "deep") (param i32) (result i32)
    (if (result i32) (local.get 0)
      (then (call $deep (i32.sub (local.get 0) (i32.const 1))))
      (else (i32.const 0)))))
"#;

#[derive(Debug, PartialEq)]
struct HostCallSeen {
    args: Vec<Val>,
    position: u64,
    backtrace: Vec<(u32, u32)>,
}

fn store(engine: EngineKind) -> (Store<Vec<HostCallSeen>>, deja_runtime::Instance) {
    store_of(engine, &Module::new(PROGRAM.as_bytes()).expect("loads"))
}

/// A store on `engine` with `module` (of [`PROGRAM`]) instantiated.
fn store_of(
    engine: EngineKind,
    module: &Module,
) -> (Store<Vec<HostCallSeen>>, deja_runtime::Instance) {
    let mut store = Store::new(Config::default(), Vec::new());
    store.set_engine(engine).expect("idle");
    let mut linker: Linker<Vec<HostCallSeen>> = Linker::new();
    linker.func(
        "host",
        "log",
        FuncType::new([ValType::I32, ValType::I64], [ValType::I32]),
        |caller, args, results| {
            let backtrace = caller
                .backtrace()
                .iter()
                .map(|f: &FrameInfo| (f.func.as_u32(), f.pc))
                .collect();
            let position = caller.position();
            caller.data_mut().push(HostCallSeen {
                args: args.to_vec(),
                position,
                backtrace,
            });
            results[0] = Val::I32(99);
            Ok(())
        },
    );
    let instance = linker
        .instantiate(&mut store, module)
        .expect("instantiates");
    (store, instance)
}

/// The current call's frames, innermost first, as (function index, pc).
fn frames_of<T>(store: &Store<T>) -> Vec<(u32, u32)> {
    store
        .backtrace()
        .iter()
        .map(|f| (f.func.as_u32(), f.pc))
        .collect()
}

/// Runs `name(args)` on `engine`: outcome, final position, host calls seen, engine statistics.
fn run(
    engine: EngineKind,
    name: &str,
    args: &[Val],
) -> (
    Result<Vec<Val>, String>,
    u64,
    Vec<HostCallSeen>,
    deja_runtime::EngineStats,
) {
    let (mut store, instance) = store(engine);
    let f = store.get_func(instance, name).expect("export");
    let r = store.call(f, args).map_err(|e| match e {
        Error::Trap(t) => format!(
            "{} at {} in {:?}",
            t.code,
            t.position,
            t.backtrace
                .iter()
                .map(|f| (f.func.as_u32(), f.pc))
                .collect::<Vec<_>>()
        ),
        e => e.to_string(),
    });
    let position = store.position();
    let stats = store.engine_stats();
    (r, position, std::mem::take(store.data_mut()), stats)
}

fn same_on_both(name: &str, args: &[Val]) -> Result<Vec<Val>, String> {
    let (ri, pi, hi, _) = run(EngineKind::Interp, name, args);
    let (rj, pj, hj, stats) = run(EngineKind::Jit, name, args);
    assert_eq!(stats.jit_calls, 1, "{stats:?}");
    assert_eq!(stats.interp_calls, 0, "{stats:?}");
    assert_eq!(stats.hand_overs, 0, "{stats:?}");
    assert_eq!(rj, ri, "results of {name}");
    assert_eq!(pj, pi, "positions after {name}");
    assert_eq!(hj, hi, "host calls of {name}");
    ri
}

#[test]
fn results_positions_and_host_calls_match_the_interpreter() {
    let r = same_on_both("main", &[Val::I32(15)]).expect("returns");
    // fib(15) = 610, sum(0..1000) = 499500.
    let v = 610 + 499_500;
    assert_eq!(r, vec![Val::I32(v), Val::I64(7 * i64::from(v))]);
}

#[test]
fn a_trap_has_the_interpreters_position_and_backtrace() {
    assert_eq!(
        same_on_both("divide", &[Val::I32(7), Val::I32(2)]),
        Ok(vec![Val::I32(4)])
    );
    let e = same_on_both("divide", &[Val::I32(7), Val::I32(0)]).expect_err("traps");
    assert!(e.contains("divide by zero"), "{e}");
    // On x86-64 Linux a trap site is a `ud2` and a signal, not a cold block.
    let (_, _, _, stats) = run(EngineKind::Jit, "divide", &[Val::I32(7), Val::I32(0)]);
    let hardware = cfg!(all(target_arch = "x86_64", target_os = "linux"));
    assert_eq!(stats.hardware_traps, u64::from(hardware), "{stats:?}");
    let e = same_on_both("divide", &[Val::I32(i32::MIN), Val::I32(-1)]).expect_err("traps");
    assert!(e.contains("overflow"), "{e}");
}

#[test]
fn the_call_depth_limit_counts_wasm_frames_on_both() {
    assert_eq!(
        same_on_both("deep", &[Val::I32(1000)]),
        Ok(vec![Val::I32(0)])
    );
    let e = same_on_both("deep", &[Val::I32(100_000)]).expect_err("too deep");
    assert!(e.contains("call stack exhausted"), "{e}");
}

#[test]
fn a_step_budget_hands_over_at_the_exact_position() {
    let (_, total, _, _) = run(EngineKind::Interp, "main", &[Val::I32(12)]);
    for stop in [1, 17, total / 3, total - 1] {
        let mut results = Vec::new();
        for engine in [EngineKind::Interp, EngineKind::Jit] {
            let (mut store, instance) = store(engine);
            let f = store.get_func(instance, "main").expect("export");
            store.set_step_budget(Some(stop));
            let paused = store.call_resumable(f, &[Val::I32(12)]).expect("runs");
            let pause = paused.paused().expect("pauses");
            assert_eq!(pause.reason, PauseReason::StepBudget);
            assert_eq!(pause.position, stop, "{engine:?}");
            let frames = frames_of(&store);
            store.set_step_budget(None);
            let Resumable::Returned(r) = store.resume().expect("resumes") else {
                panic!("pauses again");
            };
            if engine == EngineKind::Jit {
                assert_eq!(store.engine_stats().hand_overs, 1);
            }
            results.push((
                frames,
                r,
                store.position(),
                std::mem::take(store.data_mut()),
            ));
        }
        assert_eq!(results[0], results[1], "stopping at {stop}");
    }
}

/// Soft budgets (the recorder's progress pauses) pause JIT code where it checks the limit and
/// resume it there: no hand-over, every pause at or before the budget, the frames at each pause
/// the interpreter's at the same position, and the same result in the end.
#[test]
fn soft_budget_pauses_stay_in_jit_code() {
    let (expected, total, _, _) = run(EngineKind::Interp, "main", &[Val::I32(22)]);
    let (mut store, instance) = store(EngineKind::Jit);
    let f = store.get_func(instance, "main").expect("export");
    store.set_soft_budget(true);
    let every = total / 40;
    store.set_step_budget(Some(every));
    let mut result = store.call_resumable(f, &[Val::I32(22)]).expect("runs");
    let mut pauses = Vec::new();
    while let Some(pause) = result.paused() {
        assert_eq!(pause.reason, PauseReason::StepBudget);
        let asked = store.stop_position().expect("a budget");
        assert!(pause.position <= asked, "{} > {asked}", pause.position);
        assert!(pauses.last().is_none_or(|p| *p < pause.position));
        let frames = frames_of(&store);
        pauses.push(pause.position);
        if pauses.len() % 7 == 1 {
            // The interpreter, stopped exactly there, shows the same frames.
            let (mut other, oi) = self::store(EngineKind::Interp);
            let g = other.get_func(oi, "main").expect("export");
            other.set_step_budget(Some(pause.position));
            let p = other.call_resumable(g, &[Val::I32(22)]).expect("runs");
            assert_eq!(p.paused().map(|p| p.position), Some(pause.position));
            let theirs = frames_of(&other);
            assert_eq!(frames, theirs, "at {}", pause.position);
        }
        store.set_step_budget(Some(every));
        result = store.resume().expect("resumes");
    }
    assert!(pauses.len() >= 20, "{pauses:?}");
    let Resumable::Returned(r) = result else {
        unreachable!()
    };
    assert_eq!(Ok(r), expected);
    assert_eq!(store.position(), total);
    let stats = store.engine_stats();
    assert_eq!(stats.hand_overs, 0, "{stats:?}");
}

/// A snapshot taken at a soft pause resumes in JIT code: every frame re-entered at its stop
/// point (a recursion of direct calls, a `call_indirect`, a loop head), with the interpreter's
/// frames, result, final position and host calls, and no hand-over.
#[test]
fn a_snapshot_taken_at_a_soft_pause_resumes_in_jit_code() {
    let (expected, total, host_calls, _) = run(EngineKind::Interp, "main", &[Val::I32(22)]);
    let (mut store, instance) = store(EngineKind::Jit);
    let f = store.get_func(instance, "main").expect("export");
    store.set_soft_budget(true);
    let every = total / 40;
    store.set_step_budget(Some(every));
    let mut result = store.call_resumable(f, &[Val::I32(22)]).expect("runs");
    let mut snapshots = Vec::new();
    while let Some(pause) = result.paused() {
        if snapshots.len() < 12 || pause.position > total * 9 / 10 {
            let snap = store.snapshot().expect("snapshot");
            snapshots.push((pause.position, frames_of(&store), snap));
        }
        store.set_step_budget(Some(every));
        result = store.resume().expect("resumes");
    }
    assert_eq!(result.returned().map(Ok), Some(expected.clone()));
    let depths: Vec<usize> = snapshots.iter().map(|s| s.1.len()).collect();
    assert!(depths.iter().any(|d| *d > 5), "{depths:?}");
    assert!(depths.contains(&2), "{depths:?}");
    let before = store.engine_stats();
    for (k, (position, frames, snap)) in snapshots.iter().enumerate() {
        store.data_mut().clear();
        store.restore(snap).expect("restore");
        assert_eq!(store.position(), *position);
        assert_eq!(frames_of(&store), *frames, "restored at {position}");
        // Every other one pauses again on the way, softly, and shows the interpreter's frames.
        let r = if k.is_multiple_of(2) || position + every / 2 > total {
            store.set_step_budget(None);
            store.resume().expect("resumes")
        } else {
            store.set_step_budget(Some(every / 3));
            let r = store.resume().expect("resumes");
            let pause = r.paused().unwrap_or_else(|| {
                panic!(
                    "pauses again: {r:?} at {} from {position}, {:?}",
                    store.position(),
                    store.engine_stats()
                )
            });
            let (mut other, oi) = self::store(EngineKind::Interp);
            let g = other.get_func(oi, "main").expect("export");
            other.set_step_budget(Some(pause.position));
            let p = other.call_resumable(g, &[Val::I32(22)]).expect("runs");
            assert_eq!(p.paused().map(|p| p.position), Some(pause.position));
            assert_eq!(
                frames_of(&store),
                frames_of(&other),
                "at {}",
                pause.position
            );
            store.set_step_budget(None);
            store.resume().expect("resumes")
        };
        assert_eq!(
            r.returned().map(Ok),
            Some(expected.clone()),
            "from {position}"
        );
        assert_eq!(store.position(), total, "from {position}");
        assert_eq!(store.data_mut()[..], host_calls[..], "from {position}");
    }
    let stats = store.engine_stats();
    assert_eq!(
        stats.resumes - before.resumes,
        snapshots.len() as u64,
        "{stats:?}"
    );
    assert_eq!(stats.hand_overs, 0, "{stats:?}");
}

/// Breakpoints leave JIT code only at the entry of a function that has one: a breakpoint in
/// a function never called costs no hand-over, one in `$sum` (entered through
/// `call_indirect`) and one at `$fib`'s entry stop where the interpreter stops, with the same
/// frames, and the call then finishes with the same result. From a breakpoint at an entry the
/// call goes on in JIT code.
#[test]
fn breakpoints_hand_over_at_the_entry_of_their_function_only() {
    let (expected, total, _, _) = run(EngineKind::Interp, "main", &[Val::I32(22)]);
    let module = Module::new(PROGRAM.as_bytes()).expect("loads");
    // Function indices: $log 0, $fib 1, $sum 2, main 3, divide 4, $inner 5, $deep 6.
    let stops = |engine: EngineKind, bps: &[(u32, u32)]| {
        let (mut store, instance) = store_of(engine, &module);
        let f = store.get_func(instance, "main").expect("export");
        // (function, bytes after its first instruction)
        for (func, after) in bps {
            let func = deja_runtime::FuncIndex::from_u32(*func);
            let first = store
                .add_breakpoint(&module, func, 0)
                .expect("a breakpoint");
            if *after > 0 {
                store.remove_breakpoint(&module, func, first);
                store
                    .add_breakpoint(&module, func, first + after)
                    .expect("a breakpoint");
            }
        }
        let mut stops = Vec::new();
        let mut r = store.call_resumable(f, &[Val::I32(22)]).expect("runs");
        while let Some(p) = r.paused() {
            let frames = frames_of(&store);
            stops.push((p.position, frames));
            if stops.len() == 3 {
                store.clear_breakpoints();
            }
            r = store.resume().expect("resumes");
        }
        assert_eq!(r.returned().map(Ok), Some(expected.clone()));
        assert_eq!(store.position(), total);
        (stops, store.engine_stats())
    };
    let (none, stats) = stops(EngineKind::Jit, &[(6, 0)]);
    assert!(none.is_empty());
    assert_eq!(stats.hand_overs, 0, "{stats:?}");
    // From a breakpoint at a function's first instruction JIT code goes on (`resumes`), and
    // hands over again at the next hit (the test clears them after 3; `$sum`'s is at its loop
    // head, hit every iteration, so that the engine soon leaves them to the interpreter); from
    // one inside a function the interpreter goes on.
    for (bps, entry) in [
        (&[(6, 0), (2, 0)][..], true),
        (&[(1, 0)], true),
        (&[(2, 12)], false),
    ] {
        let (jit, stats) = stops(EngineKind::Jit, bps);
        let (interp, _) = stops(EngineKind::Interp, bps);
        assert!(!jit.is_empty(), "{bps:?}");
        assert_eq!(jit, interp, "{bps:?}");
        assert_eq!(stats.resumes > 0, entry, "{bps:?}: {stats:?}");
        assert!(stats.hand_overs >= 1, "{bps:?}: {stats:?}");
    }
}

/// Watchpoints leave JIT code only right before a store that writes a watched byte: the
/// interpreter stops right after it, where it would have stopped itself. Nothing written
/// there, no hand-over; two ranges far apart (their hull holds most stores) still stop only
/// at the stores into them.
#[test]
fn watchpoints_hand_over_right_before_a_write_into_them() {
    let (expected, total, _, _) = run(EngineKind::Interp, "main", &[Val::I32(22)]);
    let stops = |engine: EngineKind, watches: &[(u64, u64)]| {
        let (mut store, instance) = store(engine);
        let f = store.get_func(instance, "main").expect("export");
        let mem = store.instance_memory(instance).expect("a memory");
        for (addr, len) in watches {
            store.add_watchpoint(mem, *addr, *len);
        }
        let mut stops = Vec::new();
        let mut r = store.call_resumable(f, &[Val::I32(22)]).expect("runs");
        while let Some(p) = r.paused() {
            assert_eq!(p.reason, PauseReason::Watchpoint);
            let frames = frames_of(&store);
            stops.push((p.position, store.watch_write(), frames));
            r = store.resume().expect("resumes");
        }
        assert_eq!(r.returned().map(Ok), Some(expected.clone()));
        assert_eq!(store.position(), total);
        (stops, store.engine_stats())
    };
    let (none, stats) = stops(EngineKind::Jit, &[(60_000, 4)]);
    assert!(none.is_empty());
    assert_eq!(stats.hand_overs, 0, "{stats:?}");
    // The last: a range to the end of the address space (its end saturates).
    for watches in [&[(40, 4)][..], &[(9, 1), (3000, 8)], &[(0, u64::MAX)]] {
        let (jit, stats) = stops(EngineKind::Jit, watches);
        let (interp, _) = stops(EngineKind::Interp, watches);
        assert!(!jit.is_empty(), "{watches:?}");
        assert_eq!(jit, interp, "{watches:?}");
        assert_eq!(stats.hand_overs, 1, "{watches:?}: {stats:?}");
    }
}

/// A hard stop set at a soft pause is exact: the JIT checks the new limit where it resumes,
/// before any step (it used to run on to its next check and overshoot).
#[test]
fn a_hard_stop_after_a_soft_pause_is_exact() {
    let (expected, total, _, _) = run(EngineKind::Interp, "main", &[Val::I32(22)]);
    let (mut store, instance) = store(EngineKind::Jit);
    let f = store.get_func(instance, "main").expect("export");
    store.set_soft_budget(true);
    store.set_step_budget(Some(total / 3));
    let paused = store.call_resumable(f, &[Val::I32(22)]).expect("runs");
    let soft = paused.paused().expect("a soft pause").position;
    for wanted in [soft + 1, soft + 7, soft + 1000] {
        store.set_soft_budget(false);
        store.set_stop_position(Some(wanted));
        let r = store.resume().expect("resumes");
        assert_eq!(r.paused().map(|p| p.position), Some(wanted));
    }
    store.set_stop_position(None);
    let Resumable::Returned(r) = store.resume().expect("resumes") else {
        panic!("pauses again");
    };
    assert_eq!(Ok(r), expected);
    assert_eq!(store.position(), total);
}

/// A store on `engine` with `module` instantiated (no imports).
fn instantiate(module: &Module, engine: EngineKind) -> (Store<()>, deja_runtime::Instance) {
    let mut store = Store::new(Config::default(), ());
    store.set_engine(engine).expect("idle");
    let instance = Linker::new()
        .instantiate(&mut store, module)
        .expect("instantiates");
    (store, instance)
}

/// Accesses at the end of memory 0: in bounds up to the last byte, a trap one byte beyond,
/// a store that straddles the end writes nothing, and after `memory.grow` the new pages are
/// in bounds. On x86-64 Linux the JIT takes these traps from the guard reservation's faults.
#[test]
fn accesses_at_the_end_of_memory_trap_exactly_and_write_nothing() {
    const EDGE: &str = r#"
    (module
      (memory (export "m") 1)
      (func (export "load") (param i32) (result i64) (i64.load (local.get 0)))
      (func (export "load8") (param i32) (result i32) (i32.load8_u offset=1 (local.get 0)))
      (func (export "store") (param i32) (i64.store (local.get 0) (i64.const -1)))
      (func (export "grow") (result i32) (memory.grow (i32.const 1))))
    "#;
    let module = Module::new(EDGE.as_bytes()).expect("loads");
    let mut outcomes = Vec::new();
    for engine in [EngineKind::Interp, EngineKind::Jit] {
        let (mut store, instance) = instantiate(&module, engine);
        let mut seen = Vec::new();
        let mut call = |store: &mut Store<()>, name: &str, args: &[Val]| {
            let f = store.get_func(instance, name).expect("export");
            let r = store.call(f, args).map_err(|e| match e {
                Error::Trap(t) => format!("{} at {}", t.code, t.position),
                e => e.to_string(),
            });
            seen.push((name.to_string(), args.to_vec(), r, store.position()));
        };
        for a in [65528, 65529, 65535, u32::MAX as i32] {
            call(&mut store, "load", &[Val::I32(a)]);
        }
        for a in [65534, 65535] {
            call(&mut store, "load8", &[Val::I32(a)]);
        }
        call(&mut store, "store", &[Val::I32(65532)]);
        let m = store.instance_memory(instance).expect("a memory");
        let after_straddle = store.memory_data(m)[65528..].to_vec();
        call(&mut store, "store", &[Val::I32(65528)]);
        call(&mut store, "grow", &[]);
        call(&mut store, "store", &[Val::I32(65532)]);
        call(&mut store, "load", &[Val::I32(131_064)]);
        call(&mut store, "load", &[Val::I32(131_065)]);
        let tail = store.memory_data(m)[65520..65540].to_vec();
        let stats = store.engine_stats();
        if engine == EngineKind::Jit {
            assert_eq!(stats.interp_calls, 0, "{stats:?}");
            let hardware = cfg!(all(target_arch = "x86_64", target_os = "linux"));
            // Three loads, one load8, one straddling store and the last load trap.
            assert_eq!(
                stats.hardware_traps,
                if hardware { 6 } else { 0 },
                "{stats:?}"
            );
        }
        outcomes.push((seen, after_straddle, tail));
    }
    assert_eq!(outcomes[0], outcomes[1]);
    let (seen, after_straddle, tail) = &outcomes[0];
    let traps = seen.iter().filter(|s| s.2.is_err()).count();
    assert_eq!(traps, 6, "{seen:?}");
    // The straddling store wrote nothing; the in-bounds ones wrote all eight bytes.
    assert_eq!(after_straddle, &[0; 8]);
    assert_eq!(&tail[..8], &[0; 8]);
    assert_eq!(&tail[8..20], &[0xff; 12]);
}

/// More results than the host has return registers (Cranelift returns the rest through
/// memory the caller provides).
#[test]
fn a_call_with_more_results_than_registers_runs_in_jit_code() {
    let wat = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/all/many-results.wat"
    ))
    .expect("the test module");
    let module = Module::new(wat.as_bytes()).expect("loads");
    let mut results = Vec::new();
    for engine in [EngineKind::Interp, EngineKind::Jit] {
        let (mut store, instance) = instantiate(&module, engine);
        let f = store.get_func(instance, "f").expect("export");
        results.push(store.call(f, &[]).expect("returns"));
        let stats = store.engine_stats();
        if engine == EngineKind::Jit {
            assert_eq!(stats.last_compile_error, None);
            assert_eq!((stats.jit_calls, stats.interp_calls), (1, 0));
        }
    }
    assert_eq!(results[0], vec![Val::I64(3), Val::F64(17f64.to_bits())]);
    assert_eq!(results[0], results[1]);
}

/// The background thread compiles the callees of a compiled function before the guest calls
/// them: `run 0` compiles only `run` on the guest's thread, and the nine functions of the
/// chain it would call are then compiled ahead, so that `run 1` calls all of them without
/// compiling any. (Fails under `DEJA_JIT_BACKGROUND=0`, which turns the thread off.)
#[test]
fn the_background_thread_compiles_callees_before_their_first_call() {
    let mut wat = String::from("(module\n");
    wat.push_str(
        "(func (export \"run\") (param i32) (result i32)
           (if (result i32) (local.get 0) (then (call $f1 (i32.const 1))) (else (i32.const -1))))\n",
    );
    for i in 1..9 {
        wat.push_str(&format!(
            "(func $f{i} (param i32) (result i32) (call $f{} (i32.add (local.get 0) (i32.const {i}))))\n",
            i + 1
        ));
    }
    wat.push_str("(func $f9 (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2))))");
    let module = Module::new(wat.as_bytes()).expect("loads");
    let (mut store, instance) = instantiate(&module, EngineKind::Jit);
    let run = store.get_func(instance, "run").expect("export");
    assert_eq!(
        store.call(run, &[Val::I32(0)]).expect("runs"),
        [Val::I32(-1)]
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while store.engine_stats().functions_compiled < 10 {
        assert!(
            std::time::Instant::now() < deadline,
            "the chain was not compiled ahead: {:?}",
            store.engine_stats()
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let stats = store.engine_stats();
    assert_eq!(
        (stats.functions_compiled, stats.functions_compiled_ahead),
        (10, 9),
        "{stats:?}"
    );
    // 1 + 1 + ... + 8, doubled.
    assert_eq!(
        store.call(run, &[Val::I32(1)]).expect("runs"),
        [Val::I32(74)]
    );
    let stats = store.engine_stats();
    assert_eq!(
        (stats.functions_compiled, stats.interp_calls),
        (10, 0),
        "{stats:?}"
    );
}

/// A function called often enough is compiled again on the second tier (the backtracking
/// register allocator) by the background thread, and its later calls run that code with
/// the same results and positions as the interpreter's.
#[test]
fn a_hot_function_moves_to_the_second_tier_and_computes_the_same() {
    let mut wat = String::from("(module\n");
    // `mix` loops, so its second tier has values to keep in registers across blocks.
    wat.push_str(
        "(func $mix (export \"mix\") (param i32) (result i32) (local i32)
           (loop $l
             (local.set 1 (i32.add (i32.mul (local.get 1) (i32.const 31)) (local.get 0)))
             (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
             (br_if $l (i32.gt_s (local.get 0) (i32.const 0))))
           (local.get 1))\n",
    );
    // Enough functions for the background thread (`BACKGROUND_MIN_FUNCS`).
    for i in 1..9 {
        wat.push_str(&format!(
            "(func $f{i} (export \"f{i}\") (param i32) (result i32) (call $mix (local.get 0)))\n"
        ));
    }
    wat.push(')');
    let module = Module::new(wat.as_bytes()).expect("loads");
    let mut outcomes = Vec::new();
    for engine in [EngineKind::Interp, EngineKind::Jit] {
        let (mut store, instance) = instantiate(&module, engine);
        let f1 = store.get_func(instance, "f1").expect("export");
        let mut seen = Vec::new();
        let mut call = |store: &mut Store<()>, n: i32| {
            let r = store.call(f1, &[Val::I32(n)]).expect("runs");
            seen.push((r, store.position()));
        };
        for n in 0..300 {
            call(&mut store, n);
        }
        if engine == EngineKind::Jit {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while store.engine_stats().functions_second_tier < 2 {
                assert!(
                    std::time::Instant::now() < deadline,
                    "nothing moved to the second tier: {:?}",
                    store.engine_stats()
                );
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        for n in 300..400 {
            call(&mut store, n);
        }
        let stats = store.engine_stats();
        if engine == EngineKind::Jit {
            // `f1` and `mix`; the other seven were never called.
            assert_eq!(
                (stats.functions_compiled, stats.functions_second_tier),
                (2, 2),
                "{stats:?}"
            );
            assert_eq!(stats.interp_calls, 0, "{stats:?}");
        }
        outcomes.push(seen);
    }
    assert_eq!(outcomes[0], outcomes[1]);
}

/// A function whose native frame is larger than the JIT's guess at stack-reservation time
/// (many locals, each stored; without signals-based traps every store is its own bounds
/// check, and the single-pass register allocator spills at each one) recursing until the
/// call-depth limit: when the native stack is short, the call goes on on the interpreter and
/// traps exactly where the interpreter alone does, instead of overflowing the stack.
#[test]
fn a_native_stack_too_short_for_the_depth_limit_hands_over_to_the_interpreter() {
    let n = 1056;
    let mut wat = String::from("(module (memory 1) (func $deep (export \"deep\")");
    wat.push_str(&" (local i64)".repeat(n));
    wat.push_str(" (call $deep)");
    for i in 0..n {
        wat.push_str(&format!(
            " (i64.store offset={i} align=1 (i32.const 0) (local.get {i}))"
        ));
    }
    wat.push_str("))");
    let module = Module::new(wat.as_bytes()).expect("loads");
    let run = |engine: EngineKind, signals_based_traps: bool| {
        let config = Config {
            signals_based_traps,
            ..Config::default()
        };
        let mut store = Store::new(config, ());
        store.set_engine(engine).expect("idle");
        let instance = Linker::new()
            .instantiate(&mut store, &module)
            .expect("instantiates");
        let f = store.get_func(instance, "deep").unwrap();
        let code = match store.call(f, &[]) {
            Err(deja_runtime::Error::Trap(t)) => t.code,
            other => panic!("expected a trap, got {other:?}"),
        };
        (code, store.position(), store.engine_stats().hand_overs)
    };
    let (code, position, _) = run(EngineKind::Interp, true);
    assert_eq!(code, deja_runtime::TrapCode::CallStackExhausted);
    let (jit_code, jit_position, hand_overs) = run(EngineKind::Jit, false);
    assert_eq!((jit_code, jit_position), (code, position));
    assert_eq!(hand_overs, 1, "the JIT's stack ran short once");
    let (jit_code, jit_position, _) = run(EngineKind::Jit, true);
    assert_eq!((jit_code, jit_position), (code, position));
}
