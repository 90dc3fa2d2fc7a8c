//! Compiling a module: every defined function through the shared translator into Cranelift,
//! plus one entry trampoline per function (`extern "C" fn(vmctx, values)`: arguments in, results
//! out, as cells) through which the runtime calls in. The code is kept in the module, once per
//! NaN-canonicalization setting, for every store of the process.

use super::VmCtx;
use super::env::{JitEnv, ModuleEnv, ir_type, to_cell, wasm_signature};
use super::libcalls::Libcalls;
use crate::error::{Error, Result};
use crate::module::{Module, ModuleInner, supported_features};
use crate::translate::translate_function;
use crate::types::{DefinedFuncIndex, FuncIndex, FuncType, ValType};
use cranelift_codegen::ir::{AbiParam, InstBuilder, MemFlagsData, Signature, types};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_entity::EntityRef;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Linkage, Module as _};
use std::sync::Arc;
use wasmparser::{Parser, ValidPayload, Validator};

/// An entry trampoline.
pub(crate) type EntryFn = unsafe extern "C" fn(*mut VmCtx, *mut u64);

/// A module's compiled code.
pub(crate) struct JitCode {
    module: Option<JITModule>,
    native: Vec<*const u8>,
    entries: Vec<EntryFn>,
}

// SAFETY: the code is immutable once finalized; the pointers point into it.
unsafe impl Send for JitCode {}
unsafe impl Sync for JitCode {}

impl std::fmt::Debug for JitCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JitCode({} functions)", self.native.len())
    }
}

impl Drop for JitCode {
    fn drop(&mut self) {
        if let Some(m) = self.module.take() {
            // SAFETY: the last owner is gone: no context, and so no running code, refers to it.
            unsafe { m.free_memory() };
        }
    }
}

impl JitCode {
    /// The entry trampoline of defined function `def`.
    pub(crate) fn entry(&self, def: DefinedFuncIndex) -> EntryFn {
        self.entries[def.index()]
    }

    /// The native code of defined function `def` (JIT calling convention).
    pub(crate) fn native(&self, def: DefinedFuncIndex) -> *const u8 {
        self.native[def.index()]
    }
}

/// The module's code for this canonicalization setting, compiled on first use.
pub(crate) fn code_for(module: &Module, canon: bool) -> Result<Arc<JitCode>> {
    module.inner.jit[usize::from(canon)]
        .get_or_init(|| {
            compile(&module.inner, canon)
                .map(Arc::new)
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(Error::Internal)
}

fn cl_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("JIT: {what}: {e}"))
}

