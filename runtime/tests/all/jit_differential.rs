//! Differential testing of the JIT against the interpreter on modules nobody here wrote
//! (wasm-smith): every exported function, called with zero arguments under a step budget,
//! must give the same result or trap (code, position, backtrace) or pause at the same
//! position, and leave the same memory and globals behind. Tail calls, extended constant
//! expressions, several memories, 64-bit memories and tables, exceptions (`try_table`,
//! `throw`, `throw_ref`, tags), SIMD and relaxed SIMD are among what it generates.
//!
//! Runs for a fixed time: `DEJA_JIT_DIFF_SECS` seconds (default 20), so CI stays bounded;
//! `DEJA_JIT_DIFF_SECS=600 cargo test --release -p deja-runtime --test all jit_differential`
//! runs a longer campaign. The seed of the first module is fixed, so a failure reproduces.

use deja_runtime::{
    Config, EngineKind, Error, ExportKind, Extern, Linker, Module, Resumable, Store, Val,
};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

fn smith_config() -> wasm_smith::Config {
    wasm_smith::Config {
        simd_enabled: true,
        relaxed_simd_enabled: true,
        exceptions_enabled: true,
        gc_enabled: false,
        tail_call_enabled: true,
        threads_enabled: false,
        memory64_enabled: true,
        wide_arithmetic_enabled: false,
        extended_const_enabled: true,
        custom_page_sizes_enabled: false,
        max_imports: 0,
        max_memories: 3,
        max_tables: 2,
        max_memory32_bytes: 4 << 16,
        max_memory64_bytes: 4 << 16,
        max_table_elements: 1000,
        export_everything: true,
        allow_start_export: false,
        min_funcs: 1,
        max_funcs: 16,
        max_instructions: 200,
        ..wasm_smith::Config::default()
    }
}

/// What one call did, as both engines must report it.
#[derive(Debug, PartialEq)]
enum Outcome {
    Returned(Vec<Val>),
    Paused(u64),
    Trapped {
        code: String,
        position: u64,
        backtrace: Vec<(u32, u32)>,
        exception: Option<String>,
    },
    Failed(String),
}

/// Per export: its name, the call's outcome, the position after it, and a hash of memory and
/// exported globals.
type Calls = Vec<(String, Outcome, u64, u64)>;

/// Snapshots resumed in JIT code by split runs, over the whole test.
static RESUMES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Runs `func` to its end or 20,000 steps, as one call; with `split`, pauses it softly on the
/// way (in JIT code), takes a snapshot, runs on, restores the snapshot and runs on from there
/// (so that the result is a resumed snapshot's).
fn call_bounded<T>(
    store: &mut Store<T>,
    func: deja_runtime::Func,
    args: &[Val],
    split: bool,
) -> deja_runtime::Result<Resumable> {
    let end = store.position() + 20_000;
    if split {
        let before = store.snapshot().expect("a snapshot between calls");
        store.set_soft_budget(true);
        store.set_stop_position(Some(end - 15_000));
        let first = store.call_resumable(func, args);
        store.set_soft_budget(false);
        if let Ok(Resumable::Paused(p)) = first
            && p.position < end
        {
            let snap = store.snapshot().expect("a snapshot at a pause");
            store.set_stop_position(Some(end));
            let _ = store.resume();
            store.abandon();
            store.restore(&snap).expect("restore");
            let resumes = store.engine_stats().resumes;
            store.set_stop_position(Some(end));
            let r = store.resume();
            RESUMES.fetch_add(
                store.engine_stats().resumes - resumes,
                std::sync::atomic::Ordering::Relaxed,
            );
            return r;
        }
        // It ended, or paused too late (after a call returns): once more, unsplit.
        if store.is_paused() {
            store.abandon();
        }
        store.restore(&before).expect("restore");
    }
    store.set_stop_position(Some(end));
    store.call_resumable(func, args)
}

