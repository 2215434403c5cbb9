//! One AOT instruction or operand into trace IR.
//!
//! Owns the mapping of LLVM types, constants, operands and ordinary
//! instructions (memory, arithmetic, comparisons, casts, selects, GEPs,
//! allocas) to trace-IR instructions ([`W::inst`], [`W::operand`]), and the
//! no-wrap facts that let a widened `add nsw`/`add nuw` keep its base
//! ([`W::widened_add`]). Invariants:
//!
//! - the trace IR computes what the AOT instruction computes, bit for bit
//!   (`fneg` flips the sign bit, even of a NaN; undef and poison become
//!   zero, which is one of their values);
//! - an SSA value reaches the trace only through the frame's map (an
//!   unmapped one is an internal error); functions and globals become
//!   symbols (`Sym`), indices into the embedded module's address tables;
//! - a type, constant or instruction with no trace-IR form aborts with
//!   [`no_form`] (kind `Unsupported`) naming it, never a wrong translation;
//! - a GEP's constant indices fold into one `ptr_add` offset (from the
//!   target data), each variable index is a `dyn_ptr_add`;
//! - a load is `constant` only from within a constant global with a
//!   definition ([`const_global_base`]), which the optimiser may then read.

use super::W;
use crate::abort::Abort;
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::{LLVMOpcode, LLVMTypeKind};
use rustc_hash::FxHashMap as HashMap;
use std::rc::Rc;
use tir::{BinOp, CastOp, Const, FPred, IPred, Inst, LoadFlags, Operand, Sym, Ty};
use yk_llvm as llvm;

/// An abort because the trace IR has no form for `what`.
pub fn no_form(what: impl std::fmt::Display) -> Abort {
    Abort::unsupported(format!("no trace-IR form for {what}"))
}

/// The trace-IR type of LLVM type `t`.
pub fn ty_of(t: LLVMTypeRef) -> Result<Ty, Abort> {
    // SAFETY: `t` is a type of the live embedded module's context (yk-llvm rule
    // 2); the integer width and address space are asked only of integer and
    // pointer types.
    unsafe {
        match LLVMGetTypeKind(t) {
            LLVMTypeKind::LLVMIntegerTypeKind => {
                let w = LLVMGetIntTypeWidth(t);
                if w <= 64 {
                    Ok(Ty::Int(w as u8))
                } else {
                    Err(no_form(format!("an i{w} value")))
                }
            }
            LLVMTypeKind::LLVMFloatTypeKind => Ok(Ty::F32),
            LLVMTypeKind::LLVMDoubleTypeKind => Ok(Ty::F64),
            LLVMTypeKind::LLVMPointerTypeKind if LLVMGetPointerAddressSpace(t) == 0 => Ok(Ty::Ptr),
            LLVMTypeKind::LLVMVoidTypeKind => Ok(Ty::Void),
            k => Err(no_form(format!("a value of kind {k:?}"))),
        }
    }
}

/// The constant of type `ty` with bits `k`.
pub fn const_from_bits(ty: Ty, k: u64) -> Result<Operand, Abort> {
    Ok(Operand::Const(match ty {
        Ty::Int(w) => Const::int(w, k),
        Ty::F32 => Const::F32(k as u32),
        Ty::F64 => Const::F64(k),
        Ty::Ptr => Const::Ptr(k),
        Ty::Void => return Err(Abort::internal("a void constant")),
    }))
}

