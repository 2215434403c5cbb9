//! `cargo xtask lua-testsuite`: the official Lua 5.4.6 test suite under plain `lua` and
//! under `yklua`, file by file.
//!
//! Each file runs in its own process, from inside the suite's folder, as the suite's
//! README says (`lua -e "_U=true; _soft=true; _port=true; _nomsg=true" FILE.lua`): once
//! under `target/lua/lua` and then under `target/lua/yklua` in each JIT configuration of
//! [`CONFIGS`]. A file fails the run when `yklua` does not end as plain `lua` did (passed,
//! failed, or timed out) or prints something else on stdout or stderr. Plain `lua` must
//! pass every file except those in [`SAME_AS_PLAIN`], whose outcome only has to match.
//! Per-file and total times are printed for each VM.

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::{Command, ExitStatus, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

use crate::{lua, secs, workspace_root};

pub(crate) const USAGE: &str =
    "  lua-testsuite [--tests DIR] [--timeout SECS] [--release] [--files A,B,..]
                [--subset-files A,B,..] [--quick]
                              the official Lua 5.4.6 suite (default ../shared/lua-5.4.6-tests)
                              file by file under lua and under yklua (YK_HOT_THRESHOLD=5,
                              serialised; then background compilation with
                              YK_SIDETRACE_THRESHOLD=1 on the --subset-files, default
                              all); fails if yklua's outcome or output differs. --quick
                              (CI): the serialised run on the quick files only";

/// What `lua -e` sets before each file: user mode (no internal `T` library), the
/// light and portable variants, no "skipping" messages.
const PRELUDE: &str = "_U=true; _soft=true; _port=true; _nomsg=true";

/// Files of the suite's folder that are not tests of their own.
const NOT_TESTS: &[(&str, &str)] = &[
    ("all.lua", "runs the other files in one process"),
    ("bwcoercion.lua", "a module that other files load"),
    ("tracegc.lua", "a module that other files load"),
    (
        "heavy.lua",
        "builds strings until memory runs out (all.lua does not run it either)",
    ),
];

/// Files whose outcome under plain `lua` may be a failure: yklua must end the same way.
/// `main.lua` tests the standalone interpreter's options, which `interps/lua/main.c` may
/// not all have (with `_port` it returns at once, but not if run otherwise).
const SAME_AS_PLAIN: &[&str] = &["main.lua"];

/// The files `--quick` (what `cargo xtask test`, so CI, runs) gives the serialised
/// configuration: those under about 12 s each with the debug runtime (their sum about
/// 60 s on a 2-core machine, against about 630 s for all files); the others run in the
/// background configuration only, which takes about 190 s for all files. Both figures
/// come from `cargo xtask lua-testsuite` without `--quick`.
const QUICK_SERIALISED: &[&str] = &[
    "api.lua",
    "attrib.lua",
    "big.lua",
    "bitwise.lua",
    "calls.lua",
    "code.lua",
    "coroutine.lua",
    "cstack.lua",
    "gengc.lua",
    "goto.lua",
    "locals.lua",
    "main.lua",
    "pm.lua",
    "strings.lua",
    "tpack.lua",
    "vararg.lua",
    "verybig.lua",
];

/// Lines whose numbers differ from run to run of the same VM (random seeds and what they
/// lead to, times, dates): their numbers are not compared. `(file, text the line
/// contains)`.
const VOLATILE_LINES: &[(&str, &str)] = &[
    ("math.lua", "random seeds:"),
    ("math.lua", "random range in"),
    ("sort.lua", " msec."),
    ("files.lua", "test done on "),
    // `_ENV.GLOB1 = math.random(0, 1)` picks one of two variants of the test.
    ("constructs.lua", "testing short-circuit optimizations ("),
];

/// A JIT configuration of `yklua`.
pub(crate) struct JitConfig {
    pub(crate) name: &'static str,
    pub(crate) env: &'static [(&'static str, &'static str)],
}

/// The configurations each file runs in under `yklua`: traces compiled on the recording
/// thread with no compile-time budget (every hot loop and guard gets its trace), and
/// compiled in the background with side traces recorded at the first guard failure and
/// the default budget (as users run it).
pub(crate) const CONFIGS: &[JitConfig] = &[
    JitConfig {
        name: "yklua",
        env: &[
            ("YK_HOT_THRESHOLD", "5"),
            ("YKD_SERIALISE_COMPILATION", "1"),
            ("YK_COMPILE_BUDGET", "0"),
        ],
    },
    JitConfig {
        name: "yklua-bg",
        env: &[
            ("YK_HOT_THRESHOLD", "5"),
            ("YKD_SERIALISE_COMPILATION", "0"),
            ("YK_SIDETRACE_THRESHOLD", "1"),
        ],
    },
];

#[derive(Debug, PartialEq, Eq)]
struct Opts {
    tests: Option<PathBuf>,
    timeout: Duration,
    release: bool,
    files: Option<Vec<String>>,
    /// Per configuration of [`CONFIGS`], the files it runs (`None`: all).
    only: [Option<Vec<String>>; 2],
}

fn parse(args: &[String]) -> Result<Opts> {
    let mut o = Opts {
        tests: None,
        timeout: Duration::from_secs(300),
        release: false,
        files: None,
        only: [None, None],
    };
    let list = |v: &str| -> Vec<String> {
        v.split(',')
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s.ends_with(".lua") {
                    s.to_owned()
                } else {
                    format!("{s}.lua")
                }
            })
            .collect()
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--tests" => o.tests = Some(PathBuf::from(value()?)),
            "--timeout" => {
                let v = value()?;
                let s: u64 = v
                    .parse()
                    .ok()
                    .filter(|&s| s > 0)
                    .with_context(|| format!("--timeout {v:?}: not a positive number"))?;
                o.timeout = Duration::from_secs(s);
            }
            "--release" => o.release = true,
            "--files" => o.files = Some(list(value()?)),
            "--subset-files" => o.only[1] = Some(list(value()?)),
            "--quick" => o.only[0] = Some(QUICK_SERIALISED.iter().map(|s| s.to_string()).collect()),
            _ => bail!("unknown lua-testsuite argument {a:?}\n{USAGE}"),
        }
    }
    Ok(o)
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Passed,
    Failed(ExitStatus),
    TimedOut,
}

