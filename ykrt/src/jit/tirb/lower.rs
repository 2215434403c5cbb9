//! The lowering: an optimised trace-IR trace into the LLVM trace function.
//!
//! Owns [`lower`]. The function keeps the ABI of every trace
//! (`i64 trace(ptr vars, ptr info, ptr buf)`, docs/abi.md):
//!
//! ```text
//! entry:   parameters from vars fields or buffer slots; the trace's allocas;
//!          the reserved slots
//! loop:    phis of the parameters (entry, back edge, re-entry); count the
//!          iteration; the body, each guard a conditional branch to its
//!          snapshot's exit block; jump (br loop) or the end (write the
//!          changed vars fields, return or re-enter)
//! exit_sN: one per snapshot: phi of the failing guard's number (the
//!          number itself if one guard leaves there), stores of the
//!          snapshot's values into the buffer, on to the exit tail
//! exit:    phi of the guard's number; the one call of the guard-exit
//!          function; re-enter or leave
//! ```
//!
//! A root trace that leaves at another location (at a linear trace's end,
//! or after a guard exit) enters that location's trace directly where it
//! can ([`direct`]).
//!
//! Guards that share a snapshot share its exit block, so exit code grows
//! with the number of snapshots, not guards x live values; and all exits
//! share one call of the runtime (a call site costs code generation more
//! than the stores). Loop parameters
//! the loop never changes get one reserved buffer slot each, written at the
//! entry and the re-entry rather than at every exit.

use super::walk::{Shape, Walked, LOC_ID};
use super::ParamSrc;

mod direct;
pub mod layout;
mod ops;
mod tier;
use crate::abort::Abort;
use crate::guard::GuardInfo;
use crate::jit::builder::GuardSrc;
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::LLVMLinkage;
pub(crate) use ops::atomic_word;
use ops::{copy_attributes, llvm_bin, llvm_cast, llvm_fpred, llvm_ipred, monotonic};
use rustc_hash::FxHashMap as HashMap;
use std::ffi::CString;
use tir::{Const, End, Inst, Operand, SnapId, Sym, Ty};
use yk_llvm::{self as llvm, Module};

/// A value in at least this many guards' snapshots is stored once, where
/// it is defined (a root trace's loop-carried parameter: at the loop's
/// head), instead of at each exit. Measured on the Lua benchmarks'
/// traces: at 4, about 6% of the body's instructions (the stores) remove
/// three quarters of the exits' stores.
const EAGER_SNAPSHOTS: usize = 4;

/// What the lowering needs besides the trace.
pub struct LowerCx<'a> {
    /// The trace's module.
    pub t: &'a Module,
    /// The trace function, declared in `t` with the trace ABI, to fill in.
    pub trace_fn: LLVMValueRef,
    /// The type of the control point's `YkCtrlPointVars`.
    pub vars_ty: LLVMTypeRef,
    /// The guard-exit function the trace calls (`__yk_guard_exit`, or
    /// `__yk_side_guard_exit` for a side trace), declared in `t`.
    pub exit_fn: LLVMValueRef,
    /// The address of the trace's location (where the trace ends, the
    /// location reached is compared with it: its own means re-enter).
    pub start_loc: usize,
    /// The embedded module's functions, by index (`Sym::Func`).
    pub funcs: &'a [LLVMValueRef],
    /// The embedded module's globals, by index (`Sym::Global`).
    pub globals: &'a [LLVMValueRef],
    /// Each resume id's decoded position (see [`ResumeInfo`]).
    pub resume_info: &'a [ResumeInfo],
    /// The debug location of the trace's own code (entry, exits; null
    /// without debug info).
    pub line0: LLVMMetadataRef,
    /// A root trace's direct jumps (see [`direct`]).
    pub direct: Option<crate::jit::builder::DirectJump>,
    /// The target data, for the byte offsets of `vars_ty`'s fields (the
    /// native plan's).
    pub td: llvm_sys::target::LLVMTargetDataRef,
}

/// Where a snapshot's frame resumes, decoded: the function's program, block
/// and instruction index, and the register that receives the inner frame's
/// result (`u32::MAX` for the innermost frame).
pub struct ResumeInfo {
    /// The frame's function, decoded for the blackhole.
    pub prog: std::sync::Arc<crate::guard::prog::Prog>,
    /// The block it resumes in.
    pub block: u32,
    /// The instruction it resumes at, in `block`.
    pub idx: u32,
    /// The register receiving the inner frame's result.
    pub call_dst: u32,
}

