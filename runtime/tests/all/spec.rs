//! The WebAssembly spec test suite (core 2.0) on the interpreter, twice: once plainly, once with
//! every invocation interrupted midway by a snapshot, a run to the end, a restore and a second
//! run from the snapshot, which must agree exactly (results, trap, step count).

use deja_runtime::{
    Config, EngineKind, Error, Extern, Func, FuncType, GlobalType, Instance, Limits, Linker,
    MemoryType, Module, Pause, Resumable, Store, TableType, TrapCode, Val, ValType,
};
use std::collections::HashMap;
use std::path::Path;
use wast::core::{AbstractHeapType, HeapType, NanPattern, WastArgCore, WastRetCore};
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

#[derive(Default)]
struct Stats {
    passed: usize,
    failed: usize,
    failures: Vec<String>,
    jit_calls: u64,
    interp_calls: u64,
    hand_overs: u64,
    resumes: u64,
    hardware_traps: u64,
}

struct Runner {
    store: Store<()>,
    linker: Linker<()>,
    named: HashMap<String, Instance>,
    definitions: HashMap<String, Module>,
    last: Option<Instance>,
    snapshot_mode: bool,
    engine: EngineKind,
    /// Engine statistics of JIT stores replaced so far.
    seen: deja_runtime::EngineStats,
    /// The file is of the 2.0 suite: a module it calls invalid or malformed may be valid in
    /// 3.0 (several memories, for one), which deja implements in part; it only has to be
    /// refused by WebAssembly 2.0's rules.
    wasm2: bool,
    /// Invocations split so far in snapshot mode: on the JIT every other one pauses softly
    /// (at a check, in JIT code), and its snapshot resumes in JIT code.
    splits: u64,
}

/// The outcome of one invocation, compared between runs.
#[derive(Debug, PartialEq)]
enum Outcome {
    Values(Vec<Val>),
    Trap(TrapCode),
    Other(String),
}

fn spectest(store: &mut Store<()>, linker: &mut Linker<()>) {
    use ValType::*;
    for (name, params) in [
        ("print", vec![]),
        ("print_i32", vec![I32]),
        ("print_i64", vec![I64]),
        ("print_f32", vec![F32]),
        ("print_f64", vec![F64]),
        ("print_i32_f32", vec![I32, F32]),
        ("print_f64_f64", vec![F64, F64]),
    ] {
        linker.func(
            "spectest",
            name,
            FuncType::new(params, []),
            |_, _, _| Ok(()),
        );
    }
    let globals = [
        ("global_i32", I32, Val::I32(666)),
        ("global_i64", I64, Val::I64(666)),
        ("global_f32", F32, Val::F32(666.6f32.to_bits())),
        ("global_f64", F64, Val::F64(666.6f64.to_bits())),
    ];
    for (name, ty, v) in globals {
        let g = store
            .new_global(
                GlobalType {
                    content: ty,
                    mutable: false,
                },
                v,
            )
            .unwrap();
        linker.define("spectest", name, Extern::Global(g));
    }
    for (name, table64) in [("table", false), ("table64", true)] {
        let table = store
            .new_table(
                TableType {
                    table64,
                    element: FuncRef,
                    limits: Limits {
                        min: 10,
                        max: Some(20),
                    },
                },
                Val::FuncRef(None),
            )
            .unwrap();
        linker.define("spectest", name, Extern::Table(table));
    }
    let memory = store.new_memory(MemoryType {
        memory64: false,
        limits: Limits {
            min: 1,
            max: Some(2),
        },
    });
    linker.define("spectest", "memory", Extern::Memory(memory));
}

fn arg(a: &WastArg<'_>) -> Result<Val, String> {
    let WastArg::Core(a) = a else {
        return Err("component argument".into());
    };
    Ok(match a {
        WastArgCore::I32(v) => Val::I32(*v),
        WastArgCore::I64(v) => Val::I64(*v),
        WastArgCore::F32(v) => Val::F32(v.bits),
        WastArgCore::F64(v) => Val::F64(v.bits),
        WastArgCore::RefNull(HeapType::Abstract {
            ty: AbstractHeapType::Func,
            ..
        }) => Val::FuncRef(None),
        WastArgCore::RefNull(HeapType::Abstract {
            ty: AbstractHeapType::Extern,
            ..
        }) => Val::ExternRef(None),
        WastArgCore::RefExtern(n) => Val::ExternRef(Some(*n)),
        WastArgCore::V128(v) => Val::V128(u128::from_le_bytes(v.to_le_bytes())),
        WastArgCore::RefNull(HeapType::Abstract {
            ty: AbstractHeapType::Exn | AbstractHeapType::NoExn,
            ..
        }) => Val::ExnRef(None),
        other => return Err(format!("unsupported argument {other:?}")),
    })
}

