//! `deja record`: run a guest, write its trace; `--until-failure` hunts for a failing run
//! (see [`crate::hunt`]).

use crate::cli::RecordArgs;
use crate::exit::{Failure, run_outcome_code};
use crate::run::{linker, wasi_builder};
use deja_recorder::{Report, Settings, record as record_run};
use deja_runtime::wasi::{ChaosConfig, OutputSink};
use deja_runtime::{Config, Module, Store};
use deja_traces::RunOutcome;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

fn default_output(module: &Path) -> PathBuf {
    let stem = module
        .file_stem()
        .map_or_else(|| "trace".to_string(), |s| s.to_string_lossy().into_owned());
    PathBuf::from(format!("{stem}.deja"))
}

/// How an outcome reads in a sentence ("exited with code 1").
pub fn describe(outcome: &RunOutcome) -> String {
    match outcome {
        RunOutcome::Returned => "finished".into(),
        RunOutcome::Exit(c) => format!("exited with code {c}"),
        RunOutcome::Trap { code, .. } => {
            format!("trapped ({})", deja_recorder::convert::trap_message(*code))
        }
        RunOutcome::HostError { message, .. } => format!("stopped by a host error ({message})"),
        RunOutcome::Interrupted => "stopped at the step budget".into(),
    }
}

/// A byte count for people.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// What one recording gets beyond the command line's options.
#[derive(Clone, Default)]
pub struct Attempt {
    /// The run's chaos.
    pub chaos: Option<ChaosConfig>,
    /// Set from outside to end the run at its next WASI call.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Hold the guest's stdout and stderr instead of passing them through.
    pub capture: bool,
    /// The step budget.
    pub max_steps: Option<u64>,
    /// Set by a signal handler to end the run at its next progress pause.
    pub interrupt: Option<Arc<AtomicBool>>,
    /// Which signal set `interrupt`.
    pub interrupt_signal: Option<Arc<std::sync::atomic::AtomicI32>>,
}

/// One recorded run.
pub struct Recorded {
    /// The recorder's report.
    pub report: Report,
    /// The guest's stdout, when captured.
    pub stdout: Vec<u8>,
    /// The guest's stderr, when captured.
    pub stderr: Vec<u8>,
}

/// The guest's argv: the module's file name, then the arguments.
fn argv(args: &RecordArgs) -> Result<Vec<String>, Failure> {
    Ok(std::iter::once(
        args.module()
            .file_name()
            .map_or_else(|| "guest".into(), |n| n.to_string_lossy().into_owned()),
    )
    .chain(args.args()?)
    .collect())
}

/// Records one run into `path`; on an error that leaves no run worth keeping, removes it.
pub fn record_once(
    args: &RecordArgs,
    module: &Module,
    path: &Path,
    attempt: &Attempt,
) -> Result<Recorded, Failure> {
    let argv = argv(args)?;
    let mut builder = wasi_builder(&args.guest, argv.clone())?;
    if let Some(chaos) = attempt.chaos {
        builder.chaos(chaos);
    }
    if let Some(flag) = &attempt.cancel {
        builder.cancel_flag(flag.clone());
    }
    let captured = attempt.capture.then(|| {
        let (out, out_buf) = OutputSink::buffer();
        let (err, err_buf) = OutputSink::buffer();
        builder.stdout(out).stderr(err);
        (out_buf, err_buf)
    });
    let ctx = builder.build()?;
    let config = Config {
        nan_canonicalization: !args.exec.no_nan_canonicalization,
        max_call_depth: args.exec.max_call_depth,
        ..Config::default()
    };
    let mut store = Store::new(config, ctx);
    store
        .set_engine(args.exec.engine.kind())
        .expect("a new store has no call in progress");
    let linker = linker(&args.guest);
    let mut settings = Settings::new(concat!("deja ", env!("CARGO_PKG_VERSION")));
    settings.max_steps = attempt.max_steps;
    settings.interrupt = attempt.interrupt.clone();
    settings.interrupt_signal = attempt.interrupt_signal.clone();
    settings.header.args = argv;
    // Everything the guest saw, inherited variables included.
    settings.header.env = crate::run::guest_env(&args.guest)?;
    settings.header.preopens = args
        .guest
        .dirs
        .iter()
        .chain(&args.guest.dirs_ro)
        .map(|d| deja_runtime::wasi::Preopen::parse(d).guest)
        .collect();
    settings.header.chaos = attempt.chaos.map(|c| deja_traces::Chaos {
        seed: c.seed,
        strategies: c.strategies.names(),
    });
    let file = std::fs::File::create(path).map_err(|e| Failure::Message {
        message: format!("cannot create {}: {e}", path.display()),
        code: 111,
    })?;
    let recorded = record_run(&mut store, &linker, module, file, settings);
    crate::run::note_jit_fallback(&store);
    let report = match recorded {
        Ok((report, _)) => report,
        Err(deja_recorder::Error::Runtime(e)) => {
            let _ = std::fs::remove_file(path);
            return Err(Failure::Runtime(e));
        }
        Err(e) => {
            let _ = std::fs::remove_file(path);
            return Err(Failure::Message {
                message: format!("cannot write {}: {e}", path.display()),
                code: 111,
            });
        }
    };
    let take =
        |b: &Arc<Mutex<Vec<u8>>>| std::mem::take(&mut *b.lock().unwrap_or_else(|e| e.into_inner()));
    let (stdout, stderr) = captured
        .as_ref()
        .map_or_else(Default::default, |(o, e)| (take(o), take(e)));
    Ok(Recorded {
        report,
        stdout,
        stderr,
    })
}

