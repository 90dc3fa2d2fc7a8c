//! The debug API: frame cursor, breakpoints, debug events and handlers.

use crate::instantiate;
use deja_runtime::{
    DebugAction, DebugEvent, DebugHandler, Error, FuncIndex, FuncType, Linker, Module, Pause,
    PauseReason, Resumable, Store, TrapCode, Val, ValType,
};
use std::sync::{Arc, Mutex};

const FACT: &str = r#"(module
  (func $fact (export "fact") (param $n i64) (result i64)
    (local $scratch f64)
    (local.set $scratch (f64.const 1.5))
    (if (result i64) (i64.eqz (local.get $n))
      (then (i64.const 1))
      (else
        (i64.mul (local.get $n)
          (call $fact (i64.sub (local.get $n) (i64.const 1))))))))"#;

#[test]
fn frame_cursor_shows_frames_locals_and_typed_operands() {
    let (mut store, instance) = instantiate(FACT);
    let fact = store.get_func(instance, "fact").unwrap();
    let module = store.instance_module(instance).clone();
    // Stop at the entry of the call with n = 2 (third activation).
    let entry = store
        .add_entry_breakpoint(&module, FuncIndex::from_u32(0))
        .unwrap();
    let mut r = store.call_resumable(fact, &[Val::I64(4)]);
    for _ in 0..2 {
        assert!(matches!(
            r,
            Ok(Resumable::Paused(Pause {
                reason: PauseReason::Breakpoint,
                ..
            }))
        ));
        r = store.resume();
    }
    assert!(matches!(r, Ok(Resumable::Paused(_))));
    let mut cursor = store.debug_frames();
    assert_eq!(cursor.depth(), 3);
    assert_eq!(cursor.wasm_function_index_and_pc().unwrap().1, entry);
    assert_eq!(cursor.num_locals(), 2);
    assert_eq!(cursor.local(0), Val::I64(2));
    assert_eq!(cursor.local(1), Val::F64(0));
    assert_eq!(cursor.num_stacks(), 0);
    cursor.move_to_parent();
    // The caller is in the middle of `i64.mul (local.get $n) (call ...)`: its operand stack
    // holds `n` beneath the call (the call's argument moved into the callee).
    assert_eq!(cursor.local(0), Val::I64(3));
    assert_eq!(cursor.local(1), Val::F64(1.5f64.to_bits()));
    assert_eq!(cursor.num_stacks(), 1);
    assert_eq!(cursor.stack(0), Val::I64(3));
    cursor.move_to_parent();
    assert_eq!(cursor.local(0), Val::I64(4));
    cursor.move_to_parent();
    assert!(cursor.done());
    // Removing the breakpoint while paused lets the call finish.
    assert!(store.remove_breakpoint(&module, FuncIndex::from_u32(0), entry));
    assert_eq!(
        store.resume().unwrap().returned().unwrap(),
        vec![Val::I64(24)]
    );
}

#[test]
fn operands_of_every_type_including_references() {
    let wat = r#"(module
      (func $f (export "f") (param externref) (result i32)
        (ref.func $f) (local.get 0) (i64.const -7) (f32.const 2.5) (f64.const -1)
        (drop) (drop) (drop) (drop) (drop) (i32.const 9)))"#;
    let (mut store, instance) = instantiate(wat);
    let f = store.get_func(instance, "f").unwrap();
    // Five pushes done, the first drop is next.
    store.set_step_budget(Some(5));
    assert!(matches!(
        store.call_resumable(f, &[Val::ExternRef(Some(42))]),
        Ok(Resumable::Paused(Pause { position: 5, .. }))
    ));
    let cursor = store.debug_frames();
    assert_eq!(cursor.num_stacks(), 5);
    let values: Vec<Val> = (0..5).map(|i| cursor.stack(i)).collect();
    assert_eq!(values[0], Val::FuncRef(Some(f)));
    assert_eq!(values[1], Val::ExternRef(Some(42)));
    assert_eq!(values[2], Val::I64(-7));
    assert_eq!(values[3], Val::F32(2.5f32.to_bits()));
    assert_eq!(values[4], Val::F64((-1.0f64).to_bits()));
    let types: Vec<ValType> = values.iter().map(Val::ty).collect();
    assert_eq!(
        types,
        [
            ValType::FuncRef,
            ValType::ExternRef,
            ValType::I64,
            ValType::F32,
            ValType::F64
        ]
    );
    store.set_step_budget(None);
    assert_eq!(
        store.resume().unwrap().returned().unwrap(),
        vec![Val::I32(9)]
    );
}

