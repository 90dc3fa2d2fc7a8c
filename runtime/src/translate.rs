//! Translation of Wasm function bodies into [`Op`]s: the one big `match` over operators.
//!
//! The translator runs in lockstep with wasmparser's function validator, which both rejects
//! invalid code and tells us the exact operand-stack height before each operator. From those
//! heights every branch gets its [`DropKeep`]; from the control stack every branch gets its target
//! (forward targets are patched when the label is bound). Unreachable code is validated but not
//! emitted. Steps are grouped into runs, each opened by an [`Op::Steps`] (see `code.rs`).
//!
//! Operators outside the supported feature set never reach this match: the validator is
//! configured with deja's features and refuses them at load time.

use crate::code::{BranchTarget, CompiledFunc, DropKeep, Op};
use crate::module::Module;
use crate::types::{
    DataIndex, DefinedFuncIndex, ElemIndex, FuncIndex, FuncType, GlobalIndex, TableIndex,
    TypeIndex, ValType,
};
use cranelift_entity::{EntityRef, PrimaryMap};
use wasmparser::{
    BlockType, FuncValidator, FunctionBody, Operator, Parser, Payload, ValidPayload, Validator,
    ValidatorResources,
};

type WResult<T> = Result<T, crate::Error>;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum CtrlKind {
    Func,
    Block,
    Loop,
    If,
    Else,
}

#[derive(Clone, Copy, Debug)]
enum Fixup {
    /// A `Br`, `BrIf`, `If` or `Jump` op whose target is patched.
    Op(usize),
    /// An entry of `br_tables`.
    Table(usize),
}

#[derive(Debug)]
struct Ctrl {
    kind: CtrlKind,
    /// Operand-stack height at entry, below the block's parameters.
    height: u32,
    params: u32,
    results: u32,
    /// Branch target of a loop (its head).
    loop_pc: u32,
    fixups: Vec<Fixup>,
    /// The `If` op, patched to the `else` or the `end`.
    if_op: Option<usize>,
    alive_at_entry: bool,
}

struct Translator<'a> {
    types: &'a PrimaryMap<TypeIndex, FuncType>,
    ops: Vec<Op>,
    pcs: Vec<u32>,
    br_tables: Vec<BranchTarget>,
    ctrl: Vec<Ctrl>,
    /// Index of the `Steps` op heading the current run, if a run is open.
    run_head: Option<usize>,
    /// Whether the code being translated is unreachable.
    dead: bool,
}

impl Translator<'_> {
    fn emit(&mut self, op: Op, pc: u32) -> usize {
        if op.is_step() {
            let head = match self.run_head {
                Some(h) => h,
                None => {
                    self.ops.push(Op::Steps(0));
                    self.pcs.push(pc);
                    self.run_head = Some(self.ops.len() - 1);
                    self.ops.len() - 1
                }
            };
            if let Op::Steps(n) = &mut self.ops[head] {
                *n += 1;
            }
        }
        self.ops.push(op);
        self.pcs.push(pc);
        if op.ends_run() {
            self.run_head = None;
        }
        self.ops.len() - 1
    }

    /// Binds a label at the next op: a new run starts there.
    fn bind_label(&mut self) -> u32 {
        self.run_head = None;
        self.ops.len() as u32
    }

    fn patch(&mut self, fixup: Fixup, target: u32) {
        match fixup {
            Fixup::Op(i) => match &mut self.ops[i] {
                Op::Br(t) | Op::BrIf(t) => t.pc = target,
                Op::If(t) | Op::Jump(t) => *t = target,
                other => unreachable!("fixup on {other:?}"),
            },
            Fixup::Table(i) => self.br_tables[i].pc = target,
        }
    }

    fn block_arity(&self, ty: BlockType) -> (u32, u32) {
        match ty {
            BlockType::Empty => (0, 0),
            BlockType::Type(_) => (0, 1),
            BlockType::FuncType(t) => {
                let f = &self.types[TypeIndex::from_u32(t)];
                (f.params().len() as u32, f.results().len() as u32)
            }
        }
    }

    fn push_ctrl(&mut self, kind: CtrlKind, ty: BlockType, height: u32) {
        let (params, results) = self.block_arity(ty);
        let loop_pc = if kind == CtrlKind::Loop && !self.dead {
            self.bind_label()
        } else {
            0
        };
        self.ctrl.push(Ctrl {
            kind,
            height: height.saturating_sub(params),
            params,
            results,
            loop_pc,
            fixups: Vec::new(),
            if_op: None,
            alive_at_entry: !self.dead,
        });
    }

    /// The target of a branch to relative `depth`, taken with `height` operands on the stack
    /// (conditions and table indices already popped). `None` means the function's own label: a
    /// return. Registers a fixup for forward targets via `register`.
    fn branch(&mut self, depth: u32, height: u32) -> (BranchTarget, Option<usize>) {
        let frame_index = self.ctrl.len() - 1 - depth as usize;
        let frame = &self.ctrl[frame_index];
        let arity = if frame.kind == CtrlKind::Loop {
            frame.params
        } else {
            frame.results
        };
        let dk = DropKeep {
            drop: height.saturating_sub(frame.height + arity),
            keep: arity,
        };
        let pc = if frame.kind == CtrlKind::Loop {
            frame.loop_pc
        } else {
            u32::MAX
        };
        let forward = (frame.kind != CtrlKind::Loop).then_some(frame_index);
        (BranchTarget { pc, dk }, forward)
    }
}

