//! WebAssembly 3.0 features as they land, on both engines. So far: extended constant
//! expressions (global initializers, data and element offsets computed with `add`, `sub`,
//! `mul` over constants and imported or earlier globals), tail calls, typed function
//! references, multi-memory and memory64 (64-bit tables included).

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
    let base = store
        .new_global(
            GlobalType {
                content: ValType::I32,
                mutable: false,
            },
            Val::I32(100),
        )
        .unwrap();
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
    (return_call_indirect (type $p) (local.get 0) (local.get 1)))
  (func (export "nested_tail") (param i64) (result i64)
    (i64.add (i64.const 1) (call $hop (local.get 0))))
  (func $hop (param i64) (result i64)
    (return_call $loop (local.get 0) (i64.const 0))))"#;

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
        // The caller called `hop` (one argument), which `loop` (two) replaced.
        ("nested_tail", vec![Val::I64(5)]),
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

/// Typed function references: `call_ref`, `return_call_ref`, `br_on_null`, `br_on_non_null`,
/// `ref.as_non_null`, a table with an initializer, typed locals and globals.
const REFS: &str = r#"(module
  (type $i2i (func (param i32) (result i32)))
  (func $inc (type $i2i) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $i2i) (i32.mul (local.get 0) (i32.const 2)))
  (table $t 2 (ref null $i2i) (ref.func $inc))
  (global $g (mut (ref null $i2i)) (ref.null $i2i))
  (elem declare func $inc $dbl)
  (func (export "apply") (param i32 i32) (result i32)
    (local $f (ref null $i2i))
    (local.set $f (if (result (ref $i2i)) (local.get 1)
      (then (ref.func $dbl)) (else (ref.func $inc))))
    (call_ref $i2i (local.get 0) (local.get $f)))
  (func (export "null_call") (result i32)
    (call_ref $i2i (i32.const 1) (ref.null $i2i)))
  (func (export "as_non_null") (result i32)
    (drop (ref.as_non_null (global.get $g)))
    (i32.const 0))
  (func (export "on_null") (param i32) (result i32)
    (block $null
      (return (call_ref $i2i (i32.const 10)
        (br_on_null $null
          (if (result (ref null $i2i)) (local.get 0)
            (then (global.get $g))
            (else (table.get $t (i32.const 0))))))))
    (i32.const -1))
  (func (export "on_non_null") (param i32) (result i32)
    (i32.const 5)
    (block $some (param i32) (result i32 (ref $i2i))
      (br_on_non_null $some
        (if (result (ref null $i2i)) (local.get 0)
          (then (global.get $g))
          (else (table.get $t (i32.const 1)))))
      (drop)
      (return (i32.const -2)))
    (call_ref $i2i))
  (func (export "tail_ref") (param i32) (result i32)
    (global.set $g (ref.func $dbl))
    (return_call_ref $i2i (local.get 0) (global.get $g))))"#;

fn refs(engine: EngineKind) -> (Store<()>, deja_runtime::Instance) {
    let module = Module::new(&wat::parse_str(REFS).unwrap()).expect("typed references load");
    let mut store = Store::new(Config::default(), ());
    store.set_engine(engine).unwrap();
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    (store, instance)
}

fn refs_run(engine: EngineKind, name: &str, args: &[Val]) -> (Result<Vec<Val>, String>, u64) {
    let (mut store, instance) = refs(engine);
    let f = store.get_func(instance, name).unwrap();
    let r = store.call(f, args).map_err(|e| match e {
        Error::Trap(t) => format!("{} at {}", t.code, t.position),
        e => e.to_string(),
    });
    if engine == EngineKind::Jit {
        let stats = store.engine_stats();
        assert_eq!((stats.jit_calls, stats.hand_overs), (1, 0), "{stats:?}");
    }
    (r, store.position())
}

/// A call: the export, its arguments, and its results or trap.
type RefCase<'a> = (&'a str, &'a [Val], Result<Vec<Val>, &'a str>);