impl Outcome {
    fn show(&self) -> String {
        match self {
            Outcome::Passed => "passed".into(),
            Outcome::Failed(s) => format!("failed ({s})"),
            Outcome::TimedOut => "timed out".into(),
        }
    }

    /// Same kind of ending (exit codes of failures are not compared: the output is).
    fn same_kind(&self, other: &Outcome) -> bool {
        matches!(
            (self, other),
            (Outcome::Passed, Outcome::Passed)
                | (Outcome::Failed(_), Outcome::Failed(_))
                | (Outcome::TimedOut, Outcome::TimedOut)
        )
    }
}

struct Run {
    outcome: Outcome,
    time: Duration,
    stdout: String,
    stderr: String,
}

/// Run `vm` on `file` inside `dir` with `env`, killing it after `timeout`. The output
/// goes through files in `out_dir` (kept for inspection), so that a chatty test cannot
/// block on a full pipe.
fn run_file(
    vm: &Path,
    dir: &Path,
    file: &str,
    env: &[(&str, &str)],
    timeout: Duration,
    out_dir: &Path,
) -> Result<Run> {
    fs::create_dir_all(out_dir)?;
    let out_path = out_dir.join(format!("{file}.stdout"));
    let err_path = out_dir.join(format!("{file}.stderr"));
    let mut cmd = Command::new(vm);
    cmd.current_dir(dir)
        .args(["-e", PRELUDE, file])
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out_path)?)
        .stderr(fs::File::create(&err_path)?);
    // The runtime's settings are the configuration's alone (a YKD_LOG in the caller's
    // environment would add lines to stderr).
    for (k, _) in env::vars_os() {
        if k.to_string_lossy().starts_with("YK") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    let t0 = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not run {}", vm.display()))?;
    let outcome = loop {
        if let Some(status) = child.try_wait()? {
            break if status.success() {
                Outcome::Passed
            } else {
                Outcome::Failed(status)
            };
        }
        if t0.elapsed() >= timeout {
            // The child is ours and still running (try_wait said so).
            let _ = child.kill();
            child.wait()?;
            break Outcome::TimedOut;
        }
        thread::sleep(Duration::from_millis(5));
    };
    let time = t0.elapsed();
    let read = |p: &Path| {
        fs::read(p)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .with_context(|| format!("could not read {}", p.display()))
    };
    Ok(Run {
        outcome,
        time,
        stdout: read(&out_path)?,
        stderr: read(&err_path)?,
    })
}

/// `text` with each number of `file`'s volatile lines replaced by `#`.
fn normalise(file: &str, text: &str) -> String {
    let pats: Vec<&str> = VOLATILE_LINES
        .iter()
        .filter(|(f, _)| *f == file)
        .map(|(_, p)| *p)
        .collect();
    text.split_inclusive('\n')
        .map(|line| {
            if pats.iter().any(|p| line.contains(p)) {
                // Each run of digits becomes one `#`: the numbers' lengths vary too.
                let mut out = String::with_capacity(line.len());
                for c in line.chars() {
                    if !c.is_ascii_digit() {
                        out.push(c);
                    } else if !out.ends_with('#') {
                        out.push('#');
                    }
                }
                out
            } else {
                line.to_owned()
            }
        })
        .collect()
}

