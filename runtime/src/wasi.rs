//! WASI preview1 (`wasi_snapshot_preview1`) on the host-call seam.
//!
//! Every function is an ordinary host function defined in a [`Linker`](crate::Linker) by
//! [`add_to_linker`]; it reaches guest memory only through [`Caller`](crate::Caller), so a
//! recorder sees every argument, result and memory write, and a replayer can substitute the
//! whole module by other host functions. File system access goes through cap-std: the guest
//! reaches nothing outside its preopened directories — `..`, absolute paths and symlinks that
//! lead out are refused with `EPERM` (`ENOTCAPABLE` for missing rights).
//!
//! Sockets: deja offers none, so `sock_*` return `EBADF` for a missing descriptor and
//! `ENOTSOCK` otherwise (the specification's answer for a descriptor that is not a socket).
//!
//! ```
//! use deja_runtime::wasi::{self, WasiCtx, WasiCtxBuilder, OutputSink};
//! use deja_runtime::{Config, Linker, Module, Store};
//! let (stdout, buffer) = OutputSink::buffer();
//! let ctx = WasiCtxBuilder::new().args(["hello"]).stdout(stdout).build().unwrap();
//! let mut store = Store::new(Config::default(), ctx);
//! let mut linker = Linker::new();
//! wasi::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx);
//! let module = Module::new(br#"(module
//!   (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
//!   (memory (export "memory") 1)
//!   (data (i32.const 16) "hi\n")
//!   (func (export "_start")
//!     (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 3))
//!     (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#).unwrap();
//! let instance = linker.instantiate(&mut store, &module).unwrap();
//! let start = store.get_func(instance, "_start").unwrap();
//! store.call(start, &[]).unwrap();
//! assert_eq!(&*buffer.lock().unwrap(), b"hi\n");
//! ```

pub mod chaos;
mod ctx;
mod errno;
mod funcs;
pub mod rights;

pub use chaos::{ChaosConfig, Strategies, Strategy};
pub use ctx::{OutputSink, Preopen, StdinSource, WasiCtx, WasiCtxBuilder};
pub use errno::Errno;
pub use funcs::{FUNCTIONS, GetCtx, MODULE, add_to_linker};

/// The host error with which every WASI call fails once the context's
/// [cancel flag](WasiCtxBuilder::cancel_flag) is set.
pub const CANCELLED: &str =
    "cancelled: the run was stopped from outside (a hunt found its failure)";

/// If `import` (`module::name`) is WASI's `fd_write` to stdout or stderr, the descriptor and
/// the bytes it is about to write, read from the caller's memory. Lets a replayer show a WASI
/// guest's output without performing the call.
pub fn pending_output<T>(
    caller: &crate::Caller<'_, T>,
    import: &str,
    args: &[crate::Val],
) -> Option<(u32, Vec<u8>)> {
    use crate::Val;
    if import != "wasi_snapshot_preview1::fd_write" {
        return None;
    }
    let [Val::I32(fd), Val::I32(iovs), Val::I32(count), ..] = *args else {
        return None;
    };
    if fd != 1 && fd != 2 {
        return None;
    }
    let table = caller
        .read(iovs as u32 as u64, (count as u32 as u64).checked_mul(8)?)
        .ok()?;
    let mut out = Vec::new();
    for iov in table.chunks_exact(8) {
        let buf = u32::from_le_bytes(iov[0..4].try_into().ok()?);
        let len = u32::from_le_bytes(iov[4..8].try_into().ok()?);
        out.extend_from_slice(caller.read(u64::from(buf), u64::from(len)).ok()?);
    }
    Some((fd as u32, out))
}
