//! The interpreter's compact internal instruction set.
//!
//! Each Wasm function is translated once (see `translate.rs`) into a flat array of [`Op`]s with
//! branch targets and stack adjustments resolved. Structural markers (`block`, `loop`, `end`) emit
//! nothing; an `else` becomes an internal [`Op::Jump`], which is not a step. Every other op is
//! exactly one Wasm instruction and one step, except [`Op::Steps`], which opens each straight-line
//! run of code and adds the run's step count at once.
//!
//! # Runs
//! A run starts at every branch target and after every op that can transfer control (branches,
//! calls, returns). So a run is entered only at its head and executes all its ops unless one of
//! them traps; its `Steps` count is exact in all other cases. That gives three invariants the
//! interpreter relies on:
//! - at a call, the position already includes the call (the call is the last op of its run);
//! - when a run is entered, the position is exact, so execution can switch between the fast path
//!   and the single-step path there;
//! - after a trap in the middle of a run, the exact position is recovered by walking back to the
//!   run's `Steps` op (every op between it and the trapping op is a step).

use crate::types::{DataIndex, ElemIndex, FuncIndex, GlobalIndex, TableIndex, TypeIndex};

/// How a branch adjusts the operand stack: the top `keep` values move down over `drop` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DropKeep {
    /// Values removed from beneath the kept ones.
    pub drop: u32,
    /// Values carried to the target (the label's arity).
    pub keep: u32,
}

/// A resolved branch: the target op index and the stack adjustment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BranchTarget {
    /// Index into the function's ops.
    pub pc: u32,
    /// Stack adjustment.
    pub dk: DropKeep,
}

/// One internal instruction. Kept at 16 bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
#[allow(
    missing_docs,
    reason = "one variant per Wasm instruction, named after it"
)]
pub enum Op {
    /// Head of a straight-line run: adds this many steps. Not a step itself.
    Steps(u32),
    /// Unconditional jump without stack adjustment: the `else` of an `if`. Not a step.
    Jump(u32),
    /// Return reached by a branch to the function's outermost label (the branch was the step).
    /// Not a step.
    Exit,

    Unreachable,
    Nop,
    Br(BranchTarget),
    /// `br_if`: branch when the popped condition is non-zero.
    BrIf(BranchTarget),
    /// `if`: jump to the `else` (or past the `end`) when the popped condition is zero.
    If(u32),
    /// `br_table`: targets are `br_tables[start..start + len]`, the last one being the default.
    BrTable {
        start: u32,
        len: u32,
    },
    /// `return`, and a function body's final `end`.
    Return,
    Call(FuncIndex),
    CallIndirect {
        ty: TypeIndex,
        table: TableIndex,
    },
    Drop,
    Select,

    LocalGet(u32),
    LocalSet(u32),
    LocalTee(u32),
    GlobalGet(GlobalIndex),
    GlobalSet(GlobalIndex),
    TableGet(TableIndex),
    TableSet(TableIndex),

    I32Load(u32),
    I64Load(u32),
    F32Load(u32),
    F64Load(u32),
    I32Load8S(u32),
    I32Load8U(u32),
    I32Load16S(u32),
    I32Load16U(u32),
    I64Load8S(u32),
    I64Load8U(u32),
    I64Load16S(u32),
    I64Load16U(u32),
    I64Load32S(u32),
    I64Load32U(u32),
    I32Store(u32),
    I64Store(u32),
    F32Store(u32),
    F64Store(u32),
    I32Store8(u32),
    I32Store16(u32),
    I64Store8(u32),
    I64Store16(u32),
    I64Store32(u32),
    MemorySize,
    MemoryGrow,

    I32Const(i32),
    I64Const(i64),
    F32Const(u32),
    F64Const(u64),

    I32Eqz,
    I32Eq,
    I32Ne,
    I32LtS,
    I32LtU,
    I32GtS,
    I32GtU,
    I32LeS,
    I32LeU,
    I32GeS,
    I32GeU,
    I64Eqz,
    I64Eq,
    I64Ne,
    I64LtS,
    I64LtU,
    I64GtS,
    I64GtU,
    I64LeS,
    I64LeU,
    I64GeS,
    I64GeU,
    F32Eq,
    F32Ne,
    F32Lt,
    F32Gt,
    F32Le,
    F32Ge,
    F64Eq,
    F64Ne,
    F64Lt,
    F64Gt,
    F64Le,
    F64Ge,