#[test]
fn typed_function_references_on_both_engines() {
    let cases: &[RefCase<'_>] = &[
        ("apply", &[Val::I32(3), Val::I32(0)], Ok(vec![Val::I32(4)])),
        ("apply", &[Val::I32(3), Val::I32(1)], Ok(vec![Val::I32(6)])),
        ("null_call", &[], Err("null function reference at 2")),
        ("as_non_null", &[], Err("null reference at 1")),
        ("on_null", &[Val::I32(1)], Ok(vec![Val::I32(-1)])),
        ("on_null", &[Val::I32(0)], Ok(vec![Val::I32(11)])),
        ("on_non_null", &[Val::I32(1)], Ok(vec![Val::I32(-2)])),
        ("on_non_null", &[Val::I32(0)], Ok(vec![Val::I32(6)])),
        ("tail_ref", &[Val::I32(7)], Ok(vec![Val::I32(14)])),
    ];
    for (name, args, expected) in cases {
        let interp = refs_run(EngineKind::Interp, name, args);
        let jit = refs_run(EngineKind::Jit, name, args);
        assert_eq!(
            jit, interp,
            "{name}{args:?}: the JIT against the interpreter"
        );
        assert_eq!(
            interp.0,
            expected.clone().map_err(str::to_string),
            "{name}{args:?}"
        );
        // A pause before every step shows the same frames on both engines.
        for stop in 1..interp.1 {
            let seen: Vec<_> = [EngineKind::Interp, EngineKind::Jit]
                .into_iter()
                .map(|engine| {
                    let (mut store, instance) = refs(engine);
                    let f = store.get_func(instance, name).unwrap();
                    store.set_step_budget(Some(stop));
                    let paused = store.call_resumable(f, args).unwrap();
                    assert_eq!(paused.paused().map(|p| p.position), Some(stop));
                    frames(&store)
                })
                .collect();
            assert_eq!(seen[0], seen[1], "{name}{args:?} paused at {stop}");
        }
    }
}

#[test]
fn imports_with_typed_references_must_match_exactly() {
    let exporter = r#"(module
      (type $i2i (func (param i32) (result i32)))
      (type $takes (func (param (ref $i2i)) (result i32)))
      (func $inc (type $i2i) (i32.add (local.get 0) (i32.const 1)))
      (func (export "takes") (type $takes) (call_ref $i2i (i32.const 1) (local.get 0)))
      (global (export "nonnull") (ref $i2i) (ref.func $inc))
      (global (export "nullable") (ref null $i2i) (ref.null $i2i)))"#;
    let mut store = Store::new(Config::default(), ());
    let mut linker = Linker::new();
    let m = Module::new(&wat::parse_str(exporter).unwrap()).unwrap();
    let inst = linker.instantiate(&mut store, &m).unwrap();
    for name in ["takes", "nonnull", "nullable"] {
        let e = store.get_export(inst, name).unwrap();
        linker.define("m", name, e);
    }
    let importer = |imports: &str| {
        let text = format!(
            "(module (type $i2i (func (param i32) (result i32))) (type $other (func (param i64) (result i32))) {imports})"
        );
        Module::new(&wat::parse_str(text).unwrap()).unwrap()
    };
    // The same types in another module match; a subtype may be imported as an immutable
    // global of its supertype.
    let ok = importer(
        r#"(import "m" "takes" (func (param (ref $i2i)) (result i32)))
           (import "m" "nonnull" (global (ref null $i2i)))
           (import "m" "nonnull" (global funcref))
           (import "m" "nullable" (global (ref null $i2i)))"#,
    );
    linker
        .instantiate(&mut store, &ok)
        .expect("matching imports link");
    for bad in [
        r#"(import "m" "takes" (func (param (ref null $i2i)) (result i32)))"#,
        r#"(import "m" "takes" (func (param (ref $other)) (result i32)))"#,
        r#"(import "m" "takes" (func (param funcref) (result i32)))"#,
        r#"(import "m" "nullable" (global (ref $i2i)))"#,
        r#"(import "m" "nonnull" (global (ref $other)))"#,
    ] {
        let e = linker.instantiate(&mut store, &importer(bad)).unwrap_err();
        assert!(e.to_string().contains("incompatible"), "{bad}: {e}");
    }
}

/// Three memories, the second one 64-bit: loads, stores, offsets beyond 32 bits, bulk
/// operations between memories, growth and traps.
const MEMORIES: &str = r#"(module
  (memory $a 1)
  (memory $b i64 1 3)
  (memory $c (export "c") 1)
  (data (memory $b) (i64.const 65530) "\01\02\03\04\05\06")
  (data $p "hello")
  (func (export "mixed") (result i64)
    (i32.store $a (i32.const 8) (i32.const 0x11223344))
    (i64.store $b (i64.const 100) (i64.const 0x0102030405060708))
    (memory.copy $c $b (i32.const 0) (i64.const 100) (i32.const 8))
    (i64.add (i64.load $c (i32.const 0)) (i64.extend_i32_u (i32.load $a (i32.const 8)))))
  (func (export "edge") (result i64) (i64.load $b offset=65528 (i64.const 0)))
  (func (export "grow") (result i64) (memory.grow $b (i64.const 1)))
  (func (export "grow_too_far") (result i64) (memory.grow $b (i64.const 5)))
  (func (export "sizes") (result i64)
    (i64.add (memory.size $b) (i64.extend_i32_u (memory.size $c))))
  (func (export "beyond_4g") (result i32) (i32.load $b (i64.const 0x100000000)))
  (func (export "offset_beyond_4g") (result i32)
    (i32.load $b offset=0x100000000 (i64.const 0)))
  (func (export "wraps") (result i32) (i32.load $b offset=8 (i64.const -4)))
  (func (export "fill_init") (result i32)
    (memory.fill $c (i32.const 10) (i32.const 0x7f) (i32.const 4))
    (memory.init $b $p (i64.const 200) (i32.const 0) (i32.const 5))
    (i32.add (i32.load8_u $c (i32.const 13)) (i32.load8_u $b (i64.const 204))))
  (func (export "fill_oob") (memory.fill $b (i64.const 131071) (i32.const 1) (i64.const 2))))"#;

