//! SVG plots for the report: warm-up curves, ratio bars and the compile-time histogram.

use super::analysis::Results;
use anyhow::{anyhow, Result};
use plotters::prelude::*;
use std::path::Path;

/// A colour per VM, by its position in the run order.
fn colour(i: usize) -> RGBColor {
    const C: [RGBColor; 6] = [
        RGBColor(0x44, 0x44, 0x44),
        RGBColor(0xd6, 0x27, 0x28),
        RGBColor(0x1f, 0x77, 0xb4),
        RGBColor(0x2c, 0xa0, 0x2c),
        RGBColor(0x94, 0x67, 0xbd),
        RGBColor(0xff, 0x7f, 0x0e),
    ];
    C[i % C.len()]
}

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("plotting: {e}")
}

/// One benchmark's warm-up curves: every process execution's iteration times, one colour per
/// VM, on a log time axis (first iterations can be orders of magnitude slower).
pub fn warmup(results: &Results, bench: &str, path: &Path) -> Result<()> {
    let series: Vec<(usize, &str, &Vec<f64>)> = results
        .vms
        .iter()
        .enumerate()
        .filter_map(|(i, (key, label))| Some((i, *label, results.cell(bench, key)?)))
        .flat_map(|(i, label, c)| c.execs.iter().map(move |e| (i, label, &e.times)))
        .collect();
    let all = series.iter().flat_map(|s| s.2.iter().map(|t| t * 1e3));
    let (lo, hi) = all.fold((f64::INFINITY, 0f64), |(lo, hi), t| (lo.min(t), hi.max(t)));
    // Keep the axis finite and non-empty even for zero or equal times.
    let lo = (lo * 0.8).max(1e-3);
    let hi = (hi * 1.25).max(lo * 2.0);
    let iters = series.iter().map(|s| s.2.len()).max().unwrap_or(1).max(2);

    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{bench}: time per in-process iteration"),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(1usize..iters, (lo..hi).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("in-process iteration")
        .y_desc("time (ms, log scale)")
        .draw()
        .map_err(err)?;
    let mut labelled = Vec::new();
    for (i, label, times) in series {
        let c = colour(i);
        let pts = times
            .iter()
            .enumerate()
            .map(|(k, t)| (k + 1, (t * 1e3).max(lo)));
        let drawn = chart
            .draw_series(LineSeries::new(pts, c.mix(0.7).stroke_width(1)))
            .map_err(err)?;
        // One legend entry per VM, not per execution.
        if !labelled.contains(&i) {
            labelled.push(i);
            drawn.label(label).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
            });
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// Horizontal bars of each non-baseline VM's steady-state ratio to the baseline per
/// benchmark, with their 95% intervals, and the geometric means at the bottom.
pub fn ratios(results: &Results, baseline: &str, path: &Path) -> Result<()> {
    // (label, vm index, ratio, lo, hi), top to bottom.
    let mut rows: Vec<(String, usize, f64, f64, f64)> = Vec::new();
    let others: Vec<(usize, &str, &str)> = results
        .vms
        .iter()
        .enumerate()
        .filter(|(_, (k, _))| *k != baseline)
        .map(|(i, (k, l))| (i, *k, *l))
        .collect();
    for b in &results.benches {
        for &(i, key, label) in &others {
            if let Some(r) = results.cell(b, key).and_then(|c| c.ratio) {
                rows.push((format!("{b} · {label}"), i, r.value, r.lo, r.hi));
            }
        }
    }
    for &(i, key, label) in &others {
        if let Some((g, _)) = results.geomean_ratio(key) {
            rows.push((format!("geomean · {label}"), i, g.value, g.lo, g.hi));
        }
    }
    let n = rows.len().max(1);
    let xmax = rows.iter().map(|r| r.4.max(r.2)).fold(1.0f64, f64::max) * 1.1;

    let root = SVGBackend::new(path, (900, (80 + 20 * n) as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("steady-state time relative to {baseline} (lower is faster)"),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(260)
        .build_cartesian_2d(0f64..xmax, (0..n).into_segmented())
        .map_err(err)?;
    let labels: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    // Row 0 is at the bottom of the axis: put the first row at the top.
    let y_of = move |row: usize| n - 1 - row;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .y_label_formatter(&|v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(y) if *y < n => labels[n - 1 - *y].clone(),
            _ => String::new(),
        })
        .x_desc(format!("time / {baseline} time"))
        .draw()
        .map_err(err)?;
    let bars = rows.iter().enumerate().map(|(row, r)| {
        let y = y_of(row);
        let mut rect = Rectangle::new(
            [
                (0.0, SegmentValue::Exact(y)),
                (r.2, SegmentValue::Exact(y + 1)),
            ],
            colour(r.1).mix(0.75).filled(),
        );
        rect.set_margin(3, 3, 0, 0);
        rect
    });
    chart.draw_series(bars).map_err(err)?;
    let whiskers = rows.iter().enumerate().map(|(row, r)| {
        let y = SegmentValue::CenterOf(y_of(row));
        PathElement::new(vec![(r.3, y.clone()), (r.4, y)], BLACK.stroke_width(2))
    });
    chart.draw_series(whiskers).map_err(err)?;
    let one: [(f64, SegmentValue<usize>); 2] =
        [(1.0, SegmentValue::Exact(0)), (1.0, SegmentValue::Last)];
    chart
        .draw_series(std::iter::once(PathElement::new(one.to_vec(), BLACK)))
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// A histogram of per-trace compile times (milliseconds) over every benchmark.
pub fn compile_times(times_s: &[f64], path: &Path) -> Result<()> {
    let ms: Vec<f64> = times_s.iter().map(|t| t * 1e3).collect();
    let max = ms.iter().copied().fold(0.0f64, f64::max).max(1e-3);
    const BINS: usize = 30;
    let width = max / BINS as f64;
    let mut counts = [0usize; BINS];
    for t in &ms {
        counts[((t / width) as usize).min(BINS - 1)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(0).max(1);

    let root = SVGBackend::new(path, (900, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("per-trace compile times ({} compile attempts)", ms.len()),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..max * 1.02, 0usize..top + top / 10 + 1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("compile time (ms)")
        .y_desc("traces")
        .draw()
        .map_err(err)?;
    chart
        .draw_series(
            counts
                .iter()
                .enumerate()
                .filter(|(_, &c)| c > 0)
                .map(|(i, &c)| {
                    let x0 = i as f64 * width;
                    Rectangle::new([(x0, 0), (x0 + width, c)], colour(1).mix(0.75).filled())
                }),
        )
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}
