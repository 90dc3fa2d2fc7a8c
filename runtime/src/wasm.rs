//! Numeric semantics of WebAssembly, as pure functions.
//!
//! Every engine (the interpreter, constant evaluation, and later the JIT's slow paths) takes its
//! integer division, float-to-int conversion, min/max and rounding rules from here, so that they
//! cannot disagree. Floats are handled as Rust floats; NaN canonicalization is a separate, explicit
//! step ([`canonicalize_f32`], [`canonicalize_f64`]) that engines apply to the result of every
//! arithmetic operation that can produce a NaN when the store's configuration asks for it.

use crate::trap::TrapCode;

/// The canonical quiet NaN of `f32` (positive sign, only the top mantissa bit set).
pub const CANONICAL_NAN_F32: u32 = 0x7fc0_0000;
/// The canonical quiet NaN of `f64`.
pub const CANONICAL_NAN_F64: u64 = 0x7ff8_0000_0000_0000;

/// Replaces any NaN by the canonical NaN.
#[inline(always)]
pub fn canonicalize_f32(x: f32) -> f32 {
    if x.is_nan() {
        f32::from_bits(CANONICAL_NAN_F32)
    } else {
        x
    }
}

/// Replaces any NaN by the canonical NaN.
#[inline(always)]
pub fn canonicalize_f64(x: f64) -> f64 {
    if x.is_nan() {
        f64::from_bits(CANONICAL_NAN_F64)
    } else {
        x
    }
}

macro_rules! int_div {
    ($t:ty, $ut:ty, $div_s:ident, $div_u:ident, $rem_s:ident, $rem_u:ident) => {
        /// Signed division; traps on division by zero and on `MIN / -1`.
        #[inline(always)]
        pub fn $div_s(a: $t, b: $t) -> Result<$t, TrapCode> {
            if b == 0 {
                return Err(TrapCode::IntegerDivisionByZero);
            }
            a.checked_div(b).ok_or(TrapCode::IntegerOverflow)
        }
        /// Unsigned division; traps on division by zero.
        #[inline(always)]
        pub fn $div_u(a: $t, b: $t) -> Result<$t, TrapCode> {
            if b == 0 {
                return Err(TrapCode::IntegerDivisionByZero);
            }
            Ok(((a as $ut) / (b as $ut)) as $t)
        }
        /// Signed remainder; traps on division by zero (`MIN % -1` is 0).
        #[inline(always)]
        pub fn $rem_s(a: $t, b: $t) -> Result<$t, TrapCode> {
            if b == 0 {
                return Err(TrapCode::IntegerDivisionByZero);
            }
            Ok(a.wrapping_rem(b))
        }
        /// Unsigned remainder; traps on division by zero.
        #[inline(always)]
        pub fn $rem_u(a: $t, b: $t) -> Result<$t, TrapCode> {
            if b == 0 {
                return Err(TrapCode::IntegerDivisionByZero);
            }
            Ok(((a as $ut) % (b as $ut)) as $t)
        }
    };
}
int_div!(i32, u32, i32_div_s, i32_div_u, i32_rem_s, i32_rem_u);
int_div!(i64, u64, i64_div_s, i64_div_u, i64_rem_s, i64_rem_u);

macro_rules! float_ops {
    ($f:ty, $min:ident, $max:ident, $nearest:ident, $copysign:ident) => {
        /// `min` with Wasm's rules: NaN if either operand is NaN, and `-0 < +0`.
        #[inline(always)]
        pub fn $min(a: $f, b: $f) -> $f {
            if a.is_nan() || b.is_nan() {
                return <$f>::NAN;
            }
            if a == b {
                // Distinguishes -0 and +0: the result is negative if either is.
                return <$f>::from_bits(a.to_bits() | b.to_bits());
            }
            if a < b { a } else { b }
        }
        /// `max` with Wasm's rules: NaN if either operand is NaN, and `+0 > -0`.
        #[inline(always)]
        pub fn $max(a: $f, b: $f) -> $f {
            if a.is_nan() || b.is_nan() {
                return <$f>::NAN;
            }
            if a == b {
                return <$f>::from_bits(a.to_bits() & b.to_bits());
            }
            if a > b { a } else { b }
        }
        /// Round to nearest, ties to even.
        #[inline(always)]
        pub fn $nearest(a: $f) -> $f {
            a.round_ties_even()
        }
        /// Copy the sign bit of `b` onto `a` (a pure bit operation: NaN payloads are kept).
        #[inline(always)]
        pub fn $copysign(a: $f, b: $f) -> $f {
            a.copysign(b)
        }
    };
}
float_ops!(f32, f32_min, f32_max, f32_nearest, f32_copysign);
float_ops!(f64, f64_min, f64_max, f64_nearest, f64_copysign);

