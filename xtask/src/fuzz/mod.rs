//! `cargo xtask fuzz`: differential fuzzing of yklua against plain lua.
//!
//! For each seed S, S+1, ... a random Lua program ([`gen`]) runs under `target/lua/lua` and
//! under `target/lua/yklua` in each configuration of [`CONFIGS`] (a hot threshold of 5, side
//! traces after 2 guard failures, no compile budget; traces compiled on the recording thread
//! and, with the program's blocks run three times, in the background). Exit status, stdout and stderr must be identical. A mismatch is
//! minimised ([`reduce`]) and written to `target/fuzz/mismatch-<seed>.lua` (the program as
//! generated beside it, `mismatch-<seed>.orig.lua`). The run ends after `--count` programs or
//! when `--time` seconds have passed, whichever comes first, and prints a summary: programs,
//! seeds, mismatches, times, and the runtime's statistics (`YKD_LOG_STATS`) summed over all
//! yklua runs, which show how much the JIT was exercised.

use std::{
    collections::BTreeMap,
    env, fmt, fs,
    path::{Path, PathBuf},
    process::{Command, ExitStatus, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};

use crate::{lua, secs};

pub(crate) mod c;
mod cgen;
mod gen;
mod reduce;

pub(crate) const USAGE: &str =
    "  fuzz [--seed S] [--time SECS] [--count N] [--reduce-time SECS] [--release]
  fuzz --print S              print the program of seed S
                              differential fuzzing: random Lua programs (seeds S, S+1, ...)
                              under lua and yklua (hot threshold 5, serialised and
                              background compilation); mismatches minimised into
                              target/fuzz/mismatch-<seed>.lua; fails on a mismatch";

/// A `fuzz` command-line error.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum OptError {
    MissingValue(String),
    BadNumber {
        opt: String,
        value: String,
    },
    /// An unknown argument, and the usage text of the command.
    Unknown {
        arg: String,
        usage: &'static str,
    },
}

impl fmt::Display for OptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptError::MissingValue(o) => write!(f, "{o} needs a value"),
            OptError::BadNumber { opt, value } => {
                write!(f, "{opt} {value:?}: not a non-negative whole number")
            }
            OptError::Unknown { arg, usage } => write!(f, "unknown argument {arg:?}\n{usage}"),
        }
    }
}

impl std::error::Error for OptError {}

/// Why a fuzz run failed.
#[derive(Debug)]
pub(crate) enum FuzzError {
    /// The JIT did not behave as the baseline on these seeds (the minimised programs'
    /// paths); `between` names the two ("lua and yklua").
    Mismatches {
        between: &'static str,
        seeds: Vec<(u64, PathBuf)>,
    },
    /// The baseline (named) failed or timed out on these generated programs (a generator
    /// bug).
    InvalidPrograms {
        baseline: &'static str,
        seeds: Vec<(u64, PathBuf)>,
    },
    /// No trace was compiled (or none ran) in the serialised configuration over this many
    /// programs: the JIT was not exercised.
    NoTraces(u64),
}

impl fmt::Display for FuzzError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: &[(u64, PathBuf)]| {
            v.iter()
                .map(|(s, p)| format!("seed {s}: {}", p.display()))
                .collect::<Vec<_>>()
                .join("\n  ")
        };
        match self {
            FuzzError::Mismatches { between, seeds } => write!(
                f,
                "{} mismatches between {between}:\n  {}",
                seeds.len(),
                list(seeds)
            ),
            FuzzError::InvalidPrograms { baseline, seeds } => write!(
                f,
                "{baseline} failed on {} generated programs (a generator bug):\n  {}",
                seeds.len(),
                list(seeds)
            ),
            FuzzError::NoTraces(n) => write!(
                f,
                "no trace was compiled or run in {n} programs (serialised configuration): the JIT was not exercised"
            ),
        }
    }
}

impl std::error::Error for FuzzError {}

#[derive(Debug, PartialEq, Eq)]
struct Opts {
    seed: u64,
    time: Option<Duration>,
    count: Option<u64>,
    reduce_time: Duration,
    release: bool,
}

