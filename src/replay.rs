//! `deja replay`: re-execute a trace and check it against the recording.

use crate::cli::ReplayArgs;
use crate::exit::{Failure, run_outcome_code};
use deja_replayer::{Error, Outcome, Tap};
use deja_traces::TraceReader;
use std::io::Write;

/// Opens a trace, mapping failures to exit code 119 with a message naming the file.
pub fn open(path: &std::path::Path) -> Result<TraceReader, Failure> {
    TraceReader::open(path).map_err(|e| Failure::Message {
        message: format!("{}: {e}{}", path.display(), module_hint(path)),
        // A file that cannot be read at all is the same failure as a missing module; one that
        // reads but is not a good trace is the trace's.
        code: if matches!(e, deja_traces::Error::Io(_)) {
            111
        } else {
            119
        },
    })
}

/// A hint for a WebAssembly module given where a trace was expected: the file loads as one.
fn module_hint(path: &std::path::Path) -> String {
    if deja_runtime::Module::from_file(path).is_ok() {
        format!(
            "\n(it is a WebAssembly module: run it with `deja run {0}` or record a trace with \
             `deja record {0}`)",
            path.display()
        )
    } else {
        String::new()
    }
}

/// Runs the command.
pub fn replay(args: &ReplayArgs) -> Result<(), Failure> {
    let reader = open(&args.trace)?;
    let tap: Option<Tap> = args.print_output.then(|| {
        Box::new(
            |caller: &mut deja_runtime::Caller<'_, ()>,
             import: &str,
             args: &[deja_runtime::Val]| {
                if let Some((fd, bytes)) = deja_runtime::wasi::pending_output(caller, import, args)
                {
                    let _ = if fd == 1 {
                        std::io::stdout().lock().write_all(&bytes)
                    } else {
                        std::io::stderr().lock().write_all(&bytes)
                    };
                }
            },
        ) as Tap
    });
    // A bar would mix with the guest's output on the terminal.
    let mut bar = (!args.print_output).then(|| crate::progress::Bar::new("replaying"));
    let mut report = |done: u64, total: u64| {
        if let Some(bar) = &mut bar {
            bar.update(done, total, format!("position {done}"));
        }
    };
    let replayed = deja_replayer::replay_with(reader, tap, args.engine.kind(), Some(&mut report));
    drop(bar);
    match replayed {
        Ok(report) => match report.outcome {
            Outcome::Matched(outcome) => {
                // A recording a signal ended exits as `record` did: SIGTERM's code when the
                // trace says SIGTERM (format 1.3), else SIGINT's.
                let signal_exit = match interruption(&args.trace) {
                    _ if outcome != deja_traces::RunOutcome::Interrupted => None,
                    Some(deja_traces::Interruption::Signal) => Some(crate::signals::SIGINT_EXIT),
                    Some(deja_traces::Interruption::Terminated) => {
                        Some(crate::signals::SIGTERM_EXIT)
                    }
                    _ => None,
                };
                let by_signal = signal_exit.is_some();
                eprintln!(
                    "replay matches: {}, after {} steps, {} host calls",
                    if by_signal {
                        "interrupted by a signal".to_string()
                    } else {
                        outcome.to_string()
                    },
                    report.total_steps,
                    report.host_calls
                );
                match run_outcome_code(&outcome) {
                    _ if let Some(code) = signal_exit => Err(Failure::Silent(code)),
                    0 => Ok(()),
                    code => Err(Failure::Silent(code)),
                }
            }
            Outcome::Truncated => Err(Failure::Message {
                message: format!(
                    "replay stopped at the end of a truncated trace: it matched all {} recorded host calls, up to position {}",
                    report.host_calls, report.total_steps
                ),
                code: 120,
            }),
        },
        Err(Error::Diverged(d)) => Err(Failure::Message {
            message: d.to_string(),
            code: 118,
        }),
        Err(e) => Err(Failure::Message {
            message: format!("{}: {e}", args.trace.display()),
            code: 119,
        }),
    }
}

/// Why an interrupted recording stopped: its last `Interrupted` event (just before the end).
fn interruption(path: &std::path::Path) -> Option<deja_traces::Interruption> {
    let reader = TraceReader::open(path).ok()?;
    let last = reader.record_count();
    (last.saturating_sub(4)..last).rev().find_map(|i| {
        match reader.read_record(deja_traces::RecordIndex(i)).ok()? {
            deja_traces::Record::Event(e) => match e.kind {
                deja_traces::EventKind::Interrupted(why) => Some(why),
                _ => None,
            },
            _ => None,
        }
    })
}
