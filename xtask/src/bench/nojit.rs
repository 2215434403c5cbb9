//! `cargo xtask bench-nojit`: the cost of building Lua with yk when nothing is traced, on the
//! whole benchmark suite: `yklua` with `YK_JITC=none` against the plain `lua`, side by side.
//!
//! Each benchmark runs `--runs` times on each VM, the two VMs alternating so that drift in the
//! machine's load touches both alike; an execution's time is the sum of its in-process
//! iterations' times (`os.clock()`, the process's CPU time, so start-up is not counted). The
//! table gives the median execution time of each VM and their ratio; the summary the median
//! and the largest ratio over the suite (the targets of zero-cost interpretation are a median
//! of at most 1.05 and no ratio above 1.10). Both VMs must print the same checksum.
//!
//! The table also gives the ratio of each VM's fastest single iteration (over all runs), and
//! the summary its median and largest too: on a shared machine, other load only ever adds
//! time, and it can last several executions, so that medians of a few runs still move by 0.2
//! for one program (measured on the development VM); the fastest of many iterations is the
//! least disturbed, and agrees with instruction counts.

use super::{runner, suite, vm};
use anyhow::{bail, Context, Result};
use std::{path::Path, time::Duration};

/// The usage text of `cargo xtask bench-nojit`.
pub const USAGE: &str = "\
  bench-nojit [--runs N] [--iters M] [--bench NAME]... [--lua PATH] [--yklua PATH]
                              yklua with YK_JITC=none against plain lua on every
                              benchmark of interps/lua/bench (or those named): N
                              alternating executions of each (default 5) of M in-process
                              iterations (default 3); prints the median times, their
                              ratios and the median and largest ratio, of the
                              medians and of the fastest iterations";

#[derive(Debug, PartialEq, Eq)]
struct Opts {
    runs: usize,
    iters: usize,
    benches: Vec<String>,
    paths: vm::Paths,
}

fn parse_opts(args: &[String]) -> Result<Opts> {
    let mut o = Opts {
        runs: 5,
        iters: 3,
        benches: Vec::new(),
        paths: vm::Paths::default(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .with_context(|| format!("{a} needs a value\nusage:\n{USAGE}"))
        };
        match a.as_str() {
            "--runs" | "--iters" => {
                let v = value()?;
                let n = match v.parse::<usize>() {
                    Ok(n) if n > 0 => n,
                    _ => bail!("{a} must be a positive integer, got {v:?}"),
                };
                if a == "--runs" {
                    o.runs = n;
                } else {
                    o.iters = n;
                }
            }
            "--bench" => o.benches.push(value()?.clone()),
            "--lua" => o.paths.lua = Some(value()?.into()),
            "--yklua" => o.paths.yklua = Some(value()?.into()),
            _ => bail!("unknown bench-nojit argument {a:?}\nusage:\n{USAGE}"),
        }
    }
    Ok(o)
}

/// One benchmark's row: median execution times (seconds), the fastest single iterations
/// (seconds), and their ratios.
#[derive(Debug, PartialEq)]
pub struct Row {
    pub name: String,
    pub lua: f64,
    pub yklua: f64,
    pub lua_min: f64,
    pub yklua_min: f64,
}

impl Row {
    /// yklua's median execution time over lua's.
    pub fn ratio(&self) -> f64 {
        self.yklua / self.lua
    }

    /// yklua's fastest iteration over lua's.
    pub fn min_ratio(&self) -> f64 {
        self.yklua_min / self.lua_min
    }
}

/// The median and the largest of `ratio` over `rows` (and the benchmark with the largest).
pub fn summary(rows: &[Row], ratio: fn(&Row) -> f64) -> Option<(f64, f64, &str)> {
    let worst = rows.iter().max_by(|a, b| ratio(a).total_cmp(&ratio(b)))?;
    let ratios: Vec<f64> = rows.iter().map(ratio).collect();
    Some((crate::median(&ratios), ratio(worst), worst.name.as_str()))
}

/// The table and summary as printed.
pub fn format(rows: &[Row]) -> String {
    let mut s = format!(
        "{:<16} {:>9} {:>14} {:>7} {:>10}\n",
        "benchmark", "lua (s)", "yklua-none (s)", "ratio", "fastest"
    );
    for r in rows {
        s += &format!(
            "{:<16} {:>9.4} {:>14.4} {:>7.3} {:>10.3}\n",
            r.name,
            r.lua,
            r.yklua,
            r.ratio(),
            r.min_ratio()
        );
    }
    if let Some((median, max, worst)) = summary(rows, Row::ratio) {
        s += &format!("median ratio {median:.3}, largest {max:.3} ({worst})\n");
    }
    if let Some((median, max, worst)) = summary(rows, Row::min_ratio) {
        s += &format!("fastest iterations: median ratio {median:.3}, largest {max:.3} ({worst})\n");
    }
    s
}

