//! Summary statistics for benchmark timings: medians, percentiles, geometric means and
//! bootstrap confidence intervals.
//!
//! Confidence intervals come from a two-level (hierarchical) bootstrap, the approach Kalibera
//! and Jones recommend for benchmarks with two sources of variation: process executions are
//! resampled with replacement, and then iterations within each chosen execution. The
//! interval is then the 2.5th to 97.5th percentile of the statistic over the resamples. With a
//! single process execution it still reflects the in-process variation.

/// The number of bootstrap resamples. 2,000 gives stable 95% intervals; each resample of a
/// benchmark's few hundred timings takes microseconds.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;

/// An estimate with a 95% confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// The statistic on the data itself.
    pub value: f64,
    /// Lower end of the interval.
    pub lo: f64,
    /// Upper end of the interval.
    pub hi: f64,
}

/// The median of `xs`: the mean of the middle two for even lengths. `None` when empty.
pub fn median(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    Some(median_sorted(&v))
}

fn median_sorted(v: &[f64]) -> f64 {
    let m = v.len() / 2;
    if v.len().is_multiple_of(2) {
        (v[m - 1] + v[m]) / 2.0
    } else {
        v[m]
    }
}

/// The `p`th percentile (0..=100) of sorted, non-empty `sorted`, interpolating linearly
/// between the two nearest ranks.
pub fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    assert!(!sorted.is_empty(), "percentile of no data");
    assert!((0.0..=100.0).contains(&p), "percentile {p} out of range");
    let pos = (sorted.len() - 1) as f64 * p / 100.0;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The `p`th percentile of `xs` (any order). `None` when empty.
pub fn percentile(xs: &[f64], p: f64) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    Some(percentile_sorted(&v, p))
}

/// The arithmetic mean. `None` when empty.
pub fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// The geometric mean of positive `xs`. `None` when empty or when any value is not positive
/// (a ratio of times is always positive, so that means bad data).
pub fn geomean(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() || xs.iter().any(|&x| x <= 0.0 || !x.is_finite()) {
        return None;
    }
    Some((xs.iter().map(|x| x.ln()).sum::<f64>() / xs.len() as f64).exp())
}

/// The bootstrap distribution of the median of timings grouped by process execution: each
/// of `resamples` values is the median of a hierarchical resample of `groups` (see the module
/// doc). Empty groups are ignored; returns an empty vector if there is no data at all.
pub fn bootstrap_medians(
    groups: &[Vec<f64>],
    resamples: usize,
    rng: &mut fastrand::Rng,
) -> Vec<f64> {
    let groups: Vec<&Vec<f64>> = groups.iter().filter(|g| !g.is_empty()).collect();
    if groups.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(resamples);
    let mut pool = Vec::new();
    for _ in 0..resamples {
        pool.clear();
        for _ in 0..groups.len() {
            let g = groups[rng.usize(..groups.len())];
            for _ in 0..g.len() {
                pool.push(g[rng.usize(..g.len())]);
            }
        }
        pool.sort_unstable_by(f64::total_cmp);
        out.push(median_sorted(&pool));
    }
    out
}

/// A 95% percentile interval around `value` from the bootstrap distribution `dist`.
/// `None` if `dist` is empty.
pub fn interval(value: f64, dist: &[f64]) -> Option<Estimate> {
    let lo = percentile(dist, 2.5)?;
    let hi = percentile(dist, 97.5)?;
    Some(Estimate { value, lo, hi })
}

/// The median of all timings in `groups` with its hierarchical-bootstrap interval, and the
/// bootstrap distribution itself (for intervals of derived quantities such as ratios).
/// `None` if there are no timings.
pub fn median_with_ci(
    groups: &[Vec<f64>],
    rng: &mut fastrand::Rng,
) -> Option<(Estimate, Vec<f64>)> {
    let all: Vec<f64> = groups.iter().flatten().copied().collect();
    let value = median(&all)?;
    let dist = bootstrap_medians(groups, BOOTSTRAP_RESAMPLES, rng);
    Some((interval(value, &dist)?, dist))
}

/// The ratio `num / den` with an interval from pairing the two (independent) bootstrap
/// distributions resample by resample.
pub fn ratio_with_ci(num: (f64, &[f64]), den: (f64, &[f64])) -> Option<(Estimate, Vec<f64>)> {
    if den.0 <= 0.0 || num.1.len() != den.1.len() || num.1.is_empty() {
        return None;
    }
    let dist: Vec<f64> = num.1.iter().zip(den.1).map(|(n, d)| n / d).collect();
    Some((interval(num.0 / den.0, &dist)?, dist))
}