/// Parses the options of `fuzz` (and `fuzz-c`, whose usage text is `usage`).
fn parse(args: &[String], usage: &'static str) -> Result<Opts, OptError> {
    let mut o = Opts {
        seed: 1,
        time: None,
        count: None,
        reduce_time: Duration::from_secs(600),
        release: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = || -> Result<u64, OptError> {
            let v = it.next().ok_or_else(|| OptError::MissingValue(a.clone()))?;
            v.parse().map_err(|_| OptError::BadNumber {
                opt: a.clone(),
                value: v.clone(),
            })
        };
        match a.as_str() {
            "--seed" => o.seed = num()?,
            "--time" => o.time = Some(Duration::from_secs(num()?)),
            "--count" => o.count = Some(num()?),
            "--reduce-time" => o.reduce_time = Duration::from_secs(num()?),
            "--release" => o.release = true,
            _ => {
                return Err(OptError::Unknown {
                    arg: a.clone(),
                    usage,
                })
            }
        }
    }
    if o.time.is_none() && o.count.is_none() {
        o.time = Some(Duration::from_secs(60));
    }
    Ok(o)
}

/// A JIT configuration of yklua.
struct Config {
    name: &'static str,
    env: &'static [(&'static str, &'static str)],
    /// `FUZZ_REPS`: how many times the program runs its blocks (under lua too).
    reps: &'static str,
}

/// The runtime settings common to all configurations: traces for loops after 5
/// iterations, side traces after 2 guard failures, and no compile-time budget, so that no
/// compilation is ever skipped.
const COMMON_ENV: &[(&str, &str)] = &[
    ("YK_HOT_THRESHOLD", "5"),
    ("YK_SIDETRACE_THRESHOLD", "2"),
    ("YK_COMPILE_BUDGET", "0"),
];

const CONFIGS: &[Config] = &[
    // Recordings up to 50,000 blocks (the default limit is 720): long traces, which
    // the default aborts, are compiled and checked too.
    Config {
        name: "serialised",
        env: &[
            ("YKD_SERIALISE_COMPILATION", "1"),
            ("YKD_TRACE_MAX_LEN", "50000"),
        ],
        reps: "1",
    },
    // The program's blocks run three times, so that the traces compiled in the
    // background while the first run went on are entered in the later ones.
    Config {
        name: "background",
        env: &[("YKD_SERIALISE_COMPILATION", "0")],
        reps: "3",
    },
];

/// Plain lua's time limit per program (generated programs take well under a second).
const PLAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// yklua's (the debug runtime compiles slowly).
const YK_TIMEOUT: Duration = Duration::from_secs(120);

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exit {
    Status(ExitStatus),
    TimedOut,
}

impl Exit {
    fn ok(&self) -> bool {
        matches!(self, Exit::Status(s) if s.success())
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Status(s) => write!(f, "{s}"),
            Exit::TimedOut => write!(f, "timed out"),
        }
    }
}

struct Run {
    exit: Exit,
    stdout: String,
    stderr: String,
    time: Duration,
    /// The runtime's statistics (yklua runs that wrote them).
    stats: Option<serde_json::Value>,
}

/// Runs `vm args...` in `dir` with `env` (and no other `YK*` or `FUZZ_REPS` variable, and no
/// `LD_LIBRARY_PATH`), killing it after `timeout`.
fn run_vm(
    vm: &Path,
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    stats: bool,
    timeout: Duration,
) -> Result<Run> {
    let out_path = dir.join("out.stdout");
    let err_path = dir.join("out.stderr");
    let stats_path = dir.join("stats.json");
    let _ = fs::remove_file(&stats_path);
    let mut cmd = Command::new(vm);
    cmd.current_dir(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path)?)
        .stderr(fs::File::create(&err_path)?);
    for (k, _) in env::vars_os() {
        if k.to_string_lossy().starts_with("YK") || k == "FUZZ_REPS" {
            cmd.env_remove(k);
        }
    }
    // `cargo run` puts target/debug first in LD_LIBRARY_PATH, which would beat a release
    // binary's rpath to its libykcapi.
    cmd.env_remove("LD_LIBRARY_PATH");
    cmd.envs(env.iter().copied());
    if stats {
        cmd.env("YKD_LOG_STATS", &stats_path);
    }
    let t0 = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not run {}", vm.display()))?;
    let exit = loop {
        if let Some(s) = child.try_wait()? {
            break Exit::Status(s);
        }
        if t0.elapsed() >= timeout {
            // Our own child, still running (try_wait said so).
            let _ = child.kill();
            child.wait()?;
            break Exit::TimedOut;
        }
        thread::sleep(Duration::from_millis(2));
    };
    let time = t0.elapsed();
    let read = |p: &Path| -> Result<String> {
        Ok(String::from_utf8_lossy(
            &fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        )
        .into_owned())
    };
    let stats = if stats {
        fs::read_to_string(&stats_path)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
    } else {
        None
    };
    Ok(Run {
        exit,
        stdout: read(&out_path)?,
        stderr: read(&err_path)?,
        time,
        stats,
    })
}

