//! The Rust functions JIT code calls: exits to the driver (traps, the step limit, host calls),
//! calls that leave the instance, and the instructions whose work is not worth inlining (bulk
//! memory and table operations, `memory.grow`).
//!
//! They run on the coroutine's stack. A call that ends in a trap, a host error or an exit never
//! resumes, and the engine discards the stack without unwinding it, so no function here keeps
//! anything that needs dropping across a suspension (`call`'s argument buffer is a plain
//! allocation, leaked in that case).
//!
//! Fallible operations return 0 or a trap code plus one; JIT code goes to its trap site then.

use super::{Shared, VmCtx};
use crate::engine::Exit;
use crate::store::{FuncKind, StoreInner};
use crate::trap::TrapCode;
use crate::types::{Func, ValType};
use cranelift_codegen::isa::CallConv;

/// Addresses of the libcalls, for JIT code to call.
pub(crate) struct Libcalls {
    pub call_conv: CallConv,
    pub trap: usize,
    pub budget: usize,
    pub hand_over: usize,
    pub throw: usize,
    pub call: usize,
    pub resolve: usize,
    pub tail_target: usize,
    pub resolve_ref: usize,
    pub load_x: usize,
    pub store_x: usize,
    pub memory_size_x: usize,
    pub memory_grow_x: usize,
    pub memory_fill_x: usize,
    pub memory_copy_x: usize,
    pub memory_init_x: usize,
    pub data_drop: usize,
    pub table_init: usize,
    pub elem_drop: usize,
    pub table_copy: usize,
    pub table_get: usize,
    pub table_set: usize,
    pub table_size: usize,
    pub table_grow: usize,
    pub table_fill: usize,
    pub compile: usize,
    pub simd: usize,
    pub v128_load_x: usize,
    pub v128_store_x: usize,
    pub resume_frame: usize,
    pub watch_hit: usize,
}

impl Libcalls {
    pub(crate) fn new(call_conv: CallConv) -> Libcalls {
        Libcalls {
            call_conv,
            trap: trap as *const () as usize,
            budget: budget as *const () as usize,
            hand_over: hand_over as *const () as usize,
            throw: throw as *const () as usize,
            call: call as *const () as usize,
            resolve: resolve as *const () as usize,
            tail_target: tail_target as *const () as usize,
            resolve_ref: resolve_ref as *const () as usize,
            load_x: load_x as *const () as usize,
            store_x: store_x as *const () as usize,
            memory_size_x: memory_size_x as *const () as usize,
            memory_grow_x: memory_grow_x as *const () as usize,
            memory_fill_x: memory_fill_x as *const () as usize,
            memory_copy_x: memory_copy_x as *const () as usize,
            memory_init_x: memory_init_x as *const () as usize,
            data_drop: data_drop as *const () as usize,
            table_init: table_init as *const () as usize,
            elem_drop: elem_drop as *const () as usize,
            table_copy: table_copy as *const () as usize,
            table_get: table_get as *const () as usize,
            table_set: table_set as *const () as usize,
            table_size: table_size as *const () as usize,
            table_grow: table_grow as *const () as usize,
            table_fill: table_fill as *const () as usize,
            compile: compile as *const () as usize,
            simd: simd as *const () as usize,
            v128_load_x: v128_load_x as *const () as usize,
            v128_store_x: v128_store_x as *const () as usize,
            resume_frame: resume_frame as *const () as usize,
            watch_hit: watch_hit as *const () as usize,
        }
    }
}

/// The shared state and the store of the call that `vmctx`'s code runs in.
///
/// # Safety
/// `vmctx` must be a context of the running engine, called from its JIT code while it runs.
unsafe fn parts<'a>(vmctx: *mut VmCtx) -> (&'a mut Shared, &'a mut StoreInner) {
    // SAFETY: the engine set both pointers before resuming the code that called us, and
    // nothing else uses them while it runs.
    unsafe {
        let sh = &mut *(*vmctx).shared;
        let store = &mut *sh.store;
        (sh, store)
    }
}