/// The lowered trace's runtime data.
pub struct Lowered {
    /// The guards, by the number the trace passes to its exit.
    pub guards: Vec<GuardInfo>,
    /// What each guard's side trace starts from (its snapshot, for the
    /// walk of a side trace).
    pub guard_srcs: Vec<GuardSrc>,
    /// Buffer slots the trace uses.
    pub nslots: usize,
    /// The embedded module's functions the trace calls: the symbol
    /// declared for each and its index (its address comes from the
    /// address table).
    pub funcs: Vec<(String, usize)>,
    /// The same for the globals the trace refers to.
    pub globals: Vec<(String, usize)>,
    /// The same function, as the native code generator's plan (what the
    /// trace function does besides the trace IR's body): every decision
    /// above (slots, stores, ends) recorded as it was made, so that both
    /// back ends make the same function.
    pub plan: x64::Plan,
}

struct L<'a> {
    cx: &'a LowerCx<'a>,
    b: llvm::Builder,
    vals: Vec<Option<LLVMValueRef>>,
    syms: HashMap<Sym, LLVMValueRef>,
    used_funcs: Vec<(String, usize)>,
    used_globals: Vec<(String, usize)>,
    vars: LLVMValueRef,
    info: LLVMValueRef,
    buf: LLVMValueRef,
}