fn memories(engine: EngineKind) -> (Store<()>, deja_runtime::Instance) {
    let module = Module::new(&wat::parse_str(MEMORIES).unwrap()).expect("memories load");
    let mut store = Store::new(Config::default(), ());
    store.set_engine(engine).unwrap();
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    (store, instance)
}

#[test]
fn several_memories_and_64_bit_addresses_on_both_engines() {
    let cases: &[(&str, Result<Val, &str>)] = &[
        ("mixed", Ok(Val::I64(0x0102_0304_0506_0708 + 0x1122_3344))),
        ("edge", Ok(Val::I64(0x0605_0403_0201_0000))),
        ("grow", Ok(Val::I64(1))),
        ("grow_too_far", Ok(Val::I64(-1))),
        ("sizes", Ok(Val::I64(3))),
        ("beyond_4g", Err("out of bounds memory access at 1")),
        ("offset_beyond_4g", Err("out of bounds memory access at 1")),
        ("wraps", Err("out of bounds memory access at 1")),
        ("fill_init", Ok(Val::I32(0x7f + i32::from(b'o')))),
        ("fill_oob", Err("out of bounds memory access at 3")),
    ];
    for engine in [EngineKind::Interp, EngineKind::Jit] {
        // One store for all calls: `sizes` sees what `grow` did.
        let (mut store, instance) = memories(engine);
        for (name, expected) in cases {
            let f = store.get_func(instance, name).unwrap();
            let before = store.position();
            let r = store.call(f, &[]).map_err(|e| match e {
                Error::Trap(t) => format!("{} at {}", t.code, t.position - before),
                e => e.to_string(),
            });
            let expected = expected.map(|v| vec![v]).map_err(str::to_string);
            assert_eq!(r, expected, "{name} on {engine:?}");
        }
        if engine == EngineKind::Jit {
            let stats = store.engine_stats();
            assert_eq!(stats.interp_calls, 0, "{stats:?}");
        }
    }
}

#[test]
fn a_watchpoint_on_another_memory_stops_after_its_write() {
    for engine in [EngineKind::Interp, EngineKind::Jit] {
        let (mut store, instance) = memories(engine);
        let Some(deja_runtime::Extern::Memory(c)) = store.get_export(instance, "c") else {
            panic!("memory c is exported");
        };
        store.add_watchpoint(c, 4, 4);
        let f = store.get_func(instance, "mixed").unwrap();
        let paused = store.call_resumable(f, &[]).unwrap();
        let pause = paused.paused().expect("stops at the copy into c");
        assert_eq!(pause.reason, PauseReason::Watchpoint, "{engine:?}");
        assert_eq!(store.watch_write_memory(), Some(c), "{engine:?}");
        assert_eq!(
            store.watch_write(),
            Some((0, 8)),
            "the whole copy, {engine:?}"
        );
        // Two stores (3 steps each), then the copy's operands and the copy.
        assert_eq!(pause.position, 10, "{engine:?}");
        assert_eq!(
            store.memory_data(c)[..8],
            0x0102_0304_0506_0708u64.to_le_bytes()
        );
        // Memory 0 at the same addresses does not count.
        store.remove_watchpoint(c, 4, 4);
        let a = store.instance_memory(instance).unwrap();
        store.add_watchpoint(a, 100, 8);
        assert!(matches!(store.resume().unwrap(), Resumable::Returned(_)));
    }
}

/// A 64-bit table beside a 32-bit one: indirect calls, growth, bulk operations and indices
/// beyond 32 bits (which must not wrap around).
const TABLES: &str = r#"(module
  (type $v2i (func (result i32)))
  (table $t i64 4 funcref)
  (table $u 2 funcref)
  (elem (table $t) (i64.const 1) func $seven $eight)
  (func $seven (result i32) (i32.const 7))
  (func $eight (result i32) (i32.const 8))
  (func (export "call") (param i64) (result i32) (call_indirect $t (type $v2i) (local.get 0)))
  (func (export "tail") (param i64) (result i32)
    (return_call_indirect $t (type $v2i) (local.get 0)))
  (func (export "grow") (result i64) (table.grow $t (ref.null func) (i64.const 2)))
  (func (export "size") (result i64) (table.size $t))
  (func (export "fill_copy") (result i32)
    (table.fill $t (i64.const 4) (ref.func $seven) (i64.const 2))
    (table.copy $u $t (i32.const 0) (i64.const 2) (i32.const 2))
    (i32.add (call_indirect $u (type $v2i) (i32.const 0))
             (call_indirect $t (type $v2i) (i64.const 5))))
  (func (export "far") (result i32) (call_indirect $t (type $v2i) (i64.const 0x100000001)))
  (func (export "get_far") (result funcref) (table.get $t (i64.const 0x100000002))))"#;