macro_rules! trunc {
    ($name:ident, $f:ty, $t:ty, $lo:expr, $hi:expr) => {
        /// Truncating float-to-int conversion; traps on NaN and on values out of range.
        ///
        /// The bounds are exclusive and exact in the source float type.
        #[inline(always)]
        pub fn $name(x: $f) -> Result<$t, TrapCode> {
            if x.is_nan() {
                return Err(TrapCode::BadConversionToInteger);
            }
            if !(x > $lo && x < $hi) {
                return Err(TrapCode::IntegerOverflow);
            }
            Ok(x as $t)
        }
    };
}
trunc!(
    i32_trunc_f32_s,
    f32,
    i32,
    -2147483904.0_f32,
    2147483648.0_f32
);
trunc!(i32_trunc_f32_u, f32, u32, -1.0_f32, 4294967296.0_f32);
trunc!(
    i32_trunc_f64_s,
    f64,
    i32,
    -2147483649.0_f64,
    2147483648.0_f64
);
trunc!(i32_trunc_f64_u, f64, u32, -1.0_f64, 4294967296.0_f64);
trunc!(
    i64_trunc_f32_s,
    f32,
    i64,
    -9223373136366403584.0_f32,
    9223372036854775808.0_f32
);
trunc!(
    i64_trunc_f32_u,
    f32,
    u64,
    -1.0_f32,
    18446744073709551616.0_f32
);
trunc!(
    i64_trunc_f64_s,
    f64,
    i64,
    -9223372036854777856.0_f64,
    9223372036854775808.0_f64
);
trunc!(
    i64_trunc_f64_u,
    f64,
    u64,
    -1.0_f64,
    18446744073709551616.0_f64
);

// Saturating conversions: Rust's `as` from float to int saturates and maps NaN to 0, which is
// exactly Wasm's `trunc_sat` semantics.

/// `i32.trunc_sat_f32_s`.
#[inline(always)]
pub fn i32_trunc_sat_f32_s(x: f32) -> i32 {
    x as i32
}
/// `i32.trunc_sat_f32_u`.
#[inline(always)]
pub fn i32_trunc_sat_f32_u(x: f32) -> u32 {
    x as u32
}
/// `i32.trunc_sat_f64_s`.
#[inline(always)]
pub fn i32_trunc_sat_f64_s(x: f64) -> i32 {
    x as i32
}
/// `i32.trunc_sat_f64_u`.
#[inline(always)]
pub fn i32_trunc_sat_f64_u(x: f64) -> u32 {
    x as u32
}
/// `i64.trunc_sat_f32_s`.
#[inline(always)]
pub fn i64_trunc_sat_f32_s(x: f32) -> i64 {
    x as i64
}
/// `i64.trunc_sat_f32_u`.
#[inline(always)]
pub fn i64_trunc_sat_f32_u(x: f32) -> u64 {
    x as u64
}
/// `i64.trunc_sat_f64_s`.
#[inline(always)]
pub fn i64_trunc_sat_f64_s(x: f64) -> i64 {
    x as i64
}
/// `i64.trunc_sat_f64_u`.
#[inline(always)]
pub fn i64_trunc_sat_f64_u(x: f64) -> u64 {
    x as u64
}

