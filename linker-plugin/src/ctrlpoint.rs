//! The control-point transform.
//!
//! The interpreter calls `yk_mt_control_point(mt, loc)` at the top of its
//! dispatch loop. Here each such call becomes
//! `__ykrt_control_point(mt, loc, &vars, func_idx)`, where `vars` is a
//! per-function `YkCtrlPointVars` struct holding every SSA value live across
//! the call: stored just before, reloaded just after. A trace can then take
//! over the interpreter's state through one pointer and hand it back.
//!
//! To rewrite the uses of a live value after the call without hand-written
//! SSA reconstruction, each live value first gets a stack slot (stored at its
//! definition, every use loads it, the control point copies slots to and from
//! `vars`) and LLVM's `mem2reg` then rebuilds SSA form with the phis needed.
//! The call goes through a two-block `alwaysinline` trampoline so that
//! LLVM's inliner splits the block right after the control point: the code
//! after a control point always starts a block of its own, the first block
//! a trace records.

use anyhow::{bail, Result};
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::LLVMOpcode;
use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use yk_llvm::liveness::Liveness;
use yk_llvm::{self as llvm, blocks, instrs, successors, Module};

/// The function interpreters call at their control point.
pub const USER_CP: &str = yk_abi::names::USER_CONTROL_POINT;
/// The runtime function the control point becomes.
pub const RT_CP: &str = yk_abi::names::RT_CONTROL_POINT;

/// Rewrites every control point of `m`. Returns the names of the functions
/// that contain one (empty: the binary gets no JIT).
pub fn transform(m: &Module) -> Result<Vec<String>> {
    let Some(user_cp) = m.function(USER_CP) else {
        return Ok(Vec::new());
    };
    // Group the calls by the function they are in, keeping module order.
    let mut by_func: Vec<(LLVMValueRef, Vec<LLVMValueRef>)> = Vec::new();
    for (user, _) in llvm::uses(user_cp) {
        if llvm::called_function(user) != Some(user_cp) {
            bail!(
                "yk-ld: error: `{USER_CP}` is used other than by a direct call (in `{}`)",
                containing_function_name(user)
            );
        }
        // SAFETY: `user` is a direct call of `yk_mt_control_point` (checked
        // just above) in `m`, so it is an instruction in a block of a function.
        let f = unsafe { LLVMGetBasicBlockParent(LLVMGetInstructionParent(user)) };
        match by_func.iter_mut().find(|(g, _)| *g == f) {
            Some((_, calls)) => calls.push(user),
            None => by_func.push((f, vec![user])),
        }
    }
    let mut names = Vec::new();
    for (f, calls) in &by_func {
        let fname = llvm::name(*f);
        if calls.len() > 1 {
            bail!(
                "yk-ld: error: function `{fname}` has more than one control point \
                 ({} calls to {USER_CP}); a function may contain at most one",
                calls.len()
            );
        }
        let call = calls[0];
        if !in_loop(call) {
            bail!(
                "yk-ld: error: the control point in function `{fname}` is not in a loop; \
                 {USER_CP} must be called at the head of the interpreter's dispatch loop"
            );
        }
        // SAFETY: `call` is a live call instruction of `m` (yk-llvm rule 2);
        // `LLVMIsAInvokeInst` takes a value of any kind.
        if unsafe { !LLVMIsAInvokeInst(call).is_null() } {
            bail!("yk-ld: error: the control point in `{fname}` is an invoke, not a call");
        }
        rewrite(m, *f, call)?;
        names.push(fname);
    }
    if names.is_empty() {
        return Ok(names);
    }
    // Inline the trampolines (splitting the blocks) and rebuild SSA form.
    m.run_passes("always-inline")?;
    collapse_trampoline_exits(m)?;
    m.run_passes("function(mem2reg)")?;
    patch_function_indices(m)?;
    Ok(names)
}

fn containing_function_name(i: LLVMValueRef) -> String {
    // SAFETY: `i` is a live instruction (yk-llvm rules 2 and 3); its parent
    // block is checked non-null before its function is asked for.
    unsafe {
        let b = LLVMGetInstructionParent(i);
        if b.is_null() {
            return "?".into();
        }
        llvm::name(LLVMGetBasicBlockParent(b))
    }
}

