//! `deja run`: instantiate a module and run `_start` or an exported function.

use crate::cli::{GuestOptions, RunArgs};
use crate::exit::Failure;
use deja_runtime::wasi::{self, Preopen, WasiCtx, WasiCtxBuilder};
use deja_runtime::{Config, Error, FuncType, Linker, Module, Resumable, Store, Val, ValType};
use std::io::Write;
use std::path::Path;

/// Parses a command-line argument as a value of type `ty`.
fn parse_val(text: &str, ty: ValType) -> Result<Val, String> {
    fn int(text: &str) -> Option<i128> {
        let (neg, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let v = match digits
            .strip_prefix("0x")
            .or_else(|| digits.strip_prefix("0X"))
        {
            Some(hex) => i128::from_str_radix(hex, 16).ok()?,
            None => digits.parse::<i128>().ok()?,
        };
        Some(if neg { -v } else { v })
    }
    let bad = || format!("`{text}` is not a valid {ty}");
    Ok(match ty {
        ValType::I32 => {
            let v = int(text).ok_or_else(bad)?;
            if !(i128::from(i32::MIN)..=i128::from(u32::MAX)).contains(&v) {
                return Err(format!("`{text}` does not fit in i32"));
            }
            Val::I32(v as i32)
        }
        ValType::I64 => {
            let v = int(text).ok_or_else(bad)?;
            if !(i128::from(i64::MIN)..=i128::from(u64::MAX)).contains(&v) {
                return Err(format!("`{text}` does not fit in i64"));
            }
            Val::I64(v as i64)
        }
        ValType::F32 => Val::F32(text.parse::<f32>().map_err(|_| bad())?.to_bits()),
        ValType::F64 => Val::F64(text.parse::<f64>().map_err(|_| bad())?.to_bits()),
        ValType::FuncRef if text == "null" => Val::FuncRef(None),
        ValType::ExternRef if text == "null" => Val::ExternRef(None),
        ValType::ExternRef => Val::ExternRef(Some(text.parse::<u32>().map_err(|_| bad())?)),
        ValType::FuncRef => return Err("a funcref argument can only be `null`".into()),
        ValType::ExnRef if text == "null" => Val::ExnRef(None),
        ValType::ExnRef => return Err("an exnref argument can only be `null`".into()),
        // All 128 bits as one number, lane 0 in the low bits: `0x0000000400000003…`.
        ValType::V128 => {
            let v = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
                Some(hex) => u128::from_str_radix(&hex.replace('_', ""), 16),
                None => text.parse::<u128>(),
            };
            Val::V128(v.map_err(|_| bad())?)
        }
    })
}

fn describe_position<T>(store: &mut Store<T>) -> String {
    let frames = store.backtrace();
    match frames.first() {
        Some(f) => format!("in {f}"),
        None => "outside any function".into(),
    }
}

/// The WASI context the options describe; `argv` is the guest's whole argv.
pub fn wasi_ctx(opts: &GuestOptions, argv: Vec<String>) -> Result<WasiCtx, Failure> {
    Ok(wasi_builder(opts, argv)?.build()?)
}

/// The environment the guest sees: the host's with `--inherit-env`, then every `--env`, which
/// replaces an inherited variable of the same name (as wasmtime does). A trace records exactly
/// this list.
///
/// # Errors
/// [`Failure::Usage`] naming an inherited variable that is not UTF-8.
pub fn guest_env(opts: &GuestOptions) -> Result<Vec<(String, String)>, Failure> {
    let mut env: Vec<(String, String)> = Vec::new();
    if opts.inherit_env {
        for (k, v) in std::env::vars_os() {
            match (k.into_string(), v.into_string()) {
                (Ok(k), Ok(v)) => env.push((k, v)),
                (k, _) => {
                    let name = match k {
                        Ok(k) => k,
                        Err(k) => k.to_string_lossy().into_owned(),
                    };
                    return Err(Failure::Usage(format!(
                        "--inherit-env: the host's environment variable `{name}` is not valid \
                         UTF-8; unset it or pass the variables the guest needs with --env"
                    )));
                }
            }
        }
    }
    for (k, v) in &opts.env {
        match env.iter_mut().find(|(name, _)| name == k) {
            Some(slot) => slot.1 = v.clone(),
            None => env.push((k.clone(), v.clone())),
        }
    }
    Ok(env)
}

/// A builder for the WASI context the options describe, for callers that add to it.
pub fn wasi_builder(opts: &GuestOptions, argv: Vec<String>) -> Result<WasiCtxBuilder, Failure> {
    let mut b = WasiCtxBuilder::new();
    b.args(argv);
    for (k, v) in guest_env(opts)? {
        b.env(k, v);
    }
    for (spec, read_only) in opts
        .dirs
        .iter()
        .map(|d| (d, false))
        .chain(opts.dirs_ro.iter().map(|d| (d, true)))
    {
        let mut p = Preopen::parse(spec);
        p.read_only = read_only;
        if !p.host.is_dir() {
            return Err(Failure::Usage(format!(
                "--dir {spec}: {} is not a directory",
                p.host.display()
            )));
        }
        b.preopen(p);
    }
    Ok(b)
}

