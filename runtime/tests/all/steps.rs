//! Step counting, step budgets, trap positions and the call-depth limit.

use crate::instantiate;
use deja_runtime::{
    Config, Error, Linker, Module, Pause, PauseReason, Resumable, Store, TrapCode, Val,
};

const COUNTED: &str = r#"(module
  (func (export "f") (param i32) (result i32)
    (block
      (local.get 0)
      (br_if 0)
      (nop))
    (if (result i32) (local.get 0)
      (then (i32.const 1))
      (else (i32.const 2)))))"#;

#[test]
fn structural_markers_are_not_steps() {
    let (mut store, instance) = instantiate(COUNTED);
    let f = store.get_func(instance, "f").unwrap();
    // local.get, br_if (not taken), nop, local.get, if, i32.const 2, end
    assert_eq!(store.call(f, &[Val::I32(0)]).unwrap(), vec![Val::I32(2)]);
    assert_eq!(store.position(), 7);
    // local.get, br_if (taken), local.get, if, i32.const 1, end (the else is not a step)
    assert_eq!(store.call(f, &[Val::I32(1)]).unwrap(), vec![Val::I32(1)]);
    assert_eq!(store.position(), 13);
}

const FIB: &str = r#"(module
  (memory 1)
  (func $fib (export "fib") (param $n i32) (result i32)
    (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                     (call $fib (i32.sub (local.get $n) (i32.const 2))))))))"#;

fn total_steps(n: i32) -> (Vec<Val>, u64) {
    let (mut store, instance) = instantiate(FIB);
    let fib = store.get_func(instance, "fib").unwrap();
    let r = store.call(fib, &[Val::I32(n)]).unwrap();
    (r, store.position())
}

#[test]
fn budget_pauses_at_the_exact_position_and_resumes_identically() {
    let (expected, total) = total_steps(12);
    assert_eq!(expected, vec![Val::I32(144)]);
    let mut budgets: Vec<u64> = (0..40).collect();
    budgets.extend((0..200).map(|i| i * total / 200));
    budgets.extend([total - 1, total]);
    for budget in budgets {
        let (mut store, instance) = instantiate(FIB);
        let fib = store.get_func(instance, "fib").unwrap();
        store.set_step_budget(Some(budget));
        match store.call_resumable(fib, &[Val::I32(12)]) {
            Ok(Resumable::Paused(Pause {
                reason: PauseReason::StepBudget,
                position,
            })) => {
                assert_eq!(position, budget);
                assert!(budget < total);
                store.set_step_budget(None);
                assert_eq!(store.resume().unwrap().returned().unwrap(), expected);
            }
            Ok(Resumable::Paused(p)) => panic!("unexpected {p:?}"),
            Ok(Resumable::Returned(r)) => {
                assert_eq!(budget, total, "finished early with budget {budget}");
                assert_eq!(r, expected);
            }
            Err(e) => panic!("unexpected {e}"),
        }
        assert_eq!(store.position(), total, "budget {budget}");
    }
}

#[test]
fn single_stepping_visits_every_position() {
    let (expected, total) = total_steps(6);
    let (mut store, instance) = instantiate(FIB);
    let fib = store.get_func(instance, "fib").unwrap();
    store.set_step_budget(Some(0));
    let mut result = store.call_resumable(fib, &[Val::I32(6)]);
    let mut expected_position = 0;
    while let Ok(Resumable::Paused(Pause { position, .. })) = result {
        assert_eq!(position, expected_position);
        expected_position += 1;
        store.set_step_budget(Some(1));
        result = store.resume();
    }
    assert_eq!(result.unwrap().returned().unwrap(), expected);
    assert_eq!(expected_position, total);
}

