//! Instantiation: resolving imports with the [`Linker`], allocating the module's entities in the
//! store, initializing tables and memories from active segments, and running the start function.

use crate::error::{Error, Result};
use crate::host::{Caller, HostError, HostFunc};
use crate::memory::MemoryInstance;
use crate::module::RefDesc;
use crate::module::{ConstExpr, ConstLeaf, ConstOp, ElemMode, ExportKind, ImportType, Module};
use crate::store::{
    Extern, FuncData, FuncKind, Global, GlobalInstance, Instance, InstanceData, Memory,
    SegmentState, Store, StoreInner, TableInstance,
};
use crate::trap::{Trap, TrapCode};
use crate::types::{DefinedFuncIndex, Func, FuncType, Val};
use cranelift_entity::EntityRef;
use std::collections::HashMap;
use std::sync::Arc;

enum Definition<T> {
    Extern(Extern),
    Host(HostFunc<T>),
}

/// Names host functions and other instances' exports so that modules can import them.
pub struct Linker<T> {
    defs: HashMap<(String, String), Definition<T>>,
}

impl<T> Default for Linker<T> {
    fn default() -> Self {
        Linker {
            defs: HashMap::new(),
        }
    }
}

impl<T> Linker<T> {
    /// An empty linker.
    pub fn new() -> Linker<T> {
        Linker::default()
    }

    /// Defines a host function as `module::name`.
    pub fn func(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        func: impl Fn(&mut Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), HostError>
        + Send
        + Sync
        + 'static,
    ) -> &mut Self {
        self.define_host(module, name, HostFunc::new(ty, func))
    }

    /// Defines a host function as `module::name`.
    pub fn define_host(&mut self, module: &str, name: &str, func: HostFunc<T>) -> &mut Self {
        self.defs.insert(
            (module.to_string(), name.to_string()),
            Definition::Host(func),
        );
        self
    }

    /// Defines an existing store entity as `module::name`.
    pub fn define(&mut self, module: &str, name: &str, item: Extern) -> &mut Self {
        self.defs.insert(
            (module.to_string(), name.to_string()),
            Definition::Extern(item),
        );
        self
    }

    /// Defines every export of `instance` under the module name `module`.
    pub fn define_instance(&mut self, store: &Store<T>, module: &str, instance: Instance) {
        for (name, item) in &store.inner.instances[instance].exports {
            self.define(module, name, *item);
        }
    }

    /// Whether `module::name` is defined.
    pub fn is_defined(&self, module: &str, name: &str) -> bool {
        self.defs
            .contains_key(&(module.to_string(), name.to_string()))
    }

    /// Instantiates `module` in `store`, running its start function.
    ///
    /// # Errors
    /// [`Error::UnknownImports`] naming every import without a definition,
    /// [`Error::IncompatibleImport`] for a definition of the wrong type, [`Error::Trap`] when
    /// segment initialization or the start function traps (the instance then exists but is
    /// not returned, as the specification has it), and anything the start function's host calls
    /// return.
    pub fn instantiate(&self, store: &mut Store<T>, module: &Module) -> Result<Instance> {
        let missing: Vec<String> = module
            .imports()
            .iter()
            .filter(|i| !self.is_defined(&i.module, &i.name))
            .map(|i| format!("{}::{} ({})", i.module, i.name, i.ty.kind()))
            .collect();
        if !missing.is_empty() {
            return Err(Error::UnknownImports(missing));
        }
        let mut externs = Vec::with_capacity(module.imports().len());
        for import in module.imports() {
            let def = &self.defs[&(import.module.clone(), import.name.clone())];
            let item = match def {
                Definition::Extern(e) => *e,
                Definition::Host(h) => Extern::Func(
                    store.alloc_host_func(h.clone(), format!("{}::{}", import.module, import.name)),
                ),
            };
            externs.push(item);
        }
        instantiate(store, module, &externs)
    }
}

impl<T> Store<T> {
    pub(crate) fn alloc_host_func(&mut self, func: HostFunc<T>, name: String) -> Func {
        let sig = self.inner.intern_sig(&func.ty, None);
        let ty = func.ty.clone();
        self.host_funcs.push(func);
        self.inner.funcs.push(FuncData {
            ty,
            sig,
            kind: FuncKind::Host {
                host: self.host_funcs.len() - 1,
                name: name.into(),
            },
        })
    }
}