impl W<'_, '_> {
    /// Translates an ordinary instruction; returns its result, if any.
    pub(super) fn inst(
        &mut self,
        i: LLVMValueRef,
        bb: LLVMBasicBlockRef,
    ) -> Result<Option<Operand>, Abort> {
        use LLVMOpcode::*;
        let op = llvm::opcode(i);
        // SAFETY: `i` is a live instruction of the embedded module (yk-llvm
        // rule 2), and `o` is only called for operand indices its opcode has.
        let o = |w: &mut Self, k: u32| w.operand(unsafe { LLVMGetOperand(i, k) });
        if matches!(op, LLVMSExt | LLVMZExt) {
            if let Some(v) = self.widened_add(i)? {
                return Ok(Some(v));
            }
        }
        // SAFETY: `i` is a live instruction of the embedded module (yk-llvm
        // rules 2 and 3); every opcode-specific call (ordering and volatility
        // of a load or store, a compare's predicate) is made under the matching
        // opcode, and operands are read at indices that opcode has.
        unsafe {
            Ok(Some(match op {
                LLVMLoad => {
                    if LLVMGetOrdering(i)
                        != llvm_sys::LLVMAtomicOrdering::LLVMAtomicOrderingNotAtomic
                    {
                        return Err(no_form("an atomic load"));
                    }
                    let ptr = o(self, 0)?;
                    let flags = LoadFlags {
                        volatile: LLVMGetVolatile(i) != 0,
                        constant: const_global_base(LLVMGetOperand(i, 0)),
                    };
                    self.value(Inst::Load {
                        ty: ty_of(LLVMTypeOf(i))?,
                        ptr,
                        flags,
                    })?
                }
                LLVMStore => {
                    if LLVMGetOrdering(i)
                        != llvm_sys::LLVMAtomicOrdering::LLVMAtomicOrderingNotAtomic
                    {
                        return Err(no_form("an atomic store"));
                    }
                    ty_of(LLVMTypeOf(LLVMGetOperand(i, 0)))?;
                    let val = o(self, 0)?;
                    let ptr = o(self, 1)?;
                    self.append(Inst::Store {
                        val,
                        ptr,
                        volatile: LLVMGetVolatile(i) != 0,
                    })?;
                    return Ok(None);
                }
                LLVMGetElementPtr => self.gep(i)?,
                LLVMAdd | LLVMSub | LLVMMul | LLVMUDiv | LLVMSDiv | LLVMURem | LLVMSRem
                | LLVMShl | LLVMLShr | LLVMAShr | LLVMAnd | LLVMOr | LLVMXor | LLVMFAdd
                | LLVMFSub | LLVMFMul | LLVMFDiv | LLVMFRem => {
                    let ty = ty_of(LLVMTypeOf(i))?;
                    let (lhs, rhs) = (o(self, 0)?, o(self, 1)?);
                    let r = self.value(Inst::Bin {
                        op: bin_op(op),
                        ty,
                        lhs,
                        rhs,
                    })?;
                    if op == LLVMAdd {
                        self.note_no_wrap(i, lhs, rhs, r);
                    }
                    r
                }
                LLVMFNeg => {
                    // Flip the sign bit, as `fneg` does (even of a NaN).
                    let ty = ty_of(LLVMTypeOf(i))?;
                    let (ity, sign) = match ty {
                        Ty::F32 => (Ty::I32, 1u64 << 31),
                        _ => (Ty::I64, 1u64 << 63),
                    };
                    let x = o(self, 0)?;
                    let bits = self.value(Inst::Cast {
                        op: CastOp::BitCast,
                        val: x,
                        to: ity,
                    })?;
                    let flipped = self.value(Inst::Bin {
                        op: BinOp::Xor,
                        ty: ity,
                        lhs: bits,
                        rhs: const_from_bits(ity, sign)?,
                    })?;
                    self.value(Inst::Cast {
                        op: CastOp::BitCast,
                        val: flipped,
                        to: ty,
                    })?
                }
                LLVMICmp => {
                    ty_of(LLVMTypeOf(i))?;
                    let (lhs, rhs) = (o(self, 0)?, o(self, 1)?);
                    self.value(Inst::ICmp {
                        pred: ipred(LLVMGetICmpPredicate(i)),
                        lhs,
                        rhs,
                    })?
                }
                LLVMFCmp => {
                    ty_of(LLVMTypeOf(i))?;
                    let (lhs, rhs) = (o(self, 0)?, o(self, 1)?);
                    use llvm_sys::LLVMRealPredicate::*;
                    match LLVMGetFCmpPredicate(i) {
                        LLVMRealPredicateFalse => Operand::Const(Const::bool(false)),
                        LLVMRealPredicateTrue => Operand::Const(Const::bool(true)),
                        p => self.value(Inst::FCmp {
                            pred: fpred(p),
                            lhs,
                            rhs,
                        })?,
                    }
                }
                LLVMTrunc | LLVMZExt | LLVMSExt | LLVMFPToUI | LLVMFPToSI | LLVMUIToFP
                | LLVMSIToFP | LLVMFPTrunc | LLVMFPExt | LLVMPtrToInt | LLVMIntToPtr
                | LLVMBitCast => {
                    let to = ty_of(LLVMTypeOf(i))?;
                    ty_of(LLVMTypeOf(LLVMGetOperand(i, 0)))?;
                    let val = o(self, 0)?;
                    self.value(Inst::Cast {
                        op: cast_op(op),
                        val,
                        to,
                    })?
                }
                LLVMSelect => {
                    let ty = ty_of(LLVMTypeOf(i))?;
                    ty_of(LLVMTypeOf(LLVMGetOperand(i, 0)))?;
                    let (cond, t, f) = (o(self, 0)?, o(self, 1)?, o(self, 2)?);
                    self.value(Inst::Select { cond, ty, t, f })?
                }
                LLVMFreeze => o(self, 0)?,
                LLVMAlloca => self.alloca(i, bb)?,
                _ => return Err(no_form(format!("the {op:?} instruction"))),
            }))
        }
    }

