//! The host-call seam, linking, and load-time errors.

use deja_runtime::{
    Error, FuncType, HostCall, HostCallObserver, HostCallOutcome, HostError, Linker, Module, Store,
    Val, ValType,
};
use std::sync::{Arc, Mutex};

const GUEST: &str = r#"(module
  (import "env" "fill" (func $fill (param i32 i32) (result i32)))
  (import "env" "exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "go") (result i32)
    (drop (call $fill (i32.const 100) (i32.const 3)))
    (i32.load8_u (i32.const 102)))
  (func (export "quit") (call $exit (i32.const 3)) (unreachable)))"#;

#[derive(Default)]
struct Log(Vec<String>);

struct Observer(Arc<Mutex<Log>>);

impl HostCallObserver<u32> for Observer {
    fn on_host_call(&mut self, data: &mut u32, call: &HostCall<'_>) {
        *data += 1;
        self.0.lock().unwrap().0.push(format!(
            "{} at {} args {:?} -> {:?} writes {:?}",
            call.import, call.position, call.args, call.outcome, call.memory_writes
        ));
    }
}

fn linker() -> Linker<u32> {
    let mut linker = Linker::new();
    linker.func(
        "env",
        "fill",
        FuncType::new([ValType::I32, ValType::I32], [ValType::I32]),
        |caller, args, results| {
            let (Val::I32(addr), Val::I32(len)) = (args[0], args[1]) else {
                unreachable!()
            };
            let bytes: Vec<u8> = (0..len as u8).map(|i| 0xa0 + i).collect();
            caller
                .write(addr as u64, &bytes)
                .map_err(|e| HostError::msg(e.to_string()))?;
            results[0] = Val::I32(len);
            Ok(())
        },
    );
    linker.func(
        "env",
        "exit",
        FuncType::new([ValType::I32], []),
        |_, args, _| {
            let Val::I32(code) = args[0] else {
                unreachable!()
            };
            Err(HostError::Exit(code))
        },
    );
    linker
}

#[test]
fn host_writes_and_calls_are_observed() {
    let module = Module::new(GUEST.as_bytes()).unwrap();
    let mut store = Store::new(Default::default(), 0u32);
    let log = Arc::new(Mutex::new(Log::default()));
    store.set_host_call_observer(Some(Box::new(Observer(log.clone()))));
    let instance = linker().instantiate(&mut store, &module).unwrap();
    let go = store.get_func(instance, "go").unwrap();
    assert_eq!(store.call(go, &[]).unwrap(), vec![Val::I32(0xa2)]);
    assert_eq!(*store.data(), 1);
    let log = &log.lock().unwrap().0;
    assert_eq!(
        log,
        &[format!(
            "env::fill at 2 args [I32(100), I32(3)] -> {:?} writes [(100, [160, 161, 162])]",
            HostCallOutcome::Returned(&[Val::I32(3)])
        )]
    );
}

#[test]
fn host_exit_ends_the_run_with_its_code() {
    let module = Module::new(GUEST.as_bytes()).unwrap();
    let mut store = Store::new(Default::default(), 0u32);
    let instance = linker().instantiate(&mut store, &module).unwrap();
    let quit = store.get_func(instance, "quit").unwrap();
    match store.call(quit, &[]) {
        Err(Error::Exit { code, position }) => {
            assert_eq!(code, 3);
            assert_eq!(position, 1);
        }
        other => panic!("expected an exit, got {other:?}"),
    }
    // The store is usable again afterwards.
    let go = store.get_func(instance, "go").unwrap();
    assert_eq!(store.call(go, &[]).unwrap(), vec![Val::I32(0xa2)]);
}

#[test]
fn out_of_bounds_host_writes_are_refused_and_change_nothing() {
    let wat = r#"(module (import "env" "fill" (func $fill (param i32 i32) (result i32)))
        (memory 1) (func (export "go") (result i32) (call $fill (i32.const 65535) (i32.const 2))))"#;
    let module = Module::new(wat.as_bytes()).unwrap();
    let mut store = Store::new(Default::default(), 0u32);
    let instance = linker().instantiate(&mut store, &module).unwrap();
    let go = store.get_func(instance, "go").unwrap();
    let Err(Error::Host { message, .. }) = store.call(go, &[]) else {
        panic!("expected a host error");
    };
    assert!(message.contains("out of bounds"), "{message}");
    let mem = store.instance_memory(instance).unwrap();
    assert!(store.memory_data(mem).iter().all(|b| *b == 0));
}

