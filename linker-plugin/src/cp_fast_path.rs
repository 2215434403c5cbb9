//! The inline fast path of the control point, in the running binary only.
//!
//! After the control-point transform every dispatch stores all live values
//! into `YkCtrlPointVars`, calls `__ykrt_control_point` and reloads them. For
//! a location that is null or "don't trace" (the state every location of a
//! `YK_JITC=none` run ends in after its first visit, docs/abi.md) the runtime
//! does nothing at all, so that work is pure cost. This pass, run after the
//! embedded IR was taken (the trace builder never sees it), turns
//!
//! ```text
//! head:    ...; store v_k -> vars.k ...; r = call __ykrt_control_point(mt, loc, vars, i)
//!          br (r == 0), yk_cp_resume, yk_cp_return
//! yk_cp_resume: ...; v'_k = load vars.k ...
//! ```
//!
//! into
//!
//! ```text
//! head:    ...; br (loc == null), yk_cp_resume, yk_cp_check
//! yk_cp_check: w = load atomic monotonic loc
//!          br (w == 0 || w == DONT_TRACE), yk_cp_resume, yk_cp_slow
//! yk_cp_slow: store v_k -> vars.k ...; r = call ...; v''_k = load vars.k ...
//!          br (r == 0), yk_cp_resume, yk_cp_return
//! yk_cp_resume: v'_k = phi [v_k, head], [v_k, yk_cp_check], [v''_k, yk_cp_slow]; ...
//! ```
//!
//! so the skipped control point costs a null test, one load and a compare
//! (no null test, and no `yk_cp_check`, when `loc` is seen to be non-null:
//! a stack slot, a global, or a pointer an `llvm.assume` in `head` says is
//! not null, as yklua's location is),
//! and the live values stay in registers. Every other state (counting, tracing, compiled)
//! still reaches the runtime. The software-tracing hooks are untouched: the
//! block hook of `head` and of `yk_cp_resume` record the same indices on
//! all paths, and `yk_cp_check` and `yk_cp_slow` are not blocks of the
//! embedded IR.

use crate::ctrlpoint::RT_CP;
use anyhow::Result;
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::{LLVMAtomicOrdering, LLVMIntPredicate, LLVMLinkage, LLVMOpcode};
use std::collections::BTreeMap;
use yk_llvm::{self as llvm, instrs, successors, Module};

use yk_abi::location::{WORD_DONT_TRACE, WORD_NULL};

/// Adds the fast path to every rewritten control point of `m` whose shape is
/// the one `ctrlpoint::transform` produces. Returns how many got one.
pub fn add(m: &Module) -> Result<usize> {
    let Some(rt) = m.function(RT_CP) else {
        return Ok(0);
    };
    let calls: Vec<LLVMValueRef> = llvm::uses(rt)
        .into_iter()
        .filter(|&(call, _)| llvm::called_function(call) == Some(rt))
        .map(|(call, _)| call)
        .collect();
    add_to(m, &calls)
}

/// Adds the fast path to each of `calls`, control-point calls of the shape
/// `ctrlpoint::transform` produces that may call another function with the
/// runtime's signature (the fast interpreter functions'
/// `__yk_cp_switch.F`, see [`crate::fast`]). Returns how many got one.
pub fn add_to(m: &Module, calls: &[LLVMValueRef]) -> Result<usize> {
    let mut n = 0;
    for &call in calls {
        if let Some(cp) = ControlPoint::find(call) {
            cp.add_fast_path(m);
            n += 1;
        }
    }
    Ok(n)
}

/// A rewritten control point, as `ctrlpoint::transform` leaves it.
struct ControlPoint {
    call: LLVMValueRef,
    /// The icmp `r == 0` and the branch on it.
    cmp: LLVMValueRef,
    br: LLVMValueRef,
    head: LLVMBasicBlockRef,
    resume: LLVMBasicBlockRef,
    vars: LLVMValueRef,
    /// The value stored into each field of `vars` before the call (and the
    /// store and its address).
    stores: BTreeMap<u32, (LLVMValueRef, LLVMValueRef)>,
    /// The reload of each field in `yk_cp_resume`.
    reloads: BTreeMap<u32, LLVMValueRef>,
}

