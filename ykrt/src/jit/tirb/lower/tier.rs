//! The tier check at a root trace's loop head (see `jit::tier`): every
//! `TIER_CHECK_ITERS` iterations the trace asks `__yk_tier_check` whether
//! its code was replaced and, if so, writes its loop state back to the vars
//! and leaves with `RESUME`.

use super::L;
use llvm_sys::core::*;
use llvm_sys::prelude::*;

/// Emits the tier check at the loop head of a root trace (the builder is
/// after the iteration count `n`; `phis` are the head's phis; `stores` the
/// layout's, `(vars field, parameter)`, what the check writes back before it
/// leaves). Leaves the builder where the loop body goes on.
pub(super) fn emit(
    l: &L,
    stores: &[(u32, u32)],
    phis: &[LLVMValueRef],
    n: LLVMValueRef,
    leave: (LLVMBasicBlockRef, LLVMValueRef),
    new_block: &dyn Fn(&str) -> LLVMBasicBlockRef,
) {
    let stores: Vec<(u32, LLVMValueRef)> = stores
        .iter()
        .map(|&(fk, k)| (fk, phis[k as usize]))
        .collect();
    let blocks = (
        new_block("tier_check"),
        new_block("tier_switch"),
        new_block("body"),
    );
    l.tier_check(n, &stores, blocks, leave);
}

impl L<'_> {
    /// At a root trace's loop head, after counting iteration `n`: every
    /// `TIER_CHECK_ITERS` iterations, ask the runtime (`__yk_tier_check`)
    /// whether this code is still the trace's; if not (it was recompiled),
    /// write the loop's state (`stores`: vars field, value) back to the
    /// vars and leave with `RESUME`, so that the interpreter enters the new
    /// code at its next control point. Leaves the builder in `body`.
    fn tier_check(
        &self,
        n: LLVMValueRef,
        stores: &[(u32, LLVMValueRef)],
        (check, switch, body): (LLVMBasicBlockRef, LLVMBasicBlockRef, LLVMBasicBlockRef),
        (leave, leave_phi): (LLVMBasicBlockRef, LLVMValueRef),
    ) {
        use llvm_sys::LLVMIntPredicate::{LLVMIntEQ, LLVMIntNE};
        let t = self.cx.t;
        // SAFETY: the builder is positioned in the root trace's loop head and
        // every block, value and declaration here belongs to the live trace
        // module `t` or its context (yk-llvm rule 2); `n` is the `i64`
        // iteration count, the call passes `fty`'s two arguments, and
        // `leave_phi` gets one incoming value for one block.
        unsafe {
            let i64t = t.int_ty(64);
            let low = LLVMBuildAnd(
                self.b.0,
                n,
                t.const_int(64, crate::jit::TIER_CHECK_ITERS - 1),
                c"".as_ptr(),
            );
            let due = LLVMBuildICmp(self.b.0, LLVMIntEQ, low, t.const_int(64, 0), c"".as_ptr());
            LLVMBuildCondBr(self.b.0, due, check, body);
            LLVMPositionBuilderAtEnd(self.b.0, check);
            let mut ps = [t.ptr_ty(), i64t];
            let fty = LLVMFunctionType(i64t, ps.as_mut_ptr(), 2, 0);
            let callee = t.get_or_declare(crate::jit::TIER_CHECK, fty);
            let own = LLVMBuildPtrToInt(self.b.0, self.cx.trace_fn, i64t, c"".as_ptr());
            let mut args = [self.info, own];
            let r = LLVMBuildCall2(self.b.0, fty, callee, args.as_mut_ptr(), 2, c"".as_ptr());
            let moved = LLVMBuildICmp(self.b.0, LLVMIntNE, r, t.const_int(64, 0), c"".as_ptr());
            LLVMBuildCondBr(self.b.0, moved, switch, body);
            LLVMPositionBuilderAtEnd(self.b.0, switch);
            for &(k, v) in stores {
                LLVMBuildStore(self.b.0, v, self.field_ptr(k));
            }
            LLVMBuildBr(self.b.0, leave);
            let mut v = [t.const_int(64, crate::guard::outcome::RESUME)];
            let mut b = [switch];
            LLVMAddIncoming(leave_phi, v.as_mut_ptr(), b.as_mut_ptr(), 1);
            LLVMPositionBuilderAtEnd(self.b.0, body);
        }
    }
}