/// Suspends the call with `exit`; returns when the driver resumes it.
///
/// # Safety
/// As [`parts`].
unsafe fn suspend(vmctx: *mut VmCtx, exit: Exit) {
    // SAFETY: the yielder belongs to the coroutine this runs on.
    unsafe {
        let y = (*(*vmctx).shared).yielder;
        (*y).suspend(exit);
    }
}

/// Suspends with an exit that the driver never resumes.
///
/// # Safety
/// As [`parts`].
unsafe fn suspend_for_good(vmctx: *mut VmCtx, exit: Exit) -> ! {
    // SAFETY: as `suspend`.
    unsafe { suspend(vmctx, exit) };
    // The engine discards a call that trapped or stopped for a hand-over; resuming it is a
    // bug that must not run guest code on.
    std::process::abort()
}

fn status(r: Result<(), TrapCode>) -> u32 {
    match r {
        Ok(()) => 0,
        Err(code) => u32::from(code.as_u8()) + 1,
    }
}

/// A trap: `uncounted` steps of the position did not complete.
unsafe extern "C" fn trap(vmctx: *mut VmCtx, code: u32, uncounted: u64) {
    // SAFETY: called by JIT code (see `parts`).
    unsafe {
        let (sh, _) = parts(vmctx);
        sh.uncounted = uncounted;
        let code = TrapCode::from_u8(code as u8).unwrap_or(TrapCode::UnreachableCodeReached);
        suspend_for_good(vmctx, Exit::Trap(code));
    }
}

/// The step limit: the innermost frame stopped at a run head (or right after a call), its
/// state stored. Returns only if the engine resumes the JIT code (a soft budget pause, see
/// `JitEngine::run`); otherwise the call is handed over and this stack discarded.
unsafe extern "C" fn budget(vmctx: *mut VmCtx) {
    // SAFETY: called by JIT code.
    unsafe { suspend(vmctx, Exit::StepBudget) }
}

/// JIT code stopped at an exact position with its state stored (the native stack is short at
/// a function's entry, the function has a breakpoint, a frame cannot be resumed): the
/// interpreter takes the call over from there.
unsafe extern "C" fn hand_over(vmctx: *mut VmCtx) {
    // SAFETY: called by JIT code.
    unsafe { suspend_for_good(vmctx, Exit::HandOver) }
}

/// A throw: the innermost frame stopped at it, its state stored, with `uncounted` steps of
/// its run (the throw's) not completed. The interpreter takes over from there and unwinds.
unsafe extern "C" fn throw(vmctx: *mut VmCtx, uncounted: u64) {
    // SAFETY: called by JIT code.
    unsafe {
        let (sh, _) = parts(vmctx);
        sh.pos -= uncounted;
        suspend_for_good(vmctx, Exit::HandOver);
    }
}

