//! Compiling a module, lazily: each defined function is compiled through the shared translator
//! into Cranelift on its first call, and so is an entry trampoline (`extern "C" fn(vmctx,
//! values)`: arguments in, results out, as cells) when the runtime first calls in there.
//!
//! Calls between functions of a module go through its code table (one pointer per defined
//! function, null until compiled), so a module's first instruction runs as soon as the called
//! function is compiled, whatever the module's size. The code is kept in the module, once per
//! NaN-canonicalization and signals-based-traps setting, for every store of the process:
//! `record --until-failure` compiles each function once for all its runs.
//!
//! # Compiling ahead, on the other core
//!
//! Short guests spend most of their time in Cranelift, compiling each function on the guest's
//! thread when it is first called. So a background thread compiles ahead: each function,
//! once compiled, names the defined functions it calls directly, and they go on top of a
//! stack that the thread takes from. The order is depth-first, first callee first, which is
//! the order a guest usually calls them in. The thread only produces bytes (Cranelift's
//! `Context::compile`, no relocations: JIT code reaches libcalls and callees through
//! constants and the code table); the guest's thread copies them into code memory when it
//! first needs one of them, together with every other function that is ready, and makes the
//! batch executable at once. Code memory changes on one thread only, so no page protection
//! changes under a running guest on the other core, and no lock is held while Cranelift
//! works. A function the thread is compiling when the guest calls it is waited for; one it
//! has not reached yet the guest's thread compiles itself. Each function is compiled once,
//! by whichever thread takes it first, and the result is the same either way: only when
//! code becomes available changes, never what it does.
//!
//! Small modules (fewer than [`BACKGROUND_MIN_FUNCS`] defined functions) and
//! `DEJA_JIT_BACKGROUND=0` compile on the guest's thread only.
//!
//! # Two tiers
//!
//! First-tier code is compiled with Cranelift's single-pass register allocator, which is fast
//! but keeps few values in registers across blocks. It counts its calls (one add at entry).
//! When the thread has nothing to compile ahead, it looks for the function with the most
//! calls, at least [`HOT_CALLS`], compiles it again with the backtracking allocator, installs
//! it itself and points the code table at it: the next calls run the second tier, calls in
//! progress finish on the first (there is no on-stack replacement, so a function that is
//! called once and loops does not move up). Both tiers come from the same IR, so they do
//! the same things at the same positions; the second tier only keeps more in registers and
//! does not count. Installing from the thread is safe because Cranelift's code memory never
//! changes the protection of pages that hold finalized code: each finalization starts new
//! pages. When there is nothing to do the thread polls the counters, every millisecond at
//! first and less often while nothing happens; it ends with the module's code.

use super::VmCtx;
use super::env::{JitEnv, ModuleEnv, load_cells, store_cells, wasm_signature};
use super::libcalls::Libcalls;
use super::signals;
use crate::error::{Error, Result};
use crate::module::{Module, ModuleInner, supported_features};
use crate::translate::translate_function;
use crate::types::{DefinedFuncIndex, FuncIndex, FuncType, ValType};
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{AbiParam, InstBuilder, MemFlagsData, Signature, types};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_entity::EntityRef;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, Module as _};
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use wasmparser::{
    BinaryReader, FuncToValidate, FunctionBody, Parser, ValidPayload, Validator, ValidatorResources,
};

/// An entry trampoline.
pub(crate) type EntryFn = unsafe extern "C" fn(*mut VmCtx, *mut u64);

/// Modules with fewer defined functions compile on the guest's thread only: the spec suite's
/// thousands of small modules would start a thread each for little to compile.
pub(crate) const BACKGROUND_MIN_FUNCS: usize = 8;

/// Calls of a first-tier function before the background thread compiles its second tier.
pub(crate) const HOT_CALLS: u64 = 200;

const IDLE_MIN: std::time::Duration = std::time::Duration::from_millis(1);
const IDLE_MAX: std::time::Duration = std::time::Duration::from_millis(64);

/// Which code of a function to compile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tier {
    /// Fast to compile, counts its calls.
    First,
    /// The backtracking register allocator, for hot functions.
    Second,
    /// The resume variant, for the frames of a resumed snapshot (`env::JitEnv::resume_point`):
    /// first-tier code with resume points.
    Resume,
}