/// How `yk` differs from `plain`, if it does.
fn difference(plain: &Run, yk: &Run) -> Option<String> {
    difference_of(plain, yk, ("lua", "yklua"))
}

/// How `yk` differs from `plain`, if it does, naming them `names`.
fn difference_of(plain: &Run, yk: &Run, names: (&str, &str)) -> Option<String> {
    let (np, ny) = names;
    if plain.exit != yk.exit {
        return Some(format!("exit: {np} {}, {ny} {}", plain.exit, yk.exit));
    }
    for (what, a, b) in [
        ("stdout", &plain.stdout, &yk.stdout),
        ("stderr", &plain.stderr, &yk.stderr),
    ] {
        if a != b {
            let (la, lb): (Vec<_>, Vec<_>) = (a.lines().collect(), b.lines().collect());
            let i = (0..la.len().max(lb.len()))
                .find(|&i| la.get(i) != lb.get(i))
                .unwrap_or(0);
            return Some(format!(
                "{what} line {}: {np} {:?}, {ny} {:?}",
                i + 1,
                la.get(i).copied().unwrap_or("<end>"),
                lb.get(i).copied().unwrap_or("<end>")
            ));
        }
    }
    None
}

/// The statistics summed over runs.
#[derive(Default)]
struct StatSums {
    runs_with_stats: u64,
    counters: BTreeMap<String, u64>,
}

impl StatSums {
    fn add(&mut self, v: &serde_json::Value) {
        self.runs_with_stats += 1;
        if let Some(o) = v.as_object() {
            for (k, x) in o {
                if let Some(n) = x.as_u64() {
                    *self.counters.entry(k.clone()).or_default() += n;
                }
                // Aborted recordings and compilations by kind: "abort:<kind>".
                if let Some(kinds) = x.as_object().filter(|_| k == "aborts") {
                    for (kind, n) in kinds {
                        if let Some(n) = n.as_u64().filter(|&n| n > 0) {
                            *self.counters.entry(format!("abort:{kind}")).or_default() += n;
                        }
                    }
                }
            }
        }
    }

    fn get(&self, k: &str) -> u64 {
        self.counters.get(k).copied().unwrap_or(0)
    }
}

/// Where the programs run and the mismatches go.
fn fuzz_dir() -> Result<PathBuf> {
    Ok(lua::target_dir()?.join("fuzz"))
}

/// The name every program runs under (error messages hold it).
const PROG: &str = "prog.lua";

