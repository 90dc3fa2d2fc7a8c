//! The JIT: Wasm compiled to native code with Cranelift, behind the same [`Engine`] interface
//! as the interpreter.
//!
//! # What it is, in this first step
//! Every function of a module is translated once per process (the code is cached in the
//! module, so `record --until-failure` compiles once for all its runs) through the shared
//! translator (`translate.rs`) into Cranelift IR by [`env::JitEnv`], with the step definition of
//! `steps.rs` and the numeric semantics of `wasm.rs`: the same results, traps (code and exact
//! position), NaN canonicalization, call-depth limit and step counts as the interpreter.
//!
//! Guest code runs on its own stack, a [`corosensei`] coroutine: anything that needs the driver
//! — a host call, a trap, the step limit — suspends the coroutine with an [`Exit`], exactly as
//! the interpreter's loop returns one, and the driver resumes it. That keeps the driver and
//! everything above it unchanged: WASI, the recorder's observer and the replayer's substitution
//! see the same host calls on either engine.
//!
//! # Frames: state slots and one frame table
//! A JIT frame is a native frame, so its Wasm state is written where the runtime can read it:
//! each function's *state slot* (a Cranelift stack slot, see `env.rs`) holds its pc, locals and
//! operand stack as cells, stored before every call and at every exit, and the slots form a
//! linked list from the shared state. The operand count at a pc comes from the translator's
//! frame shapes, so the layout needs no per-site table. This is deliberately simpler than the
//! seed design's frame tables keyed by return address with Cranelift debug tags
//! (`DebugTag`, `sequence_point`): explicit stores cost a little at calls, but need neither
//! stack walking nor unwinding support, and they are exact at every point where JIT code can
//! stop. Moving to debug tags (stores only where a stop can observe them) is the next step for
//! speed.
//!
//! # Hand-over to the interpreter
//! Every run's head adds its steps to the position. At function entry, at loop heads and right
//! after every call, the code checks whether the steps it may take before the next such check
//! — at most the function's whole step count, since the code between two checks is acyclic —
//! could cross the step limit. If so it stores its state and stops there (the position is
//! exact at those points), and the engine hands the whole call stack ([`EngineState`]) to the
//! interpreter, which single-steps the rest. After a call, the state slot already holds the
//! locals and operands stored before the call, so the exit only adds the results. A function
//! with a breakpoint hands over at its entry (a flag per function, `env::JitEnv::
//! check_breakpoints`), and while something is watched, a store that writes a watched byte
//! hands over right before it (separately compiled code, `env::JitEnv::watch_check`): the
//! interpreter then stops exactly where it would have. So does a function entry whose native
//! stack has less room than the module's largest frame plus a margin
//! (`env::JitEnv::check_stack`): frame sizes are only known once compiled, and the
//! interpreter's stack is not native, so the call-depth limit stays exact. After a hand-over
//! the call goes on on the interpreter, except that from a breakpoint stop the engine tries to
//! resume it in JIT code (below), backing off when that hands over again soon.
//!
//! # Resuming a snapshot in JIT code
//! A restored call stack ([`Engine::restore`], from a snapshot of either engine) runs in JIT
//! code when every frame stopped where JIT code can resume it: each caller at a `call` or
//! `call_indirect` of its callee's type, the innermost frame at a check (function entry or
//! loop head), all in one instance. Each frame is re-entered in its function's *resume
//! variant*, compiled on first need: first-tier code whose entry check, while the shared
//! state says a resume is on, goes to a dispatch block instead of stopping. There the
//! `resume_frame` libcall writes the frame's locals and operands into its state slot and
//! names its resume point; the point's block reloads them into the function's variables and
//! goes on at the check (the innermost frame, which checks the restored limit before any
//! step) or at the call (a caller, which calls its callee's resume variant the same way).
//! Normal code has no resume points, so this costs it nothing; a resumed frame runs its
//! resume variant until it returns. A frame that cannot be resumed there (an interpreter's
//! snapshot between two checks) leaves the whole stack to the interpreter, as before. So does
//! a frame of a function with a breakpoint other than at its entry (JIT code checks
//! breakpoints only at entries), or the innermost frame at its entry breakpoint unless it is
//! leaving it.
//!
//! # Memory and traps
//! On x86-64 Linux (unless `Config::signals_based_traps` is off) a 32-bit memory 0 is
//! *guarded*: it lives in a reservation of 8 GiB of address space (`memory/bytes.rs`), so JIT
//! code accesses it with no bounds check, and an
//! access beyond its length faults. Every other trap site there is a `ud2`. deja's handler
//! for `SIGSEGV` and `SIGILL` turns either into the trap exit, with the site's pc and
//! uncounted steps from a table by code offset ([`signals`]). Elsewhere, and for other
//! memories, loads and stores check bounds explicitly and a trap site is a cold block that
//! stores the same. Stores mark the dirty pages that snapshots rely on.

mod compile;
mod env;
mod libcalls;
mod signals;

pub(crate) use compile::JitCode;

use crate::engine::{Engine, EngineState, EngineStats, Exit, FrameRef, FrameState};
use crate::interp::Interp;
use crate::store::{Instance, StoreInner};
use crate::types::{DefinedFuncIndex, Func, ValType};
use corosensei::stack::{DefaultStack, Stack};
use corosensei::{Coroutine, CoroutineResult, Yielder};
use cranelift_codegen::isa::CallConv;
use cranelift_entity::EntityRef;
use std::sync::Arc;

