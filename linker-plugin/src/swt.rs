//! Software-tracing instrumentation.
//!
//! Every block of every traceable function starts with a call to a small
//! `alwaysinline` hook that tests bit 0 ([FLAG_BLOCKS]) of the thread-local
//! recording flag and, only when it is set, calls the runtime to record
//! `(function index, block index)`, passed as constants. The hardware tracer
//! reads those tests and constants back from the machine code to map Intel PT
//! traces to the same pairs (`hwt::irmap`, docs/hwt.md), so they must stay
//! this simple. The hooks are inlined before codegen, so the cost
//! when not recording is one thread-local byte load and a predicted-not-taken
//! branch per block. `yk_promote` calls and calls of `yk_idempotent`
//! functions get similar hooks, testing the whole flag byte, that record the
//! value the trace builder will need.

use crate::annotations::{self, Annotations};
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::{LLVMLinkage, LLVMTypeKind};
use std::collections::HashSet;
use std::ffi::CString;
use yk_abi::names;
use yk_llvm::{self as llvm, blocks, Module};

/// The `yk_promote` entry point that `yk.h` expands to.
pub const PROMOTE: &str = yk_abi::names::PROMOTE_U64;

/// The flag bit that turns on block recording (docs/abi.md). The other bits
/// turn on value recording only: the hardware tracer gets the blocks from
/// Intel PT but still needs promoted values and idempotent results.
pub const FLAG_BLOCKS: u64 = yk_abi::flags::BLOCKS as u64;

/// Builds `internal void @name(params...) alwaysinline`: if the recording
/// flag has any bit of `mask` set, call `rec(params...)`.
fn make_hook(
    m: &Module,
    flag: LLVMValueRef,
    (name, rec): (&str, &str),
    params: &[LLVMTypeRef],
    mask: u64,
) -> LLVMValueRef {
    // SAFETY: everything is made in the live `m` and its context (yk-llvm rules
    // 1 and 2): `flag` is `m`'s recording-flag global, the builder only inserts
    // into the new function's blocks, and the call passes the function's own
    // parameters, of the types `ty` says.
    unsafe {
        let mut ps = params.to_vec();
        let ty = LLVMFunctionType(m.void_ty(), ps.as_mut_ptr(), ps.len() as u32, 0);
        let rec_f = m.get_or_declare(rec, ty);
        let cname = CString::new(name).unwrap();
        let f = LLVMAddFunction(m.m, cname.as_ptr(), ty);
        LLVMSetLinkage(f, LLVMLinkage::LLVMInternalLinkage);
        m.add_fn_attr(f, "alwaysinline");
        m.add_fn_attr(f, "nounwind");
        let entry = LLVMAppendBasicBlockInContext(m.ctx, f, c"entry".as_ptr());
        let record = LLVMAppendBasicBlockInContext(m.ctx, f, c"record".as_ptr());
        let done = LLVMAppendBasicBlockInContext(m.ctx, f, c"done".as_ptr());
        let b = m.builder();
        LLVMPositionBuilderAtEnd(b.0, entry);
        let i8t = m.int_ty(8);
        let mut v = LLVMBuildLoad2(b.0, i8t, flag, c"recording".as_ptr());
        if mask != 0xff {
            v = LLVMBuildAnd(b.0, v, LLVMConstInt(i8t, mask, 0), c"".as_ptr());
        }
        let c = LLVMBuildICmp(
            b.0,
            llvm_sys::LLVMIntPredicate::LLVMIntNE,
            v,
            LLVMConstInt(i8t, 0, 0),
            c"".as_ptr(),
        );
        let br = LLVMBuildCondBr(b.0, c, record, done);
        // Recording is rare: tell codegen to lay the call out of line.
        set_branch_weights(m, br, 1, 1 << 20);
        LLVMPositionBuilderAtEnd(b.0, record);
        let mut args: Vec<LLVMValueRef> = (0..params.len() as u32)
            .map(|k| LLVMGetParam(f, k))
            .collect();
        LLVMBuildCall2(
            b.0,
            ty,
            rec_f,
            args.as_mut_ptr(),
            args.len() as u32,
            c"".as_ptr(),
        );
        LLVMBuildBr(b.0, done);
        LLVMPositionBuilderAtEnd(b.0, done);
        LLVMBuildRetVoid(b.0);
        f
    }
}

