//! Recording one run.

use crate::convert;
use deja_runtime::{
    DebugAction, DebugEvent, DebugHandler, HostCall, HostCallObserver, HostCallOutcome, ImportType,
    Linker, Module, Pause, PauseReason, Resumable, Store, Ticks,
};
use deja_traces::{
    BacktraceFrame, CallOutcome, EndOfRun, EventKind, Header, Import, ImportIndex, Interruption,
    MemoryIndex, MemoryWrite, Position, RunOutcome, TraceWriter, WriterOptions,
};
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// SIGTERM's number (POSIX).
const SIGTERM: i32 = 15;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why recording failed (a guest that traps or exits is not a failure: that is the outcome).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The module could not be instantiated (unknown imports, ...): nothing ran.
    #[error(transparent)]
    Runtime(#[from] deja_runtime::Error),
    /// Writing the trace failed.
    #[error("writing the trace failed: {0}")]
    Trace(#[from] deja_traces::Error),
}

/// What to record and how.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The header to write; the recorder fills in the imports table, the runtime
    /// configuration and the module hash.
    pub header: Header,
    /// Trace writer options.
    pub writer: WriterOptions,
    /// The export to call after instantiation.
    pub entry: String,
    /// Stop after this many steps (the run's outcome is then `Interrupted`).
    pub max_steps: Option<u64>,
    /// Set from outside (a SIGINT handler) to end the run at the next progress pause: the
    /// trace then ends with an `Interrupted(Signal)` event at that exact position.
    pub interrupt: Option<Arc<AtomicBool>>,
    /// The number of the signal that set `interrupt`, if known: SIGTERM's makes the event
    /// `Interrupted(Terminated)`, so that a replay can exit as the recording did.
    pub interrupt_signal: Option<Arc<AtomicI32>>,
    /// How often, at most, the run's position is written as a `Progress` record (and the
    /// interrupt flag looked at). The writer's own flush interval bounds how long either
    /// waits in memory.
    pub progress_interval: Duration,
}

impl Settings {
    /// Settings calling `_start`, with a header for this tool version.
    pub fn new(tool_version: &str) -> Settings {
        Settings {
            header: Header::new(tool_version),
            writer: WriterOptions::default(),
            entry: "_start".into(),
            max_steps: None,
            interrupt: None,
            interrupt_signal: None,
            progress_interval: Duration::from_millis(100),
        }
    }
}

/// How the recorded run went.
#[derive(Debug)]
pub struct Report {
    /// The outcome, as written into the trace.
    pub outcome: RunOutcome,
    /// Steps executed.
    pub total_steps: u64,
    /// Host calls recorded.
    pub host_calls: u64,
    /// Debug events recorded.
    pub events: u64,
    /// The runtime's error that ended the run, if any (a trap with its backtrace, an exit, a
    /// host error), for display.
    pub error: Option<deja_runtime::Error>,
    /// The run was ended by [`Settings::interrupt`] (its outcome is `Interrupted`).
    pub interrupted: bool,
}

struct Shared<W: Write + Send + 'static> {
    writer: Option<TraceWriter<W>>,
    /// The first error writing records; the run goes on and recording reports it at the end.
    failed: Option<deja_traces::Error>,
    imports: HashMap<String, ImportIndex>,
    last_import: ImportIndex,
    host_calls: u64,
    events: u64,
}

impl<W: Write + Send + 'static> Shared<W> {
    fn push(&mut self, record: impl Into<deja_traces::Record>) {
        if self.failed.is_some() {
            return;
        }
        if let Some(w) = &mut self.writer
            && let Err(e) = w.push(record)
        {
            self.failed = Some(e);
        }
    }
}

struct Observer<W: Write + Send + 'static>(Arc<Mutex<Shared<W>>>);

impl<T, W: Write + Send + 'static> HostCallObserver<T> for Observer<W> {
    fn on_host_call(&mut self, _: &mut T, call: &HostCall<'_>) {
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let import = s
            .imports
            .get(call.import)
            .copied()
            .unwrap_or(ImportIndex(u32::MAX));
        let (results, outcome) = match call.outcome {
            HostCallOutcome::Returned(r) => (
                r.iter().map(convert::value).collect(),
                CallOutcome::Returned,
            ),
            HostCallOutcome::Error(m) => (Vec::new(), CallOutcome::Error(m.to_string())),
            HostCallOutcome::Exit(c) => (Vec::new(), CallOutcome::Exit(c as u32)),
        };
        let record = deja_traces::HostCall {
            position: Position(call.position),
            import,
            args: call.args.iter().map(convert::value).collect(),
            results,
            memory_writes: call
                .memory_writes
                .iter()
                .map(|(address, bytes)| MemoryWrite {
                    memory: MemoryIndex(0),
                    address: *address,
                    bytes: bytes.clone(),
                })
                .collect(),
            outcome,
        };
        s.last_import = import;
        s.host_calls += 1;
        s.push(record);
    }
}

struct Handler<W: Write + Send + 'static>(Arc<Mutex<Shared<W>>>);

fn backtrace<T>(store: &mut Store<T>) -> Vec<BacktraceFrame> {
    store
        .backtrace()
        .iter()
        .map(|f| BacktraceFrame {
            func: deja_traces::FuncIndex(f.func.as_u32()),
            pc: f.pc,
        })
        .collect()
}

