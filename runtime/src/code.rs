//! The interpreter's compact internal instruction set.
//!
//! Each Wasm function is translated once (see `translate.rs`) into a flat array of [`Op`]s with
//! branch targets and stack adjustments resolved. Structural markers (`block`, `loop`, `end`) emit
//! nothing; an `else` becomes an internal [`Op::Jump`], which is not a step. Every other op is
//! exactly one Wasm instruction and one step, except [`Op::Steps`], which opens each straight-line
//! run of code and adds the run's step count at once, and the fused headers (below).
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
//!   run's `Steps` op and counting the step ops in between.
//!
//! # Fused headers
//! Inside a run, `fuse.rs` may put a fused header (`Op::Fuse*`) in front of a few ops. A header is
//! not a step and never a branch target: the fast loop executes the covered ops' combined effect
//! and skips them, the single-step loop skips the header and executes the ops one by one.

use crate::simd::{LaneOp, SimdBin, SimdShift, SimdSplat, SimdTer, SimdTest, SimdUn, V128LoadKind};
use crate::types::{
    DataIndex, ElemIndex, FuncIndex, GlobalIndex, MemoryIndex, TableIndex, TagIndex, TypeIndex,
};

/// The memory and offset of a load or store on the general path ([`Op::LoadX`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemArg {
    /// The memory, in the module's index space.
    pub memory: MemoryIndex,
    /// The static offset (64-bit for 64-bit memories).
    pub offset: u64,
}

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
    /// `return_call`: the frame is replaced by the callee's. A tail call to a host function
    /// keeps the frame while the host runs, and the [`Op::Exit`] that always follows returns
    /// the host's results.
    ReturnCall(FuncIndex),
    /// `return_call_indirect`, as [`Op::ReturnCall`].
    ReturnCallIndirect {
        ty: TypeIndex,
        table: TableIndex,
    },
    /// `call_ref` of a function of this type (the reference is on top).
    CallRef(TypeIndex),
    /// `return_call_ref`, as [`Op::ReturnCall`].
    ReturnCallRef(TypeIndex),
    /// `br_on_null`: when the top reference is null, pop it and branch.
    BrOnNull(BranchTarget),
    /// `br_on_non_null`: when the top reference is not null, branch with it; else pop it.
    BrOnNonNull(BranchTarget),
    RefAsNonNull,
    /// `throw`: makes an exception of this tag from the top operands and unwinds to the
    /// innermost handler that catches it ([`CompiledFunc::handlers`]).
    Throw(TagIndex),
    /// `throw_ref`: throws the exception on top again (traps when it is null).
    ThrowRef,
    /// A legacy `rethrow`: throws the exception a catch block keeps in this local again.
    Rethrow(u32),
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
    /// A load from any memory, 64-bit ones included, with any offset: `mem_args[arg]` (the
    /// ops above are memory 0 with 32-bit addresses).
    LoadX {
        kind: LoadKind,
        arg: u32,
    },
    /// A store to any memory, as [`Op::LoadX`].
    StoreX {
        width: StoreWidth,
        arg: u32,
    },
    /// `memory.size`, `memory.grow` and the bulk operations, of any memory (they are not hot
    /// enough for a memory-0 variant of their own).
    MemorySize(MemoryIndex),
    MemoryGrow(MemoryIndex),
    MemoryFill(MemoryIndex),
    MemoryCopy {
        dst: MemoryIndex,
        src: MemoryIndex,
    },
    MemoryInit {
        data: DataIndex,
        mem: MemoryIndex,
    },

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

    DataDrop(DataIndex),
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

    // SIMD. A `v128` takes two cells, low half first: these ops, and the `*V` moves below,
    // are the only ones that know it.
    /// `local.get` of a `v128` local at this cell offset.
    LocalGetV(u32),
    /// `local.set` of a `v128` local.
    LocalSetV(u32),
    /// `local.tee` of a `v128` local.
    LocalTeeV(u32),
    /// `global.get` of a `v128` global.
    GlobalGetV(GlobalIndex),
    /// `global.set` of a `v128` global.
    GlobalSetV(GlobalIndex),
    /// `select` of two `v128`s.
    SelectV,
    /// `drop` of a `v128`.
    DropV,
    /// `v128.const`: `v128_consts[i]`.
    V128Const(u32),
    /// `i8x16.shuffle`: its lane indices are the bytes of `v128_consts[i]`.
    I8x16Shuffle(u32),
    SimdUn(SimdUn),
    SimdBin(SimdBin),
    SimdTer(SimdTer),
    SimdTest(SimdTest),
    SimdShift(SimdShift),
    SimdSplat(SimdSplat),
    ExtractLane {
        op: LaneOp,
        lane: u8,
    },
    ReplaceLane {
        op: LaneOp,
        lane: u8,
    },
    /// A SIMD load of any memory: `mem_args[arg]`.
    V128Load {
        kind: V128LoadKind,
        arg: u32,
    },
    /// `v128.store`: `mem_args[arg]`.
    V128Store(u32),
    /// `v128.loadN_lane`: `bytes` wide, into `lane`.
    V128LoadLane {
        bytes: u8,
        lane: u8,
        arg: u32,
    },
    /// `v128.storeN_lane`.
    V128StoreLane {
        bytes: u8,
        lane: u8,
        arg: u32,
    },

    // Fused headers (see `fuse.rs`). Each one stands in front of the original ops it covers and
    // is not a step: the fast loop executes its effect at once and skips those ops; the
    // single-step loop ignores it and executes them one by one. `a` and `b` are source locals,
    // `c` the destination local, `k` a constant as a cell; `tee` means `local.tee` rather than
    // `local.set`.
    /// `local.get a; local.get b; <op>`.
    FuseLL {
        op: BinOp,
        a: u16,
        b: u16,
    },
    /// `local.get a; <const k>; <op>`.
    FuseLC {
        op: BinOp,
        a: u16,
        k: u64,
    },
    /// `local.get b; <op>`: the left operand is on the stack.
    FuseSL {
        op: BinOp,
        b: u16,
    },
    /// `<const k>; <op>`: the left operand is on the stack.
    FuseSC {
        op: BinOp,
        k: u64,
    },
    /// `local.get a; local.get b; <op>; local.set/tee c`.
    FuseLLSet {
        op: BinOp,
        a: u16,
        b: u16,
        c: u16,
        tee: bool,
    },
    /// `local.get a; <const k>; <op>; local.set/tee c`.
    FuseLCSet {
        op: BinOp,
        a: u16,
        c: u16,
        tee: bool,
        k: u64,
    },
    /// `<op>; local.set/tee c`: both operands on the stack.
    FuseSSSet {
        op: BinOp,
        c: u16,
        tee: bool,
    },
    /// `local.get b; <op>; local.set/tee c`.
    FuseSLSet {
        op: BinOp,
        b: u16,
        c: u16,
        tee: bool,
    },
    /// `<const k>; <op>; local.set/tee c`.
    FuseSCSet {
        op: BinOp,
        c: u16,
        tee: bool,
        k: u64,
    },
    /// `local.get a; local.get b; <const k>; <op1>; <op2>`: `a op2 (b op1 k)`, such as
    /// `base + (index << 2)`.
    FuseLLC {
        op1: BinOp,
        op2: BinOp,
        a: u16,
        b: u16,
        k: u64,
    },
    /// `local.get a; local.get b; <const k>; <op1>; <op2>; local.set/tee c`. `k` is an `i32` or
    /// an `i64` that fits one, sign-extended into a cell (integer operators only read the bits
    /// of their width).
    FuseLLCSet {
        op1: BinOp,
        op2: BinOp,
        a: u16,
        b: u16,
        c: u16,
        tee: bool,
        k: i32,
    },
    /// `local.get a; local.get b; <op1>; local.get c; local.get d; <op2>; <op3>`:
    /// `(a op1 b) op3 (c op2 d)`, such as `x * x + y * y`.
    FuseLL2 {
        op1: BinOp,
        op2: BinOp,
        op3: BinOp,
        a: u16,
        b: u16,
        c: u16,
        d: u16,
    },
    /// `<const k>; local.get b; <op>`.
    FuseCL {
        op: BinOp,
        b: u16,
        k: u64,
    },
    /// `local.get a; <const k>; i32.add; local.set/tee c` (or `i32.sub` of `-k`): the loop
    /// counter idiom, specialised so that it needs no second dispatch on the operator.
    FuseI32AddSet {
        a: u16,
        c: u16,
        tee: bool,
        k: u32,
    },
    /// As `FuseI32AddSet`, for `i64`.
    FuseI64AddSet {
        a: u16,
        c: u16,
        tee: bool,
        k: u64,
    },
    /// `local.get a; i32.const k; i32.<cmp>; br_if/if`, one variant per comparison (the loop
    /// test idiom, specialised like `FuseI32AddSet`).
    FuseI32EqBr {
        a: u16,
        k: u32,
    },
    FuseI32NeBr {
        a: u16,
        k: u32,
    },
    FuseI32LtSBr {
        a: u16,
        k: u32,
    },
    FuseI32LtUBr {
        a: u16,
        k: u32,
    },
    FuseI32GtSBr {
        a: u16,
        k: u32,
    },
    FuseI32GtUBr {
        a: u16,
        k: u32,
    },
    FuseI32LeSBr {
        a: u16,
        k: u32,
    },
    FuseI32LeUBr {
        a: u16,
        k: u32,
    },
    FuseI32GeSBr {
        a: u16,
        k: u32,
    },
    FuseI32GeUBr {
        a: u16,
        k: u32,
    },
    /// `local.get a; local.get b; <op>; br_if/if`.
    FuseLLBr {
        op: BinOp,
        a: u16,
        b: u16,
    },
    /// `local.get a; <const k>; <op>; br_if/if`.
    FuseLCBr {
        op: BinOp,
        a: u16,
        k: u64,
    },
    /// `<op>; br_if/if`.
    FuseSSBr {
        op: BinOp,
    },
    /// `<const k>; <op>; br_if/if`.
    FuseSCBr {
        op: BinOp,
        k: u64,
    },
    /// `local.get a; br_if/if`, or with `eqz`, `local.get a; i32.eqz; br_if/if`.
    FuseLBr {
        a: u16,
        eqz: bool,
    },
    /// `local.get a; <load off>`.
    FuseLLoad {
        kind: LoadKind,
        a: u16,
        off: u32,
    },
    /// `local.get a; <load off>; local.set/tee c`.
    FuseLLoadSet {
        kind: LoadKind,
        a: u16,
        c: u16,
        tee: bool,
        off: u32,
    },
    /// `local.get a; local.get b; <load off1>; <store off2>`: copies memory at `b + off1` to
    /// `a + off2`.
    FuseLLLoadStore {
        kind: LoadKind,
        width: StoreWidth,
        a: u16,
        b: u16,
        off1: u32,
        off2: u32,
    },
    /// `local.get a; local.get b; <store off>`: address from `a`, value from `b`.
    FuseLLStore {
        width: StoreWidth,
        a: u16,
        b: u16,
        off: u32,
    },
    /// `local.get b; <store off>`: address on the stack, value from `b`.
    FuseSLStore {
        width: StoreWidth,
        b: u16,
        off: u32,
    },
    /// `local.get a; local.set/tee c`.
    FuseCopy {
        a: u16,
        c: u16,
        tee: bool,
    },
    /// `<const k>; local.set/tee c`.
    FuseConstSet {
        c: u16,
        tee: bool,
        k: u64,
    },
}

