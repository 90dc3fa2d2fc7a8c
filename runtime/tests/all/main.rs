//! Integration tests of deja's runtime, one module per topic.

mod debug;
mod exceptions;
mod host;
mod jit;
mod jit_differential;
mod sandbox;
mod seam;
mod simd;
mod snapshots;
mod spec;
mod steps;
mod wasi_limits;
mod wasi_suite;
mod wasm3;

use deja_runtime::{Config, Instance, Linker, Module, Store};

/// Instantiates WAT text in a fresh store with no imports.
pub fn instantiate(wat: &str) -> (Store<()>, Instance) {
    let module = Module::new(wat.as_bytes()).expect("test module loads");
    let mut store = Store::new(Config::default(), ());
    let instance = Linker::new()
        .instantiate(&mut store, &module)
        .expect("test module instantiates");
    (store, instance)
}

/// The corpus directory from `DEJA_CORPUS`, or `None` with a message saying the test is
/// skipped. With `DEJA_REQUIRE_CORPUS=1` (as `.ci/run` sets) a missing corpus fails instead.
pub fn corpus(sub: &str) -> Option<std::path::PathBuf> {
    let require = std::env::var_os("DEJA_REQUIRE_CORPUS").is_some_and(|v| v == "1");
    let dir = std::env::var_os("DEJA_CORPUS").map(|d| std::path::PathBuf::from(d).join(sub));
    match dir {
        Some(d) if d.is_dir() => Some(d),
        other => {
            let why = match other {
                Some(d) => format!("{} does not exist", d.display()),
                None => "DEJA_CORPUS is not set".to_string(),
            };
            assert!(!require, "corpus required but {why}");
            eprintln!("SKIPPED: corpus test needs {sub}: {why}");
            None
        }
    }
}
