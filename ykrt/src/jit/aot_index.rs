//! The LLVM side of the embedded IR's index (`aotir`): walks a parsed
//! module into an [`AotIndex`], and reads bitcode into one for the runtime
//! core ([`read`], registered with `aotir::set_reader` where the LLVM
//! compiler is set up).

use crate::aotir::{AotIndex, BlockInfo, Callee, FuncInfo, LoadError};
use llvm_sys::{
    core::*,
    prelude::{LLVMBasicBlockRef, LLVMModuleRef, LLVMValueRef},
    LLVMOpcode,
};
use std::{collections::HashMap, ffi::CStr};
use yk_llvm::Module;

/// The index of `module`.
pub fn index_module(module: &Module) -> AotIndex {
    // SAFETY: the module is alive and only read, by this thread.
    unsafe { index_raw(module.m) }
}

/// Parses `bitcode` and indexes it; also returns the module's text when
/// `want_text`. (The module is parsed in a private context and dropped:
/// LLVM contexts are not shareable between threads, and the index is what
/// the recorder and the checker need.)
pub fn read(bitcode: &[u8], want_text: bool) -> Result<(AotIndex, Option<String>), LoadError> {
    if bitcode.is_empty() {
        return Err(LoadError::NoIr);
    }
    let module = Module::parse_bytes(bitcode, yk_abi::ir_section::SECTION)
        .map_err(|e| LoadError::Parse(e.to_string()))?;
    let text = want_text.then(|| module.to_text());
    Ok((index_module(&module), text))
}

fn value_name(v: LLVMValueRef) -> String {
    let mut len = 0;
    // SAFETY: `v` is a live value; LLVM returns a pointer to `len` bytes.
    unsafe {
        let p = LLVMGetValueName2(v, &mut len);
        if p.is_null() {
            return String::new();
        }
        String::from_utf8_lossy(std::slice::from_raw_parts(p.cast::<u8>(), len)).into_owned()
    }
}

/// Walk the module with the C API.
///
/// # Safety
/// `m` is a live module, not used by another thread meanwhile.
unsafe fn index_raw(m: LLVMModuleRef) -> AotIndex {
    // SAFETY: `index_raw`'s contract: `m` is a live module that no other thread
    // uses meanwhile (yk-llvm rules 2 and 4); the loops only read its function,
    // block and global lists, and `index_block` and `annotations` get blocks of
    // its functions and `m` itself.
    unsafe {
        let mut fvals = Vec::new();
        let mut f = LLVMGetFirstFunction(m);
        while !f.is_null() {
            fvals.push(f);
            f = LLVMGetNextFunction(f);
        }
        let fidx: HashMap<LLVMValueRef, u32> = fvals
            .iter()
            .enumerate()
            .map(|(i, f)| (*f, i as u32))
            .collect();
        let (outline, idempotent) = annotations(m);

        let mut funcs = Vec::with_capacity(fvals.len());
        for &f in &fvals {
            let mut bbs = Vec::new();
            let mut bb = LLVMGetFirstBasicBlock(f);
            while !bb.is_null() {
                bbs.push(bb);
                bb = LLVMGetNextBasicBlock(bb);
            }
            let bidx: HashMap<LLVMBasicBlockRef, u32> = bbs
                .iter()
                .enumerate()
                .map(|(i, b)| (*b, i as u32))
                .collect();
            let blocks = bbs
                .iter()
                .map(|&bb| index_block(bb, &bidx, &fidx))
                .collect();
            funcs.push(FuncInfo {
                name: value_name(f),
                is_decl: LLVMIsDeclaration(f) != 0,
                is_intrinsic: LLVMGetIntrinsicID(f) != 0,
                is_varargs: LLVMIsFunctionVarArg(LLVMGlobalGetValueType(f)) != 0,
                outline: outline.contains(&f),
                idempotent: idempotent.contains(&f),
                blocks,
            });
        }

        let mut nglobals = 0;
        let mut g = LLVMGetFirstGlobal(m);
        while !g.is_null() {
            nglobals += 1;
            g = LLVMGetNextGlobal(g);
        }
        AotIndex::new(funcs, nglobals)
    }
}