/// Whether an operator's result is NaN-canonicalized (when the store's configuration asks for
/// it): every float arithmetic result that can be a NaN computed from its operands. Sign
/// operations (`abs`, `neg`, `copysign`), reinterpretations, loads and constants pass NaN bits
/// through unchanged, as the specification makes them exact; conversions from integers never
/// produce a NaN. Every engine canonicalizes exactly these.
pub fn canonicalizes(op: &wasmparser::Operator<'_>) -> bool {
    use wasmparser::Operator as O;
    matches!(
        op,
        O::F32Add
            | O::F32Sub
            | O::F32Mul
            | O::F32Div
            | O::F32Min
            | O::F32Max
            | O::F32Sqrt
            | O::F32Ceil
            | O::F32Floor
            | O::F32Trunc
            | O::F32Nearest
            | O::F32DemoteF64
            | O::F64Add
            | O::F64Sub
            | O::F64Mul
            | O::F64Div
            | O::F64Min
            | O::F64Max
            | O::F64Sqrt
            | O::F64Ceil
            | O::F64Floor
            | O::F64Trunc
            | O::F64Nearest
            | O::F64PromoteF32
    )
}

// ---- Memory accesses: the one bounds check ----

/// The start of an access of `len` bytes at effective address `addr` in a memory of `size`
/// bytes, if it lies entirely inside. Every engine's loads and stores, the host's reads and
/// writes, and bulk memory operations check bounds through this.
#[inline(always)]
pub fn in_bounds(addr: u64, len: u64, size: usize) -> Option<usize> {
    match addr.checked_add(len) {
        Some(end) if end <= size as u64 => Some(addr as usize),
        _ => None,
    }
}

/// Reads `N` bytes at `addr`, or `None` when out of bounds.
///
/// The check is the slice's own (`get`), so that it is the only one: a `wrapping_add` that
/// overflows gives an empty range, which `get` refuses like any other out-of-bounds one.
#[inline(always)]
pub fn load<const N: usize>(data: &[u8], addr: u64) -> Option<[u8; N]> {
    let a = usize::try_from(addr).ok()?;
    data.get(a..a.wrapping_add(N))?.try_into().ok()
}

/// Writes `N` bytes at `addr`; the start offset, or `None` (nothing written) when out of
/// bounds. The same single check as [`load`].
#[inline(always)]
pub fn store<const N: usize>(data: &mut [u8], addr: u64, bytes: [u8; N]) -> Option<usize> {
    let a = usize::try_from(addr).ok()?;
    data.get_mut(a..a.wrapping_add(N))?.copy_from_slice(&bytes);
    Some(a)
}

/// The bytes `[addr, addr + len)` of `data`, or `None` when out of bounds.
#[inline(always)]
pub fn range(data: &[u8], addr: u64, len: u64) -> Option<std::ops::Range<usize>> {
    let a = in_bounds(addr, len, data.len())?;
    Some(a..a + len as usize)
}

// ---- Operators on cells, shared by every engine ----
//
// Cells are untyped 64-bit values (see `Val::to_cell`); these read and make them.

#[inline(always)]
pub(crate) fn i32_(c: u64) -> i32 {
    c as u32 as i32
}
#[inline(always)]
pub(crate) fn u32_(c: u64) -> u32 {
    c as u32
}
#[inline(always)]
pub(crate) fn i64_(c: u64) -> i64 {
    c as i64
}
#[inline(always)]
pub(crate) fn u64_(c: u64) -> u64 {
    c
}
#[inline(always)]
pub(crate) fn f32_(c: u64) -> f32 {
    f32::from_bits(c as u32)
}
#[inline(always)]
pub(crate) fn f64_(c: u64) -> f64 {
    f64::from_bits(c)
}
#[inline(always)]
pub(crate) fn ri32(v: i32) -> u64 {
    v as u32 as u64
}
#[inline(always)]
pub(crate) fn ru32(v: u32) -> u64 {
    v as u64
}
#[inline(always)]
pub(crate) fn ri64(v: i64) -> u64 {
    v as u64
}
#[inline(always)]
pub(crate) fn ru64(v: u64) -> u64 {
    v
}
#[inline(always)]
pub(crate) fn rbool(v: bool) -> u64 {
    v as u64
}
#[inline(always)]
pub(crate) fn rf32(v: f32) -> u64 {
    v.to_bits() as u64
}
#[inline(always)]
pub(crate) fn rf64(v: f64) -> u64 {
    v.to_bits()
}

