//! Replaying one trace.

use deja_convert as convert;
use deja_runtime::{
    Caller, Config, Error as RuntimeError, FrameInfo, HostError, ImportType, Linker, Module,
    Resumable, Store, Val,
};
use deja_traces::{
    CallOutcome, EndOfRun, EventKind, HostCall, Record, RecordIndex, RunOutcome, TraceReader, Value,
};
use std::fmt;
use std::io::{Read, Seek};
use std::sync::{Arc, Mutex};

/// A host call, as recorded or as the guest made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallSite {
    /// `module::name` of the import.
    pub import: String,
    /// Its arguments.
    pub args: Vec<Value>,
    /// Position of the `call` instruction.
    pub position: u64,
}

impl fmt::Display for CallSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let args: Vec<String> = self.args.iter().map(|v| format!("{v:?}")).collect();
        write!(
            f,
            "call {}({}) at position {}",
            self.import,
            args.join(", "),
            self.position
        )
    }
}

/// What the recording says happens where a replay diverged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expected {
    /// This host call.
    Call(CallSite),
    /// The end of the run.
    End(EndOfRun),
    /// No further host call: the trace ends.
    NoFurtherCalls,
    /// A recorded memory write by a host call, which must fit the guest's memory.
    Write {
        /// The import that wrote.
        import: String,
        /// Guest address.
        address: u64,
        /// Bytes written.
        len: u64,
    },
    /// The run ends after this many steps.
    EndAfter(u64),
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Call(c) => c.fmt(f),
            Expected::End(end) => f.write_str(&describe_end(end)),
            Expected::NoFurtherCalls => f.write_str("no further host calls"),
            Expected::Write {
                import,
                address,
                len,
            } => write!(f, "a write of {len} bytes at {address:#x} by {import}"),
            Expected::EndAfter(steps) => write!(f, "the run ends after {steps} steps"),
        }
    }
}

/// What the guest did instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actual {
    /// This host call.
    Call(CallSite),
    /// It ended its run.
    End(EndOfRun),
    /// Its memory had this many bytes (too few for the recorded write).
    MemorySize(u64),
    /// It ended its run after this many steps.
    EndedAfter(u64),
}

impl fmt::Display for Actual {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actual::Call(c) => c.fmt(f),
            Actual::End(end) => f.write_str(&describe_end(end)),
            Actual::MemorySize(n) => write!(f, "guest memory of {n} bytes"),
            Actual::EndedAfter(steps) => write!(f, "the run ended after {steps} steps"),
        }
    }
}

/// Where a replay first differed from its recording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// Position of the guest when it differed.
    pub position: u64,
    /// What the recording says happens here.
    pub expected: Expected,
    /// What the guest did.
    pub actual: Actual,
    /// The guest's frames at that moment, innermost first.
    pub backtrace: Vec<FrameInfo>,
    /// Records consumed before the divergence.
    pub records_consumed: u64,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "replay diverged at position {} after {} records\n  expected: {}\n  actual:   {}",
            self.position, self.records_consumed, self.expected, self.actual
        )?;
        for (i, frame) in self.backtrace.iter().enumerate().take(20) {
            write!(f, "\n  {i}: {frame}")?;
        }
        Ok(())
    }
}

/// A divergence travels out of the replaying host function as a typed host error.
impl std::error::Error for Divergence {}

impl Divergence {
    /// The divergence a run's error carries, if it ended in one.
    pub(crate) fn of(result: &Result<Resumable, RuntimeError>) -> Option<Divergence> {
        match result {
            Err(RuntimeError::Host {
                source: Some(source),
                ..
            }) => source.downcast_ref::<Divergence>().cloned(),
            _ => None,
        }
    }
}

/// Why a replay could not be done or did not match.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The trace could not be read (damaged, foreign, newer, or a module whose hash does not
    /// match the header).
    #[error("{0}")]
    Trace(#[from] deja_traces::Error),
    /// The embedded module could not be loaded or instantiated.
    #[error("the trace's module cannot run: {0}")]
    Module(RuntimeError),
    /// The trace's header does not fit its module.
    #[error("the trace is inconsistent: {0}")]
    Inconsistent(String),
    /// The guest did something other than what was recorded.
    #[error("{0}")]
    Diverged(Box<Divergence>),
}

