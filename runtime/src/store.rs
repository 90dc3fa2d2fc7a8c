//! The store: every runtime entity (functions, instances, memories, tables, globals), the
//! execution state of the current call, and the embedder's data.
//!
//! Entities are addressed by index newtypes, as in the specification's abstract store; handles
//! such as [`Func`] and [`Memory`] are plain indices into one store.

use crate::code::CompiledFunc;
use crate::debug::{Breakpoints, DebugHandler};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::host::{HostCallObserver, HostFunc};
use crate::interp::Interp;
use crate::memory::MemoryInstance;
use crate::module::Module;
use crate::types::{
    DefinedFuncIndex, Func, FuncType, GlobalType, Limits, MemoryType, TableType, Val, ValType,
};
use cranelift_entity::{EntityRef, PrimaryMap, entity_impl};
use std::collections::HashMap;
use std::sync::Arc;

/// An instance handle in a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Instance(u32);
entity_impl!(Instance);

/// A memory handle in a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Memory(u32);
entity_impl!(Memory);

/// A table handle in a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Table(u32);
entity_impl!(Table);

/// A global handle in a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Global(u32);
entity_impl!(Global);

/// A tag handle in a store (exception handling): what a `catch` clause matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(u32);
entity_impl!(Tag);

/// An exception in a store: made by a `throw`, held by an `exnref`, never changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Exn(u32);
entity_impl!(Exn);

/// A store-wide id of a function signature: equal ids mean equal signatures, which makes
/// `call_indirect`'s type check one integer comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct SigId(u32);
entity_impl!(SigId);

/// Anything an instance can export or a module import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A table.
    Table(Table),
    /// A memory.
    Memory(Memory),
    /// A global.
    Global(Global),
    /// A tag.
    Tag(Tag),
}

/// Runtime configuration. Everything that can change a run's behaviour lives here, so that a
/// trace can record it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Replace every NaN produced by float arithmetic with the canonical NaN (on by default).
    pub nan_canonicalization: bool,
    /// Maximum number of Wasm frames on the call stack; one more call traps with
    /// [`crate::TrapCode::CallStackExhausted`].
    pub max_call_depth: u32,
    /// Maximum size of any memory, in 64 KiB pages; `memory.grow` beyond it returns -1.
    pub max_memory_pages: u64,
    /// Maximum number of elements of any table; `table.grow` beyond it returns -1.
    pub max_table_elements: u64,
    /// Whether the JIT finds its traps through deja's `SIGSEGV`/`SIGILL` handlers where it
    /// has them (x86-64 Linux): memory 0 accessed without bounds checks, trap sites as `ud2`
    /// (on by default, as wasmtime's `signals_based_traps`). Off, JIT code checks bounds and
    /// branches to its trap blocks explicitly, as on every other host. It changes nothing a
    /// run does, only how fast, so traces do not record it.
    pub signals_based_traps: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            nan_canonicalization: true,
            max_call_depth: 20_000,
            max_memory_pages: 65536,
            max_table_elements: 10_000_000,
            signals_based_traps: true,
        }
    }
}

/// Which engine runs a store's Wasm code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EngineKind {
    /// The interpreter: every operation, including single steps and resuming from snapshots.
    #[default]
    Interp,
    /// Cranelift-compiled native code. A call hands over to the interpreter where it must stop
    /// at an exact position (a step budget, breakpoints, watchpoints, a restored snapshot), and
    /// runs on the interpreter entirely if its module cannot be compiled.
    Jit,
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EngineKind::Interp => "interp",
            EngineKind::Jit => "jit",
        })
    }
}

pub(crate) enum FuncKind {
    Wasm {
        instance: Instance,
        def: DefinedFuncIndex,
    },
    Host {
        /// Index into [`Store::host_funcs`].
        host: usize,
        /// `module::name` it was defined under, for messages.
        name: Arc<str>,
    },
}

pub(crate) struct FuncData {
    pub ty: FuncType,
    pub sig: SigId,
    pub kind: FuncKind,
}