/// The binary operators a fused header applies: every one that cannot trap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs, reason = "named after the Wasm instructions")]
pub enum BinOp {
    I32Eq,
    I32Ne,
    I32LtS,
    I32LtU,
    I32GtS,
    I32GtU,
    I32LeS,
    I32LeU,
    I32GeS,
    I32GeU,
    I64Eq,
    I64Ne,
    I64LtS,
    I64LtU,
    I64GtS,
    I64GtU,
    I64LeS,
    I64LeU,
    I64GeS,
    I64GeU,
    F32Eq,
    F32Ne,
    F32Lt,
    F32Gt,
    F32Le,
    F32Ge,
    F64Eq,
    F64Ne,
    F64Lt,
    F64Gt,
    F64Le,
    F64Ge,
    I32Add,
    I32Sub,
    I32Mul,
    I32And,
    I32Or,
    I32Xor,
    I32Shl,
    I32ShrS,
    I32ShrU,
    I32Rotl,
    I32Rotr,
    I64Add,
    I64Sub,
    I64Mul,
    I64And,
    I64Or,
    I64Xor,
    I64Shl,
    I64ShrS,
    I64ShrU,
    I64Rotl,
    I64Rotr,
    F32Add,
    F32Sub,
    F32Mul,
    F32Div,
    F32Min,
    F32Max,
    F32Copysign,
    F64Add,
    F64Sub,
    F64Mul,
    F64Div,
    F64Min,
    F64Max,
    F64Copysign,
}

impl BinOp {
    /// Whether the result is an `i32` (so it can be a branch condition).
    pub fn yields_i32(self) -> bool {
        use BinOp as B;
        !matches!(
            self,
            B::I64Add
                | B::I64Sub
                | B::I64Mul
                | B::I64And
                | B::I64Or
                | B::I64Xor
                | B::I64Shl
                | B::I64ShrS
                | B::I64ShrU
                | B::I64Rotl
                | B::I64Rotr
                | B::F32Add
                | B::F32Sub
                | B::F32Mul
                | B::F32Div
                | B::F32Min
                | B::F32Max
                | B::F32Copysign
                | B::F64Add
                | B::F64Sub
                | B::F64Mul
                | B::F64Div
                | B::F64Min
                | B::F64Max
                | B::F64Copysign
        )
    }
}

/// An arithmetic `f32` result as a cell, canonicalized if the configuration asks.
#[inline(always)]
pub fn canon_f32(canon: bool, x: f32) -> u64 {
    if canon {
        rf32(canonicalize_f32(x))
    } else {
        rf32(x)
    }
}

/// An arithmetic `f64` result as a cell, canonicalized if the configuration asks.
#[inline(always)]
pub fn canon_f64(canon: bool, x: f64) -> u64 {
    if canon {
        rf64(canonicalize_f64(x))
    } else {
        rf64(x)
    }
}

