//! Run-time statistics (`YKD_LOG_STATS`), written as JSON when the `MT` shuts down
//! (or when the process exits without shutting it down).
//!
//! Counters are relaxed atomics: they are bumped on hot paths by several threads
//! and only read at the end.

use crate::{abort::AbortKind, config::LogDest, log::Sink};
use std::{
    fmt::Write as _,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Mutex,
    },
    time::Duration,
};

/// The event counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counter {
    /// Recordings that reached their start location again.
    TracesRecordedOk,
    /// Recordings that were aborted.
    TracesRecordedErr,
    /// Recordings compiled into traces.
    TracesCompiledOk,
    /// Recordings the compiler rejected (or had no compiler).
    TracesCompiledErr,
    /// Times a compiled trace was entered.
    TraceExecutions,
    /// Guards that failed.
    GuardFailures,
    /// Side traces compiled.
    SideTracesCompiled,
    /// Root traces given up for re-recording, their side path being hotter.
    TracesReRecorded,
    /// Trace exits at another location's control point that the runtime
    /// passed straight on to (running its trace, if any).
    TraceJumps,
    /// Replaced traces freed (once no thread could be running them).
    TracesFreed,
    /// Root recordings given up, without counting as a failure, because
    /// they reached an inner loop that is to be traced first.
    TracesDeferred,
    /// Root recordings that ended at another location's trace (an outer
    /// loop's trace running into its inner loop's).
    TracesLinked,
    /// Recordings not started because compiling was over its budget
    /// (`YK_COMPILE_BUDGET`).
    RecordingsThrottled,
    /// Root traces given up because a guard kept failing while the budget
    /// refused its side trace.
    TracesSuspended,
    /// Root traces given up for good because a guard with no possible side
    /// trace ended most of their runs in the blackhole.
    TracesGivenUp,
    /// Root traces retired because their trees left through the blackhole
    /// more often than once per `guard::GIVE_UP_RATIO` iterations.
    TracesLosing,
    /// Recordings grown too long that were cut at a call, the callee's
    /// entry becoming a location (`crate::trace::entries`).
    CallsCut,
    /// Of the jumps and entries counted in [`Counter::TraceJumps`] and
    /// [`Counter::TraceExecutions`], those a trace made directly, by a
    /// tail call of the next location's trace (`compile::DirectEntry`),
    /// without the runtime. The trace's code adds to it in place
    /// ([`Stats::counter_ptr`]); [`Stats::get`] adds it to both.
    TraceJumpsDirect,
    /// Side traces compiled into their root trace's code when the root
    /// trace was recompiled at the hot tier (`jit::stitch`).
    SideTracesStitched,
    /// Tier-0 traces the native code generator could not compile (`yk-x64`
    /// said why: `YKD_LOG=3` prints it), compiled by LLVM instead.
    NativeFallbacks,
    /// Recordings (root or side) that grew past the length limit and were
    /// stopped there, to end at the last control point they passed
    /// (`RecordedTrace::truncated`), rather than aborted.
    TracesTruncated,
    /// Tier-0 traces recompiled at the hot tier (`jit::tier`).
    TracesRecompiled,
    /// Times a hot tier-0 trace's recompilation was put off because
    /// compiling was over its budget (`YK_COMPILE_BUDGET`).
    RecompilationsDeferred,
}

/// The time accumulators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Recording (start-tracing to stop-tracing).
    Tracing,
    /// Compiling traces (wall-clock time).
    Compiling,
    /// Compiling traces: the CPU time of the threads that compiled, which
    /// the compile budget counts (wall-clock time on a loaded machine
    /// includes time spent waiting for a core).
    CompilingCpu,
    /// Deoptimising (running the blackhole).
    Deopting,
    /// Running compiled traces.
    JitExecuting,
}

