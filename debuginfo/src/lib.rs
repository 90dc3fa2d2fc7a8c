//! The DWARF of a WebAssembly module, for deja's front ends: which source line an instruction
//! came from, which functions (inlined ones too) a pc is in, the C variables in scope there,
//! their types, and their values in a paused frame.
//!
//! # How it works
//! clang writes DWARF into custom sections named `.debug_*`, with addresses counted from the
//! start of the code section's contents; deja's pcs are module offsets, so every lookup first
//! subtracts the code section's position. Everything is read once, with gimli, into plain
//! tables: the line table's rows sorted by address, functions with their nested scopes
//! (lexical blocks, inlined calls) and variables, global variables, and types by their DWARF
//! offset.
//!
//! A variable's location is a DWARF expression (or a list of them by pc range, in optimized
//! code) that gimli evaluates; the Wasm-specific operation `DW_OP_WASM_location` names a local,
//! a global or an operand-stack value of the frame, which the [`Frame`] a front end passes in
//! provides, with linear memory. `DW_OP_fbreg` counts from the function's frame base, itself an
//! expression (usually a Wasm local holding the C stack pointer). The result is a place: an
//! address in linear memory (`Data::Memory`) or bytes held outside it (`Data::Bytes`), which
//! values carry as they go through an expression (`*p`, `p->field`, `s.field`, `a[i]`, `&x`,
//! casts), and which `format` prints as gdb does.

#![forbid(unsafe_code)]

mod expr;
mod format;
mod session;

use gimli::{AttributeValue, DwAte, Reader as _};
use std::collections::HashMap;
use std::sync::Arc;

pub use expr::Value;
pub use session::SessionFrame;

type R = gimli::EndianArcSlice<gimli::LittleEndian>;

/// A DIE: its unit's index and its offset in that unit.
type Key = (usize, usize);

/// A Wasm value of a frame, as the [`Frame`] gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WasmValue {
    /// `i32`.
    I32(u32),
    /// `i64`.
    I64(u64),
    /// `f32`, as bits.
    F32(u32),
    /// `f64`, as bits.
    F64(u64),
}

impl WasmValue {
    fn gimli(self) -> gimli::Value {
        match self {
            WasmValue::I32(v) => gimli::Value::U32(v),
            WasmValue::I64(v) => gimli::Value::U64(v),
            WasmValue::F32(v) => gimli::Value::F32(f32::from_bits(v)),
            WasmValue::F64(v) => gimli::Value::F64(f64::from_bits(v)),
        }
    }
}

/// A paused frame, as a front end sees it through the replay session.
pub trait Frame {
    /// The module offset of the frame's instruction.
    fn pc(&self) -> u32;
    /// Local `index` (parameters first).
    fn local(&self, index: u32) -> Option<WasmValue>;
    /// Global `index` of the instance.
    fn global(&self, index: u32) -> Option<WasmValue>;
    /// Operand-stack value `index` (0 at the bottom).
    fn stack(&self, index: u32) -> Option<WasmValue>;
    /// `len` bytes of linear memory at `addr`, if they are all inside it.
    fn memory(&self, addr: u64, len: u64) -> Option<Vec<u8>>;
}

/// Where an instruction came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceLoc {
    /// The file as DWARF names it (absolute when the compiler knew its directory).
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column; 0 when unknown.
    pub column: u32,
}

impl SourceLoc {
    /// `shapes.c:41`: the file's name without its directories.
    pub fn short(&self) -> String {
        let name = self.file.rsplit('/').next().unwrap_or(&self.file);
        format!("{name}:{}", self.line)
    }
}

/// A source-level frame at a pc: a function, or a function inlined into it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFrame {
    /// The function's name.
    pub function: String,
    /// Where in it the pc is (for an outer frame of an inlined call: the call).
    pub location: Option<SourceLoc>,
    /// Whether this frame is a function inlined into the next one.
    pub inlined: bool,
}

/// A type, as read from DWARF.
#[derive(Clone, Debug)]
enum TypeKind {
    Base {
        name: String,
        size: u64,
        encoding: DwAte,
    },
    Pointer {
        to: Option<Key>,
        /// A C++ reference: `.` reaches through it.
        reference: bool,
    },
    Struct {
        keyword: &'static str,
        name: Option<String>,
        size: u64,
        members: Vec<Member>,
    },
    Array {
        elem: Option<Key>,
        counts: Vec<Option<u64>>,
        /// For more than one dimension: the array type of the remaining ones (made up by the
        /// reader, DWARF has none), what indexing gives.
        sub: Option<Key>,
    },
    Enum {
        name: Option<String>,
        size: u64,
        values: Vec<(String, i64)>,
    },
    Typedef {
        name: String,
        to: Option<Key>,
    },
    Qualified {
        qualifier: &'static str,
        to: Option<Key>,
    },
    Function,
}

#[derive(Clone, Debug)]
struct Member {
    name: Option<String>,
    offset: u64,
    ty: Option<Key>,
    /// A C++ base class subobject (`DW_TAG_inheritance`): its members are the class's too.
    base: bool,
    /// A bit field: its first bit (from the struct's start, `DW_AT_data_bit_offset`) and
    /// width.
    bits: Option<(u64, u64)>,
}

/// Where a variable lives.
#[derive(Clone, Debug)]
enum Loc {
    Expr(gimli::Expression<R>),
    /// By pc range (DWARF addresses, end exclusive).
    List(Vec<(u64, u64, gimli::Expression<R>)>),
    /// The value itself (`DW_AT_const_value`), little-endian; integers as 8 bytes.
    Const(Vec<u8>),
    None,
}

/// A variable or parameter.
#[derive(Clone, Debug)]
pub struct Variable {
    /// Its name.
    pub name: String,
    ty: Option<Key>,
    loc: Loc,
    unit: usize,
    /// Whether it is a parameter.
    pub is_param: bool,
}

