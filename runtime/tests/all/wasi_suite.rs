//! The WASI test suite (`wasi-testsuite`, preview1 binaries) on deja's WASI host.
//!
//! For `X.wasm`, `X.json` gives `args`, `env` (exactly these, nothing inherited), `root` (a
//! directory preopened as `/`; the test works on a fresh copy so the corpus is never changed),
//! `exit_code`, `stdout` and `stderr`. The tests that pass are recorded in
//! `tests/wasi-testsuite.pass`; any of them failing fails this test.

use deja_runtime::wasi::{self, OutputSink, Preopen, StdinSource, WasiCtx, WasiCtxBuilder};
use deja_runtime::{Config, Error, Linker, Module, Store};
use std::path::{Path, PathBuf};

#[derive(Default)]
struct Spec {
    args: Vec<String>,
    env: Vec<(String, String)>,
    root: Option<String>,
    exit_code: i32,
    stdout: Option<String>,
    stderr: Option<String>,
}

fn parse_spec(path: &Path) -> Spec {
    let mut spec = Spec::default();
    let Ok(text) = std::fs::read_to_string(path) else {
        return spec;
    };
    let v: serde_json::Value = serde_json::from_str(&text).expect("test JSON parses");
    if let Some(args) = v.get("args").and_then(|a| a.as_array()) {
        spec.args = args
            .iter()
            .map(|a| a.as_str().unwrap_or_default().to_string())
            .collect();
    }
    if let Some(env) = v.get("env").and_then(|e| e.as_object()) {
        spec.env = env
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
    }
    spec.root = v.get("root").and_then(|r| r.as_str()).map(str::to_string);
    spec.exit_code = v.get("exit_code").and_then(|c| c.as_i64()).unwrap_or(0) as i32;
    spec.stdout = v.get("stdout").and_then(|s| s.as_str()).map(str::to_string);
    spec.stderr = v.get("stderr").and_then(|s| s.as_str()).map(str::to_string);
    spec
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let ft = entry.file_type().unwrap();
        if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &target).unwrap();
        } else if ft.is_dir() {
            copy_tree(&entry.path(), &target);
        } else if !entry.file_name().to_string_lossy().ends_with(".cleanup") {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deja-wasi-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Runs one test; `Err` says why it failed.
fn run_test(wasm: &Path) -> Result<(), String> {
    let spec = parse_spec(&wasm.with_extension("json"));
    let name = wasm.file_stem().unwrap().to_string_lossy().to_string();
    let module = Module::from_file(wasm).map_err(|e| e.to_string())?;
    let (stdout, out_buf) = OutputSink::buffer();
    let (stderr, err_buf) = OutputSink::buffer();
    let mut builder = WasiCtxBuilder::new();
    builder
        .args(std::iter::once(format!("{name}.wasm")).chain(spec.args.iter().cloned()))
        .stdin(StdinSource::Null)
        .stdout(stdout)
        .stderr(stderr);
    for (k, v) in &spec.env {
        builder.env(k, v);
    }
    let scratch = scratch_dir(&name);
    if let Some(root) = &spec.root {
        copy_tree(&wasm.parent().unwrap().join(root), &scratch);
        builder.preopen(Preopen {
            host: scratch.clone(),
            guest: "/".into(),
            read_only: false,
        });
    }
    let ctx = builder.build().map_err(|e| e.to_string())?;
    let mut store = Store::new(Config::default(), ctx);
    let mut linker = Linker::new();
    wasi::add_to_linker(&mut linker, |c: &mut WasiCtx| c);
    let result = linker.instantiate(&mut store, &module).and_then(|i| {
        let start = store.get_func(i, "_start")?;
        store.call(start, &[])
    });
    let _ = std::fs::remove_dir_all(&scratch);
    let out = String::from_utf8_lossy(&out_buf.lock().unwrap()).to_string();
    let err = String::from_utf8_lossy(&err_buf.lock().unwrap()).to_string();
    let code = match result {
        Ok(_) => 0,
        Err(Error::Exit { code, .. }) => code,
        Err(e) => {
            let first = e.to_string().lines().next().unwrap_or_default().to_string();
            return Err(format!("{first}; guest stderr: {}", err.trim()));
        }
    };
    if code != spec.exit_code {
        return Err(format!(
            "exit code {code}, expected {}; stderr: {}",
            spec.exit_code,
            err.trim()
        ));
    }
    if let Some(expected) = &spec.stdout
        && &out != expected
    {
        return Err(format!("stdout {out:?}, expected {expected:?}"));
    }
    if let Some(expected) = &spec.stderr
        && &err != expected
    {
        return Err(format!("stderr {err:?}, expected {expected:?}"));
    }
    Ok(())
}

#[test]
fn wasi_testsuite() {
    let Some(dir) = crate::corpus("wasi-testsuite/tests") else {
        return;
    };
    let mut tests = Vec::new();
    for lang in ["assemblyscript", "c", "rust"] {
        let d = dir.join(lang).join("testsuite/wasm32-wasip1");
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "wasm") {
                tests.push((
                    format!("{lang}/{}", p.file_stem().unwrap().to_string_lossy()),
                    p,
                ));
            }
        }
    }
    tests.sort();
    let recorded: Vec<String> = include_str!("../wasi-testsuite.pass")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let mut passed = Vec::new();
    let mut failed = Vec::new();
    for (name, path) in &tests {
        match run_test(path) {
            Ok(()) => passed.push(name.clone()),
            Err(why) => failed.push(format!("{name}: {why}")),
        }
    }
    println!(
        "wasi-testsuite: {} passed, {} failed",
        passed.len(),
        failed.len()
    );
    for f in &failed {
        println!("FAILED {f}");
    }
    let regressions: Vec<&String> = recorded.iter().filter(|r| !passed.contains(r)).collect();
    let new: Vec<&String> = passed.iter().filter(|p| !recorded.contains(p)).collect();
    if !new.is_empty() {
        println!("passing but not in tests/wasi-testsuite.pass (add them): {new:?}");
    }
    assert!(
        regressions.is_empty(),
        "regressions from the pass list: {regressions:?}"
    );
}
