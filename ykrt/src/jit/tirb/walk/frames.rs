//! The frame stack: which recorded block comes next, and calls.
//!
//! Owns following the recording across functions: the next recorded block
//! of the top frame ([`W::next_block`]), whether the recording enters a
//! callee ([`W::enters`]), calls ([`W::call`]: inlined as a new frame when
//! the recording enters the callee, else a native call), promotions and
//! idempotent calls (the recorded values, consumed in order), intrinsics,
//! and the frames a side trace starts in ([`W::side_frames`]).
//! Invariants:
//!
//! - frame 0 is the control point's function; a frame above it is a call
//!   the recording entered, inlined: its arguments mapped, its `ret` value
//!   mapped to the call in the frame below;
//! - a callee is inlined only if it has IR and is not `yk_outline`,
//!   idempotent, varargs, an intrinsic, the control point's function,
//!   already [`MAX_RECURSION`] times on the stack, or beyond
//!   [`MAX_DEPTH`] frames; a call through a pointer is inlined behind a
//!   guard on the pointer;
//! - after a native call of a frame (`native_pending`), recorded blocks of
//!   other functions (callbacks the native code made) are skipped until the
//!   frame's own next block; the frame's own entry block among them means
//!   the native call re-entered it, which aborts the recording;
//! - `yk_disjoint(p, class)` is `p`, whose base gets the alias class;
//! - each `yk_promote` and each idempotent call with a result consumes the
//!   next recorded value: a promotion becomes a guard and the constant, an
//!   idempotent call with constant arguments its recorded result.

use super::super::super::builder::{callee_name, GuardSrc, MAX_DEPTH, MAX_RECURSION, PROMOTE};
use super::{const_from_bits, no_form, ty_of, Frame, W};
use crate::abort::Abort;
use crate::guard::LiveSrc;
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::LLVMTypeKind;
use rustc_hash::FxHashMap as HashMap;
use tir::{Const, Effects, IPred, Inst, Operand, Sym, Ty};
use yk_llvm as llvm;

impl W<'_, '_> {
    /// Pushes the frames of the guard a side trace starts from.
    pub(super) fn side_frames(
        &mut self,
        src: &GuardSrc,
        map: HashMap<LLVMValueRef, Operand>,
        slots: &mut HashMap<LLVMValueRef, usize>,
        root_at: LLVMMetadataRef,
    ) -> Result<(), Abort> {
        let mut map0 = Some(map);
        let mut dbg_at = root_at;
        for sf in src.iter() {
            let mut map = map0.take().unwrap_or_default();
            for &(v, s) in &sf.live {
                let o = match s {
                    // SAFETY: `v` is a live value of the parent trace's guard
                    // frame, in the embedded module of this generation (side
                    // traces are built in their parent's: yk-llvm rule 2).
                    LiveSrc::Const(k) => const_from_bits(ty_of(unsafe { LLVMTypeOf(v) })?, k)?,
                    LiveSrc::Slot(_) | LiveSrc::SlotPlus(..) | LiveSrc::Field { .. } => {
                        let p = slots
                            .remove(&v)
                            .ok_or_else(|| Abort::internal("a side trace input without a slot"))?;
                        let x = self.tb.param(p);
                        match s {
                            // The slot (or field) holds a base pointer: add
                            // the offset.
                            LiveSrc::SlotPlus(_, off) | LiveSrc::Field { add: off, .. }
                                if off != 0 =>
                            {
                                self.value(Inst::PtrAdd { ptr: x, off })?
                            }
                            _ => x,
                        }
                    }
                };
                map.insert(v, o);
            }
            if let (Some(d), Some(call)) = (&mut self.dbg, sf.call) {
                dbg_at = d.loc_of(call, dbg_at);
            }
            self.frames.push(Frame {
                f: sf.f,
                fidx: sf.fidx,
                map,
                call: sf.call,
                // SAFETY: `sf.resume` is a live instruction of the embedded
                // module (the guard's frames refer to their generation's
                // module, which is this one: yk-llvm rule 2), so it has a
                // parent block.
                block: unsafe { LLVMGetInstructionParent(sf.resume) },
                prev: None,
                resume: None,
                native_pending: false,
                dbg_at,
            });
        }
        let n = self.frames.len();
        for (k, sf) in src.iter().enumerate() {
            self.frames[k].resume = Some(if k + 1 < n {
                // SAFETY: frame `k + 1` is an inlined frame, whose `call` is a
                // live call instruction of the embedded module (yk-llvm rule
                // 2); a call is not a terminator, so an instruction follows it.
                unsafe { LLVMGetNextInstruction(self.frames[k + 1].call.unwrap()) }
            } else {
                sf.resume
            });
        }
        Ok(())
    }