/// A module's code, compiled function by function.
pub(crate) struct JitCode {
    entries: Box<[AtomicPtr<u8>]>,
    /// Each function's resume variant, null until a resume needs it, and its entry trampoline.
    resume: Box<[AtomicPtr<u8>]>,
    resume_entries: Box<[AtomicPtr<u8>]>,
    inputs: Arc<Inputs>,
    plan: Arc<Plan>,
    /// The module, for the background thread; weak, because the module owns its code.
    module: Weak<ModuleInner>,
}

/// What compiling a function needs besides the module; shared with the background thread.
struct Inputs {
    /// The largest native frame of any function installed so far, in bytes: function entries
    /// keep that much room on the guest's stack (`JitEnv`'s stack check).
    max_frame: AtomicU64,
    isa: OwnedTargetIsa,
    /// The second tier's: the backtracking register allocator.
    isa_hot: OwnedTargetIsa,
    /// Each defined function's validator input and body range in the module's bytes.
    sources: Vec<(FuncToValidate<ValidatorResources>, std::ops::Range<usize>)>,
    libcalls: Libcalls,
    types: Vec<FuncType>,
    func_types: Vec<u32>,
    globals: Vec<ValType>,
    memory64: Vec<bool>,
    tables64: Vec<bool>,
    canon: bool,
    /// Trap sites are hardware traps and memory 0 has no bounds checks (`signals.rs`).
    signals: bool,
    /// Stores check for watchpoints (`env::JitEnv::watch_check`).
    watch: bool,
    host_cc: cranelift_codegen::isa::CallConv,
    background: bool,
}

/// Where each function is in its compilation, and the code memory.
struct Plan {
    /// Native code of every defined function (JIT calling convention), null until compiled.
    /// JIT code reads it directly.
    table: Box<[AtomicPtr<u8>]>,
    /// Calls of each defined function's first-tier code, counted by JIT code.
    counts: Box<[AtomicU64]>,
    state: Mutex<State>,
    /// Signalled when a compilation finishes.
    changed: Condvar,
}

struct State {
    /// `None` once the code is dropped.
    jm: Option<JITModule>,
    /// For entry trampolines.
    fctx: FunctionBuilderContext,
    /// A compilation context for the guest's threads, when none of them is using it.
    spare: Option<Box<(cranelift_codegen::Context, FunctionBuilderContext)>>,
    funcs: Vec<Slot>,
    /// Functions for the background thread, the next one on top.
    ahead: Vec<u32>,
    /// Functions in [`Slot::Ready`].
    ready: Vec<u32>,
    /// Installed functions still on the first tier.
    first_tier: Vec<u32>,
    /// A background thread is running.
    worker: bool,
    /// Start addresses of the functions with hardware trap sites (`signals.rs`).
    regions: Vec<usize>,
    compiled: u64,
    compiled_ahead: u64,
    second_tier: u64,
}

enum Slot {
    Todo,
    Compiling,
    /// Compiled, not yet in code memory.
    Ready(Box<Compiled>),
    Installed,
    Failed(String),
}

/// A function compiled to bytes.
struct Compiled {
    bytes: Vec<u8>,
    /// The native frame's size, in bytes (return address and frame pointer included).
    frame: u64,
    align: u64,
    sites: Vec<(u32, signals::Site)>,
    callees: Vec<u32>,
}

// SAFETY: the JIT module (raw pointers into code memory) is only used under the mutex; the
// code is immutable once finalized.
unsafe impl Send for State {}

impl std::fmt::Debug for JitCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JitCode({} functions)", self.plan.table.len())
    }
}

impl Drop for JitCode {
    fn drop(&mut self) {
        let mut st = self.plan.lock();
        st.ahead.clear();
        st.regions.sort_unstable();
        signals::unregister(&st.regions);
        if let Some(m) = st.jm.take() {
            // SAFETY: the last owner is gone: no context, and so no running code, refers to it.
            unsafe { m.free_memory() };
        }
    }
}