fn matches(expected: &WastRetCore<'_>, actual: &Val) -> bool {
    fn f32_ok(p: &NanPattern<wast::token::F32>, bits: u32) -> bool {
        match p {
            NanPattern::CanonicalNan => bits & 0x7fff_ffff == 0x7fc0_0000,
            NanPattern::ArithmeticNan => f32::from_bits(bits).is_nan() && bits & 0x0040_0000 != 0,
            NanPattern::Value(v) => v.bits == bits,
        }
    }
    fn f64_ok(p: &NanPattern<wast::token::F64>, bits: u64) -> bool {
        match p {
            NanPattern::CanonicalNan => bits & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
            NanPattern::ArithmeticNan => {
                f64::from_bits(bits).is_nan() && bits & 0x0008_0000_0000_0000 != 0
            }
            NanPattern::Value(v) => v.bits == bits,
        }
    }
    match (expected, actual) {
        (WastRetCore::I32(e), Val::I32(a)) => e == a,
        (WastRetCore::I64(e), Val::I64(a)) => e == a,
        (WastRetCore::F32(p), Val::F32(a)) => f32_ok(p, *a),
        (WastRetCore::F64(p), Val::F64(a)) => f64_ok(p, *a),
        (
            WastRetCore::RefNull(_),
            Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None),
        ) => true,
        (WastRetCore::RefExtern(None), Val::ExternRef(Some(_))) => true,
        (WastRetCore::RefExtern(Some(e)), Val::ExternRef(Some(a))) => e == a,
        (WastRetCore::RefFunc(_), Val::FuncRef(Some(_))) => true,
        (WastRetCore::V128(p), Val::V128(a)) => {
            use wast::core::V128Pattern as P;
            let lane = |i: usize, w: u32| (*a >> (i as u32 * w)) & (u128::MAX >> (128 - w));
            match p {
                P::I8x16(l) => l
                    .iter()
                    .enumerate()
                    .all(|(i, e)| lane(i, 8) == u128::from(*e as u8)),
                P::I16x8(l) => l
                    .iter()
                    .enumerate()
                    .all(|(i, e)| lane(i, 16) == u128::from(*e as u16)),
                P::I32x4(l) => l
                    .iter()
                    .enumerate()
                    .all(|(i, e)| lane(i, 32) == u128::from(*e as u32)),
                P::I64x2(l) => l
                    .iter()
                    .enumerate()
                    .all(|(i, e)| lane(i, 64) == u128::from(*e as u64)),
                P::F32x4(l) => l
                    .iter()
                    .enumerate()
                    .all(|(i, e)| f32_ok(e, lane(i, 32) as u32)),
                P::F64x2(l) => l
                    .iter()
                    .enumerate()
                    .all(|(i, e)| f64_ok(e, lane(i, 64) as u64)),
            }
        }
        (WastRetCore::Either(options), a) => options.iter().any(|o| matches(o, a)),
        _ => false,
    }
}

fn trap_matches(code: TrapCode, message: &str) -> bool {
    let ours = code.message();
    message.starts_with(ours) || ours.starts_with(message)
}

fn module_id(wat: &QuoteWat<'_>) -> Option<String> {
    match wat {
        QuoteWat::Wat(Wat::Module(m)) => m.id.map(|i| i.name().to_string()),
        _ => None,
    }
}

impl Runner {
    fn with_config(snapshot_mode: bool, engine: EngineKind, config: Config) -> Runner {
        let mut store = Store::new(config, ());
        store.set_engine(engine).expect("no call in progress");
        let mut linker = Linker::new();
        spectest(&mut store, &mut linker);
        Runner {
            store,
            linker,
            named: HashMap::new(),
            definitions: HashMap::new(),
            last: None,
            snapshot_mode,
            engine,
            seen: Default::default(),
            wasm2: false,
            splits: 0,
        }
    }

