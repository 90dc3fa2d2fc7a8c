//! Compiling a module, lazily: each defined function is compiled through the shared translator
//! into Cranelift on its first call, and so is an entry trampoline (`extern "C" fn(vmctx,
//! values)`: arguments in, results out, as cells) when the runtime first calls in there.
//!
//! Calls between functions of a module go through its code table (one pointer per defined
//! function, null until compiled), so a module's first instruction runs as soon as the called
//! function is compiled, whatever the module's size. The code is kept in the module, once per
//! NaN-canonicalization setting, for every store of the process: `record --until-failure`
//! compiles each function once for all its runs.

use super::VmCtx;
use super::env::{JitEnv, ModuleEnv, load_cells, store_cells, wasm_signature};
use super::libcalls::Libcalls;
use super::signals;
use crate::error::{Error, Result};
use crate::module::{Module, ModuleInner, supported_features};
use crate::translate::translate_function;
use crate::types::{DefinedFuncIndex, FuncIndex, FuncType, ValType};
use cranelift_codegen::ir::{AbiParam, InstBuilder, MemFlagsData, Signature, types};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_entity::EntityRef;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, Module as _};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex};
use wasmparser::{
    BinaryReader, FuncToValidate, FunctionBody, Parser, ValidPayload, Validator, ValidatorResources,
};

/// An entry trampoline.
pub(crate) type EntryFn = unsafe extern "C" fn(*mut VmCtx, *mut u64);

/// A module's code, compiled function by function.
pub(crate) struct JitCode {
    /// Native code of every defined function (JIT calling convention), null until compiled.
    /// JIT code reads it directly.
    table: Box<[AtomicPtr<u8>]>,
    entries: Box<[AtomicPtr<u8>]>,
    lazy: Mutex<Lazy>,
}

/// What compiling one more function needs.
struct Lazy {
    jm: Option<JITModule>,
    fctx: FunctionBuilderContext,
    /// Each defined function's validator input and body range in the module's bytes, taken
    /// when it is compiled.
    funcs: Vec<Option<(FuncToValidate<ValidatorResources>, std::ops::Range<usize>)>>,
    libcalls: Libcalls,
    types: Vec<FuncType>,
    func_types: Vec<u32>,
    globals: Vec<ValType>,
    memory64: Vec<bool>,
    tables64: Vec<bool>,
    canon: bool,
    host_cc: cranelift_codegen::isa::CallConv,
    /// Start addresses of the functions with hardware trap sites (`signals.rs`).
    regions: Vec<usize>,
}

// SAFETY: the code is immutable once finalized and the pointers point into it; everything
// mutable (the Cranelift module, the validator inputs) is behind the mutex.
unsafe impl Send for JitCode {}
unsafe impl Sync for JitCode {}

impl std::fmt::Debug for JitCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JitCode({} functions)", self.table.len())
    }
}

impl Drop for JitCode {
    fn drop(&mut self) {
        let lazy = self.lazy.get_mut().unwrap_or_else(|e| e.into_inner());
        lazy.regions.sort_unstable();
        signals::unregister(&lazy.regions);
        if let Some(m) = lazy.jm.take() {
            // SAFETY: the last owner is gone: no context, and so no running code, refers to it.
            unsafe { m.free_memory() };
        }
    }
}

impl JitCode {
    /// The code table, for JIT code.
    pub(crate) fn table(&self) -> *const *const u8 {
        self.table.as_ptr().cast()
    }

    /// The native code of defined function `def` of `m`, compiled if it is not yet.
    pub(crate) fn native(&self, m: &ModuleInner, def: DefinedFuncIndex) -> Result<*const u8> {
        let p = self.table[def.index()].load(Ordering::Acquire);
        if !p.is_null() {
            return Ok(p);
        }
        let mut lazy = self.lazy.lock().unwrap_or_else(|e| e.into_inner());
        lazy.function(m, def, &self.table)
    }

    /// The entry trampoline of defined function `def` of `m`, compiled (with the function) if
    /// it is not yet.
    pub(crate) fn entry(&self, m: &ModuleInner, def: DefinedFuncIndex) -> Result<EntryFn> {
        let mut p = self.entries[def.index()].load(Ordering::Acquire);
        if p.is_null() {
            let native = self.native(m, def)?;
            let mut lazy = self.lazy.lock().unwrap_or_else(|e| e.into_inner());
            p = self.entries[def.index()].load(Ordering::Acquire);
            if p.is_null() {
                p = lazy.entry(m, def, native)?.cast_mut();
                self.entries[def.index()].store(p, Ordering::Release);
            }
        }
        // SAFETY: the trampoline was compiled with exactly this signature.
        Ok(unsafe { std::mem::transmute::<*mut u8, EntryFn>(p) })
    }
}

/// The module's code for this canonicalization setting, set up on first use (no function is
/// compiled yet).
pub(crate) fn code_for(module: &Module, canon: bool) -> Result<Arc<JitCode>> {
    module.inner.jit[usize::from(canon)]
        .get_or_init(|| {
            prepare(&module.inner, canon)
                .map(Arc::new)
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(Error::Internal)
}

fn cl_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("JIT: {what}: {e}"))
}

