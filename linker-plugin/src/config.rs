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

/// Where the toolchain's own files are. Found from the running binary
/// (`yk-config` or `yk-ld`), never from the source tree when installed, so an
/// installed toolchain works with no repository around.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// `yk-config` and `yk-ld`.
    pub bindir: PathBuf,
    /// `libykcapi.so`.
    pub libdir: PathBuf,
    /// `yk.h`.
    pub includedir: PathBuf,
}

impl Layout {
    /// The layout around binaries in `bindir`: an installed one
    /// (`PREFIX/bin`, with `PREFIX/lib/libykcapi.so` and `PREFIX/include/yk.h`,
    /// as `cargo xtask install` makes it), else the build tree's
    /// (`target/<profile>/` holds the binaries and the library, `yk.h` is in
    /// the sources' `ykcapi/`).
    pub fn around(bindir: &Path) -> Layout {
        if let Some(prefix) = bindir.parent() {
            let (lib, inc) = (prefix.join("lib"), prefix.join("include"));
            if lib.join("libykcapi.so").is_file() && inc.join("yk.h").is_file() {
                return Layout {
                    bindir: bindir.to_owned(),
                    libdir: lib,
                    includedir: inc,
                };
            }
        }
        Layout {
            bindir: bindir.to_owned(),
            libdir: bindir.to_owned(),
            includedir: source_include_dir(),
        }
    }
}

/// The layout around the running executable (see [`Layout::around`]).
pub fn layout() -> Result<Layout> {
    let exe = std::env::current_exe()?;
    // An installed binary may be reached through a symlink: look beside the
    // real file.
    let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
    Ok(Layout::around(exe.parent().unwrap_or(Path::new("."))))
}

/// The directory holding `yk.h` in this source tree.
fn source_include_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("ykcapi")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_and_build_tree_layouts() {
        let tmp = std::env::temp_dir().join(format!("yk-layout-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        for d in ["bin", "lib", "include"] {
            std::fs::create_dir_all(tmp.join(d)).unwrap();
        }
        let bin = tmp.join("bin");
        // Without the library and header beside it: the build tree's layout.
        assert_eq!(
            Layout::around(&bin),
            Layout {
                bindir: bin.clone(),
                libdir: bin.clone(),
                includedir: source_include_dir(),
            }
        );
        std::fs::write(tmp.join("lib/libykcapi.so"), "").unwrap();
        std::fs::write(tmp.join("include/yk.h"), "").unwrap();
        assert_eq!(
            Layout::around(&bin),
            Layout {
                bindir: bin.clone(),
                libdir: tmp.join("lib"),
                includedir: tmp.join("include"),
            }
        );
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