/// How a replay that matched ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The whole run replayed and ended as recorded.
    Matched(RunOutcome),
    /// The trace is truncated (its recorder died); the replay matched every record it holds and
    /// stopped where they end.
    Truncated,
}

/// The result of a replay that did not diverge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// How it ended.
    pub outcome: Outcome,
    /// Steps executed.
    pub total_steps: u64,
    /// Host calls replayed.
    pub host_calls: u64,
}

/// Sees every replayed host call before its recorded effects are applied (for example to print
/// what a WASI guest writes to stdout): the caller, `module::name` and the arguments.
pub type Tap = Box<dyn FnMut(&mut Caller<'_, ()>, &str, &[Val]) + Send>;

pub(crate) struct Cursor<R: Read + Seek> {
    pub(crate) reader: TraceReader<R>,
    /// The next record to consume.
    pub(crate) next: u64,
    pub(crate) host_calls: u64,
    /// The guest called past the end of a truncated trace.
    pub(crate) ran_out: bool,
    pub(crate) read_error: Option<deja_traces::Error>,
    pub(crate) tap: Option<Tap>,
    pub(crate) import_names: Vec<String>,
    /// Pause after a host call whose recorded writes touch a watched range (sessions).
    pub(crate) stop_on_watched_writes: bool,
    /// The first recorded write of the last host call that touched a watched range.
    pub(crate) watched_write: Option<(u64, u64)>,
}

fn recorded_call(names: &[String], hc: &HostCall) -> CallSite {
    CallSite {
        import: names
            .get(hc.import.0 as usize)
            .map_or("<unknown import>", String::as_str)
            .to_string(),
        args: hc.args.clone(),
        position: hc.position.0,
    }
}

fn describe_end(end: &EndOfRun) -> String {
    format!(
        "the run ends ({}) after {} steps",
        end.outcome, end.total_steps.0
    )
}

/// What the records of a truncated trace say about where its run got to.
pub(crate) struct TruncatedEnd {
    /// The last position the records show the run reached: after the last host call (its
    /// results are recorded), at the last progress record, at a final event.
    pub(crate) position: u64,
    /// The run's outcome, when the last record is the event that ended it (a trap, a host
    /// error) and only the end record is missing.
    pub(crate) outcome: Option<RunOutcome>,
}

/// Where the replay of a truncated trace stops, so that a guest that computes on past the
/// trace's end does not run forever. `None` for a finished trace.
///
/// # Errors
/// The last chunk cannot be read.
pub(crate) fn truncated_end<R: Read + Seek>(
    reader: &TraceReader<R>,
) -> Result<Option<TruncatedEnd>, deja_traces::Error> {
    if !reader.is_truncated() {
        return Ok(None);
    }
    let Some(last) = reader.record_count().checked_sub(1) else {
        return Ok(Some(TruncatedEnd {
            position: 0,
            outcome: None,
        }));
    };
    let (position, outcome) = match reader.read_record(RecordIndex(last))? {
        Record::HostCall(hc) => (hc.position.0 + 1, None),
        Record::Event(e) => (
            e.position.0,
            match e.kind {
                EventKind::Trap { code, message } => Some(RunOutcome::Trap { code, message }),
                EventKind::HostCallError { import, message } => {
                    Some(RunOutcome::HostError { import, message })
                }
                EventKind::Interrupted(_) => Some(RunOutcome::Interrupted),
                // Not recorded by this version (exceptions are Wasm 3.0); not an end.
                EventKind::Exception { .. } => None,
            },
        ),
        Record::Progress(p) => (p.0, None),
        Record::End(end) => (end.total_steps.0, Some(end.outcome)),
    };
    Ok(Some(TruncatedEnd { position, outcome }))
}

impl<R: Read + Seek> Cursor<R> {
    fn diverge(
        &mut self,
        caller: &mut Caller<'_, ()>,
        expected: Expected,
        actual: Actual,
    ) -> HostError {
        HostError::typed(Divergence {
            position: caller.position(),
            expected,
            actual,
            backtrace: caller.backtrace(),
            records_consumed: self.next,
        })
    }

    /// The next recorded host call, skipping events.
    pub(crate) fn next_call(
        &mut self,
    ) -> Result<Option<Result<HostCall, EndOfRun>>, deja_traces::Error> {
        while self.next < self.reader.record_count() {
            let record = self.reader.read_record(RecordIndex(self.next))?;
            self.next += 1;
            match record {
                Record::HostCall(hc) => return Ok(Some(Ok(hc))),
                Record::Event(_) | Record::Progress(_) => {}
                Record::End(end) => return Ok(Some(Err(end))),
            }
        }
        Ok(None)
    }

    fn call(
        &mut self,
        caller: &mut Caller<'_, ()>,
        import: u32,
        args: &[Val],
        results: &mut [Val],
    ) -> Result<(), HostError> {
        let name = self.import_names[import as usize].clone();
        let actual_args: Vec<_> = args.iter().map(convert::value).collect();
        let actual = Actual::Call(CallSite {
            import: name.clone(),
            args: actual_args.clone(),
            position: caller.position(),
        });
        let hc = match self.next_call() {
            Err(e) => {
                self.read_error = Some(e);
                return Err(HostError::msg("trace unreadable"));
            }
            Ok(None) => {
                if self.reader.is_truncated() {
                    self.ran_out = true;
                    return Err(HostError::msg("end of truncated trace"));
                }
                return Err(self.diverge(caller, Expected::NoFurtherCalls, actual));
            }
            Ok(Some(Err(end))) => return Err(self.diverge(caller, Expected::End(end), actual)),
            Ok(Some(Ok(hc))) => hc,
        };
        let recorded_args: Vec<_> = hc.args.clone();
        // Imports are compared by name: a module may import one host function twice.
        let same_import = self.import_names.get(hc.import.0 as usize) == Some(&name);
        if !same_import || hc.position.0 != caller.position() || recorded_args != actual_args {
            let expected = Expected::Call(recorded_call(&self.import_names, &hc));
            return Err(self.diverge(caller, expected, actual));
        }
        if let Some(tap) = &mut self.tap {
            tap(caller, &name, args);
        }
        let mut watched = false;
        for w in &hc.memory_writes {
            if self.stop_on_watched_writes
                && !watched
                && caller.watches(w.address, w.bytes.len() as u64)
            {
                watched = true;
                self.watched_write = Some((w.address, w.bytes.len() as u64));
            }
            if caller.write(w.address, &w.bytes).is_err() {
                let expected = Expected::Write {
                    import: name.clone(),
                    address: w.address,
                    len: w.bytes.len() as u64,
                };
                let actual = Actual::MemorySize(caller.memory_size());
                return Err(self.diverge(caller, expected, actual));
            }
        }
        self.host_calls += 1;
        if watched {
            caller.request_pause();
        }
        match hc.outcome {
            CallOutcome::Returned => {
                if hc.results.len() != results.len() {
                    return Err(HostError::msg("recorded results do not fit the signature"));
                }
                for (slot, v) in results.iter_mut().zip(&hc.results) {
                    *slot = convert::val(v).ok_or_else(|| HostError::msg("unsupported value"))?;
                }
                Ok(())
            }
            CallOutcome::Exit(code) => Err(HostError::Exit(code as i32)),
            CallOutcome::Error(m) => Err(HostError::Error(m)),
        }
    }
}

fn outcome_of(result: &Result<Resumable, RuntimeError>, names: &[String]) -> Option<RunOutcome> {
    convert::outcome(result, |import| {
        names
            .iter()
            .position(|n| n == import)
            .map(|i| deja_traces::ImportIndex(i as u32))
    })
}

/// A trace made ready to replay: its module, configuration, and a linker whose every import
/// is the replay layer over a shared record cursor.
pub(crate) struct Prepared<R: Read + Seek> {
    pub(crate) module: Module,
    pub(crate) config: Config,
    pub(crate) entry: String,
    pub(crate) recorded_end: Option<EndOfRun>,
    pub(crate) import_names: Vec<String>,
    pub(crate) cursor: Arc<Mutex<Cursor<R>>>,
    pub(crate) linker: Linker<()>,
}

/// Loads the trace's module and builds the replay layer.
pub(crate) fn prepare<R: Read + Seek + Send + 'static>(
    reader: TraceReader<R>,
    tap: Option<Tap>,
) -> Result<Prepared<R>, Error> {
    let module_bytes = reader.module_bytes()?;
    let module = Module::from_binary(&module_bytes).map_err(Error::Module)?;
    let header = reader.header().clone();
    let config: Config = convert::config_from_json(&header.runtime_config);
    let entry = header.runtime_config["entry"]
        .as_str()
        .unwrap_or("_start")
        .to_string();
    let recorded_end = reader.end_of_run().cloned();

    let mut func_imports = Vec::new();
    for import in module.imports() {
        match &import.ty {
            ImportType::Func(ty) => func_imports.push((import, ty.clone())),
            other => {
                return Err(Error::Inconsistent(format!(
                    "the module imports a {} ({}::{}); replay provides functions only",
                    other.kind(),
                    import.module,
                    import.name
                )));
            }
        }
    }
    if func_imports.len() != header.imports.len()
        || func_imports
            .iter()
            .zip(&header.imports)
            .any(|((i, ty), h)| {
                i.module != h.module || i.name != h.name || convert::signature(ty) != h.signature
            })
    {
        return Err(Error::Inconsistent(
            "the header's import table does not match the module's imports".into(),
        ));
    }
    let import_names: Vec<String> = header
        .imports
        .iter()
        .map(|i| format!("{}::{}", i.module, i.name))
        .collect();
    let cursor = Arc::new(Mutex::new(Cursor {
        reader,
        next: 0,
        host_calls: 0,
        ran_out: false,
        read_error: None,
        tap,
        import_names: import_names.clone(),
        stop_on_watched_writes: false,
        watched_write: None,
    }));
    let mut linker = Linker::new();
    for (index, (import, ty)) in func_imports.iter().enumerate() {
        let cursor = cursor.clone();
        linker.func(
            &import.module,
            &import.name,
            ty.clone(),
            move |caller, args, results| {
                cursor.lock().unwrap_or_else(|e| e.into_inner()).call(
                    caller,
                    index as u32,
                    args,
                    results,
                )
            },
        );
    }

    Ok(Prepared {
        module,
        config,
        entry,
        recorded_end,
        import_names,
        cursor,
        linker,
    })
}