pub use crate::wasm::BinOp;

macro_rules! binops {
    ($($name:ident)*) => {
        impl BinOp {
            /// The fusable operator behind `op`, if it is one.
            pub fn of(op: &Op) -> Option<BinOp> {
                Some(match op {
                    $(Op::$name => BinOp::$name,)*
                    _ => return None,
                })
            }
        }
    };
}

binops! {
    I32Eq I32Ne I32LtS I32LtU I32GtS I32GtU I32LeS I32LeU I32GeS I32GeU
    I64Eq I64Ne I64LtS I64LtU I64GtS I64GtU I64LeS I64LeU I64GeS I64GeU
    F32Eq F32Ne F32Lt F32Gt F32Le F32Ge F64Eq F64Ne F64Lt F64Gt F64Le F64Ge
    I32Add I32Sub I32Mul I32And I32Or I32Xor I32Shl I32ShrS I32ShrU I32Rotl I32Rotr
    I64Add I64Sub I64Mul I64And I64Or I64Xor I64Shl I64ShrS I64ShrU I64Rotl I64Rotr
    F32Add F32Sub F32Mul F32Div F32Min F32Max F32Copysign
    F64Add F64Sub F64Mul F64Div F64Min F64Max F64Copysign
}

/// What a fused load reads and how it extends it into a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadKind {
    /// 4 bytes, zero-extended: `i32.load`, `f32.load`, `i64.load32_u`.
    U32,
    /// 8 bytes: `i64.load`, `f64.load`.
    U64,
    /// 1 byte, zero-extended: `i32.load8_u`, `i64.load8_u`.
    U8,
    /// 2 bytes, zero-extended: `i32.load16_u`, `i64.load16_u`.
    U16,
    /// `i32.load8_s`.
    I32S8,
    /// `i32.load16_s`.
    I32S16,
    /// `i64.load8_s`.
    I64S8,
    /// `i64.load16_s`.
    I64S16,
    /// `i64.load32_s`.
    I64S32,
}