/// The calling convention between JIT functions (Cranelift's, which has no limit on results).
const WASM_CALL_CONV: CallConv = CallConv::Tail;

/// Byte offsets of [`VmCtx`] fields that JIT code reads.
pub(crate) mod vmctx {
    pub const SHARED: i32 = 0;
    pub const MEM_BASE: i32 = 8;
    pub const MEM_LEN: i32 = 16;
    pub const DIRTY: i32 = 24;
    pub const GLOBALS: i32 = 32;
    pub const FUNCS: i32 = 40;
    pub const INSTANCE_TAG: i32 = 48;
    pub const CODE_TABLE: i32 = 56;
    pub const CALL_COUNTS: i32 = 64;
    pub const BREAKPOINTS: i32 = 72;
    pub const WATCH_START: i32 = 80;
    pub const WATCH_LEN: i32 = 88;
    pub const WATCHING: i32 = 96;
}

/// Byte offsets of [`Shared`] fields that JIT code reads and writes.
pub(crate) mod shared {
    pub const POS: i32 = 0;
    pub const LIMIT: i32 = 8;
    pub const TOP: i32 = 16;
    pub const DEPTH: i32 = 24;
    pub const MAX_DEPTH: i32 = 32;
    pub const RESOLVED: i32 = 40;
    pub const TRAP_CODE: i32 = 48;
    pub const TRAP_UNCOUNTED: i32 = 56;
    pub const CALL_LIMIT: i32 = 64;
    pub const STACK_FLOOR: i32 = 72;
    pub const RESUMING: i32 = 80;
}

/// Layout of a state slot, in bytes for the header fields and cells for the values.
pub(crate) mod slot {
    pub const PREV: i32 = 0;
    pub const ID: i32 = 8;
    pub const PC: i32 = 16;
    /// Index of the first value cell.
    pub const VALUES: usize = 3;
    /// Flag in the pc field: the frame completed the call at pc; its results follow its
    /// operands below the call's arguments (a stop right after a call).
    pub const AFTER_CALL: i64 = 1 << 32;
    /// Flag in the pc field: the frame trapped at pc; its operands were not stored (its locals
    /// are always current).
    pub const TRAPPED: i64 = 1 << 33;
}

/// Per-instance context: what JIT code of one instance reads (first fields, `repr(C)`), and
/// what the runtime keeps for it.
#[repr(C)]
pub(crate) struct VmCtx {
    shared: *mut Shared,
    mem_base: *mut u8,
    mem_len: u64,
    dirty: *mut u8,
    globals: *const *mut u64,
    funcs: *const u32,
    instance_tag: u64,
    code_table: *const *const u8,
    /// Calls of each defined function's first-tier code (`compile.rs`).
    call_counts: *mut u64,
    /// Per defined function, non-zero if it has a breakpoint: its entry hands over.
    breakpoints: *const u8,
    /// The hull of memory 0's watched ranges (0 and 0 if none): stores into it ask the
    /// runtime (`env::JitEnv::watch_check`).
    watch_start: u64,
    watch_len: u64,
    /// Non-zero if anything is watched: writes through the runtime hand over.
    watching: u64,
    // Not read by JIT code:
    instance: Instance,
    code: Arc<JitCode>,
    global_ptrs: Vec<*mut u64>,
    /// Whether memory 0 is a guard reservation (its faults are traps, see `signals.rs`).
    mem_guarded: bool,
    /// What `breakpoints` points at, as of the store's breakpoints of `generation`.
    flags: Vec<u8>,
    generation: u64,
}

/// State shared by all JIT frames of a call (first fields, `repr(C)`, are read by JIT code).
#[repr(C)]
pub(crate) struct Shared {
    /// Steps completed: the position, while JIT code runs.
    pos: u64,
    /// A run that would take the position beyond this stops at its head.
    limit: u64,
    /// The innermost frame's state slot.
    top: *mut u64,
    /// Wasm frames on the call stack.
    depth: u64,
    max_depth: u64,
    /// A libcall's second result: the function `resolve` found, a table element; for a
    /// resumed caller, its callee's resume variant (`resume_frame`).
    resolved: u64,
    /// A trap site's code and uncounted steps, for the function's trap exit.
    trap_code: u64,
    trap_uncounted: u64,
    /// The limit checked right after calls: `limit`, or the maximum for a soft budget.
    call_limit: u64,
    /// The lowest stack address a function may start at, less its module's largest frame:
    /// the guest stack's end plus [`STACK_MARGIN`].
    stack_floor: u64,
    /// Non-zero while the frames of a snapshot are being resumed (see [`Resume`]).
    resuming: u64,
    // Not read by JIT code:
    store: *mut StoreInner,
    yielder: *const Yielder<(), Exit>,
    /// After a trap: the steps counted that did not complete.
    uncounted: u64,
    /// Traps taken through the signal handler (`signals.rs`).
    hardware_traps: u64,
    /// During a host call: its arguments, in the caller's state slot.
    args: *const u64,
    /// A host call's results, read by JIT code once it resumes.
    results: Vec<u64>,
    /// Per instance, its context without and with watchpoint checks (index `2 * instance +
    /// watch`).
    vmctxs: Vec<Option<Box<VmCtx>>>,
    canon: bool,
    /// The call runs the code that checks for watchpoints (something was watched when it
    /// started; a watchpoint added later hands the call over).
    watch: bool,
    /// The snapshot's call stack being resumed in JIT code, while [`Shared::resuming`].
    resume: Option<Box<Resume>>,
}

