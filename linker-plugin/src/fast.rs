//! Fast clones: an uninstrumented copy of every traceable function.
//!
//! The software tracer's hooks cost a thread-local load and a branch per
//! block even when nothing is recorded. This pass gives every traceable
//! function `f` a copy `f.__yk_fast` without hooks, made from the module as
//! it is before instrumentation (after the control-point transform), and
//! arranges that a thread runs the fast copies while it is not recording:
//!
//! - Direct calls in fast code call fast code (`g` becomes `g.__yk_fast`).
//!   Every other use of a function (its address) stays the original, so a
//!   function pointer is the same value in every version, in the embedded
//!   IR's address table and in traces.
//! - The original `f` is the *recording version*: exactly what the embedded
//!   IR describes, instrumented as before. It gains a new entry block (no
//!   hook: not a block of the embedded IR) that, when this thread's flag is
//!   clear, tail-calls `f.__yk_fast`. So a call through a pointer, from a
//!   trace, from the blackhole or from outside the interpreter runs the
//!   fast version when not recording and the recording version when
//!   recording. Calls in recording code keep calling originals, which
//!   dispatch this way.
//! - The interpreter function `F` (the one with the control point) runs its
//!   dispatch loop in `F.__yk_fast` too. Its control point calls
//!   `__yk_cp_switch.F`, which calls the runtime and, if the runtime left
//!   this thread recording (a root or side-trace recording, or one the
//!   blackhole started), continues the same activation in
//!   `F.__yk_resume(vars, r)`: a copy of the instrumented `F` entered at
//!   `yk_cp_resume` (or `yk_cp_return` when `r != 0`) with the frame's
//!   invariant values (arguments, entry allocas) taken from `vars`, where the
//!   control point stored them. Its blocks carry `F`'s hooks, so the trace
//!   records exactly the blocks it recorded before. At its control point,
//!   once the runtime returns with the flag clear (the recording stopped or
//!   was abandoned), it returns 0 and the fast copy resumes the loop,
//!   reloading the state from `vars`; when `F` returns it stores the result
//!   into the last field of `vars` and returns 1, and the fast copy returns
//!   it as for a trace that returned.
//!
//! Correctness with recording: a recording starts only inside the runtime's
//! control point, so every frame above it is entered after the flag was set
//! (recording versions, through the entry dispatch) or is the interpreter
//! frame itself (continued in `F.__yk_resume`). Frames below it (fast
//! versions) are only returned to by the interpreter function returning,
//! which aborts the recording as before. An outlined function clears the
//! flag while it runs, so its callees run fast and are not recorded, as
//! before.
//!
//! Outlined functions get fast clones too: the original pauses the
//! recording while it runs (for recording code and traces), the clone, run
//! from fast code, doesn't need to. In the fast clones `yk_promote` is the
//! plain value, and the clones are optimised again ([`optimise`], with the
//! vectorisers): the merged module was optimised with the promotes' and the
//! control point's opaque calls in it.
//!
//! The flag tests this pass adds compare the flag as a signed byte (`> 0`):
//! the hardware tracer's map (`hwt::irmap`) takes every `je`/`jne` on a
//! zero test of the flag to be a block hook, and these are not.

use crate::annotations;
use crate::ctrlpoint::RT_CP;
use anyhow::{bail, Result};
use llvm_sys::comdat::LLVMSetComdat;
use llvm_sys::core::*;
use llvm_sys::linker::LLVMLinkModules2;
use llvm_sys::prelude::*;
use llvm_sys::{LLVMIntPredicate, LLVMLinkage, LLVMOpcode, LLVMVisibility};
use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use yk_llvm::{self as llvm, blocks, instrs, Module};

/// Suffix of a fast clone's name.
pub const FAST_SUFFIX: &str = ".__yk_fast";
/// Suffix of the recording continuation of an interpreter function.
pub const RESUME_SUFFIX: &str = ".__yk_resume";
/// Environment variable turning the fast clones off (for comparisons).
pub const DISABLE_ENV: &str = "YKLD_NO_FAST_CLONES";

/// The recording continuation of an interpreter function.
pub struct Resume {
    /// `F.__yk_resume`.
    pub f: LLVMValueRef,
    /// The index of `F` in the embedded IR.
    pub func_idx: usize,
    /// The blocks that are `F`'s blocks, in `F`'s order (to be instrumented
    /// with `F`'s block indices).
    pub blocks: Vec<LLVMBasicBlockRef>,
}

/// What [`clone`] made.
#[derive(Default)]
pub struct Clones {
    /// Original function to its fast clone.
    pub fast: HashMap<LLVMValueRef, LLVMValueRef>,
    /// The recording continuations of interpreter functions.
    pub resumes: Vec<Resume>,
    /// The control-point calls of fast interpreter functions (calls of a
    /// `__yk_cp_switch.F`), for the inline fast path.
    pub cp_calls: Vec<LLVMValueRef>,
}

