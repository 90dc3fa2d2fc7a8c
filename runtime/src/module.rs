//! Loading a module: decoding and validation with wasmparser, translation of every function body
//! into the interpreter's ops, and the module's static description (types, imports, exports,
//! segments, names).

use crate::code::CompiledFunc;
use crate::error::{Error, Result};
use crate::interp_env::InterpEnv;
use crate::translate::{FrameShapes, translate_function};
use crate::types::{
    DataIndex, DefinedFuncIndex, ElemIndex, FuncIndex, FuncType, GlobalIndex, GlobalType, Limits,
    MemoryIndex, MemoryType, TableIndex, TableType, TagIndex, TypeIndex, ValType,
};
use cranelift_entity::{EntityRef, PrimaryMap};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use wasmparser::{Parser, Payload, Validator, WasmFeatures};

/// The proposals deja supports today: WebAssembly 2.0 (SIMD included, on the interpreter), with
/// relaxed SIMD, extended constant expressions, tail calls, typed function references,
/// multi-memory, memory64 and exception handling (exnref and the legacy encoding).
pub fn supported_features() -> WasmFeatures {
    WasmFeatures::WASM2
        .union(WasmFeatures::RELAXED_SIMD)
        .union(WasmFeatures::EXTENDED_CONST)
        .union(WasmFeatures::TAIL_CALL)
        .union(WasmFeatures::FUNCTION_REFERENCES)
        .union(WasmFeatures::MULTI_MEMORY)
        .union(WasmFeatures::MEMORY64)
        .union(WasmFeatures::EXCEPTIONS)
        .union(WasmFeatures::LEGACY_EXCEPTIONS)
}

/// Proposals that wasmparser knows and deja refuses by name.
const UNSUPPORTED_PROPOSALS: &[(&str, WasmFeatures)] = &[
    ("threads", WasmFeatures::THREADS),
    (
        "garbage collection",
        WasmFeatures::GC.union(WasmFeatures::FUNCTION_REFERENCES),
    ),
    ("wide arithmetic", WasmFeatures::WIDE_ARITHMETIC),
    ("custom page sizes", WasmFeatures::CUSTOM_PAGE_SIZES),
    ("component model", WasmFeatures::COMPONENT_MODEL),
];

/// A constant expression: one instruction (WebAssembly 2.0), or a short program of extended
/// constant expressions (3.0: `i32`/`i64` `add`, `sub`, `mul` over constants and `global.get`).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ConstExpr {
    /// One instruction.
    Leaf(ConstLeaf),
    /// A program for a stack machine; it leaves one value.
    Extended(Arc<[ConstOp]>),
}

/// One instruction of an extended constant expression. The validator has checked the types,
/// so each operator knows its operands' class.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum ConstOp {
    /// Pushes this expression's value (a constant, `ref.func`, `global.get`, ...).
    Push(ConstLeaf),
    I32Add,
    I32Sub,
    I32Mul,
    I64Add,
    I64Sub,
    I64Mul,
}

/// A single-instruction constant expression (alone, or inside an extended one).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum ConstLeaf {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    RefNull,
    RefFunc(FuncIndex),
    GlobalGet(GlobalIndex),
    V128(u128),
}

/// What an import asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum ImportType {
    /// A function of this signature.
    Func(FuncType),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
    /// A tag whose exceptions carry these parameters (a function type without results).
    Tag(FuncType),
}

impl ImportType {
    /// The kind's name, as in the text format.
    pub fn kind(&self) -> &'static str {
        match self {
            ImportType::Func(_) => "func",
            ImportType::Table(_) => "table",
            ImportType::Memory(_) => "memory",
            ImportType::Global(_) => "global",
            ImportType::Tag(_) => "tag",
        }
    }
}

/// One import of a module.
#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    /// Module name.
    pub module: String,
    /// Field name.
    pub name: String,
    /// What is imported.
    pub ty: ImportType,
}

/// The kind and index of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportKind {
    /// A function.
    Func(FuncIndex),
    /// A table.
    Table(TableIndex),
    /// A memory.
    Memory(MemoryIndex),
    /// A global.
    Global(GlobalIndex),
    /// A tag.
    Tag(TagIndex),
}

#[derive(Clone, Debug)]
pub(crate) enum ElemMode {
    Passive,
    Active {
        table: TableIndex,
        offset: ConstExpr,
    },
    Declared,
}

#[derive(Clone, Debug)]
pub(crate) struct ElemSegment {
    pub mode: ElemMode,
    pub items: Box<[ConstExpr]>,
}

