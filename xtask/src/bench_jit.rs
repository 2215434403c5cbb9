//! `cargo xtask bench-jit [--runs N] [--debug]`: the trace compiler's and the
//! deoptimiser's own figures, on two C programs built with the toolchain:
//!
//! * `c_tests/bench/arith_interp.c`, a stack-machine bytecode interpreter
//!   running a loop of arithmetic bytecodes: the JIT's speed-up over the same
//!   binary with `YK_JITC=none`, and over the same interpreter built as plain
//!   C with `clang -O2` and the yk API as no-ops (`c_tests/bench/no_jit/yk.h`);
//! * `c_tests/bench/branchy.c`, a loop whose branch goes each way half the
//!   time: with side traces (the default threshold; stitched into the
//!   trace at its recompilation, and not, `YKD_STITCH=0`) against without (a
//!   threshold no guard reaches, so every failure runs the blackhole, until
//!   the runtime gives the trace up, which the report says, and the loop
//!   runs interpreted), and the blackhole's cost per guard failure from the
//!   runtime's statistics (`duration_deopting / guard_failures`);
//! * `c_tests/tests/cut_call_entry.c` (a c_test, run here with 3 and 12
//!   million calls), a stack machine whose loop calls a function in its
//!   dispatch loop: with the function inlined into the loop's trace
//!   against each call cut into two jumps between traces (`YKD_CUT_CALLS=1`
//!   and a short length limit), which gives the cost of one transfer between
//!   traces: the difference between the two variants' extra time for the
//!   extra 9 million calls (so without their warm-ups, which differ) over
//!   their difference in jumps (counted in separate runs: the stats' timers
//!   would slow the timed ones), and how many of those were direct.
//!
//! Runs alternate between the variants; medians are printed.

use crate::{build_with_toolchain, median, parse_bench_opts, timing_toolchain, workspace_root};
use anyhow::{bail, Context, Result};
use c_tests::toolchain::Toolchain;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// One way to run a program: a name and its environment.
struct Variant {
    name: &'static str,
    env: &'static [(&'static str, &'static str)],
}

/// What one run measured.
struct Run {
    secs: f64,
    stdout: Vec<u8>,
    /// `duration_deopting / guard_failures` in ns, if there were failures.
    ns_per_failure: Option<f64>,
    /// `guard_failures`, if the run kept stats.
    failures: u64,
    /// Root traces given up (`traces_given_up`, `traces_losing`,
    /// `traces_suspended`), if the run kept stats.
    given_up: u64,
    side_traces: u64,
    /// Jumps between traces (`trace_jumps`), if the run kept stats.
    jumps: Option<u64>,
    /// Of those, the direct ones (`trace_jumps_direct`).
    direct: Option<u64>,
}

fn build(tc: &Toolchain, name: &str, out_dir: &Path) -> Result<PathBuf> {
    build_from(tc, "c_tests/bench", name, out_dir)
}

/// Builds `dir/name.c` (relative to the workspace) into `out_dir/name`.
fn build_from(tc: &Toolchain, dir: &str, name: &str, out_dir: &Path) -> Result<PathBuf> {
    let src = workspace_root().join(format!("{dir}/{name}.c"));
    let exe = out_dir.join(name);
    build_with_toolchain(tc, &src, &exe)?;
    Ok(exe)
}

/// Runs `exe args` once as variant `v`, keeping the runtime's stats in
/// `stats` if given.
fn run_with(exe: &Path, v: &Variant, stats: Option<&Path>, args: &[&str]) -> Result<Run> {
    let mut cmd = Command::new(exe);
    cmd.args(args);
    if let Some(stats) = stats {
        let _ = std::fs::remove_file(stats);
        cmd.env("YKD_LOG_STATS", stats);
    }
    let t = Instant::now();
    let out = cmd
        .envs(v.env.iter().copied())
        // `cargo run` puts target/debug first in LD_LIBRARY_PATH, which beats the
        // binary's rpath.
        .env_remove("LD_LIBRARY_PATH")
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", exe.display()))?;
    let secs = t.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!("{} ({}) failed ({})", exe.display(), v.name, out.status);
    }
    let (mut ns_per_failure, mut side_traces, mut jumps, mut direct) = (None, 0, None, None);
    let (mut failures, mut given_up) = (0, 0);
    if let Some((stats, Ok(text))) = stats.map(|s| (s, std::fs::read_to_string(s))) {
        let j: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", stats.display()))?;
        failures = j["guard_failures"].as_u64().unwrap_or(0);
        given_up = ["traces_given_up", "traces_losing", "traces_suspended"]
            .iter()
            .map(|k| j[k].as_u64().unwrap_or(0))
            .sum();
        let deopting = j["duration_deopting"].as_f64().unwrap_or(0.0);
        if failures > 0 {
            ns_per_failure = Some(deopting / failures as f64 * 1e9);
        }
        side_traces = j["side_traces_compiled"].as_u64().unwrap_or(0);
        jumps = j["trace_jumps"].as_u64();
        direct = j["trace_jumps_direct"].as_u64();
    }
    Ok(Run {
        secs,
        stdout: out.stdout,
        ns_per_failure,
        failures,
        given_up,
        side_traces,
        jumps,
        direct,
    })
}

