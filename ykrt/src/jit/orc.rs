//! ORC LLJIT: turns optimised trace modules into callable machine code.
//!
//! One LLJIT per compiler. References from a trace to the AOT binary's
//! functions and globals are `__yk_aot_f<i>` / `__yk_aot_g<i>` symbols,
//! defined as absolute symbols with the run-time addresses from the binary's
//! address tables; anything else (e.g. `memcpy` from an intrinsic) resolves
//! against the process. Each trace module has its own resource tracker, so
//! a replaced trace's code can be freed ([`Orc::remove`]) once no thread can
//! be running it (`crate::reclaim` decides when).

use llvm_sys::error::*;
use llvm_sys::orc2::lljit::*;
use llvm_sys::orc2::*;
use llvm_sys::prelude::*;
use std::collections::HashSet;
use std::ffi::{CStr, CString};
use std::fmt;

/// What ORC or LLVM's target registry failed at. The strings are LLVM's
/// messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrcError {
    /// LLVM was built without this host's target.
    NoNativeTarget,
    /// The registry has no target for the host's triple.
    NoTarget(String),
    /// LLVM could not make a target machine for the host.
    NoTargetMachine,
    /// The LLJIT could not be created.
    CreateJit(String),
    /// The process's symbols could not be made visible to the JIT.
    ProcessSymbols(String),
    /// An absolute symbol could not be defined.
    Define {
        /// The symbol.
        name: String,
        /// LLVM's message.
        msg: String,
    },
    /// A trace module could not be added.
    AddTrace(String),
    /// A trace module could not be compiled (looking its function up
    /// failed).
    CompileTrace(String),
    /// A symbol could not be looked up.
    Lookup {
        /// The symbol.
        name: String,
        /// LLVM's message.
        msg: String,
    },
}

impl fmt::Display for OrcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrcError::NoNativeTarget => f.write_str("LLVM has no native target"),
            OrcError::NoTarget(m) => write!(f, "no target for this host: {m}"),
            OrcError::NoTargetMachine => {
                f.write_str("cannot create a target machine for this host")
            }
            OrcError::CreateJit(m) => write!(f, "creating the JIT: {m}"),
            OrcError::ProcessSymbols(m) => write!(f, "process symbols: {m}"),
            OrcError::Define { name, msg } => write!(f, "defining {name}: {msg}"),
            OrcError::AddTrace(m) => write!(f, "adding the trace: {m}"),
            OrcError::CompileTrace(m) => write!(f, "compiling the trace: {m}"),
            OrcError::Lookup { name, msg } => write!(f, "looking up {name}: {msg}"),
        }
    }
}

impl std::error::Error for OrcError {}

/// An LLJIT instance.
pub struct Orc {
    jit: LLVMOrcLLJITRef,
    defined: HashSet<String>,
}

/// An LLVM context that trace modules are built in and handed to ORC in (a
/// thread-safe context): freed, with everything LLVM keeps in it (uniqued
/// constants, types, metadata: a little for each trace built in it), when
/// this is dropped and ORC holds no module of it.
pub struct Context {
    tsctx: LLVMOrcThreadSafeContextRef,
    /// The context itself, for building modules in.
    pub ctx: LLVMContextRef,
}

impl Context {
    /// A fresh context.
    pub fn new() -> Context {
        // SAFETY: creating a context and handing it to a thread-safe
        // context, which owns it from then on.
        unsafe {
            let ctx = llvm_sys::core::LLVMContextCreate();
            let tsctx = LLVMOrcCreateNewThreadSafeContextFromLLVMContext(ctx);
            Context { tsctx, ctx }
        }
    }
}

impl Default for Context {
    fn default() -> Self {
        Context::new()
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: our reference; modules handed to ORC hold their own.
        unsafe { LLVMOrcDisposeThreadSafeContext(self.tsctx) };
    }
}

