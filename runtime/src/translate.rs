//! The translator: one walk over each function body, shared by every engine.
//!
//! This is the engine-neutral half of translation, in the shape of wasmtime's
//! `code_translator.rs`: the one big loop over operators. It runs in lockstep with wasmparser's
//! function validator, which rejects invalid code and tells the exact operand-stack height and
//! types before each operator, and it owns everything that follows from the structure of the
//! code rather than from an engine:
//!
//! - the control stack, liveness (unreachable code is validated but never handed on) and branch
//!   resolution: every branch gets its destination label and its [`DropKeep`] (how many values
//!   it carries and how many it drops beneath them) from the heights;
//! - steps and runs: each instruction's cost comes from [`crate::steps`], and the translator
//!   tracks the straight-line runs (they end after a control transfer and wherever a label is
//!   bound), so each instruction arrives with its offset within its run;
//! - frame shapes: the type of every operand-stack slot before every instruction
//!   ([`FrameShapes`]), from which the debug API types a frame's values on any engine.
//!
//! How an instruction is lowered — the interpreter's ops, later Cranelift IR — is the business
//! of a [`FuncEnvironment`] (wasmtime's `func_environ.rs`): the translator calls one of its
//! methods per instruction, and it never sees an engine's representation.
//!
//! Operators outside the supported feature set never reach the environment: the validator is
//! configured with deja's features and refuses them at load time.

use crate::code::DropKeep;
use crate::steps::{self, Context};
use crate::types::{FuncType, TagIndex, TypeIndex, ValType};
use cranelift_entity::PrimaryMap;
use wasmparser::{BlockType, FuncValidator, FunctionBody, Operator, ValidatorResources};

pub(crate) type WResult<T> = Result<T, crate::Error>;

/// What the translator knows about one instruction it hands to the environment.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Inst {
    /// Module-relative byte offset of the instruction.
    pub pc: u32,
    /// Steps it completes ([`steps::cost`]): 0 or 1.
    pub cost: u32,
    /// Steps of its run completed before it. 0 with `cost == 1` means it opens a run.
    pub run_offset: u32,
}

impl Inst {
    /// Whether this instruction is the first step of a new straight-line run.
    pub fn opens_run(&self) -> bool {
        self.cost > 0 && self.run_offset == 0
    }
}

/// Where a branch goes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Branch<L> {
    /// The label of the target: a loop's head, or the end of a block, `if` or the function body
    /// (a branch to the body's end returns, without another step).
    pub label: L,
    /// How the operand stack is adjusted.
    pub dk: DropKeep,
}

/// One `catch` clause of a `try_table`, as the environment gets it: what it matches and where
/// it lands.
#[derive(Clone, Debug)]
pub(crate) struct CatchClause<L> {
    /// The tag it catches; `None` for `catch_all` and `catch_all_ref`.
    pub tag: Option<TagIndex>,
    /// It also pushes the exception as an `exnref` (`catch_ref`, `catch_all_ref`).
    pub with_ref: bool,
    /// The label it branches to.
    pub label: L,
    /// The operand-stack height of the label's block (below its values): the stack is cut to
    /// it before the payload is pushed.
    pub height: u32,
    /// The types of what it pushes: the tag's parameters, then `exnref` with `with_ref`.
    pub values: Vec<ValType>,
    /// The local the exception is kept in (a legacy `catch`, for `rethrow`): locals beyond the
    /// declared ones, one per nesting level of legacy catch blocks.
    pub exn_local: Option<u32>,
}

/// An engine's lowering of the instructions the translator hands it (see the module docs).
///
/// Labels are the environment's own: the translator creates them, binds each exactly once, and
/// uses them as branch destinations before or after binding.
pub(crate) trait FuncEnvironment {
    /// A position in the engine's code that branches can target.
    type Label: Copy;