#[derive(Default)]
struct Seen {
    events: Vec<String>,
}

struct Recorder(Arc<Mutex<Seen>>);

impl DebugHandler<()> for Recorder {
    fn handle(&mut self, store: &mut Store<()>, event: DebugEvent<'_>) -> DebugAction {
        let cursor = store.debug_frames();
        let (func, pc) = cursor.wasm_function_index_and_pc().unwrap();
        let local0 = if cursor.num_locals() > 0 {
            format!("{}", cursor.local(0))
        } else {
            "-".into()
        };
        self.0.lock().unwrap().events.push(format!(
            "{event:?} func {} pc {pc:#x} local0 {local0} depth {}",
            func.as_u32(),
            cursor.depth()
        ));
        DebugAction::Continue
    }
}

#[test]
fn handler_sees_breakpoints_and_traps_with_frames_on_the_stack() {
    let wat = r#"(module
      (func $f (export "f") (param i32) (result i32)
        (if (result i32) (local.get 0)
          (then (call $f (i32.sub (local.get 0) (i32.const 1))))
          (else (unreachable)))))"#;
    let (mut store, instance) = instantiate(wat);
    let seen = Arc::new(Mutex::new(Seen::default()));
    store.set_debug_handler(Some(Box::new(Recorder(seen.clone()))));
    let module = store.instance_module(instance).clone();
    store
        .add_entry_breakpoint(&module, FuncIndex::from_u32(0))
        .unwrap();
    let f = store.get_func(instance, "f").unwrap();
    let Err(Error::Trap(trap)) = store.call(f, &[Val::I32(2)]) else {
        panic!("expected a trap");
    };
    assert_eq!(trap.code, TrapCode::UnreachableCodeReached);
    let events = &seen.lock().unwrap().events;
    assert_eq!(events.len(), 4, "{events:#?}");
    for (i, e) in events[..3].iter().enumerate() {
        assert!(e.starts_with("Breakpoint func 0"), "{e}");
        assert!(
            e.contains(&format!("local0 {} depth {}", 2 - i, i + 1)),
            "{e}"
        );
    }
    assert!(
        events[3].starts_with("Trap(UnreachableCodeReached) func 0"),
        "{}",
        events[3]
    );
    assert!(events[3].ends_with("local0 0 depth 3"), "{}", events[3]);
}

#[test]
fn hostcall_errors_are_debug_events() {
    let wat = r#"(module (import "env" "fail" (func $fail (param i32)))
        (func (export "go") (call $fail (i32.const 7))))"#;
    let module = Module::new(wat.as_bytes()).unwrap();
    let mut store = Store::new(Default::default(), ());
    let seen = Arc::new(Mutex::new(Seen::default()));
    store.set_debug_handler(Some(Box::new(Recorder(seen.clone()))));
    let mut linker = Linker::new();
    linker.func(
        "env",
        "fail",
        FuncType::new([ValType::I32], []),
        |_, args, _| Err(deja_runtime::HostError::msg(format!("no {:?}", args[0]))),
    );
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let go = store.get_func(instance, "go").unwrap();
    match store.call(go, &[]) {
        Err(Error::Host {
            import,
            message,
            position,
            ..
        }) => {
            assert_eq!(import, "env::fail");
            assert_eq!(message, "no I32(7)");
            assert_eq!(position, 1);
        }
        other => panic!("expected a host error, got {other:?}"),
    }
    let events = &seen.lock().unwrap().events;
    assert_eq!(events.len(), 1);
    assert!(events[0].starts_with("HostcallError(\"no I32(7)\") func 1"));
}

