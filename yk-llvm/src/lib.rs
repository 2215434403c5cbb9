//! The only home of raw LLVM in yk: thin helpers over the LLVM C API (llvm-sys)
//! shared by yk-ld's link-time passes (`linker-plugin`) and the runtime's trace
//! compiler (`ykrt::jit`, `ykrt::deopt::decode`, `ykrt::aotir`), and the liveness
//! analysis ([`liveness`]) both need. Nothing here knows about yk's contracts
//! (those are `yk-abi`'s) or the runtime.
//!
//! # Safety rules
//!
//! LLVM's handles (`LLVMContextRef`, `LLVMModuleRef`, `LLVMValueRef`,
//! `LLVMBasicBlockRef`, `LLVMTypeRef`, `LLVMMetadataRef`, ...) are opaque pointers
//! that Rust never dereferences; they are passed around by value, as the C API
//! does. The helpers taking them are safe functions (hence
//! `clippy::not_unsafe_ptr_arg_deref` is allowed crate-wide) under these rules,
//! which every caller keeps and every `unsafe` block in this crate relies on (its
//! `SAFETY` comment, where it has one, says only what goes beyond them):
//!
//! 1. **Ownership.** A module is owned by exactly one [`Module`] (or, after
//!    [`Module::into_raw`], by whoever took it, e.g. ORC), and its context by the
//!    [`Module`] that created it (`parse_*`) or by the caller (`*_in`). Dropping
//!    the owner disposes of it; nothing else does.
//! 2. **Lifetime.** A value, block, type or metadata handle is valid only while
//!    the module (for values and blocks) or context (for types, constants and
//!    metadata) it belongs to is alive, and a value only until it is erased. No
//!    handle is kept past its owner: the runtime keys per-module data by module
//!    and drops it with the module.
//! 3. **Kind.** A helper's handle arguments are of the kind its name and
//!    documentation say (an instruction for [`opcode`], a function for
//!    [`blocks`], a block for [`instrs`], ...); LLVM's C API does not check.
//! 4. **Threads.** A context, and everything in it, is used by one thread at a
//!    time (LLVM contexts are not thread-safe); a handle may move between threads
//!    only with its whole context, under a lock or by hand-over.
//! 5. **Messages.** Strings LLVM allocates for us are copied and freed at once
//!    ([`take_message`]); strings LLVM owns (names, file names) are copied before
//!    the next call that could change them.

// See rule 3 above: the handles are not Rust pointers we dereference.
#![allow(clippy::not_unsafe_ptr_arg_deref)]
#![warn(missing_docs)]

pub mod liveness;

use anyhow::{bail, Result};
use llvm_sys::bit_reader::LLVMParseBitcodeInContext2;
use llvm_sys::bit_writer::{LLVMWriteBitcodeToFile, LLVMWriteBitcodeToMemoryBuffer};
use llvm_sys::core::*;
use llvm_sys::prelude::*;
use llvm_sys::transforms::pass_builder::*;
use llvm_sys::{LLVMOpcode, LLVMTypeKind};
use std::ffi::{CStr, CString};
use std::path::Path;

/// An LLVM module, and the context it lives in, which it may own.
pub struct Module {
    /// The context the module lives in (disposed with the module if owned).
    pub ctx: LLVMContextRef,
    /// The module (owned).
    pub m: LLVMModuleRef,
    owns_ctx: bool,
}

/// A diagnostic handler that appends the message to the `Vec<String>` at `data`.
extern "C" fn collect_diagnostic(di: LLVMDiagnosticInfoRef, data: *mut std::ffi::c_void) {
    // SAFETY: `parse_bytes_in` installs this handler with a live `Vec<String>`
    // as `data` and removes it before the vector goes away; LLVM passes a live
    // diagnostic, whose description is ours to free.
    unsafe {
        let msg = take_message(LLVMGetDiagInfoDescription(di));
        (*data.cast::<Vec<String>>()).push(msg);
    }
}

impl Module {
    /// Parses a bitcode file into a fresh context.
    pub fn parse_file(path: &Path) -> Result<Module> {
        let bytes = std::fs::read(path)?;
        Self::parse_bytes(&bytes, &path.display().to_string())
    }