#[derive(Clone, Debug, Default)]
struct Scope {
    /// DWARF address ranges, end exclusive (empty for a function's own scope: its ranges).
    ranges: Vec<(u64, u64)>,
    vars: Vec<Variable>,
    children: Vec<Scope>,
    /// For an inlined call: the inlined function's name and where it was called.
    inlined: Option<(String, Option<SourceLoc>)>,
}

#[derive(Clone, Debug)]
struct Function {
    name: String,
    ranges: Vec<(u64, u64)>,
    frame_base: Option<gimli::Expression<R>>,
    unit: usize,
    scope: Scope,
}

#[derive(Clone, Copy, Debug)]
struct Row {
    addr: u64,
    file: usize,
    line: u32,
    column: u32,
    is_stmt: bool,
    prologue_end: bool,
    end: bool,
}

/// What reading the DWARF collects, before it joins the sections in a [`DebugInfo`].
struct Builder<'a> {
    dwarf: &'a gimli::Dwarf<R>,
    units: &'a [gimli::Unit<R>],
    types: HashMap<Key, TypeKind>,
    origins: HashMap<Key, (Option<String>, Option<Key>)>,
    functions: Vec<Function>,
    globals: Vec<Variable>,
    rows: Vec<Row>,
    files: Vec<String>,
    /// The C++ namespaces and classes being read (`geo::Rect::`), prefixed to names.
    prefix: String,
}

