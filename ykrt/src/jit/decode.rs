//! Decoding an embedded-IR function into a blackhole [`Prog`] (compile
//! thread only: this is where LLVM is read).
//!
//! This is the LLVM side of the blackhole: the runtime core
//! (`deopt::blackhole`, `guard::prog`) knows only the decoded programs,
//! which reach it inside the guards' frame descriptions
//! (`guard::FrameInfo::prog`), and the reasons ([`Unsupported`]) an
//! instruction could not be decoded, with LLVM's kinds and opcodes named.

// LLVM's opaque handles are passed around as values, as in the C API.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

pub use crate::guard::prog::Unsupported;
use crate::guard::prog::*;
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::target::*;
use llvm_sys::{LLVMOpcode, LLVMTypeKind};
use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;
use yk_llvm::{self as llvm, blocks, instrs, operands};

/// A decoded function plus what the trace builder needs to refer into it.
pub struct Decoded {
    /// The runnable program.
    pub prog: Arc<Prog>,
    /// The register of each argument and instruction.
    pub regs: HashMap<LLVMValueRef, u32>,
    /// `(block, instruction index)` of each (non-phi) instruction.
    pub pos: HashMap<LLVMValueRef, (u32, u32)>,
}

/// What decoding needs from the runtime: AOT addresses by index.
pub struct Env<'a> {
    /// Target data of the embedded module.
    pub td: LLVMTargetDataRef,
    /// Function -> index in the embedded module.
    pub func_idx: &'a HashMap<LLVMValueRef, usize>,
    /// Global variable -> index.
    pub global_idx: &'a HashMap<LLVMValueRef, usize>,
    /// Run-time addresses of functions, by index.
    pub func_addrs: &'a [*mut std::ffi::c_void],
    /// Run-time addresses of globals, by index.
    pub global_addrs: &'a [*mut std::ffi::c_void],
}

/// A variable GEP index: `(index, its width, scale)`.
type GepIndex = (Opnd, u8, i64);

/// The leaves of a first-class type, or why the blackhole can't hold it.
pub fn leaves(ty: LLVMTypeRef) -> Result<Vec<Ty>, Unsupported> {
    // SAFETY: `ty` is a type of the live embedded module's context (yk-llvm
    // rule 2); struct, array and integer accessors are called only for a type
    // of that kind, and `k` stays below the struct's element count.
    unsafe {
        Ok(match LLVMGetTypeKind(ty) {
            LLVMTypeKind::LLVMIntegerTypeKind => {
                let w = LLVMGetIntTypeWidth(ty);
                if w > 64 {
                    return Err(Unsupported::WideInt(w));
                }
                vec![Ty::I(w as u8)]
            }
            LLVMTypeKind::LLVMPointerTypeKind => vec![Ty::I(64)],
            LLVMTypeKind::LLVMFloatTypeKind => vec![Ty::F32],
            LLVMTypeKind::LLVMDoubleTypeKind => vec![Ty::F64],
            LLVMTypeKind::LLVMVoidTypeKind => vec![],
            LLVMTypeKind::LLVMStructTypeKind => {
                let n = LLVMCountStructElementTypes(ty);
                let mut v = Vec::new();
                for k in 0..n {
                    v.extend(leaves(LLVMStructGetTypeAtIndex(ty, k))?);
                }
                v
            }
            LLVMTypeKind::LLVMArrayTypeKind => {
                let n = LLVMGetArrayLength2(ty);
                let e = leaves(LLVMGetElementType(ty))?;
                if n > 64 {
                    return Err(Unsupported::LargeArray);
                }
                (0..n).flat_map(|_| e.clone()).collect()
            }
            k => return Err(Unsupported::TypeKind(format!("{k:?}"))),
        })
    }
}

/// The one leaf of a first-class type that has exactly one (an integer,
/// a pointer, a float, or an aggregate of one of them), else `None`; as
/// [`leaves`], but without allocating for the common case.
pub fn single_leaf(ty: LLVMTypeRef) -> Result<Option<Ty>, Unsupported> {
    // SAFETY: as `leaves`.
    unsafe {
        Ok(match LLVMGetTypeKind(ty) {
            LLVMTypeKind::LLVMIntegerTypeKind => match LLVMGetIntTypeWidth(ty) {
                w if w > 64 => return Err(Unsupported::WideInt(w)),
                w => Some(Ty::I(w as u8)),
            },
            LLVMTypeKind::LLVMPointerTypeKind => Some(Ty::I(64)),
            LLVMTypeKind::LLVMFloatTypeKind => Some(Ty::F32),
            LLVMTypeKind::LLVMDoubleTypeKind => Some(Ty::F64),
            _ => match leaves(ty)?.as_slice() {
                [t] => Some(*t),
                _ => None,
            },
        })
    }
}

