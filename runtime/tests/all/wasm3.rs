//! WebAssembly 3.0 features as they land, on both engines. So far: extended constant
//! expressions (global initializers, data and element offsets computed with `add`, `sub`,
//! `mul` over constants and imported or earlier globals) and tail calls.

use deja_runtime::{
    Config, EngineKind, Error, FuncType, GlobalType, Linker, Module, PauseReason, Resumable, Store,
    Val, ValType,
};

const GUEST: &str = r#"(module
  (import "env" "base" (global $base i32))
  (global $g1 i32 (i32.add (global.get $base) (i32.const 10)))
  (global $g2 i64 (i64.mul (i64.sub (i64.const 100) (i64.const 1)) (i64.const 3)))
  (global $g3 i32 (i32.sub (i32.mul (global.get $base) (i32.const 2)) (i32.const 1)))
  (global $wrap i32 (i32.mul (i32.const 0x10000) (i32.const 0x10000)))
  (memory 1)
  (data (i32.add (global.get $base) (i32.const 4)) "\2a")
  (table 8 funcref)
  (elem (offset (i32.sub (global.get $base) (i32.const 95))) $five)
  (func $five (result i32) (i32.const 5))
  (func (export "g1") (result i32) (global.get $g1))
  (func (export "g2") (result i64) (global.get $g2))
  (func (export "g3") (result i32) (global.get $g3))
  (func (export "wrap") (result i32) (global.get $wrap))
  (func (export "byte") (result i32) (i32.load8_u (i32.const 104)))
  (func (export "call5") (result i32) (call_indirect (result i32) (i32.const 5))))"#;

fn run(engine: EngineKind) -> Vec<Val> {
    let module = Module::new(&wat::parse_str(GUEST).unwrap()).expect("extended constants load");
    let mut store = Store::new(Config::default(), ());
    store.set_engine(engine).unwrap();
    let base = store.new_global(
        GlobalType {
            content: ValType::I32,
            mutable: false,
        },
        Val::I32(100),
    );
    let mut linker = Linker::new();
    linker.define("env", "base", deja_runtime::Extern::Global(base));
    let instance = linker.instantiate(&mut store, &module).unwrap();
    ["g1", "g2", "g3", "wrap", "byte", "call5"]
        .iter()
        .map(|name| {
            let f = store.get_func(instance, name).unwrap();
            store.call(f, &[]).unwrap()[0]
        })
        .collect()
}

#[test]
fn extended_constant_expressions_on_both_engines() {
    let expected = vec![
        Val::I32(110),
        Val::I64(297),
        Val::I32(199),
        Val::I32(0),
        Val::I32(42),
        Val::I32(5),
    ];
    assert_eq!(run(EngineKind::Interp), expected);
    assert_eq!(run(EngineKind::Jit), expected);
}

/// Tail calls: direct, indirect (mutual recursion through a table), into another instance, and
/// to a host function, from the outermost frame and from a nested one.
const TAILS: &str = r#"(module
  (import "host" "log" (func $log (param i32 i64) (result i32)))
  (import "other" "count" (func $count (param i64 i64) (result i64)))
  (type $p (func (param i64) (result i32)))
  (table funcref (elem $even $odd $count_i32))
  (func $loop (export "loop") (param i64 i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (local.get 1))
      (else (return_call $loop (i64.sub (local.get 0) (i64.const 1))
                               (i64.add (local.get 1) (local.get 0))))))
  (func $even (type $p)
    (if (result i32) (i64.eqz (local.get 0))
      (then (i32.const 1))
      (else (return_call_indirect (type $p) (i64.sub (local.get 0) (i64.const 1)) (i32.const 1)))))
  (func $odd (type $p)
    (if (result i32) (i64.eqz (local.get 0))
      (then (i32.const 0))
      (else (return_call_indirect (type $p) (i64.sub (local.get 0) (i64.const 1)) (i32.const 0)))))
  (func $count_i32 (type $p) (i32.wrap_i64 (call $count (local.get 0) (i64.const 0))))
  (func (export "even") (param i64) (result i32) (return_call $even (local.get 0)))
  (func (export "host_tail") (param i32) (result i32)
    (i32.const 1000)
    (return_call $log (local.get 0) (i64.const 5)))
  (func (export "host_tail_nested") (param i32) (result i32)
    (i32.add (i32.const 1) (call $tailer (local.get 0))))
  (func $tailer (param i32) (result i32)
    (local i64)
    (local.set 1 (i64.const 77))
    (return_call $log (i32.mul (local.get 0) (i32.const 2)) (local.get 1)))
  (func (export "cross") (param i64) (result i64)
    (return_call $count (local.get 0) (i64.const 0)))
  (func (export "indirect") (param i64 i32) (result i32)
    (return_call_indirect (type $p) (local.get 0) (local.get 1))))"#;

