//! Exception handling (exnref: `try_table`, `throw`, `throw_ref`, tags) on both engines: the
//! same results, step counts, trap positions and frames; the debug events of throws; exceptions
//! held in locals across snapshots; tags shared between instances.

use deja_runtime::{
    Config, DebugAction, DebugEvent, DebugHandler, EngineKind, Error, Extern, Linker, Module,
    Resumable, Store, TrapCode, Val, ValType,
};

const ENGINES: [EngineKind; 2] = [EngineKind::Interp, EngineKind::Jit];

/// `$top` calls `$mid` calls `$leaf`, which throws `$e` with its argument when it is odd; the
/// `try_table` in `$top` catches it three frames up.
const GUEST: &str = r#"(module
  (tag $e (export "e") (param i32))
  (tag $other (param i32))
  (func $leaf (param i32) (result i32)
    (if (i32.and (local.get 0) (i32.const 1))
      (then (throw $e (i32.mul (local.get 0) (i32.const 10)))))
    (local.get 0))
  (func $mid (param i32) (result i32)
    (i32.add (call $leaf (local.get 0)) (i32.const 1)))
  (func (export "top") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $other $h) (catch $e $h)
        (call $mid (local.get 0)))
      (i32.const 1000)
      (i32.add)))
  (func (export "uncaught") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $other $h)
        (call $mid (local.get 0)))))
  (func (export "all") (param i32) (result i32)
    (block $h
      (try_table (catch_all $h)
        (drop (call $mid (local.get 0))))
      (return (i32.const 1)))
    (i32.const 2))
  ;; The exception kept in a local (`catch_ref`), thrown again later by `throw_ref`.
  (global $kept (mut exnref) (ref.null exn))
  (func (export "keep") (param i32)
    (block $h (result i32 exnref)
      (try_table (catch_ref $e $h)
        (drop (call $mid (local.get 0))))
      (return))
    (global.set $kept)
    (drop))
  (func (export "rethrow") (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e $h)
        (throw_ref (global.get $kept)))))
  (func (export "null") (throw_ref (ref.null exn)))
  ;; Landing on the function body's label: the frame returns without another step.
  (func (export "body") (param i32) (result i32)
    (try_table (catch $e 0)
      (drop (call $mid (local.get 0))))
    (i32.const 7)))"#;

fn load(engine: EngineKind) -> (Store<()>, deja_runtime::Instance) {
    let module = Module::new(GUEST.as_bytes()).expect("the guest loads");
    let mut store = Store::new(Config::default(), ());
    store.set_engine(engine).unwrap();
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    (store, instance)
}

/// Calls `name` with `args`: the results (or the trap code) and the steps taken.
/// `wat` instantiated on `engine`, without imports.
fn instantiate(engine: EngineKind, wat: &str) -> (Store<()>, deja_runtime::Instance) {
    let module = Module::new(wat.as_bytes()).unwrap();
    let mut store = Store::new(Config::default(), ());
    store.set_engine(engine).unwrap();
    let i = Linker::new().instantiate(&mut store, &module).unwrap();
    (store, i)
}

fn call(
    store: &mut Store<()>,
    instance: deja_runtime::Instance,
    name: &str,
    args: &[Val],
) -> (Result<Vec<Val>, TrapCode>, u64) {
    let f = store.get_func(instance, name).unwrap();
    let start = store.position();
    let r = match store.call(f, args) {
        Ok(v) => Ok(v),
        Err(Error::Trap(t)) => Err(t.code),
        Err(e) => panic!("{name}: {e}"),
    };
    (r, store.position() - start)
}

