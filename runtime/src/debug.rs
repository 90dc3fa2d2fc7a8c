//! The debug API, in the shape of wasmtime's: a [`FrameCursor`] over the Wasm frames of the
//! current call (innermost first), [`DebugEvent`]s delivered to a [`DebugHandler`] that gets
//! mutable access to the store while the guest is still on the stack, and breakpoints at
//! (function, pc).
//!
//! The cursor reads frames through the engine interface (`engine.rs`) as (function, Wasm pc,
//! locals, operand stack); locals' types come from the function's declaration, operand types
//! from the frame shapes the translator computed for every pc.

use crate::engine::FrameRef;
use crate::error::{Error, Result};
use crate::module::Module;
use crate::store::{Instance, Memory, Store};
use crate::trap::{FrameInfo, TrapCode};
use crate::types::{DefinedFuncIndex, FuncIndex, Val, ValType};
use std::collections::{BTreeSet, HashMap};

/// Something that happened to the guest, delivered to the [`DebugHandler`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DebugEvent<'a> {
    /// The guest is about to trap; the frames still show the trapping instruction.
    Trap(TrapCode),
    /// A host function failed with this message; the run will end.
    HostcallError(&'a str),
    /// A breakpoint at the innermost frame's pc (not executed yet).
    Breakpoint,
    /// The innermost frame throws this exception and a `catch` clause will catch it. The
    /// frames still show the throw (not completed yet); the unwinding follows.
    CaughtExceptionThrown(crate::store::Exn),
    /// The innermost frame throws this exception and nothing catches it: the call ends with
    /// [`TrapCode::UncaughtException`]. The frames still show the throw.
    UncaughtExceptionThrown(crate::store::Exn),
}

/// What the guest does after a [`DebugEvent::Breakpoint`]. Ignored for other events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DebugAction {
    /// Keep running.
    Continue,
    /// Pause: the call returns [`crate::Resumable::Paused`] and [`Store::resume`] continues it.
    Pause,
}

/// Receives debug events while the guest is paused on the stack.
pub trait DebugHandler<T> {
    /// Handles one event. `store.debug_frames()` shows the guest's frames.
    fn handle(&mut self, store: &mut Store<T>, event: DebugEvent<'_>) -> DebugAction;
}

#[inline(always)]
pub(crate) fn bit(bits: &[u64], i: usize) -> bool {
    bits.get(i >> 6).is_some_and(|w| w & (1 << (i & 63)) != 0)
}

/// Breakpoints of a store: a set of locations, and per function a bitset over op indices that
/// the single-step loop tests.
#[derive(Clone, Debug, Default)]
pub(crate) struct Breakpoints {
    bits: HashMap<(usize, DefinedFuncIndex), Vec<u64>>,
    set: BTreeSet<(usize, FuncIndex, u32)>,
    /// Watched memory ranges: (memory, start, end exclusive).
    watches: Vec<(Memory, u64, u64)>,
    /// Changes with every breakpoint or watchpoint added or removed (the JIT's per-function
    /// flags are recomputed then, and the driver makes the next run single-step).
    generation: u64,
}

impl Breakpoints {
    /// Whether nothing needs the single-step loop: no breakpoints and no watchpoints.
    pub(crate) fn is_empty(&self) -> bool {
        self.set.is_empty() && self.watches.is_empty()
    }

    pub(crate) fn watching(&self) -> bool {
        !self.watches.is_empty()
    }

    /// Watched ranges: (memory, start, end exclusive).
    pub(crate) fn watches(&self) -> &[(Memory, u64, u64)] {
        &self.watches
    }

    /// Whether a write of `len` bytes at `addr` of `memory` touches a watched range.
    pub(crate) fn watch_hit(&self, memory: Memory, addr: u64, len: u64) -> bool {
        len > 0
            && self
                .watches
                .iter()
                .any(|(m, s, e)| *m == memory && addr < *e && addr.saturating_add(len) > *s)
    }

