//! The worker thread: it owns the [`Session`] and does every slow thing — opening, moving,
//! reading state — so that the UI thread only draws and dispatches. It answers each
//! [`Command`] with a fresh [`View`]; long operations send [`Reply::Progress`] and stop when
//! the shared cancel flag is raised.

use crate::error::Error;
use crate::source::Sources;
use crate::view::{Access, CodeLine, Event, EventKind, FrameView, VarRow, View};
use deja_replayer::runtime::{FuncIndex, Val};
use deja_replayer::traces::TraceReader;
use deja_replayer::{Progress, Session, SessionOptions, Stop, StopPoint, StopReason};
use std::collections::BTreeMap;
use std::io::{Read, Seek};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A movement through time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Movement {
    /// A source line forward (with DWARF; else an instruction).
    Step,
    /// A source line back (with DWARF; else an instruction).
    ReverseStep,
    /// Over calls, forward (by source line with DWARF).
    Next,
    /// Over calls, back (by source line with DWARF).
    ReverseNext,
    /// One instruction forward.
    StepInstruction,
    /// One instruction back.
    ReverseStepInstruction,
    /// Out to the caller.
    Finish,
    /// Back to the call.
    ReverseFinish,
    /// To the next stop point or the end.
    Continue,
    /// To the previous stop point or the start.
    ReverseContinue,
    /// To the start.
    Start,
    /// To the end.
    End,
    /// To the previous host call.
    PrevHostCall,
    /// To the next host call.
    NextHostCall,
}

impl Movement {
    /// What the status line says while it runs.
    pub fn doing(self) -> &'static str {
        match self {
            Movement::Step | Movement::StepInstruction => "stepping",
            Movement::ReverseStep | Movement::ReverseStepInstruction => "stepping back",
            Movement::Next => "stepping over",
            Movement::ReverseNext => "stepping back over",
            Movement::Finish => "finishing the function",
            Movement::ReverseFinish => "going back to the call",
            Movement::Continue => "continuing",
            Movement::ReverseContinue => "continuing backward",
            Movement::Start => "going to the start",
            Movement::End => "going to the end",
            Movement::PrevHostCall => "going to the previous host call",
            Movement::NextHostCall => "going to the next host call",
        }
    }
}

/// What the UI asks of the worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Move.
    Move(Movement),
    /// Go to a position.
    Seek(u64),
    /// Go to a fraction of the run, in thousandths.
    SeekPermille(u64),
    /// Toggle a breakpoint at a module offset.
    ToggleBreakpoint(u32),
    /// Watch memory.
    Watch(u64, u64),
    /// Watch the bytes of a C expression's value (DWARF), in the selected frame.
    WatchExpr(String),
    /// Watch a C expression's bytes and continue backward to the write that gave it its
    /// current value: `W`, the one-key form of `w` then `C`.
    LastWrite(String),
    /// Show values in hex (`x` toggles).
    Hex(bool),
    /// Show `v128` values as one number (0) or as lane shape `LANE_SHAPES[k - 1]` (`v`).
    Lanes(usize),
    /// Expand or collapse a row of the C variables' tree (its [`crate::view::VarRow::key`]).
    Expand(String),
    /// Show this frame's locals, stack and code.
    SelectFrame(usize),
    /// Show memory from this address.
    MemoryAt(u64),
    /// Delete a breakpoint or watchpoint by id.
    Delete(u32),
    /// Evaluate a C expression in the selected frame (`/x` first: in hex).
    Print(String),
    /// Breakpoints on a source line (`FILE:LINE`) or after a function's prologue.
    BreakAt(String),
    /// End the worker.
    Quit,
    /// Make the worker thread panic: fault injection, so that tests can check that the UI
    /// survives a bug in the worker.
    #[doc(hidden)]
    Crash,
}

/// What the worker answers.
#[derive(Debug)]
pub enum Reply {
    /// The state after a command.
    View(Box<View>),
    /// Progress of a long command: done, total.
    Progress(u64, u64),
    /// Opening the trace failed.
    Error(String),
    /// A command failed: the state as it is now, and why.
    Failed(Box<View>, String),
    /// The worker thread panicked (a bug in deja) with this message and has stopped.
    Crashed(String),
}

/// Runs no longer than this many steps have every hit of their stop points listed (found by
/// replaying the whole run whenever a breakpoint or watchpoint is added or deleted: about a
/// second at the single-step loop's ~95 M steps/s); longer ones list the hits found by moving.
pub const SCAN_LIMIT: u64 = 100_000_000;

struct Worker<R: Read + Seek + Send + 'static> {
    session: Session<R>,
    /// Disassembly lines of the module (with source lines from DWARF above the instructions
    /// compiled from them) and, for each instruction offset, its line.
    lines: Vec<CodeLine>,
    line_of: BTreeMap<u32, usize>,
    /// `flaky.c:50` for instruction offsets, when the module has DWARF.
    sources: Sources,
    /// The module's DWARF, for the frames' C variables.
    debug: Option<Arc<deja_debuginfo::DebugInfo>>,
    /// Values in hex.
    hex: bool,
    /// How `v128` values are shown (see [`Command::Lanes`]).
    lanes: usize,
    /// Keys of the expanded rows of the C variables' tree.
    expanded: std::collections::HashSet<String>,
    /// Source files found missing and already reported.
    missing_reported: std::collections::HashSet<String>,
    /// What the last command has to say (a printed value), for the next view.
    note: Option<String>,
    /// Hits of the stop points: (position, what); a breakpoint and a watchpoint may share a
    /// position.
    hits: Vec<(u64, EventKind)>,
    hits_complete: bool,
    events: Arc<Vec<Event>>,
    /// Positions and `module::name`s of the host calls: fixed for the trace, built once.
    host_calls: Arc<Vec<u64>>,
    host_call_names: Arc<Vec<String>>,
    /// Which function each instruction offset belongs to.
    func_of: BTreeMap<u32, FuncIndex>,
    frame: usize,
    memory_addr: u64,
    previous_memory: Option<(u64, Vec<u8>)>,
    last_stop: Option<Stop>,
    /// The description of the last host call shown (`View::call_detail`): reading it decodes
    /// a trace chunk, so it is read again only when the call changes.
    call_detail: Option<(usize, String)>,
}

