//! The interpreter's [`FuncEnvironment`]: lowers the translator's instructions into [`Op`]s.
//!
//! The translator decides what is a step, where runs begin and end, and where every branch goes;
//! this environment only chooses the interpreter's representation of those facts: an
//! [`Op::Steps`] heading each run with the run's step count, ops in a flat array, labels as op
//! indices patched once they are bound, and, per op, the steps of its run not yet completed when
//! it begins (`CompiledFunc::steps_left`), from which a trap in the middle of a run that the fast
//! loop counted at its head finds its exact position.

use crate::code::{BranchTarget, CompiledFunc, LoadKind, MemArg, Op, StoreWidth};
use crate::translate::{Branch, FuncEnvironment, Inst, WResult};
use crate::types::{
    DataIndex, ElemIndex, FuncIndex, GlobalIndex, MemoryIndex, TableIndex, TypeIndex,
};
use std::sync::Arc;
use wasmparser::Operator;

#[derive(Clone, Copy, Debug)]
enum Fixup {
    /// A `Br`, `BrIf`, `If` or `Jump` op whose target is patched.
    Op(usize),
    /// An entry of `br_tables`.
    Table(usize),
    /// A catch clause's landing op.
    Catch(usize),
}

#[derive(Debug, Default)]
struct LabelState {
    /// The op index it is bound to.
    bound: Option<u32>,
    /// Branches waiting for it to be bound.
    fixups: Vec<Fixup>,
}

/// A label: an index into [`InterpEnv::labels`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Label(u32);

/// Builds one function's [`CompiledFunc`].
#[derive(Debug, Default)]
pub(crate) struct InterpEnv {
    ops: Vec<Op>,
    pcs: Vec<u32>,
    /// Per op, the offset of its instruction within its run (for `steps_left`).
    offsets: Vec<u32>,
    br_tables: Vec<BranchTarget>,
    mem_args: Vec<MemArg>,
    v128_consts: Vec<u128>,
    /// Per memory of the module, whether it has 64-bit addresses.
    memory64: Arc<[bool]>,
    labels: Vec<LabelState>,
    /// Index of the `Steps` op heading the open run.
    run_head: Option<usize>,
    /// Regions that ended, in that order, with their clauses (indices into `catch_pool`).
    handlers: Vec<(crate::code::Handler, Vec<u32>)>,
    /// Every clause, patched when its label is bound.
    catch_pool: Vec<crate::code::CatchTarget>,
    /// Open regions: their first op and clauses.
    open_tries: Vec<(u32, Vec<u32>)>,
}

impl InterpEnv {
    /// An environment for a function of a module whose memories are 64-bit or not as
    /// `memory64` says.
    pub(crate) fn new(memory64: Arc<[bool]>) -> InterpEnv {
        InterpEnv {
            memory64,
            ..InterpEnv::default()
        }
    }

