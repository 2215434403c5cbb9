//! The information a yk-ld-linked binary registers at start-up
//! (`__yk_register_aot`, see docs/abi.md).

use std::sync::OnceLock;
pub use yk_abi::aot_info::YkAotInfo;
pub use yk_abi::ir_section::SectionError;

/// The version of [`YkAotInfo`] this runtime understands.
pub const YK_AOT_INFO_VERSION: u64 = yk_abi::aot_info::VERSION;

/// The `yk_ir` section as the runtime reads it: the contract crate's format
/// ([`yk_abi::ir_section`]) with zlib's CRC-32 from `crc32fast`, as yk-ld writes it.
pub mod ir_section {
    pub use yk_abi::ir_section::{SectionError, HEADER_LEN, SECTION};

    /// The section holding `bitcode` (as yk-ld writes it; for tests).
    pub fn wrap(bitcode: &[u8]) -> Vec<u8> {
        yk_abi::ir_section::wrap(bitcode, crc32fast::hash)
    }

    /// The bitcode in `section`, once its header and checksum have been checked.
    pub fn unwrap(section: &[u8]) -> Result<&[u8], SectionError> {
        yk_abi::ir_section::unwrap(section, crc32fast::hash)
    }
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
        let section = ir_section::SECTION;
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
    ir_section::unwrap(info.section()).map_err(BadIr::Section)
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