    I32Clz,
    I32Ctz,
    I32Popcnt,
    I32Add,
    I32Sub,
    I32Mul,
    I32DivS,
    I32DivU,
    I32RemS,
    I32RemU,
    I32And,
    I32Or,
    I32Xor,
    I32Shl,
    I32ShrS,
    I32ShrU,
    I32Rotl,
    I32Rotr,
    I64Clz,
    I64Ctz,
    I64Popcnt,
    I64Add,
    I64Sub,
    I64Mul,
    I64DivS,
    I64DivU,
    I64RemS,
    I64RemU,
    I64And,
    I64Or,
    I64Xor,
    I64Shl,
    I64ShrS,
    I64ShrU,
    I64Rotl,
    I64Rotr,

    F32Abs,
    F32Neg,
    F32Ceil,
    F32Floor,
    F32Trunc,
    F32Nearest,
    F32Sqrt,
    F32Add,
    F32Sub,
    F32Mul,
    F32Div,
    F32Min,
    F32Max,
    F32Copysign,
    F64Abs,
    F64Neg,
    F64Ceil,
    F64Floor,
    F64Trunc,
    F64Nearest,
    F64Sqrt,
    F64Add,
    F64Sub,
    F64Mul,
    F64Div,
    F64Min,
    F64Max,
    F64Copysign,

    I32WrapI64,
    I32TruncF32S,
    I32TruncF32U,
    I32TruncF64S,
    I32TruncF64U,
    I64ExtendI32S,
    I64ExtendI32U,
    I64TruncF32S,
    I64TruncF32U,
    I64TruncF64S,
    I64TruncF64U,
    F32ConvertI32S,
    F32ConvertI32U,
    F32ConvertI64S,
    F32ConvertI64U,
    F32DemoteF64,
    F64ConvertI32S,
    F64ConvertI32U,
    F64ConvertI64S,
    F64ConvertI64U,
    F64PromoteF32,
    /// All four `reinterpret` instructions: cells are untyped, so they change nothing.
    Reinterpret,
    I32Extend8S,
    I32Extend16S,
    I64Extend8S,
    I64Extend16S,
    I64Extend32S,
    I32TruncSatF32S,
    I32TruncSatF32U,
    I32TruncSatF64S,
    I32TruncSatF64U,
    I64TruncSatF32S,
    I64TruncSatF32U,
    I64TruncSatF64S,
    I64TruncSatF64U,

    MemoryInit(DataIndex),
    DataDrop(DataIndex),
    MemoryCopy,
    MemoryFill,
    TableInit {
        elem: ElemIndex,
        table: TableIndex,
    },
    ElemDrop(ElemIndex),
    TableCopy {
        dst: TableIndex,
        src: TableIndex,
    },
    TableGrow(TableIndex),
    TableSize(TableIndex),
    TableFill(TableIndex),
    RefNull,
    RefIsNull,
    RefFunc(FuncIndex),
}

impl Op {
    /// Whether executing this op completes one step.
    #[inline(always)]
    pub fn is_step(&self) -> bool {
        !matches!(self, Op::Steps(_) | Op::Jump(_) | Op::Exit)
    }
}

/// A translated function body.
#[derive(Debug, Default)]
pub struct CompiledFunc {
    /// The ops.
    pub ops: Box<[Op]>,
    /// Module-relative byte offset of the Wasm instruction behind each op (a `Steps` op gets the
    /// offset of the instruction that follows it).
    pub pcs: Box<[u32]>,
    /// `br_table` target lists.
    pub br_tables: Box<[BranchTarget]>,
    /// Number of locals, parameters included.
    pub num_locals: u32,
    /// Number of parameters.
    pub num_params: u32,
    /// Number of results.
    pub num_results: u32,
    /// Maximum operand stack height above the locals.
    pub max_stack: u32,
}

impl CompiledFunc {
    /// The op index whose Wasm instruction starts at `pc`, if any op does.
    pub fn op_at_pc(&self, pc: u32) -> Option<usize> {
        self.pcs
            .iter()
            .enumerate()
            .find(|(i, p)| **p == pc && self.ops[*i].is_step())
            .map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn op_stays_compact() {
        assert_eq!(std::mem::size_of::<super::Op>(), 16);
    }
}