#[test]
fn a_throw_is_caught_three_frames_up_as_one_step_on_both_engines() {
    for engine in ENGINES {
        let (mut store, i) = load(engine);
        // Not thrown: 1000 is added after the try_table; thrown: the payload lands at the end
        // of $h, past the addition.
        let (even, even_steps) = call(&mut store, i, "top", &[Val::I32(4)]);
        assert_eq!(even, Ok(vec![Val::I32(1005)]), "{engine:?}");
        let (odd, odd_steps) = call(&mut store, i, "top", &[Val::I32(3)]);
        assert_eq!(odd, Ok(vec![Val::I32(30)]), "{engine:?}");
        // top: local.get, call, i32.const, i32.add, end (5); mid: local.get, call, i32.const,
        // i32.add, end (5); leaf without a throw: local.get, i32.const, i32.and, if,
        // local.get, end (6).
        assert_eq!(even_steps, 16, "{engine:?}");
        // With the throw: top's local.get and call, then its end after the landing (3); mid's
        // local.get and call (2); leaf: local.get, i32.const, i32.and, if, local.get,
        // i32.const, i32.mul, throw (8). The unwinding is the throw's one step.
        assert_eq!(odd_steps, 13, "{engine:?}");
        assert_eq!(
            call(&mut store, i, "all", &[Val::I32(5)]).0,
            Ok(vec![Val::I32(2)])
        );
        assert_eq!(
            call(&mut store, i, "all", &[Val::I32(6)]).0,
            Ok(vec![Val::I32(1)])
        );
        // The body's label: local.get, call (2), mid's 2, leaf's 8: nothing after the landing.
        let (body, body_steps) = call(&mut store, i, "body", &[Val::I32(1)]);
        assert_eq!(body, Ok(vec![Val::I32(10)]), "{engine:?}");
        assert_eq!(body_steps, 12, "{engine:?}");
        if engine == EngineKind::Jit {
            let stats = store.engine_stats();
            assert!(stats.jit_calls >= 5, "{stats:?}");
            assert!(stats.hand_overs >= 3, "throws hand over: {stats:?}");
        }
    }
}

#[test]
fn an_uncaught_exception_ends_the_call_at_the_throw_with_its_frames() {
    for engine in ENGINES {
        let (mut store, i) = load(engine);
        let f = store.get_func(i, "uncaught").unwrap();
        let Err(Error::Trap(t)) = store.call(f, &[Val::I32(3)]) else {
            panic!("an uncaught exception is an error");
        };
        assert_eq!(t.code, TrapCode::UncaughtException);
        // Before the throw: 2 (uncaught) + 2 (mid) + 7 (leaf up to the throw).
        assert_eq!(t.position, 11, "{engine:?}");
        assert_eq!(t.exception.as_deref(), Some("$e (i32 30)"), "{engine:?}");
        let funcs: Vec<u32> = t.backtrace.iter().map(|f| f.func.as_u32()).collect();
        assert_eq!(funcs, vec![0, 1, 3], "leaf, mid, uncaught ({engine:?})");
        assert!(
            t.to_string()
                .starts_with("wasm trap: uncaught exception $e (i32 30) at position 11"),
            "{t}"
        );
        // The store is usable again.
        assert_eq!(
            call(&mut store, i, "top", &[Val::I32(2)]).0,
            Ok(vec![Val::I32(1003)])
        );
        assert_eq!(
            call(&mut store, i, "null", &[]).0,
            Err(TrapCode::NullExceptionReference)
        );
    }
}

