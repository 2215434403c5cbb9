//! The meaning of each operator on raw bits: what the evaluator runs and
//! what the constant folder folds with, so the two cannot disagree.
//!
//! Values are `u64` bits: ints zero-extended and masked to their width,
//! floats as their IEEE bits, pointers as addresses. LLVM semantics, with
//! every case where LLVM gives immediate UB or poison reported as [`Ub`]:
//! division or remainder by zero, signed `MIN / -1` and `MIN % -1`, a shift
//! by at least the width, and a float-to-int conversion whose truncated value
//! doesn't fit (or NaN). The folder leaves such instructions in the trace
//! (never folding them into something observable); the evaluator stops with
//! an error. Floats are IEEE binary32/binary64 with round-to-nearest-even
//! (Rust's operators); `frem` is C's `fmod`. NaN payloads are whatever Rust
//! produces, like LLVM, which doesn't specify them either.

use crate::ir::{mask, sext, BinOp, CastOp, FPred, IPred, Ty};

/// A case LLVM leaves undefined (immediate UB or poison).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ub {
    /// Division or remainder by zero.
    DivByZero,
    /// Signed `MIN / -1` or `MIN % -1`.
    DivOverflow,
    /// A shift by at least the width.
    ShiftTooLarge,
    /// A float-to-int conversion of NaN, or whose truncated value doesn't
    /// fit the int type.
    FloatToIntRange,
}

fn f32_of(b: u64) -> f32 {
    f32::from_bits(b as u32)
}

fn f64_of(b: u64) -> f64 {
    f64::from_bits(b)
}

/// `a op b` at type `ty`.
pub fn bin(op: BinOp, ty: Ty, a: u64, b: u64) -> Result<u64, Ub> {
    if op.is_float() {
        return Ok(match ty {
            Ty::F32 => {
                let (x, y) = (f32_of(a), f32_of(b));
                u64::from(
                    match op {
                        BinOp::FAdd => x + y,
                        BinOp::FSub => x - y,
                        BinOp::FMul => x * y,
                        BinOp::FDiv => x / y,
                        _ => x % y,
                    }
                    .to_bits(),
                )
            }
            _ => {
                let (x, y) = (f64_of(a), f64_of(b));
                match op {
                    BinOp::FAdd => x + y,
                    BinOp::FSub => x - y,
                    BinOp::FMul => x * y,
                    BinOp::FDiv => x / y,
                    _ => x % y,
                }
                .to_bits()
            }
        });
    }
    let w = ty.bits();
    let m = mask(w);
    let (sa, sb) = (sext(a, w), sext(b, w));
    let smin = sext(1u64 << (w - 1), w);
    let r = match op {
        BinOp::Add => a.wrapping_add(b),
        BinOp::Sub => a.wrapping_sub(b),
        BinOp::Mul => a.wrapping_mul(b),
        BinOp::UDiv | BinOp::URem if b == 0 => return Err(Ub::DivByZero),
        BinOp::UDiv => a / b,
        BinOp::URem => a % b,
        BinOp::SDiv | BinOp::SRem if b == 0 => return Err(Ub::DivByZero),
        BinOp::SDiv | BinOp::SRem if sa == smin && sb == -1 => return Err(Ub::DivOverflow),
        BinOp::SDiv => sa.wrapping_div(sb) as u64,
        BinOp::SRem => sa.wrapping_rem(sb) as u64,
        BinOp::And => a & b,
        BinOp::Or => a | b,
        BinOp::Xor => a ^ b,
        BinOp::Shl | BinOp::LShr | BinOp::AShr if b >= u64::from(w) => {
            return Err(Ub::ShiftTooLarge)
        }
        BinOp::Shl => a << b,
        BinOp::LShr => a >> b,
        BinOp::AShr => (sa >> b) as u64,
        _ => unreachable!("float op handled above"),
    };
    Ok(r & m)
}

/// `a pred b` on ints of width `w` (pointers: 64).
pub fn icmp(pred: IPred, w: u32, a: u64, b: u64) -> bool {
    let (sa, sb) = (sext(a, w), sext(b, w));
    match pred {
        IPred::Eq => a == b,
        IPred::Ne => a != b,
        IPred::Ugt => a > b,
        IPred::Uge => a >= b,
        IPred::Ult => a < b,
        IPred::Ule => a <= b,
        IPred::Sgt => sa > sb,
        IPred::Sge => sa >= sb,
        IPred::Slt => sa < sb,
        IPred::Sle => sa <= sb,
    }
}

/// `a pred b` on floats of type `ty`.
pub fn fcmp(pred: FPred, ty: Ty, a: u64, b: u64) -> bool {
    let (x, y) = match ty {
        Ty::F32 => (f64::from(f32_of(a)), f64::from(f32_of(b))),
        _ => (f64_of(a), f64_of(b)),
    };
    let uno = x.is_nan() || y.is_nan();
    match pred {
        FPred::Oeq => !uno && x == y,
        FPred::Ogt => !uno && x > y,
        FPred::Oge => !uno && x >= y,
        FPred::Olt => !uno && x < y,
        FPred::Ole => !uno && x <= y,
        FPred::One => !uno && x != y,
        FPred::Ord => !uno,
        FPred::Ueq => uno || x == y,
        FPred::Ugt => uno || x > y,
        FPred::Uge => uno || x >= y,
        FPred::Ult => uno || x < y,
        FPred::Ule => uno || x <= y,
        FPred::Une => uno || x != y,
        FPred::Uno => uno,
    }
}

