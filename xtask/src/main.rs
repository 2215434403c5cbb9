//! `cargo xtask <command>`: the project's tasks (the alias is in `.cargo/config.toml`).
//!
//! * `test`: everything CI checks, in order, stopping at the first failure (the last step is
//!   `bench --quick`, a smoke run of the benchmark harness).
//! * `bench-swt [--runs N] [--debug]`: the cost of software-tracing instrumentation when
//!   nothing is traced (`c_tests/bench/instr_cost.c`, toolchain build vs plain LTO build).
//! * `bench-jit [--runs N] [--debug]`: see [`bench_jit`].
//! * `bench-memory [--chunks N] [--iters N] [--debug] [--check]`: see [`bench_memory`].
//! * `bench-nojit [--runs N] [--iters M] [--bench NAME]...`: see [`bench::nojit`].
//! * `setup [--print]`: install the Debian packages the build needs, if missing.
//! * `lua [--release]`, `lua-demo [--runs N] [--debug]`: see [`lua`].
//! * `install --prefix DIR [--debug]`: see [`install`].
//! * `lua-testsuite [--tests DIR] ...`: see [`lua_testsuite`].
//! * `stress [--runs N] [-p PACKAGE]...`: see [`stress`] (not in CI).
//! * `fuzz [--seed S] [--time SECS] [--count N] ...`: see [`fuzz`].
//! * `fuzz-c [--seed S] [--time SECS] [--count N] ...`: see [`fuzz::c`].

use std::{
    env,
    path::{Path, PathBuf},
    process::{self, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use c_tests::toolchain::{self, Toolchain};

mod bench;
mod bench_jit;
mod bench_memory;
mod fuzz;
mod install;
mod lua;
mod lua_testsuite;
mod stress;

/// The Debian packages the workspace needs to build and test.
const APT_PACKAGES: &[&str] = &[
    "llvm-22-dev",
    "clang-22",
    "lld-22",
    "libzstd-dev",
    "patch",           // applies interps/lua/yk.patch (`cargo xtask lua`)
    "libipt-dev",      // the reference PT packet decoder of ykrt/hwt/tests/libipt.rs
    "gdb",             // c_tests/tests/gdb_trace_lines.rs
    "libreadline-dev", // the REPL of interps/lua/main.c (`lua -i`)
    "pkg-config",      // xtask/tests/install.rs checks the installed ykcapi.pc
];

const USAGE: &str = "usage: cargo xtask <command>
commands:
  test                        fmt check, clippy, build the toolchain, cargo test --workspace,
                              cargo xtask lua-testsuite --quick,
                              cargo xtask fuzz --seed 1 --count 6,
                              cargo xtask fuzz-c --seed 1 --count 30,
                              cargo xtask bench --quick --strict
  bench-swt [--runs N] [--debug]
                              time c_tests/bench/instr_cost.c built with the toolchain
                              (YK_JITC=none) against a plain clang -flto -O2 build
  bench-jit [--runs N] [--debug]
                              the JIT's speed-up on c_tests/bench/arith_interp.c, side
                              traces vs the blackhole on c_tests/bench/branchy.c, and the
                              blackhole's cost per guard failure
  setup [--print]             apt-get install the packages the build needs, if missing
  lua [--release]             build target/lua/lua (plain) and target/lua/yklua (yk
                              toolchain, JIT on) from PUC Lua 5.4.6; debug toolchain unless
                              --release
  install --prefix DIR [--debug]
                              install yk-config, yk-ld, libykcapi.so, yk.h, ykcapi.pc,
                              lua and yklua under DIR (release toolchain unless --debug)
  lua-demo [--runs N] [--debug]
                              time interps/lua/demo.lua under lua, yklua with YK_JITC=none
                              and yklua with the JIT (release toolchain unless --debug)";

fn main() {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") if args.len() == 1 => test(),
        Some("bench") => bench::run(&args[1..], &workspace_root()),
        Some("bench-swt") => bench_swt(&args[1..]),
        Some("bench-nojit") => bench::nojit::run(&args[1..], &workspace_root()),
        Some("bench-jit") => bench_jit::run(&args[1..]),
        Some("bench-memory") => bench_memory::run(&args[1..]),
        Some("setup") => setup(&args[1..]),
        Some("install") => install::parse_opts(&args[1..]).and_then(|o| install::install(&o)),
        Some("lua") => lua::parse_build_opts(&args[1..]).and_then(|o| lua::build(&o).map(drop)),
        Some("lua-demo") => lua::parse_demo_opts(&args[1..]).and_then(|o| lua::demo(&o)),
        Some("stress") => stress::run(&args[1..]),
        Some("lua-testsuite") => lua_testsuite::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("fuzz-c") => fuzz::c::run(&args[1..]),
        _ => {
            eprintln!(
                "{USAGE}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
                lua_testsuite::USAGE,
                fuzz::USAGE,
                fuzz::c::USAGE,
                stress::USAGE,
                bench::USAGE,
                bench_memory::USAGE,
                bench::nojit::USAGE
            );
            process::exit(2);
        }
    };
    if let Err(e) = result {
        eprintln!("xtask: error: {e:#}");
        process::exit(1);
    }
}

/// The workspace root (xtask lives in `<root>/xtask`).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent dir")
        .to_owned()
}