const COUNTERS: [(Counter, &str); 23] = [
    (Counter::TracesRecordedOk, "traces_recorded_ok"),
    (Counter::TracesRecordedErr, "traces_recorded_err"),
    (Counter::TracesCompiledOk, "traces_compiled_ok"),
    (Counter::TracesCompiledErr, "traces_compiled_err"),
    (Counter::TraceExecutions, "trace_executions"),
    (Counter::GuardFailures, "guard_failures"),
    (Counter::SideTracesCompiled, "side_traces_compiled"),
    (Counter::TracesReRecorded, "traces_re_recorded"),
    (Counter::TraceJumps, "trace_jumps"),
    (Counter::TracesFreed, "traces_freed"),
    (Counter::TracesDeferred, "traces_deferred"),
    (Counter::TracesLinked, "traces_linked"),
    (Counter::RecordingsThrottled, "recordings_throttled"),
    (Counter::TracesSuspended, "traces_suspended"),
    (Counter::TracesGivenUp, "traces_given_up"),
    (Counter::TracesLosing, "traces_losing"),
    (Counter::CallsCut, "calls_cut"),
    (Counter::TraceJumpsDirect, "trace_jumps_direct"),
    (Counter::SideTracesStitched, "side_traces_stitched"),
    (Counter::NativeFallbacks, "native_fallbacks"),
    (Counter::TracesTruncated, "traces_truncated"),
    (Counter::TracesRecompiled, "traces_recompiled"),
    (Counter::RecompilationsDeferred, "recompilations_deferred"),
];

/// What one compiled trace was made of, and what making it cost (the
/// `traces` array of the JSON).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TraceRecord {
    /// `root`, `side` or `tier-up`.
    pub kind: &'static str,
    /// The code generator: `x64` (the native tier 0, `jit::native`) or
    /// `llvm`.
    pub backend: &'static str,
    /// Recorded blocks.
    pub blocks: usize,
    /// Trace-IR instructions appended by the walk, left after the forward
    /// optimiser and after the backward pass.
    pub tir_appended: usize,
    /// See `tir_appended`.
    pub tir_forward: usize,
    /// See `tir_appended`.
    pub tir_backward: usize,
    /// Guards.
    pub guards: usize,
    /// Snapshots (exit blocks).
    pub snapshots: usize,
    /// LLVM instructions before LLVM's optimisation.
    pub llvm_instrs: usize,
    /// Milliseconds building, optimising, generating code (the compiling
    /// thread's CPU time).
    pub build_ms: f64,
    /// See `build_ms`.
    pub optimise_ms: f64,
    /// See `build_ms`.
    pub codegen_ms: f64,
}

const TIMERS: [(Timer, &str); 5] = [
    (Timer::Tracing, "duration_tracing"),
    (Timer::Compiling, "duration_compiling"),
    (Timer::CompilingCpu, "cpu_compiling"),
    (Timer::Deopting, "duration_deopting"),
    (Timer::JitExecuting, "duration_jit_executing"),
];

/// One statistic's value (see [`Stats::entries`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StatValue {
    /// A counter.
    Count(u64),
    /// A duration, in seconds (measured only when stats are written,
    /// `YKD_LOG_STATS`; 0 otherwise).
    Seconds(f64),
}

/// An `MT`'s statistics.
#[derive(Debug)]
pub struct Stats {
    counters: [AtomicU64; COUNTERS.len()],
    /// Nanoseconds.
    timers: [AtomicU64; 5],
    /// Aborted recordings and compilations by kind (`AbortKind::ALL`'s order).
    aborts: [AtomicU64; AbortKind::ALL.len()],
    compile_times: Mutex<Vec<f64>>,
    traces: Mutex<Vec<TraceRecord>>,
    dest: Option<Sink>,
    written: AtomicBool,
}

impl Stats {
    /// Statistics written to `dest` (if any) by [`Stats::write_once`].
    pub fn new(dest: Option<&LogDest>) -> std::io::Result<Stats> {
        let dest = match dest {
            None => None,
            Some(d) => Some(Sink::open(d).map_err(|e| {
                std::io::Error::new(e.kind(), format!("YKD_LOG_STATS: cannot create file: {e}"))
            })?),
        };
        Ok(Stats {
            counters: Default::default(),
            timers: Default::default(),
            aborts: Default::default(),
            compile_times: Mutex::new(Vec::new()),
            traces: Mutex::new(Vec::new()),
            dest,
            written: AtomicBool::new(false),
        })
    }

    /// Are stats being written at all? Callers skip taking timestamps otherwise.
    pub fn enabled(&self) -> bool {
        self.dest.is_some()
    }