/// Converts a float (as f64, exact) to an int of width `w`, if its
/// truncation fits.
fn float_to_int(x: f64, w: u32, signed: bool) -> Result<u64, Ub> {
    if x.is_nan() {
        return Err(Ub::FloatToIntRange);
    }
    let t = x.trunc();
    let (lo, hi) = if signed {
        (-(2f64.powi(w as i32 - 1)), 2f64.powi(w as i32 - 1))
    } else {
        (0.0, 2f64.powi(w as i32))
    };
    if t < lo || t >= hi {
        return Err(Ub::FloatToIntRange);
    }
    Ok(if signed {
        (t as i64) as u64 & mask(w)
    } else {
        t as u64 & mask(w)
    })
}

/// `op v` from type `from` to type `to` (a valid cast).
pub fn cast(op: CastOp, from: Ty, to: Ty, v: u64) -> Result<u64, Ub> {
    let fw = from.bits();
    let tw = to.bits();
    let as_f64 = |v: u64| match from {
        Ty::F32 => f64::from(f32_of(v)),
        _ => f64_of(v),
    };
    Ok(match op {
        CastOp::ZExt | CastOp::BitCast | CastOp::IntToPtr => v,
        CastOp::SExt => sext(v, fw) as u64 & mask(tw),
        CastOp::Trunc | CastOp::PtrToInt => v & mask(tw),
        CastOp::FPToSI => float_to_int(as_f64(v), tw, true)?,
        CastOp::FPToUI => float_to_int(as_f64(v), tw, false)?,
        CastOp::SIToFP => {
            let i = sext(v, fw);
            match to {
                Ty::F32 => u64::from((i as f32).to_bits()),
                _ => (i as f64).to_bits(),
            }
        }
        CastOp::UIToFP => match to {
            Ty::F32 => u64::from((v as f32).to_bits()),
            _ => (v as f64).to_bits(),
        },
        CastOp::FPExt => f64::from(f32_of(v)).to_bits(),
        CastOp::FPTrunc => u64::from((f64_of(v) as f32).to_bits()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_predicates_negate() {
        let ints = [0u64, 1, 2, 0x7f, 0x80, 0xff, u64::MAX, 1 << 63];
        for p in IPred::ALL {
            for &a in &ints {
                for &b in &ints {
                    for w in [8, 64] {
                        let (a, b) = (a & crate::ir::mask(w), b & crate::ir::mask(w));
                        assert_eq!(icmp(p.inverse(), w, a, b), !icmp(p, w, a, b));
                    }
                }
            }
        }
        let fs = [0.0f64, -0.0, 1.0, -2.5, f64::NAN, f64::INFINITY];
        for p in FPred::ALL {
            for &x in &fs {
                for &y in &fs {
                    let (a, b) = (x.to_bits(), y.to_bits());
                    assert_eq!(fcmp(p.inverse(), Ty::F64, a, b), !fcmp(p, Ty::F64, a, b));
                }
            }
        }
    }

    #[test]
    fn int_semantics_per_width() {
        assert_eq!(bin(BinOp::Add, Ty::I8, 200, 100), Ok(44));
        assert_eq!(bin(BinOp::SDiv, Ty::I8, 0x80, 0xff), Err(Ub::DivOverflow));
        assert_eq!(bin(BinOp::SDiv, Ty::I8, 0xf9, 2), Ok(0xfd)); // -7 / 2 == -3
        assert_eq!(bin(BinOp::SRem, Ty::I8, 0xf9, 2), Ok(0xff)); // -7 % 2 == -1
        assert_eq!(bin(BinOp::UDiv, Ty::I32, 7, 0), Err(Ub::DivByZero));
        assert_eq!(bin(BinOp::AShr, Ty::I16, 0x8000, 15), Ok(0xffff));
        assert_eq!(bin(BinOp::LShr, Ty::I16, 0x8000, 15), Ok(1));
        assert_eq!(bin(BinOp::Shl, Ty::I16, 1, 16), Err(Ub::ShiftTooLarge));
        assert_eq!(bin(BinOp::Shl, Ty::Int(5), 0b10001, 1), Ok(0b00010));
        assert!(icmp(IPred::Slt, 8, 0xff, 0));
        assert!(!icmp(IPred::Ult, 8, 0xff, 0));
    }

    #[test]
    fn casts() {
        assert_eq!(cast(CastOp::SExt, Ty::I8, Ty::I32, 0x80), Ok(0xffff_ff80));
        assert_eq!(
            cast(CastOp::FPToSI, Ty::F64, Ty::I8, (-128.9f64).to_bits()),
            Ok(0x80)
        );
        assert_eq!(
            cast(CastOp::FPToSI, Ty::F64, Ty::I8, (128.0f64).to_bits()),
            Err(Ub::FloatToIntRange)
        );
        assert_eq!(
            cast(CastOp::FPToUI, Ty::F64, Ty::I8, (-0.5f64).to_bits()),
            Ok(0)
        );
        assert_eq!(
            cast(
                CastOp::FPToUI,
                Ty::F32,
                Ty::I64,
                u64::from(f32::NAN.to_bits())
            ),
            Err(Ub::FloatToIntRange)
        );
        assert_eq!(
            cast(CastOp::SIToFP, Ty::I8, Ty::F64, 0xff),
            Ok((-1.0f64).to_bits())
        );
        assert_eq!(
            cast(CastOp::UIToFP, Ty::I8, Ty::F64, 0xff),
            Ok((255.0f64).to_bits())
        );
    }
}