#[derive(Clone, Debug)]
pub(crate) struct DataSegment {
    /// `None` for passive segments.
    pub active: Option<(MemoryIndex, ConstExpr)>,
    pub bytes: Arc<[u8]>,
}

/// Everything known about a module after loading. Shared by all its instances.
#[derive(Debug)]
pub(crate) struct ModuleInner {
    /// [`Module::throw_sites`], found on first use.
    pub throw_sites: std::sync::OnceLock<Box<[(FuncIndex, u32)]>>,
    /// `v128` values occur somewhere (types, globals, locals, SIMD instructions): the
    /// translator counts in cells where the interpreter runs the module (see
    /// `translate::V128Move`).
    pub simd: bool,
    pub bytes: Arc<[u8]>,
    pub name: Option<String>,
    pub types: PrimaryMap<TypeIndex, FuncType>,
    /// Per type, what [`FuncType`] cannot tell: the full signature when it mentions typed
    /// function references (`(ref $t)`, non-nullable references), which two signatures must
    /// share to be the same type. `None` when the [`FuncType`] says it all.
    pub type_keys: Vec<Option<Arc<str>>>,
    pub imports: Vec<Import>,
    pub funcs: PrimaryMap<FuncIndex, TypeIndex>,
    pub num_imported_funcs: u32,
    pub tables: PrimaryMap<TableIndex, TableType>,
    pub num_imported_tables: u32,
    /// Initializers of the defined tables (typed function references), in order; `None`
    /// fills with null.
    pub table_inits: Vec<Option<ConstExpr>>,
    /// Per table (imports first), its element type when [`TableType`] does not say it all.
    pub table_refs: Vec<Option<RefDesc>>,
    /// Per global (imports first), its type when [`GlobalType`] does not say it all.
    pub global_refs: Vec<Option<RefDesc>>,
    pub memories: PrimaryMap<MemoryIndex, MemoryType>,
    pub num_imported_memories: u32,
    pub globals: PrimaryMap<GlobalIndex, GlobalType>,
    pub num_imported_globals: u32,
    /// Per tag (imports first), its type.
    pub tags: PrimaryMap<TagIndex, TypeIndex>,
    pub num_imported_tags: u32,
    /// Initializers of the defined globals, in order.
    pub global_inits: Vec<ConstExpr>,
    pub exports: Vec<(String, ExportKind)>,
    pub start: Option<FuncIndex>,
    pub elems: PrimaryMap<ElemIndex, ElemSegment>,
    pub datas: PrimaryMap<DataIndex, DataSegment>,
    pub code: PrimaryMap<DefinedFuncIndex, CompiledFunc>,
    /// Types of every local (parameters first) of each defined function.
    pub local_types: PrimaryMap<DefinedFuncIndex, Box<[ValType]>>,
    /// Operand-stack types at every instruction of each defined function.
    pub shapes: PrimaryMap<DefinedFuncIndex, FrameShapes>,
    pub func_names: HashMap<FuncIndex, String>,
    /// JIT code, compiled on first use, per NaN canonicalization, signals-based traps and
    /// watchpoint checks (`jit::compile::code_for`).
    pub jit: [std::sync::OnceLock<std::result::Result<Arc<crate::jit::JitCode>, String>>; 8],
}

/// A validated, translated WebAssembly module. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
}

impl Module {
    /// Loads a module from WebAssembly binary or text.
    ///
    /// # Errors
    /// [`Error::Syntax`] for text that does not parse, [`Error::Malformed`] for a binary that does
    /// not decode, [`Error::Invalid`] with the validator's message and offset, and
    /// [`Error::Unsupported`] naming the proposal for modules that need one deja lacks.
    pub fn new(bytes: &[u8]) -> Result<Module> {
        let binary = wat::parse_bytes(bytes).map_err(|e| Error::Syntax(e.to_string()))?;
        Self::from_binary(&binary)
    }

