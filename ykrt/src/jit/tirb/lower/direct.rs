//! The direct jump of a root trace (see `crate::compile::DirectEntry`), at
//! the end of a linear trace and after a guard exit whose side trace or
//! blackhole run ended at another location: when that location has a trace
//! of the current flush generation with a direct entry, the JIT is on and
//! no thread records (so this one doesn't: a blackhole run may have started
//! a side trace's recording, which goes on in the interpreter), the trace
//! enters it by a tail call (`musttail`: every trace function has the same
//! signature, so the stack does not grow however long traces keep jumping
//! to each other) instead of returning the jump to
//! `MT::control_point_raw`. Side traces don't: one is called from its
//! parent's guard exit, whose frame a tail call would leave below.
//! Otherwise, and on every [`RENEW_EVERY`]th entry of the jumping trace (so that a thread that keeps jumping between
//! traces still passes the runtime now and then, which renews its
//! `reclaim` entry), it returns the jump as before.

use super::L;
use crate::jit::builder::DirectJump;
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::LLVMIntPredicate::{LLVMIntEQ, LLVMIntNE, LLVMIntUGE};
use llvm_sys::{LLVMAtomicOrdering, LLVMAtomicRMWBinOp, LLVMTailCallKind};

/// A trace's entries whose count (`TraceInfo::counters[0]`) is a multiple
/// of this jump through the runtime instead. A power of two.
pub const RENEW_EVERY: u64 = 256;

