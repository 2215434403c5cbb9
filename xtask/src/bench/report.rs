//! The Markdown report.

use super::{
    analysis::{Cell, Results},
    changepoint::Class,
    jitstats::JitStats,
    stats::{self, Estimate},
    vm::Vm,
};
use std::fmt::Write as _;

/// What the report says about how the run was made.
pub struct RunInfo<'a> {
    /// The command line, for reproducing the run.
    pub command: String,
    /// Process executions per benchmark per VM.
    pub runs: usize,
    /// In-process iterations per execution.
    pub iters: usize,
    /// Whether the quick sizes were used.
    pub quick: bool,
    /// The VMs that ran.
    pub vms: &'a [Vm],
    /// Notes on VMs that were skipped.
    pub skipped: &'a [String],
    /// Failures (crashes, bad output, checksum mismatches), one line each.
    pub failures: &'a [String],
    /// Wall-clock seconds the whole run took.
    pub elapsed: f64,
    /// Benchmark sizes used, in suite order.
    pub sizes: Vec<(String, u64)>,
}

/// A time in seconds as milliseconds with sensible precision.
fn ms(t: f64) -> String {
    let m = t * 1e3;
    if m >= 100.0 {
        format!("{m:.1}")
    } else if m >= 1.0 {
        format!("{m:.2}")
    } else {
        format!("{m:.3}")
    }
}

fn est_ms(e: &Estimate) -> String {
    format!("{} ({}–{})", ms(e.value), ms(e.lo), ms(e.hi))
}

fn est_ratio(e: &Estimate) -> String {
    format!("{:.3} ({:.3}–{:.3})", e.value, e.lo, e.hi)
}

fn or_na(v: Option<String>) -> String {
    v.unwrap_or_else(|| "n/a".into())
}

fn classes(c: &Cell) -> String {
    c.class_counts()
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The mean over executions of a per-execution statistic, `None` if any execution lacks it.
fn mean_of(stats: &[&JitStats], f: impl Fn(&JitStats) -> Option<f64>) -> Option<f64> {
    let v: Option<Vec<f64>> = stats.iter().map(|s| f(s)).collect();
    stats::mean(&v?)
}

/// Render the report. Plots are referenced relative to the report's directory.
pub fn render(info: &RunInfo, results: &Results, baseline: &str) -> String {
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "# Benchmark report\n");
    let _ = writeln!(
        w,
        "`{}`: {} process execution(s) × {} in-process iteration(s) per benchmark per VM{}, \
         {:.0} s in all.\n",
        info.command,
        info.runs,
        info.iters,
        if info.quick {
            " with the quick sizes (a smoke run: too short for conclusions)"
        } else {
            ""
        },
        info.elapsed
    );
    let _ = writeln!(w, "VMs:\n");
    for vm in info.vms {
        let env: Vec<String> = vm
            .env
            .iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
            .collect();
        let _ = writeln!(
            w,
            "- **{}**: `{}`{}",
            vm.label,
            vm.path.display(),
            if env.is_empty() {
                String::new()
            } else {
                format!(" with `{}`", env.join(" "))
            }
        );
    }
    for note in info.skipped {
        let _ = writeln!(w, "- {note}");
    }
    let _ = writeln!(w);
    if !info.failures.is_empty() {
        let _ = writeln!(w, "## Failures\n");
        for f in info.failures {
            let _ = writeln!(w, "- {}", f.replace('\n', "\n  "));
        }
        let _ = writeln!(w);
    }

    summary(w, results, baseline);
    main_table(w, results, baseline);
    let _ = writeln!(w, "![ratios](plots/ratios.svg)\n");
    jit_tables(w, results);
    let _ = writeln!(w, "## Warm-up curves\n");
    let _ = writeln!(
        w,
        "Every process execution's in-process iteration times, one colour per VM.\n"
    );
    for b in &results.benches {
        if results.cells.get(b).is_some_and(|r| !r.is_empty()) {
            let _ = writeln!(w, "![{b}](plots/warmup-{b}.svg)\n");
        }
    }
    let _ = writeln!(w, "## Sizes\n");
    let sizes: Vec<String> = info.sizes.iter().map(|(b, n)| format!("{b} {n}")).collect();
    let _ = writeln!(w, "{}\n", sizes.join(", "));
    method(w);
    s
}