    /// Loads a module from a `.wasm` or `.wat` file.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be read, then as [`Module::new`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Module> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let binary = wat::parse_bytes(&bytes).map_err(|mut e| {
            e.set_path(path);
            Error::Syntax(e.to_string())
        })?;
        Self::from_binary(&binary)
    }

    /// Loads a module from a WebAssembly binary.
    ///
    /// # Errors
    /// As [`Module::new`], except that text is not accepted.
    pub fn from_binary(bytes: &[u8]) -> Result<Module> {
        Self::from_binary_with(bytes, true)
    }

    /// As [`Module::from_binary`]; `fuse` selects whether the interpreter's code gets fused
    /// headers (see `fuse.rs`). Execution is identical either way; tests compare the two.
    pub(crate) fn from_binary_with(bytes: &[u8], fuse: bool) -> Result<Module> {
        let mut validator = Validator::new_with_features(supported_features());
        // Validate the whole module first so that the error class (unsupported proposal,
        // malformed, invalid) is decided before any translation.
        if let Err(e) = validator.validate_all(bytes) {
            return Err(classify_error(bytes, e));
        }
        let inner = parse(bytes, fuse)?;
        Ok(Module {
            inner: Arc::new(inner),
        })
    }

    /// The module's binary.
    pub fn bytes(&self) -> &[u8] {
        &self.inner.bytes
    }

    /// The module's name from its name section.
    pub fn name(&self) -> Option<&str> {
        self.inner.name.as_deref()
    }

    /// The module's imports, in order.
    pub fn imports(&self) -> &[Import] {
        &self.inner.imports
    }

    /// The module's exports, in order.
    pub fn exports(&self) -> impl Iterator<Item = (&str, ExportKind)> {
        self.inner.exports.iter().map(|(n, k)| (n.as_str(), *k))
    }

    /// The signature of a function in the module's function index space.
    pub fn func_type(&self, func: FuncIndex) -> Option<&FuncType> {
        self.inner.funcs.get(func).map(|t| &self.inner.types[*t])
    }

    /// The name of a function from the name section.
    pub fn func_name(&self, func: FuncIndex) -> Option<&str> {
        self.inner.func_names.get(&func).map(String::as_str)
    }

    /// Looks a function up by its name-section name or by an export name.
    pub fn func_by_name(&self, name: &str) -> Option<FuncIndex> {
        self.inner
            .func_names
            .iter()
            .filter(|(_, n)| n.as_str() == name)
            .map(|(i, _)| *i)
            .min()
            .or_else(|| {
                self.inner.exports.iter().find_map(|(n, k)| match k {
                    ExportKind::Func(f) if n == name => Some(*f),
                    _ => None,
                })
            })
    }

    /// Number of functions, imports included.
    pub fn num_funcs(&self) -> u32 {
        self.inner.funcs.len() as u32
    }

    /// Number of imported functions.
    pub fn num_imported_funcs(&self) -> u32 {
        self.inner.num_imported_funcs
    }

    /// The defined-function index of a function, `None` for an imported one.
    pub fn defined_func_index(&self, func: FuncIndex) -> Option<DefinedFuncIndex> {
        func.as_u32()
            .checked_sub(self.inner.num_imported_funcs)
            .map(DefinedFuncIndex::from_u32)
            .filter(|d| d.index() < self.inner.code.len())
    }

    /// The module-relative byte offsets of the instructions of a defined function at which
    /// execution can stop (every step), in order. These are the valid breakpoint locations.
    pub fn instruction_pcs(&self, func: FuncIndex) -> Vec<u32> {
        let Some(def) = self.defined_func_index(func) else {
            return Vec::new();
        };
        let code = &self.inner.code[def];
        code.ops
            .iter()
            .zip(code.pcs.iter())
            .filter(|(op, _)| op.is_step())
            .map(|(_, pc)| *pc)
            .collect()
    }

    /// Every instruction that throws an exception (`throw`, `throw_ref`, `rethrow`), as
    /// (function, pc), sorted: where gdb's `catch throw` stops. Found once per module.
    pub fn throw_sites(&self) -> &[(FuncIndex, u32)] {
        self.inner.throw_sites.get_or_init(|| {
            let mut sites = Vec::new();
            for (def, code) in self.inner.code.iter() {
                let func = FuncIndex::from_u32(self.inner.num_imported_funcs + def.as_u32());
                for (op, pc) in code.ops.iter().zip(code.pcs.iter()) {
                    if matches!(
                        op,
                        crate::code::Op::Throw(_)
                            | crate::code::Op::ThrowRef
                            | crate::code::Op::Rethrow(_)
                    ) {
                        sites.push((func, *pc));
                    }
                }
            }
            sites.sort_unstable();
            sites.dedup();
            sites.into()
        })
    }

    /// `func`'s instruction at `pc` throws (see [`Module::throw_sites`]).
    pub fn is_throw_site(&self, func: FuncIndex, pc: u32) -> bool {
        self.throw_sites().binary_search(&(func, pc)).is_ok()
    }

    /// The types of the operand stack of `func` just before the instruction at `pc` executes,
    /// bottom first (from the frame shapes computed at translation).
    pub fn operand_types_at(&self, func: FuncIndex, pc: u32) -> Option<Vec<ValType>> {
        let def = self.defined_func_index(func)?;
        self.inner.shapes[def].stack_at(pc).map(<[ValType]>::to_vec)
    }

    /// The types of the locals (parameters first) of a defined function.
    pub fn local_types(&self, func: FuncIndex) -> Option<&[ValType]> {
        let def = self.defined_func_index(func)?;
        Some(&self.inner.local_types[def])
    }

    pub(crate) fn ptr_id(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
    }
}