    /// Notes that `r`, the trace's value for AOT `i = add a, c` (`a` and
    /// `c` mapped to `lhs` and `rhs`), is `x + C` without wrapping, if the
    /// AOT add says so and the trace made it `add x, C`: directly, or by
    /// folding a chain of adds that all say so.
    pub(super) fn note_no_wrap(&mut self, i: LLVMValueRef, lhs: Operand, rhs: Operand, r: Operand) {
        let Operand::Val(rv) = r else { return };
        let Some(&Inst::Bin {
            op: BinOp::Add,
            ty: Ty::Int(w),
            lhs: x,
            rhs: Operand::Const(Const::Int { bits: cbits, .. }),
        }) = self.tb.trace().inst(rv)
        else {
            return;
        };
        let Some(c1) = rhs.as_int() else { return };
        if w >= 64 {
            return;
        }
        // SAFETY: `i` is a live `add` (`note_no_wrap` is called only for one:
        // yk-llvm rule 3), an operator with no-wrap flags.
        let (nsw, nuw) = unsafe { (LLVMGetNSW(i) != 0, LLVMGetNUW(i) != 0) };
        let sx = |b: u64| tir::ir::sext(b, w as u32) as u64;
        // `r = lhs + c1` is `x + c` if `lhs` is `x`, or (a chain) if `lhs`
        // is itself known to be `x + c0` without the same kind of wrap.
        let chained = |known: &HashMap<Operand, (Operand, u64)>, c1: u64| {
            if lhs == x {
                Some(c1)
            } else {
                known
                    .get(&lhs)
                    .filter(|(x0, _)| *x0 == x)
                    .map(|&(_, c0)| c0.wrapping_add(c1))
            }
        };
        if nsw {
            if let Some(c) = chained(&self.nsw, sx(c1)).filter(|&c| c == sx(cbits)) {
                self.nsw.insert(r, (x, c));
            }
        }
        if nuw {
            if let Some(c) = chained(&self.nuw, c1).filter(|&c| c == cbits) {
                self.nuw.insert(r, (x, c));
            }
        }
    }

    /// `sext v` where `v = add nsw x, C` (and `zext` of an `add nuw`) as
    /// `add (sext x), C`, which the AOT code's no-overflow flag allows: an
    /// index computed as `sp + 1` (even through a phi) then addresses the
    /// same base as `sp`, at another offset, for the heap cache. None if
    /// `i` is not of that form.
    pub(super) fn widened_add(&mut self, i: LLVMValueRef) -> Result<Option<Operand>, Abort> {
        let signed = llvm::opcode(i) == LLVMOpcode::LLVMSExt;
        // SAFETY: `i` is a live `sext` or `zext` (yk-llvm rules 2 and 3), whose
        // operand 0 is the value extended.
        let v = self.operand(unsafe { LLVMGetOperand(i, 0) })?;
        let known = if signed { &self.nsw } else { &self.nuw };
        let Some(&(x, k)) = known.get(&v) else {
            return Ok(None);
        };
        // SAFETY: `i` is a live instruction of the embedded module (yk-llvm
        // rule 2).
        let to = ty_of(unsafe { LLVMTypeOf(i) })?;
        let wx = self.value(Inst::Cast {
            op: if signed { CastOp::SExt } else { CastOp::ZExt },
            val: x,
            to,
        })?;
        Ok(Some(self.value(Inst::Bin {
            op: BinOp::Add,
            ty: to,
            lhs: wx,
            rhs: const_from_bits(to, k)?,
        })?))
    }