impl LoadKind {
    /// The load behind `op` and its offset, if it is one.
    pub fn of(op: &Op) -> Option<(LoadKind, u32)> {
        Some(match *op {
            Op::I32Load(o) | Op::F32Load(o) | Op::I64Load32U(o) => (LoadKind::U32, o),
            Op::I64Load(o) | Op::F64Load(o) => (LoadKind::U64, o),
            Op::I32Load8U(o) | Op::I64Load8U(o) => (LoadKind::U8, o),
            Op::I32Load16U(o) | Op::I64Load16U(o) => (LoadKind::U16, o),
            Op::I32Load8S(o) => (LoadKind::I32S8, o),
            Op::I32Load16S(o) => (LoadKind::I32S16, o),
            Op::I64Load8S(o) => (LoadKind::I64S8, o),
            Op::I64Load16S(o) => (LoadKind::I64S16, o),
            Op::I64Load32S(o) => (LoadKind::I64S32, o),
            _ => return None,
        })
    }
}

/// How many low bytes of the value a fused store writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs, reason = "named after the width in bits")]
pub enum StoreWidth {
    W8,
    W16,
    W32,
    W64,
}

impl StoreWidth {
    /// The bytes it writes.
    pub fn bytes(self) -> u64 {
        match self {
            StoreWidth::W8 => 1,
            StoreWidth::W16 => 2,
            StoreWidth::W32 => 4,
            StoreWidth::W64 => 8,
        }
    }

