//! The interpreter: Wasm's abstract machine made explicit.
//!
//! A single value stack of untyped 64-bit cells holds every frame's locals followed by its
//! operands; a call stack of [`Frame`]s records (function, pc, locals base). Calls and returns
//! update those vectors — no Rust recursion per Wasm call — so execution can stop anywhere
//! (step budget, breakpoint, host call) and the whole state is plain data that the debug API
//! reads and snapshots copy. It is the first implementation of the [`Engine`] interface: the
//! driver (`driver.rs`) sees only that, and the frame cursor and snapshots see its frames in
//! engine-neutral form ([`FrameRef`], [`EngineState`]), converted at the boundary.
//!
//! # Two loops, one set of semantics
//! `Interp::run_loop` is instantiated twice. The fast loop counts steps once per run of
//! straight-line code (see `code.rs`) and checks nothing per instruction. The single-step loop
//! counts each step and checks the step budget and breakpoints before it. Execution switches
//! between them only at the head of a run, where the position is exact: the fast loop hands over
//! when a run would cross the budget, and the single-step loop hands back once it may run whole
//! runs again. So breakpoints and budgets cost nothing while unused.
//!
//! Anything that needs the driver — host calls, pauses, traps — leaves the loop with an [`Exit`];
//! a switch between the loops leaves it only as far as [`Engine::run`].

use crate::bulk;
use crate::code::{BinOp, CompiledFunc, DropKeep, LoadKind, Op, StoreWidth};
use crate::engine::{Engine, EngineState, Exit, FrameRef, FrameState};
use crate::memory::MemoryInstance;
use crate::simd;
use crate::store::{FuncKind, Instance, InstanceData, Memory, StoreInner};
use crate::trap::TrapCode;
use crate::types::{DefinedFuncIndex, Func};
use crate::wasm::{
    self, UnOp, eval_bin, eval_un, f32_, f64_, i32_, i64_, ri32, ri64, ru32, ru64, u32_,
};
use cranelift_entity::{EntityRef, PrimaryMap};

/// Why the loop returned: to the driver, or to switch loops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LoopExit {
    Out(Exit),
    ToFast,
    ToSlow,
    /// The innermost frame throws this exception: its pc is at the throw, its operands as
    /// before it, and the throw's step is counted in the position.
    Throw(crate::store::Exn),
}

/// One frame of the interpreter's call stack.
#[derive(Clone, Copy, Debug)]
struct Frame {
    func: Func,
    instance: Instance,
    def: DefinedFuncIndex,
    /// Index of the next op to execute (for a frame that called another one, the op after the
    /// call).
    pc: u32,
    /// Index of the first local in the value stack.
    fp: u32,
}

/// The interpreter: its value stack and call stack (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Interp {
    cells: Vec<u64>,
    sp: usize,
    frames: Vec<Frame>,
    /// Execution resumes in the single-step loop (the pc may be inside a run).
    slow: bool,
    /// The next step ignores a breakpoint at its pc (we are resuming from it).
    skip_breakpoint: bool,
    /// A throw reported to the driver ([`Exit::Thrown`]) and not yet unwound: the next run
    /// unwinds it first.
    pending_throw: Option<crate::store::Exn>,
}

#[inline(always)]
fn branch(cells: &mut [u64], sp: usize, dk: DropKeep) -> usize {
    if dk.drop == 0 {
        return sp;
    }
    let keep = dk.keep as usize;
    let drop = dk.drop as usize;
    if keep == 1 {
        cells[sp - 1 - drop] = cells[sp - 1];
    } else if keep > 0 {
        cells.copy_within(sp - keep..sp, sp - keep - drop);
    }
    sp - drop
}

/// The guest memory range an op is about to write, for watchpoints: the memory, the address
/// and the length.
fn write_range(
    op: &Op,
    cells: &[u64],
    sp: usize,
    code: &CompiledFunc,
    inst: &InstanceData,
    memories: &PrimaryMap<Memory, MemoryInstance>,
) -> Option<(Memory, u64, u64)> {
    let addr = |off: u32| u64::from(cells[sp - 2] as u32) + u64::from(off);
    let mem0 = inst.mem0;
    Some(match *op {
        Op::I32Store(o) | Op::F32Store(o) | Op::I64Store32(o) => (mem0, addr(o), 4),
        Op::I64Store(o) | Op::F64Store(o) => (mem0, addr(o), 8),
        Op::I32Store8(o) | Op::I64Store8(o) => (mem0, addr(o), 1),
        Op::I32Store16(o) | Op::I64Store16(o) => (mem0, addr(o), 2),
        Op::StoreX { width, arg } => {
            let a = code.mem_args[arg as usize];
            let m = inst.memories[a.memory.index()];
            let base = bulk::address(&memories[m], cells[sp - 2]);
            (m, base.wrapping_add(a.offset), width.bytes())
        }
        Op::V128Store(arg) | Op::V128StoreLane { arg, bytes: _, .. } => {
            let a = code.mem_args[arg as usize];
            let m = inst.memories[a.memory.index()];
            let base = bulk::address(&memories[m], cells[sp - 3]);
            let len = match *op {
                Op::V128StoreLane { bytes, .. } => u64::from(bytes),
                _ => 16,
            };
            (m, base.wrapping_add(a.offset), len)
        }
        Op::MemoryFill(mem) | Op::MemoryInit { mem, .. } => {
            let m = inst.memories[mem.index()];
            let n = if let Op::MemoryInit { .. } = op {
                cells[sp - 1] as u32 as u64
            } else {
                bulk::address(&memories[m], cells[sp - 1])
            };
            (m, bulk::address(&memories[m], cells[sp - 3]), n)
        }
        Op::MemoryCopy { dst, src } => {
            let (d, s) = (inst.memories[dst.index()], inst.memories[src.index()]);
            let both64 = memories[d].ty.memory64 && memories[s].ty.memory64;
            let n = if both64 {
                cells[sp - 1]
            } else {
                cells[sp - 1] as u32 as u64
            };
            (d, bulk::address(&memories[d], cells[sp - 3]), n)
        }
        _ => return None,
    })
}

/// A fused load: the cell read at `addr`, or `None` when out of bounds.
#[inline(always)]
pub(crate) fn fused_load(data: &[u8], addr: u64, kind: LoadKind) -> Option<u64> {
    use wasm::load;
    Some(match kind {
        LoadKind::U32 => u64::from(u32::from_le_bytes(load(data, addr)?)),
        LoadKind::U64 => u64::from_le_bytes(load(data, addr)?),
        LoadKind::U8 => u64::from(load::<1>(data, addr)?[0]),
        LoadKind::U16 => u64::from(u16::from_le_bytes(load(data, addr)?)),
        LoadKind::I32S8 => ri32(i32::from(load::<1>(data, addr)?[0] as i8)),
        LoadKind::I32S16 => ri32(i32::from(i16::from_le_bytes(load(data, addr)?))),
        LoadKind::I64S8 => ri64(i64::from(load::<1>(data, addr)?[0] as i8)),
        LoadKind::I64S16 => ri64(i64::from(i16::from_le_bytes(load(data, addr)?))),
        LoadKind::I64S32 => ri64(i64::from(i32::from_le_bytes(load(data, addr)?))),
    })
}

/// A fused store of the low bytes of `v` at `addr`; `false` (nothing written) when out of
/// bounds.
#[inline(always)]
pub(crate) fn fused_store(m: &mut MemoryInstance, addr: u64, width: StoreWidth, v: u64) -> bool {
    match width {
        StoreWidth::W8 => m.store(addr, [v as u8]),
        StoreWidth::W16 => m.store(addr, (v as u16).to_le_bytes()),
        StoreWidth::W32 => m.store(addr, (v as u32).to_le_bytes()),
        StoreWidth::W64 => m.store(addr, v.to_le_bytes()),
    }
}

