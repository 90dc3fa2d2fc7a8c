//! The host-call seam carries every effect: a WASI run observed through it can be re-run with
//! substitute host functions that only replay what was observed — no files, no clock, no
//! randomness — and reaches the same exit, position and memory.

use deja_runtime::wasi::{self, OutputSink, Preopen, StdinSource, WasiCtx, WasiCtxBuilder};
use deja_runtime::{
    Config, Error, Extern, HostCall, HostCallObserver, HostCallOutcome, HostError, Linker, Module,
    Store, Val,
};
use std::path::Path;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
struct Recorded {
    import: String,
    args: Vec<Val>,
    outcome: Result<Vec<Val>, i32>,
    writes: Vec<(u64, Vec<u8>)>,
}

struct Observer(Arc<Mutex<Vec<Recorded>>>);

impl HostCallObserver<WasiCtx> for Observer {
    fn on_host_call(&mut self, _: &mut WasiCtx, call: &HostCall<'_>) {
        let outcome = match call.outcome {
            HostCallOutcome::Returned(r) => Ok(r.to_vec()),
            HostCallOutcome::Exit(c) => Err(c),
            HostCallOutcome::Error(m) => panic!("host error {m}"),
        };
        self.0.lock().unwrap().push(Recorded {
            import: call.import.to_string(),
            args: call.args.to_vec(),
            outcome,
            writes: call.memory_writes.to_vec(),
        });
    }
}

struct End {
    exit: i32,
    position: u64,
    memory: Vec<u8>,
}

fn finish<T>(
    store: &mut Store<T>,
    instance: deja_runtime::Instance,
    r: Result<Vec<Val>, Error>,
) -> End {
    let exit = match r {
        Ok(_) => 0,
        Err(Error::Exit { code, .. }) => code,
        Err(e) => panic!("run failed: {e}"),
    };
    let memory = match store.get_export(instance, "memory") {
        Some(Extern::Memory(m)) => store.memory_data(m).to_vec(),
        _ => Vec::new(),
    };
    End {
        exit,
        position: store.position(),
        memory,
    }
}

fn record(module: &Module, dir: &Path, args: &[&str], bench: bool) -> (End, Vec<Recorded>) {
    let (stdout, _) = OutputSink::buffer();
    let (stderr, _) = OutputSink::buffer();
    let ctx = WasiCtxBuilder::new()
        .args(args.iter().copied())
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
    let mut store = Store::new(Config::default(), ctx);
    let log = Arc::new(Mutex::new(Vec::new()));
    store.set_host_call_observer(Some(Box::new(Observer(log.clone()))));
    let mut linker = Linker::new();
    wasi::add_to_linker(&mut linker, |c: &mut WasiCtx| c);
    if bench {
        for name in ["start", "end"] {
            linker.func("bench", name, Default::default(), |_, _, _| Ok(()));
        }
    }
    let instance = linker.instantiate(&mut store, module).unwrap();
    let start = store.get_func(instance, "_start").unwrap();
    let r = store.call(start, &[]);
    let end = finish(&mut store, instance, r);
    let log = log.lock().unwrap().clone();
    (end, log)
}

fn substitute(module: &Module, log: Vec<Recorded>) -> End {
    let log = Arc::new(Mutex::new(log.into_iter()));
    let mut linker: Linker<()> = Linker::new();
    for import in module.imports() {
        let deja_runtime::ImportType::Func(ty) = &import.ty else {
            continue;
        };
        let name = format!("{}::{}", import.module, import.name);
        let log = log.clone();
        linker.func(
            &import.module,
            &import.name,
            ty.clone(),
            move |caller, args, results| {
                let next = log
                    .lock()
                    .unwrap()
                    .next()
                    .expect("guest made more calls than recorded");
                assert_eq!(
                    next.import,
                    name,
                    "different import at position {}",
                    caller.position()
                );
                assert_eq!(next.args, args, "different arguments to {name}");
                for (addr, bytes) in &next.writes {
                    caller.write(*addr, bytes).expect("recorded write fits");
                }
                match next.outcome {
                    Ok(r) => {
                        results.copy_from_slice(&r);
                        Ok(())
                    }
                    Err(code) => Err(HostError::Exit(code)),
                }
            },
        );
    }
    let mut store = Store::new(Config::default(), ());
    let instance = linker.instantiate(&mut store, module).unwrap();
    let start = store.get_func(instance, "_start").unwrap();
    let r = store.call(start, &[]);
    let end = finish(&mut store, instance, r);
    assert!(
        log.lock().unwrap().next().is_none(),
        "recorded calls left over"
    );
    end
}

fn check(module: &Module, dir: &Path, args: &[&str], bench: bool) -> usize {
    let (real, log) = record(module, dir, args, bench);
    let calls = log.len();
    let replayed = substitute(module, log);
    assert_eq!(replayed.exit, real.exit);
    assert_eq!(replayed.position, real.position);
    assert!(replayed.memory == real.memory, "final memory differs");
    calls
}

#[test]
fn a_wasi_run_replays_from_its_observed_host_calls_alone() {
    let dir = std::env::temp_dir().join(format!("deja-seam-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("in.txt"), "hello through the seam\n".repeat(500)).unwrap();
    let cat = Module::from_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/wat/cat.wat"
    ))
    .unwrap();
    let calls = check(&cat, &dir, &["cat", "in.txt"], false);
    assert!(calls > 5, "{calls} calls");
    std::fs::remove_dir_all(&dir).unwrap();

    // Real programs from the corpora, when present.
    if let Some(suite) = crate::corpus("wasi-testsuite/tests/rust/testsuite/wasm32-wasip1") {
        for test in [
            "fd_readdir",
            "file_pread_pwrite",
            "path_rename",
            "clock_time_get",
            "big_random_buf",
        ] {
            let scratch =
                std::env::temp_dir().join(format!("deja-seam-{}-{test}", std::process::id()));
            std::fs::create_dir_all(&scratch).unwrap();
            let module = Module::from_file(suite.join(format!("{test}.wasm"))).unwrap();
            check(&module, &scratch, &[test, "."], false);
            std::fs::remove_dir_all(&scratch).unwrap();
        }
    }
    if let Some(sg) = crate::corpus("sightglass/quicksort") {
        let module = Module::from_file(sg.join("benchmark.wasm")).unwrap();
        check(&module, &sg, &["benchmark.wasm"], true);
    }
}