fn take_error(e: LLVMErrorRef) -> String {
    // SAFETY: `e` is a live error, consumed here; its message is ours to
    // free, once.
    unsafe {
        let m = LLVMGetErrorMessage(e);
        let s = CStr::from_ptr(m).to_string_lossy().into_owned();
        LLVMDisposeErrorMessage(m);
        s
    }
}

/// The object linking layer: RuntimeDyld with LLVM's JIT event listeners,
/// so that traces show up like native code: gdb learns of each trace's
/// object through its JIT interface (`__jit_debug_register_code`), names
/// trace functions in backtraces and reads their line tables (see
/// [`super::dbg`]); with `YKD_PERF_JITDUMP=1` LLVM's perf listener writes a
/// jitdump file, with the line tables, for `perf inject --jit` (see
/// docs/trace-compiler.md).
extern "C" fn object_layer_with_listeners(
    _ctx: *mut std::ffi::c_void,
    es: LLVMOrcExecutionSessionRef,
    _triple: *const std::ffi::c_char,
) -> LLVMOrcObjectLayerRef {
    use llvm_sys::execution_engine::{
        LLVMCreateGDBRegistrationListener, LLVMCreatePerfJITEventListener,
    };
    use llvm_sys::orc2::ee::*;
    // SAFETY: ORC calls this with its live execution session; the
    // listeners are LLVM's process-wide ones.
    unsafe {
        let layer = LLVMOrcCreateRTDyldObjectLinkingLayerWithSectionMemoryManager(es);
        let gdb = LLVMCreateGDBRegistrationListener();
        if !gdb.is_null() {
            LLVMOrcRTDyldObjectLinkingLayerRegisterJITEventListener(layer, gdb);
        }
        // LLVM's perf listener writes `jit-<pid>.dump` only when asked to.
        if super::dbg::perf_jitdump() {
            let perf = LLVMCreatePerfJITEventListener();
            if !perf.is_null() {
                LLVMOrcRTDyldObjectLinkingLayerRegisterJITEventListener(layer, perf);
            }
        }
        layer
    }
}

/// A target machine for this host at optimisation level `opt`.
fn host_machine(
    opt: llvm_sys::target_machine::LLVMCodeGenOptLevel,
) -> Result<llvm_sys::target_machine::LLVMTargetMachineRef, OrcError> {
    use llvm_sys::target_machine::*;
    // SAFETY: LLVM's target registry and target-machine calls; every
    // message LLVM returns is freed once, after its last use.
    unsafe {
        let triple = LLVMGetDefaultTargetTriple();
        let mut target = std::ptr::null_mut();
        let mut err = std::ptr::null_mut();
        if LLVMGetTargetFromTriple(triple, &mut target, &mut err) != 0 {
            let m = CStr::from_ptr(err).to_string_lossy().into_owned();
            llvm_sys::core::LLVMDisposeMessage(err);
            llvm_sys::core::LLVMDisposeMessage(triple);
            return Err(OrcError::NoTarget(m));
        }
        let cpu = LLVMGetHostCPUName();
        let features = LLVMGetHostCPUFeatures();
        let tm = LLVMCreateTargetMachine(
            target,
            triple,
            cpu,
            features,
            opt,
            LLVMRelocMode::LLVMRelocDefault,
            LLVMCodeModel::LLVMCodeModelJITDefault,
        );
        llvm_sys::core::LLVMDisposeMessage(triple);
        llvm_sys::core::LLVMDisposeMessage(cpu);
        llvm_sys::core::LLVMDisposeMessage(features);
        if tm.is_null() {
            return Err(OrcError::NoTargetMachine);
        }
        // Fast instruction selection at every level: a trace (after the
        // trace IR's optimiser) is plain loads, stores, arithmetic and
        // branches, which FastISel selects about as well as SelectionDAG
        // in a third less time (measured on the Lua benchmarks' traces:
        // code generation 30-40% faster, steady state unchanged). Blocks
        // it can't select fall back to SelectionDAG.
        if std::env::var("YKD_FAST_ISEL").as_deref() != Ok("0") {
            LLVMSetTargetMachineFastISel(tm, 1);
        }
        Ok(tm)
    }
}