impl Clones {
    /// Functions that must get no hooks at all.
    pub fn hookless(&self) -> HashSet<LLVMValueRef> {
        self.fast.values().copied().collect()
    }
}

/// Can `f` get a fast clone? It must be the interpreter's code (instrumented,
/// or outlined: an outlined function's original pauses the recording, its
/// fast clone needn't), not varargs (the dispatch forwards the arguments),
/// of a linkage whose body is the one the program runs, and take no block
/// addresses.
fn clonable(m: &Module, f: LLVMValueRef, foreign: &[LLVMValueRef]) -> bool {
    // SAFETY: every value is a live function, block, instruction or
    // constant of `m` (or of its copy), used through the LLVM C API.
    unsafe {
        if LLVMIsDeclaration(f) != 0
            || m.has_fn_attr(f, "naked")
            || annotations::is_runtime_or_intrinsic(f)
            || foreign.contains(&f)
            || LLVMIsFunctionVarArg(LLVMGlobalGetValueType(f)) != 0
        {
            return false;
        }
        use LLVMLinkage::*;
        if !matches!(
            LLVMGetLinkage(f),
            LLVMExternalLinkage
                | LLVMInternalLinkage
                | LLVMPrivateLinkage
                | LLVMLinkOnceODRLinkage
                | LLVMWeakODRLinkage
        ) {
            return false;
        }
        for b in blocks(f) {
            if !LLVMGetFirstUse(LLVMBasicBlockAsValue(b)).is_null()
                && llvm::uses(LLVMBasicBlockAsValue(b))
                    .iter()
                    .any(|&(u, _)| LLVMIsAInstruction(u).is_null())
            {
                return false;
            }
        }
        // The address may be used by instructions or (through constants) by
        // global initializers; a constant expression used by an instruction
        // can't be redirected to the original in the clone.
        !constant_reaches_instruction(f, 0)
    }
}

/// Does a use of `v` through constants (not directly) reach an instruction?
fn constant_reaches_instruction(v: LLVMValueRef, depth: u32) -> bool {
    for (u, _) in llvm::uses(v) {
        // SAFETY: every value is a live function, block, instruction or
        // constant of `m` (or of its copy), used through the LLVM C API.
        unsafe {
            if !LLVMIsAInstruction(u).is_null() {
                if depth > 0 {
                    return true;
                }
                continue;
            }
            if !LLVMIsAGlobalValue(u).is_null() {
                continue;
            }
            if depth > 8 || constant_reaches_instruction(u, depth + 1) {
                return true;
            }
        }
    }
    false
}

/// Gives `m` fast clones of its traceable functions and recording
/// continuations of its interpreter functions `cp_fns` (see the module
/// documentation). `funcs` are the embedded IR's functions. Hooks and the
/// entry dispatch are added later ([`crate::swt`], [`add_entry_dispatch`]).
pub fn clone(
    m: &Module,
    funcs: &[LLVMValueRef],
    foreign: &[LLVMValueRef],
    cp_fns: &[LLVMValueRef],
    flag: LLVMValueRef,
) -> Result<Clones> {
    if std::env::var_os(DISABLE_ENV).is_some() {
        return Ok(Clones::default());
    }
    let sel: Vec<LLVMValueRef> = funcs
        .iter()
        .copied()
        .filter(|&f| clonable(m, f, foreign))
        .collect();
    let cps: Vec<LLVMValueRef> = cp_fns.iter().copied().filter(|f| sel.contains(f)).collect();
    if sel.is_empty() {
        return Ok(Clones::default());
    }
    let restore = externalise_locals(m);
    let fast = copy_functions(m, &sel, FAST_SUFFIX, true);
    let bodies =
        fast.and_then(|fast| Ok((fast, copy_functions(m, &cps, ".__yk_rec_body", false)?)));
    restore_linkage(&restore);
    let (fast, bodies) = bodies?;
    let mut out = Clones::default();
    for (&f, &c) in sel.iter().zip(&fast) {
        // SAFETY: every value is a live function, block, instruction or
        // constant of `m` (or of its copy), used through the LLVM C API.
        unsafe {
            LLVMSetLinkage(c, LLVMLinkage::LLVMInternalLinkage);
            LLVMSetVisibility(c, LLVMVisibility::LLVMDefaultVisibility);
        }
        out.fast.insert(f, c);
    }
    let rt_cp = m
        .function(RT_CP)
        .ok_or_else(|| anyhow::anyhow!("yk-ld: no {RT_CP} in a module with control points"))?;
    for (&f, &body) in cps.iter().zip(&bodies) {
        let func_idx = funcs.iter().position(|&g| g == f).unwrap();
        let resume = build_resume(m, f, body, flag)?;
        let wrapper = switch_wrapper(m, f, rt_cp, resume.f, flag);
        let fast_f = out.fast[&f];
        let call = cp_call(fast_f, rt_cp)?;
        // SAFETY: every value is a live function, block, instruction or
        // constant of `m` (or of its copy), used through the LLVM C API.
        unsafe {
            let n = LLVMGetNumOperands(call) as u32;
            LLVMSetOperand(call, n - 1, wrapper);
        }
        out.cp_calls.push(call);
        out.resumes.push(Resume {
            f: resume.f,
            func_idx,
            blocks: resume.blocks,
        });
    }
    Ok(out)
}

