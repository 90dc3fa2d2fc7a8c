//! Record → replay round trips and divergence detection.

mod divergence;
mod generated;
mod roundtrip;
mod session;

use deja_recorder::{Settings, record};
use deja_replayer::{Report, Tap, replay};
use deja_runtime::wasi::{self, OutputSink, Preopen, StdinSource, WasiCtx, WasiCtxBuilder};
use deja_runtime::{Config, FuncType, Linker, Module, Store};
use deja_traces::{RunOutcome, TraceReader};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What a guest did: its output and how it ended.
#[derive(Debug, PartialEq)]
pub struct Observed {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub outcome: RunOutcome,
    pub steps: u64,
}

/// Records `module` with WASI (argv, `dir` preopened as `guest_dir`) into trace bytes.
pub fn record_wasi(
    module: &Module,
    argv: &[&str],
    dir: Option<(&Path, &str)>,
    bench: bool,
) -> (Observed, Vec<u8>) {
    let (stdout, out) = OutputSink::buffer();
    let (stderr, err) = OutputSink::buffer();
    let mut b = WasiCtxBuilder::new();
    b.args(argv.iter().copied())
        .stdin(StdinSource::Null)
        .stdout(stdout)
        .stderr(stderr);
    if let Some((host, guest)) = dir {
        b.preopen(Preopen {
            host: host.to_owned(),
            guest: guest.into(),
            read_only: false,
        });
    }
    let mut store = Store::new(Config::default(), b.build().unwrap());
    let mut linker = Linker::new();
    wasi::add_to_linker(&mut linker, |c: &mut WasiCtx| c);
    if bench {
        for name in ["start", "end"] {
            linker.func("bench", name, FuncType::default(), |_, _, _| Ok(()));
        }
    }
    let (report, bytes) = record(
        &mut store,
        &linker,
        module,
        Vec::new(),
        Settings::new("test"),
    )
    .unwrap();
    let observed = Observed {
        stdout: out.lock().unwrap().clone(),
        stderr: err.lock().unwrap().clone(),
        outcome: report.outcome,
        steps: report.total_steps,
    };
    (observed, bytes)
}

/// Replays trace bytes, collecting what the guest writes to stdout and stderr.
pub fn replay_bytes(bytes: Vec<u8>) -> Result<(Report, Vec<u8>, Vec<u8>), deja_replayer::Error> {
    let out = Arc::new(Mutex::new((Vec::new(), Vec::new())));
    let sink = out.clone();
    let tap: Tap = Box::new(move |caller, import, args| {
        if let Some((fd, data)) = wasi::pending_output(caller, import, args) {
            let mut o = sink.lock().unwrap();
            if fd == 1 { &mut o.0 } else { &mut o.1 }.extend_from_slice(&data);
        }
    });
    let reader = TraceReader::new(std::io::Cursor::new(bytes))?;
    let report = replay(reader, Some(tap))?;
    let (stdout, stderr) = std::mem::take(&mut *out.lock().unwrap());
    Ok((report, stdout, stderr))
}

/// Records then replays, asserting that the replay shows the same output, outcome and steps.
pub fn round_trip(
    module: &Module,
    argv: &[&str],
    dir: Option<(&Path, &str)>,
    bench: bool,
) -> Observed {
    let (recorded, bytes) = record_wasi(module, argv, dir, bench);
    let (report, stdout, stderr) = replay_bytes(bytes).expect("replay matches");
    assert_eq!(
        report.outcome,
        deja_replayer::Outcome::Matched(recorded.outcome.clone())
    );
    assert_eq!(report.total_steps, recorded.steps);
    assert_eq!(stdout, recorded.stdout, "stdout differs");
    assert_eq!(stderr, recorded.stderr, "stderr differs");
    recorded
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The corpus directory, or `None` after saying the test part is skipped.
pub fn corpus(sub: &str) -> Option<PathBuf> {
    let require = std::env::var_os("DEJA_REQUIRE_CORPUS").is_some_and(|v| v == "1");
    match std::env::var_os("DEJA_CORPUS").map(|d| PathBuf::from(d).join(sub)) {
        Some(d) if d.is_dir() => Some(d),
        other => {
            assert!(!require, "corpus required but missing: {other:?}");
            eprintln!("SKIPPED: needs the corpus ({sub}); set DEJA_CORPUS");
            None
        }
    }
}

/// A fresh scratch directory, copied from `from` if given.
pub fn scratch(name: &str, from: Option<&Path>) -> PathBuf {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let t = to.join(e.file_name());
            let ft = e.file_type().unwrap();
            if ft.is_symlink() {
                std::os::unix::fs::symlink(std::fs::read_link(e.path()).unwrap(), &t).unwrap();
            } else if ft.is_dir() {
                copy(&e.path(), &t);
            } else {
                std::fs::copy(e.path(), &t).unwrap();
            }
        }
    }
    let dir = std::env::temp_dir().join(format!("deja-replay-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    if let Some(from) = from {
        copy(from, &dir);
    }
    dir
}