impl Orc {
    /// Creates the JIT. `codegen_opt` is LLVM's code generation level, 0 to 3
    /// (see `Config::codegen_opt`).
    pub fn new(codegen_opt: u8) -> Result<Orc, OrcError> {
        // SAFETY: building an LLJIT through the C API; the builder and the
        // target machine builder are consumed by the calls they are passed
        // to, and nothing else holds them.
        unsafe {
            if !yk_llvm::init_native_target() {
                return Err(OrcError::NoNativeTarget);
            }
            let builder = LLVMOrcCreateLLJITBuilder();
            // Code generation at -O1: the trace is optimised already, and
            // instruction selection and register allocation at -O2 cost
            // more compile time than they gain on straight-line code.
            // `YKD_CODEGEN_OPT=0..3` overrides it, for measuring.
            use llvm_sys::target_machine::LLVMCodeGenOptLevel as L;
            let level = match codegen_opt {
                0 => L::LLVMCodeGenLevelNone,
                2 => L::LLVMCodeGenLevelDefault,
                3 => L::LLVMCodeGenLevelAggressive,
                _ => L::LLVMCodeGenLevelLess,
            };
            let jtmb = LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(host_machine(level)?);
            LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, jtmb);
            LLVMOrcLLJITBuilderSetObjectLinkingLayerCreator(
                builder,
                object_layer_with_listeners,
                std::ptr::null_mut(),
            );
            let mut jit = std::ptr::null_mut();
            let e = LLVMOrcCreateLLJIT(&mut jit, builder);
            if !e.is_null() {
                return Err(OrcError::CreateJit(take_error(e)));
            }
            // Library calls that LLVM introduces (memcpy, ...) come from the process.
            let mut gen = std::ptr::null_mut();
            let prefix = LLVMOrcLLJITGetGlobalPrefix(jit);
            let e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
                &mut gen,
                prefix,
                None,
                std::ptr::null_mut(),
            );
            if !e.is_null() {
                return Err(OrcError::ProcessSymbols(take_error(e)));
            }
            LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(jit), gen);
            Ok(Orc {
                jit,
                defined: HashSet::new(),
            })
        }
    }

    /// Defines `name` as the absolute address `addr`, once.
    pub fn define_absolute(&mut self, name: &str, addr: usize) -> Result<(), OrcError> {
        if !self.defined.insert(name.to_owned()) {
            return Ok(());
        }
        // SAFETY: defining a symbol in our JIT's main dylib; the
        // materialization unit is consumed by the definition.
        unsafe {
            let n = CString::new(name).unwrap();
            let interned = LLVMOrcLLJITMangleAndIntern(self.jit, n.as_ptr());
            let mut pair = LLVMOrcCSymbolMapPair {
                Name: interned,
                Sym: LLVMJITEvaluatedSymbol {
                    Address: addr as u64,
                    Flags: LLVMJITSymbolFlags {
                        GenericFlags: LLVMJITSymbolGenericFlags::LLVMJITSymbolGenericFlagsExported
                            as u8
                            | LLVMJITSymbolGenericFlags::LLVMJITSymbolGenericFlagsCallable as u8,
                        TargetFlags: 0,
                    },
                },
            };
            let mu = LLVMOrcAbsoluteSymbols(&mut pair, 1);
            let e = LLVMOrcJITDylibDefine(LLVMOrcLLJITGetMainJITDylib(self.jit), mu);
            if !e.is_null() {
                return Err(OrcError::Define {
                    name: name.to_owned(),
                    msg: take_error(e),
                });
            }
        }
        Ok(())
    }

    /// Adds module `m`, built in `ctx` (ownership passes to the JIT), and
    /// returns the address of its function `name`, compiling it, and the
    /// handle that frees its code ([`Orc::remove`]).
    pub fn add_and_lookup(
        &mut self,
        m: LLVMModuleRef,
        ctx: &Context,
        name: &str,
    ) -> Result<(usize, CodeHandle), OrcError> {
        // SAFETY: `m` is a module of `ctx` that the caller hands over; the
        // thread-safe module takes it, and the JIT takes that.
        unsafe {
            let tsm = LLVMOrcCreateNewThreadSafeModule(m, ctx.tsctx);
            let jd = LLVMOrcLLJITGetMainJITDylib(self.jit);
            let rt = LLVMOrcJITDylibCreateResourceTracker(jd);
            let e = LLVMOrcLLJITAddLLVMIRModuleWithRT(self.jit, rt, tsm);
            if !e.is_null() {
                LLVMOrcReleaseResourceTracker(rt);
                return Err(OrcError::AddTrace(take_error(e)));
            }
            let rt = CodeHandle(rt);
            let n = CString::new(name).unwrap();
            let mut addr = 0;
            let e = LLVMOrcLLJITLookup(self.jit, &mut addr, n.as_ptr());
            if !e.is_null() {
                self.remove(rt);
                return Err(OrcError::CompileTrace(take_error(e)));
            }
            Ok((addr as usize, rt))
        }
    }

    /// The address of `name`, compiling what defines it if need be.
    pub fn lookup(&mut self, name: &str) -> Result<usize, OrcError> {
        let n = CString::new(name).unwrap();
        let mut addr = 0;
        // SAFETY: a lookup in our JIT.
        let e = unsafe { LLVMOrcLLJITLookup(self.jit, &mut addr, n.as_ptr()) };
        if !e.is_null() {
            return Err(OrcError::Lookup {
                name: name.to_owned(),
                msg: take_error(e),
            });
        }
        Ok(addr as usize)
    }

    /// Frees the code (and the debugger's and profiler's records of it) that
    /// `rt` was returned with. No thread may be running it.
    pub fn remove(&mut self, rt: CodeHandle) {
        // SAFETY: `rt` is a tracker of this JIT, released once (the handle
        // is consumed); the caller promises no thread runs its code.
        unsafe {
            let e = LLVMOrcResourceTrackerRemove(rt.0);
            if !e.is_null() {
                // Nothing to do but keep the memory: the trace is unused.
                let _ = take_error(e);
            }
            LLVMOrcReleaseResourceTracker(rt.0);
        }
    }
}

