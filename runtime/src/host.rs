//! The host-call seam: how imported functions are defined, what they see, and how their effects
//! are observed.
//!
//! Every imported function, WASI or not, is a [`HostFunc`] called through one path in the
//! store's driver. It receives its arguments and a [`Caller`]: the only way to reach guest
//! memory, and it offers no write path but [`Caller::write`], so that no write can escape the
//! log. Every write through the caller can be logged as (address, bytes), and a
//! [`HostCallObserver`] sees each completed call — import, position, arguments, outcome and memory
//! writes — which is exactly what a recorder needs to write and a replayer needs to substitute.

use crate::debug::FrameCursor;
use crate::store::{Instance, Memory, Store};
use crate::trap::FrameInfo;
use crate::types::{Func, FuncType, Val};
use std::sync::Arc;

/// How a host function ends the run instead of returning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostError {
    /// A failure; reported as a `HostcallError` debug event and [`crate::Error::Host`].
    Error(String),
    /// A failure the embedder wants back as its own type (cf. wasmi's host errors): reported as
    /// [`Error`](HostError::Error) is, with the typed error as [`crate::Error::Host`]'s `source`,
    /// where [`TypedHostError::downcast_ref`] finds it again.
    Typed(TypedHostError),
    /// A requested exit with this code (WASI `proc_exit`); reported as [`crate::Error::Exit`].
    Exit(i32),
}

impl HostError {
    /// A failure with a message.
    pub fn msg(message: impl Into<String>) -> HostError {
        HostError::Error(message.into())
    }

    /// A failure carrying the embedder's own error value.
    pub fn typed(error: impl std::error::Error + Send + Sync + 'static) -> HostError {
        HostError::Typed(TypedHostError(Arc::new(error)))
    }

    /// The message of a failure (`None` for an exit).
    pub(crate) fn message(&self) -> Option<String> {
        match self {
            HostError::Error(m) => Some(m.clone()),
            HostError::Typed(t) => Some(t.to_string()),
            HostError::Exit(_) => None,
        }
    }
}

/// An embedder's error value carried through a host call's failure (see [`HostError::Typed`]).
/// Two are equal when they are the same value.
#[derive(Clone, Debug)]
pub struct TypedHostError(Arc<dyn std::error::Error + Send + Sync>);

impl TypedHostError {
    /// The error as `E`, if it is one.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.0.downcast_ref::<E>()
    }
}

impl std::fmt::Display for TypedHostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for TypedHostError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for TypedHostError {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for TypedHostError {}

/// A guest memory access out of bounds, reported to host functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("guest memory access of {len} bytes at {addr:#x} is out of bounds")]
pub struct MemoryAccessError {
    /// Guest address.
    pub addr: u64,
    /// Length.
    pub len: u64,
}

/// The body of a host function.
pub type HostFn<T> =
    dyn Fn(&mut Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), HostError> + Send + Sync;

/// A host function definition: its signature and body.
pub struct HostFunc<T> {
    pub(crate) ty: FuncType,
    pub(crate) func: Arc<HostFn<T>>,
}

impl<T> Clone for HostFunc<T> {
    fn clone(&self) -> Self {
        HostFunc {
            ty: self.ty.clone(),
            func: self.func.clone(),
        }
    }
}

impl<T> HostFunc<T> {
    /// A host function of signature `ty`.
    pub fn new(
        ty: FuncType,
        func: impl Fn(&mut Caller<'_, T>, &[Val], &mut [Val]) -> Result<(), HostError>
        + Send
        + Sync
        + 'static,
    ) -> HostFunc<T> {
        HostFunc {
            ty,
            func: Arc::new(func),
        }
    }

    /// The signature.
    pub fn ty(&self) -> &FuncType {
        &self.ty
    }
}

/// What a host function sees of the guest that called it.
pub struct Caller<'a, T> {
    pub(crate) store: &'a mut Store<T>,
    pub(crate) instance: Instance,
}

impl<T> Caller<'_, T> {
    /// The embedder's data.
    pub fn data(&self) -> &T {
        &self.store.data
    }

