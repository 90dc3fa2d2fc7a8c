//! Time travel over a trace: a [`Session`] moves backward as easily as forward.
//!
//! # How it works
//! A session replays the trace on the interpreter (the replay layer substitutes every host
//! call) and can stop at any position. Going back means restoring a [`Checkpoint`] — a runtime
//! [`Snapshot`] plus the record cursor — at or before the target and replaying forward to it.
//!
//! Checkpoints are taken while replaying: on a grid (every `checkpoint_interval` steps) and,
//! when a movement lands somewhere, exponentially spaced before the landing point (1, 2, 4, 8…
//! times `dense_spacing` back), so that stepping backward from where the user works
//! re-executes little. When their memory passes the budget they are thinned the way rr does:
//! far from the current position only sparse ones survive.
//!
//! Reverse searches (reverse-continue, reverse-next, reverse-finish) scan windows between
//! consecutive checkpoints from the latest backward, each window executed once with the stops
//! installed, so a long search costs one forward pass over the stretch it covers, not a pass
//! per hit. Every reverse movement lands by a plain forward seek to the position found, which is
//! exactly where a forward replay would have stopped.

use crate::replay::{Actual, Cursor, Divergence, Error, Expected, Prepared, Tap, prepare};
use deja_runtime::{
    Caller, EngineKind, Error as RuntimeError, Func, FuncIndex, Instance, Memory, Module, Pause,
    PauseReason, Resumable, Snapshot, Store, Val,
};
use deja_traces::{Record, RunOutcome, TraceReader};
use std::collections::BTreeMap;
use std::io::{Read, Seek};
use std::sync::{Arc, Mutex};

/// Decodes the guest output a host call is about to produce (fd, bytes); see
/// `deja_runtime::wasi::pending_output`.
pub type OutputDecoder = fn(&Caller<'_, ()>, &str, &[Val]) -> Option<(u32, Vec<u8>)>;

/// Guest output by the position of the host call that wrote it: (fd, bytes).
type OutputLog = Arc<Mutex<BTreeMap<u64, (u32, Vec<u8>)>>>;

/// Reports progress of long operations: (steps done, steps to do). Returning `false` cancels.
pub type Progress = Box<dyn FnMut(u64, u64) -> bool + Send>;

/// Tuning of a session.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    /// Memory the checkpoints may hold (shared pages counted once).
    pub checkpoint_budget: usize,
    /// Steps between checkpoints on the grid.
    pub checkpoint_interval: u64,
    /// Spacing of the densest checkpoints before a landing point.
    pub dense_spacing: u64,
    /// The engine of the forward passes. On the JIT, a pass from the start (opening the
    /// session) stays in compiled code: its checkpoints come at soft pauses, near their grid
    /// points (a little before, or after a function returns, after). A pass from a checkpoint, and everything after a stop at an
    /// exact position, runs on the interpreter (the JIT does not resume from a snapshot).
    pub engine: EngineKind,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            checkpoint_budget: 224 << 20,
            checkpoint_interval: 4_000_000,
            dense_spacing: 20_000,
            engine: EngineKind::Jit,
        }
    }
}

/// Why a movement stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// A step, next or finish completed, or a seek arrived.
    Step,
    /// A breakpoint (by id) at the next instruction.
    Breakpoint(u32),
    /// A watchpoint (by id) was written by the instruction or host call just before.
    Watchpoint(u32),
    /// A `catch throw` catchpoint (by id): the next instruction throws an exception.
    Throw(u32),
    /// The end of the run with a trap, exit code or host error (the event).
    Event,
    /// The start of the run.
    Start,
    /// The end of the run.
    End,
    /// Cancelled through the progress callback; the position is consistent but arbitrary.
    Cancelled,
}

impl StopReason {
    /// The name the batch front end prints.
    pub fn name(self) -> &'static str {
        match self {
            StopReason::Step => "step",
            StopReason::Breakpoint(_) => "breakpoint",
            StopReason::Watchpoint(_) => "watchpoint",
            StopReason::Throw(_) => "throw",
            StopReason::Event => "event",
            StopReason::Start => "start",
            StopReason::End => "end",
            StopReason::Cancelled => "cancelled",
        }
    }
}

/// Where a movement stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stop {
    /// Why.
    pub reason: StopReason,
    /// The position.
    pub position: u64,
}

/// A breakpoint or watchpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopPoint {
    /// Before the instruction of `func` at module offset `pc`.
    Breakpoint {
        /// Function.
        func: FuncIndex,
        /// Module-relative byte offset.
        pc: u32,
    },
    /// After anything writes `len` bytes at `addr` of memory 0.
    Watchpoint {
        /// Address.
        addr: u64,
        /// Length.
        len: u64,
    },
    /// Before every instruction that throws an exception (gdb's `catch throw`).
    CatchThrow,
}