/// A fresh seed for a chaos run or hunt that was given none.
pub fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // std's per-process random keys; mixed with the time so two calls differ.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// The chaos line for a recorded run.
pub fn chaos_line(chaos: &ChaosConfig) -> String {
    format!(
        "chaos seed {:#x}, strategies {}",
        chaos.seed, chaos.strategies
    )
}

/// The kept trace's line: outcome, size, name.
pub fn report_line(report: &Report, output: &Path) -> String {
    let bytes = std::fs::metadata(output).map_or(0, |m| m.len());
    format!(
        "{} after {} steps, {} host calls; trace {} ({})",
        if report.interrupted {
            "interrupted by a signal".into()
        } else {
            describe(&report.outcome)
        },
        report.total_steps,
        report.host_calls,
        output.display(),
        size(bytes)
    )
}

/// Runs the command.
pub fn record(args: &RecordArgs) -> Result<(), Failure> {
    let module = crate::run::load_module(&args.module())?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| default_output(&args.module()));
    if args.until_failure.is_some() {
        return crate::hunt::hunt(args, &module, &output);
    }
    if output.exists() && !args.force {
        return Err(Failure::Usage(format!(
            "{} exists; choose another file with -o or overwrite it with --force",
            output.display()
        )));
    }
    let chaos = args.hunt.chaos.map(|seed| {
        let seed = seed.unwrap_or_else(random_seed);
        let mut chaos = ChaosConfig::from_seed(seed);
        if let Some(s) = args.hunt.chaos_strategies {
            chaos.strategies = s;
        }
        chaos
    });
    // A single recording writes straight to its file, so that a killed recorder leaves a
    // (truncated) trace under the name asked for.
    let interrupt = crate::signals::Interrupt::install()?;
    let attempt = Attempt {
        chaos,
        max_steps: args.exec.max_steps,
        interrupt: Some(interrupt.flag.clone()),
        interrupt_signal: Some(interrupt.signal.clone()),
        ..Attempt::default()
    };
    let Recorded { report, .. } = record_once(args, &module, &output, &attempt)?;
    if let Some(deja_runtime::Error::Trap(t)) = &report.error {
        eprintln!("deja: {t}");
    }
    if let Some(chaos) = &chaos {
        eprintln!("deja: {}", chaos_line(chaos));
    }
    if report.interrupted {
        eprintln!(
            "deja: {} at position {}; the trace ends there",
            interrupt.name(),
            report.total_steps,
        );
        eprintln!("deja: {}", report_line(&report, &output));
        return Err(Failure::Silent(interrupt.exit_code()));
    }
    eprintln!("deja: {}", report_line(&report, &output));
    match run_outcome_code(&report.outcome) {
        0 => Ok(()),
        code => Err(Failure::Silent(code)),
    }
}