pub(crate) struct InstanceData {
    pub module: Module,
    pub funcs: Box<[Func]>,
    pub tables: Box<[Table]>,
    pub memories: Box<[Memory]>,
    pub tags: Box<[Tag]>,
    /// Memory 0 (the only one in Wasm 2.0); a dummy handle if the module has none, never used
    /// because validation rejects memory instructions then.
    pub mem0: Memory,
    pub globals: Box<[Global]>,
    pub sigs: Box<[SigId]>,
    /// Element segments resolved to reference cells (see [`SegmentState`] for drops).
    pub elems: Box<[Arc<[u64]>]>,
    pub exports: HashMap<String, Extern>,
}

impl InstanceData {
    #[inline]
    pub(crate) fn code(&self, def: DefinedFuncIndex) -> &CompiledFunc {
        &self.module.inner.code[def]
    }
}

/// Which segments of an instance have been dropped: mutable state, kept apart from the
/// immutable [`InstanceData`] so the interpreter can borrow both at once.
#[derive(Clone, Debug, Default)]
pub(crate) struct SegmentState {
    pub dropped_elems: Vec<bool>,
    pub dropped_datas: Vec<bool>,
}

#[derive(Clone, Debug)]
pub(crate) struct TableInstance {
    pub ty: TableType,
    pub elements: Vec<u64>,
}

/// A tag: its parameter types (a tag's type is a function type without results).
#[derive(Clone, Debug)]
pub(crate) struct TagData {
    pub ty: FuncType,
    /// The tag's signature id, which tag imports must match.
    pub sig: SigId,
}

/// An exception: its tag and its payload, as cells of the tag's parameter types.
#[derive(Clone, Debug)]
pub(crate) struct ExnData {
    pub tag: Tag,
    pub values: Box<[u64]>,
    /// An `exnref` to it was made (`catch_ref`, `catch_all_ref`): it may be referenced
    /// anywhere from then on, and is never reused.
    pub escaped: bool,
    /// Hidden locals of legacy catch blocks (kept for a `rethrow`) that hold it.
    pub holds: u32,
    /// On the free list: nothing may refer to it until a throw reuses the slot.
    pub freed: bool,
}

/// Every exception of a store. One that was caught without ever becoming an `exnref` can be
/// referenced by nothing: its slot goes on the free list, and the next throw reuses it, so a
/// guest that throws in a loop does not grow the store.
#[derive(Clone, Debug, Default)]
pub(crate) struct ExnHeap {
    list: Vec<ExnData>,
    free: Vec<u32>,
}

impl ExnHeap {
    pub(crate) fn alloc(&mut self, tag: Tag, values: &[u64]) -> Exn {
        let e = ExnData {
            tag,
            values: values.into(),
            escaped: false,
            holds: 0,
            freed: false,
        };
        match self.free.pop() {
            Some(i) => {
                self.list[i as usize] = e;
                Exn::from_u32(i)
            }
            None => {
                self.list.push(e);
                Exn::new(self.list.len() - 1)
            }
        }
    }

    /// Frees `exn` if nothing can reference it: no `exnref` to it was ever made and no legacy
    /// catch block holds it (it was just caught by a clause that does not keep it).
    pub(crate) fn release(&mut self, exn: Exn) {
        let e = &mut self.list[exn.index()];
        if !e.escaped && e.holds == 0 && !e.freed {
            e.freed = true;
            self.free.push(exn.as_u32());
        }
    }

    pub(crate) fn escape(&mut self, exn: Exn) {
        self.list[exn.index()].escaped = true;
    }

    /// A legacy catch block's hidden local now holds `exn`.
    pub(crate) fn hold(&mut self, exn: Exn) {
        self.list[exn.index()].holds += 1;
    }

    /// A hidden local that held `exn` is overwritten or gone with its frame: the exception is
    /// freed if that was its last reference, unless it is `in_flight` (being unwound, which
    /// the landing decides).
    pub(crate) fn unhold(&mut self, exn: Exn, in_flight: Exn) {
        let e = &mut self.list[exn.index()];
        e.holds = e.holds.saturating_sub(1);
        if exn != in_flight {
            self.release(exn);
        }
    }

    /// `exn` is an exception of this heap that can be referenced (not freed for reuse).
    pub(crate) fn is_live(&self, exn: Exn) -> bool {
        self.list.get(exn.index()).is_some_and(|e| !e.freed)
    }

    /// Exceptions held (live or free).
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }
}

impl std::ops::Index<usize> for ExnHeap {
    type Output = ExnData;
    fn index(&self, i: usize) -> &ExnData {
        &self.list[i]
    }
}