    pub(crate) fn bits(&self, module: usize, def: DefinedFuncIndex) -> &[u64] {
        self.bits.get(&(module, def)).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether function `def` of the module with pointer id `module` has a breakpoint.
    pub(crate) fn in_function(&self, module: usize, def: DefinedFuncIndex) -> bool {
        self.bits(module, def).iter().any(|w| *w != 0)
    }

    /// Whether every breakpoint of function `def` (of the module with pointer id `module`,
    /// code `code`) is at its entry, its first instruction.
    pub(crate) fn only_at_entry(
        &self,
        module: usize,
        def: DefinedFuncIndex,
        code: &crate::code::CompiledFunc,
    ) -> bool {
        let Some(first) = code.first_step() else {
            return false;
        };
        self.bits(module, def)
            .iter()
            .enumerate()
            .all(|(w, bits)| match w.cmp(&(first >> 6)) {
                std::cmp::Ordering::Equal => bits & !(1 << (first & 63)) == 0,
                _ => *bits == 0,
            })
    }

    /// The functions of the module with pointer id `module` that have a breakpoint.
    pub(crate) fn functions(&self, module: usize) -> impl Iterator<Item = DefinedFuncIndex> + '_ {
        self.bits
            .iter()
            .filter(move |((m, _), bits)| *m == module && bits.iter().any(|w| *w != 0))
            .map(|((_, def), _)| *def)
    }
}

impl<T> Store<T> {
    /// Adds a breakpoint before the instruction of `func` at module byte offset `pc`, or the
    /// first instruction after it if `pc` is a structural marker such as `block`. Returns the
    /// pc actually used.
    ///
    /// # Errors
    /// [`Error::Usage`] if `func` is imported or has no instruction at or after `pc`.
    pub fn add_breakpoint(&mut self, module: &Module, func: FuncIndex, pc: u32) -> Result<u32> {
        let def = module.defined_func_index(func).ok_or_else(|| {
            Error::Usage(format!(
                "function {} is imported or does not exist",
                func.as_u32()
            ))
        })?;
        let code = &module.inner.code[def];
        let (op, actual) = code
            .ops
            .iter()
            .zip(code.pcs.iter())
            .enumerate()
            .filter(|(_, (op, p))| op.is_step() && **p >= pc)
            .min_by_key(|(_, (_, p))| **p)
            .map(|(i, (_, p))| (i, *p))
            .ok_or_else(|| {
                Error::Usage(format!(
                    "function {} has no instruction at or after pc {pc:#x}",
                    func.as_u32()
                ))
            })?;
        let bp = &mut self.inner.breakpoints;
        let bits = bp.bits.entry((module.ptr_id(), def)).or_default();
        if bits.len() <= op >> 6 {
            bits.resize((op >> 6) + 1, 0);
        }
        bits[op >> 6] |= 1 << (op & 63);
        bp.set.insert((module.ptr_id(), func, actual));
        bp.generation += 1;
        // The fast loop never checks breakpoints: make the next resume single-step.
        self.engine.single_step_next(&mut self.inner);
        Ok(actual)
    }

    /// Adds a breakpoint at the entry of `func` (its first instruction).
    ///
    /// # Errors
    /// As [`Store::add_breakpoint`].
    pub fn add_entry_breakpoint(&mut self, module: &Module, func: FuncIndex) -> Result<u32> {
        self.add_breakpoint(module, func, 0)
    }

    /// Removes a breakpoint; returns whether it existed.
    pub fn remove_breakpoint(&mut self, module: &Module, func: FuncIndex, pc: u32) -> bool {
        let bp = &mut self.inner.breakpoints;
        if !bp.set.remove(&(module.ptr_id(), func, pc)) {
            return false;
        }
        bp.generation += 1;
        if let Some(def) = module.defined_func_index(func) {
            let code = &module.inner.code[def];
            if let Some(op) = code.op_at_pc(pc)
                && let Some(bits) = bp.bits.get_mut(&(module.ptr_id(), def))
            {
                bits[op >> 6] &= !(1 << (op & 63));
            }
        }
        true
    }

    /// Removes every breakpoint and watchpoint.
    pub fn clear_breakpoints(&mut self) {
        let generation = self.inner.breakpoints.generation + 1;
        self.inner.breakpoints = Breakpoints {
            generation,
            ..Breakpoints::default()
        };
    }

