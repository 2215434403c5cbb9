//! From raw process executions to the numbers a report shows: per benchmark and VM the
//! steady-state median with its interval, the first iteration, the ratio to the baseline,
//! the warm-up classifications; across benchmarks the geometric means.

use super::{
    changepoint::{self, Analysis, Class},
    runner::Execution,
    stats::{self, Estimate},
};
use std::collections::BTreeMap;

/// Everything measured and derived for one benchmark on one VM.
#[derive(Clone, Debug)]
pub struct Cell {
    /// The process executions, in the order they ran.
    pub execs: Vec<Execution>,
    /// The changepoint analysis of each execution.
    pub analyses: Vec<Analysis>,
    /// The steady-state median iteration time (seconds) and its interval.
    pub steady: Option<Estimate>,
    /// The bootstrap distribution behind `steady`.
    pub steady_dist: Vec<f64>,
    /// The median over executions of the first iteration's time.
    pub first: Option<f64>,
    /// The median over executions (with a steady state) of the first steady iteration
    /// (1-based).
    pub steady_iter: Option<f64>,
    /// Whether any execution had no steady state (its last quarter stands in for it).
    pub has_no_steady: bool,
    /// The ratio of `steady` to the baseline's, with its interval.
    pub ratio: Option<Estimate>,
    /// The bootstrap distribution behind `ratio`.
    pub ratio_dist: Vec<f64>,
}

impl Cell {
    /// Analyse `execs` (at least one).
    pub fn new(execs: Vec<Execution>, rng: &mut fastrand::Rng) -> Cell {
        let analyses: Vec<Analysis> = execs
            .iter()
            .map(|e| changepoint::analyse(&e.times))
            .collect();
        let groups: Vec<Vec<f64>> = execs
            .iter()
            .zip(&analyses)
            .map(|(e, a)| a.steady_times(&e.times))
            .collect();
        let (steady, steady_dist) = match stats::median_with_ci(&groups, rng) {
            Some((e, d)) => (Some(e), d),
            None => (None, Vec::new()),
        };
        let firsts: Vec<f64> = execs
            .iter()
            .filter_map(|e| e.times.first().copied())
            .collect();
        let starts: Vec<f64> = analyses
            .iter()
            .filter_map(|a| a.steady_start().map(|s| (s + 1) as f64))
            .collect();
        Cell {
            has_no_steady: analyses.iter().any(|a| a.class == Class::NoSteadyState),
            execs,
            analyses,
            steady,
            steady_dist,
            first: stats::median(&firsts),
            steady_iter: stats::median(&starts),
            ratio: None,
            ratio_dist: Vec::new(),
        }
    }

    /// How many executions fell in each class, in [`Class::ALL`] order, zeros left out.
    pub fn class_counts(&self) -> Vec<(Class, usize)> {
        Class::ALL
            .iter()
            .map(|&c| (c, self.analyses.iter().filter(|a| a.class == c).count()))
            .filter(|&(_, n)| n > 0)
            .collect()
    }
}

/// All results: `cells[benchmark][vm key]`, plus the order of benchmarks and VMs.
#[derive(Clone, Debug, Default)]
pub struct Results {
    /// Benchmark names in suite order.
    pub benches: Vec<String>,
    /// VM keys and labels in run order.
    pub vms: Vec<(&'static str, &'static str)>,
    /// The cells.
    pub cells: BTreeMap<String, BTreeMap<&'static str, Cell>>,
}

impl Results {
    /// The cell for `bench` on `vm`, if it ran successfully.
    pub fn cell(&self, bench: &str, vm: &str) -> Option<&Cell> {
        self.cells.get(bench)?.get(vm)
    }

    /// Fill in each cell's ratio to the `baseline` VM's cell for the same benchmark.
    pub fn compute_ratios(&mut self, baseline: &str) {
        for row in self.cells.values_mut() {
            let Some(base) = row.get(baseline).cloned() else {
                continue;
            };
            let Some(b) = base.steady else { continue };
            for cell in row.values_mut() {
                if let Some(s) = cell.steady {
                    if let Some((r, d)) = stats::ratio_with_ci(
                        (s.value, &cell.steady_dist),
                        (b.value, &base.steady_dist),
                    ) {
                        cell.ratio = Some(r);
                        cell.ratio_dist = d;
                    }
                }
            }
        }
    }

    /// The geometric mean over benchmarks of `vm`'s ratio to the baseline, over the
    /// benchmarks where it has one, and how many those are.
    pub fn geomean_ratio(&self, vm: &str) -> Option<(Estimate, usize)> {
        let ratios: Vec<(f64, &[f64])> = self
            .benches
            .iter()
            .filter_map(|b| self.cell(b, vm))
            .filter_map(|c| c.ratio.map(|r| (r.value, c.ratio_dist.as_slice())))
            .collect();
        stats::geomean_with_ci(&ratios).map(|e| (e, ratios.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(times: Vec<f64>) -> Execution {
        Execution {
            times,
            checksum: "1".into(),
            wall: 1.0,
            stats: None,
        }
    }

    #[test]
    fn cells_ratios_and_geomean() {
        let mut rng = fastrand::Rng::with_seed(5);
        let mut r = Results {
            benches: vec!["a".into(), "b".into()],
            vms: vec![("lua", "lua"), ("fast", "fast")],
            ..Results::default()
        };
        for (bench, base_t, fast_t) in [("a", 0.1, 0.05), ("b", 0.2, 0.4)] {
            let mut row = BTreeMap::new();
            let base: Vec<Execution> = (0..3).map(|_| exec(vec![base_t; 20])).collect();
            // The fast VM warms up: two slow iterations then its steady state.
            let fast: Vec<Execution> = (0..3)
                .map(|_| {
                    let mut t = vec![fast_t * 10.0; 4];
                    t.extend(vec![fast_t; 36]);
                    exec(t)
                })
                .collect();
            row.insert("lua", Cell::new(base, &mut rng));
            row.insert("fast", Cell::new(fast, &mut rng));
            r.cells.insert(bench.into(), row);
        }
        r.compute_ratios("lua");
        let a = r.cell("a", "fast").unwrap();
        assert_eq!(a.ratio.unwrap().value, 0.5);
        assert_eq!(a.first, Some(0.5));
        assert_eq!(a.steady_iter, Some(5.0));
        assert_eq!(a.class_counts(), vec![(Class::Warmup, 3)]);
        assert_eq!(r.cell("b", "fast").unwrap().ratio.unwrap().value, 2.0);
        assert_eq!(r.cell("a", "lua").unwrap().ratio.unwrap().value, 1.0);
        let (g, n) = r.geomean_ratio("fast").unwrap();
        assert_eq!(n, 2);
        assert!((g.value - 1.0).abs() < 1e-12);
    }
}
