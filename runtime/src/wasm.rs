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