/// The key of a resume point (`env::JitEnv::resume_point`): a frame's check at `pc`, or with
/// `call` its call at `pc`.
pub(crate) fn resume_key(pc: u32, call: bool) -> u64 {
    (u64::from(pc) << 1) | u64::from(call)
}

/// A call stack being resumed in JIT code: each frame, outermost first, enters its
/// function's resume variant, whose dispatch block asks the `resume_frame` libcall for its
/// state and its resume point.
struct Resume {
    state: EngineState,
    /// The next frame to resume.
    next: usize,
    /// The limits to restore when the innermost frame resumes (they are 0 until then, so that
    /// each function's entry check leaves for its dispatch).
    limit: u64,
    call_limit: u64,
}

struct Fiber(Coroutine<(), Exit, Exit, DefaultStack>);

// SAFETY: the coroutine runs only while the engine's owner resumes it, on that owner's thread;
// while suspended its stack holds JIT frames and libcall frames that keep no thread-local or
// thread-bound state, so moving the whole engine to another thread between resumptions is sound.
unsafe impl Send for Fiber {}

// SAFETY: the raw pointers in `Shared` and `VmCtx` point into the store and into the engine's
// own boxes; they are only dereferenced while the engine runs on its owner's thread.
unsafe impl Send for Shared {}
unsafe impl Send for VmCtx {}

/// Where a JIT call stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// No call, or the call runs on the interpreter.
    Interp,
    /// The call runs (or is suspended) in JIT code.
    Jit,
}

/// The JIT engine (see the module docs). Calls run in JIT code when their module compiles, and
/// on the interpreter it contains after a hand-over.
pub(crate) struct JitEngine {
    interp: Interp,
    mode: Mode,
    fiber: Option<Fiber>,
    shared: Box<Shared>,
    /// The outermost call's arguments, then its results.
    values: Vec<u64>,
    /// Suspended in a host call whose results have been delivered.
    host_returned: bool,
    /// Suspended at a soft step-limit pause (at a run head or right after a call, its state
    /// stored and exact): resuming goes on in JIT code.
    soft_paused: bool,
    /// A breakpoint skip requested before a hand-over.
    skip_breakpoint: bool,
    /// A restored call stack (restored on the interpreter too) that the next run resumes in
    /// JIT code, if it can ([`JitEngine::start_resume`]).
    pending: Option<EngineState>,
    /// The interpreter (after a hand-over) stopped at a breakpoint: the next run tries to go
    /// on in JIT code from there (a breakpoint at a function's entry is a stop JIT code can
    /// resume from).
    retry: bool,
    /// Back-off of those retries: breakpoint stops to leave to the interpreter before the next
    /// one, what the next back-off will be, and where the last retry went back to JIT code.
    /// Breakpoints hit every few steps would otherwise cost a coroutine and a hand-over each.
    retry_skip: u32,
    retry_backoff: u32,
    retried_at: Option<u64>,
    stats: EngineStats,
    /// The state slots of the paused call, outermost first, once walked (see
    /// [`JitEngine::slots`]); emptied whenever JIT code runs.
    slot_cache: std::cell::RefCell<Vec<usize>>,
}

impl Default for JitEngine {
    fn default() -> JitEngine {
        JitEngine {
            interp: Interp::default(),
            mode: Mode::Interp,
            fiber: None,
            shared: Box::new(Shared {
                pos: 0,
                limit: 0,
                top: std::ptr::null_mut(),
                depth: 0,
                max_depth: 0,
                resolved: 0,
                trap_code: 0,
                trap_uncounted: 0,
                call_limit: 0,
                stack_floor: 0,
                resuming: 0,
                store: std::ptr::null_mut(),
                yielder: std::ptr::null(),
                uncounted: 0,
                hardware_traps: 0,
                args: std::ptr::null(),
                results: vec![0; 16],
                vmctxs: Vec::new(),
                canon: true,
                watch: false,
                resume: None,
            }),
            values: Vec::new(),
            host_returned: false,
            soft_paused: false,
            skip_breakpoint: false,
            pending: None,
            retry: false,
            retry_skip: 0,
            retry_backoff: 0,
            retried_at: None,
            stats: EngineStats::default(),
            slot_cache: Default::default(),
        }
    }
}

impl std::fmt::Debug for JitEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitEngine")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Room kept below the largest frame at every function entry, for what runs on the guest's
/// stack besides JIT frames: libcalls (compiling a function on its first call among them),
/// entry trampolines, a signal frame; and for a callee whose frame is larger than any the
/// caller's entry check knew of (compiled since, or another instance's code, whose largest
/// frame is its module's). A frame more than this much larger than the largest installed
/// one can still overflow the stack.
const STACK_MARGIN: u64 = 1 << 20;

/// A call that went back to JIT code from a breakpoint and handed over again within this many
/// steps makes the next breakpoint stops stay on the interpreter ([`JitEngine::retry_skip`]).
const RETRY_MIN_STEPS: u64 = 1 << 20;
const RETRY_MAX_BACKOFF: u32 = 1 << 12;

