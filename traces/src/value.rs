//! Wasm values as they cross the host-call seam.
//!
//! Traces must not depend on the runtime crate, so the format has its own small value type; the
//! recorder and replayer convert. Floats are stored as bits so that NaN payloads survive exactly.

/// A Wasm value passed to or returned from an imported function.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
pub enum Value {
    /// An `i32`, as its two's-complement bits.
    I32(u32),
    /// An `i64`, as its two's-complement bits.
    I64(u64),
    /// An `f32`, as its IEEE 754 bits.
    F32(u32),
    /// An `f64`, as its IEEE 754 bits.
    F64(u64),
    /// A `v128`.
    V128(u128),
    /// A `funcref`: `None` is null, otherwise a function index.
    FuncRef(Option<u32>),
    /// An `externref`: `None` is null, otherwise a host-assigned handle.
    ExternRef(Option<u32>),
}

impl Value {
    /// The type of this value.
    pub fn ty(&self) -> ValType {
        match self {
            Value::I32(_) => ValType::I32,
            Value::I64(_) => ValType::I64,
            Value::F32(_) => ValType::F32,
            Value::F64(_) => ValType::F64,
            Value::V128(_) => ValType::V128,
            Value::FuncRef(_) => ValType::FuncRef,
            Value::ExternRef(_) => ValType::ExternRef,
        }
    }
}

/// A Wasm value type, as it appears in an import's signature.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
pub enum ValType {
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// `v128`
    V128,
    /// `funcref`
    FuncRef,
    /// `externref`
    ExternRef,
}