impl Interp {
    /// Runs the current activation until something needs the driver or the other loop. `SLOW`
    /// selects the single-step loop.
    #[allow(
        clippy::cognitive_complexity,
        clippy::too_many_lines,
        reason = "the interpreter's one dispatch loop; splitting it costs speed"
    )]
    fn run_loop<const SLOW: bool>(&mut self, store: &mut StoreInner) -> LoopExit {
        let StoreInner {
            config,
            funcs,
            instances,
            segments,
            memories,
            tables,
            globals,
            position,
            stop_at,
            breakpoints,
            tags,
            exceptions,
            ..
        } = store;
        let Interp {
            cells: cells_vec,
            sp: exec_sp,
            frames,
            skip_breakpoint,
            ..
        } = self;
        let max_depth = config.max_call_depth as usize;
        let canon = config.nan_canonicalization;
        let max_pages = config.max_memory_pages;
        let max_table = config.max_table_elements;
        let stop_at = *stop_at;
        let bp_active = !breakpoints.is_empty();
        let watching = breakpoints.watching();
        // The write range of the op just executed, checked against watchpoints before the
        // next one (so a watchpoint stops *after* the writing instruction).
        let mut pending_write: Option<(Memory, u64, u64)> = None;

        let frame = *frames.last().expect("an active frame");
        let mut inst = &instances[frame.instance];
        let mut cur_instance = frame.instance;
        let mut code = inst.code(frame.def);
        let mut ops: &[Op] = &code.ops;
        let mut pc = frame.pc as usize;
        let mut fp = frame.fp as usize;
        let mut sp = *exec_sp;
        let mut mem0 = inst.mem0;
        let mut bp_bits: &[u64] = if SLOW && bp_active {
            breakpoints.bits(inst.module.ptr_id(), frame.def)
        } else {
            &[]
        };
        let mut skip_bp = *skip_breakpoint;
        // A slice rather than the Vec: one indirection less on every stack access. It is
        // re-taken after the only resize (on calls).
        let mut cells: &mut [u64] = cells_vec.as_mut_slice();

        macro_rules! save {
            () => {{
                *exec_sp = sp;
                frames.last_mut().expect("frame").pc = pc as u32;
                *skip_breakpoint = skip_bp;
            }};
        }
        // `pc` has already moved past the op: point it back at the trapping op.
        macro_rules! trap {
            ($code:expr) => {{
                pc -= 1;
                save!();
                return LoopExit::Out(Exit::Trap($code));
            }};
        }
        macro_rules! push {
            ($v:expr) => {{
                cells[sp] = $v;
                sp += 1;
            }};
        }
        macro_rules! un_op {
            ($op:expr) => {{
                cells[sp - 1] = eval_un($op, cells[sp - 1], canon);
            }};
        }
        macro_rules! binop {
            ($op:expr) => {{
                let b = cells[sp - 1];
                let a = cells[sp - 2];
                sp -= 1;
                cells[sp - 1] = eval_bin($op, a, b, canon);
            }};
        }
        macro_rules! getv {
            ($i:expr) => {{
                let i: usize = $i;
                u128::from(cells[i]) | u128::from(cells[i + 1]) << 64
            }};
        }
        macro_rules! setv {
            ($i:expr, $v:expr) => {{
                let i: usize = $i;
                let v: u128 = $v;
                cells[i] = v as u64;
                cells[i + 1] = (v >> 64) as u64;
            }};
        }
        macro_rules! local {
            ($i:expr) => {
                cells[fp + $i as usize]
            };
        }
        // Completes a fused header whose last covered op is the `br_if` or `if` at `pc`, with
        // its condition already evaluated (and nothing left on the stack for it).
        macro_rules! fused_branch {
            ($cond:expr) => {{
                let cond: bool = $cond;
                match ops[pc] {
                    Op::BrIf(t) => {
                        if cond {
                            sp = branch(cells, sp, t.dk);
                            pc = t.pc as usize;
                        } else {
                            pc += 1;
                        }
                    }
                    Op::If(target) => {
                        if cond {
                            pc += 1;
                        } else {
                            pc = target as usize;
                        }
                    }
                    other => unreachable!("fused branch ends with {other:?}"),
                }
            }};
        }
        // `local.get a; i32.const k; <cmp>; br_if/if` with the comparison known statically.
        macro_rules! i32_cmp_br {
            ($a:expr, $k:expr, $from:ident, $cmp:expr) => {{
                pc += 3;
                fused_branch!($cmp($from(local!($a)), $from(u64::from($k))));
            }};
        }
        // A fused local.set/tee of `$v` to local `$c`.
        macro_rules! fused_set {
            ($c:expr, $tee:expr, $v:expr) => {{
                let v: u64 = $v;
                local!($c) = v;
                if $tee {
                    push!(v);
                }
            }};
        }
        macro_rules! bin_trap {
            ($from:ident, $to:expr, $f:expr) => {{
                let b = $from(cells[sp - 1]);
                let a = $from(cells[sp - 2]);
                match $f(a, b) {
                    Ok(r) => {
                        sp -= 1;
                        cells[sp - 1] = $to(r);
                    }
                    Err(code) => trap!(code),
                }
            }};
        }
        macro_rules! un_trap {
            ($from:ident, $to:expr, $f:expr) => {{
                let a = $from(cells[sp - 1]);
                match $f(a) {
                    Ok(r) => cells[sp - 1] = $to(r),
                    Err(code) => trap!(code),
                }
            }};
        }
        macro_rules! load {
            ($off:expr, $n:literal, $conv:expr) => {{
                let addr = u64::from(cells[sp - 1] as u32) + u64::from($off);
                let Some(b) = wasm::load::<$n>(&memories[mem0].data, addr) else {
                    trap!(TrapCode::MemoryOutOfBounds);
                };
                cells[sp - 1] = $conv(b);
            }};
        }
        macro_rules! store {
            ($off:expr, $n:literal, $bytes:expr) => {{
                let v = cells[sp - 1];
                let addr = u64::from(cells[sp - 2] as u32) + u64::from($off);
                let b: [u8; $n] = $bytes(v);
                if !memories[mem0].store(addr, b) {
                    trap!(TrapCode::MemoryOutOfBounds);
                }
                sp -= 2;
            }};
        }
        macro_rules! enter_frame {
            ($caller:expr) => {{
                let f: Frame = $caller;
                inst = &instances[f.instance];
                cur_instance = f.instance;
                code = inst.code(f.def);
                ops = &code.ops;
                pc = f.pc as usize;
                fp = f.fp as usize;
                mem0 = inst.mem0;
                if SLOW && bp_active {
                    bp_bits = breakpoints.bits(inst.module.ptr_id(), f.def);
                }
            }};
        }
        // Calls Wasm function `f`, defined as `def` in `instance`, with its arguments on top of
        // the stack, after popping `$pre` more cells (the table index of `call_indirect`) once
        // the call is known not to trap.
        macro_rules! call_wasm {
            ($f:expr, $instance:expr, $def:expr, $pre:expr) => {{
                if frames.len() >= max_depth {
                    trap!(TrapCode::CallStackExhausted);
                }
                sp -= $pre;
                frames.last_mut().expect("frame").pc = pc as u32;
                enter_callee!($f, $instance, $def)
            }};
        }
        // Pushes the callee's frame over its arguments, the top operands, and enters it.
        macro_rules! enter_callee {
            ($f:expr, $instance:expr, $def:expr) => {{
                let (f, instance, def): (Func, Instance, DefinedFuncIndex) = ($f, $instance, $def);
                let callee = instances[instance].code(def);
                let new_fp = sp - callee.num_params as usize;
                let locals_end = new_fp + callee.num_locals as usize;
                let need = locals_end + callee.max_stack as usize;
                if cells.len() < need {
                    let len = cells.len();
                    cells_vec.resize(need.max(len * 2), 0);
                    cells = cells_vec.as_mut_slice();
                }
                if locals_end > sp {
                    cells[sp..locals_end].fill(0);
                }
                sp = locals_end;
                frames.push(Frame {
                    func: f,
                    instance,
                    def,
                    pc: 0,
                    fp: new_fp as u32,
                });
                // Enter the callee without looking it up again.
                if instance != cur_instance {
                    inst = &instances[instance];
                    cur_instance = instance;
                    mem0 = inst.mem0;
                }
                code = callee;
                ops = &code.ops;
                pc = 0;
                fp = new_fp;
                if SLOW && bp_active {
                    bp_bits = breakpoints.bits(inst.module.ptr_id(), def);
                }
            }};
        }
        // A tail call of any function `f`, with its arguments on top of the stack above `$pre`
        // more cells. A Wasm callee replaces the frame: the arguments move down to the frame's
        // base and the frame is popped, so the depth stays as it was (no depth check: the
        // callee takes the caller's place). A host callee runs with the frame still there,
        // which then returns the host's results at the `Exit` after the tail call.
        macro_rules! tail_call {
            ($f:expr, $pre:expr) => {{
                let f: Func = $f;
                sp -= $pre;
                match funcs[f].kind {
                    FuncKind::Wasm { instance, def } => {
                        let n = instances[instance].code(def).num_params as usize;
                        cells.copy_within(sp - n..sp, fp);
                        sp = fp + n;
                        frames.pop();
                        enter_callee!(f, instance, def)
                    }
                    FuncKind::Host { .. } => {
                        save!();
                        return LoopExit::Out(Exit::Host(f));
                    }
                }
            }};
        }
        // Calls any function `f`, as `call_wasm!`.
        macro_rules! call {
            ($f:expr, $pre:expr) => {{
                let f: Func = $f;
                match funcs[f].kind {
                    FuncKind::Wasm { instance, def } => call_wasm!(f, instance, def, $pre),
                    FuncKind::Host { .. } => {
                        sp -= $pre;
                        save!();
                        return LoopExit::Out(Exit::Host(f));
                    }
                }
            }};
        }

        loop {
            let op = ops[pc];
            if SLOW {
                if let Some((mem, addr, len)) = pending_write.take()
                    && breakpoints.watch_hit(mem, addr, len)
                {
                    save!();
                    return LoopExit::Out(Exit::Watchpoint(mem, addr, len));
                }
                match op {
                    Op::Steps(n) => {
                        if !bp_active && *position + u64::from(n) <= stop_at {
                            *position += u64::from(n);
                            pc += 1;
                            // No breakpoints: nothing left to skip (a restored pause at a
                            // breakpoint on a run's first instruction resumes at its head).
                            skip_bp = false;
                            save!();
                            return LoopExit::ToFast;
                        }
                        pc += 1;
                        continue;
                    }
                    Op::Jump(_) | Op::Exit => {}
                    // The single-step loop executes the ops a header covers one by one.
                    _ if op.is_fused() => {
                        pc += 1;
                        continue;
                    }
                    _ => {
                        if bp_active && !skip_bp && crate::debug::bit(bp_bits, pc) {
                            save!();
                            return LoopExit::Out(Exit::Breakpoint);
                        }
                        if *position >= stop_at {
                            save!();
                            return LoopExit::Out(Exit::StepBudget);
                        }
                        skip_bp = false;
                        *position += 1;
                        if watching {
                            pending_write = write_range(&op, cells, sp, code, inst, memories);
                        }
                    }
                }
            }
            pc += 1;
            match op {
                Op::Steps(n) => {
                    // Only the fast loop gets here.
                    if *position + u64::from(n) > stop_at {
                        pc -= 1;
                        save!();
                        return LoopExit::ToSlow;
                    }
                    *position += u64::from(n);
                }
                Op::Jump(target) => pc = target as usize,
                Op::Unreachable => trap!(TrapCode::UnreachableCodeReached),
                Op::Nop => {}
                Op::Br(t) => {
                    sp = branch(cells, sp, t.dk);
                    pc = t.pc as usize;
                }
                Op::BrIf(t) => {
                    sp -= 1;
                    if cells[sp] as u32 != 0 {
                        sp = branch(cells, sp, t.dk);
                        pc = t.pc as usize;
                    }
                }
                Op::If(target) => {
                    sp -= 1;
                    if cells[sp] as u32 == 0 {
                        pc = target as usize;
                    }
                }
                Op::BrTable { start, len } => {
                    let i = cells[sp - 1] as u32;
                    sp -= 1;
                    let i = i.min(len - 1);
                    let t = code.br_tables[(start + i) as usize];
                    sp = branch(cells, sp, t.dk);
                    pc = t.pc as usize;
                }
                Op::Return | Op::Exit => {
                    let n = code.num_results as usize;
                    if n == 1 {
                        cells[fp] = cells[sp - 1];
                    } else {
                        cells.copy_within(sp - n..sp, fp);
                    }
                    sp = fp + n;
                    frames.pop();
                    match frames.last() {
                        None => {
                            *exec_sp = sp;
                            *skip_breakpoint = skip_bp;
                            return LoopExit::Out(Exit::Returned);
                        }
                        Some(caller) => {
                            let caller = *caller;
                            if caller.instance == cur_instance {
                                code = inst.code(caller.def);
                                ops = &code.ops;
                                pc = caller.pc as usize;
                                fp = caller.fp as usize;
                                if SLOW && bp_active {
                                    bp_bits = breakpoints.bits(inst.module.ptr_id(), caller.def);
                                }
                            } else {
                                enter_frame!(caller);
                            }
                        }
                    }
                }
                Op::Call(f) => {
                    // A function the module defines runs in this same instance: no need to look
                    // at the store's function table.
                    let func = inst.funcs[f.index()];
                    match f.as_u32().checked_sub(inst.module.inner.num_imported_funcs) {
                        Some(d) => call_wasm!(func, cur_instance, DefinedFuncIndex::from_u32(d), 0),
                        None => call!(func, 0),
                    }
                }
                Op::CallIndirect { ty, table } => {
                    let f = match indirect_callee(funcs, tables, inst, cells[sp - 1], ty, table) {
                        Ok(f) => f,
                        Err(code) => trap!(code),
                    };
                    call!(f, 1)
                }
                Op::CallRef(_) => {
                    let cell = cells[sp - 1];
                    if cell == 0 {
                        trap!(TrapCode::NullFunctionReference);
                    }
                    call!(Func::from_u32((cell - 1) as u32), 1)
                }
                Op::ReturnCallRef(_) => {
                    let cell = cells[sp - 1];
                    if cell == 0 {
                        trap!(TrapCode::NullFunctionReference);
                    }
                    tail_call!(Func::from_u32((cell - 1) as u32), 1)
                }
                Op::BrOnNull(t) => {
                    if cells[sp - 1] == 0 {
                        sp -= 1;
                        sp = branch(cells, sp, t.dk);
                        pc = t.pc as usize;
                    }
                }
                Op::BrOnNonNull(t) => {
                    if cells[sp - 1] == 0 {
                        sp -= 1;
                    } else {
                        sp = branch(cells, sp, t.dk);
                        pc = t.pc as usize;
                    }
                }
                Op::RefAsNonNull => {
                    if cells[sp - 1] == 0 {
                        trap!(TrapCode::NullReference);
                    }
                }
                Op::Throw(tag) => {
                    let tag = inst.tags[tag.index()];
                    let n = crate::types::ValType::cells_of(tags[tag].ty.params());
                    let exn = std::sync::Arc::make_mut(exceptions).alloc(tag, &cells[sp - n..sp]);
                    pc -= 1;
                    save!();
                    return LoopExit::Throw(exn);
                }
                Op::ThrowRef => {
                    let cell = cells[sp - 1];
                    if cell == 0 {
                        trap!(TrapCode::NullExceptionReference);
                    }
                    pc -= 1;
                    save!();
                    return LoopExit::Throw(crate::store::Exn::from_u32((cell - 1) as u32));
                }
                Op::Rethrow(local) => {
                    // Set when the catch block was entered: never null.
                    let cell = local!(local);
                    pc -= 1;
                    save!();
                    return LoopExit::Throw(crate::store::Exn::from_u32((cell - 1) as u32));
                }
                Op::ReturnCall(f) => tail_call!(inst.funcs[f.index()], 0),
                Op::ReturnCallIndirect { ty, table } => {
                    let f = match indirect_callee(funcs, tables, inst, cells[sp - 1], ty, table) {
                        Ok(f) => f,
                        Err(code) => trap!(code),
                    };
                    tail_call!(f, 1)
                }
                Op::Drop => sp -= 1,
                Op::LocalGetV(c) => {
                    cells[sp] = local!(c);
                    cells[sp + 1] = local!(c + 1);
                    sp += 2;
                }
                Op::LocalSetV(c) => {
                    sp -= 2;
                    local!(c) = cells[sp];
                    local!(c + 1) = cells[sp + 1];
                }
                Op::LocalTeeV(c) => {
                    local!(c) = cells[sp - 2];
                    local!(c + 1) = cells[sp - 1];
                }
                Op::GlobalGetV(g) => {
                    let g = &globals[inst.globals[g.index()]];
                    cells[sp] = g.value;
                    cells[sp + 1] = g.hi;
                    sp += 2;
                }
                Op::GlobalSetV(g) => {
                    sp -= 2;
                    let g = &mut globals[inst.globals[g.index()]];
                    g.value = cells[sp];
                    g.hi = cells[sp + 1];
                }
                Op::SelectV => {
                    let c = cells[sp - 1] as u32;
                    sp -= 3;
                    if c == 0 {
                        cells[sp - 2] = cells[sp];
                        cells[sp - 1] = cells[sp + 1];
                    }
                }
                Op::DropV => sp -= 2,
                Op::V128Const(i) => {
                    setv!(sp, code.v128_consts[i as usize]);
                    sp += 2;
                }
                Op::I8x16Shuffle(i) => {
                    let lanes = code.v128_consts[i as usize].to_le_bytes();
                    let (a, b) = (getv!(sp - 4), getv!(sp - 2));
                    sp -= 2;
                    setv!(sp - 2, simd::shuffle(&lanes, a, b));
                }
                Op::SimdUn(o) => setv!(sp - 2, simd::un(o, getv!(sp - 2), canon)),
                Op::SimdBin(o) => {
                    let (a, b) = (getv!(sp - 4), getv!(sp - 2));
                    sp -= 2;
                    setv!(sp - 2, simd::bin(o, a, b, canon));
                }
                Op::SimdTer(o) => {
                    let (a, b, c) = (getv!(sp - 6), getv!(sp - 4), getv!(sp - 2));
                    sp -= 4;
                    setv!(sp - 2, simd::ter(o, a, b, c, canon));
                }
                Op::SimdTest(o) => {
                    let a = getv!(sp - 2);
                    sp -= 1;
                    cells[sp - 1] = simd::test(o, a);
                }
                Op::SimdShift(o) => {
                    let n = cells[sp - 1];
                    sp -= 1;
                    setv!(sp - 2, simd::shift(o, getv!(sp - 2), n));
                }
                Op::SimdSplat(o) => {
                    let x = cells[sp - 1];
                    setv!(sp - 1, simd::splat(o, x));
                    sp += 1;
                }
                Op::ExtractLane { op, lane } => {
                    let a = getv!(sp - 2);
                    sp -= 1;
                    cells[sp - 1] = simd::extract(op, lane, a);
                }
                Op::ReplaceLane { op, lane } => {
                    let x = cells[sp - 1];
                    sp -= 1;
                    setv!(sp - 2, simd::replace(op, lane, getv!(sp - 2), x));
                }
                Op::V128Load { kind, arg } => {
                    let a = code.mem_args[arg as usize];
                    let m = &memories[inst.memories[a.memory.index()]];
                    match bulk::load_bytes(m, cells[sp - 1], a.offset, kind.bytes()) {
                        Ok(raw) => {
                            setv!(sp - 1, kind.make(raw));
                            sp += 1;
                        }
                        Err(code) => trap!(code),
                    }
                }
                Op::V128Store(arg) => {
                    let a = code.mem_args[arg as usize];
                    let m = &mut memories[inst.memories[a.memory.index()]];
                    let v = getv!(sp - 2);
                    if let Err(code) = bulk::store_bytes(m, cells[sp - 3], a.offset, 16, v) {
                        trap!(code);
                    }
                    sp -= 3;
                }
                Op::V128LoadLane { bytes, lane, arg } => {
                    let a = code.mem_args[arg as usize];
                    let m = &memories[inst.memories[a.memory.index()]];
                    match bulk::load_bytes(m, cells[sp - 3], a.offset, u64::from(bytes)) {
                        Ok(raw) => {
                            let v = simd::set_lane_bits(getv!(sp - 2), bytes, lane, raw as u64);
                            sp -= 1;
                            setv!(sp - 2, v);
                        }
                        Err(code) => trap!(code),
                    }
                }
                Op::V128StoreLane { bytes, lane, arg } => {
                    let a = code.mem_args[arg as usize];
                    let m = &mut memories[inst.memories[a.memory.index()]];
                    let x = u128::from(simd::get_lane_bits(getv!(sp - 2), bytes, lane));
                    if let Err(code) =
                        bulk::store_bytes(m, cells[sp - 3], a.offset, u64::from(bytes), x)
                    {
                        trap!(code);
                    }
                    sp -= 3;
                }
                Op::Select => {
                    let c = cells[sp - 1] as u32;
                    let b = cells[sp - 2];
                    sp -= 2;
                    if c == 0 {
                        cells[sp - 1] = b;
                    }
                }
                Op::LocalGet(i) => push!(cells[fp + i as usize]),
                Op::LocalSet(i) => {
                    sp -= 1;
                    cells[fp + i as usize] = cells[sp];
                }
                Op::LocalTee(i) => cells[fp + i as usize] = cells[sp - 1],
                Op::GlobalGet(g) => push!(globals[inst.globals[g.index()]].value),
                Op::GlobalSet(g) => {
                    sp -= 1;
                    globals[inst.globals[g.index()]].value = cells[sp];
                }
                Op::TableGet(t) => {
                    let t = &tables[inst.tables[t.index()]];
                    let i = bulk::index(t, cells[sp - 1]) as usize;
                    let Some(&v) = t.elements.get(i) else {
                        trap!(TrapCode::TableOutOfBounds);
                    };
                    cells[sp - 1] = v;
                }
                Op::TableSet(t) => {
                    let v = cells[sp - 1];
                    let t = &mut tables[inst.tables[t.index()]];
                    let i = bulk::index(t, cells[sp - 2]) as usize;
                    let Some(slot) = t.elements.get_mut(i) else {
                        trap!(TrapCode::TableOutOfBounds);
                    };
                    *slot = v;
                    sp -= 2;
                }

                Op::I32Load(o) => load!(o, 4, |b| ru32(u32::from_le_bytes(b))),
                Op::I64Load(o) => load!(o, 8, u64::from_le_bytes),
                Op::F32Load(o) => load!(o, 4, |b| ru32(u32::from_le_bytes(b))),
                Op::F64Load(o) => load!(o, 8, u64::from_le_bytes),
                Op::I32Load8S(o) => load!(o, 1, |b: [u8; 1]| ri32(b[0] as i8 as i32)),
                Op::I32Load8U(o) => load!(o, 1, |b: [u8; 1]| u64::from(b[0])),
                Op::I32Load16S(o) => load!(o, 2, |b| ri32(i16::from_le_bytes(b) as i32)),
                Op::I32Load16U(o) => load!(o, 2, |b| u64::from(u16::from_le_bytes(b))),
                Op::I64Load8S(o) => load!(o, 1, |b: [u8; 1]| ri64(b[0] as i8 as i64)),
                Op::I64Load8U(o) => load!(o, 1, |b: [u8; 1]| u64::from(b[0])),
                Op::I64Load16S(o) => load!(o, 2, |b| ri64(i16::from_le_bytes(b) as i64)),
                Op::I64Load16U(o) => load!(o, 2, |b| u64::from(u16::from_le_bytes(b))),
                Op::I64Load32S(o) => load!(o, 4, |b| ri64(i32::from_le_bytes(b) as i64)),
                Op::I64Load32U(o) => load!(o, 4, |b| u64::from(u32::from_le_bytes(b))),
                Op::I32Store(o) | Op::F32Store(o) => {
                    store!(o, 4, |v: u64| (v as u32).to_le_bytes())
                }
                Op::I64Store(o) | Op::F64Store(o) => store!(o, 8, |v: u64| v.to_le_bytes()),
                Op::I32Store8(o) | Op::I64Store8(o) => store!(o, 1, |v: u64| [v as u8]),
                Op::I32Store16(o) | Op::I64Store16(o) => {
                    store!(o, 2, |v: u64| (v as u16).to_le_bytes())
                }
                Op::I64Store32(o) => store!(o, 4, |v: u64| (v as u32).to_le_bytes()),
                Op::LoadX { kind, arg } => {
                    let a = code.mem_args[arg as usize];
                    let m = &memories[inst.memories[a.memory.index()]];
                    match bulk::load(m, cells[sp - 1], a.offset, kind) {
                        Ok(v) => cells[sp - 1] = v,
                        Err(code) => trap!(code),
                    }
                }
                Op::StoreX { width, arg } => {
                    let a = code.mem_args[arg as usize];
                    let m = &mut memories[inst.memories[a.memory.index()]];
                    if let Err(code) = bulk::store(m, cells[sp - 2], a.offset, width, cells[sp - 1])
                    {
                        trap!(code);
                    }
                    sp -= 2;
                }
                Op::MemorySize(mem) => push!(memories[inst.memories[mem.index()]].pages()),
                Op::MemoryGrow(mem) => {
                    let m = &mut memories[inst.memories[mem.index()]];
                    cells[sp - 1] = bulk::memory_grow(m, cells[sp - 1], max_pages);
                }
                Op::MemoryFill(mem) => {
                    let m = &mut memories[inst.memories[mem.index()]];
                    let n = bulk::address(m, cells[sp - 1]);
                    let v = cells[sp - 2] as u8;
                    let dst = bulk::address(m, cells[sp - 3]);
                    if let Err(code) = bulk::memory_fill(m, dst, v, n) {
                        trap!(code);
                    }
                    sp -= 3;
                }
                Op::MemoryCopy { dst, src } => {
                    let (d, s) = (inst.memories[dst.index()], inst.memories[src.index()]);
                    let r = bulk::memory_copy_x(
                        memories,
                        d,
                        s,
                        cells[sp - 3],
                        cells[sp - 2],
                        cells[sp - 1],
                    );
                    if let Err(code) = r {
                        trap!(code);
                    }
                    sp -= 3;
                }
                Op::MemoryInit { data, mem } => {
                    let m = &mut memories[inst.memories[mem.index()]];
                    let n = cells[sp - 1] as u32 as u64;
                    let s = cells[sp - 2] as u32 as u64;
                    let dst = bulk::address(m, cells[sp - 3]);
                    let bytes: &[u8] = if segments[cur_instance].dropped_datas[data.index()] {
                        &[]
                    } else {
                        &inst.module.inner.datas[data].bytes
                    };
                    if let Err(code) = bulk::memory_init(m, bytes, dst, s, n) {
                        trap!(code);
                    }
                    sp -= 3;
                }

                Op::I32Const(v) => push!(ri32(v)),
                Op::I64Const(v) => push!(ri64(v)),
                Op::F32Const(v) => push!(u64::from(v)),
                Op::F64Const(v) => push!(v),

                Op::I32Eqz => un_op!(UnOp::I32Eqz),
                Op::I32Eq => binop!(BinOp::I32Eq),
                Op::I32Ne => binop!(BinOp::I32Ne),
                Op::I32LtS => binop!(BinOp::I32LtS),
                Op::I32LtU => binop!(BinOp::I32LtU),
                Op::I32GtS => binop!(BinOp::I32GtS),
                Op::I32GtU => binop!(BinOp::I32GtU),
                Op::I32LeS => binop!(BinOp::I32LeS),
                Op::I32LeU => binop!(BinOp::I32LeU),
                Op::I32GeS => binop!(BinOp::I32GeS),
                Op::I32GeU => binop!(BinOp::I32GeU),
                Op::I64Eqz => un_op!(UnOp::I64Eqz),
                Op::I64Eq => binop!(BinOp::I64Eq),
                Op::I64Ne => binop!(BinOp::I64Ne),
                Op::I64LtS => binop!(BinOp::I64LtS),
                Op::I64LtU => binop!(BinOp::I64LtU),
                Op::I64GtS => binop!(BinOp::I64GtS),
                Op::I64GtU => binop!(BinOp::I64GtU),
                Op::I64LeS => binop!(BinOp::I64LeS),
                Op::I64LeU => binop!(BinOp::I64LeU),
                Op::I64GeS => binop!(BinOp::I64GeS),
                Op::I64GeU => binop!(BinOp::I64GeU),
                Op::F32Eq => binop!(BinOp::F32Eq),
                Op::F32Ne => binop!(BinOp::F32Ne),
                Op::F32Lt => binop!(BinOp::F32Lt),
                Op::F32Gt => binop!(BinOp::F32Gt),
                Op::F32Le => binop!(BinOp::F32Le),
                Op::F32Ge => binop!(BinOp::F32Ge),
                Op::F64Eq => binop!(BinOp::F64Eq),
                Op::F64Ne => binop!(BinOp::F64Ne),
                Op::F64Lt => binop!(BinOp::F64Lt),
                Op::F64Gt => binop!(BinOp::F64Gt),
                Op::F64Le => binop!(BinOp::F64Le),
                Op::F64Ge => binop!(BinOp::F64Ge),

                Op::I32Clz => un_op!(UnOp::I32Clz),
                Op::I32Ctz => un_op!(UnOp::I32Ctz),
                Op::I32Popcnt => un_op!(UnOp::I32Popcnt),
                Op::I32Add => binop!(BinOp::I32Add),
                Op::I32Sub => binop!(BinOp::I32Sub),
                Op::I32Mul => binop!(BinOp::I32Mul),
                Op::I32DivS => bin_trap!(i32_, ri32, wasm::i32_div_s),
                Op::I32DivU => bin_trap!(i32_, ri32, wasm::i32_div_u),
                Op::I32RemS => bin_trap!(i32_, ri32, wasm::i32_rem_s),
                Op::I32RemU => bin_trap!(i32_, ri32, wasm::i32_rem_u),
                Op::I32And => binop!(BinOp::I32And),
                Op::I32Or => binop!(BinOp::I32Or),
                Op::I32Xor => binop!(BinOp::I32Xor),
                Op::I32Shl => binop!(BinOp::I32Shl),
                Op::I32ShrS => binop!(BinOp::I32ShrS),
                Op::I32ShrU => binop!(BinOp::I32ShrU),
                Op::I32Rotl => binop!(BinOp::I32Rotl),
                Op::I32Rotr => binop!(BinOp::I32Rotr),
                Op::I64Clz => un_op!(UnOp::I64Clz),
                Op::I64Ctz => un_op!(UnOp::I64Ctz),
                Op::I64Popcnt => un_op!(UnOp::I64Popcnt),
                Op::I64Add => binop!(BinOp::I64Add),
                Op::I64Sub => binop!(BinOp::I64Sub),
                Op::I64Mul => binop!(BinOp::I64Mul),
                Op::I64DivS => bin_trap!(i64_, ri64, wasm::i64_div_s),
                Op::I64DivU => bin_trap!(i64_, ri64, wasm::i64_div_u),
                Op::I64RemS => bin_trap!(i64_, ri64, wasm::i64_rem_s),
                Op::I64RemU => bin_trap!(i64_, ri64, wasm::i64_rem_u),
                Op::I64And => binop!(BinOp::I64And),
                Op::I64Or => binop!(BinOp::I64Or),
                Op::I64Xor => binop!(BinOp::I64Xor),
                Op::I64Shl => binop!(BinOp::I64Shl),
                Op::I64ShrS => binop!(BinOp::I64ShrS),
                Op::I64ShrU => binop!(BinOp::I64ShrU),
                Op::I64Rotl => binop!(BinOp::I64Rotl),
                Op::I64Rotr => binop!(BinOp::I64Rotr),

                Op::F32Abs => un_op!(UnOp::F32Abs),
                Op::F32Neg => un_op!(UnOp::F32Neg),
                Op::F32Ceil => un_op!(UnOp::F32Ceil),
                Op::F32Floor => un_op!(UnOp::F32Floor),
                Op::F32Trunc => un_op!(UnOp::F32Trunc),
                Op::F32Nearest => un_op!(UnOp::F32Nearest),
                Op::F32Sqrt => un_op!(UnOp::F32Sqrt),
                Op::F32Add => binop!(BinOp::F32Add),
                Op::F32Sub => binop!(BinOp::F32Sub),
                Op::F32Mul => binop!(BinOp::F32Mul),
                Op::F32Div => binop!(BinOp::F32Div),
                Op::F32Min => binop!(BinOp::F32Min),
                Op::F32Max => binop!(BinOp::F32Max),
                Op::F32Copysign => binop!(BinOp::F32Copysign),
                Op::F64Abs => un_op!(UnOp::F64Abs),
                Op::F64Neg => un_op!(UnOp::F64Neg),
                Op::F64Ceil => un_op!(UnOp::F64Ceil),
                Op::F64Floor => un_op!(UnOp::F64Floor),
                Op::F64Trunc => un_op!(UnOp::F64Trunc),
                Op::F64Nearest => un_op!(UnOp::F64Nearest),
                Op::F64Sqrt => un_op!(UnOp::F64Sqrt),
                Op::F64Add => binop!(BinOp::F64Add),
                Op::F64Sub => binop!(BinOp::F64Sub),
                Op::F64Mul => binop!(BinOp::F64Mul),
                Op::F64Div => binop!(BinOp::F64Div),
                Op::F64Min => binop!(BinOp::F64Min),
                Op::F64Max => binop!(BinOp::F64Max),
                Op::F64Copysign => binop!(BinOp::F64Copysign),

                Op::I32WrapI64 => un_op!(UnOp::I32WrapI64),
                Op::I32TruncF32S => un_trap!(f32_, ri32, wasm::i32_trunc_f32_s),
                Op::I32TruncF32U => un_trap!(f32_, ru32, wasm::i32_trunc_f32_u),
                Op::I32TruncF64S => un_trap!(f64_, ri32, wasm::i32_trunc_f64_s),
                Op::I32TruncF64U => un_trap!(f64_, ru32, wasm::i32_trunc_f64_u),
                Op::I64ExtendI32S => un_op!(UnOp::I64ExtendI32S),
                Op::I64ExtendI32U => un_op!(UnOp::I64ExtendI32U),
                Op::I64TruncF32S => un_trap!(f32_, ri64, wasm::i64_trunc_f32_s),
                Op::I64TruncF32U => un_trap!(f32_, ru64, wasm::i64_trunc_f32_u),
                Op::I64TruncF64S => un_trap!(f64_, ri64, wasm::i64_trunc_f64_s),
                Op::I64TruncF64U => un_trap!(f64_, ru64, wasm::i64_trunc_f64_u),
                Op::F32ConvertI32S => un_op!(UnOp::F32ConvertI32S),
                Op::F32ConvertI32U => un_op!(UnOp::F32ConvertI32U),
                Op::F32ConvertI64S => un_op!(UnOp::F32ConvertI64S),
                Op::F32ConvertI64U => un_op!(UnOp::F32ConvertI64U),
                Op::F32DemoteF64 => un_op!(UnOp::F32DemoteF64),
                Op::F64ConvertI32S => un_op!(UnOp::F64ConvertI32S),
                Op::F64ConvertI32U => un_op!(UnOp::F64ConvertI32U),
                Op::F64ConvertI64S => un_op!(UnOp::F64ConvertI64S),
                Op::F64ConvertI64U => un_op!(UnOp::F64ConvertI64U),
                Op::F64PromoteF32 => un_op!(UnOp::F64PromoteF32),
                Op::Reinterpret => {}
                Op::I32Extend8S => un_op!(UnOp::I32Extend8S),
                Op::I32Extend16S => un_op!(UnOp::I32Extend16S),
                Op::I64Extend8S => un_op!(UnOp::I64Extend8S),
                Op::I64Extend16S => un_op!(UnOp::I64Extend16S),
                Op::I64Extend32S => un_op!(UnOp::I64Extend32S),
                Op::I32TruncSatF32S => un_op!(UnOp::I32TruncSatF32S),
                Op::I32TruncSatF32U => un_op!(UnOp::I32TruncSatF32U),
                Op::I32TruncSatF64S => un_op!(UnOp::I32TruncSatF64S),
                Op::I32TruncSatF64U => un_op!(UnOp::I32TruncSatF64U),
                Op::I64TruncSatF32S => un_op!(UnOp::I64TruncSatF32S),
                Op::I64TruncSatF32U => un_op!(UnOp::I64TruncSatF32U),
                Op::I64TruncSatF64S => un_op!(UnOp::I64TruncSatF64S),
                Op::I64TruncSatF64U => un_op!(UnOp::I64TruncSatF64U),

                Op::DataDrop(d) => segments[cur_instance].dropped_datas[d.index()] = true,
                Op::TableInit { elem, table } => {
                    let n = cells[sp - 1] as u32 as u64;
                    let s = cells[sp - 2] as u32 as u64;
                    let dst = bulk::index(&tables[inst.tables[table.index()]], cells[sp - 3]);
                    let items: &[u64] = if segments[cur_instance].dropped_elems[elem.index()] {
                        &[]
                    } else {
                        &inst.elems[elem.index()]
                    };
                    let t = &mut tables[inst.tables[table.index()]];
                    if let Err(code) = bulk::table_init(t, items, dst, s, n) {
                        trap!(code);
                    }
                    sp -= 3;
                }
                Op::ElemDrop(e) => segments[cur_instance].dropped_elems[e.index()] = true,
                Op::TableCopy { dst, src } => {
                    let (dt, st) = (inst.tables[dst.index()], inst.tables[src.index()]);
                    // The count is 64-bit only between two 64-bit tables.
                    let wide = tables[dt].ty.table64 && tables[st].ty.table64;
                    let n = if wide {
                        cells[sp - 1]
                    } else {
                        cells[sp - 1] as u32 as u64
                    };
                    let s = bulk::index(&tables[st], cells[sp - 2]);
                    let d = bulk::index(&tables[dt], cells[sp - 3]);
                    if let Err(code) = bulk::table_copy(tables, dt, st, d, s, n) {
                        trap!(code);
                    }
                    sp -= 3;
                }
                Op::TableGrow(t) => {
                    let n = cells[sp - 1];
                    let init = cells[sp - 2];
                    sp -= 1;
                    let t = &mut tables[inst.tables[t.index()]];
                    cells[sp - 1] = bulk::table_grow(t, n, init, max_table);
                }
                Op::TableSize(t) => push!(tables[inst.tables[t.index()]].elements.len() as u64),
                Op::TableFill(t) => {
                    let t = &mut tables[inst.tables[t.index()]];
                    let n = bulk::index(t, cells[sp - 1]);
                    let v = cells[sp - 2];
                    let i = bulk::index(t, cells[sp - 3]);
                    if let Err(code) = bulk::table_fill(t, i, v, n) {
                        trap!(code);
                    }
                    sp -= 3;
                }
                Op::RefNull => push!(0),
                Op::RefIsNull => un_op!(UnOp::RefIsNull),
                Op::RefFunc(f) => push!(u64::from(inst.funcs[f.index()].as_u32()) + 1),

                // Fused headers: only the fast loop gets here. `pc` is at the first covered op.
                Op::FuseLL { op, a, b } => {
                    push!(eval_bin(op, local!(a), local!(b), canon));
                    pc += 3;
                }
                Op::FuseLC { op, a, k } => {
                    push!(eval_bin(op, local!(a), k, canon));
                    pc += 3;
                }
                Op::FuseSL { op, b } => {
                    cells[sp - 1] = eval_bin(op, cells[sp - 1], local!(b), canon);
                    pc += 2;
                }
                Op::FuseSC { op, k } => {
                    cells[sp - 1] = eval_bin(op, cells[sp - 1], k, canon);
                    pc += 2;
                }
                Op::FuseLLSet { op, a, b, c, tee } => {
                    fused_set!(c, tee, eval_bin(op, local!(a), local!(b), canon));
                    pc += 4;
                }
                Op::FuseLCSet { op, a, c, tee, k } => {
                    fused_set!(c, tee, eval_bin(op, local!(a), k, canon));
                    pc += 4;
                }
                Op::FuseSSSet { op, c, tee } => {
                    let v = eval_bin(op, cells[sp - 2], cells[sp - 1], canon);
                    sp -= 2;
                    fused_set!(c, tee, v);
                    pc += 2;
                }
                Op::FuseSLSet { op, b, c, tee } => {
                    let v = eval_bin(op, cells[sp - 1], local!(b), canon);
                    sp -= 1;
                    fused_set!(c, tee, v);
                    pc += 3;
                }
                Op::FuseSCSet { op, c, tee, k } => {
                    let v = eval_bin(op, cells[sp - 1], k, canon);
                    sp -= 1;
                    fused_set!(c, tee, v);
                    pc += 3;
                }
                Op::FuseLLC { op1, op2, a, b, k } => {
                    let inner = eval_bin(op1, local!(b), k, canon);
                    push!(eval_bin(op2, local!(a), inner, canon));
                    pc += 5;
                }
                Op::FuseLLCSet {
                    op1,
                    op2,
                    a,
                    b,
                    c,
                    tee,
                    k,
                } => {
                    let inner = eval_bin(op1, local!(b), k as i64 as u64, canon);
                    fused_set!(c, tee, eval_bin(op2, local!(a), inner, canon));
                    pc += 6;
                }
                Op::FuseLL2 {
                    op1,
                    op2,
                    op3,
                    a,
                    b,
                    c,
                    d,
                } => {
                    let left = eval_bin(op1, local!(a), local!(b), canon);
                    let right = eval_bin(op2, local!(c), local!(d), canon);
                    push!(eval_bin(op3, left, right, canon));
                    pc += 7;
                }
                Op::FuseCL { op, b, k } => {
                    push!(eval_bin(op, k, local!(b), canon));
                    pc += 3;
                }
                Op::FuseI32AddSet { a, c, tee, k } => {
                    fused_set!(c, tee, ru32(u32_(local!(a)).wrapping_add(k)));
                    pc += 4;
                }
                Op::FuseI64AddSet { a, c, tee, k } => {
                    fused_set!(c, tee, local!(a).wrapping_add(k));
                    pc += 4;
                }
                Op::FuseI32EqBr { a, k } => i32_cmp_br!(a, k, u32_, |x, y| x == y),
                Op::FuseI32NeBr { a, k } => i32_cmp_br!(a, k, u32_, |x, y| x != y),
                Op::FuseI32LtSBr { a, k } => i32_cmp_br!(a, k, i32_, |x, y| x < y),
                Op::FuseI32LtUBr { a, k } => i32_cmp_br!(a, k, u32_, |x, y| x < y),
                Op::FuseI32GtSBr { a, k } => i32_cmp_br!(a, k, i32_, |x, y| x > y),
                Op::FuseI32GtUBr { a, k } => i32_cmp_br!(a, k, u32_, |x, y| x > y),
                Op::FuseI32LeSBr { a, k } => i32_cmp_br!(a, k, i32_, |x, y| x <= y),
                Op::FuseI32LeUBr { a, k } => i32_cmp_br!(a, k, u32_, |x, y| x <= y),
                Op::FuseI32GeSBr { a, k } => i32_cmp_br!(a, k, i32_, |x, y| x >= y),
                Op::FuseI32GeUBr { a, k } => i32_cmp_br!(a, k, u32_, |x, y| x >= y),
                Op::FuseLLBr { op, a, b } => {
                    pc += 3;
                    fused_branch!(eval_bin(op, local!(a), local!(b), canon) as u32 != 0);
                }
                Op::FuseLCBr { op, a, k } => {
                    pc += 3;
                    fused_branch!(eval_bin(op, local!(a), k, canon) as u32 != 0);
                }
                Op::FuseSSBr { op } => {
                    let v = eval_bin(op, cells[sp - 2], cells[sp - 1], canon);
                    sp -= 2;
                    pc += 1;
                    fused_branch!(v as u32 != 0);
                }
                Op::FuseSCBr { op, k } => {
                    let v = eval_bin(op, cells[sp - 1], k, canon);
                    sp -= 1;
                    pc += 2;
                    fused_branch!(v as u32 != 0);
                }
                Op::FuseLBr { a, eqz } => {
                    let v = local!(a) as u32;
                    if eqz {
                        pc += 2;
                        fused_branch!(v == 0);
                    } else {
                        pc += 1;
                        fused_branch!(v != 0);
                    }
                }
                Op::FuseLLoad { kind, a, off } => {
                    let addr = u64::from(local!(a) as u32) + u64::from(off);
                    if let Some(v) = fused_load(&memories[mem0].data, addr, kind) {
                        push!(v);
                        pc += 2;
                    }
                    // Otherwise decline: the load itself traps.
                }
                Op::FuseLLoadSet {
                    kind,
                    a,
                    c,
                    tee,
                    off,
                } => {
                    let addr = u64::from(local!(a) as u32) + u64::from(off);
                    if let Some(v) = fused_load(&memories[mem0].data, addr, kind) {
                        fused_set!(c, tee, v);
                        pc += 3;
                    }
                }
                Op::FuseLLLoadStore {
                    kind,
                    width,
                    a,
                    b,
                    off1,
                    off2,
                } => {
                    // Declines before any effect if either access is out of bounds (the load
                    // has none).
                    let from = u64::from(local!(b) as u32) + u64::from(off1);
                    let to = u64::from(local!(a) as u32) + u64::from(off2);
                    if let Some(v) = fused_load(&memories[mem0].data, from, kind)
                        && fused_store(&mut memories[mem0], to, width, v)
                    {
                        pc += 4;
                    }
                }
                Op::FuseLLStore { width, a, b, off } => {
                    let addr = u64::from(local!(a) as u32) + u64::from(off);
                    if fused_store(&mut memories[mem0], addr, width, local!(b)) {
                        pc += 3;
                    }
                }
                Op::FuseSLStore { width, b, off } => {
                    let addr = u64::from(cells[sp - 1] as u32) + u64::from(off);
                    if fused_store(&mut memories[mem0], addr, width, local!(b)) {
                        sp -= 1;
                        pc += 2;
                    }
                }
                Op::FuseCopy { a, c, tee } => {
                    fused_set!(c, tee, local!(a));
                    pc += 2;
                }
                Op::FuseConstSet { c, tee, k } => {
                    fused_set!(c, tee, k);
                    pc += 2;
                }
            }
        }
    }
}