/// The first line where `a` and `b` differ, for the report.
fn first_difference(a: &str, b: &str) -> String {
    let (la, lb): (Vec<_>, Vec<_>) = (a.lines().collect(), b.lines().collect());
    for i in 0..la.len().max(lb.len()) {
        let (x, y) = (la.get(i), lb.get(i));
        if x != y {
            return format!(
                "line {}: lua {:?}, yklua {:?}",
                i + 1,
                x.copied().unwrap_or("<end>"),
                y.copied().unwrap_or("<end>")
            );
        }
    }
    "same lines, different line endings".into()
}

/// Why yklua's run of `file` does not match plain lua's, if it doesn't.
fn compare(file: &str, plain: &Run, yk: &Run) -> Option<String> {
    if !plain.outcome.same_kind(&yk.outcome) {
        return Some(format!(
            "lua {}, yklua {}",
            plain.outcome.show(),
            yk.outcome.show()
        ));
    }
    for (what, a, b) in [
        ("stdout", &plain.stdout, &yk.stdout),
        ("stderr", &plain.stderr, &yk.stderr),
    ] {
        let (a, b) = (normalise(file, a), normalise(file, b));
        if a != b {
            return Some(format!("{what} differs: {}", first_difference(&a, &b)));
        }
    }
    None
}

/// The test files in `dir` (its `.lua` files but [`NOT_TESTS`]), sorted.
fn test_files(dir: &Path) -> Result<Vec<String>> {
    let mut files = Vec::new();
    for e in fs::read_dir(dir).with_context(|| format!("could not read {}", dir.display()))? {
        let name = e?.file_name().to_string_lossy().into_owned();
        if name.ends_with(".lua") && !NOT_TESTS.iter().any(|(f, _)| *f == name) {
            files.push(name);
        }
    }
    files.sort();
    Ok(files)
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let opts = parse(args)?;
    let root = workspace_root();
    let dir = opts
        .tests
        .clone()
        .unwrap_or_else(|| root.join("../shared/lua-5.4.6-tests"));
    if !dir.join("all.lua").is_file() {
        let msg = format!(
            "the official Lua 5.4.6 test suite is not at {} (no all.lua there): \
             lua-testsuite skipped; pass --tests DIR to point at it",
            dir.display()
        );
        if env::var("CI").is_ok_and(|v| v == "true") {
            bail!("{msg} (an error under CI=true)");
        }
        eprintln!("lua-testsuite: WARNING: {msg}");
        return Ok(());
    }
    let dir = dir.canonicalize()?;
    let bins = lua::build(&lua::BuildOpts {
        release: opts.release,
    })?;
    let all = test_files(&dir)?;
    let files: Vec<String> = match &opts.files {
        None => all.clone(),
        Some(fs) => {
            for f in fs {
                if !all.contains(f) {
                    bail!("--files: {f} is not a test file of {}", dir.display());
                }
            }
            fs.clone()
        }
    };
    for sub in opts.only.iter().flatten() {
        for f in sub {
            if !all.contains(f) {
                bail!(
                    "{f} (--subset-files or --quick) is not a test file of {}",
                    dir.display()
                );
            }
        }
    }
    for (f, why) in NOT_TESTS {
        eprintln!("lua-testsuite: not run: {f}: {why}");
    }
    let out_root = bins
        .lua
        .parent()
        .context("target/lua has no parent")?
        .join("testsuite");
    eprintln!(
        "lua-testsuite: {} files of {} (outputs in {}), timeout {} per file",
        files.len(),
        dir.display(),
        out_root.display(),
        secs(opts.timeout)
    );
    for (c, only) in CONFIGS.iter().zip(&opts.only) {
        let env: Vec<String> = c.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let which = match only {
            None => String::new(),
            Some(fs) => format!(" (only on {} files: {})", fs.len(), fs.join(" ")),
        };
        eprintln!("  {:<9} = yklua with {}{which}", c.name, env.join(" "));
    }

    let mut totals = vec![Duration::ZERO; CONFIGS.len() + 1];
    let mut counts = vec![0usize; CONFIGS.len() + 1];
    let mut problems = Vec::new();
    eprintln!(
        "{:<16} {:>9}{}  verdict",
        "file",
        "lua",
        CONFIGS
            .iter()
            .map(|c| format!(" {:>9}", c.name))
            .collect::<String>()
    );
    for file in &files {
        let plain = run_file(
            &bins.lua,
            &dir,
            file,
            &[],
            opts.timeout,
            &out_root.join("lua"),
        )?;
        totals[0] += plain.time;
        counts[0] += 1;
        let mut row = format!("{file:<16} {:>9}", secs3(plain.time));
        let mut verdicts = Vec::new();
        if plain.outcome != Outcome::Passed && !SAME_AS_PLAIN.contains(&file.as_str()) {
            verdicts.push(format!("lua {}", plain.outcome.show()));
        }
        for (i, c) in CONFIGS.iter().enumerate() {
            if opts.only[i].as_ref().is_some_and(|s| !s.contains(file)) {
                row += &format!(" {:>9}", "-");
                continue;
            }
            let yk = run_file(
                &bins.yklua,
                &dir,
                file,
                c.env,
                opts.timeout,
                &out_root.join(c.name),
            )?;
            totals[i + 1] += yk.time;
            counts[i + 1] += 1;
            row += &format!(" {:>9}", secs3(yk.time));
            if let Some(why) = compare(file, &plain, &yk) {
                verdicts.push(format!("{}: {why}", c.name));
            }
        }
        let verdict = if verdicts.is_empty() {
            match plain.outcome {
                Outcome::Passed => "ok".to_owned(),
                o => format!("ok (same as lua: {})", o.show()),
            }
        } else {
            format!("FAIL: {}", verdicts.join("; "))
        };
        eprintln!("{row}  {verdict}");
        if !verdicts.is_empty() {
            problems.push(format!("{file}: {}", verdicts.join("; ")));
        }
    }
    eprintln!(
        "{:<16} {:>9}{}",
        "total",
        secs3(totals[0]),
        totals[1..]
            .iter()
            .map(|t| format!(" {:>9}", secs3(*t)))
            .collect::<String>()
    );
    eprintln!(
        "{:<16} {:>9}{}",
        "files run",
        counts[0],
        counts[1..]
            .iter()
            .map(|n| format!(" {n:>9}"))
            .collect::<String>()
    );
    if !problems.is_empty() {
        bail!(
            "lua-testsuite: {} of {} files failed:\n  {}",
            problems.len(),
            files.len(),
            problems.join("\n  ")
        );
    }
    eprintln!(
        "lua-testsuite: all {} files give the same results under lua and yklua",
        files.len()
    );
    Ok(())
}