/// Rows of the C variables' tree shown at most (expanding big arrays of structs adds many).
const MAX_TREE_ROWS: usize = 2000;

/// Appends the row of `name = value` and, when `key` is expanded, its children's rows.
fn tree_rows(
    info: &deja_debuginfo::DebugInfo,
    frame: &dyn deja_debuginfo::Frame,
    (name, v): (&str, &deja_debuginfo::Value),
    (depth, key): (usize, &str),
    (expanded, hex): (&std::collections::HashSet<String>, bool),
    rows: &mut Vec<VarRow>,
) {
    if rows.len() >= MAX_TREE_ROWS {
        return;
    }
    let children = info.children(v, frame);
    let open = !children.is_empty() && expanded.contains(key);
    rows.push(VarRow {
        depth,
        name: name.to_string(),
        ty: info.type_name(v),
        value: info.format(v, frame, hex),
        key: key.to_string(),
        expandable: !children.is_empty(),
        expanded: open,
    });
    if open {
        for (child, cv) in &children {
            let child_key = format!("{key}/{child}");
            tree_rows(
                info,
                frame,
                (child, cv),
                (depth + 1, &child_key),
                (expanded, hex),
                rows,
            );
        }
    }
}

/// The lane shapes `v` cycles through, in the order of `simd::lane_views`.
pub const LANE_SHAPES: [&str; 6] = ["i8x16", "i16x8", "i32x4", "i64x2", "f32x4", "f64x2"];

/// A value's type and text; a `v128` as one number (`lanes` 0) or as the lanes of shape
/// `LANE_SHAPES[lanes - 1]`, lane 0 first.
fn val_pair(v: &Val, lanes: usize) -> (String, String) {
    if let (Val::V128(bits), 1..) = (*v, lanes) {
        let (shape, values) = deja_replayer::runtime::simd::lane_views(bits)
            .into_iter()
            .nth(lanes - 1)
            .expect("a lane shape");
        return (format!("v128 {shape}"), values.join(" "));
    }
    (v.ty().to_string(), v.to_string())
}

/// Disassembles with offsets, and puts each source line (when the module has DWARF) above the
/// instructions compiled from it, as `objdump -S` does. Returns the lines and, per
/// instruction offset, its line.
fn disassemble(bytes: &[u8], sources: &mut Sources) -> (Vec<CodeLine>, BTreeMap<u32, usize>) {
    let mut text = String::new();
    let config = wasmprinter::Config::new();
    let Ok(printed) = config.offsets_and_lines(bytes, &mut text) else {
        let line = CodeLine {
            text: "(the module could not be disassembled)".into(),
            offset: None,
            current: false,
            breakpoint: false,
            source: false,
        };
        return (vec![line], BTreeMap::new());
    };
    let mut lines = Vec::new();
    let mut line_of = BTreeMap::new();
    let mut last_source = None;
    for (offset, line) in printed {
        // The offset becomes the code pane's offset column; the text keeps its indentation.
        let offset = offset.and_then(|o| u32::try_from(o).ok());
        let line = line.trim_end_matches(['\n', '\r']);
        if line.is_empty() && offset.is_none() {
            continue;
        }
        if line.trim_start().starts_with("(func") {
            last_source = None;
        }
        if let Some(o) = offset
            && let Some(loc) = sources.location(o)
            && last_source.as_ref() != Some(&loc)
        {
            let text = match sources.text(&loc) {
                Some(t) => format!("  // {}  {}", loc.short(), t.trim()),
                None => format!("  // {}  {}", loc.short(), sources.not_found(&loc.file)),
            };
            lines.push(CodeLine {
                text,
                offset: None,
                current: false,
                breakpoint: false,
                source: true,
            });
            last_source = Some(loc);
        }
        if let Some(o) = offset {
            line_of.entry(o).or_insert(lines.len());
        }
        lines.push(CodeLine {
            text: line.to_string(),
            offset,
            current: false,
            breakpoint: false,
            source: false,
        });
    }
    (lines, line_of)
}