/// Native stack for one call: room for the deepest call stack the configuration allows, as
/// far as the frames' sizes can be guessed before they are compiled. A call that needs more
/// goes on on the interpreter (`env::JitEnv::check_stack`).
fn stack_size(store: &StoreInner) -> usize {
    let mut per_frame = 0usize;
    for (_, inst) in store.instances.iter() {
        for (_, code) in inst.module.inner.code.iter() {
            per_frame = per_frame.max(((code.num_locals + code.max_stack) as usize + 8) * 8 * 3);
        }
    }
    let frames = store.config.max_call_depth as usize + 1;
    (frames * (per_frame + 1024)).clamp(8 << 20, 4 << 30)
}

impl Shared {
    /// The context of `instance`, created (and its module compiled) on first use.
    fn vmctx(&mut self, store: &StoreInner, instance: Instance) -> crate::Result<*mut VmCtx> {
        let i = 2 * instance.index() + usize::from(self.watch);
        if self.vmctxs.len() <= i {
            self.vmctxs.resize_with(i + 1, || None);
        }
        if self.vmctxs[i].is_none() {
            let data = &store.instances[instance];
            // JIT code accesses a guarded memory 0 without bounds checks (`env.rs`).
            if signals::ENABLED
                && store.config.signals_based_traps
                && let Some(m) = data.memories.first().map(|_| &store.memories[data.mem0])
                && !m.ty.memory64
                && !m.data.is_guarded()
            {
                return Err(crate::Error::Resource(
                    "the host refused the 8 GiB of address space that lets the JIT access \
                     memory 0 without bounds checks (is `ulimit -v` set?)"
                        .into(),
                ));
            }
            let code = compile::code_for(
                &data.module,
                self.canon,
                store.config.signals_based_traps,
                self.watch,
            )?;
            self.vmctxs[i] = Some(Box::new(VmCtx {
                shared: self,
                mem_base: std::ptr::null_mut(),
                mem_len: 0,
                dirty: std::ptr::null_mut(),
                globals: std::ptr::null(),
                funcs: data.funcs.as_ptr().cast(),
                instance_tag: (instance.index() as u64) << 32,
                code_table: code.table(),
                call_counts: code.call_counts(),
                breakpoints: std::ptr::null(),
                watch_start: 0,
                watch_len: 0,
                watching: 0,
                instance,
                code,
                global_ptrs: Vec::new(),
                mem_guarded: false,
                flags: vec![0; data.module.inner.code.len()],
                generation: u64::MAX,
            }));
        }
        Ok(&mut **self.vmctxs[i].as_mut().expect("made above"))
    }

    /// Points every context at the store's current memories and globals (they may have moved:
    /// a grown memory, a restored snapshot).
    fn refresh(&mut self, store: &mut StoreInner) {
        for v in self.vmctxs.iter_mut().flatten() {
            // SAFETY: as above.
            unsafe { Self::refresh_one(v, store) };
        }
    }

    /// # Safety
    /// `store` must be the store whose call the engine runs; the pointers stay valid until the
    /// store's memories or globals are reallocated, after which `refresh` runs again.
    unsafe fn refresh_one(v: &mut VmCtx, store: &mut StoreInner) {
        let data = &store.instances[v.instance];
        if !data.memories.is_empty() {
            let m = &mut store.memories[data.mem0];
            v.mem_base = m.data.as_mut_ptr();
            v.mem_len = m.data.len() as u64;
            v.dirty = m.dirty_ptr();
            v.mem_guarded = m.data.is_guarded();
        }
        v.global_ptrs.clear();
        for g in data.globals.iter() {
            v.global_ptrs
                .push(std::ptr::from_mut(&mut store.globals[*g].value));
        }
        v.globals = v.global_ptrs.as_ptr();
        v.funcs = data.funcs.as_ptr().cast();
        let bp = &store.breakpoints;
        if v.generation != bp.generation() {
            v.generation = bp.generation();
            v.flags.fill(0);
            for def in bp.functions(data.module.ptr_id()) {
                v.flags[def.index()] = 1;
            }
            v.watching = u64::from(bp.watching());
            let hull = bp
                .watches()
                .iter()
                .filter(|w| !data.memories.is_empty() && w.0 == data.mem0)
                .fold(None, |h: Option<(u64, u64)>, w| {
                    Some(h.map_or((w.1, w.2), |(s, e)| (s.min(w.1), e.max(w.2))))
                });
            // No 32-bit memory 0 reaches 2^34: a hull clipped there cannot make the inline
            // test's sums overflow (an end saturated at u64::MAX would).
            (v.watch_start, v.watch_len) = match hull {
                Some((s, e)) if s < e.min(1 << 34) => (s, e.min(1 << 34) - s),
                _ => (0, 0),
            };
        }
        v.breakpoints = v.flags.as_ptr();
    }
}

impl Drop for JitEngine {
    fn drop(&mut self) {
        // A call suspended in JIT code (a host call, a soft budget pause) must not be unwound:
        // its stack runs through `extern "C"` libcalls.
        self.reset_fiber();
    }
}