#[test]
fn unknown_and_incompatible_imports_are_named() {
    let module = Module::new(GUEST.as_bytes()).unwrap();
    let mut store = Store::new(Default::default(), 0u32);
    let err = Linker::new().instantiate(&mut store, &module).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown imports: env::fill (func), env::exit (func)"
    );
    let mut wrong = linker();
    wrong.func(
        "env",
        "exit",
        FuncType::new([ValType::I64], []),
        |_, _, _| Ok(()),
    );
    let err = wrong.instantiate(&mut store, &module).unwrap_err();
    assert!(
        matches!(&err, Error::IncompatibleImport { name, .. } if name == "exit"),
        "{err}"
    );
}

/// What WebAssembly 3.0 brings that deja supports loads (the rest is refused by name, below).
#[test]
fn supported_3_0_proposals_load() {
    for wat in [
        "(module (func $f (return_call $f)))",
        "(module (memory i64 1))",
        "(module (memory 1) (memory 1))",
        "(module (table i64 1 funcref))",
        "(module (type $t (func)) (func (param (ref $t))))",
        "(module (global i32 (i32.add (i32.const 1) (i32.const 2))))",
        "(module (tag (param i32)) (func (throw 0 (i32.const 1))))",
        "(module (func try catch_all end))",
        "(module (func (result v128) (v128.const i32x4 0 0 0 0)))",
        "(module (func (param v128 v128 v128) (result v128) \
         (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2))))",
    ] {
        if let Err(e) = Module::new(wat.as_bytes()) {
            panic!("{wat}: {e}");
        }
    }
}

#[test]
fn unsupported_proposals_are_refused_by_name() {
    let cases = [
        ("(module (memory 1 1 shared))", "threads"),
        ("(module (memory 1 (pagesize 1)))", "custom page sizes"),
        ("(module (type (struct)))", "garbage collection"),
    ];
    for (wat, proposal) in cases {
        match Module::new(wat.as_bytes()) {
            Err(Error::Unsupported { proposal: p, .. }) => assert_eq!(p, proposal, "{wat}"),
            other => panic!("{wat}: expected unsupported {proposal}, got {other:?}"),
        }
    }
}

#[test]
fn load_errors_say_what_and_where() {
    match Module::new(b"(module (func (result i32)))") {
        Err(Error::Invalid { message, offset }) => {
            assert!(message.contains("type mismatch"), "{message}");
            assert!(offset > 8);
        }
        other => panic!("expected invalid, got {other:?}"),
    }
    assert!(matches!(
        Module::new(b"\0asm\x01\0\0\0\x01\x05"),
        Err(Error::Malformed { .. })
    ));
    assert!(matches!(
        Module::new(b"(module (fnuc))"),
        Err(Error::Syntax(_))
    ));
    assert!(matches!(
        Module::new(b""),
        Err(Error::Syntax(_) | Error::Malformed { .. })
    ));
    assert!(matches!(
        Module::from_file("/nonexistent/x.wasm"),
        Err(Error::Io { .. })
    ));
}

/// A module of `n` functions where function `i` returns `i` plus what function `i + 1`
/// returns (the last returns itself), except that the bodies in `bad` return an i64.
fn chain(n: u32, bad: &[u32]) -> String {
    let mut wat = String::from("(module\n");
    for i in 0..n {
        let body = if bad.contains(&i) {
            "(i64.const 0)".to_string()
        } else if i + 1 < n {
            format!("(i32.add (i32.const {i}) (call {}))", i + 1)
        } else {
            format!("(i32.const {i})")
        };
        wat.push_str(&format!("  (func (export \"f{i}\") (result i32) {body})\n"));
    }
    wat.push(')');
    wat
}

/// Big code sections are translated on several threads: the functions still land in order,
/// and of two invalid bodies the error is the first one's, as with one thread.
#[test]
fn big_code_sections_translate_in_order_and_report_the_first_error() {
    for n in [8, 200] {
        let (mut store, instance) = crate::instantiate(&chain(n, &[]));
        for start in [0, n / 2, n - 1] {
            let f = store.get_func(instance, &format!("f{start}")).unwrap();
            let want: u32 = (start..n).sum();
            assert_eq!(
                store.call(f, &[]).unwrap(),
                vec![Val::I32(want as i32)],
                "{n} functions, from f{start}"
            );
        }
    }
    let offset = |bad: &[u32]| match Module::new(chain(200, bad).as_bytes()) {
        Err(Error::Invalid { message, offset }) => {
            assert!(message.contains("type mismatch"), "{message}");
            offset
        }
        other => panic!("expected invalid, got {other:?}"),
    };
    let first = offset(&[37]);
    assert_eq!(offset(&[37, 150]), first);
    assert_eq!(offset(&[37, 38, 39, 199]), first);
    assert!(offset(&[150]) > first);
}