/// `cargo xtask bench-nojit ARGS`, with `root` the workspace root.
pub fn run(args: &[String], root: &Path) -> Result<()> {
    let opts = parse_opts(args)?;
    let all = suite::load(&root.join("interps/lua/bench"))?;
    for name in &opts.benches {
        if !all.iter().any(|b| &b.name == name) {
            bail!("no benchmark {name:?} in the suite");
        }
    }
    let (vms, skipped) = vm::discover(root, &opts.paths);
    let find = |key: &str| {
        vms.iter().find(|v| v.key == key).cloned().with_context(|| {
            format!(
                "bench-nojit needs {key}: {}\n(build both with `cargo xtask lua --release`)",
                skipped.join("; ")
            )
        })
    };
    let (lua, nojit) = (find("lua")?, find("yklua-nojit")?);
    let stats = root.join("target/bench-nojit.stats.json");
    let mut rows = Vec::new();
    for b in all
        .iter()
        .filter(|b| opts.benches.is_empty() || opts.benches.contains(&b.name))
    {
        let (mut t_lua, mut t_yk) = (Vec::new(), Vec::new());
        let (mut min_lua, mut min_yk) = (f64::INFINITY, f64::INFINITY);
        for _ in 0..opts.runs {
            let mut checksums = Vec::new();
            for (vm, times, fastest) in [
                (&lua, &mut t_lua, &mut min_lua),
                (&nojit, &mut t_yk, &mut min_yk),
            ] {
                let e =
                    runner::execute(vm, b, opts.iters, b.size, Duration::from_secs(600), &stats)
                        .with_context(|| format!("{} on {}", b.name, vm.label))?;
                times.push(e.times.iter().sum::<f64>());
                *fastest = e.times.iter().copied().fold(*fastest, f64::min);
                checksums.push(e.checksum);
            }
            if checksums[0] != checksums[1] {
                bail!(
                    "{}: lua's checksum {} differs from yklua's {}",
                    b.name,
                    checksums[0],
                    checksums[1]
                );
            }
        }
        let row = Row {
            name: b.name.clone(),
            lua: crate::median(&t_lua),
            yklua: crate::median(&t_yk),
            lua_min: min_lua,
            yklua_min: min_yk,
        };
        eprintln!(
            "{}: lua {:.4}s, yklua-none {:.4}s, ratio {:.3}, fastest iterations {:.3}",
            row.name,
            row.lua,
            row.yklua,
            row.ratio(),
            row.min_ratio()
        );
        rows.push(row);
    }
    print!("{}", format(&rows));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn options() {
        assert_eq!(
            parse_opts(&args("")).unwrap(),
            Opts {
                runs: 5,
                iters: 3,
                benches: vec![],
                paths: vm::Paths::default()
            }
        );
        let o = parse_opts(&args("--runs 9 --iters 2 --bench a --bench b --lua /l")).unwrap();
        assert_eq!((o.runs, o.iters), (9, 2));
        assert_eq!(o.benches, ["a", "b"]);
        assert_eq!(o.paths.lua.as_deref(), Some(Path::new("/l")));
        for bad in ["--runs 0", "--iters x", "--bench", "--bogus"] {
            assert!(parse_opts(&args(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn table_and_summary() {
        let row = |name: &str, lua, yklua, lua_min, yklua_min| Row {
            name: name.to_owned(),
            lua,
            yklua,
            lua_min,
            yklua_min,
        };
        let rows = [
            row("a", 1.0, 1.02, 0.1, 0.1),
            row("b", 2.0, 2.4, 0.2, 0.21),
            row("c", 0.5, 0.5, 0.05, 0.06),
        ];
        let (median, max, worst) = summary(&rows, Row::ratio).unwrap();
        assert!((median - 1.02).abs() < 1e-9);
        assert!((max - 1.2).abs() < 1e-9);
        assert_eq!(worst, "b");
        let (median, max, worst) = summary(&rows, Row::min_ratio).unwrap();
        assert!((median - 1.05).abs() < 1e-9);
        assert!((max - 1.2).abs() < 1e-9);
        assert_eq!(worst, "c");
        let text = format(&rows);
        assert!(
            text.contains("median ratio 1.020, largest 1.200 (b)"),
            "{text}"
        );
        assert!(
            text.contains("fastest iterations: median ratio 1.050, largest 1.200 (c)"),
            "{text}"
        );
        assert_eq!(text.lines().count(), 6);
        assert!(summary(&[], Row::ratio).is_none());
    }
}