fn compile(m: &ModuleInner, canon: bool) -> Result<JitCode> {
    let mut flags = settings::builder();
    for (k, v) in [
        ("opt_level", "speed"),
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
    ] {
        flags.set(k, v).map_err(|e| cl_error(k, e))?;
    }
    let isa = cranelift_native::builder()
        .map_err(|e| cl_error("host ISA", e))?
        .finish(settings::Flags::new(flags))
        .map_err(|e| cl_error("host ISA", e))?;
    let host_cc = isa.default_call_conv();
    let mut jm = JITModule::new(JITBuilder::with_isa(
        isa,
        cranelift_module::default_libcall_names(),
    ));
    let libcalls = Libcalls::new(host_cc);
    let types: Vec<FuncType> = m.types.values().cloned().collect();
    let func_types: Vec<u32> = m.funcs.values().map(|t| t.as_u32()).collect();
    let globals: Vec<ValType> = m.globals.values().map(|g| g.content).collect();
    let menv = ModuleEnv {
        types: &types,
        func_types: &func_types,
        globals: &globals,
        canon,
        libcalls: &libcalls,
        frontend: jm.isa().frontend_config(),
    };
    let num_defined = m.code.len();
    let mut ids: Vec<Option<FuncId>> = vec![None; m.funcs.len()];
    for d in 0..num_defined {
        let fi = FuncIndex::from_u32(m.num_imported_funcs + d as u32);
        let sig = wasm_signature(&m.types[m.funcs[fi]]);
        let id = jm
            .declare_function(&format!("wasm{d}"), Linkage::Local, &sig)
            .map_err(|e| cl_error("declare", e))?;
        ids[fi.index()] = Some(id);
    }
    let mut entry_sig = Signature::new(host_cc);
    entry_sig.params.push(AbiParam::new(types::I64));
    entry_sig.params.push(AbiParam::new(types::I64));
    let mut entry_ids = Vec::with_capacity(num_defined);
    for d in 0..num_defined {
        entry_ids.push(
            jm.declare_function(&format!("entry{d}"), Linkage::Local, &entry_sig)
                .map_err(|e| cl_error("declare", e))?,
        );
    }

    let mut fctx = FunctionBuilderContext::new();
    let mut ctx = jm.make_context();
    let mut validator = Validator::new_with_features(supported_features());
    let mut def = 0usize;
    let mut allocs = Default::default();
    for payload in Parser::new(0).parse_all(&m.bytes) {
        let payload = payload?;
        let ValidPayload::Func(func, body) = validator.payload(&payload)? else {
            continue;
        };
        let d = DefinedFuncIndex::new(def);
        def += 1;
        let fi = FuncIndex::from_u32(m.num_imported_funcs + d.as_u32());
        let ty = &m.types[m.funcs[fi]];
        ctx.func.signature = wasm_signature(ty);
        let mut fv = func.into_validator(std::mem::take(&mut allocs));
        {
            let b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
            let mut env = JitEnv::new(
                b,
                &menv,
                d.as_u32(),
                &m.local_types[d],
                m.code[d].max_stack,
                ty,
                &ids,
                &mut jm,
            );
            translate_function(&mut fv, &body, ty, &m.types, &mut env)?;
            env.finish();
        }
        allocs = fv.into_allocations();
        let id = ids[fi.index()].expect("declared above");
        jm.define_function(id, &mut ctx)
            .map_err(|e| cl_error(&format!("function {}", fi.as_u32()), format!("{e:?}")))?;
        jm.clear_context(&mut ctx);
    }

    for (d, entry_id) in entry_ids.iter().enumerate() {
        let fi = FuncIndex::from_u32(m.num_imported_funcs + d as u32);
        let ty = &m.types[m.funcs[fi]];
        ctx.func.signature = entry_sig.clone();
        {
            let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
            let block = b.create_block();
            b.append_block_params_for_function_params(block);
            b.switch_to_block(block);
            let (vmctx, values) = (b.block_params(block)[0], b.block_params(block)[1]);
            let fl = MemFlagsData::trusted();
            let mut args = vec![vmctx];
            for (i, t) in ty.params().iter().enumerate() {
                args.push(b.ins().load(ir_type(*t), fl, values, (i * 8) as i32));
            }
            let callee = jm.declare_func_in_func(ids[fi.index()].expect("declared"), b.func);
            let call = b.ins().call(callee, &args);
            let results = b.inst_results(call).to_vec();
            for (i, (r, t)) in results.into_iter().zip(ty.results()).enumerate() {
                let c = to_cell(&mut b, r, *t);
                b.ins().store(fl, c, values, (i * 8) as i32);
            }
            b.ins().return_(&[]);
            b.seal_all_blocks();
            b.finalize(menv.frontend);
        }
        jm.define_function(*entry_id, &mut ctx)
            .map_err(|e| cl_error("entry trampoline", format!("{e:?}")))?;
        jm.clear_context(&mut ctx);
    }
    jm.finalize_definitions()
        .map_err(|e| cl_error("finalize", e))?;
    let mut native = Vec::with_capacity(num_defined);
    let mut entries = Vec::with_capacity(num_defined);
    for (d, entry_id) in entry_ids.iter().enumerate() {
        let fi = FuncIndex::from_u32(m.num_imported_funcs + d as u32);
        native.push(jm.get_finalized_function(ids[fi.index()].expect("declared")));
        let e = jm.get_finalized_function(*entry_id);
        // SAFETY: the trampoline was compiled with exactly this signature.
        entries.push(unsafe { std::mem::transmute::<*const u8, EntryFn>(e) });
    }
    Ok(JitCode {
        module: Some(jm),
        native,
        entries,
    })
}
