//! `cargo xtask fuzz-c`: differential fuzzing of the C toolchain.
//!
//! `c_tests/fuzz/interp.c`, a register-machine bytecode interpreter annotated for yk, is
//! built twice: with the toolchain (`yk-config`, linked by `yk-ld`: the JIT) and as plain C
//! (`clang -O2` against `c_tests/bench/no_jit/yk.h`, where the yk API is a set of no-ops).
//! For each seed S, S+1, ... a random program ([`super::cgen`]) runs under the plain build
//! and under the JIT build in each configuration of [`CONFIGS`] (a hot threshold of 5, side
//! traces after 2 guard failures, no compile budget; traces compiled on the interpreter's
//! thread, and in the background with the program run a hundred times). Exit status, stdout and
//! stderr must be identical. A mismatch is minimised ([`super::cgen::edit`]) and kept in
//! `target/fuzz-c/`: the program as generated (`mismatch-<seed>.orig.txt`), minimised
//! (`mismatch-<seed>.txt`), both builds' output on it, and a ready c_test
//! (`mismatch-<seed>.c`, the program compiled into the interpreter) to copy into
//! `c_tests/tests/`. The run ends after `--count` programs or `--time` seconds and prints the
//! programs run, seeds, mismatches and the runtime's statistics summed over the JIT runs.