    /// The op of `memory.size`, `memory.grow` and the bulk memory operations (one for every
    /// memory), and of a load or store that the memory-0, 32-bit ops cannot do: another
    /// memory, a 64-bit memory, an offset beyond 32 bits.
    fn lower_memory(&mut self, op: &Operator<'_>) -> Option<Op> {
        use Operator as O;
        let general = |m: u32| m != 0 || self.memory64.get(m as usize).copied().unwrap_or(false);
        let load = |memarg: &wasmparser::MemArg, kind| (*memarg, Some(kind), None);
        let store = |memarg: &wasmparser::MemArg, width| (*memarg, None, Some(width));
        let (memarg, kind, width) = match op {
            O::I32Load { memarg } | O::F32Load { memarg } | O::I64Load32U { memarg } => {
                load(memarg, LoadKind::U32)
            }
            O::I64Load { memarg } | O::F64Load { memarg } => load(memarg, LoadKind::U64),
            O::I32Load8U { memarg } | O::I64Load8U { memarg } => load(memarg, LoadKind::U8),
            O::I32Load16U { memarg } | O::I64Load16U { memarg } => load(memarg, LoadKind::U16),
            O::I32Load8S { memarg } => load(memarg, LoadKind::I32S8),
            O::I32Load16S { memarg } => load(memarg, LoadKind::I32S16),
            O::I64Load8S { memarg } => load(memarg, LoadKind::I64S8),
            O::I64Load16S { memarg } => load(memarg, LoadKind::I64S16),
            O::I64Load32S { memarg } => load(memarg, LoadKind::I64S32),
            O::I32Store { memarg } | O::F32Store { memarg } | O::I64Store32 { memarg } => {
                store(memarg, StoreWidth::W32)
            }
            O::I64Store { memarg } | O::F64Store { memarg } => store(memarg, StoreWidth::W64),
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => store(memarg, StoreWidth::W8),
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => store(memarg, StoreWidth::W16),
            O::MemorySize { mem } => {
                return Some(Op::MemorySize(MemoryIndex::from_u32(*mem)));
            }
            O::MemoryGrow { mem } => {
                return Some(Op::MemoryGrow(MemoryIndex::from_u32(*mem)));
            }
            O::MemoryFill { mem } => {
                return Some(Op::MemoryFill(MemoryIndex::from_u32(*mem)));
            }
            O::MemoryCopy { dst_mem, src_mem } => {
                return Some(Op::MemoryCopy {
                    dst: MemoryIndex::from_u32(*dst_mem),
                    src: MemoryIndex::from_u32(*src_mem),
                });
            }
            O::MemoryInit { data_index, mem } => {
                return Some(Op::MemoryInit {
                    data: DataIndex::from_u32(*data_index),
                    mem: MemoryIndex::from_u32(*mem),
                });
            }
            _ => return None,
        };
        let memory = memarg_memory(&memarg);
        if !general(memory) && u32::try_from(memarg.offset).is_ok() {
            return None;
        }
        let arg = self.mem_args.len() as u32;
        self.mem_args.push(MemArg {
            memory: MemoryIndex::from_u32(memory),
            offset: memarg.offset,
        });
        Some(match (kind, width) {
            (Some(kind), _) => Op::LoadX { kind, arg },
            (_, Some(width)) => Op::StoreX { width, arg },
            _ => unreachable!("a load or a store"),
        })
    }

    /// The op of a SIMD instruction.
    fn lower_simd(&mut self, op: &Operator<'_>) -> Option<Op> {
        use crate::simd::{self, SimdBin, SimdShift, SimdSplat, SimdTer, SimdTest, SimdUn};
        let mut mem_arg = |memarg: &wasmparser::MemArg| {
            let arg = self.mem_args.len() as u32;
            self.mem_args.push(MemArg {
                memory: MemoryIndex::from_u32(memarg_memory(memarg)),
                offset: memarg.offset,
            });
            arg
        };
        if let Some(o) = SimdUn::of(op) {
            return Some(Op::SimdUn(o));
        }
        if let Some(o) = SimdBin::of(op) {
            return Some(Op::SimdBin(o));
        }
        if let Some(o) = SimdTer::of(op) {
            return Some(Op::SimdTer(o));
        }
        if let Some(o) = SimdTest::of(op) {
            return Some(Op::SimdTest(o));
        }
        if let Some(o) = SimdShift::of(op) {
            return Some(Op::SimdShift(o));
        }
        if let Some(o) = SimdSplat::of(op) {
            return Some(Op::SimdSplat(o));
        }
        if let Some((op, lane)) = simd::LaneOp::extract(op) {
            return Some(Op::ExtractLane { op, lane });
        }
        if let Some((op, lane)) = simd::LaneOp::replace(op) {
            return Some(Op::ReplaceLane { op, lane });
        }
        if let Some((kind, memarg)) = simd::V128LoadKind::of(op) {
            let arg = mem_arg(&memarg);
            return Some(Op::V128Load { kind, arg });
        }
        if let Some((store, bytes, lane, memarg)) = simd::lane_access(op) {
            let arg = mem_arg(&memarg);
            return Some(if store {
                Op::V128StoreLane { bytes, lane, arg }
            } else {
                Op::V128LoadLane { bytes, lane, arg }
            });
        }
        Some(match op {
            Operator::V128Store { memarg } => Op::V128Store(mem_arg(memarg)),
            Operator::V128Const { value } => {
                self.v128_consts.push(u128::from_le_bytes(*value.bytes()));
                Op::V128Const(self.v128_consts.len() as u32 - 1)
            }
            Operator::I8x16Shuffle { lanes } => {
                self.v128_consts.push(u128::from_le_bytes(*lanes));
                Op::I8x16Shuffle(self.v128_consts.len() as u32 - 1)
            }
            _ => return None,
        })
    }

