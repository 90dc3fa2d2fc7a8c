//! Runs sightglass programs on deja's engines and on wasmi (in this process) and on wasmtime
//! (through `../shared/tools/wasmtime-ref.py`), one program and one engine at a time, and
//! prints a markdown table of the time between `bench.start` and `bench.end`.
//!
//! Usage: `cargo run --release --manifest-path bench/sightglass/Cargo.toml -- [--iters N]
//! [--corpus DIR] [--engines jit,interp] [--no-wasmtime] [--record-replay] [FOLDER/FILE.wasm ...]`
//!
//! `--engines` lists deja's engines to measure, each a column of the table (default: the
//! interpreter only, the figures of the older tables in BENCHMARKS.md). A deja "total" is the
//! module's load, compilation (the JIT compiles each function on its first call, during the
//! run) and run, in this process.
//!
//! With `--record-replay` it measures deja against itself instead: a plain run, a recording
//! (run + trace written to a file) and a replay of that trace, all in this process, and the
//! trace's size.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DEFAULT: &[&str] = &[
    "blake3-scalar/benchmark.wasm",
    "bz2/benchmark.wasm",
    "pulldown-cmark/benchmark.wasm",
    "quicksort/benchmark.wasm",
    "regex/benchmark.wasm",
    "richards/benchmark.wasm",
    "rust-compression/benchmark.wasm",
    "rust-json/benchmark.wasm",
    "rust-protobuf/benchmark.wasm",
    "tinygo/tinygo-json.wasm",
    "shootout/shootout-gimli.wasm",
    "shootout/shootout-keccak.wasm",
    "shootout/shootout-matrix.wasm",
    "shootout/shootout-random.wasm",
    "shootout/shootout-ratelimit.wasm",
    "shootout/shootout-switch.wasm",
];

#[derive(Clone, Copy, Default)]
struct Times {
    bench: Duration,
    total: Duration,
}

fn expected(dir: &Path, stem: &str) -> Option<String> {
    [format!("{stem}.stdout.expected"), "default.stdout.expected".to_string()]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
        .map(|p| std::fs::read_to_string(p).unwrap())
}

fn same_lines(a: &str, b: &str) -> bool {
    a.lines().map(str::trim_end).eq(b.lines().map(str::trim_end))
}

fn run_deja(wasm: &Path, engine: deja_runtime::EngineKind) -> (Times, String) {
    use deja_runtime::wasi::{self, OutputSink, Preopen, StdinSource, WasiCtx, WasiCtxBuilder};
    let dir = wasm.parent().unwrap();
    let t0 = Instant::now();
    let module = deja_runtime::Module::from_file(wasm).unwrap();
    let (stdout, out) = OutputSink::buffer();
    let (stderr, _) = OutputSink::buffer();
    let ctx = WasiCtxBuilder::new()
        .args([wasm.file_name().unwrap().to_string_lossy().to_string()])
        .preopen(Preopen {
            host: dir.to_owned(),
            guest: ".".into(),
            read_only: false,
        })
        .stdin(StdinSource::Null)
        .stdout(stdout)
        .stderr(stderr)
        .build()
        .unwrap();
    let mut store = deja_runtime::Store::new(deja_runtime::Config::default(), ctx);
    store.set_engine(engine).unwrap();
    let mut linker = deja_runtime::Linker::new();
    wasi::add_to_linker(&mut linker, |c: &mut WasiCtx| c);
    let marks = Arc::new(Mutex::new(Vec::new()));
    for name in ["start", "end"] {
        let marks = marks.clone();
        linker.func("bench", name, Default::default(), move |_, _, _| {
            marks.lock().unwrap().push(Instant::now());
            Ok(())
        });
    }
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let start = store.get_func(instance, "_start").unwrap();
    match store.call(start, &[]) {
        Ok(_) | Err(deja_runtime::Error::Exit { code: 0, .. }) => {}
        Err(e) => panic!("deja: {}: {e}", wasm.display()),
    }
    let total = t0.elapsed();
    let m = marks.lock().unwrap();
    let out = String::from_utf8_lossy(&out.lock().unwrap()).to_string();
    (
        Times {
            bench: m[m.len() - 1] - m[0],
            total,
        },
        out,
    )
}

