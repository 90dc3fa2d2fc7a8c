//! The semantics of SIMD (`v128`) and relaxed SIMD, as pure functions on `u128`.
//!
//! A `v128` is a `u128` whose lane `i` of width `w` is bits `w·i .. w·(i+1)`: the little-endian
//! layout the specification gives memory, independent of the host's byte order. Every engine
//! takes its lane semantics from here, as it takes the scalar ones from `wasm.rs`.
//!
//! # One fixed lowering of relaxed SIMD
//! Relaxed SIMD lets each instruction choose among a few results by hardware. deja chooses one,
//! the same on every engine and host CPU, so a recording replays bit for bit anywhere:
//! - `relaxed_swizzle` is `swizzle` (an index of 16 or more selects 0);
//! - `relaxed_trunc*` are the saturating truncations (NaN gives 0);
//! - `relaxed_madd` and `relaxed_nmadd` are fused (one rounding, as `f32::mul_add` computes in
//!   software where the CPU has no FMA);
//! - `relaxed_laneselect` is `bitselect`;
//! - `relaxed_min` and `relaxed_max` are `min` and `max` (NaN in, NaN out; `-0 < +0`);
//! - `relaxed_q15mulr_s` is `q15mulr_sat_s`;
//! - the relaxed dot products treat the second operand as signed bytes; the pairwise sums of
//!   `i16x8.relaxed_dot_i8x16_i7x16_s` saturate, those of the `i32x4` form are exact.
//!
//! The trace's configuration records the lowering's name ([`RELAXED_LOWERING`]).
//!
//! # NaNs
//! With NaN canonicalization on, every float lane an arithmetic instruction computes is
//! canonicalized as its scalar counterpart would be; `abs`, `neg`, `pmin`, `pmax`, lane moves and
//! conversions from integers pass bits through.

use crate::wasm::{canonicalize_f32, canonicalize_f64, f32_max, f32_min, f64_max, f64_min};
use std::array::from_fn;
use wasmparser::Operator;

/// The name of deja's lowering of relaxed SIMD (see the module docs), recorded in traces.
pub const RELAXED_LOWERING: &str = "deja-1: swizzle, trunc_sat, fused madd, bitselect, min/max";

/// A lane type: how lane `i` is read from and written into a `u128`.
trait Lane: Copy {
    const BITS: u32;
    fn get(v: u128, i: usize) -> Self;
    fn bits(self) -> u128;
}

macro_rules! int_lane {
    ($($t:ty, $u:ty, $w:expr;)*) => {$(
        impl Lane for $t {
            const BITS: u32 = $w;
            #[inline(always)]
            fn get(v: u128, i: usize) -> Self {
                (v >> (i as u32 * $w)) as $u as $t
            }
            #[inline(always)]
            fn bits(self) -> u128 {
                self as $u as u128
            }
        }
    )*};
}
int_lane! {
    i8, u8, 8; u8, u8, 8; i16, u16, 16; u16, u16, 16;
    i32, u32, 32; u32, u32, 32; i64, u64, 64; u64, u64, 64;
}

impl Lane for f32 {
    const BITS: u32 = 32;
    #[inline(always)]
    fn get(v: u128, i: usize) -> Self {
        f32::from_bits((v >> (i as u32 * 32)) as u32)
    }
    #[inline(always)]
    fn bits(self) -> u128 {
        u128::from(self.to_bits())
    }
}

impl Lane for f64 {
    const BITS: u32 = 64;
    #[inline(always)]
    fn get(v: u128, i: usize) -> Self {
        f64::from_bits((v >> (i as u32 * 64)) as u64)
    }
    #[inline(always)]
    fn bits(self) -> u128 {
        u128::from(self.to_bits())
    }
}

#[inline(always)]
fn unpack<T: Lane, const N: usize>(v: u128) -> [T; N] {
    from_fn(|i| T::get(v, i))
}

#[inline(always)]
fn pack<T: Lane, const N: usize>(lanes: [T; N]) -> u128 {
    let mut r = 0u128;
    for (i, x) in lanes.into_iter().enumerate() {
        r |= x.bits() << (i as u32 * T::BITS);
    }
    r
}

/// The lanes of a `v128` in one of the six views, as the debug API shows them.
pub fn lanes_i8(v: u128) -> [i8; 16] {
    unpack(v)
}
/// See [`lanes_i8`].
pub fn lanes_i16(v: u128) -> [i16; 8] {
    unpack(v)
}
/// See [`lanes_i8`].
pub fn lanes_i32(v: u128) -> [i32; 4] {
    unpack(v)
}
/// See [`lanes_i8`].
pub fn lanes_i64(v: u128) -> [i64; 2] {
    unpack(v)
}
/// See [`lanes_i8`].
pub fn lanes_f32(v: u128) -> [f32; 4] {
    unpack(v)
}
/// See [`lanes_i8`].
pub fn lanes_f64(v: u128) -> [f64; 2] {
    unpack(v)
}