    /// Parses bitcode from memory into a fresh context.
    pub fn parse_bytes(bytes: &[u8], name: &str) -> Result<Module> {
        // SAFETY: creating a context has no preconditions; `ctx` is ours until
        // the returned `Module` takes it over (rule 1) or it is disposed below.
        let ctx = unsafe { LLVMContextCreate() };
        match Self::parse_bytes_in(ctx, bytes, name) {
            Ok(mut m) => {
                m.owns_ctx = true;
                Ok(m)
            }
            Err(e) => {
                // SAFETY: `ctx` was created above and the parse failed, so no
                // module of it exists and nobody else owns it (rule 1): it is
                // disposed once, here, and not used again.
                unsafe { LLVMContextDispose(ctx) };
                Err(e)
            }
        }
    }

    /// Parses textual LLVM IR (used by tests).
    #[allow(deprecated)]
    pub fn parse_ir(text: &str) -> Result<Module> {
        use llvm_sys::ir_reader::LLVMParseIRInContext;
        // SAFETY: the context is fresh and ours (rule 1); LLVM copies
        // `text.len()` bytes of `text` into the buffer, which
        // `LLVMParseIRInContext` takes over; `msg` is an LLVM-allocated message
        // that `take_message` copies and frees (rule 5); on failure the
        // context, holding no module, is disposed once, and on success the
        // returned `Module` owns both module and context.
        unsafe {
            let ctx = LLVMContextCreate();
            let buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(
                text.as_ptr() as *const _,
                text.len(),
                c"ir".as_ptr(),
            );
            let mut m = std::ptr::null_mut();
            let mut msg = std::ptr::null_mut();
            // LLVMParseIRInContext takes ownership of the buffer.
            if LLVMParseIRInContext(ctx, buf, &mut m, &mut msg) != 0 {
                let text = take_message(msg);
                LLVMContextDispose(ctx);
                bail!("invalid IR: {text}");
            }
            Ok(Module {
                ctx,
                m,
                owns_ctx: true,
            })
        }
    }

    /// An empty module in an existing context (which stays the caller's).
    pub fn new_in(ctx: LLVMContextRef, name: &str) -> Module {
        let n = CString::new(name).unwrap();
        // SAFETY: `ctx` is a live context that the caller owns and uses on this
        // thread (rules 1 and 4); `n` is a NUL-terminated name that outlives
        // the call (LLVM copies it); the new module is owned by the returned
        // `Module`.
        let m = unsafe { LLVMModuleCreateWithNameInContext(n.as_ptr(), ctx) };
        Module {
            ctx,
            m,
            owns_ctx: false,
        }
    }

    /// Takes ownership of module `m` of context `ctx` (which stays the
    /// caller's).
    ///
    /// # Safety
    /// `m` is a live module of `ctx` that nobody else owns.
    pub unsafe fn from_raw_in(ctx: LLVMContextRef, m: LLVMModuleRef) -> Module {
        Module {
            ctx,
            m,
            owns_ctx: false,
        }
    }

    /// Parses bitcode into an existing context (which stays the caller's).
    pub fn parse_bytes_in(ctx: LLVMContextRef, bytes: &[u8], name: &str) -> Result<Module> {
        // SAFETY: `ctx` is a live context that the caller owns and uses on this
        // thread (rules 1 and 4). LLVM copies `bytes` into `buf`, which the
        // parse only reads and which is disposed after it.
        // `collect_diagnostic`'s data is `diags`, which lives until the end of
        // this block, and the old handler is put back right after the parse,
        // before any return. On success the returned `Module` owns the parsed
        // module.
        unsafe {
            let cname = CString::new(name).unwrap();
            let buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(
                bytes.as_ptr() as *const _,
                bytes.len(),
                cname.as_ptr(),
            );
            let mut m = std::ptr::null_mut();
            // Without a diagnostic handler on the context, LLVM reports a
            // bitcode error (e.g. "Invalid record" for damaged bitcode) by
            // printing it and calling exit(1). Collect it instead, for the
            // parse to fail with it; the context's own handler is put back
            // afterwards.
            let old_handler = LLVMContextGetDiagnosticHandler(ctx);
            let old_data = LLVMContextGetDiagnosticContext(ctx);
            let mut diags: Vec<String> = Vec::new();
            LLVMContextSetDiagnosticHandler(ctx, Some(collect_diagnostic), (&raw mut diags).cast());
            let failed = LLVMParseBitcodeInContext2(ctx, buf, &mut m);
            LLVMContextSetDiagnosticHandler(ctx, old_handler, old_data);
            LLVMDisposeMemoryBuffer(buf);
            if failed != 0 || m.is_null() {
                if diags.is_empty() {
                    bail!("{name}: not valid LLVM bitcode");
                }
                bail!("{name}: not valid LLVM bitcode: {}", diags.join("; "));
            }
            Ok(Module {
                ctx,
                m,
                owns_ctx: false,
            })
        }
    }