    fn instance(&self, id: Option<wast::token::Id<'_>>) -> Result<Instance, String> {
        match id {
            Some(id) => self
                .named
                .get(id.name())
                .copied()
                .ok_or_else(|| format!("unknown module ${}", id.name())),
            None => self
                .last
                .ok_or_else(|| "no module instantiated".to_string()),
        }
    }

    fn instantiate(&mut self, module: &Module, name: Option<String>) -> Result<Instance, Error> {
        let instance = self.linker.instantiate(&mut self.store, module)?;
        self.last = Some(instance);
        if let Some(name) = name {
            self.named.insert(name, instance);
        }
        Ok(instance)
    }

    fn run_call(&mut self, func: Func, args: &[Val]) -> (Outcome, u64) {
        if self.engine == EngineKind::Jit && !self.snapshot_mode {
            return self.run_call_differential(func, args);
        }
        self.run_call_once(func, args)
    }

    /// Runs the call on the JIT, then again from the same state on the interpreter, and
    /// reports the JIT's outcome if both agree on it and on the steps taken (which include a
    /// trap's exact position), else a difference.
    fn run_call_differential(&mut self, func: Func, args: &[Val]) -> (Outcome, u64) {
        let Ok(before) = self.store.snapshot() else {
            return (Outcome::Other("snapshot failed".into()), 0);
        };
        let jit = self.run_call_once(func, args);
        let after_jit = self.store.snapshot().expect("snapshot after a call");
        self.keep_stats();
        self.store.restore(&before).expect("restore");
        self.store.set_engine(EngineKind::Interp).expect("idle");
        let interp = self.run_call_once(func, args);
        self.store.set_engine(EngineKind::Jit).expect("idle");
        if jit != interp {
            return (
                Outcome::Other(format!(
                    "engines differ: jit {jit:?}, interpreter {interp:?}"
                )),
                0,
            );
        }
        // Continue from the JIT's state, so that later directives see what it did.
        self.store.restore(&after_jit).expect("restore");
        jit
    }

    /// Adds the current engine's statistics to `seen` (before the engine is replaced).
    fn keep_stats(&mut self) {
        let s = self.store.engine_stats();
        self.seen.jit_calls += s.jit_calls;
        self.seen.interp_calls += s.interp_calls;
        self.seen.hand_overs += s.hand_overs;
        self.seen.resumes += s.resumes;
        self.seen.hardware_traps += s.hardware_traps;
        if s.last_compile_error.is_some() {
            self.seen.last_compile_error = s.last_compile_error;
        }
    }

    fn run_call_once(&mut self, func: Func, args: &[Val]) -> (Outcome, u64) {
        let start = self.store.position();
        let outcome = match self.store.call(func, args) {
            Ok(v) => Outcome::Values(v),
            Err(Error::Trap(t)) => Outcome::Trap(t.code),
            Err(e) => Outcome::Other(e.to_string()),
        };
        (outcome, self.store.position() - start)
    }