/// Every global value of local linkage becomes external and hidden (with a
/// name), so that a copy of the module links against the originals rather
/// than duplicating them. Returns what [`restore_linkage`] undoes.
fn externalise_locals(m: &Module) -> Vec<(LLVMValueRef, LLVMLinkage, LLVMVisibility)> {
    let mut out = Vec::new();
    let mut all = m.functions();
    all.extend(m.globals());
    // SAFETY: every value is a live function, block, instruction or
    // constant of `m` (or of its copy), used through the LLVM C API.
    unsafe {
        let mut a = LLVMGetFirstGlobalAlias(m.m);
        while !a.is_null() {
            all.push(a);
            a = LLVMGetNextGlobalAlias(a);
        }
        for v in all {
            let l = LLVMGetLinkage(v);
            if !matches!(
                l,
                LLVMLinkage::LLVMInternalLinkage | LLVMLinkage::LLVMPrivateLinkage
            ) {
                continue;
            }
            if llvm::name(v).is_empty() {
                LLVMSetValueName2(v, c"__yk_anon".as_ptr(), 9);
            }
            out.push((v, l, LLVMGetVisibility(v)));
            LLVMSetLinkage(v, LLVMLinkage::LLVMExternalLinkage);
            LLVMSetVisibility(v, LLVMVisibility::LLVMHiddenVisibility);
        }
    }
    out
}

fn restore_linkage(saved: &[(LLVMValueRef, LLVMLinkage, LLVMVisibility)]) {
    for &(v, l, vis) in saved {
        // SAFETY: every value is a live function, block, instruction or
        // constant of `m` (or of its copy), used through the LLVM C API.
        unsafe {
            LLVMSetVisibility(v, vis);
            LLVMSetLinkage(v, l);
        }
    }
}

/// Copies the definitions of `sel` into `m` under the names `name+suffix`
/// (through a clone of the module, reduced to those definitions and
/// declarations of everything else, linked back in). In the copies, direct
/// calls of functions in `sel` call their copies when `calls_to_copies`;
/// every other use of a function is the original. Returns the copies, in
/// the order of `sel`.
fn copy_functions(
    m: &Module,
    sel: &[LLVMValueRef],
    suffix: &str,
    calls_to_copies: bool,
) -> Result<Vec<LLVMValueRef>> {
    if sel.is_empty() {
        return Ok(Vec::new());
    }
    // SAFETY: every value is a live function, block, instruction or
    // constant of `m` (or of its copy), used through the LLVM C API.
    unsafe {
        let copy = m.copy();
        // Module-level assembly (e.g. Rust's `global_asm!`) is the
        // original's: a second copy would define its symbols twice.
        LLVMSetModuleInlineAsm2(copy.m, c"".as_ptr(), 0);
        let (ofs, cfs) = (m.functions(), copy.functions());
        if ofs.len() != cfs.len() {
            bail!("yk-ld: internal error: a module copy has other functions");
        }
        // Globals: declarations only (the copy's code uses the originals);
        // the special `llvm.*` arrays (constructors, used lists,
        // annotations) must not be appended twice.
        for g in copy.globals() {
            if llvm::name(g).starts_with("llvm.") {
                LLVMDeleteGlobal(g);
                continue;
            }
            LLVMSetInitializer(g, std::ptr::null_mut());
            LLVMSetLinkage(g, LLVMLinkage::LLVMExternalLinkage);
            LLVMSetComdat(g, std::ptr::null_mut());
        }
        // Aliases: uses go to what they alias; the alias itself stays
        // behind, private and unused, so the linker leaves it out.
        let mut a = LLVMGetFirstGlobalAlias(copy.m);
        while !a.is_null() {
            let next = LLVMGetNextGlobalAlias(a);
            LLVMReplaceAllUsesWith(a, LLVMAliasGetAliasee(a));
            LLVMSetLinkage(a, LLVMLinkage::LLVMPrivateLinkage);
            a = next;
        }
        let mut out_names = Vec::new();
        for (k, (&o, &c)) in ofs.iter().zip(&cfs).enumerate() {
            if sel.contains(&o) {
                let name = llvm::name(o);
                let new_name = format!("{name}{suffix}");
                if m.function(&new_name).is_some() {
                    bail!("yk-ld: a function is already called {new_name}");
                }
                let cn = CString::new(new_name.as_str()).unwrap();
                LLVMSetValueName2(c, cn.as_ptr(), new_name.len());
                LLVMSetComdat(c, std::ptr::null_mut());
                LLVMSetLinkage(c, LLVMLinkage::LLVMExternalLinkage);
                // A declaration of the original, for the uses that must stay
                // the original.
                let on = CString::new(name.as_str()).unwrap();
                let decl = LLVMAddFunction(copy.m, on.as_ptr(), LLVMGlobalGetValueType(o));
                for (user, idx) in llvm::uses(c) {
                    if LLVMIsAInstruction(user).is_null() {
                        continue;
                    }
                    let is_callee = llvm::called_function(user) == Some(c)
                        && idx + 1 == LLVMGetNumOperands(user) as u32;
                    if !(is_callee && calls_to_copies) {
                        LLVMSetOperand(user, idx, decl);
                    }
                }
                out_names.push((k, new_name));
            } else if LLVMIsDeclaration(c) == 0 {
                make_declaration(&copy, c);
            }
        }
        if LLVMLinkModules2(m.m, copy.into_raw()) != 0 {
            bail!("yk-ld: linking the fast clones failed");
        }
        let mut out = Vec::new();
        for (_, n) in out_names {
            let f = m
                .function(&n)
                .ok_or_else(|| anyhow::anyhow!("yk-ld: the clone {n} went missing"))?;
            out.push(f);
        }
        Ok(out)
    }
}