/// Is the call's block on a cycle of its function's CFG?
fn in_loop(call: LLVMValueRef) -> bool {
    // SAFETY: `call` is the live control-point call of its function, an
    // instruction in a block (yk-llvm rules 2 and 3).
    let home = unsafe { LLVMGetInstructionParent(call) };
    let mut seen = HashSet::new();
    let mut work = successors(home);
    while let Some(b) = work.pop() {
        if b == home {
            return true;
        }
        if seen.insert(b) {
            work.extend(successors(b));
        }
    }
    false
}

/// Rewrites the control point `call` in function `f`.
fn rewrite(m: &Module, f: LLVMValueRef, call: LLVMValueRef) -> Result<()> {
    let fname = llvm::name(f);
    let live = rematerialise_offsets(f, call);
    for &v in &live {
        if !llvm::is_storable(v) {
            bail!(
                "yk-ld: error: a value of a type that can't be stored is live across \
                 the control point in `{fname}`"
            );
        }
        // SAFETY: `v` is a live value of `f` (yk-llvm rule 2); the `LLVMIsA*`
        // casts take a value of any kind.
        if unsafe { !LLVMIsAInvokeInst(v).is_null() || !LLVMIsACallBrInst(v).is_null() } {
            bail!(
                "yk-ld: error: the result of an invoke is live across the control point in \
                 `{fname}`; this is not supported yet"
            );
        }
    }
    let b = m.builder();
    let entry = blocks(f)[0];
    let first = instrs(entry)[0];
    // SAFETY: each `v` is a live value of `f` (yk-llvm rule 2).
    let tys: Vec<LLVMTypeRef> = live.iter().map(|&v| unsafe { LLVMTypeOf(v) }).collect();
    // SAFETY: `f` is a live function of `m` with a body, `call` its
    // control-point call and `live` the values live across it, all of `m`
    // (yk-llvm rule 2). Types, constants and instructions are made in `m.ctx`;
    // the builder is positioned only before live instructions of `f`; each load
    // or store has the type of its slot (`tys[k]`); and `call` is erased last,
    // once the new call has replaced it, and not used again.
    unsafe {
        let sname = CString::new(format!("YkCtrlPointVars.{fname}")).unwrap();
        let sty = LLVMStructCreateNamed(m.ctx, sname.as_ptr());
        // One field per live value, then one for the interpreter function's
        // return value (written by the runtime when a trace returns from it).
        let mut elems = tys.clone();
        let ret_ty = LLVMGetReturnType(LLVMGlobalGetValueType(f));
        if LLVMGetTypeKind(ret_ty) != llvm_sys::LLVMTypeKind::LLVMVoidTypeKind {
            elems.push(ret_ty);
        }
        LLVMStructSetBody(sty, elems.as_mut_ptr(), elems.len() as u32, 0);

        LLVMPositionBuilderBefore(b.0, first);
        let vars = LLVMBuildAlloca(b.0, sty, c"yk_vars".as_ptr());
        let slots: Vec<LLVMValueRef> = tys
            .iter()
            .map(|&t| LLVMBuildAlloca(b.0, t, c"yk_slot".as_ptr()))
            .collect();

        // Every use of a live value loads its slot instead.
        let mut uses_of: HashMap<LLVMValueRef, Vec<(LLVMValueRef, u32)>> = HashMap::new();
        for &v in &live {
            uses_of.insert(v, llvm::uses(v));
        }
        for (k, &v) in live.iter().enumerate() {
            if is_frame_invariant(v, entry) {
                // Arguments and static allocas never change within a call
                // frame: they go into `vars` for the trace, but the frame
                // keeps using them directly (lifetime markers, for one,
                // must see the alloca itself). Their slot stays unused.
                continue;
            }
            for &(user, idx) in &uses_of[&v] {
                if LLVMIsAInstruction(user).is_null() {
                    continue;
                }
                let at = if llvm::opcode(user) == LLVMOpcode::LLVMPHI {
                    LLVMGetBasicBlockTerminator(LLVMGetIncomingBlock(user, idx))
                } else {
                    user
                };
                LLVMPositionBuilderBefore(b.0, at);
                let ld = LLVMBuildLoad2(b.0, tys[k], slots[k], c"".as_ptr());
                LLVMSetOperand(user, idx, ld);
            }
            // ...and the value is stored to its slot where it is defined.
            let after_def = if !LLVMIsAArgument(v).is_null() {
                first
            } else if llvm::opcode(v) == LLVMOpcode::LLVMPHI {
                llvm::first_insertion_point(LLVMGetInstructionParent(v), false)
                    .expect("a block with phis has a terminator")
            } else {
                LLVMGetNextInstruction(v)
            };
            LLVMPositionBuilderBefore(b.0, after_def);
            LLVMBuildStore(b.0, v, slots[k]);
        }

        // Around the call: slots -> vars, call, vars -> slots.
        let i32t = m.int_ty(32);
        let gep = |k: usize| {
            let mut idx = [LLVMConstInt(i32t, 0, 0), LLVMConstInt(i32t, k as u64, 0)];
            LLVMBuildInBoundsGEP2(b.0, sty, vars, idx.as_mut_ptr(), 2, c"".as_ptr())
        };
        LLVMPositionBuilderBefore(b.0, call);
        for k in 0..live.len() {
            let x = if is_frame_invariant(live[k], entry) {
                live[k]
            } else {
                LLVMBuildLoad2(b.0, tys[k], slots[k], c"".as_ptr())
            };
            LLVMBuildStore(b.0, x, gep(k));
        }
        let tramp = trampoline(m, &fname);
        let mut args = [LLVMGetOperand(call, 0), LLVMGetOperand(call, 1), vars];
        let ty = LLVMGlobalGetValueType(tramp);
        let new_call = LLVMBuildCall2(b.0, ty, tramp, args.as_mut_ptr(), 3, c"".as_ptr());
        llvm::set_debug_loc(m, new_call, Some(call));
        LLVMPositionBuilderBefore(b.0, LLVMGetNextInstruction(call));
        for k in 0..live.len() {
            if is_frame_invariant(live[k], entry) {
                continue;
            }
            let x = LLVMBuildLoad2(b.0, tys[k], gep(k), c"".as_ptr());
            LLVMBuildStore(b.0, x, slots[k]);
        }
        LLVMInstructionEraseFromParent(call);
    }
    Ok(())
}