    /// Has the recording ended (only blocks of native calls remain)?
    pub(super) fn at_end(&self) -> bool {
        let fr = &self.frames[0];
        if !fr.native_pending {
            return self.pos == self.rec.len();
        }
        self.rec[self.pos..].iter().all(|e| e.0 != fr.fidx)
    }

    /// The top frame's next recorded block, skipping the blocks of native
    /// calls made since its last one.
    pub(super) fn next_block(&mut self) -> Result<LLVMBasicBlockRef, Abort> {
        let fr = self.frames.last_mut().unwrap();
        loop {
            let &(fx, bx) = self
                .rec
                .get(self.pos)
                .ok_or_else(|| Abort::recording("the recording ends in the middle of the path"))?;
            self.pos += 1;
            if fx == fr.fidx {
                if bx == 0 && fr.native_pending {
                    return Err(Abort::recording(format!(
                        "a native call re-entered {}",
                        llvm::name(fr.f)
                    )));
                }
                fr.native_pending = false;
                return self
                    .an
                    .block(fr.f, fx as usize, bx as usize)
                    .ok_or_else(|| Abort::recording("block index out of range"));
            }
            if !fr.native_pending {
                return Err(Abort::recording(
                    "the recording does not follow the control-flow graph",
                ));
            }
        }
    }

    /// If the recording enters function `want` (or, with `None`, any
    /// function) next, consumes its entry block and returns its index.
    pub(super) fn enters(&mut self, want: Option<u32>) -> Option<u32> {
        let fr = self.frames.last().unwrap();
        let mut p = self.pos;
        while let Some(&(fx, bx)) = self.rec.get(p) {
            if bx == 0 && want.is_none_or(|w| w == fx) {
                self.pos = p + 1;
                return Some(fx);
            }
            if !fr.native_pending || fx == fr.fidx || want.is_none() {
                return None;
            }
            p += 1;
        }
        None
    }

    /// Translates a call. Returns true if it entered an inlined callee
    /// (whose frame is now on top).
    pub(super) fn call(&mut self, i: LLVMValueRef) -> Result<bool, Abort> {
        let top = self.frames.len() - 1;
        // SAFETY: `i` is a live call instruction of the top frame's function
        // (its opcode was matched in `walk`; yk-llvm rules 2 and 3), so it has
        // a called value and a function type, and a `yk_promote` call has its
        // argument as operand 0; `self.funcs[gi]` is a live function of the
        // embedded module.
        unsafe {
            let name = callee_name(i).ok_or_else(|| Abort::unsupported("inline asm"))?;
            match name.as_str() {
                "setjmp" | "_setjmp" | "__sigsetjmp" | "sigsetjmp" => {
                    return Err(Abort::unsupported(format!("call to {name}")))
                }
                PROMOTE => {
                    let rec = *self.promotes.get(self.next_promote).ok_or_else(|| {
                        Abort::recording("more yk_promote calls than recorded values")
                    })?;
                    self.next_promote += 1;
                    let x = self.operand(LLVMGetOperand(i, 0))?;
                    let k = Operand::Const(Const::int(64, rec));
                    let eq = self.value(Inst::ICmp {
                        pred: IPred::Eq,
                        lhs: x,
                        rhs: k,
                    })?;
                    self.guard(eq, true, i)?;
                    self.map(i, k);
                    return Ok(false);
                }
                // Only for recordings (`crate::trace::entries`): nothing in a trace.
                yk_abi::names::ENTRY_HINT => return Ok(false),
                // `yk_disjoint(p, class)`: `p`, whose object is of alias
                // class `class` (a constant; else no class is learnt).
                yk_abi::names::DISJOINT => {
                    let p = self.operand(LLVMGetOperand(i, 0))?;
                    let class = self.operand(LLVMGetOperand(i, 1))?.as_int();
                    if let Some(c) = class.and_then(|c| u32::try_from(c).ok()) {
                        self.tb.set_class(p, c);
                    }
                    self.map(i, p);
                    return Ok(false);
                }
                // Traces are never fast code.
                yk_abi::names::IS_INTERPRETING | yk_abi::names::IS_FAST_CODE => {
                    let z = const_from_bits(ty_of(LLVMTypeOf(i))?, 0)?;
                    self.map(i, z);
                    return Ok(false);
                }
                _ => {}
            }
            if name.starts_with("llvm.") {
                return self.intrinsic(i, &name).map(|_| false);
            }
            let callee = LLVMGetCalledValue(i);
            let direct = !LLVMIsAFunction(callee).is_null();
            if direct {
                let gi = self.func_idx[&callee];
                let info = self.idx.func(gi as u32);
                if info.is_some_and(|x| x.idempotent) {
                    return self.idempotent_call(i).map(|_| false);
                }
                if self.inlinable(gi) && self.enters(Some(gi as u32)).is_some() {
                    self.push_frame(i, callee, gi)?;
                    return Ok(true);
                }
            } else if !self.frames[top].native_pending {
                let save = self.pos;
                if let Some(gi) = self.enters(None) {
                    let gi = gi as usize;
                    let same_type =
                        LLVMGlobalGetValueType(self.funcs[gi]) == LLVMGetCalledFunctionType(i);
                    if same_type && self.inlinable(gi) {
                        let g = self.funcs[gi];
                        let fp = self.operand(callee)?;
                        let eq = self.value(Inst::ICmp {
                            pred: IPred::Eq,
                            lhs: fp,
                            rhs: Operand::Const(Const::Sym(Sym::Func(gi as u32))),
                        })?;
                        self.guard(eq, true, i)?;
                        self.push_frame(i, g, gi)?;
                        return Ok(true);
                    }
                    self.pos = save;
                }
            }
            let r = self.native_call(i, false)?;
            if let Some(r) = r {
                self.map(i, r);
            }
            self.frames[top].native_pending = true;
        }
        Ok(false)
    }

