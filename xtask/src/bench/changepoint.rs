//! Warm-up classification of one process execution's in-process iteration times by
//! changepoint analysis, following the method of Barrett et al., "Virtual Machine Warmup
//! Blows Hot and Cold" (OOPSLA 2017):
//!
//! 1. Outliers are set aside ([`outliers`]): an iteration is an outlier if it lies outside
//!    median ± 3 × (90th − 10th percentile) of a window of iterations around it. Iterations in
//!    the first half window are never outliers, so that slow warm-up iterations are not
//!    mistaken for noise.
//! 2. Changepoints in the mean and variance of the remaining times are found with PELT
//!    (Killick, Fearnhead and Eckley 2012, [`pelt`]) with a normal likelihood cost and the
//!    paper's penalty of 15 ln n.
//! 3. The segments between changepoints are compared with the last segment, the candidate
//!    steady state ([`classify`]): a segment is *equivalent* to it if the two overlap, each
//!    taken as mean ± its standard deviation, the last one widened to at least ± delta.
//!    Walking back from the last segment, a non-equivalent segment that ends in the final
//!    quarter of the iterations means *no steady state*; one faster than the steady state
//!    means *slowdown*; one slower means *warm-up*; if all are equivalent the execution is
//!    *flat*.
//!
//! Where we differ from the paper, and why: the paper widens by a segment's variance in
//! seconds², which has the wrong units; we use the standard deviation. The paper's delta is
//! 1 ms for benchmarks of about a second per iteration; ours are tens of milliseconds, so
//! delta is relative: 1% of the fastest segment's mean. The paper expects a steady state
//! before the last 500 of 2,000 iterations; we scale that to the last quarter.

use std::fmt;

/// The multiple of the penalty's ln n: the paper's 15.
const PENALTY_PER_LN_N: f64 = 15.0;
/// The shortest segment PELT may create. A segment of one point has no variance.
const MIN_SEGMENT: usize = 2;
/// The outlier window: the paper's 200 iterations (fewer if the series is shorter).
const OUTLIER_WINDOW: usize = 200;
/// Segments whose means differ by less than this fraction of the fastest segment's mean are
/// not told apart (see the module doc).
const DELTA_FRACTION: f64 = 0.01;
/// The fraction of iterations at the end in which the steady state must already hold.
const STEADY_FRACTION: f64 = 0.25;

/// The classification of one process execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// No meaningful change in performance.
    Flat,
    /// Reaches a steady state faster than what came before.
    Warmup,
    /// Reaches a steady state slower than something before it.
    Slowdown,
    /// Performance still changes near the end.
    NoSteadyState,
}

impl Class {
    /// All classes, in the order reports list them.
    pub const ALL: [Class; 4] = [
        Class::Flat,
        Class::Warmup,
        Class::Slowdown,
        Class::NoSteadyState,
    ];

    /// A short label for tables.
    pub fn short(self) -> &'static str {
        match self {
            Class::Flat => "flat",
            Class::Warmup => "warm-up",
            Class::Slowdown => "slowdown",
            Class::NoSteadyState => "no steady state",
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short())
    }
}

/// A run of iterations between changepoints, over the non-outlier iterations.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    /// Index (into the whole series, outliers included) of the first iteration.
    pub start: usize,
    /// One past the index of the last iteration.
    pub end: usize,
    /// Mean of the segment's non-outlier times.
    pub mean: f64,
    /// Standard deviation of the segment's non-outlier times.
    pub sd: f64,
}

/// The analysis of one process execution.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    /// The classification.
    pub class: Class,
    /// The segments, in order; the last is the steady state unless `class` is
    /// [`Class::NoSteadyState`].
    pub segments: Vec<Segment>,
    /// Indices of the iterations set aside as outliers.
    pub outliers: Vec<usize>,
}

impl Analysis {
    /// The index of the first steady-state iteration, if there is a steady state.
    pub fn steady_start(&self) -> Option<usize> {
        (self.class != Class::NoSteadyState).then(|| self.segments.last().map_or(0, |s| s.start))
    }

