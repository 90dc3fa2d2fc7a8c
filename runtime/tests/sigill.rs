//! On x86-64 Linux the JIT's trap sites are `ud2` instructions and deja handles their `SIGILL`
//! (`runtime/src/jit/signals.rs`). A `SIGILL` that is not deja's must still reach the handler
//! the process had before. Its own test binary: it installs a process-wide signal handler.

#![cfg(all(target_arch = "x86_64", target_os = "linux"))]

use deja_runtime::{Config, EngineKind, Error, Linker, Module, Store, TrapCode, Val};
use std::sync::atomic::{AtomicUsize, Ordering};

static FOREIGN: AtomicUsize = AtomicUsize::new(0);

/// The process's own handler: counts, and skips the two-byte `ud2`.
extern "C" fn foreign(_: libc::c_int, _: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    FOREIGN.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the kernel passes a valid ucontext.
    unsafe {
        let uc = &mut *ctx.cast::<libc::ucontext_t>();
        uc.uc_mcontext.gregs[libc::REG_RIP as usize] += 2;
    }
}

fn jit_trap(divisor: i32) -> Result<Vec<Val>, Error> {
    let module = Module::new(
        br#"(module (func (export "f") (param i32) (result i32)
              (i32.div_u (i32.const 7) (local.get 0))))"#,
    )
    .expect("loads");
    let mut store = Store::new(Config::default(), ());
    store.set_engine(EngineKind::Jit).expect("idle");
    let instance = Linker::new()
        .instantiate(&mut store, &module)
        .expect("instantiates");
    let f = store.get_func(instance, "f").expect("export");
    let r = store.call(f, &[Val::I32(divisor)]);
    assert_eq!(store.engine_stats().jit_calls, 1);
    r
}

fn expect_division_trap(r: Result<Vec<Val>, Error>) {
    match r {
        Err(Error::Trap(t)) => assert_eq!(t.code, TrapCode::IntegerDivisionByZero),
        other => panic!("expected a division trap, got {other:?}"),
    }
}

#[test]
fn a_sigill_that_is_not_dejas_reaches_the_previous_handler() {
    // SAFETY: installing a handler that only touches an atomic and the ucontext.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = foreign as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGILL, &sa, std::ptr::null_mut()), 0);
    }
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
}