impl Plan {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    /// Files the result of compiling `def` and its callees for the background thread.
    fn finish(&mut self, def: usize, r: Result<Compiled>, ahead: bool) {
        match r {
            Ok(c) => {
                for &callee in c.callees.iter().rev() {
                    if matches!(self.funcs[callee as usize], Slot::Todo) {
                        self.ahead.push(callee);
                    }
                }
                self.funcs[def] = Slot::Ready(Box::new(c));
                self.ready.push(def as u32);
                self.compiled += 1;
                self.compiled_ahead += u64::from(ahead);
            }
            Err(e) => self.funcs[def] = Slot::Failed(e.to_string()),
        }
    }

    /// The first-tier function with the most calls, if it has [`HOT_CALLS`], taken off the
    /// first tier's list.
    fn hottest(&mut self, counts: &[AtomicU64]) -> Option<u32> {
        let (i, n) = self
            .first_tier
            .iter()
            .enumerate()
            .map(|(i, &def)| (i, counts[def as usize].load(Ordering::Relaxed)))
            .max_by_key(|&(_, n)| n)?;
        (n >= HOT_CALLS).then(|| self.first_tier.swap_remove(i))
    }
}

/// How many of a module's functions were compiled, and how many of them by the background
/// thread.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CompileCounts {
    pub compiled: u64,
    pub ahead: u64,
    /// Functions compiled again on the second tier.
    pub second_tier: u64,
}

impl JitCode {
    /// The code table, for JIT code.
    pub(crate) fn table(&self) -> *const *const u8 {
        self.plan.table.as_ptr().cast()
    }

    /// The call counters, for first-tier JIT code.
    pub(crate) fn call_counts(&self) -> *mut u64 {
        self.plan.counts.as_ptr().cast_mut().cast()
    }

    pub(crate) fn counts(&self) -> CompileCounts {
        let st = self.plan.lock();
        CompileCounts {
            compiled: st.compiled,
            ahead: st.compiled_ahead,
            second_tier: st.second_tier,
        }
    }

    /// The native code of defined function `def` of `m`, compiled if it is not yet.
    pub(crate) fn native(&self, m: &ModuleInner, def: DefinedFuncIndex) -> Result<*const u8> {
        let i = def.index();
        let table = &self.plan.table;
        let p = table[i].load(Ordering::Acquire);
        if !p.is_null() {
            return Ok(p);
        }
        let mut st = self.plan.lock();
        loop {
            match &st.funcs[i] {
                Slot::Installed => return Ok(table[i].load(Ordering::Acquire)),
                Slot::Ready(_) => break,
                Slot::Failed(e) => return Err(cl_error("compile", e)),
                Slot::Compiling => {
                    st = self
                        .plan
                        .changed
                        .wait(st)
                        .unwrap_or_else(|e| e.into_inner());
                }
                Slot::Todo => {
                    st.funcs[i] = Slot::Compiling;
                    let mut cx = st.spare.take().unwrap_or_else(|| {
                        Box::new((
                            cranelift_codegen::Context::new(),
                            FunctionBuilderContext::new(),
                        ))
                    });
                    drop(st);
                    let r = compile(&self.inputs, m, def, Tier::First, &mut cx.0, &mut cx.1);
                    st = self.plan.lock();
                    st.spare = Some(cx);
                    st.finish(i, r, false);
                    self.plan.changed.notify_all();
                    self.start_worker(&mut st);
                }
            }
        }
        let r = install(&mut st, m, table, &self.inputs.max_frame);
        self.plan.changed.notify_all();
        r?;
        Ok(table[i].load(Ordering::Acquire))
    }

    /// Starts the background thread if there is work for it and none runs.
    fn start_worker(&self, st: &mut State) {
        if !self.inputs.background || st.worker || st.jm.is_none() || st.ahead.is_empty() {
            return;
        }
        let (plan, inputs, module) = (self.plan.clone(), self.inputs.clone(), self.module.clone());
        st.worker = std::thread::Builder::new()
            .name("deja-jit".into())
            .spawn(move || compile_ahead(&plan, &inputs, &module))
            .is_ok();
    }