impl Builder<'_> {
    fn name_of(&self, u: usize, entry: &gimli::DebuggingInformationEntry<R>) -> Option<String> {
        let unit = &self.units[u];
        if let Some(attr) = entry.attr_value(gimli::DW_AT_name)
            && let Ok(s) = self.dwarf.attr_string(unit, attr)
        {
            return s.to_string_lossy().ok().map(|c| c.into_owned());
        }
        None
    }

    fn ref_of(
        u: usize,
        entry: &gimli::DebuggingInformationEntry<R>,
        at: gimli::DwAt,
    ) -> Option<Key> {
        match entry.attr_value(at)? {
            AttributeValue::UnitRef(o) => Some((u, o.0)),
            _ => None,
        }
    }

    fn udata(entry: &gimli::DebuggingInformationEntry<R>, at: gimli::DwAt) -> Option<u64> {
        match entry.attr_value(at)? {
            AttributeValue::FileIndex(i) => Some(i),
            v => v.udata_value(),
        }
    }

    fn ranges(&self, u: usize, entry: &gimli::DebuggingInformationEntry<R>) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        if let Ok(mut it) = self.dwarf.die_ranges(&self.units[u], entry) {
            while let Ok(Some(r)) = it.next() {
                if r.begin < r.end {
                    out.push((r.begin, r.end));
                }
            }
        }
        out
    }

    fn location(&self, u: usize, entry: &gimli::DebuggingInformationEntry<R>) -> Loc {
        let unit = &self.units[u];
        match entry.attr_value(gimli::DW_AT_location) {
            Some(AttributeValue::Exprloc(e)) => Loc::Expr(e),
            Some(attr) => match self.dwarf.attr_locations(unit, attr) {
                Ok(Some(mut list)) => {
                    let mut entries = Vec::new();
                    while let Ok(Some(l)) = list.next() {
                        entries.push((l.range.begin, l.range.end, l.data));
                    }
                    Loc::List(entries)
                }
                _ => Loc::None,
            },
            // No location: the optimizer may have left the value itself.
            None => match entry.attr_value(gimli::DW_AT_const_value) {
                Some(AttributeValue::Block(b)) => {
                    Loc::Const(b.to_slice().map_or_else(|_| Vec::new(), |b| b.to_vec()))
                }
                Some(AttributeValue::Sdata(n)) => Loc::Const(n.to_le_bytes().to_vec()),
                Some(v) => match v.udata_value() {
                    Some(n) => Loc::Const(n.to_le_bytes().to_vec()),
                    None => Loc::None,
                },
                None => Loc::None,
            },
        }
    }

    fn file_name(&self, u: usize, index: u64) -> Option<String> {
        let unit = &self.units[u];
        let program = unit.line_program.as_ref()?;
        let header = program.header();
        let file = header.file(index)?;
        let name = self
            .dwarf
            .attr_string(unit, file.path_name())
            .ok()?
            .to_string_lossy()
            .ok()?
            .into_owned();
        if name.starts_with('/') {
            return Some(name);
        }
        let dir = file
            .directory(header)
            .and_then(|d| self.dwarf.attr_string(unit, d).ok())
            .and_then(|d| d.to_string_lossy().ok().map(|c| c.into_owned()))
            .unwrap_or_default();
        let dir = if dir.starts_with('/') || dir.is_empty() {
            dir
        } else {
            match &unit.comp_dir {
                Some(c) => format!("{}/{dir}", c.to_string_lossy().ok()?),
                None => dir,
            }
        };
        Some(if dir.is_empty() {
            name
        } else {
            format!("{dir}/{name}")
        })
    }

    fn read_unit(&mut self, u: usize) -> gimli::Result<()> {
        let unit = &self.units[u];
        let mut tree = unit.entries_tree(None)?;
        let root = tree.root()?;
        let mut children = root.children();
        while let Some(child) = children.next()? {
            self.read_top(u, child)?;
        }
        Ok(())
    }

    fn read_top(&mut self, u: usize, node: gimli::EntriesTreeNode<R>) -> gimli::Result<()> {
        let entry = node.entry().clone();
        let key = (u, entry.offset().0);
        self.note_origin(u, &entry);
        match entry.tag() {
            gimli::DW_TAG_subprogram => {
                let ranges = self.ranges(u, &entry);
                let own = self
                    .name_of(u, &entry)
                    .map(|n| format!("{}{n}", self.prefix));
                let name = own.or_else(|| {
                    Self::ref_of(u, &entry, gimli::DW_AT_abstract_origin)
                        .or_else(|| Self::ref_of(u, &entry, gimli::DW_AT_specification))
                        .and_then(|k| self.origins.get(&k).and_then(|o| o.0.clone()))
                });
                let frame_base = match entry.attr_value(gimli::DW_AT_frame_base) {
                    Some(AttributeValue::Exprloc(e)) => Some(e),
                    _ => None,
                };
                let mut scope = Scope::default();
                self.read_scope(u, node, &mut scope)?;
                if let (Some(name), false) = (name, ranges.is_empty()) {
                    self.functions.push(Function {
                        name,
                        ranges,
                        frame_base,
                        unit: u,
                        scope,
                    });
                }
            }
            gimli::DW_TAG_variable => {
                if let Some(v) = self.variable(u, &entry, false) {
                    self.globals.push(v);
                }
            }
            // C++: everything in a namespace, named with it.
            gimli::DW_TAG_namespace => {
                let name = self
                    .name_of(u, &entry)
                    .unwrap_or_else(|| "(anonymous namespace)".into());
                let inner = format!("{}{name}::", self.prefix);
                let outer = std::mem::replace(&mut self.prefix, inner);
                let mut children = node.children();
                while let Some(child) = children.next()? {
                    self.read_top(u, child)?;
                }
                self.prefix = outer;
            }
            _ => {
                self.read_type(u, &entry, key, node)?;
            }
        }
        Ok(())
    }

    fn note_origin(&mut self, u: usize, entry: &gimli::DebuggingInformationEntry<R>) {
        let name = self.name_of(u, entry);
        let ty = Self::ref_of(u, entry, gimli::DW_AT_type);
        if name.is_some() || ty.is_some() {
            self.origins.insert((u, entry.offset().0), (name, ty));
        }
    }

    fn variable(
        &self,
        u: usize,
        entry: &gimli::DebuggingInformationEntry<R>,
        is_param: bool,
    ) -> Option<Variable> {
        let origin = Self::ref_of(u, entry, gimli::DW_AT_abstract_origin)
            .and_then(|k| self.origins.get(&k).cloned());
        let name = self
            .name_of(u, entry)
            .or_else(|| origin.as_ref().and_then(|o| o.0.clone()))?;
        let ty = Self::ref_of(u, entry, gimli::DW_AT_type).or_else(|| origin.and_then(|o| o.1));
        Some(Variable {
            name,
            ty,
            loc: self.location(u, entry),
            unit: u,
            is_param,
        })
    }

    fn read_scope(
        &mut self,
        u: usize,
        node: gimli::EntriesTreeNode<R>,
        scope: &mut Scope,
    ) -> gimli::Result<()> {
        let mut children = node.children();
        while let Some(child) = children.next()? {
            let entry = child.entry().clone();
            self.note_origin(u, &entry);
            match entry.tag() {
                gimli::DW_TAG_formal_parameter | gimli::DW_TAG_variable => {
                    let param = entry.tag() == gimli::DW_TAG_formal_parameter;
                    if let Some(v) = self.variable(u, &entry, param) {
                        scope.vars.push(v);
                    }
                }
                gimli::DW_TAG_lexical_block | gimli::DW_TAG_inlined_subroutine => {
                    let mut inner = Scope {
                        ranges: self.ranges(u, &entry),
                        ..Scope::default()
                    };
                    if entry.tag() == gimli::DW_TAG_inlined_subroutine {
                        let name = Self::ref_of(u, &entry, gimli::DW_AT_abstract_origin)
                            .and_then(|k| self.origins.get(&k).and_then(|o| o.0.clone()))
                            .unwrap_or_else(|| "??".into());
                        let call = Self::udata(&entry, gimli::DW_AT_call_file)
                            .and_then(|f| self.file_name(u, f))
                            .map(|file| SourceLoc {
                                file,
                                line: Self::udata(&entry, gimli::DW_AT_call_line).unwrap_or(0)
                                    as u32,
                                column: Self::udata(&entry, gimli::DW_AT_call_column).unwrap_or(0)
                                    as u32,
                            });
                        inner.inlined = Some((name, call));
                    }
                    self.read_scope(u, child, &mut inner)?;
                    scope.children.push(inner);
                }
                _ => {
                    let key = (u, entry.offset().0);
                    self.read_type(u, &entry, key, child)?;
                }
            }
        }
        Ok(())
    }

    fn read_type(
        &mut self,
        u: usize,
        entry: &gimli::DebuggingInformationEntry<R>,
        key: Key,
        node: gimli::EntriesTreeNode<R>,
    ) -> gimli::Result<()> {
        let name = self.name_of(u, entry);
        let to = Self::ref_of(u, entry, gimli::DW_AT_type);
        let size = Self::udata(entry, gimli::DW_AT_byte_size).unwrap_or(0);
        let kind = match entry.tag() {
            gimli::DW_TAG_base_type => TypeKind::Base {
                name: name.unwrap_or_else(|| "?".into()),
                size,
                encoding: match entry.attr_value(gimli::DW_AT_encoding) {
                    Some(AttributeValue::Encoding(e)) => e,
                    _ => gimli::DW_ATE_signed,
                },
            },
            gimli::DW_TAG_pointer_type => TypeKind::Pointer {
                to,
                reference: false,
            },
            gimli::DW_TAG_reference_type | gimli::DW_TAG_rvalue_reference_type => {
                TypeKind::Pointer {
                    to,
                    reference: true,
                }
            }
            gimli::DW_TAG_structure_type | gimli::DW_TAG_union_type | gimli::DW_TAG_class_type => {
                let mut members = Vec::new();
                let class = match &name {
                    Some(n) => format!("{}{n}", self.prefix),
                    None => self.prefix.clone(),
                };
                let mut children = node.children();
                while let Some(child) = children.next()? {
                    let e = child.entry().clone();
                    match e.tag() {
                        // A C++ static data member (a declaration, older DWARF) is no part of
                        // the object.
                        gimli::DW_TAG_member
                            if e.attr_value(gimli::DW_AT_declaration).is_some() => {}
                        gimli::DW_TAG_member | gimli::DW_TAG_inheritance => {
                            let base = e.tag() == gimli::DW_TAG_inheritance;
                            let ty = Self::ref_of(u, &e, gimli::DW_AT_type);
                            members.push(Member {
                                // A base is named by its type, once every type is read.
                                name: if base { None } else { self.name_of(u, &e) },
                                offset: Self::udata(&e, gimli::DW_AT_data_member_location)
                                    .unwrap_or(0),
                                ty,
                                base,
                                bits: Self::udata(&e, gimli::DW_AT_bit_size).map(|width| {
                                    // DWARF 4 counts `DW_AT_bit_offset` from the storage
                                    // unit's most significant bit; DWARF 5 has
                                    // `DW_AT_data_bit_offset` from the struct's start.
                                    let first = Self::udata(&e, gimli::DW_AT_data_bit_offset)
                                        .or_else(|| {
                                            let from_top =
                                                Self::udata(&e, gimli::DW_AT_bit_offset)?;
                                            let unit = Self::udata(&e, gimli::DW_AT_byte_size)?;
                                            let at =
                                                Self::udata(&e, gimli::DW_AT_data_member_location)
                                                    .unwrap_or(0);
                                            (at * 8 + unit * 8).checked_sub(from_top + width)
                                        })
                                        .unwrap_or(0);
                                    (first, width)
                                }),
                            });
                        }
                        // A method's declaration: its out-of-line definition names it through
                        // `DW_AT_specification`, qualified with the class.
                        gimli::DW_TAG_subprogram => {
                            if let Some(m) = self.name_of(u, &e) {
                                self.origins.insert(
                                    (u, e.offset().0),
                                    (Some(format!("{class}::{m}")), None),
                                );
                            }
                        }
                        // Nested types.
                        _ => {
                            let key = (u, e.offset().0);
                            let outer = std::mem::replace(&mut self.prefix, format!("{class}::"));
                            self.read_type(u, &e, key, child)?;
                            self.prefix = outer;
                        }
                    }
                }
                let name = name.map(|n| format!("{}{n}", self.prefix));
                TypeKind::Struct {
                    keyword: match entry.tag() {
                        gimli::DW_TAG_union_type => "union",
                        gimli::DW_TAG_class_type => "class",
                        _ => "struct",
                    },
                    name,
                    size,
                    members,
                }
            }
            gimli::DW_TAG_array_type => {
                let mut counts = Vec::new();
                let mut children = node.children();
                while let Some(child) = children.next()? {
                    let e = child.entry();
                    if e.tag() == gimli::DW_TAG_subrange_type {
                        counts.push(
                            Self::udata(e, gimli::DW_AT_count).or_else(|| {
                                Self::udata(e, gimli::DW_AT_upper_bound).map(|b| b + 1)
                            }),
                        );
                    }
                }
                TypeKind::Array {
                    elem: to,
                    counts,
                    sub: None,
                }
            }
            gimli::DW_TAG_enumeration_type => {
                let mut values = Vec::new();
                let mut children = node.children();
                while let Some(child) = children.next()? {
                    let e = child.entry();
                    if e.tag() == gimli::DW_TAG_enumerator
                        && let Some(n) = self.name_of(u, e)
                    {
                        let v = match e.attr_value(gimli::DW_AT_const_value) {
                            Some(AttributeValue::Sdata(v)) => v,
                            Some(other) => other.udata_value().unwrap_or(0) as i64,
                            None => 0,
                        };
                        values.push((n, v));
                    }
                }
                TypeKind::Enum {
                    name: name.map(|n| format!("{}{n}", self.prefix)),
                    size,
                    values,
                }
            }
            gimli::DW_TAG_typedef => TypeKind::Typedef {
                name: format!("{}{}", self.prefix, name.unwrap_or_else(|| "?".into())),
                to,
            },
            gimli::DW_TAG_const_type => TypeKind::Qualified {
                qualifier: "const",
                to,
            },
            gimli::DW_TAG_volatile_type => TypeKind::Qualified {
                qualifier: "volatile",
                to,
            },
            gimli::DW_TAG_restrict_type | gimli::DW_TAG_atomic_type => {
                TypeKind::Qualified { qualifier: "", to }
            }
            gimli::DW_TAG_subroutine_type => TypeKind::Function,
            _ => return Ok(()),
        };
        self.types.insert(key, kind);
        Ok(())
    }

    fn read_lines(&mut self, u: usize) -> gimli::Result<()> {
        let Some(program) = self.units[u].line_program.clone() else {
            return Ok(());
        };
        let mut rows = program.rows();
        let mut file_index: HashMap<u64, usize> = HashMap::new();
        while let Some((_, row)) = rows.next_row()? {
            let file = match file_index.get(&row.file_index()) {
                Some(&f) => f,
                None => {
                    let name = self
                        .file_name(u, row.file_index())
                        .unwrap_or_else(|| "??".into());
                    let f = match self.files.iter().position(|n| *n == name) {
                        Some(f) => f,
                        None => {
                            self.files.push(name);
                            self.files.len() - 1
                        }
                    };
                    file_index.insert(row.file_index(), f);
                    f
                }
            };
            self.rows.push(Row {
                addr: row.address(),
                file,
                line: row.line().map_or(0, |l| l.get() as u32),
                column: match row.column() {
                    gimli::ColumnType::LeftEdge => 0,
                    gimli::ColumnType::Column(c) => c.get() as u32,
                },
                is_stmt: row.is_stmt(),
                prologue_end: row.prologue_end(),
                end: row.end_sequence(),
            });
        }
        Ok(())
    }
}