/// The function that `call_indirect` (or `return_call_indirect`) of type `ty` finds at index
/// `i` of `table`, or its trap.
#[inline(always)]
fn indirect_callee(
    funcs: &PrimaryMap<Func, crate::store::FuncData>,
    tables: &PrimaryMap<crate::store::Table, crate::store::TableInstance>,
    inst: &crate::store::InstanceData,
    i: u64,
    ty: crate::types::TypeIndex,
    table: crate::types::TableIndex,
) -> Result<Func, TrapCode> {
    let t = &tables[inst.tables[table.index()]];
    let Some(&cell) = t.elements.get(bulk::index(t, i) as usize) else {
        return Err(TrapCode::UndefinedElement);
    };
    if cell == 0 {
        return Err(TrapCode::UninitializedElement);
    }
    let f = Func::from_u32((cell - 1) as u32);
    if funcs[f].sig != inst.sigs[ty.index()] {
        return Err(TrapCode::IndirectCallTypeMismatch);
    }
    Ok(f)
}

/// Calls `f` with each hidden local in which a legacy catch block of `code` keeps its
/// exception. They are consecutive, one per nesting level of such blocks, each level below
/// the deepest having its own clauses.
fn for_each_exn_local(code: &CompiledFunc, f: impl FnMut(u32)) {
    let locals = code.catches.iter().filter_map(|c| c.exn_local);
    if let (Some(lo), Some(hi)) = (locals.clone().min(), locals.max()) {
        (lo..=hi).for_each(f);
    }
}

