//! A Rust interpreter built with `yk-config --rustflags`: `interps/rust_bc`
//! (its own crate, outside the workspace) is built with yk-ld as its linker
//! and must
//! - run a program with the JIT off and on with the same output,
//! - compile and enter a trace with the JIT on,
//! - record only blocks of its own code (not of `ykrt`, which is compiled to
//!   bitcode with it, nor of `std`).
//!
//! The first build takes minutes (ykrt and its dependencies are built to
//! bitcode in `target/tmp/rust_bc`); later ones are incremental.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Builds `rust_bc` once per test process; returns the executable.
fn rust_bc() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let rustflags = Command::new(env!("CARGO_BIN_EXE_yk-config"))
            .arg("--rustflags")
            .output()
            .expect("running yk-config");
        assert!(rustflags.status.success(), "{rustflags:?}");
        let rustflags = String::from_utf8(rustflags.stdout).unwrap();
        let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rust_bc");
        let target = "x86_64-unknown-linux-gnu";
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        // An explicit --target keeps RUSTFLAGS off build scripts and proc
        // macros, which are host tools, not part of the interpreter.
        let st = Command::new(cargo)
            .current_dir(root())
            .args(["build", "--release", "--target", target, "--manifest-path"])
            .arg(root().join("interps/rust_bc/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir)
            .env("RUSTFLAGS", rustflags.trim())
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("RUSTC_WRAPPER")
            .status()
            .expect("running cargo");
        assert!(st.success(), "building interps/rust_bc with yk-ld failed");
        target_dir.join(target).join("release/rust_bc")
    })
}

fn run(envs: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(rust_bc());
    cmd.arg(root().join("interps/rust_bc/progs/collatz.asm"))
        .args(args)
        .env_remove("LD_LIBRARY_PATH");
    for var in [
        "YK_JITC",
        "YK_HOT_THRESHOLD",
        "YKD_LOG",
        "YKD_LOG_IR",
        "YKD_SERIALISE_COMPILATION",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(envs.iter().copied());
    let out = cmd.output().expect("running rust_bc");
    assert!(
        out.status.success(),
        "rust_bc failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

const N: &str = "3000";
/// Sum of the Collatz sequence lengths of 1..3000, and the longest one.
const EXPECTED: &str = "215063\n216\n";

#[test]
fn runs_without_the_jit() {
    let out = run(&[("YK_JITC", "none"), ("YKD_LOG", "3")], &[N]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), EXPECTED);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("yk-jit-event"), "{err}");
}

#[test]
fn traces_are_compiled_and_entered() {
    let out = run(
        &[
            ("YKD_LOG", "3"),
            ("YKD_SERIALISE_COMPILATION", "1"),
            ("YK_HOT_THRESHOLD", "5"),
        ],
        &[N],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(String::from_utf8_lossy(&out.stdout), EXPECTED, "{err}");
    assert!(err.contains("yk-jit-event: start-tracing"), "{err}");
    assert!(err.contains("yk-jit-event: trace-compiled"), "{err}");
    assert!(err.contains("yk-jit-event: enter-jit-code"), "{err}");
}

#[test]
fn only_the_interpreters_own_blocks_are_recorded() {
    let out = run(
        &[
            ("YKD_LOG_IR", "trace-blocks"),
            ("YKD_SERIALISE_COMPILATION", "1"),
            ("YK_HOT_THRESHOLD", "5"),
        ],
        &["50"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let funcs: Vec<&str> = err
        .lines()
        .filter_map(|l| l.strip_prefix("yk-trace-block: "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(!funcs.is_empty(), "nothing recorded:\n{err}");
    for f in funcs {
        // Legacy-mangled `rust_bc::...` paths: the interpreter's own crate.
        assert!(
            f.starts_with("_ZN7rust_bc"),
            "recorded a block of {f}:\n{err}"
        );
    }
    assert!(err.contains("yk-trace-check: ok"), "{err}");
}

#[test]
fn a_bad_program_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let prog = dir.path().join("bad.asm");
    std::fs::write(&prog, "set r1 1\nfoo r2\nhalt\n").unwrap();
    let out = Command::new(rust_bc()).arg(&prog).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim_end(),
        format!("rust_bc: {}:2: unknown operation `foo`", prog.display())
    );
}