/// The host ISA, a Cranelift module for it, and each function's validator input.
fn prepare(m: &ModuleInner, canon: bool) -> Result<JitCode> {
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
        .finish(settings::Flags::new(flags))
        .map_err(|e| cl_error("host ISA", e))?;
    let host_cc = isa.default_call_conv();
    let jm = JITModule::new(JITBuilder::with_isa(
        isa,
        cranelift_module::default_libcall_names(),
    ));
    let mut funcs = Vec::with_capacity(m.code.len());
    let mut validator = Validator::new_with_features(supported_features());
    for payload in Parser::new(0).parse_all(&m.bytes) {
        let payload = payload?;
        if let ValidPayload::Func(func, body) = validator.payload(&payload)? {
            let r = body.range();
            funcs.push(Some((func, r.start as usize..r.end as usize)));
        }
    }
    let n = funcs.len();
    let nulls = || {
        (0..n)
            .map(|_| AtomicPtr::new(std::ptr::null_mut()))
            .collect()
    };
    Ok(JitCode {
        table: nulls(),
        entries: nulls(),
        lazy: Mutex::new(Lazy {
            jm: Some(jm),
            fctx: FunctionBuilderContext::new(),
            funcs,
            libcalls: Libcalls::new(host_cc),
            types: m.types.values().cloned().collect(),
            func_types: m.funcs.values().map(|t| t.as_u32()).collect(),
            globals: m.globals.values().map(|g| g.content).collect(),
            memory64: m.memories.values().map(|t| t.memory64).collect(),
            tables64: m.tables.values().map(|t| t.table64).collect(),
            canon,
            host_cc,
            regions: Vec::new(),
        }),
    })
}

impl Lazy {
    /// Compiles defined function `def` and enters it in `table`.
    fn function(
        &mut self,
        m: &ModuleInner,
        def: DefinedFuncIndex,
        table: &[AtomicPtr<u8>],
    ) -> Result<*const u8> {
        let existing = table[def.index()].load(Ordering::Acquire);
        if !existing.is_null() {
            return Ok(existing);
        }
        let Some((func, range)) = self.funcs[def.index()].take() else {
            return Err(cl_error("compile", "an earlier compilation of it failed"));
        };
        let jm = self
            .jm
            .as_mut()
            .expect("the module lives as long as its code");
        let fi = FuncIndex::from_u32(m.num_imported_funcs + def.as_u32());
        let ty = &m.types[m.funcs[fi]];
        let sig = wasm_signature(ty);
        let id = jm
            .declare_function(&format!("wasm{}", def.as_u32()), Linkage::Local, &sig)
            .map_err(|e| cl_error("declare", e))?;
        let menv = ModuleEnv {
            types: &self.types,
            func_types: &self.func_types,
            globals: &self.globals,
            memory64: &self.memory64,
            tables64: &self.tables64,
            num_imported_funcs: m.num_imported_funcs,
            canon: self.canon,
            libcalls: &self.libcalls,
            frontend: jm.isa().frontend_config(),
        };
        let mut ctx = jm.make_context();
        ctx.func.signature = sig;
        let body = FunctionBody::new(BinaryReader::new(
            &m.bytes[range.clone()],
            range.start as u64,
        ));
        let mut fv = func.into_validator(Default::default());
        let sites = {
            let b = FunctionBuilder::new(&mut ctx.func, &mut self.fctx);
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
        jm.define_function(id, &mut ctx)
            .map_err(|e| cl_error(&format!("function {}", fi.as_u32()), format!("{e:?}")))?;
        let (len, by_offset) = site_offsets(&ctx, &sites)?;
        jm.clear_context(&mut ctx);
        jm.finalize_definitions()
            .map_err(|e| cl_error("finalize", e))?;
        let p = jm.get_finalized_function(id);
        if !by_offset.is_empty() {
            signals::register(p as usize, len, by_offset);
            self.regions.push(p as usize);
        }
        table[def.index()].store(p.cast_mut(), Ordering::Release);
        Ok(p)
    }

    /// Compiles the entry trampoline of defined function `def`, whose code is `native`.
    fn entry(
        &mut self,
        m: &ModuleInner,
        def: DefinedFuncIndex,
        native: *const u8,
    ) -> Result<*const u8> {
        let jm = self
            .jm
            .as_mut()
            .expect("the module lives as long as its code");
        let fi = FuncIndex::from_u32(m.num_imported_funcs + def.as_u32());
        let ty = &m.types[m.funcs[fi]];
        let mut entry_sig = Signature::new(self.host_cc);
        entry_sig.params.push(AbiParam::new(types::I64));
        entry_sig.params.push(AbiParam::new(types::I64));
        let id = jm
            .declare_function(
                &format!("entry{}", def.as_u32()),
                Linkage::Local,
                &entry_sig,
            )
            .map_err(|e| cl_error("declare", e))?;
        let frontend = jm.isa().frontend_config();
        let mut ctx = jm.make_context();
        ctx.func.signature = entry_sig;
        {
            let mut b = FunctionBuilder::new(&mut ctx.func, &mut self.fctx);
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
            let callee = b.ins().iconst(types::I64, native as i64);
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
