//! Finding the two Lua interpreters that `cargo xtask lua` builds: `lua` (plain PUC Lua 5.4.6,
//! the baseline) and `yklua` (the same sources built with the yk toolchain, JIT on).

use std::{
    env,
    path::{Path, PathBuf},
};

use anyhow::{bail, Result};

/// Set to a directory holding `lua` and `yklua` to test those instead of `<target dir>/lua/`.
pub const LUA_DIR_ENV: &str = "LANG_TESTS_LUA_DIR";

/// The plain interpreter's file name.
pub const PLAIN: &str = "lua";
/// The instrumented interpreter's file name.
pub const JIT: &str = "yklua";

/// The paths of the two interpreters under test.
#[derive(Debug, Clone)]
pub struct Interpreters {
    /// The plain build.
    pub lua: PathBuf,
    /// The instrumented build.
    pub yklua: PathBuf,
}

impl Interpreters {
    /// The interpreters in `$LANG_TESTS_LUA_DIR` if set, else in `<target_dir>/lua/`, where
    /// `cargo xtask lua` puts them. Fails, naming the command that builds them, if either is
    /// missing.
    pub fn find(target_dir: &Path) -> Result<Self> {
        match env::var_os(LUA_DIR_ENV) {
            Some(d) => Self::find_in(Path::new(&d)),
            None => Self::find_in(&target_dir.join("lua")),
        }
    }

    /// The interpreters in `dir`; fails, naming the command that builds them, if either is
    /// missing.
    pub fn find_in(dir: &Path) -> Result<Self> {
        let interps = Interpreters {
            lua: dir.join(PLAIN),
            yklua: dir.join(JIT),
        };
        let missing: Vec<String> = [&interps.lua, &interps.yklua]
            .into_iter()
            .filter(|p| !p.is_file())
            .map(|p| p.display().to_string())
            .collect();
        if !missing.is_empty() {
            bail!(
                "{} not found: build the interpreters with `cargo xtask lua` \
                 (or point ${LUA_DIR_ENV} at a directory holding `{PLAIN}` and `{JIT}`)",
                missing.join(" and ")
            );
        }
        Ok(interps)
    }
}

pub use c_tests::toolchain::profile_dir_of_current_exe;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_interpreters_name_the_build_command() {
        let dir = env::temp_dir().join("lang_tests-no-such-dir");
        let e = Interpreters::find_in(&dir).unwrap_err().to_string();
        assert!(e.contains("cargo xtask lua"), "{e}");
        assert!(e.contains(&dir.join("yklua").display().to_string()), "{e}");
    }
}
