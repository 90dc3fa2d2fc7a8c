//! Trap sites as hardware traps, on x86-64 Linux.
//!
//! A trap site in JIT code (an out-of-bounds access, a division by zero, `unreachable`…) was a
//! cold block per site that stored the pc, the position and the trap code, and the branch into
//! it split the hot code into one more block. Those blocks were the largest part of the IR of
//! a memory-heavy function, and compile time is what deja's JIT is slowest at (BENCHMARKS.md).
//! Here a site is one Cranelift `trapnz` (or `trap`): a conditional jump to an out-of-line
//! `ud2`, tagged with the site's source location. What the site used to store is in the
//! function's site table instead, keyed by the `ud2`'s code offset:
//!
//! - the pc and trap code, and the steps of its run not completed, are constants of the site;
//! - the position is in the shared state already: on this path every run head stores it;
//! - the locals are in the state slot already (every `local.set` writes through), and the
//!   innermost frame's slot is the shared state's top.
//!
//! A `ud2` raises `SIGILL`. The handler checks that the thread is running JIT code and that
//! the instruction is a `ud2`, and makes the thread continue in [`landing`] as if the faulting
//! instruction had called it with its own address. Everything else — finding the site under
//! the registry's lock, writing the frame's pc, suspending the call for good with the trap — is
//! ordinary code on the guest's stack, as the trap libcall was. A `SIGILL` that is not deja's
//! goes to the handler that was there before (or the default action).
//!
//! Other hosts keep the cold blocks (`env.rs`): the behaviour is the same, only compilation is
//! slower.

use super::{Exit, Shared, slot};
use crate::trap::TrapCode;
use std::cell::Cell;
use std::sync::{Once, RwLock};

/// What a trap site would have stored.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Site {
    pub pc: u32,
    pub code: TrapCode,
    /// Steps of the site's run that did not complete.
    pub uncounted: u32,
    /// A guarded memory access (its fault is the trap), not a `ud2`.
    pub access: bool,
}

/// One compiled function's code range and its sites by code offset (sorted).
struct Region {
    start: usize,
    end: usize,
    sites: Box<[(u32, Site)]>,
}

static REGIONS: RwLock<Vec<Region>> = RwLock::new(Vec::new());

thread_local! {
    /// The shared state of the JIT call running on this thread, null outside JIT code.
    static CURRENT: Cell<*mut Shared> = const { Cell::new(std::ptr::null_mut()) };
}

/// Whether trap sites are hardware traps on this host.
pub(crate) const ENABLED: bool = cfg!(all(target_arch = "x86_64", target_os = "linux"));

/// Registers the sites of the function at `start..start + len` (offsets from `start`).
pub(crate) fn register(start: usize, len: usize, mut sites: Vec<(u32, Site)>) {
    if sites.is_empty() {
        return;
    }
    install();
    sites.sort_by_key(|s| s.0);
    let mut r = REGIONS.write().unwrap_or_else(|e| e.into_inner());
    let at = r.partition_point(|x| x.start < start);
    r.insert(
        at,
        Region {
            start,
            end: start + len,
            sites: sites.into_boxed_slice(),
        },
    );
}

