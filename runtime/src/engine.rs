//! The interface between the store's driver and an engine that executes Wasm code.
//!
//! The driver (`driver.rs`) owns everything that is the same on every engine: calling in,
//! host calls through the seam, debug events, pauses and their resumption, trap positions and
//! results. An engine owns only the execution of code and its own representation of the call
//! stack. The two meet here:
//!
//! - [`Engine::run`] executes until something needs the driver and says why ([`Exit`]);
//! - [`Engine::frame`] shows one Wasm frame in engine-neutral form ([`FrameRef`]: function,
//!   Wasm pc, locals, operand stack), which is all that the frame cursor, backtraces and host
//!   calls read;
//! - [`Engine::capture`] and [`Engine::restore`] convert the whole call stack to and from
//!   [`EngineState`], the engine-neutral form that snapshots hold, so that a snapshot taken on
//!   one engine can be restored on another.
//!
//! Operand types are not an engine's business: they come from the frame shapes the translator
//! computed ([`crate::translate::FrameShapes`]).

use crate::store::{Instance, StoreInner};
use crate::trap::TrapCode;
use crate::types::{DefinedFuncIndex, Func};

/// Why an engine stopped running and handed control to the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// The outermost function returned; its results are [`Engine::results`].
    Returned,
    /// The innermost frame calls this host function; its arguments are the top of its operand
    /// stack and the `call` is counted in the position.
    Host(Func),
    /// Stopped before the next step: the step budget ([`StoreInner::stop_at`]) was reached.
    StepBudget,
    /// Stopped before the next step: a breakpoint at the innermost frame's pc.
    Breakpoint,
    /// Stopped after an instruction that wrote `(memory, address, length)` into a watched
    /// range.
    Watchpoint(crate::store::Memory, u64, u64),
    /// The innermost frame throws an exception that a handler will catch (reported only with
    /// [`StoreInner::report_throws`]). The frames are as before the throw, and the position;
    /// the next [`Engine::run`] unwinds.
    Thrown(crate::store::Exn),
    /// JIT code stopped at an exact position, its state stored, for the interpreter to go on
    /// (a throw): never seen by the driver.
    HandOver,
    /// The innermost frame's instruction traps. The position may still count steps of the
    /// trapping instruction's run; [`Engine::uncounted_steps`] says how many.
    Trap(TrapCode),
}

/// One Wasm frame, engine-neutral: what the debug API shows and a snapshot saves.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FrameRef<'a> {
    /// The function, as a store handle.
    pub func: Func,
    /// Its instance.
    pub instance: Instance,
    /// Its index among the instance module's defined functions.
    pub def: DefinedFuncIndex,
    /// Module-relative pc: the next instruction in the innermost frame, the `call` in the
    /// others (and in the innermost one while a host function it called runs).
    pub pc: u32,
    /// The frame is at its body's `end`, reached by a branch to the body's label: it returns
    /// without another step (the branch was the step). Only ever the innermost frame.
    pub returning: bool,
    /// Locals, parameters first, as cells.
    pub locals: &'a [u64],
    /// Operand stack, bottom first, as cells.
    pub stack: &'a [u64],
}

/// One frame of an [`EngineState`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FrameState {
    pub func: Func,
    pub instance: Instance,
    pub def: DefinedFuncIndex,
    /// As [`FrameRef::pc`].
    pub pc: u32,
    /// As [`FrameRef::returning`].
    pub returning: bool,
    /// The innermost frame has just completed the call at `pc` (its results are on its operand
    /// stack) and continues after it. Only ever the innermost frame.
    pub after_call: bool,
    /// Index in [`EngineState::values`] of the frame's first local; its operands follow its
    /// locals and end where the next frame's locals begin (the callee's parameters were the
    /// caller's top operands).
    pub base: u32,
}

/// The call stack of a call in progress, engine-neutral: frames outermost first, and every
/// frame's locals and operands in one list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct EngineState {
    pub frames: Vec<FrameState>,
    pub values: Vec<u64>,
    /// The next step ignores a breakpoint at its pc: the call paused at that breakpoint
    /// ([`Engine::skip_breakpoint`]) and has not moved since.
    pub skip_breakpoint: bool,
}

/// An engine: executes the current call's Wasm code (see the module docs).
pub(crate) trait Engine: Send {
    /// Sets up the outermost frame of a call of `func` (defined as `def` in `instance`) with
    /// `args`, replacing any previous call.
    fn start(
        &mut self,
        store: &StoreInner,
        func: Func,
        instance: Instance,
        def: DefinedFuncIndex,
        args: &[u64],
    );
    /// Runs until something needs the driver.
    fn run(&mut self, store: &mut StoreInner) -> Exit;
    /// After [`Exit::Trap`]: how many steps the position counts that did not complete (the
    /// trapping instruction's own, and those after it in its run).
    fn uncounted_steps(&self, store: &StoreInner) -> u64;
    /// The next step ignores a breakpoint at its pc (execution resumes from that breakpoint).
    fn skip_breakpoint(&mut self);
    /// The next [`Engine::run`] must observe breakpoints, watchpoints and the step budget from
    /// the first step on (they changed, or a host call may have changed them).
    fn single_step_next(&mut self, store: &mut StoreInner);
    /// Number of Wasm frames.
    fn depth(&self) -> usize;
    /// The frame `depth` levels above the innermost one. `in_host`: the innermost frame is
    /// inside a host function it called.
    fn frame(&self, store: &StoreInner, depth: usize, in_host: bool) -> FrameRef<'_>;
    /// After [`Exit::Host`]: the innermost frame's top `n` operands, the call's arguments.
    fn host_args(&self, n: usize) -> &[u64];
    /// Completes a host call: pops its `n` arguments and pushes its results.
    fn host_return(&mut self, n: usize, results: &[u64]);
    /// After [`Exit::Returned`]: the call's `n` results.
    fn results(&self, n: usize) -> &[u64];
    /// Discards every frame.
    fn clear(&mut self);
    /// The whole call stack, engine-neutral.
    fn capture(&self, store: &StoreInner) -> EngineState;
    /// Replaces the call stack with `state`, as [`Engine::capture`] gave it (possibly on
    /// another engine). Execution resumes exactly where it was captured.
    fn restore(&mut self, store: &StoreInner, state: &EngineState);
    /// What the engine has done so far.
    fn stats(&self) -> EngineStats {
        EngineStats::default()
    }
}

/// Counts of what an engine did, for tests, benchmarks and `--verbose` output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Calls started in JIT code.
    pub jit_calls: u64,
    /// Calls of a JIT store that ran on the interpreter from their start, because a module did
    /// not compile.
    pub interp_calls: u64,
    /// JIT calls handed over to the interpreter at an exact position.
    pub hand_overs: u64,
    /// Restored call stacks resumed in JIT code (each frame re-entered at its stop point).
    pub resumes: u64,
    /// Traps of JIT code taken as a hardware trap (a `ud2` and its signal, on x86-64 Linux),
    /// not through a cold trap block.
    pub hardware_traps: u64,
    /// Functions of the store's modules compiled so far (by every store of the process that
    /// shares a module's code).
    pub functions_compiled: u64,
    /// Of them, those the background thread compiled before the guest called them.
    pub functions_compiled_ahead: u64,
    /// Functions compiled again on the JIT's second tier, because they were called often.
    pub functions_second_tier: u64,
    /// The last reason a module was not compiled, if any.
    pub last_compile_error: Option<String>,
}