/// The op index at which a frame shown at Wasm `pc` continues: after the `call` for a frame
/// that called another one, the `Exit` for a returning frame, else the first op of the
/// instruction (a run's `Steps` or a fused header in front of it, both equivalent to the
/// instruction itself in the single-step loop, where restored execution starts).
fn op_index(code: &CompiledFunc, pc: u32, at_call: bool, returning: bool) -> u32 {
    let first = code.pcs.partition_point(|p| *p < pc);
    let find = |want: &dyn Fn(&Op) -> bool| {
        (first..code.ops.len())
            .find(|&i| want(&code.ops[i]))
            .unwrap_or(first)
    };
    if at_call {
        find(&|op| {
            matches!(
                op,
                Op::Call(_)
                    | Op::CallIndirect { .. }
                    | Op::ReturnCall(_)
                    | Op::ReturnCallIndirect { .. }
                    | Op::CallRef(_)
                    | Op::ReturnCallRef(_)
            )
        }) as u32
            + 1
    } else if returning {
        find(&|op| matches!(op, Op::Exit)) as u32
    } else {
        first as u32
    }
}

impl Interp {
    /// The handler that catches `exn` thrown by the innermost frame: the frame's index and the
    /// catch clause. Each frame is asked at its throw or call, innermost `try_table` first.
    fn find_handler(
        &self,
        store: &StoreInner,
        exn: crate::store::Exn,
    ) -> Option<(usize, crate::code::CatchTarget)> {
        let tag = store.exceptions[exn.index()].tag;
        let last = self.frames.len().checked_sub(1)?;
        for (i, f) in self.frames.iter().enumerate().rev() {
            let inst = &store.instances[f.instance];
            let code = inst.code(f.def);
            if code.handlers.is_empty() {
                continue;
            }
            let site = if i == last { f.pc } else { f.pc - 1 };
            // Below a legacy `delegate`, only regions at its target level or outside it.
            let mut max_level = u32::MAX;
            for h in code.handlers.iter() {
                if !(h.start..h.end).contains(&site) || h.level > max_level {
                    continue;
                }
                if h.delegate != crate::code::Handler::NO_DELEGATE {
                    max_level = h.delegate;
                    continue;
                }
                let clauses = &code.catches[h.first as usize..(h.first + h.len) as usize];
                if let Some(c) = clauses
                    .iter()
                    .find(|c| c.tag.is_none_or(|t| inst.tags[t.index()] == tag))
                {
                    return Some((i, *c));
                }
            }
        }
        None
    }