/// Decides what a validation failure means: a proposal deja lacks, a binary that does not even
/// decode, or an invalid module.
fn classify_error(bytes: &[u8], e: wasmparser::BinaryReaderError) -> Error {
    let offset = e.offset();
    let message = e.message().to_string();
    if let Some(missing) = e.missing_wasm_feature()
        && let Some((proposal, _)) = UNSUPPORTED_PROPOSALS
            .iter()
            .find(|(_, f)| f.intersects(missing))
    {
        return Error::Unsupported { proposal, offset };
    }
    for (proposal, feature) in UNSUPPORTED_PROPOSALS {
        let mut v = Validator::new_with_features(supported_features().union(*feature));
        let passes_further = match v.validate_all(bytes) {
            Ok(_) => true,
            Err(e2) => e2.offset() > offset,
        };
        if passes_further {
            return Error::Unsupported { proposal, offset };
        }
    }
    if decodes(bytes) {
        Error::Invalid { message, offset }
    } else {
        Error::Malformed { message, offset }
    }
}

/// Whether the binary decodes at all, validation aside: every section item and every operator.
fn decodes(bytes: &[u8]) -> bool {
    fn all<T>(it: impl IntoIterator<Item = wasmparser::Result<T>>) -> wasmparser::Result<()> {
        for x in it {
            x?;
        }
        Ok(())
    }
    let check = || -> wasmparser::Result<()> {
        for payload in Parser::new(0).parse_all(bytes) {
            match payload? {
                Payload::TypeSection(r) => all(r)?,
                Payload::ImportSection(r) => all(r.into_imports())?,
                Payload::FunctionSection(r) => all(r)?,
                Payload::TableSection(r) => all(r)?,
                Payload::MemorySection(r) => all(r)?,
                Payload::GlobalSection(r) => all(r)?,
                Payload::ExportSection(r) => all(r)?,
                Payload::ElementSection(r) => all(r)?,
                Payload::DataSection(r) => all(r)?,
                Payload::CodeSectionEntry(body) => {
                    all(body.get_locals_reader()?)?;
                    let mut ops = body.get_operators_reader()?;
                    while !ops.eof() {
                        ops.read()?;
                    }
                    ops.finish()?;
                }
                _ => {}
            }
        }
        Ok(())
    };
    check().is_ok()
}

fn limits(min: u64, max: Option<u64>) -> Limits {
    Limits { min, max }
}

fn val_type(ty: wasmparser::ValType) -> Result<ValType> {
    ValType::from_wasmparser(ty).ok_or_else(|| Error::Invalid {
        message: "value type not supported by deja".to_string(),
        offset: 0,
    })
}

/// A reference type as typed function references have it, for import matching where
/// [`ValType`] is too coarse (it has only `funcref` and `externref`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct RefDesc {
    pub nullable: bool,
    pub heap: Heap,
}

/// A [`RefDesc`]'s heap type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Heap {
    Func,
    Extern,
    /// A function type, by its whole signature (see [`signature_key`]).
    Concrete(Arc<str>),
}

impl RefDesc {
    /// The reference type `ValType` means: `funcref` or `externref`, nullable.
    pub fn plain(ty: ValType) -> RefDesc {
        RefDesc {
            nullable: true,
            heap: if ty == ValType::ExternRef {
                Heap::Extern
            } else {
                Heap::Func
            },
        }
    }

    /// Whether a value of this type is also of type `other`.
    pub fn is_subtype_of(&self, other: &RefDesc) -> bool {
        (other.nullable || !self.nullable)
            && match (&self.heap, &other.heap) {
                (Heap::Concrete(_), Heap::Func) => true,
                (a, b) => a == b,
            }
    }

    fn of(r: wasmparser::RefType, signatures: &[Arc<str>]) -> RefDesc {
        let heap = match r.type_index().and_then(|i| i.as_module_index()) {
            Some(i) => Heap::Concrete(
                signatures
                    .get(i as usize)
                    .cloned()
                    .unwrap_or_else(|| format!("type{i}").into()),
            ),
            None if r.is_extern_ref() => Heap::Extern,
            None => Heap::Func,
        };
        RefDesc {
            nullable: r.is_nullable(),
            heap,
        }
    }

