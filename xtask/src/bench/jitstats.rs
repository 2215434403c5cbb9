//! The JIT statistics a yk interpreter writes at exit with `YKD_LOG_STATS=FILE` (see
//! `ykrt/src/stats.rs`). Fields the runtime does not (yet) write are `None` and reported as
//! "n/a", never guessed.

use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::path::Path;

/// The counters we report, by their JSON names.
pub const COUNTERS: [&str; 9] = [
    "traces_recorded_ok",
    "traces_recorded_err",
    "traces_compiled_ok",
    "traces_compiled_err",
    "trace_executions",
    "guard_failures",
    "side_traces_compiled",
    "traces_deferred",
    "traces_linked",
];

/// The durations (seconds) we report, by their JSON names.
pub const DURATIONS: [&str; 4] = [
    "duration_tracing",
    "duration_compiling",
    "duration_deopting",
    "duration_jit_executing",
];

/// One process execution's statistics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JitStats {
    /// Values of [`COUNTERS`], in order.
    pub counters: [Option<u64>; COUNTERS.len()],
    /// Values of [`DURATIONS`] in seconds, in order.
    pub durations: [Option<f64>; 4],
    /// Each compiled trace's compile time in seconds, if the runtime reports them.
    pub compile_times: Option<Vec<f64>>,
    /// Aborted recordings and compilations by kind (`"aborts"`), if reported.
    pub aborts: Option<Vec<(String, u64)>>,
}

impl JitStats {
    /// The counter called `name` (one of [`COUNTERS`]).
    pub fn counter(&self, name: &str) -> Option<u64> {
        COUNTERS
            .iter()
            .position(|c| *c == name)
            .and_then(|i| self.counters[i])
    }

    /// The duration called `name` (one of [`DURATIONS`]).
    pub fn duration(&self, name: &str) -> Option<f64> {
        DURATIONS
            .iter()
            .position(|c| *c == name)
            .and_then(|i| self.durations[i])
    }
}

/// Parse the JSON text of a stats file.
pub fn parse(text: &str) -> Result<JitStats> {
    let v: Value = serde_json::from_str(text).context("the stats are not valid JSON")?;
    let Some(obj) = v.as_object() else {
        bail!("the stats are not a JSON object");
    };
    let mut s = JitStats::default();
    for (i, name) in COUNTERS.iter().enumerate() {
        s.counters[i] = match obj.get(*name) {
            None => None,
            Some(x) => Some(
                x.as_u64()
                    .with_context(|| format!("{name} is not a count: {x}"))?,
            ),
        };
    }
    for (i, name) in DURATIONS.iter().enumerate() {
        s.durations[i] = match obj.get(*name) {
            None => None,
            Some(x) => Some(
                x.as_f64()
                    .filter(|d| *d >= 0.0)
                    .with_context(|| format!("{name} is not a duration: {x}"))?,
            ),
        };
    }
    s.compile_times = match obj.get("compile_times") {
        None => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .map(|x| {
                    x.as_f64()
                        .filter(|d| *d >= 0.0)
                        .with_context(|| format!("compile_times has a bad entry {x}"))
                })
                .collect::<Result<_>>()?,
        ),
        Some(x) => bail!("compile_times is not an array: {x}"),
    };
    s.aborts = match obj.get("aborts") {
        None => None,
        Some(Value::Object(o)) => Some(
            o.iter()
                .map(|(k, x)| {
                    x.as_u64()
                        .map(|n| (k.clone(), n))
                        .with_context(|| format!("aborts.{k} is not a count: {x}"))
                })
                .collect::<Result<_>>()?,
        ),
        Some(x) => bail!("aborts is not an object: {x}"),
    };
    Ok(s)
}

/// Read and parse a stats file.
pub fn read(path: &Path) -> Result<JitStats> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("no JIT stats at {} (YKD_LOG_STATS)", path.display()))?;
    parse(&text).with_context(|| format!("in {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_ykrt_writes() {
        // The shape of ykrt's `Stats::to_json`.
        let s = parse(
            r#"{
  "traces_recorded_ok": 3,
  "traces_recorded_err": 1,
  "traces_compiled_ok": 2,
  "traces_compiled_err": 1,
  "trace_executions": 1000,
  "guard_failures": 7,
  "side_traces_compiled": 0,
  "duration_tracing": 0.5,
  "duration_compiling": 0.25,
  "duration_deopting": 0.0,
  "duration_jit_executing": 1.5,
  "aborts": {"too_long": 2, "unsupported": 0},
  "compile_times": [0.125, 0.125]
}"#,
        )
        .unwrap();
        assert_eq!(
            s.aborts,
            Some(vec![("too_long".into(), 2), ("unsupported".into(), 0)])
        );
        assert_eq!(s.counter("traces_compiled_ok"), Some(2));
        assert_eq!(s.counter("trace_executions"), Some(1000));
        assert_eq!(s.duration("duration_compiling"), Some(0.25));
        assert_eq!(s.compile_times, Some(vec![0.125, 0.125]));
    }

    #[test]
    fn missing_fields_are_none() {
        let s = parse(r#"{"traces_compiled_ok": 1}"#).unwrap();
        assert_eq!(s.counter("traces_compiled_ok"), Some(1));
        assert_eq!(s.counter("guard_failures"), None);
        assert_eq!(s.duration("duration_deopting"), None);
        assert_eq!(s.compile_times, None);
    }

    #[test]
    fn bad_stats_are_errors() {
        for bad in [
            "",
            "[]",
            r#"{"traces_compiled_ok": -1}"#,
            r#"{"duration_tracing": "x"}"#,
            r#"{"compile_times": 3}"#,
            r#"{"compile_times": [0.1, null]}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