    /// Watches `len` bytes of `memory` at `addr`: execution pauses with
    /// [`PauseReason::Watchpoint`](crate::PauseReason::Watchpoint) right after an instruction
    /// writes any of them. Host functions' writes are not instructions; an embedder that wants
    /// to stop on them checks [`Store::watches`] itself and asks for a pause
    /// ([`Caller::request_pause`](crate::Caller::request_pause)).
    pub fn add_watchpoint(&mut self, memory: Memory, addr: u64, len: u64) {
        if len > 0 {
            let bp = &mut self.inner.breakpoints;
            bp.watches.push((memory, addr, addr.saturating_add(len)));
            bp.generation += 1;
            self.engine.single_step_next(&mut self.inner);
        }
    }

    /// Removes a watchpoint added with the same arguments; returns whether it existed.
    pub fn remove_watchpoint(&mut self, memory: Memory, addr: u64, len: u64) -> bool {
        let bp = &mut self.inner.breakpoints;
        match bp
            .watches
            .iter()
            .position(|x| *x == (memory, addr, addr.saturating_add(len)))
        {
            Some(i) => {
                bp.watches.remove(i);
                bp.generation += 1;
                true
            }
            None => false,
        }
    }

    /// Whether a write to `memory` at `addr` of `len` bytes touches a watched range.
    pub fn watches(&self, memory: Memory, addr: u64, len: u64) -> bool {
        self.inner.breakpoints.watch_hit(memory, addr, len)
    }

    /// The write, as (address, length), by the instruction that made the last
    /// [`PauseReason::Watchpoint`](crate::PauseReason::Watchpoint) pause: which of several
    /// watched ranges it touched.
    pub fn watch_write(&self) -> Option<(u64, u64)> {
        self.inner.call.watch_write
    }

    /// The memory that write went to (with several memories, the address alone does not say).
    pub fn watch_write_memory(&self) -> Option<Memory> {
        self.inner.call.watch_memory
    }

    /// The breakpoints, as (function, pc).
    pub fn breakpoints(&self) -> Vec<(FuncIndex, u32)> {
        self.inner
            .breakpoints
            .set
            .iter()
            .map(|(_, f, pc)| (*f, *pc))
            .collect()
    }

    /// A cursor over the guest's frames, innermost first. Empty when no call is in progress.
    pub fn debug_frames(&self) -> FrameCursor<'_, T> {
        FrameCursor {
            store: self,
            index: 0,
        }
    }

    /// The Wasm backtrace of the current call, innermost first.
    pub fn backtrace(&self) -> Vec<FrameInfo> {
        let mut out = Vec::new();
        let mut cursor = self.debug_frames();
        while !cursor.done() {
            let func = cursor.func_index();
            out.push(FrameInfo {
                func,
                name: cursor.module().func_name(func).map(str::to_string),
                pc: cursor.pc(),
            });
            cursor.move_to_parent();
        }
        out
    }
}

/// A view of the guest's frames, innermost first, valid while the guest is paused (step budget,
/// breakpoint, debug event, or inside a host function).
///
/// It reads frames through the engine interface in engine-neutral form (function, Wasm pc,
/// locals, operand stack) and types their values from the frame shapes computed at
/// translation, so it shows every engine's frames alike.
pub struct FrameCursor<'a, T> {
    store: &'a Store<T>,
    /// 0 is the innermost frame.
    index: usize,
}

