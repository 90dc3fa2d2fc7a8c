//! Index newtypes, value types, function types and values.

use cranelift_entity::entity_impl;
use std::fmt;

/// A function index in a module's function index space (imports first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FuncIndex(u32);
entity_impl!(FuncIndex);

/// A function index among the functions a module defines (imports excluded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DefinedFuncIndex(u32);
entity_impl!(DefinedFuncIndex);

/// A type index in a module's type section.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeIndex(u32);
entity_impl!(TypeIndex);

/// A global index in a module's global index space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GlobalIndex(u32);
entity_impl!(GlobalIndex);

/// A table index in a module's table index space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableIndex(u32);
entity_impl!(TableIndex);

/// A memory index in a module's memory index space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemoryIndex(u32);
entity_impl!(MemoryIndex);

/// An element segment index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ElemIndex(u32);
entity_impl!(ElemIndex);

/// A data segment index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DataIndex(u32);
entity_impl!(DataIndex);

/// Index of a tag in a module's tag index space (imports first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TagIndex(u32);
entity_impl!(TagIndex);

/// The type of a Wasm value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit IEEE float.
    F32,
    /// 64-bit IEEE float.
    F64,
    /// Nullable function reference.
    FuncRef,
    /// Nullable external reference.
    ExternRef,
    /// Nullable exception reference (exception handling).
    ExnRef,
    /// 128-bit vector (SIMD). It takes two cells (low half first) wherever values are cells.
    V128,
}

impl ValType {
    pub(crate) fn from_wasmparser(ty: wasmparser::ValType) -> Option<ValType> {
        Some(match ty {
            wasmparser::ValType::I32 => ValType::I32,
            wasmparser::ValType::I64 => ValType::I64,
            wasmparser::ValType::F32 => ValType::F32,
            wasmparser::ValType::F64 => ValType::F64,
            wasmparser::ValType::Ref(r) => Self::from_ref_type(r)?,
            wasmparser::ValType::V128 => ValType::V128,
        })
    }

    pub(crate) fn from_ref_type(r: wasmparser::RefType) -> Option<ValType> {
        // The validator types `ref.func` as a non-nullable reference; deja's view of
        // WebAssembly 2.0 only distinguishes the two heap types.
        if r.is_func_ref() || r.is_concrete_type_ref() {
            Some(ValType::FuncRef)
        } else if r.is_extern_ref() {
            Some(ValType::ExternRef)
        } else if matches!(
            r.heap_type(),
            wasmparser::HeapType::Abstract {
                ty: wasmparser::AbstractHeapType::Exn | wasmparser::AbstractHeapType::NoExn,
                ..
            }
        ) {
            Some(ValType::ExnRef)
        } else {
            None
        }
    }

    /// Cells a value of this type takes: 2 for `v128`, 1 for the others.
    #[inline]
    pub fn cells(self) -> usize {
        if self == ValType::V128 { 2 } else { 1 }
    }

    /// Cells the values of these types take.
    pub fn cells_of(types: &[ValType]) -> usize {
        types.iter().map(|t| t.cells()).sum()
    }

    /// Whether this is a reference type.
    pub fn is_ref(self) -> bool {
        matches!(
            self,
            ValType::FuncRef | ValType::ExternRef | ValType::ExnRef
        )
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::FuncRef => "funcref",
            ValType::ExternRef => "externref",
            ValType::ExnRef => "exnref",
            ValType::V128 => "v128",
        })
    }
}

/// A function signature.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct FuncType {
    params: Box<[ValType]>,
    results: Box<[ValType]>,
}

impl FuncType {
    /// A signature from its parameter and result types.
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> FuncType {
        FuncType {
            params: params.into_iter().collect(),
            results: results.into_iter().collect(),
        }
    }

    /// Parameter types.
    pub fn params(&self) -> &[ValType] {
        &self.params
    }

    /// Result types.
    pub fn results(&self) -> &[ValType] {
        &self.results
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |xs: &[ValType]| {
            xs.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        write!(f, "(func")?;
        if !self.params.is_empty() {
            write!(f, " (param {})", list(&self.params))?;
        }
        if !self.results.is_empty() {
            write!(f, " (result {})", list(&self.results))?;
        }
        write!(f, ")")
    }
}

/// Limits of a memory (in 64 KiB pages) or a table (in elements).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Initial size.
    pub min: u64,
    /// Maximum size, if declared.
    pub max: Option<u64>,
}

impl Limits {
    /// Import subtyping: `self` (the provided entity's current limits) matches `required`.
    pub fn matches(&self, required: &Limits) -> bool {
        if self.min < required.min {
            return false;
        }
        match (self.max, required.max) {
            (_, None) => true,
            (Some(a), Some(b)) => a <= b,
            (None, Some(_)) => false,
        }
    }
}

/// A table's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableType {
    /// Element type (`FuncRef` or `ExternRef`).
    pub element: ValType,
    /// Size limits in elements.
    pub limits: Limits,
    /// 64-bit indices (table64, of the memory64 proposal).
    pub table64: bool,
}

/// A memory's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryType {
    /// Size limits in 64 KiB pages.
    pub limits: Limits,
    /// 64-bit addresses (memory64).
    pub memory64: bool,
}