/// One checkpoint: the runtime's snapshot and where the record stream was.
pub struct Checkpoint {
    snapshot: Snapshot,
    next_record: u64,
    host_calls: u64,
    started: bool,
}

/// How a raw forward run ended.
enum Ran {
    Reached,
    Hit(PauseReason),
    Finished,
    Cancelled,
}

/// A replay session over one trace.
pub struct Session<R: Read + Seek + Send + 'static = std::fs::File> {
    store: Store<()>,
    cursor: Arc<Mutex<Cursor<R>>>,
    module: Module,
    instance: Instance,
    memory: Option<Memory>,
    entry: Func,
    entry_index: Option<FuncIndex>,
    import_names: Vec<String>,
    start: u64,
    end: u64,
    outcome: Option<RunOutcome>,
    started: bool,
    finished: bool,
    checkpoints: BTreeMap<u64, Checkpoint>,
    added_since_thinning: usize,
    options: SessionOptions,
    stops: BTreeMap<u32, StopPoint>,
    next_stop_id: u32,
    host_calls: Vec<u64>,
    host_call_imports: Vec<u32>,
    /// Record index of each host call.
    host_call_records: Vec<u64>,
    output: OutputLog,
    progress: Option<Progress>,
}

impl<R: Read + Seek + Send + 'static> Session<R> {
    /// Opens a session: loads the module, replays the whole run once (taking checkpoints), and
    /// stays at the end — where a failure is.
    ///
    /// # Errors
    /// As [`crate::replay`]: an unreadable trace, a module that cannot run, or a divergence.
    pub fn open(
        reader: TraceReader<R>,
        decoder: Option<OutputDecoder>,
        options: SessionOptions,
        progress: Option<Progress>,
    ) -> Result<Session<R>, Error> {
        let mut host_calls = Vec::new();
        let mut host_call_imports = Vec::new();
        let mut host_call_records = Vec::new();
        for (i, record) in reader.records().enumerate() {
            if let Record::HostCall(hc) = record? {
                host_calls.push(hc.position.0);
                host_call_imports.push(hc.import.0);
                host_call_records.push(i as u64);
            }
        }
        let recorded = reader.end_of_run().cloned();
        let truncated_end = crate::replay::truncated_end(&reader)?;
        let output = Arc::new(Mutex::new(BTreeMap::new()));
        let tap: Option<Tap> = decoder.map(|decode| {
            let output = output.clone();
            Box::new(
                move |caller: &mut Caller<'_, ()>, import: &str, args: &[Val]| {
                    if let Some((fd, bytes)) = decode(caller, import, args) {
                        output
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(caller.position(), (fd, bytes));
                    }
                },
            ) as Tap
        });
        let Prepared {
            module,
            config,
            entry,
            import_names,
            cursor,
            linker,
            ..
        } = prepare(reader, tap)?;
        let mut store = Store::new(config, ());
        store.set_engine(options.engine).map_err(Error::Module)?;
        let instance = linker
            .instantiate(&mut store, &module)
            .map_err(Error::Module)?;
        let entry_index = module.exports().find_map(|(name, kind)| match kind {
            deja_runtime::ExportKind::Func(f) if name == entry => Some(f),
            _ => None,
        });
        let entry = store.get_func(instance, &entry).map_err(Error::Module)?;
        let memory = store.instance_memory(instance);
        let start = store.position();
        let mut session = Session {
            store,
            cursor,
            module,
            instance,
            memory,
            entry,
            entry_index,
            import_names,
            start,
            end: u64::MAX,
            // A truncated trace whose last record is the trap (or host error) that ended the
            // run: only the end record is missing, and the session stands at that event.
            outcome: recorded
                .as_ref()
                .map(|e| e.outcome.clone())
                .or_else(|| truncated_end.as_ref().and_then(|t| t.outcome.clone())),
            started: false,
            finished: false,
            checkpoints: BTreeMap::new(),
            added_since_thinning: 0,
            options,
            stops: BTreeMap::new(),
            next_stop_id: 1,
            host_calls,
            host_call_imports,
            host_call_records,
            output,
            progress,
        };
        session.checkpoint()?;
        // The first pass: to the recorded end (for a truncated trace: to the last position its
        // records show, or until they run out), taking checkpoints.
        let last = recorded
            .as_ref()
            .map(|e| e.total_steps.0)
            .or(truncated_end.as_ref().map(|t| t.position))
            .unwrap_or(u64::MAX);
        match session.run(last, &[], true)? {
            Ran::Finished => {}
            Ran::Cancelled => return Err(Error::Inconsistent("cancelled while opening".into())),
            Ran::Reached | Ran::Hit(_) => {}
        }
        session.end = session.store.position();
        if let Some(end) = &recorded
            && end.total_steps.0 != session.end
        {
            return Err(Error::Diverged(Box::new(Divergence {
                position: session.end,
                expected: Expected::EndAfter(end.total_steps.0),
                actual: Actual::EndedAfter(session.end),
                backtrace: Vec::new(),
                records_consumed: session.lock().next,
            })));
        }
        // Stand at the end with the frames of a trap or an exit still visible.
        session.seek(session.end)?;
        Ok(session)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cursor<R>> {
        self.cursor.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The module being replayed.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// A read-only view of the store at the current position: the frame cursor, globals and
    /// memory. Moving through the trace is the session's business, so front ends get no way to
    /// change the guest's state.
    pub fn store(&self) -> &Store<()> {
        &self.store
    }

    /// The exported function the run calls (`_start` for a WASI command), when it is one of
    /// the module's own exports.
    pub fn entry_func(&self) -> Option<FuncIndex> {
        self.entry_index
    }

    /// The guest's instance.
    pub fn instance(&self) -> Instance {
        self.instance
    }

    /// Current position.
    pub fn position(&self) -> u64 {
        self.store.position()
    }

    /// First position (after instantiation).
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Last position: where the run ends (or where a truncated trace's records end).
    pub fn end(&self) -> u64 {
        self.end
    }

    /// The recorded outcome (`None` for a truncated trace, unless its last record is the event
    /// that ended the run).
    pub fn outcome(&self) -> Option<&RunOutcome> {
        self.outcome.as_ref()
    }

    /// Positions of every host call, in order (the state before each call).
    pub fn host_calls(&self) -> &[u64] {
        &self.host_calls
    }

    /// `module::name` of host call `k`.
    pub fn host_call_name(&self, k: usize) -> Option<&str> {
        let import = *self.host_call_imports.get(k)? as usize;
        self.import_names.get(import).map(String::as_str)
    }

    /// Host call `k` as recorded: arguments, results, memory writes, outcome.
    ///
    /// # Errors
    /// When the trace cannot be read there.
    pub fn host_call_record(&self, k: usize) -> Result<Option<deja_traces::HostCall>, Error> {
        let Some(&index) = self.host_call_records.get(k) else {
            return Ok(None);
        };
        match self
            .lock()
            .reader
            .read_record(deja_traces::RecordIndex(index))?
        {
            Record::HostCall(hc) => Ok(Some(hc)),
            _ => Err(Error::Inconsistent(format!(
                "record {index} is not the host call it was"
            ))),
        }
    }

    /// `module::name` of each import, by import index.
    pub fn import_names(&self) -> &[String] {
        &self.import_names
    }

    /// Number of checkpoints held.
    pub fn checkpoint_count(&self) -> usize {
        self.checkpoints.len()
    }

    /// Memory held by checkpoints.
    pub fn checkpoint_bytes(&self) -> usize {
        Snapshot::footprint(self.checkpoints.values().map(|c| &c.snapshot))
    }

    /// Installs (or removes) the progress callback.
    pub fn set_progress(&mut self, progress: Option<Progress>) {
        self.progress = progress;
    }

    /// The guest's stdout and stderr as of the current position (when opened with a decoder).
    pub fn output(&self) -> (Vec<u8>, Vec<u8>) {
        let p = self.position();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        for (pos, (fd, bytes)) in self.output.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            // A call at position N has completed at N + 1.
            if pos + 1 > p {
                break;
            }
            if *fd == 1 { &mut out } else { &mut err }.extend_from_slice(bytes);
        }
        (out, err)
    }

    /// The guest's output as of the current position, in the order it was written: runs of
    /// one descriptor (1 stdout, 2 stderr) and their bytes, consecutive writes to the same
    /// descriptor joined (when opened with a decoder).
    pub fn output_in_order(&self) -> Vec<(u32, Vec<u8>)> {
        let p = self.position();
        let mut chunks: Vec<(u32, Vec<u8>)> = Vec::new();
        for (pos, (fd, bytes)) in self.output.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            // A call at position N has completed at N + 1.
            if pos + 1 > p {
                break;
            }
            match chunks.last_mut() {
                Some((last, b)) if last == fd => b.extend_from_slice(bytes),
                _ => chunks.push((*fd, bytes.clone())),
            }
        }
        chunks
    }

    /// Reads guest memory at the current position.
    pub fn read_memory(&self, addr: u64, len: u64) -> Option<&[u8]> {
        let data = self.store.memory_data(self.memory?);
        let end = addr.checked_add(len)?;
        (end <= data.len() as u64).then(|| &data[addr as usize..end as usize])
    }

    /// The instance's globals, in its global index space.
    pub fn globals(&self) -> Vec<Val> {
        self.store
            .instance_globals(self.instance)
            .iter()
            .map(|g| self.store.global_get(*g))
            .collect()
    }

    /// Depth of the call stack at the current position.
    pub fn depth(&mut self) -> usize {
        self.store.debug_frames().depth()
    }

    // ---- stop points ----

    /// Adds a breakpoint; returns its id. The pc slides to the next instruction as in
    /// [`Store::add_breakpoint`].
    ///
    /// # Errors
    /// [`Error::Inconsistent`] for a function without code or a pc past its end.
    pub fn add_breakpoint(&mut self, func: FuncIndex, pc: Option<u32>) -> Result<u32, Error> {
        let pcs = self.module.instruction_pcs(func);
        let pc = match pc {
            None => pcs.first().copied(),
            Some(pc) => pcs.iter().copied().find(|p| *p >= pc),
        }
        .ok_or_else(|| {
            Error::Inconsistent(format!(
                "function {} has no instruction there",
                func.as_u32()
            ))
        })?;
        Ok(self.add_stop(StopPoint::Breakpoint { func, pc }))
    }

    /// Adds a watchpoint on `len` bytes of memory 0 at `addr`; returns its id.
    pub fn add_watchpoint(&mut self, addr: u64, len: u64) -> u32 {
        self.add_stop(StopPoint::Watchpoint {
            addr,
            len: len.max(1),
        })
    }

    fn add_stop(&mut self, s: StopPoint) -> u32 {
        let id = self.next_stop_id;
        self.next_stop_id += 1;
        self.stops.insert(id, s);
        id
    }

    /// Adds a catchpoint that stops before every throw (`catch throw`); returns its id. One is
    /// enough: adding another returns the first one's id.
    pub fn add_catch_throw(&mut self) -> u32 {
        match self
            .stops
            .iter()
            .find(|(_, s)| **s == StopPoint::CatchThrow)
        {
            Some((id, _)) => *id,
            None => self.add_stop(StopPoint::CatchThrow),
        }
    }

    /// The id of the catchpoint [`Session::set_throw_scan`] sets.
    pub const THROW_SCAN: u32 = u32::MAX;

    /// Sets or clears a catchpoint that stops before every throw under the id
    /// [`Session::THROW_SCAN`], outside the user's numbering: for a front end that lists the
    /// throws of a run without the user asking for them.
    pub fn set_throw_scan(&mut self, on: bool) {
        if on {
            self.stops.insert(Self::THROW_SCAN, StopPoint::CatchThrow);
        } else {
            self.stops.remove(&Self::THROW_SCAN);
        }
    }

    /// Deletes a breakpoint or watchpoint; returns whether it existed.
    pub fn delete(&mut self, id: u32) -> bool {
        self.stops.remove(&id).is_some()
    }

    /// The breakpoints and watchpoints by id.
    pub fn stop_points(&self) -> &BTreeMap<u32, StopPoint> {
        &self.stops
    }

    // ---- machinery ----

    fn checkpoint(&mut self) -> Result<(), Error> {
        let p = self.store.position();
        if self.checkpoints.contains_key(&p) || self.finished {
            return Ok(());
        }
        let snapshot = self
            .store
            .snapshot()
            .map_err(|e| Error::Inconsistent(e.to_string()))?;
        let (next_record, host_calls) = {
            let c = self.lock();
            (c.next, c.host_calls)
        };
        self.checkpoints.insert(
            p,
            Checkpoint {
                snapshot,
                next_record,
                host_calls,
                started: self.started,
            },
        );
        self.added_since_thinning += 1;
        if self.added_since_thinning >= 32 {
            self.thin();
        }
        Ok(())
    }

    /// Thins if checkpoints were added since the last time (at the end of every movement).
    fn settle(&mut self) {
        if self.added_since_thinning > 0 {
            self.thin();
        }
    }

    /// Drops checkpoints until they fit the budget: first those whose neighbors are close
    /// compared to their distance from the current position (rr's exponential thinning).
    fn thin(&mut self) {
        self.added_since_thinning = 0;
        let current = self.store.position();
        // Measured once, then less what each dropped checkpoint held alone (their pages are
        // shared, so the sum over all is not what they hold together).
        let mut bytes = self.checkpoint_bytes();
        while self.checkpoints.len() > 2 && bytes > self.options.checkpoint_budget {
            let positions: Vec<u64> = self.checkpoints.keys().copied().collect();
            let mut victim = None;
            let mut best = f64::INFINITY;
            for i in 1..positions.len() - 1 {
                let p = positions[i];
                let gap = (positions[i + 1] - positions[i - 1]) as f64;
                let distance = p.abs_diff(current) as f64 + 1.0;
                let score = gap / distance;
                if score < best {
                    best = score;
                    victim = Some(p);
                }
            }
            match victim {
                Some(p) => {
                    let freed = self.checkpoints[&p].snapshot.unshared_bytes();
                    self.checkpoints.remove(&p);
                    // What else holds a dropped checkpoint's pages (the store's own image, a
                    // clone) is not counted as freed: measure again rather than drop more.
                    bytes = if freed == 0 {
                        self.checkpoint_bytes()
                    } else {
                        bytes.saturating_sub(freed)
                    };
                }
                None => break,
            }
        }
    }

    /// The last checkpoint at or before `target` (the start's, at least).
    fn base_for(&self, target: u64) -> u64 {
        *self
            .checkpoints
            .range(..=target)
            .next_back()
            .expect("the start checkpoint")
            .0
    }

    fn restore(&mut self, at: u64) -> Result<(), Error> {
        let ck = &self.checkpoints[&at];
        self.store
            .restore(&ck.snapshot)
            .map_err(|e| Error::Inconsistent(e.to_string()))?;
        let (next, calls, started) = (ck.next_record, ck.host_calls, ck.started);
        let mut c = self.lock();
        c.next = next;
        c.host_calls = calls;
        c.ran_out = false;
        drop(c);
        self.started = started;
        self.finished = false;
        Ok(())
    }

    /// Installs the user's stop points (if `user`) and `extra` breakpoints in the store.
    fn install(&mut self, user: bool, extra: &[(FuncIndex, u32)]) {
        self.store.clear_breakpoints();
        let module = self.module.clone();
        let mut watching = false;
        if user {
            for s in self.stops.values() {
                match *s {
                    StopPoint::Breakpoint { func, pc } => {
                        let _ = self.store.add_breakpoint(&module, func, pc);
                    }
                    StopPoint::Watchpoint { addr, len } => {
                        if let Some(m) = self.memory {
                            self.store.add_watchpoint(m, addr, len);
                            watching = true;
                        }
                    }
                    StopPoint::CatchThrow => {
                        for &(func, pc) in module.throw_sites() {
                            let _ = self.store.add_breakpoint(&module, func, pc);
                        }
                    }
                }
            }
        }
        for (func, pc) in extra {
            let _ = self.store.add_breakpoint(&module, *func, *pc);
        }
        self.lock().stop_on_watched_writes = watching;
    }

    fn uninstall(&mut self) {
        self.store.clear_breakpoints();
        self.lock().stop_on_watched_writes = false;
    }

    /// Runs forward to `target` or the first pause of an installed stop point, taking
    /// checkpoints on the way when `checkpoints` is set.
    fn run(&mut self, target: u64, dense_before: &[u64], checkpoints: bool) -> Result<Ran, Error> {
        let total = target.saturating_sub(self.position());
        let origin = self.position();
        // A soft pause may come before the checkpoint it was for: that one is taken then.
        let mut passed = 0;
        // After going past the target, the rest of the pass stops exactly.
        let mut exact = false;
        loop {
            if self.finished {
                return Ok(Ran::Finished);
            }
            let here = self.position();
            if here >= target {
                return Ok(Ran::Reached);
            }
            let mut next_stop = target;
            if checkpoints {
                let from = here.max(passed);
                let grid = (from / self.options.checkpoint_interval + 1)
                    * self.options.checkpoint_interval;
                next_stop = next_stop.min(grid);
                for d in dense_before {
                    if *d > from {
                        next_stop = next_stop.min(*d);
                    }
                }
            }
            // Only the target must be reached exactly; a checkpoint may come a little early,
            // which on the JIT lets the pass go on in compiled code.
            let soft = !exact && next_stop < target;
            self.store.set_soft_budget(soft);
            self.store.set_stop_position(Some(next_stop));
            let result = if self.started {
                self.store.resume()
            } else {
                self.started = true;
                self.store.call_resumable(self.entry, &[])
            };
            self.store.set_stop_position(None);
            self.store.set_soft_budget(false);
            if soft && self.position() > target {
                // The JIT's soft pauses come at or before their budget, but right after a call
                // returns it runs on to its next check: it went past the target (perhaps to the
                // end). Back to the last checkpoint before the target, from where the
                // interpreter takes it exactly. Whatever happened beyond the target (running
                // out of a truncated trace's records, say) happens again only if it is reached.
                self.lock().read_error = None;
                let base = self.base_for(target);
                self.restore(base)?;
                passed = 0;
                exact = true;
                continue;
            }
            {
                let mut c = self.lock();
                if let Some(e) = c.read_error.take() {
                    return Err(Error::Trace(e));
                }
            }
            if let Some(d) = Divergence::of(&result) {
                return Err(Error::Diverged(Box::new(d)));
            }
            match result {
                Ok(Resumable::Paused(Pause {
                    reason: PauseReason::StepBudget,
                    position,
                })) => {
                    if position >= target {
                        return Ok(Ran::Reached);
                    }
                    passed = next_stop;
                    if checkpoints {
                        self.checkpoint()?;
                    }
                    if let Some(p) = &mut self.progress
                        && !p(position.saturating_sub(origin), total)
                    {
                        return Ok(Ran::Cancelled);
                    }
                }
                Ok(Resumable::Paused(Pause { reason, .. })) => return Ok(Ran::Hit(reason)),
                Ok(Resumable::Returned(_))
                | Err(
                    RuntimeError::Trap(_) | RuntimeError::Exit { .. } | RuntimeError::Host { .. },
                ) => {
                    self.finished = true;
                    return Ok(Ran::Finished);
                }
                Err(e) => return Err(Error::Module(e)),
            }
        }
    }

    fn end_reason(&self) -> StopReason {
        match &self.outcome {
            Some(RunOutcome::Returned | RunOutcome::Exit(0)) => StopReason::End,
            Some(RunOutcome::Interrupted) | None => StopReason::End,
            Some(_) => StopReason::Event,
        }
    }

    /// Goes to `target` (clamped to the run), with no stop points, and leaves dense
    /// checkpoints before it.
    fn goto(&mut self, target: u64) -> Result<Stop, Error> {
        let target = target.clamp(self.start, self.end);
        let here = self.position();
        if here != target {
            let base = self.base_for(target);
            if !(here <= target && base <= here && !self.finished) {
                self.restore(base)?;
            }
            let mut dense = Vec::new();
            let mut d = self.options.dense_spacing;
            while d < target.saturating_sub(self.position()) {
                dense.push(target - d);
                d *= 2;
            }
            self.uninstall();
            if let Ran::Cancelled = self.run(target, &dense, true)? {
                return Ok(Stop {
                    reason: StopReason::Cancelled,
                    position: self.position(),
                });
            }
        }
        self.settle();
        let position = self.position();
        let reason = if position == self.start {
            StopReason::Start
        } else if position == self.end {
            self.end_reason()
        } else {
            StopReason::Step
        };
        Ok(Stop { reason, position })
    }

    /// Which user stop point a pause at the current position is.
    fn identify(&mut self, reason: PauseReason) -> Option<StopReason> {
        match reason {
            PauseReason::Breakpoint => {
                let (func, pc) = self.store.debug_frames().wasm_function_index_and_pc()?;
                self.stops
                    .iter()
                    .find_map(|(id, s)| {
                        (*s == StopPoint::Breakpoint { func, pc })
                            .then_some(StopReason::Breakpoint(*id))
                    })
                    .or_else(|| {
                        let id = self
                            .stops
                            .iter()
                            .find_map(|(id, s)| (*s == StopPoint::CatchThrow).then_some(*id))?;
                        self.module
                            .is_throw_site(func, pc)
                            .then_some(StopReason::Throw(id))
                    })
            }
            PauseReason::Watchpoint | PauseReason::HostRequest => {
                // The watchpoint the write touched; several may be set.
                let write = if reason == PauseReason::Watchpoint {
                    self.store.watch_write()
                } else {
                    self.lock().watched_write
                };
                let touched = |s: &StopPoint| match (s, write) {
                    (&StopPoint::Watchpoint { addr, len }, Some((a, l))) => {
                        a < addr.saturating_add(len) && a.saturating_add(l) > addr
                    }
                    (StopPoint::Watchpoint { .. }, None) => true,
                    _ => false,
                };
                self.stops
                    .iter()
                    .find_map(|(id, s)| touched(s).then_some(*id))
                    .or_else(|| {
                        self.stops.iter().find_map(|(id, s)| {
                            matches!(s, StopPoint::Watchpoint { .. }).then_some(*id)
                        })
                    })
                    .map(StopReason::Watchpoint)
            }
            PauseReason::StepBudget => None,
        }
    }

    // ---- movements ----

    /// Goes to a position (clamped to the run).
    ///
    /// # Errors
    /// A divergence or an unreadable trace found while replaying.
    pub fn seek(&mut self, position: u64) -> Result<Stop, Error> {
        self.goto(position)
    }

    /// Goes to the state before host call `k` (0-based).
    ///
    /// # Errors
    /// As [`Session::seek`]; [`Error::Inconsistent`] if there is no such call.
    pub fn seek_host_call(&mut self, k: usize) -> Result<Stop, Error> {
        let p = *self.host_calls.get(k).ok_or_else(|| {
            Error::Inconsistent(format!(
                "there are {} host calls; no call {k}",
                self.host_calls.len()
            ))
        })?;
        self.goto(p)
    }

    /// Steps `n` instructions forward.
    ///
    /// # Errors
    /// As [`Session::seek`].
    pub fn step_forward(&mut self, n: u64) -> Result<Stop, Error> {
        let target = self.position().saturating_add(n);
        self.goto(target)
    }

    /// Steps `n` instructions backward.
    ///
    /// # Errors
    /// As [`Session::seek`].
    pub fn reverse_step(&mut self, n: u64) -> Result<Stop, Error> {
        let target = self.position().saturating_sub(n);
        self.goto(target)
    }

    /// Runs forward with the user's stop points and `extra` breakpoints until `accept` takes a
    /// pause (returning the stop reason) or the end. With `landing`, also at every throw: if
    /// the exception lands in a frame at that depth or shallower, the movement stops where it
    /// lands (a `next` or `finish` whose frames a throw unwinds stops at the catch, as gdb's
    /// stops where the longjmp lands).
    fn forward_until(
        &mut self,
        extra: &[(FuncIndex, u32)],
        landing: Option<usize>,
        mut accept: impl FnMut(&mut Self, PauseReason) -> Option<StopReason>,
    ) -> Result<Stop, Error> {
        let mut with_throws;
        let extra = match landing {
            Some(_) if !self.module.throw_sites().is_empty() => {
                with_throws = extra.to_vec();
                with_throws.extend_from_slice(self.module.throw_sites());
                &with_throws[..]
            }
            _ => extra,
        };
        let from = self.position();
        if self.finished || from >= self.end {
            return Ok(Stop {
                reason: self.end_reason(),
                position: self.position(),
            });
        }
        self.install(true, extra);
        // A pause to look at before running on: its reason, whether it is the starting
        // instruction's breakpoint (which does not stop us), and whether a throw's unwinding
        // just landed there.
        let mut pending = (landing.is_some() && self.at_throw_site()).then_some((
            PauseReason::Breakpoint,
            true,
            false,
        ));
        let result = loop {
            let (reason, at_start, landed) = match pending.take() {
                Some(p) => p,
                None => match self.run(self.end, &[], true) {
                    Err(e) => break Err(e),
                    Ok(Ran::Cancelled) => {
                        break Ok(Stop {
                            reason: StopReason::Cancelled,
                            position: self.position(),
                        });
                    }
                    Ok(Ran::Reached | Ran::Finished) => {
                        break Ok(Stop {
                            reason: self.end_reason(),
                            position: self.position(),
                        });
                    }
                    Ok(Ran::Hit(reason)) => (
                        reason,
                        self.position() == from && reason == PauseReason::Breakpoint,
                        false,
                    ),
                },
            };
            if !at_start && let Some(r) = accept(self, reason) {
                break Ok(Stop {
                    reason: r,
                    position: self.position(),
                });
            }
            let Some(max_depth) = landing else { continue };
            if landed && self.depth() <= max_depth {
                break Ok(Stop {
                    reason: StopReason::Step,
                    position: self.position(),
                });
            }
            if !(reason == PauseReason::Breakpoint && self.at_throw_site()) {
                continue;
            }
            // The throw is one step, its unwinding included; where it lands is looked at as
            // any pause is (a breakpoint there, another throw).
            match self.run(self.position() + 1, &[], true) {
                Err(e) => break Err(e),
                Ok(Ran::Cancelled) => {
                    break Ok(Stop {
                        reason: StopReason::Cancelled,
                        position: self.position(),
                    });
                }
                Ok(Ran::Finished) => {
                    break Ok(Stop {
                        reason: self.end_reason(),
                        position: self.position(),
                    });
                }
                Ok(Ran::Reached) => {
                    if self.depth() <= max_depth {
                        break Ok(Stop {
                            reason: StopReason::Step,
                            position: self.position(),
                        });
                    }
                }
                Ok(Ran::Hit(r)) => pending = Some((r, false, true)),
            }
        };
        self.uninstall();
        self.settle();
        result
    }

    /// The current instruction throws (`throw`, `throw_ref`, `rethrow`).
    fn at_throw_site(&mut self) -> bool {
        self.store
            .debug_frames()
            .wasm_function_index_and_pc()
            .is_some_and(|(f, pc)| self.module.is_throw_site(f, pc))
    }

    /// Continues forward to the next breakpoint or watchpoint hit, or the end.
    ///
    /// # Errors
    /// As [`Session::seek`].
    pub fn continue_forward(&mut self) -> Result<Stop, Error> {
        self.forward_until(&[], None, |s, r| s.identify(r))
    }

    /// Steps over calls: like a step, but a call runs to its return.
    ///
    /// # Errors
    /// As [`Session::seek`].
    pub fn step_over(&mut self) -> Result<Stop, Error> {
        let (at_call, depth, func) = {
            let c = self.store.debug_frames();
            if c.done() {
                return self.step_forward(1);
            }
            (c.is_at_call(), c.depth(), c.func_index())
        };
        if !at_call {
            return self.step_forward(1);
        }
        let extra: Vec<_> = self
            .module
            .instruction_pcs(func)
            .into_iter()
            .map(|pc| (func, pc))
            .collect();
        self.forward_until(&extra, Some(depth), |s, r| {
            if s.depth() <= depth && r == PauseReason::Breakpoint {
                return Some(s.identify(r).unwrap_or(StopReason::Step));
            }
            s.identify(r)
        })
    }

    /// Runs until the current function returns to its caller.
    ///
    /// # Errors
    /// As [`Session::seek`].
    pub fn finish(&mut self) -> Result<Stop, Error> {
        let (depth, caller) = {
            let mut c = self.store.debug_frames();
            let depth = c.depth();
            c.move_to_parent();
            (depth, (!c.done()).then(|| c.func_index()))
        };
        let extra: Vec<_> = caller
            .map(|f| {
                self.module
                    .instruction_pcs(f)
                    .into_iter()
                    .map(|pc| (f, pc))
                    .collect()
            })
            .unwrap_or_default();
        self.forward_until(&extra, Some(depth.saturating_sub(1)), |s, r| {
            if s.depth() < depth && r == PauseReason::Breakpoint {
                return Some(s.identify(r).unwrap_or(StopReason::Step));
            }
            s.identify(r)
        })
    }

    /// Scans backward from the current position for the last pause that `accept` takes,
    /// window by window between checkpoints; lands there, or at the start.
    fn reverse_until(
        &mut self,
        extra: &[(FuncIndex, u32)],
        user: bool,
        mut accept: impl FnMut(&mut Self, PauseReason) -> Option<StopReason>,
    ) -> Result<Stop, Error> {
        let from = self.position();
        let mut window_end = from;
        let mut scanned = 0u64;
        while window_end > self.start {
            let base = *self
                .checkpoints
                .range(..window_end)
                .next_back()
                .expect("the start checkpoint")
                .0;
            self.restore(base)?;
            self.install(user, extra);
            let mut last = None;
            loop {
                match self.run(window_end, &[], false) {
                    Err(e) => {
                        self.uninstall();
                        return Err(e);
                    }
                    Ok(Ran::Hit(reason)) => {
                        if self.position() < from
                            && let Some(r) = accept(self, reason)
                        {
                            last = Some((self.position(), r));
                        }
                    }
                    Ok(_) => break,
                }
            }
            self.uninstall();
            scanned += window_end - base;
            if let Some((position, reason)) = last {
                let landed = self.goto(position)?;
                if landed.reason == StopReason::Cancelled {
                    return Ok(landed);
                }
                return Ok(Stop { reason, position });
            }
            if let Some(p) = &mut self.progress
                && !p(scanned, from - self.start)
            {
                return Ok(Stop {
                    reason: StopReason::Cancelled,
                    position: self.position(),
                });
            }
            window_end = base;
        }
        self.goto(self.start)
    }

    /// Goes back to the last breakpoint or watchpoint hit before the current position (for a
    /// watchpoint: right after the last write before it), or the start.
    ///
    /// # Errors
    /// As [`Session::seek`].
    pub fn reverse_continue(&mut self) -> Result<Stop, Error> {
        self.reverse_until(&[], true, |s, r| s.identify(r))
    }

    /// Steps backward over calls: to the previous position in this function or its caller.
    ///
    /// # Errors
    /// As [`Session::seek`].
    pub fn reverse_step_over(&mut self) -> Result<Stop, Error> {
        let from = self.position();
        if from <= self.start {
            return self.goto(self.start);
        }
        let (depth, funcs) = {
            let mut c = self.store.debug_frames();
            if c.done() {
                return self.reverse_step(1);
            }
            let depth = c.depth();
            let mut funcs = vec![c.func_index()];
            c.move_to_parent();
            if !c.done() {
                funcs.push(c.func_index());
            }
            (depth, funcs)
        };
        self.goto(from - 1)?;
        if self.depth() <= depth {
            return Ok(Stop {
                reason: if self.position() == self.start {
                    StopReason::Start
                } else {
                    StopReason::Step
                },
                position: self.position(),
            });
        }
        self.goto(from)?;
        let extra: Vec<_> = funcs
            .iter()
            .flat_map(|f| {
                self.module
                    .instruction_pcs(*f)
                    .into_iter()
                    .map(|pc| (*f, pc))
            })
            .collect();
        self.reverse_until(&extra, false, |s, r| {
            (r == PauseReason::Breakpoint && s.depth() <= depth).then_some(StopReason::Step)
        })
    }

    /// Goes back to the call that entered the current function.
    ///
    /// # Errors
    /// As [`Session::seek`].
    pub fn reverse_finish(&mut self) -> Result<Stop, Error> {
        let (depth, caller) = {
            let mut c = self.store.debug_frames();
            let depth = c.depth();
            c.move_to_parent();
            (depth, (!c.done()).then(|| c.func_index()))
        };
        let Some(caller) = caller else {
            return self.goto(self.start);
        };
        let extra: Vec<_> = self
            .module
            .instruction_pcs(caller)
            .into_iter()
            .map(|pc| (caller, pc))
            .collect();
        self.reverse_until(&extra, false, |s, r| {
            (r == PauseReason::Breakpoint && s.depth() == depth - 1).then_some(StopReason::Step)
        })
    }
}