    fn emit(&mut self, op: Op, inst: Inst) -> usize {
        debug_assert_eq!(
            op.is_step(),
            inst.cost == 1,
            "the interpreter's steps are the translator's: {op:?}"
        );
        if inst.opens_run() {
            self.ops.push(Op::Steps(0));
            self.pcs.push(inst.pc);
            self.offsets.push(0);
            self.run_head = Some(self.ops.len() - 1);
        }
        if inst.cost > 0 {
            let head = self.run_head.expect("a step inside a run");
            if let Op::Steps(n) = &mut self.ops[head] {
                *n += inst.cost;
            }
        }
        self.ops.push(op);
        self.pcs.push(inst.pc);
        self.offsets.push(inst.run_offset);
        self.ops.len() - 1
    }

    fn target(&mut self, branch: Branch<Label>, fixup: Fixup) -> BranchTarget {
        let state = &mut self.labels[branch.label.0 as usize];
        let pc = match state.bound {
            Some(pc) => pc,
            None => {
                state.fixups.push(fixup);
                u32::MAX
            }
        };
        BranchTarget { pc, dk: branch.dk }
    }

    fn patch(&mut self, fixup: Fixup, target: u32) {
        match fixup {
            Fixup::Op(i) => match &mut self.ops[i] {
                Op::Br(t) | Op::BrIf(t) | Op::BrOnNull(t) | Op::BrOnNonNull(t) => t.pc = target,
                Op::If(t) | Op::Jump(t) => *t = target,
                other => unreachable!("fixup on {other:?}"),
            },
            Fixup::Table(i) => self.br_tables[i].pc = target,
            Fixup::Catch(i) => self.catch_pool[i].pc = target,
        }
    }

    /// Adds a clause to the pool (its landing op patched once its label is bound).
    fn clause(&mut self, c: &crate::translate::CatchClause<Label>) -> u32 {
        let i = self.catch_pool.len();
        let state = &mut self.labels[c.label.0 as usize];
        let pc = match state.bound {
            Some(pc) => pc,
            None => {
                state.fixups.push(Fixup::Catch(i));
                u32::MAX
            }
        };
        self.catch_pool.push(crate::code::CatchTarget {
            tag: c.tag,
            with_ref: c.with_ref,
            height: c.height,
            pc,
            exn_local: c.exn_local,
        });
        i as u32
    }

    /// The translated function. `num_locals`, `num_params`, `num_results` and `max_stack` come
    /// from the translator and the signature.
    pub(crate) fn finish(
        self,
        num_locals: u32,
        num_params: u32,
        num_results: u32,
        max_stack: u32,
    ) -> CompiledFunc {
        let mut catches = Vec::new();
        let handlers: Vec<crate::code::Handler> = self
            .handlers
            .iter()
            .map(|(h, clauses)| {
                let first = catches.len() as u32;
                catches.extend(clauses.iter().map(|&i| self.catch_pool[i as usize]));
                crate::code::Handler {
                    first,
                    len: clauses.len() as u32,
                    ..*h
                }
            })
            .collect();
        let mut code = CompiledFunc {
            ops: self.ops.into(),
            pcs: self.pcs.into(),
            steps_left: self.offsets.into(),
            br_tables: self.br_tables.into(),
            mem_args: self.mem_args.into(),
            v128_consts: self.v128_consts.into(),
            handlers: handlers.into(),
            catches: catches.into(),
            num_locals,
            num_params,
            num_results,
            max_stack,
        };
        code.offsets_to_steps_left();
        code
    }
}

impl FuncEnvironment for InterpEnv {
    type Label = Label;

    fn new_label(&mut self) -> Label {
        self.labels.push(LabelState::default());
        Label(self.labels.len() as u32 - 1)
    }

    fn bind_label(&mut self, label: Label) {
        self.run_head = None;
        let target = self.ops.len() as u32;
        let state = &mut self.labels[label.0 as usize];
        debug_assert!(state.bound.is_none(), "a label is bound once");
        state.bound = Some(target);
        for f in std::mem::take(&mut state.fixups) {
            self.patch(f, target);
        }
    }

    fn instruction(&mut self, inst: Inst, op: &Operator<'_>) -> WResult<()> {
        let op = match self.lower_memory(op) {
            Some(op) => op,
            None => match self.lower_simd(op) {
                Some(op) => op,
                None => lower(op, inst.pc)?,
            },
        };
        self.emit(op, inst);
        if matches!(
            op,
            Op::ReturnCall(_) | Op::ReturnCallIndirect { .. } | Op::ReturnCallRef(_)
        ) {
            // Where a tail call to a host function returns: the frame returns the host's
            // results without another step.
            let exit = Inst {
                pc: inst.pc,
                cost: 0,
                run_offset: inst.run_offset + inst.cost,
            };
            self.emit(Op::Exit, exit);
        }
        Ok(())
    }