/// Lowers `t` (the walk's trace after the backward pass; `locs` its
/// instructions' debug locations).
pub fn lower(
    cx: &LowerCx,
    w: &Walked,
    t: &tir::Trace,
    locs: &[LLVMMetadataRef],
) -> Result<Lowered, Abort> {
    let m = cx.t;
    let f = cx.trace_fn;
    let mut l = L {
        cx,
        b: m.builder(),
        vals: vec![None; t.nvals()],
        syms: HashMap::default(),
        used_funcs: Vec::new(),
        used_globals: Vec::new(),
        // SAFETY: `f` is `cx.trace_fn`, the live trace function
        // `declare_trace_fn` made with three parameters (yk-llvm rules 2 and
        // 3).
        vars: unsafe { LLVMGetParam(f, 0) },
        // SAFETY: as above: parameter 1 of the three-parameter trace function.
        info: unsafe { LLVMGetParam(f, 1) },
        // SAFETY: as above: parameter 2 of the three-parameter trace function.
        buf: unsafe { LLVMGetParam(f, 2) },
    };
    let root = w.shape != Shape::Side;
    let lay = layout::layout(
        &layout::LayoutCx {
            start_loc: cx.start_loc,
            resume_info: cx.resume_info,
            td: cx.td,
            vars_ty: cx.vars_ty,
        },
        w,
        t,
    )?;
    let used = &lay.used;
    let eager: HashMap<u32, u32> = lay.plan.eager.iter().map(|&(v, s)| (v.0, s)).collect();
    let new_block = |name: &str| {
        let n = CString::new(name).unwrap();
        // SAFETY: `f` is the live trace function of `m`, and the block is made
        // in `m.ctx`, its context (yk-llvm rule 2); `n` is NUL-terminated and
        // outlives the call.
        unsafe { LLVMAppendBasicBlockInContext(m.ctx, f, n.as_ptr()) }
    };
    let entry = new_block("entry");
    let head = new_block("loop");
    let leave = new_block("leave");
    // SAFETY: every handle here belongs to the live trace module `m` or its
    // context (yk-llvm rules 1 and 2): the builder, made in `m.ctx`, is
    // positioned only in blocks of `trace_fn`, the values it combines are the
    // lowered trace IR's, whose types `tr.verify()` checked (and the module is
    // verified before it is compiled), and phis get as many incoming values as
    // blocks. `leave` is deleted only when its phi has no incoming value, so no
    // branch goes there, and neither is used afterwards.
    unsafe {
        l.at_loc(cx.line0);
        LLVMPositionBuilderAtEnd(l.b.0, leave);
        let leave_phi = LLVMBuildPhi(l.b.0, m.int_ty(64), c"".as_ptr());
        LLVMBuildRet(l.b.0, leave_phi);

        // Entry: parameters, allocas.
        LLVMPositionBuilderAtEnd(l.b.0, entry);
        let mut entry_vals = Vec::with_capacity(t.params.len());
        for (k, (src, ty)) in w.params.iter().zip(&t.params).enumerate() {
            let v = l.param_value(*src, *ty);
            entry_vals.push(v);
            l.vals[k] = Some(v);
        }
        for (k, inst) in t.body.iter().enumerate() {
            if let Inst::Alloca { size, align } = inst {
                let aty = LLVMArrayType2(m.int_ty(8), *size as u64);
                let a = LLVMBuildAlloca(l.b.0, aty, c"".as_ptr());
                LLVMSetAlignment(a, *align);
                l.vals[t.params.len() + k] = Some(a);
            }
        }

        // The head: phis of a root trace's parameters (but vars).
        LLVMPositionBuilderAtEnd(l.b.0, head);
        let mut phis = vec![std::ptr::null_mut(); t.params.len()];
        // A root trace's count of its loop's iterations (a linear trace's:
        // of its entries), at the head.
        let mut entries: Option<LLVMValueRef> = None;
        if root {
            for (k, ty) in t.params.iter().enumerate().skip(1) {
                if !used[k] {
                    l.vals[k] = None;
                    continue;
                }
                let p = LLVMBuildPhi(l.b.0, l.llty(*ty), c"".as_ptr());
                phis[k] = p;
                l.vals[k] = Some(p);
            }
            let n = l.count_iteration();
            entries = Some(n);
            if let Some(stores) = &lay.tier_stores {
                tier::emit(&l, stores, &phis, n, (leave, leave_phi), &new_block);
            }
        }
        let np = t.params.len();
        // Loop-carried parameters stored once per iteration: at the head,
        // after the phis.
        if !lay.plan.carried.is_empty() {
            let here = LLVMGetInsertBlock(l.b.0);
            let mut first = LLVMGetFirstInstruction(head);
            while !first.is_null() && !LLVMIsAPHINode(first).is_null() {
                first = LLVMGetNextInstruction(first);
            }
            for &(v, slot) in &lay.plan.carried {
                let p = phis[v as usize];
                if p.is_null() {
                    return Err(Abort::internal("a loop-carried parameter without a phi"));
                }
                if first.is_null() {
                    LLVMPositionBuilderAtEnd(l.b.0, head);
                } else {
                    LLVMPositionBuilderBefore(l.b.0, first);
                }
                LLVMBuildStore(l.b.0, p, l.buf_slot(slot));
            }
            LLVMPositionBuilderAtEnd(l.b.0, here);
        }

        // The body.
        let mut exits: HashMap<SnapId, (LLVMBasicBlockRef, LLVMValueRef)> = HashMap::default();
        let mut gidx = 0;
        for (k, inst) in t.body.iter().enumerate() {
            l.at_loc(locs.get(k).copied().unwrap_or(std::ptr::null_mut()));
            if let Inst::Guard { cond, expect, snap } = inst {
                let c = l.op(*cond)?;
                let (eb, ephi) = *exits.entry(*snap).or_insert_with(|| {
                    let eb = new_block(&format!("exit_s{}", snap.0));
                    let here = LLVMGetInsertBlock(l.b.0);
                    LLVMPositionBuilderAtEnd(l.b.0, eb);
                    let ph = LLVMBuildPhi(l.b.0, m.int_ty(64), c"".as_ptr());
                    LLVMPositionBuilderAtEnd(l.b.0, here);
                    (eb, ph)
                });
                let cont = new_block("guarded");
                if *expect {
                    LLVMBuildCondBr(l.b.0, c, cont, eb);
                } else {
                    LLVMBuildCondBr(l.b.0, c, eb, cont);
                }
                let mut v = [m.const_int(64, gidx as u64)];
                gidx += 1;
                let mut bb = [LLVMGetInsertBlock(l.b.0)];
                LLVMAddIncoming(ephi, v.as_mut_ptr(), bb.as_mut_ptr(), 1);
                LLVMPositionBuilderAtEnd(l.b.0, cont);
                continue;
            }
            if let Inst::Alloca { .. } = inst {
                continue;
            }
            let r = l.inst(t, inst)?;
            l.vals[np + k] = r;
            if let (Some(x), Some(&slot)) = (r, eager.get(&((np + k) as u32))) {
                LLVMBuildStore(l.b.0, x, l.buf_slot(slot));
            }
        }
        l.at_loc(cx.line0);

        // The end.
        let mut reload: LLVMBasicBlockRef = std::ptr::null_mut();
        let mut reload_block = |l: &L| {
            if reload.is_null() {
                reload = new_block("reenter");
                let here = LLVMGetInsertBlock(l.b.0);
                LLVMPositionBuilderAtEnd(l.b.0, reload);
                LLVMBuildBr(l.b.0, head);
                LLVMPositionBuilderAtEnd(l.b.0, here);
            }
            reload
        };
        let mut back: Option<(LLVMBasicBlockRef, Vec<LLVMValueRef>)> = None;
        match &t.end {
            End::Jump(args) => {
                let mut vs = Vec::with_capacity(args.len());
                for (k, a) in args.iter().enumerate() {
                    vs.push(if k == 0 || used[k] {
                        l.op(*a)?
                    } else {
                        std::ptr::null_mut()
                    });
                }
                back = Some((LLVMGetInsertBlock(l.b.0), vs));
                LLVMBuildBr(l.b.0, head);
            }
            End::Exit(s) => {
                // (`layout` checked that this is an end snapshot.)
                let fr = &t.snaps.get(*s).expect("the end snapshot").frames[0];
                let mut loc = None;
                for &(id, o) in &fr.live {
                    if id == LOC_ID {
                        loc = Some(l.op(o)?);
                        continue;
                    }
                    let v = l.op(o)?;
                    let p = l.field_ptr(id);
                    LLVMBuildStore(l.b.0, v, p);
                }
                let r = l.outcome(loc);
                if w.shape == Shape::Linear {
                    let out = new_block("jump");
                    let rb = reload_block(&l);
                    l.reenter_or(r, rb, out);
                    LLVMPositionBuilderAtEnd(l.b.0, out);
                    if let (Some(d), Some(n)) = (cx.direct, entries) {
                        l.direct_jump(d, r, n, &new_block);
                    }
                }
                LLVMBuildRet(l.b.0, r);
            }
        }

        // The exits, one per snapshot: its stores, on to the shared tail
        // with the guard's number.
        let mut tail: Option<(LLVMBasicBlockRef, LLVMValueRef)> = None;
        for (s, stores) in &lay.plan.exits {
            let (eb, ephi) = exits[s];
            LLVMPositionBuilderAtEnd(l.b.0, eb);
            for &(what, slot) in stores {
                let x = l.op(what)?;
                LLVMBuildStore(l.b.0, x, l.buf_slot(slot));
            }
            let tail = *tail.get_or_insert_with(|| {
                let tb = new_block("exit");
                let here = LLVMGetInsertBlock(l.b.0);
                LLVMPositionBuilderAtEnd(l.b.0, tb);
                let ph = LLVMBuildPhi(l.b.0, m.int_ty(64), c"".as_ptr());
                LLVMPositionBuilderAtEnd(l.b.0, here);
                (tb, ph)
            });
            // The guard's number: a constant if only one guard leaves here
            // (the phi, used nowhere else, goes).
            let gno = if LLVMCountIncoming(ephi) == 1 {
                let k = LLVMGetIncomingValue(ephi, 0);
                LLVMInstructionEraseFromParent(ephi);
                k
            } else {
                ephi
            };
            let mut v = [gno];
            let mut b = [LLVMGetInsertBlock(l.b.0)];
            LLVMAddIncoming(tail.1, v.as_mut_ptr(), b.as_mut_ptr(), 1);
            LLVMBuildBr(l.b.0, tail.0);
        }
        if let Some((tb, gphi)) = tail {
            // The one call of the runtime: run the side trace or the
            // blackhole, then re-enter or leave.
            LLVMPositionBuilderAtEnd(l.b.0, tb);
            let mut args = [l.info, gphi, l.buf, l.vars];
            let r = LLVMBuildCall2(
                l.b.0,
                LLVMGlobalGetValueType(cx.exit_fn),
                cx.exit_fn,
                args.as_mut_ptr(),
                4,
                c"".as_ptr(),
            );
            let mut out = tb;
            if root {
                let rb = reload_block(&l);
                match (cx.direct, entries) {
                    (Some(d), Some(n)) => {
                        // A jump elsewhere (the side trace's or the
                        // blackhole's end) is entered directly if it can be.
                        let jb = new_block("exit_jump");
                        l.reenter_or(r, rb, jb);
                        LLVMPositionBuilderAtEnd(l.b.0, jb);
                        l.direct_jump(d, r, n, &new_block);
                        out = LLVMGetInsertBlock(l.b.0);
                        LLVMBuildBr(l.b.0, leave);
                    }
                    _ => l.reenter_or(r, rb, leave),
                }
            } else {
                LLVMBuildBr(l.b.0, leave);
            }
            let mut v = [r];
            let mut b = [out];
            LLVMAddIncoming(leave_phi, v.as_mut_ptr(), b.as_mut_ptr(), 1);
        }
        if LLVMCountIncoming(leave_phi) == 0 {
            LLVMDeleteBasicBlock(leave);
        }

        // Reserved slots and the re-entry's reloads.
        LLVMPositionBuilderAtEnd(l.b.0, entry);
        for &(v, s) in &lay.plan.reserved {
            LLVMBuildStore(l.b.0, entry_vals[v as usize], l.buf_slot(s));
        }
        LLVMBuildBr(l.b.0, head);
        let mut reload_vals = vec![l.vars; t.params.len()];
        if !reload.is_null() {
            LLVMPositionBuilder(l.b.0, reload, LLVMGetBasicBlockTerminator(reload));
            for (k, (src, ty)) in w.params.iter().zip(&t.params).enumerate().skip(1) {
                reload_vals[k] = l.param_value(*src, *ty);
            }
            for &(v, s) in &lay.plan.reserved {
                LLVMBuildStore(l.b.0, reload_vals[v as usize], l.buf_slot(s));
            }
        }
        if root {
            for k in 1..t.params.len() {
                let p = phis[k];
                if p.is_null() {
                    continue;
                }
                let mut vs = vec![entry_vals[k]];
                let mut bs = vec![entry];
                if let Some((bb, args)) = &back {
                    vs.push(args[k]);
                    bs.push(*bb);
                }
                if !reload.is_null() {
                    vs.push(reload_vals[k]);
                    bs.push(reload);
                }
                LLVMAddIncoming(p, vs.as_mut_ptr(), bs.as_mut_ptr(), vs.len() as u32);
            }
        }
        Ok(Lowered {
            guards: lay.guards,
            guard_srcs: lay.guard_srcs,
            nslots: lay.nslots,
            funcs: std::mem::take(&mut l.used_funcs),
            globals: std::mem::take(&mut l.used_globals),
            plan: lay.plan,
        })
    }
}

