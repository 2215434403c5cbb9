//! Reads the `yk_outline` / `yk_idempotent` annotations.
//!
//! `yk.h` spells both as clang `annotate("...")` attributes, which clang
//! collects in the `llvm.global.annotations` array as
//! `{ ptr function, ptr string, ptr file, i32 line, ptr args }` entries. LTO
//! keeps that array, so the merged module still says which function carries
//! which annotation.

use llvm_sys::core::*;
use llvm_sys::prelude::*;
use std::collections::HashSet;
use yk_llvm::{self as llvm, Module};

/// The functions carrying each annotation yk knows.
#[derive(Default, Debug)]
pub struct Annotations {
    /// Functions a trace must call rather than inline.
    pub outline: HashSet<LLVMValueRef>,
    /// Functions whose result depends only on their arguments.
    pub idempotent: HashSet<LLVMValueRef>,
}

/// Collects the annotations of `m`.
pub fn read(m: &Module) -> Annotations {
    let mut out = Annotations::default();
    let Some(g) = m.global("llvm.global.annotations") else {
        return out;
    };
    // SAFETY: `g` is a live global of `m` (yk-llvm rule 2); its initializer is
    // checked non-null, each entry is checked to have at least two operands
    // before operands 0 and 1 are read, and a target is kept only if it is a
    // function.
    unsafe {
        let init = LLVMGetInitializer(g);
        if init.is_null() {
            return out;
        }
        let n = LLVMGetNumOperands(init) as u32;
        for k in 0..n {
            let entry = LLVMGetOperand(init, k);
            if LLVMGetNumOperands(entry) < 2 {
                continue;
            }
            let target = LLVMGetOperand(entry, 0);
            if LLVMIsAFunction(target).is_null() {
                continue;
            }
            match annotation_text(LLVMGetOperand(entry, 1)).as_deref() {
                Some(t) if t == yk_abi::names::ANNOT_OUTLINE => {
                    out.outline.insert(target);
                }
                Some(t) if t == yk_abi::names::ANNOT_IDEMPOTENT => {
                    out.idempotent.insert(target);
                }
                _ => {}
            }
        }
    }
    out
}

/// The string an annotation entry points to.
fn annotation_text(v: LLVMValueRef) -> Option<String> {
    // SAFETY: `v` is a live value of the module (yk-llvm rule 2); it is checked
    // to be a global variable before its initializer is read, and that to be a
    // constant string before `LLVMGetAsString`, whose `len` bytes (owned by the
    // constant) are copied at once (rule 5).
    unsafe {
        if LLVMIsAGlobalVariable(v).is_null() {
            return None;
        }
        let init = LLVMGetInitializer(v);
        if init.is_null() || LLVMIsConstantString(init) == 0 {
            return None;
        }
        let mut len = 0;
        let p = LLVMGetAsString(init, &mut len);
        let bytes = std::slice::from_raw_parts(p as *const u8, len);
        let s = String::from_utf8_lossy(bytes);
        Some(s.trim_end_matches('\0').to_owned())
    }
}

/// Is `f` one of the runtime's own entry points or an LLVM intrinsic, which
/// are never instrumented or traced into?
pub fn is_runtime_or_intrinsic(f: LLVMValueRef) -> bool {
    let n = llvm::name(f);
    n.starts_with("llvm.") || n.starts_with("__yk") || n.starts_with("yk_")
}

/// Annotates each of `fns` `yk_outline` in `llvm.global.annotations`, as
/// clang does for `__attribute__((annotate("yk_outline")))`: they are then
/// neither instrumented nor, as the embedded IR says so too, inlined into
/// traces. For functions that are not the interpreter's own code
/// ([`crate::own_code`]).
pub fn mark_outline(m: &Module, fns: &[LLVMValueRef]) {
    if fns.is_empty() {
        return;
    }
    // SAFETY: `fns` are live functions of `m` and every type, constant and
    // global is made in `m` and its context (yk-llvm rule 2). The old entries
    // are constants, which stay valid after their global is deleted (constants
    // belong to the context), and they are kept only if all have the entry type
    // `ety`, the type of the new entries too.
    unsafe {
        let p = m.ptr_ty();
        let i32t = m.int_ty(32);
        let mut fields = [p, p, p, i32t, p];
        let ety = LLVMStructTypeInContext(m.ctx, fields.as_mut_ptr(), 5, 0);
        let mut entries = Vec::new();
        if let Some(old) = m.global("llvm.global.annotations") {
            let init = LLVMGetInitializer(old);
            if !init.is_null() {
                for k in 0..LLVMGetNumOperands(init) as u32 {
                    entries.push(LLVMGetOperand(init, k));
                }
            }
            // Entries clang wrote have this same literal struct type; should
            // some producer differ, leave the array alone (the functions are
            // then instrumented and inlinable, which is consistent too).
            if entries.iter().any(|&e| LLVMTypeOf(e) != ety) {
                return;
            }
            LLVMDeleteGlobal(old);
        }
        let text = yk_abi::names::ANNOT_OUTLINE;
        let s = LLVMConstStringInContext2(m.ctx, text.as_ptr().cast(), text.len(), 0);
        let sg = LLVMAddGlobal(m.m, LLVMTypeOf(s), c"__yk_outline_annotation".as_ptr());
        LLVMSetInitializer(sg, s);
        LLVMSetGlobalConstant(sg, 1);
        LLVMSetLinkage(sg, llvm_sys::LLVMLinkage::LLVMPrivateLinkage);
        LLVMSetSection(sg, c"llvm.metadata".as_ptr());
        for &f in fns {
            let mut e = [
                f,
                sg,
                LLVMConstNull(p),
                LLVMConstInt(i32t, 0, 0),
                LLVMConstNull(p),
            ];
            entries.push(LLVMConstStructInContext(m.ctx, e.as_mut_ptr(), 5, 0));
        }
        let arr = LLVMConstArray2(ety, entries.as_mut_ptr(), entries.len() as u64);
        let g = LLVMAddGlobal(m.m, LLVMTypeOf(arr), c"llvm.global.annotations".as_ptr());
        LLVMSetInitializer(g, arr);
        LLVMSetLinkage(g, llvm_sys::LLVMLinkage::LLVMAppendingLinkage);
        LLVMSetSection(g, c"llvm.metadata".as_ptr());
    }
}
