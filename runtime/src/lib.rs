//! deja's WebAssembly runtime.
//!
//! A runtime library in the shape of wasmtime's API, built for time travel: every instruction
//! is a counted *step*, execution can pause at an exact position and resume, the complete state
//! can be captured in a [`Snapshot`] and restored, and a [`FrameCursor`] shows every frame's
//! locals and operand stack while the guest is paused.
//!
//! Main types: [`Module`] (decoded, validated, translated), [`Store`] (all runtime state and the
//! current call), [`Linker`] (imports: host functions and other instances' exports),
//! [`Config`] (everything that affects determinism), [`Trap`] with its stable [`TrapCode`].
//!
//! ```
//! use deja_runtime::{Config, Linker, Module, Store, Val};
//! let module = Module::new(br#"(module (func (export "add") (param i32 i32) (result i32)
//!     local.get 0 local.get 1 i32.add))"#).unwrap();
//! let mut store = Store::new(Config::default(), ());
//! let instance = Linker::new().instantiate(&mut store, &module).unwrap();
//! let add = store.get_func(instance, "add").unwrap();
//! assert_eq!(store.call(add, &[Val::I32(2), Val::I32(3)]).unwrap(), vec![Val::I32(5)]);
//! // local.get, local.get, i32.add and the final `end`:
//! assert_eq!(store.position(), 4);
//! ```

mod bulk;
mod code;
mod debug;
mod driver;
mod engine;
mod error;
mod fuse;
mod host;
mod instance;
mod interp;
mod interp_env;
mod jit;
mod memory;
mod module;
pub mod simd;
mod snapshot;
pub mod steps;
mod store;
mod ticks;
mod translate;
mod trap;
mod types;
pub mod wasi;
pub mod wasm;

pub use debug::{DebugAction, DebugEvent, DebugHandler, FrameCursor};
pub use driver::{Pause, Resumable};
pub use engine::EngineStats;
pub use error::{Error, ErrorClass, PauseReason, Result};
pub use host::{
    Caller, HostCall, HostCallObserver, HostCallOutcome, HostError, HostFn, HostFunc,
    MemoryAccessError, TypedHostError,
};
pub use instance::Linker;
pub use memory::{PAGE_SIZE, WASM_PAGE_SIZE};
pub use module::{ExportKind, Import, ImportType, Module, supported_features};
pub use snapshot::Snapshot;
pub use store::{Config, EngineKind, Exn, Extern, Global, Instance, Memory, Store, Table, Tag};
pub use ticks::Ticks;
pub use trap::{FrameInfo, Trap, TrapCode};
pub use types::{
    DataIndex, DefinedFuncIndex, ElemIndex, Func, FuncIndex, FuncType, GlobalIndex, GlobalType,
    Limits, MemoryIndex, MemoryType, TableIndex, TableType, TypeIndex, Val, ValType,
};