impl L<'_> {
    fn at_loc(&self, loc: LLVMMetadataRef) {
        if !loc.is_null() {
            // SAFETY: `self.b` is the live builder of the trace module and
            // `loc` a non-null `DILocation` of its context (yk-llvm rule 2).
            unsafe { LLVMSetCurrentDebugLocation2(self.b.0, loc) };
        }
    }

    fn llty(&self, ty: Ty) -> LLVMTypeRef {
        let m = self.cx.t;
        // SAFETY: `m.ctx` is the live context of the trace module (yk-llvm rule
        // 1).
        unsafe {
            match ty {
                Ty::Int(w) => m.int_ty(w as u32),
                Ty::F32 => LLVMFloatTypeInContext(m.ctx),
                Ty::F64 => LLVMDoubleTypeInContext(m.ctx),
                Ty::Ptr => m.ptr_ty(),
                Ty::Void => m.void_ty(),
            }
        }
    }

    /// A parameter's value loaded at the builder's position.
    fn param_value(&self, src: ParamSrc, ty: Ty) -> LLVMValueRef {
        // SAFETY: the builder is positioned in the trace function; `self.vars`
        // and `self.buf` are its pointer parameters, and the loads are made in
        // the trace module's context (yk-llvm rule 2).
        unsafe {
            match src {
                ParamSrc::Vars => self.vars,
                ParamSrc::Field(k) => {
                    LLVMBuildLoad2(self.b.0, self.llty(ty), self.field_ptr(k), c"".as_ptr())
                }
                ParamSrc::Slot(s) => {
                    LLVMBuildLoad2(self.b.0, self.llty(ty), self.buf_slot(s), c"".as_ptr())
                }
            }
        }
    }

    fn field_ptr(&self, k: u32) -> LLVMValueRef {
        // SAFETY: `self.vars` is the trace function's `vars` parameter,
        // `self.cx.vars_ty` the control point's `YkCtrlPointVars` type (a
        // struct, so field `k` is indexed with i32 constants), and the builder
        // is positioned in the trace function (yk-llvm rule 2).
        unsafe {
            let i32t = self.cx.t.int_ty(32);
            let mut idx = [LLVMConstInt(i32t, 0, 0), LLVMConstInt(i32t, k as u64, 0)];
            LLVMBuildInBoundsGEP2(
                self.b.0,
                self.cx.vars_ty,
                self.vars,
                idx.as_mut_ptr(),
                2,
                c"".as_ptr(),
            )
        }
    }

    fn buf_slot(&self, slot: u32) -> LLVMValueRef {
        // SAFETY: `self.buf` is the trace function's pointer parameter `buf`,
        // and the builder is positioned in the trace function (yk-llvm rule 2).
        unsafe {
            let i64t = self.cx.t.int_ty(64);
            let mut ix = [LLVMConstInt(i64t, slot as u64, 0)];
            LLVMBuildGEP2(self.b.0, i64t, self.buf, ix.as_mut_ptr(), 1, c"".as_ptr())
        }
    }

    /// Ends the current block: to `reload` (the loop's re-entry) if outcome
    /// `r` is `REENTER`, else to `other`.
    fn reenter_or(&self, r: LLVMValueRef, reload: LLVMBasicBlockRef, other: LLVMBasicBlockRef) {
        // SAFETY: `r` is an `i64` outcome built in the trace function, `reload`
        // and `other` are its live blocks, and the builder is positioned in it
        // (yk-llvm rule 2).
        unsafe {
            let again = LLVMBuildICmp(
                self.b.0,
                llvm_sys::LLVMIntPredicate::LLVMIntEQ,
                r,
                self.cx.t.const_int(64, crate::guard::outcome::REENTER),
                c"".as_ptr(),
            );
            LLVMBuildCondBr(self.b.0, again, reload, other);
        }
    }

    /// Adds one to the trace's iteration counter (`TraceInfo::counters[0]`)
    /// and returns the new count.
    fn count_iteration(&self) -> LLVMValueRef {
        // SAFETY: `self.info` is the trace function's pointer parameter `info`
        // (a `TraceInfo`, at whose `counters` offset is the counters' pointer),
        // and the builder is positioned in the trace function (yk-llvm rule 2).
        unsafe {
            let t = self.cx.t;
            let i64t = t.int_ty(64);
            let mut ix = [t.const_int(
                64,
                std::mem::offset_of!(crate::guard::TraceInfo, counters) as u64,
            )];
            let pp = LLVMBuildGEP2(
                self.b.0,
                t.int_ty(8),
                self.info,
                ix.as_mut_ptr(),
                1,
                c"".as_ptr(),
            );
            let p = LLVMBuildLoad2(self.b.0, t.ptr_ty(), pp, c"".as_ptr());
            let n = LLVMBuildLoad2(self.b.0, i64t, p, c"".as_ptr());
            monotonic(n);
            let n = LLVMBuildAdd(self.b.0, n, t.const_int(64, 1), c"".as_ptr());
            monotonic(LLVMBuildStore(self.b.0, n, p));
            n
        }
    }

    /// The outcome of reaching a control point whose location is `loc`:
    /// `REENTER` at the start location, the location's address (a jump)
    /// at another, `RESUME` without one.
    fn outcome(&self, loc: Option<LLVMValueRef>) -> LLVMValueRef {
        use crate::guard::outcome::{JUMP_MIN, REENTER, RESUME};
        let t = self.cx.t;
        // SAFETY: `loc` is a pointer value of the trace function, and the
        // builder is positioned in it (yk-llvm rule 2).
        unsafe {
            let Some(loc) = loc else {
                return t.const_int(64, RESUME);
            };
            let i64t = t.int_ty(64);
            let addr = LLVMBuildPtrToInt(self.b.0, loc, i64t, c"".as_ptr());
            let own = LLVMBuildICmp(
                self.b.0,
                llvm_sys::LLVMIntPredicate::LLVMIntEQ,
                addr,
                t.const_int(64, self.cx.start_loc as u64),
                c"".as_ptr(),
            );
            let small = LLVMBuildICmp(
                self.b.0,
                llvm_sys::LLVMIntPredicate::LLVMIntULT,
                addr,
                t.const_int(64, JUMP_MIN),
                c"".as_ptr(),
            );
            let other =
                LLVMBuildSelect(self.b.0, small, t.const_int(64, RESUME), addr, c"".as_ptr());
            LLVMBuildSelect(self.b.0, own, t.const_int(64, REENTER), other, c"".as_ptr())
        }
    }

    /// The LLVM value of operand `o`.
    fn op(&mut self, o: Operand) -> Result<LLVMValueRef, Abort> {
        let m = self.cx.t;
        // SAFETY: constants are made in `m`'s live context with the types the
        // trace IR gives them (yk-llvm rule 2).
        unsafe {
            Ok(match o {
                Operand::Val(v) => self.vals[v.idx()]
                    .ok_or_else(|| Abort::internal(format!("trace IR: %{} has no value", v.0)))?,
                Operand::Const(c) => match c {
                    Const::Int { width, bits } => LLVMConstInt(m.int_ty(width as u32), bits, 0),
                    Const::F32(b) => {
                        LLVMConstReal(LLVMFloatTypeInContext(m.ctx), f32::from_bits(b) as f64)
                    }
                    Const::F64(b) => {
                        LLVMConstReal(LLVMDoubleTypeInContext(m.ctx), f64::from_bits(b))
                    }
                    Const::Ptr(0) => LLVMConstNull(m.ptr_ty()),
                    Const::Ptr(a) => LLVMConstIntToPtr(m.const_int(64, a), m.ptr_ty()),
                    Const::Sym(s) => self.symbol(s)?,
                },
            })
        }
    }

    /// The trace module's declaration of AOT symbol `s`.
    fn symbol(&mut self, s: Sym) -> Result<LLVMValueRef, Abort> {
        if let Some(&d) = self.syms.get(&s) {
            return Ok(d);
        }
        let t = self.cx.t;
        // SAFETY: `v` is a live function or global of the embedded module,
        // which shares the trace module's context (yk-llvm rule 2), so its
        // value type can type a declaration in `t`; a global's initializer is
        // copied only when it is a constant that refers to no global
        // (`refers_to_globals`), so `t` gets no reference into the embedded
        // module.
        let d = unsafe {
            match s {
                Sym::Func(n) => {
                    let v = *self
                        .cx
                        .funcs
                        .get(n as usize)
                        .ok_or_else(|| Abort::internal("function index out of range"))?;
                    let vty = LLVMGlobalGetValueType(v);
                    let aname = llvm::name(v);
                    if aname.starts_with("llvm.") {
                        t.get_or_declare(&aname, vty)
                    } else {
                        let name = format!("__yk_aot_f{n}");
                        let d = t.get_or_declare(&name, vty);
                        copy_attributes(v, d);
                        self.used_funcs.push((name, n as usize));
                        d
                    }
                }
                Sym::Global(n) => {
                    let v = *self
                        .cx
                        .globals
                        .get(n as usize)
                        .ok_or_else(|| Abort::internal("global index out of range"))?;
                    let vty = LLVMGlobalGetValueType(v);
                    let name = format!("__yk_aot_g{n}");
                    let cn = CString::new(name.clone()).unwrap();
                    let d = LLVMAddGlobal(t.m, vty, cn.as_ptr());
                    let init = LLVMGetInitializer(v);
                    if LLVMIsGlobalConstant(v) != 0
                        && !init.is_null()
                        && !super::super::builder::refers_to_globals(init)
                    {
                        LLVMSetInitializer(d, init);
                        LLVMSetGlobalConstant(d, 1);
                        LLVMSetLinkage(d, LLVMLinkage::LLVMAvailableExternallyLinkage);
                    }
                    self.used_globals.push((name, n as usize));
                    d
                }
            }
        };
        self.syms.insert(s, d);
        Ok(d)
    }

    /// Lowers one instruction (not a guard or alloca); returns its value.
    fn inst(&mut self, t: &tir::Trace, inst: &Inst) -> Result<Option<LLVMValueRef>, Abort> {
        let b = self.b.0;
        let n = c"".as_ptr();
        let opty = |l: &Self, o: Operand| match o {
            Operand::Val(v) => t.val_ty(v),
            Operand::Const(c) => {
                let _ = l;
                c.ty()
            }
        };
        // SAFETY: the builder is positioned in the trace function, and every
        // operand is a value of it or a constant of its context (yk-llvm rule
        // 2), typed as the trace IR says (`tr.verify()` checked the types; the
        // module is verified before it is compiled); a direct call's type is
        // its declaration's.
        unsafe {
            Ok(Some(match inst {
                Inst::Load { ty, ptr, flags } => {
                    let p = self.op(*ptr)?;
                    let x = LLVMBuildLoad2(b, self.llty(*ty), p, n);
                    LLVMSetAlignment(x, 1);
                    if flags.volatile {
                        LLVMSetVolatile(x, 1);
                    }
                    x
                }
                Inst::Store { val, ptr, volatile } => {
                    let v = self.op(*val)?;
                    let p = self.op(*ptr)?;
                    let s = LLVMBuildStore(b, v, p);
                    LLVMSetAlignment(s, 1);
                    if *volatile {
                        LLVMSetVolatile(s, 1);
                    }
                    return Ok(None);
                }
                Inst::PtrAdd { ptr, off } => {
                    let p = self.op(*ptr)?;
                    let mut ix = [self.cx.t.const_int(64, *off as u64)];
                    LLVMBuildGEP2(b, self.cx.t.int_ty(8), p, ix.as_mut_ptr(), 1, n)
                }
                Inst::DynPtrAdd {
                    ptr,
                    idx,
                    scale,
                    off,
                } => {
                    let m = self.cx.t;
                    let p = self.op(*ptr)?;
                    let ity = opty(self, *idx);
                    let mut x = self.op(*idx)?;
                    if ity.bits() < 64 {
                        x = LLVMBuildSExt(b, x, m.int_ty(64), n);
                    }
                    let x = LLVMBuildMul(b, x, m.const_int(64, *scale as u64), n);
                    let mut ix = [x];
                    let mut q = LLVMBuildGEP2(b, m.int_ty(8), p, ix.as_mut_ptr(), 1, n);
                    if *off != 0 {
                        let mut ix = [m.const_int(64, *off as u64)];
                        q = LLVMBuildGEP2(b, m.int_ty(8), q, ix.as_mut_ptr(), 1, n);
                    }
                    q
                }
                Inst::Bin { op, lhs, rhs, .. } => {
                    let (x, y) = (self.op(*lhs)?, self.op(*rhs)?);
                    LLVMBuildBinOp(b, llvm_bin(*op), x, y, n)
                }
                Inst::ICmp { pred, lhs, rhs } => {
                    let (x, y) = (self.op(*lhs)?, self.op(*rhs)?);
                    LLVMBuildICmp(b, llvm_ipred(*pred), x, y, n)
                }
                Inst::FCmp { pred, lhs, rhs } => {
                    let (x, y) = (self.op(*lhs)?, self.op(*rhs)?);
                    LLVMBuildFCmp(b, llvm_fpred(*pred), x, y, n)
                }
                Inst::Cast { op, val, to } => {
                    let x = self.op(*val)?;
                    LLVMBuildCast(b, llvm_cast(*op), x, self.llty(*to), n)
                }
                Inst::Select {
                    cond, t: x, f: y, ..
                } => {
                    let c = self.op(*cond)?;
                    let (x, y) = (self.op(*x)?, self.op(*y)?);
                    LLVMBuildSelect(b, c, x, y, n)
                }
                Inst::Call {
                    callee, args, ret, ..
                } => {
                    let f = self.op(*callee)?;
                    let mut xs = Vec::with_capacity(args.len());
                    let mut tys = Vec::with_capacity(args.len());
                    for a in args {
                        let ty = opty(self, *a);
                        xs.push(self.op(*a)?);
                        tys.push(self.llty(ty));
                    }
                    let fty = match callee {
                        Operand::Const(Const::Sym(Sym::Func(_))) => LLVMGlobalGetValueType(f),
                        _ => {
                            LLVMFunctionType(self.llty(*ret), tys.as_mut_ptr(), tys.len() as u32, 0)
                        }
                    };
                    let c = LLVMBuildCall2(b, fty, f, xs.as_mut_ptr(), xs.len() as u32, n);
                    if *ret == Ty::Void {
                        return Ok(None);
                    }
                    c
                }
                Inst::Guard { .. } | Inst::Alloca { .. } => {
                    return Err(Abort::internal("trace IR: lowered out of order"))
                }
            }))
        }
    }
}

#[cfg(test)]
#[path = "lower_tests.rs"]
mod tests;