/// Records every event with the innermost frame and the position.
struct Events(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl DebugHandler<()> for Events {
    fn handle(&mut self, store: &mut Store<()>, event: DebugEvent<'_>) -> DebugAction {
        let what = match event {
            DebugEvent::CaughtExceptionThrown(e) => {
                format!("caught {}", store.exception_display(e))
            }
            DebugEvent::UncaughtExceptionThrown(e) => {
                format!("uncaught {}", store.exception_display(e))
            }
            other => format!("{other:?}"),
        };
        let frames = store.debug_frames();
        let (func, pc) = frames.wasm_function_index_and_pc().unwrap();
        // The throw's operand is still there.
        let top = frames.stack(frames.num_stacks() - 1);
        self.0.lock().unwrap().push(format!(
            "{what} at {} in func {} pc {pc:#x} depth {} top {top}",
            store.position(),
            func.as_u32(),
            frames.depth(),
        ));
        DebugAction::Continue
    }
}

#[test]
fn throws_are_debug_events_with_the_frames_at_the_throw() {
    let mut seen = Vec::new();
    for engine in ENGINES {
        let (mut store, i) = load(engine);
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        store.set_debug_handler(Some(Box::new(Events(log.clone()))));
        assert_eq!(
            call(&mut store, i, "top", &[Val::I32(3)]),
            (Ok(vec![Val::I32(30)]), 13)
        );
        let f = store.get_func(i, "uncaught").unwrap();
        assert!(store.call(f, &[Val::I32(5)]).is_err());
        let log = log.lock().unwrap().clone();
        assert_eq!(log.len(), 2, "{log:?}");
        assert!(
            log[0].starts_with("caught $e (i32 30) at 11 in func 0 pc ")
                && log[0].ends_with("depth 3 top 30"),
            "{engine:?}: {log:?}"
        );
        assert!(
            log[1].starts_with("uncaught $e (i32 50) at 24 in func 0"),
            "{log:?}"
        );
        seen.push(log);
    }
    assert_eq!(seen[0], seen[1], "the same events on both engines");
}

/// Sets the stop position to where the throw is, from the throw's debug event.
struct StopAtThrow(Option<u64>);

impl DebugHandler<()> for StopAtThrow {
    fn handle(&mut self, store: &mut Store<()>, event: DebugEvent<'_>) -> DebugAction {
        if let DebugEvent::CaughtExceptionThrown(_) = event {
            self.0 = Some(store.position());
            store.set_stop_position(self.0);
        }
        DebugAction::Continue
    }
}

/// A stop asked for at the throw's own position pauses before the throw's step, with the
/// throwing frame still there; resuming unwinds and goes on.
#[test]
fn a_stop_at_the_throw_pauses_before_it() {
    for engine in ENGINES {
        let (mut store, i) = load(engine);
        store.set_debug_handler(Some(Box::new(StopAtThrow(None))));
        let f = store.get_func(i, "top").unwrap();
        let Resumable::Paused(_) = store.call_resumable(f, &[Val::I32(3)]).unwrap() else {
            panic!("{engine:?}: not paused");
        };
        assert_eq!(store.position(), 11, "{engine:?}: at the throw");
        assert_eq!(store.debug_frames().depth(), 3, "{engine:?}");
        store.set_stop_position(None);
        store.set_debug_handler(None);
        let Resumable::Returned(r) = store.resume().unwrap() else {
            panic!("{engine:?}: paused again");
        };
        assert_eq!(r, vec![Val::I32(30)]);
        assert_eq!(store.position(), 13, "{engine:?}");
    }
}

/// Takes itself out at the first event it sees.
struct Once(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl DebugHandler<()> for Once {
    fn handle(&mut self, store: &mut Store<()>, _: DebugEvent<'_>) -> DebugAction {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        store.set_debug_handler(None);
        DebugAction::Continue
    }
}

/// A handler that removes itself while handling a throw is gone: the next throws are not
/// reported to it, and run as without a handler.
#[test]
fn a_handler_can_take_itself_out() {
    for engine in ENGINES {
        let (mut store, i) = load(engine);
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        store.set_debug_handler(Some(Box::new(Once(seen.clone()))));
        for _ in 0..3 {
            assert_eq!(
                call(&mut store, i, "top", &[Val::I32(3)]),
                (Ok(vec![Val::I32(30)]), 13)
            );
        }
        assert_eq!(
            seen.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "{engine:?}"
        );
    }
}

#[test]
fn an_exception_kept_in_a_global_survives_snapshots_and_is_thrown_again() {
    for engine in ENGINES {
        let (mut store, i) = load(engine);
        assert_eq!(call(&mut store, i, "keep", &[Val::I32(7)]).0, Ok(vec![]));
        let snap = store.snapshot().unwrap();
        assert_eq!(
            call(&mut store, i, "rethrow", &[]).0,
            Ok(vec![Val::I32(70)])
        );
        // Another exception replaces it, then the snapshot brings the first one back.
        assert_eq!(call(&mut store, i, "keep", &[Val::I32(9)]).0, Ok(vec![]));
        assert_eq!(
            call(&mut store, i, "rethrow", &[]).0,
            Ok(vec![Val::I32(90)])
        );
        store.restore(&snap).unwrap();
        assert_eq!(
            call(&mut store, i, "rethrow", &[]).0,
            Ok(vec![Val::I32(70)]),
            "{engine:?}"
        );
        // Pause in the middle of a rethrow's call, snapshot, and finish from the snapshot.
        let f = store.get_func(i, "rethrow").unwrap();
        store.set_step_budget(Some(1));
        let p = store.call_resumable(f, &[]).unwrap();
        assert!(p.paused().is_some());
        store.set_step_budget(None);
        let mid = store.snapshot().unwrap();
        assert_eq!(
            store.resume().unwrap(),
            Resumable::Returned(vec![Val::I32(70)])
        );
        store.restore(&mid).unwrap();
        assert_eq!(
            store.resume().unwrap(),
            Resumable::Returned(vec![Val::I32(70)])
        );
    }
}

#[test]
fn exceptions_caught_without_a_reference_are_reused() {
    const LOOP: &str = r#"(module
      (tag $e (param i32))
      (func (export "loop") (param $n i32) (result i32)
        (local $sum i32)
        (block $done
          (loop $next
            (br_if $done (i32.eqz (local.get $n)))
            (local.set $sum (i32.add (local.get $sum)
              (block $h (result i32)
                (try_table (result i32) (catch $e $h)
                  (throw $e (local.get $n))))))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br $next)))
        (local.get $sum)))"#;
    for engine in ENGINES {
        let (mut store, i) = instantiate(engine, LOOP);
        let (r, _) = call(&mut store, i, "loop", &[Val::I32(100_000)]);
        assert_eq!(r, Ok(vec![Val::I32(705_082_704)]), "{engine:?}");
        assert_eq!(store.exceptions_held(), 1, "{engine:?}");
    }
    // An exception kept as an `exnref` is never reused.
    let (mut store, i) = load(EngineKind::Interp);
    call(&mut store, i, "keep", &[Val::I32(1)]).0.unwrap();
    call(&mut store, i, "top", &[Val::I32(1)]).0.unwrap();
    assert_eq!(store.exceptions_held(), 2);
    assert_eq!(
        call(&mut store, i, "rethrow", &[]).0,
        Ok(vec![Val::I32(10)])
    );
}