/// The values live across `call` once every constant offset from another
/// value (a `getelementptr` with constant indices, e.g. `&ci->u.l.savedpc`
/// or `&L->hookmask`) that was live across it is recomputed at each of its
/// uses instead, so that only its base is. LLVM hoists such addresses out of
/// the dispatch loop (and to the entry block) as loop invariants; a plain
/// build folds them back into the addressing modes of their loads and
/// stores (code generation's address sinking), but a field of `vars` makes
/// each of them a value of its own for the whole loop: stored at the control
/// point, a register or a stack slot of the fast clone's dispatch loop, and
/// recomputed and spilled wherever the loop is entered (every Lua call and
/// return). The offset itself costs nothing where it is used: it is part
/// of the address of the access.
fn rematerialise_offsets(f: LLVMValueRef, call: LLVMValueRef) -> Vec<LLVMValueRef> {
    loop {
        let live = Liveness::analyse(f).live_after(call);
        // SAFETY: every value is an instruction of `f` (or an argument), used
        // through the LLVM C API; clones are inserted before a user, which
        // the original (and so its base) dominates.
        unsafe {
            let offsets: Vec<LLVMValueRef> = live
                .iter()
                .copied()
                .filter(|&v| is_constant_offset(v))
                .collect();
            if offsets.is_empty() {
                return live;
            }
            for g in offsets {
                for (user, idx) in llvm::uses(g) {
                    if LLVMIsAInstruction(user).is_null() {
                        continue;
                    }
                    let at = if llvm::opcode(user) == LLVMOpcode::LLVMPHI {
                        LLVMGetBasicBlockTerminator(LLVMGetIncomingBlock(user, idx))
                    } else {
                        user
                    };
                    let c = LLVMInstructionClone(g);
                    let b = LLVMCreateBuilderInContext(LLVMGetTypeContext(LLVMTypeOf(g)));
                    LLVMPositionBuilderBefore(b, at);
                    LLVMInsertIntoBuilder(b, c);
                    LLVMDisposeBuilder(b);
                    LLVMSetOperand(user, idx, c);
                }
                if LLVMGetFirstUse(g).is_null() {
                    LLVMInstructionEraseFromParent(g);
                }
            }
        }
    }
}