    /// Unwinds to a handler [`Interp::find_handler`] found: the frames above it are gone, its
    /// stack is cut to the clause's height, the payload (and the `exnref`) pushed, and it goes
    /// on at the clause's label.
    fn unwind(
        &mut self,
        store: &mut StoreInner,
        exn: crate::store::Exn,
        (frame, clause): (usize, crate::code::CatchTarget),
    ) {
        let heap = std::sync::Arc::make_mut(&mut store.exceptions);
        // The hidden locals of the frames unwound hold their exceptions no longer.
        for f in &self.frames[frame + 1..] {
            let code = store.instances[f.instance].code(f.def);
            for_each_exn_local(code, |local| {
                let cell = self.cells[f.fp as usize + local as usize];
                if cell != 0 {
                    heap.unhold(crate::store::Exn::from_u32((cell - 1) as u32), exn);
                }
            });
        }
        self.frames.truncate(frame + 1);
        let f = self.frames.last_mut().expect("the handler's frame");
        let code = store.instances[f.instance].code(f.def);
        let mut sp = f.fp as usize + code.num_locals as usize + clause.height as usize;
        let need = sp + code.max_stack as usize;
        if self.cells.len() < need {
            self.cells.resize(need, 0);
        }
        if clause.tag.is_some() {
            let values = &heap[exn.index()].values;
            self.cells[sp..sp + values.len()].copy_from_slice(values);
            sp += values.len();
        }
        if clause.with_ref {
            heap.escape(exn);
            self.cells[sp] = u64::from(exn.as_u32()) + 1;
            sp += 1;
        } else if let Some(local) = clause.exn_local {
            // Kept for a `rethrow`; what the local held before (a catch block at this level
            // that was left, or the one rethrowing this exception) is referenced by it no
            // longer.
            let slot = f.fp as usize + local as usize;
            let old = self.cells[slot];
            heap.hold(exn);
            self.cells[slot] = u64::from(exn.as_u32()) + 1;
            if old != 0 {
                heap.unhold(crate::store::Exn::from_u32((old - 1) as u32), exn);
            }
        } else {
            heap.release(exn);
        }
        self.sp = sp;
        f.pc = clause.pc;
    }
}