    /// A copy of the module in the same context (which stays the caller's).
    pub fn copy(&self) -> Module {
        Module {
            ctx: self.ctx,
            // SAFETY: `self.m` is a valid module; the copy is owned by the result.
            m: unsafe { LLVMCloneModule(self.m) },
            owns_ctx: false,
        }
    }

    /// Links `other` (a module of the same context, which this consumes)
    /// into this module; an error if LLVM's linker reports one.
    pub fn link_in(&self, other: Module) -> Result<()> {
        if other.ctx != self.ctx || other.owns_ctx {
            return Err(anyhow::anyhow!(
                "linking modules of different contexts, or one that owns its context"
            ));
        }
        let o = other.into_raw();
        // SAFETY: both modules are valid and in the same context; the linker
        // takes `o` over (and frees it) whatever the result.
        let failed = unsafe { llvm_sys::linker::LLVMLinkModules2(self.m, o) };
        if failed != 0 {
            return Err(anyhow::anyhow!("LLVM could not link the modules"));
        }
        Ok(())
    }

    /// Gives up ownership of the module (e.g. to ORC).
    pub fn into_raw(self) -> LLVMModuleRef {
        let m = self.m;
        std::mem::forget(self);
        m
    }

    /// Writes the module as bitcode to `path`.
    pub fn write_file(&self, path: &Path) -> Result<()> {
        let p = CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: `self.m` is the live module this `Module` owns (rule 1); `p`
        // is a NUL-terminated path that outlives the call.
        if unsafe { LLVMWriteBitcodeToFile(self.m, p.as_ptr()) } != 0 {
            bail!("cannot write bitcode to {}", path.display());
        }
        Ok(())
    }

    /// Serialises the module as bitcode into memory.
    pub fn to_bitcode(&self) -> Vec<u8> {
        // SAFETY: `self.m` is the live module this `Module` owns (rule 1); the
        // memory buffer is ours, and its `len` bytes at `start` are copied into
        // `v` before it is disposed (once).
        unsafe {
            let buf = LLVMWriteBitcodeToMemoryBuffer(self.m);
            let start = LLVMGetBufferStart(buf) as *const u8;
            let len = LLVMGetBufferSize(buf);
            let v = std::slice::from_raw_parts(start, len).to_vec();
            LLVMDisposeMemoryBuffer(buf);
            v
        }
    }

    /// Bitcode of a copy of the module with its debug info reduced to line
    /// tables: what is embedded for the runtime, which parses it on the
    /// first trace (full debug info makes that several times slower; the
    /// line tables are what traces need for the interpreter's source lines).
    /// Falls back to the full module if stripping changed its function or
    /// global lists (whose positions are the embedded IR's indices).
    pub fn to_bitcode_line_tables(&self) -> Result<Vec<u8>> {
        let copy = Module {
            ctx: self.ctx,
            // SAFETY: `self.m` is the live module this `Module` owns (rule 1);
            // the clone is in `self.ctx`, which outlives `copy` as it outlives
            // `self` (borrowed for the whole call), and only `copy` owns the
            // clone.
            m: unsafe { LLVMCloneModule(self.m) },
            owns_ctx: false,
        };
        copy.run_passes("strip-nonlinetable-debuginfo")?;
        let same = |a: &Module| {
            a.functions().len() == self.functions().len()
                && a.globals().len() == self.globals().len()
        };
        Ok(if same(&copy) {
            copy.to_bitcode()
        } else {
            self.to_bitcode()
        })
    }

    /// The number of instructions in the module's function bodies.
    pub fn instruction_count(&self) -> usize {
        self.functions()
            .into_iter()
            .flat_map(blocks)
            .map(|b| instrs(b).len())
            .sum()
    }