/// Is `v` a `getelementptr` instruction with constant indices yielding one
/// pointer (a constant offset from its base)?
fn is_constant_offset(v: LLVMValueRef) -> bool {
    // SAFETY: `v` is a value of the module being rewritten.
    unsafe {
        !LLVMIsAGetElementPtrInst(v).is_null()
            && LLVMGetTypeKind(LLVMTypeOf(v)) == llvm_sys::LLVMTypeKind::LLVMPointerTypeKind
            && (1..LLVMGetNumOperands(v) as u32)
                .all(|k| !LLVMIsAConstantInt(LLVMGetOperand(v, k)).is_null())
    }
}

/// Is `v` an argument or an alloca of the entry block?
fn is_frame_invariant(v: LLVMValueRef, entry: LLVMBasicBlockRef) -> bool {
    // SAFETY: `v` is a live value of the function whose entry block is `entry`
    // (yk-llvm rule 2); `opcode` and `LLVMGetInstructionParent` are only
    // reached for an instruction (`LLVMIsAArgument` first, then an alloca).
    unsafe {
        !LLVMIsAArgument(v).is_null()
            || (llvm::opcode(v) == LLVMOpcode::LLVMAlloca && LLVMGetInstructionParent(v) == entry)
    }
}

/// `internal void @__yk_cp_tramp.F(ptr mt, ptr loc, ptr vars) alwaysinline`:
/// calls the runtime's control point; shaped so that inlining splits the
/// caller's block after it.
fn trampoline(m: &Module, fname: &str) -> LLVMValueRef {
    // SAFETY: everything is made in the live `m` and its context (yk-llvm rules
    // 1 and 2); the builder only inserts into the new function's blocks, the
    // call passes the four arguments `rt_ty` says, and `CString`s outlive the
    // calls that take them.
    unsafe {
        let p = m.ptr_ty();
        let i64t = m.int_ty(64);
        let mut rt_params = [p, p, p, i64t];
        let rt_ty = LLVMFunctionType(i64t, rt_params.as_mut_ptr(), 4, 0);
        let rt = m.get_or_declare(RT_CP, rt_ty);
        let mut params = [p, p, p];
        let ty = LLVMFunctionType(m.void_ty(), params.as_mut_ptr(), 3, 0);
        let name = CString::new(format!("__yk_cp_tramp.{fname}")).unwrap();
        let f = LLVMAddFunction(m.m, name.as_ptr(), ty);
        LLVMSetLinkage(f, llvm_sys::LLVMLinkage::LLVMInternalLinkage);
        m.add_fn_attr(f, "alwaysinline");
        let entry = LLVMAppendBasicBlockInContext(m.ctx, f, c"entry".as_ptr());
        let exit = LLVMAppendBasicBlockInContext(m.ctx, f, c"exit".as_ptr());
        let other = LLVMAppendBasicBlockInContext(m.ctx, f, c"exit2".as_ptr());
        let b = m.builder();
        LLVMPositionBuilderAtEnd(b.0, entry);
        // The function index is patched once the module's final layout is known.
        let mut args = [
            LLVMGetParam(f, 0),
            LLVMGetParam(f, 1),
            LLVMGetParam(f, 2),
            LLVMConstInt(i64t, 0, 0),
        ];
        let r = LLVMBuildCall2(b.0, rt_ty, rt, args.as_mut_ptr(), 4, c"".as_ptr());
        // Two distinct return blocks: LLVM's inliner must then split the
        // caller's block after the call (it folds any trivial jump).
        // `collapse_trampoline_exits` removes them again afterwards.
        let zero = LLVMConstInt(i64t, 0, 0);
        let c = LLVMBuildICmp(
            b.0,
            llvm_sys::LLVMIntPredicate::LLVMIntEQ,
            r,
            zero,
            c"".as_ptr(),
        );
        LLVMBuildCondBr(b.0, c, exit, other);
        LLVMPositionBuilderAtEnd(b.0, exit);
        LLVMBuildRetVoid(b.0);
        LLVMPositionBuilderAtEnd(b.0, other);
        LLVMBuildRetVoid(b.0);
        f
    }
}

