//! Embeds the AOT IR and its address tables into the binary.
//!
//! The runtime needs the interpreter's own IR (to build traces from) and the
//! run-time address of every global and function in it (so a trace can use a
//! `static` function or variable without anything being exported). Both are
//! added to the module as data, and a constructor hands them to the runtime
//! through `__yk_register_aot` (see docs/abi.md).

use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::LLVMLinkage;
use std::ffi::CString;
use yk_llvm::{self as llvm, Module};

use yk_abi::{aot_info, ir_section, names};

/// Can the address of this global or function be taken in the final binary?
/// Intrinsics have none; thread-locals have one per thread; an unused
/// declaration may have no definition anywhere in the link, and an unused
/// definition may be dropped by LTO (nothing in the IR, so no trace, can
/// refer to it anyway).
fn addressable(v: LLVMValueRef) -> bool {
    let n = llvm::name(v);
    // SAFETY: `v` is a live global or function of `m` (yk-llvm rule 2;
    // `embed`'s lists); the section name LLVM returns is checked non-null and
    // read at once, before any other call (rule 5), and `LLVMIsThreadLocal` is
    // called only on a global variable.
    unsafe {
        if n.starts_with("llvm.") {
            return false;
        }
        // Annotation strings and the like are dropped by codegen.
        let sec = LLVMGetSection(v);
        if !sec.is_null() && std::ffi::CStr::from_ptr(sec).to_bytes() == b"llvm.metadata" {
            return false;
        }
        if !LLVMIsAGlobalVariable(v).is_null() && LLVMIsThreadLocal(v) != 0 {
            return false;
        }
        if LLVMGetFirstUse(v).is_null() {
            return false;
        }
        if LLVMGetLinkage(v) == LLVMLinkage::LLVMAvailableExternallyLinkage {
            return false;
        }
    }
    true
}

/// A private constant `[N x ptr]` with the address of each of `vals` (null
/// where not addressable).
fn address_table(m: &Module, name: &str, vals: &[LLVMValueRef]) -> LLVMValueRef {
    // SAFETY: `vals` are live globals or functions of `m` (yk-llvm rule 2),
    // pointers all, like the nulls of `m`'s pointer type that replace the
    // others, so the array's elements are of its element type `p`.
    unsafe {
        let p = m.ptr_ty();
        let mut elems: Vec<LLVMValueRef> = vals
            .iter()
            .map(|&v| if addressable(v) { v } else { LLVMConstNull(p) })
            .collect();
        let init = LLVMConstArray2(p, elems.as_mut_ptr(), elems.len() as u64);
        private_constant(m, name, init)
    }
}

fn private_constant(m: &Module, name: &str, init: LLVMValueRef) -> LLVMValueRef {
    // SAFETY: `init` is a constant of `m`'s context (yk-llvm rule 2) and the
    // new global, added to the live `m.m`, gets its type; `cname` is
    // NUL-terminated and outlives the call.
    unsafe {
        let cname = CString::new(name).unwrap();
        let g = LLVMAddGlobal(m.m, LLVMTypeOf(init), cname.as_ptr());
        LLVMSetInitializer(g, init);
        LLVMSetGlobalConstant(g, 1);
        LLVMSetLinkage(g, LLVMLinkage::LLVMPrivateLinkage);
        g
    }
}

/// Adds the software-tracing flag (a local-exec thread-local byte) and
/// `__yk_swt_flag_addr()`, which returns the calling thread's copy.
pub fn add_swt_flag(m: &Module) -> (LLVMValueRef, LLVMValueRef) {
    // SAFETY: every type, constant, global, function and block here is made in
    // the live `m` and its context (yk-llvm rules 1 and 2), and the builder
    // (made in the same context) inserts only into the new function's block.
    unsafe {
        let i8t = m.int_ty(8);
        let name = CString::new(names::SWT_FLAG).unwrap();
        let flag = LLVMAddGlobal(m.m, i8t, name.as_ptr());
        LLVMSetInitializer(flag, LLVMConstInt(i8t, 0, 0));
        LLVMSetLinkage(flag, LLVMLinkage::LLVMInternalLinkage);
        LLVMSetThreadLocalMode(flag, llvm_sys::LLVMThreadLocalMode::LLVMLocalExecTLSModel);
        let ty = LLVMFunctionType(m.ptr_ty(), std::ptr::null_mut(), 0, 0);
        let f = LLVMAddFunction(m.m, c"__yk_swt_flag_addr".as_ptr(), ty);
        LLVMSetLinkage(f, LLVMLinkage::LLVMInternalLinkage);
        let bb = LLVMAppendBasicBlockInContext(m.ctx, f, c"entry".as_ptr());
        let b = m.builder();
        LLVMPositionBuilderAtEnd(b.0, bb);
        LLVMBuildRet(b.0, flag);
        (flag, f)
    }
}