impl ControlPoint {
    /// Recognises the control point around `call`. `None` (no fast path, the
    /// control point stays as it is) for a shape this pass does not know.
    fn find(call: LLVMValueRef) -> Option<ControlPoint> {
        // SAFETY: `call` is a live call of `__ykrt_control_point(mt, loc, vars,
        // idx)` in a block of `m` (see `add` and `fast::clone`), so it has a
        // parent block and operand 2; every other handle read here (its block's
        // terminator, the compare, the successors, the stores and loads around
        // it) is checked for its kind before a kind-specific call and belongs
        // to the same live function (yk-llvm rules 2 and 3).
        unsafe {
            let head = LLVMGetInstructionParent(call);
            let vars = LLVMGetOperand(call, 2);
            if LLVMIsAAllocaInst(vars).is_null() {
                // Not a call the transform made (a Rust interpreter links
                // the runtime's own bitcode, which may call it too).
                return None;
            }
            let br = LLVMGetBasicBlockTerminator(head);
            let succs = successors(head);
            if succs.len() != 2 || LLVMIsConditional(br) == 0 {
                return None;
            }
            let cmp = LLVMGetCondition(br);
            if LLVMIsAICmpInst(cmp).is_null()
                || LLVMGetInstructionParent(cmp) != head
                || LLVMGetOperand(cmp, 0) != call
                || llvm::uses(cmp).len() != 1
            {
                return None;
            }
            let (resume, ret) = (succs[0], succs[1]);
            // Both blocks get a new predecessor in place of `head`: phis
            // there would need their incoming block changed, which the C API
            // can't do. The transform never leaves any.
            for b in [resume, ret] {
                if instrs(b)
                    .first()
                    .is_some_and(|&i| llvm::opcode(i) == LLVMOpcode::LLVMPHI)
                    || preds_are_only(b, head).is_none()
                {
                    return None;
                }
            }
            // The stores into `vars` between the last other use of `vars` in
            // `head` and the call.
            let mut stores = BTreeMap::new();
            for i in instrs(head) {
                if i == call {
                    break;
                }
                if llvm::opcode(i) != LLVMOpcode::LLVMStore {
                    continue;
                }
                let ptr = LLVMGetOperand(i, 1);
                if let Some(k) = llvm::struct_field_of(ptr, vars) {
                    stores.insert(k, (LLVMGetOperand(i, 0), i));
                }
            }
            let mut reloads = BTreeMap::new();
            for i in instrs(resume) {
                if llvm::opcode(i) != LLVMOpcode::LLVMLoad {
                    continue;
                }
                if let Some(k) = llvm::struct_field_of(LLVMGetOperand(i, 0), vars) {
                    if !stores.contains_key(&k) || reloads.insert(k, i).is_some() {
                        return None;
                    }
                }
            }
            // Nothing else in `head` after the first store may touch `vars`
            // or have effects (the stores move past it): only the stores,
            // their field addresses, the call, the compare and the branch.
            let mut after_first_store = false;
            for i in instrs(head) {
                let is_store = stores.values().any(|&(_, s)| s == i);
                after_first_store |= is_store;
                if !after_first_store || is_store || i == call || i == cmp || i == br {
                    continue;
                }
                let is_field_addr = llvm::opcode(i) == LLVMOpcode::LLVMGetElementPtr
                    && llvm::struct_field_of(i, vars).is_some();
                if !is_field_addr {
                    return None;
                }
            }
            Some(ControlPoint {
                call,
                cmp,
                br,
                head,
                resume,
                vars,
                stores,
                reloads,
            })
        }
    }