/// Replaces function `f` of module `m` by a declaration of the same name.
/// (Deleting the whole function lets LLVM drop its body, debug records
/// included, consistently.)
fn make_declaration(m: &Module, f: LLVMValueRef) {
    // SAFETY: `f` is a function of `m`; after the RAUW nothing refers to it.
    unsafe {
        let name = llvm::name(f);
        LLVMSetValueName2(f, c"".as_ptr(), 0);
        let cn = CString::new(name.as_str()).unwrap();
        let d = LLVMAddFunction(m.m, cn.as_ptr(), LLVMGlobalGetValueType(f));
        LLVMSetFunctionCallConv(d, LLVMGetFunctionCallConv(f));
        LLVMReplaceAllUsesWith(f, d);
        LLVMDeleteFunction(f);
    }
}

/// The one call of `rt_cp` in `f`.
fn cp_call(f: LLVMValueRef, rt_cp: LLVMValueRef) -> Result<LLVMValueRef> {
    blocks(f)
        .into_iter()
        .flat_map(instrs)
        .find(|&i| llvm::called_function(i) == Some(rt_cp))
        .ok_or_else(|| anyhow::anyhow!("yk-ld: no control point in {}", llvm::name(f)))
}

/// Loads the flag and tests it as a signed byte: `flag > 0` (see the module
/// documentation for why not `!= 0`).
fn recording(b: LLVMBuilderRef, m: &Module, flag: LLVMValueRef) -> LLVMValueRef {
    // SAFETY: every value is a live function, block, instruction or
    // constant of `m` (or of its copy), used through the LLVM C API.
    unsafe {
        let i8t = m.int_ty(8);
        let v = LLVMBuildLoad2(b, i8t, flag, c"yk_flag".as_ptr());
        LLVMBuildICmp(
            b,
            LLVMIntPredicate::LLVMIntSGT,
            v,
            LLVMConstInt(i8t, 0, 0),
            c"yk_recording".as_ptr(),
        )
    }
}

struct Built {
    f: LLVMValueRef,
    blocks: Vec<LLVMBasicBlockRef>,
}