    /// The times of the steady state's non-outlier iterations; for an execution with no
    /// steady state, those of the final quarter (so that such executions still have a
    /// best-effort number; reports mark them).
    pub fn steady_times(&self, times: &[f64]) -> Vec<f64> {
        let from = self
            .steady_start()
            .unwrap_or_else(|| times.len() - steady_window(times.len()));
        (from..times.len())
            .filter(|i| self.outliers.binary_search(i).is_err())
            .map(|i| times[i])
            .collect()
    }
}

/// The number of final iterations in which a steady state must already hold.
fn steady_window(n: usize) -> usize {
    ((n as f64 * STEADY_FRACTION).ceil() as usize).clamp(1, n.max(1))
}

/// Analyse and classify one process execution's iteration times (seconds, in order).
pub fn analyse(times: &[f64]) -> Analysis {
    let outliers = outliers(times);
    let kept: Vec<usize> = (0..times.len())
        .filter(|i| outliers.binary_search(i).is_err())
        .collect();
    let data: Vec<f64> = kept.iter().map(|&i| times[i]).collect();
    // Changepoints are indices into `data`; map segment bounds back to the whole series.
    let mut bounds = vec![0];
    bounds.extend(pelt(&data));
    bounds.push(data.len());
    let segments: Vec<Segment> = bounds
        .windows(2)
        .filter(|w| w[1] > w[0])
        .map(|w| {
            let seg = &data[w[0]..w[1]];
            let m = seg.iter().sum::<f64>() / seg.len() as f64;
            let var = seg.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / seg.len() as f64;
            Segment {
                start: kept[w[0]],
                end: if w[1] == data.len() {
                    times.len()
                } else {
                    kept[w[1]]
                },
                mean: m,
                sd: var.sqrt(),
            }
        })
        .collect();
    let class = classify(&segments, times.len());
    Analysis {
        class,
        segments,
        outliers,
    }
}

/// The indices (ascending) of outlier iterations (see the module doc).
pub fn outliers(times: &[f64]) -> Vec<usize> {
    let n = times.len();
    let window = OUTLIER_WINDOW.min(n);
    let half = window / 2;
    let mut out = Vec::new();
    for i in half..n {
        // The window centred on i, shifted to lie inside the series.
        let lo = i.saturating_sub(half).min(n - window);
        let mut w = times[lo..lo + window].to_vec();
        w.sort_by(f64::total_cmp);
        let med = super::stats::percentile_sorted(&w, 50.0);
        let band = 3.0
            * (super::stats::percentile_sorted(&w, 90.0)
                - super::stats::percentile_sorted(&w, 10.0));
        if (times[i] - med).abs() > band && band > 0.0 {
            out.push(i);
        }
    }
    out
}

/// Prefix sums for O(1) segment costs.
struct Cost {
    /// `s1[i]` = sum of the first i (centred) values; `s2` likewise of their squares.
    s1: Vec<f64>,
    s2: Vec<f64>,
    /// The smallest variance a segment is taken to have (see [`pelt`]).
    var_floor: f64,
}

impl Cost {
    fn new(data: &[f64]) -> Cost {
        // Centre the data so that the sums of squares do not lose the (small) variance to
        // cancellation against the (large) squared mean.
        let centre = data.iter().sum::<f64>() / data.len().max(1) as f64;
        let (mut s1, mut s2) = (vec![0.0], vec![0.0]);
        for x in data {
            let d = x - centre;
            s1.push(s1.last().unwrap() + d);
            s2.push(s2.last().unwrap() + d * d);
        }
        let scale = super::stats::median(data).unwrap_or(0.0).abs();
        // Timings are never more precise than about 0.1% (timer granularity, cache and
        // scheduling noise) nor than a microsecond (os.clock's resolution). Without a floor a
        // segment of identical timings would have zero variance and an infinitely good fit.
        let sd_floor = (scale * 1e-3).max(1e-6);
        Cost {
            s1,
            s2,
            var_floor: sd_floor * sd_floor,
        }
    }

