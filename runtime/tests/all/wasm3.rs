//! WebAssembly 3.0 features as they land, on both engines. So far: extended constant
//! expressions (global initializers, data and element offsets computed with `add`, `sub`,
//! `mul` over constants and imported or earlier globals).

use deja_runtime::{Config, EngineKind, GlobalType, Linker, Module, Store, Val, ValType};

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