    fn v128_move(&mut self, inst: Inst, mv: crate::translate::V128Move) -> WResult<()> {
        use crate::translate::V128Move as M;
        let op = match mv {
            M::LocalGet(c) => Op::LocalGetV(c),
            M::LocalSet(c) => Op::LocalSetV(c),
            M::LocalTee(c) => Op::LocalTeeV(c),
            M::GlobalGet(g) => Op::GlobalGetV(GlobalIndex::from_u32(g)),
            M::GlobalSet(g) => Op::GlobalSetV(GlobalIndex::from_u32(g)),
            M::Select => Op::SelectV,
            M::Drop => Op::DropV,
        };
        self.emit(op, inst);
        Ok(())
    }

    fn unreachable(&mut self, inst: Inst) {
        self.emit(Op::Unreachable, inst);
    }

    fn br(&mut self, inst: Inst, target: Branch<Label>) {
        let i = self.ops.len() + usize::from(inst.opens_run());
        let t = self.target(target, Fixup::Op(i));
        self.emit(Op::Br(t), inst);
    }

    fn br_if(&mut self, inst: Inst, target: Branch<Label>) {
        let i = self.ops.len() + usize::from(inst.opens_run());
        let t = self.target(target, Fixup::Op(i));
        self.emit(Op::BrIf(t), inst);
    }

    fn br_on_null(&mut self, inst: Inst, target: Branch<Label>) {
        let i = self.ops.len() + usize::from(inst.opens_run());
        let t = self.target(target, Fixup::Op(i));
        self.emit(Op::BrOnNull(t), inst);
    }

    fn br_on_non_null(&mut self, inst: Inst, target: Branch<Label>) {
        let i = self.ops.len() + usize::from(inst.opens_run());
        let t = self.target(target, Fixup::Op(i));
        self.emit(Op::BrOnNonNull(t), inst);
    }

    fn br_table(&mut self, inst: Inst, targets: &[Branch<Label>]) {
        let start = self.br_tables.len();
        for b in targets {
            let idx = self.br_tables.len();
            let t = self.target(*b, Fixup::Table(idx));
            self.br_tables.push(t);
        }
        self.emit(
            Op::BrTable {
                start: start as u32,
                len: targets.len() as u32,
            },
            inst,
        );
    }

    fn if_(&mut self, inst: Inst, else_label: Label) {
        let i = self.ops.len() + usize::from(inst.opens_run());
        let t = self.target(
            Branch {
                label: else_label,
                dk: crate::code::DropKeep { drop: 0, keep: 0 },
            },
            Fixup::Op(i),
        );
        self.emit(Op::If(t.pc), inst);
    }

    fn else_(&mut self, inst: Inst, end_label: Label) {
        let i = self.ops.len();
        let t = self.target(
            Branch {
                label: end_label,
                dk: crate::code::DropKeep { drop: 0, keep: 0 },
            },
            Fixup::Op(i),
        );
        self.emit(Op::Jump(t.pc), inst);
        self.run_head = None;
    }

    fn return_(&mut self, inst: Inst) {
        self.emit(Op::Return, inst);
    }

    fn exit(&mut self, inst: Inst) {
        self.emit(Op::Exit, inst);
    }

    fn try_table(&mut self, catches: &[crate::translate::CatchClause<Label>]) {
        let clauses = catches.iter().map(|c| self.clause(c)).collect();
        self.open_tries.push((self.ops.len() as u32, clauses));
    }

    fn end_try_table(&mut self, level: u32, delegate: Option<u32>) -> usize {
        let (start, clauses) = self.open_tries.pop().expect("an open region");
        self.handlers.push((
            crate::code::Handler {
                start,
                end: self.ops.len() as u32,
                first: 0,
                len: 0,
                level,
                delegate: delegate.unwrap_or(crate::code::Handler::NO_DELEGATE),
            },
            clauses,
        ));
        self.handlers.len() - 1
    }

    fn add_catch(&mut self, region: usize, clause: crate::translate::CatchClause<Label>) {
        let i = self.clause(&clause);
        self.handlers[region].1.push(i);
    }

