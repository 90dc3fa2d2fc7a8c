//! Record then replay gives the same stdout, stderr, exit code or trap, and step count.

use crate::{corpus, repo, round_trip, scratch};
use deja_runtime::Module;
use deja_traces::RunOutcome;

#[test]
fn flaky_example_round_trips_every_outcome() {
    let module = Module::from_file(repo().join("examples/flaky/flaky.wasm")).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    // Enough runs to see success, exit 1 and the trap (each about one run in eight or more).
    for i in 0..60 {
        let dir = scratch(
            &format!("flaky{i}"),
            Some(&repo().join("examples/flaky/data")),
        );
        let r = round_trip(&module, &["flaky.wasm"], Some((&dir, "data")), false);
        seen.insert(match r.outcome {
            RunOutcome::Returned | RunOutcome::Exit(0) => "ok",
            RunOutcome::Exit(1) => "exit 1",
            RunOutcome::Trap { .. } => "trap",
            _ => "other",
        });
        std::fs::remove_dir_all(&dir).unwrap();
    }
    assert!(seen.contains("ok") && seen.contains("trap"), "{seen:?}");
}

#[test]
fn wat_examples_round_trip() {
    let dir = scratch("wat", Some(&repo().join("examples")));
    let cat = Module::from_file(repo().join("examples/wat/cat.wat")).unwrap();
    let r = round_trip(&cat, &["cat", "wat/cat.wat"], Some((&dir, ".")), false);
    assert_eq!(
        r.stdout,
        std::fs::read(repo().join("examples/wat/cat.wat")).unwrap()
    );
    let r = round_trip(&cat, &["cat", "missing"], Some((&dir, ".")), false);
    assert_eq!(r.outcome, RunOutcome::Exit(144));
    let fib = Module::from_file(repo().join("examples/wat/fib.wat")).unwrap();
    round_trip(&fib, &["fib"], None, false);
    let recurse = Module::from_file(repo().join("examples/wat/recurse.wat")).unwrap();
    let r = round_trip(&recurse, &["recurse"], None, false);
    assert!(matches!(r.outcome, RunOutcome::Trap { code: 9, .. }));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_wasi_testsuite_program_round_trips() {
    let Some(root) = corpus("wasi-testsuite/tests") else {
        return;
    };
    let mut n = 0;
    for lang in ["assemblyscript", "c", "rust"] {
        let d = root.join(lang).join("testsuite/wasm32-wasip1");
        let mut files: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
            .collect();
        files.sort();
        for wasm in files {
            let name = wasm.file_stem().unwrap().to_string_lossy().to_string();
            let spec: serde_json::Value = std::fs::read_to_string(wasm.with_extension("json"))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default();
            let mut argv = vec![format!("{name}.wasm")];
            if let Some(a) = spec["args"].as_array() {
                argv.extend(a.iter().map(|x| x.as_str().unwrap_or_default().to_string()));
            }
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            let root_dir = spec["root"].as_str().map(|r| d.join(r));
            let dir = scratch(&format!("wasi-{name}"), root_dir.as_deref());
            let module = Module::from_file(&wasm).unwrap();
            round_trip(&module, &argv, Some((&dir, "/")), false);
            std::fs::remove_dir_all(&dir).unwrap();
            n += 1;
        }
    }
    println!("record/replay round trip: {n} wasi-testsuite programs");
    assert_eq!(n, 72);
}

fn sightglass(programs: &[&str]) {
    let Some(root) = corpus("sightglass") else {
        return;
    };
    for p in programs {
        let wasm = root.join(p);
        let dir = wasm.parent().unwrap();
        let module = Module::from_file(&wasm).unwrap();
        let file = wasm.file_name().unwrap().to_string_lossy().to_string();
        // Sightglass programs read their inputs relative to the working directory.
        let r = {
            let _cwd = CwdGuard::enter(dir);
            round_trip(&module, &[&file], Some((dir, ".")), true)
        };
        println!("round trip ok: {p} ({} steps, {:?})", r.steps, r.outcome);
    }
}

/// The process's working directory, restored on drop. Tests using it run one at a time.
struct CwdGuard(
    std::path::PathBuf,
    #[allow(dead_code, reason = "held for the guard's lifetime")]
    std::sync::MutexGuard<'static, ()>,
);
static CWD: std::sync::Mutex<()> = std::sync::Mutex::new(());
impl CwdGuard {
    fn enter(dir: &std::path::Path) -> CwdGuard {
        let lock = CWD.lock().unwrap_or_else(|e| e.into_inner());
        let old = std::env::current_dir().unwrap();
        std::env::set_current_dir(dir).unwrap();
        CwdGuard(old, lock)
    }
}
impl Drop for CwdGuard {
    fn drop(&mut self) {
        let _ = std::env::set_current_dir(&self.0);
    }
}

#[test]
fn fast_sightglass_programs_round_trip() {
    sightglass(&[
        "blake3-scalar/benchmark.wasm",
        "bz2/benchmark.wasm",
        "hashset/benchmark.wasm",
        "noop/benchmark.wasm",
        "pulldown-cmark/benchmark.wasm",
        "quicksort/benchmark.wasm",
        "regex/benchmark.wasm",
        "richards/benchmark.wasm",
        "rust-compression/benchmark.wasm",
        "rust-html-rewriter/benchmark.wasm",
        "rust-json/benchmark.wasm",
        "rust-protobuf/benchmark.wasm",
        "tinygo/tinygo-json.wasm",
        "tinygo/tinygo-regex.wasm",
        "shootout/shootout-ackermann.wasm",
        "shootout/shootout-gimli.wasm",
        "shootout/shootout-keccak.wasm",
        "shootout/shootout-memmove.wasm",
        "shootout/shootout-nestedloop.wasm",
        "shootout/shootout-random.wasm",
        "shootout/shootout-ratelimit.wasm",
        "shootout/shootout-switch.wasm",
        "shootout/shootout-xblabla20.wasm",
        "shootout/shootout-xchacha20.wasm",
    ]);
}

#[test]
#[ignore = "minutes of interpretation; run with --ignored"]
fn slow_sightglass_programs_round_trip() {
    sightglass(&[
        "blind-sig/benchmark.wasm",
        "shootout/shootout-base64.wasm",
        "shootout/shootout-ctype.wasm",
        "shootout/shootout-heapsort.wasm",
        "shootout/shootout-matrix.wasm",
        "shootout/shootout-minicsv.wasm",
        "shootout/shootout-sieve.wasm",
        "shootout/shootout-fib2.wasm",
        "shootout/shootout-ed25519.wasm",
        "shootout/shootout-seqhash.wasm",
        "sqlite3/sqlite3.wasm",
        "gcc-loops/benchmark.wasm",
    ]);
}
