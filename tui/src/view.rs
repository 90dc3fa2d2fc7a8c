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
}

/// One line of disassembly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeLine {
    /// The text (wasmprinter, with offsets).
    pub text: String,
    /// The instruction's module offset, for instruction lines.
    pub offset: Option<u32>,
    /// The selected frame's instruction.
    pub current: bool,
    /// A breakpoint is set here.
    pub breakpoint: bool,
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
    /// The guest's stdout and stderr up to now.
    pub output: String,
    /// Positions of all host calls.
    pub host_calls: Arc<Vec<u64>>,
    /// `module::name` of each host call.
    pub host_call_names: Arc<Vec<String>>,
    /// (id, offset) of breakpoints.
    pub breakpoints: Vec<(u32, u32)>,
    /// (id, address, length) of watchpoints.
    pub watchpoints: Vec<(u32, u64, u64)>,
}