/// The six lane views of a `v128`, as the debugger shows them: the shape's name and each lane,
/// lane 0 first (integers signed, floats in Rust's shortest form that reads back exactly,
/// with an exponent where it is very large or small: `1.717e-42`).
pub fn lane_views(v: u128) -> [(&'static str, Vec<String>); 6] {
    fn strings<T: std::fmt::Debug>(lanes: impl IntoIterator<Item = T>) -> Vec<String> {
        lanes.into_iter().map(|x| format!("{x:?}")).collect()
    }
    [
        ("i8x16", strings(lanes_i8(v))),
        ("i16x8", strings(lanes_i16(v))),
        ("i32x4", strings(lanes_i32(v))),
        ("i64x2", strings(lanes_i64(v))),
        ("f32x4", strings(lanes_f32(v))),
        ("f64x2", strings(lanes_f64(v))),
    ]
}

macro_rules! n {
    (i8) => {
        16
    };
    (u8) => {
        16
    };
    (i16) => {
        8
    };
    (u16) => {
        8
    };
    (i32) => {
        4
    };
    (u32) => {
        4
    };
    (f32) => {
        4
    };
    (i64) => {
        2
    };
    (u64) => {
        2
    };
    (f64) => {
        2
    };
}

/// `v` with `f` applied to each lane of type `t`.
macro_rules! map {
    ($t:ident, $v:expr, $f:expr) => {
        pack::<$t, { n!($t) }>(unpack::<$t, { n!($t) }>($v).map($f))
    };
}

/// Lanewise `f` of two `v128`s.
macro_rules! zip {
    ($t:ident, $a:expr, $b:expr, $f:expr) => {{
        let (x, y) = (unpack::<$t, { n!($t) }>($a), unpack::<$t, { n!($t) }>($b));
        let f = $f;
        pack::<$t, { n!($t) }>(from_fn(|i| f(x[i], y[i])))
    }};
}

/// Lanewise comparison: all ones where `f` holds.
macro_rules! cmp {
    ($t:ident, $a:expr, $b:expr, $f:expr) => {{
        let (x, y) = (unpack::<$t, { n!($t) }>($a), unpack::<$t, { n!($t) }>($b));
        let f = $f;
        let w = <$t as Lane>::BITS;
        let mut r = 0u128;
        for i in 0..n!($t) {
            if f(x[i], y[i]) {
                r |= (u128::MAX >> (128 - w)) << (i as u32 * w);
            }
        }
        r
    }};
}

/// Lanes of type `to` made from the lanes `from[i + first]` of `v` by `f` (extensions,
/// conversions).
macro_rules! widen {
    ($from:ident, $to:ident, $v:expr, $first:expr, $f:expr) => {{
        let x = unpack::<$from, { n!($from) }>($v);
        let f = $f;
        pack::<$to, { n!($to) }>(from_fn(|i| f(x[i + $first])))
    }};
}

/// `f` over the pairs `(x[2i], x[2i+1])` of `v`, into lanes of type `to`.
macro_rules! pairwise {
    ($from:ident, $to:ident, $v:expr, $f:expr) => {{
        let x = unpack::<$from, { n!($from) }>($v);
        let f = $f;
        pack::<$to, { n!($to) }>(from_fn(|i| f(x[2 * i], x[2 * i + 1])))
    }};
}

/// Saturating narrowing: the lanes of `a`, then those of `b`.
macro_rules! narrow {
    ($from:ident, $to:ident, $a:expr, $b:expr, $lo:expr, $hi:expr) => {{
        let (x, y) = (
            unpack::<$from, { n!($from) }>($a),
            unpack::<$from, { n!($from) }>($b),
        );
        let half = n!($from);
        pack::<$to, { n!($to) }>(from_fn(|i| {
            let v = if i < half { x[i] } else { y[i - half] };
            v.clamp($lo, $hi) as $to
        }))
    }};
}

/// The product of the low (`first` = 0) or high halves of `a` and `b`, widened.
macro_rules! extmul {
    ($from:ident, $to:ident, $a:expr, $b:expr, $first:expr) => {{
        let (x, y) = (
            unpack::<$from, { n!($from) }>($a),
            unpack::<$from, { n!($from) }>($b),
        );
        pack::<$to, { n!($to) }>(from_fn(|i| {
            ($to::from(x[i + $first])).wrapping_mul($to::from(y[i + $first]))
        }))
    }};
}

/// Declares a class of SIMD operators: an enum named after wasmparser's operators, and the
/// mapping from them.
macro_rules! class {
    ($(#[$doc:meta])* $name:ident { $($op:ident)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[allow(missing_docs, reason = "one variant per Wasm instruction, named after it")]
        pub enum $name { $($op,)* }

        impl $name {
            /// Every operator of the class, in declaration order (`ALL[op as usize] == op`).
            pub const ALL: &'static [$name] = &[$($name::$op,)*];

            /// The operator of this class behind `op`, if it is one.
            pub fn of(op: &Operator<'_>) -> Option<$name> {
                Some(match op {
                    $(Operator::$op => $name::$op,)*
                    _ => return None,
                })
            }
        }
    };
}

class! {
    /// `v128 -> v128`.
    SimdUn {
        V128Not
        I8x16Abs I8x16Neg I8x16Popcnt
        I16x8ExtAddPairwiseI8x16S I16x8ExtAddPairwiseI8x16U I16x8Abs I16x8Neg
        I16x8ExtendLowI8x16S I16x8ExtendHighI8x16S I16x8ExtendLowI8x16U I16x8ExtendHighI8x16U
        I32x4ExtAddPairwiseI16x8S I32x4ExtAddPairwiseI16x8U I32x4Abs I32x4Neg
        I32x4ExtendLowI16x8S I32x4ExtendHighI16x8S I32x4ExtendLowI16x8U I32x4ExtendHighI16x8U
        I64x2Abs I64x2Neg
        I64x2ExtendLowI32x4S I64x2ExtendHighI32x4S I64x2ExtendLowI32x4U I64x2ExtendHighI32x4U
        F32x4Ceil F32x4Floor F32x4Trunc F32x4Nearest F32x4Abs F32x4Neg F32x4Sqrt
        F64x2Ceil F64x2Floor F64x2Trunc F64x2Nearest F64x2Abs F64x2Neg F64x2Sqrt
        I32x4TruncSatF32x4S I32x4TruncSatF32x4U F32x4ConvertI32x4S F32x4ConvertI32x4U
        I32x4TruncSatF64x2SZero I32x4TruncSatF64x2UZero F64x2ConvertLowI32x4S
        F64x2ConvertLowI32x4U F32x4DemoteF64x2Zero F64x2PromoteLowF32x4
        I32x4RelaxedTruncF32x4S I32x4RelaxedTruncF32x4U I32x4RelaxedTruncF64x2SZero
        I32x4RelaxedTruncF64x2UZero
    }
}

class! {
    /// `v128 v128 -> v128`.
    SimdBin {
        I8x16Swizzle I8x16RelaxedSwizzle
        I8x16Eq I8x16Ne I8x16LtS I8x16LtU I8x16GtS I8x16GtU I8x16LeS I8x16LeU I8x16GeS I8x16GeU
        I16x8Eq I16x8Ne I16x8LtS I16x8LtU I16x8GtS I16x8GtU I16x8LeS I16x8LeU I16x8GeS I16x8GeU
        I32x4Eq I32x4Ne I32x4LtS I32x4LtU I32x4GtS I32x4GtU I32x4LeS I32x4LeU I32x4GeS I32x4GeU
        I64x2Eq I64x2Ne I64x2LtS I64x2GtS I64x2LeS I64x2GeS
        F32x4Eq F32x4Ne F32x4Lt F32x4Gt F32x4Le F32x4Ge
        F64x2Eq F64x2Ne F64x2Lt F64x2Gt F64x2Le F64x2Ge
        V128And V128AndNot V128Or V128Xor
        I8x16NarrowI16x8S I8x16NarrowI16x8U I8x16Add I8x16AddSatS I8x16AddSatU I8x16Sub
        I8x16SubSatS I8x16SubSatU I8x16MinS I8x16MinU I8x16MaxS I8x16MaxU I8x16AvgrU
        I16x8Q15MulrSatS I16x8RelaxedQ15mulrS I16x8NarrowI32x4S I16x8NarrowI32x4U I16x8Add
        I16x8AddSatS I16x8AddSatU I16x8Sub I16x8SubSatS I16x8SubSatU I16x8Mul I16x8MinS
        I16x8MinU I16x8MaxS I16x8MaxU I16x8AvgrU I16x8ExtMulLowI8x16S I16x8ExtMulHighI8x16S
        I16x8ExtMulLowI8x16U I16x8ExtMulHighI8x16U I16x8RelaxedDotI8x16I7x16S
        I32x4Add I32x4Sub I32x4Mul I32x4MinS I32x4MinU I32x4MaxS I32x4MaxU I32x4DotI16x8S
        I32x4ExtMulLowI16x8S I32x4ExtMulHighI16x8S I32x4ExtMulLowI16x8U I32x4ExtMulHighI16x8U
        I64x2Add I64x2Sub I64x2Mul I64x2ExtMulLowI32x4S I64x2ExtMulHighI32x4S
        I64x2ExtMulLowI32x4U I64x2ExtMulHighI32x4U
        F32x4Add F32x4Sub F32x4Mul F32x4Div F32x4Min F32x4Max F32x4PMin F32x4PMax
        F32x4RelaxedMin F32x4RelaxedMax
        F64x2Add F64x2Sub F64x2Mul F64x2Div F64x2Min F64x2Max F64x2PMin F64x2PMax
        F64x2RelaxedMin F64x2RelaxedMax
    }
}

class! {
    /// `v128 v128 v128 -> v128`.
    SimdTer {
        V128Bitselect F32x4RelaxedMadd F32x4RelaxedNmadd F64x2RelaxedMadd F64x2RelaxedNmadd
        I8x16RelaxedLaneselect I16x8RelaxedLaneselect I32x4RelaxedLaneselect
        I64x2RelaxedLaneselect I32x4RelaxedDotI8x16I7x16AddS
    }
}

class! {
    /// `v128 -> i32`.
    SimdTest {
        V128AnyTrue I8x16AllTrue I8x16Bitmask I16x8AllTrue I16x8Bitmask I32x4AllTrue
        I32x4Bitmask I64x2AllTrue I64x2Bitmask
    }
}

class! {
    /// `v128 i32 -> v128`.
    SimdShift {
        I8x16Shl I8x16ShrS I8x16ShrU I16x8Shl I16x8ShrS I16x8ShrU I32x4Shl I32x4ShrS
        I32x4ShrU I64x2Shl I64x2ShrS I64x2ShrU
    }
}

class! {
    /// A scalar (in its cell) `-> v128`.
    SimdSplat {
        I8x16Splat I16x8Splat I32x4Splat I64x2Splat F32x4Splat F64x2Splat
    }
}

/// The lane shape of `extract_lane` and `replace_lane`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs, reason = "named after the instructions")]
pub enum LaneOp {
    I8S,
    I8U,
    I16S,
    I16U,
    I32,
    I64,
    F32,
    F64,
}

impl LaneOp {
    /// `extract_lane` behind `op`, with its lane.
    pub fn extract(op: &Operator<'_>) -> Option<(LaneOp, u8)> {
        Some(match *op {
            Operator::I8x16ExtractLaneS { lane } => (LaneOp::I8S, lane),
            Operator::I8x16ExtractLaneU { lane } => (LaneOp::I8U, lane),
            Operator::I16x8ExtractLaneS { lane } => (LaneOp::I16S, lane),
            Operator::I16x8ExtractLaneU { lane } => (LaneOp::I16U, lane),
            Operator::I32x4ExtractLane { lane } => (LaneOp::I32, lane),
            Operator::I64x2ExtractLane { lane } => (LaneOp::I64, lane),
            Operator::F32x4ExtractLane { lane } => (LaneOp::F32, lane),
            Operator::F64x2ExtractLane { lane } => (LaneOp::F64, lane),
            _ => return None,
        })
    }

    /// `replace_lane` behind `op`, with its lane.
    pub fn replace(op: &Operator<'_>) -> Option<(LaneOp, u8)> {
        Some(match *op {
            Operator::I8x16ReplaceLane { lane } => (LaneOp::I8U, lane),
            Operator::I16x8ReplaceLane { lane } => (LaneOp::I16U, lane),
            Operator::I32x4ReplaceLane { lane } => (LaneOp::I32, lane),
            Operator::I64x2ReplaceLane { lane } => (LaneOp::I64, lane),
            Operator::F32x4ReplaceLane { lane } => (LaneOp::F32, lane),
            Operator::F64x2ReplaceLane { lane } => (LaneOp::F64, lane),
            _ => return None,
        })
    }

    fn width(self) -> u32 {
        match self {
            LaneOp::I8S | LaneOp::I8U => 8,
            LaneOp::I16S | LaneOp::I16U => 16,
            LaneOp::I32 | LaneOp::F32 => 32,
            LaneOp::I64 | LaneOp::F64 => 64,
        }
    }
}

/// What a SIMD load reads and how it makes a `v128` of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs, reason = "named after the instructions")]
pub enum V128LoadKind {
    Full,
    I8x8S,
    I8x8U,
    I16x4S,
    I16x4U,
    I32x2S,
    I32x2U,
    Splat8,
    Splat16,
    Splat32,
    Splat64,
    Zero32,
    Zero64,
}

impl V128LoadKind {
    /// The load behind `op`, with its memory argument.
    pub fn of(op: &Operator<'_>) -> Option<(V128LoadKind, wasmparser::MemArg)> {
        use V128LoadKind as K;
        Some(match *op {
            Operator::V128Load { memarg } => (K::Full, memarg),
            Operator::V128Load8x8S { memarg } => (K::I8x8S, memarg),
            Operator::V128Load8x8U { memarg } => (K::I8x8U, memarg),
            Operator::V128Load16x4S { memarg } => (K::I16x4S, memarg),
            Operator::V128Load16x4U { memarg } => (K::I16x4U, memarg),
            Operator::V128Load32x2S { memarg } => (K::I32x2S, memarg),
            Operator::V128Load32x2U { memarg } => (K::I32x2U, memarg),
            Operator::V128Load8Splat { memarg } => (K::Splat8, memarg),
            Operator::V128Load16Splat { memarg } => (K::Splat16, memarg),
            Operator::V128Load32Splat { memarg } => (K::Splat32, memarg),
            Operator::V128Load64Splat { memarg } => (K::Splat64, memarg),
            Operator::V128Load32Zero { memarg } => (K::Zero32, memarg),
            Operator::V128Load64Zero { memarg } => (K::Zero64, memarg),
            _ => return None,
        })
    }

    /// Bytes it reads.
    pub fn bytes(self) -> u64 {
        use V128LoadKind as K;
        match self {
            K::Full => 16,
            K::I8x8S | K::I8x8U | K::I16x4S | K::I16x4U | K::I32x2S | K::I32x2U => 8,
            K::Splat8 => 1,
            K::Splat16 => 2,
            K::Splat32 | K::Zero32 => 4,
            K::Splat64 | K::Zero64 => 8,
        }
    }

    /// The `v128` made from the bytes read (`bytes()` of them, in the low end of `raw`).
    pub fn make(self, raw: u128) -> u128 {
        use V128LoadKind as K;
        match self {
            K::Full | K::Zero32 | K::Zero64 => raw,
            K::I8x8S => widen!(i8, i16, raw, 0, i16::from),
            K::I8x8U => widen!(u8, u16, raw, 0, u16::from),
            K::I16x4S => widen!(i16, i32, raw, 0, i32::from),
            K::I16x4U => widen!(u16, u32, raw, 0, u32::from),
            K::I32x2S => widen!(i32, i64, raw, 0, i64::from),
            K::I32x2U => widen!(u32, u64, raw, 0, u64::from),
            K::Splat8 => splat_bits(raw, 8),
            K::Splat16 => splat_bits(raw, 16),
            K::Splat32 => splat_bits(raw, 32),
            K::Splat64 => splat_bits(raw, 64),
        }
    }
}

/// `load_lane` or `store_lane` behind `op`: lane width in bytes, lane and memory argument.
pub fn lane_access(op: &Operator<'_>) -> Option<(bool, u8, u8, wasmparser::MemArg)> {
    Some(match *op {
        Operator::V128Load8Lane { memarg, lane } => (false, 1, lane, memarg),
        Operator::V128Load16Lane { memarg, lane } => (false, 2, lane, memarg),
        Operator::V128Load32Lane { memarg, lane } => (false, 4, lane, memarg),
        Operator::V128Load64Lane { memarg, lane } => (false, 8, lane, memarg),
        Operator::V128Store8Lane { memarg, lane } => (true, 1, lane, memarg),
        Operator::V128Store16Lane { memarg, lane } => (true, 2, lane, memarg),
        Operator::V128Store32Lane { memarg, lane } => (true, 4, lane, memarg),
        Operator::V128Store64Lane { memarg, lane } => (true, 8, lane, memarg),
        _ => return None,
    })
}

/// The low `w` bits of `x` in every lane of width `w`.
fn splat_bits(x: u128, w: u32) -> u128 {
    let lane = x & (u128::MAX >> (128 - w));
    (0..128 / w).fold(0, |r, i| r | lane << (i * w))
}

/// Lane `lane` of width `bytes` (in bytes) of `v`, in the low end.
pub fn get_lane_bits(v: u128, bytes: u8, lane: u8) -> u64 {
    let w = u32::from(bytes) * 8;
    ((v >> (u32::from(lane) * w)) & (u128::MAX >> (128 - w))) as u64
}

/// `v` with lane `lane` of width `bytes` replaced by the low end of `x`.
pub fn set_lane_bits(v: u128, bytes: u8, lane: u8, x: u64) -> u128 {
    let w = u32::from(bytes) * 8;
    let mask = (u128::MAX >> (128 - w)) << (u32::from(lane) * w);
    (v & !mask) | ((u128::from(x) << (u32::from(lane) * w)) & mask)
}

/// `extract_lane`: the lane as a cell of its scalar type.
pub fn extract(op: LaneOp, lane: u8, v: u128) -> u64 {
    let bits = get_lane_bits(v, (op.width() / 8) as u8, lane);
    match op {
        LaneOp::I8S => bits as u8 as i8 as i32 as u32 as u64,
        LaneOp::I16S => bits as u16 as i16 as i32 as u32 as u64,
        _ => bits,
    }
}

/// `replace_lane`: `v` with the lane set from a cell of the scalar type.
pub fn replace(op: LaneOp, lane: u8, v: u128, x: u64) -> u128 {
    set_lane_bits(v, (op.width() / 8) as u8, lane, x)
}

/// `splat` of a cell of the scalar type.
pub fn splat(op: SimdSplat, x: u64) -> u128 {
    let w = match op {
        SimdSplat::I8x16Splat => 8,
        SimdSplat::I16x8Splat => 16,
        SimdSplat::I32x4Splat | SimdSplat::F32x4Splat => 32,
        SimdSplat::I64x2Splat | SimdSplat::F64x2Splat => 64,
    };
    splat_bits(u128::from(x), w)
}

/// `i8x16.shuffle` with its 16 lane indices (each below 32).
pub fn shuffle(lanes: &[u8; 16], a: u128, b: u128) -> u128 {
    let (x, y) = (a.to_le_bytes(), b.to_le_bytes());
    u128::from_le_bytes(from_fn(|i| {
        let l = lanes[i] as usize;
        if l < 16 { x[l] } else { y[l - 16] }
    }))
}

fn swizzle(a: u128, s: u128) -> u128 {
    let (x, s) = (a.to_le_bytes(), s.to_le_bytes());
    u128::from_le_bytes(from_fn(|i| x.get(s[i] as usize).copied().unwrap_or(0)))
}

fn q15mulr(a: i16, b: i16) -> i16 {
    ((i32::from(a) * i32::from(b) + 0x4000) >> 15).clamp(-0x8000, 0x7fff) as i16
}

fn pmin<F: PartialOrd>(a: F, b: F) -> F {
    if b < a { b } else { a }
}

fn pmax<F: PartialOrd>(a: F, b: F) -> F {
    if a < b { b } else { a }
}

/// `f32` lanewise result, canonicalized when asked.
macro_rules! fl32 {
    ($canon:expr, $x:expr) => {{
        let x: f32 = $x;
        if $canon { canonicalize_f32(x) } else { x }
    }};
}

/// `f64` lanewise result, canonicalized when asked.
macro_rules! fl64 {
    ($canon:expr, $x:expr) => {{
        let x: f64 = $x;
        if $canon { canonicalize_f64(x) } else { x }
    }};
}

/// A `v128 -> v128` operator.
pub fn un(op: SimdUn, a: u128, canon: bool) -> u128 {
    use SimdUn as S;
    match op {
        S::V128Not => !a,
        S::I8x16Abs => map!(i8, a, i8::wrapping_abs),
        S::I8x16Neg => map!(i8, a, i8::wrapping_neg),
        S::I8x16Popcnt => map!(u8, a, |x: u8| x.count_ones() as u8),
        S::I16x8ExtAddPairwiseI8x16S => {
            pairwise!(i8, i16, a, |x: i8, y: i8| i16::from(x) + i16::from(y))
        }
        S::I16x8ExtAddPairwiseI8x16U => {
            pairwise!(u8, u16, a, |x: u8, y: u8| u16::from(x) + u16::from(y))
        }
        S::I16x8Abs => map!(i16, a, i16::wrapping_abs),
        S::I16x8Neg => map!(i16, a, i16::wrapping_neg),
        S::I16x8ExtendLowI8x16S => widen!(i8, i16, a, 0, i16::from),
        S::I16x8ExtendHighI8x16S => widen!(i8, i16, a, 8, i16::from),
        S::I16x8ExtendLowI8x16U => widen!(u8, u16, a, 0, u16::from),
        S::I16x8ExtendHighI8x16U => widen!(u8, u16, a, 8, u16::from),
        S::I32x4ExtAddPairwiseI16x8S => {
            pairwise!(i16, i32, a, |x: i16, y: i16| i32::from(x) + i32::from(y))
        }
        S::I32x4ExtAddPairwiseI16x8U => {
            pairwise!(u16, u32, a, |x: u16, y: u16| u32::from(x) + u32::from(y))
        }
        S::I32x4Abs => map!(i32, a, i32::wrapping_abs),
        S::I32x4Neg => map!(i32, a, i32::wrapping_neg),
        S::I32x4ExtendLowI16x8S => widen!(i16, i32, a, 0, i32::from),
        S::I32x4ExtendHighI16x8S => widen!(i16, i32, a, 4, i32::from),
        S::I32x4ExtendLowI16x8U => widen!(u16, u32, a, 0, u32::from),
        S::I32x4ExtendHighI16x8U => widen!(u16, u32, a, 4, u32::from),
        S::I64x2Abs => map!(i64, a, i64::wrapping_abs),
        S::I64x2Neg => map!(i64, a, i64::wrapping_neg),
        S::I64x2ExtendLowI32x4S => widen!(i32, i64, a, 0, i64::from),
        S::I64x2ExtendHighI32x4S => widen!(i32, i64, a, 2, i64::from),
        S::I64x2ExtendLowI32x4U => widen!(u32, u64, a, 0, u64::from),
        S::I64x2ExtendHighI32x4U => widen!(u32, u64, a, 2, u64::from),
        S::F32x4Ceil => map!(f32, a, |x: f32| fl32!(canon, x.ceil())),
        S::F32x4Floor => map!(f32, a, |x: f32| fl32!(canon, x.floor())),
        S::F32x4Trunc => map!(f32, a, |x: f32| fl32!(canon, x.trunc())),
        S::F32x4Nearest => map!(f32, a, |x: f32| fl32!(canon, x.round_ties_even())),
        S::F32x4Sqrt => map!(f32, a, |x: f32| fl32!(canon, x.sqrt())),
        S::F32x4Abs => a & !splat_bits(0x8000_0000, 32),
        S::F32x4Neg => a ^ splat_bits(0x8000_0000, 32),
        S::F64x2Ceil => map!(f64, a, |x: f64| fl64!(canon, x.ceil())),
        S::F64x2Floor => map!(f64, a, |x: f64| fl64!(canon, x.floor())),
        S::F64x2Trunc => map!(f64, a, |x: f64| fl64!(canon, x.trunc())),
        S::F64x2Nearest => map!(f64, a, |x: f64| fl64!(canon, x.round_ties_even())),
        S::F64x2Sqrt => map!(f64, a, |x: f64| fl64!(canon, x.sqrt())),
        S::F64x2Abs => a & !splat_bits(0x8000_0000_0000_0000, 64),
        S::F64x2Neg => a ^ splat_bits(0x8000_0000_0000_0000, 64),
        S::I32x4TruncSatF32x4S | S::I32x4RelaxedTruncF32x4S => {
            widen!(f32, i32, a, 0, |x: f32| x as i32)
        }
        S::I32x4TruncSatF32x4U | S::I32x4RelaxedTruncF32x4U => {
            widen!(f32, u32, a, 0, |x: f32| x as u32)
        }
        S::F32x4ConvertI32x4S => widen!(i32, f32, a, 0, |x: i32| x as f32),
        S::F32x4ConvertI32x4U => widen!(u32, f32, a, 0, |x: u32| x as f32),
        S::I32x4TruncSatF64x2SZero | S::I32x4RelaxedTruncF64x2SZero => {
            let x = unpack::<f64, 2>(a);
            pack::<i32, 4>([x[0] as i32, x[1] as i32, 0, 0])
        }
        S::I32x4TruncSatF64x2UZero | S::I32x4RelaxedTruncF64x2UZero => {
            let x = unpack::<f64, 2>(a);
            pack::<u32, 4>([x[0] as u32, x[1] as u32, 0, 0])
        }
        S::F64x2ConvertLowI32x4S => widen!(i32, f64, a, 0, f64::from),
        S::F64x2ConvertLowI32x4U => widen!(u32, f64, a, 0, f64::from),
        S::F32x4DemoteF64x2Zero => {
            let x = unpack::<f64, 2>(a);
            pack::<f32, 4>([
                fl32!(canon, x[0] as f32),
                fl32!(canon, x[1] as f32),
                0.0,
                0.0,
            ])
        }
        S::F64x2PromoteLowF32x4 => widen!(f32, f64, a, 0, |x: f32| fl64!(canon, f64::from(x))),
    }
}

/// A `v128 v128 -> v128` operator.
pub fn bin(op: SimdBin, a: u128, b: u128, canon: bool) -> u128 {
    use SimdBin as S;
    match op {
        S::I8x16Swizzle | S::I8x16RelaxedSwizzle => swizzle(a, b),
        S::I8x16Eq => cmp!(i8, a, b, |x, y| x == y),
        S::I8x16Ne => cmp!(i8, a, b, |x, y| x != y),
        S::I8x16LtS => cmp!(i8, a, b, |x, y| x < y),
        S::I8x16LtU => cmp!(u8, a, b, |x, y| x < y),
        S::I8x16GtS => cmp!(i8, a, b, |x, y| x > y),
        S::I8x16GtU => cmp!(u8, a, b, |x, y| x > y),
        S::I8x16LeS => cmp!(i8, a, b, |x, y| x <= y),
        S::I8x16LeU => cmp!(u8, a, b, |x, y| x <= y),
        S::I8x16GeS => cmp!(i8, a, b, |x, y| x >= y),
        S::I8x16GeU => cmp!(u8, a, b, |x, y| x >= y),
        S::I16x8Eq => cmp!(i16, a, b, |x, y| x == y),
        S::I16x8Ne => cmp!(i16, a, b, |x, y| x != y),
        S::I16x8LtS => cmp!(i16, a, b, |x, y| x < y),
        S::I16x8LtU => cmp!(u16, a, b, |x, y| x < y),
        S::I16x8GtS => cmp!(i16, a, b, |x, y| x > y),
        S::I16x8GtU => cmp!(u16, a, b, |x, y| x > y),
        S::I16x8LeS => cmp!(i16, a, b, |x, y| x <= y),
        S::I16x8LeU => cmp!(u16, a, b, |x, y| x <= y),
        S::I16x8GeS => cmp!(i16, a, b, |x, y| x >= y),
        S::I16x8GeU => cmp!(u16, a, b, |x, y| x >= y),
        S::I32x4Eq => cmp!(i32, a, b, |x, y| x == y),
        S::I32x4Ne => cmp!(i32, a, b, |x, y| x != y),
        S::I32x4LtS => cmp!(i32, a, b, |x, y| x < y),
        S::I32x4LtU => cmp!(u32, a, b, |x, y| x < y),
        S::I32x4GtS => cmp!(i32, a, b, |x, y| x > y),
        S::I32x4GtU => cmp!(u32, a, b, |x, y| x > y),
        S::I32x4LeS => cmp!(i32, a, b, |x, y| x <= y),
        S::I32x4LeU => cmp!(u32, a, b, |x, y| x <= y),
        S::I32x4GeS => cmp!(i32, a, b, |x, y| x >= y),
        S::I32x4GeU => cmp!(u32, a, b, |x, y| x >= y),
        S::I64x2Eq => cmp!(i64, a, b, |x, y| x == y),
        S::I64x2Ne => cmp!(i64, a, b, |x, y| x != y),
        S::I64x2LtS => cmp!(i64, a, b, |x, y| x < y),
        S::I64x2GtS => cmp!(i64, a, b, |x, y| x > y),
        S::I64x2LeS => cmp!(i64, a, b, |x, y| x <= y),
        S::I64x2GeS => cmp!(i64, a, b, |x, y| x >= y),
        S::F32x4Eq => cmp!(f32, a, b, |x, y| x == y),
        S::F32x4Ne => cmp!(f32, a, b, |x, y| x != y),
        S::F32x4Lt => cmp!(f32, a, b, |x, y| x < y),
        S::F32x4Gt => cmp!(f32, a, b, |x, y| x > y),
        S::F32x4Le => cmp!(f32, a, b, |x, y| x <= y),
        S::F32x4Ge => cmp!(f32, a, b, |x, y| x >= y),
        S::F64x2Eq => cmp!(f64, a, b, |x, y| x == y),
        S::F64x2Ne => cmp!(f64, a, b, |x, y| x != y),
        S::F64x2Lt => cmp!(f64, a, b, |x, y| x < y),
        S::F64x2Gt => cmp!(f64, a, b, |x, y| x > y),
        S::F64x2Le => cmp!(f64, a, b, |x, y| x <= y),
        S::F64x2Ge => cmp!(f64, a, b, |x, y| x >= y),
        S::V128And => a & b,
        S::V128AndNot => a & !b,
        S::V128Or => a | b,
        S::V128Xor => a ^ b,
        S::I8x16NarrowI16x8S => narrow!(i16, i8, a, b, -128, 127),
        S::I8x16NarrowI16x8U => narrow!(i16, u8, a, b, 0, 255),
        S::I8x16Add => zip!(i8, a, b, i8::wrapping_add),
        S::I8x16AddSatS => zip!(i8, a, b, i8::saturating_add),
        S::I8x16AddSatU => zip!(u8, a, b, u8::saturating_add),
        S::I8x16Sub => zip!(i8, a, b, i8::wrapping_sub),
        S::I8x16SubSatS => zip!(i8, a, b, i8::saturating_sub),
        S::I8x16SubSatU => zip!(u8, a, b, u8::saturating_sub),
        S::I8x16MinS => zip!(i8, a, b, std::cmp::min),
        S::I8x16MinU => zip!(u8, a, b, std::cmp::min),
        S::I8x16MaxS => zip!(i8, a, b, std::cmp::max),
        S::I8x16MaxU => zip!(u8, a, b, std::cmp::max),
        S::I8x16AvgrU => zip!(u8, a, b, |x: u8, y: u8| {
            (u16::from(x) + u16::from(y)).div_ceil(2) as u8
        }),
        S::I16x8Q15MulrSatS | S::I16x8RelaxedQ15mulrS => zip!(i16, a, b, q15mulr),
        S::I16x8NarrowI32x4S => narrow!(i32, i16, a, b, -0x8000, 0x7fff),
        S::I16x8NarrowI32x4U => narrow!(i32, u16, a, b, 0, 0xffff),
        S::I16x8Add => zip!(i16, a, b, i16::wrapping_add),
        S::I16x8AddSatS => zip!(i16, a, b, i16::saturating_add),
        S::I16x8AddSatU => zip!(u16, a, b, u16::saturating_add),
        S::I16x8Sub => zip!(i16, a, b, i16::wrapping_sub),
        S::I16x8SubSatS => zip!(i16, a, b, i16::saturating_sub),
        S::I16x8SubSatU => zip!(u16, a, b, u16::saturating_sub),
        S::I16x8Mul => zip!(i16, a, b, i16::wrapping_mul),
        S::I16x8MinS => zip!(i16, a, b, std::cmp::min),
        S::I16x8MinU => zip!(u16, a, b, std::cmp::min),
        S::I16x8MaxS => zip!(i16, a, b, std::cmp::max),
        S::I16x8MaxU => zip!(u16, a, b, std::cmp::max),
        S::I16x8AvgrU => zip!(u16, a, b, |x: u16, y: u16| {
            (u32::from(x) + u32::from(y)).div_ceil(2) as u16
        }),
        S::I16x8ExtMulLowI8x16S => extmul!(i8, i16, a, b, 0),
        S::I16x8ExtMulHighI8x16S => extmul!(i8, i16, a, b, 8),
        S::I16x8ExtMulLowI8x16U => extmul!(u8, u16, a, b, 0),
        S::I16x8ExtMulHighI8x16U => extmul!(u8, u16, a, b, 8),
        S::I16x8RelaxedDotI8x16I7x16S => {
            let (x, y) = (unpack::<i8, 16>(a), unpack::<i8, 16>(b));
            pack::<i16, 8>(from_fn(|i| {
                let p = |j: usize| i16::from(x[j]) * i16::from(y[j]);
                p(2 * i).saturating_add(p(2 * i + 1))
            }))
        }
        S::I32x4Add => zip!(i32, a, b, i32::wrapping_add),
        S::I32x4Sub => zip!(i32, a, b, i32::wrapping_sub),
        S::I32x4Mul => zip!(i32, a, b, i32::wrapping_mul),
        S::I32x4MinS => zip!(i32, a, b, std::cmp::min),
        S::I32x4MinU => zip!(u32, a, b, std::cmp::min),
        S::I32x4MaxS => zip!(i32, a, b, std::cmp::max),
        S::I32x4MaxU => zip!(u32, a, b, std::cmp::max),
        S::I32x4DotI16x8S => {
            let (x, y) = (unpack::<i16, 8>(a), unpack::<i16, 8>(b));
            pack::<i32, 4>(from_fn(|i| {
                let p = |j: usize| i32::from(x[j]) * i32::from(y[j]);
                p(2 * i).wrapping_add(p(2 * i + 1))
            }))
        }
        S::I32x4ExtMulLowI16x8S => extmul!(i16, i32, a, b, 0),
        S::I32x4ExtMulHighI16x8S => extmul!(i16, i32, a, b, 4),
        S::I32x4ExtMulLowI16x8U => extmul!(u16, u32, a, b, 0),
        S::I32x4ExtMulHighI16x8U => extmul!(u16, u32, a, b, 4),
        S::I64x2Add => zip!(i64, a, b, i64::wrapping_add),
        S::I64x2Sub => zip!(i64, a, b, i64::wrapping_sub),
        S::I64x2Mul => zip!(i64, a, b, i64::wrapping_mul),
        S::I64x2ExtMulLowI32x4S => extmul!(i32, i64, a, b, 0),
        S::I64x2ExtMulHighI32x4S => extmul!(i32, i64, a, b, 2),
        S::I64x2ExtMulLowI32x4U => extmul!(u32, u64, a, b, 0),
        S::I64x2ExtMulHighI32x4U => extmul!(u32, u64, a, b, 2),
        S::F32x4Add => zip!(f32, a, b, |x: f32, y: f32| fl32!(canon, x + y)),
        S::F32x4Sub => zip!(f32, a, b, |x: f32, y: f32| fl32!(canon, x - y)),
        S::F32x4Mul => zip!(f32, a, b, |x: f32, y: f32| fl32!(canon, x * y)),
        S::F32x4Div => zip!(f32, a, b, |x: f32, y: f32| fl32!(canon, x / y)),
        S::F32x4Min | S::F32x4RelaxedMin => {
            zip!(f32, a, b, |x, y| fl32!(canon, f32_min(x, y)))
        }
        S::F32x4Max | S::F32x4RelaxedMax => {
            zip!(f32, a, b, |x, y| fl32!(canon, f32_max(x, y)))
        }
        S::F32x4PMin => zip!(f32, a, b, pmin),
        S::F32x4PMax => zip!(f32, a, b, pmax),
        S::F64x2Add => zip!(f64, a, b, |x: f64, y: f64| fl64!(canon, x + y)),
        S::F64x2Sub => zip!(f64, a, b, |x: f64, y: f64| fl64!(canon, x - y)),
        S::F64x2Mul => zip!(f64, a, b, |x: f64, y: f64| fl64!(canon, x * y)),
        S::F64x2Div => zip!(f64, a, b, |x: f64, y: f64| fl64!(canon, x / y)),
        S::F64x2Min | S::F64x2RelaxedMin => {
            zip!(f64, a, b, |x, y| fl64!(canon, f64_min(x, y)))
        }
        S::F64x2Max | S::F64x2RelaxedMax => {
            zip!(f64, a, b, |x, y| fl64!(canon, f64_max(x, y)))
        }
        S::F64x2PMin => zip!(f64, a, b, pmin),
        S::F64x2PMax => zip!(f64, a, b, pmax),
    }
}

/// A `v128 v128 v128 -> v128` operator.
pub fn ter(op: SimdTer, a: u128, b: u128, c: u128, canon: bool) -> u128 {
    use SimdTer as S;
    match op {
        S::V128Bitselect
        | S::I8x16RelaxedLaneselect
        | S::I16x8RelaxedLaneselect
        | S::I32x4RelaxedLaneselect
        | S::I64x2RelaxedLaneselect => (a & c) | (b & !c),
        S::F32x4RelaxedMadd | S::F32x4RelaxedNmadd => {
            let (x, y, z) = (
                unpack::<f32, 4>(a),
                unpack::<f32, 4>(b),
                unpack::<f32, 4>(c),
            );
            let neg = op == S::F32x4RelaxedNmadd;
            pack::<f32, 4>(from_fn(|i| {
                let x = if neg { -x[i] } else { x[i] };
                fl32!(canon, x.mul_add(y[i], z[i]))
            }))
        }
        S::F64x2RelaxedMadd | S::F64x2RelaxedNmadd => {
            let (x, y, z) = (
                unpack::<f64, 2>(a),
                unpack::<f64, 2>(b),
                unpack::<f64, 2>(c),
            );
            let neg = op == S::F64x2RelaxedNmadd;
            pack::<f64, 2>(from_fn(|i| {
                let x = if neg { -x[i] } else { x[i] };
                fl64!(canon, x.mul_add(y[i], z[i]))
            }))
        }
        S::I32x4RelaxedDotI8x16I7x16AddS => {
            let (x, y, z) = (
                unpack::<i8, 16>(a),
                unpack::<i8, 16>(b),
                unpack::<i32, 4>(c),
            );
            pack::<i32, 4>(from_fn(|i| {
                let p = |j: usize| i32::from(x[j]) * i32::from(y[j]);
                (p(4 * i) + p(4 * i + 1) + p(4 * i + 2) + p(4 * i + 3)).wrapping_add(z[i])
            }))
        }
    }
}

/// A `v128 -> i32` operator, as a cell.
pub fn test(op: SimdTest, a: u128) -> u64 {
    fn bitmask<T: Lane + PartialOrd + Default, const N: usize>(a: u128) -> u64 {
        unpack::<T, N>(a)
            .iter()
            .enumerate()
            .fold(0, |m, (i, x)| m | (u64::from(*x < T::default()) << i))
    }
    use SimdTest as S;
    u64::from(match op {
        S::V128AnyTrue => a != 0,
        S::I8x16AllTrue => unpack::<u8, 16>(a).iter().all(|x| *x != 0),
        S::I16x8AllTrue => unpack::<u16, 8>(a).iter().all(|x| *x != 0),
        S::I32x4AllTrue => unpack::<u32, 4>(a).iter().all(|x| *x != 0),
        S::I64x2AllTrue => unpack::<u64, 2>(a).iter().all(|x| *x != 0),
        S::I8x16Bitmask => return bitmask::<i8, 16>(a),
        S::I16x8Bitmask => return bitmask::<i16, 8>(a),
        S::I32x4Bitmask => return bitmask::<i32, 4>(a),
        S::I64x2Bitmask => return bitmask::<i64, 2>(a),
    })
}

/// A shift by the `i32` in `count`'s cell (taken modulo the lane width).
pub fn shift(op: SimdShift, a: u128, count: u64) -> u128 {
    use SimdShift as S;
    let s = count as u32;
    match op {
        S::I8x16Shl => map!(i8, a, |x: i8| x.wrapping_shl(s)),
        S::I8x16ShrS => map!(i8, a, |x: i8| x.wrapping_shr(s)),
        S::I8x16ShrU => map!(u8, a, |x: u8| x.wrapping_shr(s)),
        S::I16x8Shl => map!(i16, a, |x: i16| x.wrapping_shl(s)),
        S::I16x8ShrS => map!(i16, a, |x: i16| x.wrapping_shr(s)),
        S::I16x8ShrU => map!(u16, a, |x: u16| x.wrapping_shr(s)),
        S::I32x4Shl => map!(i32, a, |x: i32| x.wrapping_shl(s)),
        S::I32x4ShrS => map!(i32, a, |x: i32| x.wrapping_shr(s)),
        S::I32x4ShrU => map!(u32, a, |x: u32| x.wrapping_shr(s)),
        S::I64x2Shl => map!(i64, a, |x: i64| x.wrapping_shl(s)),
        S::I64x2ShrS => map!(i64, a, |x: i64| x.wrapping_shr(s)),
        S::I64x2ShrU => map!(u64, a, |x: u64| x.wrapping_shr(s)),
    }
}

/// Whether `op` is a SIMD instruction this module executes (every one of SIMD and relaxed
/// SIMD): the check that nothing of the proposal is left out of the interpreter's lowering.
pub fn is_simd(op: &Operator<'_>) -> bool {
    SimdUn::of(op).is_some()
        || SimdBin::of(op).is_some()
        || SimdTer::of(op).is_some()
        || SimdTest::of(op).is_some()
        || SimdShift::of(op).is_some()
        || SimdSplat::of(op).is_some()
        || LaneOp::extract(op).is_some()
        || LaneOp::replace(op).is_some()
        || V128LoadKind::of(op).is_some()
        || lane_access(op).is_some()
        || matches!(
            op,
            Operator::V128Const { .. } | Operator::I8x16Shuffle { .. } | Operator::V128Store { .. }
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_are_little_endian_bit_ranges() {
        let v = u128::from_le_bytes(from_fn(|i| i as u8));
        assert_eq!(lanes_i8(v)[3], 3);
        assert_eq!(lanes_i16(v)[1], 0x0302);
        assert_eq!(lanes_i32(v)[3], 0x0f0e_0d0c);
        assert_eq!(extract(LaneOp::I8S, 0, !0), u64::from(u32::MAX));
        assert_eq!(replace(LaneOp::I16U, 1, 0, 0xabcd), 0xabcd_0000);
    }

    #[test]
    fn saturating_and_relaxed_choices() {
        let a = pack::<i8, 16>(from_fn(|i| if i < 2 { -128 } else { 0 }));
        // -128 · -128 · 2 = 32768 saturates in the i16 form, is exact in the i32 form.
        assert_eq!(
            lanes_i16(bin(SimdBin::I16x8RelaxedDotI8x16I7x16S, a, a, false))[0],
            32767
        );
        assert_eq!(
            lanes_i32(ter(SimdTer::I32x4RelaxedDotI8x16I7x16AddS, a, a, 1, false))[0],
            32769
        );
        let nan = pack::<f32, 4>([f32::NAN, 1.5, -2.5, 3e9]);
        assert_eq!(
            lanes_i32(un(SimdUn::I32x4RelaxedTruncF32x4S, nan, false)),
            [0, 1, -2, i32::MAX]
        );
        let m = pack::<f32, 4>([f32::MAX; 4]);
        let fused = lanes_f32(ter(
            SimdTer::F32x4RelaxedMadd,
            m,
            pack([2.0f32; 4]),
            pack([-f32::MAX; 4]),
            false,
        ));
        assert_eq!(fused[0], f32::MAX, "one rounding");
    }
}