/// Calls function `func` (a store handle) with the arguments at `args`; returns where its
/// results are. Host functions go to the driver; Wasm functions of other instances run through
/// their entry trampolines.
unsafe extern "C" fn call(vmctx: *mut VmCtx, func: u32, args: *const u64) -> *const u64 {
    // SAFETY: called by JIT code; `args` points at the caller's top operands in its state slot.
    unsafe {
        let (sh, store) = parts(vmctx);
        let f = Func::from_u32(func);
        match store.funcs[f].kind {
            FuncKind::Host { .. } => {
                sh.args = args;
                suspend(vmctx, Exit::Host(f));
                (*(*vmctx).shared).results.as_ptr()
            }
            FuncKind::Wasm { instance, def } => {
                if sh.depth >= sh.max_depth {
                    // A call ends its run: only the call itself is not completed.
                    sh.uncounted = 1;
                    suspend_for_good(vmctx, Exit::Trap(TrapCode::CallStackExhausted));
                }
                let ty = &store.funcs[f].ty;
                let (np, nr) = (
                    ValType::cells_of(ty.params()),
                    ValType::cells_of(ty.results()),
                );
                let callee = context_of(sh, store, instance);
                let entry = compiled(
                    (*callee)
                        .code
                        .entry(&store.instances[instance].module.inner, def),
                );
                let mut buf = vec![0u64; np.max(nr)];
                buf[..np].copy_from_slice(std::slice::from_raw_parts(args, np));
                let buf = Box::leak(buf.into_boxed_slice()).as_mut_ptr();
                (*(*vmctx).shared).depth += 1;
                entry(callee, buf);
                let sh = &mut *(*vmctx).shared;
                sh.depth -= 1;
                if sh.results.len() < nr {
                    sh.results.resize(nr, 0);
                }
                let vals = Box::from_raw(std::ptr::slice_from_raw_parts_mut(buf, np.max(nr)));
                sh.results[..nr].copy_from_slice(&vals[..nr]);
                sh.results.as_ptr()
            }
        }
    }
}

/// The context of `instance`, which `start` made (compiling every instance's module), so
/// this cannot fail now.
fn context_of(sh: &mut Shared, store: &StoreInner, instance: crate::store::Instance) -> *mut VmCtx {
    match sh.vmctx(store, instance) {
        Ok(v) => v,
        Err(_) => std::process::abort(),
    }
}

/// Where a tail call of function `func` (a store handle) goes: the native code of a Wasm
/// function, whatever its instance, with that instance's context in `resolved`; 0 for a host
/// function, which JIT code calls through [`call`].
unsafe extern "C" fn tail_target(vmctx: *mut VmCtx, func: u32) -> u64 {
    // SAFETY: called by JIT code.
    unsafe {
        let (sh, store) = parts(vmctx);
        let FuncKind::Wasm { instance, def } = store.funcs[Func::from_u32(func)].kind else {
            return 0;
        };
        let callee = context_of(sh, store, instance);
        let code = compiled(
            (*callee)
                .code
                .native(&store.instances[instance].module.inner, def),
        );
        (*(*vmctx).shared).resolved = callee as u64;
        code as u64
    }
}

/// `call_indirect`'s checks: the element's function, if it has the expected type. Returns its
/// code when it is this instance's own, else 0 with the function in `resolved`.
unsafe extern "C" fn resolve(vmctx: *mut VmCtx, table: u32, index: u64, type_index: u32) -> u64 {
    // SAFETY: called by JIT code.
    unsafe {
        let (sh, store) = parts(vmctx);
        let me = (*vmctx).instance;
        let inst = &store.instances[me];
        let t = &store.tables[inst.tables[table as usize]];
        let fail = |code| {
            // `call_indirect` ends its run: only it is not completed.
            (*(*vmctx).shared).uncounted = 1;
            suspend_for_good(vmctx, Exit::Trap(code))
        };
        let Some(&cell) = t.elements.get(index as usize) else {
            fail(TrapCode::UndefinedElement)
        };
        if cell == 0 {
            fail(TrapCode::UninitializedElement);
        }
        let f = Func::from_u32((cell - 1) as u32);
        if store.funcs[f].sig != inst.sigs[type_index as usize] {
            fail(TrapCode::IndirectCallTypeMismatch);
        }
        match store.funcs[f].kind {
            FuncKind::Wasm { instance, def } if instance == me => {
                compiled((*vmctx).code.native(&inst.module.inner, def)) as u64
            }
            _ => {
                sh.resolved = u64::from(f.as_u32());
                0
            }
        }
    }
}