    fn add_fast_path(&self, m: &Module) {
        // SAFETY: `self` was recognised by `find` just before, so its handles
        // are live instructions and blocks of one function of `m` of the kinds
        // its fields say (yk-llvm rules 2 and 3); the builder and every new
        // block, constant and instruction are made in `m.ctx`; a value is
        // erased only once it has no uses left (the dead reloads, the replaced
        // reloads and phis), and nothing erased is used afterwards.
        unsafe {
            let b = m.builder();
            let f = LLVMGetBasicBlockParent(self.head);
            let slow = LLVMAppendBasicBlockInContext(m.ctx, f, c"yk_cp_slow".as_ptr());
            // Move the stores (with their field addresses when only they use
            // them), the call, the compare and the branch into `slow`, in order.
            LLVMPositionBuilderAtEnd(b.0, slow);
            let mut moving = Vec::new();
            for &(_, st) in self.stores.values() {
                let addr = LLVMGetOperand(st, 1);
                if !LLVMIsAInstruction(addr).is_null()
                    && LLVMGetInstructionParent(addr) == self.head
                    && llvm::uses(addr).len() == 1
                {
                    moving.push(addr);
                }
                moving.push(st);
            }
            moving.push(self.call);
            // The runtime's `mt` argument (e.g. `G(L)->yk_mt`) is only
            // needed on the slow path: its computation moves there too.
            sink_into_slow(LLVMGetOperand(self.call, 0), self.head, &mut moving);
            moving.extend([self.cmp, self.br]);
            for i in instrs(self.head) {
                if moving.contains(&i) {
                    LLVMInstructionRemoveFromParent(i);
                    LLVMInsertIntoBuilder(b.0, i);
                }
            }
            // The reloads, right after the call.
            LLVMPositionBuilderBefore(b.0, self.cmp);
            let mut reloaded = BTreeMap::new();
            for (&k, &old) in &self.reloads {
                let addr = LLVMGetOperand(old, 0);
                let sty = LLVMGetAllocatedType(self.vars);
                let new_addr = LLVMBuildStructGEP2(b.0, sty, self.vars, k, c"".as_ptr());
                let ld = LLVMBuildLoad2(b.0, LLVMTypeOf(old), new_addr, c"".as_ptr());
                LLVMSetAlignment(ld, LLVMGetAlignment(old));
                llvm::set_debug_loc(m, ld, Some(old));
                reloaded.insert(k, (ld, addr));
            }

            // The check in `head`: load the location word (a null location
            // pointer reads a null word instead) and skip the call when the
            // runtime would do nothing.
            LLVMPositionBuilderAtEnd(b.0, self.head);
            let i64t = m.int_ty(64);
            let loc = LLVMGetOperand(self.call, 1);
            // A null location pointer skips the call (the runtime reads a
            // null word for it), with a branch rather than a select of a
            // null word's address: a test and a predicted jump, and the
            // word's load doesn't wait for the test.
            let mut fast_preds = vec![self.head];
            let mut null_test = None;
            if !known_non_null(loc) && !assumed_non_null(loc, self.head) {
                let chk = LLVMInsertBasicBlockInContext(m.ctx, slow, c"yk_cp_check".as_ptr());
                let is_null = LLVMBuildIsNull(b.0, loc, c"".as_ptr());
                let nbr = LLVMBuildCondBr(b.0, is_null, self.resume, chk);
                crate::swt::set_branch_weights(m, nbr, 1, 1 << 10);
                null_test = Some((is_null, nbr));
                LLVMPositionBuilderAtEnd(b.0, chk);
                fast_preds.push(chk);
            }
            let w = LLVMBuildLoad2(b.0, i64t, loc, c"yk_loc_word".as_ptr());
            LLVMSetOrdering(w, LLVMAtomicOrdering::LLVMAtomicOrderingMonotonic);
            LLVMSetAlignment(w, 8);
            let is_null = LLVMBuildICmp(
                b.0,
                LLVMIntPredicate::LLVMIntEQ,
                w,
                LLVMConstInt(i64t, WORD_NULL, 0),
                c"".as_ptr(),
            );
            let dont_trace = LLVMBuildICmp(
                b.0,
                LLVMIntPredicate::LLVMIntEQ,
                w,
                LLVMConstInt(i64t, WORD_DONT_TRACE, 0),
                c"".as_ptr(),
            );
            let skip = LLVMBuildOr(b.0, is_null, dont_trace, c"yk_cp_skip".as_ptr());
            let br = LLVMBuildCondBr(b.0, skip, self.resume, slow);
            // Lay the runtime call out of line: most dispatches of an
            // interpreter pass null (non-loop-header) or don't-trace
            // locations, and the slow path's call dwarfs a taken jump.
            crate::swt::set_branch_weights(m, br, 1 << 10, 1);
            for i in [w, is_null, dont_trace, skip, br] {
                llvm::set_debug_loc(m, i, Some(self.call));
            }
            if let Some((t, nbr)) = null_test {
                llvm::set_debug_loc(m, t, Some(self.call));
                llvm::set_debug_loc(m, nbr, Some(self.call));
            }

            // In `yk_cp_resume`, each reloaded value is the value stored
            // before the call when the call was skipped.
            // (All phis first: the old reloads they replace may be the
            // block's first instructions. Before the first instruction's
            // debug records too: a phi may not carry any.)
            // A value fixed for the whole activation (an argument, a
            // constant, or defined in the entry block, which runs once) is
            // what the runtime hands back too (a trace or the recording
            // continuation runs the same activation): it is used as it is,
            // without a phi. A phi would make it a value of the loop, which
            // the register allocator can neither recompute nor keep in a
            // register across the whole loop (it spills and reloads it).
            let entry = LLVMGetEntryBasicBlock(f);
            let first = LLVMGetFirstInstruction(self.resume);
            let mut phis = Vec::new();
            let mut web_phis = Vec::new();
            for (&k, &old) in &self.reloads {
                if let Some((x, web)) = activation_invariant(self.stores[&k].0, old, entry) {
                    web_phis.extend(web);
                    let (ld, addr) = reloaded[&k];
                    phis.push((x, old, addr));
                    // The slow path's reload is dead.
                    let ld_addr = LLVMGetOperand(ld, 0);
                    LLVMInstructionEraseFromParent(ld);
                    if !LLVMIsAInstruction(ld_addr).is_null() && LLVMGetFirstUse(ld_addr).is_null()
                    {
                        LLVMInstructionEraseFromParent(ld_addr);
                    }
                    continue;
                }
                LLVMPositionBuilderBeforeInstrAndDbgRecords(b.0, first);
                let phi = LLVMBuildPhi(b.0, LLVMTypeOf(old), c"".as_ptr());
                let (ld, addr) = reloaded[&k];
                let mut vals: Vec<LLVMValueRef> =
                    fast_preds.iter().map(|_| self.stores[&k].0).collect();
                vals.push(ld);
                let mut from = fast_preds.clone();
                from.push(slow);
                LLVMAddIncoming(phi, vals.as_mut_ptr(), from.as_mut_ptr(), from.len() as u32);
                phis.push((phi, old, addr));
            }
            for (phi, old, addr) in phis {
                LLVMReplaceAllUsesWith(old, phi);
                LLVMInstructionEraseFromParent(old);
                if !LLVMIsAInstruction(addr).is_null() && LLVMGetFirstUse(addr).is_null() {
                    LLVMInstructionEraseFromParent(addr);
                }
            }
            // The phis that only merged an invariant with its own reload
            // now merge it with itself.
            let mut done = std::collections::HashSet::new();
            for (p, x) in web_phis {
                if !done.insert(p) {
                    continue;
                }
                LLVMReplaceAllUsesWith(p, x);
                LLVMInstructionEraseFromParent(p);
            }
        }
    }
}