impl MemoryType {
    /// The largest size any memory of this type can have, in pages: 4 GiB for 32-bit
    /// addresses, 2^48 pages for 64-bit ones.
    pub fn max_pages(&self) -> u64 {
        if self.memory64 { 1 << 48 } else { 65536 }
    }
}

/// A global's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GlobalType {
    /// Value type.
    pub content: ValType,
    /// Whether `global.set` may change it.
    pub mutable: bool,
}

/// A function handle in a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Func(pub(crate) u32);
entity_impl!(Func);

/// A typed Wasm value as seen by embedders and the debug API.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Val {
    /// `i32`.
    I32(i32),
    /// `i64`.
    I64(i64),
    /// `f32`, as its bits (so NaN payloads survive).
    F32(u32),
    /// `f64`, as its bits.
    F64(u64),
    /// `funcref`, `None` for null.
    FuncRef(Option<Func>),
    /// `externref`: an opaque host value, `None` for null.
    ExternRef(Option<u32>),
    /// `exnref`: a caught exception ([`crate::Exn`]), `None` for null.
    ExnRef(Option<crate::Exn>),
    /// `v128`, lane 0 in the low bits.
    V128(u128),
}

impl Val {
    /// This value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::FuncRef(_) => ValType::FuncRef,
            Val::ExternRef(_) => ValType::ExternRef,
            Val::ExnRef(_) => ValType::ExnRef,
            Val::V128(_) => ValType::V128,
        }
    }

    /// The zero value (null for references) of a type.
    pub fn default_for(ty: ValType) -> Val {
        Val::from_cell(0, ty)
    }

    /// The untyped 64-bit cell the interpreter keeps this value in.
    ///
    /// References are stored as `index + 1`, with 0 meaning null, so that a zeroed cell is the
    /// default value of every type.
    pub fn to_cell(&self) -> u64 {
        match *self {
            Val::I32(v) => v as u32 as u64,
            Val::I64(v) => v as u64,
            Val::F32(v) => v as u64,
            Val::F64(v) => v,
            Val::FuncRef(f) => f.map_or(0, |f| u64::from(f.0) + 1),
            Val::ExternRef(e) => e.map_or(0, |e| u64::from(e) + 1),
            Val::ExnRef(e) => e.map_or(0, |e| u64::from(e.as_u32()) + 1),
            // The low half; [`Val::push_cells`] writes both.
            Val::V128(v) => v as u64,
        }
    }

    /// Appends this value's cells ([`ValType::cells`] of them) to `out`.
    pub fn push_cells(&self, out: &mut Vec<u64>) {
        out.push(self.to_cell());
        if let Val::V128(v) = *self {
            out.push((v >> 64) as u64);
        }
    }

    /// The cells of several values, in order.
    pub fn to_cells(vals: &[Val]) -> Vec<u64> {
        let mut out = Vec::with_capacity(vals.len());
        for v in vals {
            v.push_cells(&mut out);
        }
        out
    }

    /// Reads values of `types` from their cells, in order (missing cells read as zero).
    pub fn from_cells(cells: &[u64], types: &[ValType]) -> Vec<Val> {
        let mut at = 0;
        types
            .iter()
            .map(|t| {
                let v = Val::read_cells(cells, at, *t);
                at += t.cells();
                v
            })
            .collect()
    }

    /// Reads a value of type `ty` from the cells starting at `at` (missing cells read as zero).
    pub fn read_cells(cells: &[u64], at: usize, ty: ValType) -> Val {
        let get = |i: usize| cells.get(i).copied().unwrap_or(0);
        match ty {
            ValType::V128 => Val::V128(u128::from(get(at)) | u128::from(get(at + 1)) << 64),
            _ => Val::from_cell(get(at), ty),
        }
    }

    /// Reads a cell as a value of the given type.
    pub fn from_cell(cell: u64, ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(cell as u32 as i32),
            ValType::I64 => Val::I64(cell as i64),
            ValType::F32 => Val::F32(cell as u32),
            ValType::F64 => Val::F64(cell),
            ValType::FuncRef => Val::FuncRef(cell.checked_sub(1).map(|i| Func(i as u32))),
            ValType::ExternRef => Val::ExternRef(cell.checked_sub(1).map(|i| i as u32)),
            ValType::ExnRef => {
                Val::ExnRef(cell.checked_sub(1).map(|i| crate::Exn::from_u32(i as u32)))
            }
            // Only the low half: [`Val::read_cells`] reads both.
            ValType::V128 => Val::V128(u128::from(cell)),
        }
    }
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::I32(v) => write!(f, "{v}"),
            Val::I64(v) => write!(f, "{v}"),
            Val::F32(v) => write!(f, "{}", f32::from_bits(*v)),
            Val::F64(v) => write!(f, "{}", f64::from_bits(*v)),
            Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) => write!(f, "null"),
            Val::ExnRef(Some(e)) => write!(f, "exnref:{}", e.as_u32()),
            Val::FuncRef(Some(func)) => write!(f, "funcref:{}", func.0),
            Val::ExternRef(Some(e)) => write!(f, "externref:{e}"),
            Val::V128(v) => {
                let [a, b, c, d] = crate::simd::lanes_i32(*v);
                write!(f, "i32x4 0x{a:08x} 0x{b:08x} 0x{c:08x} 0x{d:08x}")
            }
        }
    }
}