fn scalar(ty: LLVMTypeRef) -> Result<Ty, Unsupported> {
    let l = leaves(ty)?;
    // SAFETY: `ty` is a type of the live embedded module's context (yk-llvm
    // rule 2).
    if l.len() == 1 && unsafe { LLVMGetTypeKind(ty) } != LLVMTypeKind::LLVMStructTypeKind {
        Ok(l[0])
    } else {
        Err(Unsupported::AggregateForScalar)
    }
}

struct Dec<'a> {
    env: &'a Env<'a>,
    regs: HashMap<LLVMValueRef, u32>,
    block_idx: HashMap<LLVMBasicBlockRef, u32>,
}

/// Decodes function `f` (with index `func_idx`).
pub fn decode(env: &Env, f: LLVMValueRef, func_idx: u32) -> Decoded {
    let bbs = blocks(f);
    let mut regs = HashMap::default();
    let mut next = 0u32;
    let mut alloc = |v: LLVMValueRef, regs: &mut HashMap<LLVMValueRef, u32>| {
        // SAFETY: `v` is an argument or instruction of `f`, a live function of
        // the embedded module (yk-llvm rule 2).
        let ty = unsafe { LLVMTypeOf(v) };
        // One register for anything but an aggregate (without listing its
        // one leaf), one per leaf for an aggregate.
        // SAFETY: `ty` is a type of that module's context.
        let n = match unsafe { LLVMGetTypeKind(ty) } {
            LLVMTypeKind::LLVMStructTypeKind | LLVMTypeKind::LLVMArrayTypeKind => {
                leaves(ty).map(|l| l.len()).unwrap_or(1).max(1) as u32
            }
            _ => 1,
        };
        regs.insert(v, next);
        next += n;
    };
    // SAFETY: `f` is a live function of the embedded module, with a body
    // (yk-llvm rules 2 and 3); `k` stays below its parameter count.
    unsafe {
        for k in 0..LLVMCountParams(f) {
            alloc(LLVMGetParam(f, k), &mut regs);
        }
    }
    for &b in &bbs {
        for i in instrs(b) {
            alloc(i, &mut regs);
        }
    }
    let d = Dec {
        env,
        regs,
        block_idx: bbs
            .iter()
            .enumerate()
            .map(|(k, &b)| (b, k as u32))
            .collect(),
    };
    let mut pos = HashMap::default();
    let mut out = Vec::new();
    for (bk, &b) in bbs.iter().enumerate() {
        let mut blk = Block::default();
        for i in instrs(b) {
            if llvm::opcode(i) == LLVMOpcode::LLVMPHI {
                match d.phi(i) {
                    Ok(p) => blk.phis.push(p),
                    Err(e) => blk.insts.push(Inst::Unsupported(e)),
                }
                continue;
            }
            pos.insert(i, (bk as u32, blk.insts.len() as u32));
            blk.insts.push(d.inst(i).unwrap_or_else(Inst::Unsupported));
        }
        out.push(blk);
    }
    let prog = Prog {
        name: llvm::name(f),
        func_idx,
        nregs: next,
        reaches_unsupported: Prog::unsupported_reach(&out),
        blocks: out,
        ret_field: None,
    };
    Decoded {
        prog: Arc::new(prog),
        regs: d.regs,
        pos,
    }
}