    /// Add one to `c`.
    pub fn count(&self, c: Counter) {
        self.counters[c as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Add `n` to `c`.
    pub fn count_n(&self, c: Counter, n: u64) {
        self.counters[c as usize].fetch_add(n, Ordering::Relaxed);
    }

    /// The current value of `c` (jumps and entries include the direct
    /// ones, [`Counter::TraceJumpsDirect`]).
    pub fn get(&self, c: Counter) -> u64 {
        let n = self.counters[c as usize].load(Ordering::Relaxed);
        match c {
            Counter::TraceJumps | Counter::TraceExecutions => n.wrapping_add(
                self.counters[Counter::TraceJumpsDirect as usize].load(Ordering::Relaxed),
            ),
            _ => n,
        }
    }

    /// Where counter `c` is, for compiled code that adds to it itself
    /// (relaxed atomic additions, as [`Stats::count`]'s).
    pub fn counter_ptr(&self, c: Counter) -> *const AtomicU64 {
        &self.counters[c as usize]
    }

    /// Count one recording or compilation given up for a reason of kind `k`.
    pub fn count_abort(&self, k: AbortKind) {
        self.aborts[k as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Recordings and compilations given up for a reason of kind `k`.
    pub fn get_aborts(&self, k: AbortKind) -> u64 {
        self.aborts[k as usize].load(Ordering::Relaxed)
    }

    /// Add `d` to `t`.
    pub fn time(&self, t: Timer, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.timers[t as usize].fetch_add(ns, Ordering::Relaxed);
    }

    /// The current value of `t`.
    pub fn get_time(&self, t: Timer) -> Duration {
        Duration::from_nanos(self.timers[t as usize].load(Ordering::Relaxed))
    }

    /// Record one trace's compile time (also added to `duration_compiling`;
    /// the list of every compile's time, which only the JSON shows, is kept
    /// only when the stats are written, so that it doesn't grow otherwise).
    pub fn compile_time(&self, d: Duration, cpu: Duration) {
        self.time(Timer::Compiling, d);
        self.time(Timer::CompilingCpu, cpu);
        if self.enabled() {
            self.compile_times
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(d.as_secs_f64());
        }
    }

    /// Notes what a compiled trace was made of (kept only while stats are
    /// being written).
    pub fn trace_built(&self, r: TraceRecord) {
        if self.enabled() {
            self.traces
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(r);
        }
    }

    /// Every counter and timer with its name (as in the JSON), then the
    /// aborts by kind (`aborts_<kind>`, the JSON's `aborts` object), in a
    /// fixed order: for interpreters that show the statistics themselves.
    pub fn entries(&self) -> Vec<(&'static str, StatValue)> {
        COUNTERS
            .iter()
            .map(|&(c, name)| (name, StatValue::Count(self.get(c))))
            .chain(
                TIMERS
                    .iter()
                    .map(|&(t, name)| (name, StatValue::Seconds(self.get_time(t).as_secs_f64()))),
            )
            .chain(
                AbortKind::ALL
                    .iter()
                    .map(|&k| (k.stat_name(), StatValue::Count(self.get_aborts(k)))),
            )
            .collect()
    }

    /// The statistics as a JSON object.
    pub fn to_json(&self) -> String {
        let mut s = String::from("{\n");
        for (c, name) in COUNTERS {
            let _ = writeln!(s, "  \"{name}\": {},", self.get(c));
        }
        for (t, name) in TIMERS {
            // `{:?}` always prints a decimal point or exponent, and JSON accepts both.
            let _ = writeln!(s, "  \"{name}\": {:?},", self.get_time(t).as_secs_f64());
        }
        let aborts: Vec<String> = AbortKind::ALL
            .iter()
            .map(|&k| format!("\"{}\": {}", k.name(), self.get_aborts(k)))
            .collect();
        let _ = writeln!(s, "  \"aborts\": {{{}}},", aborts.join(", "));
        let times = self.compile_times.lock().unwrap_or_else(|e| e.into_inner());
        let times: Vec<String> = times.iter().map(|t| format!("{t:?}")).collect();
        let _ = writeln!(s, "  \"compile_times\": [{}],", times.join(", "));
        let traces = self.traces.lock().unwrap_or_else(|e| e.into_inner());
        let traces: Vec<String> = traces
            .iter()
            .map(|r| {
                format!(
                    "    {{\"kind\": \"{}\", \"backend\": \"{}\", \"blocks\": {}, \
                     \"tir_appended\": {}, \"tir_forward\": {}, \"tir_backward\": {}, \
                     \"guards\": {}, \"snapshots\": {}, \"llvm_instrs\": {}, \
                     \"build_ms\": {:?}, \"optimise_ms\": {:?}, \"codegen_ms\": {:?}}}",
                    r.kind,
                    r.backend,
                    r.blocks,
                    r.tir_appended,
                    r.tir_forward,
                    r.tir_backward,
                    r.guards,
                    r.snapshots,
                    r.llvm_instrs,
                    r.build_ms,
                    r.optimise_ms,
                    r.codegen_ms
                )
            })
            .collect();
        if traces.is_empty() {
            let _ = writeln!(s, "  \"traces\": []");
        } else {
            let _ = writeln!(s, "  \"traces\": [\n{}\n  ]", traces.join(",\n"));
        }
        s.push_str("}\n");
        s
    }

    /// Write the JSON to the `YKD_LOG_STATS` destination, the first time only.
    pub fn write_once(&self) {
        if let Some(d) = &self.dest {
            if !self.written.swap(true, Ordering::AcqRel) {
                d.write_str(&self.to_json());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_every_field() {
        let p = std::env::temp_dir().join(format!("ykrt-stats-json-{}.json", std::process::id()));
        let s = Stats::new(Some(&LogDest::File(p.clone()))).unwrap();
        s.count(Counter::TracesRecordedOk);
        s.count(Counter::TracesRecordedOk);
        s.count(Counter::GuardFailures);
        s.time(Timer::Tracing, Duration::from_millis(1500));
        s.compile_time(Duration::from_millis(250), Duration::from_millis(200));
        s.compile_time(Duration::from_micros(1), Duration::from_micros(1));
        s.count_abort(AbortKind::TooLong);
        s.count_abort(AbortKind::TooLong);
        s.count_abort(AbortKind::Internal);
        let v: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
        assert_eq!(v["aborts"]["too_long"], 2);
        assert_eq!(v["aborts"]["internal"], 1);
        assert_eq!(v["aborts"]["unsupported"], 0);
        assert_eq!(v["aborts"].as_object().unwrap().len(), AbortKind::ALL.len());
        assert_eq!(v["traces_recorded_ok"], 2);
        assert_eq!(v["traces_recorded_err"], 0);
        assert_eq!(v["guard_failures"], 1);
        for k in [
            "traces_compiled_ok",
            "traces_compiled_err",
            "trace_executions",
            "side_traces_compiled",
        ] {
            assert_eq!(v[k], 0, "{k}");
        }
        assert_eq!(v["duration_tracing"].as_f64(), Some(1.5));
        assert_eq!(v["duration_compiling"].as_f64(), Some(0.250001));
        assert!(v["duration_deopting"].is_f64());
        assert!(v["duration_jit_executing"].is_f64());
        let times: Vec<f64> = v["compile_times"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_f64().unwrap())
            .collect();
        assert_eq!(times, vec![0.25, 1e-6]);
        let _ = std::fs::remove_file(p);
    }

    /// Without a destination for the stats, the list of compile times is
    /// not kept (it would grow with every trace), though their sum is.
    #[test]
    fn compile_times_kept_only_when_written() {
        let s = Stats::new(None).unwrap();
        s.compile_time(Duration::from_millis(250), Duration::from_millis(200));
        assert_eq!(s.get_time(Timer::Compiling), Duration::from_millis(250));
        assert!(s.compile_times.lock().unwrap().is_empty());
    }

    #[test]
    fn entries_match_the_json() {
        let s = Stats::new(None).unwrap();
        s.count(Counter::TracesCompiledOk);
        s.time(Timer::Compiling, Duration::from_millis(500));
        s.count_abort(AbortKind::FrameLeft);
        let e = s.entries();
        assert_eq!(
            e.len(),
            COUNTERS.len() + TIMERS.len() + AbortKind::ALL.len()
        );
        let v: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
        for (name, val) in e {
            let json = match name.strip_prefix("aborts_") {
                Some(kind) => &v["aborts"][kind],
                None => &v[name],
            };
            match val {
                StatValue::Count(n) => assert_eq!(*json, n, "{name}"),
                StatValue::Seconds(x) => assert_eq!(json.as_f64(), Some(x), "{name}"),
            }
        }
        assert!(s
            .entries()
            .contains(&("traces_compiled_ok", StatValue::Count(1))));
        assert!(s
            .entries()
            .contains(&("aborts_frame_left", StatValue::Count(1))));
    }

    #[test]
    fn written_once_to_file() {
        let p = std::env::temp_dir().join(format!("ykrt-stats-test-{}.json", std::process::id()));
        let s = Stats::new(Some(&LogDest::File(p.clone()))).unwrap();
        assert!(s.enabled());
        s.count(Counter::TraceExecutions);
        s.write_once();
        s.count(Counter::TraceExecutions);
        s.write_once();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(v["trace_executions"], 1);
        let _ = std::fs::remove_file(p);
    }
}