/// `call_ref`'s callee, a non-null function reference: its code when it is this instance's
/// own, else 0 with the function in `resolved` (the type was checked by validation).
unsafe extern "C" fn resolve_ref(vmctx: *mut VmCtx, cell: u64) -> u64 {
    // SAFETY: called by JIT code.
    unsafe {
        let (sh, store) = parts(vmctx);
        let me = (*vmctx).instance;
        let f = Func::from_u32((cell - 1) as u32);
        match store.funcs[f].kind {
            FuncKind::Wasm { instance, def } if instance == me => {
                compiled((*vmctx).code.native(&store.instances[me].module.inner, def)) as u64
            }
            _ => {
                sh.resolved = u64::from(f.as_u32());
                0
            }
        }
    }
}

unsafe extern "C" fn data_drop(vmctx: *mut VmCtx, seg: u32) -> u32 {
    // SAFETY: called by JIT code.
    unsafe {
        let (_, store) = parts(vmctx);
        store.segments[(*vmctx).instance].dropped_datas[seg as usize] = true;
        0
    }
}

unsafe extern "C" fn table_init(
    vmctx: *mut VmCtx,
    table: u32,
    seg: u32,
    dst: u64,
    src: u32,
    n: u32,
) -> u32 {
    // SAFETY: called by JIT code.
    unsafe {
        let (_, store) = parts(vmctx);
        let me = (*vmctx).instance;
        let inst = &store.instances[me];
        let items: &[u64] = if store.segments[me].dropped_elems[seg as usize] {
            &[]
        } else {
            &inst.elems[seg as usize]
        };
        status(crate::bulk::table_init(
            &mut store.tables[inst.tables[table as usize]],
            items,
            dst,
            u64::from(src),
            u64::from(n),
        ))
    }
}

unsafe extern "C" fn elem_drop(vmctx: *mut VmCtx, seg: u32) -> u32 {
    // SAFETY: called by JIT code.
    unsafe {
        let (_, store) = parts(vmctx);
        store.segments[(*vmctx).instance].dropped_elems[seg as usize] = true;
        0
    }
}

unsafe extern "C" fn table_copy(
    vmctx: *mut VmCtx,
    dst_table: u32,
    src_table: u32,
    dst: u64,
    src: u64,
    n: u64,
) -> u32 {
    // SAFETY: called by JIT code.
    unsafe {
        let (_, store) = parts(vmctx);
        let inst = &store.instances[(*vmctx).instance];
        let (dt, st) = (
            inst.tables[dst_table as usize],
            inst.tables[src_table as usize],
        );
        status(crate::bulk::table_copy(
            &mut store.tables,
            dt,
            st,
            dst,
            src,
            n,
        ))
    }
}

unsafe extern "C" fn table_get(vmctx: *mut VmCtx, table: u32, index: u64) -> u32 {
    // SAFETY: called by JIT code.
    unsafe {
        let (sh, store) = parts(vmctx);
        let t = &store.tables[store.instances[(*vmctx).instance].tables[table as usize]];
        match t.elements.get(index as usize) {
            Some(&v) => {
                sh.resolved = v;
                0
            }
            None => status(Err(TrapCode::TableOutOfBounds)),
        }
    }
}

unsafe extern "C" fn table_set(vmctx: *mut VmCtx, table: u32, index: u64, value: u64) -> u32 {
    // SAFETY: called by JIT code.
    unsafe {
        let (_, store) = parts(vmctx);
        let t = store.instances[(*vmctx).instance].tables[table as usize];
        match store.tables[t].elements.get_mut(index as usize) {
            Some(e) => {
                *e = value;
                0
            }
            None => status(Err(TrapCode::TableOutOfBounds)),
        }
    }
}

unsafe extern "C" fn table_size(vmctx: *mut VmCtx, table: u32) -> u64 {
    // SAFETY: called by JIT code.
    unsafe {
        let (_, store) = parts(vmctx);
        let t = store.instances[(*vmctx).instance].tables[table as usize];
        store.tables[t].elements.len() as u64
    }
}