    /// An alloca of an inlined function's entry block: a stack slot of the
    /// trace.
    pub(super) fn alloca(
        &mut self,
        i: LLVMValueRef,
        bb: LLVMBasicBlockRef,
    ) -> Result<Operand, Abort> {
        let fr = self.frames.last().unwrap();
        // SAFETY: `i` is a live alloca of the top frame's function, which is
        // materialized and has a body, so an entry block (yk-llvm rules 2 and
        // 3); operand 0 is its element count, read as an integer only once it
        // is a `ConstantInt`; `self.an.td` is the embedded module's target
        // data.
        unsafe {
            let n = LLVMGetOperand(i, 0);
            if bb != LLVMGetEntryBasicBlock(fr.f) || LLVMIsAConstantInt(n).is_null() {
                return Err(Abort::unsupported("a dynamic alloca"));
            }
            let ty = LLVMGetAllocatedType(i);
            let size =
                llvm_sys::target::LLVMABISizeOfType(self.an.td, ty) * LLVMConstIntGetZExtValue(n);
            let size = u32::try_from(size).map_err(|_| no_form("an alloca over 4 GiB"))?;
            self.value(Inst::Alloca {
                size,
                align: LLVMGetAlignment(i).max(1),
            })
        }
    }

    /// Pointer arithmetic of a `getelementptr` (instruction or constant
    /// expression).
    pub(super) fn gep(&mut self, g: LLVMValueRef) -> Result<Operand, Abort> {
        let info = match self.an.geps.get(&g) {
            Some(s) => s.clone(),
            None => {
                let s = gep_info(self.an.td, g).map(Rc::new);
                self.an.geps.insert(g, s.clone());
                s
            }
        }?;
        if let Some(off) = info.const_off {
            // SAFETY: `g` is a live GEP (see `gep_steps`): operand 0 is its
            // base.
            let base = self.operand(unsafe { LLVMGetOperand(g, 0) })?;
            if off == 0 {
                return Ok(base);
            }
            let key = (g, self.tb.resolve(base));
            if let Some(&r) = self.gep_memo.get(&key) {
                return Ok(self.tb.resolve(r));
            }
            let r = self.value(Inst::PtrAdd { ptr: key.1, off })?;
            self.gep_memo.insert(key, r);
            return Ok(r);
        }
        let steps = &info.steps;
        // SAFETY: `g` is a live GEP (see `gep_steps`), whose operands
        // `steps` indexes.
        let mut cur = self.operand(unsafe { LLVMGetOperand(g, 0) })?;
        let mut off: i64 = 0;
        for &step in steps.iter() {
            let (k, scale) = match step {
                GepStep::Field(o) => {
                    off = off.wrapping_add(o);
                    continue;
                }
                GepStep::Index(k, scale) => (k, scale),
            };
            // SAFETY: as above.
            let x = self.operand(unsafe { LLVMGetOperand(g, k) })?;
            match x {
                Operand::Const(Const::Int { width, bits }) => {
                    off = off.wrapping_add(tir::ir::sext(bits, width as u32).wrapping_mul(scale));
                }
                Operand::Const(_) => {
                    return Err(Abort::internal("a getelementptr index that is not an int"))
                }
                Operand::Val(_) => {
                    if off != 0 {
                        cur = self.value(Inst::PtrAdd { ptr: cur, off })?;
                        off = 0;
                    }
                    cur = self.value(Inst::DynPtrAdd {
                        ptr: cur,
                        idx: x,
                        scale,
                        off: 0,
                    })?;
                }
            }
        }
        if off != 0 {
            cur = self.value(Inst::PtrAdd { ptr: cur, off })?;
        }
        Ok(cur)
    }

