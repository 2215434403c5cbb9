//! `cargo xtask install --prefix DIR [--debug]`: install the toolchain and the two Lua
//! interpreters so that an interpreter author can use them with no repository around:
//!
//! | file | |
//! |---|---|
//! | `DIR/bin/yk-config`, `DIR/bin/yk-ld` | the toolchain; `yk-config` finds the rest relative to itself |
//! | `DIR/lib/libykcapi.so` | the runtime |
//! | `DIR/include/yk.h` | its C API |
//! | `DIR/lib/pkgconfig/ykcapi.pc` | the same for `pkg-config` (relocatable: paths from `${pcfiledir}`) |
//! | `DIR/bin/lua`, `DIR/bin/yklua` | PUC Lua 5.4.6, plain and with the JIT (yklua finds `libykcapi.so` through `$ORIGIN/../lib`) |
//!
//! The release toolchain unless `--debug`.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{bail, Context, Result};

use crate::{lua, workspace_root};

/// Options of `cargo xtask install`.
#[derive(Debug, PartialEq, Eq)]
pub struct InstallOpts {
    /// The installation prefix.
    pub prefix: PathBuf,
    /// Install the debug toolchain rather than the release one.
    pub debug: bool,
}

/// Parses `cargo xtask install --prefix DIR [--debug]`.
pub fn parse_opts(args: &[String]) -> Result<InstallOpts> {
    let mut prefix = None;
    let mut debug = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--prefix" => {
                prefix = Some(PathBuf::from(
                    it.next().context("--prefix needs a directory")?,
                ))
            }
            "--debug" => debug = true,
            _ => bail!("unknown install argument {a:?}\n{}", crate::USAGE),
        }
    }
    let prefix = prefix.context("install needs --prefix DIR")?;
    Ok(InstallOpts { prefix, debug })
}

/// Copy `from` to `to` through a scratch name, so that a running `to` is replaced rather than
/// overwritten; the permissions go with it.
fn install_file(from: &Path, to: &Path) -> Result<()> {
    let tmp = to.with_extension("installing");
    fs::copy(from, &tmp)
        .with_context(|| format!("copying {} to {}", from.display(), tmp.display()))?;
    fs::rename(&tmp, to)
        .with_context(|| format!("renaming {} to {}", tmp.display(), to.display()))?;
    Ok(())
}

/// The pkg-config file: every path relative to its own place, `DIR/lib/pkgconfig`.
fn pkg_config_file() -> String {
    format!(
        "prefix=${{pcfiledir}}/../..\n\
         libdir=${{prefix}}/lib\n\
         includedir=${{prefix}}/include\n\
         \n\
         Name: ykcapi\n\
         Description: the C API of the yk meta-tracing JIT runtime (build interpreters with yk-config)\n\
         Version: {}\n\
         Cflags: -I${{includedir}}\n\
         Libs: -L${{libdir}} -lykcapi -Wl,-rpath,${{libdir}}\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// `cargo xtask install`: see the module doc.
pub fn install(opts: &InstallOpts) -> Result<()> {
    let bins = lua::build(&lua::BuildOpts {
        release: !opts.debug,
    })?;
    let profile_dir = lua::target_dir()?.join(if opts.debug { "debug" } else { "release" });
    let (bin, lib, inc) = (
        opts.prefix.join("bin"),
        opts.prefix.join("lib"),
        opts.prefix.join("include"),
    );
    let pc_dir = lib.join("pkgconfig");
    for d in [&bin, &lib, &inc, &pc_dir] {
        fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }
    for exe in ["yk-config", "yk-ld"] {
        install_file(&profile_dir.join(exe), &bin.join(exe))?;
    }
    install_file(&profile_dir.join("libykcapi.so"), &lib.join("libykcapi.so"))?;
    install_file(&workspace_root().join("ykcapi/yk.h"), &inc.join("yk.h"))?;
    let pc = pc_dir.join("ykcapi.pc");
    fs::write(&pc, pkg_config_file()).with_context(|| format!("writing {}", pc.display()))?;
    install_file(&bins.lua, &bin.join("lua"))?;
    // The build tree's yklua has an rpath to target/<profile>/: link one that looks beside
    // itself instead.
    bins.yklua_relink
        .link(&bin.join("yklua"), "$ORIGIN/../lib")?;
    eprintln!(
        "install: yk-config, yk-ld, lua, yklua in {}; libykcapi.so and pkgconfig/ykcapi.pc in {}; yk.h in {}",
        bin.display(),
        lib.display(),
        inc.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_opts(&args(&["--prefix", "/opt/yk"])).unwrap(),
            InstallOpts {
                prefix: "/opt/yk".into(),
                debug: false
            }
        );
        assert!(
            parse_opts(&args(&["--debug", "--prefix", "p"]))
                .unwrap()
                .debug
        );
        assert!(parse_opts(&args(&[])).is_err());
        assert!(parse_opts(&args(&["--prefix"])).is_err());
        assert!(parse_opts(&args(&["--prefix", "p", "--bogus"])).is_err());
    }

    #[test]
    fn pkg_config_is_relocatable() {
        let pc = pkg_config_file();
        assert!(pc.starts_with("prefix=${pcfiledir}/../..\n"));
        assert!(pc.contains("Libs: -L${libdir} -lykcapi"));
        assert!(!pc.contains(env!("CARGO_MANIFEST_DIR")));
    }
}