/// The cargo that runs us (set by `cargo run`), so that the same toolchain is used throughout.
fn cargo() -> Command {
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// `cargo xtask test`: run each step in order and stop at the first failure.
fn test() -> Result<()> {
    let steps: &[(&str, &[&str])] = &[
        ("format check", &["fmt", "--all", "--", "--check"]),
        (
            "clippy",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ),
        (
            "build the toolchain",
            &["build", "-p", "linker-plugin", "-p", "ykcapi"],
        ),
        ("tests", &["test", "--workspace"]),
        // The official Lua 5.4.6 suite, file by file, under lua and yklua
        // (`--quick`: the serialised configuration on the files that take
        // seconds, the background one on all; see xtask/src/lua_testsuite.rs).
        (
            "Lua 5.4.6 test suite",
            &["xtask", "lua-testsuite", "--quick"],
        ),
        // Differential fuzzing: the same random programs each run (seeds 1 to 6,
        // 15 to 30 s each with the debug runtime), lua against yklua; fails on a
        // mismatch (minimised into target/fuzz/) or if no trace was compiled.
        (
            "differential fuzzing",
            &[
                "xtask",
                "fuzz",
                "--seed",
                "1",
                "--count",
                "6",
                "--reduce-time",
                "300",
            ],
        ),
        // The same for the C toolchain: random programs for c_tests/fuzz/interp.c, the
        // plain clang -O2 build against the JIT build (about 0.6 s each with the debug
        // runtime, 25 s in all); fails on a mismatch (minimised into target/fuzz-c/) or if
        // no trace was compiled and run.
        (
            "differential fuzzing (C)",
            &[
                "xtask",
                "fuzz-c",
                "--seed",
                "1",
                "--count",
                "30",
                "--reduce-time",
                "300",
            ],
        ),
        // A smoke run of the benchmark harness on the interpreters the tests
        // used: it fails on a crash, a hang, differing checksums or a missing
        // report or plot; no speed is asserted.
        (
            "benchmark smoke run",
            &["xtask", "bench", "--quick", "--strict"],
        ),
    ];
    let start = Instant::now();
    let mut timings = Vec::new();
    for (i, (name, args)) in steps.iter().enumerate() {
        if *name == "tests" {
            // lang_tests runs target/lua/{lua,yklua}: build them (incrementally) first.
            eprintln!("==> xtask test: build the Lua interpreters (as `cargo xtask lua`)");
            let t = Instant::now();
            lua::build(&lua::BuildOpts { release: false })?;
            eprintln!("<== Lua interpreters: ok ({})", secs(t.elapsed()));
        }
        let shown = format!("cargo {}", args.join(" "));
        eprintln!("==> xtask test [{}/{}] {name}: {shown}", i + 1, steps.len());
        let t = Instant::now();
        let status = cargo()
            .args(*args)
            .status()
            .with_context(|| format!("could not run `{shown}`"))?;
        let took = t.elapsed();
        if !status.success() {
            bail!(
                "step {}/{} ({name}) failed after {}: `{shown}` exited with {status}",
                i + 1,
                steps.len(),
                secs(took)
            );
        }
        eprintln!("<== {name}: ok ({})", secs(took));
        timings.push((name, took));
    }
    eprintln!(
        "xtask test: all {} steps passed in {}",
        steps.len(),
        secs(start.elapsed())
    );
    for (name, took) in timings {
        eprintln!("  {:>8}  {name}", secs(took));
    }
    Ok(())
}

/// Options of the timing commands (`bench-swt`, `bench-jit`, `lua-demo`): `[--runs N]
/// [--debug]`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BenchOpts {
    /// Runs of each configuration.
    pub(crate) runs: usize,
    /// Use the debug toolchain (default: release, as the runtime's speed is part of what is
    /// measured).
    pub(crate) debug: bool,
}