    /// Maps an operand of an AOT instruction into the trace.
    pub(super) fn operand(&mut self, v: LLVMValueRef) -> Result<Operand, Abort> {
        if let Some(&m) = self.frames.last().unwrap().map.get(&v) {
            return Ok(m);
        }
        // SAFETY: `v` is a live value of the embedded module (yk-llvm rule 2);
        // each kind-specific call comes after the `LLVMIsA*` check that makes
        // it apply, and an integer constant's value is read only after `ty_of`
        // showed it is at most 64 bits wide.
        unsafe {
            if llvm::is_ssa_value(v) {
                if self.frames.len() == 1 {
                    if let Some(m) = self.passed_value(v)? {
                        return Ok(m);
                    }
                }
                return Err(Abort::internal(format!(
                    "internal error: unmapped value {}",
                    llvm::name(v)
                )));
            }
            if !LLVMIsAFunction(v).is_null() {
                let i = self.func_idx[&v];
                return Ok(Operand::Const(Const::Sym(Sym::Func(i as u32))));
            }
            if !LLVMIsAGlobalVariable(v).is_null() {
                if LLVMIsThreadLocal(v) != 0 {
                    return Err(Abort::unsupported(format!(
                        "thread-local variable {}",
                        llvm::name(v)
                    )));
                }
                let i = self.global_idx[&v];
                return Ok(Operand::Const(Const::Sym(Sym::Global(i as u32))));
            }
            if !LLVMIsAConstantExpr(v).is_null() {
                return self.constant_expr(v);
            }
            if !LLVMIsAGlobalAlias(v).is_null() {
                return Err(Abort::unsupported("a global alias"));
            }
            if !LLVMIsAConstantInt(v).is_null() {
                let ty = ty_of(LLVMTypeOf(v))?;
                return const_from_bits(ty, LLVMConstIntGetZExtValue(v));
            }
            if !LLVMIsAConstantFP(v).is_null() {
                let mut lossy = 0;
                let x = LLVMConstRealGetDouble(v, &mut lossy);
                return match ty_of(LLVMTypeOf(v))? {
                    Ty::F32 => Ok(Operand::Const(Const::F32((x as f32).to_bits()))),
                    Ty::F64 => Ok(Operand::Const(Const::F64(x.to_bits()))),
                    _ => Err(no_form("an unusual float constant")),
                };
            }
            if !LLVMIsAConstantPointerNull(v).is_null() || !LLVMIsAUndefValue(v).is_null() {
                // undef and poison: any value will do; zero.
                return const_from_bits(ty_of(LLVMTypeOf(v))?, 0);
            }
            Err(no_form(format!(
                "a constant of kind {:?}",
                LLVMGetValueKind(v)
            )))
        }
    }

    /// A constant expression over globals, as instructions.
    pub(super) fn constant_expr(&mut self, v: LLVMValueRef) -> Result<Operand, Abort> {
        // SAFETY: `v` is a live constant expression (`operand` checked it:
        // yk-llvm rules 2 and 3), and operands are read at the indices its
        // opcode has.
        unsafe {
            let op = LLVMGetConstOpcode(v);
            match op {
                LLVMOpcode::LLVMGetElementPtr => self.gep(v),
                LLVMOpcode::LLVMPtrToInt | LLVMOpcode::LLVMIntToPtr => {
                    let to = ty_of(LLVMTypeOf(v))?;
                    let val = self.operand(LLVMGetOperand(v, 0))?;
                    self.value(Inst::Cast {
                        op: cast_op(op),
                        val,
                        to,
                    })
                }
                LLVMOpcode::LLVMAdd | LLVMOpcode::LLVMSub => {
                    let ty = ty_of(LLVMTypeOf(v))?;
                    let lhs = self.operand(LLVMGetOperand(v, 0))?;
                    let rhs = self.operand(LLVMGetOperand(v, 1))?;
                    self.value(Inst::Bin {
                        op: bin_op(op),
                        ty,
                        lhs,
                        rhs,
                    })
                }
                _ => Err(Abort::unsupported(format!(
                    "constant expression with opcode {op:?}"
                ))),
            }
        }
    }
}

