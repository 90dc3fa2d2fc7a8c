//! Interpreter throughput: deja's interpreter against wasmi, measured in the same run.
//!
//! `cargo bench -p deja-runtime --bench interp` prints a markdown table. Each kernel is a
//! `.wat` file in `benches/kernels/` exporting `run(n: i32) -> i64`; both engines run it with
//! the same `n`, results must agree, and the best of several runs is reported. Throughput is
//! given in deja steps (executed Wasm instructions) per second for both engines, so the two
//! columns are directly comparable.

use std::time::{Duration, Instant};

const KERNELS: &[(&str, &str, i32)] = &[
    ("fib_rec", include_str!("kernels/fib_rec.wat"), 30),
    ("loop", include_str!("kernels/loop.wat"), 10_000_000),
    ("memcpy", include_str!("kernels/memcpy.wat"), 1_000),
    (
        "call_indirect",
        include_str!("kernels/call_indirect.wat"),
        5_000_000,
    ),
    ("float", include_str!("kernels/float.wat"), 256),
];

fn best_of(runs: usize, mut f: impl FnMut() -> i64) -> (Duration, i64) {
    let mut best = Duration::MAX;
    let mut result = 0;
    for _ in 0..runs {
        let start = Instant::now();
        result = f();
        best = best.min(start.elapsed());
    }
    (best, result)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let runs = if quick { 1 } else { 5 };
    println!(
        "| kernel | n | steps | deja (ms) | wasmi (ms) | deja Msteps/s | wasmi Msteps/s | deja / wasmi |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, wat, n) in KERNELS {
        let n = if quick { (n / 100).max(1) } else { *n };
        let bytes = wat::parse_str(wat).expect("kernel parses");

        let module = deja_runtime::Module::from_binary(&bytes).expect("deja loads");
        let mut store = deja_runtime::Store::new(deja_runtime::Config::default(), ());
        let instance = deja_runtime::Linker::new()
            .instantiate(&mut store, &module)
            .expect("deja instantiates");
        let run = store.get_func(instance, "run").unwrap();
        let mut steps = 0;
        let (deja_time, deja_result) = best_of(runs, || {
            let before = store.position();
            let r = store.call(run, &[deja_runtime::Val::I32(n)]).unwrap();
            steps = store.position() - before;
            match r[0] {
                deja_runtime::Val::I64(v) => v,
                ref other => panic!("unexpected {other:?}"),
            }
        });

        let engine = wasmi::Engine::default();
        let wmodule = wasmi::Module::new(&engine, &bytes).expect("wasmi loads");
        let mut wstore = wasmi::Store::new(&engine, ());
        let linker = wasmi::Linker::<()>::new(&engine);
        let winstance = linker
            .instantiate_and_start(&mut wstore, &wmodule)
            .expect("wasmi instantiates");
        let wrun = winstance
            .get_typed_func::<i32, i64>(&wstore, "run")
            .unwrap();
        let (wasmi_time, wasmi_result) =
            best_of(runs, || wrun.call(&mut wstore, n).expect("wasmi runs"));

        assert_eq!(deja_result, wasmi_result, "{name}: engines disagree");
        let rate = |d: Duration| steps as f64 / d.as_secs_f64() / 1e6;
        println!(
            "| {name} | {n} | {steps} | {:.1} | {:.1} | {:.0} | {:.0} | {:.2} |",
            deja_time.as_secs_f64() * 1e3,
            wasmi_time.as_secs_f64() * 1e3,
            rate(deja_time),
            rate(wasmi_time),
            wasmi_time.as_secs_f64() / deja_time.as_secs_f64(),
        );
    }
}