    /// Runs the LLVM verifier, returning its message on failure.
    pub fn verify(&self) -> Result<()> {
        use llvm_sys::analysis::*;
        // SAFETY: `self.m` is the live module this `Module` owns (rule 1); the
        // verifier's message is LLVM-allocated and `take_message` copies and
        // frees it at once (rule 5).
        unsafe {
            let mut msg = std::ptr::null_mut();
            let bad = LLVMVerifyModule(
                self.m,
                LLVMVerifierFailureAction::LLVMReturnStatusAction,
                &mut msg,
            );
            let text = take_message(msg);
            if bad != 0 {
                bail!("the rewritten module does not verify: {text}");
            }
        }
        Ok(())
    }

    /// Runs a new-pass-manager pipeline (e.g. `"always-inline"`) on the module.
    pub fn run_passes(&self, pipeline: &str) -> Result<()> {
        self.run_passes_in(pipeline, std::ptr::null_mut())
    }

    /// Runs `pipeline` with the cost models of the module's target (its
    /// triple; each function's `target-cpu` and `target-features` pick the
    /// subtarget), as the LTO pipeline has them: without a target machine
    /// the passes see a generic target (no vector registers, default costs
    /// for inlining and unrolling). Falls back to [`Module::run_passes`]'s
    /// generic target when the triple names a target LLVM was built without.
    pub fn run_passes_for_target(&self, pipeline: &str) -> Result<()> {
        // SAFETY: the triple is the module's own (a C string it owns); the
        // target machine is disposed after the passes that borrow it.
        unsafe {
            if !init_native_target() {
                return self.run_passes(pipeline);
            }
            let triple = LLVMGetTarget(self.m);
            let mut target = std::ptr::null_mut();
            let mut err = std::ptr::null_mut();
            if llvm_sys::target_machine::LLVMGetTargetFromTriple(triple, &mut target, &mut err) != 0
            {
                if !err.is_null() {
                    LLVMDisposeMessage(err);
                }
                return self.run_passes(pipeline);
            }
            use llvm_sys::target_machine::*;
            let tm = LLVMCreateTargetMachine(
                target,
                triple,
                c"".as_ptr(),
                c"".as_ptr(),
                LLVMCodeGenOptLevel::LLVMCodeGenLevelDefault,
                LLVMRelocMode::LLVMRelocPIC,
                LLVMCodeModel::LLVMCodeModelDefault,
            );
            let r = self.run_passes_in(pipeline, tm);
            LLVMDisposeTargetMachine(tm);
            r
        }
    }

    fn run_passes_in(
        &self,
        pipeline: &str,
        tm: llvm_sys::target_machine::LLVMTargetMachineRef,
    ) -> Result<()> {
        let p = CString::new(pipeline).unwrap();
        // SAFETY: `tm` is null or a live target machine; the options are
        // ours and disposed after the run.
        unsafe {
            let opts = LLVMCreatePassBuilderOptions();
            let err = LLVMRunPasses(self.m, p.as_ptr(), tm, opts);
            LLVMDisposePassBuilderOptions(opts);
            if !err.is_null() {
                let msg = llvm_sys::error::LLVMGetErrorMessage(err);
                let text = CStr::from_ptr(msg).to_string_lossy().into_owned();
                llvm_sys::error::LLVMDisposeErrorMessage(msg);
                bail!("running passes `{pipeline}`: {text}");
            }
        }
        Ok(())
    }

    /// All functions, declarations included, in module order.
    pub fn functions(&self) -> Vec<LLVMValueRef> {
        let mut v = Vec::new();
        // SAFETY: `self.m` is the live module this `Module` owns (rule 1); the
        // loop only reads its function list, and each `f` is a live function of
        // it.
        unsafe {
            let mut f = LLVMGetFirstFunction(self.m);
            while !f.is_null() {
                v.push(f);
                f = LLVMGetNextFunction(f);
            }
        }
        v
    }

    /// All global variables, in module order.
    pub fn globals(&self) -> Vec<LLVMValueRef> {
        let mut v = Vec::new();
        // SAFETY: `self.m` is the live module this `Module` owns (rule 1); the
        // loop only reads its global list, and each `g` is a live global of it.
        unsafe {
            let mut g = LLVMGetFirstGlobal(self.m);
            while !g.is_null() {
                v.push(g);
                g = LLVMGetNextGlobal(g);
            }
        }
        v
    }

    /// The function called `name`, if the module has one.
    pub fn function(&self, name: &str) -> Option<LLVMValueRef> {
        let n = CString::new(name).unwrap();
        // SAFETY: `self.m` is the live module this `Module` owns (rule 1); `n`
        // is a NUL-terminated name that outlives the call.
        let f = unsafe { LLVMGetNamedFunction(self.m, n.as_ptr()) };
        (!f.is_null()).then_some(f)
    }

