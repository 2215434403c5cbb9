//! The `Compiler` step of a C test: build the program twice, with the yk toolchain (`jit`) and
//! plainly (`plain`, the baseline without yk-ld and so without a JIT).

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result};

use crate::{spec, toolchain::Toolchain};

/// File name of the toolchain-built binary in a test's output directory.
pub const JIT_EXE: &str = "jit";
/// File name of the plainly built binary in a test's output directory.
pub const PLAIN_EXE: &str = "plain";

/// A build step failed. Its output has already gone to our stdout/stderr: the caller should
/// just exit with `code`.
#[derive(Debug)]
pub struct StepFailed {
    /// The exit code to report (the failed command's own, or 1).
    pub code: i32,
}

impl std::fmt::Display for StepFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "build step failed (exit code {})", self.code)
    }
}

impl std::error::Error for StepFailed {}

/// Build `test` into `out_dir/jit` and `out_dir/plain`. The toolchain build goes first so that
/// a test expecting a link error sees the linker's own stderr and status. The compiler's and
/// linker's output is inherited, i.e. it is what lang_tester matches against. A failing step is
/// reported as a [`StepFailed`] error.
pub fn build(tc: &Toolchain, test: &Path, out_dir: &Path) -> Result<()> {
    let src = fs::read_to_string(test).with_context(|| format!("reading {}", test.display()))?;
    let (_, dirs) = spec::parse(&src)?;
    let test_dir = test.parent().context("test has no parent dir")?;
    // Start afresh so that a binary from an earlier run is never mistaken for this one's.
    if out_dir.exists() {
        fs::remove_dir_all(out_dir).with_context(|| format!("removing {}", out_dir.display()))?;
    }
    fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;

    let mut sources = vec![test.to_owned()];
    sources.extend(dirs.extra_files.iter().map(|f| test_dir.join(f)));
    let archived: Vec<PathBuf> = dirs
        .extra_archive
        .iter()
        .map(|f| test_dir.join(f))
        .collect();

    // The JIT build: `$(yk-config --cc) $(yk-config --cflags --cppflags) srcs -o jit
    // $(yk-config --ldflags --libs)`.
    let jit_cflags: Vec<String> = [&tc.cflags, &tc.cppflags, &dirs.cflags]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    // The plain build: `clang-22 -O2 -I<ykcapi> srcs -o plain $(yk-config --libs)`: it still
    // links libykcapi for the yk_* symbols (which are no-ops without yk-ld).
    let plain_cflags: Vec<String> = ["-O2".to_owned()]
        .iter()
        .chain(&tc.cppflags)
        .chain(&dirs.cflags)
        .chain(&dirs.plain_cflags)
        .cloned()
        .collect();
    let jit_ldflags: Vec<String> = tc.ldflags.iter().chain(&tc.libs).cloned().collect();

    for (kind, exe, cflags, ldflags) in [
        ("JIT", JIT_EXE, &jit_cflags, &jit_ldflags),
        ("plain (baseline)", PLAIN_EXE, &plain_cflags, &tc.libs),
    ] {
        let mut inputs = sources.clone();
        if !archived.is_empty() {
            let lib_dir = out_dir.join(format!("{exe}-archive"));
            fs::create_dir_all(&lib_dir)?;
            let mut objs = Vec::new();
            for src in &archived {
                let stem = src.file_stem().context("archive source has no name")?;
                let obj = lib_dir.join(stem).with_extension("o");
                let mut cc = Command::new(&tc.cc);
                cc.args(cflags).arg("-c").arg(src).arg("-o").arg(&obj);
                run_step(&format!("{kind} build of {}", src.display()), cc)?;
                objs.push(obj);
            }
            let archive = lib_dir.join("libextra.a");
            let mut ar = Command::new(tc.ar());
            ar.arg("rcs").arg(&archive).args(&objs);
            run_step(&format!("{kind} archive"), ar)?;
            // After the sources, so that the linker pulls in the members they need.
            inputs.push(archive);
        }
        let mut cc = Command::new(&tc.cc);
        cc.args(cflags)
            .args(&inputs)
            .arg("-o")
            .arg(out_dir.join(exe))
            .args(ldflags);
        run_step(&format!("{kind} build"), cc)?;
    }
    Ok(())
}

/// Run one build command with inherited stdout/stderr. On failure, say which step failed (after
/// the tool's own output, so a test's `stderr:` pattern still sees the tool's text first).
fn run_step(what: &str, mut cmd: Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if status.success() {
        return Ok(());
    }
    eprintln!("c_tests: {what} failed ({status}): {cmd:?}");
    Err(StepFailed {
        code: status.code().unwrap_or(1),
    }
    .into())
}