impl JitEngine {
    fn reset_fiber(&mut self) {
        if let Some(mut f) = self.fiber.take()
            && f.0.started()
            && !f.0.done()
        {
            // SAFETY: a suspended call's stack holds JIT frames and libcall frames only, and
            // none of them owns anything that needs dropping (see `libcalls.rs`).
            unsafe { f.0.force_reset() };
        }
        self.shared.top = std::ptr::null_mut();
        self.shared.resuming = 0;
        self.shared.resume = None;
        self.host_returned = false;
        self.soft_paused = false;
        self.mode = Mode::Interp;
    }

    /// The context of `instance` for a new call (the store's canonicalization, watch checks if
    /// anything is watched), after making every instance's, so that calls between instances
    /// never find one missing.
    fn contexts(&mut self, store: &StoreInner, instance: Instance) -> crate::Result<*mut VmCtx> {
        self.shared.canon = store.config.nan_canonicalization;
        self.shared.watch = store.breakpoints.watching();
        let mut vmctx = None;
        for (i, _) in store.instances.iter() {
            let v = self.shared.vmctx(store, i)?;
            if i == instance {
                vmctx = Some(v);
            }
        }
        Ok(vmctx.expect("the instance exists"))
    }

    /// The outermost call's values for `func`: its arguments `args` (or zeros), room for its
    /// results.
    fn set_values(&mut self, store: &StoreInner, func: Func, args: &[u64]) {
        let ty = &store.funcs[func].ty;
        self.values.clear();
        self.values.extend_from_slice(args);
        self.values.resize(
            ValType::cells_of(ty.params())
                .max(ValType::cells_of(ty.results()))
                .max(1),
            0,
        );
    }

    /// Forgets the retries from breakpoint stops and their back-off (a new call, a restore).
    fn reset_retry(&mut self) {
        self.retry = false;
        self.retry_skip = 0;
        self.retry_backoff = 0;
        self.retried_at = None;
    }

    /// Runs `entry` (a trampoline of `vmctx`'s code) with [`JitEngine::values`] on a new
    /// coroutine at the next [`JitEngine::resume`].
    fn launch(&mut self, store: &StoreInner, vmctx: *mut VmCtx, entry: compile::EntryFn) {
        let values = self.values.as_mut_ptr();
        let shared: *mut Shared = &mut *self.shared;
        self.shared.depth = 1;
        self.shared.top = std::ptr::null_mut();
        let stack = DefaultStack::new(stack_size(store)).expect("reserve a stack for JIT code");
        // The limit includes the guard pages, which the margin covers.
        self.shared.stack_floor = stack.limit().get() as u64 + STACK_MARGIN;
        let co = Coroutine::with_stack(stack, move |y: &Yielder<(), Exit>, ()| {
            // SAFETY: `shared` and `values` live in the engine, which outlives its fiber; the
            // entry trampoline has the signature `compile.rs` gives it.
            unsafe {
                (*shared).yielder = y;
                entry(vmctx, values);
            }
            Exit::Returned
        });
        self.fiber = Some(Fiber(co));
        self.mode = Mode::Jit;
    }

    /// Sets up the resumption of `state` in JIT code, if every frame can be resumed there:
    /// one instance, each caller at a `call` or `call_indirect` of its callee's type, the
    /// innermost frame not right after a call, and no frame in a function with a breakpoint
    /// other than at its entry (nor the innermost frame at that breakpoint, unless it leaves it). Each frame then enters its function's resume
    /// variant, outermost first, and goes on at its stop point (`env::JitEnv::resume_point`);
    /// a frame whose pc has no resume point there (an interpreter's snapshot between two
    /// checks, say) makes the engine go on from `state` on the interpreter instead
    /// ([`JitEngine::run`]).
    fn start_resume(&mut self, store: &StoreInner, state: EngineState) -> bool {
        let Some(first) = state.frames.first().copied() else {
            return false;
        };
        let module_id = store.instances[first.instance].module.ptr_id();
        let module = &store.instances[first.instance].module.inner;
        for (i, f) in state.frames.iter().enumerate() {
            if f.instance != first.instance || f.returning || f.after_call {
                return false;
            }
            // JIT code of a function with breakpoints stops only at its entry: a frame past it
            // (or leaving a breakpoint there) runs in JIT code if that is its only breakpoint.
            if store.breakpoints.in_function(module_id, f.def) {
                let code = &module.code[f.def];
                let innermost = i + 1 == state.frames.len();
                let at_entry = code.first_step().is_some_and(|op| code.pcs[op] == f.pc);
                if !store.breakpoints.only_at_entry(module_id, f.def, code)
                    || (innermost && at_entry && !state.skip_breakpoint)
                {
                    return false;
                }
            }
            let next = state.frames.get(i + 1);
            let end = next.map_or(state.values.len(), |n| n.base as usize);
            let Some(shape) = module.shapes[f.def].stack_at(f.pc) else {
                return false;
            };
            let live = match next {
                None => shape.len(),
                Some(n) => {
                    let op = module.bytes.get(f.pc as usize).copied();
                    if !matches!(op, Some(0x10 | 0x11)) {
                        return false;
                    }
                    let ty = call_type(module, f.pc);
                    if *ty != store.funcs[n.func].ty {
                        return false;
                    }
                    let under = usize::from(op == Some(0x11)) + ty.params().len();
                    let Some(live) = shape.len().checked_sub(under) else {
                        return false;
                    };
                    live
                }
            };
            let cells =
                ValType::cells_of(&module.local_types[f.def]) + ValType::cells_of(&shape[..live]);
            if end.checked_sub(f.base as usize) != Some(cells) {
                return false;
            }
        }
        let Ok(vmctx) = self.contexts(store, first.instance) else {
            return false;
        };
        // SAFETY: the context was just made or refreshed and is owned by `shared`.
        let Ok(entry) = (unsafe { (*vmctx).code.resume_entry(module, first.def) }) else {
            return false;
        };
        self.set_values(store, first.func, &[]);
        self.skip_breakpoint = state.skip_breakpoint;
        self.launch(store, vmctx, entry);
        self.shared.resume = Some(Box::new(Resume {
            state,
            next: 0,
            limit: 0,
            call_limit: 0,
        }));
        self.shared.resuming = 1;
        true
    }

