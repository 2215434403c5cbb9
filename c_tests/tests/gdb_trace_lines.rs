//! Compiled traces carry the interpreter's source lines: `tests/gdb/trace_lines.c`, built with
//! the yk toolchain, runs under `gdb -batch` until its loop runs as a trace, and gdb must show
//! the trace's code at the C program's own lines (see `ykrt/src/jit/dbg.rs`).
//!
//! gdb is required: without it these tests fail (CI installs it, see `.ci/run`).

use std::{
    collections::HashMap,
    fs,
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
    time::Duration,
};

use c_tests::{run, toolchain};

/// The program, relative to this crate.
const SRC: &str = "tests/gdb/trace_lines.c";
/// How long a gdb session may take (the debug runtime compiles slowly, gdb reads its symbols).
const TIMEOUT: Duration = Duration::from_secs(240);

fn src_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(SRC)
}

/// Builds the program with the toolchain once (for all tests), returning the binary.
fn program() -> &'static Path {
    static EXE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let r = EXE.get_or_init(|| {
        toolchain::build_test_program(&src_path(), "gdb_trace_lines", "trace_lines")
            .map_err(|e| format!("{e:#}"))
    });
    match r {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

/// The line numbers of the `// LINE:<name>` markers in the program.
fn marks() -> HashMap<String, u32> {
    let src = fs::read_to_string(src_path()).expect("reading the program");
    src.lines()
        .enumerate()
        .filter_map(|(k, l)| {
            let name = l.split("// LINE:").nth(1)?;
            Some((name.trim().to_owned(), k as u32 + 1))
        })
        .collect()
}

/// Runs the program under `gdb -batch -nx` with commands `cmds` (each its own `-ex`, so that
/// one failing doesn't end the session) and `env` added to the environment; returns gdb's
/// stdout and stderr.
fn gdb(cmds: &[&str], env: &[(&str, &str)]) -> String {
    let exe = program();
    let mut cmd = Command::new("gdb");
    cmd.args(["-batch", "-nx"]);
    for c in [
        "set pagination off",
        "set confirm off",
        "set debuginfod enabled off",
        "set breakpoint pending on",
    ]
    .iter()
    .chain(cmds)
    {
        cmd.arg("-ex").arg(c);
    }
    cmd.arg(exe)
        // The loop is compiled on its 5th iteration and runs as a trace from then on.
        .env("YK_HOT_THRESHOLD", "5")
        .env("YKD_SERIALISE_COMPILATION", "1")
        .env("YK_COMPILE_BUDGET", "0")
        .env_remove("YKD_TRACE_DEBUGINFO");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = match run::run_with_timeout(&mut cmd, b"", TIMEOUT) {
        Ok(o) => o,
        Err(e) => panic!(
            "cannot run gdb ({e:#}): these tests need gdb installed (Debian: apt-get install gdb)"
        ),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.is_some(),
        "gdb ran for more than {TIMEOUT:?}:\n{text}"
    );
    text
}

/// A backtrace line: `#N  [0xADDR in ]func (args) [at file:line]`.
#[derive(Debug)]
struct Frame {
    func: String,
    /// `(file, line)` when gdb knows it.
    at: Option<(String, u32)>,
}

fn backtrace(out: &str) -> Vec<Frame> {
    out.lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| {
            let rest = l.split_once(' ').map_or("", |x| x.1).trim_start();
            let rest = rest.split_once(" in ").map_or(rest, |x| {
                // `0x... in func`: drop the address.
                if x.0.starts_with("0x") {
                    x.1
                } else {
                    rest
                }
            });
            let func = rest.split([' ', '(']).next().unwrap_or("").to_owned();
            let at = rest.rsplit_once(" at ").and_then(|(_, loc)| {
                let (file, line) = loc.trim().rsplit_once(':')?;
                Some((file.to_owned(), line.parse().ok()?))
            });
            Frame { func, at }
        })
        .collect()
}

/// Is frame `f` function `func` at line `line` of the program's source?
fn at_line(f: &Frame, func: &str, line: u32) -> bool {
    f.func == func
        && f.at
            .as_ref()
            .is_some_and(|(file, l)| file.ends_with("trace_lines.c") && *l == line)
}

/// Stopped in a native function the trace calls, the backtrace goes through the trace: the
/// frames of the interpreter code it was copied from (a function clang inlined, one the trace
/// builder inlined, the interpreter loop) at their source lines, then the trace function itself
/// at the control point's line.
#[test]
fn backtrace_from_a_native_call_in_a_trace() {
    let m = marks();
    let out = gdb(&["break probe if i == 900", "run", "bt"], &[]);
    let bt = backtrace(&out);
    let t = bt
        .iter()
        .position(|f| f.func.starts_with("__yk_trace_"))
        .unwrap_or_else(|| panic!("no trace frame in the backtrace:\n{out}"));
    assert!(
        at_line(&bt[t], &bt[t].func, m["cp"]),
        "the trace frame is not at the control point's line {} of {SRC}:\n{out}",
        m["cp"]
    );
    let want = [
        ("probe", m["probe"]),
        ("twice", m["twice"]),
        ("step", m["step"]),
        ("main", m["loop"]),
    ];
    assert_eq!(t, want.len(), "unexpected frames above the trace:\n{out}");
    for (f, (func, line)) in bt.iter().zip(want) {
        assert!(
            at_line(f, func, line),
            "expected {func} at line {line} of {SRC}, got {f:?}:\n{out}"
        );
    }
}

/// A breakpoint on a line of the interpreter also stops in the trace's copy of that line.
#[test]
fn line_breakpoint_stops_inside_a_trace() {
    let m = marks();
    let bp = format!("break trace_lines.c:{}", m["step"]);
    // Past the first 900 hits (the interpreter's own, then the trace's): well inside the trace.
    let out = gdb(
        &[&bp, "ignore 1 900", "run", "info symbol $pc", "bt 3"],
        &[],
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("__yk_trace_") && l.contains(" in section ")),
        "the breakpoint did not stop in a trace:\n{out}"
    );
    let bt = backtrace(&out);
    assert!(
        bt.first().is_some_and(|f| at_line(f, "step", m["step"])),
        "not stopped at step's line {}:\n{out}",
        m["step"]
    );
}

/// With `YKD_TRACE_DEBUGINFO=0` the trace has no line info: gdb names the trace function only.
#[test]
fn no_lines_when_turned_off() {
    let out = gdb(
        &["break probe if i == 900", "run", "bt"],
        &[("YKD_TRACE_DEBUGINFO", "0")],
    );
    let bt = backtrace(&out);
    assert!(
        bt.len() > 1 && bt[1].func.starts_with("__yk_trace_") && bt[1].at.is_none(),
        "expected the trace frame, without a line, right above probe:\n{out}"
    );
}