/// If `v`, the value stored into a field of `vars` whose reload after the
/// call is `reload`, is always the same value `x` fixed for the activation
/// (an argument, a constant or a value defined in the `entry` block, which
/// runs once), `Some(x)` and the phis that make up `v` (each to be replaced
/// by `x`). That is the case when `v` is `x` or a phi whose incoming values
/// are, through other phis, only `x` and `reload`: the control-point
/// transform reloads every live value after the call, so an invariant is
/// merged with its own reload around the loop. The runtime hands back the
/// same `x` (a trace or the recording continuation runs the same
/// activation), so the reload is `x` too.
fn activation_invariant(
    v: LLVMValueRef,
    reload: LLVMValueRef,
    entry: LLVMBasicBlockRef,
) -> Option<(LLVMValueRef, Vec<(LLVMValueRef, LLVMValueRef)>)> {
    // SAFETY: `v` and `reload` are values of the function whose entry
    // block is `entry`.
    unsafe {
        let fixed = |x: LLVMValueRef| {
            !LLVMIsAArgument(x).is_null()
                || !LLVMIsAConstant(x).is_null()
                || (!LLVMIsAInstruction(x).is_null() && LLVMGetInstructionParent(x) == entry)
        };
        let mut x = None;
        let mut web = Vec::new();
        let mut todo = vec![v];
        let mut seen = std::collections::HashSet::new();
        while let Some(u) = todo.pop() {
            if u == reload || !seen.insert(u) {
                continue;
            }
            if fixed(u) {
                if x.is_some_and(|x| x != u) {
                    return None;
                }
                x = Some(u);
            } else if !LLVMIsAPHINode(u).is_null() {
                web.push(u);
                for i in 0..LLVMCountIncoming(u) {
                    todo.push(LLVMGetIncomingValue(u, i));
                }
            } else {
                return None;
            }
        }
        let x = x?;
        Some((x, web.into_iter().map(|p| (p, x)).collect()))
    }
}