    /// Invokes `func`; in snapshot mode, also checks that a snapshot taken midway replays to
    /// the same outcome and step count.
    fn call(&mut self, func: Func, args: &[Val]) -> Result<Outcome, String> {
        if !self.snapshot_mode {
            return Ok(self.run_call(func, args).0);
        }
        let before = self.store.snapshot().map_err(|e| e.to_string())?;
        let (reference, steps) = self.run_call(func, args);
        let end_position = self.store.position();
        self.store.restore(&before).map_err(|e| e.to_string())?;
        let mid = steps / 2;
        // A soft pause comes at a check at or before midway (or later, after a call returns).
        self.splits += 1;
        let soft = self.engine == EngineKind::Jit && self.splits.is_multiple_of(2);
        self.store.set_soft_budget(soft);
        self.store.set_step_budget(Some(mid));
        let start = self.store.position();
        let first = self.store.call_resumable(func, args);
        self.store.set_step_budget(None);
        self.store.set_soft_budget(false);
        match first {
            Ok(Resumable::Paused(Pause { position, .. })) => {
                if position != start + mid && !soft {
                    return Err(format!("paused at {position}, expected {}", start + mid));
                }
                let snap = self.store.snapshot().map_err(|e| e.to_string())?;
                let run_on = |r: &mut Runner| -> (Outcome, u64) {
                    let outcome = match r.store.resume() {
                        Ok(Resumable::Returned(v)) => Outcome::Values(v),
                        Ok(Resumable::Paused(p)) => Outcome::Other(format!("paused again: {p:?}")),
                        Err(Error::Trap(t)) => Outcome::Trap(t.code),
                        Err(e) => Outcome::Other(e.to_string()),
                    };
                    (outcome, r.store.position())
                };
                let second = run_on(self);
                self.store.restore(&snap).map_err(|e| e.to_string())?;
                let third = run_on(self);
                for (what, (o, p)) in [("resumed", second), ("restored", third)] {
                    if o != reference || p != end_position {
                        return Err(format!(
                            "{what} run differs: {o:?} at {p}, reference {reference:?} at {end_position}"
                        ));
                    }
                }
            }
            // Calls with no steps to split (or that end before midway) must still agree.
            other => {
                let o = match other {
                    Ok(Resumable::Returned(v)) => Outcome::Values(v),
                    Ok(Resumable::Paused(p)) => Outcome::Other(format!("paused: {p:?}")),
                    Err(Error::Trap(t)) => Outcome::Trap(t.code),
                    Err(e) => Outcome::Other(e.to_string()),
                };
                if o != reference || self.store.position() != end_position {
                    return Err(format!("rerun differs: {o:?}, reference {reference:?}"));
                }
            }
        }
        Ok(reference)
    }

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Outcome, String> {
        let instance = self.instance(invoke.module)?;
        let func = self
            .store
            .get_func(instance, invoke.name)
            .map_err(|e| e.to_string())?;
        let args = invoke.args.iter().map(arg).collect::<Result<Vec<_>, _>>()?;
        self.call(func, &args)
    }