    /// The entry trampoline of defined function `def` of `m`, compiled (with the function) if
    /// it is not yet.
    pub(crate) fn entry(&self, m: &ModuleInner, def: DefinedFuncIndex) -> Result<EntryFn> {
        let mut p = self.entries[def.index()].load(Ordering::Acquire);
        if p.is_null() {
            let native = self.native(m, def)?;
            let mut st = self.plan.lock();
            p = self.entries[def.index()].load(Ordering::Acquire);
            if p.is_null() {
                // Compiled (`native` is non-null): the trampoline calls whatever the code
                // table holds, the second tier once it is installed.
                debug_assert!(!native.is_null());
                let slot = std::ptr::from_ref(&self.plan.table[def.index()]);
                p = entry(&mut st, &self.inputs, m, def, slot.cast(), "entry")?.cast_mut();
                self.entries[def.index()].store(p, Ordering::Release);
            }
        }
        // SAFETY: the trampoline was compiled with exactly this signature.
        Ok(unsafe { std::mem::transmute::<*mut u8, EntryFn>(p) })
    }

    /// The resume variant of defined function `def` of `m`, compiled on this thread (and
    /// installed) if it is not yet.
    pub(crate) fn resumable(&self, m: &ModuleInner, def: DefinedFuncIndex) -> Result<*const u8> {
        let i = def.index();
        let p = self.resume[i].load(Ordering::Acquire);
        if !p.is_null() {
            return Ok(p);
        }
        let mut cx = self.plan.lock().spare.take().unwrap_or_else(|| {
            Box::new((
                cranelift_codegen::Context::new(),
                FunctionBuilderContext::new(),
            ))
        });
        let r = compile(&self.inputs, m, def, Tier::Resume, &mut cx.0, &mut cx.1);
        let mut st = self.plan.lock();
        st.spare = Some(cx);
        let p = self.resume[i].load(Ordering::Acquire);
        if !p.is_null() {
            return Ok(p);
        }
        let p = install_one(
            &mut st,
            m,
            def,
            r?,
            "resume",
            &self.resume[i],
            &self.inputs.max_frame,
        )?;
        Ok(p)
    }

    /// The entry trampoline of the resume variant of `def`.
    pub(crate) fn resume_entry(&self, m: &ModuleInner, def: DefinedFuncIndex) -> Result<EntryFn> {
        let mut p = self.resume_entries[def.index()].load(Ordering::Acquire);
        if p.is_null() {
            self.resumable(m, def)?;
            let mut st = self.plan.lock();
            p = self.resume_entries[def.index()].load(Ordering::Acquire);
            if p.is_null() {
                let slot = std::ptr::from_ref(&self.resume[def.index()]);
                p = entry(&mut st, &self.inputs, m, def, slot.cast(), "resume_entry")?.cast_mut();
                self.resume_entries[def.index()].store(p, Ordering::Release);
            }
        }
        // SAFETY: the trampoline was compiled with exactly this signature.
        Ok(unsafe { std::mem::transmute::<*mut u8, EntryFn>(p) })
    }
}

/// The background thread: compiles the functions on the `ahead` stack, and hot functions
/// on the second tier, until the module's code is gone.
fn compile_ahead(plan: &Plan, inputs: &Inputs, module: &Weak<ModuleInner>) {
    let mut ctx = cranelift_codegen::Context::new();
    let mut fctx = FunctionBuilderContext::new();
    let mut idle = IDLE_MIN;
    loop {
        let (def, hot) = {
            let mut st = plan.lock();
            loop {
                if st.jm.is_none() {
                    st.worker = false;
                    return;
                }
                if let Some(def) = st.ahead.pop() {
                    let slot = &mut st.funcs[def as usize];
                    if matches!(slot, Slot::Todo) {
                        *slot = Slot::Compiling;
                        break (def, false);
                    }
                    continue;
                }
                if let Some(def) = st.hottest(&plan.counts) {
                    break (def, true);
                }
                st = plan
                    .changed
                    .wait_timeout(st, idle)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
                idle = (idle * 2).min(IDLE_MAX);
            }
        };
        idle = IDLE_MIN;
        let Some(m) = module.upgrade() else {
            plan.lock().worker = false;
            return;
        };
        let def = DefinedFuncIndex::from_u32(def);
        let tier = if hot { Tier::Second } else { Tier::First };
        let r = compile(inputs, &m, def, tier, &mut ctx, &mut fctx);
        {
            let mut st = plan.lock();
            if !hot {
                st.finish(def.index(), r, true);
            } else if st.jm.is_some()
                && let Ok(c) = r
            {
                // A second tier that does not compile or install leaves the first in place.
                if install_second_tier(&mut st, &m, def, c, &plan.table, &inputs.max_frame).is_ok()
                {
                    st.second_tier += 1;
                }
            }
        }
        plan.changed.notify_all();
        // Last: dropping the module may drop its code, which takes the lock.
        drop(m);
    }
}