fn incompatible(module: &Module, i: usize, reason: String) -> Error {
    let import = &module.imports()[i];
    Error::IncompatibleImport {
        module: import.module.clone(),
        name: import.name.clone(),
        reason,
    }
}

fn eval_const(inner: &StoreInner, funcs: &[Func], globals: &[Global], e: &ConstExpr) -> u64 {
    eval_const_v128(inner, funcs, globals, e) as u64
}

/// A constant expression's value, all 128 bits of a `v128` (other types' cells in the low
/// half).
fn eval_const_v128(inner: &StoreInner, funcs: &[Func], globals: &[Global], e: &ConstExpr) -> u128 {
    if let ConstExpr::Leaf(ConstLeaf::V128(v)) = e {
        return *v;
    }
    if let ConstExpr::Leaf(ConstLeaf::GlobalGet(g)) = e {
        let g = &inner.globals[globals[g.index()]];
        return u128::from(g.value) | u128::from(g.hi) << 64;
    }
    u128::from(eval_cell(inner, funcs, globals, e))
}

fn eval_cell(inner: &StoreInner, funcs: &[Func], globals: &[Global], e: &ConstExpr) -> u64 {
    let leaf = |l: ConstLeaf| match l {
        ConstLeaf::I32(v) => Val::I32(v).to_cell(),
        ConstLeaf::I64(v) => Val::I64(v).to_cell(),
        ConstLeaf::F32(v) => u64::from(v),
        ConstLeaf::F64(v) => v,
        ConstLeaf::RefNull => 0,
        ConstLeaf::RefFunc(f) => Val::FuncRef(Some(funcs[f.index()])).to_cell(),
        ConstLeaf::GlobalGet(g) => inner.globals[globals[g.index()]].value,
        ConstLeaf::V128(v) => v as u64,
    };
    match e {
        ConstExpr::Leaf(l) => leaf(*l),
        ConstExpr::Extended(ops) => {
            // Validated: every operator finds its operands, and one value is left. Cells
            // hold i32 values zero-extended.
            let mut stack: Vec<u64> = Vec::with_capacity(4);
            for op in ops.iter() {
                let v = match *op {
                    ConstOp::Push(l) => leaf(l),
                    arith => {
                        let b = stack.pop().unwrap_or(0);
                        let a = stack.pop().unwrap_or(0);
                        let (a32, b32) = (a as u32, b as u32);
                        match arith {
                            ConstOp::I32Add => u64::from(a32.wrapping_add(b32)),
                            ConstOp::I32Sub => u64::from(a32.wrapping_sub(b32)),
                            ConstOp::I32Mul => u64::from(a32.wrapping_mul(b32)),
                            ConstOp::I64Add => a.wrapping_add(b),
                            ConstOp::I64Sub => a.wrapping_sub(b),
                            ConstOp::I64Mul => a.wrapping_mul(b),
                            ConstOp::Push(_) => unreachable!("matched above"),
                        }
                    }
                };
                stack.push(v);
            }
            stack.pop().unwrap_or(0)
        }
    }
}

fn init_trap<T>(store: &Store<T>, code: TrapCode) -> Error {
    Error::Trap(Trap {
        code,
        position: store.inner.position,
        backtrace: Vec::new(),
        exception: None,
    })
}