/// The memory the instruction at `pc` is about to read or write, from its immediate and the
/// operand stack (bottom first) of the frame about to run it.
pub fn access_at(bytes: &[u8], pc: u32, stack: &[Val]) -> Option<Access> {
    use wasmparser::Operator as O;
    let at = bytes.get(pc as usize..)?;
    let mut reader =
        wasmparser::OperatorsReader::new(wasmparser::BinaryReader::new(at, u64::from(pc)));
    let op = reader.read().ok()?;
    let (name, memarg, len, write) = match op {
        O::I32Load { memarg } => ("i32.load", memarg, 4, false),
        O::I64Load { memarg } => ("i64.load", memarg, 8, false),
        O::F32Load { memarg } => ("f32.load", memarg, 4, false),
        O::F64Load { memarg } => ("f64.load", memarg, 8, false),
        O::I32Load8S { memarg } => ("i32.load8_s", memarg, 1, false),
        O::I32Load8U { memarg } => ("i32.load8_u", memarg, 1, false),
        O::I32Load16S { memarg } => ("i32.load16_s", memarg, 2, false),
        O::I32Load16U { memarg } => ("i32.load16_u", memarg, 2, false),
        O::I64Load8S { memarg } => ("i64.load8_s", memarg, 1, false),
        O::I64Load8U { memarg } => ("i64.load8_u", memarg, 1, false),
        O::I64Load16S { memarg } => ("i64.load16_s", memarg, 2, false),
        O::I64Load16U { memarg } => ("i64.load16_u", memarg, 2, false),
        O::I64Load32S { memarg } => ("i64.load32_s", memarg, 4, false),
        O::I64Load32U { memarg } => ("i64.load32_u", memarg, 4, false),
        O::I32Store { memarg } => ("i32.store", memarg, 4, true),
        O::I64Store { memarg } => ("i64.store", memarg, 8, true),
        O::F32Store { memarg } => ("f32.store", memarg, 4, true),
        O::F64Store { memarg } => ("f64.store", memarg, 8, true),
        O::I32Store8 { memarg } => ("i32.store8", memarg, 1, true),
        O::I32Store16 { memarg } => ("i32.store16", memarg, 2, true),
        O::I64Store8 { memarg } => ("i64.store8", memarg, 1, true),
        O::I64Store16 { memarg } => ("i64.store16", memarg, 2, true),
        O::I64Store32 { memarg } => ("i64.store32", memarg, 4, true),
        O::V128Load { memarg } => ("v128.load", memarg, 16, false),
        O::V128Load8x8S { memarg } => ("v128.load8x8_s", memarg, 8, false),
        O::V128Load8x8U { memarg } => ("v128.load8x8_u", memarg, 8, false),
        O::V128Load16x4S { memarg } => ("v128.load16x4_s", memarg, 8, false),
        O::V128Load16x4U { memarg } => ("v128.load16x4_u", memarg, 8, false),
        O::V128Load32x2S { memarg } => ("v128.load32x2_s", memarg, 8, false),
        O::V128Load32x2U { memarg } => ("v128.load32x2_u", memarg, 8, false),
        O::V128Load8Splat { memarg } => ("v128.load8_splat", memarg, 1, false),
        O::V128Load16Splat { memarg } => ("v128.load16_splat", memarg, 2, false),
        O::V128Load32Splat { memarg } => ("v128.load32_splat", memarg, 4, false),
        O::V128Load64Splat { memarg } => ("v128.load64_splat", memarg, 8, false),
        O::V128Load32Zero { memarg } => ("v128.load32_zero", memarg, 4, false),
        O::V128Load64Zero { memarg } => ("v128.load64_zero", memarg, 8, false),
        O::V128Store { memarg } => ("v128.store", memarg, 16, true),
        O::V128Load8Lane { memarg, .. } => ("v128.load8_lane", memarg, 1, false),
        O::V128Load16Lane { memarg, .. } => ("v128.load16_lane", memarg, 2, false),
        O::V128Load32Lane { memarg, .. } => ("v128.load32_lane", memarg, 4, false),
        O::V128Load64Lane { memarg, .. } => ("v128.load64_lane", memarg, 8, false),
        O::V128Store8Lane { memarg, .. } => ("v128.store8_lane", memarg, 1, true),
        O::V128Store16Lane { memarg, .. } => ("v128.store16_lane", memarg, 2, true),
        O::V128Store32Lane { memarg, .. } => ("v128.store32_lane", memarg, 4, true),
        O::V128Store64Lane { memarg, .. } => ("v128.store64_lane", memarg, 8, true),
        O::MemoryFill { mem: 0 } | O::MemoryCopy { dst_mem: 0, .. } => {
            // Both take (destination, _, length).
            let [d, _, n] = stack.get(stack.len().checked_sub(3)?..)? else {
                return None;
            };
            let name = if matches!(op, O::MemoryFill { .. }) {
                "memory.fill"
            } else {
                "memory.copy"
            };
            let len = address(n).filter(|&n| n > 0)?;
            return Some(Access {
                op: name.into(),
                write: true,
                addr: address(d)?,
                len,
            });
        }
        _ => return None,
    };
    if memarg.target != wasmparser::MemArgTarget::Memory(0) {
        return None;
    }
    // A store's address is below its value, a lane load's below the vector it loads into; a
    // load's is on top.
    let lane_load = matches!(
        op,
        O::V128Load8Lane { .. }
            | O::V128Load16Lane { .. }
            | O::V128Load32Lane { .. }
            | O::V128Load64Lane { .. }
    );
    let below = if write || lane_load { 2 } else { 1 };
    let base = address(stack.get(stack.len().checked_sub(below)?)?)?;
    Some(Access {
        op: name.into(),
        write,
        addr: base.checked_add(memarg.offset)?,
        len,
    })
}

/// An address operand (i32 addresses are unsigned).
fn address(v: &Val) -> Option<u64> {
    match v {
        Val::I32(x) => Some(u64::from(*x as u32)),
        Val::I64(x) => Some(*x as u64),
        _ => None,
    }
}