    /// A new, unbound label.
    fn new_label(&mut self) -> Self::Label;
    /// Binds `label` to the next instruction. A new run starts there.
    fn bind_label(&mut self, label: Self::Label);
    /// The label just bound is a loop's head (a backward branch target).
    fn loop_header(&mut self) {}
    /// Any instruction without control flow of its own (arithmetic, memory, locals, calls, ...).
    fn instruction(&mut self, inst: Inst, op: &Operator<'_>) -> WResult<()>;
    /// `unreachable`.
    fn unreachable(&mut self, inst: Inst);
    /// `br`.
    fn br(&mut self, inst: Inst, target: Branch<Self::Label>);
    /// `br_if`: branch when the popped condition is non-zero.
    fn br_if(&mut self, inst: Inst, target: Branch<Self::Label>);
    /// `br_on_null`: branch (without the reference) when the top reference is null.
    fn br_on_null(&mut self, inst: Inst, target: Branch<Self::Label>);
    /// `br_on_non_null`: branch (with the reference) when the top reference is not null, else
    /// drop it.
    fn br_on_non_null(&mut self, inst: Inst, target: Branch<Self::Label>);
    /// `br_table`; the last target is the default.
    fn br_table(&mut self, inst: Inst, targets: &[Branch<Self::Label>]);
    /// `if`: continue when the popped condition is non-zero, else go to `else_label`.
    fn if_(&mut self, inst: Inst, else_label: Self::Label);
    /// `else` at the end of a live `then` arm: jump to `end_label` (not a step).
    fn else_(&mut self, inst: Inst, end_label: Self::Label);
    /// A return: `return`, a `br` to the body's label, or the body's final `end`.
    fn return_(&mut self, inst: Inst);
    /// The body's end reached by a branch to its label, bound just before: return without a
    /// step (the branch was the step).
    fn exit(&mut self, inst: Inst);
    /// A live `try_table` or legacy `try` begins (a marker, not a step): exceptions thrown by
    /// what follows, up to the matching [`FuncEnvironment::end_try_table`], are caught by
    /// these clauses, in order, and by those [`FuncEnvironment::add_catch`] adds. They nest;
    /// the innermost one is asked first.
    fn try_table(&mut self, _catches: &[CatchClause<Self::Label>]) {}
    /// The innermost open region ends (at a `try_table`'s end, or at a legacy `try`'s first
    /// `catch`, `catch_all`, `delegate` or `end`). `level` is its block's depth in the control
    /// stack (the body is 0); `delegate`, a legacy `delegate`'s target level: an exception
    /// from the region is handled only by regions of that level or outside it. Returns an id
    /// for [`FuncEnvironment::add_catch`].
    fn end_try_table(&mut self, _level: u32, _delegate: Option<u32>) -> usize {
        0
    }
    /// A legacy `catch` or `catch_all` clause of a region that has ended, landing at
    /// `clause.label` (bound right after).
    fn add_catch(&mut self, _region: usize, _clause: CatchClause<Self::Label>) {}
    /// A legacy `rethrow` of the exception in local `exn_local`.
    fn rethrow(&mut self, inst: Inst, exn_local: u32);
    /// Whether this environment counts in cells (a `v128` takes two, see [`V128Move`]) in
    /// functions that may hold `v128`s. An environment that keeps a `v128` as one value (the
    /// JIT, in a vector register) says `false`: it gets heights, branch adjustments and local
    /// indices in values, and `local`, `global`, `select` and `drop` of a `v128` as the plain
    /// operators, whose width it knows from its own operand types.
    const CELLS: bool = true;
    /// A move of a `v128` value that the operator alone does not tell (see [`V128Move`]).
    fn v128_move(&mut self, inst: Inst, _mv: V128Move) -> WResult<()> {
        Err(crate::Error::Unsupported {
            proposal: "SIMD on this engine",
            offset: u64::from(inst.pc),
        })
    }
}

/// A `local`, `global`, `select` or `drop` instruction on a `v128`, which takes two cells.
///
/// In a function that may hold `v128` values, stack heights, branch adjustments, local
/// indices and the counts of [`crate::code::CompiledFunc`] are in cells rather than values; the
/// translator hands the environment local indices as cell offsets, and these moves, whose
/// operators do not say the width, separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum V128Move {
    /// `local.get` of the local at this cell offset.
    LocalGet(u32),
    /// `local.set`.
    LocalSet(u32),
    /// `local.tee`.
    LocalTee(u32),
    /// `global.get` of this global.
    GlobalGet(u32),
    /// `global.set`.
    GlobalSet(u32),
    /// `select` (typed or not) of two `v128`s.
    Select,
    /// `drop` of a `v128`.
    Drop,
}

/// Operand-stack types before each instruction of one function, by module-relative pc: the
/// static half of an engine-neutral frame (cf. wasmtime's `frame_table.rs`). Locals' types are
/// the function's declaration and are kept beside it.
#[derive(Clone, Debug, Default)]
pub(crate) struct FrameShapes {
    /// Pcs of the instructions, ascending.
    pcs: Box<[u32]>,
    /// Per instruction, the range of `pool` holding its operand types, bottom first.
    stacks: Box<[(u32, u32)]>,
    /// Type stacks; consecutive instructions share prefixes.
    pool: Box<[ValType]>,
}

impl FrameShapes {
    /// The operand-stack types before the instruction at `pc`, bottom first.
    pub fn stack_at(&self, pc: u32) -> Option<&[ValType]> {
        let i = self.pcs.binary_search(&pc).ok()?;
        let (start, len) = self.stacks[i];
        Some(&self.pool[start as usize..(start + len) as usize])
    }
}