impl<T, W: Write + Send + 'static> DebugHandler<T> for Handler<W> {
    fn handle(&mut self, store: &mut Store<T>, event: DebugEvent<'_>) -> DebugAction {
        let kind = match event {
            DebugEvent::Trap(code) => EventKind::Trap {
                code: code.as_u8(),
                message: Some(code.message().to_string()),
            },
            DebugEvent::HostcallError(message) => {
                let import = self.0.lock().unwrap_or_else(|e| e.into_inner()).last_import;
                EventKind::HostCallError {
                    import,
                    message: message.to_string(),
                }
            }
            DebugEvent::UncaughtExceptionThrown(exn) => EventKind::Trap {
                code: deja_runtime::TrapCode::UncaughtException.as_u8(),
                message: Some(format!(
                    "{} {}",
                    deja_runtime::TrapCode::UncaughtException.message(),
                    store.exception_display(exn)
                )),
            },
            // The recorder sets no breakpoints; an embedder's would not be recorded. Caught
            // exceptions are deterministic: a replay throws them again.
            DebugEvent::Breakpoint | DebugEvent::CaughtExceptionThrown(_) => {
                return DebugAction::Continue;
            }
        };
        let record = deja_traces::DebugEvent {
            position: Position(store.position()),
            kind,
            backtrace: backtrace(store),
        };
        let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        s.events += 1;
        s.push(record);
        DebugAction::Continue
    }
}

/// Instantiates `module` with `linker` in `store`, calls the entry export, and writes the
/// trace to `sink`. Returns the report and the sink.
///
/// The store's host-call observer and debug handler are replaced for the duration.
///
/// # Errors
/// [`Error::Runtime`] if the module cannot be instantiated for a reason other than a guest
/// outcome (unknown imports, for example) or has no entry export; [`Error::Trace`] if the trace
/// cannot be written.
pub fn record<T: 'static, W: Write + Send + 'static>(
    store: &mut Store<T>,
    linker: &Linker<T>,
    module: &Module,
    sink: W,
    mut settings: Settings,
) -> Result<(Report, W), Error> {
    let mut imports = HashMap::new();
    settings.header.imports.clear();
    for import in module.imports() {
        if let ImportType::Func(ty) = &import.ty {
            let index = ImportIndex(settings.header.imports.len() as u32);
            imports
                .entry(format!("{}::{}", import.module, import.name))
                .or_insert(index);
            settings.header.imports.push(Import {
                module: import.module.clone(),
                name: import.name.clone(),
                signature: convert::signature(ty),
            });
        }
    }
    settings.header.runtime_config = convert::config_to_json(store.config());
    settings.header.runtime_config["entry"] = settings.entry.clone().into();
    // Which engine recorded: the trace replays the same on either.
    settings.header.runtime_config["engine"] = store.engine().to_string().into();
    let writer = TraceWriter::new(sink, settings.header, module.bytes(), settings.writer)?;
    let shared = Arc::new(Mutex::new(Shared {
        writer: Some(writer),
        failed: None,
        imports,
        last_import: ImportIndex(u32::MAX),
        host_calls: 0,
        events: 0,
    }));
    store.set_host_call_observer(Some(Box::new(Observer(shared.clone()))));
    store.set_debug_handler(Some(Box::new(Handler(shared.clone()))));
    store.set_step_budget(settings.max_steps);

    let budget_end = settings
        .max_steps
        .map(|n| store.position().saturating_add(n));
    let mut ticks = Ticks::new(settings.progress_interval);
    let result = linker.instantiate(store, module).and_then(|instance| {
        let f = store.get_func(instance, &settings.entry)?;
        ticks.arm(store, budget_end);
        store.call_resumable(f, &[])
    });
    // Progress pauses: write the position, look at the interrupt flag, go on.
    let mut interrupted = false;
    let result = ticks.drive(store, result, budget_end, |position| {
        shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(deja_traces::Record::Progress(Position(position)));
        interrupted = settings
            .interrupt
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed));
        !interrupted
    });
    store.set_host_call_observer(None);
    store.set_debug_handler(None);

    let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
    let (outcome, error) = match result {
        Ok(Resumable::Paused(Pause {
            reason: PauseReason::StepBudget,
            position,
        })) => {
            let bt = backtrace(store);
            s.events += 1;
            s.push(deja_traces::DebugEvent {
                position: Position(position),
                kind: EventKind::Interrupted(if interrupted {
                    let signal = settings.interrupt_signal.as_ref();
                    if signal.is_some_and(|s| s.load(Ordering::SeqCst) == SIGTERM) {
                        Interruption::Terminated
                    } else {
                        Interruption::Signal
                    }
                } else {
                    Interruption::StepBudget
                }),
                backtrace: bt,
            });
            store.abandon();
            (RunOutcome::Interrupted, None)
        }
        Ok(Resumable::Paused(pause)) => {
            // The recorder sets no breakpoints, watchpoints or pause requests.
            store.abandon();
            return Err(Error::Runtime(deja_runtime::Error::Internal(format!(
                "the recorded run paused unexpectedly ({} at position {})",
                pause.reason, pause.position
            ))));
        }
        result => match convert::outcome(&result, |import| s.imports.get(import).copied()) {
            Some(outcome) => (outcome, result.err()),
            // Nothing of the guest ran: no trace is worth keeping.
            None => return Err(Error::Runtime(result.expect_err("a run's end or an error"))),
        },
    };
    if let Some(e) = s.failed.take() {
        return Err(Error::Trace(e));
    }
    let writer = s.writer.take().expect("writer present until the end");
    let sink = writer.finish(EndOfRun {
        outcome: outcome.clone(),
        total_steps: Position(store.position()),
    })?;
    Ok((
        Report {
            outcome,
            total_steps: store.position(),
            host_calls: s.host_calls,
            events: s.events,
            error,
            interrupted,
        },
        sink,
    ))
}
