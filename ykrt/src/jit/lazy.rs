//! Lazy loading of the embedded module: the first trace pays for the
//! functions it touches, not for parsing the whole interpreter.
//!
//! The embedded bitcode is opened with LLVM's lazy reader (no copy: the
//! `yk_ir` section is static); a function's body is read the first time the
//! trace builder needs it ([`materialize`]: the control point's function,
//! each callee it inlines). Tools that walk every body (the `aot` and
//! `trace-blocks` IR logs, the PT block map) read them all at once
//! ([`materialize_all`]). Until a function is materialized it has no blocks
//! and `LLVMIsDeclaration` is false for it; nothing but the builder looks
//! at bodies, and the builder materializes before it looks.

use linker_plugin::llvm::Module;
use llvm_sys::prelude::*;
use std::ffi::{c_char, c_int, CStr};

extern "C" {
    // materialize.cpp.
    fn yk_llvm_materialize_function(f: LLVMValueRef, err: *mut *mut c_char) -> c_int;
    fn yk_llvm_materialize_all(m: LLVMModuleRef, err: *mut *mut c_char) -> c_int;
}

/// Takes LLVM's message out of `err`.
///
/// # Safety
/// `err` was set by one of the functions above.
unsafe fn message(err: *mut c_char) -> String {
    if err.is_null() {
        return "unknown error".into();
    }
    // SAFETY: LLVM made the message; we free it once.
    unsafe {
        let s = CStr::from_ptr(err).to_string_lossy().into_owned();
        llvm_sys::core::LLVMDisposeMessage(err);
        s
    }
}

/// Opens `bytes` (which live as long as the process: the embedded section)
/// as a lazily loaded module of context `ctx`.
pub fn parse_lazily(ctx: LLVMContextRef, bytes: &'static [u8]) -> Result<Module, String> {
    // SAFETY: the buffer refers to static memory and is owned by the module
    // (LLVM takes it over, also on failure); the context outlives the module.
    unsafe {
        let buf = llvm_sys::core::LLVMCreateMemoryBufferWithMemoryRange(
            bytes.as_ptr().cast(),
            bytes.len(),
            c"yk_ir".as_ptr(),
            0,
        );
        let mut m = std::ptr::null_mut();
        if llvm_sys::bit_reader::LLVMGetBitcodeModuleInContext2(ctx, buf, &mut m) != 0
            || m.is_null()
        {
            return Err("the embedded IR is not readable LLVM bitcode".into());
        }
        Ok(Module::from_raw_in(ctx, m))
    }
}

/// Reads function `f`'s body if it hasn't been yet.
pub fn materialize(f: LLVMValueRef) -> Result<(), String> {
    let mut err = std::ptr::null_mut();
    // SAFETY: `f` is a function of a live module, used under the compiler's
    // lock.
    if unsafe { yk_llvm_materialize_function(f, &mut err) } == 0 {
        Ok(())
    } else {
        // SAFETY: set by the call.
        Err(unsafe { message(err) })
    }
}

/// Reads every function body of `m`.
pub fn materialize_all(m: LLVMModuleRef) -> Result<(), String> {
    let mut err = std::ptr::null_mut();
    // SAFETY: `m` is a live module, used under the compiler's lock.
    if unsafe { yk_llvm_materialize_all(m, &mut err) } == 0 {
        Ok(())
    } else {
        // SAFETY: set by the call.
        Err(unsafe { message(err) })
    }
}