impl<R: Read + Seek + Send + 'static> Worker<R> {
    fn new(session: Session<R>, search: Vec<PathBuf>) -> Worker<R> {
        let module = session.module().clone();
        let debug = deja_debuginfo::DebugInfo::new(module.bytes())
            .ok()
            .flatten()
            .map(Arc::new);
        let mut sources = Sources::new(debug.clone(), search);
        let (lines, line_of) = disassemble(module.bytes(), &mut sources);
        let mut func_of = BTreeMap::new();
        for f in 0..module.num_funcs() {
            let f = FuncIndex::from_u32(f);
            for pc in module.instruction_pcs(f) {
                func_of.insert(pc, f);
            }
        }
        let host_calls = Arc::new(session.host_calls().to_vec());
        let host_call_names = Arc::new(
            (0..host_calls.len())
                .map(|k| session.host_call_name(k).unwrap_or("?").to_string())
                .collect(),
        );
        let throws = !module.throw_sites().is_empty();
        let mut worker = Worker {
            host_calls,
            host_call_names,
            session,
            lines,
            line_of,
            sources,
            debug,
            hex: false,
            lanes: 0,
            missing_reported: Default::default(),
            expanded: Default::default(),
            note: None,
            hits: Vec::new(),
            hits_complete: true,
            events: Arc::new(Vec::new()),
            func_of,
            frame: 0,
            memory_addr: 0,
            previous_memory: None,
            last_stop: None,
            call_detail: None,
        };
        worker.rebuild_events();
        if throws {
            // The throws go in the event list and on the timeline from the start. A failed
            // scan only leaves them out (`hits_complete` says so).
            let _ = worker.stop_points_changed();
        }
        worker
    }

    /// Lists every hit of the current stop points, by replaying the whole run from the start
    /// (only for runs up to [`SCAN_LIMIT`] steps and up to 10,000 hits; cancellable). The
    /// position is kept, also when the scan fails or is cancelled; then the hits found so far
    /// are kept and marked incomplete.
    fn scan_hits(&mut self) -> Result<(), Error> {
        self.hits.clear();
        self.hits_complete = false;
        // Throws are listed whether or not the user stops at them (`catch throw`).
        let throws = !self.session.module().throw_sites().is_empty();
        if self.session.stop_points().is_empty() && !throws {
            self.hits_complete = true;
            return Ok(());
        }
        if self.session.end() - self.session.start() > SCAN_LIMIT {
            return Ok(());
        }
        let here = self.session.position();
        self.session.set_throw_scan(throws);
        let scanned = self.scan_from_start();
        self.session.set_throw_scan(false);
        let back = self.session.seek(here).map_err(Error::from);
        self.hits_complete = scanned? && back?.reason != StopReason::Cancelled;
        Ok(())
    }

    /// The scan itself; says whether it saw the whole run.
    fn scan_from_start(&mut self) -> Result<bool, Error> {
        let start = self.session.start();
        self.session.seek(start).map_err(Error::from)?;
        // `continue` does not stop at a breakpoint where it starts: look there first.
        self.hits_here();
        let mut last = None;
        loop {
            let stop = self.session.continue_forward().map_err(Error::from)?;
            if last == Some(stop.position) {
                return Ok(true);
            }
            last = Some(stop.position);
            // A stop names one reason; a breakpoint at a throw, or one right after a watched
            // write (where the next `continue` starts), is a hit too.
            if !matches!(stop.reason, StopReason::Cancelled) {
                self.hits_here();
            }
            match stop.reason {
                StopReason::Breakpoint(id) => {
                    self.add_hit(stop.position, EventKind::Breakpoint(id));
                }
                StopReason::Throw(id) => {
                    self.add_hit(stop.position, EventKind::Throw(id));
                }
                StopReason::Watchpoint(id) => {
                    self.add_hit(stop.position, EventKind::Watchpoint(id));
                }
                StopReason::Cancelled => return Ok(false),
                _ => return Ok(true),
            }
            if self.hits.len() >= 10_000 {
                return Ok(false);
            }
        }
    }

    /// Notes the hits of breakpoints and catchpoints at the current instruction.
    fn hits_here(&mut self) {
        let position = self.session.position();
        let Some((func, pc)) = self
            .session
            .store()
            .debug_frames()
            .wasm_function_index_and_pc()
        else {
            return;
        };
        let throws = self.session.module().is_throw_site(func, pc);
        let found: Vec<EventKind> = self
            .session
            .stop_points()
            .iter()
            .filter_map(|(id, p)| match *p {
                StopPoint::Breakpoint { func: f, pc: q } if (f, q) == (func, pc) => {
                    Some(EventKind::Breakpoint(*id))
                }
                StopPoint::CatchThrow if throws => Some(EventKind::Throw(*id)),
                _ => None,
            })
            .collect();
        // One catchpoint names a throw, as a stop does (the first).
        let mut throw_named = false;
        for kind in found {
            if matches!(kind, EventKind::Throw(_)) {
                if throw_named {
                    continue;
                }
                throw_named = true;
            }
            self.add_hit(position, kind);
        }
    }

    /// Adds a hit unless it is known; returns whether it was new.
    fn add_hit(&mut self, position: u64, kind: EventKind) -> bool {
        let new = !self.hits.contains(&(position, kind));
        if new {
            self.hits.push((position, kind));
        }
        new
    }

    /// The event list: host calls, stop-point hits and the end of a failing run.
    fn rebuild_events(&mut self) {
        let s = &self.session;
        let mut events: Vec<Event> = self
            .host_calls
            .iter()
            .zip(self.host_call_names.iter())
            .enumerate()
            .map(|(k, (&p, name))| Event {
                position: p,
                kind: EventKind::HostCall(k),
                label: name.rsplit("::").next().unwrap_or(name).to_string(),
            })
            .collect();
        for &(position, kind) in &self.hits {
            let label = match kind {
                EventKind::Breakpoint(id) => format!("breakpoint {id}"),
                EventKind::Throw(_) => "throw".to_string(),
                EventKind::Watchpoint(id) => format!("watchpoint {id} written"),
                _ => continue,
            };
            events.push(Event {
                position,
                kind,
                label,
            });
        }
        if let Some(o) = s.outcome()
            && !matches!(
                o,
                deja_replayer::traces::RunOutcome::Returned
                    | deja_replayer::traces::RunOutcome::Exit(0)
                    | deja_replayer::traces::RunOutcome::Interrupted
            )
        {
            events.push(Event {
                position: s.end(),
                kind: EventKind::End,
                label: o.to_string(),
            });
        }
        // Stable: a host call before a hit at the same position, the end last.
        events.sort_by_key(|e| e.position);
        self.events = Arc::new(events);
    }

    /// Remembers a hit found by moving (the only ones listed when the run is too long to scan).
    fn note_hit(&mut self, stop: Stop) {
        let kind = match stop.reason {
            StopReason::Breakpoint(id) => EventKind::Breakpoint(id),
            StopReason::Throw(id) => EventKind::Throw(id),
            StopReason::Watchpoint(id) => EventKind::Watchpoint(id),
            _ => return,
        };
        if self.add_hit(stop.position, kind) {
            self.rebuild_events();
        }
    }

    /// After stop points change: find their hits again.
    fn stop_points_changed(&mut self) -> Result<(), Error> {
        let scanned = self.scan_hits();
        self.rebuild_events();
        scanned
    }

    /// Address and size of a C expression's value in the selected frame.
    fn extent_of(&self, expr: &str) -> Result<(u64, u64), Error> {
        let info = self.debug.as_ref().ok_or_else(|| {
            Error::Source(format!(
                "`{expr}` is not ADDR LEN, and the module has no debug information (DWARF)"
            ))
        })?;
        let f = deja_debuginfo::SessionFrame::new(&self.session, self.frame)
            .ok_or("no frame here: the guest is not running at this position")?;
        let v = info.eval(expr, &f).map_err(Error::Source)?;
        info.extent(&v)
            .map_err(|e| Error::Source(format!("cannot watch `{expr}`: {e}")))
    }

    fn execute(&mut self, command: &Command) -> Result<(), Error> {
        let s = &mut self.session;
        let stop = match *command {
            Command::Move(m) => Some(match m {
                Movement::Step | Movement::ReverseStep | Movement::Next | Movement::ReverseNext
                    if self
                        .debug
                        .as_ref()
                        .is_some_and(|info| crate::lines::has_line(s, info)) =>
                {
                    let info = self.debug.as_ref().expect("checked");
                    crate::lines::line_step(
                        s,
                        info,
                        matches!(m, Movement::Next | Movement::ReverseNext),
                        matches!(m, Movement::ReverseStep | Movement::ReverseNext),
                    )
                }
                Movement::Step | Movement::StepInstruction => s.step_forward(1),
                Movement::ReverseStep | Movement::ReverseStepInstruction => s.reverse_step(1),
                Movement::Next => s.step_over(),
                Movement::ReverseNext => s.reverse_step_over(),
                Movement::Finish => s.finish(),
                Movement::ReverseFinish => s.reverse_finish(),
                Movement::Continue => s.continue_forward(),
                Movement::ReverseContinue => s.reverse_continue(),
                Movement::Start => s.seek(s.start()),
                Movement::End => s.seek(s.end()),
                Movement::PrevHostCall | Movement::NextHostCall => {
                    let p = s.position();
                    let calls = s.host_calls();
                    let k = if m == Movement::NextHostCall {
                        calls.iter().position(|&c| c > p)
                    } else {
                        calls.iter().rposition(|&c| c < p)
                    };
                    match k {
                        Some(k) => s.seek_host_call(k),
                        None => return Err("no host call that way".into()),
                    }
                }
            }),
            Command::Seek(p) => Some(s.seek(p)),
            Command::SeekPermille(m) => {
                let p = s.start() + (s.end() - s.start()) * m.min(1000) / 1000;
                Some(s.seek(p))
            }
            Command::ToggleBreakpoint(pc) => {
                let func = *self
                    .func_of
                    .range(..=pc)
                    .next_back()
                    .ok_or("no instruction there")?
                    .1;
                let existing = s
                    .stop_points()
                    .iter()
                    .find_map(|(id, p)| (*p == StopPoint::Breakpoint { func, pc }).then_some(*id));
                match existing {
                    Some(id) => {
                        s.delete(id);
                    }
                    None => {
                        s.add_breakpoint(func, Some(pc)).map_err(Error::from)?;
                    }
                }
                self.stop_points_changed()?;
                None
            }
            Command::Watch(addr, len) => {
                if len == 0 {
                    return Err("a watchpoint needs at least one byte".into());
                }
                s.add_watchpoint(addr, len);
                // Show the watched bytes.
                self.memory_addr = addr & !0xf;
                self.stop_points_changed()?;
                None
            }
            Command::WatchExpr(ref expr) | Command::LastWrite(ref expr) => {
                let (addr, len) = self.extent_of(expr)?;
                let s = &mut self.session;
                s.add_watchpoint(addr, len);
                self.memory_addr = addr & !0xf;
                self.note = Some(format!("watching `{expr}`: {len} bytes at {addr:#x}"));
                self.stop_points_changed()?;
                if let Command::LastWrite(_) = command {
                    Some(self.session.reverse_continue())
                } else {
                    None
                }
            }
            Command::Hex(on) => {
                self.hex = on;
                None
            }
            Command::Lanes(k) => {
                self.lanes = k.min(LANE_SHAPES.len());
                None
            }
            Command::Expand(ref key) => {
                if !self.expanded.remove(key) {
                    self.expanded.insert(key.clone());
                }
                None
            }
            Command::Delete(id) => {
                if !s.delete(id) {
                    return Err(Error::Command(format!(
                        "there is no breakpoint or watchpoint {id}"
                    )));
                }
                self.stop_points_changed()?;
                None
            }
            Command::SelectFrame(f) => {
                self.frame = f;
                None
            }
            Command::MemoryAt(a) => {
                self.memory_addr = a;
                None
            }
            Command::Print(ref text) => {
                let info = self.debug.as_ref().ok_or(
                    "the module has no debug information (DWARF): build it with `clang -g`",
                )?;
                let (hex, expr) = match text.trim().strip_prefix("/x") {
                    Some(e) => (true, e.trim()),
                    None => (self.hex, text.trim()),
                };
                let f = deja_debuginfo::SessionFrame::new(s, self.frame)
                    .ok_or("no frame here: the guest is not running at this position")?;
                let v = info.eval(expr, &f)?;
                self.note = Some(format!("{expr} = {}", info.format(&v, &f, hex)));
                None
            }
            Command::BreakAt(ref spec) if matches!(spec.trim(), "throw" | "catch throw") => {
                s.add_catch_throw();
                self.stop_points_changed()?;
                None
            }
            Command::BreakAt(ref spec) => {
                let info = self.debug.as_ref().ok_or(
                    "the module has no debug information (DWARF): build it with `clang -g`",
                )?;
                let spec = spec.trim();
                let pcs =
                    match spec.rsplit_once(':') {
                        Some((file, line)) => {
                            let line: u32 = line.parse().map_err(|_| {
                                Error::Command(format!("`{line}` is not a line number"))
                            })?;
                            if !info.has_file(file) {
                                return Err(Error::Command(format!(
                                    "no source file `{file}` in the module's debug information"
                                )));
                            }
                            info.line_pcs(file, line)
                                .ok_or_else(|| format!("no code at or after {file}:{line}"))?
                                .1
                        }
                        None => vec![info.function_breakpoint(spec).ok_or_else(|| {
                            format!("no function `{spec}` with debug information")
                        })?],
                    };
                for pc in pcs {
                    if let Some((_, &func)) = self.func_of.range(..=pc).next_back() {
                        s.add_breakpoint(func, Some(pc)).map_err(Error::from)?;
                    }
                }
                self.stop_points_changed()?;
                None
            }
            Command::Quit => None,
            Command::Crash => panic!("crash requested"),
        };
        if let Some(stop) = stop {
            let stop = stop.map_err(Error::from)?;
            self.frame = 0;
            self.last_stop = Some(stop);
            self.note_hit(stop);
        }
        Ok(())
    }

    fn view(&mut self) -> View {
        let call = self
            .host_calls
            .partition_point(|&p| p <= self.session.position())
            .checked_sub(1);
        if call != self.call_detail.as_ref().map(|(k, _)| *k) {
            self.call_detail = call.and_then(|k| {
                let hc = self.session.host_call_record(k).ok()??;
                Some((k, describe_call(&self.host_call_names[k], &hc)))
            });
        }
        let call_detail = self.call_detail.clone();
        let s = &mut self.session;
        let module = s.module().clone();
        let mut frames = Vec::new();
        let (mut locals, mut stack, mut pc) = (Vec::new(), Vec::new(), None);
        {
            let mut c = s.store().debug_frames();
            let mut i = 0;
            while !c.done() {
                let (func, fpc) = c.wasm_function_index_and_pc().expect("frame");
                let source = self.debug.as_ref().map_or_else(Vec::new, |info| {
                    info.frames_at(fpc)
                        .into_iter()
                        .map(|f| (f.function, f.location.map(|l| l.short())))
                        .collect()
                });
                frames.push(FrameView {
                    func: func.as_u32(),
                    name: module
                        .func_name(func)
                        .map_or_else(|| format!("func {}", func.as_u32()), str::to_string),
                    pc: fpc,
                    source,
                });
                if i == self.frame {
                    let l = self.lanes;
                    locals = (0..c.num_locals())
                        .map(|k| val_pair(&c.local(k), l))
                        .collect();
                    stack = (0..c.num_stacks())
                        .map(|k| val_pair(&c.stack(k), l))
                        .collect();
                    pc = Some(fpc);
                }
                i += 1;
                c.move_to_parent();
            }
        }
        if self.frame >= frames.len() {
            self.frame = 0;
        }
        let breakpoints: Vec<(u32, u32)> = s
            .stop_points()
            .iter()
            .filter_map(|(id, p)| match p {
                StopPoint::Breakpoint { pc, .. } => Some((*id, *pc)),
                StopPoint::Watchpoint { .. } | StopPoint::CatchThrow => None,
            })
            .collect();
        let watchpoints: Vec<(u32, u64, u64)> = s
            .stop_points()
            .iter()
            .filter_map(|(id, p)| match p {
                StopPoint::Watchpoint { addr, len } => Some((*id, *addr, *len)),
                StopPoint::Breakpoint { .. } | StopPoint::CatchThrow => None,
            })
            .collect();
        // Code: a window of disassembly around the selected frame's pc.
        let current_line = pc.and_then(|pc| self.line_of.get(&pc).copied());
        let centre = current_line.unwrap_or(0);
        let from = centre.saturating_sub(60);
        let to = (centre + 60).min(self.lines.len());
        let code = self.lines[from..to]
            .iter()
            .enumerate()
            .map(|(i, l)| CodeLine {
                current: Some(from + i) == current_line,
                breakpoint: l
                    .offset
                    .is_some_and(|o| breakpoints.iter().any(|(_, pc)| *pc == o)),
                ..l.clone()
            })
            .collect();
        let location = pc.and_then(|pc| self.sources.location(pc));
        // The first time the current line's file is missing, the status line lists where it
        // was looked for.
        if let Some(loc) = &location
            && self.sources.text(loc).is_none()
            && self.missing_reported.insert(loc.file.clone())
            && self.note.is_none()
        {
            self.note = Some(self.sources.tried(&loc.file));
        }
        let source_location = location.map(|l| l.short());
        let variables = self.debug.as_ref().and_then(|info| {
            let f = deja_debuginfo::SessionFrame::new(s, self.frame)?;
            info.function_name(deja_debuginfo::Frame::pc(&f))?;
            let mut rows = Vec::new();
            for var in info.locals(deja_debuginfo::Frame::pc(&f)) {
                match info.value(var, &f) {
                    Ok(v) => tree_rows(
                        info,
                        &f,
                        (&var.name, &v),
                        (0, &var.name),
                        (&self.expanded, self.hex),
                        &mut rows,
                    ),
                    Err(e) => rows.push(VarRow {
                        depth: 0,
                        name: var.name.clone(),
                        ty: String::new(),
                        value: format!("<{e}>"),
                        key: var.name.clone(),
                        expandable: false,
                        expanded: false,
                    }),
                }
            }
            Some(rows)
        });
        // What the next instruction reads or writes (only the innermost frame is about to
        // run one; the others are at their calls).
        let access = match (pc, self.frame) {
            (Some(pc), 0) => {
                let stack: Vec<Val> = {
                    let c = s.store().debug_frames();
                    (0..c.num_stacks()).map(|k| c.stack(k)).collect()
                };
                access_at(module.bytes(), pc, &stack)
            }
            _ => None,
        };
        let memory = s
            .read_memory(self.memory_addr, 256)
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        let changed = match &self.previous_memory {
            Some((addr, old)) if *addr == self.memory_addr => {
                memory.iter().zip(old.iter()).map(|(a, b)| a != b).collect()
            }
            _ => vec![false; memory.len()],
        };
        self.previous_memory = Some((self.memory_addr, memory.clone()));
        // stdout and stderr interleaved as the guest wrote them.
        let output: String = s
            .output_in_order()
            .iter()
            .map(|(_, bytes)| String::from_utf8_lossy(bytes))
            .collect();
        let position = s.position();
        View {
            position,
            start: s.start(),
            end: s.end(),
            outcome: s.outcome().map(ToString::to_string),
            stop: self.last_stop.map(|st| {
                describe_stop(
                    st.reason,
                    &watchpoints,
                    s.outcome().map(ToString::to_string),
                )
            }),
            frames,
            selected_frame: self.frame,
            locals,
            variables,
            note: self.note.take(),
            stack,
            globals: s
                .globals()
                .iter()
                .map(|g| val_pair(g, self.lanes))
                .collect(),
            memory_addr: self.memory_addr,
            memory,
            changed,
            code,
            source_location,
            access,
            events: self.events.clone(),
            hits_complete: self.hits_complete,
            output,
            host_calls: self.host_calls.clone(),
            host_call_names: self.host_call_names.clone(),
            call_detail,
            breakpoints,
            watchpoints,
        }
    }
}