/// Runs each variant `runs` times, alternating; checks their outputs agree;
/// returns each variant's runs.
fn measure(exe: &Path, variants: &[Variant], runs: usize, dir: &Path) -> Result<Vec<Vec<Run>>> {
    measure_with(exe, variants, runs, Some(&dir.join("stats.json")), &[])
}

/// As [`measure`], keeping stats in `stats` if given (their timers are part
/// of what is timed), passing `args` to the program.
fn measure_with(
    exe: &Path,
    variants: &[Variant],
    runs: usize,
    stats: Option<&Path>,
    args: &[&str],
) -> Result<Vec<Vec<Run>>> {
    let mut all: Vec<Vec<Run>> = variants.iter().map(|_| Vec::new()).collect();
    for i in 0..runs {
        let mut line = format!("run {}/{runs}:", i + 1);
        for (k, v) in variants.iter().enumerate() {
            let r = run_with(exe, v, stats, args)?;
            line.push_str(&format!(" {} {:.3}s", v.name, r.secs));
            if r.stdout != all[0].first().map_or(&r.stdout, |f| &f.stdout)[..] {
                bail!("{}: {} printed something else", exe.display(), v.name);
            }
            all[k].push(r);
        }
        eprintln!("{line}");
    }
    Ok(all)
}

fn med_secs(runs: &[Run]) -> f64 {
    median(&runs.iter().map(|r| r.secs).collect::<Vec<_>>())
}