/// After inlining, each control point's block ends in
/// `br (r == 0), %exit, %exit2` where both blocks just jump to the block
/// that holds the code after the control point. The first becomes a direct
/// edge to that block (`yk_cp_resume`); the second becomes `yk_cp_return`,
/// which returns from the interpreter function the value the runtime left
/// in the last field of `vars` (docs/abi.md: a trace that ran into the
/// interpreter function's `ret`).
fn collapse_trampoline_exits(m: &Module) -> Result<()> {
    let Some(rt) = m.function(RT_CP) else {
        return Ok(());
    };
    for (call, _) in llvm::uses(rt) {
        // SAFETY: `call` uses `__ykrt_control_point`, so after inlining it is a
        // call in a block of an interpreter function of `m` (yk-llvm rule 2)
        // whose shape is checked before it is changed; the deleted stub block
        // and the erased terminator are not used again, and `vars` (operand 2)
        // is the `YkCtrlPointVars` alloca whose last field holds the return
        // value.
        unsafe {
            let bb = LLVMGetInstructionParent(call);
            let f = LLVMGetBasicBlockParent(bb);
            let term = LLVMGetBasicBlockTerminator(bb);
            let succs = successors(bb);
            let targets: Vec<_> = succs
                .iter()
                .map(|&s| {
                    let is = instrs(s);
                    (is.len() == 1 && llvm::opcode(is[0]) == LLVMOpcode::LLVMBr)
                        .then(|| successors(s))
                })
                .collect();
            let after = match targets.as_slice() {
                [Some(a), Some(b)] if a.len() == 1 && a == b => a[0],
                _ => {
                    bail!("yk-ld: internal error: unexpected shape after inlining a control point")
                }
            };
            let (resume_stub, ret_block) = (succs[0], succs[1]);
            LLVMSetSuccessor(term, 0, after);
            LLVMDeleteBasicBlock(resume_stub);
            LLVMSetValueName2(LLVMBasicBlockAsValue(after), c"yk_cp_resume".as_ptr(), 12);
            LLVMSetValueName2(
                LLVMBasicBlockAsValue(ret_block),
                c"yk_cp_return".as_ptr(),
                12,
            );
            LLVMInstructionEraseFromParent(LLVMGetBasicBlockTerminator(ret_block));
            let b = m.builder();
            LLVMPositionBuilderAtEnd(b.0, ret_block);
            let ret_ty = LLVMGetReturnType(LLVMGlobalGetValueType(f));
            let ret = if LLVMGetTypeKind(ret_ty) == llvm_sys::LLVMTypeKind::LLVMVoidTypeKind {
                LLVMBuildRetVoid(b.0)
            } else {
                let vars = LLVMGetOperand(call, 2);
                let sty = LLVMGetAllocatedType(vars);
                let last = LLVMCountStructElementTypes(sty) - 1;
                let p = LLVMBuildStructGEP2(b.0, sty, vars, last, c"".as_ptr());
                let v = LLVMBuildLoad2(b.0, ret_ty, p, c"yk_ret".as_ptr());
                LLVMBuildRet(b.0, v)
            };
            llvm::set_debug_loc(m, ret, Some(call));
        }
    }
    Ok(())
}

/// Sets the last argument of every `__ykrt_control_point` call to the index
/// of the function it is in (the module's function list is final now).
fn patch_function_indices(m: &Module) -> Result<()> {
    let Some(rt) = m.function(RT_CP) else {
        return Ok(());
    };
    let funcs = m.functions();
    for (user, _) in llvm::uses(rt) {
        // SAFETY: `user` is a call of `__ykrt_control_point`, an instruction in
        // a block of a function of `m`.
        let f = unsafe { LLVMGetBasicBlockParent(LLVMGetInstructionParent(user)) };
        let idx = funcs.iter().position(|&g| g == f).unwrap();
        if llvm::name(f).starts_with("__yk_cp_tramp") {
            bail!("yk-ld: internal error: a control point trampoline was not inlined");
        }
        // SAFETY: `user` is a call of `__ykrt_control_point(ptr, ptr, ptr,
        // i64)`, so operand 3 exists and is the `i64` that the constant
        // replaces (yk-llvm rules 2 and 3).
        unsafe { LLVMSetOperand(user, 3, m.const_int(64, idx as u64)) };
    }
    Ok(())
}
