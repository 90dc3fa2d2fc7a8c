//! The JIT's [`FuncEnvironment`]: lowers the translator's instructions into Cranelift IR.
//!
//! # Values
//! Every local and every operand-stack slot is a Cranelift [`Variable`]: locals one each, and
//! stack slot `h` one per value class (i32, i64, f32, f64, v128 as an `i8x16`; references are
//! i64 cells), so that the translator's stack-machine view — heights, and branches that move
//! the top `keep` values down over `drop` others — maps onto variables directly and
//! Cranelift's SSA construction turns the moves into block parameters. The environment keeps the operand types itself.
//!
//! # Steps
//! Each run's head adds the run's step count to the position (a variable, spilled to the
//! shared state around calls and exits, and at every run head of a run with a trap site where those are hardware
//! traps, which find it there: see `signals.rs`). The count is a placeholder constant patched when the
//! run closes; so are the "steps not completed" constants of the run's trap sites. The step
//! limit is checked at function entry, loop heads and after calls only (see `mod.rs`): every
//! check is a cold exit that keeps the locals live into it, and checks at every run head made
//! register allocation, and so compilation, eight times slower on bz2.
//!
//! # State slots
//! Each function has one stack slot, linked into the shared state's frame list at entry and
//! unlinked at return: `[previous slot, instance << 32 | defined index, pc, locals…, operands…]`.
//! Before every call and at every step-limit exit the function stores its pc, its locals and
//! its operand stack there, as cells (a `v128` as two, low half first: the interpreter's
//! layout, so that the frame cursor and the hand-over read both engines' frames alike, while
//! the translator counts a `v128` as one value here, see `FuncEnvironment::CELLS`); a trap
//! site stores only its pc. That is the frame table of this first JIT: the layout is the same
//! at every stop point, and the pc (with its flags) says how many operands are live.
//!
//! SIMD operators are lowered in [`vector`].

use super::{Libcalls, shared, signals, slot, vmctx};
use crate::translate::{Branch, FuncEnvironment, Inst, WResult};
use crate::trap::TrapCode;
use crate::types::{FuncType, ValType};
use cranelift_codegen::ir::{
    self, AbiParam, AliasRegion, BlockArg, InstBuilder, MemFlagsData, Signature, StackSlotData,
    StackSlotKind, Type, Value, condcodes::FloatCC, condcodes::IntCC, types,
};
use cranelift_frontend::{FunctionBuilder, Variable};
use wasmparser::Operator;

pub(crate) mod vector;

/// A label: a Cranelift block and the operand types where it is bound.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Label(u32);

struct LabelData {
    block: ir::Block,
    /// The operand types at the label, from the first edge into it.
    types: Option<Vec<ValType>>,
}

/// The module-level facts the environment reads.
pub(crate) struct ModuleEnv<'m> {
    pub types: &'m [FuncType],
    /// Type index of every function (imports first).
    pub func_types: &'m [u32],
    /// Global types, imports first.
    pub globals: &'m [ValType],
    /// Per memory, whether it has 64-bit addresses.
    pub memory64: &'m [bool],
    /// Per table, whether it has 64-bit indices.
    pub tables64: &'m [bool],
    pub num_imported_funcs: u32,
    pub canon: bool,
    /// Trap sites are hardware traps, memory 0 is guarded (`signals.rs`; only where
    /// [`signals::ENABLED`]).
    pub signals: bool,
    /// Stores check for watchpoints ([`JitEnv::watch_check`]): the code of calls made while
    /// something is watched.
    pub watch: bool,
    /// Where the module's largest installed frame size is (an `AtomicU64` that lives as long
    /// as the code).
    pub max_frame: usize,
    pub libcalls: &'m Libcalls,
    pub frontend: cranelift_codegen::isa::TargetFrontendConfig,
    /// Count the function's calls (first-tier code, see `compile.rs`).
    pub count_calls: bool,
    /// Compile the function's *resume variant* (see [`JitEnv::resume_point`]).
    pub resumable: bool,
}

/// A resume variant stops adding resume points once their blocks would load this many values
/// (a stop after that is not resumable, and the frame goes on on the interpreter): each point
/// reloads every local, so a big function with many calls would take long to compile.
const RESUME_LOADS: usize = 1 << 18;

pub(crate) struct JitEnv<'a, 'm> {
    pub b: FunctionBuilder<'a>,
    m: &'m ModuleEnv<'m>,
    vmctx: Value,
    shared: Value,
    slot: Value,
    /// The function's index among the module's defined functions.
    def: u32,
    prev: Value,
    locals: Vec<(Variable, ValType)>,
    /// Per local, its first cell in the state slot (a `v128` takes two cells).
    local_cells: Vec<u32>,
    /// Cells of all locals.
    locals_size: usize,
    /// A 48-byte stack slot for the operands and result of SIMD libcalls, once one needs it.
    simd_io: Option<ir::StackSlot>,
    stack_vars: Vec<Variable>,
    stack: Vec<ValType>,
    pos: Variable,
    limit: Variable,
    labels: Vec<LabelData>,
    dead: bool,
    results: Vec<ValType>,
    /// Placeholder constants of the open run: its head's step count, and every trap site's
    /// steps not completed, with the run offset of its instruction.
    run_head: Option<ir::Inst>,
    run_traps: Vec<(ir::Inst, u32)>,
    /// The open run's hardware trap sites (see `signals.rs`): index in `sites`, run offset.
    run_sites: Vec<(usize, u32)>,
    /// The open run head's store of the position for its hardware trap sites, removed when the
    /// run closes without any.
    run_pos_store: Option<ir::Inst>,
    /// Every hardware trap site of the function; a site's source location is its index + 1.
    sites: Vec<signals::Site>,
    /// The defined functions this one calls directly, each once, in the order of their first
    /// call: what the background compiler compiles next (`compile.rs`).
    callees: Vec<u32>,
    callee_seen: std::collections::HashSet<u32>,
    run_cost: u32,
    /// The next run head checks the step limit (function entry, loop headers).
    check_next: bool,
    /// The next check is the function entry's, which also checks the native stack.
    entry_check: bool,
    /// Steps of the whole function: a bound on the steps between two checks (they are at
    /// function entry, loop heads and after calls, so the code between them is acyclic and
    /// within the function). Patched into `k_consts` when the function is finished.
    total_steps: u32,
    k_consts: Vec<ir::Inst>,
    /// The function's trap exit block, once a trap site needs it.
    trap_exit: Option<ir::Block>,
    /// A resume variant's dispatch block, once the entry check branches to it, and its
    /// resume points by key (see [`JitEnv::resume_point`]).
    dispatch: Option<ir::Block>,
    resume_points: Vec<(u64, ir::Block)>,
    resume_keys: std::collections::HashSet<u64>,
    resume_loads: usize,
    sig_refs: Vec<Option<ir::SigRef>>,
    lib_sigs: LibSigs,
    r_vmctx: AliasRegion,
    r_heap: AliasRegion,
    r_other: AliasRegion,
}

#[derive(Default)]
struct LibSigs {
    refs: std::collections::HashMap<(Vec<Type>, Vec<Type>), ir::SigRef>,
}

/// Value classes: i32, i64 (and references), f32, f64, v128.
const CLASSES: usize = 5;

/// A `v128` constant (an `i8x16`).
fn v128_const(b: &mut FunctionBuilder<'_>, v: u128) -> Value {
    let c = b
        .func
        .dfg
        .constants
        .insert(ir::ConstantData::from(&v.to_le_bytes()[..]));
    b.ins().vconst(types::I8X16, c)
}

/// The value class of a type: which of a stack slot's variables holds it.
fn class(ty: ValType) -> usize {
    match ty {
        ValType::I32 => 0,
        ValType::I64 | ValType::FuncRef | ValType::ExternRef | ValType::ExnRef => 1,
        ValType::F32 => 2,
        ValType::F64 => 3,
        ValType::V128 => 4,
    }
}

/// The Cranelift type of a Wasm value type.
pub(crate) fn ir_type(ty: ValType) -> Type {
    match ty {
        ValType::I32 => types::I32,
        ValType::I64 | ValType::FuncRef | ValType::ExternRef | ValType::ExnRef => types::I64,
        ValType::F32 => types::F32,
        ValType::F64 => types::F64,
        // Every `v128` is an `i8x16` between instructions; an instruction on other lanes
        // bitcasts (see `JitEnv::vec`).
        ValType::V128 => types::I8X16,
    }
}

/// The signature of a Wasm function on the JIT: `(vmctx, params…) -> results`.
pub(crate) fn wasm_signature(ty: &FuncType) -> Signature {
    let mut sig = Signature::new(super::WASM_CALL_CONV);
    sig.params.push(AbiParam::new(types::I64));
    sig.params
        .extend(ty.params().iter().map(|t| AbiParam::new(ir_type(*t))));
    sig.returns
        .extend(ty.results().iter().map(|t| AbiParam::new(ir_type(*t))));
    sig
}

fn mem_flags(region: AliasRegion) -> MemFlagsData {
    MemFlagsData::trusted().with_alias_region(Some(region))
}