/// `cargo xtask bench-jit`: see the module doc.
pub fn run(args: &[String]) -> Result<()> {
    let opts = parse_bench_opts(args, "bench-jit", 10)?;
    let (profile_dir, tc) = timing_toolchain(opts.debug)?;
    let out_dir = profile_dir.join("bench-jit");
    std::fs::create_dir_all(&out_dir)?;

    let arith = build(&tc, "arith_interp", &out_dir)?;
    let branchy = build(&tc, "branchy", &out_dir)?;
    let transfer = build_from(&tc, "c_tests/tests", "cut_call_entry", &out_dir)?;
    // The same interpreter as plain C: `clang -O2` with the yk API as no-ops.
    let plain = out_dir.join("arith_interp.plain");
    crate::run_ok(
        "the plain build",
        Command::new(&tc.cc)
            .arg("-O2")
            .arg("-I")
            .arg(workspace_root().join("c_tests/bench/no_jit"))
            .arg(workspace_root().join("c_tests/bench/arith_interp.c"))
            .arg("-o")
            .arg(&plain),
    )?;

    eprintln!("arith_interp: the JIT against YK_JITC=none and plain clang -O2");
    let a = measure(
        &arith,
        &[
            Variant {
                name: "jit-off",
                env: &[("YK_JITC", "none")],
            },
            Variant {
                name: "jit",
                env: &[],
            },
        ],
        opts.runs,
        &out_dir,
    )?;
    let p = measure(
        &plain,
        &[Variant {
            name: "plain-clang-O2",
            env: &[],
        }],
        opts.runs,
        &out_dir,
    )?;
    if p[0][0].stdout != a[0][0].stdout {
        bail!("arith_interp: the plain build printed something else");
    }
    eprintln!("branchy: side traces against the blackhole on every failure");
    let b = measure(
        &branchy,
        &[
            Variant {
                name: "jit-off",
                env: &[("YK_JITC", "none")],
            },
            Variant {
                name: "no-side-traces",
                env: &[("YK_SIDETRACE_THRESHOLD", "4000000000")],
            },
            Variant {
                name: "side-traces-unstitched",
                env: &[("YKD_STITCH", "0")],
            },
            Variant {
                name: "side-traces",
                env: &[],
            },
        ],
        opts.runs,
        &out_dir,
    )?;

    eprintln!("transfer: a function inlined into the loop's trace against two jumps per call");
    let inlined = Variant {
        name: "inlined",
        env: &[],
    };
    let cut = Variant {
        name: "cut",
        env: &[("YKD_CUT_CALLS", "1"), ("YKD_TRACE_MAX_LEN", "150")],
    };
    let tv = [inlined, cut];
    // Each variant with N and 4N calls: the difference is the steady
    // state's, without the warm-up (the cut variant compiles more).
    let calls = [["3000000"], ["12000000"]];
    let t_small = measure_with(&transfer, &tv, opts.runs, None, &calls[0])?;
    let t_large = measure_with(&transfer, &tv, opts.runs, None, &calls[1])?;
    // One run of each with stats, for the jumps.
    let stats = out_dir.join("stats.json");
    let jumps = |v: &Variant, args: &[&str]| -> Result<(u64, u64)> {
        let r = run_with(&transfer, v, Some(&stats), args)?;
        Ok((r.jumps.unwrap_or(0), r.direct.unwrap_or(0)))
    };
    let mut tj = [[(0, 0); 2]; 2];
    for (k, args) in calls.iter().enumerate() {
        for (i, v) in tv.iter().enumerate() {
            tj[k][i] = jumps(v, args)?;
        }
    }

    let (a_off, a_jit) = (med_secs(&a[0]), med_secs(&a[1]));
    let a_plain = med_secs(&p[0]);
    let (b_off, b_none, b_apart, b_side) = (
        med_secs(&b[0]),
        med_secs(&b[1]),
        med_secs(&b[2]),
        med_secs(&b[3]),
    );
    let ns: Vec<f64> = b[1].iter().filter_map(|r| r.ns_per_failure).collect();
    let side_ok = b[2..].iter().flatten().all(|r| r.side_traces > 0);
    println!(
        "bench-jit: {} runs ({} runtime)",
        opts.runs,
        if opts.debug { "debug" } else { "release" }
    );
    println!("  arith_interp  YK_JITC=none median {a_off:.3}s, JIT median {a_jit:.3}s");
    println!("                JIT speed-up {:.2}x", a_off / a_jit);
    println!(
        "                plain clang -O2 median {a_plain:.3}s: the JIT is {:.2}x faster",
        a_plain / a_jit
    );
    println!(
        "  branchy       YK_JITC=none {b_off:.3}s, JIT without side traces {b_none:.3}s, \
         with side traces {b_side:.3}s ({b_apart:.3}s not stitched, YKD_STITCH=0)"
    );
    println!(
        "                side traces vs blackhole on every failure: {:.1}x faster{}",
        b_none / b_side,
        if side_ok {
            ""
        } else {
            " (WARNING: a run compiled no side trace)"
        }
    );
    // Without side traces the runtime gives a tree up once its guard keeps
    // failing often (`guard::GIVE_UP_RATIO`): the loop then runs in the
    // interpreter, and the comparison above is with that.
    if let Some(r) = b[1].iter().find(|r| r.given_up > 0) {
        println!(
            "                (without side traces the trace was given up after {} guard \
             failures: that run is mostly interpreted)",
            r.failures
        );
    }
    if !ns.is_empty() {
        println!(
            "                blackhole: median {:.0} ns per guard failure",
            median(&ns)
        );
    }
    let t_in = med_secs(&t_large[0]) - med_secs(&t_small[0]);
    let t_cut = med_secs(&t_large[1]) - med_secs(&t_small[1]);
    let i_jumps = tj[1][0].0.saturating_sub(tj[0][0].0);
    let t_jumps = tj[1][1].0.saturating_sub(tj[0][1].0);
    let t_direct = tj[1][1].1.saturating_sub(tj[0][1].1);
    println!(
        "  transfer      9 million calls more: inlined {t_in:.3}s ({i_jumps} jumps more), cut \
         {t_cut:.3}s ({t_jumps} jumps more, {t_direct} of them direct)"
    );
    if t_jumps > i_jumps {
        println!(
            "                one transfer between traces: {:.1} ns",
            (t_cut - t_in) / (t_jumps - i_jumps) as f64 * 1e9
        );
    } else {
        println!(
            "                WARNING: the cut variant made no more jumps than the inlined one"
        );
    }
    Ok(())
}