#[test]
fn breakpoints_on_structural_markers_slide_to_the_next_instruction() {
    let (mut store, instance) = instantiate(FACT);
    let module = store.instance_module(instance).clone();
    let pcs = module.instruction_pcs(FuncIndex::from_u32(0));
    assert!(pcs.windows(2).all(|w| w[0] < w[1]));
    let before_first = pcs[0] - 1;
    let actual = store
        .add_breakpoint(&module, FuncIndex::from_u32(0), before_first)
        .unwrap();
    assert_eq!(actual, pcs[0]);
    assert!(
        store
            .add_breakpoint(&module, FuncIndex::from_u32(0), u32::MAX)
            .is_err()
    );
    assert_eq!(store.breakpoints(), vec![(FuncIndex::from_u32(0), pcs[0])]);
}

#[test]
fn watchpoints_stop_right_after_the_writing_instruction() {
    let wat = r#"(module
      (memory (export "mem") 1)
      (func (export "f")
        (local $i i32)
        (loop $l
          (i32.store8 (local.get $i) (i32.const 7))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 100))))
        (memory.fill (i32.const 200) (i32.const 1) (i32.const 50))))"#;
    let (mut store, instance) = instantiate(wat);
    let mem = store.instance_memory(instance).unwrap();
    let f = store.get_func(instance, "f").unwrap();
    store.add_watchpoint(mem, 42, 1);
    store.add_watchpoint(mem, 240, 4);
    // Per iteration: local.get, i32.const, i32.store8, then local.get, i32.const, i32.add,
    // local.set, local.get, i32.const, i32.lt_u, br_if.
    let per_iteration = 11;
    let Ok(Resumable::Paused(Pause {
        reason: PauseReason::Watchpoint,
        position,
    })) = store.call_resumable(f, &[])
    else {
        panic!("expected the watchpoint");
    };
    assert_eq!(position, 42 * per_iteration + 3);
    assert_eq!(store.memory_data(mem)[42], 7);
    assert_eq!(store.memory_data(mem)[43], 0);
    // The bulk fill hits the second watchpoint.
    let Ok(Resumable::Paused(Pause {
        reason: PauseReason::Watchpoint,
        position,
    })) = store.resume()
    else {
        panic!("expected the second watchpoint");
    };
    assert_eq!(position, 100 * per_iteration + 4);
    assert_eq!(store.memory_data(mem)[249], 1);
    assert!(store.remove_watchpoint(mem, 240, 4));
    assert!(store.remove_watchpoint(mem, 42, 1));
    assert_eq!(store.resume().unwrap().returned().unwrap(), vec![]);
}

#[test]
fn host_functions_can_ask_for_a_pause_after_they_return() {
    let wat = r#"(module (import "env" "tick" (func $tick))
        (func (export "go") (result i32) (call $tick) (call $tick) (i32.const 5)))"#;
    let module = Module::new(wat.as_bytes()).unwrap();
    let mut store = Store::new(Default::default(), ());
    let mut linker = Linker::new();
    linker.func("env", "tick", FuncType::default(), |caller, _, _| {
        caller.request_pause();
        Ok(())
    });
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let go = store.get_func(instance, "go").unwrap();
    for expected in [1, 2] {
        let r = if expected == 1 {
            store.call_resumable(go, &[])
        } else {
            store.resume()
        };
        match r {
            Ok(Resumable::Paused(Pause {
                reason: PauseReason::HostRequest,
                position,
            })) => assert_eq!(position, expected),
            other => panic!("expected a pause, got {other:?}"),
        }
    }
    assert_eq!(
        store.resume().unwrap().returned().unwrap(),
        vec![Val::I32(5)]
    );
    assert_eq!(store.position(), 4);
}
