//! The lowering's small translations: trace-IR operators to LLVM's, atomic
//! runtime words, the attributes a declaration copies from its AOT function.

use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::LLVMOpcode;
use tir::{BinOp, CastOp, FPred, IPred};

/// Copies the attributes of AOT function `from` onto its declaration `to`
/// (argument extensions and the like are part of the call's ABI).
pub(super) fn copy_attributes(from: LLVMValueRef, to: LLVMValueRef) {
    // SAFETY: `from` is a function of the AOT module and `to` its
    // declaration in the trace's module, both in the same context; the
    // attribute array has the count LLVM gave.
    unsafe {
        let n = LLVMCountParams(from);
        let idxs = std::iter::once(llvm_sys::LLVMAttributeReturnIndex)
            .chain(1..=n)
            .chain(std::iter::once(llvm_sys::LLVMAttributeFunctionIndex));
        for k in idxs {
            let c = LLVMGetAttributeCountAtIndex(from, k);
            if c == 0 {
                continue;
            }
            let mut attrs = vec![std::ptr::null_mut(); c as usize];
            LLVMGetAttributesAtIndex(from, k, attrs.as_mut_ptr());
            for a in attrs {
                LLVMAddAttributeAtIndex(to, k, a);
            }
        }
    }
}

/// Makes load or store `i` of an 8-byte runtime word (a counter, a
/// location's word) an atomic access with ordering `o`, aligned as the word
/// is.
pub(crate) fn atomic_word(i: LLVMValueRef, o: llvm_sys::LLVMAtomicOrdering) {
    // SAFETY: `i` is a load or store just built.
    unsafe {
        LLVMSetOrdering(i, o);
        LLVMSetAlignment(i, 8);
    }
}

/// [`atomic_word`], relaxed: the trace's counters.
pub(super) fn monotonic(i: LLVMValueRef) {
    atomic_word(i, llvm_sys::LLVMAtomicOrdering::LLVMAtomicOrderingMonotonic);
}

pub(super) fn llvm_bin(op: BinOp) -> LLVMOpcode {
    use LLVMOpcode::*;
    match op {
        BinOp::Add => LLVMAdd,
        BinOp::Sub => LLVMSub,
        BinOp::Mul => LLVMMul,
        BinOp::SDiv => LLVMSDiv,
        BinOp::UDiv => LLVMUDiv,
        BinOp::SRem => LLVMSRem,
        BinOp::URem => LLVMURem,
        BinOp::And => LLVMAnd,
        BinOp::Or => LLVMOr,
        BinOp::Xor => LLVMXor,
        BinOp::Shl => LLVMShl,
        BinOp::LShr => LLVMLShr,
        BinOp::AShr => LLVMAShr,
        BinOp::FAdd => LLVMFAdd,
        BinOp::FSub => LLVMFSub,
        BinOp::FMul => LLVMFMul,
        BinOp::FDiv => LLVMFDiv,
        BinOp::FRem => LLVMFRem,
    }
}

pub(super) fn llvm_cast(op: CastOp) -> LLVMOpcode {
    use LLVMOpcode::*;
    match op {
        CastOp::ZExt => LLVMZExt,
        CastOp::SExt => LLVMSExt,
        CastOp::Trunc => LLVMTrunc,
        CastOp::BitCast => LLVMBitCast,
        CastOp::PtrToInt => LLVMPtrToInt,
        CastOp::IntToPtr => LLVMIntToPtr,
        CastOp::FPToSI => LLVMFPToSI,
        CastOp::FPToUI => LLVMFPToUI,
        CastOp::SIToFP => LLVMSIToFP,
        CastOp::UIToFP => LLVMUIToFP,
        CastOp::FPExt => LLVMFPExt,
        CastOp::FPTrunc => LLVMFPTrunc,
    }
}

pub(super) fn llvm_ipred(p: IPred) -> llvm_sys::LLVMIntPredicate {
    use llvm_sys::LLVMIntPredicate::*;
    match p {
        IPred::Eq => LLVMIntEQ,
        IPred::Ne => LLVMIntNE,
        IPred::Ugt => LLVMIntUGT,
        IPred::Uge => LLVMIntUGE,
        IPred::Ult => LLVMIntULT,
        IPred::Ule => LLVMIntULE,
        IPred::Sgt => LLVMIntSGT,
        IPred::Sge => LLVMIntSGE,
        IPred::Slt => LLVMIntSLT,
        IPred::Sle => LLVMIntSLE,
    }
}

pub(super) fn llvm_fpred(p: FPred) -> llvm_sys::LLVMRealPredicate {
    use llvm_sys::LLVMRealPredicate::*;
    match p {
        FPred::Oeq => LLVMRealOEQ,
        FPred::Ogt => LLVMRealOGT,
        FPred::Oge => LLVMRealOGE,
        FPred::Olt => LLVMRealOLT,
        FPred::Ole => LLVMRealOLE,
        FPred::One => LLVMRealONE,
        FPred::Ord => LLVMRealORD,
        FPred::Ueq => LLVMRealUEQ,
        FPred::Ugt => LLVMRealUGT,
        FPred::Uge => LLVMRealUGE,
        FPred::Ult => LLVMRealULT,
        FPred::Ule => LLVMRealULE,
        FPred::Une => LLVMRealUNE,
        FPred::Uno => LLVMRealUNO,
    }
}