unsafe extern "C" fn table_grow(vmctx: *mut VmCtx, table: u32, init: u64, n: u64) -> u64 {
    // SAFETY: called by JIT code.
    unsafe {
        let (_, store) = parts(vmctx);
        let t = store.instances[(*vmctx).instance].tables[table as usize];
        let limit = store.config.max_table_elements;
        crate::bulk::table_grow(&mut store.tables[t], n, init, limit)
    }
}

unsafe extern "C" fn table_fill(vmctx: *mut VmCtx, table: u32, i: u64, v: u64, n: u64) -> u32 {
    // SAFETY: called by JIT code.
    unsafe {
        let (_, store) = parts(vmctx);
        let t = store.instances[(*vmctx).instance].tables[table as usize];
        status(crate::bulk::table_fill(&mut store.tables[t], i, v, n))
    }
}

/// A compiled function, or the end of the process: compiling code the translator accepted
/// cannot fail short of a bug, and a call in progress has no way back to the interpreter.
fn compiled<T>(r: crate::Result<T>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => {
            eprintln!("deja: internal error: {e}");
            std::process::exit(110)
        }
    }
}

/// A frame of a resumed snapshot entered its resume variant (`env::JitEnv::fill_dispatch`):
/// fills its state slot `slot` in from the snapshot's next frame, and returns the key of its
/// resume point. A caller resumes at its call, of the next frame's resume variant (in
/// `resolved`), with the callee's parameters as the call's arguments. For the innermost
/// frame the limits come back, and the resume is over. `u64::MAX` if the frame cannot be
/// resumed (the function then hands over, and the engine goes on from the snapshot on the
/// interpreter).
unsafe extern "C" fn resume_frame(vmctx: *mut VmCtx, slot: *mut u64) -> u64 {
    // SAFETY: called by JIT code; `slot` is the calling function's state slot, which has room
    // for its locals and its operand stack's maximum.
    unsafe {
        let (sh, store) = parts(vmctx);
        let Some(r) = sh.resume.as_mut() else {
            return u64::MAX;
        };
        let Some(f) = r.state.frames.get(r.next).copied() else {
            return u64::MAX;
        };
        let id = (u64::from(f.instance.as_u32()) << 32) | u64::from(f.def.as_u32());
        if *slot.add(1) != id {
            return u64::MAX;
        }
        let next = r.state.frames.get(r.next + 1).copied();
        let end = next.map_or(r.state.values.len(), |n| n.base as usize);
        let values = &r.state.values[f.base as usize..end];
        let dst = slot.add(super::slot::VALUES);
        std::ptr::copy_nonoverlapping(values.as_ptr(), dst, values.len());
        *slot.add(2) = u64::from(f.pc);
        r.next += 1;
        match next {
            Some(n) => {
                // The call's arguments: the callee's parameters, its first locals.
                let params = ValType::cells_of(store.funcs[n.func].ty.params());
                let args = &r.state.values[n.base as usize..n.base as usize + params];
                std::ptr::copy_nonoverlapping(args.as_ptr(), dst.add(values.len()), args.len());
                let m = &store.instances[n.instance].module.inner;
                match (*vmctx).code.resumable(m, n.def) {
                    Ok(p) => sh.resolved = p as u64,
                    Err(_) => return u64::MAX,
                }
                super::resume_key(f.pc, true)
            }
            None => {
                sh.limit = r.limit;
                sh.call_limit = r.call_limit;
                sh.resuming = 0;
                super::resume_key(f.pc, false)
            }
        }
    }
}

/// Whether a store of `len` bytes at `addr` of memory 0 writes a watched byte.
unsafe extern "C" fn watch_hit(vmctx: *mut VmCtx, addr: u64, len: u64) -> u32 {
    // SAFETY: called by JIT code.
    unsafe {
        let (_, store) = parts(vmctx);
        let mem = store.instances[(*vmctx).instance].mem0;
        u32::from(store.breakpoints.watch_hit(mem, addr, len))
    }
}