    /// The precise type of `ty` when [`ValType`] does not say it all.
    fn precise(ty: wasmparser::ValType, signatures: &[Arc<str>]) -> Option<RefDesc> {
        let wasmparser::ValType::Ref(r) = ty else {
            return None;
        };
        let d = RefDesc::of(r, signatures);
        let plain = d.nullable && matches!(d.heap, Heap::Func | Heap::Extern);
        (!plain).then_some(d)
    }
}

impl std::fmt::Display for RefDesc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let null = if self.nullable { "null " } else { "" };
        match &self.heap {
            Heap::Func => write!(f, "(ref {null}func)"),
            Heap::Extern => write!(f, "(ref {null}extern)"),
            Heap::Concrete(k) => write!(f, "(ref {null}{k})"),
        }
    }
}

/// The whole signature of a function type, each concrete reference spelled out through
/// `earlier` (the signatures of the types before it), so that equal signatures mean the same
/// type in any module (see [`ModuleInner::type_keys`]). Also says whether it mentions a
/// concrete or non-nullable reference, which [`FuncType`] cannot tell.
fn signature_key(f: &wasmparser::FuncType, earlier: &[Arc<str>]) -> (Arc<str>, bool) {
    use std::fmt::Write;
    let mut typed = false;
    let mut key = String::from("(func");
    for (kind, list) in [("param", f.params()), ("result", f.results())] {
        for t in list {
            let _ = write!(key, " ({kind} ");
            match t {
                wasmparser::ValType::Ref(r) => {
                    typed |= r.is_concrete_type_ref() || !r.is_nullable();
                    key.push_str(if r.is_nullable() {
                        "(ref null "
                    } else {
                        "(ref "
                    });
                    match r.type_index().and_then(|i| i.as_module_index()) {
                        Some(i) => match earlier.get(i as usize) {
                            Some(k) => key.push_str(k),
                            // The type itself or a later one (a recursive group): by its
                            // distance.
                            None => {
                                let _ = write!(key, "rec{}", i as usize - earlier.len());
                            }
                        },
                        None => {
                            let _ = write!(key, "{:?}", r.heap_type());
                        }
                    }
                    key.push(')');
                }
                other => {
                    let _ = write!(key, "{other}");
                }
            }
            key.push(')');
        }
    }
    key.push(')');
    (key.into(), typed)
}

fn table_type(t: &wasmparser::TableType) -> Result<TableType> {
    let element = ValType::from_ref_type(t.element_type).ok_or_else(|| Error::Invalid {
        message: "table element type not supported by deja".to_string(),
        offset: 0,
    })?;
    Ok(TableType {
        element,
        limits: limits(t.initial, t.maximum),
        table64: t.table64,
    })
}

pub(crate) fn const_expr(expr: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr> {
    use wasmparser::Operator as O;
    let mut reader = expr.get_operators_reader();
    let mut ops = Vec::new();
    loop {
        let (op, offset) = reader.read_with_offset()?;
        ops.push(match op {
            O::End => break,
            O::I32Const { value } => ConstOp::Push(ConstLeaf::I32(value)),
            O::I64Const { value } => ConstOp::Push(ConstLeaf::I64(value)),
            O::F32Const { value } => ConstOp::Push(ConstLeaf::F32(value.bits())),
            O::F64Const { value } => ConstOp::Push(ConstLeaf::F64(value.bits())),
            O::RefNull { .. } => ConstOp::Push(ConstLeaf::RefNull),
            O::V128Const { value } => {
                ConstOp::Push(ConstLeaf::V128(u128::from_le_bytes(*value.bytes())))
            }
            O::RefFunc { function_index } => {
                ConstOp::Push(ConstLeaf::RefFunc(FuncIndex::from_u32(function_index)))
            }
            O::GlobalGet { global_index } => {
                ConstOp::Push(ConstLeaf::GlobalGet(GlobalIndex::from_u32(global_index)))
            }
            O::I32Add => ConstOp::I32Add,
            O::I32Sub => ConstOp::I32Sub,
            O::I32Mul => ConstOp::I32Mul,
            O::I64Add => ConstOp::I64Add,
            O::I64Sub => ConstOp::I64Sub,
            O::I64Mul => ConstOp::I64Mul,
            _ => {
                return Err(Error::Invalid {
                    message: "constant expression not supported by deja".to_string(),
                    offset,
                });
            }
        });
    }
    Ok(match ops.as_slice() {
        [ConstOp::Push(leaf)] => ConstExpr::Leaf(*leaf),
        _ => ConstExpr::Extended(ops.into()),
    })
}

/// A function body with its validator input.
type Body<'a> = (
    wasmparser::FuncToValidate<wasmparser::ValidatorResources>,
    wasmparser::FunctionBody<'a>,
);