/// Parses the options of timing command `cmd`, whose default number of runs is `runs`.
pub(crate) fn parse_bench_opts(args: &[String], cmd: &str, runs: usize) -> Result<BenchOpts> {
    let mut opts = BenchOpts { runs, debug: false };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => {
                let n = it.next().context("--runs needs a number")?;
                opts.runs = n
                    .parse()
                    .with_context(|| format!("bad --runs value {n:?}"))?;
                if opts.runs == 0 {
                    bail!("--runs must be at least 1");
                }
            }
            "--debug" => opts.debug = true,
            _ => bail!("unknown {cmd} argument {a:?}\n{USAGE}"),
        }
    }
    Ok(opts)
}

/// The median of `xs` (which must not be empty); the mean of the middle two for even lengths.
pub(crate) fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len().is_multiple_of(2) {
        (v[m - 1] + v[m]) / 2.0
    } else {
        v[m]
    }
}

/// Run `cmd` to completion, failing unless it succeeds.
pub(crate) fn run_ok(what: &str, cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("could not run {what}: {cmd:?}"))?;
    if !status.success() {
        bail!("{what} failed ({status}): {cmd:?}");
    }
    Ok(())
}

/// The toolchain of the timing commands, built: release unless `debug`. Our own binary is
/// target/<profile>/xtask, so it goes in the same target dir. Returns its profile dir.
pub(crate) fn timing_toolchain(debug: bool) -> Result<(PathBuf, Toolchain)> {
    let target_dir = toolchain::profile_dir_of_current_exe()?
        .parent()
        .context("no target dir")?
        .to_owned();
    let profile_dir = target_dir.join(if debug { "debug" } else { "release" });
    toolchain::build_toolchain(&profile_dir)?;
    let tc = Toolchain::find(&profile_dir)?;
    Ok((profile_dir, tc))
}

/// Builds C program `src` into `exe` with the yk toolchain `tc` (linked by yk-ld).
pub(crate) fn build_with_toolchain(tc: &Toolchain, src: &Path, exe: &Path) -> Result<()> {
    run_ok(
        "the toolchain build",
        Command::new(&tc.cc)
            .args(&tc.cflags)
            .args(&tc.cppflags)
            .arg(src)
            .arg("-o")
            .arg(exe)
            .args(&tc.ldflags)
            .args(&tc.libs),
    )
}