    /// Resumes JIT code until its next exit.
    fn resume(&mut self, store: &mut StoreInner, limit: u64) -> Exit {
        let sh = &mut *self.shared;
        sh.refresh(store);
        sh.store = store;
        sh.pos = store.position;
        sh.limit = limit;
        sh.call_limit = if store.soft_budget && limit == store.stop_at {
            u64::MAX
        } else {
            limit
        };
        sh.max_depth = u64::from(store.config.max_call_depth);
        if sh.resuming != 0
            && let Some(r) = sh.resume.as_mut()
        {
            // Every frame's entry check leaves for its dispatch until the innermost resumes.
            r.limit = sh.limit;
            r.call_limit = sh.call_limit;
            sh.limit = 0;
            sh.call_limit = 0;
        }
        self.host_returned = false;
        self.soft_paused = false;
        // Frames change below the top as well as at it.
        self.slot_cache.get_mut().clear();
        let shared: *mut Shared = sh;
        let fiber = self.fiber.as_mut().expect("a JIT call in progress");
        let r = {
            let _in_jit = signals::enter(shared);
            fiber.0.resume(())
        };
        store.position = self.shared.pos;
        match r {
            CoroutineResult::Yield(exit) => exit,
            CoroutineResult::Return(exit) => {
                self.fiber = None;
                self.shared.top = std::ptr::null_mut();
                exit
            }
        }
    }

    /// The state slots, outermost first. The list is walked once per pause: a backtrace
    /// reads every frame, and walking 20 000 frames for each of them took minutes.
    fn slots(&self) -> std::cell::Ref<'_, Vec<usize>> {
        let top = self.shared.top.cast_const();
        let stale = self.slot_cache.borrow().last().copied().unwrap_or(0) != top as usize;
        if stale {
            let mut v = self.slot_cache.borrow_mut();
            v.clear();
            let mut p = top;
            while !p.is_null() {
                v.push(p as usize);
                // SAFETY: every slot in the list is live: its function has not returned.
                p = unsafe { *p.add(slot::PREV as usize / 8) } as *const u64;
            }
            v.reverse();
        }
        self.slot_cache.borrow()
    }

    /// The frame of state slot `p`; `caller` for a frame that called another one (not the
    /// innermost). Also says whether the frame stopped right after a call (see
    /// [`slot::AFTER_CALL`]).
    fn slot_frame<'a>(
        &'a self,
        store: &StoreInner,
        p: *const u64,
        caller: bool,
        in_host: bool,
    ) -> (FrameRef<'a>, bool) {
        // SAFETY: `p` is a live slot (see `slots`); its header and values were stored by the
        // frame's function before the stop that lets us read it.
        let (id, raw_pc) = unsafe { (*p.add(1), *p.add(2)) };
        let pc = raw_pc as u32;
        let after_call = raw_pc & slot::AFTER_CALL as u64 != 0;
        let trapped = raw_pc & slot::TRAPPED as u64 != 0;
        let instance = Instance::from_u32((id >> 32) as u32);
        let def = DefinedFuncIndex::from_u32(id as u32);
        let data = &store.instances[instance];
        let module = &data.module.inner;
        let func = data.funcs[(module.num_imported_funcs + def.as_u32()) as usize];
        // In cells: a `v128` takes two.
        let nlocals = ValType::cells_of(&module.local_types[def]);
        let shape_types = module.shapes[def].stack_at(pc).unwrap_or_default();
        let shape = shape_types.len();
        let cells = |n: usize| ValType::cells_of(&shape_types[..n]);
        // `call_indirect` and `return_call_indirect` have the table index on top too, `call_ref`
        // and `return_call_ref` the reference.
        let indirect = matches!(
            module.bytes.get(pc as usize),
            Some(0x11 | 0x13 | 0x14 | 0x15)
        );
        // A caller's arguments are those of its call instruction, not of the frame above it:
        // that may be a function the callee replaced by a tail call.
        let height = match caller {
            false if after_call => {
                let ty = call_type(module, pc);
                cells(shape - usize::from(indirect) - ty.params().len())
                    + ValType::cells_of(ty.results())
            }
            false if !in_host => cells(shape),
            false => cells(shape - usize::from(indirect)),
            true => cells(shape - usize::from(indirect) - call_type(module, pc).params().len()),
        };
        // A trap site stores no operands; its locals are current (they are written through).
        let height = if trapped { 0 } else { height };
        // SAFETY: the slot has room for every local and the operand stack's maximum.
        let values = unsafe { std::slice::from_raw_parts(p.add(slot::VALUES), nlocals + height) };
        let frame = FrameRef {
            func,
            instance,
            def,
            pc,
            returning: false,
            locals: &values[..nlocals],
            stack: &values[nlocals..],
        };
        (frame, after_call)
    }

    /// The whole JIT call stack as an [`EngineState`].
    fn capture_jit(&self, store: &StoreInner) -> EngineState {
        let slots = self.slots();
        let mut state = EngineState {
            skip_breakpoint: self.skip_breakpoint,
            ..Default::default()
        };
        let frames: Vec<(FrameRef<'_>, bool)> = (0..slots.len())
            .map(|i| self.slot_frame(store, slots[i] as *const u64, i + 1 < slots.len(), false))
            .collect();
        for (f, after_call) in frames {
            state.frames.push(FrameState {
                func: f.func,
                instance: f.instance,
                def: f.def,
                pc: f.pc,
                returning: false,
                after_call,
                base: state.values.len() as u32,
            });
            state.values.extend_from_slice(f.locals);
            state.values.extend_from_slice(f.stack);
        }
        state
    }

    /// Hands the call over to the interpreter at the run head where JIT code stopped.
    fn hand_over(&mut self, store: &StoreInner) {
        self.stats.hand_overs += 1;
        if let Some(at) = self.retried_at.take() {
            if store.position - at < RETRY_MIN_STEPS {
                self.back_off();
            } else {
                self.retry_backoff = 0;
            }
        }
        let state = self.capture_jit(store);
        self.reset_fiber();
        self.interp.restore(store, &state);
        if std::mem::take(&mut self.skip_breakpoint) {
            self.interp.skip_breakpoint();
        }
        self.mode = Mode::Interp;
    }

    /// Breakpoints and watchpoints are the interpreter's, but JIT code hands over only at the
    /// entry of a function that has a breakpoint (a JIT frame of such a function is past its
    /// only breakpoint, at its entry) and right before a store that writes a watched byte.
    fn limit(store: &StoreInner) -> u64 {
        store.stop_at
    }

    /// Leaves the next breakpoint stops to the interpreter, twice as many as last time.
    fn back_off(&mut self) {
        self.retry_backoff = (self.retry_backoff * 2).clamp(1, RETRY_MAX_BACKOFF);
        self.retry_skip = self.retry_backoff;
    }

    /// Runs the call on the interpreter; after a breakpoint, the next run tries JIT code again
    /// (unless the last tries handed over again soon).
    fn run_interp(&mut self, store: &mut StoreInner) -> Exit {
        let exit = self.interp.run(store);
        self.retry = exit == Exit::Breakpoint && self.retry_skip == 0;
        if exit == Exit::Breakpoint {
            self.retry_skip = self.retry_skip.saturating_sub(1);
        }
        exit
    }
}