impl Engine for Interp {
    fn start(
        &mut self,
        store: &StoreInner,
        func: Func,
        instance: Instance,
        def: DefinedFuncIndex,
        args: &[u64],
    ) {
        let code = store.instances[instance].code(def);
        let locals_end = code.num_locals as usize;
        self.cells.clear();
        self.cells.extend_from_slice(args);
        self.cells
            .resize(locals_end + code.max_stack as usize + 16, 0);
        self.sp = locals_end;
        self.frames.clear();
        self.frames.push(Frame {
            func,
            instance,
            def,
            pc: 0,
            fp: 0,
        });
        self.slow = true;
        self.skip_breakpoint = false;
        self.pending_throw = None;
    }

    fn run(&mut self, store: &mut StoreInner) -> Exit {
        if self.pending_throw.is_some() && store.position >= store.stop_at {
            // Paused before the throw's step (at the position asked for): it stays pending.
            return Exit::StepBudget;
        }
        if let Some(exn) = self.pending_throw.take() {
            // The throw reported before: its step completes now, with the unwinding.
            store.position += 1;
            let target = self
                .find_handler(store, exn)
                .expect("a reported throw is caught");
            self.unwind(store, exn, target);
        }
        loop {
            let exit = if self.slow {
                self.run_loop::<true>(store)
            } else {
                self.run_loop::<false>(store)
            };
            match exit {
                LoopExit::ToFast => self.slow = false,
                LoopExit::ToSlow => self.slow = true,
                LoopExit::Throw(exn) => match self.find_handler(store, exn) {
                    None => {
                        // Uncaught: the call ends like a trap at the throw, its frames intact.
                        store.call.exception = Some(exn);
                        return Exit::Trap(TrapCode::UncaughtException);
                    }
                    Some(_) if store.report_throws => {
                        // Report it with the frames at the throw, before its step.
                        store.position -= 1;
                        self.slow = true;
                        self.pending_throw = Some(exn);
                        return Exit::Thrown(exn);
                    }
                    Some(target) => {
                        self.unwind(store, exn, target);
                        // The landing label may be inside a run: go on single-stepping to the
                        // next run head.
                        self.slow = true;
                    }
                },
                LoopExit::Out(exit) => {
                    if matches!(
                        exit,
                        Exit::StepBudget | Exit::Breakpoint | Exit::Watchpoint(..)
                    ) {
                        // A pause resumes in the single-step loop (it came from there).
                        self.slow = true;
                    }
                    return exit;
                }
            }
        }
    }

