//! `cargo xtask stress [--runs N] [-p PACKAGE]...`: run a package's test binaries
//! (default: `ykrt`'s) N times in a row (default 1,000), to find flaky tests. Not
//! part of `cargo xtask test`: it takes minutes.
//!
//! The binaries are built once (`cargo test --no-run`) and then run directly,
//! which is `cargo test -p PACKAGE` without cargo's own start-up cost and without
//! the doc-tests (which are compiled examples, not concurrency tests). Each
//! failing run's output is kept in `target/stress/`.

use std::{
    path::PathBuf,
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{bail, Context, Result};

use crate::{cargo, secs, workspace_root};

pub(crate) const USAGE: &str = "  stress [--runs N] [-p PACKAGE]...
                              run the test binaries of PACKAGE (default ykrt) N times
                              (default 1000) and count the failures (not in CI)";

#[derive(Debug, PartialEq, Eq)]
struct Opts {
    runs: usize,
    packages: Vec<String>,
}

fn parse(args: &[String]) -> Result<Opts> {
    let mut opts = Opts {
        runs: 1000,
        packages: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => {
                let v = it.next().context("--runs needs a number")?;
                opts.runs = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .with_context(|| format!("--runs {v:?}: not a positive number"))?;
            }
            "-p" => opts
                .packages
                .push(it.next().context("-p needs a package")?.clone()),
            _ => bail!("unknown stress argument {a:?}\n{USAGE}"),
        }
    }
    if opts.packages.is_empty() {
        opts.packages.push("ykrt".into());
    }
    Ok(opts)
}

/// Build the packages' test binaries and return their paths.
fn build(packages: &[String]) -> Result<Vec<PathBuf>> {
    let mut cmd = cargo();
    cmd.args(["test", "--no-run", "--message-format=json"]);
    for p in packages {
        cmd.args(["-p", p]);
    }
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .context("could not run cargo test --no-run")?;
    if !out.status.success() {
        bail!("cargo test --no-run failed: {}", out.status);
    }
    let mut exes = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["reason"] == "compiler-artifact" && v["profile"]["test"] == true {
            if let Some(exe) = v["executable"].as_str() {
                exes.push(PathBuf::from(exe));
            }
        }
    }
    if exes.is_empty() {
        bail!("no test binaries were built for {packages:?}");
    }
    Ok(exes)
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let opts = parse(args)?;
    let exes = build(&opts.packages)?;
    let dir = workspace_root().join("target/stress");
    std::fs::create_dir_all(&dir)?;
    let name = |e: &PathBuf| {
        e.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    eprintln!(
        "stress: {} runs of {} test binaries of {:?}",
        opts.runs,
        exes.len(),
        opts.packages
    );
    let start = Instant::now();
    let mut failures = vec![0usize; exes.len()];
    let mut failed_runs = 0;
    for run in 1..=opts.runs {
        let mut ok = true;
        for (i, exe) in exes.iter().enumerate() {
            let out = Command::new(exe)
                .current_dir(workspace_root())
                .output()
                .with_context(|| format!("could not run {}", exe.display()))?;
            if !out.status.success() {
                ok = false;
                failures[i] += 1;
                let f = dir.join(format!("{}-run{run}.log", name(exe)));
                let mut text = out.stdout;
                text.extend_from_slice(&out.stderr);
                std::fs::write(&f, text)?;
                eprintln!(
                    "stress: run {run}: {} failed ({}), output in {}",
                    name(exe),
                    out.status,
                    f.display()
                );
            }
        }
        if !ok {
            failed_runs += 1;
        }
        if run % 100 == 0 || run == opts.runs {
            eprintln!(
                "stress: {run}/{} runs, {failed_runs} failed ({})",
                opts.runs,
                secs(start.elapsed())
            );
        }
    }
    for (exe, f) in exes.iter().zip(&failures) {
        eprintln!("  {f:>5} failures  {}", name(exe));
    }
    if failed_runs > 0 {
        bail!("{failed_runs} of {} runs failed", opts.runs);
    }
    eprintln!("stress: all {} runs passed", opts.runs);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let a = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse(&[]).unwrap(),
            Opts {
                runs: 1000,
                packages: vec!["ykrt".into()]
            }
        );
        assert_eq!(
            parse(&a(&["--runs", "5", "-p", "ykrt", "-p", "ykcapi"])).unwrap(),
            Opts {
                runs: 5,
                packages: vec!["ykrt".into(), "ykcapi".into()]
            }
        );
        assert!(parse(&a(&["--runs", "0"])).is_err());
        assert!(parse(&a(&["--bogus"])).is_err());
    }
}