impl Dec<'_> {
    fn reg(&self, v: LLVMValueRef) -> u32 {
        self.regs[&v]
    }

    fn block(&self, b: LLVMBasicBlockRef) -> u32 {
        self.block_idx[&b]
    }

    fn phi(&self, i: LLVMValueRef) -> Result<Phi, Unsupported> {
        // SAFETY: `i` is a live phi of the function being decoded (yk-llvm rule
        // 2).
        let n = leaves(unsafe { LLVMTypeOf(i) })?.len() as u32;
        let mut incoming = Vec::new();
        // SAFETY: `i` is a live phi of the function being decoded (its opcode
        // was checked by `decode`; yk-llvm rules 2 and 3), and `k` stays below
        // its incoming count.
        unsafe {
            for k in 0..LLVMCountIncoming(i) {
                let b = self.block(LLVMGetIncomingBlock(i, k));
                incoming.push((b, self.opnd(LLVMGetIncomingValue(i, k))?));
            }
        }
        Ok(Phi {
            d: self.reg(i),
            n,
            incoming,
        })
    }

    /// An operand: a register, or a constant evaluated now.
    fn opnd(&self, v: LLVMValueRef) -> Result<Opnd, Unsupported> {
        if let Some(&r) = self.regs.get(&v) {
            return Ok(Opnd::R(r));
        }
        // SAFETY: `v` is a live operand of an instruction of the function being
        // decoded (yk-llvm rule 2); `LLVMIsA*` casts take any value, and
        // operands are read below their count.
        unsafe {
            let ty = LLVMTypeOf(v);
            let kind = LLVMGetTypeKind(ty);
            if matches!(
                kind,
                LLVMTypeKind::LLVMStructTypeKind | LLVMTypeKind::LLVMArrayTypeKind
            ) {
                let l = leaves(ty)?;
                if !LLVMIsAUndefValue(v).is_null()
                    || !LLVMIsAPoisonValue(v).is_null()
                    || !LLVMIsAConstantAggregateZero(v).is_null()
                {
                    return Ok(Opnd::KA(vec![0; l.len()].into()));
                }
                let mut out = Vec::new();
                let n = LLVMGetNumOperands(v).max(0) as u32;
                for k in 0..n {
                    match self.opnd(LLVMGetOperand(v, k))? {
                        Opnd::K(x) => out.push(x),
                        Opnd::KA(xs) => out.extend(xs.iter()),
                        Opnd::R(_) => return Err(Unsupported::NonConstAggregate),
                    }
                }
                if out.len() != l.len() {
                    return Err(Unsupported::AggregateShape);
                }
                return Ok(Opnd::KA(out.into()));
            }
            self.konst(v).map(Opnd::K)
        }
    }

    /// A scalar constant's bits.
    fn konst(&self, v: LLVMValueRef) -> Result<u64, Unsupported> {
        // SAFETY: `v` is a live constant operand of the function being decoded
        // (yk-llvm rule 2); every kind-specific call (integer width and value,
        // real value, constant-expression opcode) comes after the `LLVMIsA*`
        // check or type kind that makes it apply, and a `ConstantExpr`'s
        // operands are read through `operands`.
        unsafe {
            let ty = LLVMTypeOf(v);
            if !LLVMIsAConstantInt(v).is_null() {
                let w = LLVMGetIntTypeWidth(ty);
                if w > 64 {
                    return Err(Unsupported::WideConstant(w));
                }
                return Ok(LLVMConstIntGetZExtValue(v) & width_mask(w as u8));
            }
            if !LLVMIsAConstantFP(v).is_null() {
                let mut lossy = 0;
                let x = LLVMConstRealGetDouble(v, &mut lossy);
                return match LLVMGetTypeKind(ty) {
                    LLVMTypeKind::LLVMFloatTypeKind => Ok((x as f32).to_bits() as u64),
                    LLVMTypeKind::LLVMDoubleTypeKind => Ok(x.to_bits()),
                    k => Err(Unsupported::FloatConstant(format!("{k:?}"))),
                };
            }
            if !LLVMIsAUndefValue(v).is_null()
                || !LLVMIsAPoisonValue(v).is_null()
                || !LLVMIsAConstantPointerNull(v).is_null()
                || LLVMIsNull(v) != 0
            {
                return Ok(0);
            }
            if !LLVMIsAFunction(v).is_null() {
                let idx = self.env.func_idx[&v];
                let a = self
                    .env
                    .func_addrs
                    .get(idx)
                    .copied()
                    .unwrap_or(std::ptr::null_mut());
                if a.is_null() {
                    return Err(Unsupported::NoAddress {
                        what: "function",
                        name: llvm::name(v),
                    });
                }
                return Ok(a as u64);
            }
            if !LLVMIsAGlobalVariable(v).is_null() {
                let idx = self.env.global_idx[&v];
                let a = self
                    .env
                    .global_addrs
                    .get(idx)
                    .copied()
                    .unwrap_or(std::ptr::null_mut());
                if a.is_null() {
                    return Err(Unsupported::NoAddress {
                        what: "global",
                        name: llvm::name(v),
                    });
                }
                return Ok(a as u64);
            }
            if !LLVMIsAConstantExpr(v).is_null() {
                let ops = operands(v);
                let w = match LLVMGetTypeKind(ty) {
                    LLVMTypeKind::LLVMIntegerTypeKind => LLVMGetIntTypeWidth(ty) as u8,
                    _ => 64,
                };
                let k = |i: usize| self.konst(ops[i]);
                return Ok(match LLVMGetConstOpcode(v) {
                    LLVMOpcode::LLVMGetElementPtr => {
                        let (off, idx) = self.gep(v, &ops)?;
                        if !idx.is_empty() {
                            return Err(Unsupported::VariableGepConstant);
                        }
                        k(0)?.wrapping_add(off as u64)
                    }
                    LLVMOpcode::LLVMPtrToInt
                    | LLVMOpcode::LLVMIntToPtr
                    | LLVMOpcode::LLVMBitCast
                    | LLVMOpcode::LLVMAddrSpaceCast
                    | LLVMOpcode::LLVMTrunc => k(0)? & width_mask(w),
                    LLVMOpcode::LLVMAdd => k(0)?.wrapping_add(k(1)?) & width_mask(w),
                    LLVMOpcode::LLVMSub => k(0)?.wrapping_sub(k(1)?) & width_mask(w),
                    LLVMOpcode::LLVMXor => (k(0)? ^ k(1)?) & width_mask(w),
                    op => return Err(Unsupported::ConstantExpr(format!("{op:?}"))),
                });
            }
            if !LLVMIsAGlobalAlias(v).is_null() {
                return Err(Unsupported::GlobalAlias);
            }
            Err(Unsupported::OperandKind(format!(
                "{:?}",
                LLVMGetValueKind(v)
            )))
        }
    }

    /// The constant offset and variable `(index, width, scale)` terms of a
    /// GEP (instruction or constant expression) with operands `ops`.
    fn gep(
        &self,
        g: LLVMValueRef,
        ops: &[LLVMValueRef],
    ) -> Result<(i64, Vec<GepIndex>), Unsupported> {
        // SAFETY: `g` is a live GEP (instruction or constant expression) of the
        // embedded module with operands `ops` (yk-llvm rules 2 and 3), and `td`
        // is that module's target data; struct indices are constant integers
        // (the verifier requires it), and element types are asked only of array
        // types (others are rejected).
        unsafe {
            let td = self.env.td;
            let mut ty = LLVMGetGEPSourceElementType(g);
            let mut off: i64 = 0;
            let mut vars = Vec::new();
            for (k, &ix) in ops[1..].iter().enumerate() {
                if k > 0 && LLVMGetTypeKind(ty) == LLVMTypeKind::LLVMStructTypeKind {
                    let f = LLVMConstIntGetZExtValue(ix) as u32;
                    off += LLVMOffsetOfElement(td, ty, f) as i64;
                    ty = LLVMStructGetTypeAtIndex(ty, f);
                    continue;
                }
                if k > 0 {
                    ty = match LLVMGetTypeKind(ty) {
                        LLVMTypeKind::LLVMArrayTypeKind => LLVMGetElementType(ty),
                        _ => return Err(Unsupported::GepIntoVector),
                    };
                }
                let scale = LLVMABISizeOfType(td, ty) as i64;
                let ixty = LLVMTypeOf(ix);
                if LLVMGetTypeKind(ixty) != LLVMTypeKind::LLVMIntegerTypeKind {
                    return Err(Unsupported::VectorGep);
                }
                let w = LLVMGetIntTypeWidth(ixty) as u8;
                match self.opnd(ix)? {
                    Opnd::K(c) => off = off.wrapping_add(sext(c, w).wrapping_mul(scale)),
                    o => vars.push((o, w, scale)),
                }
            }
            Ok((off, vars))
        }
    }

    fn inst(&self, i: LLVMValueRef) -> Result<Inst, Unsupported> {
        use LLVMOpcode::*;
        let ops = operands(i);
        let o = |k: usize| self.opnd(ops[k]);
        // SAFETY: `i` is a live, non-phi instruction of the function being
        // decoded (yk-llvm rules 2 and 3); each opcode-specific call
        // (predicates, successors, switch cases, from 1, the default being
        // successor 0) is made only under the matching opcode, and `ops` are
        // its operands.
        unsafe {
            let ty = LLVMTypeOf(i);
            let has_reg = self.regs.contains_key(&i);
            let d = if has_reg { self.reg(i) } else { u32::MAX };
            let op = llvm::opcode(i);
            let int_w = |v: LLVMValueRef| -> Result<u8, Unsupported> {
                match scalar(LLVMTypeOf(v))? {
                    Ty::I(w) => Ok(w),
                    _ => Err(Unsupported::FloatForInt),
                }
            };
            Ok(match op {
                LLVMAdd | LLVMSub | LLVMMul | LLVMUDiv | LLVMSDiv | LLVMURem | LLVMSRem
                | LLVMShl | LLVMLShr | LLVMAShr | LLVMAnd | LLVMOr | LLVMXor => {
                    let bop = match op {
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
                        _ => BinOp::Xor,
                    };
                    Inst::Bin {
                        op: bop,
                        w: int_w(i)?,
                        d,
                        a: o(0)?,
                        b: o(1)?,
                    }
                }
                LLVMFAdd | LLVMFSub | LLVMFMul | LLVMFDiv | LLVMFRem => {
                    let fop = match op {
                        LLVMFAdd => FBinOp::Add,
                        LLVMFSub => FBinOp::Sub,
                        LLVMFMul => FBinOp::Mul,
                        LLVMFDiv => FBinOp::Div,
                        _ => FBinOp::Rem,
                    };
                    Inst::FBin {
                        op: fop,
                        ty: scalar(ty)?,
                        d,
                        a: o(0)?,
                        b: o(1)?,
                    }
                }
                LLVMFNeg => Inst::FNeg {
                    ty: scalar(ty)?,
                    d,
                    a: o(0)?,
                },
                LLVMICmp => Inst::ICmp {
                    pred: LLVMGetICmpPredicate(i) as u8,
                    w: int_w(ops[0])?,
                    d,
                    a: o(0)?,
                    b: o(1)?,
                },
                LLVMFCmp => Inst::FCmp {
                    pred: LLVMGetFCmpPredicate(i) as u8,
                    ty: scalar(LLVMTypeOf(ops[0]))?,
                    d,
                    a: o(0)?,
                    b: o(1)?,
                },
                LLVMTrunc | LLVMZExt | LLVMSExt | LLVMFPTrunc | LLVMFPExt | LLVMFPToUI
                | LLVMFPToSI | LLVMUIToFP | LLVMSIToFP | LLVMPtrToInt | LLVMIntToPtr
                | LLVMBitCast | LLVMAddrSpaceCast => {
                    let cop = match op {
                        LLVMTrunc => CastOp::Trunc,
                        LLVMZExt => CastOp::ZExt,
                        LLVMSExt => CastOp::SExt,
                        LLVMFPTrunc => CastOp::FpTrunc,
                        LLVMFPExt => CastOp::FpExt,
                        LLVMFPToUI => CastOp::FpToUi,
                        LLVMFPToSI => CastOp::FpToSi,
                        LLVMUIToFP => CastOp::UiToFp,
                        LLVMSIToFP => CastOp::SiToFp,
                        _ => CastOp::Bits,
                    };
                    Inst::Cast {
                        op: cop,
                        from: scalar(LLVMTypeOf(ops[0]))?,
                        to: scalar(ty)?,
                        d,
                        a: o(0)?,
                    }
                }
                LLVMFreeze => Inst::Copy {
                    d,
                    n: leaves(ty)?.len() as u32,
                    a: o(0)?,
                },
                LLVMSelect => {
                    if LLVMGetTypeKind(LLVMTypeOf(ops[0])) == LLVMTypeKind::LLVMVectorTypeKind {
                        return Err(Unsupported::VectorSelect);
                    }
                    Inst::Select {
                        d,
                        n: leaves(ty)?.len() as u32,
                        c: o(0)?,
                        a: o(1)?,
                        b: o(2)?,
                    }
                }
                LLVMLoad => Inst::Load {
                    ty: scalar(ty).map_err(|e| Unsupported::Load(Box::new(e)))?,
                    d,
                    p: o(0)?,
                },
                LLVMStore => Inst::Store {
                    ty: scalar(LLVMTypeOf(ops[0])).map_err(|e| Unsupported::Store(Box::new(e)))?,
                    v: o(0)?,
                    p: o(1)?,
                },
                LLVMGetElementPtr => {
                    if LLVMGetTypeKind(ty) == LLVMTypeKind::LLVMVectorTypeKind {
                        return Err(Unsupported::VectorGep);
                    }
                    let (off, idx) = self.gep(i, &ops)?;
                    Inst::Gep {
                        d,
                        base: o(0)?,
                        off,
                        idx,
                    }
                }
                LLVMExtractValue => {
                    let (leaf, n) = self.agg_path(LLVMTypeOf(ops[0]), i)?;
                    Inst::Extract {
                        d,
                        n,
                        agg: o(0)?,
                        leaf,
                    }
                }
                LLVMInsertValue => {
                    let (leaf, n) = self.agg_path(ty, i)?;
                    Inst::Insert {
                        d,
                        total: leaves(ty)?.len() as u32,
                        agg: o(0)?,
                        leaf,
                        n,
                        v: o(1)?,
                    }
                }
                LLVMFence => Inst::Nop,
                LLVMCall => self.call(i, d, ty)?,
                LLVMBr => {
                    if ops.len() == 1 {
                        Inst::Br {
                            to: self.block(LLVMValueAsBasicBlock(ops[0])),
                        }
                    } else {
                        // Operands of a conditional br: cond, false, true.
                        Inst::CondBr {
                            c: o(0)?,
                            t: self.block(LLVMValueAsBasicBlock(ops[2])),
                            f: self.block(LLVMValueAsBasicBlock(ops[1])),
                        }
                    }
                }
                LLVMSwitch => {
                    let w = int_w(ops[0])?;
                    let mut cases = Vec::new();
                    for k in 1..LLVMGetNumSuccessors(i) {
                        let c = LLVMGetSwitchCaseValue(i, k);
                        cases.push((
                            LLVMConstIntGetZExtValue(c) & width_mask(w),
                            self.block(LLVMGetSuccessor(i, k)),
                        ));
                    }
                    Inst::Switch {
                        v: o(0)?,
                        default: self.block(LLVMGetSwitchDefaultDest(i)),
                        cases,
                    }
                }
                LLVMRet => {
                    if ops.is_empty() {
                        Inst::Ret { v: None, n: 0 }
                    } else {
                        Inst::Ret {
                            v: Some(o(0)?),
                            n: leaves(LLVMTypeOf(ops[0]))?.len() as u32,
                        }
                    }
                }
                LLVMUnreachable => Inst::Unreachable,
                op => return Err(Unsupported::Instruction(format!("{op:?}"))),
            })
        }
    }

    /// The first leaf and leaf count that extractvalue/insertvalue `i`
    /// addresses in aggregate type `ty`.
    fn agg_path(&self, mut ty: LLVMTypeRef, i: LLVMValueRef) -> Result<(u32, u32), Unsupported> {
        // SAFETY: `i` is a live `extractvalue` or `insertvalue` (its opcode was
        // matched in `inst`; yk-llvm rule 3), so `LLVMGetIndices` points to its
        // `n` indices, owned by the instruction and read at once; `ty` is a
        // type of the embedded module's context, and struct and array accessors
        // are called only for types of that kind.
        unsafe {
            let n = LLVMGetNumIndices(i) as usize;
            let idx = std::slice::from_raw_parts(LLVMGetIndices(i), n);
            let mut leaf = 0u32;
            for &k in idx {
                match LLVMGetTypeKind(ty) {
                    LLVMTypeKind::LLVMStructTypeKind => {
                        for j in 0..k {
                            leaf += leaves(LLVMStructGetTypeAtIndex(ty, j))?.len() as u32;
                        }
                        ty = LLVMStructGetTypeAtIndex(ty, k);
                    }
                    LLVMTypeKind::LLVMArrayTypeKind => {
                        let e = LLVMGetElementType(ty);
                        leaf += k * leaves(e)?.len() as u32;
                        ty = e;
                    }
                    _ => return Err(Unsupported::AggregatePath),
                }
            }
            Ok((leaf, leaves(ty)?.len() as u32))
        }
    }

    fn call(&self, i: LLVMValueRef, d: u32, ty: LLVMTypeRef) -> Result<Inst, Unsupported> {
        // SAFETY: `i` is a live call of the function being decoded (its opcode
        // was matched in `inst`; yk-llvm rules 2 and 3), so it has a called
        // value and `nargs` argument operands; `callee` is used as a function
        // only when `LLVMIsAFunction` says so.
        unsafe {
            let callee = LLVMGetCalledValue(i);
            if !LLVMIsAInlineAsm(callee).is_null() {
                return Err(Unsupported::InlineAsm);
            }
            let nargs = LLVMGetNumArgOperands(i);
            let args: Vec<LLVMValueRef> = (0..nargs).map(|k| LLVMGetOperand(i, k)).collect();
            let a = |k: usize| self.opnd(args[k]);
            let direct = !LLVMIsAFunction(callee).is_null();
            let name = if direct {
                llvm::name(callee)
            } else {
                String::new()
            };
            if let Some(intr) = name.strip_prefix("llvm.") {
                return self.intrinsic(intr, &args, d, ty);
            }
            match name.as_str() {
                yk_abi::names::PROMOTE_U64 => return Ok(Inst::Promote { d, a: a(0)? }),
                // The identity (a fact for the trace builder only).
                yk_abi::names::DISJOINT => return Ok(Inst::Copy { d, n: 1, a: a(0)? }),
                // `yk_is_interpreting` is called natively: it says whether
                // this thread records (false: the recorded path must be a
                // trace's, which sees false), as when the interpreter runs
                // it.
                yk_abi::names::RT_CONTROL_POINT => return Ok(Inst::ControlPoint { loc: a(1)? }),
                // Only for recordings (`crate::trace::entries`); a side trace
                // recorded through the blackhole misses the hints of its
                // blackhole part.
                yk_abi::names::ENTRY_HINT => return Ok(Inst::Nop),
                "setjmp" | "_setjmp" | "__sigsetjmp" | "sigsetjmp" => {
                    return Err(Unsupported::Call(name))
                }
                _ => {}
            }
            let f = if direct {
                Opnd::K(self.konst(callee)?)
            } else {
                self.opnd(callee)?
            };
            let kinds = [
                ("byval", "an argument passed byval"),
                ("inalloca", "an inalloca argument"),
                ("preallocated", "a preallocated argument"),
            ];
            let signext = kind_id("signext");
            let mut out = Vec::new();
            for (k, &v) in args.iter().enumerate() {
                let at = k as u32 + 1;
                for (kn, why) in kinds {
                    if has_attr(i, callee, direct, at, kind_id(kn)) {
                        return Err(Unsupported::ArgAttr(why));
                    }
                }
                let class = match leaves(LLVMTypeOf(v))?.as_slice() {
                    [Ty::I(w)] => ArgClass::Int {
                        w: *w,
                        signext: has_attr(i, callee, direct, at, signext),
                    },
                    [Ty::F32] | [Ty::F64] => ArgClass::Sse,
                    _ => return Err(Unsupported::AggregateArgument),
                };
                out.push((a(k)?, class));
            }
            let ret = match LLVMGetTypeKind(ty) {
                LLVMTypeKind::LLVMVoidTypeKind => RetClass::Void,
                _ => {
                    let l = leaves(ty)?;
                    let (mut ni, mut nf) = (0, 0);
                    let mut v = Vec::new();
                    for t in l {
                        let sse = !matches!(t, Ty::I(_));
                        if sse {
                            nf += 1
                        } else {
                            ni += 1
                        }
                        v.push((t, sse));
                    }
                    if ni > 2 || nf > 2 {
                        return Err(Unsupported::LargeAggregateReturn);
                    }
                    RetClass::Leaves(v)
                }
            };
            // As yk-ld's hook after an idempotent call: scalar results of
            // at most 64 bits only.
            let scalar = matches!(&ret, RetClass::Leaves(l) if l.len() == 1)
                && LLVMGetTypeKind(ty) != LLVMTypeKind::LLVMStructTypeKind
                && LLVMGetTypeKind(ty) != LLVMTypeKind::LLVMArrayTypeKind
                && (LLVMGetTypeKind(ty) != LLVMTypeKind::LLVMIntegerTypeKind
                    || LLVMGetIntTypeWidth(ty) <= 64);
            let idem = direct
                && scalar
                && self
                    .env
                    .func_idx
                    .get(&callee)
                    .and_then(|&gi| crate::aotir::index()?.func(gi as u32))
                    .is_some_and(|x| x.idempotent);
            Ok(Inst::Call {
                f,
                args: out,
                ret,
                d,
                idem,
            })
        }
    }

    fn intrinsic(
        &self,
        name: &str,
        args: &[LLVMValueRef],
        d: u32,
        ty: LLVMTypeRef,
    ) -> Result<Inst, Unsupported> {
        let a = |k: usize| self.opnd(args[k]);
        let base = name.split('.').next().unwrap_or("");
        let intr = |f: Intr, t: Ty| -> Result<Inst, Unsupported> {
            let mut v = Vec::new();
            for k in 0..args.len() {
                v.push(a(k)?);
            }
            Ok(Inst::Intrinsic {
                f,
                ty: t,
                d,
                args: v,
            })
        };
        // SAFETY: `args[0]` is a live argument of the intrinsic call being
        // decoded (yk-llvm rule 2).
        let sty = || unsafe { scalar(LLVMTypeOf(args[0])) };
        Ok(match base {
            "lifetime" | "dbg" | "assume" | "experimental" | "invariant" | "sideeffect"
            | "pseudoprobe" | "var" | "donothing" => {
                if name.starts_with("experimental.noalias") || !name.starts_with("experimental") {
                    Inst::Nop
                } else {
                    return Err(Unsupported::Intrinsic(name.to_owned()));
                }
            }
            "expect" | "ptr" | "launder" | "strip" => Inst::Copy { d, n: 1, a: a(0)? },
            "memcpy" | "memmove" => Inst::Memcpy {
                d: a(0)?,
                s: a(1)?,
                n: a(2)?,
            },
            "memset" => Inst::Memset {
                d: a(0)?,
                v: a(1)?,
                n: a(2)?,
            },
            "smax" => intr(Intr::SMax, sty()?)?,
            "smin" => intr(Intr::SMin, sty()?)?,
            "umax" => intr(Intr::UMax, sty()?)?,
            "umin" => intr(Intr::UMin, sty()?)?,
            "abs" => intr(Intr::Abs, sty()?)?,
            "ctpop" => intr(Intr::CtPop, sty()?)?,
            "ctlz" => intr(Intr::Ctlz, sty()?)?,
            "cttz" => intr(Intr::Cttz, sty()?)?,
            "bswap" => intr(Intr::BSwap, sty()?)?,
            "fshl" => intr(Intr::FShl, sty()?)?,
            "fshr" => intr(Intr::FShr, sty()?)?,
            "sadd" => intr(Intr::SAddO, sty()?)?,
            "uadd" => intr(Intr::UAddO, sty()?)?,
            "ssub" => intr(Intr::SSubO, sty()?)?,
            "usub" => intr(Intr::USubO, sty()?)?,
            "smul" => intr(Intr::SMulO, sty()?)?,
            "umul" => intr(Intr::UMulO, sty()?)?,
            "fabs" => intr(Intr::FAbs, sty()?)?,
            "sqrt" => intr(Intr::Sqrt, sty()?)?,
            "floor" => intr(Intr::Floor, sty()?)?,
            "ceil" => intr(Intr::Ceil, sty()?)?,
            "trunc" => intr(Intr::FTrunc, sty()?)?,
            "round" => intr(Intr::Round, sty()?)?,
            "rint" | "nearbyint" => intr(Intr::Rint, sty()?)?,
            "copysign" => intr(Intr::CopySign, sty()?)?,
            "minnum" => intr(Intr::MinNum, sty()?)?,
            "maxnum" => intr(Intr::MaxNum, sty()?)?,
            "pow" => intr(Intr::Pow, sty()?)?,
            "fma" => intr(Intr::Fma, sty()?)?,
            "fmuladd" => intr(Intr::FMulAdd, sty()?)?,
            _ => {
                let _ = ty;
                return Err(Unsupported::Intrinsic(name.to_owned()));
            }
        })
    }
}