/// What translating one body gives.
type TranslatedBody = (CompiledFunc, Box<[ValType]>, FrameShapes, bool);

/// Code sections with fewer bodies are translated on the loading thread alone.
const PARALLEL_MIN_BODIES: usize = 32;

/// Translates the code section's bodies (validating them) for the interpreter and appends
/// them to `m`'s functions in order. Big sections are shared out between up to four threads,
/// each taking the next body in turn; the result is the same as one thread's, including
/// which error is reported (the first body's in order).
fn translate_bodies(
    m: &mut ModuleInner,
    bodies: Vec<Body<'_>>,
    memory64: &Arc<[bool]>,
    v128: bool,
    fuse: bool,
) -> Result<()> {
    let first = m.code.len() as u32;
    let one = |i: usize,
               (func, body): Body<'_>,
               allocs: &mut wasmparser::FuncValidatorAllocations|
     -> Result<TranslatedBody> {
        let func_index = FuncIndex::from_u32(m.num_imported_funcs + first + i as u32);
        let ty = &m.types[m.funcs[func_index]];
        let mut fv = func.into_validator(std::mem::take(allocs));
        let mut env = InterpEnv::new(memory64.clone());
        let translated = translate_function(&mut fv, &body, ty, &m.types, v128, &mut env)?;
        let mut compiled = env.finish(
            ValType::cells_of(&translated.local_types) as u32,
            ValType::cells_of(ty.params()) as u32,
            ValType::cells_of(ty.results()) as u32,
            translated.max_stack,
        );
        if fuse {
            crate::fuse::fuse(&mut compiled);
        }
        *allocs = fv.into_allocations();
        Ok((
            compiled,
            translated.local_types,
            translated.shapes,
            translated.uses_v128,
        ))
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    let n = bodies.len();
    let results: Vec<Result<TranslatedBody>> = if threads < 2 || n < PARALLEL_MIN_BODIES {
        let mut allocs = Default::default();
        bodies
            .into_iter()
            .enumerate()
            .map(|(i, b)| one(i, b, &mut allocs))
            .collect()
    } else {
        let queue = std::sync::Mutex::new(bodies.into_iter().enumerate());
        let work = || {
            let mut allocs = Default::default();
            let mut done = Vec::new();
            loop {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                let Some((i, b)) = next else { break done };
                done.push((i, one(i, b, &mut allocs)));
            }
        };
        let mut slots: Vec<Option<Result<TranslatedBody>>> = (0..n).map(|_| None).collect();
        std::thread::scope(|s| {
            let helpers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
            let mut all = work();
            for h in helpers {
                match h.join() {
                    Ok(done) => all.extend(done),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            for (i, r) in all {
                slots[i] = Some(r);
            }
        });
        slots
            .into_iter()
            .map(|r| r.expect("every body is taken once"))
            .collect()
    };
    for r in results {
        let (compiled, local_types, shapes, uses_v128) = r?;
        m.simd |= uses_v128;
        m.code.push(compiled);
        m.local_types.push(local_types);
        m.shapes.push(shapes);
    }
    Ok(())
}

fn parse(bytes: &[u8], fuse: bool) -> Result<ModuleInner> {
    let mut m = ModuleInner {
        bytes: bytes.into(),
        name: None,
        types: PrimaryMap::new(),
        type_keys: Vec::new(),
        imports: Vec::new(),
        funcs: PrimaryMap::new(),
        num_imported_funcs: 0,
        tables: PrimaryMap::new(),
        num_imported_tables: 0,
        table_inits: Vec::new(),
        table_refs: Vec::new(),
        global_refs: Vec::new(),
        memories: PrimaryMap::new(),
        num_imported_memories: 0,
        globals: PrimaryMap::new(),
        num_imported_globals: 0,
        tags: PrimaryMap::new(),
        num_imported_tags: 0,
        global_inits: Vec::new(),
        exports: Vec::new(),
        start: None,
        elems: PrimaryMap::new(),
        datas: PrimaryMap::new(),
        code: PrimaryMap::new(),
        local_types: PrimaryMap::new(),
        shapes: PrimaryMap::new(),
        func_names: HashMap::new(),
        jit: Default::default(),
        throw_sites: std::sync::OnceLock::new(),
        simd: false,
    };
    // Whether the module's types or globals have `v128`s: known once the code section begins.
    let mut v128_in_module: Option<bool> = None;
    // A second validator drives translation: it hands out one function validator per body,
    // whose operand-stack view gives the translator exact stack heights.
    let mut validator = Validator::new_with_features(supported_features());
    let mut signatures: Vec<Arc<str>> = Vec::new();
    // Per memory, whether it is 64-bit: known once the code section begins.
    let mut memory64: Option<Arc<[bool]>> = None;
    // The code section's bodies, translated together when it ends (see `translate_bodies`).
    let mut bodies = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        // Errors come in the order of the bytes: a body's before anything after it.
        let valid = payload.and_then(|p| validator.payload(&p).map(|v| (p, v)));
        if !bodies.is_empty() && !matches!(valid, Ok((Payload::CodeSectionEntry(_), _))) {
            let memory64 = memory64.clone().expect("set with the first body");
            let v128 = v128_in_module.expect("set with the first body");
            translate_bodies(&mut m, std::mem::take(&mut bodies), &memory64, v128, fuse)?;
        }
        let (payload, valid) = valid?;
        match payload {
            Payload::TypeSection(r) => {
                for group in r {
                    for sub in group?.into_types() {
                        let f = sub.unwrap_func();
                        let (key, typed) = signature_key(f, &signatures);
                        m.type_keys.push(typed.then(|| key.clone()));
                        signatures.push(key);
                        let params = f.params().iter().map(|t| val_type(*t));
                        let results = f.results().iter().map(|t| val_type(*t));
                        m.types.push(FuncType::new(
                            params.collect::<Result<Vec<_>>>()?,
                            results.collect::<Result<Vec<_>>>()?,
                        ));
                    }
                }
            }
            Payload::ImportSection(r) => {
                for import in r.into_imports() {
                    let import = import?;
                    let ty = match import.ty {
                        wasmparser::TypeRef::Func(t) | wasmparser::TypeRef::FuncExact(t) => {
                            let t = TypeIndex::from_u32(t);
                            m.funcs.push(t);
                            m.num_imported_funcs += 1;
                            ImportType::Func(m.types[t].clone())
                        }
                        wasmparser::TypeRef::Table(t) => {
                            m.table_refs.push(RefDesc::precise(
                                wasmparser::ValType::Ref(t.element_type),
                                &signatures,
                            ));
                            let t = table_type(&t)?;
                            m.tables.push(t);
                            m.num_imported_tables += 1;
                            ImportType::Table(t)
                        }
                        wasmparser::TypeRef::Memory(t) => {
                            let t = MemoryType {
                                limits: limits(t.initial, t.maximum),
                                memory64: t.memory64,
                            };
                            m.memories.push(t);
                            m.num_imported_memories += 1;
                            ImportType::Memory(t)
                        }
                        wasmparser::TypeRef::Global(g) => {
                            m.global_refs
                                .push(RefDesc::precise(g.content_type, &signatures));
                            let t = GlobalType {
                                content: val_type(g.content_type)?,
                                mutable: g.mutable,
                            };
                            m.globals.push(t);
                            m.num_imported_globals += 1;
                            ImportType::Global(t)
                        }
                        wasmparser::TypeRef::Tag(t) => {
                            let t = TypeIndex::from_u32(t.func_type_idx);
                            m.tags.push(t);
                            m.num_imported_tags += 1;
                            ImportType::Tag(m.types[t].clone())
                        }
                    };
                    m.imports.push(Import {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        ty,
                    });
                }
            }
            Payload::FunctionSection(r) => {
                for t in r {
                    m.funcs.push(TypeIndex::from_u32(t?));
                }
            }
            Payload::TableSection(r) => {
                for t in r {
                    let t = t?;
                    m.table_inits.push(match &t.init {
                        wasmparser::TableInit::RefNull => None,
                        wasmparser::TableInit::Expr(e) => Some(const_expr(e)?),
                    });
                    m.table_refs.push(RefDesc::precise(
                        wasmparser::ValType::Ref(t.ty.element_type),
                        &signatures,
                    ));
                    m.tables.push(table_type(&t.ty)?);
                }
            }
            Payload::MemorySection(r) => {
                for t in r {
                    let t = t?;
                    m.memories.push(MemoryType {
                        limits: limits(t.initial, t.maximum),
                        memory64: t.memory64,
                    });
                }
            }
            Payload::GlobalSection(r) => {
                for g in r {
                    let g = g?;
                    m.global_refs
                        .push(RefDesc::precise(g.ty.content_type, &signatures));
                    m.globals.push(GlobalType {
                        content: val_type(g.ty.content_type)?,
                        mutable: g.ty.mutable,
                    });
                    m.global_inits.push(const_expr(&g.init_expr)?);
                }
            }
            Payload::ExportSection(r) => {
                for e in r {
                    let e = e?;
                    let kind = match e.kind {
                        wasmparser::ExternalKind::Func | wasmparser::ExternalKind::FuncExact => {
                            ExportKind::Func(FuncIndex::from_u32(e.index))
                        }
                        wasmparser::ExternalKind::Table => {
                            ExportKind::Table(TableIndex::from_u32(e.index))
                        }
                        wasmparser::ExternalKind::Memory => {
                            ExportKind::Memory(MemoryIndex::from_u32(e.index))
                        }
                        wasmparser::ExternalKind::Global => {
                            ExportKind::Global(GlobalIndex::from_u32(e.index))
                        }
                        wasmparser::ExternalKind::Tag => {
                            ExportKind::Tag(TagIndex::from_u32(e.index))
                        }
                    };
                    m.exports.push((e.name.to_string(), kind));
                }
            }
            Payload::TagSection(r) => {
                for t in r {
                    m.tags.push(TypeIndex::from_u32(t?.func_type_idx));
                }
            }
            Payload::StartSection { func, .. } => m.start = Some(FuncIndex::from_u32(func)),
            Payload::ElementSection(r) => {
                for e in r {
                    let e = e?;
                    let mode = match e.kind {
                        wasmparser::ElementKind::Passive => ElemMode::Passive,
                        wasmparser::ElementKind::Declared => ElemMode::Declared,
                        wasmparser::ElementKind::Active {
                            table_index,
                            offset_expr,
                        } => ElemMode::Active {
                            table: TableIndex::from_u32(table_index.unwrap_or(0)),
                            offset: const_expr(&offset_expr)?,
                        },
                    };
                    let mut items = Vec::new();
                    match e.items {
                        wasmparser::ElementItems::Functions(r) => {
                            for f in r {
                                items.push(ConstExpr::Leaf(ConstLeaf::RefFunc(
                                    FuncIndex::from_u32(f?),
                                )));
                            }
                        }
                        wasmparser::ElementItems::Expressions(_, r) => {
                            for x in r {
                                items.push(const_expr(&x?)?);
                            }
                        }
                    }
                    m.elems.push(ElemSegment {
                        mode,
                        items: items.into(),
                    });
                }
            }
            Payload::DataSection(r) => {
                for d in r {
                    let d = d?;
                    let active = match d.kind {
                        wasmparser::DataKind::Passive => None,
                        wasmparser::DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => Some((
                            MemoryIndex::from_u32(memory_index),
                            const_expr(&offset_expr)?,
                        )),
                    };
                    m.datas.push(DataSegment {
                        active,
                        bytes: d.data.into(),
                    });
                }
            }
            Payload::CodeSectionEntry(body) => {
                let wasmparser::ValidPayload::Func(func, body2) = valid else {
                    unreachable!("the validator hands out every code section entry");
                };
                debug_assert_eq!(body.range(), body2.range());
                memory64.get_or_insert_with(|| m.memories.values().map(|t| t.memory64).collect());
                v128_in_module.get_or_insert_with(|| {
                    let v = |ts: &[ValType]| ts.contains(&ValType::V128);
                    m.types.values().any(|f| v(f.params()) || v(f.results()))
                        || m.globals.values().any(|g| g.content == ValType::V128)
                });
                bodies.push((func, body));
            }
            Payload::CustomSection(c) => {
                if let wasmparser::KnownCustom::Name(names) = c.as_known() {
                    // A damaged name section only costs us names, never the module.
                    for name in names.into_iter().flatten() {
                        match name {
                            wasmparser::Name::Module { name, .. } => {
                                m.name = Some(name.to_string())
                            }
                            wasmparser::Name::Function(map) => {
                                for naming in map.into_iter().flatten() {
                                    m.func_names.insert(
                                        FuncIndex::from_u32(naming.index),
                                        naming.name.to_string(),
                                    );
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
    // The parser ends every module with `Payload::End`, which flushes the bodies above.
    debug_assert!(bodies.is_empty(), "every body is translated");
    Ok(m)
}