    /// The embedder's data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.store.data
    }

    /// The calling instance.
    pub fn instance(&self) -> Instance {
        self.instance
    }

    /// The calling instance's memory 0.
    pub fn memory(&self) -> Option<Memory> {
        self.store.instance_memory(self.instance)
    }

    /// Position of the `call` instruction being executed.
    pub fn position(&self) -> u64 {
        self.store.position()
    }

    /// Size of the caller's memory in bytes (0 without a memory).
    pub fn memory_size(&self) -> u64 {
        self.memory()
            .map_or(0, |m| self.store.memory_data(m).len() as u64)
    }

    /// Reads `len` bytes of the caller's memory at `addr`.
    ///
    /// # Errors
    /// When the range is out of bounds (or there is no memory).
    pub fn read(&self, addr: u64, len: u64) -> Result<&[u8], MemoryAccessError> {
        let err = MemoryAccessError { addr, len };
        let mem = self.memory().ok_or(err)?;
        let data = self.store.memory_data(mem);
        let r = crate::wasm::range(data, addr, len).ok_or(err)?;
        Ok(&data[r])
    }

    /// Writes bytes into the caller's memory at `addr`. This is the only way host functions
    /// write guest memory, so that every write can be observed.
    ///
    /// # Errors
    /// When the range is out of bounds (nothing is written then).
    pub fn write(&mut self, addr: u64, bytes: &[u8]) -> Result<(), MemoryAccessError> {
        let err = MemoryAccessError {
            addr,
            len: bytes.len() as u64,
        };
        let mem = self.memory().ok_or(err)?;
        if !self.store.inner.memories[mem].write(addr, bytes) {
            return Err(err);
        }
        if let Some(log) = &mut self.store.host_writes
            && !bytes.is_empty()
        {
            log.push((addr, bytes.to_vec()));
        }
        Ok(())
    }

    /// The guest's frames, innermost first (the innermost is at the `call` of this function).
    pub fn debug_frames(&self) -> FrameCursor<'_, T> {
        self.store.debug_frames()
    }

    /// The guest's Wasm backtrace, innermost first (the innermost frame is at the `call`).
    pub fn backtrace(&self) -> Vec<FrameInfo> {
        self.store.backtrace()
    }

    /// Whether a write of `len` bytes at `addr` of the caller's memory touches a watchpoint (see
    /// [`Store::add_watchpoint`]): host writes are not instructions, so an embedder that wants
    /// to stop on them checks here and asks for a pause.
    pub fn watches(&self, addr: u64, len: u64) -> bool {
        self.memory()
            .is_some_and(|m| self.store.watches(m, addr, len))
    }

    /// Asks the runtime to pause right after this host function returns (the call is then
    /// complete); the call in progress returns [`crate::Resumable::Paused`] with
    /// [`crate::PauseReason::HostRequest`] and [`Store::resume`] continues it.
    pub fn request_pause(&mut self) {
        self.store.inner.pause_requested = true;
    }
}

/// How a host call ended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HostCallOutcome<'a> {
    /// Returned these results.
    Returned(&'a [Val]),
    /// Failed with this message.
    Error(&'a str),
    /// Asked to exit with this code.
    Exit(i32),
}

/// One completed host call, as the seam reports it.
#[derive(Clone, Copy, Debug)]
pub struct HostCall<'a> {
    /// The called function.
    pub func: Func,
    /// `module::name` under which it was defined.
    pub import: &'a str,
    /// Position of the `call` instruction.
    pub position: u64,
    /// Arguments.
    pub args: &'a [Val],
    /// Outcome.
    pub outcome: HostCallOutcome<'a>,
    /// Guest memory written by the call, in order, as (address, bytes).
    pub memory_writes: &'a [(u64, Vec<u8>)],
}

/// Sees every host call after it completes.
pub trait HostCallObserver<T> {
    /// Called once per host call, with the embedder's data.
    fn on_host_call(&mut self, data: &mut T, call: &HostCall<'_>);
}