    fn execute(&mut self, exec: &mut WastExecute<'_>) -> Result<Outcome, String> {
        match exec {
            WastExecute::Invoke(i) => self.invoke(i),
            WastExecute::Wat(wat) => {
                let bytes = wat.encode().map_err(|e| e.to_string())?;
                let module = Module::from_binary(&bytes).map_err(|e| e.to_string())?;
                match self.instantiate(&module, None) {
                    Ok(_) => Ok(Outcome::Values(vec![])),
                    Err(Error::Trap(t)) => Ok(Outcome::Trap(t.code)),
                    Err(e) => Ok(Outcome::Other(e.to_string())),
                }
            }
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(*module)?;
                match self.store.get_export(instance, global) {
                    Some(Extern::Global(g)) => Ok(Outcome::Values(vec![self.store.global_get(g)])),
                    _ => Err(format!("no global {global}")),
                }
            }
        }
    }

    fn directive(&mut self, d: WastDirective<'_>) -> Result<(), String> {
        match d {
            WastDirective::Module(mut wat) => {
                let name = module_id(&wat);
                let bytes = wat.encode().map_err(|e| e.to_string())?;
                let module = Module::from_binary(&bytes).map_err(|e| e.to_string())?;
                self.instantiate(&module, name).map_err(|e| e.to_string())?;
                Ok(())
            }
            WastDirective::ModuleDefinition(mut wat) => {
                // Without a name, nothing can instantiate it: it only has to load.
                let name = module_id(&wat);
                let bytes = wat.encode().map_err(|e| e.to_string())?;
                let module = Module::from_binary(&bytes).map_err(|e| e.to_string())?;
                if let Some(name) = name {
                    self.definitions.insert(name, module);
                }
                Ok(())
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                let def = module.ok_or("module instance without a definition")?;
                let module = self
                    .definitions
                    .get(def.name())
                    .cloned()
                    .ok_or("unknown module definition")?;
                self.instantiate(&module, instance.map(|i| i.name().to_string()))
                    .map_err(|e| e.to_string())?;
                Ok(())
            }
            WastDirective::AssertMalformed { mut module, .. }
            | WastDirective::AssertInvalid { mut module, .. } => {
                let Ok(bytes) = module.encode() else {
                    return Ok(()); // rejected by the text parser already
                };
                match Module::from_binary(&bytes) {
                    Ok(_)
                        if self.wasm2
                            && wasmparser::Validator::new_with_features(
                                wasmparser::WasmFeatures::WASM2,
                            )
                            .validate_all(&bytes)
                            .is_err() =>
                    {
                        Ok(())
                    }
                    Ok(_) => Err("module was accepted".into()),
                    Err(
                        Error::Invalid { .. } | Error::Malformed { .. } | Error::Unsupported { .. },
                    ) => Ok(()),
                    Err(e) => Err(format!("wrong kind of error: {e}")),
                }
            }
            WastDirective::Register { name, module, .. } => {
                let instance = self.instance(module)?;
                self.linker.define_instance(&self.store, name, instance);
                Ok(())
            }
            WastDirective::Invoke(i) => match self.invoke(&i)? {
                Outcome::Values(_) => Ok(()),
                other => Err(format!("invoke failed: {other:?}")),
            },
            WastDirective::AssertReturn {
                mut exec, results, ..
            } => match self.execute(&mut exec)? {
                Outcome::Values(values) => {
                    let ok = values.len() == results.len()
                        && results.iter().zip(&values).all(|(e, a)| match e {
                            WastRet::Core(e) => matches(e, a),
                            #[allow(unreachable_patterns, reason = "component values")]
                            _ => false,
                        });
                    if ok {
                        Ok(())
                    } else {
                        Err(format!("expected {results:?}, got {values:?}"))
                    }
                }
                other => Err(format!("expected values, got {other:?}")),
            },
            WastDirective::AssertTrap {
                mut exec, message, ..
            } => match self.execute(&mut exec)? {
                Outcome::Trap(code) if trap_matches(code, message) => Ok(()),
                other => Err(format!("expected trap `{message}`, got {other:?}")),
            },
            WastDirective::AssertException { mut exec, .. } => match self.execute(&mut exec)? {
                Outcome::Trap(TrapCode::UncaughtException) => Ok(()),
                other => Err(format!("expected an uncaught exception, got {other:?}")),
            },
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(&call)? {
                Outcome::Trap(TrapCode::CallStackExhausted) => Ok(()),
                other => Err(format!("expected exhaustion `{message}`, got {other:?}")),
            },
            WastDirective::AssertUnlinkable {
                mut module,
                message,
                ..
            } => {
                let bytes = module.encode().map_err(|e| e.to_string())?;
                let module = Module::from_binary(&bytes).map_err(|e| e.to_string())?;
                match self.linker.instantiate(&mut self.store, &module) {
                    Err(Error::UnknownImports(_) | Error::IncompatibleImport { .. }) => Ok(()),
                    other => Err(format!("expected unlinkable `{message}`, got {other:?}")),
                }
            }
            other => Err(format!("unsupported directive {other:?}")),
        }
    }
}

/// The legacy exception handling tests' folded `(try ... (do ...) (catch $t ...) (catch_all
/// ...) (delegate N))`, which the `wast` crate no longer parses, as the flat `try ... catch $t
/// ... catch_all ... end` (or `... delegate N`) that it does. Folded instructions inside stay
/// folded; strings and comments are copied as they are.
fn unfold_legacy_try(text: &str) -> String {
    #[derive(PartialEq)]
    enum Frame {
        Try { delegated: bool },
        Clause,
        Other,
    }
    let mut out = String::with_capacity(text.len());
    let mut stack: Vec<Frame> = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                out.push(c);
                while let Some((_, d)) = chars.next() {
                    out.push(d);
                    if d == '\\' {
                        if let Some((_, e)) = chars.next() {
                            out.push(e);
                        }
                    } else if d == '"' {
                        break;
                    }
                }
            }
            ';' if text[i..].starts_with(";;") => {
                out.push(c);
                for (_, d) in chars.by_ref() {
                    out.push(d);
                    if d == '\n' {
                        break;
                    }
                }
            }
            '(' if text[i..].starts_with("(;") => {
                let end = text[i..].find(";)").map_or(text.len(), |e| i + e + 2);
                out.push_str(&text[i..end]);
                while chars.peek().is_some_and(|(j, _)| *j < end) {
                    chars.next();
                }
            }
            '(' => {
                let rest = &text[i + 1..];
                let word: String = rest
                    .chars()
                    .take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '_' || *ch == '.')
                    .collect();
                let under_try = matches!(stack.last(), Some(Frame::Try { .. }));
                let frame = match word.as_str() {
                    "try" => Frame::Try { delegated: false },
                    "do" | "catch" | "catch_all" | "delegate" if under_try => {
                        if word == "delegate"
                            && let Some(Frame::Try { delegated }) = stack.last_mut()
                        {
                            *delegated = true;
                        }
                        Frame::Clause
                    }
                    _ => Frame::Other,
                };
                match frame {
                    Frame::Other => out.push('('),
                    _ if word == "do" => {
                        out.push(' ');
                        for _ in 0..word.len() {
                            chars.next();
                        }
                    }
                    _ => out.push(' '),
                }
                stack.push(frame);
            }
            ')' => match stack.pop() {
                Some(Frame::Try { delegated: false }) => out.push_str(" end"),
                Some(Frame::Try { delegated: true } | Frame::Clause) => out.push(' '),
                _ => out.push(')'),
            },
            _ => out.push(c),
        }
    }
    out
}