fn summary(w: &mut String, results: &Results, baseline: &str) {
    let _ = writeln!(w, "## Summary\n");
    if !results.vms.iter().any(|(k, _)| *k == baseline) {
        let _ = writeln!(w, "No `{baseline}` baseline ran, so there are no ratios.\n");
    }
    for (key, label) in &results.vms {
        if *key == baseline {
            continue;
        }
        let Some((g, n)) = results.geomean_ratio(key) else {
            continue;
        };
        let what = if *key == "yklua-nojit" {
            format!(
                " — the instrumentation's cost with the JIT off: {:+.1}% ({:+.1}% to {:+.1}%)",
                (g.value - 1.0) * 100.0,
                (g.lo - 1.0) * 100.0,
                (g.hi - 1.0) * 100.0
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            w,
            "- **{label}** / {baseline}, geometric mean over {n} benchmarks: {} \
             (speed-up {:.2}×){what}",
            est_ratio(&g),
            1.0 / g.value
        );
        let worst = results
            .benches
            .iter()
            .filter_map(|b| Some((b, results.cell(b, key)?.ratio?)))
            .max_by(|a, b| a.1.value.total_cmp(&b.1.value));
        if let Some((b, r)) = worst {
            let _ = writeln!(w, "  - worst: {b} at {}", est_ratio(&r));
        }
    }
    let _ = writeln!(w, "\nWarm-up classifications of all process executions:\n");
    let _ = writeln!(w, "| VM | flat | warm-up | slowdown | no steady state |");
    let _ = writeln!(w, "|---|---:|---:|---:|---:|");
    for (key, label) in &results.vms {
        let mut counts = [0usize; 4];
        for b in &results.benches {
            if let Some(c) = results.cell(b, key) {
                for a in &c.analyses {
                    counts[Class::ALL.iter().position(|k| *k == a.class).unwrap()] += 1;
                }
            }
        }
        let _ = writeln!(
            w,
            "| {label} | {} | {} | {} | {} |",
            counts[0], counts[1], counts[2], counts[3]
        );
    }
    let all_compile: Vec<f64> = all_compile_times(results);
    let _ = writeln!(
        w,
        "\nMedian per-trace compile time (every compile attempt) over all benchmarks: {}.\n",
        match stats::median(&all_compile) {
            Some(m) => format!("{} ms ({} attempts)", ms(m), all_compile.len()),
            None => "n/a (no compile times in the JIT stats)".into(),
        }
    );
}

fn all_compile_times(results: &Results) -> Vec<f64> {
    results
        .cells
        .values()
        .flat_map(|row| row.values())
        .flat_map(|c| &c.execs)
        .filter_map(|e| e.stats.as_ref()?.compile_times.as_ref())
        .flatten()
        .copied()
        .collect()
}

fn main_table(w: &mut String, results: &Results, baseline: &str) {
    let _ = writeln!(w, "## Per benchmark\n");
    let _ = writeln!(
        w,
        "Times in ms per in-process iteration; intervals are 95% bootstrap intervals. Ratio is \
         steady-state time / {baseline}'s (below 1 is faster). † marks a VM with an execution \
         that reached no steady state: its last quarter of iterations stands in.\n"
    );
    let _ = writeln!(
        w,
        "| benchmark | VM | steady-state median | ratio to {baseline} | first iteration | \
         steady from iteration | classifications |"
    );
    let _ = writeln!(w, "|---|---|---:|---:|---:|---:|---|");
    for b in &results.benches {
        for (key, label) in &results.vms {
            let Some(c) = results.cell(b, key) else {
                continue;
            };
            let _ = writeln!(
                w,
                "| {b} | {label} | {}{} | {} | {} | {} | {} |",
                or_na(c.steady.as_ref().map(est_ms)),
                if c.has_no_steady { " †" } else { "" },
                or_na(c.ratio.as_ref().map(est_ratio)),
                or_na(c.first.map(ms)),
                or_na(c.steady_iter.map(|i| format!("{i:.0}"))),
                classes(c)
            );
        }
    }
    let _ = writeln!(w);
}

fn jit_tables(w: &mut String, results: &Results) {
    let jit_vms: Vec<&(&str, &str)> = results
        .vms
        .iter()
        .filter(|(k, _)| {
            results
                .cells
                .values()
                .filter_map(|r| r.get(k))
                .any(|c| c.execs.iter().any(|e| e.stats.is_some()))
        })
        .collect();
    if jit_vms.is_empty() {
        return;
    }
    let _ = writeln!(w, "## JIT statistics\n");
    let _ = writeln!(
        w,
        "From `YKD_LOG_STATS`, as a mean per process execution. \"JIT share\" is tracing + \
         compiling + deoptimising time over the process's wall-clock time (compilation runs \
         on a separate thread, so it can overlap the interpreter). n/a: the runtime does not \
         report that field.\n"
    );
    for (key, label) in jit_vms {
        let _ = writeln!(w, "### {label}\n");
        let _ = writeln!(
            w,
            "| benchmark | traces compiled | compile failures | recording aborts | guard \
             failures | tracing (ms) | compiling (ms) | deoptimising (ms) | JIT share |"
        );
        let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for b in &results.benches {
            let Some(c) = results.cell(b, key) else {
                continue;
            };
            let st: Vec<&JitStats> = c.execs.iter().filter_map(|e| e.stats.as_ref()).collect();
            if st.is_empty() {
                continue;
            }
            let count = |name: &str| {
                or_na(
                    mean_of(&st, |s| s.counter(name).map(|v| v as f64)).map(|v| format!("{v:.1}")),
                )
            };
            let dur = |name: &str| or_na(mean_of(&st, |s| s.duration(name)).map(ms));
            let share = {
                let jit: Option<Vec<f64>> = c
                    .execs
                    .iter()
                    .map(|e| {
                        let s = e.stats.as_ref()?;
                        Some(
                            (s.duration("duration_tracing")?
                                + s.duration("duration_compiling")?
                                + s.duration("duration_deopting")?)
                                / e.wall,
                        )
                    })
                    .collect();
                or_na(
                    jit.and_then(|v| stats::mean(&v))
                        .map(|f| format!("{:.1}%", f * 100.0)),
                )
            };
            let _ = writeln!(
                w,
                "| {b} | {} | {} | {} | {} | {} | {} | {} | {share} |",
                count("traces_compiled_ok"),
                count("traces_compiled_err"),
                count("traces_recorded_err"),
                count("guard_failures"),
                dur("duration_tracing"),
                dur("duration_compiling"),
                dur("duration_deopting"),
            );
        }
        let _ = writeln!(
            w,
            "\nTrace selection, as a mean per execution: trace entries, guard failures per \
             entry, recordings deferred to an inner loop, traces ending at another loop's \
             trace, and recordings and compilations given up, by kind:\n"
        );
        let _ = writeln!(
            w,
            "| benchmark | trace entries | failures per entry | deferred | linked | aborts by kind |"
        );
        let _ = writeln!(w, "|---|---:|---:|---:|---:|---|");
        for b in &results.benches {
            let Some(c) = results.cell(b, key) else {
                continue;
            };
            let st: Vec<&JitStats> = c.execs.iter().filter_map(|e| e.stats.as_ref()).collect();
            if st.is_empty() {
                continue;
            }
            let mean = |name: &str| mean_of(&st, |s| s.counter(name).map(|v| v as f64));
            let per_entry = match (mean("guard_failures"), mean("trace_executions")) {
                (Some(g), Some(e)) if e > 0.0 => Some(format!("{:.2}", g / e)),
                _ => None,
            };
            let mut kinds: Vec<(String, f64)> = Vec::new();
            for s in &st {
                for (k, n) in s.aborts.iter().flatten() {
                    match kinds.iter_mut().find(|(x, _)| x == k) {
                        Some((_, t)) => *t += *n as f64,
                        None => kinds.push((k.clone(), *n as f64)),
                    }
                }
            }
            let aborts: Vec<String> = kinds
                .iter()
                .filter(|(_, t)| *t > 0.0)
                .map(|(k, t)| format!("{k} {:.1}", t / st.len() as f64))
                .collect();
            let aborts = if st.iter().all(|s| s.aborts.is_none()) {
                "n/a".to_string()
            } else if aborts.is_empty() {
                "none".to_string()
            } else {
                aborts.join(", ")
            };
            let fmt1 = |v: Option<f64>| or_na(v.map(|v| format!("{v:.1}")));
            let _ = writeln!(
                w,
                "| {b} | {} | {} | {} | {} | {aborts} |",
                fmt1(mean("trace_executions")),
                or_na(per_entry),
                fmt1(mean("traces_deferred")),
                fmt1(mean("traces_linked")),
            );
        }
        let _ = writeln!(
            w,
            "\nPer-trace compile times (ms) over all executions: every compile attempt, \
             successful or not (the runtime times both):\n"
        );
        let _ = writeln!(
            w,
            "| benchmark | traces | min | median | 90th percentile | max |"
        );
        let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|");
        for b in &results.benches {
            let Some(c) = results.cell(b, key) else {
                continue;
            };
            let times: Option<Vec<f64>> = c
                .execs
                .iter()
                .map(|e| e.stats.as_ref()?.compile_times.clone())
                .collect::<Option<Vec<_>>>()
                .map(|v| v.concat());
            match times {
                None => {
                    let _ = writeln!(w, "| {b} | n/a | n/a | n/a | n/a | n/a |");
                }
                Some(t) if t.is_empty() => {
                    let _ = writeln!(w, "| {b} | 0 | | | | |");
                }
                Some(t) => {
                    let p = |q| ms(stats::percentile(&t, q).unwrap());
                    let _ = writeln!(
                        w,
                        "| {b} | {} | {} | {} | {} | {} |",
                        t.len(),
                        p(0.0),
                        p(50.0),
                        p(90.0),
                        p(100.0)
                    );
                }
            }
        }
        let _ = writeln!(w);
    }
    let _ = writeln!(w, "![compile times](plots/compile-times.svg)\n");
}

fn method(w: &mut String) {
    let _ = writeln!(
        w,
        "## Method\n\n\
         - Each benchmark runs as separate process executions; each execution runs the \
         benchmark's in-process iterations and times each with `os.clock()` (the process's \
         CPU time: Lua has no monotonic wall clock; it includes a JIT's background compile \
         thread). Executions of the VMs are interleaved so that drift in machine load is \
         shared.\n\
         - Each execution is analysed as in Barrett et al., \"Virtual Machine Warmup Blows Hot \
         and Cold\" (OOPSLA 2017): outliers (outside median ± 3 × (p90 − p10) of a 200-iteration \
         window, never in the first half window) are set aside; PELT finds changepoints in \
         mean and variance (normal likelihood, penalty 15 ln n); segments whose mean ± \
         standard deviation overlap the last segment's (widened to at least 1% of the fastest \
         segment's mean) are equivalent. Flat: all equivalent. Warm-up: the others are slower. \
         Slowdown: one is faster. No steady state: a non-equivalent segment ends in the last \
         quarter of the iterations.\n\
         - The steady state of an execution is its last segment's non-outlier iterations. The \
         steady-state median is the median of all executions' steady-state iterations; its \
         interval resamples executions, then iterations within them (2,000 resamples). Ratios \
         and geometric means take their intervals from the same resamples.\n\
         - Checksums are compared across all executions of a benchmark on all VMs: any \
         difference is a failure.\n"
    );
}
