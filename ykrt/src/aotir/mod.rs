//! The embedded AOT IR: loaded once per process (on the first trace) and indexed
//! into plain Rust data that any thread can read.
//!
//! The LLVM module itself is parsed in a private `Context` and dropped after
//! indexing: LLVM contexts are not shareable between threads, and the index is
//! what the recorder and the checker need. The trace compiler parses its own copy
//! (`info.ir`) in its own context.

mod check;

pub use check::{check_trace, CheckError, StepError};

use crate::{
    aot::{BadIr, YkAotInfo},
    log::Log,
};
use llvm_sys::{
    core::*,
    prelude::{LLVMBasicBlockRef, LLVMModuleRef, LLVMValueRef},
    LLVMOpcode,
};
use std::{collections::HashMap, ffi::CStr, fmt, sync::OnceLock};
use yk_llvm::Module;

/// Why the embedded IR can't be loaded and indexed. A module that can't
/// be is never traced; the message is the log's reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// The binary's `yk_ir` section holds no IR.
    NoIr,
    /// The section's `YkAotInfo` version or its header or checksum is wrong.
    Bad(BadIr),
    /// `YkAotInfo` is of another version than this runtime's.
    Version {
        /// The binary's.
        found: u64,
        /// This runtime's.
        expected: u64,
    },
    /// The `yk_ir` section is empty.
    EmptySection,
    /// The section's header or checksum is wrong (reported when the `MT`
    /// was made).
    Damaged,
    /// The section holds a header but no bitcode.
    NoBitcode,
    /// The section's contents do not start like LLVM bitcode.
    NotBitcode,
    /// LLVM could not parse the bitcode (LLVM's message).
    Parse(String),
    /// The module and the binary's address tables disagree.
    Tables {
        /// Functions in the module.
        funcs: usize,
        /// Globals in the module.
        globals: usize,
        /// Entries of the function address table.
        table_funcs: usize,
        /// Entries of the global address table.
        table_globals: usize,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::NoIr => f.write_str("no embedded IR"),
            LoadError::Bad(e) => write!(f, "{e}"),
            LoadError::Version { found, expected } => {
                write!(
                    f,
                    "unsupported YkAotInfo version {found} (expected {expected})"
                )
            }
            LoadError::Damaged => f.write_str("the embedded IR (section yk_ir) is damaged"),
            LoadError::EmptySection => {
                f.write_str("cannot parse the embedded IR: the yk_ir section is empty")
            }
            LoadError::NoBitcode => {
                f.write_str("cannot parse the embedded IR: the yk_ir section holds no bitcode")
            }
            LoadError::NotBitcode => {
                f.write_str("cannot parse the embedded IR: it is not LLVM bitcode")
            }
            LoadError::Parse(e) => write!(f, "cannot parse the embedded IR: {e}"),
            LoadError::Tables {
                funcs,
                globals,
                table_funcs,
                table_globals,
            } => write!(
                f,
                "the embedded IR has {funcs} functions and {globals} globals but the address \
                 tables have {table_funcs} and {table_globals}"
            ),
        }
    }
}

impl std::error::Error for LoadError {}

/// A call made by a block, in instruction order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Callee {
    /// A call to function `i` of the module.
    Direct(u32),
    /// A call through a pointer (or anything that is not a plain function).
    Indirect,
}

/// One basic block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockInfo {
    /// The block's name, if it has one.
    pub name: Option<String>,
    /// Indices of the successor blocks (in the same function), without duplicates.
    pub succs: Vec<u32>,
    /// Calls and invokes in the block (inline asm excluded), in order.
    pub calls: Vec<Callee>,
    /// Does the block end in `ret`?
    pub returns: bool,
}

/// One function of the module.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FuncInfo {
    /// The function's (symbol) name.
    pub name: String,
    /// Declared, not defined, in the module.
    pub is_decl: bool,
    /// An LLVM intrinsic (`llvm.*`).
    pub is_intrinsic: bool,
    /// Takes variable arguments.
    pub is_varargs: bool,
    /// Annotated `yk_outline` (not instrumented; never inlined into traces).
    pub outline: bool,
    /// Annotated `yk_idempotent`.
    pub idempotent: bool,
    /// The blocks, in function order (empty for declarations, and for every
    /// function of a lazily loaded module whose bodies were not read: see
    /// `jit::lazy`; the trace compiler reads them all when the IR logs ask
    /// for blocks).
    pub blocks: Vec<BlockInfo>,
}

impl FuncInfo {
    /// The functions called directly by block `b`, in order.
    pub fn direct_callees(&self, b: u32) -> impl Iterator<Item = u32> + '_ {
        self.blocks[b as usize]
            .calls
            .iter()
            .filter_map(|c| match c {
                Callee::Direct(f) => Some(*f),
                Callee::Indirect => None,
            })
    }
}

/// The index of a module: functions in module order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AotIndex {
    /// The functions, indexed as in docs/abi.md.
    pub funcs: Vec<FuncInfo>,
    /// The number of global variables (to check against the address table).
    pub nglobals: usize,
    by_name: HashMap<String, u32>,
}

impl AotIndex {
    /// The index of the function called `name`.
    pub fn func_idx(&self, name: &str) -> Option<u32> {
        self.by_name.get(name).copied()
    }

    /// Function `i`, if it exists.
    pub fn func(&self, i: u32) -> Option<&FuncInfo> {
        self.funcs.get(i as usize)
    }

    /// Block `b` of function `f`, if it exists.
    pub fn block(&self, f: u32, b: u32) -> Option<&BlockInfo> {
        self.func(f)?.blocks.get(b as usize)
    }