/// The first call of defined function `def` of this instance's module: compiles it.
unsafe extern "C" fn compile(vmctx: *mut VmCtx, def: u32) -> *const u8 {
    // SAFETY: called by JIT code.
    unsafe {
        let (_, store) = parts(vmctx);
        let m = &store.instances[(*vmctx).instance].module.inner;
        compiled(
            (*vmctx)
                .code
                .native(m, crate::types::DefinedFuncIndex::from_u32(def)),
        )
    }
}

// The general memory path: any memory of the instance, 64-bit addresses, offsets beyond 32
// bits (memory 0 with 32-bit addresses is inline in JIT code). Each takes the memory's index
// in the module and does what the interpreter's general ops do (`bulk.rs`).

/// The store handle of memory `mem` of `vmctx`'s instance.
///
/// # Safety
/// As [`parts`].
unsafe fn memory_of(vmctx: *mut VmCtx, store: &StoreInner, mem: u32) -> crate::store::Memory {
    // SAFETY: as `parts`.
    unsafe { store.instances[(*vmctx).instance].memories[mem as usize] }
}

const LOAD_KINDS: [crate::code::LoadKind; 9] = {
    use crate::code::LoadKind as K;
    [
        K::U32,
        K::U64,
        K::U8,
        K::U16,
        K::I32S8,
        K::I32S16,
        K::I64S8,
        K::I64S16,
        K::I64S32,
    ]
};

/// A load; the cell read goes to `resolved`.
unsafe extern "C" fn load_x(vmctx: *mut VmCtx, mem: u32, addr: u64, offset: u64, kind: u32) -> u32 {
    // SAFETY: called by JIT code.
    unsafe {
        let (sh, store) = parts(vmctx);
        let m = memory_of(vmctx, store, mem);
        let kind = LOAD_KINDS[kind as usize];
        status(crate::bulk::load(&store.memories[m], addr, offset, kind).map(|v| sh.resolved = v))
    }
}

unsafe extern "C" fn store_x(
    vmctx: *mut VmCtx,
    mem: u32,
    addr: u64,
    offset: u64,
    value: u64,
    width: u32,
) -> u32 {
    use crate::code::StoreWidth as W;
    // SAFETY: called by JIT code.
    unsafe {
        let (_, store) = parts(vmctx);
        let m = memory_of(vmctx, store, mem);
        let width = match width {
            1 => W::W8,
            2 => W::W16,
            4 => W::W32,
            _ => W::W64,
        };
        status(crate::bulk::store(
            &mut store.memories[m],
            addr,
            offset,
            width,
            value,
        ))
    }
}

/// A SIMD operator that JIT code leaves to `crate::simd`: operator `op` of class `class` (see
/// `env::vector::class`) on the `v128`s at `io`, `io + 16` and `io + 32`; the result goes to
/// `io`.
unsafe extern "C" fn simd(class: u32, op: u32, canon: u32, io: *mut u8) {
    use super::env::vector::class as c;
    use crate::simd::{SimdBin, SimdTer, SimdUn};
    let canon = canon != 0;
    // SAFETY: JIT code passes its 16-aligned 48-byte SIMD stack slot.
    unsafe {
        let io = io.cast::<u128>();
        let (a, b, x) = (io.read(), io.add(1).read(), io.add(2).read());
        let r = match class {
            c::UN => crate::simd::un(SimdUn::ALL[op as usize], a, canon),
            c::BIN => crate::simd::bin(SimdBin::ALL[op as usize], a, b, canon),
            _ => crate::simd::ter(SimdTer::ALL[op as usize], a, b, x, canon),
        };
        io.write(r);
    }
}

/// A SIMD load on the general path: the `len` bytes at `addr + offset` of memory `mem` into
/// `io` (a status, as the other general-path libcalls return).
unsafe extern "C" fn v128_load_x(
    vmctx: *mut VmCtx,
    mem: u32,
    addr: u64,
    offset: u64,
    len: u32,
    io: *mut u8,
) -> u32 {
    // SAFETY: called by JIT code, `io` its SIMD stack slot.
    unsafe {
        let (_, store) = parts(vmctx);
        let m = memory_of(vmctx, store, mem);
        status(
            crate::bulk::load_bytes(&store.memories[m], addr, offset, u64::from(len))
                .map(|v| io.cast::<u128>().write(v)),
        )
    }
}