/// A recorded value as a number, in the notation people type (`-3`, `0x10` for addresses
/// is left to the reader: WASI passes them as plain i32s).
fn plain(v: &deja_replayer::traces::Value) -> String {
    use deja_replayer::traces::Value as V;
    match *v {
        V::I32(x) => (x as i32).to_string(),
        V::I64(x) => (x as i64).to_string(),
        V::F32(x) => f32::from_bits(x).to_string(),
        V::F64(x) => f64::from_bits(x).to_string(),
        V::FuncRef(None) | V::ExternRef(None) | V::ExnRef(None) => "null".into(),
        V::FuncRef(Some(f)) => format!("func {f}"),
        V::ExnRef(Some(e)) => format!("exn {e}"),
        V::ExternRef(Some(e)) => format!("extern {e}"),
        V::V128(x) => format!("{x:#034x}"),
    }
}

/// `name(args) → results`, with the memory the call wrote and how it ended.
fn describe_call(name: &str, hc: &deja_replayer::traces::HostCall) -> String {
    let short = name.rsplit("::").next().unwrap_or(name);
    let args: Vec<String> = hc.args.iter().map(plain).collect();
    let mut text = format!("{short}({})", args.join(", "));
    match &hc.outcome {
        deja_replayer::traces::CallOutcome::Returned => {
            let results: Vec<String> = hc.results.iter().map(plain).collect();
            if !results.is_empty() {
                text.push_str(&format!(" → {}", results.join(", ")));
            }
        }
        deja_replayer::traces::CallOutcome::Exit(code) => text.push_str(&format!(" → exit {code}")),
        deja_replayer::traces::CallOutcome::Error(m) => text.push_str(&format!(" → error: {m}")),
    }
    let written: usize = hc.memory_writes.iter().map(|w| w.bytes.len()).sum();
    if written > 0 {
        text.push_str(&format!(
            ", wrote {written} bytes at {:#x}",
            hc.memory_writes[0].address
        ));
    }
    text
}