#[derive(Clone, Copy, Debug)]
// `repr(C)`: `hi` follows `value`, so JIT code reads and writes a `v128` global as the 16
// bytes at `&value`.
#[repr(C)]
pub(crate) struct GlobalInstance {
    pub ty: GlobalType,
    pub value: u64,
    /// The high half of a `v128` global.
    pub hi: u64,
}

/// The driver's state of the current call into Wasm (the engine holds the frames).
#[derive(Clone, Debug, Default)]
pub(crate) struct CallState {
    /// Result types of the call in progress.
    pub results: Vec<ValType>,
    /// A call is in progress (running, paused, or inside a host function).
    pub active: bool,
    /// Paused; [`Store::resume`] continues.
    pub paused: bool,
    /// Inside a host function called by the innermost frame.
    pub in_host: bool,
    /// The write (address, length) that made the last watchpoint pause.
    pub watch_write: Option<(u64, u64)>,
    /// The memory of that write.
    pub watch_memory: Option<Memory>,
    /// The exception that ended the call uncaught ([`crate::TrapCode::UncaughtException`]).
    pub exception: Option<Exn>,
}

pub(crate) struct StoreInner {
    pub config: Config,
    pub funcs: PrimaryMap<Func, FuncData>,
    pub instances: PrimaryMap<Instance, InstanceData>,
    pub segments: PrimaryMap<Instance, SegmentState>,
    pub memories: PrimaryMap<Memory, MemoryInstance>,
    pub tables: PrimaryMap<Table, TableInstance>,
    pub globals: PrimaryMap<Global, GlobalInstance>,
    pub tags: PrimaryMap<Tag, TagData>,
    /// Every exception thrown so far, by [`Exn`]. Exceptions never change, so a snapshot shares
    /// this list and the next throw copies it (once per snapshot).
    pub exceptions: Arc<ExnHeap>,
    /// Throws are reported to the debug handler ([`crate::DebugEvent::CaughtExceptionThrown`]):
    /// the engine leaves its loop at every throw.
    pub report_throws: bool,
    pub sig_ids: HashMap<(FuncType, Option<Arc<str>>), SigId>,
    /// The precise reference types of the globals and tables that have one (typed function
    /// references, see `ModuleInner::global_refs`); the others have their `ValType`'s.
    pub global_refs: HashMap<Global, crate::module::RefDesc>,
    pub table_refs: HashMap<Table, crate::module::RefDesc>,
    pub sigs: PrimaryMap<SigId, FuncType>,
    pub call: CallState,
    /// Steps completed since the store was created.
    pub position: u64,
    /// Execution pauses when `position` reaches this (`u64::MAX`: never).
    pub stop_at: u64,
    pub breakpoints: Breakpoints,
    /// A host function asked for a pause after it returns.
    pub pause_requested: bool,
    /// A step-budget pause need not come at `stop_at` (see [`Store::set_soft_budget`]).
    pub soft_budget: bool,
}