fn run_wasmi(wasm: &Path) -> (Times, String) {
    let dir = wasm.parent().unwrap();
    let t0 = Instant::now();
    let engine = wasmi::Engine::default();
    let module = wasmi::Module::new(&engine, std::fs::read(wasm).unwrap()).unwrap();
    let stdout = wasmi_wasi::wasi_common::pipe::WritePipe::new_in_memory();
    let preopen =
        wasmi_wasi::Dir::open_ambient_dir(dir, wasmi_wasi::ambient_authority()).unwrap();
    let ctx = wasmi_wasi::WasiCtxBuilder::new()
        .arg(&wasm.file_name().unwrap().to_string_lossy())
        .unwrap()
        .stdout(Box::new(stdout.clone()))
        .preopened_dir(preopen, ".")
        .unwrap()
        .build();
    let mut store = wasmi::Store::new(&engine, ctx);
    let mut linker = wasmi::Linker::new(&engine);
    wasmi_wasi::add_to_linker(&mut linker, |c| c).unwrap();
    let marks = Arc::new(Mutex::new(Vec::new()));
    for name in ["start", "end"] {
        let marks = marks.clone();
        linker
            .func_wrap("bench", name, move || {
                marks.lock().unwrap().push(Instant::now());
            })
            .unwrap();
    }
    let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
    let start = instance.get_typed_func::<(), ()>(&store, "_start").unwrap();
    if let Err(e) = start.call(&mut store, ()) {
        let exit0 = e
            .i32_exit_status()
            .is_some_and(|c| c == 0);
        assert!(exit0, "wasmi: {}: {e}", wasm.display());
    }
    let total = t0.elapsed();
    drop(store);
    let out = stdout
        .try_into_inner()
        .map(|c| String::from_utf8_lossy(c.get_ref()).to_string())
        .unwrap_or_default();
    let m = marks.lock().unwrap();
    (
        Times {
            bench: m[m.len() - 1] - m[0],
            total,
        },
        out,
    )
}

/// deja's WASI store and linker for a sightglass program in `dir`.
fn deja_setup(
    wasm: &Path,
) -> (
    deja_runtime::Store<deja_runtime::wasi::WasiCtx>,
    deja_runtime::Linker<deja_runtime::wasi::WasiCtx>,
) {
    use deja_runtime::wasi::{self, OutputSink, Preopen, StdinSource, WasiCtx, WasiCtxBuilder};
    let (stdout, _) = OutputSink::buffer();
    let (stderr, _) = OutputSink::buffer();
    let ctx = WasiCtxBuilder::new()
        .args([wasm.file_name().unwrap().to_string_lossy().to_string()])
        .preopen(Preopen {
            host: wasm.parent().unwrap().to_owned(),
            guest: ".".into(),
            read_only: false,
        })
        .stdin(StdinSource::Null)
        .stdout(stdout)
        .stderr(stderr)
        .build()
        .unwrap();
    let store = deja_runtime::Store::new(deja_runtime::Config::default(), ctx);
    let mut linker = deja_runtime::Linker::new();
    wasi::add_to_linker(&mut linker, |c: &mut WasiCtx| c);
    for name in ["start", "end"] {
        linker.func("bench", name, Default::default(), |_, _, _| Ok(()));
    }
    (store, linker)
}

fn record_replay(wasm: &Path, iters: usize) {
    let module = deja_runtime::Module::from_file(wasm).unwrap();
    let best = |f: &mut dyn FnMut() -> Duration| (0..iters).map(|_| f()).min().unwrap();
    let run = best(&mut || {
        let (mut store, linker) = deja_setup(wasm);
        let t = Instant::now();
        let i = linker.instantiate(&mut store, &module).unwrap();
        let f = store.get_func(i, "_start").unwrap();
        let _ = store.call(f, &[]);
        t.elapsed()
    });
    let trace = std::env::temp_dir().join(format!("deja-sg-{}.deja", std::process::id()));
    let mut steps = 0;
    let mut calls = 0;
    let rec = best(&mut || {
        let (mut store, linker) = deja_setup(wasm);
        let t = Instant::now();
        let file = std::fs::File::create(&trace).unwrap();
        let (report, _) = deja_recorder::record(
            &mut store,
            &linker,
            &module,
            file,
            deja_recorder::Settings::new("bench"),
        )
        .unwrap();
        steps = report.total_steps;
        calls = report.host_calls;
        t.elapsed()
    });
    let size = std::fs::metadata(&trace).unwrap().len();
    let rep = best(&mut || {
        let t = Instant::now();
        let reader = deja_traces::TraceReader::open(&trace).unwrap();
        deja_replayer::replay(reader, None).unwrap();
        t.elapsed()
    });
    let _ = std::fs::remove_file(&trace);
    println!(
        "| {} | {steps} | {calls} | {:.1} | {:.1} | {:.2}x | {:.1} | {:.2}x | {:.1} | {:.1} |",
        wasm.strip_prefix(wasm.parent().unwrap().parent().unwrap()).unwrap().display(),
        ms(run),
        ms(rec),
        rec.as_secs_f64() / run.as_secs_f64(),
        ms(rep),
        rep.as_secs_f64() / run.as_secs_f64(),
        size as f64 / 1024.0,
        size as f64 / 1024.0 / run.as_secs_f64(),
    );
}

fn run_wasmtime(script: &Path, wasm: &Path, iters: usize) -> Option<(f64, f64)> {
    let json = std::env::temp_dir().join(format!("deja-wasmtime-{}.json", std::process::id()));
    let status = Command::new("python3")
        .arg(script)
        .args(["--iters", &iters.to_string(), "--json"])
        .arg(&json)
        .arg(wasm)
        .output()
        .ok()?;
    if !status.status.success() {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).ok()?).ok()?;
    let r = v.as_object()?.values().next()?;
    Some((r["bench_ms_min"].as_f64()?, r["total_ms_min"].as_f64()?))
}