/// The ORC resource tracker of one compiled module: what frees its code.
#[derive(Debug)]
pub struct CodeHandle(LLVMOrcResourceTrackerRef);

// SAFETY: a handle is only used by [`Orc::remove`], under the compiler's lock.
unsafe impl Send for CodeHandle {}
unsafe impl Sync for CodeHandle {}

/// An LLJIT made the first time it is needed, with the runtime's symbols
/// `defs` defined in it: with the native tier 0 a process makes its tier-0
/// LLJIT only if the native code generator gives up on a trace, and its
/// hot one at its first recompilation (making both cost about 2-4 ms of the
/// first trace's compile time).
pub struct LazyOrc {
    level: u8,
    defs: Vec<(&'static str, usize)>,
    orc: Option<Orc>,
}

impl LazyOrc {
    /// An LLJIT at code generation level `level`, not made yet.
    pub fn new(level: u8, defs: Vec<(&'static str, usize)>) -> LazyOrc {
        LazyOrc {
            level,
            defs,
            orc: None,
        }
    }

    /// The LLJIT, made now if it was not.
    pub fn get(&mut self) -> Result<&mut Orc, OrcError> {
        if self.orc.is_none() {
            let mut o = Orc::new(self.level)?;
            for &(name, addr) in &self.defs {
                o.define_absolute(name, addr)?;
            }
            self.orc = Some(o);
        }
        Ok(self.orc.as_mut().expect("made above"))
    }

    /// Frees a trace's code (see [`Orc::remove`]); a handle can only come
    /// from an LLJIT that was made.
    pub fn remove(&mut self, rt: CodeHandle) {
        if let Some(o) = &mut self.orc {
            o.remove(rt);
        }
    }
}