/// The module's code for this canonicalization setting and trap mechanism (hardware traps
/// only where [`signals::ENABLED`]), set up on first use (no function is compiled yet).
pub(crate) fn code_for(
    module: &Module,
    canon: bool,
    signals: bool,
    watch: bool,
) -> Result<Arc<JitCode>> {
    let signals = signals && signals::ENABLED;
    module.inner.jit[usize::from(canon) + 2 * usize::from(signals) + 4 * usize::from(watch)]
        .get_or_init(|| {
            prepare(module, canon, signals, watch)
                .map(Arc::new)
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(Error::Internal)
}

fn cl_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("JIT: {what}: {e}"))
}

/// Whether `DEJA_JIT_BACKGROUND=0` turned the background thread off (for measurements).
fn background_allowed() -> bool {
    static ALLOWED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ALLOWED.get_or_init(|| std::env::var_os("DEJA_JIT_BACKGROUND").is_none_or(|v| v != "0"))
}

/// The host ISA, a Cranelift module for it, and each function's validator input.
fn prepare(module: &Module, canon: bool, signals: bool, watch: bool) -> Result<JitCode> {
    let m = &*module.inner;
    let mut flags = settings::builder();
    for (k, v) in [
        // No e-graph pass: on deja's IR it made every sightglass program slower, whole
        // process, compile-bound or not (bz2 0.21 s -> 0.15 s, shootout-keccak 38 -> 33 ms).
        ("opt_level", "none"),
        ("preserve_frame_pointers", "true"),
        (
            "enable_verifier",
            if cfg!(debug_assertions) {
                "true"
            } else {
                "false"
            },
        ),
        ("enable_probestack", "true"),
        ("probestack_strategy", "inline"),
        // Register allocation dominates compilation and most guests are short-lived: the
        // single-pass allocator halves whole-process times on bz2 and rust-json against the
        // backtracking one (BENCHMARKS.md). Recompiling hot functions with the backtracking
        // allocator is the tier still to build.
        ("regalloc_algorithm", "single_pass"),
        // Wasm functions may return more values than there are return registers.
        ("enable_multi_ret_implicit_sret", "true"),
    ] {
        flags.set(k, v).map_err(|e| cl_error(k, e))?;
    }
    let isa = cranelift_native::builder()
        .map_err(|e| cl_error("host ISA", e))?
        .finish(settings::Flags::new(flags.clone()))
        .map_err(|e| cl_error("host ISA", e))?;
    flags
        .set("regalloc_algorithm", "backtracking")
        .map_err(|e| cl_error("regalloc_algorithm", e))?;
    let isa_hot = cranelift_native::builder()
        .map_err(|e| cl_error("host ISA", e))?
        .finish(settings::Flags::new(flags))
        .map_err(|e| cl_error("host ISA", e))?;
    let host_cc = isa.default_call_conv();
    let jm = JITModule::new(JITBuilder::with_isa(
        isa.clone(),
        cranelift_module::default_libcall_names(),
    ));
    let mut sources = Vec::with_capacity(m.code.len());
    let mut validator = Validator::new_with_features(supported_features());
    for payload in Parser::new(0).parse_all(&m.bytes) {
        let payload = payload?;
        if let ValidPayload::Func(func, body) = validator.payload(&payload)? {
            let r = body.range();
            sources.push((func, r.start as usize..r.end as usize));
        }
    }
    let n = sources.len();
    let nulls = || {
        (0..n)
            .map(|_| AtomicPtr::new(std::ptr::null_mut()))
            .collect()
    };
    Ok(JitCode {
        entries: nulls(),
        resume: nulls(),
        resume_entries: nulls(),
        inputs: Arc::new(Inputs {
            max_frame: AtomicU64::new(0),
            isa,
            isa_hot,
            sources,
            libcalls: Libcalls::new(host_cc),
            types: m.types.values().cloned().collect(),
            func_types: m.funcs.values().map(|t| t.as_u32()).collect(),
            globals: m.globals.values().map(|g| g.content).collect(),
            memory64: m.memories.values().map(|t| t.memory64).collect(),
            tables64: m.tables.values().map(|t| t.table64).collect(),
            canon,
            signals,
            watch,
            host_cc,
            background: n >= BACKGROUND_MIN_FUNCS && background_allowed(),
        }),
        plan: Arc::new(Plan {
            table: nulls(),
            counts: (0..n).map(|_| AtomicU64::new(0)).collect(),
            state: Mutex::new(State {
                jm: Some(jm),
                fctx: FunctionBuilderContext::new(),
                spare: None,
                funcs: (0..n).map(|_| Slot::Todo).collect(),
                ahead: Vec::new(),
                ready: Vec::new(),
                first_tier: Vec::new(),
                worker: false,
                regions: Vec::new(),
                compiled: 0,
                compiled_ahead: 0,
                second_tier: 0,
            }),
            changed: Condvar::new(),
        }),
        module: Arc::downgrade(&module.inner),
    })
}

