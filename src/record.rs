//! `deja record`: run a guest, write its trace; `--until-failure` keeps only a failing run.

use crate::cli::RecordArgs;
use crate::exit::{Failure, run_outcome_code};
use crate::run::{linker, wasi_ctx};
use deja_recorder::{Report, Settings, record as record_run};
use deja_runtime::{Config, Module, Store};
use deja_traces::RunOutcome;
use std::path::{Path, PathBuf};

fn default_output(module: &Path) -> PathBuf {
    let stem = module
        .file_stem()
        .map_or_else(|| "trace".to_string(), |s| s.to_string_lossy().into_owned());
    PathBuf::from(format!("{stem}.deja"))
}

fn failed(outcome: &RunOutcome) -> bool {
    match outcome {
        RunOutcome::Returned | RunOutcome::Exit(0) | RunOutcome::Interrupted => false,
        RunOutcome::Exit(_) | RunOutcome::Trap { .. } | RunOutcome::HostError { .. } => true,
    }
}

fn describe(outcome: &RunOutcome) -> String {
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

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// Records one run into `path`.
fn record_once(args: &RecordArgs, module: &Module, path: &Path) -> Result<Report, Failure> {
    let argv: Vec<String> = std::iter::once(
        args.module()
            .file_name()
            .map_or_else(|| "guest".into(), |n| n.to_string_lossy().into_owned()),
    )
    .chain(args.args().iter().cloned())
    .collect();
    let ctx = wasi_ctx(&args.guest, argv.clone())?;
    let config = Config {
        nan_canonicalization: !args.exec.no_nan_canonicalization,
        max_call_depth: args.exec.max_call_depth,
        ..Config::default()
    };
    let mut store = Store::new(config, ctx);
    let linker = linker(&args.guest);
    let mut settings = Settings::new(concat!("deja ", env!("CARGO_PKG_VERSION")));
    settings.max_steps = args.exec.max_steps;
    settings.header.args = argv;
    settings.header.env = args.guest.env.clone();
    settings.header.preopens = args
        .guest
        .dirs
        .iter()
        .chain(&args.guest.dirs_ro)
        .map(|d| deja_runtime::wasi::Preopen::parse(d).guest)
        .collect();
    let file = std::fs::File::create(path)?;
    match record_run(&mut store, &linker, module, file, settings) {
        Ok((report, _)) => Ok(report),
        Err(deja_recorder::Error::Runtime(e)) => {
            let _ = std::fs::remove_file(path);
            Err(Failure::Runtime(e))
        }
        Err(e) => {
            let _ = std::fs::remove_file(path);
            Err(Failure::Message {
                message: e.to_string(),
                code: 111,
            })
        }
    }
}

/// Runs the command.
pub fn record(args: &RecordArgs) -> Result<(), Failure> {
    let module = Module::from_file(args.module())?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| default_output(&args.module()));
    if output.exists() && !args.force {
        return Err(Failure::Usage(format!(
            "{} exists; choose another file with -o or overwrite it with --force",
            output.display()
        )));
    }
    // A single recording writes straight to its file, so that a killed recorder leaves a
    // (truncated) trace under the name asked for; repeated runs write beside it and keep one.
    let tmp = if args.until_failure.is_some() {
        let mut name = output.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".tmp-{}", std::process::id()));
        output.with_file_name(name)
    } else {
        output.clone()
    };
    let runs = args.until_failure.unwrap_or(1);
    for run in 1..=runs {
        let report = record_once(args, &module, &tmp)?;
        let keep = args.until_failure.is_none() || failed(&report.outcome);
        if !keep {
            std::fs::remove_file(&tmp)?;
            continue;
        }
        if tmp != output {
            std::fs::rename(&tmp, &output)?;
        }
        let bytes = std::fs::metadata(&output).map_or(0, |m| m.len());
        if args.until_failure.is_some() {
            eprintln!("deja: failed on run {run} of {runs}");
        }
        if let Some(deja_runtime::Error::Trap(t)) = &report.error {
            eprintln!("deja: {t}");
        }
        eprintln!(
            "deja: {} after {} steps, {} host calls; trace {} ({})",
            describe(&report.outcome),
            report.total_steps,
            report.host_calls,
            output.display(),
            size(bytes)
        );
        return match run_outcome_code(&report.outcome) {
            0 => Ok(()),
            code => Err(Failure::Silent(code)),
        };
    }
    eprintln!("deja: all {runs} runs passed; no trace kept");
    Ok(())
}