    fn rethrow(&mut self, inst: Inst, exn_local: u32) {
        self.emit(Op::Rethrow(exn_local), inst);
    }
}

macro_rules! simple_ops {
    ($($name:ident)*) => {
        /// Operators that lower one-to-one into an op without immediates.
        fn simple_op(op: &Operator<'_>) -> Option<Op> {
            Some(match op {
                $(Operator::$name => Op::$name,)*
                _ => return None,
            })
        }
    };
}

simple_ops! {
    Nop Drop Select
    I32Eqz I32Eq I32Ne I32LtS I32LtU I32GtS I32GtU I32LeS I32LeU I32GeS I32GeU
    I64Eqz I64Eq I64Ne I64LtS I64LtU I64GtS I64GtU I64LeS I64LeU I64GeS I64GeU
    F32Eq F32Ne F32Lt F32Gt F32Le F32Ge F64Eq F64Ne F64Lt F64Gt F64Le F64Ge
    I32Clz I32Ctz I32Popcnt I32Add I32Sub I32Mul I32DivS I32DivU I32RemS I32RemU
    I32And I32Or I32Xor I32Shl I32ShrS I32ShrU I32Rotl I32Rotr
    I64Clz I64Ctz I64Popcnt I64Add I64Sub I64Mul I64DivS I64DivU I64RemS I64RemU
    I64And I64Or I64Xor I64Shl I64ShrS I64ShrU I64Rotl I64Rotr
    F32Abs F32Neg F32Ceil F32Floor F32Trunc F32Nearest F32Sqrt F32Add F32Sub F32Mul F32Div
    F32Min F32Max F32Copysign
    F64Abs F64Neg F64Ceil F64Floor F64Trunc F64Nearest F64Sqrt F64Add F64Sub F64Mul F64Div
    F64Min F64Max F64Copysign
    I32WrapI64 I32TruncF32S I32TruncF32U I32TruncF64S I32TruncF64U I64ExtendI32S I64ExtendI32U
    I64TruncF32S I64TruncF32U I64TruncF64S I64TruncF64U F32ConvertI32S F32ConvertI32U
    F32ConvertI64S F32ConvertI64U F32DemoteF64 F64ConvertI32S F64ConvertI32U F64ConvertI64S
    F64ConvertI64U F64PromoteF32
    I32Extend8S I32Extend16S I64Extend8S I64Extend16S I64Extend32S
    I32TruncSatF32S I32TruncSatF32U I32TruncSatF64S I32TruncSatF64U
    I64TruncSatF32S I64TruncSatF32U I64TruncSatF64S I64TruncSatF64U
    RefIsNull
}

/// The memory a load or store accesses (GC arrays are refused at load time).
pub(crate) fn memarg_memory(memarg: &wasmparser::MemArg) -> u32 {
    match memarg.target {
        wasmparser::MemArgTarget::Memory(m) => m,
        wasmparser::MemArgTarget::Array(_) => 0,
    }
}

fn mem_offset(memarg: &wasmparser::MemArg) -> u32 {
    // 32-bit memories only: the validator bounds offsets to u32.
    memarg.offset as u32
}