/// Applies a non-trapping binary operator to two cells (values as 64-bit cells, see
/// [`crate::Val`]): the one definition shared by every engine's plain and fused paths. Float
/// arithmetic results are canonicalized when `canon` is set, exactly for the operators
/// [`canonicalizes`] names.
#[inline(always)]
pub fn eval_bin(op: BinOp, a: u64, b: u64, canon: bool) -> u64 {
    use BinOp as B;
    let cf32 = |x: f32| canon_f32(canon, x);
    let cf64 = |x: f64| canon_f64(canon, x);
    macro_rules! ev {
        ($from:ident, $to:expr, $f:expr) => {{ $to($f($from(a), $from(b))) }};
    }
    match op {
        B::I32Eq => ev!(u32_, rbool, |a, b| a == b),
        B::I32Ne => ev!(u32_, rbool, |a, b| a != b),
        B::I32LtS => ev!(i32_, rbool, |a, b| a < b),
        B::I32LtU => ev!(u32_, rbool, |a, b| a < b),
        B::I32GtS => ev!(i32_, rbool, |a, b| a > b),
        B::I32GtU => ev!(u32_, rbool, |a, b| a > b),
        B::I32LeS => ev!(i32_, rbool, |a, b| a <= b),
        B::I32LeU => ev!(u32_, rbool, |a, b| a <= b),
        B::I32GeS => ev!(i32_, rbool, |a, b| a >= b),
        B::I32GeU => ev!(u32_, rbool, |a, b| a >= b),
        B::I64Eq => ev!(u64_, rbool, |a, b| a == b),
        B::I64Ne => ev!(u64_, rbool, |a, b| a != b),
        B::I64LtS => ev!(i64_, rbool, |a, b| a < b),
        B::I64LtU => ev!(u64_, rbool, |a, b| a < b),
        B::I64GtS => ev!(i64_, rbool, |a, b| a > b),
        B::I64GtU => ev!(u64_, rbool, |a, b| a > b),
        B::I64LeS => ev!(i64_, rbool, |a, b| a <= b),
        B::I64LeU => ev!(u64_, rbool, |a, b| a <= b),
        B::I64GeS => ev!(i64_, rbool, |a, b| a >= b),
        B::I64GeU => ev!(u64_, rbool, |a, b| a >= b),
        B::F32Eq => ev!(f32_, rbool, |a, b| a == b),
        B::F32Ne => ev!(f32_, rbool, |a, b| a != b),
        B::F32Lt => ev!(f32_, rbool, |a, b| a < b),
        B::F32Gt => ev!(f32_, rbool, |a, b| a > b),
        B::F32Le => ev!(f32_, rbool, |a, b| a <= b),
        B::F32Ge => ev!(f32_, rbool, |a, b| a >= b),
        B::F64Eq => ev!(f64_, rbool, |a, b| a == b),
        B::F64Ne => ev!(f64_, rbool, |a, b| a != b),
        B::F64Lt => ev!(f64_, rbool, |a, b| a < b),
        B::F64Gt => ev!(f64_, rbool, |a, b| a > b),
        B::F64Le => ev!(f64_, rbool, |a, b| a <= b),
        B::F64Ge => ev!(f64_, rbool, |a, b| a >= b),
        B::I32Add => ev!(u32_, ru32, u32::wrapping_add),
        B::I32Sub => ev!(u32_, ru32, u32::wrapping_sub),
        B::I32Mul => ev!(u32_, ru32, u32::wrapping_mul),
        B::I32And => ev!(u32_, ru32, |a, b| a & b),
        B::I32Or => ev!(u32_, ru32, |a, b| a | b),
        B::I32Xor => ev!(u32_, ru32, |a, b| a ^ b),
        B::I32Shl => ev!(u32_, ru32, |a: u32, b| a.wrapping_shl(b)),
        B::I32ShrS => ev!(i32_, ri32, |a: i32, b| a.wrapping_shr(b as u32)),
        B::I32ShrU => ev!(u32_, ru32, |a: u32, b| a.wrapping_shr(b)),
        B::I32Rotl => ev!(u32_, ru32, |a: u32, b| a.rotate_left(b)),
        B::I32Rotr => ev!(u32_, ru32, |a: u32, b| a.rotate_right(b)),
        B::I64Add => ev!(u64_, ru64, u64::wrapping_add),
        B::I64Sub => ev!(u64_, ru64, u64::wrapping_sub),
        B::I64Mul => ev!(u64_, ru64, u64::wrapping_mul),
        B::I64And => ev!(u64_, ru64, |a, b| a & b),
        B::I64Or => ev!(u64_, ru64, |a, b| a | b),
        B::I64Xor => ev!(u64_, ru64, |a, b| a ^ b),
        B::I64Shl => ev!(u64_, ru64, |a: u64, b| a.wrapping_shl(b as u32)),
        B::I64ShrS => ev!(i64_, ri64, |a: i64, b| a.wrapping_shr(b as u32)),
        B::I64ShrU => ev!(u64_, ru64, |a: u64, b| a.wrapping_shr(b as u32)),
        B::I64Rotl => ev!(u64_, ru64, |a: u64, b| a.rotate_left((b % 64) as u32)),
        B::I64Rotr => ev!(u64_, ru64, |a: u64, b| a.rotate_right((b % 64) as u32)),
        B::F32Add => ev!(f32_, cf32, |a, b| a + b),
        B::F32Sub => ev!(f32_, cf32, |a, b| a - b),
        B::F32Mul => ev!(f32_, cf32, |a, b| a * b),
        B::F32Div => ev!(f32_, cf32, |a, b| a / b),
        B::F32Min => ev!(f32_, cf32, f32_min),
        B::F32Max => ev!(f32_, cf32, f32_max),
        B::F32Copysign => ev!(f32_, rf32, f32_copysign),
        B::F64Add => ev!(f64_, cf64, |a, b| a + b),
        B::F64Sub => ev!(f64_, cf64, |a, b| a - b),
        B::F64Mul => ev!(f64_, cf64, |a, b| a * b),
        B::F64Div => ev!(f64_, cf64, |a, b| a / b),
        B::F64Min => ev!(f64_, cf64, f64_min),
        B::F64Max => ev!(f64_, cf64, f64_max),
        B::F64Copysign => ev!(f64_, rf64, f64_copysign),
    }
}