/// Runs one file; returns (passed, failed) and appends failure descriptions.
fn run_file(
    path: &Path,
    snapshot_mode: bool,
    engine: EngineKind,
    config: &Config,
    stats: &mut Stats,
) {
    let text = std::fs::read_to_string(path).expect("read wast");
    let text = if path.components().any(|c| c.as_os_str() == "legacy") {
        unfold_legacy_try(&text)
    } else {
        text
    };
    let mut lexer = wast::lexer::Lexer::new(&text);
    lexer.allow_confusing_unicode(true);
    let buf = match ParseBuffer::new_with_lexer(lexer) {
        Ok(b) => b,
        Err(e) => {
            stats.failed += 1;
            stats.failures.push(format!("{}: lex: {e}", path.display()));
            return;
        }
    };
    let wast: Wast<'_> = match parser::parse(&buf) {
        Ok(w) => w,
        Err(e) => {
            stats.failed += 1;
            stats
                .failures
                .push(format!("{}: parse: {e}", path.display()));
            return;
        }
    };
    let mut runner = Runner::with_config(snapshot_mode, engine, config.clone());
    runner.wasm2 = path.components().any(|c| c.as_os_str() == "core-2.0");
    for d in wast.directives {
        let span = d.span();
        let (line, col) = span.linecol_in(&text);
        match runner.directive(d) {
            Ok(()) => stats.passed += 1,
            Err(e) => {
                stats.failed += 1;
                stats.failures.push(format!(
                    "{}:{}:{}: {e}",
                    path.file_name().unwrap().to_string_lossy(),
                    line + 1,
                    col + 1
                ));
            }
        }
    }
    runner.keep_stats();
    let s = runner.seen;
    stats.jit_calls += s.jit_calls;
    stats.interp_calls += s.interp_calls;
    stats.hand_overs += s.hand_overs;
    stats.resumes += s.resumes;
    stats.hardware_traps += s.hardware_traps;
    if let Some(e) = s.last_compile_error {
        stats.failed += 1;
        stats.failures.push(format!(
            "{}: not compiled for the JIT: {e}",
            path.file_name().unwrap().to_string_lossy()
        ));
    }
}

/// The `.wast` files of a suite's directory, sorted; with `DEJA_SPEC_FILES` set, only those
/// whose names contain it (to rerun one file while working on it; the counts then fail).
fn wast_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let only = std::env::var("DEJA_SPEC_FILES").ok();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "wast"))
        .filter(|p| {
            only.as_ref().is_none_or(|o| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .contains(o.as_str())
            })
        })
        .collect();
    files.sort();
    files
}

fn run_suite(snapshot_mode: bool, engine: EngineKind) {
    run_suite_with(snapshot_mode, engine, &Config::default());
}