pub(crate) fn run(args: &[String]) -> Result<()> {
    if let [a, s] = args {
        if a == "--print" {
            let seed = s.parse().map_err(|_| OptError::BadNumber {
                opt: a.clone(),
                value: s.clone(),
            })?;
            print!("{}", gen::generate(seed));
            return Ok(());
        }
    }
    let opts = parse(args, USAGE)?;
    let bins = lua::build(&lua::BuildOpts {
        release: opts.release,
    })?;
    let dir = fuzz_dir()?;
    let work = dir.join("work");
    fs::create_dir_all(&work)?;
    let yk_env: Vec<Vec<(&str, &str)>> = CONFIGS
        .iter()
        .map(|c| {
            COMMON_ENV
                .iter()
                .chain(c.env)
                .copied()
                .chain([("FUZZ_REPS", c.reps)])
                .collect()
        })
        .collect();
    eprintln!(
        "fuzz: seeds from {}, {}{}, in {}",
        opts.seed,
        opts.count
            .map(|n| format!("at most {n} programs"))
            .unwrap_or_default(),
        opts.time
            .map(|t| format!(
                "{}at most {}",
                if opts.count.is_some() { ", " } else { "" },
                secs(t)
            ))
            .unwrap_or_default(),
        dir.display()
    );
    for (c, env) in CONFIGS.iter().zip(&yk_env) {
        let e: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        eprintln!("  {:<10} = yklua with {}", c.name, e.join(" "));
    }

    let start = Instant::now();
    let mut seed = opts.seed;
    let mut programs = 0u64;
    let mut mismatches = Vec::new();
    let mut invalid = Vec::new();
    let mut sums: Vec<StatSums> = CONFIGS.iter().map(|_| StatSums::default()).collect();
    let mut plain_time = Duration::ZERO;
    let mut yk_time = vec![Duration::ZERO; CONFIGS.len()];
    let mut lines_total = 0usize;
    loop {
        if opts.count.is_some_and(|n| programs >= n)
            || opts.time.is_some_and(|t| start.elapsed() >= t)
        {
            break;
        }
        let program = gen::generate(seed);
        lines_total += program.lines().count();
        fs::write(work.join(PROG), &program)?;
        let plain_runs = CONFIGS
            .iter()
            .map(|c| {
                run_vm(
                    &bins.lua,
                    &work,
                    &[PROG],
                    &[("FUZZ_REPS", c.reps)],
                    false,
                    PLAIN_TIMEOUT,
                )
            })
            .collect::<Result<Vec<Run>>>()?;
        let plain = &plain_runs[0];
        plain_time += plain.time;
        if !plain.exit.ok() {
            let p = dir.join(format!("invalid-{seed}.lua"));
            fs::write(&p, &program)?;
            eprintln!(
                "fuzz: seed {seed}: plain lua: {} ({}), kept as {}",
                plain.exit,
                plain.stderr.lines().next().unwrap_or(""),
                p.display()
            );
            invalid.push((seed, p));
        }
        let mut failing = Vec::new();
        let mut row = format!("seed {seed}: lua {:.2}s", plain.time.as_secs_f64());
        for (i, c) in CONFIGS.iter().enumerate() {
            let yk = run_vm(&bins.yklua, &work, &[PROG], &yk_env[i], true, YK_TIMEOUT)?;
            yk_time[i] += yk.time;
            let compiled = yk
                .stats
                .as_ref()
                .and_then(|s| s["traces_compiled_ok"].as_u64());
            if let Some(s) = &yk.stats {
                sums[i].add(s);
            }
            row += &format!(
                ", {} {:.2}s ({} traces)",
                c.name,
                yk.time.as_secs_f64(),
                compiled.map_or("?".into(), |n| n.to_string())
            );
            if let Some(d) = difference(&plain_runs[i], &yk) {
                eprintln!("fuzz: seed {seed}: MISMATCH under {}: {d}", c.name);
                failing.push(i);
            }
        }
        eprintln!("{row}");
        programs += 1;
        if !failing.is_empty() {
            let orig = dir.join(format!("mismatch-{seed}.orig.lua"));
            fs::write(&orig, &program)?;
            let min = dir.join(format!("mismatch-{seed}.lua"));
            let plain_ok = plain.exit.ok();
            // A mismatch that does not come back in three more runs (a race of background
            // compilation, or a signal from outside) cannot be minimised: it is kept as
            // generated, and still fails the run.
            let again = (0..3).any(|_| {
                still_mismatches(&program, &bins, &work, plain_ok, &failing, &yk_env)
                    .unwrap_or(false)
            });
            if !again {
                fs::write(&min, &program)?;
                eprintln!(
                    "fuzz: seed {seed}: the mismatch did not come back in 3 more runs: \
                     not minimised: {}",
                    min.display()
                );
                mismatches.push((seed, min));
                seed += 1;
                continue;
            }
            let t = Instant::now();
            let red = reduce::reduce(&program, Instant::now() + opts.reduce_time, |cand| {
                still_mismatches(cand, &bins, &work, plain_ok, &failing, &yk_env).unwrap_or(false)
            });
            fs::write(&min, &red.program)?;
            eprintln!(
                "fuzz: seed {seed}: minimised from {} to {} lines in {} ({} runs{}): {}",
                program.lines().count(),
                red.program.lines().count(),
                secs(t.elapsed()),
                red.tests,
                if red.timed_out {
                    ", stopped at --reduce-time"
                } else {
                    ""
                },
                min.display()
            );
            mismatches.push((seed, min));
        }
        seed += 1;
    }

    let names: Vec<&str> = CONFIGS.iter().map(|c| c.name).collect();
    finish(Summary {
        tool: "fuzz",
        programs,
        seeds: (opts.seed, seed.saturating_sub(1)),
        size: (lines_total as f64, "lines"),
        elapsed: start.elapsed(),
        baseline: ("lua", "plain lua", "lua and yklua"),
        plain_time,
        configs: &names,
        yk_time: &yk_time,
        sums: &sums,
        mismatches,
        invalid,
        // The Lua programs always run a trace once one compiled.
        need_executions: false,
    })
}