    /// Twice the negative maximised normal log-likelihood of `data[a..b]`, fitting its own
    /// mean and variance, less the terms that are the same for every segmentation:
    /// n ln(σ²), where σ² is the maximum-likelihood variance (floored).
    fn of(&self, a: usize, b: usize) -> f64 {
        let n = (b - a) as f64;
        let sum = self.s1[b] - self.s1[a];
        let sumsq = self.s2[b] - self.s2[a];
        let var = (sumsq / n - (sum / n) * (sum / n)).max(self.var_floor);
        n * var.ln()
    }
}

/// The changepoints of `data` (ascending indices i such that a new segment starts at i),
/// by PELT with a normal mean-and-variance cost and penalty 15 ln n.
///
/// PELT computes the optimal segmentation F(t) of each prefix data[..t]:
/// F(t) = min over earlier changepoints s of F(s) + cost(s..t) + penalty, pruning any s that
/// can no longer be optimal: one with F(s) + cost(s..t) > F(t), since for a likelihood cost
/// adding a changepoint never increases the cost, so s can never beat t later on. (The
/// variance floor can break that property for segments at the floor, making the pruning
/// slightly inexact there; such segments are indistinguishable from noise anyway.)
pub fn pelt(data: &[f64]) -> Vec<usize> {
    let n = data.len();
    if n < 2 * MIN_SEGMENT {
        return Vec::new();
    }
    let cost = Cost::new(data);
    let penalty = PENALTY_PER_LN_N * (n as f64).ln();
    // f[t]: the cost of the best segmentation of data[..t]; last[t]: its last changepoint.
    let mut f = vec![f64::INFINITY; n + 1];
    let mut last = vec![0usize; n + 1];
    f[0] = -penalty;
    let mut candidates: Vec<usize> = vec![0];
    for t in MIN_SEGMENT..=n {
        // Changepoint s becomes a candidate once a minimum-length segment fits after it.
        if t >= 2 * MIN_SEGMENT {
            candidates.push(t - MIN_SEGMENT);
        }
        let mut best = (f64::INFINITY, 0);
        let mut totals = Vec::with_capacity(candidates.len());
        for &s in &candidates {
            let v = f[s] + cost.of(s, t) + penalty;
            totals.push(v);
            if v < best.0 {
                best = (v, s);
            }
        }
        f[t] = best.0;
        last[t] = best.1;
        // Prune: keep s only while F(s) + cost(s..t) <= F(t), i.e. total - penalty <= F(t).
        let mut i = 0;
        candidates.retain(|_| {
            let keep = totals[i] - penalty <= f[t];
            i += 1;
            keep
        });
    }
    let mut cps = Vec::new();
    let mut t = n;
    while last[t] > 0 {
        t = last[t];
        cps.push(t);
    }
    cps.reverse();
    cps
}

