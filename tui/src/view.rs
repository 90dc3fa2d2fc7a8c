//! What the worker computes and the UI draws: the state of the guest at one position.

use std::sync::Arc;

/// One frame of the call stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameView {
    /// Module function index.
    pub func: u32,
    /// Name from the name section, or `func N`.
    pub name: String,
    /// Module offset of its instruction.
    pub pc: u32,
    /// With DWARF: the source functions at that instruction, innermost first (functions
    /// inlined there, then the function itself), each with its `file:line` (for an inlined
    /// function's caller: the line of the inlined call).
    pub source: Vec<(String, Option<String>)>,
}

/// One row of the locals pane's tree of C variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarRow {
    /// 0 for a variable, 1 for its members, elements or pointee, and so on.
    pub depth: usize,
    /// The variable's or member's name, `[i]` for an element, `*` for a pointee.
    pub name: String,
    /// Its C type (empty when its value could not be read).
    pub ty: String,
    /// Its value, as `print` shows it.
    pub value: String,
    /// The row's path from its variable (`basket/*/item`): what Enter expands or collapses,
    /// the same in every view.
    pub key: String,
    /// It has members, elements or a pointee to show.
    pub expandable: bool,
    /// They are shown, in the rows that follow.
    pub expanded: bool,
}

/// One line of disassembly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeLine {
    /// The text: wasmprinter's (without its offset, which is `offset`), or a source line
    /// (`// flaky.c:50  return …`).
    pub text: String,
    /// The instruction's module offset, for instruction lines.
    pub offset: Option<u32>,
    /// The selected frame's instruction.
    pub current: bool,
    /// A breakpoint is set here.
    pub breakpoint: bool,
    /// A source line (from DWARF) above the instructions compiled from it.
    pub source: bool,
}

/// A memory access by the instruction about to run (in the innermost frame).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    /// The instruction, as wasmprinter would print its name (`i32.load`).
    pub op: String,
    /// Whether it writes.
    pub write: bool,
    /// Effective address (operand plus the instruction's offset).
    pub addr: u64,
    /// Bytes accessed.
    pub len: u64,
}

/// What kind of thing an [`Event`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// Host call number k.
    HostCall(usize),
    /// A hit of breakpoint `id`, before its instruction.
    Breakpoint(u32),
    /// A write to watchpoint `id`, right after it.
    Watchpoint(u32),
    /// A throw, before it (catchpoint `id`, `catch throw`).
    Throw(u32),
    /// How the run ended (a trap, an exit code, a host error).
    End,
}

/// One entry of the event list and one marker on the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Where it happens; Enter in the list goes there.
    pub position: u64,
    /// What it is.
    pub kind: EventKind,
    /// What the list shows.
    pub label: String,
}

/// The guest at the current position, as the UI shows it.
#[derive(Clone, Debug, Default)]
pub struct View {
    /// Current position.
    pub position: u64,
    /// First position.
    pub start: u64,
    /// Last position.
    pub end: u64,
    /// How the recorded run ended.
    pub outcome: Option<String>,
    /// Why the last movement stopped.
    pub stop: Option<String>,
    /// Frames, innermost first.
    pub frames: Vec<FrameView>,
    /// The frame whose locals, stack and code are shown.
    pub selected_frame: usize,
    /// (type, value) of the selected frame's locals.
    pub locals: Vec<(String, String)>,
    /// The selected frame's C variables as a tree (the expanded ones followed by their
    /// members, elements or pointees), when the module has DWARF for its function: what the
    /// locals pane shows unless the raw Wasm locals are asked for.
    pub variables: Option<Vec<VarRow>>,
    /// What the command that made this view has to say (`print`'s value).
    pub note: Option<String>,
    /// (type, value) of its operand stack, bottom first.
    pub stack: Vec<(String, String)>,
    /// (type, value) of the globals.
    pub globals: Vec<(String, String)>,
    /// Address of the memory window.
    pub memory_addr: u64,
    /// Bytes of the memory window.
    pub memory: Vec<u8>,
    /// Which bytes changed since the previous view.
    pub changed: Vec<bool>,
    /// Disassembly around the selected frame's instruction.
    pub code: Vec<CodeLine>,
    /// `flaky.c:50` for the selected frame's instruction, when the module has DWARF.
    pub source_location: Option<String>,
    /// The memory the next instruction reads or writes: a load, a store, `memory.fill` or
    /// `memory.copy` (its destination).
    pub access: Option<Access>,
    /// Host calls, breakpoint and watchpoint hits and the end, in time order.
    pub events: Arc<Vec<Event>>,
    /// Whether every hit of the stop points is in `events` (false when the run was too long
    /// to scan, the scan was cancelled or failed, or there were more than 10,000 hits: then
    /// the ones found so far and by moving are).
    pub hits_complete: bool,
    /// The guest's stdout and stderr up to now.
    pub output: String,
    /// Positions of all host calls.
    pub host_calls: Arc<Vec<u64>>,
    /// `module::name` of each host call.
    pub host_call_names: Arc<Vec<String>>,
    /// The latest host call at or before the position (`k`, and its arguments and result as
    /// `fd_write(1, 0x10, 1, 0x8) → 0`), which the event list shows in full.
    pub call_detail: Option<(usize, String)>,
    /// (id, offset) of breakpoints.
    pub breakpoints: Vec<(u32, u32)>,
    /// (id, address, length) of watchpoints.
    pub watchpoints: Vec<(u32, u64, u64)>,
}