    /// The global variable called `name`, if the module has one.
    pub fn global(&self, name: &str) -> Option<LLVMValueRef> {
        let n = CString::new(name).unwrap();
        // SAFETY: `self.m` is the live module this `Module` owns (rule 1); `n`
        // is a NUL-terminated name that outlives the call.
        let g = unsafe { LLVMGetNamedGlobal(self.m, n.as_ptr()) };
        (!g.is_null()).then_some(g)
    }

    /// Gets or declares function `name` with type `ty`.
    pub fn get_or_declare(&self, name: &str, ty: LLVMTypeRef) -> LLVMValueRef {
        self.function(name).unwrap_or_else(|| {
            let n = CString::new(name).unwrap();
            // SAFETY: `self.m` is the live module this `Module` owns (rule 1);
            // `ty` is a function type of its context (rules 2 and 3: the
            // caller's argument); `n` is a NUL-terminated name that outlives
            // the call (LLVM copies it).
            unsafe { LLVMAddFunction(self.m, n.as_ptr(), ty) }
        })
    }

    /// `void`.
    pub fn void_ty(&self) -> LLVMTypeRef {
        // SAFETY: `self.ctx` is alive as long as `self` (rule 1: it is disposed
        // only with, or after, the module), and used on this thread (rule 4).
        unsafe { LLVMVoidTypeInContext(self.ctx) }
    }

    /// An integer type of `bits` bits.
    pub fn int_ty(&self, bits: u32) -> LLVMTypeRef {
        // SAFETY: `self.ctx` is alive as long as `self` (rule 1: it is disposed
        // only with, or after, the module), and used on this thread (rule 4).
        unsafe { LLVMIntTypeInContext(self.ctx, bits) }
    }

    /// The opaque pointer type of address space 0.
    pub fn ptr_ty(&self) -> LLVMTypeRef {
        // SAFETY: `self.ctx` is alive as long as `self` (rule 1: it is disposed
        // only with, or after, the module), and used on this thread (rule 4).
        unsafe { LLVMPointerTypeInContext(self.ctx, 0) }
    }

    /// A constant integer.
    pub fn const_int(&self, bits: u32, v: u64) -> LLVMValueRef {
        // SAFETY: `self.int_ty(bits)` is an integer type of the live `self.ctx`
        // (rules 1 and 2), as `LLVMConstInt` requires.
        unsafe { LLVMConstInt(self.int_ty(bits), v, 0) }
    }

    /// The metadata kind id for `name` (e.g. `"prof"`).
    pub fn md_kind(&self, name: &str) -> u32 {
        // SAFETY: `self.ctx` is alive as long as `self` (rule 1); LLVM reads
        // exactly `name.len()` bytes at `name.as_ptr()` (no NUL needed), which
        // `name` keeps alive for the call.
        unsafe { LLVMGetMDKindIDInContext(self.ctx, name.as_ptr() as *const _, name.len() as u32) }
    }

    /// Does function `f` have the enum attribute `name` (e.g. `"naked"`)?
    pub fn has_fn_attr(&self, f: LLVMValueRef, name: &str) -> bool {
        // SAFETY: `f` is a function of this module.
        unsafe {
            let kind = LLVMGetEnumAttributeKindForName(name.as_ptr() as *const _, name.len());
            kind != 0
                && !LLVMGetEnumAttributeAtIndex(f, llvm_sys::LLVMAttributeFunctionIndex, kind)
                    .is_null()
        }
    }

    /// Adds the enum attribute `name` (e.g. `"alwaysinline"`) to function `f`.
    pub fn add_fn_attr(&self, f: LLVMValueRef, name: &str) {
        // SAFETY: `f` is a live function of this module (rules 2 and 3: the
        // documented argument), and the attribute is created in its context,
        // `self.ctx`; the name is passed with its length, so it needs no NUL.
        unsafe {
            let kind = LLVMGetEnumAttributeKindForName(name.as_ptr() as *const _, name.len());
            assert!(kind != 0, "unknown attribute {name}");
            let a = LLVMCreateEnumAttribute(self.ctx, kind, 0);
            LLVMAddAttributeAtIndex(f, llvm_sys::LLVMAttributeFunctionIndex, a);
        }
    }