/// Does `p` point into a global constant with a definition (directly or
/// through pointer arithmetic)? Loads from it read memory that never
/// changes.
pub(super) fn const_global_base(mut p: LLVMValueRef) -> bool {
    // SAFETY: `p` is a live value of the embedded module (yk-llvm rule 2);
    // global-variable queries are made only of a global variable, and operand 0
    // (the base) is read only of a GEP instruction or constant expression.
    unsafe {
        loop {
            if !LLVMIsAGlobalVariable(p).is_null() {
                return LLVMIsGlobalConstant(p) != 0
                    && !LLVMGetInitializer(p).is_null()
                    && LLVMIsThreadLocal(p) == 0;
            }
            let gep = !LLVMIsAGetElementPtrInst(p).is_null()
                || (!LLVMIsAConstantExpr(p).is_null()
                    && LLVMGetConstOpcode(p) == LLVMOpcode::LLVMGetElementPtr);
            if !gep {
                return false;
            }
            p = LLVMGetOperand(p, 0);
        }
    }
}

pub(super) fn bin_op(op: LLVMOpcode) -> BinOp {
    use LLVMOpcode::*;
    match op {
        LLVMAdd => BinOp::Add,
        LLVMSub => BinOp::Sub,
        LLVMMul => BinOp::Mul,
        LLVMUDiv => BinOp::UDiv,
        LLVMSDiv => BinOp::SDiv,
        LLVMURem => BinOp::URem,
        LLVMSRem => BinOp::SRem,
        LLVMShl => BinOp::Shl,
        LLVMLShr => BinOp::LShr,
        LLVMAShr => BinOp::AShr,
        LLVMAnd => BinOp::And,
        LLVMOr => BinOp::Or,
        LLVMXor => BinOp::Xor,
        LLVMFAdd => BinOp::FAdd,
        LLVMFSub => BinOp::FSub,
        LLVMFMul => BinOp::FMul,
        LLVMFDiv => BinOp::FDiv,
        _ => BinOp::FRem,
    }
}

pub(super) fn cast_op(op: LLVMOpcode) -> CastOp {
    use LLVMOpcode::*;
    match op {
        LLVMTrunc => CastOp::Trunc,
        LLVMZExt => CastOp::ZExt,
        LLVMSExt => CastOp::SExt,
        LLVMFPToUI => CastOp::FPToUI,
        LLVMFPToSI => CastOp::FPToSI,
        LLVMUIToFP => CastOp::UIToFP,
        LLVMSIToFP => CastOp::SIToFP,
        LLVMFPTrunc => CastOp::FPTrunc,
        LLVMFPExt => CastOp::FPExt,
        LLVMPtrToInt => CastOp::PtrToInt,
        LLVMIntToPtr => CastOp::IntToPtr,
        _ => CastOp::BitCast,
    }
}

pub(super) fn ipred(p: llvm_sys::LLVMIntPredicate) -> IPred {
    use llvm_sys::LLVMIntPredicate::*;
    match p {
        LLVMIntEQ => IPred::Eq,
        LLVMIntNE => IPred::Ne,
        LLVMIntUGT => IPred::Ugt,
        LLVMIntUGE => IPred::Uge,
        LLVMIntULT => IPred::Ult,
        LLVMIntULE => IPred::Ule,
        LLVMIntSGT => IPred::Sgt,
        LLVMIntSGE => IPred::Sge,
        LLVMIntSLT => IPred::Slt,
        LLVMIntSLE => IPred::Sle,
    }
}

pub(super) fn fpred(p: llvm_sys::LLVMRealPredicate) -> FPred {
    use llvm_sys::LLVMRealPredicate::*;
    match p {
        LLVMRealOEQ => FPred::Oeq,
        LLVMRealOGT => FPred::Ogt,
        LLVMRealOGE => FPred::Oge,
        LLVMRealOLT => FPred::Olt,
        LLVMRealOLE => FPred::Ole,
        LLVMRealONE => FPred::One,
        LLVMRealORD => FPred::Ord,
        LLVMRealUEQ => FPred::Ueq,
        LLVMRealUGT => FPred::Ugt,
        LLVMRealUGE => FPred::Uge,
        LLVMRealULT => FPred::Ult,
        LLVMRealULE => FPred::Ule,
        LLVMRealUNE => FPred::Une,
        _ => FPred::Uno,
    }
}