/// Compiles defined function `def` of `m` to bytes, on the first tier or the second.
fn compile(
    inputs: &Inputs,
    m: &ModuleInner,
    def: DefinedFuncIndex,
    tier: Tier,
    ctx: &mut cranelift_codegen::Context,
    fctx: &mut FunctionBuilderContext,
) -> Result<Compiled> {
    let fi = FuncIndex::from_u32(m.num_imported_funcs + def.as_u32());
    let ty = &m.types[m.funcs[fi]];
    let menv = ModuleEnv {
        types: &inputs.types,
        func_types: &inputs.func_types,
        globals: &inputs.globals,
        memory64: &inputs.memory64,
        tables64: &inputs.tables64,
        num_imported_funcs: m.num_imported_funcs,
        canon: inputs.canon,
        signals: inputs.signals,
        watch: inputs.watch,
        max_frame: std::ptr::from_ref(&inputs.max_frame) as usize,
        libcalls: &inputs.libcalls,
        frontend: inputs.isa.frontend_config(),
        count_calls: tier == Tier::First,
        resumable: tier == Tier::Resume,
    };
    let (source, range) = &inputs.sources[def.index()];
    let func = FuncToValidate {
        resources: source.resources.clone(),
        index: source.index,
        ty: source.ty,
        features: source.features,
    };
    ctx.clear();
    ctx.func.signature = wasm_signature(ty);
    let body = FunctionBody::new(BinaryReader::new(
        &m.bytes[range.clone()],
        range.start as u64,
    ));
    let mut fv = func.into_validator(Default::default());
    let (sites, callees) = {
        let b = FunctionBuilder::new(&mut ctx.func, fctx);
        let mut env = JitEnv::new(
            b,
            &menv,
            def.as_u32(),
            &m.local_types[def],
            m.code[def].max_stack,
            ty,
        );
        translate_function(&mut fv, &body, ty, &m.types, m.simd, &mut env)?;
        env.finish()
    };
    let what = || format!("function {}", fi.as_u32());
    let isa = if tier == Tier::Second {
        &inputs.isa_hot
    } else {
        &inputs.isa
    };
    ctx.compile(&**isa, &mut ControlPlane::default())
        .map_err(|e| cl_error(&what(), format!("{:?}", e.inner)))?;
    let (_, sites) = site_offsets(ctx, &sites)?;
    let code = ctx.compiled_code().expect("compiled above");
    // JIT code reaches libcalls, callees and constants without relocations (see above).
    if !code.buffer.relocs().is_empty() {
        return Err(cl_error(&what(), "unexpected relocations"));
    }
    let frame = code
        .buffer
        .frame_layout()
        .map_or(0, |l| u64::from(l.frame_to_fp_offset))
        + 16;
    Ok(Compiled {
        bytes: code.code_buffer().to_vec(),
        frame,
        align: u64::from(code.buffer.alignment),
        sites,
        callees,
    })
}

