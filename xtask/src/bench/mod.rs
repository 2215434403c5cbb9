//! `cargo xtask bench`: run the Lua benchmark suite on several VMs with multiple process
//! executions × in-process iterations, classify each execution's warm-up by changepoint
//! analysis, and write a Markdown report with SVG plots.
//!
//! The pieces: [`suite`] (which benchmarks), [`vm`] (which binaries), [`runner`] (one process
//! execution), [`changepoint`] and [`stats`] (the analysis), [`analysis`] (per-benchmark
//! results), [`report`] and [`plots`] (the output).

mod analysis;
mod changepoint;
mod jitstats;
pub mod nojit;
mod plots;
mod report;
mod runner;
mod stats;
mod suite;
mod vm;

use anyhow::{bail, Context, Result};
use std::{
    collections::BTreeMap,
    io::Write as _,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

/// The usage text of `cargo xtask bench`.
pub const USAGE: &str = "\
  bench [--quick] [--runs N] [--iters M] [--bench NAME]... [--out DIR] [--strict]
        [--lua PATH] [--yklua PATH] [--luajit PATH] [--suite DIR] [--timeout SECS]
                              run the Lua benchmarks (interps/lua/bench) on lua, yklua,
                              yklua with YK_JITC=none and luajit (if installed): N process
                              executions x M in-process iterations each (default 5 x 40;
                              --quick: 2 x 8 at small sizes); writes DIR/report.md
                              (default target/bench) with plots; --strict fails if lua or
                              yklua is missing instead of skipping it";

/// The options of `cargo xtask bench`.
#[derive(Clone, Debug, PartialEq)]
struct Opts {
    quick: bool,
    runs: usize,
    iters: usize,
    benches: Vec<String>,
    out: PathBuf,
    strict: bool,
    paths: vm::Paths,
    suite: PathBuf,
    timeout: Duration,
}

fn parse_opts(args: &[String], root: &Path) -> Result<Opts> {
    let mut quick = false;
    let (mut runs, mut iters, mut timeout) = (None, None, None);
    let mut o = Opts {
        quick: false,
        runs: 0,
        iters: 0,
        benches: Vec::new(),
        out: root.join("target/bench"),
        strict: false,
        paths: vm::Paths::default(),
        suite: root.join("interps/lua/bench"),
        timeout: Duration::ZERO,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |what: &str| {
            it.next()
                .with_context(|| format!("{a} needs {what}\nusage:\n{USAGE}"))
        };
        let positive = |s: &String| -> Result<usize> {
            match s.parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => bail!("{a} must be a positive integer, got {s:?}"),
            }
        };
        match a.as_str() {
            "--quick" => quick = true,
            "--strict" => o.strict = true,
            "--runs" => runs = Some(positive(value("a number")?)?),
            "--iters" => iters = Some(positive(value("a number")?)?),
            "--timeout" => timeout = Some(positive(value("a number of seconds")?)?),
            "--bench" => o.benches.push(value("a benchmark name")?.clone()),
            "--out" => o.out = PathBuf::from(value("a directory")?),
            "--suite" => o.suite = PathBuf::from(value("a directory")?),
            "--lua" => o.paths.lua = Some(value("a path")?.into()),
            "--yklua" => o.paths.yklua = Some(value("a path")?.into()),
            "--luajit" => o.paths.luajit = Some(value("a path")?.into()),
            _ => bail!("unknown bench argument {a:?}\nusage:\n{USAGE}"),
        }
    }
    o.quick = quick;
    // Defaults: about 7 minutes for the whole suite on 3 VMs on a 2-core machine; --quick a
    // few seconds in all.
    o.runs = runs.unwrap_or(if quick { 2 } else { 5 });
    o.iters = iters.unwrap_or(if quick { 8 } else { 40 });
    o.timeout = Duration::from_secs(timeout.unwrap_or(if quick { 60 } else { 600 }) as u64);
    Ok(o)
}

