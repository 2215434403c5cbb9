//! `cargo xtask bench-memory [--chunks N] [--iters N] [--debug] [--check]`: the
//! bounded-memory benchmark of issue 18.
//!
//! Builds the Lua interpreters (release toolchain unless `--debug`) and runs
//! `interps/lua/bench/memory/load_loops.lua`, which loads N new chunks (default
//! 5,000), each with a hot loop of its own, runs each once, drops it and
//! collects garbage, printing the resident set size after 100 chunks and after
//! the last. It runs under the plain `lua`, and under `yklua` twice: with
//! background compilation and with `YKD_SERIALISE_COMPILATION=1`, both with
//! `YK_COMPILE_BUDGET=0` so that every chunk's loop is traced (with background
//! compilation most chunks are run and dropped before their trace is compiled, and
//! a recording whose location was dropped is not compiled: that run shows the queue
//! doesn't hold on to memory; the serialised run compiles and runs every
//! chunk's trace and side traces). It prints each
//! run's figures; `--check` fails when a yklua run's final RSS is more than 1.5
//! times its RSS after 100 chunks, or when fewer traces were freed than
//! compiled (but for the last chunk's).

use std::{collections::BTreeMap, process::Command};

use anyhow::{bail, Context, Result};

use crate::{lua, workspace_root};

pub(crate) const USAGE: &str = "  bench-memory [--chunks N] [--iters N] [--debug] [--check]
                              RSS after 100 and after N (default 5000) loaded chunks
                              with hot loops, under lua and yklua (issue 18)";

/// The largest ratio of the final RSS to the RSS after 100 chunks `--check` accepts.
const MAX_RATIO: f64 = 1.5;

#[derive(Debug, PartialEq, Eq)]
struct Opts {
    chunks: u64,
    iters: u64,
    release: bool,
    check: bool,
}

fn parse(args: &[String]) -> Result<Opts> {
    let mut opts = Opts {
        chunks: 5000,
        iters: 1000,
        release: true,
        check: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut number = |what: &str| -> Result<u64> {
            let v = it
                .next()
                .with_context(|| format!("{what} needs a number"))?;
            v.parse()
                .ok()
                .filter(|&n| n > 0)
                .with_context(|| format!("{what} {v:?}: not a positive number"))
        };
        match a.as_str() {
            "--chunks" => opts.chunks = number("--chunks")?,
            "--iters" => opts.iters = number("--iters")?,
            "--debug" => opts.release = false,
            "--check" => opts.check = true,
            _ => bail!("unknown bench-memory argument {a:?}\n{USAGE}"),
        }
    }
    if opts.chunks <= 100 {
        bail!("--chunks must be more than 100 (the first figure is taken after 100)");
    }
    Ok(opts)
}

/// The `name value` lines the script prints.
fn figures(out: &str) -> BTreeMap<String, f64> {
    out.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_owned(), v.trim().parse().ok()?))
        })
        .collect()
}

/// One interpreter run of the benchmark.
struct Run<'a> {
    name: &'static str,
    exe: &'a std::path::Path,
    env: Vec<(&'static str, &'static str)>,
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let opts = parse(args)?;
    let bins = lua::build(&lua::BuildOpts {
        release: opts.release,
    })?;
    let script = workspace_root().join("interps/lua/bench/memory/load_loops.lua");
    let budget_off = ("YK_COMPILE_BUDGET", "0");
    let serialised = ("YKD_SERIALISE_COMPILATION", "1");
    let runs = [
        Run {
            name: "lua",
            exe: &bins.lua,
            env: vec![],
        },
        Run {
            name: "yklua",
            exe: &bins.yklua,
            env: vec![budget_off],
        },
        Run {
            name: "yklua (serialised)",
            exe: &bins.yklua,
            env: vec![budget_off, serialised],
        },
    ];
    let after = format!("rss_kb_after_{}", opts.chunks);
    let mut failed = Vec::new();
    for Run { name, exe, env } in runs {
        let t0 = std::time::Instant::now();
        let out = Command::new(exe)
            .arg(&script)
            .arg(opts.chunks.to_string())
            .arg(opts.iters.to_string())
            .envs(env.iter().copied())
            .output()
            .with_context(|| format!("running {}", exe.display()))?;
        if !out.status.success() {
            bail!(
                "{name} failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let f = figures(&String::from_utf8_lossy(&out.stdout));
        let get = |k: &str| f.get(k).copied().unwrap_or(-1.0);
        let (first, last) = (get("rss_kb_after_100"), get(&after));
        let ratio = last / first;
        print!(
            "{name:<20} RSS after 100 chunks {:>8.0} KiB, after {} {:>8.0} KiB, ratio {ratio:.2} ({:.1}s)",
            first,
            opts.chunks,
            last,
            t0.elapsed().as_secs_f64()
        );
        if f.contains_key("traces_compiled_ok") {
            let (compiled, freed) = (get("traces_compiled_ok"), get("traces_freed"));
            print!(
                "; traces compiled {compiled}, side traces {}, freed {freed}",
                get("side_traces_compiled")
            );
            if opts.check && freed + 1.0 < compiled {
                failed.push(format!("{name}: {compiled} traces compiled, {freed} freed"));
            }
            if opts.check && !(first > 0.0 && ratio <= MAX_RATIO) {
                failed.push(format!("{name}: RSS ratio {ratio:.2} > {MAX_RATIO}"));
            }
        }
        println!();
    }
    if !failed.is_empty() {
        bail!("bench-memory --check: {}", failed.join("; "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options() {
        assert_eq!(
            parse(&[]).unwrap(),
            Opts {
                chunks: 5000,
                iters: 1000,
                release: true,
                check: false
            }
        );
        assert_eq!(
            parse(&s(&[
                "--chunks", "300", "--debug", "--check", "--iters", "50"
            ]))
            .unwrap(),
            Opts {
                chunks: 300,
                iters: 50,
                release: false,
                check: true
            }
        );
        assert!(parse(&s(&["--chunks", "100"])).is_err());
        assert!(parse(&s(&["--chunks"])).is_err());
        assert!(parse(&s(&["--bogus"])).is_err());
    }

    #[test]
    fn figures_are_parsed() {
        let f = figures("checksum 12\nrss_kb_after_100 2048\nrss_ratio 1.25\nnoise\n");
        assert_eq!(f["rss_kb_after_100"], 2048.0);
        assert_eq!(f["rss_ratio"], 1.25);
        assert!(!f.contains_key("noise"));
    }
}