fn secs3(d: Duration) -> String {
    format!("{:.3}s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options() {
        let o = parse(&[]).unwrap();
        assert_eq!(o.tests, None);
        assert_eq!(o.timeout, Duration::from_secs(300));
        let o = parse(&strings(&[
            "--tests",
            "/x",
            "--timeout",
            "9",
            "--files",
            "math,sort.lua",
            "--subset-files",
            "gc",
        ]))
        .unwrap();
        assert_eq!(o.tests, Some(PathBuf::from("/x")));
        assert_eq!(o.timeout, Duration::from_secs(9));
        assert_eq!(o.files, Some(strings(&["math.lua", "sort.lua"])));
        assert_eq!(o.only, [None, Some(strings(&["gc.lua"]))]);
        let o = parse(&strings(&["--quick"])).unwrap();
        assert_eq!(o.only[0].as_ref().unwrap().len(), QUICK_SERIALISED.len());
        assert_eq!(o.only[1], None);
        assert!(parse(&strings(&["--timeout", "0"])).is_err());
        assert!(parse(&strings(&["--tests"])).is_err());
        assert!(parse(&strings(&["--nope"])).is_err());
    }

    #[test]
    fn volatile_lines_ignore_digits_only() {
        let a = "x 1\nsorting 5000 random elements in 0.85 msec.\n";
        let b = "x 1\nsorting 5000 random elements in 0.91 msec.\n";
        assert_eq!(normalise("sort.lua", a), normalise("sort.lua", b));
        assert_ne!(normalise("math.lua", a), normalise("math.lua", b));
        let c = "x 2\nsorting 5000 random elements in 0.85 msec.\n";
        assert_ne!(normalise("sort.lua", a), normalise("sort.lua", c));
        // Numbers of other lengths too.
        let d = "x 1\nsorting 5000 random elements in 10.5 msec.\n";
        assert_eq!(normalise("sort.lua", a), normalise("sort.lua", d));
        let e = "x 1\nsorting 5000 random elements in 10.5 sec.\n";
        assert_ne!(normalise("sort.lua", a), normalise("sort.lua", e));
    }

    fn run(outcome: Outcome, stdout: &str) -> Run {
        Run {
            outcome,
            time: Duration::ZERO,
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }

    #[test]
    fn comparison() {
        let ok = run(Outcome::Passed, "a\nb\n");
        assert_eq!(compare("f.lua", &ok, &run(Outcome::Passed, "a\nb\n")), None);
        assert_eq!(
            compare("f.lua", &ok, &run(Outcome::Passed, "a\nc\n")).unwrap(),
            "stdout differs: line 2: lua \"b\", yklua \"c\""
        );
        assert_eq!(
            compare("f.lua", &ok, &run(Outcome::TimedOut, "a\nb\n")).unwrap(),
            "lua passed, yklua timed out"
        );
    }
}