/// One index of a getelementptr, as [`gep_steps`] reads it.
#[derive(Clone, Copy, Debug)]
pub enum GepStep {
    /// A struct field: a constant offset.
    Field(i64),
    /// Operand `k` times a scale (an element's size).
    Index(u32, i64),
}

/// A getelementptr as the walk translates it (read once per AOT
/// instruction: `Analyses::geps`).
pub struct GepInfo {
    /// What it adds to its base, index by index.
    pub steps: Vec<GepStep>,
    /// The whole offset, if every index is a constant integer.
    pub const_off: Option<i64>,
}

/// [`GepInfo`] of getelementptr `g`.
pub(super) fn gep_info(
    td: llvm_sys::target::LLVMTargetDataRef,
    g: LLVMValueRef,
) -> Result<GepInfo, Abort> {
    let steps = gep_steps(td, g)?;
    let mut off: Option<i64> = Some(0);
    for &step in &steps {
        off = off.and_then(|o| match step {
            GepStep::Field(f) => Some(o.wrapping_add(f)),
            // SAFETY: `g` is a live GEP and `k` one of its operands
            // (`gep_steps` read them); an integer constant's value is read
            // only after its width showed it fits in 64 bits.
            GepStep::Index(k, scale) => unsafe {
                let x = LLVMGetOperand(g, k);
                if LLVMIsAConstantInt(x).is_null() {
                    return None;
                }
                let w = LLVMGetIntTypeWidth(LLVMTypeOf(x));
                (w <= 64).then(|| {
                    o.wrapping_add(
                        tir::ir::sext(LLVMConstIntGetZExtValue(x), w).wrapping_mul(scale),
                    )
                })
            },
        });
    }
    Ok(GepInfo {
        steps,
        const_off: off,
    })
}

/// What getelementptr `g` adds to its base, index by index (the types'
/// sizes and field offsets read once: `Analyses::geps`).
pub(super) fn gep_steps(
    td: llvm_sys::target::LLVMTargetDataRef,
    g: LLVMValueRef,
) -> Result<Vec<GepStep>, Abort> {
    // SAFETY: `g` is a live GEP, instruction or constant expression (`inst`
    // and `constant_expr` call `gep` only for one), of the embedded module
    // (yk-llvm rules 2 and 3), and `td` its target data; operands are read
    // below their count, struct indices are constant integers (the verifier
    // requires it), and element types are asked only of array types.
    unsafe {
        if ty_of(LLVMTypeOf(g))? != Ty::Ptr {
            return Err(no_form("a vector getelementptr"));
        }
        let mut ty = LLVMGetGEPSourceElementType(g);
        let n = LLVMGetNumOperands(g) as u32;
        let mut steps = Vec::with_capacity(n as usize);
        for k in 1..n {
            let step = if k == 1 {
                llvm_sys::target::LLVMABISizeOfType(td, ty) as i64
            } else {
                match LLVMGetTypeKind(ty) {
                    LLVMTypeKind::LLVMStructTypeKind => {
                        let field = LLVMConstIntGetZExtValue(LLVMGetOperand(g, k)) as u32;
                        steps.push(GepStep::Field(llvm_sys::target::LLVMOffsetOfElement(
                            td, ty, field,
                        ) as i64));
                        ty = LLVMStructGetTypeAtIndex(ty, field);
                        continue;
                    }
                    LLVMTypeKind::LLVMArrayTypeKind => {
                        ty = LLVMGetElementType(ty);
                        llvm_sys::target::LLVMABISizeOfType(td, ty) as i64
                    }
                    _ => return Err(no_form("a vector getelementptr")),
                }
            };
            steps.push(GepStep::Index(k, step));
        }
        Ok(steps)
    }
}