/// The DWARF of one module.
pub struct DebugInfo {
    units: Vec<gimli::Unit<R>>,
    dwarf: gimli::Dwarf<R>,
    code_start: u64,
    types: HashMap<Key, TypeKind>,
    functions: Vec<Function>,
    globals: Vec<Variable>,
    rows: Vec<Row>,
    files: Vec<String>,
}

/// Gives every array type of several dimensions its chain of sub-array types (`int[2][3]` ->
/// `int[3]`), under keys no DIE has, so that `a[i]` of a multi-dimensional array is an array.
fn split_arrays(types: &mut HashMap<Key, TypeKind>) {
    let multi: Vec<Key> = types
        .iter()
        .filter(|(_, t)| matches!(t, TypeKind::Array { counts, .. } if counts.len() > 1))
        .map(|(k, _)| *k)
        .collect();
    let mut next = 0;
    for key in multi {
        let Some(TypeKind::Array { elem, counts, .. }) = types.get(&key).cloned() else {
            continue;
        };
        // From the innermost dimension outward.
        let mut sub = None;
        for i in (1..counts.len()).rev() {
            let k = (usize::MAX, next);
            next += 1;
            types.insert(
                k,
                TypeKind::Array {
                    elem,
                    counts: counts[i..].to_vec(),
                    sub,
                },
            );
            sub = Some(k);
        }
        if let Some(TypeKind::Array { sub: s, .. }) = types.get_mut(&key) {
            *s = sub;
        }
    }
}

