//! The session on generated modules (wasm-smith): seeks and call-structure movements land
//! where forward single-stepping says, on code nobody here wrote.

use deja_recorder::{Settings, record};
use deja_replayer::{Session, SessionOptions};
use deja_runtime::{Config, EngineKind, ExportKind, Linker, Module, Store, Val};
use deja_traces::TraceReader;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

fn smith_config() -> wasm_smith::Config {
    wasm_smith::Config {
        simd_enabled: false,
        relaxed_simd_enabled: false,
        exceptions_enabled: false,
        gc_enabled: false,
        tail_call_enabled: false,
        threads_enabled: false,
        memory64_enabled: false,
        wide_arithmetic_enabled: false,
        extended_const_enabled: false,
        custom_page_sizes_enabled: false,
        max_imports: 0,
        max_memories: 1,
        max_tables: 2,
        max_memory32_bytes: 4 << 16,
        max_table_elements: 1000,
        export_everything: true,
        allow_start_export: false,
        min_funcs: 2,
        max_funcs: 12,
        max_instructions: 60,
        ..wasm_smith::Config::default()
    }
}

#[derive(Clone, Debug, PartialEq)]
struct State {
    frames: Vec<(u32, u32)>,
    locals: Vec<Val>,
    stack: Vec<Val>,
    globals: Vec<Val>,
    memory: u64,
}

fn state(s: &mut Session<std::io::Cursor<Vec<u8>>>) -> State {
    let globals = s.globals();
    let mut h = DefaultHasher::new();
    let instance = s.instance();
    if let Some(m) = s.store().instance_memory(instance) {
        s.store().memory_data(m).hash(&mut h);
    }
    let mut frames = Vec::new();
    let (mut locals, mut stack) = (Vec::new(), Vec::new());
    let mut c = s.store().debug_frames();
    while !c.done() {
        frames.push({
            let (f, pc) = c.wasm_function_index_and_pc().unwrap();
            (f.as_u32(), pc)
        });
        if frames.len() == 1 {
            locals = (0..c.num_locals()).map(|i| c.local(i)).collect();
            stack = (0..c.num_stacks()).map(|i| c.stack(i)).collect();
        }
        c.move_to_parent();
    }
    State {
        frames,
        locals,
        stack,
        globals,
        memory: h.finish(),
    }
}

/// NaN-tolerant equality: values compare by bits, which is what must be identical.
fn same(a: &State, b: &State) -> bool {
    a == b
}

#[test]
fn sessions_on_generated_modules_match_forward_stepping() {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let (mut tried, mut exercised) = (0, 0);
    while exercised < 12 && tried < 400 {
        tried += 1;
        let mut bytes = vec![0u8; 8192];
        for b in bytes.iter_mut() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *b = seed as u8;
        }
        let mut u = arbitrary::Unstructured::new(&bytes);
        let Ok(mut m) = wasm_smith::Module::new(smith_config(), &mut u) else {
            continue;
        };
        if m.ensure_termination(200).is_err() {
            continue;
        }
        let wasm = m.to_bytes();
        let module = Module::from_binary(&wasm)
            .unwrap_or_else(|e| panic!("wasm-smith produced a module deja refuses: {e}"));
        let Some(entry) = module.exports().find_map(|(name, kind)| match kind {
            ExportKind::Func(f) if module.func_type(f).unwrap().params().is_empty() => {
                Some(name.to_string())
            }
            _ => None,
        }) else {
            continue;
        };
        let mut store = Store::new(Config::default(), ());
        let mut settings = Settings::new("test");
        settings.entry = entry;
        let Ok((report, trace)) = record(&mut store, &Linker::new(), &module, Vec::new(), settings)
        else {
            continue; // instantiation failed (an out-of-bounds segment, say)
        };
        if report.total_steps < 20 || report.total_steps > 20_000 {
            continue;
        }
        exercised += 1;
        let open = |options| {
            Session::open(
                TraceReader::new(std::io::Cursor::new(trace.clone())).unwrap(),
                None,
                options,
                None,
            )
            .unwrap()
        };
        let mut fwd = open(SessionOptions::default());
        let (start, end) = (fwd.start(), fwd.end());
        assert_eq!(end, report.total_steps, "seed {tried}");
        fwd.seek(start).unwrap();
        let mut truth = vec![state(&mut fwd)];
        while fwd.position() < end {
            fwd.step_forward(1).unwrap();
            truth.push(state(&mut fwd));
        }
        let at = |p: u64| &truth[(p - start) as usize];
        let depth = |p: u64| at(p).frames.len();
        let mut s = open(SessionOptions {
            checkpoint_budget: 4 << 20,
            checkpoint_interval: 29,
            dense_spacing: 3,
            engine: EngineKind::Jit,
        });
        let n = end - start;
        for i in 0..25u64 {
            let p = start + (i * 7919 + tried as u64) % (n + 1);
            s.seek(p).unwrap();
            assert!(same(&state(&mut s), at(p)), "module {tried}: seek({p})");
            let d = depth(p);
            if d == 0 {
                continue;
            }
            let at_call = s.store().debug_frames().is_at_call();
            let stop = s.step_over().unwrap();
            let expected = if at_call {
                (p + 1..=end).find(|&q| depth(q) <= d).unwrap_or(end)
            } else {
                (p + 1).min(end)
            };
            assert_eq!(stop.position, expected, "module {tried}: next from {p}");
            s.seek(p).unwrap();
            let stop = s.finish().unwrap();
            let expected = (p + 1..=end).find(|&q| depth(q) < d).unwrap_or(end);
            assert_eq!(stop.position, expected, "module {tried}: finish from {p}");
            s.seek(p).unwrap();
            let stop = s.reverse_step_over().unwrap();
            let expected = (start..p).rev().find(|&q| depth(q) <= d).unwrap_or(start);
            assert_eq!(stop.position, expected, "module {tried}: rnext from {p}");
            s.seek(p).unwrap();
            let stop = s.reverse_finish().unwrap();
            let expected = (start..p).rev().find(|&q| depth(q) < d).unwrap_or(start);
            assert_eq!(stop.position, expected, "module {tried}: rfinish from {p}");
            assert!(same(&state(&mut s), at(stop.position)));
        }
    }
    println!("generated modules: {exercised} exercised out of {tried} generated");
    assert!(
        exercised >= 12,
        "only {exercised} generated modules ran long enough"
    );
}