/// Adds the embedded IR, the address tables, the `YkAotInfo` struct and the
/// constructor registering it. `ir` is the bitcode of `m` as it was before
/// instrumentation (less than 4 GiB), embedded after the header of
/// [`crate::ir_section`]; `funcs` and `globals` are `m`'s functions and globals at
/// that time, in order.
pub fn embed(
    m: &Module,
    ir: &[u8],
    funcs: &[LLVMValueRef],
    globals: &[LLVMValueRef],
    swt_flag_addr: LLVMValueRef,
) {
    // SAFETY: every handle here is made in, or (`funcs`, `globals`,
    // `swt_flag_addr`) belongs to, the live `m` and its context (yk-llvm rule
    // 2); `section` outlives the `LLVMConstStringInContext2` that copies its
    // `section.len()` bytes; the struct's field values match `YkAotInfo`'s
    // layout (aot_info), and the call passes `reg_ty`'s one pointer argument.
    unsafe {
        let i64t = m.int_ty(64);
        let p = m.ptr_ty();
        let section = crate::ir_section::wrap(ir);
        // A constant data array (not one constant per byte: the IR can be
        // megabytes).
        let data = LLVMConstStringInContext2(
            m.ctx,
            section.as_ptr() as *const _,
            section.len(),
            1, /* no NUL */
        );
        let ir_g = private_constant(m, "__yk_ir", data);
        let sec = CString::new(ir_section::SECTION).unwrap();
        LLVMSetSection(ir_g, sec.as_ptr());
        LLVMSetAlignment(ir_g, 16);

        let gtab = address_table(m, "__yk_globals", globals);
        let ftab = address_table(m, "__yk_funcs", funcs);

        let mut fields: [_; aot_info::NFIELDS] = [
            LLVMConstInt(i64t, aot_info::VERSION, 0),
            ir_g,
            LLVMConstInt(i64t, section.len() as u64, 0),
            gtab,
            LLVMConstInt(i64t, globals.len() as u64, 0),
            ftab,
            LLVMConstInt(i64t, funcs.len() as u64, 0),
            swt_flag_addr,
        ];
        let info_init =
            LLVMConstStructInContext(m.ctx, fields.as_mut_ptr(), aot_info::NFIELDS as u32, 0);
        let info = private_constant(m, "__yk_aot_info", info_init);

        // void __yk_aot_ctor(void) { __yk_register_aot(&__yk_aot_info); }
        let mut reg_params = [p];
        let reg_ty = LLVMFunctionType(m.void_ty(), reg_params.as_mut_ptr(), 1, 0);
        let reg = m.get_or_declare(names::REGISTER_AOT, reg_ty);
        let ctor_ty = LLVMFunctionType(m.void_ty(), std::ptr::null_mut(), 0, 0);
        let ctor = LLVMAddFunction(m.m, c"__yk_aot_ctor".as_ptr(), ctor_ty);
        LLVMSetLinkage(ctor, LLVMLinkage::LLVMInternalLinkage);
        let bb = LLVMAppendBasicBlockInContext(m.ctx, ctor, c"entry".as_ptr());
        let b = m.builder();
        LLVMPositionBuilderAtEnd(b.0, bb);
        let mut args = [info];
        LLVMBuildCall2(b.0, reg_ty, reg, args.as_mut_ptr(), 1, c"".as_ptr());
        LLVMBuildRetVoid(b.0);
        append_global_ctor(m, ctor);
    }
}

/// Appends `f` (priority 65535, i.e. ordinary) to `llvm.global_ctors`.
fn append_global_ctor(m: &Module, f: LLVMValueRef) {
    // SAFETY: `m` and `f` are live (yk-llvm rule 2). The old
    // `llvm.global_ctors` entries are constants of the context, which stay
    // valid once their global is deleted (rule 2: constants belong to the
    // context), and the new array's entries are all of `{ i32, ptr, ptr }`, the
    // literal struct type the old ones have too.
    unsafe {
        let i32t = m.int_ty(32);
        let p = m.ptr_ty();
        let mut ety = [i32t, p, p];
        let entry_ty = LLVMStructTypeInContext(m.ctx, ety.as_mut_ptr(), 3, 0);
        let mut entries = Vec::new();
        if let Some(old) = m.global("llvm.global_ctors") {
            let init = LLVMGetInitializer(old);
            if !init.is_null() {
                for k in 0..LLVMGetNumOperands(init) as u32 {
                    entries.push(LLVMGetOperand(init, k));
                }
            }
            LLVMDeleteGlobal(old);
        }
        let mut fields = [LLVMConstInt(i32t, 65535, 0), f, LLVMConstNull(p)];
        entries.push(LLVMConstNamedStruct(entry_ty, fields.as_mut_ptr(), 3));
        let arr = LLVMConstArray2(entry_ty, entries.as_mut_ptr(), entries.len() as u64);
        let g = LLVMAddGlobal(m.m, LLVMTypeOf(arr), c"llvm.global_ctors".as_ptr());
        LLVMSetInitializer(g, arr);
        LLVMSetLinkage(g, LLVMLinkage::LLVMAppendingLinkage);
    }
}