#[test]
fn trap_position_is_the_trapping_instruction_in_both_loops() {
    let wat = r#"(module
      (func $inner (param $x i32) (result i32) (i32.div_s (i32.const 100) (local.get $x)))
      (func (export "div") (param $x i32) (result i32) (call $inner (local.get $x))))"#;
    for budget in [None, Some(1), Some(3)] {
        let (mut store, instance) = instantiate(wat);
        let f = store.get_func(instance, "div").unwrap();
        store.set_step_budget(budget);
        let mut r = store.call_resumable(f, &[Val::I32(0)]);
        if let Ok(Resumable::Paused(_)) = r {
            store.set_step_budget(None);
            r = store.resume();
        }
        let Err(Error::Trap(trap)) = r else {
            panic!("expected a trap, got {r:?}");
        };
        assert_eq!(trap.code, TrapCode::IntegerDivisionByZero);
        // local.get, call, i32.const, local.get: the division is not completed.
        assert_eq!(trap.position, 4);
        assert_eq!(store.position(), 4);
        let names: Vec<_> = trap.backtrace.iter().map(|f| f.name.clone()).collect();
        assert_eq!(names, vec![Some("inner".to_string()), None]);
    }
}

#[test]
fn call_depth_limit_counts_wasm_frames() {
    let wat = r#"(module (func $down (export "down") (param i32) (result i32)
        (call $down (i32.add (local.get 0) (i32.const 1)))))"#;
    let module = Module::new(wat.as_bytes()).unwrap();
    for limit in [1, 10, 1000] {
        let mut store = Store::new(
            Config {
                max_call_depth: limit,
                ..Config::default()
            },
            (),
        );
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        let f = store.get_func(instance, "down").unwrap();
        let Err(Error::Trap(trap)) = store.call(f, &[Val::I32(0)]) else {
            panic!("expected exhaustion");
        };
        assert_eq!(trap.code, TrapCode::CallStackExhausted);
        assert_eq!(trap.backtrace.len(), limit as usize);
        // Each frame completes local.get, i32.const, i32.add and its call; the innermost
        // frame's call is the one that traps.
        assert_eq!(trap.position, 4 * u64::from(limit) - 1);
    }
}

#[test]
fn nan_canonicalization_is_configurable() {
    let wat = r#"(module
      (func (export "sqrt") (param f32) (result f32) (f32.sqrt (local.get 0)))
      (func (export "neg") (param f32) (result f32) (f32.neg (local.get 0))))"#;
    let module = Module::new(wat.as_bytes()).unwrap();
    for canon in [true, false] {
        let mut store = Store::new(
            Config {
                nan_canonicalization: canon,
                ..Config::default()
            },
            (),
        );
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        let sqrt = store.get_func(instance, "sqrt").unwrap();
        let [Val::F32(bits)] = store.call(sqrt, &[Val::F32((-1.0f32).to_bits())]).unwrap()[..]
        else {
            panic!()
        };
        assert!(f32::from_bits(bits).is_nan());
        if canon {
            assert_eq!(bits, 0x7fc0_0000);
        }
        // Bit operations never canonicalize: a NaN payload survives negation.
        let neg = store.get_func(instance, "neg").unwrap();
        let r = store.call(neg, &[Val::F32(0x7fa0_0001)]).unwrap();
        assert_eq!(r, vec![Val::F32(0xffa0_0001)]);
    }
}