impl<'a, 'm> JitEnv<'a, 'm> {
    /// Sets up the entry block: parameters, locals, the state slot and its link.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        mut b: FunctionBuilder<'a>,
        m: &'m ModuleEnv<'m>,
        def: u32,
        local_types: &[ValType],
        max_stack: u32,
        ty: &FuncType,
    ) -> JitEnv<'a, 'm> {
        let r_vmctx = b.func.dfg.alias_regions.insert(ir::AliasRegionData {
            user_id: 1,
            description: "vmctx".into(),
        });
        let r_heap = b.func.dfg.alias_regions.insert(ir::AliasRegionData {
            user_id: 2,
            description: "heap".into(),
        });
        let r_other = b.func.dfg.alias_regions.insert(ir::AliasRegionData {
            user_id: 3,
            description: "globals and dirty bits".into(),
        });
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let params: Vec<Value> = b.block_params(entry).to_vec();
        let vmctx_v = params[0];
        let locals_size = ValType::cells_of(local_types);
        // `max_stack` is the interpreter's, in cells where the function may hold `v128`s.
        let slot_cells = slot::VALUES + locals_size + max_stack as usize;
        let ss = b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            (slot_cells * 8) as u32,
            3,
        ));
        let slot_v = b.ins().stack_addr(types::I64, ss, 0);
        let fl = mem_flags(r_vmctx);
        let shared_v = b.ins().load(types::I64, fl, vmctx_v, vmctx::SHARED);
        let prev = b.ins().load(types::I64, fl, shared_v, shared::TOP);
        b.ins().store(fl, prev, slot_v, slot::PREV);
        let id = b.ins().load(types::I64, fl, vmctx_v, vmctx::INSTANCE_TAG);
        let id = b.ins().bor_imm_s(id, i64::from(def));
        b.ins().store(fl, id, slot_v, slot::ID);
        b.ins().store(fl, slot_v, shared_v, shared::TOP);
        if m.count_calls {
            // Not the vmctx region: the counters change under the function.
            let counts = b.ins().load(types::I64, fl, vmctx_v, vmctx::CALL_COUNTS);
            let fl_o = mem_flags(r_other);
            let n = b.ins().load(types::I64, fl_o, counts, (def * 8) as i32);
            let n = b.ins().iadd_imm_s(n, 1);
            b.ins().store(fl_o, n, counts, (def * 8) as i32);
        }
        let pos = b.declare_var(types::I64);
        let limit = b.declare_var(types::I64);
        let p = b.ins().load(types::I64, fl, shared_v, shared::POS);
        b.def_var(pos, p);
        let l = b.ins().load(types::I64, fl, shared_v, shared::LIMIT);
        b.def_var(limit, l);
        let mut locals = Vec::with_capacity(local_types.len());
        let mut local_cells = Vec::with_capacity(local_types.len());
        let mut cell = 0u32;
        for (i, t) in local_types.iter().enumerate() {
            local_cells.push(cell);
            let var = b.declare_var(ir_type(*t));
            let v = if i < ty.params().len() {
                params[i + 1]
            } else {
                zero(&mut b, *t)
            };
            b.def_var(var, v);
            // The slot's copy of the local (see `write_local`).
            store_cells(
                &mut b,
                fl,
                v,
                *t,
                slot_v,
                (slot::VALUES as i32 + cell as i32) * 8,
            );
            cell += t.cells() as u32;
            locals.push((var, *t));
        }
        let mut stack_vars = Vec::with_capacity(max_stack as usize * CLASSES);
        for _ in 0..max_stack {
            for t in [types::I32, types::I64, types::F32, types::F64, types::I8X16] {
                stack_vars.push(b.declare_var(t));
            }
        }
        JitEnv {
            b,
            m,
            vmctx: vmctx_v,
            shared: shared_v,
            def,
            slot: slot_v,
            prev,
            locals,
            local_cells,
            locals_size,
            simd_io: None,
            stack_vars,
            stack: Vec::new(),
            pos,
            limit,
            labels: Vec::new(),
            dead: false,
            results: ty.results().to_vec(),
            run_head: None,
            run_traps: Vec::new(),
            run_sites: Vec::new(),
            run_pos_store: None,
            sites: Vec::new(),
            callees: Vec::new(),
            callee_seen: Default::default(),
            run_cost: 0,
            check_next: true,
            entry_check: true,
            total_steps: 0,
            k_consts: Vec::new(),
            trap_exit: None,
            dispatch: None,
            resume_points: Vec::new(),
            resume_keys: Default::default(),
            resume_loads: 0,
            sig_refs: vec![None; m.types.len()],
            lib_sigs: LibSigs::default(),
            r_vmctx,
            r_heap,
            r_other,
        }
    }

    /// Closes the last run and finishes the function. Returns its hardware trap sites, by
    /// source location - 1.
    /// Finishes the function: its hardware trap sites and the defined functions it calls
    /// directly.
    pub(crate) fn finish(mut self) -> (Vec<signals::Site>, Vec<u32>) {
        self.close_run();
        self.fill_trap_exit();
        self.fill_dispatch();
        let k = i64::from(self.total_steps.max(1));
        for inst in std::mem::take(&mut self.k_consts) {
            self.b.func.replace(inst).iconst(types::I64, k);
        }
        self.b.seal_all_blocks();
        self.b.finalize(self.m.frontend);
        (self.sites, self.callees)
    }

    fn fl_vm(&self) -> MemFlagsData {
        mem_flags(self.r_vmctx)
    }

    fn var(&self, h: usize, ty: ValType) -> Variable {
        self.stack_vars[h * CLASSES + class(ty)]
    }

    /// The byte offset in the state slot of operand height `h` (below it, locals and the
    /// operands under `h`, in cells).
    fn operand_offset(&self, h: usize) -> i32 {
        ((slot::VALUES + self.locals_size + ValType::cells_of(&self.stack[..h])) * 8) as i32
    }

    fn push(&mut self, ty: ValType, v: Value) {
        let var = self.var(self.stack.len(), ty);
        self.b.def_var(var, v);
        self.stack.push(ty);
    }

    fn pop(&mut self) -> Value {
        let ty = self.stack.pop().expect("validated operand stack");
        let var = self.var(self.stack.len(), ty);
        self.b.use_var(var)
    }

    fn pop2(&mut self) -> (Value, Value) {
        let b = self.pop();
        let a = self.pop();
        (a, b)
    }

    fn peek_types(&self, n: usize) -> &[ValType] {
        &self.stack[self.stack.len() - n..]
    }

    /// Closes the open run: patches its step count and its trap sites' uncounted steps.
    fn close_run(&mut self) {
        if let Some(head) = self.run_head.take() {
            let n = self.run_cost;
            self.b.func.replace(head).iconst(types::I64, i64::from(n));
            for (inst, offset) in std::mem::take(&mut self.run_traps) {
                self.b
                    .func
                    .replace(inst)
                    .iconst(types::I64, i64::from(n - offset));
            }
            if let Some(store) = self.run_pos_store.take()
                && self.run_sites.is_empty()
            {
                self.b.func.layout.remove_inst(store);
            }
            for (site, offset) in std::mem::take(&mut self.run_sites) {
                self.sites[site].uncounted = n - offset;
            }
        }
        self.run_pos_store = None;
        self.run_traps.clear();
        self.run_sites.clear();
        self.run_cost = 0;
    }

    /// Counts `inst`'s step: a run's head adds the run; at function entry and loop heads it
    /// also checks the step limit.
    fn step(&mut self, inst: Inst) {
        if inst.cost == 0 {
            return;
        }
        self.total_steps += inst.cost;
        if inst.run_offset == 0 {
            self.close_run();
            let c = self.b.ins().iconst(types::I64, 0);
            self.run_head = Some(self.b.func.dfg.value_def(c).unwrap_inst());
            if std::mem::take(&mut self.check_next) {
                // The check is its own block: a soft pause resumes there, so the limit it
                // left with (perhaps a hard one now) is checked again before any step.
                let check = self.b.create_block();
                let exit = self.b.create_block();
                let cont = self.b.create_block();
                self.b.set_cold_block(exit);
                self.b.ins().jump(check, &[]);
                let entry = std::mem::take(&mut self.entry_check);
                // A frame resumed at its entry has been entered: it checks the limit only (it
                // may be leaving a breakpoint there).
                let limit_check = if entry { self.b.create_block() } else { check };
                self.resume_point(inst.pc, limit_check, false);
                self.b.switch_to_block(check);
                if entry {
                    self.check_stack(inst);
                    self.check_breakpoints(inst);
                    self.b.ins().jump(limit_check, &[]);
                    self.b.switch_to_block(limit_check);
                }
                let limit = self.limit_value();
                let over = self.over_limit(limit);
                self.b.ins().brif(over, exit, &[], cont, &[]);
                self.b.switch_to_block(exit);
                if entry && self.m.resumable {
                    // A resume variant is entered to resume a frame (the limit is 0 then).
                    let fl = self.fl_vm();
                    let resuming = self
                        .b
                        .ins()
                        .load(types::I64, fl, self.shared, shared::RESUMING);
                    let dispatch = self.b.create_block();
                    let stop = self.b.create_block();
                    self.b.set_cold_block(dispatch);
                    self.b.set_cold_block(stop);
                    self.b.ins().brif(resuming, dispatch, &[], stop, &[]);
                    self.dispatch = Some(dispatch);
                    self.b.switch_to_block(stop);
                }
                let types = self.stack.clone();
                self.store_state(inst.pc, &types);
                self.leave_for_budget(check);
                self.b.switch_to_block(cont);
            }
            let pos = self.b.use_var(self.pos);
            let new = self.b.ins().iadd(pos, c);
            self.b.def_var(self.pos, new);
            if self.m.signals {
                // Hardware trap sites find the position here (see `signals.rs`).
                let fl = self.fl_vm();
                let store = self.b.ins().store(fl, new, self.shared, shared::POS);
                self.run_pos_store = Some(store);
            }
        }
        self.run_cost = self.run_cost.max(inst.run_offset + inst.cost);
    }

    /// At function entry, before any step: unless the native stack has room for the largest
    /// frame below this one (and the runtime's own margin), the frame stores its state and
    /// the call goes on on the interpreter, whose stack is not native (the call-depth limit
    /// stays exact whatever the frames' sizes).
    fn check_stack(&mut self, inst: Inst) {
        let low = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(low);
        let fl = self.fl_vm();
        let sp = self.b.ins().get_stack_pointer(types::I64);
        let floor = self
            .b
            .ins()
            .load(types::I64, fl, self.shared, shared::STACK_FLOOR);
        let at = self.b.ins().iconst(types::I64, self.m.max_frame as i64);
        let frame = self
            .b
            .ins()
            .load(types::I64, mem_flags(self.r_other), at, 0);
        let need = self.b.ins().iadd(floor, frame);
        let short = self.b.ins().icmp(IntCC::UnsignedLessThan, sp, need);
        self.b.ins().brif(short, low, &[], cont, &[]);
        self.b.switch_to_block(low);
        self.hand_over_here(inst);
        self.b.switch_to_block(cont);
    }

    /// At function entry, before any step: if the function has a breakpoint, the frame stores
    /// its state and the call goes on on the interpreter, which stops at the breakpoint exactly.
    /// JIT code checks breakpoints nowhere else: a frame of such a function runs in JIT code
    /// only past its entry, and only if that is its one breakpoint (`JitEngine::start_resume`).
    fn check_breakpoints(&mut self, inst: Inst) {
        let set = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(set);
        let fl = self.fl_vm();
        let flags = self
            .b
            .ins()
            .load(types::I64, fl, self.vmctx, vmctx::BREAKPOINTS);
        let flag = self
            .b
            .ins()
            .uload8(types::I32, mem_flags(self.r_other), flags, self.def as i32);
        self.b.ins().brif(flag, set, &[], cont, &[]);
        self.b.switch_to_block(set);
        if self.m.resumable {
            // Re-entered to resume a frame that is past its entry (or leaving a breakpoint
            // there): `JitEngine::start_resume` allowed it.
            let fl = self.fl_vm();
            let resuming = self
                .b
                .ins()
                .load(types::I64, fl, self.shared, shared::RESUMING);
            let stop = self.b.create_block();
            self.b.set_cold_block(stop);
            self.b.ins().brif(resuming, cont, &[], stop, &[]);
            self.b.switch_to_block(stop);
        }
        self.hand_over_here(inst);
        self.b.switch_to_block(cont);
    }

    /// Ends a cold block at a run head (no step of the run taken): stores the frame's state
    /// and the position, and hands the call over to the interpreter.
    fn hand_over_here(&mut self, inst: Inst) {
        let types = self.stack.clone();
        self.store_state(inst.pc, &types);
        self.spill_pos();
        self.leave_for_good();
    }

    /// Ends a cold block whose state is stored: the `hand_over` libcall, which never returns.
    fn leave_for_good(&mut self) {
        self.libcall(self.m.libcalls.hand_over, &[types::I64], &[], &[self.vmctx]);
        self.b.ins().trap(Self::never_trap_code());
    }

    /// The step limit of run heads (function entries, loop heads).
    fn limit_value(&mut self) -> Value {
        self.b.use_var(self.limit)
    }

    /// Whether the steps up to the next check could cross `limit`.
    fn over_limit(&mut self, limit: Value) -> Value {
        let k = self.b.ins().iconst(types::I64, 0);
        self.k_consts
            .push(self.b.func.dfg.value_def(k).unwrap_inst());
        let pos = self.b.use_var(self.pos);
        let end = self.b.ins().iadd(pos, k);
        self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, limit)
    }

    /// Ends a cold exit block: spills the position and stops at the step limit. The engine
    /// either hands the call over (the libcall never returns) or, for a pause that may come
    /// early, resumes it here: then the position and the new limit are reloaded and the code
    /// goes back to `check`, which checks the new limit before any step.
    fn leave_for_budget(&mut self, check: ir::Block) {
        self.spill_pos();
        self.libcall(self.m.libcalls.budget, &[types::I64], &[], &[self.vmctx]);
        self.reload_pos();
        self.b.ins().jump(check, &[]);
    }

    /// After a call returned: checks the step limit, and on the exit path completes the state
    /// slot (stored before the call) with the results, marked as after the call.
    ///
    /// It compares with the *call limit*, which a soft budget leaves at the maximum: soft
    /// pauses come only at run heads, where the frame is as the interpreter shows it (right
    /// after a call, the interpreter may already be past a `br` or back in the caller).
    fn check_after_call(&mut self, pc: u32, results: &[(Value, ValType)], at: i32) {
        let check = self.b.create_block();
        let exit = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(exit);
        self.b.ins().jump(check, &[]);
        self.b.switch_to_block(check);
        let fl = self.fl_vm();
        let call_limit = self
            .b
            .ins()
            .load(types::I64, fl, self.shared, shared::CALL_LIMIT);
        let over = self.over_limit(call_limit);
        self.b.ins().brif(over, exit, &[], cont, &[]);
        self.b.switch_to_block(exit);
        let fl = self.fl_vm();
        let pcv = self
            .b
            .ins()
            .iconst(types::I64, (i64::from(pc)) | slot::AFTER_CALL);
        self.b.ins().store(fl, pcv, self.slot, slot::PC);
        let mut off = at;
        for (v, t) in results {
            store_cells(&mut self.b, fl, *v, *t, self.slot, off);
            off += t.cells() as i32 * 8;
        }
        self.leave_for_budget(check);
        self.b.switch_to_block(cont);
    }

    /// Stores pc and the operands of types `stack` (bottom first) into the state slot.
    fn store_state(&mut self, pc: u32, stack: &[ValType]) {
        let fl = self.fl_vm();
        let pcv = self.b.ins().iconst(types::I64, i64::from(pc));
        self.b.ins().store(fl, pcv, self.slot, slot::PC);
        // The locals are there already: every `local.set` writes through.
        let mut off = (slot::VALUES + self.locals_size) as i32 * 8;
        for (h, ty) in stack.iter().enumerate() {
            let v = self.b.use_var(self.var(h, *ty));
            store_cells(&mut self.b, fl, v, *ty, self.slot, off);
            off += ty.cells() as i32 * 8;
        }
    }

    /// Writes local `i` through to the state slot, where stops read it. (Storing every local at
    /// every stop instead keeps them all live to every call and exit, and register allocation
    /// of big functions then dominates compilation.)
    fn write_local(&mut self, i: u32, v: Value, ty: ValType) {
        let fl = self.fl_vm();
        let off = (slot::VALUES as i32 + self.local_cells[i as usize] as i32) * 8;
        store_cells(&mut self.b, fl, v, ty, self.slot, off);
    }

    /// A trap site stores only its pc, marked: a trapped frame's values are not kept (storing
    /// them at every site keeps every local live into every trap path, which is what made
    /// compilation slow), so the frame cursor shows the trapping frame without locals.
    fn store_trap_pc(&mut self, pc: u32) {
        let fl = self.fl_vm();
        let pcv = self
            .b
            .ins()
            .iconst(types::I64, i64::from(pc) | slot::TRAPPED);
        self.b.ins().store(fl, pcv, self.slot, slot::PC);
    }

    /// A new hardware trap site (see `signals.rs`), as the current source location.
    fn hw_site(&mut self, inst: Inst, code: TrapCode, access: bool) {
        self.sites.push(signals::Site {
            pc: inst.pc,
            code,
            uncounted: 0,
            access,
        });
        self.run_sites.push((self.sites.len() - 1, inst.run_offset));
        self.b
            .set_srcloc(ir::SourceLoc::new(self.sites.len() as u32));
    }

    /// The Cranelift trap code of hardware trap sites (the site table has the Wasm one).
    fn hw_trap_code() -> ir::TrapCode {
        ir::TrapCode::user(1).expect("a user trap code")
    }

    /// The Cranelift trap code after a libcall that never returns (the block needs an end):
    /// not a trap site.
    fn never_trap_code() -> ir::TrapCode {
        ir::TrapCode::user(2).expect("a user trap code")
    }

    /// Traps with `code` when `cond` is non-zero: a hardware trap site where the host has
    /// them, else a branch to a cold trap block.
    fn trap_if(&mut self, inst: Inst, cond: Value, code: TrapCode) {
        if self.m.signals {
            self.hw_site(inst, code, false);
            self.b.ins().trapnz(cond, Self::hw_trap_code());
            return;
        }
        let trap = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(trap);
        self.b.ins().brif(cond, trap, &[], cont, &[]);
        self.b.switch_to_block(trap);
        self.emit_trap(inst, code);
        self.b.switch_to_block(cont);
    }

    /// The trap site itself: the pc, the position, and the trap libcall, which does not
    /// return. (One block per site: a block shared by every site of a function, with the pc
    /// as a parameter, made compilation twice as slow on bz2.)
    fn emit_trap(&mut self, inst: Inst, code: TrapCode) {
        if self.m.signals {
            self.hw_site(inst, code, false);
            self.b.ins().trap(Self::hw_trap_code());
            return;
        }
        let code = self.b.ins().iconst(types::I32, i64::from(code.as_u8()));
        self.trap_call(inst, code);
    }

    fn trap_call(&mut self, inst: Inst, code: Value) {
        self.store_trap_pc(inst.pc);
        self.spill_pos();
        let uncounted = self.b.ins().iconst(types::I64, 0);
        self.run_traps.push((
            self.b.func.dfg.value_def(uncounted).unwrap_inst(),
            inst.run_offset,
        ));
        // The rest is the same at every site: one block per function, entered without
        // parameters (the site left everything in memory), so sites cost no call.
        let fl = self.fl_vm();
        self.b
            .ins()
            .store(fl, uncounted, self.shared, shared::TRAP_UNCOUNTED);
        self.b.ins().store(fl, code, self.shared, shared::TRAP_CODE);
        let exit = match self.trap_exit {
            Some(b) => b,
            None => {
                let b = self.b.create_block();
                self.b.set_cold_block(b);
                self.trap_exit = Some(b);
                b
            }
        };
        self.b.ins().jump(exit, &[]);
    }

    /// Fills the function's trap exit block (see `trap_call`).
    fn fill_trap_exit(&mut self) {
        let Some(exit) = self.trap_exit.take() else {
            return;
        };
        self.b.set_srcloc(ir::SourceLoc::default());
        self.b.switch_to_block(exit);
        let fl = self.fl_vm();
        let code = self
            .b
            .ins()
            .load(types::I32, fl, self.shared, shared::TRAP_CODE);
        let uncounted = self
            .b
            .ins()
            .load(types::I64, fl, self.shared, shared::TRAP_UNCOUNTED);
        self.libcall(
            self.m.libcalls.trap,
            &[types::I64, types::I32, types::I64],
            &[],
            &[self.vmctx, code, uncounted],
        );
        self.b.ins().trap(Self::never_trap_code());
    }

    /// In a resume variant, a point where a frame can be resumed: a new block, entered from the
    /// dispatch block when the frame resumes here, reloads the locals and the operand stack
    /// from the state slot (which the `resume_frame` libcall filled in from the snapshot), and
    /// the position and limit from the shared state, then goes on at `target`: a run head's
    /// check, which checks the restored limit before any step, or with `call` the block of
    /// the call at `pc` (keyed by [`super::resume_key`]), given the callee's code (its own
    /// resume variant, from `resolved`) and the current depth. The builder's block must be
    /// filled; it is left in the new one, filled too.
    ///
    /// Normal code has no resume points: a merge of the reloaded values into every check and
    /// every call would make it slower and slower to compile. Only the frames of a resumed
    /// snapshot run a resume variant, until they return.
    fn resume_point(&mut self, pc: u32, target: ir::Block, call: bool) {
        let key = super::resume_key(pc, call);
        if !self.m.resumable || self.resume_loads > RESUME_LOADS || !self.resume_keys.insert(key) {
            return;
        }
        self.resume_loads += self.locals.len() + self.stack.len() + 4;
        let r = self.b.create_block();
        self.b.set_cold_block(r);
        self.b.switch_to_block(r);
        let fl = self.fl_vm();
        for i in 0..self.locals.len() {
            let (var, ty) = self.locals[i];
            let off = (slot::VALUES as i32 + self.local_cells[i] as i32) * 8;
            let v = load_cells(&mut self.b, fl, ty, self.slot, off);
            self.b.def_var(var, v);
        }
        for h in 0..self.stack.len() {
            let ty = self.stack[h];
            let off = self.operand_offset(h);
            let v = load_cells(&mut self.b, fl, ty, self.slot, off);
            let var = self.var(h, ty);
            self.b.def_var(var, v);
        }
        self.reload_pos();
        if call {
            let p = self
                .b
                .ins()
                .load(types::I64, fl, self.shared, shared::RESOLVED);
            let d = self
                .b
                .ins()
                .load(types::I64, fl, self.shared, shared::DEPTH);
            self.b
                .ins()
                .jump(target, &[BlockArg::Value(p), BlockArg::Value(d)]);
        } else {
            self.b.ins().jump(target, &[]);
        }
        self.resume_points.push((key, r));
    }

    /// Fills a resume variant's dispatch block: the `resume_frame` libcall fills the state
    /// slot in and names the resume point, or a key that none has, and then the frame hands
    /// over (the engine goes on from the snapshot on the interpreter).
    fn fill_dispatch(&mut self) {
        let Some(dispatch) = self.dispatch.take() else {
            return;
        };
        self.b.set_srcloc(ir::SourceLoc::default());
        self.b.switch_to_block(dispatch);
        let key = self.libcall(
            self.m.libcalls.resume_frame,
            &[types::I64, types::I64],
            &[types::I64],
            &[self.vmctx, self.slot],
        )[0];
        let fail = self.b.create_block();
        self.b.set_cold_block(fail);
        let mut sw = cranelift_frontend::Switch::new();
        for (k, block) in std::mem::take(&mut self.resume_points) {
            sw.set_entry(u128::from(k), block);
        }
        sw.emit(&mut self.b, key, fail);
        self.b.switch_to_block(fail);
        // Set `resuming` again (the innermost frame's `resume_frame` cleared it), so that the
        // engine goes on from the snapshot, not from the state slots.
        let fl = self.fl_vm();
        let one = self.b.ins().iconst(types::I64, 1);
        self.b.ins().store(fl, one, self.shared, shared::RESUMING);
        self.leave_for_good();
    }

    /// Calls a Rust function of the runtime (`extern "C"`, the host's calling convention).
    fn libcall(
        &mut self,
        f: usize,
        params: &[Type],
        returns: &[Type],
        args: &[Value],
    ) -> Vec<Value> {
        let key = (params.to_vec(), returns.to_vec());
        let sig = match self.lib_sigs.refs.get(&key) {
            Some(s) => *s,
            None => {
                let mut sig = Signature::new(self.m.libcalls.call_conv);
                sig.params.extend(params.iter().map(|t| AbiParam::new(*t)));
                sig.returns
                    .extend(returns.iter().map(|t| AbiParam::new(*t)));
                let s = self.b.import_signature(sig);
                self.lib_sigs.refs.insert(key, s);
                s
            }
        };
        let callee = self.b.ins().iconst(types::I64, f as i64);
        let call = self.b.ins().call_indirect(sig, callee, args);
        self.b.inst_results(call).to_vec()
    }

    /// A libcall returning a status (0, or a trap code + 1): traps when non-zero.
    fn libcall_checked(&mut self, inst: Inst, f: usize, args: &[Value]) {
        let mut params = vec![types::I64; args.len()];
        for (p, a) in params.iter_mut().zip(args) {
            *p = self.b.func.dfg.value_type(*a);
        }
        let r = self.libcall(f, &params, &[types::I32], args)[0];
        let trap = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(trap);
        self.b.ins().brif(r, trap, &[], cont, &[]);
        self.b.switch_to_block(trap);
        let code = self.b.ins().iadd_imm_s(r, -1);
        self.trap_call(inst, code);
        self.b.switch_to_block(cont);
    }

    fn label_target(&mut self, label: Label, types: Vec<ValType>) -> ir::Block {
        let l = &mut self.labels[label.0 as usize];
        if l.types.is_none() {
            l.types = Some(types);
        }
        l.block
    }

    /// The moves of a branch (the top `keep` values down over `drop`) and the operand types at
    /// its target.
    fn branch_moves(&mut self, target: &Branch<Label>) -> Vec<ValType> {
        let keep = target.dk.keep as usize;
        let drop = target.dk.drop as usize;
        let len = self.stack.len();
        let mut types = self.stack[..len - keep - drop].to_vec();
        let kept: Vec<ValType> = self.stack[len - keep..].to_vec();
        if drop > 0 {
            for (i, ty) in kept.iter().enumerate() {
                let v = self.b.use_var(self.var(len - keep + i, *ty));
                let dst = self.var(len - keep - drop + i, *ty);
                self.b.def_var(dst, v);
            }
        }
        types.extend(kept);
        types
    }

    /// A conditional edge to `target`: the label's block when nothing moves, else a new block
    /// that [`JitEnv::fill_edges`] fills with the moves once the branch is emitted.
    fn edge_block(
        &mut self,
        target: &Branch<Label>,
        pending: &mut Vec<(ir::Block, Branch<Label>)>,
    ) -> ir::Block {
        if target.dk.drop == 0 {
            let types = self.stack.clone();
            return self.label_target(target.label, types);
        }
        let edge = self.b.create_block();
        pending.push((edge, *target));
        edge
    }

    /// Emits the moves of the edge blocks made by [`JitEnv::edge_block`]; the operand stack is
    /// as at the branch. Leaves the builder in the last edge block's end (filled).
    fn fill_edges(&mut self, pending: Vec<(ir::Block, Branch<Label>)>) {
        for (edge, target) in pending {
            self.b.switch_to_block(edge);
            let types = self.branch_moves(&target);
            let block = self.label_target(target.label, types);
            self.b.ins().jump(block, &[]);
        }
    }

    fn spill_pos(&mut self) {
        let pos = self.b.use_var(self.pos);
        let fl = self.fl_vm();
        self.b.ins().store(fl, pos, self.shared, shared::POS);
    }

    fn reload_pos(&mut self) {
        let fl = self.fl_vm();
        let p = self.b.ins().load(types::I64, fl, self.shared, shared::POS);
        self.b.def_var(self.pos, p);
        let l = self
            .b
            .ins()
            .load(types::I64, fl, self.shared, shared::LIMIT);
        self.b.def_var(self.limit, l);
    }

    fn sig_ref(&mut self, type_index: u32) -> ir::SigRef {
        if let Some(s) = self.sig_refs[type_index as usize] {
            return s;
        }
        let sig = wasm_signature(&self.m.types[type_index as usize]);
        let s = self.b.import_signature(sig);
        self.sig_refs[type_index as usize] = Some(s);
        s
    }

    /// A Wasm call of type `type_index` with its arguments on the stack, through `how`.
    fn call(&mut self, inst: Inst, type_index: u32, how: CallHow) {
        let ty = self.m.types[type_index as usize].clone();
        let nargs = ty.params().len();
        let fl = self.fl_vm();
        // The call-depth limit, counted in Wasm frames; host functions are not frames.
        let depth = self
            .b
            .ins()
            .load(types::I64, fl, self.shared, shared::DEPTH);
        if matches!(how, CallHow::Direct(_) | CallHow::Native(_)) {
            let max = self
                .b
                .ins()
                .load(types::I64, fl, self.shared, shared::MAX_DEPTH);
            let over = self
                .b
                .ins()
                .icmp(IntCC::UnsignedGreaterThanOrEqual, depth, max);
            self.trap_if(inst, over, TrapCode::CallStackExhausted);
        }
        let types_now = self.stack.clone();
        self.store_state(inst.pc, &types_now);
        self.spill_pos();
        let args_off = i64::from(self.operand_offset(self.stack.len() - nargs));
        let results: Vec<Value> = match how {
            CallHow::Direct(f) | CallHow::Native(f) => {
                let p = match (how, f) {
                    (CallHow::Direct(_), CallTarget::Defined(def)) => self.code_of(def),
                    (_, CallTarget::Ptr(p)) => p,
                    _ => unreachable!("a direct call names a defined function"),
                };
                // A resume variant resumes a caller here: the callee's code and the depth
                // come from the resume (see `resume_point`).
                let (p, depth) = if self.m.resumable {
                    let call_b = self.b.create_block();
                    self.b.append_block_param(call_b, types::I64);
                    self.b.append_block_param(call_b, types::I64);
                    self.b
                        .ins()
                        .jump(call_b, &[BlockArg::Value(p), BlockArg::Value(depth)]);
                    self.resume_point(inst.pc, call_b, true);
                    self.b.switch_to_block(call_b);
                    let params = self.b.block_params(call_b);
                    (params[0], params[1])
                } else {
                    (p, depth)
                };
                let mut args = Vec::with_capacity(nargs + 1);
                args.push(self.vmctx);
                let arg_types = self.peek_types(nargs).to_vec();
                for (i, t) in arg_types.iter().enumerate() {
                    let h = self.stack.len() - nargs + i;
                    args.push(self.b.use_var(self.var(h, *t)));
                }
                let d1 = self.b.ins().iadd_imm_s(depth, 1);
                self.b.ins().store(fl, d1, self.shared, shared::DEPTH);
                let sig = self.sig_ref(type_index);
                let call = self.b.ins().call_indirect(sig, p, &args);
                self.b.ins().store(fl, depth, self.shared, shared::DEPTH);
                self.b.inst_results(call).to_vec()
            }
            CallHow::Import(func) | CallHow::Slow(func) => {
                let args_ptr = self.b.ins().iadd_imm_s(self.slot, args_off);
                let r = self.libcall(
                    self.m.libcalls.call,
                    &[types::I64, types::I32, types::I64],
                    &[types::I64],
                    &[self.vmctx, func, args_ptr],
                )[0];
                let fl_o = mem_flags(self.r_other);
                let mut off = 0;
                let mut results = Vec::with_capacity(ty.results().len());
                for t in ty.results() {
                    results.push(load_cells(&mut self.b, fl_o, *t, r, off));
                    off += t.cells() as i32 * 8;
                }
                results
            }
        };
        self.reload_pos();
        let typed: Vec<(Value, ValType)> = results
            .iter()
            .copied()
            .zip(ty.results().iter().copied())
            .collect();
        self.check_after_call(inst.pc, &typed, args_off as i32);
        for _ in 0..nargs {
            self.pop();
        }
        for (v, t) in typed {
            self.push(t, v);
        }
    }

    /// `call_indirect`'s lookup of the index on top (popped) in table `table_index`: the
    /// callee's code when it is this instance's own, else 0 with the function in `resolved`.
    /// It may trap, with the index still on the stack.
    fn resolve_table(&mut self, inst: Inst, table_index: u32, type_index: u32) -> Value {
        self.store_trap_pc(inst.pc);
        self.spill_pos();
        let index = self.pop();
        let index = self.wide(index);
        let t = self.i32c(table_index);
        let ty = self.i32c(type_index);
        self.libcall(
            self.m.libcalls.resolve,
            &[types::I64, types::I32, types::I64, types::I32],
            &[types::I64],
            &[self.vmctx, t, index, ty],
        )[0]
    }

    /// Calls (or with `tail`, tail-calls) a callee of type `type_index` found at run time:
    /// this instance's native `code`, or when `code` is 0 the function in `resolved`, through
    /// the runtime.
    fn call_resolved(&mut self, inst: Inst, type_index: u32, code: Value, tail: bool) {
        let native = self.b.create_block();
        let slow = self.b.create_block();
        self.b.ins().brif(code, native, &[], slow, &[]);
        let saved = self.stack.clone();
        self.b.switch_to_block(native);
        let join = if tail {
            self.tail_call(type_index, code, self.vmctx);
            None
        } else {
            let join = self.b.create_block();
            self.call(inst, type_index, CallHow::Native(CallTarget::Ptr(code)));
            self.b.ins().jump(join, &[]);
            Some(join)
        };
        self.stack = saved;
        self.b.switch_to_block(slow);
        let fl = self.fl_vm();
        let f = self
            .b
            .ins()
            .load(types::I32, fl, self.shared, shared::RESOLVED);
        match join {
            None => self.tail_call_any(inst, type_index, f),
            Some(join) => {
                self.call(inst, type_index, CallHow::Slow(f));
                self.b.ins().jump(join, &[]);
                self.b.switch_to_block(join);
            }
        }
    }

    /// A tail call of type `type_index` to native `code` in the instance of `callee_vmctx`,
    /// with its arguments on the stack: the frame unlinks its state slot and is replaced by
    /// the callee's (Cranelift's `return_call` under the tail calling convention), so the
    /// call depth stays as it is, as on the interpreter.
    fn tail_call(&mut self, type_index: u32, code: Value, callee_vmctx: Value) {
        let nargs = self.m.types[type_index as usize].params().len();
        let mut args = Vec::with_capacity(nargs + 1);
        args.push(callee_vmctx);
        let arg_types = self.peek_types(nargs).to_vec();
        for (i, t) in arg_types.iter().enumerate() {
            let h = self.stack.len() - nargs + i;
            args.push(self.b.use_var(self.var(h, *t)));
        }
        for _ in 0..nargs {
            self.pop();
        }
        self.spill_pos();
        let fl = self.fl_vm();
        self.b.ins().store(fl, self.prev, self.shared, shared::TOP);
        let sig = self.sig_ref(type_index);
        self.b.ins().return_call_indirect(sig, code, &args);
        self.dead = true;
    }

    /// A tail call of function `func` (a store handle) found at run time: a Wasm function, of
    /// whatever instance, replaces the frame ([`JitEnv::tail_call`]); a host function is
    /// called with the frame still there, which then returns its results (no further step).
    fn tail_call_any(&mut self, inst: Inst, type_index: u32, func: Value) {
        self.spill_pos();
        let code = self.libcall(
            self.m.libcalls.tail_target,
            &[types::I64, types::I32],
            &[types::I64],
            &[self.vmctx, func],
        )[0];
        let wasm = self.b.create_block();
        let host = self.b.create_block();
        self.b.ins().brif(code, wasm, &[], host, &[]);
        let saved = self.stack.clone();
        self.b.switch_to_block(wasm);
        let fl = self.fl_vm();
        let callee_vmctx = self
            .b
            .ins()
            .load(types::I64, fl, self.shared, shared::RESOLVED);
        self.tail_call(type_index, code, callee_vmctx);
        self.stack = saved;
        self.b.switch_to_block(host);
        self.call(inst, type_index, CallHow::Import(func));
        self.emit_return();
        self.dead = true;
    }

    /// Pushes a 64-bit result of memory `mem` as its address type (i32 for 32-bit memories).
    fn push_address(&mut self, mem: u32, v: Value) {
        let wide = self.m.memory64.get(mem as usize).copied().unwrap_or(false);
        self.push_index(wide, v);
    }

    /// Pushes a 64-bit result as an i64 if `wide`, else as an i32 (a 32-bit memory's or
    /// table's size or old size).
    fn push_index(&mut self, wide: bool, v: Value) {
        if wide {
            self.push(ValType::I64, v);
        } else {
            let v = self.b.ins().ireduce(types::I32, v);
            self.push(ValType::I32, v);
        }
    }

    fn memory_base_len(&mut self) -> (Value, Value) {
        let fl = self.fl_vm();
        let base = self
            .b
            .ins()
            .load(types::I64, fl, self.vmctx, vmctx::MEM_BASE);
        let len = self
            .b
            .ins()
            .load(types::I64, fl, self.vmctx, vmctx::MEM_LEN);
        (base, len)
    }

    /// Whether memory 0, when 32-bit, is guarded (`memory/bytes.rs`): its accesses need no
    /// bounds check, a fault is the trap. `JitEngine` runs no instance whose memory 0 could not
    /// be guarded.
    fn guarded(&self) -> bool {
        self.m.signals && crate::memory::GUARDS
    }

    /// The host address of an access of `size` bytes at `addr + offset` to memory 0 (32-bit),
    /// its effective address, and the flags the access itself must use: bounds-checked here,
    /// or on a guarded memory a trapping access that is its own trap site.
    fn address(
        &mut self,
        inst: Inst,
        addr: Value,
        offset: u64,
        size: u64,
    ) -> (Value, Value, MemFlagsData) {
        let a = self.b.ins().uextend(types::I64, addr);
        let ea = if offset == 0 {
            a
        } else {
            self.b.ins().iadd_imm_s(a, offset as i64)
        };
        if self.guarded() {
            let fl = self.fl_vm();
            let base = self
                .b
                .ins()
                .load(types::I64, fl, self.vmctx, vmctx::MEM_BASE);
            // The access is the site: the source location stays until the next site, so the
            // instruction a load may be merged into reports this site too. Cranelift merges a
            // trapping load only into its single use with no other effect between them; should
            // that use be another site's `trapnz`, `compile.rs::site_offsets` finds the access
            // under a `ud2` site's location and refuses the function.
            self.hw_site(inst, TrapCode::MemoryOutOfBounds, true);
            let fl = MemFlagsData::new()
                .with_alias_region(Some(self.r_heap))
                .with_trap_code(Some(Self::hw_trap_code()));
            return (self.b.ins().iadd(base, ea), ea, fl);
        }
        let (base, len) = self.memory_base_len();
        let end = self.b.ins().iadd_imm_s(ea, size as i64);
        let oob = self.b.ins().icmp(IntCC::UnsignedGreaterThan, end, len);
        self.trap_if(inst, oob, TrapCode::MemoryOutOfBounds);
        (self.b.ins().iadd(base, ea), ea, mem_flags(self.r_heap))
    }

    /// Whether memory `mem` takes the general path (libcalls): any memory but a 32-bit memory
    /// 0, whose base and length JIT code reads from the context.
    fn general_memory(&self, mem: u32) -> bool {
        mem != 0 || self.m.memory64.get(mem as usize).copied().unwrap_or(false)
    }

    /// Whether an access through `memarg` takes the fast path of [`JitEnv::address`]: memory
    /// 0, 32-bit, and an offset that fits 32 bits (else the general path, through libcalls).
    pub(crate) fn fast_memory(&self, memarg: &wasmparser::MemArg) -> bool {
        !self.general_memory(crate::interp_env::memarg_memory(memarg))
            && u32::try_from(memarg.offset).is_ok()
    }

    /// A value widened to i64 for a libcall (an i32 address or count zero-extended).
    fn wide(&mut self, v: Value) -> Value {
        if self.b.func.dfg.value_type(v) == types::I32 {
            self.b.ins().uextend(types::I64, v)
        } else {
            v
        }
    }

    /// A load on the general path: any memory, 64-bit addresses, any offset.
    fn load_x(&mut self, inst: Inst, memarg: &wasmparser::MemArg, kind: LoadKind) {
        let addr = self.pop();
        let addr = self.wide(addr);
        let (ty, _) = kind.result_and_size();
        let mem = self.i32c(crate::interp_env::memarg_memory(memarg));
        let offset = self.b.ins().iconst(types::I64, memarg.offset as i64);
        let k = self.i32c(kind.code_kind() as u32);
        let f = self.m.libcalls.load_x;
        self.spill_pos();
        self.libcall_checked(inst, f, &[self.vmctx, mem, addr, offset, k]);
        let fl = self.fl_vm();
        let cell = self
            .b
            .ins()
            .load(types::I64, fl, self.shared, shared::RESOLVED);
        let v = from_cell(&mut self.b, cell, ty);
        self.push(ty, v);
    }

    /// A store on the general path, as [`JitEnv::load_x`].
    fn store_x(&mut self, inst: Inst, memarg: &wasmparser::MemArg, size: u64) {
        self.watch_gate(inst);
        let ty = *self.stack.last().expect("validated operand stack");
        let v = self.pop();
        let v = to_cell(&mut self.b, v, ty);
        let addr = self.pop();
        let addr = self.wide(addr);
        let mem = self.i32c(crate::interp_env::memarg_memory(memarg));
        let offset = self.b.ins().iconst(types::I64, memarg.offset as i64);
        let width = self.i32c(size as u32);
        let f = self.m.libcalls.store_x;
        self.libcall_checked(inst, f, &[self.vmctx, mem, addr, offset, v, width]);
    }

    fn load(&mut self, inst: Inst, memarg: &wasmparser::MemArg, kind: LoadKind) {
        if !self.fast_memory(memarg) {
            return self.load_x(inst, memarg, kind);
        }
        let addr = self.pop();
        let (ty, size) = kind.result_and_size();
        let (p, _, fl) = self.address(inst, addr, memarg.offset, size);
        let ins = self.b.ins();
        let v = match kind {
            LoadKind::Plain(t) => ins.load(ir_type(t), fl, p, 0),
            LoadKind::S8(t) => ins.sload8(ir_type(t), fl, p, 0),
            LoadKind::U8(t) => ins.uload8(ir_type(t), fl, p, 0),
            LoadKind::S16(t) => ins.sload16(ir_type(t), fl, p, 0),
            LoadKind::U16(t) => ins.uload16(ir_type(t), fl, p, 0),
            LoadKind::S32 => ins.sload32(fl, p, 0),
            LoadKind::U32 => ins.uload32(fl, p, 0),
        };
        self.push(ty, v);
    }

    fn store(&mut self, inst: Inst, memarg: &wasmparser::MemArg, size: u64) {
        if !self.fast_memory(memarg) {
            return self.store_x(inst, memarg, size);
        }
        let before = if self.m.watch {
            self.stack.clone()
        } else {
            Vec::new()
        };
        let v = self.pop();
        let addr = self.pop();
        let (p, ea, fl) = self.address(inst, addr, memarg.offset, size);
        if self.m.watch {
            self.watch_check(inst, ea, size, &before);
        }
        let vt = self.b.func.dfg.value_type(v);
        let ins = self.b.ins();
        match (size, vt.bytes() as u64) {
            (n, m) if n == m => {
                ins.store(fl, v, p, 0);
            }
            (1, _) => {
                ins.istore8(fl, v, p, 0);
            }
            (2, _) => {
                ins.istore16(fl, v, p, 0);
            }
            (4, _) => {
                ins.istore32(fl, v, p, 0);
            }
            _ => unreachable!("store sizes are 1, 2, 4 or the value's"),
        }
        self.mark_dirty(ea, size);
    }

    /// Before a store of `size` bytes at `ea` to memory 0 whose operand stack was `before`: if
    /// it writes a watched byte, the frame stores its state as before the store, and the call
    /// goes on on the interpreter, which stops right after the store (as it would have
    /// there). The inline test is against the hull of memory 0's watched ranges (empty when
    /// nothing is watched, so that the test fails); a libcall then tells exactly.
    fn watch_check(&mut self, inst: Inst, ea: Value, size: u64, before: &[ValType]) {
        let fl = self.fl_vm();
        let start = self
            .b
            .ins()
            .load(types::I64, fl, self.vmctx, vmctx::WATCH_START);
        let len = self
            .b
            .ins()
            .load(types::I64, fl, self.vmctx, vmctx::WATCH_LEN);
        // ea <= end - 1 && ea + size - 1 >= start, as one unsigned comparison.
        let last = self.b.ins().iadd_imm_s(ea, size as i64 - 1);
        let t = self.b.ins().isub(last, start);
        let span = self.b.ins().iadd_imm_s(len, size as i64 - 1);
        let near = self.b.ins().icmp(IntCC::UnsignedLessThan, t, span);
        let maybe = self.b.create_block();
        let stop = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(maybe);
        self.b.set_cold_block(stop);
        self.b.ins().brif(near, maybe, &[], cont, &[]);
        self.b.switch_to_block(maybe);
        let n = self.b.ins().iconst(types::I64, size as i64);
        let hit = self.libcall(
            self.m.libcalls.watch_hit,
            &[types::I64, types::I64, types::I64],
            &[types::I32],
            &[self.vmctx, ea, n],
        )[0];
        self.b.ins().brif(hit, stop, &[], cont, &[]);
        self.b.switch_to_block(stop);
        self.hand_over_before(inst, before);
        self.b.switch_to_block(cont);
    }

    /// Before an instruction that writes memory through the runtime (a general store, a
    /// `v128` store, a bulk operation): while anything is watched, the call goes on on the
    /// interpreter from right before it.
    fn watch_gate(&mut self, inst: Inst) {
        if !self.m.watch {
            return;
        }
        let fl = self.fl_vm();
        let watching = self
            .b
            .ins()
            .load(types::I64, fl, self.vmctx, vmctx::WATCHING);
        let stop = self.b.create_block();
        let cont = self.b.create_block();
        self.b.set_cold_block(stop);
        self.b.ins().brif(watching, stop, &[], cont, &[]);
        self.b.switch_to_block(stop);
        let before = self.stack.clone();
        self.hand_over_before(inst, &before);
        self.b.switch_to_block(cont);
    }

    /// Ends a cold block: stores the frame's state as before `inst` (operands `before`), the
    /// position before it, and hands the call over to the interpreter.
    fn hand_over_before(&mut self, inst: Inst, before: &[ValType]) {
        self.store_state(inst.pc, before);
        let pos = self.b.use_var(self.pos);
        // The steps of the run from `inst` on, patched when the run closes (as a trap's).
        let uncounted = self.b.ins().iconst(types::I64, 0);
        self.run_traps.push((
            self.b.func.dfg.value_def(uncounted).unwrap_inst(),
            inst.run_offset,
        ));
        let exact = self.b.ins().isub(pos, uncounted);
        let fl = self.fl_vm();
        self.b.ins().store(fl, exact, self.shared, shared::POS);
        self.leave_for_good();
    }

    /// Marks the 4 KiB page of the first byte written dirty, and for a store of more than one
    /// byte the next page too (see `memory.rs`: one byte per page).
    fn mark_dirty(&mut self, ea: Value, size: u64) {
        let fl = self.fl_vm();
        let dirty = self.b.ins().load(types::I64, fl, self.vmctx, vmctx::DIRTY);
        let fl_o = mem_flags(self.r_other);
        // A store of up to 16 bytes touches its first page and perhaps the next: one store
        // marks both (the dirty bytes have one to spare past the last page, see memory.rs).
        let page = self.b.ins().ushr_imm_s(ea, crate::memory::PAGE_BITS as i64);
        let p = self.b.ins().iadd(dirty, page);
        let mark = if size > 1 {
            self.b.ins().iconst(types::I16, 0x0101)
        } else {
            self.b.ins().iconst(types::I8, 1)
        };
        self.b.ins().store(fl_o, mark, p, 0);
    }

    fn global_ptr(&mut self, index: u32) -> Value {
        let fl = self.fl_vm();
        let table = self
            .b
            .ins()
            .load(types::I64, fl, self.vmctx, vmctx::GLOBALS);
        self.b.ins().load(types::I64, fl, table, (index * 8) as i32)
    }

    fn canon(&mut self, v: Value) -> Value {
        if !self.m.canon {
            return v;
        }
        let ty = self.b.func.dfg.value_type(v);
        let nan = if ty == types::F32 {
            self.b.ins().f32const(ir::immediates::Ieee32::with_bits(
                crate::wasm::CANONICAL_NAN_F32,
            ))
        } else {
            self.b.ins().f64const(ir::immediates::Ieee64::with_bits(
                crate::wasm::CANONICAL_NAN_F64,
            ))
        };
        let is_nan = self.b.ins().fcmp(FloatCC::Unordered, v, v);
        self.b.ins().select(is_nan, nan, v)
    }

    fn bool_i32(&mut self, c: Value) -> Value {
        self.b.ins().uextend(types::I32, c)
    }

    /// The condition of a branch or `select` popped as `c`: when `c` is a comparison's result
    /// just widened to i32 (by [`JitEnv::bool_i32`]), the comparison itself, so that the
    /// branch becomes compare-and-jump (at `opt_level` none nothing else folds it).
    fn condition(&mut self, c: Value) -> Value {
        let dfg = &self.b.func.dfg;
        if let ir::ValueDef::Result(i, 0) = dfg.value_def(c)
            && let ir::InstructionData::Unary {
                opcode: ir::Opcode::Uextend,
                arg,
            } = dfg.insts[i]
            && let ir::ValueDef::Result(j, 0) = dfg.value_def(arg)
            && matches!(dfg.insts[j].opcode(), ir::Opcode::Icmp | ir::Opcode::Fcmp)
        {
            return arg;
        }
        c
    }

    fn icmp(&mut self, cc: IntCC, ty: ValType) {
        let _ = ty;
        let (a, b) = self.pop2();
        let c = self.b.ins().icmp(cc, a, b);
        let v = self.bool_i32(c);
        self.push(ValType::I32, v);
    }

    fn fcmp(&mut self, cc: FloatCC) {
        let (a, b) = self.pop2();
        let c = self.b.ins().fcmp(cc, a, b);
        let v = self.bool_i32(c);
        self.push(ValType::I32, v);
    }

    fn bin(
        &mut self,
        ty: ValType,
        f: impl FnOnce(&mut FunctionBuilder<'_>, Value, Value) -> Value,
    ) {
        let (a, b) = self.pop2();
        let v = f(&mut self.b, a, b);
        self.push(ty, v);
    }

    fn fbin(
        &mut self,
        ty: ValType,
        f: impl FnOnce(&mut FunctionBuilder<'_>, Value, Value) -> Value,
    ) {
        let (a, b) = self.pop2();
        let v = f(&mut self.b, a, b);
        let v = self.canon(v);
        self.push(ty, v);
    }

    fn un(&mut self, ty: ValType, f: impl FnOnce(&mut FunctionBuilder<'_>, Value) -> Value) {
        let a = self.pop();
        let v = f(&mut self.b, a);
        self.push(ty, v);
    }

    fn fun(&mut self, ty: ValType, f: impl FnOnce(&mut FunctionBuilder<'_>, Value) -> Value) {
        let a = self.pop();
        let v = f(&mut self.b, a);
        let v = self.canon(v);
        self.push(ty, v);
    }

    /// Integer division and remainder with Wasm's traps.
    fn div(&mut self, inst: Inst, ty: ValType, signed: bool, rem: bool) {
        let (a, b) = self.pop2();
        let t = ir_type(ty);
        let zero = self.b.ins().icmp_imm_s(IntCC::Equal, b, 0);
        self.trap_if(inst, zero, TrapCode::IntegerDivisionByZero);
        let v = if signed {
            let min = if t == types::I32 {
                i64::from(i32::MIN)
            } else {
                i64::MIN
            };
            let is_m1 = self.b.ins().icmp_imm_s(IntCC::Equal, b, -1);
            if rem {
                // MIN % -1 is 0; x % -1 is 0 for every x, so divide by 1 instead.
                let one = self.b.ins().iconst(t, 1);
                let d = self.b.ins().select(is_m1, one, b);
                self.b.ins().srem(a, d)
            } else {
                let is_min = self.b.ins().icmp_imm_s(IntCC::Equal, a, min);
                let ov = self.b.ins().band(is_min, is_m1);
                self.trap_if(inst, ov, TrapCode::IntegerOverflow);
                self.b.ins().sdiv(a, b)
            }
        } else if rem {
            self.b.ins().urem(a, b)
        } else {
            self.b.ins().udiv(a, b)
        };
        self.push(ty, v);
    }

    /// A trapping float-to-int conversion: NaN and values outside the exclusive `(lo, hi)`
    /// trap, the rest truncate.
    fn trunc(&mut self, inst: Inst, to: ValType, signed: bool, lo: f64, hi: f64) {
        let x = self.pop();
        let ft = self.b.func.dfg.value_type(x);
        let is_nan = self.b.ins().fcmp(FloatCC::Unordered, x, x);
        self.trap_if(inst, is_nan, TrapCode::BadConversionToInteger);
        let (lo_v, hi_v) = if ft == types::F32 {
            (
                self.b.ins().f32const(lo as f32),
                self.b.ins().f32const(hi as f32),
            )
        } else {
            (self.b.ins().f64const(lo), self.b.ins().f64const(hi))
        };
        let above = self.b.ins().fcmp(FloatCC::GreaterThan, x, lo_v);
        let below = self.b.ins().fcmp(FloatCC::LessThan, x, hi_v);
        let ok = self.b.ins().band(above, below);
        let bad = self.b.ins().bxor_imm_s(ok, 1);
        self.trap_if(inst, bad, TrapCode::IntegerOverflow);
        let t = ir_type(to);
        let v = if signed {
            self.b.ins().fcvt_to_sint_sat(t, x)
        } else {
            self.b.ins().fcvt_to_uint_sat(t, x)
        };
        self.push(to, v);
    }

    fn local_index(&self, i: u32) -> (Variable, ValType) {
        self.locals[i as usize]
    }

    fn func_index_cell(&mut self, func_index: u32) -> Value {
        let fl = self.fl_vm();
        let funcs = self.b.ins().load(types::I64, fl, self.vmctx, vmctx::FUNCS);
        self.b
            .ins()
            .load(types::I32, fl, funcs, (func_index * 4) as i32)
    }

    /// The code of defined function `def`, from the module's code table; compiled first if
    /// this is its first call.
    fn code_of(&mut self, def: u32) -> Value {
        if self.callee_seen.insert(def) {
            self.callees.push(def);
        }
        let fl = self.fl_vm();
        let table = self
            .b
            .ins()
            .load(types::I64, fl, self.vmctx, vmctx::CODE_TABLE);
        // Not the vmctx region: a compilation (a call) fills the table in.
        let fl_o = mem_flags(self.r_other);
        let p = self.b.ins().load(types::I64, fl_o, table, (def * 8) as i32);
        let missing = self.b.create_block();
        let join = self.b.create_block();
        self.b.append_block_param(join, types::I64);
        self.b.set_cold_block(missing);
        self.b
            .ins()
            .brif(p, join, &[BlockArg::Value(p)], missing, &[]);
        self.b.switch_to_block(missing);
        let d = self.i32c(def);
        let compiled = self.libcall(
            self.m.libcalls.compile,
            &[types::I64, types::I32],
            &[types::I64],
            &[self.vmctx, d],
        )[0];
        self.b.ins().jump(join, &[BlockArg::Value(compiled)]);
        self.b.switch_to_block(join);
        self.b.block_params(join)[0]
    }

    fn i32c(&mut self, v: u32) -> Value {
        self.b.ins().iconst(types::I32, i64::from(v as i32))
    }
}

#[derive(Clone, Copy)]
enum CallTarget {
    /// A function this module defines, by defined index.
    Defined(u32),
    Ptr(Value),
}

#[derive(Clone, Copy)]
enum CallHow {
    /// A function of this module, called directly.
    Direct(CallTarget),
    /// A function of this instance resolved at run time (`call_indirect`): its code pointer.
    Native(CallTarget),
    /// An import (the store-wide function handle, as a value).
    Import(Value),
    /// Anything else `call_indirect` finds: through the runtime.
    Slow(Value),
}

#[derive(Clone, Copy)]
enum LoadKind {
    Plain(ValType),
    S8(ValType),
    U8(ValType),
    S16(ValType),
    U16(ValType),
    S32,
    U32,
}

impl LoadKind {
    /// The interpreter's name for this load (the general path's libcall takes it).
    fn code_kind(self) -> crate::code::LoadKind {
        use crate::code::LoadKind as K;
        match self {
            LoadKind::Plain(ValType::I64 | ValType::F64) => K::U64,
            LoadKind::Plain(_) | LoadKind::U32 => K::U32,
            LoadKind::S8(ValType::I64) => K::I64S8,
            LoadKind::S8(_) => K::I32S8,
            LoadKind::U8(_) => K::U8,
            LoadKind::S16(ValType::I64) => K::I64S16,
            LoadKind::S16(_) => K::I32S16,
            LoadKind::U16(_) => K::U16,
            LoadKind::S32 => K::I64S32,
        }
    }

    fn result_and_size(self) -> (ValType, u64) {
        match self {
            LoadKind::Plain(t) => (
                t,
                match t {
                    ValType::I32 | ValType::F32 => 4,
                    _ => 8,
                },
            ),
            LoadKind::S8(t) | LoadKind::U8(t) => (t, 1),
            LoadKind::S16(t) | LoadKind::U16(t) => (t, 2),
            LoadKind::S32 | LoadKind::U32 => (ValType::I64, 4),
        }
    }
}

fn zero(b: &mut FunctionBuilder<'_>, ty: ValType) -> Value {
    match ty {
        ValType::F32 => b.ins().f32const(0.0),
        ValType::F64 => b.ins().f64const(0.0),
        ValType::V128 => v128_const(b, 0),
        t => b.ins().iconst(ir_type(t), 0),
    }
}

/// Stores `v` of type `ty` as its cells at `base + off`: one, or a `v128`'s two (its 16 bytes,
/// little-endian, low half first as [`crate::Val::to_cells`] has it).
pub(crate) fn store_cells(
    b: &mut FunctionBuilder<'_>,
    fl: MemFlagsData,
    v: Value,
    ty: ValType,
    base: Value,
    off: i32,
) {
    if ty == ValType::V128 {
        b.ins().store(unaligned(fl), v, base, off);
    } else {
        let c = to_cell(b, v, ty);
        b.ins().store(fl, c, base, off);
    }
}

/// Loads a value of type `ty` from its cells at `base + off` (the inverse of [`store_cells`]).
pub(crate) fn load_cells(
    b: &mut FunctionBuilder<'_>,
    fl: MemFlagsData,
    ty: ValType,
    base: Value,
    off: i32,
) -> Value {
    let fl = if ty == ValType::V128 {
        unaligned(fl)
    } else {
        fl
    };
    b.ins().load(ir_type(ty), fl, base, off)
}

/// `fl` without the claim of alignment: cells are 8-byte aligned, and x64 folds only loads
/// marked aligned into SSE instructions, which need 16.
pub(crate) fn unaligned(fl: MemFlagsData) -> MemFlagsData {
    MemFlagsData::new()
        .with_trap_code(fl.trap_code())
        .with_alias_region(fl.alias_region())
}

/// A 64-bit cell as a value of type `ty` (the inverse of [`to_cell`]).
pub(crate) fn from_cell(b: &mut FunctionBuilder<'_>, c: Value, ty: ValType) -> Value {
    match ty {
        ValType::I32 => b.ins().ireduce(types::I32, c),
        ValType::F32 => {
            let i = b.ins().ireduce(types::I32, c);
            b.ins().bitcast(types::F32, MemFlagsData::new(), i)
        }
        ValType::F64 => b.ins().bitcast(types::F64, MemFlagsData::new(), c),
        _ => c,
    }
}

/// A value as its 64-bit cell (see [`crate::Val::to_cell`]).
pub(crate) fn to_cell(b: &mut FunctionBuilder<'_>, v: Value, ty: ValType) -> Value {
    match ty {
        ValType::I32 => b.ins().uextend(types::I64, v),
        ValType::F32 => {
            let i = b.ins().bitcast(types::I32, MemFlagsData::new(), v);
            b.ins().uextend(types::I64, i)
        }
        ValType::F64 => b.ins().bitcast(types::I64, MemFlagsData::new(), v),
        _ => v,
    }
}

impl FuncEnvironment for JitEnv<'_, '_> {
    type Label = Label;

    /// A `v128` is one value here (an `i8x16`), so heights and local indices are in values.
    const CELLS: bool = false;

    fn loop_header(&mut self) {
        self.check_next = true;
    }

    fn new_label(&mut self) -> Label {
        let block = self.b.create_block();
        self.labels.push(LabelData { block, types: None });
        Label(self.labels.len() as u32 - 1)
    }

    fn bind_label(&mut self, label: Label) {
        self.close_run();
        let block = {
            let types = self.stack.clone();
            let dead = self.dead;
            let l = &mut self.labels[label.0 as usize];
            if !dead && l.types.is_none() {
                l.types = Some(types);
            }
            l.block
        };
        if !self.dead {
            self.b.ins().jump(block, &[]);
        }
        self.b.switch_to_block(block);
        if let Some(t) = &self.labels[label.0 as usize].types {
            self.stack = t.clone();
        }
        self.dead = false;
    }

    fn instruction(&mut self, inst: Inst, op: &Operator<'_>) -> WResult<()> {
        use Operator as O;
        use ValType::{F32, F64, I32, I64};
        self.step(inst);
        match *op {
            O::Nop => {}
            O::Drop => {
                self.pop();
            }
            O::Select | O::TypedSelect { .. } => {
                let c = self.pop();
                let c = self.condition(c);
                let ty = self.stack[self.stack.len() - 1];
                let (a, b) = self.pop2();
                let v = self.b.ins().select(c, a, b);
                self.push(ty, v);
            }
            O::LocalGet { local_index } => {
                let (var, ty) = self.local_index(local_index);
                let v = self.b.use_var(var);
                self.push(ty, v);
            }
            O::LocalSet { local_index } => {
                let (var, ty) = self.local_index(local_index);
                let v = self.pop();
                self.b.def_var(var, v);
                self.write_local(local_index, v, ty);
            }
            O::LocalTee { local_index } => {
                let (var, ty) = self.local_index(local_index);
                let v = self.pop();
                self.b.def_var(var, v);
                self.write_local(local_index, v, ty);
                self.push(ty, v);
            }
            O::GlobalGet { global_index } => {
                let ty = self.m.globals[global_index as usize];
                let p = self.global_ptr(global_index);
                let fl = mem_flags(self.r_other);
                let v = load_cells(&mut self.b, fl, ty, p, 0);
                self.push(ty, v);
            }
            O::GlobalSet { global_index } => {
                let ty = self.m.globals[global_index as usize];
                let v = self.pop();
                let p = self.global_ptr(global_index);
                let fl = mem_flags(self.r_other);
                store_cells(&mut self.b, fl, v, ty, p, 0);
            }
            O::Call { function_index } => {
                let ty = self.m.func_types[function_index as usize];
                match function_index.checked_sub(self.m.num_imported_funcs) {
                    Some(def) => {
                        self.call(inst, ty, CallHow::Direct(CallTarget::Defined(def)));
                    }
                    None => {
                        let f = self.func_index_cell(function_index);
                        self.call(inst, ty, CallHow::Import(f));
                    }
                }
            }
            O::CallIndirect {
                type_index,
                table_index,
            } => {
                let code = self.resolve_table(inst, table_index, type_index);
                self.call_resolved(inst, type_index, code, false);
            }
            O::Throw { .. } | O::ThrowRef => self.throw(inst),
            O::ReturnCall { function_index } => {
                let ty = self.m.func_types[function_index as usize];
                match function_index.checked_sub(self.m.num_imported_funcs) {
                    Some(def) => {
                        let code = self.code_of(def);
                        self.tail_call(ty, code, self.vmctx);
                    }
                    None => {
                        let f = self.func_index_cell(function_index);
                        self.tail_call_any(inst, ty, f);
                    }
                }
            }
            O::ReturnCallIndirect {
                type_index,
                table_index,
            } => {
                let code = self.resolve_table(inst, table_index, type_index);
                self.call_resolved(inst, type_index, code, true);
            }
            O::CallRef { type_index } | O::ReturnCallRef { type_index } => {
                let r = self.pop();
                let null = self.b.ins().icmp_imm_u(IntCC::Equal, r, 0);
                self.trap_if(inst, null, TrapCode::NullFunctionReference);
                self.spill_pos();
                let code = self.libcall(
                    self.m.libcalls.resolve_ref,
                    &[types::I64, types::I64],
                    &[types::I64],
                    &[self.vmctx, r],
                )[0];
                let tail = matches!(op, O::ReturnCallRef { .. });
                self.call_resolved(inst, type_index, code, tail);
            }
            O::RefAsNonNull => {
                let ty = *self.stack.last().expect("validated operand stack");
                let r = self.pop();
                let null = self.b.ins().icmp_imm_u(IntCC::Equal, r, 0);
                self.trap_if(inst, null, TrapCode::NullReference);
                self.push(ty, r);
            }

            O::I32Load { ref memarg } => self.load(inst, memarg, LoadKind::Plain(I32)),
            O::I64Load { ref memarg } => self.load(inst, memarg, LoadKind::Plain(I64)),
            O::F32Load { ref memarg } => self.load(inst, memarg, LoadKind::Plain(F32)),
            O::F64Load { ref memarg } => self.load(inst, memarg, LoadKind::Plain(F64)),
            O::I32Load8S { ref memarg } => self.load(inst, memarg, LoadKind::S8(I32)),
            O::I32Load8U { ref memarg } => self.load(inst, memarg, LoadKind::U8(I32)),
            O::I32Load16S { ref memarg } => self.load(inst, memarg, LoadKind::S16(I32)),
            O::I32Load16U { ref memarg } => self.load(inst, memarg, LoadKind::U16(I32)),
            O::I64Load8S { ref memarg } => self.load(inst, memarg, LoadKind::S8(I64)),
            O::I64Load8U { ref memarg } => self.load(inst, memarg, LoadKind::U8(I64)),
            O::I64Load16S { ref memarg } => self.load(inst, memarg, LoadKind::S16(I64)),
            O::I64Load16U { ref memarg } => self.load(inst, memarg, LoadKind::U16(I64)),
            O::I64Load32S { ref memarg } => self.load(inst, memarg, LoadKind::S32),
            O::I64Load32U { ref memarg } => self.load(inst, memarg, LoadKind::U32),
            O::I32Store { ref memarg } | O::F32Store { ref memarg } => self.store(inst, memarg, 4),
            O::I64Store { ref memarg } | O::F64Store { ref memarg } => self.store(inst, memarg, 8),
            O::I32Store8 { ref memarg } | O::I64Store8 { ref memarg } => {
                self.store(inst, memarg, 1)
            }
            O::I32Store16 { ref memarg } | O::I64Store16 { ref memarg } => {
                self.store(inst, memarg, 2)
            }
            O::I64Store32 { ref memarg } => self.store(inst, memarg, 4),
            O::MemorySize { mem } if self.general_memory(mem) => {
                let m = self.i32c(mem);
                let f = self.m.libcalls.memory_size_x;
                let pages = self.libcall(
                    f,
                    &[types::I64, types::I32],
                    &[types::I64],
                    &[self.vmctx, m],
                )[0];
                self.push_address(mem, pages);
            }
            O::MemoryGrow { mem } => {
                let delta = self.pop();
                let delta = self.wide(delta);
                let m = self.i32c(mem);
                let f = self.m.libcalls.memory_grow_x;
                let r = self.libcall(
                    f,
                    &[types::I64, types::I32, types::I64],
                    &[types::I64],
                    &[self.vmctx, m, delta],
                )[0];
                self.push_address(mem, r);
            }
            // Growth and the bulk operations go through the runtime for every memory (memory 0
            // included); only `memory.size` of a 32-bit memory 0 is inline.
            O::MemoryCopy { dst_mem, src_mem } => {
                self.watch_gate(inst);
                let n = self.pop();
                let s = self.pop();
                let d = self.pop();
                let (n, s, d) = (self.wide(n), self.wide(s), self.wide(d));
                let (dm, sm) = (self.i32c(dst_mem), self.i32c(src_mem));
                let f = self.m.libcalls.memory_copy_x;
                self.libcall_checked(inst, f, &[self.vmctx, dm, sm, d, s, n]);
            }
            O::MemoryFill { mem } => {
                self.watch_gate(inst);
                let n = self.pop();
                let v = self.pop();
                let d = self.pop();
                let (n, d) = (self.wide(n), self.wide(d));
                let m = self.i32c(mem);
                let f = self.m.libcalls.memory_fill_x;
                self.libcall_checked(inst, f, &[self.vmctx, m, d, v, n]);
            }
            O::MemoryInit { data_index, mem } => {
                self.watch_gate(inst);
                let n = self.pop();
                let s = self.pop();
                let d = self.pop();
                let d = self.wide(d);
                let m = self.i32c(mem);
                let seg = self.i32c(data_index);
                let f = self.m.libcalls.memory_init_x;
                self.libcall_checked(inst, f, &[self.vmctx, m, seg, d, s, n]);
            }
            O::MemorySize { .. } => {
                let (_, len) = self.memory_base_len();
                let pages = self.b.ins().ushr_imm_s(len, 16);
                let v = self.b.ins().ireduce(types::I32, pages);
                self.push(I32, v);
            }
            O::DataDrop { data_index } => {
                let seg = self.i32c(data_index);
                let f = self.m.libcalls.data_drop;
                self.libcall_checked(inst, f, &[self.vmctx, seg]);
            }
            O::TableInit { elem_index, table } => {
                let n = self.pop();
                let s = self.pop();
                let d = self.pop();
                let d = self.wide(d);
                let seg = self.i32c(elem_index);
                let t = self.i32c(table);
                let f = self.m.libcalls.table_init;
                self.libcall_checked(inst, f, &[self.vmctx, t, seg, d, s, n]);
            }
            O::ElemDrop { elem_index } => {
                let seg = self.i32c(elem_index);
                let f = self.m.libcalls.elem_drop;
                self.libcall_checked(inst, f, &[self.vmctx, seg]);
            }
            O::TableCopy {
                dst_table,
                src_table,
            } => {
                let n = self.pop();
                let s = self.pop();
                let d = self.pop();
                let (n, s, d) = (self.wide(n), self.wide(s), self.wide(d));
                let dt = self.i32c(dst_table);
                let st = self.i32c(src_table);
                let f = self.m.libcalls.table_copy;
                self.libcall_checked(inst, f, &[self.vmctx, dt, st, d, s, n]);
            }
            O::TableGet { table } => {
                let i = self.pop();
                let i = self.wide(i);
                let ty = self.table_elem_type(table);
                let t = self.i32c(table);
                let f = self.m.libcalls.table_get;
                self.libcall_checked(inst, f, &[self.vmctx, t, i]);
                let fl = self.fl_vm();
                let v = self
                    .b
                    .ins()
                    .load(types::I64, fl, self.shared, shared::RESOLVED);
                self.push(ty, v);
            }
            O::TableSet { table } => {
                let v = self.pop();
                let i = self.pop();
                let i = self.wide(i);
                let t = self.i32c(table);
                let f = self.m.libcalls.table_set;
                self.libcall_checked(inst, f, &[self.vmctx, t, i, v]);
            }
            O::TableSize { table } => {
                let t = self.i32c(table);
                let r = self.libcall(
                    self.m.libcalls.table_size,
                    &[types::I64, types::I32],
                    &[types::I64],
                    &[self.vmctx, t],
                )[0];
                self.push_index(self.m.tables64[table as usize], r);
            }
            O::TableGrow { table } => {
                let n = self.pop();
                let n = self.wide(n);
                let init = self.pop();
                let t = self.i32c(table);
                let r = self.libcall(
                    self.m.libcalls.table_grow,
                    &[types::I64, types::I32, types::I64, types::I64],
                    &[types::I64],
                    &[self.vmctx, t, init, n],
                )[0];
                self.push_index(self.m.tables64[table as usize], r);
            }
            O::TableFill { table } => {
                let n = self.pop();
                let v = self.pop();
                let i = self.pop();
                let (n, i) = (self.wide(n), self.wide(i));
                let t = self.i32c(table);
                let f = self.m.libcalls.table_fill;
                self.libcall_checked(inst, f, &[self.vmctx, t, i, v, n]);
            }
            O::RefNull { hty } => {
                let ty = match hty {
                    wasmparser::HeapType::Abstract {
                        ty: wasmparser::AbstractHeapType::Extern,
                        ..
                    } => ValType::ExternRef,
                    _ => ValType::FuncRef,
                };
                let v = self.b.ins().iconst(types::I64, 0);
                self.push(ty, v);
            }
            O::RefIsNull => {
                let a = self.pop();
                let c = self.b.ins().icmp_imm_s(IntCC::Equal, a, 0);
                let v = self.bool_i32(c);
                self.push(I32, v);
            }
            O::RefFunc { function_index } => {
                let f = self.func_index_cell(function_index);
                let f = self.b.ins().uextend(types::I64, f);
                let v = self.b.ins().iadd_imm_s(f, 1);
                self.push(ValType::FuncRef, v);
            }

            O::I32Const { value } => {
                let v = self.b.ins().iconst(types::I32, i64::from(value));
                self.push(I32, v);
            }
            O::I64Const { value } => {
                let v = self.b.ins().iconst(types::I64, value);
                self.push(I64, v);
            }
            O::F32Const { value } => {
                let v = self
                    .b
                    .ins()
                    .f32const(ir::immediates::Ieee32::with_bits(value.bits()));
                self.push(F32, v);
            }
            O::F64Const { value } => {
                let v = self
                    .b
                    .ins()
                    .f64const(ir::immediates::Ieee64::with_bits(value.bits()));
                self.push(F64, v);
            }

            O::I32Eqz | O::I64Eqz => {
                let a = self.pop();
                let c = self.b.ins().icmp_imm_s(IntCC::Equal, a, 0);
                let v = self.bool_i32(c);
                self.push(I32, v);
            }
            O::I32Eq | O::I64Eq => self.icmp(IntCC::Equal, I32),
            O::I32Ne | O::I64Ne => self.icmp(IntCC::NotEqual, I32),
            O::I32LtS | O::I64LtS => self.icmp(IntCC::SignedLessThan, I32),
            O::I32LtU | O::I64LtU => self.icmp(IntCC::UnsignedLessThan, I32),
            O::I32GtS | O::I64GtS => self.icmp(IntCC::SignedGreaterThan, I32),
            O::I32GtU | O::I64GtU => self.icmp(IntCC::UnsignedGreaterThan, I32),
            O::I32LeS | O::I64LeS => self.icmp(IntCC::SignedLessThanOrEqual, I32),
            O::I32LeU | O::I64LeU => self.icmp(IntCC::UnsignedLessThanOrEqual, I32),
            O::I32GeS | O::I64GeS => self.icmp(IntCC::SignedGreaterThanOrEqual, I32),
            O::I32GeU | O::I64GeU => self.icmp(IntCC::UnsignedGreaterThanOrEqual, I32),
            O::F32Eq | O::F64Eq => self.fcmp(FloatCC::Equal),
            O::F32Ne | O::F64Ne => self.fcmp(FloatCC::NotEqual),
            O::F32Lt | O::F64Lt => self.fcmp(FloatCC::LessThan),
            O::F32Gt | O::F64Gt => self.fcmp(FloatCC::GreaterThan),
            O::F32Le | O::F64Le => self.fcmp(FloatCC::LessThanOrEqual),
            O::F32Ge | O::F64Ge => self.fcmp(FloatCC::GreaterThanOrEqual),

            O::I32Clz => self.un(I32, |b, a| b.ins().clz(a)),
            O::I32Ctz => self.un(I32, |b, a| b.ins().ctz(a)),
            O::I32Popcnt => self.un(I32, |b, a| b.ins().popcnt(a)),
            O::I64Clz => self.un(I64, |b, a| b.ins().clz(a)),
            O::I64Ctz => self.un(I64, |b, a| b.ins().ctz(a)),
            O::I64Popcnt => self.un(I64, |b, a| b.ins().popcnt(a)),
            O::I32Add => self.bin(I32, |b, x, y| b.ins().iadd(x, y)),
            O::I32Sub => self.bin(I32, |b, x, y| b.ins().isub(x, y)),
            O::I32Mul => self.bin(I32, |b, x, y| b.ins().imul(x, y)),
            O::I32And => self.bin(I32, |b, x, y| b.ins().band(x, y)),
            O::I32Or => self.bin(I32, |b, x, y| b.ins().bor(x, y)),
            O::I32Xor => self.bin(I32, |b, x, y| b.ins().bxor(x, y)),
            O::I32Shl => self.bin(I32, |b, x, y| b.ins().ishl(x, y)),
            O::I32ShrS => self.bin(I32, |b, x, y| b.ins().sshr(x, y)),
            O::I32ShrU => self.bin(I32, |b, x, y| b.ins().ushr(x, y)),
            O::I32Rotl => self.bin(I32, |b, x, y| b.ins().rotl(x, y)),
            O::I32Rotr => self.bin(I32, |b, x, y| b.ins().rotr(x, y)),
            O::I64Add => self.bin(I64, |b, x, y| b.ins().iadd(x, y)),
            O::I64Sub => self.bin(I64, |b, x, y| b.ins().isub(x, y)),
            O::I64Mul => self.bin(I64, |b, x, y| b.ins().imul(x, y)),
            O::I64And => self.bin(I64, |b, x, y| b.ins().band(x, y)),
            O::I64Or => self.bin(I64, |b, x, y| b.ins().bor(x, y)),
            O::I64Xor => self.bin(I64, |b, x, y| b.ins().bxor(x, y)),
            O::I64Shl => self.bin(I64, |b, x, y| b.ins().ishl(x, y)),
            O::I64ShrS => self.bin(I64, |b, x, y| b.ins().sshr(x, y)),
            O::I64ShrU => self.bin(I64, |b, x, y| b.ins().ushr(x, y)),
            O::I64Rotl => self.bin(I64, |b, x, y| b.ins().rotl(x, y)),
            O::I64Rotr => self.bin(I64, |b, x, y| b.ins().rotr(x, y)),
            O::I32DivS => self.div(inst, I32, true, false),
            O::I32DivU => self.div(inst, I32, false, false),
            O::I32RemS => self.div(inst, I32, true, true),
            O::I32RemU => self.div(inst, I32, false, true),
            O::I64DivS => self.div(inst, I64, true, false),
            O::I64DivU => self.div(inst, I64, false, false),
            O::I64RemS => self.div(inst, I64, true, true),
            O::I64RemU => self.div(inst, I64, false, true),

            O::F32Abs => self.un(F32, |b, a| b.ins().fabs(a)),
            O::F32Neg => self.un(F32, |b, a| b.ins().fneg(a)),
            O::F64Abs => self.un(F64, |b, a| b.ins().fabs(a)),
            O::F64Neg => self.un(F64, |b, a| b.ins().fneg(a)),
            O::F32Copysign => self.bin(F32, |b, x, y| b.ins().fcopysign(x, y)),
            O::F64Copysign => self.bin(F64, |b, x, y| b.ins().fcopysign(x, y)),
            O::F32Ceil => self.fun(F32, |b, a| b.ins().ceil(a)),
            O::F32Floor => self.fun(F32, |b, a| b.ins().floor(a)),
            O::F32Trunc => self.fun(F32, |b, a| b.ins().trunc(a)),
            O::F32Nearest => self.fun(F32, |b, a| b.ins().nearest(a)),
            O::F32Sqrt => self.fun(F32, |b, a| b.ins().sqrt(a)),
            O::F64Ceil => self.fun(F64, |b, a| b.ins().ceil(a)),
            O::F64Floor => self.fun(F64, |b, a| b.ins().floor(a)),
            O::F64Trunc => self.fun(F64, |b, a| b.ins().trunc(a)),
            O::F64Nearest => self.fun(F64, |b, a| b.ins().nearest(a)),
            O::F64Sqrt => self.fun(F64, |b, a| b.ins().sqrt(a)),
            O::F32Add => self.fbin(F32, |b, x, y| b.ins().fadd(x, y)),
            O::F32Sub => self.fbin(F32, |b, x, y| b.ins().fsub(x, y)),
            O::F32Mul => self.fbin(F32, |b, x, y| b.ins().fmul(x, y)),
            O::F32Div => self.fbin(F32, |b, x, y| b.ins().fdiv(x, y)),
            O::F32Min => self.fbin(F32, |b, x, y| b.ins().fmin(x, y)),
            O::F32Max => self.fbin(F32, |b, x, y| b.ins().fmax(x, y)),
            O::F64Add => self.fbin(F64, |b, x, y| b.ins().fadd(x, y)),
            O::F64Sub => self.fbin(F64, |b, x, y| b.ins().fsub(x, y)),
            O::F64Mul => self.fbin(F64, |b, x, y| b.ins().fmul(x, y)),
            O::F64Div => self.fbin(F64, |b, x, y| b.ins().fdiv(x, y)),
            O::F64Min => self.fbin(F64, |b, x, y| b.ins().fmin(x, y)),
            O::F64Max => self.fbin(F64, |b, x, y| b.ins().fmax(x, y)),

            O::I32WrapI64 => self.un(I32, |b, a| b.ins().ireduce(types::I32, a)),
            O::I64ExtendI32S => self.un(I64, |b, a| b.ins().sextend(types::I64, a)),
            O::I64ExtendI32U => self.un(I64, |b, a| b.ins().uextend(types::I64, a)),
            O::I32Extend8S => self.un(I32, |b, a| {
                let n = b.ins().ireduce(types::I8, a);
                b.ins().sextend(types::I32, n)
            }),
            O::I32Extend16S => self.un(I32, |b, a| {
                let n = b.ins().ireduce(types::I16, a);
                b.ins().sextend(types::I32, n)
            }),
            O::I64Extend8S => self.un(I64, |b, a| {
                let n = b.ins().ireduce(types::I8, a);
                b.ins().sextend(types::I64, n)
            }),
            O::I64Extend16S => self.un(I64, |b, a| {
                let n = b.ins().ireduce(types::I16, a);
                b.ins().sextend(types::I64, n)
            }),
            O::I64Extend32S => self.un(I64, |b, a| {
                let n = b.ins().ireduce(types::I32, a);
                b.ins().sextend(types::I64, n)
            }),
            O::I32TruncF32S => self.trunc(inst, I32, true, -2147483904.0, 2147483648.0),
            O::I32TruncF32U => self.trunc(inst, I32, false, -1.0, 4294967296.0),
            O::I32TruncF64S => self.trunc(inst, I32, true, -2147483649.0, 2147483648.0),
            O::I32TruncF64U => self.trunc(inst, I32, false, -1.0, 4294967296.0),
            O::I64TruncF32S => self.trunc(
                inst,
                I64,
                true,
                -9223373136366403584.0,
                9223372036854775808.0,
            ),
            O::I64TruncF32U => self.trunc(inst, I64, false, -1.0, 18446744073709551616.0),
            O::I64TruncF64S => self.trunc(
                inst,
                I64,
                true,
                -9223372036854777856.0,
                9223372036854775808.0,
            ),
            O::I64TruncF64U => self.trunc(inst, I64, false, -1.0, 18446744073709551616.0),
            O::I32TruncSatF32S | O::I32TruncSatF64S => {
                self.un(I32, |b, a| b.ins().fcvt_to_sint_sat(types::I32, a))
            }
            O::I32TruncSatF32U | O::I32TruncSatF64U => {
                self.un(I32, |b, a| b.ins().fcvt_to_uint_sat(types::I32, a))
            }
            O::I64TruncSatF32S | O::I64TruncSatF64S => {
                self.un(I64, |b, a| b.ins().fcvt_to_sint_sat(types::I64, a))
            }
            O::I64TruncSatF32U | O::I64TruncSatF64U => {
                self.un(I64, |b, a| b.ins().fcvt_to_uint_sat(types::I64, a))
            }
            O::F32ConvertI32S | O::F32ConvertI64S => {
                self.un(F32, |b, a| b.ins().fcvt_from_sint(types::F32, a))
            }
            O::F32ConvertI32U | O::F32ConvertI64U => {
                self.un(F32, |b, a| b.ins().fcvt_from_uint(types::F32, a))
            }
            O::F64ConvertI32S | O::F64ConvertI64S => {
                self.un(F64, |b, a| b.ins().fcvt_from_sint(types::F64, a))
            }
            O::F64ConvertI32U | O::F64ConvertI64U => {
                self.un(F64, |b, a| b.ins().fcvt_from_uint(types::F64, a))
            }
            O::F32DemoteF64 => self.fun(F32, |b, a| b.ins().fdemote(types::F32, a)),
            O::F64PromoteF32 => self.fun(F64, |b, a| b.ins().fpromote(types::F64, a)),
            O::I32ReinterpretF32 => self.un(I32, |b, a| {
                b.ins().bitcast(types::I32, MemFlagsData::new(), a)
            }),
            O::I64ReinterpretF64 => self.un(I64, |b, a| {
                b.ins().bitcast(types::I64, MemFlagsData::new(), a)
            }),
            O::F32ReinterpretI32 => self.un(F32, |b, a| {
                b.ins().bitcast(types::F32, MemFlagsData::new(), a)
            }),
            O::F64ReinterpretI64 => self.un(F64, |b, a| {
                b.ins().bitcast(types::F64, MemFlagsData::new(), a)
            }),
            ref other if crate::simd::is_simd(other) => self.simd(inst, other)?,
            ref other => {
                return Err(crate::Error::Internal(format!(
                    "operator at {:#x} not supported by deja's JIT: {other:?}",
                    inst.pc
                )));
            }
        }
        Ok(())
    }

    fn unreachable(&mut self, inst: Inst) {
        self.step(inst);
        self.emit_trap(inst, TrapCode::UnreachableCodeReached);
        self.dead = true;
    }

    fn br(&mut self, inst: Inst, target: Branch<Label>) {
        self.step(inst);
        let types = self.branch_moves(&target);
        let block = self.label_target(target.label, types);
        self.b.ins().jump(block, &[]);
        self.dead = true;
    }

    fn br_if(&mut self, inst: Inst, target: Branch<Label>) {
        self.step(inst);
        let c = self.pop();
        let c = self.condition(c);
        let cont = self.b.create_block();
        let mut pending = Vec::new();
        let taken = self.edge_block(&target, &mut pending);
        self.b.ins().brif(c, taken, &[], cont, &[]);
        self.fill_edges(pending);
        self.b.switch_to_block(cont);
    }

    fn br_on_null(&mut self, inst: Inst, target: Branch<Label>) {
        self.step(inst);
        let ty = *self.stack.last().expect("validated operand stack");
        let r = self.pop();
        let null = self.b.ins().icmp_imm_u(IntCC::Equal, r, 0);
        let cont = self.b.create_block();
        let mut pending = Vec::new();
        let taken = self.edge_block(&target, &mut pending);
        self.b.ins().brif(null, taken, &[], cont, &[]);
        self.fill_edges(pending);
        self.b.switch_to_block(cont);
        self.push(ty, r);
    }

    fn br_on_non_null(&mut self, inst: Inst, target: Branch<Label>) {
        self.step(inst);
        let ty = *self.stack.last().expect("validated operand stack");
        let var = self.var(self.stack.len() - 1, ty);
        let r = self.b.use_var(var);
        let non_null = self.b.ins().icmp_imm_u(IntCC::NotEqual, r, 0);
        let cont = self.b.create_block();
        let mut pending = Vec::new();
        let taken = self.edge_block(&target, &mut pending);
        self.b.ins().brif(non_null, taken, &[], cont, &[]);
        self.fill_edges(pending);
        self.b.switch_to_block(cont);
        self.pop();
    }

    fn br_table(&mut self, inst: Inst, targets: &[Branch<Label>]) {
        self.step(inst);
        let index = self.pop();
        let mut pending = Vec::new();
        let blocks: Vec<ir::Block> = targets
            .iter()
            .map(|t| self.edge_block(t, &mut pending))
            .collect();
        let (default, rest) = blocks.split_last().expect("a default target");
        let no_args: [BlockArg; 0] = [];
        let def = self.b.func.dfg.block_call(*default, &no_args);
        let table: Vec<_> = rest
            .iter()
            .map(|b| self.b.func.dfg.block_call(*b, &no_args))
            .collect();
        let jt = self
            .b
            .create_jump_table(ir::JumpTableData::new(def, &table));
        self.b.ins().br_table(index, jt);
        self.fill_edges(pending);
        self.dead = true;
    }

    fn if_(&mut self, inst: Inst, else_label: Label) {
        self.step(inst);
        let c = self.pop();
        let c = self.condition(c);
        let types = self.stack.clone();
        let else_block = self.label_target(else_label, types);
        let then = self.b.create_block();
        self.b.ins().brif(c, then, &[], else_block, &[]);
        self.b.switch_to_block(then);
    }

    fn else_(&mut self, inst: Inst, end_label: Label) {
        self.step(inst);
        let types = self.stack.clone();
        let block = self.label_target(end_label, types);
        self.b.ins().jump(block, &[]);
        self.dead = true;
    }

    fn return_(&mut self, inst: Inst) {
        self.step(inst);
        self.emit_return();
        self.dead = true;
    }

    fn exit(&mut self, inst: Inst) {
        self.step(inst);
        self.emit_return();
        self.dead = true;
    }

    fn try_table(&mut self, catches: &[crate::translate::CatchClause<Label>]) {
        for c in catches {
            self.catch_label(c);
        }
    }

    fn add_catch(&mut self, _region: usize, clause: crate::translate::CatchClause<Label>) {
        self.catch_label(&clause);
    }

    fn rethrow(&mut self, inst: Inst, _exn_local: u32) {
        self.step(inst);
        self.throw(inst);
    }
}

impl JitEnv<'_, '_> {
    /// A catch clause's label: JIT code never lands there (throws hand over to the
    /// interpreter), but the code after a label only reached from one is still compiled, with
    /// the operand types a landing leaves.
    fn catch_label(&mut self, c: &crate::translate::CatchClause<Label>) {
        let mut types = self.stack[..c.height as usize].to_vec();
        types.extend_from_slice(&c.values);
        let l = &mut self.labels[c.label.0 as usize];
        if l.types.is_none() {
            l.types = Some(types);
        }
    }

    /// `throw`, `throw_ref` and `rethrow`: exceptions unwind on the interpreter. Stop here
    /// with the state stored, the throw not counted, and hand the call over (see `mod.rs`).
    fn throw(&mut self, inst: Inst) {
        let stack = self.stack.clone();
        self.store_state(inst.pc, &stack);
        self.spill_pos();
        let uncounted = self.b.ins().iconst(types::I64, 0);
        self.run_traps.push((
            self.b.func.dfg.value_def(uncounted).unwrap_inst(),
            inst.run_offset,
        ));
        self.libcall(
            self.m.libcalls.throw,
            &[types::I64, types::I64],
            &[],
            &[self.vmctx, uncounted],
        );
        self.b.ins().trap(Self::never_trap_code());
        self.dead = true;
    }

    fn emit_return(&mut self) {
        let n = self.results.len();
        let results: Vec<Value> = {
            let len = self.stack.len();
            let tys = self.results.clone();
            tys.iter()
                .enumerate()
                .map(|(i, t)| self.b.use_var(self.var(len - n + i, *t)))
                .collect()
        };
        self.spill_pos();
        let fl = self.fl_vm();
        self.b.ins().store(fl, self.prev, self.shared, shared::TOP);
        self.b.ins().return_(&results);
    }

    fn table_elem_type(&self, _table: u32) -> ValType {
        // Cells of either reference type are the same; the type only matters to frames.
        ValType::FuncRef
    }
}