/// The variables of nested scopes (outermost first) as seen from the innermost: innermost
/// first, an outer one hidden by an inner one of the same name.
fn visible<'a>(scopes: impl IntoIterator<Item = &'a Scope>) -> Vec<&'a Variable> {
    let scopes: Vec<&Scope> = scopes.into_iter().collect();
    let mut out: Vec<&Variable> = Vec::new();
    for s in scopes.into_iter().rev() {
        for v in &s.vars {
            if !out.iter().any(|o| o.name == v.name) {
                out.push(v);
            }
        }
    }
    out
}

fn in_ranges(ranges: &[(u64, u64)], a: u64) -> bool {
    ranges.iter().any(|&(lo, hi)| lo <= a && a < hi)
}

impl DebugInfo {
    /// Reads the DWARF of `module`: `Ok(None)` when it has none.
    ///
    /// # Errors
    /// A module whose DWARF gimli cannot read.
    pub fn new(module: &[u8]) -> Result<Option<DebugInfo>, String> {
        let mut sections: HashMap<String, Vec<u8>> = HashMap::new();
        let mut code_start = None;
        for payload in wasmparser::Parser::new(0).parse_all(module) {
            match payload {
                Ok(wasmparser::Payload::CustomSection(c)) if c.name().starts_with(".debug_") => {
                    sections.insert(c.name().to_string(), c.data().to_vec());
                }
                Ok(wasmparser::Payload::CodeSectionStart {
                    unchecked_range, ..
                }) => {
                    code_start = Some(unchecked_range.start);
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        let Some(code_start) = code_start else {
            return Ok(None);
        };
        if !sections.contains_key(".debug_info") {
            return Ok(None);
        }
        let dwarf = gimli::Dwarf::load(|id| -> Result<R, gimli::Error> {
            let data = sections.get(id.name()).cloned().unwrap_or_default();
            Ok(gimli::EndianArcSlice::new(
                Arc::from(data),
                gimli::LittleEndian,
            ))
        })
        .map_err(|e| format!("DWARF: {e}"))?;
        let mut units = Vec::new();
        let mut headers = dwarf.units();
        while let Some(header) = headers.next().map_err(|e| format!("DWARF: {e}"))? {
            units.push(dwarf.unit(header).map_err(|e| format!("DWARF: {e}"))?);
        }
        let mut b = Builder {
            dwarf: &dwarf,
            units: &units,
            types: HashMap::new(),
            origins: HashMap::new(),
            functions: Vec::new(),
            globals: Vec::new(),
            rows: Vec::new(),
            files: Vec::new(),
            prefix: String::new(),
        };
        for u in 0..units.len() {
            b.read_unit(u).map_err(|e| format!("DWARF: {e}"))?;
            b.read_lines(u).map_err(|e| format!("DWARF lines: {e}"))?;
        }
        b.rows.sort_by_key(|r| (r.addr, !r.end));
        split_arrays(&mut b.types);
        let Builder {
            types,
            functions,
            globals,
            rows,
            files,
            ..
        } = b;
        let info = DebugInfo {
            types,
            functions,
            globals,
            rows,
            files,
            units,
            dwarf,
            code_start,
        };
        Ok(Some(info))
    }

    // ---- lines ----

    fn dwarf_addr(&self, pc: u32) -> Option<u64> {
        u64::from(pc).checked_sub(self.code_start)
    }

    fn row_at(&self, a: u64) -> Option<&Row> {
        let i = self.rows.partition_point(|r| r.addr <= a);
        let row = self.rows.get(i.checked_sub(1)?)?;
        (!row.end && row.line > 0).then_some(row)
    }

    fn loc_of(&self, row: &Row) -> SourceLoc {
        SourceLoc {
            file: self.files[row.file].clone(),
            line: row.line,
            column: row.column,
        }
    }

    /// The file, line and column of the instruction at module offset `pc`.
    pub fn location(&self, pc: u32) -> Option<SourceLoc> {
        Some(self.loc_of(self.row_at(self.dwarf_addr(pc)?)?))
    }

    /// Whether `pc` starts a line-table row of a statement: where a step by line stops.
    pub fn is_statement_start(&self, pc: u32) -> bool {
        let Some(a) = self.dwarf_addr(pc) else {
            return false;
        };
        let i = self.rows.partition_point(|r| r.addr < a);
        self.rows[i..]
            .iter()
            .take_while(|r| r.addr == a)
            .any(|r| r.is_stmt && !r.end && r.line > 0)
    }

    /// Whether a statement row of the line table starts at a pc in `lo..=hi` (module offsets):
    /// rows can start on instructions that take no step, before the one at `hi`.
    pub fn statement_in(&self, lo: u32, hi: u32) -> bool {
        let (Some(lo), Some(hi)) = (self.dwarf_addr(lo), self.dwarf_addr(hi)) else {
            return false;
        };
        let i = self.rows.partition_point(|r| r.addr < lo);
        self.rows[i..]
            .iter()
            .take_while(|r| r.addr <= hi)
            .any(|r| r.is_stmt && !r.end && r.line > 0)
    }

    /// The source files named by the line table.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// Whether `name` names one of the line table's files: its path, a path ending in it, or
    /// its file name.
    pub fn has_file(&self, name: &str) -> bool {
        self.files.iter().any(|f| Self::file_matches(f, name))
    }

    fn file_matches(recorded: &str, wanted: &str) -> bool {
        recorded == wanted
            || recorded.ends_with(&format!("/{wanted}"))
            || recorded.rsplit('/').next() == Some(wanted)
    }

    /// Where a breakpoint on `file:line` goes: the statements of the first line at or after
    /// `line` that has code, as gdb moves a breakpoint to the next line with code. Returns
    /// the line chosen and its pcs (module offsets), or `None`.
    pub fn line_pcs(&self, file: &str, line: u32) -> Option<(SourceLoc, Vec<u32>)> {
        let matching: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| !r.end && r.is_stmt && Self::file_matches(&self.files[r.file], file))
            .collect();
        let best = matching
            .iter()
            .map(|r| r.line)
            .filter(|&l| l >= line)
            .min()?;
        let mut pcs: Vec<u32> = Vec::new();
        let mut first = None;
        for r in matching.iter().filter(|r| r.line == best) {
            first.get_or_insert(**r);
            if let Ok(pc) = u32::try_from(r.addr + self.code_start)
                && !pcs.contains(&pc)
            {
                pcs.push(pc);
            }
        }
        // One pc per run of rows of the line: the first of each (a line split by a loop has
        // several); rows of the same line that follow one another are one run.
        pcs.sort_unstable();
        let pcs = self.first_of_runs(&pcs, best);
        Some((self.loc_of(&first?), pcs))
    }

    /// The first pc of each run of consecutive rows of `line` among `pcs`.
    fn first_of_runs(&self, pcs: &[u32], line: u32) -> Vec<u32> {
        let mut out = Vec::new();
        for &pc in pcs {
            let a = u64::from(pc) - self.code_start;
            let i = self.rows.partition_point(|r| r.addr < a);
            let previous_same = i
                .checked_sub(1)
                .and_then(|j| self.rows.get(j))
                .is_some_and(|p| !p.end && p.line == line);
            if !previous_same {
                out.push(pc);
            }
        }
        if out.is_empty() {
            out.extend(pcs.first());
        }
        out
    }

    // ---- functions ----

    fn function_at(&self, pc: u32) -> Option<&Function> {
        let a = self.dwarf_addr(pc)?;
        self.functions.iter().find(|f| in_ranges(&f.ranges, a))
    }

    /// The name of the (outermost, not inlined) function containing `pc`.
    pub fn function_name(&self, pc: u32) -> Option<&str> {
        self.function_at(pc).map(|f| f.name.as_str())
    }

    /// The source frames at `pc`, innermost first: functions inlined there, then the function
    /// that holds the code.
    pub fn frames_at(&self, pc: u32) -> Vec<SourceFrame> {
        let Some(f) = self.function_at(pc) else {
            return Vec::new();
        };
        let a = pc as u64 - self.code_start;
        // The chain of inlined calls containing the pc, outermost first.
        let mut chain: Vec<&Scope> = Vec::new();
        let mut scope = &f.scope;
        while let Some(inner) = scope.children.iter().find(|c| in_ranges(&c.ranges, a)) {
            if inner.inlined.is_some() {
                chain.push(inner);
            }
            scope = inner;
        }
        let mut frames = Vec::new();
        let mut location = self.location(pc);
        for s in chain.iter().rev() {
            let (name, call) = s.inlined.clone().expect("inlined scopes only");
            frames.push(SourceFrame {
                function: name,
                location: location.take(),
                inlined: true,
            });
            location = call;
        }
        frames.push(SourceFrame {
            function: f.name.clone(),
            location,
            inlined: false,
        });
        frames
    }

    /// Where a breakpoint on function `name` goes: after its prologue (the row marked as the
    /// prologue's end, else its second row), as gdb and LLDB place it.
    pub fn function_breakpoint(&self, name: &str) -> Option<u32> {
        let f = self.functions.iter().find(|f| f.name == name)?;
        let (lo, hi) = *f.ranges.iter().min()?;
        let rows: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| !r.end && lo <= r.addr && r.addr < hi)
            .collect();
        let a = rows
            .iter()
            .find(|r| r.prologue_end)
            .or_else(|| rows.iter().find(|r| r.addr > lo))
            .map_or(lo, |r| r.addr);
        u32::try_from(a + self.code_start).ok()
    }

    /// The functions with code, by name.
    pub fn function_names(&self) -> impl Iterator<Item = &str> {
        self.functions.iter().map(|f| f.name.as_str())
    }

    // ---- variables ----

    /// The variables visible at `pc`, innermost scope first (a name shadows the same name
    /// further out), parameters included; globals are not listed here.
    pub fn locals(&self, pc: u32) -> Vec<&Variable> {
        visible(self.scope_chain(pc).into_iter().flatten())
    }

    /// The scopes containing `pc`, outermost first, cut where an inlined call starts: the
    /// function's own, then one run per inlined call.
    fn scope_chain(&self, pc: u32) -> Vec<Vec<&Scope>> {
        let Some(f) = self.function_at(pc) else {
            return Vec::new();
        };
        let a = pc as u64 - self.code_start;
        let mut segments: Vec<Vec<&Scope>> = vec![vec![&f.scope]];
        let mut scope = &f.scope;
        while let Some(inner) = scope.children.iter().find(|c| in_ranges(&c.ranges, a)) {
            if inner.inlined.is_some() {
                segments.push(Vec::new());
            }
            segments.last_mut().expect("one at least").push(inner);
            scope = inner;
        }
        segments
    }

    /// The variables of source frame `inline` at `pc`, counted as [`DebugInfo::frames_at`]
    /// lists them (0: the innermost inlined function, the last: the function itself): each
    /// inlined function's own, in its nested scopes, and not its caller's. Innermost scope
    /// first.
    pub fn frame_locals(&self, pc: u32, inline: usize) -> Vec<&Variable> {
        let segments = self.scope_chain(pc);
        match segments.len().checked_sub(inline + 1) {
            Some(i) => visible(segments.into_iter().nth(i).unwrap_or_default()),
            None => Vec::new(),
        }
    }

    /// The global variables.
    pub fn globals(&self) -> &[Variable] {
        &self.globals
    }

    fn lookup(&self, pc: u32, name: &str) -> Option<&Variable> {
        self.locals(pc)
            .into_iter()
            .find(|v| v.name == name)
            .or_else(|| self.globals.iter().find(|v| v.name == name))
    }

    /// A variable's value in `frame`.
    ///
    /// # Errors
    /// "optimized out" when it has no location at this pc, or a message when its location
    /// cannot be evaluated.
    pub fn value(&self, var: &Variable, frame: &dyn Frame) -> Result<Value, String> {
        let data = self.place(var, frame)?;
        Ok(Value::new(var.ty, data))
    }

    fn place(&self, var: &Variable, frame: &dyn Frame) -> Result<expr::Data, String> {
        let a = self.dwarf_addr(frame.pc()).unwrap_or(0);
        let e = match &var.loc {
            Loc::Expr(e) => e.clone(),
            Loc::List(list) => list
                .iter()
                .find(|(lo, hi, _)| *lo <= a && a < *hi)
                .map(|(_, _, e)| e.clone())
                .ok_or("optimized out")?,
            Loc::Const(bytes) => return Ok(expr::Data::Bytes(bytes.clone())),
            Loc::None => return Err("optimized out".into()),
        };
        let base = || -> Result<u64, String> {
            let f = self.function_at(frame.pc()).ok_or("no function here")?;
            let fb = f.frame_base.clone().ok_or("no frame base")?;
            match self.evaluate(f.unit, fb, frame, None)? {
                expr::Data::Memory(a) => Ok(a),
                expr::Data::Bytes(b) => {
                    let mut w = [0u8; 8];
                    w[..b.len().min(8)].copy_from_slice(&b[..b.len().min(8)]);
                    Ok(u64::from_le_bytes(w))
                }
            }
        };
        self.evaluate(var.unit, e, frame, Some(&base))
    }

    fn evaluate(
        &self,
        u: usize,
        e: gimli::Expression<R>,
        frame: &dyn Frame,
        frame_base: Option<&dyn Fn() -> Result<u64, String>>,
    ) -> Result<expr::Data, String> {
        let mut eval = e.evaluation(self.units[u].encoding());
        let mut result = eval.evaluate().map_err(|e| e.to_string())?;
        loop {
            use gimli::EvaluationResult as E;
            let missing = |what: &str, i: u32| format!("{what} {i} is not available");
            result = match result {
                E::Complete => break,
                E::RequiresMemory { address, size, .. } => {
                    let b = frame
                        .memory(address, u64::from(size))
                        .ok_or_else(|| format!("cannot read memory at {address:#x}"))?;
                    let mut w = [0u8; 8];
                    w[..b.len().min(8)].copy_from_slice(&b[..b.len().min(8)]);
                    let v = match size {
                        1 => gimli::Value::U8(w[0]),
                        2 => gimli::Value::U16(u16::from_le_bytes([w[0], w[1]])),
                        4 => gimli::Value::U32(u32::from_le_bytes([w[0], w[1], w[2], w[3]])),
                        _ => gimli::Value::U64(u64::from_le_bytes(w)),
                    };
                    eval.resume_with_memory(v)
                }
                E::RequiresFrameBase => {
                    let fb = frame_base.ok_or("the frame base has no frame base")?()?;
                    eval.resume_with_frame_base(fb)
                }
                E::RequiresWasmLocal { index } => eval.resume_with_wasm_value(
                    frame.local(index).ok_or(missing("local", index))?.gimli(),
                ),
                E::RequiresWasmGlobal { index } => eval.resume_with_wasm_value(
                    frame.global(index).ok_or(missing("global", index))?.gimli(),
                ),
                E::RequiresWasmStack { index } => eval.resume_with_wasm_value(
                    frame.stack(index).ok_or(missing("operand", index))?.gimli(),
                ),
                E::RequiresRelocatedAddress(a) => eval.resume_with_relocated_address(a),
                E::RequiresIndexedAddress { index, .. } => {
                    let a = self
                        .dwarf
                        .address(&self.units[u], index)
                        .map_err(|e| e.to_string())?;
                    eval.resume_with_indexed_address(a)
                }
                other => return Err(format!("unsupported DWARF location ({other:?})")),
            }
            .map_err(|e| e.to_string())?;
        }
        let pieces = eval.result();
        let mut bytes = Vec::new();
        for piece in &pieces {
            let size = piece.size_in_bits.map(|b| (b / 8) as usize);
            match &piece.location {
                gimli::Location::Address { address } if pieces.len() == 1 => {
                    return Ok(expr::Data::Memory(*address));
                }
                gimli::Location::Address { address } => {
                    let n = size.ok_or("a piece without a size")?;
                    bytes.extend(
                        frame
                            .memory(*address, n as u64)
                            .ok_or_else(|| format!("cannot read memory at {address:#x}"))?,
                    );
                }
                gimli::Location::Value { value } => {
                    let mut b = match *value {
                        gimli::Value::Generic(v) | gimli::Value::U64(v) => v.to_le_bytes().to_vec(),
                        gimli::Value::I64(v) => v.to_le_bytes().to_vec(),
                        gimli::Value::U32(v) => v.to_le_bytes().to_vec(),
                        gimli::Value::I32(v) => v.to_le_bytes().to_vec(),
                        gimli::Value::U16(v) => v.to_le_bytes().to_vec(),
                        gimli::Value::I16(v) => v.to_le_bytes().to_vec(),
                        gimli::Value::U8(v) => vec![v],
                        gimli::Value::I8(v) => vec![v as u8],
                        gimli::Value::F32(v) => v.to_le_bytes().to_vec(),
                        gimli::Value::F64(v) => v.to_le_bytes().to_vec(),
                    };
                    if let Some(n) = size {
                        b.resize(n, 0);
                    }
                    bytes.extend(b);
                }
                gimli::Location::Bytes { value } => {
                    bytes.extend(value.to_slice().map_err(|e| e.to_string())?.iter())
                }
                // Partly or wholly without a location: shown as optimized out rather than
                // with made-up bytes.
                gimli::Location::Empty => return Err("optimized out".into()),
                _ => return Err("unsupported DWARF location".into()),
            }
        }
        if bytes.is_empty() {
            return Err("optimized out".into());
        }
        Ok(expr::Data::Bytes(bytes))
    }

    /// Evaluates a C expression in `frame`: names of variables (locals first, then globals),
    /// integer literals, `*e`, `&e`, `e.f`, `e->f`, `e[i]`, `-e` and casts to named types
    /// (`(int)e`, `(struct point *)e`).
    ///
    /// # Errors
    /// A message naming what is wrong: an unknown name, a bad operand, memory outside the
    /// guest's, "optimized out".
    pub fn eval(&self, expression: &str, frame: &dyn Frame) -> Result<Value, String> {
        expr::evaluate(self, expression, frame)
    }

    /// A value as gdb prints it (`print /x` with `hex`).
    pub fn format(&self, v: &Value, frame: &dyn Frame, hex: bool) -> String {
        format::value(self, v, frame, hex, 0)
    }

    /// A value's type as C writes it.
    pub fn type_name(&self, v: &Value) -> String {
        format::type_name(self, &v.ty)
    }

    /// Where a value lives in linear memory and how many bytes it has: what `watch EXPR`
    /// watches.
    ///
    /// # Errors
    /// A value that is not in memory (a Wasm local), or of unknown size.
    pub fn extent(&self, v: &Value) -> Result<(u64, u64), String> {
        match v.data {
            expr::Data::Memory(addr) => {
                let size = self.size_of(&v.ty);
                if size == 0 {
                    Err("its size is unknown".into())
                } else {
                    Ok((addr, size))
                }
            }
            expr::Data::Bytes(_) => Err("it is not in memory (it is kept in a Wasm local)".into()),
        }
    }

    /// What a value opens into in a tree view: a struct's named members, an array's elements
    /// (the first [`MAX_CHILDREN`]), a pointer's pointee (`*`). Strings (char arrays and
    /// pointers) and scalars have none; neither has a null or unreadable pointer.
    pub fn children(&self, v: &Value, frame: &dyn Frame) -> Vec<(String, Value)> {
        use expr::Shape;
        match self.shape(&v.ty) {
            Shape::Kind(TypeKind::Struct { members, .. }) => members
                .iter()
                .filter_map(|m| Some((self.member_label(m)?, self.member_value(v, m, frame).ok()?)))
                .collect(),
            Shape::Kind(TypeKind::Array { elem, counts, sub }) => {
                let elem = sub.or(*elem).map_or(expr::Ty::Void, expr::Ty::Dwarf);
                if format::is_char(self, &elem) {
                    return Vec::new();
                }
                let n = counts
                    .first()
                    .copied()
                    .flatten()
                    .unwrap_or(0)
                    .min(MAX_CHILDREN);
                (0..n)
                    .filter_map(|i| Some((format!("[{i}]"), self.index(v, i as i64, frame).ok()?)))
                    .collect()
            }
            Shape::PointerTo(to) => {
                let readable = self.integer(v, frame).is_ok_and(|a| {
                    a & 0xffff_ffff != 0 && frame.memory(a as u64 & 0xffff_ffff, 1).is_some()
                });
                if matches!(to, expr::Ty::Void) || format::is_char(self, &to) || !readable {
                    return Vec::new();
                }
                if matches!(self.shape(&to), Shape::Kind(TypeKind::Function)) {
                    return Vec::new();
                }
                self.deref(v, frame)
                    .map(|p| vec![("*".to_string(), p)])
                    .unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }
}

/// Elements of an array a tree view opens at most.
pub const MAX_CHILDREN: u64 = 100;