/// The unary operators that cannot trap, on cells: tests, bit counts, sign operations,
/// rounding, square roots, and the conversions that always succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs, reason = "named after the Wasm instructions")]
pub enum UnOp {
    I32Eqz,
    I64Eqz,
    I32Clz,
    I32Ctz,
    I32Popcnt,
    I64Clz,
    I64Ctz,
    I64Popcnt,
    F32Abs,
    F32Neg,
    F32Ceil,
    F32Floor,
    F32Trunc,
    F32Nearest,
    F32Sqrt,
    F64Abs,
    F64Neg,
    F64Ceil,
    F64Floor,
    F64Trunc,
    F64Nearest,
    F64Sqrt,
    I32WrapI64,
    I64ExtendI32S,
    I64ExtendI32U,
    F32ConvertI32S,
    F32ConvertI32U,
    F32ConvertI64S,
    F32ConvertI64U,
    F32DemoteF64,
    F64ConvertI32S,
    F64ConvertI32U,
    F64ConvertI64S,
    F64ConvertI64U,
    F64PromoteF32,
    I32Extend8S,
    I32Extend16S,
    I64Extend8S,
    I64Extend16S,
    I64Extend32S,
    I32TruncSatF32S,
    I32TruncSatF32U,
    I32TruncSatF64S,
    I32TruncSatF64U,
    I64TruncSatF32S,
    I64TruncSatF32U,
    I64TruncSatF64S,
    I64TruncSatF64U,
    RefIsNull,
}