/// Makes `i64 F.__yk_resume(ptr vars, i64 r)` from `body`, an uninstrumented
/// copy of interpreter function `f`.
fn build_resume(
    m: &Module,
    f: LLVMValueRef,
    body: LLVMValueRef,
    flag: LLVMValueRef,
) -> Result<Built> {
    // SAFETY: every value is a live function, block, instruction or
    // constant of `m` (or of its copy), used through the LLVM C API.
    unsafe {
        let rt_cp = m.function(RT_CP).unwrap();
        let call = cp_call(body, rt_cp)?;
        let head = LLVMGetInstructionParent(call);
        let vars_a = LLVMGetOperand(call, 2);
        let br = LLVMGetBasicBlockTerminator(head);
        if LLVMIsAAllocaInst(vars_a).is_null()
            || br.is_null()
            || LLVMIsConditional(br) == 0
            || LLVMGetNumSuccessors(br) != 2
        {
            bail!("yk-ld: unexpected control point shape in {}", llvm::name(f));
        }
        let (resume, ret_bb) = (LLVMGetSuccessor(br, 0), LLVMGetSuccessor(br, 1));
        let sty = LLVMGetAllocatedType(vars_a);
        let old_entry = LLVMGetEntryBasicBlock(body);
        // The frame invariants the control point stores into `vars`.
        let mut invariants = Vec::new();
        for i in instrs(head) {
            if llvm::opcode(i) != LLVMOpcode::LLVMStore {
                continue;
            }
            let (v, p) = (LLVMGetOperand(i, 0), LLVMGetOperand(i, 1));
            let Some(k) = llvm::struct_field_of(p, vars_a) else {
                continue;
            };
            let invariant = !LLVMIsAArgument(v).is_null()
                || (!LLVMIsAAllocaInst(v).is_null() && LLVMGetInstructionParent(v) == old_entry);
            if invariant && !invariants.iter().any(|&(_, x)| x == v) {
                invariants.push((k, v));
            }
        }

        let i64t = m.int_ty(64);
        let mut params = [m.ptr_ty(), i64t];
        let fty = LLVMFunctionType(i64t, params.as_mut_ptr(), 2, 0);
        let name = CString::new(format!("{}{RESUME_SUFFIX}", llvm::name(f))).unwrap();
        let rs = LLVMAddFunction(m.m, name.as_ptr(), fty);
        LLVMSetLinkage(rs, LLVMLinkage::LLVMInternalLinkage);
        copy_fn_attrs(body, rs);
        m.add_fn_attr(rs, "noinline");
        let sp = llvm_sys::debuginfo::LLVMGetSubprogram(body);
        llvm_sys::debuginfo::LLVMSetSubprogram(body, std::ptr::null_mut());
        if !sp.is_null() {
            llvm_sys::debuginfo::LLVMSetSubprogram(rs, sp);
        }
        if LLVMHasPersonalityFn(body) != 0 {
            LLVMSetPersonalityFn(rs, LLVMGetPersonalityFn(body));
        }
        let entry = LLVMAppendBasicBlockInContext(m.ctx, rs, c"yk_resume_entry".as_ptr());
        let moved = blocks(body);
        let mut last = entry;
        for &bb in &moved {
            LLVMMoveBasicBlockAfter(bb, last);
            last = bb;
        }
        let b = m.builder();
        LLVMPositionBuilderAtEnd(b.0, entry);
        let (vars_p, r) = (LLVMGetParam(rs, 0), LLVMGetParam(rs, 1));
        for &(k, v) in &invariants {
            // The alloca is the fast frame's now: its lifetime is not ours
            // to mark (and markers must name an alloca).
            for (user, _) in llvm::uses(v) {
                let callee = llvm::called_function(user).map(llvm::name);
                if callee.is_some_and(|n| n.starts_with("llvm.lifetime.")) {
                    LLVMInstructionEraseFromParent(user);
                }
            }
            let p = LLVMBuildStructGEP2(b.0, sty, vars_p, k, c"".as_ptr());
            let ld = LLVMBuildLoad2(b.0, LLVMTypeOf(v), p, c"yk_invariant".as_ptr());
            LLVMReplaceAllUsesWith(v, ld);
        }
        for k in 0..LLVMCountParams(body) {
            let a = LLVMGetParam(body, k);
            LLVMReplaceAllUsesWith(a, LLVMGetPoison(LLVMTypeOf(a)));
        }
        LLVMReplaceAllUsesWith(vars_a, vars_p);
        LLVMInstructionEraseFromParent(vars_a);
        let is_zero = LLVMBuildICmp(
            b.0,
            LLVMIntPredicate::LLVMIntEQ,
            r,
            LLVMConstInt(i64t, 0, 0),
            c"".as_ptr(),
        );
        LLVMBuildCondBr(b.0, is_zero, resume, ret_bb);

        // After the runtime's control point: with the flag clear, hand the
        // loop back to the fast version (the state is in `vars`).
        let chk = LLVMAppendBasicBlockInContext(m.ctx, rs, c"yk_cp_still_recording".as_ptr());
        let back = LLVMAppendBasicBlockInContext(m.ctx, rs, c"yk_cp_to_fast".as_ptr());
        LLVMSetSuccessor(br, 0, chk);
        LLVMPositionBuilderAtEnd(b.0, chk);
        let rec = recording(b.0, m, flag);
        let cbr = LLVMBuildCondBr(b.0, rec, resume, back);
        crate::swt::set_branch_weights(m, cbr, 1, 1);
        LLVMPositionBuilderAtEnd(b.0, back);
        LLVMBuildRet(b.0, LLVMConstInt(i64t, 0, 0));

        // Returns: the result into the last field of `vars`, then 1.
        let nfields = LLVMCountStructElementTypes(sty);
        for &bb in &moved {
            let t = LLVMGetBasicBlockTerminator(bb);
            if t.is_null() || llvm::opcode(t) != LLVMOpcode::LLVMRet {
                continue;
            }
            LLVMPositionBuilderBefore(b.0, t);
            if LLVMGetNumOperands(t) == 1 {
                let p = LLVMBuildStructGEP2(b.0, sty, vars_p, nfields - 1, c"".as_ptr());
                LLVMBuildStore(b.0, LLVMGetOperand(t, 0), p);
            }
            LLVMBuildRet(b.0, LLVMConstInt(i64t, 1, 0));
            LLVMInstructionEraseFromParent(t);
        }
        LLVMDeleteFunction(body);
        Ok(Built {
            f: rs,
            blocks: moved,
        })
    }
}