/// Copies every ready function into code memory, makes them executable and enters them in
/// `table`.
fn install(
    st: &mut State,
    m: &ModuleInner,
    table: &[AtomicPtr<u8>],
    max_frame: &AtomicU64,
) -> Result<()> {
    let ready = std::mem::take(&mut st.ready);
    let jm = st
        .jm
        .as_mut()
        .expect("the module lives as long as its code");
    let mut done = Vec::with_capacity(ready.len());
    for def in ready {
        let Slot::Ready(c) = std::mem::replace(&mut st.funcs[def as usize], Slot::Installed) else {
            unreachable!("listed as ready")
        };
        let fi = FuncIndex::from_u32(m.num_imported_funcs + def);
        let sig = wasm_signature(&m.types[m.funcs[fi]]);
        let id = jm
            .declare_function(&format!("wasm{def}"), Linkage::Local, &sig)
            .map_err(|e| cl_error("declare", e))?;
        jm.define_function_bytes(id, c.align, &c.bytes, &[])
            .map_err(|e| cl_error(&format!("function {}", fi.as_u32()), e))?;
        done.push((def, id, c));
    }
    jm.finalize_definitions()
        .map_err(|e| cl_error("finalize", e))?;
    for (def, id, c) in done {
        let p = jm.get_finalized_function(id);
        publish(&mut st.regions, p, *c, &table[def as usize], max_frame);
        st.first_tier.push(def);
    }
    Ok(())
}

/// Makes the installed code `p` of `c` what calls of its function reach: its trap sites
/// registered (and listed in `regions`), the module's largest frame updated, then its code
/// table entry.
fn publish(
    regions: &mut Vec<usize>,
    p: *const u8,
    c: Compiled,
    entry: &AtomicPtr<u8>,
    max_frame: &AtomicU64,
) {
    if !c.sites.is_empty() {
        signals::register(p as usize, c.bytes.len(), c.sites);
        regions.push(p as usize);
    }
    // Before anything can call it: callers that enter from now on keep room for the largest
    // frame (one that entered before relies on the stack margin, `jit/mod.rs`).
    max_frame.fetch_max(c.frame, Ordering::Release);
    entry.store(p.cast_mut(), Ordering::Release);
}

/// Installs the second tier of `def` and points the code table at it.
fn install_second_tier(
    st: &mut State,
    m: &ModuleInner,
    def: DefinedFuncIndex,
    c: Compiled,
    table: &[AtomicPtr<u8>],
    max_frame: &AtomicU64,
) -> Result<()> {
    install_one(st, m, def, c, "hot", &table[def.index()], max_frame).map(|_| ())
}

/// Installs one more compilation `c` of `def` (named `name` and its index) on its own and
/// publishes it at `entry` (see [`publish`]).
fn install_one(
    st: &mut State,
    m: &ModuleInner,
    def: DefinedFuncIndex,
    c: Compiled,
    name: &str,
    entry: &AtomicPtr<u8>,
    max_frame: &AtomicU64,
) -> Result<*const u8> {
    let jm = st
        .jm
        .as_mut()
        .expect("the module lives as long as its code");
    let fi = FuncIndex::from_u32(m.num_imported_funcs + def.as_u32());
    let sig = wasm_signature(&m.types[m.funcs[fi]]);
    let id = jm
        .declare_function(&format!("{name}{}", def.as_u32()), Linkage::Local, &sig)
        .map_err(|e| cl_error("declare", e))?;
    jm.define_function_bytes(id, c.align, &c.bytes, &[])
        .map_err(|e| cl_error(&format!("function {}", fi.as_u32()), e))?;
    jm.finalize_definitions()
        .map_err(|e| cl_error("finalize", e))?;
    let p = jm.get_finalized_function(id);
    publish(&mut st.regions, p, c, entry, max_frame);
    Ok(p)
}