fn kind_id(name: &str) -> u32 {
    // SAFETY: LLVM reads `name.len()` bytes at `name.as_ptr()`, which `name`
    // keeps alive for the call; no handle is involved.
    unsafe { LLVMGetEnumAttributeKindForName(name.as_ptr().cast(), name.len()) }
}

/// Does parameter `at` (1-based) carry enum attribute `kind` at the call
/// site or on the called function?
fn has_attr(call: LLVMValueRef, callee: LLVMValueRef, direct: bool, at: u32, kind: u32) -> bool {
    // SAFETY: `call` is a live call of the embedded module and `callee` (used
    // only when `direct`) the function it calls (yk-llvm rules 2 and 3); `at`
    // is a parameter index and `kind` an attribute kind id.
    unsafe {
        !LLVMGetCallSiteEnumAttribute(call, at, kind).is_null()
            || (direct && !LLVMGetEnumAttributeAtIndex(callee, at, kind).is_null())
    }
}

/// The target data of module `m` (to lay out GEPs); dispose with
/// `LLVMDisposeTargetData`.
pub fn target_data(m: LLVMModuleRef) -> LLVMTargetDataRef {
    // SAFETY: `m` is a live module (yk-llvm rule 2); its data layout string is
    // owned by the module and parsed into the new target data at once (rule 5);
    // the caller disposes of the result (see the documentation).
    unsafe { LLVMCreateTargetData(LLVMGetDataLayoutStr(m)) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yk_llvm::Module;

    /// `@f` of `m`, decoded (without addresses).
    fn decode_f(m: &Module) -> Decoded {
        let funcs = m.functions();
        let func_idx: HashMap<LLVMValueRef, usize> =
            funcs.iter().enumerate().map(|(i, &f)| (f, i)).collect();
        let td = target_data(m.m);
        let env = Env {
            td,
            func_idx: &func_idx,
            global_idx: &HashMap::default(),
            func_addrs: &[],
            global_addrs: &[],
        };
        let f = m.function("f").unwrap();
        let d = decode(&env, f, func_idx[&f] as u32);
        // SAFETY: made by `target_data` above, used no more.
        unsafe { LLVMDisposeTargetData(td) };
        d
    }

    /// Each instruction of `@f` the blackhole can't run is decoded as
    /// `Inst::Unsupported` with the typed reason, and the reasons read as
    /// before they were typed.
    #[test]
    fn unsupported_instructions_say_why() {
        let m = Module::parse_ir(
            r#"
declare void @g()
declare i32 @setjmp(ptr)
define void @f(ptr %p, <2 x i32> %v) {
entry:
  %a = load i128, ptr %p
  %b = load { i64, i64 }, ptr %p
  %c = extractelement <2 x i32> %v, i32 0
  call void @g()
  %s = call i32 @setjmp(ptr %p)
  call void asm "nop", ""()
  ret void
}
"#,
        )
        .unwrap();
        let d = decode_f(&m);
        let why: Vec<(Unsupported, String)> = d.prog.blocks[0]
            .insts
            .iter()
            .filter_map(|i| match i {
                Inst::Unsupported(u) => Some((u.clone(), u.to_string())),
                _ => None,
            })
            .collect();
        let want = [
            (
                Unsupported::Load(Box::new(Unsupported::WideInt(128))),
                "a load of i128",
            ),
            (
                Unsupported::Load(Box::new(Unsupported::AggregateForScalar)),
                "a load of an aggregate where a scalar is needed",
            ),
            (
                Unsupported::Instruction("LLVMExtractElement".into()),
                "instruction LLVMExtractElement",
            ),
            (
                Unsupported::NoAddress {
                    what: "function",
                    name: "g".into(),
                },
                "function g without an address",
            ),
            (Unsupported::Call("setjmp".into()), "a call to setjmp"),
            (Unsupported::InlineAsm, "inline asm"),
        ];
        let got: Vec<(Unsupported, &str)> =
            why.iter().map(|(u, s)| (u.clone(), s.as_str())).collect();
        assert_eq!(got, want);
        // What the trace compiler is told when a guard could reach them.
        assert_eq!(
            d.prog.unsupported_from(0, 0, false).as_deref(),
            Some("a load of i128 in f")
        );
    }

    /// Only blocks from which an unsupported instruction is reachable are
    /// walked: `luaV_execute`'s entry block has allocas the blackhole can't
    /// run, but no guard inside its loop can reach them.
    #[test]
    fn unsupported_only_where_reachable() {
        let m = Module::parse_ir(
            r#"
define void @f(i1 %c) {
entry:
  %a = alloca i64
  br label %loop
loop:
  br i1 %c, label %loop, label %out
out:
  ret void
}
"#,
        )
        .unwrap();
        let d = decode_f(&m);
        assert_eq!(d.prog.reaches_unsupported, [true, false, false]);
        assert!(d.prog.unsupported_from(0, 0, false).is_some());
        assert_eq!(d.prog.unsupported_from(1, 0, false), None);
        assert_eq!(d.prog.unsupported_from(2, 0, false), None);
    }
}
