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
    /// An `exnref`: `None` is null, otherwise the store's exception index.
    ExnRef(Option<u32>),
}

impl std::fmt::Display for Value {
    /// As people read values: `i32 -3`, `f64 1.5`, `funcref null`, `v128 0x…`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Value::I32(x) => write!(f, "i32 {}", x as i32),
            Value::I64(x) => write!(f, "i64 {}", x as i64),
            Value::F32(x) => write!(f, "f32 {}", f32::from_bits(x)),
            Value::F64(x) => write!(f, "f64 {}", f64::from_bits(x)),
            Value::V128(x) => write!(f, "v128 {x:#034x}"),
            Value::FuncRef(None) => f.write_str("funcref null"),
            Value::FuncRef(Some(i)) => write!(f, "funcref {i}"),
            Value::ExternRef(None) => f.write_str("externref null"),
            Value::ExternRef(Some(i)) => write!(f, "externref {i}"),
            Value::ExnRef(None) => f.write_str("exnref null"),
            Value::ExnRef(Some(i)) => write!(f, "exnref {i}"),
        }
    }
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
            Value::ExnRef(_) => ValType::ExnRef,
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
    /// `exnref`
    ExnRef,
}

#[cfg(test)]
mod display_tests {
    use super::Value;

    #[test]
    fn values_read_as_type_and_number() {
        assert_eq!(Value::I32(u32::MAX).to_string(), "i32 -1");
        assert_eq!(Value::I64(3).to_string(), "i64 3");
        assert_eq!(Value::F32(1.5f32.to_bits()).to_string(), "f32 1.5");
        assert_eq!(Value::FuncRef(None).to_string(), "funcref null");
        assert_eq!(Value::ExternRef(Some(7)).to_string(), "externref 7");
    }
}
