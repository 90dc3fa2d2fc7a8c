//! The non-SIMD sightglass benchmark programs run to completion under `deja run` with their
//! inputs, and their output matches the corpus's `*.expected` files (line by line).
//!
//! Programs whose wasmi baseline exceeds five seconds take minutes on deja's interpreter;
//! they are in the `#[ignore]`d test `sightglass_slow_programs` (run it with
//! `cargo test --release --test sightglass -- --ignored`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// (folder, wasm file) of every runnable non-SIMD program, fast ones first.
const PROGRAMS: &[(&str, &str)] = &[
    ("blake3-scalar", "benchmark.wasm"),
    ("blind-sig", "benchmark.wasm"),
    ("bz2", "benchmark.wasm"),
    ("hashset", "benchmark.wasm"),
    ("noop", "benchmark.wasm"),
    ("pulldown-cmark", "benchmark.wasm"),
    ("quicksort", "benchmark.wasm"),
    ("regex", "benchmark.wasm"),
    ("richards", "benchmark.wasm"),
    ("rust-compression", "benchmark.wasm"),
    ("rust-html-rewriter", "benchmark.wasm"),
    ("rust-json", "benchmark.wasm"),
    ("rust-protobuf", "benchmark.wasm"),
    ("tinygo", "tinygo-json.wasm"),
    ("tinygo", "tinygo-regex.wasm"),
    ("shootout", "shootout-ackermann.wasm"),
    ("shootout", "shootout-base64.wasm"),
    ("shootout", "shootout-ctype.wasm"),
    ("shootout", "shootout-gimli.wasm"),
    ("shootout", "shootout-heapsort.wasm"),
    ("shootout", "shootout-keccak.wasm"),
    ("shootout", "shootout-matrix.wasm"),
    ("shootout", "shootout-memmove.wasm"),
    ("shootout", "shootout-minicsv.wasm"),
    ("shootout", "shootout-nestedloop.wasm"),
    ("shootout", "shootout-random.wasm"),
    ("shootout", "shootout-ratelimit.wasm"),
    ("shootout", "shootout-sieve.wasm"),
    ("shootout", "shootout-switch.wasm"),
    ("shootout", "shootout-xblabla20.wasm"),
    ("shootout", "shootout-xchacha20.wasm"),
];

/// Programs that take minutes on the interpreter (wasmi baseline over 5 s).
const SLOW: &[(&str, &str)] = &[
    ("shootout", "shootout-fib2.wasm"),
    ("shootout", "shootout-ed25519.wasm"),
    ("shootout", "shootout-seqhash.wasm"),
    ("sqlite3", "sqlite3.wasm"),
    ("gcc-loops", "benchmark.wasm"),
];

fn corpus() -> Option<PathBuf> {
    let require = std::env::var_os("DEJA_REQUIRE_CORPUS").is_some_and(|v| v == "1");
    match std::env::var_os("DEJA_CORPUS").map(|d| PathBuf::from(d).join("sightglass")) {
        Some(d) if d.is_dir() => Some(d),
        other => {
            assert!(!require, "corpus required but missing ({other:?})");
            eprintln!("SKIPPED: sightglass corpus not found (set DEJA_CORPUS)");
            None
        }
    }
}

fn expected(dir: &Path, stem: &str, stream: &str) -> Option<String> {
    [
        format!("{stem}.{stream}.expected"),
        format!("default.{stream}.expected"),
    ]
    .iter()
    .map(|f| dir.join(f))
    .find(|p| p.is_file())
    .map(|p| std::fs::read_to_string(p).unwrap())
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().map(str::trim_end).collect()
}

/// Runs one program; `Err` says what differs.
fn run(dir: &Path, wasm: &str) -> Result<String, String> {
    let start = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_deja"))
        .args(["run", "--bench-imports", "--dir", ".::.", wasm])
        .current_dir(dir)
        .output()
        .map_err(|e| e.to_string())?;
    let secs = start.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() != Some(0) {
        return Err(format!("exit {:?}: {}", out.status.code(), stderr.trim()));
    }
    let stem = wasm.trim_end_matches(".wasm");
    let mut checked = Vec::new();
    for (stream, actual) in [("stdout", &stdout), ("stderr", &stderr)] {
        if let Some(exp) = expected(dir, stem, stream) {
            if lines(&exp) != lines(actual) {
                return Err(format!("{stream} differs from the expected output"));
            }
            checked.push(stream);
        }
    }
    let what = if checked.is_empty() {
        "exit status only: the corpus has no expected output".to_string()
    } else {
        checked.join("+")
    };
    Ok(format!("{secs:.1}s, {what}"))
}

fn run_all(programs: &[(&str, &str)]) {
    let Some(root) = corpus() else { return };
    let queue = Mutex::new(programs.iter());
    let results = Mutex::new(Vec::new());
    // Two at a time: the machines this runs on have two cores.
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let Some((folder, wasm)) = queue.lock().unwrap().next().copied() else {
                        break;
                    };
                    let r = run(&root.join(folder), wasm);
                    results
                        .lock()
                        .unwrap()
                        .push((format!("{folder}/{wasm}"), r));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort();
    let failed: Vec<_> = results.iter().filter(|(_, r)| r.is_err()).collect();
    println!(
        "sightglass: {} passed, {} failed",
        results.len() - failed.len(),
        failed.len()
    );
    for (name, r) in &results {
        match r {
            Ok(note) => println!("  ok     {name} ({note})"),
            Err(why) => println!("  FAILED {name}: {why}"),
        }
    }
    assert!(
        failed.is_empty(),
        "{} sightglass programs failed",
        failed.len()
    );
}

#[test]
fn sightglass_programs() {
    run_all(PROGRAMS);
}

#[test]
#[ignore = "takes many minutes on the interpreter; run with --ignored"]
fn sightglass_slow_programs() {
    run_all(SLOW);
}