    /// Index `module`.
    pub fn from_module(module: &Module) -> AotIndex {
        // SAFETY: the module is alive and only read.
        unsafe { index_module(module.m) }
    }

    /// Parse `bitcode` and index it; also return the module's text when `want_text`.
    pub fn from_bitcode(
        bitcode: &[u8],
        want_text: bool,
    ) -> Result<(AotIndex, Option<String>), LoadError> {
        if bitcode.is_empty() {
            return Err(LoadError::NoIr);
        }
        let module = Module::parse_bytes(bitcode, yk_abi::ir_section::SECTION)
            .map_err(|e| LoadError::Parse(e.to_string()))?;
        let text = want_text.then(|| module.to_text());
        Ok((AotIndex::from_module(&module), text))
    }
}

static INDEX: OnceLock<Result<AotIndex, LoadError>> = OnceLock::new();

/// The index of the embedded module, if it has been loaded successfully.
pub fn index() -> Option<&'static AotIndex> {
    INDEX.get().and_then(|r| r.as_ref().ok())
}

/// Load and index `info`'s module, the first time only (other threads wait). The
/// first loader prints the textual IR if `log` selects `aot`. An error is
/// returned by this and every later call: a module that can't be read is never
/// traced. The trace compiler indexes the module it parsed itself (see
/// [`install_from`]); this parses the bitcode on its own, for the debugging
/// output of recordings when no trace was compiled yet.
pub(crate) fn load(info: &YkAotInfo, log: &Log) -> Result<&'static AotIndex, &'static LoadError> {
    let r = INDEX.get_or_init(|| {
        check_version(info)?;
        let want_text = log.ir_selection().aot;
        let bitcode = crate::aot::bitcode(info).map_err(LoadError::Bad)?;
        let (idx, text) = AotIndex::from_bitcode(bitcode, want_text)?;
        if let Some(t) = text {
            log.ir_section("aot", &t);
        }
        check_tables(info, idx)
    });
    r.as_ref()
}

/// Index module `m`, parsed from `info`'s bitcode by the caller, unless an
/// index exists already; print it if `log` selects `aot`.
///
/// # Safety
/// `m` must be a live module, not used by another thread meanwhile.
pub(crate) unsafe fn install_from(
    info: &YkAotInfo,
    m: LLVMModuleRef,
    log: &Log,
) -> Result<&'static AotIndex, &'static LoadError> {
    let r = INDEX.get_or_init(|| {
        check_version(info)?;
        if log.ir_selection().aot {
            // SAFETY: the caller's promise.
            unsafe {
                let p = llvm_sys::core::LLVMPrintModuleToString(m);
                log.ir_section("aot", &std::ffi::CStr::from_ptr(p).to_string_lossy());
                llvm_sys::core::LLVMDisposeMessage(p);
            }
        }
        // SAFETY: the caller's promise.
        check_tables(info, unsafe { index_module(m) })
    });
    r.as_ref()
}

/// Cheap checks that don't need the module: is the ABI version ours, and
/// did loading the module fail before?
pub(crate) fn precheck(info: &YkAotInfo) -> Result<(), LoadError> {
    check_version(info)?;
    if info.section().is_empty() {
        return Err(LoadError::EmptySection);
    }
    // The section's header and checksum (checked once; `MT::with_config`
    // has reported a failure already).
    let Ok(ir) = crate::aot::bitcode(info) else {
        return Err(LoadError::Damaged);
    };
    // LLVM bitcode starts with "BC" 0xC0DE, or the wrapper's 0x0B17C0DE.
    if ir.is_empty() {
        return Err(LoadError::NoBitcode);
    }
    if !ir.starts_with(&[0x42, 0x43, 0xc0, 0xde]) && !ir.starts_with(&[0xde, 0xc0, 0x17, 0x0b]) {
        return Err(LoadError::NotBitcode);
    }
    match INDEX.get() {
        Some(Err(e)) => Err(e.clone()),
        _ => Ok(()),
    }
}

fn check_version(info: &YkAotInfo) -> Result<(), LoadError> {
    if info.version != crate::aot::YK_AOT_INFO_VERSION {
        return Err(LoadError::Version {
            found: info.version,
            expected: crate::aot::YK_AOT_INFO_VERSION,
        });
    }
    Ok(())
}

fn check_tables(info: &YkAotInfo, idx: AotIndex) -> Result<AotIndex, LoadError> {
    if idx.funcs.len() != info.funcs().len() || idx.nglobals != info.globals().len() {
        return Err(LoadError::Tables {
            funcs: idx.funcs.len(),
            globals: idx.nglobals,
            table_funcs: info.funcs().len(),
            table_globals: info.globals().len(),
        });
    }
    Ok(idx)
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
unsafe fn index_module(m: LLVMModuleRef) -> AotIndex {
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
        let by_name = funcs
            .iter()
            .enumerate()
            .map(|(i, f): (usize, &FuncInfo)| (f.name.clone(), i as u32))
            .collect();
        AotIndex {
            funcs,
            nglobals,
            by_name,
        }
    }
}

unsafe fn index_block(
    bb: LLVMBasicBlockRef,
    bidx: &HashMap<LLVMBasicBlockRef, u32>,
    fidx: &HashMap<LLVMValueRef, u32>,
) -> BlockInfo {
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
    unsafe {
        while !LLVMIsAConstantExpr(v).is_null() && LLVMGetNumOperands(v) > 0 {
            v = LLVMGetOperand(v, 0);
        }
    }
    v
}