/// `cargo xtask bench ARGS`, with `root` the workspace root.
pub fn run(args: &[String], root: &Path) -> Result<()> {
    let opts = parse_opts(args, root)?;
    let all = suite::load(&opts.suite)?;
    let benches: Vec<suite::Benchmark> = if opts.benches.is_empty() {
        all
    } else {
        let mut v = Vec::new();
        for name in &opts.benches {
            match all.iter().find(|b| &b.name == name) {
                Some(b) => v.push(b.clone()),
                None => bail!(
                    "no benchmark {name:?}; the suite has: {}",
                    all.iter()
                        .map(|b| b.name.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            }
        }
        v
    };
    let (vms, skipped) = vm::discover(root, &opts.paths);
    for note in &skipped {
        eprintln!("bench: {note}");
    }
    if opts.strict {
        for needed in ["lua", "yklua"] {
            if !vms.iter().any(|v| v.key == needed) {
                bail!("--strict: {needed} is missing");
            }
        }
    }
    if vms.is_empty() {
        bail!("no VM to benchmark: {}", skipped.join("; "));
    }
    let stats_dir = opts.out.join("stats");
    let plot_dir = opts.out.join("plots");
    for d in [&opts.out, &stats_dir, &plot_dir] {
        std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
    }

    let start = Instant::now();
    let total = benches.len() * opts.runs * vms.len();
    let mut done = 0;
    let mut failures: Vec<String> = Vec::new();
    // execs[bench][vm key]
    let mut execs: BTreeMap<String, BTreeMap<&'static str, Vec<runner::Execution>>> =
        BTreeMap::new();
    let mut raw = String::from("benchmark,vm,execution,iteration,seconds\n");
    for b in &benches {
        let size = if opts.quick { b.quick_size } else { b.size };
        let mut failed_vms: Vec<&str> = Vec::new();
        for run in 1..=opts.runs {
            // Interleave the VMs so that they share any drift in machine load.
            for vm in &vms {
                done += 1;
                if failed_vms.contains(&vm.key) {
                    continue;
                }
                eprint!(
                    "[{done}/{total} {:.0}s] {} on {} (execution {run}/{}) ... ",
                    start.elapsed().as_secs_f64(),
                    b.name,
                    vm.label,
                    opts.runs
                );
                let _ = std::io::stderr().flush();
                let stats_file = stats_dir.join(format!("{}-{}-{run}.json", b.name, vm.key));
                match runner::execute(vm, b, opts.iters, size, opts.timeout, &stats_file) {
                    Ok(e) => {
                        let med = stats::median(&e.times).unwrap_or(0.0);
                        eprintln!("{:.2}s, median iteration {:.2} ms", e.wall, med * 1e3);
                        for (i, t) in e.times.iter().enumerate() {
                            raw.push_str(&format!("{},{},{run},{},{t}\n", b.name, vm.key, i + 1));
                        }
                        execs
                            .entry(b.name.clone())
                            .or_default()
                            .entry(vm.key)
                            .or_default()
                            .push(e);
                    }
                    Err(e) => {
                        eprintln!("FAILED");
                        eprintln!("{e:#}");
                        failures.push(format!("{} on {}: {e:#}", b.name, vm.label));
                        failed_vms.push(vm.key);
                    }
                }
            }
        }
        // A failed VM's partial results would bias its numbers: drop them.
        if let Some(row) = execs.get_mut(&b.name) {
            row.retain(|k, _| !failed_vms.contains(k));
        }
        if let Some(msg) = execs.get(&b.name).and_then(checksum_mismatch) {
            eprintln!("bench: {}: {msg}", b.name);
            failures.push(format!("{}: {msg}", b.name));
            execs.remove(&b.name);
        }
    }

    // Analysis. A fixed seed keeps reports of the same data identical.
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let mut results = analysis::Results {
        benches: benches.iter().map(|b| b.name.clone()).collect(),
        vms: vms.iter().map(|v| (v.key, v.label)).collect(),
        cells: BTreeMap::new(),
    };
    for (b, row) in execs {
        let cells = row
            .into_iter()
            .map(|(k, e)| (k, analysis::Cell::new(e, &mut rng)))
            .collect();
        results.cells.insert(b, cells);
    }
    results.compute_ratios(vm::BASELINE);

    // Output.
    std::fs::write(opts.out.join("raw.csv"), raw).context("writing raw.csv")?;
    for b in &results.benches {
        if results.cells.get(b).is_some_and(|r| !r.is_empty()) {
            plots::warmup(&results, b, &plot_dir.join(format!("warmup-{b}.svg")))?;
        }
    }
    plots::ratios(&results, vm::BASELINE, &plot_dir.join("ratios.svg"))?;
    let compile_times: Vec<f64> = results
        .cells
        .values()
        .flat_map(|r| r.values())
        .flat_map(|c| &c.execs)
        .filter_map(|e| e.stats.as_ref()?.compile_times.as_ref())
        .flatten()
        .copied()
        .collect();
    plots::compile_times(&compile_times, &plot_dir.join("compile-times.svg"))?;
    let info = report::RunInfo {
        command: std::iter::once("cargo xtask bench".to_owned())
            .chain(args.iter().cloned())
            .collect::<Vec<_>>()
            .join(" "),
        runs: opts.runs,
        iters: opts.iters,
        quick: opts.quick,
        vms: &vms,
        skipped: &skipped,
        failures: &failures,
        elapsed: start.elapsed().as_secs_f64(),
        sizes: benches
            .iter()
            .map(|b| {
                (
                    b.name.clone(),
                    if opts.quick { b.quick_size } else { b.size },
                )
            })
            .collect(),
    };
    let report_path = opts.out.join("report.md");
    std::fs::write(&report_path, report::render(&info, &results, vm::BASELINE))
        .with_context(|| format!("writing {}", report_path.display()))?;
    eprintln!(
        "bench: wrote {} (plots in {}) in {:.0}s",
        report_path.display(),
        plot_dir.display(),
        start.elapsed().as_secs_f64()
    );
    if !failures.is_empty() {
        bail!("{} failure(s):\n{}", failures.len(), failures.join("\n"));
    }
    Ok(())
}

/// A description of the disagreement if the executions of one benchmark (on all VMs) did
/// not all print the same checksum.
fn checksum_mismatch(row: &BTreeMap<&'static str, Vec<runner::Execution>>) -> Option<String> {
    let mut seen: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (vm, execs) in row {
        for (i, e) in execs.iter().enumerate() {
            seen.entry(&e.checksum)
                .or_default()
                .push(format!("{vm} execution {}", i + 1));
        }
    }
    (seen.len() > 1).then(|| {
        let parts: Vec<String> = seen
            .iter()
            .map(|(c, who)| format!("{c:?} from {}", who.join(", ")))
            .collect();
        format!("checksums differ: {}", parts.join("; "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn options_and_defaults() {
        let root = Path::new("/r");
        let o = parse_opts(&[], root).unwrap();
        assert_eq!((o.quick, o.runs, o.iters), (false, 5, 40));
        assert_eq!(o.out, Path::new("/r/target/bench"));
        let q = parse_opts(&args("--quick"), root).unwrap();
        assert_eq!((q.quick, q.runs, q.iters), (true, 2, 8));
        let o = parse_opts(
            &args("--quick --runs 3 --iters 9 --bench a --bench b --out /o --lua /l --strict"),
            root,
        )
        .unwrap();
        assert_eq!((o.runs, o.iters), (3, 9));
        assert_eq!(o.benches, ["a", "b"]);
        assert_eq!(o.out, Path::new("/o"));
        assert_eq!(o.paths.lua.as_deref(), Some(Path::new("/l")));
        assert!(o.strict);
        for bad in ["--runs 0", "--runs x", "--iters", "--bogus", "--timeout -1"] {
            assert!(parse_opts(&args(bad), root).is_err(), "{bad}");
        }
    }

    #[test]
    fn checksums_must_agree() {
        let e = |c: &str| runner::Execution {
            times: vec![0.1],
            checksum: c.into(),
            wall: 0.1,
            stats: None,
        };
        let mut row = BTreeMap::new();
        row.insert("lua", vec![e("1"), e("1")]);
        row.insert("yklua", vec![e("1")]);
        assert_eq!(checksum_mismatch(&row), None);
        row.insert("luajit", vec![e("2")]);
        let msg = checksum_mismatch(&row).unwrap();
        assert!(msg.contains("\"2\" from luajit execution 1"), "{msg}");
    }
}
