//! SIMD on the JIT: every `0xfd` operator, lowered to Cranelift's vector instructions where
//! they have Wasm's semantics, and otherwise to a call of the interpreter's own lane function
//! (`crate::simd`), so both engines compute every lane from the same definition.
//!
//! A `v128` is one Cranelift value of type `i8x16` between instructions; an operator on other
//! lanes bitcasts its operands (little-endian lane order, the layout of `crate::simd`) and its
//! result back. Float results are NaN-canonicalized lanewise, as the scalar ones are, when the
//! module runs with canonicalization on.
//!
//! Through the interpreter's functions go the operators Cranelift has no direct instruction
//! for, or that are rare in real code: the `f64x2` conversions, relaxed `madd`/`nmadd` (fused,
//! one rounding, whatever the host's FMA support), and the relaxed dot products. They pass
//! their operands and result through a 48-byte stack slot.
//!
//! Loads and stores take the scalar path's fast route (memory 0 of 32-bit addresses, an offset
//! that fits 32 bits: an explicit bounds check, then the access) or its general one, where a
//! libcall moves the accessed bytes between memory and the same stack slot.

use super::*;
use crate::simd::{LaneOp, SimdBin, SimdShift, SimdSplat, SimdTer, SimdTest, SimdUn, V128LoadKind};
use cranelift_codegen::ir::{ConstantData, Endianness};
use types::{F32X4, F64X2, I8X16, I16X8, I32X4, I64X2};

/// Which of `crate::simd`'s functions a fallback libcall runs (see `libcalls::simd`).
pub(crate) mod class {
    pub const UN: u32 = 0;
    pub const BIN: u32 = 1;
    pub const TER: u32 = 2;
}

/// Flags of a lane-reinterpreting bitcast: the lane order is the little-endian one.
fn lanes() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

impl JitEnv<'_, '_> {
    /// `v` (an `i8x16`, or any 128-bit vector) as a vector of type `ty`.
    fn vec(&mut self, v: Value, ty: Type) -> Value {
        if self.b.func.dfg.value_type(v) == ty {
            v
        } else {
            self.b.ins().bitcast(ty, lanes(), v)
        }
    }

    /// Pushes the vector `v` as a `v128` (an `i8x16`).
    fn push_vec(&mut self, v: Value) {
        let v = self.vec(v, I8X16);
        self.push(ValType::V128, v);
    }

    /// Pops a `v128` as a vector of type `ty`.
    fn pop_vec(&mut self, ty: Type) -> Value {
        let v = self.pop();
        self.vec(v, ty)
    }

    /// The float vector `v` with each NaN lane replaced by the canonical NaN (when the module
    /// canonicalizes).
    fn canon_vec(&mut self, v: Value) -> Value {
        if !self.m.canon {
            return v;
        }
        let ty = self.b.func.dfg.value_type(v);
        let (ity, nan) = if ty == F32X4 {
            let n = self
                .b
                .ins()
                .iconst(types::I32, i64::from(crate::wasm::CANONICAL_NAN_F32));
            (I32X4, n)
        } else {
            let n = self
                .b
                .ins()
                .iconst(types::I64, crate::wasm::CANONICAL_NAN_F64 as i64);
            (I64X2, n)
        };
        let nans = self.b.ins().splat(ity, nan);
        let is_nan = self.b.ins().fcmp(FloatCC::Unordered, v, v);
        let bits = self.vec(v, ity);
        let r = self.b.ins().bitselect(is_nan, nans, bits);
        self.vec(r, ty)
    }