impl<T> FrameCursor<'_, T> {
    fn frame(&self) -> FrameRef<'_> {
        assert!(!self.done(), "frame cursor is past the outermost frame");
        let store = self.store;
        store
            .engine
            .frame(&store.inner, self.index, store.inner.call.in_host)
    }

    /// Whether the frame's next instruction is a `call`, `call_indirect` or `call_ref` (for the innermost
    /// frame; callers are always at a call).
    pub fn is_at_call(&self) -> bool {
        if self.done() {
            return false;
        }
        if self.index > 0 || self.store.inner.call.in_host {
            return true;
        }
        let pc = self.frame().pc as usize;
        // The opcodes of `call`, `call_indirect` and `call_ref`. Tail calls are not calls
        // here: the callee replaces the frame, so stepping over one lands in the callee.
        matches!(self.module().bytes().get(pc), Some(0x10 | 0x11 | 0x14))
    }

    /// Moves to the caller's frame.
    pub fn move_to_parent(&mut self) {
        self.index += 1;
    }

    /// Whether the cursor has moved past the outermost frame (or there are no frames).
    pub fn done(&self) -> bool {
        self.index >= self.depth()
    }

    /// Number of frames in all.
    pub fn depth(&self) -> usize {
        if self.store.inner.call.active {
            self.store.engine.depth()
        } else {
            0
        }
    }

    /// The instance of the current frame.
    ///
    /// # Panics
    /// If [`FrameCursor::done`].
    pub fn instance(&self) -> Instance {
        self.frame().instance
    }

    /// The module of the current frame.
    ///
    /// # Panics
    /// If [`FrameCursor::done`].
    pub fn module(&self) -> &Module {
        &self.store.inner.instances[self.frame().instance].module
    }

    /// The function of the current frame, as a store handle.
    ///
    /// # Panics
    /// If [`FrameCursor::done`].
    pub fn func(&self) -> crate::Func {
        self.frame().func
    }

    /// The function's index in its module's function index space.
    ///
    /// # Panics
    /// If [`FrameCursor::done`].
    pub fn func_index(&self) -> FuncIndex {
        let f = self.frame();
        FuncIndex::from_u32(self.module().num_imported_funcs() + f.def.as_u32())
    }

    /// Module-relative byte offset of the frame's instruction: the next one to execute in the
    /// innermost frame, the `call` in the others (and in the innermost one while a host
    /// function it called runs).
    ///
    /// # Panics
    /// If [`FrameCursor::done`].
    pub fn pc(&self) -> u32 {
        self.frame().pc
    }

    /// `(function index, pc)`, as wasmtime's `wasm_function_index_and_pc`.
    pub fn wasm_function_index_and_pc(&self) -> Option<(FuncIndex, u32)> {
        (!self.done()).then(|| (self.func_index(), self.pc()))
    }

    /// Number of locals, parameters included.
    pub fn num_locals(&self) -> u32 {
        let f = self.frame();
        self.module().inner.local_types[f.def].len() as u32
    }

    /// A local's value.
    ///
    /// # Panics
    /// If `index >= num_locals()`.
    pub fn local(&self, index: u32) -> Val {
        let f = self.frame();
        let types = &self.module().inner.local_types[f.def];
        let ty = types[index as usize];
        let at = ValType::cells_of(&types[..index as usize]);
        Val::read_cells(f.locals, at, ty)
    }

    /// Depth of the operand stack.
    pub fn num_stacks(&self) -> u32 {
        self.stack_layout().len() as u32
    }

    /// The operands' types and first cells, bottom first: from the frame shape, with a
    /// returning frame's results on top (at a body's end the shape says so too, but after a
    /// tail call to a host function the shape at its pc has the call's arguments there).
    fn stack_layout(&self) -> Vec<(ValType, usize)> {
        let f = self.frame();
        let inner = &self.module().inner;
        let shape = inner.shapes[f.def].stack_at(f.pc).unwrap_or_default();
        let results = inner.types[inner.funcs[self.func_index()]].results();
        let n = f.stack.len();
        let result_cells = ValType::cells_of(results);
        let (below, top) = if f.returning && n >= result_cells {
            (n - result_cells, results)
        } else {
            (n, &[][..])
        };
        let mut out = Vec::with_capacity(shape.len() + top.len());
        let mut at = 0;
        for t in shape {
            if at + t.cells() > below {
                break;
            }
            out.push((*t, at));
            at += t.cells();
        }
        while at < below {
            out.push((ValType::I64, at));
            at += 1;
        }
        for t in top {
            out.push((*t, at));
            at += t.cells();
        }
        out
    }

    /// The operand at `index`, 0 being the bottom of the stack.
    ///
    /// # Panics
    /// If `index >= num_stacks()`.
    pub fn stack(&self, index: u32) -> Val {
        let layout = self.stack_layout();
        let Some(&(ty, at)) = layout.get(index as usize) else {
            panic!("operand index out of range");
        };
        Val::read_cells(self.frame().stack, at, ty)
    }

    /// The store (for reading memory and globals while paused).
    pub fn store(&self) -> &Store<T> {
        self.store
    }
}