fn run_suite_with(snapshot_mode: bool, engine: EngineKind, config: &Config) {
    let Some(dir) = crate::corpus("spec/core-2.0") else {
        return;
    };
    let files = wast_files(&dir);
    let mut stats = Stats::default();
    for path in &files {
        run_file(path, snapshot_mode, engine, config, &mut stats);
    }
    let label = match (snapshot_mode, engine) {
        (false, EngineKind::Interp) => "spec core-2.0",
        (true, EngineKind::Interp) => "spec core-2.0 (snapshot midway)",
        (false, EngineKind::Jit) if !config.signals_based_traps => {
            "spec core-2.0 on the JIT without signals-based traps (each call checked against the interpreter)"
        }
        (false, EngineKind::Jit) => {
            "spec core-2.0 on the JIT (each call checked against the interpreter)"
        }
        (true, EngineKind::Jit) => {
            "spec core-2.0 on the JIT (snapshot midway: hand-over, or a soft pause resumed in JIT code)"
        }
    };
    println!("{label}: {} passed, {} failed", stats.passed, stats.failed);
    if engine == EngineKind::Jit {
        println!(
            "JIT: {} calls started in JIT code, {} on the interpreter, {} handed over, {} snapshots resumed in JIT code, {} traps through signals",
            stats.jit_calls,
            stats.interp_calls,
            stats.hand_overs,
            stats.resumes,
            stats.hardware_traps
        );
        assert!(stats.jit_calls > 0, "the JIT ran nothing");
        assert_eq!(stats.interp_calls, 0, "every call starts in JIT code");
        // Where the host has them, the suite's traps come through the signal handlers unless
        // they are turned off; then explicit checks and trap blocks find every one.
        let hosted = cfg!(all(target_arch = "x86_64", target_os = "linux"));
        if hosted && config.signals_based_traps {
            assert!(stats.hardware_traps > 0, "no trap came through a signal");
        } else {
            assert_eq!(stats.hardware_traps, 0, "traps came through signals");
        }
        if snapshot_mode {
            assert!(
                stats.hand_overs > 0,
                "midway pauses hand over to the interpreter"
            );
            assert!(
                stats.resumes > 0,
                "snapshots of soft pauses resume in JIT code"
            );
        }
    }
    for f in stats.failures.iter().take(200) {
        println!("FAILED {f}");
    }
    assert!(stats.passed > 0, "no assertion ran");
    assert_eq!(stats.failed, 0, "{label}: {} failures", stats.failed);
}

#[test]
fn spec_core_2_0() {
    run_suite(false, EngineKind::Interp);
}

#[test]
fn spec_core_2_0_with_snapshot_midway() {
    run_suite(true, EngineKind::Interp);
}

#[test]
fn spec_core_2_0_jit() {
    run_suite(false, EngineKind::Jit);
}

/// The JIT's trap path for hosts without deja's signal handlers (explicit bounds checks, trap
/// blocks), which this host would otherwise never run.
#[test]
fn spec_core_2_0_jit_without_signals_based_traps() {
    let config = Config {
        signals_based_traps: false,
        ..Config::default()
    };
    run_suite_with(false, EngineKind::Jit, &config);
}

#[test]
fn spec_core_2_0_jit_with_snapshot_midway() {
    run_suite(true, EngineKind::Jit);
}

/// The Wasm 3.0 suite, file by file: the pass and fail counts of every file are compared with
/// `runtime/tests/spec-core-3.0.txt`, on both engines (on the JIT each call is checked against
/// the interpreter). A change either way, a regression or a
/// proposal landing, fails until the table is updated: regenerate it with `BLESS=1`. The
/// table is where the counts per proposal stand (BENCHMARKS.md sums them up); modules that use
/// an unsupported proposal are refused by name, and what depends on them fails.
fn run_suite_3_0(engine: EngineKind, snapshot_mode: bool) {
    run_suite_3_0_with(engine, snapshot_mode, &Config::default());
}