impl L<'_> {
    /// Where a root trace leaves with outcome `r` (a jump, or another
    /// outcome, which it returns as it is), its count of entries (a loop's:
    /// of iterations) being `n`: emits the direct jump, leaving the builder
    /// in a block that goes on to return `r` (reached when the jump is not
    /// made).
    pub(super) fn direct_jump(
        &self,
        d: DirectJump,
        r: LLVMValueRef,
        n: LLVMValueRef,
        new_block: &dyn Fn(&str) -> LLVMBasicBlockRef,
    ) {
        use crate::compile::DirectEntry;
        use crate::location::Installed;
        use std::mem::offset_of;
        let t = self.cx.t;
        let b = self.b.0;
        // SAFETY: building instructions into the trace function; the
        // addresses are the runtime's, alive while the trace is.
        unsafe {
            let i64t = t.int_ty(64);
            let i8t = t.int_ty(8);
            let ptr = t.ptr_ty();
            let (try_b, check_b, enter_b, ret_b) = (
                new_block("direct_try"),
                new_block("direct_check"),
                new_block("direct_enter"),
                new_block("jump_ret"),
            );
            // A jump at all, and not this entry's turn to pass the runtime?
            let jump = LLVMBuildICmp(
                b,
                LLVMIntUGE,
                r,
                t.const_int(64, crate::guard::outcome::JUMP_MIN),
                c"".as_ptr(),
            );
            let low = LLVMBuildAnd(b, n, t.const_int(64, RENEW_EVERY - 1), c"".as_ptr());
            let turn = LLVMBuildICmp(b, LLVMIntNE, low, t.const_int(64, 0), c"".as_ptr());
            let go = LLVMBuildAnd(b, jump, turn, c"".as_ptr());
            LLVMBuildCondBr(b, go, try_b, ret_b);

            // The location's word: an installed trace (tag 00, not null)?
            LLVMPositionBuilderAtEnd(b, try_b);
            let locp = LLVMBuildIntToPtr(b, r, ptr, c"".as_ptr());
            let word = LLVMBuildLoad2(b, i64t, locp, c"".as_ptr());
            acquire(word);
            let tag = LLVMBuildAnd(b, word, t.const_int(64, 3), c"".as_ptr());
            let boxed = LLVMBuildICmp(b, LLVMIntEQ, tag, t.const_int(64, 0), c"".as_ptr());
            let some = LLVMBuildICmp(b, LLVMIntNE, word, t.const_int(64, 0), c"".as_ptr());
            let ok = LLVMBuildAnd(b, boxed, some, c"".as_ptr());
            LLVMBuildCondBr(b, ok, check_b, ret_b);

            // Its generation current, the JIT on, a direct entry?
            LLVMPositionBuilderAtEnd(b, check_b);
            let inst = LLVMBuildIntToPtr(b, word, ptr, c"".as_ptr());
            let field = |off: usize| {
                let mut ix = [t.const_int(64, off as u64)];
                LLVMBuildGEP2(b, i8t, inst, ix.as_mut_ptr(), 1, c"".as_ptr())
            };
            let gen = LLVMBuildLoad2(
                b,
                i64t,
                field(offset_of!(Installed, generation)),
                c"".as_ptr(),
            );
            let cur = LLVMBuildLoad2(b, i64t, self.addr(d.generation), c"".as_ptr());
            acquire(cur);
            let en = LLVMBuildLoad2(b, i8t, self.addr(d.enabled), c"".as_ptr());
            // (A byte: its alignment stays 1.)
            LLVMSetOrdering(en, LLVMAtomicOrdering::LLVMAtomicOrderingMonotonic);
            let rec = LLVMBuildLoad2(b, i64t, self.addr(d.recording), c"".as_ptr());
            acquire(rec);
            let code_at = offset_of!(Installed, direct) + offset_of!(DirectEntry, code);
            let codep = LLVMBuildLoad2(b, ptr, field(code_at), c"".as_ptr());
            let same = LLVMBuildICmp(b, LLVMIntEQ, gen, cur, c"".as_ptr());
            let on = LLVMBuildICmp(b, LLVMIntNE, en, LLVMConstInt(i8t, 0, 0), c"".as_ptr());
            let has = LLVMBuildIsNotNull(b, codep, c"".as_ptr());
            let idle = LLVMBuildICmp(b, LLVMIntEQ, rec, t.const_int(64, 0), c"".as_ptr());
            let ok = LLVMBuildAnd(b, same, on, c"".as_ptr());
            let ok = LLVMBuildAnd(b, ok, has, c"".as_ptr());
            let ok = LLVMBuildAnd(b, ok, idle, c"".as_ptr());
            LLVMBuildCondBr(b, ok, enter_b, ret_b);

            // Count it; enter: the code's current address, the trace's info.
            LLVMPositionBuilderAtEnd(b, enter_b);
            LLVMBuildAtomicRMW(
                b,
                LLVMAtomicRMWBinOp::LLVMAtomicRMWBinOpAdd,
                self.addr(d.counter),
                t.const_int(64, 1),
                LLVMAtomicOrdering::LLVMAtomicOrderingMonotonic,
                0,
            );
            let code = LLVMBuildLoad2(b, i64t, codep, c"".as_ptr());
            acquire(code);
            let code = LLVMBuildIntToPtr(b, code, ptr, c"".as_ptr());
            let info_at = offset_of!(Installed, direct) + offset_of!(DirectEntry, info);
            let info = LLVMBuildLoad2(b, ptr, field(info_at), c"".as_ptr());
            if d.log_entries {
                let mut ps = [ptr, ptr];
                let lty = LLVMFunctionType(t.void_ty(), ps.as_mut_ptr(), 2, 0);
                let logf = self.addr(crate::deopt::log_direct_entry as *const () as usize);
                let mut largs = [self.info, locp];
                LLVMBuildCall2(b, lty, logf, largs.as_mut_ptr(), 2, c"".as_ptr());
            }
            let fty = LLVMGlobalGetValueType(self.cx.trace_fn);
            let mut args = [self.vars, info, self.buf];
            let call = LLVMBuildCall2(b, fty, code, args.as_mut_ptr(), 3, c"".as_ptr());
            LLVMSetTailCallKind(call, LLVMTailCallKind::LLVMTailCallKindMustTail);
            LLVMBuildRet(b, call);

            LLVMPositionBuilderAtEnd(b, ret_b);
        }
    }

    /// A runtime address as a pointer constant.
    fn addr(&self, a: usize) -> LLVMValueRef {
        let t = self.cx.t;
        // SAFETY: a constant expression in the trace's context.
        unsafe { LLVMConstIntToPtr(t.const_int(64, a as u64), t.ptr_ty()) }
    }
}

/// Makes load `v` of an 8-byte runtime word an acquire load.
fn acquire(v: LLVMValueRef) {
    super::atomic_word(v, LLVMAtomicOrdering::LLVMAtomicOrderingAcquire);
}