/// The type of the function called by the `call`, `call_indirect` or tail call at `pc`.
fn call_type(module: &crate::module::ModuleInner, pc: u32) -> &crate::types::FuncType {
    let mut r = wasmparser::BinaryReader::new(&module.bytes[pc as usize + 1..], 0);
    let index = r.read_var_u32().unwrap_or(0);
    let ty = if matches!(module.bytes[pc as usize], 0x11 | 0x13 | 0x14 | 0x15) {
        crate::types::TypeIndex::from_u32(index)
    } else {
        module.funcs[crate::types::FuncIndex::from_u32(index)]
    };
    &module.types[ty]
}

impl Engine for JitEngine {
    fn start(
        &mut self,
        store: &StoreInner,
        func: Func,
        instance: Instance,
        def: DefinedFuncIndex,
        args: &[u64],
    ) {
        self.reset_fiber();
        self.pending = None;
        self.reset_retry();
        self.skip_breakpoint = false;
        let vmctx = match self.contexts(store, instance) {
            Ok(v) => v,
            Err(e) => {
                // Not compilable here: the interpreter runs the call.
                self.stats.interp_calls += 1;
                self.stats.last_compile_error = Some(e.to_string());
                self.interp.start(store, func, instance, def, args);
                return;
            }
        };
        self.stats.jit_calls += 1;
        // SAFETY: the context was just made or refreshed and is owned by `shared`.
        let entry = match unsafe {
            (*vmctx)
                .code
                .entry(&store.instances[instance].module.inner, def)
        } {
            Ok(e) => e,
            Err(e) => {
                self.stats.jit_calls -= 1;
                self.stats.interp_calls += 1;
                self.stats.last_compile_error = Some(e.to_string());
                self.interp.start(store, func, instance, def, args);
                return;
            }
        };
        self.set_values(store, func, args);
        self.launch(store, vmctx, entry);
    }