/// Copies the function attributes of `from` to `to`.
fn copy_fn_attrs(from: LLVMValueRef, to: LLVMValueRef) {
    // SAFETY: every value is a live function, block, instruction or
    // constant of `m` (or of its copy), used through the LLVM C API.
    unsafe {
        let idx = llvm_sys::LLVMAttributeFunctionIndex;
        let n = LLVMGetAttributeCountAtIndex(from, idx);
        let mut attrs = vec![std::ptr::null_mut(); n as usize];
        LLVMGetAttributesAtIndex(from, idx, attrs.as_mut_ptr());
        for a in attrs {
            LLVMAddAttributeAtIndex(to, idx, a);
        }
    }
}

/// `i64 __yk_cp_switch.F(mt, loc, vars, idx)`: the fast interpreter
/// function's control point. Calls the runtime; if this thread is
/// recording afterwards, continues the activation in `resume`.
fn switch_wrapper(
    m: &Module,
    f: LLVMValueRef,
    rt_cp: LLVMValueRef,
    resume: LLVMValueRef,
    flag: LLVMValueRef,
) -> LLVMValueRef {
    // SAFETY: every value is a live function, block, instruction or
    // constant of `m` (or of its copy), used through the LLVM C API.
    unsafe {
        let ty = LLVMGlobalGetValueType(rt_cp);
        let name = CString::new(format!("__yk_cp_switch.{}", llvm::name(f))).unwrap();
        let w = LLVMAddFunction(m.m, name.as_ptr(), ty);
        LLVMSetLinkage(w, LLVMLinkage::LLVMInternalLinkage);
        m.add_fn_attr(w, "noinline");
        let entry = LLVMAppendBasicBlockInContext(m.ctx, w, c"entry".as_ptr());
        let rec = LLVMAppendBasicBlockInContext(m.ctx, w, c"recording".as_ptr());
        let done = LLVMAppendBasicBlockInContext(m.ctx, w, c"done".as_ptr());
        let b = m.builder();
        LLVMPositionBuilderAtEnd(b.0, entry);
        let n = LLVMCountParams(w);
        let mut args: Vec<LLVMValueRef> = (0..n).map(|k| LLVMGetParam(w, k)).collect();
        let r = LLVMBuildCall2(b.0, ty, rt_cp, args.as_mut_ptr(), n, c"r".as_ptr());
        let is_rec = recording(b.0, m, flag);
        LLVMBuildCondBr(b.0, is_rec, rec, done);
        LLVMPositionBuilderAtEnd(b.0, rec);
        let mut rargs = [LLVMGetParam(w, 2), r];
        let s = LLVMBuildCall2(
            b.0,
            LLVMGlobalGetValueType(resume),
            resume,
            rargs.as_mut_ptr(),
            2,
            c"".as_ptr(),
        );
        LLVMBuildRet(b.0, s);
        LLVMPositionBuilderAtEnd(b.0, done);
        LLVMBuildRet(b.0, r);
        w
    }
}

/// Repeats, before `at`, the debug records that say where `f`'s arguments
/// are (the first one of each argument), so that a debugger stopped in the
/// dispatch block (where a breakpoint on the function stops) still sees
/// them.
fn describe_arguments(m: &Module, f: LLVMValueRef, at: LLVMValueRef) {
    use llvm_sys::debuginfo::*;
    // SAFETY: `f` is a function of `m` and `at` an instruction of it; the
    // records read are `f`'s own.
    unsafe {
        if LLVMGetSubprogram(f).is_null() {
            return;
        }
        let mut seen = HashSet::new();
        let mut found = Vec::new();
        for i in blocks(f).into_iter().flat_map(instrs) {
            let mut r = LLVMGetFirstDbgRecord(i);
            while !r.is_null() {
                if LLVMDbgRecordGetKind(r) == llvm_sys::LLVMDbgRecordKind::LLVMDbgRecordValue {
                    let v = LLVMDbgVariableRecordGetValue(r, 0);
                    let loc = LLVMDbgRecordGetDebugLoc(r);
                    // `f`'s own variables (not those of a callee inlined
                    // into it), for an argument.
                    let own = !loc.is_null() && LLVMDILocationGetInlinedAt(loc).is_null();
                    if own && !v.is_null() && !LLVMIsAArgument(v).is_null() && seen.insert(v) {
                        found.push((
                            v,
                            LLVMDbgVariableRecordGetVariable(r),
                            LLVMDbgVariableRecordGetExpression(r),
                            LLVMDbgRecordGetDebugLoc(r),
                        ));
                    }
                }
                r = LLVMGetNextDbgRecord(r);
            }
        }
        if found.is_empty() {
            return;
        }
        let dib = LLVMCreateDIBuilderDisallowUnresolved(m.m);
        for (v, var, expr, loc) in found {
            LLVMDIBuilderInsertDbgValueRecordBefore(dib, v, var, expr, loc, at);
        }
        LLVMDisposeDIBuilder(dib);
    }
}