/// `cargo xtask bench-swt`: see the module doc.
fn bench_swt(args: &[String]) -> Result<()> {
    let opts = parse_bench_opts(args, "bench-swt", 10)?;
    // The runtime's speed matters for the control point calls, so measure a release build
    // unless told otherwise.
    let (profile_dir, tc) = timing_toolchain(opts.debug)?;

    let src = workspace_root().join("c_tests/bench/instr_cost.c");
    let out_dir = profile_dir.join("bench-swt");
    std::fs::create_dir_all(&out_dir)?;
    let yk_exe = out_dir.join("instr_cost.yk");
    let plain_exe = out_dir.join("instr_cost.plain");
    eprintln!("building {} with the toolchain and plainly", src.display());
    build_with_toolchain(&tc, &src, &yk_exe)?;
    // The baseline is as optimised as the toolchain build (LTO, lld) but not linked by yk-ld:
    // no control point transform and no instrumentation.
    run_ok(
        "the plain build",
        Command::new(&tc.cc)
            .args(["-flto", "-O2", "-fuse-ld=lld"])
            .args(&tc.cppflags)
            .arg(&src)
            .arg("-o")
            .arg(&plain_exe)
            .args(&tc.libs),
    )?;

    let time_one = |exe: &Path, jit: bool| -> Result<(f64, Vec<u8>)> {
        let t = Instant::now();
        let out = Command::new(exe)
            .env("YK_JITC", if jit { "llvm" } else { "none" })
            // `cargo run` puts target/debug first in LD_LIBRARY_PATH, which beats the
            // binary's rpath: without this the debug libykcapi would be measured.
            .env_remove("LD_LIBRARY_PATH")
            .stderr(Stdio::inherit())
            .output()
            .with_context(|| format!("running {}", exe.display()))?;
        let took = t.elapsed().as_secs_f64();
        if !out.status.success() {
            bail!("{} failed ({})", exe.display(), out.status);
        }
        Ok((took, out.stdout))
    };
    // Alternate the two so that drift in machine load affects both alike.
    let (mut yk_times, mut plain_times, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut jit_times, mut speedups) = (Vec::new(), Vec::new());
    for i in 0..opts.runs {
        let (p, p_out) = time_one(&plain_exe, false)?;
        let (y, y_out) = time_one(&yk_exe, false)?;
        let (j, j_out) = time_one(&yk_exe, true)?;
        if p_out != y_out || p_out != j_out {
            bail!(
                "the builds disagree:\n  plain: {}  toolchain: {}",
                String::from_utf8_lossy(&p_out),
                String::from_utf8_lossy(&y_out)
            );
        }
        eprintln!(
            "run {}/{}: plain {p:.3}s, toolchain {y:.3}s, toolchain with the JIT {j:.3}s",
            i + 1,
            opts.runs
        );
        jit_times.push(j);
        speedups.push(y / j);
        plain_times.push(p);
        yk_times.push(y);
        ratios.push(y / p);
    }
    println!(
        "bench-swt: {} runs of instr_cost with YK_JITC=none ({} runtime)",
        opts.runs,
        if opts.debug { "debug" } else { "release" }
    );
    println!(
        "  plain (clang -flto -O2)   median {:.3}s",
        median(&plain_times)
    );
    println!(
        "  toolchain (yk-ld, swt)    median {:.3}s",
        median(&yk_times)
    );
    println!(
        "  toolchain/plain           median ratio {:.3}",
        median(&ratios)
    );
    println!(
        "  toolchain, JIT on         median {:.3}s",
        median(&jit_times)
    );
    println!(
        "  JIT off / JIT on          median speed-up {:.3}",
        median(&speedups)
    );
    Ok(())
}

/// Whether Debian package `pkg` is installed.
fn dpkg_installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.ends_with(b"install ok installed"))
}

/// `cargo xtask setup`: install the missing packages (`--print`: only say what would be run).
fn setup(args: &[String]) -> Result<()> {
    let print_only = match args {
        [] => false,
        [a] if a == "--print" => true,
        _ => bail!("unknown setup arguments {args:?}\n{USAGE}"),
    };
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .copied()
        .filter(|p| !dpkg_installed(p))
        .collect();
    if missing.is_empty() {
        println!("setup: all of {} are installed", APT_PACKAGES.join(" "));
        return Ok(());
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let sudo: &[&str] = if is_root { &[] } else { &["sudo"] };
    let update: Vec<&str> = sudo.iter().copied().chain(["apt-get", "update"]).collect();
    let install: Vec<&str> = sudo
        .iter()
        .copied()
        .chain(["apt-get", "install", "-y"])
        .chain(missing.iter().copied())
        .collect();
    if print_only {
        println!("{}\n{}", update.join(" "), install.join(" "));
        return Ok(());
    }
    for cmd in [update, install] {
        eprintln!("setup: {}", cmd.join(" "));
        run_ok(
            cmd[..2].join(" ").as_str(),
            Command::new(cmd[0]).args(&cmd[1..]),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_and_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn bench_opts() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let o = parse_bench_opts(&args(&["--runs", "3", "--debug"]), "bench-swt", 10).unwrap();
        assert_eq!((o.runs, o.debug), (3, true));
        let o = parse_bench_opts(&[], "lua-demo", 5).unwrap();
        assert_eq!((o.runs, o.debug), (5, false));
        assert!(parse_bench_opts(&args(&["--runs", "0"]), "bench-swt", 10).is_err());
        assert!(parse_bench_opts(&args(&["--runs"]), "bench-swt", 10).is_err());
        assert!(parse_bench_opts(&args(&["--bogus"]), "bench-swt", 10).is_err());
    }
}