    /// Removes the enum attribute `name` from function `f` (if it has it).
    pub fn remove_fn_attr(&self, f: LLVMValueRef, name: &str) {
        // SAFETY: `f` is a function of this module.
        unsafe {
            let kind = LLVMGetEnumAttributeKindForName(name.as_ptr() as *const _, name.len());
            LLVMRemoveEnumAttributeAtIndex(f, llvm_sys::LLVMAttributeFunctionIndex, kind);
        }
    }

    /// A fresh IR builder in this module's context.
    pub fn builder(&self) -> Builder {
        // SAFETY: `self.ctx` is alive as long as `self` (rule 1); the new
        // builder is owned by the returned `Builder`, which disposes of it once
        // (and, like any handle of the context, is dropped before it: rule 2).
        Builder(unsafe { LLVMCreateBuilderInContext(self.ctx) })
    }

    /// The module's textual IR.
    pub fn to_text(&self) -> String {
        // SAFETY: `self.m` is the live module this `Module` owns (rule 1); the
        // string is LLVM-allocated for us and `take_message` copies and frees
        // it (rule 5).
        unsafe { take_message(LLVMPrintModuleToString(self.m)) }
    }
}

impl Drop for Module {
    fn drop(&mut self) {
        // SAFETY: this `Module` is the only owner of `self.m`, and of
        // `self.ctx` when `owns_ctx` (rule 1; `into_raw` forgets `self`, so a
        // given-away module never gets here); the module is disposed before its
        // context, and neither is used again.
        unsafe {
            LLVMDisposeModule(self.m);
            if self.owns_ctx {
                LLVMContextDispose(self.ctx);
            }
        }
    }
}

/// An owned IR builder.
pub struct Builder(pub LLVMBuilderRef);

impl Drop for Builder {
    fn drop(&mut self) {
        // SAFETY: `self.0` is the builder `Module::builder` created (or one
        // handed over to this owner); only this `Builder` disposes of it, once,
        // and its context is still alive (rule 2).
        unsafe { LLVMDisposeBuilder(self.0) }
    }
}

/// Copies an LLVM-allocated message into a `String` and frees it.
fn take_message(msg: *mut std::os::raw::c_char) -> String {
    if msg.is_null() {
        return String::new();
    }
    // SAFETY: `msg` is non-null (checked above) and, as this helper's callers
    // guarantee (rule 5), a NUL-terminated string that LLVM allocated for us
    // and nobody else frees; it is copied before it is freed, once.
    unsafe {
        let s = CStr::from_ptr(msg).to_string_lossy().into_owned();
        LLVMDisposeMessage(msg);
        s
    }
}

/// The name of a value (empty if it has none).
pub fn name(v: LLVMValueRef) -> String {
    // SAFETY: `v` is a live value (rule 2); LLVM returns `len` bytes at `p`,
    // owned by the value, which are checked non-null and copied before any
    // other LLVM call (rule 5).
    unsafe {
        let mut len = 0;
        let p = LLVMGetValueName2(v, &mut len);
        if p.is_null() {
            return String::new();
        }
        String::from_utf8_lossy(std::slice::from_raw_parts(p as *const u8, len)).into_owned()
    }
}

/// Blocks of a function, in order.
pub fn blocks(f: LLVMValueRef) -> Vec<LLVMBasicBlockRef> {
    let mut v = Vec::new();
    // SAFETY: `f` is a live function (rules 2 and 3); the loop only reads its
    // block list.
    unsafe {
        let mut b = LLVMGetFirstBasicBlock(f);
        while !b.is_null() {
            v.push(b);
            b = LLVMGetNextBasicBlock(b);
        }
    }
    v
}

/// Instructions of a block, in order.
pub fn instrs(b: LLVMBasicBlockRef) -> Vec<LLVMValueRef> {
    let mut v = Vec::new();
    // SAFETY: `b` is a live basic block (rules 2 and 3); the loop only reads
    // its instruction list.
    unsafe {
        let mut i = LLVMGetFirstInstruction(b);
        while !i.is_null() {
            v.push(i);
            i = LLVMGetNextInstruction(i);
        }
    }
    v
}