/// A SIMD store on the general path: the first `len` bytes at `io` to `addr + offset` of
/// memory `mem`.
unsafe extern "C" fn v128_store_x(
    vmctx: *mut VmCtx,
    mem: u32,
    addr: u64,
    offset: u64,
    len: u32,
    io: *mut u8,
) -> u32 {
    // SAFETY: called by JIT code, `io` its SIMD stack slot.
    unsafe {
        let (_, store) = parts(vmctx);
        let m = memory_of(vmctx, store, mem);
        let v = io.cast::<u128>().read();
        status(crate::bulk::store_bytes(
            &mut store.memories[m],
            addr,
            offset,
            u64::from(len),
            v,
        ))
    }
}

unsafe extern "C" fn memory_size_x(vmctx: *mut VmCtx, mem: u32) -> u64 {
    // SAFETY: called by JIT code.
    unsafe {
        let (_, store) = parts(vmctx);
        let m = memory_of(vmctx, store, mem);
        store.memories[m].pages()
    }
}

unsafe extern "C" fn memory_grow_x(vmctx: *mut VmCtx, mem: u32, delta: u64) -> u64 {
    // SAFETY: called by JIT code.
    unsafe {
        let (sh, store) = parts(vmctx);
        let m = memory_of(vmctx, store, mem);
        let max = store.config.max_memory_pages;
        let r = crate::bulk::memory_grow(&mut store.memories[m], delta, max);
        // The memory may have moved (it may be another instance's memory 0).
        sh.refresh(store);
        r
    }
}

unsafe extern "C" fn memory_fill_x(
    vmctx: *mut VmCtx,
    mem: u32,
    dst: u64,
    value: u32,
    n: u64,
) -> u32 {
    // SAFETY: called by JIT code.
    unsafe {
        let (_, store) = parts(vmctx);
        let m = memory_of(vmctx, store, mem);
        let m = &mut store.memories[m];
        let (dst, n) = (crate::bulk::address(m, dst), crate::bulk::address(m, n));
        status(crate::bulk::memory_fill(m, dst, value as u8, n))
    }
}

unsafe extern "C" fn memory_copy_x(
    vmctx: *mut VmCtx,
    dst_mem: u32,
    src_mem: u32,
    dst: u64,
    src: u64,
    n: u64,
) -> u32 {
    // SAFETY: called by JIT code.
    unsafe {
        let (_, store) = parts(vmctx);
        let (d, s) = (
            memory_of(vmctx, store, dst_mem),
            memory_of(vmctx, store, src_mem),
        );
        status(crate::bulk::memory_copy_x(
            &mut store.memories,
            d,
            s,
            dst,
            src,
            n,
        ))
    }
}

unsafe extern "C" fn memory_init_x(
    vmctx: *mut VmCtx,
    mem: u32,
    seg: u32,
    dst: u64,
    src: u32,
    n: u32,
) -> u32 {
    // SAFETY: called by JIT code.
    unsafe {
        let (_, store) = parts(vmctx);
        let me = (*vmctx).instance;
        let m = memory_of(vmctx, store, mem);
        let inst = &store.instances[me];
        let bytes: &[u8] = if store.segments[me].dropped_datas[seg as usize] {
            &[]
        } else {
            &inst.module.inner.datas[crate::types::DataIndex::from_u32(seg)].bytes
        };
        let memory = &mut store.memories[m];
        let dst = crate::bulk::address(memory, dst);
        status(crate::bulk::memory_init(
            memory,
            bytes,
            dst,
            u64::from(src),
            u64::from(n),
        ))
    }
}