/// Adds `v` to `moving` (the instructions of `head` that move to the slow
/// path, in any order: they move in block order) if it is an instruction of
/// `head` without side effects (a plain load, an address computation or a
/// cast) all of whose users move, and then its operands likewise.
fn sink_into_slow(v: LLVMValueRef, head: LLVMBasicBlockRef, moving: &mut Vec<LLVMValueRef>) {
    // SAFETY: `v` is a value of the module being rewritten.
    unsafe {
        if LLVMIsAInstruction(v).is_null()
            || LLVMGetInstructionParent(v) != head
            || moving.contains(&v)
        {
            return;
        }
        let pure = match llvm::opcode(v) {
            LLVMOpcode::LLVMGetElementPtr
            | LLVMOpcode::LLVMBitCast
            | LLVMOpcode::LLVMPtrToInt
            | LLVMOpcode::LLVMIntToPtr
            | LLVMOpcode::LLVMZExt
            | LLVMOpcode::LLVMSExt
            | LLVMOpcode::LLVMTrunc => true,
            LLVMOpcode::LLVMLoad => {
                LLVMGetVolatile(v) == 0
                    && LLVMGetOrdering(v) == LLVMAtomicOrdering::LLVMAtomicOrderingNotAtomic
            }
            _ => false,
        };
        if !pure || !llvm::uses(v).iter().all(|(u, _)| moving.contains(u)) {
            return;
        }
        moving.push(v);
        for o in llvm::operands(v) {
            sink_into_slow(o, head, moving);
        }
    }
}

/// Is every predecessor edge of `b` from `from` (and is there one)?
fn preds_are_only(b: LLVMBasicBlockRef, from: LLVMBasicBlockRef) -> Option<()> {
    let mut any = false;
    // SAFETY: `b` is a live block of `m` (yk-llvm rule 2).
    for (user, _) in llvm::uses(unsafe { LLVMBasicBlockAsValue(b) }) {
        // SAFETY: `user` is a live user of `b`'s value; `LLVMIsATerminatorInst`
        // takes a value of any kind.
        if unsafe { LLVMIsATerminatorInst(user).is_null() } {
            continue;
        }
        // SAFETY: `user` is a terminator (checked just above), an instruction
        // in a block.
        if unsafe { LLVMGetInstructionParent(user) } != from {
            return None;
        }
        any = true;
    }
    any.then_some(())
}

/// Does an `llvm.assume` in `head`, the control point's block (whose code
/// all runs before the call), say that `p` is not null: `assume(p !=
/// null)`, or `assume(x != 0)` for `p = inttoptr x` (LLVM's form of the
/// first)? yklua computes its location pointer with integer arithmetic and
/// assumes it non-null (`ykloc` in yk.patch).
fn assumed_non_null(p: LLVMValueRef, head: LLVMBasicBlockRef) -> bool {
    // SAFETY: `p` is a value and `head` a block of the module being
    // rewritten (yk-llvm rule 2); `LLVMGetOperand(c, 0/1)` only on an icmp,
    // `LLVMGetOperand(i, 0)` only on a call of `llvm.assume(i1)`.
    unsafe {
        let as_int = (!LLVMIsAIntToPtrInst(p).is_null()).then(|| LLVMGetOperand(p, 0));
        let excludes_null = |c: LLVMValueRef| {
            if LLVMIsAICmpInst(c).is_null()
                || LLVMGetICmpPredicate(c) != LLVMIntPredicate::LLVMIntNE
            {
                return false;
            }
            let (a, b) = (LLVMGetOperand(c, 0), LLVMGetOperand(c, 1));
            [(a, b), (b, a)].into_iter().any(|(v, z)| {
                let is_zero = LLVMIsNull(z) != 0;
                is_zero && (v == p || Some(v) == as_int)
            })
        };
        instrs(head).into_iter().any(|i| {
            llvm::called_function(i).is_some_and(|f| llvm::name(f) == "llvm.assume")
                && excludes_null(LLVMGetOperand(i, 0))
        })
    }
}

/// Can `p` be seen not to be null from the IR alone: a stack slot, a global,
/// or an `inbounds` GEP of one (`&locs[pc]`)?
fn known_non_null(p: LLVMValueRef) -> bool {
    // SAFETY: `p` is a live value of `m` (yk-llvm rule 2); the `LLVMIsA*`
    // checks establish its kind before the global-only and GEP-only calls, and
    // a GEP has operand 0.
    unsafe {
        if !LLVMIsAAllocaInst(p).is_null() {
            return true;
        }
        if !LLVMIsAGlobalVariable(p).is_null() {
            return LLVMIsExternallyInitialized(p) == 0
                && LLVMGetLinkage(p) != LLVMLinkage::LLVMExternalWeakLinkage;
        }
        if !LLVMIsAGetElementPtrInst(p).is_null() && LLVMIsInBounds(p) != 0 {
            return known_non_null(LLVMGetOperand(p, 0));
        }
        false
    }
}