const OTHER: &str = r#"(module
  (func $count (export "count") (param i64 i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (local.get 1))
      (else (return_call $count (i64.sub (local.get 0) (i64.const 1))
                                (i64.add (local.get 1) (i64.const 2)))))))"#;

/// What the host saw at each call of `log`: arguments, position and frames.
type Seen = Vec<(Vec<Val>, u64, Vec<(u32, u32)>)>;

/// A store with both modules instantiated, a call depth limit of 50 frames.
fn tails(engine: EngineKind) -> (Store<Seen>, deja_runtime::Instance) {
    tails_with(engine, 50)
}

fn tails_with(engine: EngineKind, max_call_depth: u32) -> (Store<Seen>, deja_runtime::Instance) {
    let config = Config {
        max_call_depth,
        ..Config::default()
    };
    let mut store = Store::new(config, Vec::new());
    store.set_engine(engine).unwrap();
    let mut linker: Linker<Seen> = Linker::new();
    linker.func(
        "host",
        "log",
        FuncType::new([ValType::I32, ValType::I64], [ValType::I32]),
        |caller, args, results| {
            let frames = caller
                .backtrace()
                .iter()
                .map(|f| (f.func.as_u32(), f.pc))
                .collect();
            let position = caller.position();
            caller.data_mut().push((args.to_vec(), position, frames));
            let Val::I32(x) = args[0] else { unreachable!() };
            results[0] = Val::I32(x + 1);
            Ok(())
        },
    );
    let other = Module::new(&wat::parse_str(OTHER).unwrap()).unwrap();
    let other = linker.instantiate(&mut store, &other).unwrap();
    let count = store.get_func(other, "count").unwrap();
    linker.define("other", "count", deja_runtime::Extern::Func(count));
    let module = Module::new(&wat::parse_str(TAILS).unwrap()).expect("tail calls load");
    let instance = linker.instantiate(&mut store, &module).unwrap();
    (store, instance)
}

/// `name(args)` on `engine`: the outcome (a trap with its position and frames), the final
/// position, and what the host saw.
fn tail_run(engine: EngineKind, name: &str, args: &[Val]) -> (Result<Vec<Val>, String>, u64, Seen) {
    let (mut store, instance) = tails(engine);
    let f = store.get_func(instance, name).unwrap();
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
    if engine == EngineKind::Jit {
        let stats = store.engine_stats();
        assert_eq!((stats.jit_calls, stats.hand_overs), (1, 0), "{stats:?}");
    }
    (r, store.position(), std::mem::take(store.data_mut()))
}

fn tail_both(name: &str, args: &[Val]) -> (Result<Vec<Val>, String>, u64, Seen) {
    let interp = tail_run(EngineKind::Interp, name, args);
    let jit = tail_run(EngineKind::Jit, name, args);
    assert_eq!(
        jit, interp,
        "{name}{args:?}: the JIT against the interpreter"
    );
    interp
}

#[test]
fn tail_calls_keep_the_call_depth_flat_on_both_engines() {
    // 100,000 calls deep with a limit of 50 frames: each tail call replaces its frame.
    let (r, steps, _) = tail_both("loop", &[Val::I64(100_000), Val::I64(0)]);
    assert_eq!(r, Ok(vec![Val::I64(5_000_050_000)]));
    // Per call: local.get, i64.eqz, if, then the arguments (6) and the tail call; the last
    // call takes local.get, i64.eqz, if, local.get and the body's end.
    assert_eq!(steps, 100_000 * 10 + 5);
    let (r, _, _) = tail_both("even", &[Val::I64(100_001)]);
    assert_eq!(r, Ok(vec![Val::I32(0)]));
    // Into another instance, and on there.
    let (r, _, _) = tail_both("cross", &[Val::I64(70_000)]);
    assert_eq!(r, Ok(vec![Val::I64(140_000)]));
    // An ordinary call still counts: the table's third entry calls `count` (no tail call).
    let (r, _, _) = tail_both("indirect", &[Val::I64(9), Val::I32(2)]);
    assert_eq!(r, Ok(vec![Val::I32(18)]));
}

