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

use llvm_sys::prelude::*;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::fmt;
use std::sync::Mutex;
use yk_llvm::Module;

/// Why the embedded module could not be opened or a function body read.
/// The strings are LLVM's messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LazyError {
    /// The bytes are not LLVM bitcode (with the errors LLVM's diagnostic
    /// handler kept, if any).
    NotBitcode(Option<String>),
    /// A function body could not be read: LLVM's message, and the errors
    /// the diagnostic handler kept, if any.
    Read {
        /// The failing call's message.
        msg: String,
        /// The diagnostics, joined.
        diagnostics: Option<String>,
    },
}

impl fmt::Display for LazyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LazyError::NotBitcode(None) => f.write_str("the embedded IR is not valid LLVM bitcode"),
            LazyError::NotBitcode(Some(d)) => {
                write!(f, "the embedded IR is not valid LLVM bitcode: {d}")
            }
            LazyError::Read {
                msg,
                diagnostics: None,
            } => f.write_str(msg),
            LazyError::Read {
                msg,
                diagnostics: Some(d),
            } => write!(f, "{msg}: {d}"),
        }
    }
}

impl std::error::Error for LazyError {}

/// Errors LLVM reported through the context's diagnostic handler since the
/// last call of [`take_diagnostics`].
static DIAGNOSTICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The compiler context's diagnostic handler. Without one, LLVM reports an
/// error (e.g. damaged bitcode met while reading a function's body) by
/// printing it and calling `exit(1)`; errors are kept for the failing call to
/// return instead, other diagnostics (warnings, remarks) dropped.
extern "C" fn keep_errors(di: LLVMDiagnosticInfoRef, _data: *mut c_void) {
    // SAFETY: LLVM passes a live diagnostic; its description is ours to free.
    unsafe {
        if llvm_sys::core::LLVMGetDiagInfoSeverity(di)
            != llvm_sys::LLVMDiagnosticSeverity::LLVMDSError
        {
            return;
        }
        let msg = message(llvm_sys::core::LLVMGetDiagInfoDescription(di));
        DIAGNOSTICS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(msg);
    }
}

/// The errors kept by [`keep_errors`], joined, if any.
fn take_diagnostics() -> Option<String> {
    let mut d = DIAGNOSTICS.lock().unwrap_or_else(|e| e.into_inner());
    (!d.is_empty()).then(|| std::mem::take(&mut *d).join("; "))
}

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
///
/// Installs a diagnostic handler on `ctx` for the rest of its life, so that
/// LLVM's errors become `Err`s of this module's functions.
pub fn parse_lazily(ctx: LLVMContextRef, bytes: &'static [u8]) -> Result<Module, LazyError> {
    // SAFETY: the buffer refers to static memory and is owned by the module
    // (LLVM takes it over, also on failure); the context outlives the module;
    // the handler uses no context data.
    unsafe {
        llvm_sys::core::LLVMContextSetDiagnosticHandler(
            ctx,
            Some(keep_errors),
            std::ptr::null_mut(),
        );
        // The buffer is named after the section the bitcode came from.
        let name = std::ffi::CString::new(yk_abi::ir_section::SECTION).unwrap();
        let buf = llvm_sys::core::LLVMCreateMemoryBufferWithMemoryRange(
            bytes.as_ptr().cast(),
            bytes.len(),
            name.as_ptr(),
            0,
        );
        let mut m = std::ptr::null_mut();
        if llvm_sys::bit_reader::LLVMGetBitcodeModuleInContext2(ctx, buf, &mut m) != 0
            || m.is_null()
        {
            return Err(LazyError::NotBitcode(take_diagnostics()));
        }
        Ok(Module::from_raw_in(ctx, m))
    }
}

/// Reads function `f`'s body if it hasn't been yet.
pub fn materialize(f: LLVMValueRef) -> Result<(), LazyError> {
    let mut err = std::ptr::null_mut();
    // SAFETY: `f` is a function of a live module, used under the compiler's
    // lock; `err` is set by the call when it fails.
    unsafe { outcome(yk_llvm_materialize_function(f, &mut err), err) }
}

/// Reads every function body of `m`.
pub fn materialize_all(m: LLVMModuleRef) -> Result<(), LazyError> {
    let mut err = std::ptr::null_mut();
    // SAFETY: `m` is a live module, used under the compiler's lock; `err` is
    // set by the call when it fails.
    unsafe { outcome(yk_llvm_materialize_all(m, &mut err), err) }
}

/// The result of a call of `materialize.cpp` that returned `rc` and, on
/// failure, LLVM's message in `err`, with any errors the diagnostic handler
/// kept.
///
/// # Safety
/// `err` is as the call left it.
unsafe fn outcome(rc: c_int, err: *mut c_char) -> Result<(), LazyError> {
    if rc == 0 {
        return Ok(());
    }
    // SAFETY: the call set `err`.
    let msg = unsafe { message(err) };
    Err(LazyError::Read {
        msg,
        diagnostics: take_diagnostics(),
    })
}