/// A call-depth limit of 0 leaves no room for the called function itself: the call traps
/// before its first step, at position 0, with the entry frame on the backtrace (this used to
/// panic looking for the run the trap belonged to).
#[test]
fn call_depth_limit_of_zero_traps_before_the_first_step() {
    let module =
        Module::new(br#"(module (func (export "f") (result i32) (i32.const 7)))"#).unwrap();
    let mut store = Store::new(
        Config {
            max_call_depth: 0,
            ..Config::default()
        },
        (),
    );
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    let f = store.get_func(instance, "f").unwrap();
    let Err(Error::Trap(trap)) = store.call(f, &[]) else {
        panic!("expected exhaustion");
    };
    assert_eq!(trap.code, TrapCode::CallStackExhausted);
    assert_eq!(trap.position, 0);
    assert_eq!(store.position(), 0);
    assert_eq!(trap.backtrace.len(), 1);
}

/// The interpreter canonicalizes exactly the results that `wasm::canonicalizes` names, the
/// definition every engine follows: each float operator gets a non-canonical (signalling) NaN
/// and its result is canonical if and only if the operator is one of them.
#[test]
fn canonicalized_results_are_exactly_those_wasm_canonicalizes_names() {
    // (instruction, parameter types, result type)
    let cases: &[(&str, &[&str], &str)] = &[
        ("f32.abs", &["f32"], "f32"),
        ("f32.neg", &["f32"], "f32"),
        ("f32.ceil", &["f32"], "f32"),
        ("f32.floor", &["f32"], "f32"),
        ("f32.trunc", &["f32"], "f32"),
        ("f32.nearest", &["f32"], "f32"),
        ("f32.sqrt", &["f32"], "f32"),
        ("f32.add", &["f32", "f32"], "f32"),
        ("f32.sub", &["f32", "f32"], "f32"),
        ("f32.mul", &["f32", "f32"], "f32"),
        ("f32.div", &["f32", "f32"], "f32"),
        ("f32.min", &["f32", "f32"], "f32"),
        ("f32.max", &["f32", "f32"], "f32"),
        ("f32.copysign", &["f32", "f32"], "f32"),
        ("f64.abs", &["f64"], "f64"),
        ("f64.neg", &["f64"], "f64"),
        ("f64.ceil", &["f64"], "f64"),
        ("f64.floor", &["f64"], "f64"),
        ("f64.trunc", &["f64"], "f64"),
        ("f64.nearest", &["f64"], "f64"),
        ("f64.sqrt", &["f64"], "f64"),
        ("f64.add", &["f64", "f64"], "f64"),
        ("f64.sub", &["f64", "f64"], "f64"),
        ("f64.mul", &["f64", "f64"], "f64"),
        ("f64.div", &["f64", "f64"], "f64"),
        ("f64.min", &["f64", "f64"], "f64"),
        ("f64.max", &["f64", "f64"], "f64"),
        ("f64.copysign", &["f64", "f64"], "f64"),
        ("f32.demote_f64", &["f64"], "f32"),
        ("f64.promote_f32", &["f32"], "f64"),
        ("f32.reinterpret_i32", &["i32"], "f32"),
        ("f64.reinterpret_i64", &["i64"], "f64"),
    ];
    let snan = |ty: &str| match ty {
        "f32" => Val::F32(0x7fa0_0001),
        "f64" => Val::F64(0x7ff4_0000_0000_0001),
        "i32" => Val::I32(0x7fa0_0001),
        _ => Val::I64(0x7ff4_0000_0000_0001),
    };
    let mut canonicalizing = 0;
    for (instr, params, result) in cases {
        let gets: String = (0..params.len())
            .map(|i| format!("(local.get {i}) "))
            .collect();
        let wat = format!(
            "(module (func (export \"f\") (param {}) (result {result}) {gets} {instr}))",
            params.join(" ")
        );
        let bytes = wat::parse_str(&wat).unwrap();
        // The operator itself, as every engine's translator sees it.
        let mut op_canon = None;
        for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
            if let wasmparser::Payload::CodeSectionEntry(body) = payload.unwrap() {
                let ops: Vec<_> = body
                    .get_operators_reader()
                    .unwrap()
                    .into_iter()
                    .collect::<Result<_, _>>()
                    .unwrap();
                // The last operator before the body's `end`.
                op_canon = Some(deja_runtime::wasm::canonicalizes(&ops[ops.len() - 2]));
            }
        }
        let op_canon = op_canon.unwrap();
        canonicalizing += usize::from(op_canon);
        let module = Module::new(&bytes).unwrap();
        let mut store = Store::new(Config::default(), ());
        let instance = Linker::new().instantiate(&mut store, &module).unwrap();
        let f = store.get_func(instance, "f").unwrap();
        let args: Vec<Val> = params
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if i == 0 {
                    snan(t)
                } else if *t == "f32" {
                    Val::F32(1.0f32.to_bits())
                } else {
                    Val::F64(1.0f64.to_bits())
                }
            })
            .collect();
        let r = store.call(f, &args).unwrap();
        let canonical = match r[..] {
            [Val::F32(b)] => b == deja_runtime::wasm::CANONICAL_NAN_F32,
            [Val::F64(b)] => b == deja_runtime::wasm::CANONICAL_NAN_F64,
            _ => panic!("{instr}: unexpected result {r:?}"),
        };
        assert_eq!(canonical, op_canon, "{instr}: result {r:?}");
    }
    // Arithmetic, rounding, min/max, sqrt, demote and promote: 12 per width.
    assert_eq!(canonicalizing, 24);
}