/// Successor blocks of a block's terminator.
pub fn successors(b: LLVMBasicBlockRef) -> Vec<LLVMBasicBlockRef> {
    // SAFETY: `b` is a live basic block (rules 2 and 3); its terminator is
    // checked non-null before it is asked for successors, and `i` stays below
    // `LLVMGetNumSuccessors(t)`.
    unsafe {
        let t = LLVMGetBasicBlockTerminator(b);
        if t.is_null() {
            return Vec::new();
        }
        (0..LLVMGetNumSuccessors(t))
            .map(|i| LLVMGetSuccessor(t, i))
            .collect()
    }
}

/// Operands of an instruction.
pub fn operands(i: LLVMValueRef) -> Vec<LLVMValueRef> {
    // SAFETY: `i` is a live instruction (rules 2 and 3); `k` stays below its
    // operand count.
    unsafe {
        let n = LLVMGetNumOperands(i);
        (0..n as u32).map(|k| LLVMGetOperand(i, k)).collect()
    }
}

/// The instruction's opcode.
pub fn opcode(i: LLVMValueRef) -> LLVMOpcode {
    // SAFETY: `i` is a live instruction (rules 2 and 3: `opcode`'s documented
    // argument).
    unsafe { LLVMGetInstructionOpcode(i) }
}

/// Is `v` an instruction or a function argument, i.e. an SSA value that
/// liveness has to track?
pub fn is_ssa_value(v: LLVMValueRef) -> bool {
    // SAFETY: `v` is a live value (rule 2); the `LLVMIsA*` casts accept a value
    // of any kind and return null for other kinds.
    unsafe { !LLVMIsAInstruction(v).is_null() || !LLVMIsAArgument(v).is_null() }
}

/// Does the value have a type that can live in memory (not void/token/label/metadata)?
pub fn is_storable(v: LLVMValueRef) -> bool {
    // SAFETY: `v` is a live value (rule 2), so its type, a type of its live
    // context, is valid too.
    let k = unsafe { LLVMGetTypeKind(LLVMTypeOf(v)) };
    !matches!(
        k,
        LLVMTypeKind::LLVMVoidTypeKind
            | LLVMTypeKind::LLVMTokenTypeKind
            | LLVMTypeKind::LLVMLabelTypeKind
            | LLVMTypeKind::LLVMMetadataTypeKind
    )
}

/// If `i` is a direct call (or invoke), the function it calls.
pub fn called_function(i: LLVMValueRef) -> Option<LLVMValueRef> {
    // SAFETY: `i` is a live value (rule 2); the `LLVMIsA*` casts accept any
    // value, and the called operand is read only after they showed `i` is a
    // call or an invoke.
    unsafe {
        if LLVMIsACallInst(i).is_null() && LLVMIsAInvokeInst(i).is_null() {
            return None;
        }
        let c = LLVMGetCalledValue(i);
        (!LLVMIsAFunction(c).is_null()).then_some(c)
    }
}

/// All uses of `v` as `(user, operand index)`.
pub fn uses(v: LLVMValueRef) -> Vec<(LLVMValueRef, u32)> {
    let mut out = Vec::new();
    // SAFETY: `v` is a live value (rule 2); its uses and their users are live
    // values of the same module that are only read here, and `k` stays below
    // each user's operand count.
    unsafe {
        let mut u = LLVMGetFirstUse(v);
        while !u.is_null() {
            let user = LLVMGetUser(u);
            // Find which operand of `user` this use is; a value can be used
            // several times by one user, so record each index once.
            let n = LLVMGetNumOperands(user) as u32;
            for k in 0..n {
                if LLVMGetOperand(user, k) == v && !out.contains(&(user, k)) {
                    out.push((user, k));
                    break;
                }
            }
            u = LLVMGetNextUse(u);
        }
    }
    out
}

/// The first position in `b` where ordinary instructions may be inserted:
/// after phis and a landing pad, and in the entry block also after the
/// static allocas (which must stay in the entry block to stay static).
pub fn first_insertion_point(b: LLVMBasicBlockRef, is_entry: bool) -> Option<LLVMValueRef> {
    instrs(b).into_iter().find(|&i| {
        let op = opcode(i);
        !(op == LLVMOpcode::LLVMPHI
            || op == LLVMOpcode::LLVMLandingPad
            || (is_entry && op == LLVMOpcode::LLVMAlloca))
    })
}

/// Does block `b` start with an exception-handling pad other than a
/// landing pad (Windows-style funclets), where nothing may be inserted?
pub fn is_funclet_pad(b: LLVMBasicBlockRef) -> bool {
    instrs(b).into_iter().any(|i| {
        matches!(
            opcode(i),
            LLVMOpcode::LLVMCatchSwitch | LLVMOpcode::LLVMCatchPad | LLVMOpcode::LLVMCleanupPad
        )
    })
}