#[test]
fn sixty_four_bit_tables_on_both_engines() {
    let cases: &[RefCase<'_>] = &[
        ("call", &[Val::I64(1)], Ok(vec![Val::I32(7)])),
        ("tail", &[Val::I64(2)], Ok(vec![Val::I32(8)])),
        ("call", &[Val::I64(0)], Err("uninitialized element at 1")),
        ("call", &[Val::I64(4)], Err("undefined element at 1")),
        ("grow", &[], Ok(vec![Val::I64(4)])),
        ("size", &[], Ok(vec![Val::I64(6)])),
        ("fill_copy", &[], Ok(vec![Val::I32(15)])),
        ("far", &[], Err("undefined element at 1")),
        ("get_far", &[], Err("out of bounds table access at 1")),
    ];
    for engine in [EngineKind::Interp, EngineKind::Jit] {
        let module = Module::new(&wat::parse_str(TABLES).unwrap()).expect("64-bit tables load");
        let mut store = Store::new(Config::default(), ());
        store.set_engine(engine).unwrap();
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        for (name, args, expected) in cases {
            let f = store.get_func(instance, name).unwrap();
            let before = store.position();
            let r = store.call(f, args).map_err(|e| match e {
                Error::Trap(t) => format!("{} at {}", t.code, t.position - before),
                e => e.to_string(),
            });
            let expected = expected.clone().map_err(str::to_string);
            assert_eq!(r, expected, "{name}{args:?} on {engine:?}");
        }
    }
}

/// A tail call to a host function with more results than the frame ever had operands: the
/// frame holds them while it returns them (wasm-smith found the JIT writing past its state).
#[test]
fn a_host_tail_call_with_many_results() {
    let wat = r#"(module
      (import "host" "many" (func $many (result i64 i64 i64 i64 i64 i64)))
      (func (export "f") (result i64 i64 i64 i64 i64 i64) (return_call $many)))"#;
    let module = Module::new(&wat::parse_str(wat).unwrap()).unwrap();
    for engine in [EngineKind::Interp, EngineKind::Jit] {
        let mut store = Store::new(Config::default(), ());
        store.set_engine(engine).unwrap();
        let mut linker = Linker::new();
        linker.func(
            "host",
            "many",
            FuncType::new([], [ValType::I64; 6]),
            |_, _, results| {
                for (i, r) in results.iter_mut().enumerate() {
                    *r = Val::I64(i as i64 * 11);
                }
                Ok(())
            },
        );
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let f = store.get_func(instance, "f").unwrap();
        let expected: Vec<Val> = (0..6).map(|i| Val::I64(i * 11)).collect();
        assert_eq!(store.call(f, &[]).unwrap(), expected, "{engine:?}");
    }
}

/// Bulk operations on a 64-bit table with counts near 2^64 trap; they must not overflow their
/// bounds checks (the host process panicked, or aborted on the JIT).
#[test]
fn huge_counts_on_a_64_bit_table_trap() {
    let wat = r#"(module
      (table $t i64 4 funcref)
      (elem $e func $f)
      (func $f)
      (func (export "fill") (table.fill $t (i64.const 1) (ref.null func) (i64.const -1)))
      (func (export "copy") (table.copy $t $t (i64.const 0) (i64.const 1) (i64.const -1)))
      (func (export "init") (table.init $t $e (i64.const -1) (i32.const 0) (i32.const 1)))
      (func (export "grow") (result i64) (table.grow $t (ref.null func) (i64.const -1))))"#;
    let module = Module::new(&wat::parse_str(wat).unwrap()).unwrap();
    for engine in [EngineKind::Interp, EngineKind::Jit] {
        let mut store = Store::new(Config::default(), ());
        store.set_engine(engine).unwrap();
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        for name in ["fill", "copy", "init"] {
            let f = store.get_func(instance, name).unwrap();
            let e = store.call(f, &[]).unwrap_err();
            assert!(
                e.to_string().contains("out of bounds table access"),
                "{name} on {engine:?}: {e}"
            );
        }
        let f = store.get_func(instance, "grow").unwrap();
        assert_eq!(
            store.call(f, &[]).unwrap(),
            vec![Val::I64(-1)],
            "{engine:?}"
        );
    }
}