/// The geometric mean of several ratios with an interval: resample by resample, the
/// geometric mean of the ratios' bootstrap distributions (all of the same length).
pub fn geomean_with_ci(ratios: &[(f64, &[f64])]) -> Option<Estimate> {
    let values: Vec<f64> = ratios.iter().map(|r| r.0).collect();
    let value = geomean(&values)?;
    let n = ratios.first()?.1.len();
    if n == 0 || ratios.iter().any(|r| r.1.len() != n) {
        return None;
    }
    let dist: Option<Vec<f64>> = (0..n)
        .map(|i| geomean(&ratios.iter().map(|r| r.1[i]).collect::<Vec<_>>()))
        .collect();
    interval(value, &dist?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_percentiles() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.0), Some(1.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0, 5.0], 100.0), Some(5.0));
        assert_eq!(percentile(&[5.0, 1.0, 3.0, 2.0, 4.0], 50.0), Some(3.0));
        // Interpolated halfway between ranks 1 and 2 (0-based) of [10, 20, 30, 40].
        assert_eq!(percentile(&[10.0, 20.0, 30.0, 40.0], 50.0), Some(25.0));
        assert_eq!(mean(&[1.0, 2.0, 6.0]), Some(3.0));
    }

    #[test]
    fn geometric_mean() {
        let g = geomean(&[2.0, 8.0]).unwrap();
        assert!((g - 4.0).abs() < 1e-12);
        assert_eq!(geomean(&[1.0, 0.0]), None);
        assert_eq!(geomean(&[]), None);
    }

    /// A deterministic pseudo-noise sequence in [-1, 1) for synthetic data.
    fn noise(seed: u64, n: usize) -> Vec<f64> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..n).map(|_| rng.f64() * 2.0 - 1.0).collect()
    }

    #[test]
    fn median_interval_contains_value_and_narrows_with_data() {
        let mut rng = fastrand::Rng::with_seed(1);
        let small: Vec<Vec<f64>> = (0..3)
            .map(|p| noise(p, 10).iter().map(|e| 1.0 + 0.1 * e).collect())
            .collect();
        let big: Vec<Vec<f64>> = (0..10)
            .map(|p| noise(100 + p, 100).iter().map(|e| 1.0 + 0.1 * e).collect())
            .collect();
        let (s, _) = median_with_ci(&small, &mut rng).unwrap();
        let (b, _) = median_with_ci(&big, &mut rng).unwrap();
        for e in [s, b] {
            assert!(e.lo <= e.value && e.value <= e.hi, "{e:?}");
            assert!(e.lo > 0.85 && e.hi < 1.15, "{e:?}");
        }
        assert!(
            b.hi - b.lo < s.hi - s.lo,
            "more data, narrower: {s:?} vs {b:?}"
        );
        // Constant data has a zero-width interval.
        let (c, _) = median_with_ci(&[vec![2.0; 5], vec![2.0; 5]], &mut rng).unwrap();
        assert_eq!((c.lo, c.value, c.hi), (2.0, 2.0, 2.0));
        assert!(median_with_ci(&[vec![], vec![]], &mut rng).is_none());
    }

    #[test]
    fn between_process_variation_widens_the_interval() {
        // Two processes with tight but different levels: resampling whole processes must
        // produce an interval spanning both levels, which resampling iterations alone would
        // not.
        let mut rng = fastrand::Rng::with_seed(7);
        let groups = vec![vec![1.0; 50], vec![2.0; 50]];
        let (e, _) = median_with_ci(&groups, &mut rng).unwrap();
        assert_eq!(e.lo, 1.0);
        assert_eq!(e.hi, 2.0);
    }

    #[test]
    fn ratios_and_their_geomean() {
        let mut rng = fastrand::Rng::with_seed(3);
        let slow: Vec<Vec<f64>> = (0..4)
            .map(|p| noise(p, 30).iter().map(|e| 2.0 + 0.02 * e).collect())
            .collect();
        let fast: Vec<Vec<f64>> = (0..4)
            .map(|p| noise(50 + p, 30).iter().map(|e| 1.0 + 0.01 * e).collect())
            .collect();
        let (s, sd) = median_with_ci(&slow, &mut rng).unwrap();
        let (f, fd) = median_with_ci(&fast, &mut rng).unwrap();
        let (r, rd) = ratio_with_ci((f.value, &fd), (s.value, &sd)).unwrap();
        assert!((r.value - 0.5).abs() < 0.02, "{r:?}");
        assert!(
            r.lo <= r.value && r.value <= r.hi && r.lo > 0.48 && r.hi < 0.52,
            "{r:?}"
        );
        // The geometric mean of 0.5 and its reciprocal is 1.
        let inv: Vec<f64> = rd.iter().map(|x| 1.0 / x).collect();
        let g = geomean_with_ci(&[(r.value, &rd), (1.0 / r.value, &inv)]).unwrap();
        assert!((g.value - 1.0).abs() < 1e-12, "{g:?}");
        assert!(ratio_with_ci((1.0, &[1.0]), (0.0, &[1.0])).is_none());
    }
}
