//! The information a yk-ld-linked binary registers at start-up
//! (`__yk_register_aot`, see docs/abi.md).

pub use linker_plugin::ir_section::{self, SectionError};
use std::sync::OnceLock;

/// The version of [`YkAotInfo`] this runtime understands.
pub const YK_AOT_INFO_VERSION: u64 = linker_plugin::embed::AOT_INFO_VERSION;

/// Mirrors `YkAotInfo` of docs/abi.md. It and everything it points to live for
/// the whole process.
#[repr(C)]
#[derive(Debug)]
pub struct YkAotInfo {
    /// [`YK_AOT_INFO_VERSION`].
    pub version: u64,
    /// The `yk_ir` section: a header ([`linker_plugin::ir_section`]), then the
    /// bitcode of the embedded module (see [`YkAotInfo::bitcode`]).
    pub ir: *const u8,
    /// Length of `ir` in bytes (header included).
    pub ir_len: u64,
    /// Run-time address of each global variable of the embedded module (or NULL).
    pub globals: *const *mut std::ffi::c_void,
    /// Length of `globals`.
    pub nglobals: u64,
    /// Run-time address of each function of the embedded module (or NULL).
    pub funcs: *const *mut std::ffi::c_void,
    /// Length of `funcs`.
    pub nfuncs: u64,
    /// Returns the address of the calling thread's software-tracing flag.
    pub swt_flag: unsafe extern "C" fn() -> *mut u8,
}

// SAFETY: the ABI promises the pointed-to data is immutable and lives forever; the
// flag accessor is callable from any thread.
unsafe impl Send for YkAotInfo {}
unsafe impl Sync for YkAotInfo {}

impl YkAotInfo {
    /// The `yk_ir` section, header included.
    pub fn section(&self) -> &'static [u8] {
        if self.ir.is_null() || self.ir_len == 0 {
            return &[];
        }
        // SAFETY: the ABI promises `ir_len` readable bytes that live forever.
        unsafe { std::slice::from_raw_parts(self.ir, self.ir_len as usize) }
    }

    /// The embedded module's bitcode, once the section's header and checksum
    /// have been checked (every call checks again: see [`bitcode`] for the
    /// registered module's, checked once).
    pub fn bitcode(&self) -> Result<&'static [u8], SectionError> {
        ir_section::unwrap(self.section())
    }

    /// The address table of the embedded module's global variables.
    pub fn globals(&self) -> &'static [*mut std::ffi::c_void] {
        table(self.globals, self.nglobals)
    }

    /// The address table of the embedded module's functions.
    pub fn funcs(&self) -> &'static [*mut std::ffi::c_void] {
        table(self.funcs, self.nfuncs)
    }

    /// The calling thread's software-tracing flag.
    pub fn swt_flag(&self) -> *mut u8 {
        // SAFETY: the ABI's accessor has no preconditions.
        unsafe { (self.swt_flag)() }
    }
}

fn table(p: *const *mut std::ffi::c_void, n: u64) -> &'static [*mut std::ffi::c_void] {
    if p.is_null() || n == 0 {
        return &[];
    }
    // SAFETY: the ABI promises `n` entries that live forever.
    unsafe { std::slice::from_raw_parts(p, n as usize) }
}

static AOT_INFO: OnceLock<&'static YkAotInfo> = OnceLock::new();

/// Register the binary's AOT information (what `__yk_register_aot` does). Later
/// registrations are ignored: there is one embedded module per process. Returns
/// whether this call registered `info`.
pub fn register(info: &'static YkAotInfo) -> bool {
    AOT_INFO.set(info).is_ok()
}

/// The registered AOT information; `None` in a binary not linked by yk-ld (which
/// then runs without a JIT).
pub fn info() -> Option<&'static YkAotInfo> {
    AOT_INFO.get().copied()
}

/// Why the embedded IR can't be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BadIr {
    /// The binary's `YkAotInfo` is of another layout (another yk-ld): nothing
    /// it points to can be read.
    InfoVersion(u64),
    /// The `yk_ir` section's header or checksum is wrong.
    Section(SectionError),
}

impl std::fmt::Display for BadIr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let section = linker_plugin::embed::IR_SECTION;
        match self {
            BadIr::InfoVersion(v) => write!(
                f,
                "the embedded IR (section {section}) was registered with YkAotInfo version \
                 {v}, but this runtime reads version {YK_AOT_INFO_VERSION} (rebuild the \
                 program with this yk-ld)"
            ),
            BadIr::Section(e) => write!(f, "the embedded IR (section {section}) is {e}"),
        }
    }
}

impl std::error::Error for BadIr {}

fn check(info: &YkAotInfo) -> Result<&'static [u8], BadIr> {
    if info.version != YK_AOT_INFO_VERSION {
        return Err(BadIr::InfoVersion(info.version));
    }
    info.bitcode().map_err(BadIr::Section)
}

/// The bitcode of `info`'s module, checked (the `YkAotInfo` version first, then
/// the section): for the registered `info`, the check (a CRC over the whole
/// module) runs once per process.
pub fn bitcode(info: &YkAotInfo) -> Result<&'static [u8], BadIr> {
    static CHECKED: OnceLock<Result<&'static [u8], BadIr>> = OnceLock::new();
    if AOT_INFO.get().is_some_and(|r| std::ptr::eq(*r, info)) {
        CHECKED.get_or_init(|| check(info)).clone()
    } else {
        check(info)
    }
}
