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

mod ctx;
mod errno;
mod funcs;
pub mod rights;

pub use ctx::{OutputSink, Preopen, StdinSource, WasiCtx, WasiCtxBuilder};
pub use errno::Errno;
pub use funcs::{FUNCTIONS, GetCtx, MODULE, add_to_linker};