/// Instantiation outcome, then every exported function's call, in name order.
fn run(
    engine: EngineKind,
    module: &Module,
    signals_based_traps: bool,
    split: bool,
) -> (Result<(), String>, Calls) {
    let config = Config {
        signals_based_traps,
        ..Config::default()
    };
    let mut store = Store::new(config, ());
    store.set_engine(engine).expect("idle");
    let instance = match Linker::new().instantiate(&mut store, module) {
        Ok(i) => i,
        Err(e) => return (Err(e.to_string()), Vec::new()),
    };
    let mut exports: Vec<(String, ExportKind)> =
        module.exports().map(|(n, k)| (n.to_string(), k)).collect();
    exports.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::new();
    for (name, kind) in &exports {
        let ExportKind::Func(f) = kind else { continue };
        let ty = module.func_type(*f).expect("exported function").clone();
        let args: Vec<Val> = ty.params().iter().map(|t| Val::default_for(*t)).collect();
        let func = store.get_func(instance, name).expect("export");
        let outcome = match call_bounded(&mut store, func, &args, split) {
            Ok(Resumable::Returned(v)) => Outcome::Returned(v),
            Ok(Resumable::Paused(p)) => {
                store.abandon();
                Outcome::Paused(p.position)
            }
            Err(Error::Trap(t)) => Outcome::Trapped {
                code: t.code.to_string(),
                position: t.position,
                backtrace: t
                    .backtrace
                    .iter()
                    .map(|f| (f.func.as_u32(), f.pc))
                    .collect(),
                exception: t.exception,
            },
            Err(e) => Outcome::Failed(e.to_string()),
        };
        store.set_stop_position(None);
        let mut h = DefaultHasher::new();
        if let Some(m) = store.instance_memory(instance) {
            store.memory_data(m).hash(&mut h);
        }
        for (g, k) in &exports {
            match (k, store.get_export(instance, g)) {
                (ExportKind::Global(_), Some(Extern::Global(global))) => {
                    format!("{:?}", store.global_get(global)).hash(&mut h);
                }
                // Every memory, not only memory 0.
                (ExportKind::Memory(_), Some(Extern::Memory(m))) => {
                    store.memory_data(m).hash(&mut h);
                }
                _ => {}
            }
        }
        out.push((name.clone(), outcome, store.position(), h.finish()));
    }
    if engine == EngineKind::Jit {
        // Else the interpreter would be compared with itself.
        let stats = store.engine_stats();
        assert_eq!(
            (stats.last_compile_error, stats.interp_calls),
            (None, 0),
            "the JIT compiled the module"
        );
    }
    (Ok(()), out)
}

#[test]
fn generated_modules_behave_the_same_on_both_engines() {
    let secs: u64 = std::env::var("DEJA_JIT_DIFF_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let (mut modules, mut calls, mut traps, mut pauses) = (0u64, 0u64, 0u64, 0u64);
    let mut uncaught = 0u64;
    while Instant::now() < deadline {
        let mut bytes = vec![0u8; 16384];
        for b in bytes.iter_mut() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *b = seed as u8;
        }
        let mut u = arbitrary::Unstructured::new(&bytes);
        let Ok(m) = wasm_smith::Module::new(smith_config(), &mut u) else {
            continue;
        };
        let wasm = m.to_bytes();
        let module = Module::from_binary(&wasm)
            .unwrap_or_else(|e| panic!("wasm-smith produced a module deja refuses: {e}"));
        let interp = run(EngineKind::Interp, &module, true, false);
        // Every other module on the JIT's trap path for hosts without deja's signal handlers;
        // every third split by a snapshot resumed in JIT code.
        let signals = modules % 2 == 0;
        let split = modules % 3 == 1;
        let jit = run(EngineKind::Jit, &module, signals, split);
        if jit != interp {
            let path = std::env::temp_dir().join("deja-jit-differential.wasm");
            std::fs::write(&path, &wasm).expect("keep the module");
            panic!(
                "engines differ on {} (module {modules}, signals-based traps {signals}):\ninterpreter {interp:?}\njit {jit:?}",
                path.display()
            );
        }
        modules += 1;
        for (_, o, _, _) in &interp.1 {
            calls += 1;
            match o {
                Outcome::Trapped { exception, .. } => {
                    traps += 1;
                    uncaught += u64::from(exception.is_some());
                }
                Outcome::Paused(_) => pauses += 1,
                _ => {}
            }
        }
    }
    let resumes = RESUMES.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "JIT differential: {modules} modules, {calls} calls ({traps} trapped, {uncaught} of them by an uncaught exception, {pauses} paused at the budget, {resumes} resumed from a snapshot in JIT code) in {secs} s: no difference"
    );
    assert!(resumes > 0, "no split call resumed in JIT code");
    assert!(
        modules >= 10 && calls >= 10,
        "too few cases: {modules} modules, {calls} calls"
    );
}