/// Gives each original (recording) function with a fast clone a new entry
/// block that tail-calls the clone when this thread's flag is clear. The
/// entry block's static allocas move into it (they must stay in the entry
/// block). Run after instrumentation: an outlined function's pause, and
/// block 0's hook, belong after the dispatch.
pub fn add_entry_dispatch(m: &Module, clones: &Clones, flag: LLVMValueRef) {
    let b = m.builder();
    let mut fns: Vec<_> = clones.fast.iter().map(|(&f, &c)| (f, c)).collect();
    fns.sort_by_key(|&(f, _)| llvm::name(f));
    for (f, fast) in fns {
        // SAFETY: every value is a live function, block, instruction or
        // constant of `m` (or of its copy), used through the LLVM C API.
        unsafe {
            let old_entry = LLVMGetEntryBasicBlock(f);
            let disp = LLVMInsertBasicBlockInContext(m.ctx, old_entry, c"yk_dispatch".as_ptr());
            let to_fast = LLVMAppendBasicBlockInContext(m.ctx, f, c"yk_to_fast".as_ptr());
            LLVMPositionBuilderAtEnd(b.0, disp);
            for i in instrs(old_entry) {
                if llvm::opcode(i) == LLVMOpcode::LLVMAlloca
                    && !LLVMIsAConstant(LLVMGetOperand(i, 0)).is_null()
                {
                    LLVMInstructionRemoveFromParent(i);
                    LLVMInsertIntoBuilder(b.0, i);
                }
            }
            // The dispatch is at the function's first source line, where
            // a debugger stops for a breakpoint on the function.
            let first_loc = blocks(f)
                .into_iter()
                .flat_map(instrs)
                .map(|i| llvm_sys::debuginfo::LLVMInstructionGetDebugLoc(i))
                .find(|&l| {
                    !l.is_null()
                        && llvm_sys::debuginfo::LLVMDILocationGetLine(l) != 0
                        && llvm_sys::debuginfo::LLVMDILocationGetInlinedAt(l).is_null()
                });
            let rec = recording(b.0, m, flag);
            let br = LLVMBuildCondBr(b.0, rec, old_entry, to_fast);
            describe_arguments(m, f, LLVMGetFirstInstruction(disp));
            crate::swt::set_branch_weights(m, br, 1, 1 << 20);
            LLVMPositionBuilderAtEnd(b.0, to_fast);
            let n = LLVMCountParams(f);
            let mut args: Vec<LLVMValueRef> = (0..n).map(|k| LLVMGetParam(f, k)).collect();
            let ty = LLVMGlobalGetValueType(f);
            let call = LLVMBuildCall2(b.0, ty, fast, args.as_mut_ptr(), n, c"".as_ptr());
            LLVMSetInstructionCallConv(call, LLVMGetFunctionCallConv(f));
            LLVMSetTailCall(call, 1);
            llvm::set_debug_loc(m, call, None);
            if let Some(l) = first_loc {
                for i in [LLVMGetOperand(rec, 0), rec, br, call] {
                    llvm_sys::debuginfo::LLVMInstructionSetDebugLoc(i, l);
                }
            }
            if LLVMGetTypeKind(LLVMGetReturnType(ty)) == llvm_sys::LLVMTypeKind::LLVMVoidTypeKind {
                LLVMBuildRetVoid(b.0);
            } else {
                LLVMBuildRet(b.0, call);
            }
        }
    }
}

/// The optimisation pipeline run over the fast clones ([`optimise`]): the
/// function simplification and loop passes of `-O2`, vectorisers included.
/// (The merged module was optimised with `yk_promote`'s calls and the
/// control point's call in it, opaque calls that keep values in memory
/// across them; in the fast clones the first are plain values and the
/// second is on a cold path. The module-level passes are left out: they
/// could change the originals, which must stay what the embedded IR says.)
pub const FAST_PIPELINE: &str = "function(sroa<modify-cfg>,early-cse<memssa>,simplifycfg,\
instcombine<no-verify-fixpoint>,jump-threading,correlated-propagation,simplifycfg,\
instcombine<no-verify-fixpoint>,reassociate,loop-mssa(licm<allowspeculation>),gvn,sccp,bdce,\
instcombine<no-verify-fixpoint>,jump-threading,correlated-propagation,adce,memcpyopt,dse,\
loop-mssa(licm<allowspeculation>),simplifycfg,instcombine<no-verify-fixpoint>,\
loop-vectorize,loop-load-elim,instcombine<no-verify-fixpoint>,simplifycfg,slp-vectorizer,\
vector-combine,instcombine<no-verify-fixpoint>,loop-unroll<O2>,instcombine<no-verify-fixpoint>,\
loop-mssa(licm<allowspeculation>),alignment-from-assumptions,instsimplify,div-rem-pairs,\
simplifycfg)";