unsafe fn index_block(
    bb: LLVMBasicBlockRef,
    bidx: &HashMap<LLVMBasicBlockRef, u32>,
    fidx: &HashMap<LLVMValueRef, u32>,
) -> BlockInfo {
    // SAFETY: `bb` is a live block of the module `index_raw` walks, used by
    // this thread only (yk-llvm rules 2 and 4); its name is a NUL-terminated
    // string owned by the block, copied before the next call (rule 5); the
    // called value is read only for call-like opcodes, and the terminator is
    // checked non-null before its successors (`s` below their count) are read.
    unsafe {
        let name = CStr::from_ptr(LLVMGetBasicBlockName(bb)).to_string_lossy();
        let mut info = BlockInfo {
            name: (!name.is_empty()).then(|| name.into_owned()),
            ..Default::default()
        };
        let mut i = LLVMGetFirstInstruction(bb);
        while !i.is_null() {
            match LLVMGetInstructionOpcode(i) {
                LLVMOpcode::LLVMCall | LLVMOpcode::LLVMInvoke | LLVMOpcode::LLVMCallBr => {
                    let callee = LLVMGetCalledValue(i);
                    if LLVMIsAInlineAsm(callee).is_null() {
                        info.calls.push(match fidx.get(&callee) {
                            Some(f) => Callee::Direct(*f),
                            None => Callee::Indirect,
                        });
                    }
                }
                LLVMOpcode::LLVMRet => info.returns = true,
                _ => (),
            }
            i = LLVMGetNextInstruction(i);
        }
        let term = LLVMGetBasicBlockTerminator(bb);
        if !term.is_null() {
            for s in 0..LLVMGetNumSuccessors(term) {
                let b = bidx[&LLVMGetSuccessor(term, s)];
                if !info.succs.contains(&b) {
                    info.succs.push(b);
                }
            }
        }
        info
    }
}

/// The functions annotated `yk_outline` and `yk_idempotent` in
/// `llvm.global.annotations` (an array of `{ ptr fn, ptr str, ptr file, i32 line,
/// ptr args }`).
unsafe fn annotations(m: LLVMModuleRef) -> (Vec<LLVMValueRef>, Vec<LLVMValueRef>) {
    let (mut outline, mut idempotent) = (Vec::new(), Vec::new());
    // SAFETY: `m` is the live module `index_raw` walks (its contract, yk-llvm
    // rules 2 and 4). The global and its initializer are checked non-null;
    // operands are read below their counts (an entry is checked to have two);
    // the string is read only from a `ConstantDataSequential` initializer of a
    // global variable, and its `len` bytes, owned by that constant, are used
    // before any other LLVM call (rule 5).
    unsafe {
        let g = LLVMGetNamedGlobal(m, c"llvm.global.annotations".as_ptr());
        if g.is_null() || LLVMGetInitializer(g).is_null() {
            return (outline, idempotent);
        }
        let arr = LLVMGetInitializer(g);
        for e in 0..LLVMGetNumOperands(arr) {
            let elt = LLVMGetOperand(arr, e as u32);
            if LLVMGetNumOperands(elt) < 2 {
                continue;
            }
            let f = strip_casts(LLVMGetOperand(elt, 0));
            let s = strip_casts(LLVMGetOperand(elt, 1));
            if LLVMIsAFunction(f).is_null() || LLVMIsAGlobalVariable(s).is_null() {
                continue;
            }
            let init = LLVMGetInitializer(s);
            if init.is_null() || LLVMIsAConstantDataSequential(init).is_null() {
                continue;
            }
            let mut len = 0;
            let p = LLVMGetAsString(init, &mut len);
            if p.is_null() {
                continue;
            }
            let bytes = std::slice::from_raw_parts(p.cast::<u8>(), len);
            match bytes.strip_suffix(b"\0").unwrap_or(bytes) {
                t if t == yk_abi::names::ANNOT_OUTLINE.as_bytes() => outline.push(f),
                t if t == yk_abi::names::ANNOT_IDEMPOTENT.as_bytes() => idempotent.push(f),
                _ => (),
            }
        }
    }
    (outline, idempotent)
}

unsafe fn strip_casts(mut v: LLVMValueRef) -> LLVMValueRef {
    // SAFETY: `v` is a live constant of the module `index_raw` walks (yk-llvm
    // rule 2); operand 0 is read only from a constant expression that has
    // operands.
    unsafe {
        while !LLVMIsAConstantExpr(v).is_null() && LLVMGetNumOperands(v) > 0 {
            v = LLVMGetOperand(v, 0);
        }
    }
    v
}