/// Classify a process execution of `n` iterations from its segments (see the module doc).
pub fn classify(segments: &[Segment], n: usize) -> Class {
    let Some(steady) = segments.last() else {
        return Class::Flat;
    };
    let fastest = segments
        .iter()
        .map(|s| s.mean)
        .fold(f64::INFINITY, f64::min);
    let delta = DELTA_FRACTION * fastest;
    let reach = steady.sd.max(delta);
    let (lo, hi) = (steady.mean - reach, steady.mean + reach);
    let window_start = n - steady_window(n);
    let mut class = Class::Flat;
    for s in segments[..segments.len() - 1].iter().rev() {
        if s.mean + s.sd >= lo && s.mean - s.sd <= hi {
            continue; // Equivalent to the steady state.
        }
        if s.end > window_start {
            return Class::NoSteadyState;
        }
        if s.mean < lo {
            return Class::Slowdown;
        }
        class = Class::Warmup;
    }
    class
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic noise: uniform in [-1, 1).
    fn noise(seed: u64, n: usize) -> Vec<f64> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..n).map(|_| rng.f64() * 2.0 - 1.0).collect()
    }

    /// `n` iterations at `level` seconds with ±`rel` relative noise.
    fn series(seed: u64, n: usize, level: f64, rel: f64) -> Vec<f64> {
        noise(seed, n)
            .into_iter()
            .map(|e| level * (1.0 + rel * e))
            .collect()
    }

    #[test]
    fn flat() {
        for seed in 0..5 {
            let t = series(seed, 100, 0.05, 0.02);
            let a = analyse(&t);
            assert_eq!(a.class, Class::Flat, "seed {seed}: {a:?}");
            assert_eq!(a.steady_start(), Some(0));
        }
    }

    #[test]
    fn step_down_is_warmup() {
        let mut t = series(1, 30, 0.10, 0.02);
        t.extend(series(2, 70, 0.05, 0.02));
        let a = analyse(&t);
        assert_eq!(a.class, Class::Warmup, "{a:?}");
        assert_eq!(a.segments.len(), 2, "{a:?}");
        assert_eq!(a.steady_start(), Some(30));
        let steady = a.steady_times(&t);
        assert!(steady.iter().all(|&x| x < 0.06), "{steady:?}");
    }

    #[test]
    fn step_up_is_slowdown() {
        let mut t = series(3, 40, 0.05, 0.02);
        t.extend(series(4, 60, 0.08, 0.02));
        let a = analyse(&t);
        assert_eq!(a.class, Class::Slowdown, "{a:?}");
        assert_eq!(a.steady_start(), Some(40));
    }

    #[test]
    fn change_in_the_last_quarter_is_no_steady_state() {
        // Regime changes keep happening, the last one 10 iterations from the end.
        let mut t = Vec::new();
        for (i, (len, level)) in [(30, 0.05), (30, 0.09), (30, 0.03), (10, 0.07)]
            .into_iter()
            .enumerate()
        {
            t.extend(series(10 + i as u64, len, level, 0.02));
        }
        let a = analyse(&t);
        assert_eq!(a.class, Class::NoSteadyState, "{a:?}");
        assert_eq!(a.steady_start(), None);
        // The best-effort steady times are the last quarter.
        assert_eq!(a.steady_times(&t).len(), 25);
    }

    #[test]
    fn noisy_with_no_trend_and_slow_first_iteration() {
        // A slow first iteration (one point) followed by noise: a lone point can be neither
        // an outlier (it is in the first half window) nor its own segment, but it must not
        // turn a flat series into anything else than flat or warm-up.
        let mut t = vec![0.5];
        t.extend(series(5, 99, 0.05, 0.05));
        let a = analyse(&t);
        assert!(matches!(a.class, Class::Flat | Class::Warmup), "{a:?}");
    }

    #[test]
    fn small_differences_are_equivalent() {
        // A 0.5% step is below the 1% delta: flat, even though PELT may split it.
        let mut t = series(6, 50, 0.050, 0.001);
        t.extend(series(7, 50, 0.04975, 0.001));
        assert_eq!(analyse(&t).class, Class::Flat);
    }

    #[test]
    fn outliers_are_set_aside() {
        let mut t = series(8, 100, 0.05, 0.01);
        t[70] = 0.5; // e.g. a GC pause or a descheduling.
        let a = analyse(&t);
        assert_eq!(a.outliers, vec![70]);
        assert_eq!(a.class, Class::Flat, "{a:?}");
        assert!(!a.steady_times(&t).contains(&0.5));
        // Early iterations are never outliers: that is where warm-up happens.
        let mut w = series(9, 100, 0.05, 0.01);
        w[2] = 0.5;
        assert!(outliers(&w).is_empty());
    }

    #[test]
    fn pelt_finds_the_changepoints() {
        let mut t = series(11, 40, 1.0, 0.01);
        t.extend(series(12, 40, 2.0, 0.01));
        t.extend(series(13, 40, 1.5, 0.01));
        assert_eq!(pelt(&t), vec![40, 80]);
        // Constant data: no changepoints, despite zero variance.
        assert_eq!(pelt(&[0.25; 50]), Vec::<usize>::new());
        assert_eq!(pelt(&[1.0, 2.0, 3.0]), Vec::<usize>::new());
    }

    #[test]
    fn pelt_finds_a_change_in_variance_alone() {
        let mut t = series(14, 60, 1.0, 0.001);
        t.extend(series(15, 60, 1.0, 0.2));
        assert_eq!(pelt(&t), vec![60]);
    }
}
