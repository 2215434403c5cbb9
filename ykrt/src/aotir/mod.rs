//! The embedded AOT IR's index: the module's functions, blocks, calls and
//! annotations as plain Rust data that any thread can read, built once per
//! process (on the first trace) and kept here.
//!
//! This module is part of the runtime core and reads no LLVM: the index is
//! built by the LLVM side (`jit::aot_index`), either from the module the
//! trace compiler parsed for its first trace ([`install_with`]) or, for the
//! recorder's debugging output before any trace was compiled, from the
//! bitcode by the reader the LLVM side registered ([`set_reader`],
//! [`load`]).

mod check;

pub use check::{check_trace, CheckError, StepError};

use crate::{
    aot::{BadIr, YkAotInfo},
    log::Log,
};
use std::{collections::HashMap, fmt, sync::OnceLock};

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
    /// No reader of the embedded IR is registered ([`set_reader`]): the
    /// runtime runs without the LLVM side.
    NoReader,
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
            LoadError::NoReader => f.write_str("no reader of the embedded IR is installed"),
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

    /// The index of `funcs` (in module order) and `nglobals` globals.
    pub fn new(funcs: Vec<FuncInfo>, nglobals: usize) -> AotIndex {
        let by_name = funcs
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.clone(), i as u32))
            .collect();
        AotIndex {
            funcs,
            nglobals,
            by_name,
        }
    }
}

/// Reads embedded-IR bitcode into its index, and the module's text when
/// asked (`want_text`): what the LLVM side registers ([`set_reader`]).
pub type ReadFn =
    fn(bitcode: &[u8], want_text: bool) -> Result<(AotIndex, Option<String>), LoadError>;

static READER: OnceLock<ReadFn> = OnceLock::new();

/// Registers the reader of the embedded IR (the first registration wins:
/// there is one embedded module and one LLVM side per process).
pub fn set_reader(read: ReadFn) {
    let _ = READER.set(read);
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
/// [`install_with`]); this reads the bitcode with the registered reader, for
/// the debugging output of recordings when no trace was compiled yet.
/// Without a reader it fails with [`LoadError::NoReader`] and keeps no
/// result (a reader may be registered later).
pub(crate) fn load(info: &YkAotInfo, log: &Log) -> Result<&'static AotIndex, &'static LoadError> {
    static NO_READER: LoadError = LoadError::NoReader;
    let Some(read) = READER.get() else {
        return INDEX.get().map_or(Err(&NO_READER), |r| r.as_ref());
    };
    let r = INDEX.get_or_init(|| {
        check_version(info)?;
        let want_text = log.ir_selection().aot;
        let bitcode = crate::aot::bitcode(info).map_err(LoadError::Bad)?;
        let (idx, text) = read(bitcode, want_text)?;
        if let Some(t) = text {
            log.ir_section("aot", &t);
        }
        check_tables(info, idx)
    });
    r.as_ref()
}

/// Installs the index `build` makes of `info`'s module (parsed by the
/// trace compiler), unless an index exists already; `build` is told whether
/// to return the module's text too, which is printed if `log` selects
/// `aot`.
pub(crate) fn install_with(
    info: &YkAotInfo,
    log: &Log,
    build: impl FnOnce(bool) -> (AotIndex, Option<String>),
) -> Result<&'static AotIndex, &'static LoadError> {
    let r = INDEX.get_or_init(|| {
        check_version(info)?;
        let (idx, text) = build(log.ir_selection().aot);
        if let Some(t) = text {
            log.ir_section("aot", &t);
        }
        check_tables(info, idx)
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