/// Gives the conditional branch `br` the static profile `taken : not_taken`
/// (true successor : false successor), which block placement follows.
pub(crate) fn set_branch_weights(m: &Module, br: LLVMValueRef, taken: u32, not_taken: u32) {
    // SAFETY: `br` is a live instruction of `m` (a conditional branch, as
    // `set_branch_weights` requires) and the metadata is made in `m.ctx`, its
    // context (yk-llvm rules 2 and 3).
    unsafe {
        let mut w = [
            LLVMMDStringInContext2(m.ctx, c"branch_weights".as_ptr(), 14),
            LLVMValueAsMetadata(m.const_int(32, taken.into())),
            LLVMValueAsMetadata(m.const_int(32, not_taken.into())),
        ];
        let node = LLVMMDNodeInContext2(m.ctx, w.as_mut_ptr(), 3);
        LLVMSetMetadata(br, m.md_kind("prof"), LLVMMetadataAsValue(m.ctx, node));
    }
}

fn call_hook(
    m: &Module,
    b: &llvm::Builder,
    hook: LLVMValueRef,
    args: &mut [LLVMValueRef],
    like: Option<LLVMValueRef>,
) {
    // SAFETY: `hook` is a hook function `make_hook` added to `m`, `b` is
    // positioned in a function of `m`, and `args` are values of `m` of the
    // hook's parameter types (yk-llvm rules 2 and 3).
    unsafe {
        let ty = LLVMGlobalGetValueType(hook);
        let c = LLVMBuildCall2(
            b.0,
            ty,
            hook,
            args.as_mut_ptr(),
            args.len() as u32,
            c"".as_ptr(),
        );
        llvm::set_debug_loc(m, c, like);
    }
}

/// Instruments `funcs` (the module's functions before instrumentation, whose
/// positions are the function indices) with block, promote and idempotent
/// hooks (inlined by `aot::rewrite`). Returns the number of instrumented
/// blocks of `funcs`.
///
/// Outlined functions pause the recording while they run (see
/// `pause_recording`), except those in `foreign`: code that isn't the
/// interpreter's (a Rust interpreter's standard library and the runtime
/// itself, which starts and stops recordings) is outlined without hooks.
///
/// `resumes` are the recording continuations of interpreter functions
/// ([`crate::fast`]), instrumented with their function's hooks; `hookless`
/// functions (the fast clones) get none, their promotes become the plain
/// value.
pub fn instrument(
    m: &Module,
    funcs: &[LLVMValueRef],
    ann: &Annotations,
    flag: LLVMValueRef,
    foreign: &[LLVMValueRef],
    resumes: &[crate::fast::Resume],
    hookless: &HashSet<LLVMValueRef>,
) -> usize {
    let i32t = m.int_ty(32);
    let i64t = m.int_ty(64);
    let block_hook = make_hook(
        m,
        flag,
        ("__yk_swt_hook_block", names::SWT_REC_BLOCK),
        &[i32t, i32t],
        FLAG_BLOCKS,
    );
    let promote_hook = make_hook(
        m,
        flag,
        ("__yk_swt_hook_promote", names::SWT_REC_PROMOTE),
        &[i64t],
        0xff,
    );
    let idem_hook = make_hook(
        m,
        flag,
        ("__yk_swt_hook_idem", names::SWT_REC_IDEMPOTENT),
        &[i64t],
        0xff,
    );
    let b = m.builder();
    let mut count = 0;

    rewrite_promotes(m, &b, promote_hook, hookless);
    for &f in &ann.idempotent {
        record_idempotent_results(m, &b, f, idem_hook, hookless);
    }

    for (fi, &f) in funcs.iter().enumerate() {
        // SAFETY: `f` is a live function of `m` (yk-llvm rule 2).
        if unsafe { LLVMIsDeclaration(f) } != 0 || annotations::is_runtime_or_intrinsic(f) {
            continue;
        }
        if ann.outline.contains(&f) {
            if !foreign.contains(&f) {
                pause_recording(m, &b, f, flag);
            }
            continue;
        }
        count += hook_blocks(m, &b, block_hook, fi, &blocks(f));
    }
    // (Copies of blocks counted above: not counted again.)
    for r in resumes {
        hook_blocks(m, &b, block_hook, r.func_idx, &r.blocks);
    }
    count
}