/// Legacy catch blocks free what they catch too, unless a `rethrow` needs it: then it is
/// freed when the frame holding it unwinds, once it is caught for good.
#[test]
fn legacy_catches_free_their_exceptions_unless_kept_for_a_rethrow() {
    const LOOP: &str = r#"(module
      (tag $e (param i32))
      ;; A cleanup pad: it catches everything and throws it on.
      (func $pad (param i32) (result i32)
        try (result i32)
          (throw $e (local.get 0))
        catch_all
          rethrow 0
        end)
      (func (export "loop") (param $n i32) (param $pad i32) (result i32)
        (local $sum i32)
        (block $done
          (loop $next
            (br_if $done (i32.eqz (local.get $n)))
            try (result i32)
              (if (local.get $pad)
                (then (drop (call $pad (local.get $n)))))
              (throw $e (local.get $n))
            catch $e
            end
            (local.set $sum (i32.add (local.get $sum)))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br $next)))
        (local.get $sum))
      ;; Kept in a catch block that goes on without rethrowing it: freed when the next
      ;; exception lands at the same level.
      (func (export "kept") (param $n i32) (result i32)
        (local $sum i32)
        (block $done
          (loop $next
            (br_if $done (i32.eqz (local.get $n)))
            try
              (throw $e (local.get $n))
            catch $e
              (local.set $sum (i32.add (local.get $sum)))
              (if (i32.eqz (local.get $n)) (then rethrow 1))
            end
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br $next)))
        (local.get $sum))
      ;; A kept catch inside the try of another, in one function: the inner one's rethrow
      ;; lands in the outer one, in the same hidden local.
      (func (export "nested") (param $n i32) (result i32)
        (local $sum i32)
        (block $done
          (loop $next
            (br_if $done (i32.eqz (local.get $n)))
            try
              try
                (throw $e (local.get $n))
              catch_all
                rethrow 0
              end
            catch $e
              (local.set $sum (i32.add (local.get $sum)))
              (if (i32.eqz (local.get $n)) (then rethrow 1))
            end
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br $next)))
        (local.get $sum)))"#;
    for engine in ENGINES {
        let (mut store, i) = instantiate(engine, LOOP);
        let sum = Ok(vec![Val::I32(50_005_000)]);
        let (r, _) = call(&mut store, i, "loop", &[Val::I32(10_000), Val::I32(0)]);
        assert_eq!(r, sum, "{engine:?}");
        assert_eq!(store.exceptions_held(), 1, "{engine:?}: plain catch");
        let (r, _) = call(&mut store, i, "loop", &[Val::I32(10_000), Val::I32(1)]);
        assert_eq!(r, sum, "{engine:?}");
        assert_eq!(
            store.exceptions_held(),
            1,
            "{engine:?}: through a cleanup pad"
        );
        let (r, _) = call(&mut store, i, "kept", &[Val::I32(10_000)]);
        assert_eq!(r, sum, "{engine:?}");
        assert_eq!(store.exceptions_held(), 2, "{engine:?}: kept for a rethrow");

        let (mut store, i) = instantiate(engine, LOOP);
        let (r, _) = call(&mut store, i, "nested", &[Val::I32(10_000)]);
        assert_eq!(r, sum, "{engine:?}");
        assert!(
            store.exceptions_held() <= 2,
            "{engine:?}: nested kept catches hold {}",
            store.exceptions_held()
        );
    }
}