fn run_suite_3_0_with(engine: EngineKind, snapshot_mode: bool, config: &Config) {
    let Some(dir) = crate::corpus("spec/core-3.0") else {
        return;
    };
    let files = wast_files(&dir);
    let (mut passed, mut failed, mut resumes) = (0, 0, 0);
    let mut table = String::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let mut stats = Stats::default();
        run_file(path, snapshot_mode, engine, config, &mut stats);
        // `DEJA_SPEC_SHOW=table` prints the failures of the files whose names contain it.
        if std::env::var("DEJA_SPEC_SHOW").is_ok_and(|v| name.contains(&v)) {
            for f in &stats.failures {
                println!("FAILED {f}");
            }
        }
        table.push_str(&format!("{name} {} {}\n", stats.passed, stats.failed));
        passed += stats.passed;
        failed += stats.failed;
        resumes += stats.resumes;
    }
    let split = if snapshot_mode {
        ", every invocation split by a snapshot midway"
    } else {
        ""
    };
    let traps = if config.signals_based_traps {
        ""
    } else {
        ", without signals-based traps"
    };
    println!("spec core-3.0 ({engine:?}{split}{traps}): {passed} passed, {failed} failed");
    if snapshot_mode && engine == EngineKind::Jit {
        println!("JIT: {resumes} snapshots resumed in JIT code");
        assert!(resumes > 0, "snapshots of soft pauses resume in JIT code");
    }
    let expected_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spec-core-3.0.txt");
    if std::env::var_os("BLESS").is_some()
        && !snapshot_mode
        && engine == EngineKind::Interp
        && config.signals_based_traps
    {
        std::fs::write(&expected_path, &table).unwrap();
    }
    let expected: String = std::fs::read_to_string(&expected_path).unwrap_or_default();
    let changed: Vec<String> = table
        .lines()
        .filter(|l| !expected.lines().any(|e| e == *l))
        .map(|l| {
            let name = l.split(' ').next().unwrap_or("");
            let was = expected
                .lines()
                .find(|e| e.split(' ').next() == Some(name))
                .unwrap_or("(absent)");
            format!("{l} (file: passed failed; expected {was})")
        })
        .collect();
    for c in &changed {
        println!("CHANGED {c}");
    }
    assert!(passed > 0, "no assertion ran");
    assert!(
        changed.is_empty() && table.lines().count() == expected.lines().count(),
        "{} files changed their counts; if on purpose, BLESS=1 updates tests/spec-core-3.0.txt",
        changed.len()
    );
}

#[test]
fn spec_core_3_0() {
    run_suite_3_0(EngineKind::Interp, false);
}

#[test]
fn spec_core_3_0_jit() {
    run_suite_3_0(EngineKind::Jit, false);
}

/// The 3.0 suite on the JIT's trap path for hosts without deja's signal handlers (see
/// `spec_core_2_0_jit_without_signals_based_traps`): the same table.
#[test]
fn spec_core_3_0_jit_without_signals_based_traps() {
    let config = Config {
        signals_based_traps: false,
        ..Config::default()
    };
    run_suite_3_0_with(EngineKind::Jit, false, &config);
}

/// The snapshot-split pass over the 3.0 suite: every invocation is paused midway, snapshotted,
/// resumed, restored and resumed again, and must give the same outcome and step count as
/// running straight through (the same table: a split that changes anything fails an
/// assertion). On the JIT the pause is a hand-over to the interpreter.
#[test]
fn spec_core_3_0_with_snapshot_midway() {
    run_suite_3_0(EngineKind::Interp, true);
}

#[test]
fn spec_core_3_0_jit_with_snapshot_midway() {
    run_suite_3_0(EngineKind::Jit, true);
}

/// The legacy exception handling proposal's tests (`try`, `catch`, `catch_all`, `delegate`,
/// `rethrow`: what older toolchains emit), from the proposals' head, on both engines (on the
/// JIT each call is checked against the interpreter): every assertion passes.
#[test]
fn spec_legacy_exceptions_on_both_engines() {
    let Some(dir) = crate::corpus("spec/proposals-head/legacy") else {
        return;
    };
    for engine in [EngineKind::Interp, EngineKind::Jit] {
        let mut stats = Stats::default();
        for path in wast_files(&dir) {
            run_file(&path, false, engine, &Config::default(), &mut stats);
        }
        println!(
            "spec legacy exceptions ({engine:?}): {} passed, {} failed",
            stats.passed, stats.failed
        );
        for f in &stats.failures {
            println!("FAILED {f}");
        }
        assert!(stats.passed >= 90, "too few assertions: {}", stats.passed);
        assert_eq!(stats.failed, 0, "{:#?}", stats.failures);
    }
}
