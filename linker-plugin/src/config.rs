//! Where the toolchain's pieces are: LLVM 22's binaries, our own binaries and
//! libraries, and `yk.h`.

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The LLVM major version the whole system is built for (rustc 1.95 is LLVM 22).
pub const LLVM_MAJOR: u32 = 22;

const INSTALL_HINT: &str = "install it with: apt-get install llvm-22-dev clang-22 lld-22";

/// The directory holding LLVM 22's `clang` and `ld.lld`: `$YK_LLVM_BINDIR`,
/// else Debian's `/usr/lib/llvm-22/bin`, else `llvm-config-22 --bindir`.
pub fn llvm_bindir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("YK_LLVM_BINDIR") {
        let d = PathBuf::from(d);
        if d.join("clang").exists() {
            return Ok(d);
        }
        bail!(
            "yk: YK_LLVM_BINDIR={} has no clang; {INSTALL_HINT}",
            d.display()
        );
    }
    let debian = PathBuf::from(format!("/usr/lib/llvm-{LLVM_MAJOR}/bin"));
    if debian.join("clang").exists() && debian.join("ld.lld").exists() {
        return Ok(debian);
    }
    if let Ok(out) = Command::new(format!("llvm-config-{LLVM_MAJOR}"))
        .arg("--bindir")
        .output()
    {
        let d = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if d.join("clang").exists() && d.join("ld.lld").exists() {
            return Ok(d);
        }
    }
    bail!("yk: LLVM {LLVM_MAJOR} (clang and lld) not found; {INSTALL_HINT}")
}

/// The directory our binaries (`yk-config`, `yk-ld`) and `libykcapi` were
/// built into: the directory of the running executable.
pub fn our_bindir() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    Ok(exe.parent().unwrap_or(Path::new(".")).to_path_buf())
}

/// The directory holding `yk.h`.
pub fn include_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("ykcapi")
}