/// Why a movement stopped, as the status line says it.
fn describe_stop(
    reason: StopReason,
    watchpoints: &[(u32, u64, u64)],
    outcome: Option<String>,
) -> String {
    match reason {
        StopReason::Breakpoint(id) => format!("breakpoint {id}"),
        StopReason::Throw(id) => format!("catchpoint {id}: an exception is thrown"),
        StopReason::Watchpoint(id) => match watchpoints.iter().find(|w| w.0 == id) {
            Some((_, addr, len)) => {
                let unit = if *len == 1 { "byte" } else { "bytes" };
                format!("watchpoint {id} ({len} {unit} at {addr:#x}) written")
            }
            None => format!("watchpoint {id} written"),
        },
        StopReason::Event | StopReason::End => match outcome {
            Some(o) => format!("the run ended: {o}"),
            None => "the end of the trace".into(),
        },
        StopReason::Start => "the start of the run".into(),
        StopReason::Cancelled => "cancelled".into(),
        StopReason::Step => "step".into(),
    }
}

/// Opens the trace in a new worker thread. Replies arrive on the returned receiver; the cancel
/// flag stops a long command. Source files named by the module's DWARF are also looked for
/// under `source_dirs` (and their ancestors).
pub fn spawn<R: Read + Seek + Send + 'static>(
    reader: TraceReader<R>,
    decoder: Option<deja_replayer::OutputDecoder>,
    options: SessionOptions,
    at: Option<u64>,
    source_dirs: Vec<PathBuf>,
) -> (Sender<Command>, Receiver<Reply>, Arc<AtomicBool>) {
    let (command_tx, command_rx) = std::sync::mpsc::channel::<Command>();
    let (reply_tx, reply_rx) = std::sync::mpsc::channel::<Reply>();
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    std::thread::spawn(move || {
        let crash_tx = reply_tx.clone();
        // A panic is a bug in deja: the UI shows it and lets the user quit, instead of waiting
        // forever for a reply.
        let run = std::panic::AssertUnwindSafe(move || {
            serve(
                reader,
                decoder,
                options,
                at,
                source_dirs,
                command_rx,
                reply_tx,
                flag,
            )
        });
        if let Err(payload) = std::panic::catch_unwind(run) {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            let _ = crash_tx.send(Reply::Crashed(message));
        }
    });
    (command_tx, reply_rx, cancel)
}