/// A linker with WASI and, when asked, the sightglass `bench` imports.
pub fn linker(opts: &GuestOptions) -> Linker<WasiCtx> {
    let mut linker = Linker::new();
    wasi::add_to_linker(&mut linker, |c: &mut WasiCtx| c);
    if opts.bench_imports {
        for name in ["start", "end"] {
            linker.func("bench", name, FuncType::default(), |_, _, _| Ok(()));
        }
    }
    linker
}

fn program_name(module: &Path) -> String {
    module.file_name().map_or_else(
        || module.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Runs the command.
pub fn run(args: &RunArgs) -> Result<(), Failure> {
    let module = load_module(&args.module())?;
    let config = Config {
        nan_canonicalization: !args.exec.no_nan_canonicalization,
        max_call_depth: args.exec.max_call_depth,
        ..Config::default()
    };
    let guest_args = args.args()?;
    let mut argv = vec![program_name(&args.module())];
    if args.invoke.is_none() {
        argv.extend(guest_args.iter().cloned());
    }
    let ctx = wasi_ctx(&args.guest, argv)?;
    let mut store = Store::new(config, ctx);
    store
        .set_engine(args.exec.engine.kind())
        .expect("a new store has no call in progress");
    store.set_step_budget(args.exec.max_steps);
    let linker = linker(&args.guest);
    let instance = match linker.instantiate(&mut store, &module) {
        Ok(i) => i,
        Err(Error::UnknownImports(missing)) => {
            return Err(Failure::Runtime(Error::UnknownImports(missing)));
        }
        Err(e) => return Err(with_context(&mut store, e)),
    };
    let name = args.invoke.as_deref().unwrap_or("_start");
    let func = match store.get_func(instance, name) {
        Ok(f) => f,
        Err(_) if args.invoke.is_none() => {
            return Err(Failure::Usage(format!(
                "{} has no `_start` export; choose a function with --invoke NAME",
                args.module().display()
            )));
        }
        Err(e) => return Err(Failure::Usage(e.to_string())),
    };
    let ty = store.func_type(func).clone();
    let vals = if args.invoke.is_some() {
        if guest_args.len() != ty.params().len() {
            return Err(Failure::Usage(format!(
                "`{name}` has signature {ty}: expected {} arguments, got {}",
                ty.params().len(),
                guest_args.len()
            )));
        }
        guest_args
            .iter()
            .zip(ty.params())
            .map(|(a, t)| parse_val(a, *t))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Failure::Usage)?
    } else {
        // The guest's arguments went to WASI's argv.
        Vec::new()
    };
    let outcome = store.call_resumable(func, &vals);
    note_jit_fallback(&store);
    let results = match outcome {
        Ok(Resumable::Returned(r)) => r,
        Ok(Resumable::Paused(pause)) => {
            // Only the step budget pauses a plain run.
            let location = describe_position(&mut store);
            return Err(Failure::Message {
                message: format!(
                    "stopped: step budget exhausted after {} steps, {location} (raise --max-steps)",
                    pause.position
                ),
                code: crate::exit::STEP_BUDGET,
            });
        }
        Err(e) => return Err(with_context(&mut store, e)),
    };
    let mut out = std::io::stdout().lock();
    for v in results {
        writeln!(out, "{v}")?;
    }
    out.flush()?;
    Ok(())
}

/// Says on stderr, once per process, when the JIT left calls to the interpreter because a
/// module did not compile or its memory could not be guarded (the JIT, the default engine,
/// would otherwise run at the interpreter's speed without a word).
pub fn note_jit_fallback<T>(store: &Store<T>) {
    static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let stats = store.engine_stats();
    if stats.interp_calls > 0 && !SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
        eprintln!(
            "deja: note: the JIT could not run this module, so the interpreter ran it: {}",
            stats
                .last_compile_error
                .as_deref()
                .unwrap_or("no reason recorded")
        );
    }
}

/// Loads the module to run or record. A deja trace given by mistake is recognised by its magic
/// bytes and named as such (it used to be reported as a WebAssembly text syntax error).
pub fn load_module(path: &std::path::Path) -> Result<Module, Failure> {
    let mut magic = [0u8; 8];
    if let Ok(mut f) = std::fs::File::open(path) {
        use std::io::Read;
        let _ = f.read(&mut magic);
    }
    if magic == deja_traces::MAGIC {
        return Err(Failure::Usage(format!(
            "{} is a deja trace, not a module: replay it with `deja replay {0}` or debug it \
             with `deja debug {0}`",
            path.display()
        )));
    }
    Ok(Module::from_file(path)?)
}

/// Adds context to a run that did not finish: where a budget stopped it, how to raise the
/// call-depth limit.
fn with_context<T>(store: &mut Store<T>, e: Error) -> Failure {
    let code = crate::exit::code_for(&e);
    match e {
        Error::StartPaused(pause) => Failure::Message {
            message: format!(
                "stopped: step budget exhausted after {} steps, in the start function (raise --max-steps)",
                pause.position
            ),
            code,
        },
        Error::Trap(t) if t.code == deja_runtime::TrapCode::CallStackExhausted => {
            Failure::Message {
                message: format!(
                    "{t}\n(the call depth limit is {} Wasm frames; raise it with --max-call-depth)",
                    store.config().max_call_depth
                ),
                code,
            }
        }
        e => Failure::Runtime(e),
    }
}