fn best(iters: usize, mut f: impl FnMut() -> (Times, String)) -> (Times, String) {
    let mut best = None::<(Times, String)>;
    for _ in 0..iters {
        let r = f();
        if best.as_ref().is_none_or(|b| r.0.bench < b.0.bench) {
            best = Some(r);
        }
    }
    best.unwrap()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut iters = 3;
    let mut corpus = PathBuf::from("../shared/corpus/sightglass");
    let mut wasmtime = true;
    let mut rr = false;
    let mut engines = vec![deja_runtime::EngineKind::Interp];
    let mut programs = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--iters" => iters = args.next().unwrap().parse().unwrap(),
            "--corpus" => corpus = PathBuf::from(args.next().unwrap()),
            "--no-wasmtime" => wasmtime = false,
            "--record-replay" => rr = true,
            "--engines" => {
                engines = args
                    .next()
                    .unwrap()
                    .split(',')
                    .map(|e| match e {
                        "jit" => deja_runtime::EngineKind::Jit,
                        "interp" => deja_runtime::EngineKind::Interp,
                        _ => {
                            eprintln!("--engines: `{e}` is neither `jit` nor `interp`");
                            std::process::exit(2)
                        }
                    })
                    .collect()
            }
            p => programs.push(p.to_string()),
        }
    }
    if programs.is_empty() {
        programs = DEFAULT.iter().map(|s| s.to_string()).collect();
    }
    // Each program runs in its own directory: resolve the corpus before the first change of
    // directory, or every program after the first is looked for in the wrong place.
    let corpus = std::fs::canonicalize(&corpus).unwrap_or_else(|e| {
        eprintln!("cannot find the corpus {}: {e}", corpus.display());
        std::process::exit(2)
    });
    if rr {
        println!("| program | steps | host calls | run (ms) | record (ms) | record / run | replay (ms) | replay / run | trace (KiB) | trace KiB per s of run |");
        println!("|---|---|---|---|---|---|---|---|---|---|");
        for p in &programs {
            let wasm = std::fs::canonicalize(corpus.join(p)).expect("program exists");
            std::env::set_current_dir(wasm.parent().unwrap()).unwrap();
            record_replay(&wasm, iters);
        }
        return;
    }
    let script = corpus.join("../../tools/wasmtime-ref.py");
    let name = |e: &deja_runtime::EngineKind| match e {
        deja_runtime::EngineKind::Jit => "jit",
        _ => "interp",
    };
    let mut header = String::from("| program |");
    for e in &engines {
        header += &format!(" deja {} bench (ms) |", name(e));
    }
    header += " wasmi bench (ms) | wasmtime bench (ms) |";
    for e in &engines {
        header += &format!(" deja {} / wasmi |", name(e));
    }
    for e in &engines {
        header += &format!(" deja {} total (ms) |", name(e));
    }
    header += " wasmi total (ms) | wasmtime total (ms) | output |";
    println!("{header}");
    println!("|{}", "---|".repeat(header.matches('|').count() - 1));
    for p in programs {
        let wasm = std::fs::canonicalize(corpus.join(&p)).expect("program exists");
        let dir = wasm.parent().unwrap().to_owned();
        let stem = wasm.file_stem().unwrap().to_string_lossy().to_string();
        // Sightglass programs open their inputs relative to the working directory.
        std::env::set_current_dir(&dir).unwrap();
        let runs: Vec<(Times, String)> = engines
            .iter()
            .map(|e| best(iters, || run_deja(&wasm, *e)))
            .collect();
        let (w, wout) = best(iters, || run_wasmi(&wasm));
        let wt = if wasmtime {
            run_wasmtime(&std::fs::canonicalize(&script).unwrap(), &wasm, iters)
        } else {
            None
        };
        let ok = match expected(&dir, &stem) {
            Some(e) => {
                if runs.iter().all(|(_, out)| same_lines(out, &e)) && same_lines(&wout, &e) {
                    "ok"
                } else {
                    "MISMATCH"
                }
            }
            None => "no expected output",
        };
        let (wtb, wtt) = wt.map_or(("-".to_string(), "-".to_string()), |(b, t)| {
            (format!("{b:.1}"), format!("{t:.1}"))
        });
        let mut row = format!("| {p} |");
        for (d, _) in &runs {
            row += &format!(" {:.1} |", ms(d.bench));
        }
        row += &format!(" {:.1} | {wtb} |", ms(w.bench));
        for (d, _) in &runs {
            row += &format!(" {:.2}x |", d.bench.as_secs_f64() / w.bench.as_secs_f64());
        }
        for (d, _) in &runs {
            row += &format!(" {:.1} |", ms(d.total));
        }
        row += &format!(" {:.1} | {wtt} | {ok} |", ms(w.total));
        println!("{row}");
    }
}