/// Applies a non-trapping unary operator to a cell: the one definition of these operators
/// for every engine. Results that [`canonicalizes`] names are canonicalized when `canon` is set.
#[inline(always)]
pub fn eval_un(op: UnOp, a: u64, canon: bool) -> u64 {
    use UnOp as U;
    let cf32 = |x: f32| canon_f32(canon, x);
    let cf64 = |x: f64| canon_f64(canon, x);
    macro_rules! un {
        ($from:ident, $to:expr, $f:expr) => {{ $to($f($from(a))) }};
    }
    match op {
        U::I32Eqz => un!(u32_, rbool, |a| a == 0),
        U::I64Eqz => un!(u64_, rbool, |a| a == 0),
        U::I32Clz => un!(u32_, ru32, u32::leading_zeros),
        U::I32Ctz => un!(u32_, ru32, u32::trailing_zeros),
        U::I32Popcnt => un!(u32_, ru32, u32::count_ones),
        U::I64Clz => un!(u64_, |x: u32| u64::from(x), u64::leading_zeros),
        U::I64Ctz => un!(u64_, |x: u32| u64::from(x), u64::trailing_zeros),
        U::I64Popcnt => un!(u64_, |x: u32| u64::from(x), u64::count_ones),
        U::F32Abs => un!(u64_, ru64, |a| a & 0x7fff_ffff),
        U::F32Neg => un!(u64_, ru64, |a| (a ^ 0x8000_0000) & 0xffff_ffff),
        U::F32Ceil => un!(f32_, cf32, f32::ceil),
        U::F32Floor => un!(f32_, cf32, f32::floor),
        U::F32Trunc => un!(f32_, cf32, f32::trunc),
        U::F32Nearest => un!(f32_, cf32, f32_nearest),
        U::F32Sqrt => un!(f32_, cf32, f32::sqrt),
        U::F64Abs => un!(u64_, ru64, |a| a & 0x7fff_ffff_ffff_ffff),
        U::F64Neg => un!(u64_, ru64, |a| a ^ 0x8000_0000_0000_0000),
        U::F64Ceil => un!(f64_, cf64, f64::ceil),
        U::F64Floor => un!(f64_, cf64, f64::floor),
        U::F64Trunc => un!(f64_, cf64, f64::trunc),
        U::F64Nearest => un!(f64_, cf64, f64_nearest),
        U::F64Sqrt => un!(f64_, cf64, f64::sqrt),
        U::I32WrapI64 => un!(u64_, ru64, |a| a & 0xffff_ffff),
        U::I64ExtendI32S => un!(i32_, ri64, i64::from),
        U::I64ExtendI32U => un!(u32_, ru64, u64::from),
        U::F32ConvertI32S => un!(i32_, rf32, |a| a as f32),
        U::F32ConvertI32U => un!(u32_, rf32, |a| a as f32),
        U::F32ConvertI64S => un!(i64_, rf32, |a| a as f32),
        U::F32ConvertI64U => un!(u64_, rf32, |a| a as f32),
        U::F32DemoteF64 => un!(f64_, cf32, |a| a as f32),
        U::F64ConvertI32S => un!(i32_, rf64, f64::from),
        U::F64ConvertI32U => un!(u32_, rf64, f64::from),
        U::F64ConvertI64S => un!(i64_, rf64, |a| a as f64),
        U::F64ConvertI64U => un!(u64_, rf64, |a| a as f64),
        U::F64PromoteF32 => un!(f32_, cf64, f64::from),
        U::I32Extend8S => un!(i32_, ri32, |a| a as i8 as i32),
        U::I32Extend16S => un!(i32_, ri32, |a| a as i16 as i32),
        U::I64Extend8S => un!(i64_, ri64, |a| a as i8 as i64),
        U::I64Extend16S => un!(i64_, ri64, |a| a as i16 as i64),
        U::I64Extend32S => un!(i64_, ri64, |a| a as i32 as i64),
        U::I32TruncSatF32S => un!(f32_, ri32, i32_trunc_sat_f32_s),
        U::I32TruncSatF32U => un!(f32_, ru32, i32_trunc_sat_f32_u),
        U::I32TruncSatF64S => un!(f64_, ri32, i32_trunc_sat_f64_s),
        U::I32TruncSatF64U => un!(f64_, ru32, i32_trunc_sat_f64_u),
        U::I64TruncSatF32S => un!(f32_, ri64, i64_trunc_sat_f32_s),
        U::I64TruncSatF32U => un!(f32_, ru64, i64_trunc_sat_f32_u),
        U::I64TruncSatF64S => un!(f64_, ri64, i64_trunc_sat_f64_s),
        U::I64TruncSatF64U => un!(f64_, ru64, i64_trunc_sat_f64_u),
        U::RefIsNull => un!(u64_, rbool, |a| a == 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_traps() {
        assert_eq!(i32_div_s(1, 0), Err(TrapCode::IntegerDivisionByZero));
        assert_eq!(i32_div_s(i32::MIN, -1), Err(TrapCode::IntegerOverflow));
        assert_eq!(i32_rem_s(i32::MIN, -1), Ok(0));
        assert_eq!(i64_div_u(-1, 2), Ok(i64::MAX));
        assert_eq!(i64_rem_u(7, 0), Err(TrapCode::IntegerDivisionByZero));
    }

    #[test]
    fn truncation_bounds_are_exact() {
        assert_eq!(i32_trunc_f32_s(-2147483648.0), Ok(i32::MIN));
        assert_eq!(
            i32_trunc_f32_s(2147483648.0),
            Err(TrapCode::IntegerOverflow)
        );
        assert_eq!(i32_trunc_f64_s(-2147483648.9), Ok(i32::MIN));
        assert_eq!(
            i32_trunc_f64_s(-2147483649.0),
            Err(TrapCode::IntegerOverflow)
        );
        assert_eq!(i32_trunc_f64_u(-0.9), Ok(0));
        assert_eq!(
            i64_trunc_f64_u(f64::NAN),
            Err(TrapCode::BadConversionToInteger)
        );
        assert_eq!(i64_trunc_f32_s(-9223372036854775808.0), Ok(i64::MIN));
    }

    #[test]
    fn min_max_signed_zero_and_nan() {
        assert!(f32_min(0.0, -0.0).is_sign_negative());
        assert!(f64_max(-0.0, 0.0).is_sign_positive());
        assert!(f32_max(f32::NAN, 1.0).is_nan());
        assert_eq!(f64_nearest(2.5), 2.0);
        assert_eq!(f64_nearest(-3.5), -4.0);
        assert_eq!(canonicalize_f32(-f32::NAN).to_bits(), CANONICAL_NAN_F32);
    }
}
