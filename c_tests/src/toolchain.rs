//! Finding (and if need be building) the yk toolchain: `yk-config`, `yk-ld` and `libykcapi.so`
//! in a cargo profile directory (`target/<profile>/`).

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context, Result};

/// The flags `yk-config` prints, split into arguments.
#[derive(Debug, Clone)]
pub struct Toolchain {
    /// `target/<profile>/`, where `yk-config`, `yk-ld` and `libykcapi.so` live.
    pub profile_dir: PathBuf,
    /// The C compiler (`yk-config --cc`): clang-22.
    pub cc: PathBuf,
    /// `yk-config --cflags`.
    pub cflags: Vec<String>,
    /// `yk-config --cppflags` (the include path of `yk.h`).
    pub cppflags: Vec<String>,
    /// `yk-config --ldflags` (selects `yk-ld` as the linker).
    pub ldflags: Vec<String>,
    /// `yk-config --libs` (links `libykcapi`, with an rpath to it).
    pub libs: Vec<String>,
}

impl Toolchain {
    /// Query the `yk-config` in `profile_dir`. Fails if it is missing or fails.
    pub fn find(profile_dir: &Path) -> Result<Self> {
        let yk_config = profile_dir.join("yk-config");
        if !yk_config.is_file() {
            bail!(
                "{} not found: build it with `cargo build -p linker-plugin -p ykcapi`",
                yk_config.display()
            );
        }
        let query = |flag: &str| -> Result<Vec<String>> {
            let out = Command::new(&yk_config)
                .arg(flag)
                .output()
                .with_context(|| format!("running {}", yk_config.display()))?;
            if !out.status.success() {
                bail!(
                    "`{} {flag}` failed ({}):\n{}",
                    yk_config.display(),
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            // Flags are whitespace separated: paths containing spaces are not supported.
            Ok(String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .map(str::to_owned)
                .collect())
        };
        let cc = query("--cc")?;
        let [cc] = cc.as_slice() else {
            bail!("`yk-config --cc` printed {cc:?}, expected one path");
        };
        Ok(Toolchain {
            profile_dir: profile_dir.to_owned(),
            cc: PathBuf::from(cc),
            cflags: query("--cflags")?,
            cppflags: query("--cppflags")?,
            ldflags: query("--ldflags")?,
            libs: query("--libs")?,
        })
    }

    /// The `llvm-ar` matching `cc`: `llvm-ar-22` next to `clang-22`, `llvm-ar` next to a plain
    /// `clang`, else whatever `llvm-ar-22` is on `PATH`.
    pub fn ar(&self) -> PathBuf {
        let dir = self.cc.parent().unwrap_or(Path::new(""));
        let name = self.cc.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let candidate = match name.strip_prefix("clang") {
            Some(suffix) if suffix.is_empty() || suffix.starts_with('-') => {
                dir.join(format!("llvm-ar{suffix}"))
            }
            _ => PathBuf::new(),
        };
        if candidate.is_file() {
            candidate
        } else {
            PathBuf::from("llvm-ar-22")
        }
    }
}

/// The cargo profile directory (`target/<profile>/`) of the running executable. Integration
/// tests live in `target/<profile>/deps/`, binaries in `target/<profile>/`.
pub fn profile_dir_of_current_exe() -> Result<PathBuf> {
    let exe = env::current_exe().context("locating the current executable")?;
    let mut dir = exe.parent().context("executable has no parent dir")?;
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir = dir.parent().context("deps dir has no parent")?;
    }
    Ok(dir.to_owned())
}

/// Builds one C program of a test binary's own, `src`, with the toolchain of the running
/// test's profile (built first, unless `C_TESTS_NO_TOOLCHAIN_BUILD` is set), into
/// `target/<profile>/c_tests/<dir>/<name>`, and returns the binary's path.
pub fn build_test_program(src: &Path, dir: &str, name: &str) -> Result<PathBuf> {
    let profile_dir = profile_dir_of_current_exe()?;
    if env::var_os("C_TESTS_NO_TOOLCHAIN_BUILD").is_none() {
        build_toolchain(&profile_dir)?;
    }
    let tc = Toolchain::find(&profile_dir)?;
    let out_dir = profile_dir.join("c_tests").join(dir);
    std::fs::create_dir_all(&out_dir)?;
    let exe = out_dir.join(name);
    let out = Command::new(&tc.cc)
        .args(&tc.cflags)
        .args(&tc.cppflags)
        .arg(src)
        .arg("-o")
        .arg(&exe)
        .args(&tc.ldflags)
        .args(&tc.libs)
        .output()?;
    if !out.status.success() {
        bail!(
            "building {} failed ({}):\n{}",
            src.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(exe)
}

/// Run `cargo build -p linker-plugin -p ykcapi` for the profile and target directory that
/// `profile_dir` belongs to. Always run rather than only when `yk-config` is missing, so that a
/// stale toolchain is never tested; when it is up to date this takes about a second.
pub fn build_toolchain(profile_dir: &Path) -> Result<()> {
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .context("profile dir has no name")?;
    let target_dir = profile_dir.parent().context("profile dir has no parent")?;
    // Cargo puts both the `dev` and `test` profiles in `debug/`, `release` and `bench` in
    // `release/`; custom profiles use their own name.
    let profile_args: Vec<&str> = match profile {
        "debug" => vec![],
        "release" => vec!["--release"],
        p => vec!["--profile", p],
    };
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", "linker-plugin", "-p", "ykcapi"])
        .args(profile_args)
        .arg("--target-dir")
        .arg(target_dir);
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}