/// Replays a trace on the interpreter.
///
/// # Errors
/// [`Error::Trace`] for a trace that cannot be read, [`Error::Module`] /
/// [`Error::Inconsistent`] for one whose module cannot run as described, and
/// [`Error::Diverged`] with the first difference between the replay and the recording.
pub fn replay<R: Read + Seek + Send + 'static>(
    reader: TraceReader<R>,
    tap: Option<Tap>,
) -> Result<Report, Error> {
    replay_on(reader, tap, deja_runtime::EngineKind::Interp)
}

/// Replays a trace on `engine` (whichever engine recorded it: both give the same steps).
///
/// # Errors
/// As [`replay`].
pub fn replay_on<R: Read + Seek + Send + 'static>(
    reader: TraceReader<R>,
    tap: Option<Tap>,
    engine: deja_runtime::EngineKind,
) -> Result<Report, Error> {
    replay_with(reader, tap, engine, None)
}

/// Replays a trace on `engine`, reporting progress (position, and the recorded end or 0 when
/// unknown) to `progress` about ten times a second.
///
/// # Errors
/// As [`replay`].
pub fn replay_with<R: Read + Seek + Send + 'static>(
    reader: TraceReader<R>,
    tap: Option<Tap>,
    engine: deja_runtime::EngineKind,
    mut progress: Option<&mut dyn FnMut(u64, u64)>,
) -> Result<Report, Error> {
    let Prepared {
        module,
        config,
        entry,
        recorded_end,
        import_names,
        cursor,
        linker,
    } = prepare(reader, tap)?;
    let mut store = Store::new(config, ());
    store
        .set_engine(engine)
        .expect("a new store has no call in progress");
    let mut hard_end = None;
    if let Some(end) = &recorded_end
        && end.outcome == RunOutcome::Interrupted
    {
        hard_end = Some(end.total_steps.0);
        store.set_stop_position(hard_end);
    }
    let truncated_end = truncated_end(&cursor.lock().unwrap_or_else(|e| e.into_inner()).reader)?;
    let total = recorded_end
        .as_ref()
        .map(|e| e.total_steps.0)
        .or(truncated_end.as_ref().map(|t| t.position))
        .unwrap_or(0);
    let mut ticks = deja_runtime::Ticks::new(std::time::Duration::from_millis(100));
    let mut result = linker
        .instantiate(&mut store, &module)
        .and_then(|instance| {
            if let Some(t) = &truncated_end {
                // A final trap or host error happens at its position: stop one step later so
                // that it happens here too.
                let after = match t.outcome {
                    Some(RunOutcome::Trap { .. } | RunOutcome::HostError { .. }) => 1,
                    _ => 0,
                };
                hard_end = Some(t.position + after);
            }
            if progress.is_some() {
                ticks.arm(&mut store, hard_end);
            } else {
                store.set_stop_position(hard_end);
            }
            let f = store.get_func(instance, &entry)?;
            store.call_resumable(f, &[])
        });
    if let Some(report) = progress.as_mut() {
        result = ticks.drive(&mut store, result, hard_end, |position| {
            report(position, total);
            true
        });
    }
    let mut c = cursor.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = c.read_error.take() {
        return Err(Error::Trace(e));
    }
    if let Some(d) = Divergence::of(&result) {
        return Err(Error::Diverged(Box::new(d)));
    }
    let total_steps = store.position();
    if c.ran_out || (truncated_end.is_some() && matches!(result, Ok(Resumable::Paused(_)))) {
        return Ok(Report {
            outcome: Outcome::Truncated,
            total_steps,
            host_calls: c.host_calls,
        });
    }
    let actual = outcome_of(&result, &import_names).ok_or_else(|| {
        Error::Module(result.as_ref().err().map_or_else(
            || RuntimeError::Internal("no outcome".into()),
            |e| RuntimeError::Internal(e.to_string()),
        ))
    })?;
    // Anything left but events and the end means the guest stopped early.
    let rest = match c.next_call() {
        Ok(r) => r,
        Err(e) => return Err(Error::Trace(e)),
    };
    let divergence = |expected: Expected, actual: Actual, c: &Cursor<R>, store: &mut Store<()>| {
        Error::Diverged(Box::new(Divergence {
            position: total_steps,
            expected,
            actual,
            backtrace: store.backtrace(),
            records_consumed: c.next,
        }))
    };
    let actual_end = EndOfRun {
        outcome: actual.clone(),
        total_steps: deja_traces::Position(total_steps),
    };
    match rest {
        Some(Ok(hc)) => Err(divergence(
            Expected::Call(recorded_call(&c.import_names, &hc)),
            Actual::End(actual_end),
            &c,
            &mut store,
        )),
        // The guest ended exactly where a truncated trace ends: nothing left to check.
        None if c.reader.is_truncated() => Ok(Report {
            outcome: Outcome::Truncated,
            total_steps,
            host_calls: c.host_calls,
        }),
        Some(Err(end)) => {
            if same_outcome(&end.outcome, &actual) && end.total_steps.0 == total_steps {
                Ok(Report {
                    outcome: Outcome::Matched(end.outcome),
                    total_steps,
                    host_calls: c.host_calls,
                })
            } else {
                Err(divergence(
                    Expected::End(end),
                    Actual::End(actual_end),
                    &c,
                    &mut store,
                ))
            }
        }
        None => Err(Error::Inconsistent("the trace has no end record".into())),
    }
}

/// Outcomes agree on kind and codes (messages are for humans).
fn same_outcome(a: &RunOutcome, b: &RunOutcome) -> bool {
    match (a, b) {
        (RunOutcome::Trap { code: x, .. }, RunOutcome::Trap { code: y, .. }) => x == y,
        (RunOutcome::HostError { import: x, .. }, RunOutcome::HostError { import: y, .. }) => {
            x == y
        }
        _ => a == b,
    }
}