/// Instantiates with imports already resolved, in import order.
pub(crate) fn instantiate<T>(
    store: &mut Store<T>,
    module: &Module,
    externs: &[Extern],
) -> Result<Instance> {
    if store.inner.call.active {
        return Err(Error::Usage(
            "cannot instantiate while a call is in progress in this store".into(),
        ));
    }
    let m = &module.inner;
    let id = Instance::new(store.inner.instances.len());
    let (mut funcs, mut tables, mut memories, mut globals, mut tags) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, (import, item)) in module.imports().iter().zip(externs).enumerate() {
        let inner = &store.inner;
        match (&import.ty, *item) {
            (ImportType::Func(ty), Extern::Func(f)) => {
                let actual = &inner.funcs[f].ty;
                // Typed function references: the same signature in full, not only alike.
                let key = m.type_keys
                    [m.funcs[crate::FuncIndex::from_u32(funcs.len() as u32)].index()]
                .clone();
                let same =
                    inner.sig_ids.get(&(ty.clone(), key.clone())) == Some(&inner.funcs[f].sig);
                if actual != ty || !same {
                    let reason = if actual == ty {
                        format!(
                            "expected {ty} with these typed references: {key}, found another type",
                            key = key.as_deref().unwrap_or("none")
                        )
                    } else {
                        format!("expected {ty}, found {actual}")
                    };
                    return Err(incompatible(module, i, reason));
                }
                funcs.push(f);
            }
            (ImportType::Table(ty), Extern::Table(t)) => {
                let actual = store.table_type(t);
                let want = &m.table_refs[tables.len()];
                if actual.element != ty.element
                    || actual.table64 != ty.table64
                    || !actual.limits.matches(&ty.limits)
                    || want.as_ref() != inner.table_refs.get(&t)
                {
                    return Err(incompatible(
                        module,
                        i,
                        format!("expected {ty:?}, found {actual:?}"),
                    ));
                }
                tables.push(t);
            }
            (ImportType::Memory(ty), Extern::Memory(mem)) => {
                let actual = store.memory_type(mem);
                if !actual.limits.matches(&ty.limits) || actual.memory64 != ty.memory64 {
                    return Err(incompatible(
                        module,
                        i,
                        format!("expected {ty:?}, found {actual:?}"),
                    ));
                }
                memories.push(mem);
            }
            (ImportType::Global(ty), Extern::Global(g)) => {
                let actual = inner.globals[g].ty;
                // Typed references: an immutable global may hold a subtype.
                let refs_match = !ty.content.is_ref() || {
                    let want = m.global_refs[globals.len()]
                        .clone()
                        .unwrap_or_else(|| RefDesc::plain(ty.content));
                    let have = inner
                        .global_refs
                        .get(&g)
                        .cloned()
                        .unwrap_or_else(|| RefDesc::plain(actual.content));
                    if ty.mutable {
                        have == want
                    } else {
                        have.is_subtype_of(&want)
                    }
                };
                if actual != *ty || !refs_match {
                    return Err(incompatible(
                        module,
                        i,
                        format!("expected {ty:?}, found {actual:?}"),
                    ));
                }
                globals.push(g);
            }
            (ImportType::Tag(ty), Extern::Tag(t)) => {
                // Tags match by their exact type.
                let ti = m.tags[crate::types::TagIndex::from_u32(tags.len() as u32)];
                let key = m.type_keys[ti.index()].clone();
                let want = inner.sig_ids.get(&(ty.clone(), key));
                if want != Some(&inner.tags[t].sig) {
                    let actual = &inner.tags[t].ty;
                    return Err(incompatible(
                        module,
                        i,
                        format!("expected a tag of {ty}, found one of {actual}"),
                    ));
                }
                tags.push(t);
            }
            (ty, item) => {
                return Err(incompatible(
                    module,
                    i,
                    format!("expected a {}, found {item:?}", ty.kind()),
                ));
            }
        }
    }
    let inner = &mut store.inner;
    for (def, _) in m.code.iter() {
        let index = crate::FuncIndex::from_u32(m.num_imported_funcs + def.as_u32());
        let ti = m.funcs[index];
        let ty = m.types[ti].clone();
        let sig = inner.intern_sig(&ty, m.type_keys[ti.index()].as_ref());
        funcs.push(inner.funcs.push(FuncData {
            ty,
            sig,
            kind: FuncKind::Wasm {
                instance: id,
                def: DefinedFuncIndex::new(def.index()),
            },
        }));
    }
    for ty in m.tables.values().skip(m.num_imported_tables as usize) {
        if ty.limits.min > inner.config.max_table_elements {
            return Err(Error::Resource(format!(
                "table of {} elements exceeds the configured limit of {}",
                ty.limits.min, inner.config.max_table_elements
            )));
        }
        let t = inner.tables.push(TableInstance {
            ty: *ty,
            elements: vec![0; ty.limits.min as usize],
        });
        if let Some(r) = &m.table_refs[tables.len()] {
            inner.table_refs.insert(t, r.clone());
        }
        tables.push(t);
    }
    for ty in m.memories.values().skip(m.num_imported_memories as usize) {
        if ty.limits.min > inner.config.max_memory_pages {
            return Err(Error::Resource(format!(
                "memory of {} pages exceeds the configured limit of {}",
                ty.limits.min, inner.config.max_memory_pages
            )));
        }
        memories.push(inner.memories.push(MemoryInstance::new(*ty)));
    }
    for (ty, init) in m
        .globals
        .values()
        .skip(m.num_imported_globals as usize)
        .zip(&m.global_inits)
    {
        let value = eval_const_v128(inner, &funcs, &globals, init);
        let g = inner.globals.push(GlobalInstance {
            ty: *ty,
            value: value as u64,
            hi: (value >> 64) as u64,
        });
        if let Some(r) = &m.global_refs[globals.len()] {
            inner.global_refs.insert(g, r.clone());
        }
        globals.push(g);
    }
    // Tables with an initializer (typed function references) after the globals it may read.
    let defined_tables = &tables[m.num_imported_tables as usize..];
    for (t, init) in defined_tables.iter().zip(&m.table_inits) {
        if let Some(init) = init {
            let v = eval_const(inner, &funcs, &globals, init);
            inner.tables[*t].elements.fill(v);
        }
    }
    for ti in m.tags.values().skip(m.num_imported_tags as usize) {
        let ty = m.types[*ti].clone();
        let sig = inner.intern_sig(&ty, m.type_keys[ti.index()].as_ref());
        tags.push(inner.tags.push(crate::store::TagData { ty, sig }));
    }
    let sigs: Box<[_]> = m
        .types
        .iter()
        .map(|(i, t)| inner.intern_sig(t, m.type_keys[i.index()].as_ref()))
        .collect();
    let elems: Box<[Arc<[u64]>]> = m
        .elems
        .values()
        .map(|seg| {
            seg.items
                .iter()
                .map(|e| eval_const(inner, &funcs, &globals, e))
                .collect()
        })
        .collect();
    let exports = m
        .exports
        .iter()
        .map(|(name, kind)| {
            let item = match *kind {
                ExportKind::Func(f) => Extern::Func(funcs[f.index()]),
                ExportKind::Table(t) => Extern::Table(tables[t.index()]),
                ExportKind::Memory(x) => Extern::Memory(memories[x.index()]),
                ExportKind::Global(g) => Extern::Global(globals[g.index()]),
                ExportKind::Tag(t) => Extern::Tag(tags[t.index()]),
            };
            (name.clone(), item)
        })
        .collect();
    let mem0 = memories.first().copied().unwrap_or(Memory::new(0));
    let instance = inner.instances.push(InstanceData {
        module: module.clone(),
        funcs: funcs.into(),
        tables: tables.into(),
        memories: memories.into(),
        tags: tags.into(),
        mem0,
        globals: globals.into(),
        sigs,
        elems,
        exports,
    });
    debug_assert_eq!(instance, id);
    inner.segments.push(SegmentState {
        dropped_elems: vec![false; m.elems.len()],
        dropped_datas: vec![false; m.datas.len()],
    });

    // Active element segments, then active data segments, in order; the first out-of-bounds
    // one traps and earlier ones stay applied.
    for (e, seg) in m.elems.iter() {
        match &seg.mode {
            ElemMode::Active { table, offset } => {
                let inst = &inner.instances[id];
                let offset = eval_const(inner, &inst.funcs, &inst.globals, offset);
                let items = inst.elems[e.index()].clone();
                let t = &mut inner.tables[inst.tables[table.index()]];
                let offset = crate::bulk::index(t, offset);
                let end = offset.saturating_add(items.len() as u64);
                if end > t.elements.len() as u64 {
                    return Err(init_trap(store, TrapCode::TableOutOfBounds));
                }
                t.elements[offset as usize..end as usize].copy_from_slice(&items);
                inner.segments[id].dropped_elems[e.index()] = true;
            }
            ElemMode::Declared => inner.segments[id].dropped_elems[e.index()] = true,
            ElemMode::Passive => {}
        }
    }
    for (d, seg) in m.datas.iter() {
        let Some((memory, offset)) = &seg.active else {
            continue;
        };
        let inst = &inner.instances[id];
        let offset = eval_const(inner, &inst.funcs, &inst.globals, offset);
        let mem = &mut inner.memories[inst.memories[memory.index()]];
        let offset = crate::bulk::address(mem, offset);
        if !mem.write(offset, &seg.bytes) {
            return Err(init_trap(store, TrapCode::MemoryOutOfBounds));
        }
        inner.segments[id].dropped_datas[d.index()] = true;
    }
    if let Some(start) = m.start {
        let f = inner.instances[id].funcs[start.index()];
        if let crate::Resumable::Paused(pause) = store.call_resumable(f, &[])? {
            // An instance whose start function has not finished does not exist yet, so the
            // call cannot be resumed: it ends here.
            store.abandon();
            return Err(Error::StartPaused(pause));
        }
    }
    Ok(id)
}