#[test]
fn a_tail_call_to_a_host_function_keeps_the_frame_while_the_host_runs() {
    let (r, steps, seen) = tail_both("host_tail", &[Val::I32(41)]);
    assert_eq!(r, Ok(vec![Val::I32(42)]));
    // i32.const, local.get, i64.const, return_call: the host call is the last step.
    assert_eq!(steps, 4);
    assert_eq!(seen.len(), 1);
    let (args, position, frames) = &seen[0];
    assert_eq!(args, &[Val::I32(41), Val::I64(5)]);
    assert_eq!(
        *position, 3,
        "the tail call is not complete while the host runs"
    );
    assert_eq!(frames.len(), 1, "{frames:?}");
    let (r, _, seen) = tail_both("host_tail_nested", &[Val::I32(20)]);
    assert_eq!(r, Ok(vec![Val::I32(42)]));
    assert_eq!(
        seen[0].2.len(),
        2,
        "the tail caller and its caller: {:?}",
        seen[0].2
    );
}

#[test]
fn traps_in_tail_calls_have_exact_positions_on_both_engines() {
    let (r, _, _) = tail_both("indirect", &[Val::I64(1), Val::I32(7)]);
    let e = r.expect_err("out of the table");
    assert!(
        e.contains("undefined element") && e.contains(" at 2 "),
        "{e}"
    );
    // `loop` 100,000 deep is fine, but the plain call into `count` from the table's third
    // entry still counts its frames: a limit below two fails.
    for engine in [EngineKind::Interp, EngineKind::Jit] {
        let (mut store, instance) = tails_with(engine, 1);
        let f = store.get_func(instance, "indirect").unwrap();
        let e = store.call(f, &[Val::I64(3), Val::I32(2)]).unwrap_err();
        assert!(
            e.to_string().contains("call stack exhausted"),
            "{engine:?}: {e}"
        );
    }
}

/// The frames (function, pc, locals, operands) at a pause.
fn frames<T>(store: &Store<T>) -> Vec<(u32, u32, Vec<Val>, Vec<Val>)> {
    let mut c = store.debug_frames();
    let mut out = Vec::new();
    while !c.done() {
        out.push((
            c.func_index().as_u32(),
            c.pc(),
            (0..c.num_locals()).map(|i| c.local(i)).collect(),
            (0..c.num_stacks()).map(|i| c.stack(i)).collect(),
        ));
        c.move_to_parent();
    }
    out
}

#[test]
fn a_pause_anywhere_in_tail_calls_shows_the_same_frames_on_both_engines() {
    for (name, args) in [
        ("even", vec![Val::I64(30)]),
        ("cross", vec![Val::I64(20)]),
        ("host_tail_nested", vec![Val::I32(3)]),
        ("indirect", vec![Val::I64(4), Val::I32(2)]),
    ] {
        let (_, total, _) = tail_both(name, &args);
        for stop in 1..total {
            let mut seen = Vec::new();
            for engine in [EngineKind::Interp, EngineKind::Jit] {
                let (mut store, instance) = tails(engine);
                let f = store.get_func(instance, name).unwrap();
                store.set_step_budget(Some(stop));
                let paused = store.call_resumable(f, &args).unwrap();
                let pause = paused.paused().expect("pauses");
                assert_eq!(
                    (pause.reason, pause.position),
                    (PauseReason::StepBudget, stop)
                );
                let at = frames(&store);
                store.set_step_budget(None);
                let Resumable::Returned(r) = store.resume().unwrap() else {
                    panic!("pauses again");
                };
                seen.push((at, r, store.position()));
            }
            assert_eq!(seen[0], seen[1], "{name} paused at {stop}");
        }
    }
}