    /// The store behind `op` and its offset, if it is one.
    pub fn of(op: &Op) -> Option<(StoreWidth, u32)> {
        Some(match *op {
            Op::I32Store8(o) | Op::I64Store8(o) => (StoreWidth::W8, o),
            Op::I32Store16(o) | Op::I64Store16(o) => (StoreWidth::W16, o),
            Op::I32Store(o) | Op::F32Store(o) | Op::I64Store32(o) => (StoreWidth::W32, o),
            Op::I64Store(o) | Op::F64Store(o) => (StoreWidth::W64, o),
            _ => return None,
        })
    }
}

impl Op {
    /// Whether this op ends a straight-line run (it can transfer control, or is the internal
    /// jump or exit). The translator starts a new run after it and fusion never spans it.
    #[inline]
    pub fn ends_run(&self) -> bool {
        matches!(
            self,
            Op::Br(_)
                | Op::BrIf(_)
                | Op::If(_)
                | Op::BrTable { .. }
                | Op::Return
                | Op::Exit
                | Op::Call(_)
                | Op::CallIndirect { .. }
                | Op::ReturnCall(_)
                | Op::ReturnCallIndirect { .. }
                | Op::CallRef(_)
                | Op::ReturnCallRef(_)
                | Op::BrOnNull(_)
                | Op::BrOnNonNull(_)
                | Op::Throw(_)
                | Op::ThrowRef
                | Op::Rethrow(_)
                | Op::Unreachable
                | Op::Jump(_)
        )
    }

    /// Whether executing this op completes one step.
    #[inline(always)]
    pub fn is_step(&self) -> bool {
        !matches!(self, Op::Steps(_) | Op::Jump(_) | Op::Exit) && !self.is_fused()
    }