/// Environment variable turning [`optimise`] off (for comparisons).
pub const NO_OPT_ENV: &str = "YKLD_NO_FAST_OPT";

/// What `yk_is_interpreting()` returns everywhere but in traces.
const IS_INTERPRETING: &str = yk_abi::names::IS_INTERPRETING;

/// `yk_is_fast_code()`: `true` in the fast clones, and the runtime's
/// function (`false`) everywhere else.
const IS_FAST_CODE: &str = yk_abi::names::IS_FAST_CODE;

/// Replaces the `yk_promote` calls in the fast clones by their values and
/// their `yk_is_interpreting()` and `yk_is_fast_code()` calls by `true` (fast code is never a
/// trace: traces are built from the embedded IR, where the call stays and
/// the trace builder makes it `false`), then re-optimises the fast clones
/// with the cost models of the target
/// ([`Module::run_passes_for_target`]): first the inliner, for calls of the
/// fast clones of `yk_outline` and `yk_idempotent` functions only (`ann`),
/// then [`FAST_PIPELINE`]. Those annotations' `noinline` (yk.h) is for
/// traces, which must call such a function; fast code may inline it, as a
/// plain build does (e.g. PUC Lua's table look-ups, outlined in `yklua`,
/// are inlined into its interpreter loop). So a fast clone of an annotated
/// function loses `noinline`, even one its author wrote besides the
/// annotation. Every other fast clone is `noinline` while the passes run
/// (the merged module's inliner already decided about them), and every
/// other function `optnone`, so that only the clones change.
pub fn optimise(m: &Module, clones: &Clones, ann: &annotations::Annotations) -> Result<()> {
    if clones.fast.is_empty() {
        return Ok(());
    }
    let fast = clones.hookless();
    for (name, by_value) in [
        (crate::swt::PROMOTE, true),
        (IS_INTERPRETING, false),
        (IS_FAST_CODE, false),
    ] {
        let Some(p) = m.function(name) else { continue };
        for (call, _) in llvm::uses(p) {
            // SAFETY: `call` is an instruction of `m` using `p`.
            unsafe {
                if llvm::called_function(call) != Some(p) || !LLVMIsAInvokeInst(call).is_null() {
                    continue;
                }
                let f = LLVMGetBasicBlockParent(LLVMGetInstructionParent(call));
                if fast.contains(&f) {
                    let v = if by_value {
                        LLVMGetOperand(call, 0)
                    } else {
                        LLVMConstInt(LLVMTypeOf(call), 1, 0)
                    };
                    LLVMReplaceAllUsesWith(call, v);
                    LLVMInstructionEraseFromParent(call);
                }
            }
        }
    }
    if std::env::var_os(NO_OPT_ENV).is_some() {
        return Ok(());
    }
    let opened: HashSet<LLVMValueRef> = clones
        .fast
        .iter()
        .filter(|(f, _)| ann.outline.contains(*f) || ann.idempotent.contains(*f))
        .map(|(_, &c)| c)
        .collect();
    for &c in &opened {
        m.remove_fn_attr(c, "noinline");
    }
    let mut added = Vec::new();
    let mut linkages = Vec::new();
    for f in m.functions() {
        // SAFETY: `f` is a function of `m`.
        if unsafe { LLVMIsDeclaration(f) } != 0 {
            continue;
        }
        if fast.contains(&f) {
            // External while the passes run: the inliner visits only the
            // functions reachable in the call graph from outside (and the
            // fast clones are not called yet: the entry dispatch comes
            // later), and would delete a local function it inlined
            // everywhere.
            // SAFETY: `f` is a function of `m`.
            unsafe {
                linkages.push((f, LLVMGetLinkage(f), LLVMGetVisibility(f)));
                LLVMSetLinkage(f, LLVMLinkage::LLVMExternalLinkage);
                LLVMSetVisibility(f, LLVMVisibility::LLVMHiddenVisibility);
            }
        }
        if opened.contains(&f) {
            continue;
        }
        let attrs: &[&str] = if fast.contains(&f) {
            &["noinline"]
        } else {
            &["optnone", "noinline"]
        };
        for &a in attrs {
            if !m.has_fn_attr(f, a) {
                m.add_fn_attr(f, a);
                added.push((f, a));
            }
        }
    }
    let inline = if opened.is_empty() {
        ""
    } else {
        "cgscc(inline),"
    };
    let r = m.run_passes_for_target(&format!("{inline}{FAST_PIPELINE}"));
    for (f, a) in added {
        m.remove_fn_attr(f, a);
    }
    restore_linkage(&linkages);
    r
}
