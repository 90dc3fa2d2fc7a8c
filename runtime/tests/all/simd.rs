//! SIMD above the operators (which the spec suite covers): `v128` values as they cross
//! calls, branches, globals, exceptions and the host seam, as the frame cursor shows them, and
//! through a snapshot, on both engines (on the JIT, in vector registers between instructions and
//! as two cells in its state slots).

use deja_runtime::{Config, EngineKind, FuncType, Linker, Module, Resumable, Store, Val, ValType};
use std::sync::{Arc, Mutex};

const GUEST: &str = r#"(module
  (import "host" "twice" (func $twice (param v128) (result v128)))
  (tag $t (param v128 i32))
  (global $g (mut v128) (v128.const i32x4 1 2 3 4))
  ;; a + n·g, through a loop whose branch carries nothing and a block that returns a v128.
  (func $pass (param $a v128) (param $n i32) (result v128)
    (local $acc v128)
    (local.set $acc (local.get $a))
    (block $done (result v128)
      (loop $l
        (local.set $acc (i32x4.add (local.get $acc) (global.get $g)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br_if $l (local.get $n)))
      (local.get $acc)))
  (func (export "run") (result i32)
    (local $v v128) (local $k i32)
    (local.set $v (call $pass (v128.const i32x4 10 20 30 40) (i32.const 3)))
    (global.set $g (local.get $v))
    (block $h (result v128 i32)
      (try_table (catch $t $h)
        (throw $t (call $twice (global.get $g)) (i32.const 7)))
      (unreachable))
    (local.set $k)
    (local.set $v)
    (i32.add (local.get $k)
      (i32x4.extract_lane 3
        (select (local.get $v) (v128.const i32x4 0 0 0 0) (local.get $k))))))"#;

fn i32x4(l: [i32; 4]) -> Val {
    Val::V128(
        l.iter()
            .enumerate()
            .fold(0u128, |v, (i, x)| v | u128::from(*x as u32) << (32 * i)),
    )
}

/// What the host saw: its argument, and the caller's top operand while it ran.
type Seen = Arc<Mutex<Vec<(Val, Val)>>>;

fn load(engine: EngineKind) -> (Store<()>, deja_runtime::Func, Seen) {
    let module = Module::new(GUEST.as_bytes()).unwrap();
    let mut store = Store::new(Config::default(), ());
    store.set_engine(engine).unwrap();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let mut linker = Linker::new();
    linker.func(
        "host",
        "twice",
        FuncType::new([ValType::V128], [ValType::V128]),
        move |caller, args, results| {
            let c = caller.debug_frames();
            let top = c.stack(c.num_stacks() - 1);
            log.lock().unwrap().push((args[0], top));
            let Val::V128(v) = args[0] else {
                unreachable!("typed by the signature")
            };
            let lanes = deja_runtime::simd::lanes_i32(v).map(|x| x * 2);
            results[0] = i32x4(lanes);
            Ok(())
        },
    );
    let i = linker.instantiate(&mut store, &module).unwrap();
    let run = store.get_func(i, "run").unwrap();
    (store, run, seen)
}

#[test]
fn v128_values_cross_calls_globals_exceptions_and_the_host() {
    let mut positions = Vec::new();
    for engine in [EngineKind::Interp, EngineKind::Jit] {
        let (mut store, run, seen) = load(engine);
        assert_eq!(
            store.call(run, &[]).unwrap(),
            vec![Val::I32(111)],
            "{engine:?}"
        );
        let v = i32x4([13, 26, 39, 52]);
        assert_eq!(*seen.lock().unwrap(), vec![(v, v)], "{engine:?}");
        positions.push(store.position());
        if engine == EngineKind::Jit {
            let stats = store.engine_stats();
            assert_eq!(stats.last_compile_error, None);
            assert_eq!(
                (stats.jit_calls, stats.interp_calls),
                (1, 0),
                "ran in JIT code"
            );
        }
    }
    assert_eq!(positions[0], positions[1], "the same steps on both engines");
}

/// The innermost frame's locals and operands at every position, as the frame cursor shows them.
type Frames = Vec<(Vec<Val>, Vec<Val>)>;

#[test]
fn the_frame_cursor_shows_v128_locals_and_a_snapshot_keeps_them() {
    let interp = frames_at_every_position(EngineKind::Interp);
    // On the JIT each pause hands the frames over from the state slots.
    let jit = frames_at_every_position(EngineKind::Jit);
    assert_eq!(interp.len(), jit.len());
    for (split, (i, j)) in interp.iter().zip(&jit).enumerate() {
        assert_eq!(i, j, "frames at position {}", split + 1);
    }
}

fn frames_at_every_position(engine: EngineKind) -> Frames {
    let mut frames = Frames::new();
    let (mut store, run, _) = load(engine);
    let start = store.snapshot().unwrap();
    store.call(run, &[]).unwrap();
    let end = store.position();
    // Every position: pause there, read the innermost frame, snapshot, finish, restore, finish.
    let mut saw_acc = false;
    for split in 1..end {
        store.restore(&start).unwrap();
        store.set_stop_position(Some(split));
        assert!(matches!(
            store.call_resumable(run, &[]),
            Ok(Resumable::Paused(_))
        ));
        store.set_stop_position(None);
        {
            let c = store.debug_frames();
            let locals: Vec<Val> = (0..c.num_locals()).map(|i| c.local(i)).collect();
            let stack: Vec<Val> = (0..c.num_stacks()).map(|i| c.stack(i)).collect();
            frames.push((locals.clone(), stack.clone()));
            if c.num_locals() == 3 {
                // In $pass: a, n, acc.
                assert_eq!(locals[0], i32x4([10, 20, 30, 40]), "at {split}");
                assert!(matches!(locals[1], Val::I32(0..=3)), "at {split}");
                let Val::V128(acc) = locals[2] else {
                    panic!("acc is {:?} at {split}", locals[2])
                };
                let acc = deja_runtime::simd::lanes_i32(acc);
                if acc != [0; 4] {
                    let k = (acc[0] - 10).max(0);
                    assert_eq!(
                        acc,
                        [10 + k, 20 + 2 * k, 30 + 3 * k, 40 + 4 * k],
                        "at {split}"
                    );
                    saw_acc |= k == 3;
                }
            }
            for v in stack {
                assert!(
                    matches!(v, Val::V128(_) | Val::I32(_)),
                    "operand {v:?} at {split}"
                );
            }
        }
        let mid = store.snapshot().unwrap();
        assert_eq!(
            store.resume().unwrap().returned().unwrap(),
            vec![Val::I32(111)]
        );
        store.restore(&mid).unwrap();
        assert_eq!(store.position(), split);
        assert_eq!(
            store.resume().unwrap().returned().unwrap(),
            vec![Val::I32(111)]
        );
        assert_eq!(store.position(), end);
    }
    assert!(saw_acc, "{engine:?}: a pause saw the loop's last sum");
    frames
}