    /// Whether this is a fused header (see `fuse.rs`).
    #[inline(always)]
    pub fn is_fused(&self) -> bool {
        matches!(
            self,
            Op::FuseLL { .. }
                | Op::FuseLC { .. }
                | Op::FuseSL { .. }
                | Op::FuseSC { .. }
                | Op::FuseLLSet { .. }
                | Op::FuseLCSet { .. }
                | Op::FuseSSSet { .. }
                | Op::FuseSLSet { .. }
                | Op::FuseSCSet { .. }
                | Op::FuseLLC { .. }
                | Op::FuseLLCSet { .. }
                | Op::FuseLL2 { .. }
                | Op::FuseCL { .. }
                | Op::FuseI32AddSet { .. }
                | Op::FuseI64AddSet { .. }
                | Op::FuseI32EqBr { .. }
                | Op::FuseI32NeBr { .. }
                | Op::FuseI32LtSBr { .. }
                | Op::FuseI32LtUBr { .. }
                | Op::FuseI32GtSBr { .. }
                | Op::FuseI32GtUBr { .. }
                | Op::FuseI32LeSBr { .. }
                | Op::FuseI32LeUBr { .. }
                | Op::FuseI32GeSBr { .. }
                | Op::FuseI32GeUBr { .. }
                | Op::FuseLLBr { .. }
                | Op::FuseLCBr { .. }
                | Op::FuseSSBr { .. }
                | Op::FuseSCBr { .. }
                | Op::FuseLBr { .. }
                | Op::FuseLLoad { .. }
                | Op::FuseLLoadSet { .. }
                | Op::FuseLLLoadStore { .. }
                | Op::FuseLLStore { .. }
                | Op::FuseSLStore { .. }
                | Op::FuseCopy { .. }
                | Op::FuseConstSet { .. }
        )
    }
}

/// The ops a `try_table` covers and its catch clauses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handler {
    /// First op covered.
    pub start: u32,
    /// One past the last op covered.
    pub end: u32,
    /// Its clauses: `catches[first..first + len]`, tried in order.
    pub first: u32,
    pub len: u32,
    /// Depth of its block in the control stack (the body is 0).
    pub level: u32,
    /// A legacy `delegate`'s target level ([`Handler::NO_DELEGATE`] for none): an exception
    /// from this region is handled only by regions of that level or outside it.
    pub delegate: u32,
}

impl Handler {
    /// [`Handler::delegate`] of a region that does not delegate.
    pub const NO_DELEGATE: u32 = u32::MAX;
}

/// Where a catch clause lands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CatchTarget {
    /// The tag it catches; `None` catches everything.
    pub tag: Option<TagIndex>,
    /// It pushes the exception as an `exnref` after the payload.
    pub with_ref: bool,
    /// Operand-stack height (above the locals) that the stack is cut to before the payload.
    pub height: u32,
    /// The op the label is bound to.
    pub pc: u32,
    /// A legacy catch keeps the exception in this local, for `rethrow`.
    pub exn_local: Option<u32>,
}

/// A translated function body.
#[derive(Debug, Default)]
pub struct CompiledFunc {
    /// The ops.
    pub ops: Box<[Op]>,
    /// Module-relative byte offset of the Wasm instruction behind each op (a `Steps` op gets the
    /// offset of the instruction that follows it).
    pub pcs: Box<[u32]>,
    /// Per op, the steps of its run not completed when it begins (the op's own included): a
    /// trap at that op in the fast loop, which counted the whole run at its head, is that many
    /// steps before the position. Derived from the translator's run offsets.
    pub steps_left: Box<[u32]>,
    /// `br_table` target lists.
    pub br_tables: Box<[BranchTarget]>,
    /// The memory arguments of [`Op::LoadX`], [`Op::StoreX`] and the SIMD loads and stores.
    pub mem_args: Box<[MemArg]>,
    /// The constants of [`Op::V128Const`] and the lane indices of [`Op::I8x16Shuffle`].
    pub v128_consts: Box<[u128]>,
    /// The `try_table`s, each as the range of ops it covers, innermost first where they nest
    /// (in the order they end).
    pub handlers: Box<[Handler]>,
    /// The catch clauses of every handler.
    pub catches: Box<[CatchTarget]>,
    /// Cells of the locals, parameters included (a `v128` takes two).
    pub num_locals: u32,
    /// Cells of the parameters.
    pub num_params: u32,
    /// Cells of the results.
    pub num_results: u32,
    /// Maximum operand stack height above the locals, in cells.
    pub max_stack: u32,
}

impl CompiledFunc {
    /// Turns the per-op run offsets the environment recorded in `steps_left` into steps left:
    /// each run's `Steps` count minus the op's offset. Ops outside runs get 0.
    pub(crate) fn offsets_to_steps_left(&mut self) {
        let mut run = 0u32;
        for (op, slot) in self.ops.iter().zip(self.steps_left.iter_mut()) {
            match *op {
                Op::Steps(n) => {
                    run = n;
                    *slot = 0;
                }
                _ if op.is_step() => *slot = run - *slot,
                _ => *slot = 0,
            }
        }
    }

    /// The op index of the function's first instruction (its entry, where an entry breakpoint
    /// stops), if it has one.
    pub fn first_step(&self) -> Option<usize> {
        self.ops.iter().position(|op| op.is_step())
    }

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