/// Gives each of `bbs` (the blocks of function `fi`, in order) its block hook.
fn hook_blocks(
    m: &Module,
    b: &llvm::Builder,
    block_hook: LLVMValueRef,
    fi: usize,
    bbs: &[LLVMBasicBlockRef],
) -> usize {
    let mut count = 0;
    for (bi, &bb) in bbs.iter().enumerate() {
        if llvm::is_funclet_pad(bb) {
            continue;
        }
        let Some(at) = llvm::first_insertion_point(bb, bi == 0) else {
            continue;
        };
        // SAFETY: `at` is an instruction of `bb`, in this module.
        unsafe { LLVMPositionBuilderBefore(b.0, at) };
        let mut args = [m.const_int(32, fi as u64), m.const_int(32, bi as u64)];
        call_hook(m, b, block_hook, &mut args, Some(at));
        count += 1;
    }
    count
}

/// The function containing instruction `i`.
fn parent_fn(i: LLVMValueRef) -> LLVMValueRef {
    // SAFETY: `i` is an instruction inserted in a function.
    unsafe { LLVMGetBasicBlockParent(LLVMGetInstructionParent(i)) }
}

/// Makes outlined function `f` pause this thread's recording while it runs:
/// it saves and clears the flag on entry and restores it before each `ret`.
/// A trace calls an outlined function as one native call, so nothing it runs
/// (its callees, callbacks into the interpreter, their promotes) may appear
/// in the recording, where the trace builder couldn't tell it apart from the
/// caller's own blocks.
fn pause_recording(m: &Module, b: &llvm::Builder, f: LLVMValueRef, flag: LLVMValueRef) {
    let bbs = blocks(f);
    let Some(at) = bbs
        .first()
        .and_then(|&e| llvm::first_insertion_point(e, true))
    else {
        return;
    };
    // SAFETY: `f` is a live function of `m` with a body and `at` its entry
    // block's first insertion point; `flag` is `m`'s `i8` recording flag; the
    // builder is positioned only before live instructions of `f` (yk-llvm rules
    // 2 and 3).
    unsafe {
        let i8t = m.int_ty(8);
        LLVMPositionBuilderBefore(b.0, at);
        let saved = LLVMBuildLoad2(b.0, i8t, flag, c"yk_saved_recording".as_ptr());
        LLVMBuildStore(b.0, LLVMConstInt(i8t, 0, 0), flag);
        for bb in bbs {
            let term = LLVMGetBasicBlockTerminator(bb);
            if !term.is_null() && llvm::opcode(term) == llvm_sys::LLVMOpcode::LLVMRet {
                LLVMPositionBuilderBefore(b.0, term);
                LLVMBuildStore(b.0, saved, flag);
            }
        }
    }
}

/// Replaces each `__yk_disjoint(p, class)` by `p` (yk.h's `yk_disjoint`: an
/// alias class for the trace builder, which reads it in the embedded IR).
pub fn erase_disjoints(m: &Module) {
    let Some(d) = m.function(names::DISJOINT) else {
        return;
    };
    for (call, _) in llvm::uses(d) {
        // SAFETY: `call` is a live user of `d` (yk-llvm rule 2);
        // `LLVMIsAInvokeInst` takes a value of any kind.
        if llvm::called_function(call) != Some(d) || unsafe { !LLVMIsAInvokeInst(call).is_null() } {
            continue;
        }
        // SAFETY: `call` is a direct, non-invoke call of `__yk_disjoint(ptr,
        // i64)` in `m` (checked just above), so operand 0 is its pointer
        // argument, the type of its result; the call is erased once its uses
        // are replaced, and not used again (yk-llvm rule 2).
        unsafe {
            LLVMReplaceAllUsesWith(call, LLVMGetOperand(call, 0));
            LLVMInstructionEraseFromParent(call);
        }
    }
}