    fn uncounted_steps(&self, store: &StoreInner) -> u64 {
        let Some(frame) = self.frames.last() else {
            return 0;
        };
        if self.slow {
            // The single-step loop counted the trapping op before executing it.
            1
        } else {
            // The fast loop counted the whole run at its head; the translator's run offsets
            // say how many of its steps were not completed.
            let code = store.instances[frame.instance].code(frame.def);
            u64::from(code.steps_left[frame.pc as usize])
        }
    }

    fn skip_breakpoint(&mut self) {
        self.skip_breakpoint = true;
    }

    fn single_step_next(&mut self, _store: &mut StoreInner) {
        self.slow = true;
    }

    fn depth(&self) -> usize {
        self.frames.len()
    }

    fn frame(&self, store: &StoreInner, depth: usize, in_host: bool) -> FrameRef<'_> {
        let pos = self.frames.len() - 1 - depth;
        let f = self.frames[pos];
        let code = store.instances[f.instance].code(f.def);
        let at_call = depth > 0 || in_host;
        let op = if at_call { f.pc - 1 } else { f.pc } as usize;
        let start = f.fp as usize + code.num_locals as usize;
        let end = if depth == 0 {
            self.sp
        } else {
            // The callee's locals begin where the caller's operands end: its arguments were
            // the caller's top operands.
            self.frames[pos + 1].fp as usize
        };
        FrameRef {
            func: f.func,
            instance: f.instance,
            def: f.def,
            pc: code.pcs[op],
            returning: !at_call && matches!(code.ops[op], Op::Exit),
            locals: &self.cells[f.fp as usize..start],
            stack: &self.cells[start..end.max(start)],
        }
    }

    fn host_args(&self, n: usize) -> &[u64] {
        &self.cells[self.sp - n..self.sp]
    }

    fn host_return(&mut self, n: usize, results: &[u64]) {
        self.sp -= n;
        for v in results {
            if self.sp >= self.cells.len() {
                self.cells.push(0);
            }
            self.cells[self.sp] = *v;
            self.sp += 1;
        }
    }

    fn results(&self, n: usize) -> &[u64] {
        &self.cells[..n]
    }

    fn clear(&mut self) {
        self.frames.clear();
        self.sp = 0;
        self.pending_throw = None;
    }

    fn capture(&self, store: &StoreInner) -> EngineState {
        let depth = self.frames.len();
        let frames = (0..depth)
            .map(|i| {
                let f = self.frame(store, depth - 1 - i, false);
                FrameState {
                    func: f.func,
                    instance: f.instance,
                    def: f.def,
                    pc: f.pc,
                    returning: f.returning,
                    after_call: false,
                    base: self.frames[i].fp,
                }
            })
            .collect();
        EngineState {
            frames,
            values: self.cells[..self.sp].to_vec(),
            skip_breakpoint: self.skip_breakpoint,
        }
    }

    fn restore(&mut self, store: &StoreInner, state: &EngineState) {
        let depth = state.frames.len();
        self.frames.clear();
        for (i, f) in state.frames.iter().enumerate() {
            let code = store.instances[f.instance].code(f.def);
            self.frames.push(Frame {
                func: f.func,
                instance: f.instance,
                def: f.def,
                pc: op_index(code, f.pc, i + 1 < depth || f.after_call, f.returning),
                fp: f.base,
            });
        }
        self.cells.clear();
        self.cells.extend_from_slice(&state.values);
        self.sp = self.cells.len();
        // Room for every frame's locals and operands (a caller runs on once its callee
        // returns), and then some.
        let mut need = self.sp + 1024;
        for f in &self.frames {
            let code = store.instances[f.instance].code(f.def);
            need = need.max(f.fp as usize + (code.num_locals + code.max_stack) as usize);
        }
        if self.cells.len() < need {
            self.cells.resize(need, 0);
        }
        // The pc may be inside a run, whose head the fast loop would need.
        self.slow = true;
        self.skip_breakpoint = state.skip_breakpoint;
        self.pending_throw = None;
    }
}