#[derive(Default)]
struct ShapeBuilder {
    pcs: Vec<u32>,
    stacks: Vec<(u32, u32)>,
    pool: Vec<ValType>,
    scratch: Vec<ValType>,
}

impl ShapeBuilder {
    /// Records the stack in `scratch` for `pc` (once per pc: the first instruction wins).
    fn record(&mut self, pc: u32) {
        if self.pcs.last() == Some(&pc) {
            return;
        }
        let t = &self.scratch;
        let entry = match self.stacks.last() {
            Some(&(start, len)) => {
                let prev = &self.pool[start as usize..(start + len) as usize];
                if t.len() <= prev.len() && prev[..t.len()] == t[..] {
                    (start, t.len() as u32)
                } else if (start + len) as usize == self.pool.len()
                    && t[..prev.len().min(t.len())] == *prev
                {
                    self.pool.extend_from_slice(&t[prev.len()..]);
                    (start, t.len() as u32)
                } else {
                    let s = self.pool.len() as u32;
                    self.pool.extend_from_slice(t);
                    (s, t.len() as u32)
                }
            }
            None => {
                self.pool.extend_from_slice(t);
                (0, t.len() as u32)
            }
        };
        self.pcs.push(pc);
        self.stacks.push(entry);
    }

    fn finish(self) -> FrameShapes {
        FrameShapes {
            pcs: self.pcs.into(),
            stacks: self.stacks.into(),
            pool: self.pool.into(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum CtrlKind {
    Func,
    Block,
    Loop,
    If,
    Else,
    /// A `try_table`: a block whose body's exceptions its catch clauses handle.
    TryTable,
    /// A legacy `try` body.
    Try,
    /// A legacy `catch` or `catch_all` block: the exception is in `exn_local`.
    Catch,
}

#[derive(Debug)]
struct Ctrl<L> {
    kind: CtrlKind,
    /// Operand-stack height at entry, below the block's parameters.
    height: u32,
    params: u32,
    results: u32,
    /// The branch destination: a loop's head, or the end of anything else.
    label: L,
    /// Whether any branch targets the label (for the end of a block, `if` or body).
    branched_to: bool,
    /// The `if`'s else label, bound at the `else` or the `end`.
    else_label: Option<L>,
    alive_at_entry: bool,
    /// For a legacy try that has reached its catches: its region's id; for a catch block,
    /// the local holding its exception.
    region: Option<usize>,
    exn_local: Option<u32>,
}

/// A translated function's engine-neutral facts.
pub(crate) struct Translated {
    /// Types of every local, parameters first.
    pub local_types: Box<[ValType]>,
    /// Operand-stack types before every instruction.
    pub shapes: FrameShapes,
    /// Highest operand-stack height reached (in cells, for a function that may hold `v128`s).
    pub max_stack: u32,
    /// `v128` values occur: in the signature, a local, or an instruction.
    pub uses_v128: bool,
}

struct Translator<'a, E: FuncEnvironment> {
    env: &'a mut E,
    types: &'a PrimaryMap<TypeIndex, FuncType>,
    ctrl: Vec<Ctrl<E::Label>>,
    /// Steps of the current run completed so far; `None` when no run is open.
    run: Option<u32>,
    /// Whether the code being translated is unreachable.
    dead: bool,
    /// For the `try_table` being translated: what each of its clauses pushes (for a legacy
    /// `catch`, the one entry is its tag's parameters).
    catch_values: Vec<Vec<ValType>>,
    /// Declared locals (parameters included); hidden ones for legacy catches follow.
    num_locals: u32,
    /// Hidden locals needed so far: the deepest nesting of legacy catch blocks that keep
    /// their exception.
    hidden_locals: u32,
    /// Which legacy catch blocks, numbered in order of their `catch` or `catch_all`, some
    /// `rethrow` targets: only those keep their exception (in a hidden local); the others
    /// free it when they land, as a `try_table`'s `catch` does. Found on the body's first
    /// `try`.
    rethrown: Option<Vec<bool>>,
    /// Legacy catch blocks begun so far.
    catches_seen: usize,
    /// The function may hold `v128`s: heights and locals are counted in cells (see
    /// [`V128Move`]).
    wide: bool,
    /// In a wide function, the instruction being translated as the environment gets it: a
    /// `v128` move, or the operator with its local index turned into a cell offset.
    wide_op: Option<WideOp>,
}

/// See [`Translator::wide_op`].
enum WideOp {
    Move(V128Move),
    Local(Operator<'static>),
}

impl<E: FuncEnvironment> Translator<'_, E> {
    /// The [`Inst`] for an operator at `pc`, advancing the run.
    fn inst(&mut self, op: &Operator<'_>, pc: u32, context: Context) -> Inst {
        let cost = steps::cost(op, context);
        let run_offset = if cost > 0 {
            let offset = self.run.unwrap_or(0);
            self.run = Some(offset + cost);
            offset
        } else {
            self.run.unwrap_or(0)
        };
        if steps::ends_run(op, context) {
            self.run = None;
        }
        Inst {
            pc,
            cost,
            run_offset,
        }
    }

    fn bind(&mut self, label: E::Label) {
        self.run = None;
        self.env.bind_label(label);
    }

    /// A block's parameters and results, in values, or in cells in a wide function.
    fn block_arity(&self, ty: BlockType) -> (u32, u32) {
        let count = |ts: &[ValType]| {
            if self.wide {
                ValType::cells_of(ts) as u32
            } else {
                ts.len() as u32
            }
        };
        match ty {
            BlockType::Empty => (0, 0),
            BlockType::Type(t) => {
                let wide = self.wide && t == wasmparser::ValType::V128;
                (0, if wide { 2 } else { 1 })
            }
            BlockType::FuncType(t) => {
                let f = &self.types[TypeIndex::from_u32(t)];
                (count(f.params()), count(f.results()))
            }
        }
    }

    fn push_ctrl(&mut self, kind: CtrlKind, ty: BlockType, height: u32) {
        let (params, results) = self.block_arity(ty);
        let label = self.env.new_label();
        if kind == CtrlKind::Loop && !self.dead {
            self.bind(label);
            self.env.loop_header();
        }
        self.ctrl.push(Ctrl {
            kind,
            height: height.saturating_sub(params),
            params,
            results,
            label,
            branched_to: false,
            else_label: None,
            alive_at_entry: !self.dead,
            region: None,
            exn_local: None,
        });
    }

    /// The branch to relative `depth`, taken with `height` operands on the stack (conditions
    /// and table indices already popped). Unless it is a `br` out of the body (a plain return),
    /// the target is marked as branched to.
    fn branch(&mut self, depth: u32, height: u32, is_br: bool) -> (Branch<E::Label>, CtrlKind) {
        let index = self.ctrl.len() - 1 - depth as usize;
        let frame = &mut self.ctrl[index];
        let arity = if frame.kind == CtrlKind::Loop {
            frame.params
        } else {
            frame.results
        };
        let dk = DropKeep {
            drop: height.saturating_sub(frame.height + arity),
            keep: arity,
        };
        if !(is_br && frame.kind == CtrlKind::Func) {
            frame.branched_to = true;
        }
        (
            Branch {
                label: frame.label,
                dk,
            },
            frame.kind,
        )
    }

    fn op(&mut self, op: &Operator<'_>, pc: u32, height: u32) -> WResult<()> {
        use Operator as O;
        // Control structure is tracked even in dead code; everything else is skipped there.
        match *op {
            O::Block { blockty } => {
                self.push_ctrl(CtrlKind::Block, blockty, height);
                return Ok(());
            }
            O::Loop { blockty } => {
                self.push_ctrl(CtrlKind::Loop, blockty, height);
                return Ok(());
            }
            O::TryTable { ref try_table } => {
                if !self.dead {
                    // The clauses' labels are outside the try_table (resolved before it is
                    // pushed); each is branched to, from wherever a throw lands there.
                    let mut catches = Vec::with_capacity(try_table.catches.len());
                    let values = std::mem::take(&mut self.catch_values);
                    for (c, values) in try_table.catches.iter().zip(values) {
                        use wasmparser::Catch;
                        let (tag, with_ref, depth) = match *c {
                            Catch::One { tag, label } => (Some(tag), false, label),
                            Catch::OneRef { tag, label } => (Some(tag), true, label),
                            Catch::All { label } => (None, false, label),
                            Catch::AllRef { label } => (None, true, label),
                        };
                        let index = self.ctrl.len() - 1 - depth as usize;
                        let frame = &mut self.ctrl[index];
                        frame.branched_to = true;
                        catches.push(CatchClause {
                            tag: tag.map(TagIndex::from_u32),
                            with_ref,
                            label: frame.label,
                            height: frame.height,
                            values,
                            exn_local: None,
                        });
                    }
                    self.env.try_table(&catches);
                }
                self.push_ctrl(CtrlKind::TryTable, try_table.ty, height);
                return Ok(());
            }
            O::Try { blockty } => {
                if !self.dead {
                    self.env.try_table(&[]);
                }
                self.push_ctrl(CtrlKind::Try, blockty, height);
                return Ok(());
            }
            O::Catch { .. } | O::CatchAll => {
                let tag = match *op {
                    O::Catch { tag_index } => Some(TagIndex::from_u32(tag_index)),
                    _ => None,
                };
                let level = self.ctrl.len() as u32 - 1;
                if !self.dead {
                    // The end of the try body or of the previous catch: on to the end.
                    let inst = self.inst(op, pc, Context::Inside);
                    let frame = self.ctrl.last_mut().expect("try frame");
                    frame.branched_to = true;
                    let end = frame.label;
                    self.env.else_(inst, end);
                }
                let frame = self.ctrl.last().expect("try frame");
                let (alive, first) = (frame.alive_at_entry, frame.kind == CtrlKind::Try);
                if first && alive {
                    let region = self.env.end_try_table(level, None);
                    self.ctrl.last_mut().expect("try frame").region = Some(region);
                }
                // The catch block's exception local, if a `rethrow` needs it: one per nesting
                // level of such catch blocks.
                let ordinal = self.catches_seen;
                self.catches_seen += 1;
                let keeps = self
                    .rethrown
                    .as_ref()
                    .is_none_or(|r| r.get(ordinal).copied().unwrap_or(true));
                let depth = self.ctrl.len() - 1;
                let exn_local = keeps.then(|| {
                    let nesting = self.ctrl[..depth]
                        .iter()
                        .filter(|c| c.exn_local.is_some())
                        .count() as u32;
                    self.hidden_locals = self.hidden_locals.max(nesting + 1);
                    self.num_locals + nesting
                });
                let frame = self.ctrl.last_mut().expect("try frame");
                frame.kind = CtrlKind::Catch;
                frame.exn_local = exn_local;
                let (region, fheight) = (frame.region, frame.height);
                self.run = None;
                self.dead = true;
                if let Some(region) = region {
                    let label = self.env.new_label();
                    let values = if tag.is_some() {
                        std::mem::take(&mut self.catch_values)
                            .pop()
                            .unwrap_or_default()
                    } else {
                        Vec::new()
                    };
                    self.env.add_catch(
                        region,
                        CatchClause {
                            tag,
                            with_ref: false,
                            label,
                            height: fheight,
                            values,
                            exn_local,
                        },
                    );
                    self.bind(label);
                    self.dead = false;
                }
                return Ok(());
            }
            O::Delegate { relative_depth } => {
                let frame = self.ctrl.pop().expect("validated control stack");
                if frame.alive_at_entry {
                    let target = self.ctrl.len() as u32 - 1 - relative_depth;
                    self.env.end_try_table(self.ctrl.len() as u32, Some(target));
                }
                let reachable = !self.dead || frame.branched_to;
                if frame.branched_to {
                    self.bind(frame.label);
                }
                self.dead = !reachable;
                return Ok(());
            }
            O::If { blockty } => {
                let alive = !self.dead;
                self.push_ctrl(CtrlKind::If, blockty, height.saturating_sub(1));
                if alive {
                    let else_label = self.env.new_label();
                    let inst = self.inst(op, pc, Context::Inside);
                    self.env.if_(inst, else_label);
                    self.ctrl.last_mut().expect("pushed").else_label = Some(else_label);
                }
                return Ok(());
            }
            O::Else => {
                if !self.dead {
                    let inst = self.inst(op, pc, Context::Inside);
                    let frame = self.ctrl.last_mut().expect("if frame");
                    frame.branched_to = true;
                    let end = frame.label;
                    self.env.else_(inst, end);
                }
                let frame = self.ctrl.last_mut().expect("if frame");
                frame.kind = CtrlKind::Else;
                let else_label = frame.else_label.take();
                let alive = frame.alive_at_entry;
                if let Some(l) = else_label {
                    self.bind(l);
                } else {
                    self.run = None;
                }
                self.dead = !alive;
                return Ok(());
            }
            O::End => {
                let frame = self.ctrl.pop().expect("validated control stack");
                match frame.kind {
                    CtrlKind::Func => {
                        if !self.dead {
                            let inst = self.inst(op, pc, Context::BodyEnd);
                            self.env.return_(inst);
                        }
                        if frame.branched_to {
                            self.bind(frame.label);
                            let inst = Inst {
                                pc,
                                cost: 0,
                                run_offset: 0,
                            };
                            self.env.exit(inst);
                        }
                    }
                    CtrlKind::Loop => {
                        // Nothing branches to a loop's end: the run and liveness carry on.
                    }
                    CtrlKind::Block
                    | CtrlKind::If
                    | CtrlKind::Else
                    | CtrlKind::TryTable
                    | CtrlKind::Try
                    | CtrlKind::Catch => {
                        // A try_table's region, or a legacy try's without any catch.
                        if matches!(frame.kind, CtrlKind::TryTable | CtrlKind::Try)
                            && frame.alive_at_entry
                        {
                            self.env.end_try_table(self.ctrl.len() as u32, None);
                        }
                        let reachable = !self.dead
                            || frame.branched_to
                            || (frame.kind == CtrlKind::If && frame.alive_at_entry);
                        if frame.branched_to {
                            self.bind(frame.label);
                        }
                        if let Some(l) = frame.else_label {
                            // An `if` without `else`: the false arm lands here too.
                            self.bind(l);
                        }
                        self.dead = !reachable;
                    }
                }
                return Ok(());
            }
            _ => {}
        }
        if self.dead {
            return Ok(());
        }
        match *op {
            O::Unreachable => {
                let inst = self.inst(op, pc, Context::Inside);
                self.env.unreachable(inst);
                self.dead = true;
            }
            O::Br { relative_depth } => {
                let (target, kind) = self.branch(relative_depth, height, true);
                let inst = self.inst(op, pc, Context::Inside);
                if kind == CtrlKind::Func {
                    // A `br` out of the body is the return itself.
                    self.env.return_(inst);
                } else {
                    self.env.br(inst, target);
                }
                self.dead = true;
            }
            O::BrIf { relative_depth } => {
                let (target, _) = self.branch(relative_depth, height.saturating_sub(1), false);
                let inst = self.inst(op, pc, Context::Inside);
                self.env.br_if(inst, target);
            }
            O::BrTable { ref targets } => {
                let depths: Vec<u32> = targets
                    .targets()
                    .chain(std::iter::once(Ok(targets.default())))
                    .collect::<Result<_, _>>()?;
                let branches: Vec<_> = depths
                    .iter()
                    .map(|d| self.branch(*d, height.saturating_sub(1), false).0)
                    .collect();
                let inst = self.inst(op, pc, Context::Inside);
                self.env.br_table(inst, &branches);
                self.dead = true;
            }
            O::Return => {
                let inst = self.inst(op, pc, Context::Inside);
                self.env.return_(inst);
                self.dead = true;
            }
            O::BrOnNull { relative_depth } => {
                let (target, _) = self.branch(relative_depth, height.saturating_sub(1), false);
                let inst = self.inst(op, pc, Context::Inside);
                self.env.br_on_null(inst, target);
            }
            O::BrOnNonNull { relative_depth } => {
                // The reference goes along: it is the label's last value.
                let (target, _) = self.branch(relative_depth, height, false);
                let inst = self.inst(op, pc, Context::Inside);
                self.env.br_on_non_null(inst, target);
            }
            O::Rethrow { relative_depth } => {
                // Lowered as `throw_ref` of the catch block's exception local.
                let index = self.ctrl.len() - 1 - relative_depth as usize;
                let local = self.ctrl[index]
                    .exn_local
                    .expect("validated: a catch block, which keeps its exception for a rethrow");
                let inst = self.inst(op, pc, Context::Inside);
                self.env.rethrow(inst, local);
                self.dead = true;
            }
            O::ReturnCall { .. }
            | O::ReturnCallIndirect { .. }
            | O::ReturnCallRef { .. }
            | O::Throw { .. }
            | O::ThrowRef => {
                // A tail call or a throw: the frame ends here (or goes on at a catch clause's
                // label), as at a `return`.
                let inst = self.inst(op, pc, Context::Inside);
                self.env.instruction(inst, op)?;
                self.dead = true;
            }
            _ => {
                let inst = self.inst(op, pc, Context::Inside);
                match self.wide_op.take() {
                    Some(WideOp::Move(mv)) => self.env.v128_move(inst, mv)?,
                    Some(WideOp::Local(op)) => self.env.instruction(inst, &op)?,
                    None => self.env.instruction(inst, op)?,
                }
            }
        }
        Ok(())
    }
}

/// In a wide function, what the environment gets for `op` instead of it, if anything: a
/// [`V128Move`], or a local access with its index as a cell offset.
fn wide_op(
    op: &Operator<'_>,
    fv: &FuncValidator<ValidatorResources>,
    local_types: &[ValType],
    local_cells: &[u32],
) -> Option<WideOp> {
    use wasmparser::WasmModuleResources;
    let is_v128 = |depth: usize| {
        matches!(
            fv.get_operand_type(depth),
            Some(Some(wasmparser::ValType::V128))
        )
    };
    let local = |i: u32| {
        let i = i as usize;
        (
            local_types.get(i) == Some(&ValType::V128),
            local_cells.get(i).copied().unwrap_or(0),
        )
    };
    let global_v128 = |g: u32| {
        fv.resources()
            .global_at(g)
            .is_some_and(|g| g.content_type == wasmparser::ValType::V128)
    };
    Some(match *op {
        Operator::LocalGet { local_index } => match local(local_index) {
            (true, c) => WideOp::Move(V128Move::LocalGet(c)),
            (false, c) => WideOp::Local(Operator::LocalGet { local_index: c }),
        },
        Operator::LocalSet { local_index } => match local(local_index) {
            (true, c) => WideOp::Move(V128Move::LocalSet(c)),
            (false, c) => WideOp::Local(Operator::LocalSet { local_index: c }),
        },
        Operator::LocalTee { local_index } => match local(local_index) {
            (true, c) => WideOp::Move(V128Move::LocalTee(c)),
            (false, c) => WideOp::Local(Operator::LocalTee { local_index: c }),
        },
        Operator::GlobalGet { global_index } if global_v128(global_index) => {
            WideOp::Move(V128Move::GlobalGet(global_index))
        }
        Operator::GlobalSet { global_index } if global_v128(global_index) => {
            WideOp::Move(V128Move::GlobalSet(global_index))
        }
        Operator::Select | Operator::TypedSelect { .. } if is_v128(1) => {
            WideOp::Move(V128Move::Select)
        }
        Operator::Drop if is_v128(0) => WideOp::Move(V128Move::Drop),
        _ => return None,
    })
}

/// The operand-stack height in cells: `v128`s count two.
fn cell_height(fv: &FuncValidator<ValidatorResources>, height: u32) -> u32 {
    (0..height as usize)
        .map(|d| match fv.get_operand_type(d) {
            Some(Some(wasmparser::ValType::V128)) => 2,
            _ => 1,
        })
        .sum()
}

/// Translates one function body into `env`, validating it on the way.
pub(crate) fn translate_function<E: FuncEnvironment>(
    fv: &mut FuncValidator<ValidatorResources>,
    body: &FunctionBody<'_>,
    ty: &FuncType,
    types: &PrimaryMap<TypeIndex, FuncType>,
    v128_in_module: bool,
    env: &mut E,
) -> WResult<Translated> {
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
    // Whether `v128`s may be about: the module's types or globals have them, a local is one,
    // or the body may hold a SIMD instruction (a 0xfd byte; a false alarm costs only the
    // slower, cell-counting translation).
    let wide = E::CELLS
        && (v128_in_module
            || local_types.contains(&ValType::V128)
            || body.as_bytes().contains(&0xfd));
    let mut local_cells = Vec::new();
    if wide {
        let mut at = 0u32;
        for t in &local_types {
            local_cells.push(at);
            at += t.cells() as u32;
        }
    }
    let declared_cells = ValType::cells_of(&local_types) as u32;
    let mut uses_v128 = v128_in_module || declared_cells as usize != local_types.len();
    let result_count = if wide {
        ValType::cells_of(ty.results())
    } else {
        ty.results().len()
    } as u32;
    let func_label = env.new_label();
    let mut t = Translator {
        env,
        types,
        ctrl: vec![Ctrl {
            kind: CtrlKind::Func,
            height: 0,
            params: 0,
            results: result_count,
            label: func_label,
            branched_to: false,
            else_label: None,
            alive_at_entry: true,
            region: None,
            exn_local: None,
        }],
        run: None,
        dead: false,
        catch_values: Vec::new(),
        num_locals: if wide {
            declared_cells
        } else {
            local_types.len() as u32
        },
        hidden_locals: 0,
        rethrown: None,
        catches_seen: 0,
        wide,
        wide_op: None,
    };
    let mut shapes = ShapeBuilder::default();
    let mut max_stack = 0u32;
    let mut reader = body.get_operators_reader()?;
    let start = reader.clone();
    while !reader.eof() {
        let (op, offset) = reader.read_with_offset()?;
        if matches!(op, Operator::Try { .. }) && t.rethrown.is_none() {
            t.rethrown = Some(rethrown_catches(start.clone())?);
        }
        let values = fv.operand_stack_height();
        let height = if wide {
            cell_height(fv, values)
        } else {
            values
        };
        let pc = offset as u32;
        let body_end = matches!(op, Operator::End) && t.ctrl.len() == 1;
        if body_end {
            // What the body returns, also when its end is reached only by branches (the
            // validator's stack is polymorphic in dead code).
            if !t.dead || t.ctrl[0].branched_to {
                shapes.scratch.clear();
                shapes.scratch.extend_from_slice(ty.results());
                shapes.record(pc);
            }
        } else if !t.dead
            && !matches!(
                op,
                Operator::Block { .. }
                    | Operator::Loop { .. }
                    | Operator::End
                    | Operator::TryTable { .. }
                    | Operator::Try { .. }
                    | Operator::Catch { .. }
                    | Operator::CatchAll
                    | Operator::Delegate { .. }
            )
        {
            shapes.scratch.clear();
            shapes
                .scratch
                .extend((0..values as usize).rev().map(|depth| {
                    fv.get_operand_type(depth)
                        .flatten()
                        .and_then(ValType::from_wasmparser)
                        .unwrap_or(ValType::I32)
                }));
            shapes.record(pc);
        }
        // A tail call to a host function returns the host's results through the frame
        // (`steps.rs`): room for them above what the validator counts.
        let tail_results = match op {
            Operator::ReturnCall { function_index } => {
                use wasmparser::WasmModuleResources;
                fv.resources()
                    .type_index_of_function(function_index)
                    .and_then(|t| types.get(TypeIndex::from_u32(t)))
                    .map_or(0, |f| ValType::cells_of(f.results()))
            }
            Operator::ReturnCallIndirect { type_index, .. }
            | Operator::ReturnCallRef { type_index } => types
                .get(TypeIndex::from_u32(type_index))
                .map_or(0, |f| ValType::cells_of(f.results())),
            _ => 0,
        } as u32;
        if let Operator::Catch { tag_index } = op {
            use wasmparser::WasmModuleResources;
            let params = fv
                .resources()
                .tag_at(tag_index)
                .map(|f| {
                    f.params()
                        .iter()
                        .map(|p| ValType::from_wasmparser(*p).unwrap_or(ValType::I32))
                        .collect()
                })
                .unwrap_or_default();
            t.catch_values = vec![params];
        }
        if let Operator::TryTable { try_table } = &op {
            use wasmparser::{Catch, WasmModuleResources};
            t.catch_values = try_table
                .catches
                .iter()
                .map(|c| {
                    let (tag, with_ref) = match *c {
                        Catch::One { tag, .. } => (Some(tag), false),
                        Catch::OneRef { tag, .. } => (Some(tag), true),
                        Catch::All { .. } => (None, false),
                        Catch::AllRef { .. } => (None, true),
                    };
                    let mut v: Vec<ValType> = tag
                        .and_then(|t| fv.resources().tag_at(t))
                        .map(|f| {
                            f.params()
                                .iter()
                                .map(|p| ValType::from_wasmparser(*p).unwrap_or(ValType::I32))
                                .collect()
                        })
                        .unwrap_or_default();
                    if with_ref {
                        v.push(ValType::ExnRef);
                    }
                    v
                })
                .collect();
        }
        if wide && !t.dead {
            t.wide_op = wide_op(&op, fv, &local_types, &local_cells);
            uses_v128 |= matches!(t.wide_op, Some(WideOp::Move(_))) || crate::simd::is_simd(&op);
        }
        fv.op(offset, &op)?;
        // In cells, a wide function's values may all be `v128`s.
        let scale = if wide { 2 } else { 1 };
        max_stack = max_stack
            .max(fv.operand_stack_height() * scale)
            .max(height + tail_results);
        t.op(&op, pc, height)?;
        t.wide_op = None;
    }
    reader.finish()?;
    local_types.extend(std::iter::repeat_n(
        ValType::ExnRef,
        t.hidden_locals as usize,
    ));
    Ok(Translated {
        local_types: local_types.into(),
        shapes: shapes.finish(),
        max_stack: max_stack + 1,
        uses_v128,
    })
}

/// Which legacy catch blocks of a body (numbered in the order their `catch` or `catch_all`
/// begins them) are the target of some `rethrow`.
fn rethrown_catches(mut reader: wasmparser::OperatorsReader<'_>) -> WResult<Vec<bool>> {
    // Per open block: the number of the catch block it is, if it is one.
    let mut open: Vec<Option<usize>> = vec![None];
    let mut rethrown = Vec::new();
    while !reader.eof() {
        match reader.read()? {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::Try { .. }
            | Operator::TryTable { .. } => open.push(None),
            Operator::Catch { .. } | Operator::CatchAll => {
                if let Some(top) = open.last_mut() {
                    *top = Some(rethrown.len());
                }
                rethrown.push(false);
            }
            Operator::Rethrow { relative_depth } => {
                let target = open
                    .len()
                    .checked_sub(1 + relative_depth as usize)
                    .and_then(|i| open[i]);
                if let Some(c) = target {
                    rethrown[c] = true;
                }
            }
            Operator::End | Operator::Delegate { .. } => {
                open.pop();
            }
            _ => {}
        }
    }
    Ok(rethrown)
}