/// What a fuzzing run found, for [`finish`].
struct Summary<'a> {
    /// `fuzz` or `fuzz-c`.
    tool: &'a str,
    programs: u64,
    /// The first and last seed run.
    seeds: (u64, u64),
    /// The programs' total size and its unit.
    size: (f64, &'a str),
    elapsed: Duration,
    /// The baseline's short name, its name in errors, and what a mismatch
    /// is between.
    baseline: (&'a str, &'static str, &'static str),
    plain_time: Duration,
    /// The JIT configurations' names, with their run times and statistics.
    configs: &'a [&'a str],
    yk_time: &'a [Duration],
    sums: &'a [StatSums],
    mismatches: Vec<(u64, PathBuf)>,
    invalid: Vec<(u64, PathBuf)>,
    /// Whether the first configuration must also have run a trace (not only
    /// compiled one).
    need_executions: bool,
}

/// Prints a fuzzing run's summary; fails on a mismatch, on a program the
/// baseline failed, or when the first configuration compiled no trace.
fn finish(s: Summary) -> Result<()> {
    let Summary {
        tool,
        programs,
        seeds,
        size,
        elapsed,
        baseline,
        plain_time,
        configs,
        yk_time,
        sums,
        mismatches,
        invalid,
        need_executions,
    } = s;
    let n = programs.max(1) as f64;
    eprintln!("{tool}: summary");
    eprintln!(
        "  programs run   {programs} (seeds {}..={}), {:.0} {} each on average, in {}",
        seeds.0,
        seeds.1,
        size.0 / n,
        size.1,
        secs(elapsed)
    );
    eprintln!(
        "  mismatches     {}{}",
        mismatches.len(),
        mismatches
            .iter()
            .map(|(s, p)| format!("\n    seed {s}: {}", p.display()))
            .collect::<String>()
    );
    eprintln!("  invalid        {} ({} failed)", invalid.len(), baseline.1);
    eprintln!(
        "  time/program   {} {:.3}s{}",
        baseline.0,
        plain_time.as_secs_f64() / n,
        configs
            .iter()
            .zip(yk_time)
            .map(|(c, t)| format!(", {c} {:.3}s", t.as_secs_f64() / n))
            .collect::<String>()
    );
    for (c, s) in configs.iter().zip(sums) {
        eprintln!(
            "  {:<14} traces compiled {} (side traces {}), compile errors {}, recordings aborted {}, trace executions {}, guard failures {} ({} runs with stats)",
            c,
            s.get("traces_compiled_ok"),
            s.get("side_traces_compiled"),
            s.get("traces_compiled_err"),
            s.get("traces_recorded_err"),
            s.get("trace_executions"),
            s.get("guard_failures"),
            s.runs_with_stats
        );
        let aborts: Vec<String> = s
            .counters
            .iter()
            .filter_map(|(k, n)| k.strip_prefix("abort:").map(|k| format!("{k} {n}")))
            .collect();
        if !aborts.is_empty() {
            eprintln!("  {:<14} aborts by kind: {}", "", aborts.join(", "));
        }
    }
    if !mismatches.is_empty() {
        return Err(FuzzError::Mismatches {
            between: baseline.2,
            seeds: mismatches,
        }
        .into());
    }
    if !invalid.is_empty() {
        return Err(FuzzError::InvalidPrograms {
            baseline: baseline.1,
            seeds: invalid,
        }
        .into());
    }
    let first = &sums[0];
    if programs > 0
        && (first.get("traces_compiled_ok") == 0
            || (need_executions && first.get("trace_executions") == 0))
    {
        return Err(FuzzError::NoTraces(programs).into());
    }
    eprintln!("{tool}: {programs} programs, no mismatch");
    Ok(())
}

