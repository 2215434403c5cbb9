//! A binary whose embedded IR (the `yk_ir` section, docs/abi.md) is damaged runs its
//! program correctly with the JIT off and says why in one line on stderr, instead of dying
//! in LLVM's bitcode reader when its first trace compiles.
//!
//! `tests/bad_ir/sum.c` is built with the toolchain once; each test copies the binary,
//! damages the section in the copy (found with the `object` crate) and runs it.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
    time::Duration,
};

use c_tests::{run, toolchain};
use object::{Object, ObjectSection};
use ykrt::aot::ir_section::{self, HEADER_LEN};

const SRC: &str = "tests/bad_ir/sum.c";
const EXPECTED: &str = "total = 667333\n";
const TIMEOUT: Duration = Duration::from_secs(120);

/// The binary, built once for all tests.
fn program() -> &'static Path {
    static EXE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let r = EXE.get_or_init(|| {
        toolchain::build_test_program(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join(SRC),
            "bad_ir_section",
            "sum",
        )
        .map_err(|e| format!("{e:#}"))
    });
    match r {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

/// Runs `exe` with the loop hot after 5 iterations, compiled on this thread, and `YKD_LOG`
/// at `log_level` (`None`: the default, errors and warnings); returns (stdout, stderr).
fn run_it(exe: &Path, log_level: Option<&str>) -> (String, String) {
    let mut cmd = Command::new(exe);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("YK") {
            cmd.env_remove(k);
        }
    }
    cmd.env("YK_HOT_THRESHOLD", "5")
        .env("YKD_SERIALISE_COMPILATION", "1");
    if let Some(l) = log_level {
        cmd.env("YKD_LOG", l);
    }
    let out = run::run_with_timeout(&mut cmd, b"", TIMEOUT).unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.is_some_and(|s| s.success()),
        "{} ended with {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        exe.display(),
        run::describe(out.status)
    );
    (stdout, stderr)
}

/// A copy of the program named `name` whose `yk_ir` section is `damage`d (given the
/// section's bytes, in place).
fn damaged(name: &str, damage: impl FnOnce(&mut [u8])) -> PathBuf {
    let exe = program();
    let mut bytes = fs::read(exe).unwrap();
    let (off, size) = {
        let obj = object::File::parse(&*bytes).unwrap();
        let sec = obj.section_by_name("yk_ir").expect("no yk_ir section");
        sec.file_range().expect("yk_ir has no bytes in the file")
    };
    let section = &mut bytes[off as usize..(off + size) as usize];
    // The section as linked is what yk-ld wrote.
    ir_section::unwrap(section).expect("the built binary's section is not intact");
    damage(section);
    let copy = exe.with_file_name(format!("sum-{name}"));
    // Copied first for the original's (executable) permissions.
    fs::copy(exe, &copy).unwrap();
    fs::write(&copy, &bytes).unwrap();
    copy
}

/// The damaged program prints what the intact one does, with exactly one line on stderr,
/// the runtime's error naming the section and `problem`; and nothing is traced.
fn check_jit_off(exe: &Path, problem: &str) {
    let (stdout, stderr) = run_it(exe, None);
    assert_eq!(stdout, EXPECTED);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "stderr:\n{stderr}");
    let prefix = format!("yk-error: the embedded IR (section yk_ir) is {problem}");
    assert!(
        lines[0].starts_with(&prefix) && lines[0].ends_with(": the JIT is off"),
        "expected a line starting with {prefix:?}, got:\n{stderr}"
    );
    // With JIT events logged: the same single line, no tracing.
    let (stdout, stderr) = run_it(exe, Some("3"));
    assert_eq!(stdout, EXPECTED);
    assert_eq!(stderr.lines().count(), 1, "stderr:\n{stderr}");
}

/// The intact binary traces and compiles its loop (so the tests below, where nothing is
/// traced, show the damage's effect).
#[test]
fn intact_section_is_traced() {
    let (stdout, stderr) = run_it(program(), Some("3"));
    assert_eq!(stdout, EXPECTED);
    assert!(
        stderr.contains("yk-jit-event: trace-compiled")
            && stderr.contains("yk-jit-event: enter-jit-code"),
        "{stderr}"
    );
    assert!(!stderr.contains("yk-error"), "{stderr}");
}

#[test]
fn corrupted_section() {
    let exe = damaged("corrupted", |s| {
        let mid = HEADER_LEN + (s.len() - HEADER_LEN) / 2;
        s[mid..mid + 64].fill(0xa5);
    });
    check_jit_off(&exe, "corrupted: the bitcode's CRC-32 is");
}

#[test]
fn truncated_section() {
    // A linked section can't be shortened in place: what a truncated one looks like to
    // the runtime is fewer bytes of bitcode than the header says.
    let exe = damaged("truncated", |s| {
        let len = u32::from_le_bytes(s[8..12].try_into().unwrap());
        s[8..12].copy_from_slice(&(len + 4096).to_le_bytes());
    });
    check_jit_off(&exe, "truncated: its header says");
}

#[test]
fn section_of_another_version() {
    let exe = damaged("version", |s| s[4..8].copy_from_slice(&7u32.to_le_bytes()));
    check_jit_off(&exe, "format version 7, but this runtime reads version 1");
}

#[test]
fn section_not_in_yk_format() {
    let exe = damaged("magic", |s| s[..4].copy_from_slice(b"\0\0\0\0"));
    check_jit_off(&exe, "not in yk's format");
}

/// Damaged bitcode behind a header whose checksum matches it (as if written so): the
/// section check passes, LLVM's bitcode reader rejects the module, and that is an error
/// the trace compiler returns (the trace is aborted with the reader's message), not a
/// process exit.
#[test]
fn bad_bitcode_with_a_matching_checksum() {
    let exe = damaged("bad-bitcode", |s| {
        let mid = HEADER_LEN + (s.len() - HEADER_LEN) / 2;
        s[mid..mid + 64].fill(0xff);
        let crc = crc32(&s[HEADER_LEN..]);
        s[12..16].copy_from_slice(&crc.to_le_bytes());
    });
    let (stdout, stderr) = run_it(&exe, Some("3"));
    assert_eq!(stdout, EXPECTED);
    let aborted: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("yk-jit-event: trace-aborted: "))
        .collect();
    assert!(
        !aborted.is_empty() && aborted.iter().all(|l| l.contains("not valid LLVM bitcode")),
        "{stderr}"
    );
    assert!(!stderr.contains("trace-compiled"), "{stderr}");
}

/// The checksum yk-ld writes, computed through the format's own writer.
fn crc32(bitcode: &[u8]) -> u32 {
    let s = ir_section::wrap(bitcode);
    u32::from_le_bytes(s[12..16].try_into().unwrap())
}