/// The worker thread's body: opens the session, then answers commands until `Quit`.
#[allow(
    clippy::too_many_arguments,
    reason = "the thread's whole environment, moved in"
)]
fn serve<R: Read + Seek + Send + 'static>(
    reader: TraceReader<R>,
    decoder: Option<deja_replayer::OutputDecoder>,
    options: SessionOptions,
    at: Option<u64>,
    source_dirs: Vec<PathBuf>,
    command_rx: Receiver<Command>,
    reply_tx: Sender<Reply>,
    flag: Arc<AtomicBool>,
) {
    {
        let progress = |tx: Sender<Reply>, flag: Arc<AtomicBool>| -> Progress {
            let last = Mutex::new(Instant::now());
            Box::new(move |done, total| {
                let mut l = last.lock().unwrap_or_else(|e| e.into_inner());
                if l.elapsed().as_millis() >= 50 {
                    *l = Instant::now();
                    let _ = tx.send(Reply::Progress(done, total));
                }
                !flag.swap(false, Ordering::SeqCst)
            })
        };
        let session = match Session::open(
            reader,
            decoder,
            options,
            Some(progress(reply_tx.clone(), flag.clone())),
        ) {
            Ok(s) => s,
            Err(e) => {
                let _ = reply_tx.send(Reply::Error(format!("cannot open the trace: {e}")));
                return;
            }
        };
        let mut worker = Worker::new(session, source_dirs);
        worker
            .session
            .set_progress(Some(progress(reply_tx.clone(), flag.clone())));
        // Where it opens, and why: at the end by default, where a failure is.
        let _ = worker.execute(&match at {
            Some(p) => Command::Seek(p),
            None => Command::Move(Movement::End),
        });
        let _ = reply_tx.send(Reply::View(Box::new(worker.view())));
        for command in command_rx {
            if command == Command::Quit {
                break;
            }
            flag.store(false, Ordering::SeqCst);
            // A failed command may still have changed something (a stop point added before
            // its scan failed): the UI gets the state as it is, and the error.
            let result = worker.execute(&command);
            let view = Box::new(worker.view());
            let _ = reply_tx.send(match result {
                Ok(()) => Reply::View(view),
                Err(e) => Reply::Failed(view, e.to_string()),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::access_at;
    use deja_replayer::runtime::Val;

    /// The pc of the first instruction with this `0xfd` opcode in `bytes`.
    fn simd_pc(bytes: &[u8], opcode: u8) -> u32 {
        bytes.windows(2).position(|w| w == [0xfd, opcode]).unwrap() as u32
    }

    #[test]
    fn v128_accesses_find_their_address_below_the_vector() {
        let bytes = wat::parse_str(
            "(module (memory 1) (func (param i32 v128) \
             (v128.store offset=4 (local.get 0) (local.get 1)) \
             (drop (v128.load32_lane offset=8 3 (local.get 0) (local.get 1))) \
             (drop (v128.load64_splat (local.get 0)))))",
        )
        .unwrap();
        let v = Val::V128(7);
        let store = access_at(&bytes, simd_pc(&bytes, 0x0b), &[Val::I32(100), v]).unwrap();
        assert_eq!((store.op.as_str(), store.write), ("v128.store", true));
        assert_eq!((store.addr, store.len), (104, 16));
        let lane = access_at(&bytes, simd_pc(&bytes, 0x56), &[Val::I32(100), v]).unwrap();
        assert_eq!((lane.write, lane.addr, lane.len), (false, 108, 4));
        let splat = access_at(&bytes, simd_pc(&bytes, 0x0a), &[Val::I32(100)]).unwrap();
        assert_eq!((splat.write, splat.addr, splat.len), (false, 100, 8));
    }
}