/// References the host makes up are refused with an error, not a panic: an exception or a
/// function the store does not have, as a call's argument, a host function's result or a new
/// global's value.
#[test]
fn made_up_references_from_the_host_are_refused() {
    const TAKES: &str = r#"(module
      (import "host" "make" (func $make (result exnref)))
      (func (export "take") (param exnref) (result i32)
        (block $h
          (try_table (catch_all $h)
            (throw_ref (local.get 0))))
        (i32.const 1))
      (func (export "made") (result i32)
        (block $h
          (try_table (catch_all $h)
            (throw_ref (call $make))))
        (i32.const 1)))"#;
    for engine in ENGINES {
        let module = Module::new(TAKES.as_bytes()).unwrap();
        let mut store = Store::new(Config::default(), ());
        store.set_engine(engine).unwrap();
        let mut linker = Linker::new();
        linker.func(
            "host",
            "make",
            deja_runtime::FuncType::new([], [ValType::ExnRef]),
            |_, _, results| {
                results[0] = Val::ExnRef(Some(deja_runtime::Exn::from_u32(7)));
                Ok(())
            },
        );
        let i = linker.instantiate(&mut store, &module).unwrap();
        let bogus = Val::ExnRef(Some(deja_runtime::Exn::from_u32(3)));
        let take = store.get_func(i, "take").unwrap();
        match store.call(take, &[bogus]) {
            Err(Error::BadArguments { reason, .. }) => {
                assert!(
                    reason.contains("not an exception of this store"),
                    "{reason}"
                )
            }
            other => panic!("{engine:?}: {other:?}"),
        }
        let made = store.get_func(i, "made").unwrap();
        match store.call(made, &[]) {
            Err(e) => assert!(
                e.to_string().contains("not an exception of this store"),
                "{engine:?}: {e}"
            ),
            other => panic!("{engine:?}: {other:?}"),
        }
        let g = store.new_global(
            deja_runtime::GlobalType {
                content: ValType::FuncRef,
                mutable: false,
            },
            Val::FuncRef(Some(deja_runtime::Func::from_u32(1000))),
        );
        assert!(matches!(g, Err(Error::BadArguments { .. })), "{g:?}");
    }
}

#[test]
fn tags_are_shared_between_instances_by_identity() {
    const THROWER: &str = r#"(module
      (tag $t (export "t") (param i64))
      (func (export "throw") (param i64) (throw $t (local.get 0))))"#;
    const CATCHER: &str = r#"(module
      (import "a" "t" (tag $t (param i64)))
      (import "a" "throw" (func $throw (param i64)))
      (tag $mine (param i64))
      (func (export "catch") (param i64) (result i64)
        (block $h (result i64)
          (try_table (catch $mine $h) (catch $t $h)
            (call $throw (local.get 0)))
          (i64.const -1))))"#;
    for engine in ENGINES {
        let mut store = Store::new(Config::default(), ());
        store.set_engine(engine).unwrap();
        let mut linker = Linker::new();
        let a = linker
            .instantiate(&mut store, &Module::new(THROWER.as_bytes()).unwrap())
            .unwrap();
        linker.define_instance(&store, "a", a);
        let b = linker
            .instantiate(&mut store, &Module::new(CATCHER.as_bytes()).unwrap())
            .unwrap();
        assert_eq!(
            call(&mut store, b, "catch", &[Val::I64(42)]).0,
            Ok(vec![Val::I64(42)])
        );
        // A tag of another type does not link; a host tag of the same type does, and is
        // another tag: nothing catches the thrower's exceptions by it.
        let mut other = Linker::new();
        let wrong = store.new_tag(&[ValType::I32]);
        other.define("a", "t", Extern::Tag(wrong));
        other.define("a", "throw", store.get_export(a, "throw").unwrap());
        let err = other
            .instantiate(&mut store, &Module::new(CATCHER.as_bytes()).unwrap())
            .unwrap_err();
        assert!(err.to_string().contains("tag"), "{err}");
        let same_type = store.new_tag(&[ValType::I64]);
        other.define("a", "t", Extern::Tag(same_type));
        let c = other
            .instantiate(&mut store, &Module::new(CATCHER.as_bytes()).unwrap())
            .unwrap();
        assert_eq!(
            call(&mut store, c, "catch", &[Val::I64(1)]).0,
            Err(TrapCode::UncaughtException),
            "{engine:?}"
        );
    }
}