macro_rules! simple_ops {
    ($($name:ident)*) => {
        /// Operators that translate one-to-one into an op without immediates.
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

fn mem_offset(memarg: &wasmparser::MemArg) -> u32 {
    // 32-bit memories only: the validator bounds offsets to u32.
    memarg.offset as u32
}

/// Translates one function body, validating it on the way.
pub(crate) fn translate_function(
    fv: &mut FuncValidator<ValidatorResources>,
    body: &FunctionBody<'_>,
    ty: &FuncType,
    types: &PrimaryMap<TypeIndex, FuncType>,
) -> WResult<(CompiledFunc, Box<[ValType]>)> {
    let mut local_types: Vec<ValType> = ty.params().to_vec();
    let mut locals = body.get_locals_reader()?;
    for _ in 0..locals.get_count() {
        let offset = locals.original_position();
        let (count, vt) = locals.read()?;
        fv.define_locals(offset, count, vt)?;
        let vt = ValType::from_wasmparser(vt).ok_or_else(|| crate::Error::Invalid {
            message: "unsupported local type".into(),
            offset,
        })?;
        local_types.extend(std::iter::repeat_n(vt, count as usize));
    }
    let mut t = Translator {
        types,
        ops: Vec::new(),
        pcs: Vec::new(),
        br_tables: Vec::new(),
        ctrl: vec![Ctrl {
            kind: CtrlKind::Func,
            height: 0,
            params: 0,
            results: ty.results().len() as u32,
            loop_pc: 0,
            fixups: Vec::new(),
            if_op: None,
            alive_at_entry: true,
        }],
        run_head: None,
        dead: false,
    };
    let mut max_stack = 0u32;
    let mut reader = body.get_operators_reader()?;
    while !reader.eof() {
        let (op, offset) = reader.read_with_offset()?;
        let height = fv.operand_stack_height();
        fv.op(offset, &op)?;
        max_stack = max_stack.max(fv.operand_stack_height()).max(height);
        let pc = offset as u32;
        translate_op(&mut t, &op, pc, height)?;
    }
    reader.finish()?;
    let compiled = CompiledFunc {
        ops: t.ops.into(),
        pcs: t.pcs.into(),
        br_tables: t.br_tables.into(),
        num_locals: local_types.len() as u32,
        num_params: ty.params().len() as u32,
        num_results: ty.results().len() as u32,
        max_stack: max_stack + 1,
    };
    Ok((compiled, local_types.into()))
}

fn translate_op(t: &mut Translator<'_>, op: &Operator<'_>, pc: u32, height: u32) -> WResult<()> {
    use Operator as O;
    // Control structure is tracked even in dead code; everything else is skipped there.
    match *op {
        O::Block { blockty } => {
            t.push_ctrl(CtrlKind::Block, blockty, height);
            return Ok(());
        }
        O::Loop { blockty } => {
            t.push_ctrl(CtrlKind::Loop, blockty, height);
            return Ok(());
        }
        O::If { blockty } => {
            let alive = !t.dead;
            t.push_ctrl(CtrlKind::If, blockty, height.saturating_sub(1));
            if alive {
                let i = t.emit(Op::If(u32::MAX), pc);
                t.ctrl.last_mut().expect("pushed").if_op = Some(i);
            }
            return Ok(());
        }
        O::Else => {
            let alive_then = !t.dead;
            if alive_then {
                let j = t.emit(Op::Jump(u32::MAX), pc);
                t.ctrl
                    .last_mut()
                    .expect("if frame")
                    .fixups
                    .push(Fixup::Op(j));
            }
            let frame = t.ctrl.last_mut().expect("if frame");
            frame.kind = CtrlKind::Else;
            let if_op = frame.if_op.take();
            let alive = frame.alive_at_entry;
            let target = t.bind_label();
            if let Some(i) = if_op {
                t.patch(Fixup::Op(i), target);
            }
            t.dead = !alive;
            return Ok(());
        }
        O::End => {
            let frame = t.ctrl.pop().expect("validated control stack");
            match frame.kind {
                CtrlKind::Func => {
                    if !t.dead {
                        t.emit(Op::Return, pc);
                    }
                    if !frame.fixups.is_empty() {
                        let target = t.bind_label();
                        t.emit(Op::Exit, pc);
                        for f in frame.fixups {
                            t.patch(f, target);
                        }
                    }
                }
                CtrlKind::Loop => {
                    // Nothing branches to a loop's end: the run and liveness carry on.
                }
                CtrlKind::Block | CtrlKind::If | CtrlKind::Else => {
                    let reachable = !t.dead
                        || !frame.fixups.is_empty()
                        || (frame.kind == CtrlKind::If && frame.alive_at_entry);
                    if !frame.fixups.is_empty() || frame.if_op.is_some() {
                        let target = t.bind_label();
                        for f in frame.fixups {
                            t.patch(f, target);
                        }
                        if let Some(i) = frame.if_op {
                            t.patch(Fixup::Op(i), target);
                        }
                    }
                    t.dead = !reachable;
                }
            }
            return Ok(());
        }
        _ => {}
    }
    if t.dead {
        return Ok(());
    }
    if let Some(simple) = simple_op(op) {
        t.emit(simple, pc);
        return Ok(());
    }
    let new = match *op {
        O::Unreachable => {
            t.emit(Op::Unreachable, pc);
            t.dead = true;
            return Ok(());
        }
        O::Br { relative_depth } => {
            let (target, forward) = t.branch(relative_depth, height);
            match forward {
                Some(f) if t.ctrl[f].kind == CtrlKind::Func => {
                    t.emit(Op::Return, pc);
                }
                Some(f) => {
                    let i = t.emit(Op::Br(target), pc);
                    t.ctrl[f].fixups.push(Fixup::Op(i));
                }
                None => {
                    t.emit(Op::Br(target), pc);
                }
            }
            t.dead = true;
            return Ok(());
        }
        O::BrIf { relative_depth } => {
            let (target, forward) = t.branch(relative_depth, height.saturating_sub(1));
            let i = t.emit(Op::BrIf(target), pc);
            if let Some(f) = forward {
                t.ctrl[f].fixups.push(Fixup::Op(i));
            }
            return Ok(());
        }
        O::BrTable { ref targets } => {
            let start = t.br_tables.len();
            let depths: Vec<u32> = targets
                .targets()
                .chain(std::iter::once(Ok(targets.default())))
                .collect::<Result<_, _>>()?;
            for depth in &depths {
                let (target, forward) = t.branch(*depth, height.saturating_sub(1));
                let idx = t.br_tables.len();
                t.br_tables.push(target);
                if let Some(f) = forward {
                    t.ctrl[f].fixups.push(Fixup::Table(idx));
                }
            }
            t.emit(
                Op::BrTable {
                    start: start as u32,
                    len: depths.len() as u32,
                },
                pc,
            );
            t.dead = true;
            return Ok(());
        }
        O::Return => {
            t.emit(Op::Return, pc);
            t.dead = true;
            return Ok(());
        }
        O::Call { function_index } => Op::Call(FuncIndex::from_u32(function_index)),
        O::CallIndirect {
            type_index,
            table_index,
        } => Op::CallIndirect {
            ty: TypeIndex::from_u32(type_index),
            table: TableIndex::from_u32(table_index),
        },
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
        O::MemorySize { .. } => Op::MemorySize,
        O::MemoryCopy { .. } => Op::MemoryCopy,
        O::MemoryFill { .. } => Op::MemoryFill,
        O::MemoryGrow { .. } => Op::MemoryGrow,
        O::I32Const { value } => Op::I32Const(value),
        O::I64Const { value } => Op::I64Const(value),
        O::F32Const { value } => Op::F32Const(value.bits()),
        O::F64Const { value } => Op::F64Const(value.bits()),
        O::I32ReinterpretF32
        | O::I64ReinterpretF64
        | O::F32ReinterpretI32
        | O::F64ReinterpretI64 => Op::Reinterpret,
        O::MemoryInit { data_index, .. } => Op::MemoryInit(DataIndex::from_u32(data_index)),
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
    };
    t.emit(new, pc);
    Ok(())
}

/// Operand-stack types (bottom first) of a defined function just before the instruction at
/// byte offset `pc`, recomputed by re-validating the module up to that point.
pub(crate) fn operand_types_at(
    module: &Module,
    def: DefinedFuncIndex,
    pc: u32,
) -> Option<Vec<ValType>> {
    let bytes = module.bytes();
    let mut validator = Validator::new_with_features(crate::module::supported_features());
    let mut seen = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.ok()?;
        let valid = validator.payload(&payload).ok()?;
        let (ValidPayload::Func(func, body), Payload::CodeSectionEntry(_)) = (valid, &payload)
        else {
            continue;
        };
        if seen != def.index() {
            seen += 1;
            continue;
        }
        let mut fv = func.into_validator(Default::default());
        let mut locals = body.get_locals_reader().ok()?;
        for _ in 0..locals.get_count() {
            let offset = locals.original_position();
            let (count, vt) = locals.read().ok()?;
            fv.define_locals(offset, count, vt).ok()?;
        }
        let mut reader = body.get_operators_reader().ok()?;
        while !reader.eof() {
            let (op, offset) = reader.read_with_offset().ok()?;
            if offset as u32 == pc {
                let height = fv.operand_stack_height() as usize;
                let types = (0..height)
                    .rev()
                    .map(|depth| {
                        fv.get_operand_type(depth)
                            .flatten()
                            .and_then(ValType::from_wasmparser)
                            .unwrap_or(ValType::I32)
                    })
                    .collect();
                return Some(types);
            }
            fv.op(offset, &op).ok()?;
        }
        return None;
    }
    None
}