/// Replaces each `__yk_promote_u64(x)` by `x`, recording `x` while tracing.
/// (The embedded IR keeps the calls: there they become guards.)
fn rewrite_promotes(
    m: &Module,
    b: &llvm::Builder,
    hook: LLVMValueRef,
    hookless: &HashSet<LLVMValueRef>,
) {
    let Some(p) = m.function(PROMOTE) else { return };
    for (call, _) in llvm::uses(p) {
        // SAFETY: `call` is a live user of `p` (yk-llvm rule 2);
        // `LLVMIsAInvokeInst` takes a value of any kind.
        if llvm::called_function(call) != Some(p) || unsafe { !LLVMIsAInvokeInst(call).is_null() } {
            continue;
        }
        // SAFETY: `call` is a direct, non-invoke call of
        // `__yk_promote_u64(u64)` in `m` (checked just above), so operand 0 is
        // its `i64` argument, the same type as its result; the call is erased
        // once its uses are replaced, and not used again (yk-llvm rule 2).
        unsafe {
            let x = LLVMGetOperand(call, 0);
            if !hookless.contains(&parent_fn(call)) {
                LLVMPositionBuilderBefore(b.0, call);
                call_hook(m, b, hook, &mut [x], Some(call));
            }
            LLVMReplaceAllUsesWith(call, x);
            LLVMInstructionEraseFromParent(call);
        }
    }
}

/// After each direct call of idempotent function `f`, records its result
/// (widened to 64 bits) while tracing.
fn record_idempotent_results(
    m: &Module,
    b: &llvm::Builder,
    f: LLVMValueRef,
    hook: LLVMValueRef,
    hookless: &HashSet<LLVMValueRef>,
) {
    let i64t = m.int_ty(64);
    for (call, _) in llvm::uses(f) {
        if llvm::called_function(call) != Some(f)
            // SAFETY: `call` is a live user of `f` (yk-llvm rule 2);
            // `LLVMIsAInvokeInst` takes a value of any kind.
            || unsafe { !LLVMIsAInvokeInst(call).is_null() }
            || hookless.contains(&parent_fn(call))
        {
            continue;
        }
        // SAFETY: `call` is a direct call (not an invoke, so not a terminator)
        // in a block of `m`, so it has a next instruction to insert before; the
        // conversions are built only for the result types they accept (yk-llvm
        // rules 2 and 3).
        unsafe {
            let ty = LLVMTypeOf(call);
            LLVMPositionBuilderBefore(b.0, LLVMGetNextInstruction(call));
            let v = match LLVMGetTypeKind(ty) {
                LLVMTypeKind::LLVMIntegerTypeKind if LLVMGetIntTypeWidth(ty) <= 64 => {
                    LLVMBuildZExtOrBitCast(b.0, call, i64t, c"".as_ptr())
                }
                LLVMTypeKind::LLVMPointerTypeKind => {
                    LLVMBuildPtrToInt(b.0, call, i64t, c"".as_ptr())
                }
                LLVMTypeKind::LLVMDoubleTypeKind => LLVMBuildBitCast(b.0, call, i64t, c"".as_ptr()),
                LLVMTypeKind::LLVMFloatTypeKind => {
                    let i = LLVMBuildBitCast(b.0, call, m.int_ty(32), c"".as_ptr());
                    LLVMBuildZExt(b.0, i, i64t, c"".as_ptr())
                }
                // Other result types can't be folded by the trace builder:
                // the call simply stays a call in traces.
                _ => continue,
            };
            call_hook(m, b, hook, &mut [v], Some(call));
        }
    }
}