    /// `f` of one `v128` operand of lanes `ty`.
    fn vun(&mut self, ty: Type, f: impl FnOnce(&mut FunctionBuilder<'_>, Value) -> Value) {
        let a = self.pop_vec(ty);
        let v = f(&mut self.b, a);
        self.push_vec(v);
    }

    /// `f` of two `v128` operands of lanes `ty`.
    fn vbin(&mut self, ty: Type, f: impl FnOnce(&mut FunctionBuilder<'_>, Value, Value) -> Value) {
        let b = self.pop_vec(ty);
        let a = self.pop_vec(ty);
        let v = f(&mut self.b, a, b);
        self.push_vec(v);
    }

    /// A float operator of one operand: its result canonicalized.
    fn vfun(&mut self, ty: Type, f: impl FnOnce(&mut FunctionBuilder<'_>, Value) -> Value) {
        let a = self.pop_vec(ty);
        let v = f(&mut self.b, a);
        let v = self.canon_vec(v);
        self.push_vec(v);
    }

    /// A float operator of two operands: its result canonicalized.
    fn vfbin(&mut self, ty: Type, f: impl FnOnce(&mut FunctionBuilder<'_>, Value, Value) -> Value) {
        let b = self.pop_vec(ty);
        let a = self.pop_vec(ty);
        let v = f(&mut self.b, a, b);
        let v = self.canon_vec(v);
        self.push_vec(v);
    }

    /// A lanewise integer comparison.
    fn vicmp(&mut self, ty: Type, cc: IntCC) {
        self.vbin(ty, |b, x, y| b.ins().icmp(cc, x, y));
    }

    /// A lanewise float comparison.
    fn vfcmp(&mut self, ty: Type, cc: FloatCC) {
        self.vbin(ty, |b, x, y| b.ins().fcmp(cc, x, y));
    }

    /// The address of the SIMD stack slot (made on first use).
    fn io(&mut self) -> Value {
        let ss = match self.simd_io {
            Some(ss) => ss,
            None => {
                let ss = self.b.create_sized_stack_slot(StackSlotData::new(
                    StackSlotKind::ExplicitSlot,
                    48,
                    4,
                ));
                self.simd_io = Some(ss);
                ss
            }
        };
        self.b.ins().stack_addr(types::I64, ss, 0)
    }

    /// Flags of accesses to the SIMD stack slot.
    fn fl_io(&self) -> MemFlagsData {
        MemFlagsData::new()
            .with_notrap()
            .with_alias_region(Some(self.r_other))
    }

    /// The operator `op` of class `class` with `n` `v128` operands, through the interpreter's
    /// function for it.
    fn simd_libcall(&mut self, class: u32, op: usize, n: usize) {
        let io = self.io();
        let fl = self.fl_io();
        for i in (0..n).rev() {
            let v = self.pop();
            self.b.ins().store(fl, v, io, (16 * i) as i32);
        }
        let class = self.i32c(class);
        let op = self.i32c(op as u32);
        let canon = self.i32c(u32::from(self.m.canon));
        self.libcall(
            self.m.libcalls.simd,
            &[types::I32, types::I32, types::I32, types::I64],
            &[],
            &[class, op, canon, io],
        );
        let r = self.b.ins().load(I8X16, fl, io, 0);
        self.push(ValType::V128, r);
    }

    /// Any SIMD operator (the step is counted already).
    pub(super) fn simd(&mut self, inst: Inst, op: &Operator<'_>) -> WResult<()> {
        use Operator as O;
        if let Some(u) = SimdUn::of(op) {
            self.simd_un(u);
        } else if let Some(bin) = SimdBin::of(op) {
            self.simd_bin(bin);
        } else if let Some(t) = SimdTer::of(op) {
            self.simd_ter(t);
        } else if let Some(t) = SimdTest::of(op) {
            self.simd_test(t);
        } else if let Some(s) = SimdShift::of(op) {
            use SimdShift as S;
            let count = self.pop();
            let ty = match s {
                S::I8x16Shl | S::I8x16ShrS | S::I8x16ShrU => I8X16,
                S::I16x8Shl | S::I16x8ShrS | S::I16x8ShrU => I16X8,
                S::I32x4Shl | S::I32x4ShrS | S::I32x4ShrU => I32X4,
                S::I64x2Shl | S::I64x2ShrS | S::I64x2ShrU => I64X2,
            };
            // Cranelift takes a vector shift's count modulo the lane width, as Wasm does.
            let a = self.pop_vec(ty);
            let v = match s {
                S::I8x16Shl | S::I16x8Shl | S::I32x4Shl | S::I64x2Shl => {
                    self.b.ins().ishl(a, count)
                }
                S::I8x16ShrS | S::I16x8ShrS | S::I32x4ShrS | S::I64x2ShrS => {
                    self.b.ins().sshr(a, count)
                }
                S::I8x16ShrU | S::I16x8ShrU | S::I32x4ShrU | S::I64x2ShrU => {
                    self.b.ins().ushr(a, count)
                }
            };
            self.push_vec(v);
        } else if let Some(s) = SimdSplat::of(op) {
            let x = self.pop();
            let v = match s {
                SimdSplat::I8x16Splat => {
                    let x = self.b.ins().ireduce(types::I8, x);
                    self.b.ins().splat(I8X16, x)
                }
                SimdSplat::I16x8Splat => {
                    let x = self.b.ins().ireduce(types::I16, x);
                    self.b.ins().splat(I16X8, x)
                }
                SimdSplat::I32x4Splat => self.b.ins().splat(I32X4, x),
                SimdSplat::I64x2Splat => self.b.ins().splat(I64X2, x),
                SimdSplat::F32x4Splat => self.b.ins().splat(F32X4, x),
                SimdSplat::F64x2Splat => self.b.ins().splat(F64X2, x),
            };
            self.push_vec(v);
        } else if let Some((lop, lane)) = LaneOp::extract(op) {
            let (ty, vt) = lane_type(lop);
            let v = self.pop_vec(vt);
            let x = self.b.ins().extractlane(v, lane);
            let x = match lop {
                LaneOp::I8S | LaneOp::I16S => self.b.ins().sextend(types::I32, x),
                LaneOp::I8U | LaneOp::I16U => self.b.ins().uextend(types::I32, x),
                _ => x,
            };
            self.push(ty, x);
        } else if let Some((lop, lane)) = LaneOp::replace(op) {
            let (_, vt) = lane_type(lop);
            let x = self.pop();
            let x = match lop {
                LaneOp::I8U => self.b.ins().ireduce(types::I8, x),
                LaneOp::I16U => self.b.ins().ireduce(types::I16, x),
                _ => x,
            };
            let v = self.pop_vec(vt);
            let v = self.b.ins().insertlane(v, x, lane);
            self.push_vec(v);
        } else if let Some((kind, memarg)) = V128LoadKind::of(op) {
            self.v128_load(inst, kind, &memarg);
        } else if let Some((store, bytes, lane, memarg)) = crate::simd::lane_access(op) {
            if store {
                self.v128_store_lane(inst, bytes, lane, &memarg);
            } else {
                self.v128_load_lane(inst, bytes, lane, &memarg);
            }
        } else {
            match *op {
                O::V128Const { value } => {
                    let v = v128_const(&mut self.b, value.i128() as u128);
                    self.push(ValType::V128, v);
                }
                O::I8x16Shuffle { lanes } => {
                    let b = self.pop();
                    let a = self.pop();
                    let mask = self
                        .b
                        .func
                        .dfg
                        .immediates
                        .push(ConstantData::from(&lanes[..]));
                    let v = self.b.ins().shuffle(a, b, mask);
                    self.push(ValType::V128, v);
                }
                O::V128Store { memarg } => self.v128_store(inst, &memarg),
                ref other => {
                    return Err(crate::Error::Internal(format!(
                        "SIMD operator at {:#x} not lowered by deja's JIT: {other:?}",
                        inst.pc
                    )));
                }
            }
        }
        Ok(())
    }

    fn simd_un(&mut self, op: SimdUn) {
        use SimdUn as S;
        match op {
            S::V128Not => self.vun(I8X16, |b, x| b.ins().bnot(x)),
            S::I8x16Abs => self.vun(I8X16, |b, x| b.ins().iabs(x)),
            S::I8x16Neg => self.vun(I8X16, |b, x| b.ins().ineg(x)),
            S::I8x16Popcnt => self.vun(I8X16, |b, x| b.ins().popcnt(x)),
            S::I16x8Abs => self.vun(I16X8, |b, x| b.ins().iabs(x)),
            S::I16x8Neg => self.vun(I16X8, |b, x| b.ins().ineg(x)),
            S::I32x4Abs => self.vun(I32X4, |b, x| b.ins().iabs(x)),
            S::I32x4Neg => self.vun(I32X4, |b, x| b.ins().ineg(x)),
            S::I64x2Abs => self.vun(I64X2, |b, x| b.ins().iabs(x)),
            S::I64x2Neg => self.vun(I64X2, |b, x| b.ins().ineg(x)),
            S::I16x8ExtAddPairwiseI8x16S | S::I32x4ExtAddPairwiseI16x8S => {
                let ty = if op == S::I16x8ExtAddPairwiseI8x16S {
                    I8X16
                } else {
                    I16X8
                };
                self.vun(ty, |b, x| {
                    let lo = b.ins().swiden_low(x);
                    let hi = b.ins().swiden_high(x);
                    b.ins().iadd_pairwise(lo, hi)
                })
            }
            S::I16x8ExtAddPairwiseI8x16U | S::I32x4ExtAddPairwiseI16x8U => {
                let ty = if op == S::I16x8ExtAddPairwiseI8x16U {
                    I8X16
                } else {
                    I16X8
                };
                self.vun(ty, |b, x| {
                    let lo = b.ins().uwiden_low(x);
                    let hi = b.ins().uwiden_high(x);
                    b.ins().iadd_pairwise(lo, hi)
                })
            }
            S::I16x8ExtendLowI8x16S => self.vun(I8X16, |b, x| b.ins().swiden_low(x)),
            S::I16x8ExtendHighI8x16S => self.vun(I8X16, |b, x| b.ins().swiden_high(x)),
            S::I16x8ExtendLowI8x16U => self.vun(I8X16, |b, x| b.ins().uwiden_low(x)),
            S::I16x8ExtendHighI8x16U => self.vun(I8X16, |b, x| b.ins().uwiden_high(x)),
            S::I32x4ExtendLowI16x8S => self.vun(I16X8, |b, x| b.ins().swiden_low(x)),
            S::I32x4ExtendHighI16x8S => self.vun(I16X8, |b, x| b.ins().swiden_high(x)),
            S::I32x4ExtendLowI16x8U => self.vun(I16X8, |b, x| b.ins().uwiden_low(x)),
            S::I32x4ExtendHighI16x8U => self.vun(I16X8, |b, x| b.ins().uwiden_high(x)),
            S::I64x2ExtendLowI32x4S => self.vun(I32X4, |b, x| b.ins().swiden_low(x)),
            S::I64x2ExtendHighI32x4S => self.vun(I32X4, |b, x| b.ins().swiden_high(x)),
            S::I64x2ExtendLowI32x4U => self.vun(I32X4, |b, x| b.ins().uwiden_low(x)),
            S::I64x2ExtendHighI32x4U => self.vun(I32X4, |b, x| b.ins().uwiden_high(x)),
            S::F32x4Ceil => self.vfun(F32X4, |b, x| b.ins().ceil(x)),
            S::F32x4Floor => self.vfun(F32X4, |b, x| b.ins().floor(x)),
            S::F32x4Trunc => self.vfun(F32X4, |b, x| b.ins().trunc(x)),
            S::F32x4Nearest => self.vfun(F32X4, |b, x| b.ins().nearest(x)),
            S::F32x4Sqrt => self.vfun(F32X4, |b, x| b.ins().sqrt(x)),
            S::F64x2Ceil => self.vfun(F64X2, |b, x| b.ins().ceil(x)),
            S::F64x2Floor => self.vfun(F64X2, |b, x| b.ins().floor(x)),
            S::F64x2Trunc => self.vfun(F64X2, |b, x| b.ins().trunc(x)),
            S::F64x2Nearest => self.vfun(F64X2, |b, x| b.ins().nearest(x)),
            S::F64x2Sqrt => self.vfun(F64X2, |b, x| b.ins().sqrt(x)),
            // Sign-bit operations: bits pass through, NaNs too.
            S::F32x4Abs => self.vun(F32X4, |b, x| b.ins().fabs(x)),
            S::F32x4Neg => self.vun(F32X4, |b, x| b.ins().fneg(x)),
            S::F64x2Abs => self.vun(F64X2, |b, x| b.ins().fabs(x)),
            S::F64x2Neg => self.vun(F64X2, |b, x| b.ins().fneg(x)),
            S::I32x4TruncSatF32x4S | S::I32x4RelaxedTruncF32x4S => {
                self.vun(F32X4, |b, x| b.ins().fcvt_to_sint_sat(I32X4, x))
            }
            S::I32x4TruncSatF32x4U | S::I32x4RelaxedTruncF32x4U => {
                self.vun(F32X4, |b, x| b.ins().fcvt_to_uint_sat(I32X4, x))
            }
            S::F32x4ConvertI32x4S => self.vun(I32X4, |b, x| b.ins().fcvt_from_sint(F32X4, x)),
            S::F32x4ConvertI32x4U => self.vun(I32X4, |b, x| b.ins().fcvt_from_uint(F32X4, x)),
            S::F32x4DemoteF64x2Zero => self.vfun(F64X2, |b, x| b.ins().fvdemote(x)),
            S::F64x2PromoteLowF32x4 => self.vfun(F32X4, |b, x| b.ins().fvpromote_low(x)),
            S::I32x4TruncSatF64x2SZero
            | S::I32x4TruncSatF64x2UZero
            | S::I32x4RelaxedTruncF64x2SZero
            | S::I32x4RelaxedTruncF64x2UZero
            | S::F64x2ConvertLowI32x4S
            | S::F64x2ConvertLowI32x4U => self.simd_libcall(class::UN, op as usize, 1),
        }
    }

    fn simd_bin(&mut self, op: SimdBin) {
        use SimdBin as S;
        match op {
            S::I8x16Swizzle | S::I8x16RelaxedSwizzle => {
                // Cranelift's `swizzle` selects 0 for an index of 16 or more, as Wasm's does.
                self.vbin(I8X16, |b, x, y| b.ins().swizzle(x, y))
            }
            S::I8x16Eq => self.vicmp(I8X16, IntCC::Equal),
            S::I8x16Ne => self.vicmp(I8X16, IntCC::NotEqual),
            S::I8x16LtS => self.vicmp(I8X16, IntCC::SignedLessThan),
            S::I8x16LtU => self.vicmp(I8X16, IntCC::UnsignedLessThan),
            S::I8x16GtS => self.vicmp(I8X16, IntCC::SignedGreaterThan),
            S::I8x16GtU => self.vicmp(I8X16, IntCC::UnsignedGreaterThan),
            S::I8x16LeS => self.vicmp(I8X16, IntCC::SignedLessThanOrEqual),
            S::I8x16LeU => self.vicmp(I8X16, IntCC::UnsignedLessThanOrEqual),
            S::I8x16GeS => self.vicmp(I8X16, IntCC::SignedGreaterThanOrEqual),
            S::I8x16GeU => self.vicmp(I8X16, IntCC::UnsignedGreaterThanOrEqual),
            S::I16x8Eq => self.vicmp(I16X8, IntCC::Equal),
            S::I16x8Ne => self.vicmp(I16X8, IntCC::NotEqual),
            S::I16x8LtS => self.vicmp(I16X8, IntCC::SignedLessThan),
            S::I16x8LtU => self.vicmp(I16X8, IntCC::UnsignedLessThan),
            S::I16x8GtS => self.vicmp(I16X8, IntCC::SignedGreaterThan),
            S::I16x8GtU => self.vicmp(I16X8, IntCC::UnsignedGreaterThan),
            S::I16x8LeS => self.vicmp(I16X8, IntCC::SignedLessThanOrEqual),
            S::I16x8LeU => self.vicmp(I16X8, IntCC::UnsignedLessThanOrEqual),
            S::I16x8GeS => self.vicmp(I16X8, IntCC::SignedGreaterThanOrEqual),
            S::I16x8GeU => self.vicmp(I16X8, IntCC::UnsignedGreaterThanOrEqual),
            S::I32x4Eq => self.vicmp(I32X4, IntCC::Equal),
            S::I32x4Ne => self.vicmp(I32X4, IntCC::NotEqual),
            S::I32x4LtS => self.vicmp(I32X4, IntCC::SignedLessThan),
            S::I32x4LtU => self.vicmp(I32X4, IntCC::UnsignedLessThan),
            S::I32x4GtS => self.vicmp(I32X4, IntCC::SignedGreaterThan),
            S::I32x4GtU => self.vicmp(I32X4, IntCC::UnsignedGreaterThan),
            S::I32x4LeS => self.vicmp(I32X4, IntCC::SignedLessThanOrEqual),
            S::I32x4LeU => self.vicmp(I32X4, IntCC::UnsignedLessThanOrEqual),
            S::I32x4GeS => self.vicmp(I32X4, IntCC::SignedGreaterThanOrEqual),
            S::I32x4GeU => self.vicmp(I32X4, IntCC::UnsignedGreaterThanOrEqual),
            S::I64x2Eq => self.vicmp(I64X2, IntCC::Equal),
            S::I64x2Ne => self.vicmp(I64X2, IntCC::NotEqual),
            S::I64x2LtS => self.vicmp(I64X2, IntCC::SignedLessThan),
            S::I64x2GtS => self.vicmp(I64X2, IntCC::SignedGreaterThan),
            S::I64x2LeS => self.vicmp(I64X2, IntCC::SignedLessThanOrEqual),
            S::I64x2GeS => self.vicmp(I64X2, IntCC::SignedGreaterThanOrEqual),
            S::F32x4Eq => self.vfcmp(F32X4, FloatCC::Equal),
            S::F32x4Ne => self.vfcmp(F32X4, FloatCC::NotEqual),
            S::F32x4Lt => self.vfcmp(F32X4, FloatCC::LessThan),
            S::F32x4Gt => self.vfcmp(F32X4, FloatCC::GreaterThan),
            S::F32x4Le => self.vfcmp(F32X4, FloatCC::LessThanOrEqual),
            S::F32x4Ge => self.vfcmp(F32X4, FloatCC::GreaterThanOrEqual),
            S::F64x2Eq => self.vfcmp(F64X2, FloatCC::Equal),
            S::F64x2Ne => self.vfcmp(F64X2, FloatCC::NotEqual),
            S::F64x2Lt => self.vfcmp(F64X2, FloatCC::LessThan),
            S::F64x2Gt => self.vfcmp(F64X2, FloatCC::GreaterThan),
            S::F64x2Le => self.vfcmp(F64X2, FloatCC::LessThanOrEqual),
            S::F64x2Ge => self.vfcmp(F64X2, FloatCC::GreaterThanOrEqual),
            S::V128And => self.vbin(I8X16, |b, x, y| b.ins().band(x, y)),
            S::V128AndNot => self.vbin(I8X16, |b, x, y| b.ins().band_not(x, y)),
            S::V128Or => self.vbin(I8X16, |b, x, y| b.ins().bor(x, y)),
            S::V128Xor => self.vbin(I8X16, |b, x, y| b.ins().bxor(x, y)),
            S::I8x16NarrowI16x8S => self.vbin(I16X8, |b, x, y| b.ins().snarrow(x, y)),
            S::I8x16NarrowI16x8U => self.vbin(I16X8, |b, x, y| b.ins().unarrow(x, y)),
            S::I16x8NarrowI32x4S => self.vbin(I32X4, |b, x, y| b.ins().snarrow(x, y)),
            S::I16x8NarrowI32x4U => self.vbin(I32X4, |b, x, y| b.ins().unarrow(x, y)),
            S::I8x16Add => self.vbin(I8X16, |b, x, y| b.ins().iadd(x, y)),
            S::I8x16AddSatS => self.vbin(I8X16, |b, x, y| b.ins().sadd_sat(x, y)),
            S::I8x16AddSatU => self.vbin(I8X16, |b, x, y| b.ins().uadd_sat(x, y)),
            S::I8x16Sub => self.vbin(I8X16, |b, x, y| b.ins().isub(x, y)),
            S::I8x16SubSatS => self.vbin(I8X16, |b, x, y| b.ins().ssub_sat(x, y)),
            S::I8x16SubSatU => self.vbin(I8X16, |b, x, y| b.ins().usub_sat(x, y)),
            S::I8x16MinS => self.vbin(I8X16, |b, x, y| b.ins().smin(x, y)),
            S::I8x16MinU => self.vbin(I8X16, |b, x, y| b.ins().umin(x, y)),
            S::I8x16MaxS => self.vbin(I8X16, |b, x, y| b.ins().smax(x, y)),
            S::I8x16MaxU => self.vbin(I8X16, |b, x, y| b.ins().umax(x, y)),
            S::I8x16AvgrU => self.vbin(I8X16, |b, x, y| b.ins().avg_round(x, y)),
            S::I16x8Q15MulrSatS | S::I16x8RelaxedQ15mulrS => {
                self.vbin(I16X8, |b, x, y| b.ins().sqmul_round_sat(x, y))
            }
            S::I16x8Add => self.vbin(I16X8, |b, x, y| b.ins().iadd(x, y)),
            S::I16x8AddSatS => self.vbin(I16X8, |b, x, y| b.ins().sadd_sat(x, y)),
            S::I16x8AddSatU => self.vbin(I16X8, |b, x, y| b.ins().uadd_sat(x, y)),
            S::I16x8Sub => self.vbin(I16X8, |b, x, y| b.ins().isub(x, y)),
            S::I16x8SubSatS => self.vbin(I16X8, |b, x, y| b.ins().ssub_sat(x, y)),
            S::I16x8SubSatU => self.vbin(I16X8, |b, x, y| b.ins().usub_sat(x, y)),
            S::I16x8Mul => self.vbin(I16X8, |b, x, y| b.ins().imul(x, y)),
            S::I16x8MinS => self.vbin(I16X8, |b, x, y| b.ins().smin(x, y)),
            S::I16x8MinU => self.vbin(I16X8, |b, x, y| b.ins().umin(x, y)),
            S::I16x8MaxS => self.vbin(I16X8, |b, x, y| b.ins().smax(x, y)),
            S::I16x8MaxU => self.vbin(I16X8, |b, x, y| b.ins().umax(x, y)),
            S::I16x8AvgrU => self.vbin(I16X8, |b, x, y| b.ins().avg_round(x, y)),
            S::I16x8ExtMulLowI8x16S => self.extmul(I8X16, true, false),
            S::I16x8ExtMulHighI8x16S => self.extmul(I8X16, true, true),
            S::I16x8ExtMulLowI8x16U => self.extmul(I8X16, false, false),
            S::I16x8ExtMulHighI8x16U => self.extmul(I8X16, false, true),
            S::I32x4ExtMulLowI16x8S => self.extmul(I16X8, true, false),
            S::I32x4ExtMulHighI16x8S => self.extmul(I16X8, true, true),
            S::I32x4ExtMulLowI16x8U => self.extmul(I16X8, false, false),
            S::I32x4ExtMulHighI16x8U => self.extmul(I16X8, false, true),
            S::I64x2ExtMulLowI32x4S => self.extmul(I32X4, true, false),
            S::I64x2ExtMulHighI32x4S => self.extmul(I32X4, true, true),
            S::I64x2ExtMulLowI32x4U => self.extmul(I32X4, false, false),
            S::I64x2ExtMulHighI32x4U => self.extmul(I32X4, false, true),
            S::I32x4Add => self.vbin(I32X4, |b, x, y| b.ins().iadd(x, y)),
            S::I32x4Sub => self.vbin(I32X4, |b, x, y| b.ins().isub(x, y)),
            S::I32x4Mul => self.vbin(I32X4, |b, x, y| b.ins().imul(x, y)),
            S::I32x4MinS => self.vbin(I32X4, |b, x, y| b.ins().smin(x, y)),
            S::I32x4MinU => self.vbin(I32X4, |b, x, y| b.ins().umin(x, y)),
            S::I32x4MaxS => self.vbin(I32X4, |b, x, y| b.ins().smax(x, y)),
            S::I32x4MaxU => self.vbin(I32X4, |b, x, y| b.ins().umax(x, y)),
            S::I32x4DotI16x8S => self.vbin(I16X8, |b, x, y| {
                // The products of the low and of the high halves, summed pairwise.
                let (xl, yl) = (b.ins().swiden_low(x), b.ins().swiden_low(y));
                let (xh, yh) = (b.ins().swiden_high(x), b.ins().swiden_high(y));
                let lo = b.ins().imul(xl, yl);
                let hi = b.ins().imul(xh, yh);
                b.ins().iadd_pairwise(lo, hi)
            }),
            S::I64x2Add => self.vbin(I64X2, |b, x, y| b.ins().iadd(x, y)),
            S::I64x2Sub => self.vbin(I64X2, |b, x, y| b.ins().isub(x, y)),
            S::I64x2Mul => self.vbin(I64X2, |b, x, y| b.ins().imul(x, y)),
            S::F32x4Add => self.vfbin(F32X4, |b, x, y| b.ins().fadd(x, y)),
            S::F32x4Sub => self.vfbin(F32X4, |b, x, y| b.ins().fsub(x, y)),
            S::F32x4Mul => self.vfbin(F32X4, |b, x, y| b.ins().fmul(x, y)),
            S::F32x4Div => self.vfbin(F32X4, |b, x, y| b.ins().fdiv(x, y)),
            // Cranelift's `fmin` and `fmax` are Wasm's: NaN in, NaN out; -0 < +0.
            S::F32x4Min | S::F32x4RelaxedMin => self.vfbin(F32X4, |b, x, y| b.ins().fmin(x, y)),
            S::F32x4Max | S::F32x4RelaxedMax => self.vfbin(F32X4, |b, x, y| b.ins().fmax(x, y)),
            S::F32x4PMin => self.pminmax(F32X4, true),
            S::F32x4PMax => self.pminmax(F32X4, false),
            S::F64x2Add => self.vfbin(F64X2, |b, x, y| b.ins().fadd(x, y)),
            S::F64x2Sub => self.vfbin(F64X2, |b, x, y| b.ins().fsub(x, y)),
            S::F64x2Mul => self.vfbin(F64X2, |b, x, y| b.ins().fmul(x, y)),
            S::F64x2Div => self.vfbin(F64X2, |b, x, y| b.ins().fdiv(x, y)),
            S::F64x2Min | S::F64x2RelaxedMin => self.vfbin(F64X2, |b, x, y| b.ins().fmin(x, y)),
            S::F64x2Max | S::F64x2RelaxedMax => self.vfbin(F64X2, |b, x, y| b.ins().fmax(x, y)),
            S::F64x2PMin => self.pminmax(F64X2, true),
            S::F64x2PMax => self.pminmax(F64X2, false),
            S::I16x8RelaxedDotI8x16I7x16S => self.simd_libcall(class::BIN, op as usize, 2),
        }
    }

    /// The widened product of the low or high halves (`high`) of two vectors of lanes `ty`.
    fn extmul(&mut self, ty: Type, signed: bool, high: bool) {
        self.vbin(ty, |b, x, y| {
            let w = |b: &mut FunctionBuilder<'_>, v| match (signed, high) {
                (true, false) => b.ins().swiden_low(v),
                (true, true) => b.ins().swiden_high(v),
                (false, false) => b.ins().uwiden_low(v),
                (false, true) => b.ins().uwiden_high(v),
            };
            let (x, y) = (w(b, x), w(b, y));
            b.ins().imul(x, y)
        })
    }

    /// `pmin` (`b < a ? b : a`) or `pmax` (`a < b ? b : a`): bits pass through.
    fn pminmax(&mut self, ty: Type, min: bool) {
        let y = self.pop_vec(ty);
        let x = self.pop_vec(ty);
        let mask = if min {
            self.b.ins().fcmp(FloatCC::LessThan, y, x)
        } else {
            self.b.ins().fcmp(FloatCC::LessThan, x, y)
        };
        let mask = self.vec(mask, I8X16);
        let (x, y) = (self.vec(x, I8X16), self.vec(y, I8X16));
        let v = self.b.ins().bitselect(mask, y, x);
        self.push(ValType::V128, v);
    }

    fn simd_ter(&mut self, op: SimdTer) {
        use SimdTer as S;
        match op {
            S::V128Bitselect
            | S::I8x16RelaxedLaneselect
            | S::I16x8RelaxedLaneselect
            | S::I32x4RelaxedLaneselect
            | S::I64x2RelaxedLaneselect => {
                let c = self.pop();
                let y = self.pop();
                let x = self.pop();
                let v = self.b.ins().bitselect(c, x, y);
                self.push(ValType::V128, v);
            }
            S::F32x4RelaxedMadd
            | S::F32x4RelaxedNmadd
            | S::F64x2RelaxedMadd
            | S::F64x2RelaxedNmadd
            | S::I32x4RelaxedDotI8x16I7x16AddS => self.simd_libcall(class::TER, op as usize, 3),
        }
    }

    fn simd_test(&mut self, op: SimdTest) {
        use SimdTest as S;
        let (ty, all) = match op {
            S::V128AnyTrue => {
                let v = self.pop();
                let t = self.b.ins().vany_true(v);
                let t = self.bool_i32(t);
                self.push(ValType::I32, t);
                return;
            }
            S::I8x16AllTrue => (I8X16, true),
            S::I16x8AllTrue => (I16X8, true),
            S::I32x4AllTrue => (I32X4, true),
            S::I64x2AllTrue => (I64X2, true),
            S::I8x16Bitmask => (I8X16, false),
            S::I16x8Bitmask => (I16X8, false),
            S::I32x4Bitmask => (I32X4, false),
            S::I64x2Bitmask => (I64X2, false),
        };
        let v = self.pop_vec(ty);
        let r = if all {
            let t = self.b.ins().vall_true(v);
            self.bool_i32(t)
        } else {
            self.b.ins().vhigh_bits(types::I32, v)
        };
        self.push(ValType::I32, r);
    }

    /// The host address of a SIMD access of `bytes` bytes and its flags: in memory (fast
    /// path, bounds-checked here; for a store also the effective address to mark dirty), or
    /// in the stack slot, whose bytes a libcall moved in from memory (`load`) or moves out
    /// after the store (`store_x` then does that).
    fn simd_address(
        &mut self,
        inst: Inst,
        memarg: &wasmparser::MemArg,
        addr: Value,
        bytes: u64,
        load: bool,
    ) -> SimdAccess {
        let mem = crate::interp_env::memarg_memory(memarg);
        if self.fast_memory(memarg) {
            let (p, ea, fl) = self.address(inst, addr, memarg.offset, bytes);
            let fl = unaligned(fl);
            return SimdAccess {
                p,
                fl,
                route: Route::Fast(ea),
            };
        }
        let addr = self.wide(addr);
        let io = self.io();
        let general = GeneralAccess {
            mem,
            addr,
            offset: memarg.offset,
            bytes,
        };
        if load {
            self.v128_libcall(inst, self.m.libcalls.v128_load_x, &general, io);
        }
        SimdAccess {
            p: io,
            fl: self.fl_io(),
            route: Route::General(general),
        }
    }

    fn v128_libcall(&mut self, inst: Inst, f: usize, g: &GeneralAccess, io: Value) {
        let mem = self.i32c(g.mem);
        let offset = self.b.ins().iconst(types::I64, g.offset as i64);
        let len = self.i32c(g.bytes as u32);
        self.spill_pos();
        self.libcall_checked(inst, f, &[self.vmctx, mem, g.addr, offset, len, io]);
    }

    /// Ends a store of `bytes` bytes begun with [`JitEnv::simd_address`].
    fn simd_stored(&mut self, inst: Inst, access: SimdAccess, bytes: u64) {
        match access.route {
            Route::Fast(ea) => self.mark_dirty(ea, bytes),
            Route::General(g) => {
                self.v128_libcall(inst, self.m.libcalls.v128_store_x, &g, access.p)
            }
        }
    }

    fn v128_load(&mut self, inst: Inst, kind: V128LoadKind, memarg: &wasmparser::MemArg) {
        use V128LoadKind as K;
        let addr = self.pop();
        let a = self.simd_address(inst, memarg, addr, kind.bytes(), true);
        let (p, fl) = (a.p, a.fl);
        let ins = self.b.ins();
        let v = match kind {
            K::Full => ins.load(I8X16, fl, p, 0),
            K::I8x8S | K::I8x8U | K::I16x4S | K::I16x4U | K::I32x2S | K::I32x2U => {
                let x = ins.load(types::I64, fl, p, 0);
                let v = self.b.ins().scalar_to_vector(I64X2, x);
                let from = match kind {
                    K::I8x8S | K::I8x8U => I8X16,
                    K::I16x4S | K::I16x4U => I16X8,
                    _ => I32X4,
                };
                let v = self.vec(v, from);
                if matches!(kind, K::I8x8S | K::I16x4S | K::I32x2S) {
                    self.b.ins().swiden_low(v)
                } else {
                    self.b.ins().uwiden_low(v)
                }
            }
            K::Splat8 => {
                let x = ins.load(types::I8, fl, p, 0);
                self.b.ins().splat(I8X16, x)
            }
            K::Splat16 => {
                let x = ins.load(types::I16, fl, p, 0);
                self.b.ins().splat(I16X8, x)
            }
            K::Splat32 => {
                let x = ins.load(types::I32, fl, p, 0);
                self.b.ins().splat(I32X4, x)
            }
            K::Splat64 => {
                let x = ins.load(types::I64, fl, p, 0);
                self.b.ins().splat(I64X2, x)
            }
            K::Zero32 => {
                let x = ins.load(types::I32, fl, p, 0);
                self.b.ins().scalar_to_vector(I32X4, x)
            }
            K::Zero64 => {
                let x = ins.load(types::I64, fl, p, 0);
                self.b.ins().scalar_to_vector(I64X2, x)
            }
        };
        self.push_vec(v);
    }

    fn v128_store(&mut self, inst: Inst, memarg: &wasmparser::MemArg) {
        self.watch_gate(inst);
        let v = self.pop();
        let addr = self.pop();
        let a = self.simd_address(inst, memarg, addr, 16, false);
        self.b.ins().store(a.fl, v, a.p, 0);
        self.simd_stored(inst, a, 16);
    }

    fn v128_load_lane(&mut self, inst: Inst, bytes: u8, lane: u8, memarg: &wasmparser::MemArg) {
        let ty = lane_vector(bytes);
        let v = self.pop_vec(ty);
        let addr = self.pop();
        let a = self.simd_address(inst, memarg, addr, u64::from(bytes), true);
        let x = self.b.ins().load(ty.lane_type(), a.fl, a.p, 0);
        let v = self.b.ins().insertlane(v, x, lane);
        self.push_vec(v);
    }

    fn v128_store_lane(&mut self, inst: Inst, bytes: u8, lane: u8, memarg: &wasmparser::MemArg) {
        self.watch_gate(inst);
        let ty = lane_vector(bytes);
        let v = self.pop_vec(ty);
        let addr = self.pop();
        let a = self.simd_address(inst, memarg, addr, u64::from(bytes), false);
        let x = self.b.ins().extractlane(v, lane);
        self.b.ins().store(a.fl, x, a.p, 0);
        self.simd_stored(inst, a, u64::from(bytes));
    }
}

/// Where a SIMD access reads or writes (see [`JitEnv::simd_address`]).
struct SimdAccess {
    p: Value,
    fl: MemFlagsData,
    route: Route,
}

enum Route {
    /// In memory, at this effective address.
    Fast(Value),
    /// Through the stack slot and a libcall.
    General(GeneralAccess),
}

#[derive(Clone, Copy)]
struct GeneralAccess {
    mem: u32,
    addr: Value,
    offset: u64,
    bytes: u64,
}

/// The scalar type of `extract_lane`'s result and the vector type it reads.
fn lane_type(op: LaneOp) -> (ValType, Type) {
    match op {
        LaneOp::I8S | LaneOp::I8U => (ValType::I32, I8X16),
        LaneOp::I16S | LaneOp::I16U => (ValType::I32, I16X8),
        LaneOp::I32 => (ValType::I32, I32X4),
        LaneOp::I64 => (ValType::I64, I64X2),
        LaneOp::F32 => (ValType::F32, F32X4),
        LaneOp::F64 => (ValType::F64, F64X2),
    }
}

/// The integer vector whose lanes are `bytes` wide.
fn lane_vector(bytes: u8) -> Type {
    match bytes {
        1 => I8X16,
        2 => I16X8,
        4 => I32X4,
        _ => I64X2,
    }
}