/// Whether `cand` still shows a mismatch under one of the `failing` configurations (with
/// plain lua succeeding on it if it succeeded on the original).
fn still_mismatches(
    cand: &str,
    bins: &lua::LuaBins,
    work: &Path,
    plain_ok: bool,
    failing: &[usize],
    yk_env: &[Vec<(&str, &str)>],
) -> Result<bool> {
    const CAND: &str = "cand.lua";
    fs::write(work.join(CAND), cand)?;
    for &i in failing {
        let reps = [("FUZZ_REPS", CONFIGS[i].reps)];
        let plain = run_vm(&bins.lua, work, &[CAND], &reps, false, PLAIN_TIMEOUT)?;
        if plain.exit == Exit::TimedOut || (plain_ok && !plain.exit.ok()) {
            return Ok(false);
        }
        let yk = run_vm(&bins.yklua, work, &[CAND], &yk_env[i], false, YK_TIMEOUT)?;
        if difference(&plain, &yk).is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    /// The first 50 seeds' programs parse and run to the end under plain lua, quickly, and
    /// print a digest line per block and "done".
    #[test]
    fn programs_run_under_plain_lua() {
        let target = lua::target_dir().unwrap();
        let lua = target.join("lua/lua");
        assert!(
            lua.is_file(),
            "{} is missing: run `cargo xtask lua` first",
            lua.display()
        );
        let dir = target.join("fuzz/unit-test");
        fs::create_dir_all(&dir).unwrap();
        for seed in 0..50 {
            let p = gen::generate(seed);
            fs::write(dir.join(PROG), &p).unwrap();
            let r = run_vm(&lua, &dir, &[PROG], &[], false, Duration::from_secs(10)).unwrap();
            assert!(r.exit.ok(), "seed {seed}: {} {}", r.exit, r.stderr);
            assert!(r.stderr.is_empty(), "seed {seed}: {}", r.stderr);
            assert!(r.stdout.ends_with("done\n"), "seed {seed}: {}", r.stdout);
            assert!(r.stdout.starts_with("b1\t"), "seed {seed}: {}", r.stdout);
            assert!(r.time < Duration::from_secs(3), "seed {seed}: {:?}", r.time);
        }
    }

    #[test]
    fn difference_compares_exit_stdout_and_stderr() {
        let run = |code: i32, out: &str, err: &str| Run {
            exit: Exit::Status(std::os::unix::process::ExitStatusExt::from_raw(code << 8)),
            stdout: out.into(),
            stderr: err.into(),
            time: Duration::ZERO,
            stats: None,
        };
        let a = run(0, "x\ny\n", "");
        assert_eq!(difference(&a, &run(0, "x\ny\n", "")), None);
        assert_eq!(
            difference(&a, &run(0, "x\nz\n", "")).unwrap(),
            "stdout line 2: lua \"y\", yklua \"z\""
        );
        assert!(difference(&a, &run(1, "x\ny\n", ""))
            .unwrap()
            .starts_with("exit:"));
        assert!(difference(&a, &run(0, "x\ny\n", "w"))
            .unwrap()
            .starts_with("stderr"));
        let mut t = run(0, "x\ny\n", "");
        t.exit = Exit::TimedOut;
        assert!(difference(&a, &t).is_some());
    }

    #[test]
    fn options() {
        let o = parse(&[], USAGE).unwrap();
        assert_eq!(o.seed, 1);
        assert_eq!(o.time, Some(Duration::from_secs(60)));
        assert_eq!(o.count, None);
        let o = parse(&strings(&["--seed", "42", "--count", "3"]), USAGE).unwrap();
        assert_eq!((o.seed, o.count, o.time), (42, Some(3), None));
        let o = parse(
            &strings(&["--time", "5", "--reduce-time", "9", "--release"]),
            USAGE,
        )
        .unwrap();
        assert_eq!(o.time, Some(Duration::from_secs(5)));
        assert_eq!(o.reduce_time, Duration::from_secs(9));
        assert!(o.release);
        assert_eq!(
            parse(&strings(&["--seed"]), USAGE),
            Err(OptError::MissingValue("--seed".into()))
        );
        assert!(matches!(
            parse(&strings(&["--count", "-1"]), USAGE),
            Err(OptError::BadNumber { .. })
        ));
        assert!(matches!(
            parse(&strings(&["--nope"]), USAGE),
            Err(OptError::Unknown { .. })
        ));
    }
}