/// The op for an instruction without control flow of its own.
fn lower(op: &Operator<'_>, pc: u32) -> WResult<Op> {
    use Operator as O;
    if let Some(simple) = simple_op(op) {
        return Ok(simple);
    }
    Ok(match *op {
        O::Call { function_index } => Op::Call(FuncIndex::from_u32(function_index)),
        O::CallIndirect {
            type_index,
            table_index,
        } => Op::CallIndirect {
            ty: TypeIndex::from_u32(type_index),
            table: TableIndex::from_u32(table_index),
        },
        O::ReturnCall { function_index } => Op::ReturnCall(FuncIndex::from_u32(function_index)),
        O::ReturnCallIndirect {
            type_index,
            table_index,
        } => Op::ReturnCallIndirect {
            ty: TypeIndex::from_u32(type_index),
            table: TableIndex::from_u32(table_index),
        },
        O::CallRef { type_index } => Op::CallRef(TypeIndex::from_u32(type_index)),
        O::ReturnCallRef { type_index } => Op::ReturnCallRef(TypeIndex::from_u32(type_index)),
        O::RefAsNonNull => Op::RefAsNonNull,
        O::Throw { tag_index } => Op::Throw(crate::types::TagIndex::from_u32(tag_index)),
        O::ThrowRef => Op::ThrowRef,
        O::TypedSelect { .. } => Op::Select,
        O::LocalGet { local_index } => Op::LocalGet(local_index),
        O::LocalSet { local_index } => Op::LocalSet(local_index),
        O::LocalTee { local_index } => Op::LocalTee(local_index),
        O::GlobalGet { global_index } => Op::GlobalGet(GlobalIndex::from_u32(global_index)),
        O::GlobalSet { global_index } => Op::GlobalSet(GlobalIndex::from_u32(global_index)),
        O::TableGet { table } => Op::TableGet(TableIndex::from_u32(table)),
        O::TableSet { table } => Op::TableSet(TableIndex::from_u32(table)),
        O::I32Load { ref memarg } => Op::I32Load(mem_offset(memarg)),
        O::I64Load { ref memarg } => Op::I64Load(mem_offset(memarg)),
        O::F32Load { ref memarg } => Op::F32Load(mem_offset(memarg)),
        O::F64Load { ref memarg } => Op::F64Load(mem_offset(memarg)),
        O::I32Load8S { ref memarg } => Op::I32Load8S(mem_offset(memarg)),
        O::I32Load8U { ref memarg } => Op::I32Load8U(mem_offset(memarg)),
        O::I32Load16S { ref memarg } => Op::I32Load16S(mem_offset(memarg)),
        O::I32Load16U { ref memarg } => Op::I32Load16U(mem_offset(memarg)),
        O::I64Load8S { ref memarg } => Op::I64Load8S(mem_offset(memarg)),
        O::I64Load8U { ref memarg } => Op::I64Load8U(mem_offset(memarg)),
        O::I64Load16S { ref memarg } => Op::I64Load16S(mem_offset(memarg)),
        O::I64Load16U { ref memarg } => Op::I64Load16U(mem_offset(memarg)),
        O::I64Load32S { ref memarg } => Op::I64Load32S(mem_offset(memarg)),
        O::I64Load32U { ref memarg } => Op::I64Load32U(mem_offset(memarg)),
        O::I32Store { ref memarg } => Op::I32Store(mem_offset(memarg)),
        O::I64Store { ref memarg } => Op::I64Store(mem_offset(memarg)),
        O::F32Store { ref memarg } => Op::F32Store(mem_offset(memarg)),
        O::F64Store { ref memarg } => Op::F64Store(mem_offset(memarg)),
        O::I32Store8 { ref memarg } => Op::I32Store8(mem_offset(memarg)),
        O::I32Store16 { ref memarg } => Op::I32Store16(mem_offset(memarg)),
        O::I64Store8 { ref memarg } => Op::I64Store8(mem_offset(memarg)),
        O::I64Store16 { ref memarg } => Op::I64Store16(mem_offset(memarg)),
        O::I64Store32 { ref memarg } => Op::I64Store32(mem_offset(memarg)),
        O::I32Const { value } => Op::I32Const(value),
        O::I64Const { value } => Op::I64Const(value),
        O::F32Const { value } => Op::F32Const(value.bits()),
        O::F64Const { value } => Op::F64Const(value.bits()),
        O::I32ReinterpretF32
        | O::I64ReinterpretF64
        | O::F32ReinterpretI32
        | O::F64ReinterpretI64 => Op::Reinterpret,
        O::DataDrop { data_index } => Op::DataDrop(DataIndex::from_u32(data_index)),
        O::TableInit { elem_index, table } => Op::TableInit {
            elem: ElemIndex::from_u32(elem_index),
            table: TableIndex::from_u32(table),
        },
        O::ElemDrop { elem_index } => Op::ElemDrop(ElemIndex::from_u32(elem_index)),
        O::TableCopy {
            dst_table,
            src_table,
        } => Op::TableCopy {
            dst: TableIndex::from_u32(dst_table),
            src: TableIndex::from_u32(src_table),
        },
        O::TableGrow { table } => Op::TableGrow(TableIndex::from_u32(table)),
        O::TableSize { table } => Op::TableSize(TableIndex::from_u32(table)),
        O::TableFill { table } => Op::TableFill(TableIndex::from_u32(table)),
        O::RefNull { .. } => Op::RefNull,
        O::RefFunc { function_index } => Op::RefFunc(FuncIndex::from_u32(function_index)),
        ref other => {
            // The validator only admits deja's feature set, so this is a translator gap.
            return Err(crate::Error::Internal(format!(
                "operator at {pc:#x} not supported by deja's interpreter: {other:?}"
            )));
        }
    })
}