/// The file name and directory of `DIFile` `file` (`<unknown file>` if
/// `file` is null: a scope without a file). (The C API returns an empty
/// string as a null pointer.)
pub fn di_file_name(file: LLVMMetadataRef) -> (String, String) {
    use llvm_sys::debuginfo::*;
    if file.is_null() {
        // A scope without a file (LLVM allows it; clang always gives one).
        return ("<unknown file>".to_owned(), String::new());
    }
    let s = |p: *const std::ffi::c_char, len: u32| {
        if p.is_null() {
            return String::new();
        }
        // SAFETY: LLVM returns `len` bytes at `p`, owned by the metadata.
        let b = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len as usize) };
        String::from_utf8_lossy(b).into_owned()
    };
    let (mut l1, mut l2) = (0, 0);
    // SAFETY: `file` is a live `DIFile` (rules 2 and 3); the name and directory
    // are owned by the metadata and `s` copies them at once, before any other
    // LLVM call (rule 5).
    unsafe {
        let name = LLVMDIFileGetFilename(file, &mut l1);
        let dir = LLVMDIFileGetDirectory(file, &mut l2);
        (s(name, l1), s(dir, l2))
    }
}

/// Gives `inst` a debug location when its function has debug info: LLVM
/// rejects inlinable calls without one in such functions. Uses `like`'s
/// location when it has one, else line 0 of the function's subprogram.
pub fn set_debug_loc(m: &Module, inst: LLVMValueRef, like: Option<LLVMValueRef>) {
    use llvm_sys::debuginfo::*;
    // SAFETY: `inst` is a live instruction already in a block of a function of
    // `m` (rules 2 and 3), so it has a parent block and function; `like`, if
    // given, is a live instruction of the same context, whose location (context
    // metadata) may be attached to `inst`; the new location is made in `m.ctx`,
    // `inst`'s context.
    unsafe {
        if let Some(l) = like {
            let loc = LLVMInstructionGetDebugLoc(l);
            if !loc.is_null() {
                LLVMInstructionSetDebugLoc(inst, loc);
                return;
            }
        }
        let f = LLVMGetBasicBlockParent(LLVMGetInstructionParent(inst));
        let sp = LLVMGetSubprogram(f);
        if !sp.is_null() {
            let loc = LLVMDIBuilderCreateDebugLocation(m.ctx, 0, 0, sp, std::ptr::null_mut());
            LLVMInstructionSetDebugLoc(inst, loc);
        }
    }
}

/// If `ptr` is the address of field `k` of the struct that `base` points to
/// (a `getelementptr base, 0, k` with constant indices, or `base` itself,
/// field 0), `Some(k)`.
pub fn struct_field_of(ptr: LLVMValueRef, base: LLVMValueRef) -> Option<u32> {
    // SAFETY: `ptr` and `base` are live values; only their operands and
    // constant values are read.
    unsafe {
        if ptr == base {
            return Some(0);
        }
        if LLVMIsAGetElementPtrInst(ptr).is_null()
            || LLVMGetOperand(ptr, 0) != base
            || LLVMGetNumOperands(ptr) != 3
        {
            return None;
        }
        let (zero, k) = (LLVMGetOperand(ptr, 1), LLVMGetOperand(ptr, 2));
        if LLVMIsAConstantInt(zero).is_null()
            || LLVMConstIntGetZExtValue(zero) != 0
            || LLVMIsAConstantInt(k).is_null()
        {
            return None;
        }
        Some(LLVMConstIntGetZExtValue(k) as u32)
    }
}

/// Registers LLVM's native target and its assembly printer, once per process,
/// and says whether there is one. LLVM's target registry is a list that
/// registration appends to without a lock: two threads registering at once
/// (tests of yk-ld's passes running in parallel did) can leave it cyclic,
/// and every later lookup then loops forever.
pub fn init_native_target() -> bool {
    static NATIVE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *NATIVE.get_or_init(|| {
        // SAFETY: called once, by whichever thread gets here first; the
        // others wait for it.
        unsafe {
            llvm_sys::target::LLVM_InitializeNativeTarget() == 0
                && llvm_sys::target::LLVM_InitializeNativeAsmPrinter() == 0
        }
    })
}