    /// A call of an intrinsic.
    pub(super) fn intrinsic(&mut self, i: LLVMValueRef, name: &str) -> Result<(), Abort> {
        if name.starts_with("llvm.lifetime.")
            || name.starts_with("llvm.assume")
            || name.starts_with("llvm.dbg.")
            || name.starts_with("llvm.experimental.noalias.scope.decl")
        {
            return Ok(());
        }
        if name.starts_with("llvm.expect.") {
            // SAFETY: `i` is a live call of an `llvm.expect.*` intrinsic, whose
            // operand 0 is the value (yk-llvm rules 2 and 3).
            let v = self.operand(unsafe { LLVMGetOperand(i, 0) })?;
            self.map(i, v);
            return Ok(());
        }
        if let Some(r) = self.native_call(i, false)? {
            self.map(i, r);
        }
        Ok(())
    }

    /// A native (not inlined) call; `idempotent` if its result depends
    /// only on its arguments.
    pub(super) fn native_call(
        &mut self,
        i: LLVMValueRef,
        idempotent: bool,
    ) -> Result<Option<Operand>, Abort> {
        // SAFETY: `i` is a live call instruction of the embedded module
        // (yk-llvm rules 2 and 3), so it has a called value and a function
        // type; `ps` has room for the `n` parameter types just counted;
        // argument operands are read below `nargs`, and `callee` is used as a
        // function only when `LLVMIsAFunction` says so.
        unsafe {
            let fty = LLVMGetCalledFunctionType(i);
            let ret = ty_of(LLVMTypeOf(i))?;
            let callee = LLVMGetCalledValue(i);
            let direct = !LLVMIsAFunction(callee).is_null();
            if !direct {
                // The lowering rebuilds an indirect call's type from its
                // operands: no varargs, and no argument the ABI extends.
                if LLVMIsFunctionVarArg(fty) != 0 {
                    return Err(no_form("an indirect varargs call"));
                }
                let narrow = |t: LLVMTypeRef| {
                    LLVMGetTypeKind(t) == LLVMTypeKind::LLVMIntegerTypeKind
                        && LLVMGetIntTypeWidth(t) < 32
                };
                let n = LLVMCountParamTypes(fty) as usize;
                let mut ps = vec![std::ptr::null_mut(); n];
                LLVMGetParamTypes(fty, ps.as_mut_ptr());
                if narrow(LLVMGetReturnType(fty)) || ps.into_iter().any(narrow) {
                    return Err(no_form(
                        "an indirect call with a narrow integer argument or result",
                    ));
                }
            }
            let nargs = LLVMGetNumArgOperands(i);
            let mut args = Vec::with_capacity(nargs as usize);
            for k in 0..nargs {
                ty_of(LLVMTypeOf(LLVMGetOperand(i, k)))?;
                args.push(self.operand(LLVMGetOperand(i, k))?);
            }
            if direct && LLVMGlobalGetValueType(callee) != fty {
                return Err(no_form(
                    "a call through a prototype that differs from the callee's",
                ));
            }
            let effects = if direct {
                effects_of(callee)
            } else {
                Effects::Any
            };
            let callee = self.operand(callee)?;
            self.append(Inst::Call {
                callee,
                args,
                ret,
                effects: if idempotent && effects == Effects::Any {
                    Effects::ReadOnly
                } else {
                    effects
                },
                idempotent,
            })
        }
    }

