//! On x86-64 Linux the JIT's trap sites are `ud2` instructions and faulting accesses to a
//! guarded memory, and deja handles their `SIGILL` and `SIGSEGV` (`runtime/src/jit/signals.rs`).
//! A signal that is not deja's must still reach the handler the process had before. Its own
//! test binary: it installs process-wide signal handlers.

#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use deja_runtime::{Config, EngineKind, Error, Linker, Module, Store, TrapCode, Val};
use std::sync::atomic::{AtomicUsize, Ordering};

static FOREIGN: AtomicUsize = AtomicUsize::new(0);
static FOREIGN_SEGV: AtomicUsize = AtomicUsize::new(0);
static PAGE: AtomicUsize = AtomicUsize::new(0);

/// The process's own `SIGSEGV` handler: counts, and makes its page accessible.
extern "C" fn foreign_segv(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    FOREIGN_SEGV.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the page is the test's own mapping.
    unsafe {
        libc::mprotect(
            PAGE.load(Ordering::SeqCst) as *mut libc::c_void,
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
        );
    }
}

/// The process's own handler: counts, and skips the two-byte `ud2`.
extern "C" fn foreign(_: libc::c_int, _: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    FOREIGN.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the kernel passes a valid ucontext.
    unsafe {
        let uc = &mut *ctx.cast::<libc::ucontext_t>();
        uc.uc_mcontext.gregs[libc::REG_RIP as usize] += 2;
    }
}

/// Calls export `f` of `wat` with `arg` on the JIT (asserting that JIT code ran it).
fn call_on_jit(wat: &[u8], arg: i32) -> Result<Vec<Val>, Error> {
    let module = Module::new(wat).expect("loads");
    let mut store = Store::new(Config::default(), ());
    store.set_engine(EngineKind::Jit).expect("idle");
    let instance = Linker::new()
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let f = store.get_func(instance, "f").expect("export");
    let r = store.call(f, &[Val::I32(arg)]);
    assert_eq!(store.engine_stats().jit_calls, 1);
    r
}

fn jit_trap(divisor: i32) -> Result<Vec<Val>, Error> {
    call_on_jit(
        br#"(module (func (export "f") (param i32) (result i32)
              (i32.div_u (i32.const 7) (local.get 0))))"#,
        divisor,
    )
}

fn expect_division_trap(r: Result<Vec<Val>, Error>) {
    match r {
        Err(Error::Trap(t)) => assert_eq!(t.code, TrapCode::IntegerDivisionByZero),
        other => panic!("expected a division trap, got {other:?}"),
    }
}

fn out_of_bounds(addr: i32) -> Result<Vec<Val>, Error> {
    call_on_jit(
        br#"(module (memory 1) (func (export "f") (param i32) (result i32)
              (i32.load (local.get 0))))"#,
        addr,
    )
}

fn install(sig: libc::c_int, f: usize) {
    // SAFETY: installing a handler that only touches atomics, its page and the ucontext.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = f;
        sa.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(sig, &sa, std::ptr::null_mut()), 0);
    }
}

/// One test, so that the handlers are installed in this order in the process.
#[test]
fn signals_that_are_not_dejas_reach_the_previous_handlers() {
    install(libc::SIGILL, foreign as *const () as usize);
    install(libc::SIGSEGV, foreign_segv as *const () as usize);
    // deja installs its handler over ours when the JIT first compiles a trap site.
    assert_eq!(jit_trap(7).expect("no trap"), vec![Val::I32(1)]);
    expect_division_trap(jit_trap(0));
    assert_eq!(FOREIGN.load(Ordering::SeqCst), 0, "deja's trap is deja's");
    // A `ud2` outside JIT code is the process's.
    // SAFETY: the foreign handler skips the instruction.
    unsafe { std::arch::asm!("ud2") };
    assert_eq!(FOREIGN.load(Ordering::SeqCst), 1);
    // And deja's traps still work after it.
    expect_division_trap(jit_trap(0));
    assert_eq!(FOREIGN.load(Ordering::SeqCst), 1);

    // An access beyond a guarded memory is deja's trap.
    match out_of_bounds(65534) {
        Err(Error::Trap(t)) => assert_eq!(t.code, TrapCode::MemoryOutOfBounds),
        other => panic!("expected an out-of-bounds trap, got {other:?}"),
    }
    assert_eq!(out_of_bounds(65532).expect("in bounds"), vec![Val::I32(0)]);
    assert_eq!(FOREIGN_SEGV.load(Ordering::SeqCst), 0);
    // A fault anywhere else is the process's.
    // SAFETY: a fresh private mapping; the foreign handler makes it accessible.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(p, libc::MAP_FAILED);
        PAGE.store(p as usize, Ordering::SeqCst);
        std::ptr::write_volatile(p.cast::<u8>(), 5);
        assert_eq!(std::ptr::read_volatile(p.cast::<u8>()), 5);
        libc::munmap(p, 4096);
    }
    assert_eq!(FOREIGN_SEGV.load(Ordering::SeqCst), 1);
}