/// A pause is a value of `call_resumable`; a plain `call` that pauses says how to get one, and
/// the call stays paused so that `resume` still continues it exactly.
#[test]
fn a_plain_call_that_pauses_says_so_and_stays_resumable() {
    let (expected, total) = total_steps(8);
    let (mut store, instance) = instantiate(FIB);
    let fib = store.get_func(instance, "fib").unwrap();
    store.set_step_budget(Some(10));
    match store.call(fib, &[Val::I32(8)]) {
        Err(Error::Usage(m)) => assert!(m.contains("paused at position 10 (step budget)"), "{m}"),
        other => panic!("expected a usage error, got {other:?}"),
    }
    assert!(store.is_paused());
    store.set_step_budget(None);
    assert_eq!(
        store.resume().unwrap(),
        Resumable::Returned(expected.clone())
    );
    assert_eq!(store.position(), total);
}

/// A step budget that runs out in the start function ends instantiation with
/// `Error::StartPaused` at the exact position (the instance never existed, so there is nothing
/// to resume), and the store can call again afterwards.
#[test]
fn a_budget_that_runs_out_in_the_start_function_is_reported_as_such() {
    let wat = r#"(module (global $g (mut i32) (i32.const 0))
        (func $s (global.set $g (i32.add (global.get $g) (i32.const 1))))
        (start $s))"#;
    let module = Module::new(wat.as_bytes()).unwrap();
    let mut store = Store::new(Config::default(), ());
    store.set_step_budget(Some(2));
    match Linker::new().instantiate(&mut store, &module) {
        Err(Error::StartPaused(Pause {
            reason: PauseReason::StepBudget,
            position: 2,
        })) => {}
        other => panic!("expected a pause in the start function, got {other:?}"),
    }
    assert!(!store.is_paused());
    store.set_step_budget(None);
    Linker::new().instantiate(&mut store, &module).unwrap();
}

/// A breakpoint pause captured in a snapshot still skips that breakpoint when the restored
/// call resumes, also after a step-budget pause at the same position in between.
#[test]
fn a_restored_breakpoint_pause_resumes_past_its_breakpoint() {
    let (expected, total) = total_steps(5);
    let (mut store, instance) = instantiate(FIB);
    let fib = store.get_func(instance, "fib").unwrap();
    let module = store.instance_module(instance).clone();
    let pcs = module.instruction_pcs(deja_runtime::FuncIndex::from_u32(0));
    // The `if`'s condition: a breakpoint hit once per activation.
    store
        .add_breakpoint(&module, deja_runtime::FuncIndex::from_u32(0), pcs[6])
        .unwrap();
    let Ok(Resumable::Paused(Pause {
        reason: PauseReason::Breakpoint,
        position,
    })) = store.call_resumable(fib, &[Val::I32(5)])
    else {
        panic!("expected the breakpoint");
    };
    // Resume with a budget that stops at once, at the same position.
    store.set_stop_position(Some(position));
    let r = store.resume().unwrap();
    assert_eq!(
        r.paused().map(|p| (p.reason, p.position)),
        Some((PauseReason::StepBudget, position))
    );
    store.set_stop_position(None);
    let snap = store.snapshot().unwrap();
    let mut hits = 0;
    for round in 0..2 {
        store.restore(&snap).unwrap();
        let mut count = 0;
        let mut r = store.resume().unwrap();
        while let Resumable::Paused(p) = r {
            assert_eq!(p.reason, PauseReason::Breakpoint);
            assert!(
                p.position > position,
                "round {round}: hit again at {}",
                p.position
            );
            count += 1;
            r = store.resume().unwrap();
        }
        assert_eq!(r, Resumable::Returned(expected.clone()));
        assert_eq!(store.position(), total);
        if round == 0 {
            hits = count;
        }
        assert_eq!(count, hits);
    }
    assert!(hits > 0);
}