impl StoreInner {
    /// Checks a reference the host hands in (a call's argument, a host function's result, a
    /// new global's or table's value): a function or exception of this store. An exception
    /// the host refers to is kept from then on (never reused).
    pub(crate) fn admit(&mut self, v: &Val) -> Result<(), String> {
        match *v {
            Val::FuncRef(Some(f)) if f.index() >= self.funcs.len() => Err(format!(
                "funcref {} is not a function of this store",
                f.as_u32()
            )),
            Val::ExnRef(Some(e)) => {
                if !self.exceptions.is_live(e) {
                    return Err(format!(
                        "exnref {} is not an exception of this store",
                        e.as_u32()
                    ));
                }
                if !self.exceptions[e.index()].escaped {
                    Arc::make_mut(&mut self.exceptions).escape(e);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The id of signature `ty`; `key` is the full signature when `ty` alone does not tell it
    /// (typed function references, see `ModuleInner::type_keys`).
    pub(crate) fn intern_sig(&mut self, ty: &FuncType, key: Option<&Arc<str>>) -> SigId {
        let k = (ty.clone(), key.cloned());
        if let Some(id) = self.sig_ids.get(&k) {
            return *id;
        }
        let id = self.sigs.push(ty.clone());
        self.sig_ids.insert(k, id);
        id
    }
}

/// All runtime state of one guest, plus the embedder's data `T` (available to host functions).
pub struct Store<T> {
    pub(crate) inner: StoreInner,
    pub(crate) data: T,
    pub(crate) host_funcs: Vec<HostFunc<T>>,
    pub(crate) handler: Option<Box<dyn DebugHandler<T>>>,
    /// Counts [`Store::set_debug_handler`] calls: a handler that installs another one (or
    /// none) while it handles an event is not put back afterwards.
    pub(crate) handler_sets: u64,
    pub(crate) observer: Option<Box<dyn HostCallObserver<T>>>,
    /// The engine that executes Wasm code (see `engine.rs`).
    pub(crate) engine: Box<dyn Engine>,
    engine_kind: EngineKind,
    /// Memory writes made by host functions during the current host call, when logged.
    pub(crate) host_writes: Option<Vec<(u64, Vec<u8>)>>,
}

impl<T> Store<T> {
    /// A new, empty store.
    pub fn new(config: Config, data: T) -> Store<T> {
        Store {
            inner: StoreInner {
                config,
                funcs: PrimaryMap::new(),
                instances: PrimaryMap::new(),
                segments: PrimaryMap::new(),
                memories: PrimaryMap::new(),
                tables: PrimaryMap::new(),
                globals: PrimaryMap::new(),
                tags: PrimaryMap::new(),
                exceptions: Arc::default(),
                report_throws: false,
                sig_ids: HashMap::new(),
                global_refs: HashMap::new(),
                table_refs: HashMap::new(),
                sigs: PrimaryMap::new(),
                call: CallState::default(),
                position: 0,
                stop_at: u64::MAX,
                breakpoints: Breakpoints::default(),
                pause_requested: false,
                soft_budget: false,
            },
            data,
            host_funcs: Vec::new(),
            handler: None,
            handler_sets: 0,
            observer: None,
            engine: Box::new(Interp::default()),
            engine_kind: EngineKind::Interp,
            host_writes: None,
        }
    }

    /// Chooses the engine that runs this store's calls from now on.
    ///
    /// # Errors
    /// [`Error::Usage`] while a call is in progress.
    pub fn set_engine(&mut self, kind: EngineKind) -> Result<()> {
        if self.inner.call.active {
            return Err(Error::Usage(
                "cannot change the engine while a call is in progress".into(),
            ));
        }
        self.engine = match kind {
            EngineKind::Interp => Box::new(Interp::default()),
            EngineKind::Jit => Box::new(crate::jit::JitEngine::default()),
        };
        self.engine_kind = kind;
        Ok(())
    }

    /// The engine this store's calls run on.
    pub fn engine(&self) -> EngineKind {
        self.engine_kind
    }

    /// What the engine has done since it was chosen.
    pub fn engine_stats(&self) -> crate::EngineStats {
        self.engine.stats()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The embedder's data.
    pub fn data(&self) -> &T {
        &self.data
    }

    /// The embedder's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.data
    }

    /// Steps completed since the store was created (the current position).
    ///
    /// While a host function runs, this is the position of its `call` instruction (the call
    /// is not complete yet).
    pub fn position(&self) -> u64 {
        self.inner.position
    }

    /// Pauses execution once `steps` more steps have completed (`None`: never). The pause
    /// happens before the next instruction; [`Store::resume`] continues.
    pub fn set_step_budget(&mut self, steps: Option<u64>) {
        self.inner.stop_at = steps.map_or(u64::MAX, |s| self.inner.position.saturating_add(s));
    }

    /// Pauses execution when the position reaches `position` (`None`: never).
    pub fn set_stop_position(&mut self, position: Option<u64>) {
        self.inner.stop_at = position.unwrap_or(u64::MAX);
    }

    /// Lets step-budget pauses come early: at an exact position before the budget's,
    /// wherever the engine can pause without leaving compiled code (on the JIT: the last check
    /// at a function entry or loop head before the budget runs out). The interpreter always
    /// pauses at the budget itself. For periodic work that needs a pause, not a particular
    /// position: the recorder's progress records, a session's checkpoints.
    ///
    /// On the JIT a soft pause can also come late: right after a call returns, compiled code
    /// does not stop for a soft budget (the frame is not yet as the interpreter shows it), so
    /// when the callee took the steps up to the budget, the caller runs on to its next check.
    /// Whoever needs a position not to be passed sets a hard budget for it.
    pub fn set_soft_budget(&mut self, soft: bool) {
        self.inner.soft_budget = soft;
    }

    /// The position at which execution will pause (`None`: no budget).
    pub fn stop_position(&self) -> Option<u64> {
        (self.inner.stop_at != u64::MAX).then_some(self.inner.stop_at)
    }

    /// Whether a call is paused (step budget or breakpoint) and can be resumed.
    pub fn is_paused(&self) -> bool {
        self.inner.call.paused
    }

    /// Installs the handler that receives debug events (also from within a handler's
    /// `handle`: the new one, or none, takes its place from then on).
    pub fn set_debug_handler(&mut self, handler: Option<Box<dyn DebugHandler<T>>>) {
        self.inner.report_throws = handler.is_some();
        self.handler = handler;
        self.handler_sets += 1;
    }

    /// Installs the observer of host calls (the recorder's hook on the seam).
    pub fn set_host_call_observer(&mut self, observer: Option<Box<dyn HostCallObserver<T>>>) {
        self.observer = observer;
        if self.observer.is_some() {
            self.host_writes.get_or_insert_with(Vec::new);
        } else {
            self.host_writes = None;
        }
    }

    /// The signature of a function.
    pub fn func_type(&self, func: Func) -> &FuncType {
        &self.inner.funcs[func].ty
    }

    /// The export of an instance.
    pub fn get_export(&self, instance: Instance, name: &str) -> Option<Extern> {
        self.inner.instances[instance].exports.get(name).copied()
    }

    /// An exported function.
    ///
    /// # Errors
    /// [`Error::NoSuchExport`] if there is no function export of that name.
    pub fn get_func(&self, instance: Instance, name: &str) -> Result<Func> {
        match self.get_export(instance, name) {
            Some(Extern::Func(f)) => Ok(f),
            _ => Err(Error::NoSuchExport {
                kind: "function",
                name: name.to_string(),
            }),
        }
    }

    /// The module an instance was created from.
    pub fn instance_module(&self, instance: Instance) -> &Module {
        &self.inner.instances[instance].module
    }

    /// Memory 0 of an instance, if it has one.
    pub fn instance_memory(&self, instance: Instance) -> Option<Memory> {
        self.inner.instances[instance].memories.first().copied()
    }

    /// The globals of an instance, in its global index space.
    pub fn instance_globals(&self, instance: Instance) -> &[Global] {
        &self.inner.instances[instance].globals
    }

    /// All instances, oldest first.
    pub fn instances(&self) -> impl Iterator<Item = Instance> + '_ {
        self.inner.instances.keys()
    }

    /// The bytes of a memory.
    pub fn memory_data(&self, memory: Memory) -> &[u8] {
        self.inner.memories[memory].data()
    }

    /// Writes into a memory from the embedder (marks the pages dirty for snapshots).
    ///
    /// # Errors
    /// [`Error::Usage`] when out of bounds.
    pub fn memory_write(&mut self, memory: Memory, addr: u64, bytes: &[u8]) -> Result<()> {
        if self.inner.memories[memory].write(addr, bytes) {
            Ok(())
        } else {
            Err(Error::Usage(format!(
                "memory write of {} bytes at {addr:#x} is out of bounds",
                bytes.len()
            )))
        }
    }

    /// A memory's type with its current size.
    pub fn memory_type(&self, memory: Memory) -> MemoryType {
        let m = &self.inner.memories[memory];
        MemoryType {
            limits: m.current_limits(),
            memory64: m.ty.memory64,
        }
    }

    /// Value of a global.
    pub fn global_get(&self, global: Global) -> Val {
        let g = &self.inner.globals[global];
        Val::read_cells(&[g.value, g.hi], 0, g.ty.content)
    }

    /// Type of a global.
    pub fn global_type(&self, global: Global) -> GlobalType {
        self.inner.globals[global].ty
    }

    /// Size of a table.
    pub fn table_size(&self, table: Table) -> u64 {
        self.inner.tables[table].elements.len() as u64
    }

    /// A table's type with its current size.
    pub fn table_type(&self, table: Table) -> TableType {
        let t = &self.inner.tables[table];
        TableType {
            element: t.ty.element,
            limits: Limits {
                min: t.elements.len() as u64,
                max: t.ty.limits.max,
            },
            table64: t.ty.table64,
        }
    }

    /// Creates a memory owned by the host (for example the spec tests' `spectest.memory`).
    pub fn new_memory(&mut self, ty: MemoryType) -> Memory {
        self.inner.memories.push(MemoryInstance::new(ty))
    }

    /// Creates a table owned by the host, filled with `init`.
    ///
    /// # Errors
    /// [`Error::BadArguments`] if `init` is a reference that is not of this store.
    pub fn new_table(&mut self, ty: TableType, init: Val) -> Result<Table, Error> {
        self.admit_host_value(&init)?;
        Ok(self.inner.tables.push(TableInstance {
            ty,
            elements: vec![init.to_cell(); ty.limits.min as usize],
        }))
    }

    /// Creates a global owned by the host.
    ///
    /// # Errors
    /// [`Error::BadArguments`] if `value` is a reference that is not of this store.
    pub fn new_global(&mut self, ty: GlobalType, value: Val) -> Result<Global, Error> {
        self.admit_host_value(&value)?;
        let mut cells = Vec::with_capacity(2);
        value.push_cells(&mut cells);
        Ok(self.inner.globals.push(GlobalInstance {
            ty,
            value: cells[0],
            hi: cells.get(1).copied().unwrap_or(0),
        }))
    }

    fn admit_host_value(&mut self, v: &Val) -> Result<(), Error> {
        self.inner.admit(v).map_err(|reason| Error::BadArguments {
            reason,
            ty: FuncType::default(),
        })
    }

    /// Creates a tag owned by the host, with these parameter types.
    pub fn new_tag(&mut self, params: &[ValType]) -> Tag {
        let ty = FuncType::new(params.iter().copied(), []);
        let sig = self.inner.intern_sig(&ty, None);
        self.inner.tags.push(TagData { ty, sig })
    }

    /// The parameter types of a tag.
    pub fn tag_params(&self, tag: Tag) -> &[ValType] {
        self.inner.tags[tag].ty.params()
    }

    /// How many exceptions the store holds: those that became an `exnref` (they live as long
    /// as the store) and the slots that caught exceptions left for reuse.
    pub fn exceptions_held(&self) -> usize {
        self.inner.exceptions.len()
    }

    /// The tag of an exception. (An [`Exn`] from a debug event about an exception that is then
    /// caught without being kept, by `catch` or `catch_all`, is reused by the next throw.)
    pub fn exception_tag(&self, exn: Exn) -> Tag {
        self.inner.exceptions[exn.index()].tag
    }

    /// The values an exception carries, typed by its tag's parameters.
    pub fn exception_values(&self, exn: Exn) -> Vec<Val> {
        let e = &self.inner.exceptions[exn.index()];
        Val::from_cells(&e.values, self.inner.tags[e.tag].ty.params())
    }

    /// An exception for messages: the tag's export name if its instance exports it (else its
    /// index) and the values, as `$e (i32 42)`.
    pub fn exception_display(&self, exn: Exn) -> String {
        let tag = self.exception_tag(exn);
        let name = self
            .inner
            .instances
            .values()
            .find_map(|i| {
                i.exports
                    .iter()
                    .find(|(_, e)| **e == Extern::Tag(tag))
                    .map(|(n, _)| format!("${n}"))
            })
            .unwrap_or_else(|| format!("tag {}", tag.as_u32()));
        let values: Vec<String> = self
            .exception_values(exn)
            .iter()
            .map(|v| format!("{} {v}", v.ty()))
            .collect();
        if values.is_empty() {
            name
        } else {
            format!("{name} ({})", values.join(", "))
        }
    }

    /// The name of a function for messages: its name-section name, else `module::name` for a
    /// host function, else its index.
    pub fn func_display_name(&self, func: Func) -> String {
        match &self.inner.funcs[func].kind {
            FuncKind::Host { name, .. } => name.to_string(),
            FuncKind::Wasm { instance, def } => {
                let module = &self.inner.instances[*instance].module;
                let index = crate::FuncIndex::from_u32(module.num_imported_funcs() + def.as_u32());
                module
                    .func_name(index)
                    .map_or_else(|| format!("func {}", index.as_u32()), str::to_string)
            }
        }
    }
}