/// Compiles the entry trampoline of defined function `def`, which calls the code `slot` (its
/// code table entry, never null again) points at.
fn entry(
    st: &mut State,
    inputs: &Inputs,
    m: &ModuleInner,
    def: DefinedFuncIndex,
    slot: *const *const u8,
    name: &str,
) -> Result<*const u8> {
    let jm = st
        .jm
        .as_mut()
        .expect("the module lives as long as its code");
    let fi = FuncIndex::from_u32(m.num_imported_funcs + def.as_u32());
    let ty = &m.types[m.funcs[fi]];
    let mut entry_sig = Signature::new(inputs.host_cc);
    entry_sig.params.push(AbiParam::new(types::I64));
    entry_sig.params.push(AbiParam::new(types::I64));
    let id = jm
        .declare_function(
            &format!("{name}{}", def.as_u32()),
            Linkage::Local,
            &entry_sig,
        )
        .map_err(|e| cl_error("declare", e))?;
    let frontend = jm.isa().frontend_config();
    let mut ctx = jm.make_context();
    ctx.func.signature = entry_sig;
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut st.fctx);
        let block = b.create_block();
        b.append_block_params_for_function_params(block);
        b.switch_to_block(block);
        let (vmctx, values) = (b.block_params(block)[0], b.block_params(block)[1]);
        let fl = MemFlagsData::trusted();
        let mut args = vec![vmctx];
        let mut off = 0;
        for t in ty.params() {
            args.push(load_cells(&mut b, fl, *t, values, off));
            off += t.cells() as i32 * 8;
        }
        let sig = b.import_signature(wasm_signature(ty));
        let at = b.ins().iconst(types::I64, slot as i64);
        let callee = b.ins().load(types::I64, fl, at, 0);
        let call = b.ins().call_indirect(sig, callee, &args);
        let results = b.inst_results(call).to_vec();
        let mut off = 0;
        for (r, t) in results.into_iter().zip(ty.results()) {
            store_cells(&mut b, fl, r, *t, values, off);
            off += t.cells() as i32 * 8;
        }
        b.ins().return_(&[]);
        b.seal_all_blocks();
        b.finalize(frontend);
    }
    jm.define_function(id, &mut ctx)
        .map_err(|e| cl_error("entry trampoline", format!("{e:?}")))?;
    jm.clear_context(&mut ctx);
    jm.finalize_definitions()
        .map_err(|e| cl_error("finalize", e))?;
    Ok(jm.get_finalized_function(id))
}

/// The compiled function's code length and its hardware trap sites by code offset: each trap
/// record with the sites' Cranelift trap code, through its source location. (Cranelift's own
/// traps, unreachable behind the translator's checks, have other codes and are left out.)
///
/// A record that is a `ud2` must name a `ud2` site and any other a memory access site: a
/// mismatch means Cranelift moved an access under another site's source location, and the
/// function is refused (the interpreter runs it) rather than report a wrong trap.
fn site_offsets(
    ctx: &cranelift_codegen::Context,
    sites: &[signals::Site],
) -> Result<(usize, Vec<(u32, signals::Site)>)> {
    let Some(code) = ctx.compiled_code() else {
        return Ok((0, Vec::new()));
    };
    let bytes = code.code_buffer();
    let len = bytes.len();
    if sites.is_empty() {
        return Ok((len, Vec::new()));
    }
    let ours = cranelift_codegen::ir::TrapCode::user(1);
    let locs = code.buffer.get_srclocs_sorted();
    let mut out = Vec::with_capacity(sites.len());
    for t in code.buffer.traps() {
        if Some(t.code) != ours {
            continue;
        }
        let i = locs.partition_point(|l| l.start <= t.offset);
        let site = i
            .checked_sub(1)
            .map(|i| &locs[i])
            .filter(|l| t.offset < l.end && !l.loc.is_default())
            .and_then(|l| sites.get(l.loc.bits() as usize - 1));
        let ud2 = bytes.get(t.offset as usize..t.offset as usize + 2) == Some(&[0x0f, 0x0b][..]);
        match site {
            Some(site) if site.access != ud2 => out.push((t.offset, *site)),
            _ => {
                return Err(cl_error(
                    "trap sites",
                    format!(
                        "the trap at code offset {:#x} names no matching site",
                        t.offset
                    ),
                ));
            }
        }
    }
    Ok((len, out))
}