/// Forgets the regions starting at `starts` (their code is being freed).
pub(crate) fn unregister(starts: &[usize]) {
    if starts.is_empty() {
        return;
    }
    let mut r = REGIONS.write().unwrap_or_else(|e| e.into_inner());
    r.retain(|x| starts.binary_search(&x.start).is_err());
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn lookup(pc: usize) -> Option<Site> {
    let r = REGIONS.read().unwrap_or_else(|e| e.into_inner());
    let i = r.partition_point(|x| x.start <= pc).checked_sub(1)?;
    let region = &r[i];
    if pc >= region.end {
        return None;
    }
    let off = (pc - region.start) as u32;
    let j = region.sites.binary_search_by_key(&off, |s| s.0).ok()?;
    Some(region.sites[j].1)
}

/// Marks this thread as running JIT code of `shared` until the guard is dropped.
pub(crate) fn enter(shared: *mut Shared) -> Entered {
    Entered(CURRENT.with(|c| c.replace(shared)))
}

pub(crate) struct Entered(*mut Shared);

impl Drop for Entered {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

/// Where a trapping `ud2` continues: `pc` is its address.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
extern "C" fn landing(pc: usize) -> ! {
    let shared = CURRENT.with(|c| c.get());
    let Some(site) = lookup(pc) else {
        // The handler only sends a `ud2` here while JIT code runs; one that is no site is a
        // bug in deja (a Cranelift trap the translator should have prevented).
        eprintln!("deja: internal error: JIT code reached a trap at {pc:#x} that is no trap site");
        std::process::abort();
    };
    // SAFETY: `shared` is the running call's state (set by `enter` before the coroutine
    // resumed); its top slot is the innermost frame's, the one that trapped.
    unsafe {
        let sh = &mut *shared;
        let pcv = i64::from(site.pc) | slot::TRAPPED;
        *sh.top.add(slot::PC as usize / 8) = pcv as u64;
        sh.uncounted = u64::from(site.uncounted);
        sh.hardware_traps += 1;
        (*sh.yielder).suspend(Exit::Trap(site.code));
    }
    // The engine discards a call that trapped; resuming it is a bug.
    std::process::abort()
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod handler {
    use super::{CURRENT, Shared, landing};
    use crate::memory::GUARDED_SIZE;
    use std::sync::OnceLock;

    /// The dispositions of `SIGILL` and `SIGSEGV` before deja's.
    static PREVIOUS_ILL: OnceLock<libc::sigaction> = OnceLock::new();
    static PREVIOUS_SEGV: OnceLock<libc::sigaction> = OnceLock::new();

    fn previous(sig: libc::c_int) -> &'static OnceLock<libc::sigaction> {
        if sig == libc::SIGSEGV {
            &PREVIOUS_SEGV
        } else {
            &PREVIOUS_ILL
        }
    }

    pub(super) fn install() {
        for sig in [libc::SIGILL, libc::SIGSEGV] {
            // SAFETY: plain sigaction calls.
            unsafe {
                let mut sa: libc::sigaction = std::mem::zeroed();
                sa.sa_sigaction = on_signal as *const () as usize;
                // On the alternate stack where the thread has one: a stack overflow is a
                // SIGSEGV too, and goes on to Rust's handler. (Not `SA_NODEFER`: a fault in
                // the handler itself must end the process, not re-enter it.)
                sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut sa.sa_mask);
                let mut prev: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, &sa, &mut prev) == 0 {
                    let _ = previous(sig).set(prev);
                } else {
                    // Without the handler a trap would kill the process: say why, once.
                    eprintln!(
                        "deja: cannot install the signal handler for JIT traps: {}",
                        std::io::Error::last_os_error()
                    );
                }
            }
        }
    }

    /// Whether `addr` lies in the guard reservation of the memory of one of `shared`'s
    /// instance contexts.
    ///
    /// # Safety
    /// `shared` is the running call's state; nothing changes its contexts while JIT code runs.
    unsafe fn in_guarded_memory(shared: *mut Shared, addr: usize) -> bool {
        // SAFETY: as the caller promises.
        let vmctxs = unsafe { &(*shared).vmctxs };
        vmctxs.iter().flatten().any(|v| {
            let base = v.mem_base as usize;
            v.mem_guarded && addr >= base && addr - base < GUARDED_SIZE
        })
    }

    extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid siginfo and ucontext; the pc it holds is the
        // faulting instruction's, in mapped executable memory.
        unsafe {
            let uc = &mut *ctx.cast::<libc::ucontext_t>();
            let regs = &mut uc.uc_mcontext.gregs;
            let pc = regs[libc::REG_RIP as usize] as usize;
            let shared = CURRENT.with(|c| c.get());
            // A fault or a `ud2` (`si_code` > 0), not a signal sent by `kill`.
            let ours = !shared.is_null()
                && (*info).si_code > 0
                && if sig == libc::SIGSEGV {
                    in_guarded_memory(shared, (*info).si_addr() as usize)
                } else {
                    *(pc as *const [u8; 2]) == [0x0f, 0x0b]
                };
            if ours {
                // Continue in `landing(pc)` as if the faulting instruction had called it:
                // below the red zone, aligned as after a call. Nothing is written there now
                // (the kernel's signal frame may lie just below, without an alternate
                // stack); `landing` never returns, so its return address is never read.
                let sp = ((regs[libc::REG_RSP as usize] as usize - 128) & !15) - 8;
                regs[libc::REG_RSP as usize] = sp as i64;
                regs[libc::REG_RDI as usize] = pc as i64;
                regs[libc::REG_RIP as usize] = landing as *const () as usize as i64;
                return;
            }
            // (Not recorded yet only in the instant between installing and recording it.)
            let Some(prev) = previous(sig).get() else {
                libc::signal(sig, libc::SIG_DFL);
                return;
            };
            if prev.sa_flags & libc::SA_SIGINFO != 0 {
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    std::mem::transmute(prev.sa_sigaction);
                f(sig, info, ctx);
            } else if prev.sa_sigaction == libc::SIG_DFL || prev.sa_sigaction == libc::SIG_IGN {
                // Put the old disposition back: a fault happens again and gets it; a signal
                // sent by `kill` is sent again to get it.
                libc::sigaction(sig, prev, std::ptr::null_mut());
                if (*info).si_code <= 0 {
                    libc::raise(sig);
                }
            } else {
                let f: extern "C" fn(libc::c_int) = std::mem::transmute(prev.sa_sigaction);
                f(sig);
            }
        }
    }
}

fn install() {
    static ONCE: Once = Once::new();
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    ONCE.call_once(handler::install);
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    ONCE.call_once(|| {});
}