    fn run(&mut self, store: &mut StoreInner) -> Exit {
        if self.mode == Mode::Interp {
            let pending = match self.pending.take() {
                Some(state) => Some(state),
                None if std::mem::take(&mut self.retry) => {
                    self.retried_at = Some(store.position);
                    Some(self.interp.capture(store))
                }
                None => None,
            };
            let retried = self.retried_at.is_some();
            let resumed = pending.is_some_and(|state| self.start_resume(store, state));
            if !resumed {
                if retried {
                    // Refused outright: back off as for a retry that handed over soon.
                    self.retried_at = None;
                    self.back_off();
                }
                return self.run_interp(store);
            }
        }
        let limit = Self::limit(store);
        let at = store.position;
        let exit = self.resume(store, limit);
        if store.position != at {
            // A breakpoint skip is for the position it was asked at.
            self.skip_breakpoint = false;
        }
        if self.shared.resuming != 0 {
            // A frame could not be resumed (it stopped where its resume variant has no resume
            // point): the interpreter has it, from the snapshot.
            let r = self.shared.resume.take().expect("resuming");
            self.reset_fiber();
            self.interp.restore(store, &r.state);
            return self.run_interp(store);
        }
        if self.shared.resume.take().is_some() {
            self.stats.resumes += 1;
        }
        match exit {
            // A soft pause (`Store::set_soft_budget`) stays in JIT code: the position is exact
            // at every check, so the pause is exact, only sooner (or later, after a return).
            Exit::StepBudget if store.soft_budget && limit == store.stop_at => {
                self.soft_paused = true;
                Exit::StepBudget
            }
            Exit::StepBudget | Exit::HandOver => {
                self.hand_over(store);
                self.run_interp(store)
            }
            exit => exit,
        }
    }

    fn uncounted_steps(&self, store: &StoreInner) -> u64 {
        match self.mode {
            Mode::Interp => self.interp.uncounted_steps(store),
            Mode::Jit => self.shared.uncounted,
        }
    }

    fn skip_breakpoint(&mut self) {
        if let Some(p) = &mut self.pending {
            p.skip_breakpoint = true;
        }
        match self.mode {
            Mode::Interp => self.interp.skip_breakpoint(),
            Mode::Jit => self.skip_breakpoint = true,
        }
    }

    fn single_step_next(&mut self, store: &mut StoreInner) {
        if self.mode == Mode::Jit && self.soft_paused {
            // Stopped at a check with its state stored: hand over right here.
            self.hand_over(store);
        } else if self.mode == Mode::Jit && self.host_returned {
            // Settle: run to the next run head (no step executes before it) and hand over, so
            // that the state is exact for whatever reads it before the next run.
            match self.resume(store, 0) {
                Exit::StepBudget => self.hand_over(store),
                other => unreachable!("a JIT call settles at a run head, not with {other:?}"),
            }
        }
        if self.mode == Mode::Interp {
            self.interp.single_step_next(store);
        }
    }

    fn depth(&self) -> usize {
        match self.mode {
            Mode::Interp => self.interp.depth(),
            Mode::Jit => self.slots().len(),
        }
    }

    fn frame(&self, store: &StoreInner, depth: usize, in_host: bool) -> FrameRef<'_> {
        if self.mode == Mode::Interp {
            return self.interp.frame(store, depth, in_host);
        }
        let slots = self.slots();
        let i = slots.len() - 1 - depth;
        // Soft pauses come at run heads only (see `env::check_after_call`), and a hard stop
        // right after a call hands over: no frame read here is right after a call.
        self.slot_frame(
            store,
            slots[i] as *const u64,
            depth > 0,
            in_host && depth == 0,
        )
        .0
    }

    fn host_args(&self, n: usize) -> &[u64] {
        match self.mode {
            Mode::Interp => self.interp.host_args(n),
            // SAFETY: the arguments are the caller's top operands in its state slot.
            Mode::Jit => unsafe { std::slice::from_raw_parts(self.shared.args, n) },
        }
    }

    fn host_return(&mut self, n: usize, results: &[u64]) {
        self.pending = None;
        self.retry = false;
        match self.mode {
            Mode::Interp => self.interp.host_return(n, results),
            Mode::Jit => {
                let r = &mut self.shared.results;
                if r.len() < results.len() {
                    r.resize(results.len(), 0);
                }
                r[..results.len()].copy_from_slice(results);
                self.host_returned = true;
            }
        }
    }

    fn results(&self, n: usize) -> &[u64] {
        match self.mode {
            Mode::Interp => self.interp.results(n),
            Mode::Jit => &self.values[..n],
        }
    }

    fn clear(&mut self) {
        self.reset_fiber();
        self.pending = None;
        self.retry = false;
        self.interp.clear();
    }

    fn capture(&self, store: &StoreInner) -> EngineState {
        match self.mode {
            Mode::Interp => self.interp.capture(store),
            Mode::Jit => self.capture_jit(store),
        }
    }

    fn restore(&mut self, store: &StoreInner, state: &EngineState) {
        self.reset_fiber();
        self.interp.restore(store, state);
        self.reset_retry();
        // Resumed in JIT code at the next run, if it can be; until then (and otherwise) the
        // interpreter shows it.
        self.pending = Some(state.clone());
    }

    fn stats(&self) -> EngineStats {
        let mut codes: Vec<&Arc<JitCode>> = Vec::new();
        for v in self.shared.vmctxs.iter().flatten() {
            if !codes.iter().any(|c| Arc::ptr_eq(c, &v.code)) {
                codes.push(&v.code);
            }
        }
        let (compiled, ahead, second) = codes.iter().fold((0, 0, 0), |(n, a, h), c| {
            let k = c.counts();
            (n + k.compiled, a + k.ahead, h + k.second_tier)
        });
        EngineStats {
            hardware_traps: self.shared.hardware_traps,
            functions_compiled: compiled,
            functions_compiled_ahead: ahead,
            functions_second_tier: second,
            ..self.stats.clone()
        }
    }
}

pub(crate) use libcalls::Libcalls;