use std::{
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use anyhow::Result;

use super::{
    cgen::{self, Program},
    difference_of, parse, run_vm, Config, OptError, Run, StatSums, COMMON_ENV,
};
use crate::{lua, run_ok, secs, timing_toolchain, workspace_root};

pub(crate) const USAGE: &str =
    "  fuzz-c [--seed S] [--time SECS] [--count N] [--reduce-time SECS] [--release]
  fuzz-c --print S            print the program of seed S
  fuzz-c --c-test S           print it as a c_test (serialised configuration)
                              differential fuzzing of the C toolchain: random programs
                              (seeds S, S+1, ...) for c_tests/fuzz/interp.c built with
                              plain clang -O2 and with the toolchain (hot threshold 5,
                              serialised and background compilation); mismatches minimised
                              into target/fuzz-c/mismatch-<seed>.{txt,c}; fails on a mismatch";

/// The JIT configurations; `reps` is the interpreter's second argument (how many times it
/// runs the program, with the same locations).
const CONFIGS: &[Config] = &[
    Config {
        name: "serialised",
        env: &[("YKD_SERIALISE_COMPILATION", "1")],
        reps: "1",
    },
    // A program runs in milliseconds, before the compile thread has compiled much: a
    // hundred runs, so that the traces compiled in the background during the first are
    // entered in the later ones (with ten, none is; with thirty, in about a third of the
    // programs).
    Config {
        name: "background",
        env: &[("YKD_SERIALISE_COMPILATION", "0")],
        reps: "100",
    },
];

const PLAIN_TIMEOUT: Duration = Duration::from_secs(10);
const YK_TIMEOUT: Duration = Duration::from_secs(120);
/// How mismatches name the two builds.
const NAMES: (&str, &str) = ("plain", "jit");
/// The name every program runs under.
const PROG: &str = "prog.txt";

/// The two builds of the interpreter.
struct Bins {
    plain: PathBuf,
    jit: PathBuf,
}

fn fuzz_dir() -> Result<PathBuf> {
    Ok(lua::target_dir()?.join("fuzz-c"))
}

/// Builds `c_tests/fuzz/interp.c` with the toolchain (debug unless `release`) and plainly.
fn build(release: bool) -> Result<Bins> {
    let (_, tc) = timing_toolchain(!release)?;
    let dir = fuzz_dir()?;
    fs::create_dir_all(&dir)?;
    let root = workspace_root();
    let src = root.join("c_tests/fuzz/interp.c");
    let profile = if release { "release" } else { "debug" };
    let bins = Bins {
        plain: dir.join("interp-plain"),
        jit: dir.join(format!("interp-jit-{profile}")),
    };
    eprintln!(
        "fuzz-c: building {} with the toolchain and plainly",
        src.display()
    );
    crate::build_with_toolchain(&tc, &src, &bins.jit)?;
    run_ok(
        "the plain build",
        Command::new(&tc.cc)
            .arg("-O2")
            .arg("-I")
            .arg(root.join("c_tests/bench/no_jit"))
            .arg(&src)
            .arg("-o")
            .arg(&bins.plain),
    )?;
    Ok(bins)
}

/// Runs `prog` (a file in `dir`) under the plain build and under the JIT build in
/// configuration `i`.
fn run_both(
    bins: &Bins,
    dir: &Path,
    prog: &str,
    i: usize,
    yk_env: &[Vec<(&str, &str)>],
    stats: bool,
) -> Result<(Run, Run)> {
    let args = [prog, CONFIGS[i].reps];
    let plain = run_vm(&bins.plain, dir, &args, &[], false, PLAIN_TIMEOUT)?;
    let yk = run_vm(&bins.jit, dir, &args, &yk_env[i], stats, YK_TIMEOUT)?;
    Ok((plain, yk))
}

/// Whether `cand` still shows a mismatch under one of the `failing` configurations, with
/// the plain build succeeding on it.
fn still_mismatches(
    cand: &Program,
    bins: &Bins,
    work: &Path,
    failing: &[usize],
    yk_env: &[Vec<(&str, &str)>],
) -> Result<bool> {
    const CAND: &str = "cand.txt";
    fs::write(work.join(CAND), cand.lower())?;
    for &i in failing {
        let (plain, yk) = run_both(bins, work, CAND, i, yk_env, false)?;
        if !plain.exit.ok() {
            return Ok(false);
        }
        if difference_of(&plain, &yk, NAMES).is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Greedy minimisation: applies the first simplification ([`cgen::edit`]) that keeps the
/// program interesting, again and again, until none does or `deadline` passes. Returns the
/// program, the number of candidates tried and whether the deadline stopped it.
fn minimise(
    p: &Program,
    deadline: Instant,
    mut interesting: impl FnMut(&Program) -> bool,
) -> (Program, usize, bool) {
    let mut cur = p.clone();
    let mut tries = 0;
    let mut k = 0;
    while let Some(cand) = cgen::edit(&cur, k) {
        if Instant::now() >= deadline {
            return (cur, tries, true);
        }
        tries += 1;
        if interesting(&cand) {
            // Edits before `k` were tried on a larger program: start again from the first.
            cur = cand;
            k = 0;
        } else {
            k += 1;
        }
    }
    (cur, tries, false)
}

/// A c_test (in `c_tests/tests/`' format) of program `text` under configuration `cfg`,
/// expecting the plain build's stdout `stdout`; `about` (lines of text) says where the
/// program comes from.
fn c_test(cfg: &Config, text: &str, stdout: &str, about: &str) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "// Run-time:\n//   env-var: YK_HOT_THRESHOLD=5\n//   env-var: YK_SIDETRACE_THRESHOLD=2"
    );
    for (k, v) in cfg.env {
        let _ = writeln!(t, "//   env-var: {k}={v}");
    }
    let _ = writeln!(t, "//   exec-arg: {}\n//   stdout:", cfg.reps);
    for l in stdout.lines() {
        let _ = writeln!(t, "//     {l}");
    }
    t.push('\n');
    for l in about.lines() {
        let _ = writeln!(t, "// {l}");
    }
    t.push_str(
        "// The fuzzer's interpreter (c_tests/fuzz/interp.c) with the program compiled in.\n\n",
    );
    t.push_str("#define FUZZ_PROGRAM \\\n");
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let _ = writeln!(t, "  \"{}\\n\" \\", l.trim_end());
    }
    t.push_str("  \"\"\n\n#include \"../fuzz/interp.c\"\n");
    t
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    if let [a, s] = args {
        if a == "--print" || a == "--c-test" {
            let seed = s.parse().map_err(|_| OptError::BadNumber {
                opt: a.clone(),
                value: s.clone(),
            })?;
            let text = cgen::generate(seed).lower();
            if a == "--print" {
                print!("{text}");
            } else {
                // The program as a c_test of the serialised configuration, expecting what
                // the plain build prints.
                let bins = build(false)?;
                let work = fuzz_dir()?.join("work");
                fs::create_dir_all(&work)?;
                fs::write(work.join(PROG), &text)?;
                let args = [PROG, CONFIGS[0].reps];
                let plain = run_vm(&bins.plain, &work, &args, &[], false, PLAIN_TIMEOUT)?;
                if !plain.exit.ok() {
                    anyhow::bail!("the plain build failed on seed {seed}: {}", plain.exit);
                }
                let about = format!("The program of `cargo xtask fuzz-c` seed {seed}.");
                print!("{}", c_test(&CONFIGS[0], &text, &plain.stdout, &about));
            }
            return Ok(());
        }
    }
    let opts = parse(args, USAGE)?;
    let bins = build(opts.release)?;
    let dir = fuzz_dir()?;
    let work = dir.join("work");
    fs::create_dir_all(&work)?;
    let yk_env: Vec<Vec<(&str, &str)>> = CONFIGS
        .iter()
        .map(|c| COMMON_ENV.iter().chain(c.env).copied().collect())
        .collect();
    eprintln!(
        "fuzz-c: seeds from {}{}{}, in {}",
        opts.seed,
        opts.count
            .map(|n| format!(", at most {n} programs"))
            .unwrap_or_default(),
        opts.time
            .map(|t| format!(", at most {}", secs(t)))
            .unwrap_or_default(),
        dir.display()
    );
    for (c, env) in CONFIGS.iter().zip(&yk_env) {
        let e: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        eprintln!(
            "  {:<10} = the JIT build with {}, {} run(s) of the program",
            c.name,
            e.join(" "),
            c.reps
        );
    }

    let start = Instant::now();
    let mut seed = opts.seed;
    let mut programs = 0u64;
    let mut instrs_total = 0usize;
    let mut mismatches = Vec::new();
    let mut invalid = Vec::new();
    let mut sums: Vec<StatSums> = CONFIGS.iter().map(|_| StatSums::default()).collect();
    let mut plain_time = Duration::ZERO;
    let mut yk_time = vec![Duration::ZERO; CONFIGS.len()];
    loop {
        if opts.count.is_some_and(|n| programs >= n)
            || opts.time.is_some_and(|t| start.elapsed() >= t)
        {
            break;
        }
        let program = cgen::generate(seed);
        let text = program.lower();
        instrs_total += text.lines().count() - 1;
        fs::write(work.join(PROG), &text)?;
        let mut failing = Vec::new();
        let mut row = format!("seed {seed}:");
        let mut plain_failed = false;
        for (i, c) in CONFIGS.iter().enumerate() {
            let (plain, yk) = run_both(&bins, &work, PROG, i, &yk_env, true)?;
            if i == 0 {
                plain_time += plain.time;
                let _ = write!(row, " plain {:.3}s", plain.time.as_secs_f64());
            }
            if !plain.exit.ok() {
                plain_failed = true;
                let p = dir.join(format!("invalid-{seed}.txt"));
                fs::write(&p, &text)?;
                eprintln!(
                    "fuzz-c: seed {seed}: the plain build: {} ({}), kept as {}",
                    plain.exit,
                    plain.stderr.lines().next().unwrap_or(""),
                    p.display()
                );
                invalid.push((seed, p));
                break;
            }
            yk_time[i] += yk.time;
            if let Some(s) = &yk.stats {
                sums[i].add(s);
            }
            let stat = |k: &str| {
                yk.stats
                    .as_ref()
                    .and_then(|s| s[k].as_u64())
                    .map_or("?".into(), |n| n.to_string())
            };
            let _ = write!(
                row,
                ", {} {:.2}s ({} traces, {} side, {} guard failures)",
                c.name,
                yk.time.as_secs_f64(),
                stat("traces_compiled_ok"),
                stat("side_traces_compiled"),
                stat("guard_failures"),
            );
            if let Some(d) = difference_of(&plain, &yk, NAMES) {
                eprintln!("fuzz-c: seed {seed}: MISMATCH under {}: {d}", c.name);
                failing.push(i);
            }
        }
        eprintln!("{row}");
        programs += 1;
        if plain_failed || failing.is_empty() {
            seed += 1;
            continue;
        }
        fs::write(dir.join(format!("mismatch-{seed}.orig.txt")), &text)?;
        let min_path = dir.join(format!("mismatch-{seed}.txt"));
        let again = (0..3)
            .any(|_| still_mismatches(&program, &bins, &work, &failing, &yk_env).unwrap_or(false));
        let min = if again {
            let t = Instant::now();
            let (min, tries, timed_out) = minimise(&program, t + opts.reduce_time, |cand| {
                still_mismatches(cand, &bins, &work, &failing, &yk_env).unwrap_or(false)
            });
            eprintln!(
                "fuzz-c: seed {seed}: minimised from {} to {} statements in {} ({tries} runs{})",
                program.size(),
                min.size(),
                secs(t.elapsed()),
                if timed_out {
                    ", stopped at --reduce-time"
                } else {
                    ""
                }
            );
            min
        } else {
            eprintln!(
                "fuzz-c: seed {seed}: the mismatch did not come back in 3 more runs: not minimised"
            );
            program.clone()
        };
        let min_text = min.lower();
        fs::write(&min_path, &min_text)?;
        // Both builds' output on the minimised program under the first configuration it
        // still fails in (it may have been minimised for another than the first that
        // failed), and a c_test of it.
        const MIN: &str = "min.txt";
        fs::write(work.join(MIN), &min_text)?;
        let mut outs = Vec::new();
        for &i in &failing {
            let (plain, yk) = run_both(&bins, &work, MIN, i, &yk_env, false)?;
            let differs = difference_of(&plain, &yk, NAMES).is_some();
            outs.push((i, plain, yk));
            if differs {
                break;
            }
        }
        let (i, plain, yk) = outs.pop().expect("failing is not empty");
        for (what, r) in [("plain", &plain), ("jit", &yk)] {
            fs::write(
                dir.join(format!("mismatch-{seed}.{what}.out")),
                format!(
                    "exit: {}\n--- stdout\n{}--- stderr\n{}",
                    r.exit, r.stdout, r.stderr
                ),
            )?;
        }
        let test = dir.join(format!("mismatch-{seed}.c"));
        let about = format!(
            "Found by `cargo xtask fuzz-c` (seed {seed}, configuration {}) and minimised: the\n\
             plain and the JIT build disagreed on it.",
            CONFIGS[i].name
        );
        fs::write(&test, c_test(&CONFIGS[i], &min_text, &plain.stdout, &about))?;
        eprintln!(
            "fuzz-c: seed {seed}: kept {} (c_test {}; outputs mismatch-{seed}.{{plain,jit}}.out)",
            min_path.display(),
            test.display()
        );
        mismatches.push((seed, min_path));
        seed += 1;
    }

    let names: Vec<&str> = CONFIGS.iter().map(|c| c.name).collect();
    super::finish(super::Summary {
        tool: "fuzz-c",
        programs,
        seeds: (opts.seed, seed.saturating_sub(1)),
        size: (instrs_total as f64, "instructions"),
        elapsed: start.elapsed(),
        baseline: ("plain", "the plain build", "the plain and the JIT build"),
        plain_time,
        configs: &names,
        yk_time: &yk_time,
        sums: &sums,
        mismatches,
        invalid,
        need_executions: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first 100 seeds' programs run to their end under the plain build, quickly, with
    /// the call stack empty at `HALT`; and the interpreter rejects a malformed program.
    #[test]
    fn programs_run_under_the_plain_build() {
        let dir = lua::target_dir().unwrap().join("fuzz-c/unit-test");
        fs::create_dir_all(&dir).unwrap();
        let plain = dir.join("interp-plain");
        let root = workspace_root();
        run_ok(
            "the plain build",
            Command::new("clang-22")
                .args(["-O2", "-Wall", "-Werror", "-I"])
                .arg(root.join("c_tests/bench/no_jit"))
                .arg(root.join("c_tests/fuzz/interp.c"))
                .arg("-o")
                .arg(&plain),
        )
        .unwrap();
        for seed in 0..100 {
            fs::write(dir.join(PROG), cgen::generate(seed).lower()).unwrap();
            let r = run_vm(&plain, &dir, &[PROG], &[], false, Duration::from_secs(10)).unwrap();
            assert!(r.exit.ok(), "seed {seed}: {} {}", r.exit, r.stderr);
            assert!(r.stderr.is_empty(), "seed {seed}: {}", r.stderr);
            assert!(r.stdout.ends_with(" csp=0\n"), "seed {seed}: {}", r.stdout);
            assert!(r.time < Duration::from_secs(2), "seed {seed}: {:?}", r.time);
        }
        fs::write(dir.join(PROG), "LI 0 1 0\nJMP 7 0 0\nHALT\n").unwrap();
        let r = run_vm(&plain, &dir, &[PROG], &[], false, Duration::from_secs(10)).unwrap();
        assert!(!r.exit.ok());
        assert_eq!(r.stderr, "interp: jump target out of range (line 2)\n");
    }

    #[test]
    fn c_test_embeds_the_program_and_expects_plain_output() {
        let t = c_test(
            &CONFIGS[0],
            "# a comment\nLI 0 5 0   # 0\nPRINT 0 0 0\nHALT 0 0 0\n",
            "5\nr0=5\n",
            "Seed 3.",
        );
        assert!(t.starts_with("// Run-time:\n"));
        assert!(t.contains("//   env-var: YKD_SERIALISE_COMPILATION=1\n"));
        assert!(t.contains("//   exec-arg: 1\n//   stdout:\n//     5\n//     r0=5\n"));
        assert!(t.contains("  \"LI 0 5 0   # 0\\n\" \\\n"));
        assert!(!t.contains("a comment"));
        assert!(t.contains("\n\n// Seed 3.\n// The fuzzer's"));
        assert!(t.ends_with("#include \"../fuzz/interp.c\"\n"));
    }
}