    /// Can function `gi` be inlined at the current depth?
    pub(super) fn inlinable(&self, gi: usize) -> bool {
        let Some(info) = self.idx.func(gi as u32) else {
            return false;
        };
        let g = self.funcs[gi];
        let rec = self.frames.iter().filter(|fr| fr.f == g).count();
        g != self.frames[0].f
            && !info.is_decl
            && !info.is_intrinsic
            && !info.is_varargs
            && !info.outline
            && !info.idempotent
            && self.frames.len() < MAX_DEPTH
            && rec < MAX_RECURSION
    }

    pub(super) fn push_frame(
        &mut self,
        call: LLVMValueRef,
        g: LLVMValueRef,
        gi: usize,
    ) -> Result<(), Abort> {
        super::super::super::lazy::materialize(g).map_err(Abort::internal)?;
        let parent_at = self.frames.last().unwrap().dbg_at;
        let dbg_at = match &mut self.dbg {
            Some(d) => d.loc_of(call, parent_at),
            None => std::ptr::null_mut(),
        };
        let mut map = HashMap::default();
        // SAFETY: `g` is a live function of the embedded module (yk-llvm rule
        // 2), materialized just above, and `call` a live call of it.
        if unsafe { LLVMGetNumArgOperands(call) < LLVMCountParams(g) } {
            // (A C call through a prototype with fewer arguments.)
            return Err(Abort::unsupported(
                "a call passes fewer arguments than its callee takes",
            ));
        }
        // SAFETY: as above; `call` has at least `g`'s parameter count of
        // argument operands (checked just above).
        unsafe {
            for k in 0..LLVMCountParams(g) {
                let a = self.operand(LLVMGetOperand(call, k))?;
                map.insert(LLVMGetParam(g, k), a);
            }
        }
        self.frames.push(Frame {
            f: g,
            fidx: gi as u32,
            map,
            call: Some(call),
            // SAFETY: `g` is a live function of the embedded module,
            // materialized above and not a declaration (`inlinable`), so it has
            // an entry block (yk-llvm rules 2 and 3).
            block: unsafe { LLVMGetEntryBasicBlock(g) },
            prev: None,
            resume: None,
            native_pending: false,
            dbg_at,
        });
        Ok(())
    }

    /// A call of an idempotent function: with constant arguments, its
    /// recorded result; otherwise a native call.
    pub(super) fn idempotent_call(&mut self, i: LLVMValueRef) -> Result<(), Abort> {
        let top = self.frames.len() - 1;
        // SAFETY: `i` is a live call instruction of the embedded module
        // (yk-llvm rules 2 and 3); argument operands are read below `nargs`.
        unsafe {
            let ty = ty_of(LLVMTypeOf(i))?;
            let rec = if ty != Ty::Void {
                let r = *self.idempotents.get(self.next_idempotent).ok_or_else(|| {
                    Abort::recording("more idempotent calls than recorded results")
                })?;
                self.next_idempotent += 1;
                Some(r)
            } else {
                None
            };
            let nargs = LLVMGetNumArgOperands(i);
            let mut consts = true;
            for k in 0..nargs {
                let a = self.operand(LLVMGetOperand(i, k))?;
                consts &= a.as_const().is_some();
            }
            self.frames[top].native_pending = true;
            if let (true, Some(r)) = (consts, rec) {
                let k = const_from_bits(ty, r)?;
                self.map(i, k);
                return Ok(());
            }
            if let Some(r) = self.native_call(i, true)? {
                self.map(i, r);
            }
        }
        Ok(())
    }
}

/// What a call of function `f` may do to memory, from its attributes.
pub(super) fn effects_of(f: LLVMValueRef) -> Effects {
    // SAFETY: `f` is a live function of the embedded module (yk-llvm rule 2);
    // the attribute name is passed with its length (6 bytes), and the
    // attribute's value is read only once it is non-null.
    unsafe {
        let kind = LLVMGetEnumAttributeKindForName(c"memory".as_ptr(), 6);
        let a = LLVMGetEnumAttributeAtIndex(f, llvm_sys::LLVMAttributeFunctionIndex, kind);
        if a.is_null() {
            return Effects::Any;
        }
        // MemoryEffects: two bits (ref = 1, mod = 2) per kind of location.
        let bits = LLVMGetEnumAttributeValue(a);
        if bits == 0 {
            Effects::Pure
        } else if bits & 0xAAAA_AAAA_AAAA_AAAA == 0 {
            Effects::ReadOnly
        } else {
            Effects::Any
        }
    }
}
