//! Tests of the control point's state machine and the recorder.

use super::*;
use crate::{
    config::LogDest,
    location::MAX_FAILURES,
    testutil::{self, block, flag_on, lines, FakeCompiler, FakeTrace},
};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::{ptr, sync::Barrier, thread};

fn cp(mt: &MT, loc: &Location) -> u64 {
    // A non-null `vars` so that compiled traces run, the same for every call
    // on a thread: one interpreter activation (a recording ignores control
    // points of other activations, see `MT::control_point_raw`).
    thread_local! {
        static VARS: std::cell::UnsafeCell<u64> = const { std::cell::UnsafeCell::new(0) };
    }
    let vars = VARS.with(|v| v.get());
    // SAFETY: `vars` is this thread's stand-in for a control point's
    // variables (the fake traces don't read it); `loc` outlives the call.
    unsafe { mt.control_point_raw(loc, vars.cast(), 0) }
}

/// One iteration of the fake interpreter loop: the control point, then the
/// blocks the instrumentation would record.
fn iter(mt: &MT, loc: &Location) {
    cp(mt, loc);
    block(0, 1);
    block(1, 0);
    block(0, 2);
}

#[test]
fn counting_tracing_and_no_compiler() {
    let (mt, log) = testutil::mt("nocomp", 3);
    let loc = Location::new();
    loc.set_debug_str("loop1");
    for i in 0..3 {
        iter(&mt, &loc);
        assert_eq!(
            loc.state(),
            State::Counting {
                count: i + 1,
                failures: 0
            }
        );
    }
    assert!(!flag_on());
    cp(&mt, &loc);
    assert!(flag_on() && swt::is_recording());
    assert!(
        matches!(loc.state(), State::Tracing { owner, .. } if owner == crate::location::thread_id())
    );
    block(0, 1);
    block(1, 0);
    block(0, 2);
    cp(&mt, &loc);
    assert!(!flag_on() && !swt::is_recording());
    assert_eq!(
        loc.state(),
        State::Counting {
            count: 0,
            failures: 1
        }
    );
    assert_eq!(mt.stats().get(Counter::TracesRecordedOk), 1);
    assert_eq!(mt.stats().get(Counter::TracesCompiledErr), 1);
    assert_eq!(
        lines(&log),
        [
            "yk-jit-event: start-tracing @ loop1",
            "yk-jit-event: stop-tracing @ loop1",
            "yk-jit-event: trace-aborted: trace compiler not available @ loop1",
        ]
    );
    // Backed off: now it takes 2 * 3 executions before the next attempt.
    for _ in 0..6 {
        iter(&mt, &loc);
    }
    assert!(!flag_on());
    cp(&mt, &loc);
    assert!(flag_on());
    cp(&mt, &loc);
    assert!(!flag_on());
}

#[test]
fn compiled_trace_runs() {
    let (mt, log) = testutil::mt("compiled", 0);
    let trace = Arc::new(FakeTrace::default());
    let comp = FakeCompiler::new(Ok(Arc::clone(&trace)));
    mt.set_trace_compiler(comp.clone());
    let loc = Location::new();
    iter(&mt, &loc); // starts recording at once (threshold 0)
    promote_and_idempotent();
    iter(&mt, &loc); // stops
    assert!(loc.is_compiled());
    assert_eq!(*comp.seen.lock().unwrap(), [vec![(0, 1), (1, 0), (0, 2)]]);
    for _ in 0..3 {
        iter(&mt, &loc);
    }
    // Without vars (the Rust-API path) the trace isn't entered.
    // SAFETY: null vars; `loc` outlives the call.
    unsafe { mt.control_point_raw(&loc, ptr::null_mut(), 0) };
    assert_eq!(trace.0.load(Ordering::Relaxed), 3);
    assert_eq!(mt.stats().get(Counter::TraceExecutions), 3);
    assert_eq!(mt.stats().get(Counter::TracesCompiledOk), 1);
    let l = lines(&log);
    assert_eq!(
        l[..3],
        [
            "yk-jit-event: start-tracing",
            "yk-jit-event: stop-tracing",
            "yk-jit-event: trace-compiled",
        ]
    );
    assert_eq!(l[3..], ["yk-jit-event: enter-jit-code"; 3]);
}

#[test]
fn jit_off_enters_nothing_records_nothing_and_aborts_a_recording() {
    let (mt, log) = testutil::mt("off", 0);
    let trace = Arc::new(FakeTrace::default());
    mt.set_trace_compiler(FakeCompiler::new(Ok(Arc::clone(&trace))));
    let (a, b) = (Location::new(), Location::new());
    b.set_debug_str("b");
    iter(&mt, &a);
    iter(&mt, &a);
    assert!(a.is_compiled());
    iter(&mt, &b); // b starts recording
    assert!(swt::is_recording());
    mt.set_enabled(false);
    assert!(!mt.is_enabled());
    iter(&mt, &b); // ... and is given up
    assert!(!swt::is_recording() && !flag_on());
    for _ in 0..5 {
        iter(&mt, &a);
        iter(&mt, &b);
    }
    assert_eq!(trace.0.load(Ordering::Relaxed), 0);
    assert_eq!(mt.stats().get(Counter::TracesRecordedOk), 1);
    assert_eq!(mt.stats().get(Counter::TracesRecordedErr), 1);
    assert!(lines(&log).contains(&format!("yk-jit-event: trace-aborted: {ABORT_JIT_OFF} @ b")));
    // On again: the kept trace runs.
    mt.set_enabled(true);
    iter(&mt, &a);
    assert_eq!(trace.0.load(Ordering::Relaxed), 1);
}

#[test]
fn flushed_traces_are_dropped_and_retraced() {
    let (mt, _) = testutil::mt("flush", 0);
    let trace = Arc::new(FakeTrace::default());
    mt.set_trace_compiler(FakeCompiler::new(Ok(Arc::clone(&trace))));
    let loc = Location::new();
    iter(&mt, &loc);
    iter(&mt, &loc);
    iter(&mt, &loc);
    assert_eq!(trace.0.load(Ordering::Relaxed), 1);
    mt.flush();
    assert_eq!(mt.generation(), 1);
    // The next control point drops the trace rather than entering it and counts again.
    cp(&mt, &loc);
    assert_eq!(trace.0.load(Ordering::Relaxed), 1);
    assert_eq!(
        loc.state(),
        State::Counting {
            count: 0,
            failures: 0
        }
    );
    // Traced and compiled afresh (threshold 0), in the new generation, and run.
    iter(&mt, &loc);
    iter(&mt, &loc);
    assert!(loc.is_compiled());
    iter(&mt, &loc);
    assert_eq!(trace.0.load(Ordering::Relaxed), 2);
    assert_eq!(mt.stats().get(Counter::TracesCompiledOk), 2);
}

fn promote_and_idempotent() {
    if flag_on() {
        crate::abi::__yk_swt_rec_promote(7);
        crate::abi::__yk_swt_rec_idempotent(8);
    }
}

#[test]
fn recorder_buffers() {
    let (mt, _) = testutil::mt("buffers", 0);
    let loc = Location::new();
    cp(&mt, &loc);
    block(0, 1);
    promote_and_idempotent();
    block(0, 2);
    let fin = swt::stop().unwrap();
    assert_eq!(fin.blocks, [(0, 1), (0, 2)]);
    assert_eq!(fin.promotes, [7]);
    assert_eq!(fin.idempotents, [8]);
    assert!(!flag_on());
    // Not recording: the record calls are ignored.
    crate::abi::__yk_swt_rec_block(0, 0);
    crate::abi::__yk_swt_rec_promote(1);
    assert!(swt::stop().is_none());
}

#[test]
fn compile_errors_back_off_or_stop_by_kind() {
    use crate::abort::{Abort, AbortKind};
    // (why, may a later recording compile?)
    let cases = [
        (Abort::internal("unmapped value %x"), false),
        (Abort::new(AbortKind::NoCompiler, "no embedded IR"), false),
        (Abort::unsupported("unsupported: setjmp"), true),
        (Abort::too_long("trace too long"), true),
        (Abort::backend("code generation failed"), true),
    ];
    for (k, (why, retry)) in cases.into_iter().enumerate() {
        let e = CompileError::from(why.clone());
        assert_eq!(e.retry(), retry, "{e}");
        let (mt, log) = testutil::mt(&format!("compile_error{k}"), 0);
        mt.set_trace_compiler(FakeCompiler::new(Err(e)));
        let loc = Location::new();
        iter(&mt, &loc);
        iter(&mt, &loc);
        if retry {
            // A trace too long counts more (two of them stop the location).
            let failures = if why.kind == AbortKind::TooLong {
                crate::location::TOO_LONG_FAILURES
            } else {
                1
            };
            assert_eq!(loc.state(), State::Counting { count: 0, failures }, "{why}");
        } else {
            assert!(loc.is_dont_trace(), "{why}");
        }
        assert_eq!(
            lines(&log)[2],
            format!("yk-jit-event: trace-aborted: {}", why.detail)
        );
        assert_eq!(mt.stats().get(Counter::TracesCompiledErr), 1);
        assert_eq!(mt.stats().get_aborts(why.kind), 1);
    }
}

/// A trace compiler that panics (an IR construct it did not expect).
struct PanickingCompiler;

impl TraceCompiler for PanickingCompiler {
    fn compile(&self, _mt: &MT, _trace: &RecordedTrace) -> Result<Compiled, CompileError> {
        panic!("cannot build a {} instruction", "callbr");
    }
}

/// A panic in the trace compiler aborts that trace with the panic's message
/// (on the recording thread and on the compile thread), and the program goes
/// on; the location is never traced again.
#[test]
fn panicking_compiler_aborts_the_trace() {
    for serialise in [true, false] {
        testutil::register();
        let p = testutil::log_path("panicking");
        let mt = testutil::new_mt(Config {
            hot_threshold: 0,
            // No compile budget: the time a panic takes counts as compile
            // time, and with `RUST_BACKTRACE=1` the panic hook's backtrace
            // (symbolised from the test binary's debug info) can take more
            // than the budget's grace period on a loaded machine; the
            // budget would then refuse `loc2`'s recording.
            compile_budget: 0,
            serialise_compilation: serialise,
            log_level: 3,
            log_dest: LogDest::File(p.clone()),
            ..Config::default()
        });
        mt.set_trace_compiler(Arc::new(PanickingCompiler));
        let loc = Location::new();
        iter(&mt, &loc);
        iter(&mt, &loc);
        mt.queue().wait_idle();
        assert!(loc.is_dont_trace(), "{:?}", loc.state());
        assert_eq!(
            lines(&p)[2],
            "yk-jit-event: trace-aborted: the trace compiler failed: cannot build a callbr instruction"
        );
        assert_eq!(mt.stats().get(Counter::TracesCompiledErr), 1);
        // The compile thread survived: a second location's trace is handled too.
        let loc2 = Location::new();
        iter(&mt, &loc2);
        iter(&mt, &loc2);
        mt.shutdown();
        assert!(loc2.is_dont_trace());
        assert_eq!(mt.stats().get(Counter::TracesCompiledErr), 2);
    }
}

/// Records 5 blocks at a location whose limit is 4, with `truncate`, and
/// returns the `MT` (without a trace compiler), the location and the log.
fn record_past_the_limit(
    name: &str,
    truncate: crate::config::Truncate,
) -> (Arc<MT>, Location, std::path::PathBuf) {
    testutil::register();
    let p = testutil::log_path(name);
    let c = Config {
        hot_threshold: 0,
        trace_max_len: 4,
        truncate,
        log_level: 3,
        log_dest: LogDest::File(p.clone()),
        ..Config::default()
    };
    let mt = testutil::new_mt(c);
    mt.clear_trace_compiler();
    let loc = Location::new();
    cp(&mt, &loc);
    for i in 0..4 {
        block(0, i);
    }
    assert!(flag_on());
    // The fifth block ends the recording.
    block(0, 1);
    assert!(!flag_on() && !swt::is_recording());
    (mt, loc, p)
}

#[test]
fn too_long_trace_is_aborted() {
    let (mt, loc, p) = record_past_the_limit("toolong", crate::config::Truncate::Never);
    assert_eq!(
        loc.state(),
        State::Counting {
            count: 0,
            failures: crate::location::TOO_LONG_FAILURES
        }
    );
    assert_eq!(mt.stats().get(Counter::TracesRecordedErr), 1);
    assert_eq!(mt.stats().get(Counter::TracesRecordedOk), 0);
    assert_eq!(mt.stats().get_aborts(crate::abort::AbortKind::TooLong), 1);
    assert_eq!(
        lines(&p),
        [
            "yk-jit-event: start-tracing",
            "yk-jit-event: trace-aborted: trace too long"
        ]
    );
}

#[test]
fn too_long_trace_is_truncated() {
    // Handed over (to no compiler here) rather than aborted.
    let (mt, _loc, p) = record_past_the_limit("truncated", crate::config::Truncate::Always);
    assert_eq!(mt.stats().get(Counter::TracesTruncated), 1);
    assert_eq!(mt.stats().get(Counter::TracesRecordedOk), 1);
    assert_eq!(mt.stats().get_aborts(crate::abort::AbortKind::TooLong), 0);
    assert_eq!(
        lines(&p),
        [
            "yk-jit-event: start-tracing",
            "yk-jit-event: stop-tracing: truncated at the length limit",
            "yk-jit-event: trace-aborted: trace compiler not available"
        ]
    );
}

#[test]
fn repeated_failures_end_in_dont_trace() {
    let (mt, _) = testutil::mt("dont", 1);
    let loc = Location::new();
    for _ in 0..1000 {
        iter(&mt, &loc);
    }
    assert!(loc.is_dont_trace());
    assert_eq!(
        mt.stats().get(Counter::TracesCompiledErr),
        u64::from(MAX_FAILURES)
    );
}

/// An MT as `testutil::mt` makes, recording through other loops
/// (`YKD_INNER_LOOPS_FIRST=0`).
fn mt_unrolling(name: &str, threshold: u32) -> Arc<MT> {
    testutil::register();
    testutil::new_mt(Config {
        hot_threshold: threshold,
        serialise_compilation: true,
        log_level: 3,
        log_dest: LogDest::File(testutil::log_path(name)),
        inner_loops_first: false,
        ..Config::default()
    })
}

#[test]
fn one_recording_per_thread() {
    let mt = mt_unrolling("onerec", 0);
    let (a, b) = (Location::new(), Location::new());
    cp(&mt, &a);
    assert!(matches!(a.state(), State::Tracing { .. }));
    // b is hot but this thread is busy; b is ignored and stays hot.
    cp(&mt, &b);
    cp(&mt, &b);
    assert!(matches!(b.state(), State::Counting { .. }));
    cp(&mt, &a);
    assert!(!swt::is_recording());
    cp(&mt, &b);
    assert!(matches!(b.state(), State::Tracing { .. }));
    cp(&mt, &b);
}

#[test]
fn compiled_locations_are_not_run_while_recording() {
    let mt = mt_unrolling("norun", 0);
    let trace = Arc::new(FakeTrace::default());
    mt.set_trace_compiler(FakeCompiler::new(Ok(Arc::clone(&trace))));
    let (a, b) = (Location::new(), Location::new());
    cp(&mt, &a);
    cp(&mt, &a);
    assert!(a.is_compiled());
    cp(&mt, &b);
    assert!(swt::is_recording());
    cp(&mt, &a);
    assert_eq!(trace.0.load(Ordering::Relaxed), 0);
    cp(&mt, &b);
    cp(&mt, &a);
    assert_eq!(trace.0.load(Ordering::Relaxed), 1);
}

#[test]
fn a_hot_inner_loop_defers_the_outer_recording() {
    let (mt, log) = testutil::mt("defer_hot", 0);
    let (a, b) = (Location::new(), Location::new());
    cp(&mt, &a);
    assert!(matches!(a.state(), State::Tracing { .. }));
    block(0, 1);
    // b is hot: a's recording is given up (a backs off), and b is recorded
    // at once.
    cp(&mt, &b);
    assert_eq!(
        a.state(),
        State::Counting {
            count: 0,
            failures: 1
        }
    );
    assert!(matches!(b.state(), State::Tracing { .. }));
    assert_eq!(mt.stats().get(Counter::TracesDeferred), 1);
    assert_eq!(mt.stats().get(Counter::TracesRecordedErr), 0);
    assert!(testutil::lines(&log)
        .iter()
        .any(|l| l == "yk-jit-event: trace-deferred: an inner loop is hot"));
    cp(&mt, &b);
    assert!(!swt::is_recording());
}

#[test]
fn an_inner_loop_that_iterates_in_a_recording_is_traced_first() {
    let (mt, log) = testutil::mt("defer_iter", 3);
    let (a, b) = (Location::new(), Location::new());
    for _ in 0..4 {
        cp(&mt, &a);
    }
    assert!(matches!(a.state(), State::Tracing { .. }));
    // b's first pass is not yet a loop: the recording goes on through it.
    cp(&mt, &b);
    assert!(matches!(a.state(), State::Tracing { .. }));
    assert_eq!(
        b.state(),
        State::Counting {
            count: 1,
            failures: 0
        }
    );
    // Its second pass is: b is made hot and recorded first.
    cp(&mt, &b);
    assert_eq!(
        a.state(),
        State::Counting {
            count: 0,
            failures: 1
        }
    );
    assert!(matches!(b.state(), State::Tracing { .. }));
    assert!(testutil::lines(&log)
        .iter()
        .any(|l| l == "yk-jit-event: trace-deferred: an inner loop iterates"));
    cp(&mt, &b);
    assert!(!swt::is_recording());
}

#[test]
fn a_recording_ends_at_a_compiled_location() {
    let (mt, _) = testutil::mt("linked", 0);
    let trace = Arc::new(FakeTrace::default());
    let compiler = FakeCompiler::new(Ok(Arc::clone(&trace)));
    mt.set_trace_compiler(compiler.clone());
    let (a, b) = (Location::new(), Location::new());
    cp(&mt, &b);
    cp(&mt, &b);
    assert!(b.is_compiled());
    cp(&mt, &a);
    assert!(swt::is_recording());
    block(0, 1);
    block(0, 2);
    // The recording of a ends at b's control point: a is compiled (a
    // trace that will jump to b's), and b's trace runs as the interpreter
    // passes its control point.
    cp(&mt, &b);
    assert!(!swt::is_recording());
    assert!(a.is_compiled());
    assert_eq!(mt.stats().get(Counter::TracesLinked), 1);
    assert_eq!(trace.0.load(Ordering::Relaxed), 1);
    let seen = compiler.seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1], vec![(0, 1), (0, 2)]);
}

#[test]
fn waiting_for_a_compiling_inner_loop_never_blacklists() {
    // The outer loop `a` meets its inner loop `b` while `b`'s trace is
    // being compiled, more times than `MAX_FAILURES`: each time `a`'s
    // recording is deferred and `a` backs off, but it stays a loop to trace.
    let (mt, log) = testutil::mt("defer_wait", 0);
    let (a, b) = (Location::new(), Location::new());
    assert!(b.transition(
        b.load(),
        State::Tracing {
            owner: 0,
            failures: 0
        }
    ));
    for n in 1..=2 * u64::from(MAX_FAILURES) {
        // Count `a` up to its (doubled) threshold, so that it records.
        while !matches!(a.state(), State::Tracing { .. }) {
            cp(&mt, &a);
            assert!(!a.is_dont_trace(), "after {n} deferrals");
        }
        block(0, 1);
        cp(&mt, &b);
        assert!(!swt::is_recording());
        assert!(
            matches!(a.state(), State::Counting { .. }),
            "{:?}",
            a.state()
        );
        assert_eq!(mt.stats().get(Counter::TracesDeferred), n);
    }
    assert!(testutil::lines(&log)
        .iter()
        .any(|l| l == "yk-jit-event: trace-deferred: an inner loop is being compiled"));
}

#[test]
fn deferrals_are_bounded() {
    // Two loops that keep deferring to each other (each iterates inside the
    // other's recording) end up not traced, after a bounded number of
    // deferrals each (here 9: 5 of one, 4 of the other).
    let (mt, _) = testutil::mt("defer_bounded", 3);
    let (a, b) = (Location::new(), Location::new());
    for _ in 0..4 {
        cp(&mt, &a);
    }
    assert!(matches!(a.state(), State::Tracing { .. }));
    // Each pair of passes is an inner loop iterating inside the other's
    // recording.
    for _ in 0..10_000 {
        cp(&mt, &b);
        cp(&mt, &b);
        cp(&mt, &a);
        cp(&mt, &a);
    }
    assert!(a.is_dont_trace() && b.is_dont_trace());
    let deferred = mt.stats().get(Counter::TracesDeferred);
    assert!(
        (2..=2 * u64::from(MAX_FAILURES)).contains(&deferred),
        "{deferred} deferrals"
    );
    // Once one of them is blacklisted the other's recording can close.
    assert!(mt.stats().get(Counter::TracesRecordedOk) <= 1);
    assert!(!swt::is_recording());
}

#[test]
fn no_recording_starts_over_the_compile_budget() {
    testutil::register();
    let mt = testutil::new_mt(Config {
        hot_threshold: 0,
        compile_budget: 25,
        ..Config::default()
    });
    let loc = Location::new();
    // Within the first allowance: recording starts.
    mt.stats().compile_time(
        std::time::Duration::from_millis(50),
        std::time::Duration::from_millis(50),
    );
    assert!(!mt.over_budget(1));
    // Far more compile time than a quarter of this process's CPU time.
    mt.stats().compile_time(
        std::time::Duration::from_secs(100_000),
        std::time::Duration::from_secs(100_000),
    );
    cp(&mt, &loc);
    assert!(!swt::is_recording());
    assert_eq!(
        loc.state(),
        State::Counting {
            count: 0,
            failures: 0
        }
    );
    assert_eq!(mt.stats().get(Counter::RecordingsThrottled), 1);
    // With no budget, the same compile time stops nothing.
    let free = testutil::new_mt(Config {
        hot_threshold: 0,
        compile_budget: 0,
        ..Config::default()
    });
    free.stats().compile_time(
        std::time::Duration::from_secs(100_000),
        std::time::Duration::from_secs(100_000),
    );
    assert!(!free.over_budget(1));
    cp(&free, &loc);
    assert!(swt::is_recording());
    cp(&free, &loc);
    assert!(!swt::is_recording());
}

#[test]
fn unrolling_records_through_compiled_and_hot_locations() {
    let mt = mt_unrolling("unroll", 0);
    let trace = Arc::new(FakeTrace::default());
    mt.set_trace_compiler(FakeCompiler::new(Ok(Arc::clone(&trace))));
    let (a, b, c) = (Location::new(), Location::new(), Location::new());
    cp(&mt, &b);
    cp(&mt, &b);
    assert!(b.is_compiled());
    cp(&mt, &a);
    cp(&mt, &b);
    cp(&mt, &c);
    cp(&mt, &c);
    assert!(swt::is_recording());
    assert!(matches!(a.state(), State::Tracing { .. }));
    cp(&mt, &a);
    assert!(a.is_compiled());
    assert_eq!(mt.stats().get(Counter::TracesLinked), 0);
    assert_eq!(mt.stats().get(Counter::TracesDeferred), 0);
}

#[test]
fn other_threads_ignore_a_tracing_location() {
    let (mt, _) = testutil::mt("ignore", 0);
    let loc = Location::new();
    cp(&mt, &loc);
    let w = loc.load();
    thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..10 {
                cp(&mt, &loc);
                assert!(!flag_on());
            }
        });
    });
    assert_eq!(loc.load(), w);
    cp(&mt, &loc);
    assert!(!swt::is_recording());
}

#[test]
fn thread_exit_while_recording_releases_the_location() {
    let (mt, log) = testutil::mt("exit", 0);
    let loc = Location::new();
    thread::scope(|s| {
        // An explicit join waits for the OS thread, i.e. for its thread-local
        // destructors too (the scope's implicit join need not).
        s.spawn(|| {
            cp(&mt, &loc);
            block(0, 1);
            assert!(flag_on());
        })
        .join()
        .unwrap();
    });
    assert_eq!(
        loc.state(),
        State::Counting {
            count: 0,
            failures: 1
        }
    );
    assert_eq!(mt.stats().get(Counter::TracesRecordedErr), 1);
    assert_eq!(
        lines(&log)[1],
        "yk-jit-event: trace-aborted: recording thread exited"
    );
}

#[test]
fn jit_disabled() {
    testutil::register();
    let mt = testutil::new_mt(Config {
        hot_threshold: 0,
        jit_enabled: false,
        ..Config::default()
    });
    let loc = Location::new();
    let w = loc.load();
    for _ in 0..10 {
        cp(&mt, &loc);
    }
    assert_eq!(loc.load(), w);
    assert!(!flag_on());
}

#[test]
fn null_locations_via_the_abi() {
    let (mt, _) = testutil::mt("null", 0);
    let loc = Location::null();
    // SAFETY: a live MT, a live (null) location, null vars.
    unsafe {
        assert_eq!(
            crate::abi::__ykrt_control_point(&*mt, &loc, ptr::null_mut(), 0),
            0
        );
        assert_eq!(
            crate::abi::__ykrt_control_point(&*mt, ptr::null(), ptr::null_mut(), 0),
            0
        );
    }
    assert!(loc.is_null() && !flag_on());
    // The Rust API's control point is the no-op that yk-ld rewrites.
    let l2 = Location::new();
    mt.control_point(&l2);
    assert_eq!(
        l2.state(),
        State::Counting {
            count: 0,
            failures: 0
        }
    );
}

#[test]
fn trace_blocks_log() {
    testutil::register();
    let p = testutil::log_path("blocks");
    let mt = testutil::new_mt(Config {
        hot_threshold: 0,
        log_ir: crate::config::IrLogSelection {
            trace_blocks: true,
            ..Default::default()
        },
        log_ir_dest: LogDest::File(p.clone()),
        ..Config::default()
    });
    let loc = Location::new();
    iter(&mt, &loc);
    iter(&mt, &loc);
    // A recording that does not follow the CFG (2 -> 3 is no edge).
    let loc2 = Location::new();
    cp(&mt, &loc2);
    block(0, 2);
    block(0, 3);
    cp(&mt, &loc2);
    let l = lines(&p);
    assert_eq!(
        l[..6],
        [
            "--- Begin trace-blocks ---",
            "yk-trace-block: interp 1",
            "yk-trace-block: helper 0",
            "yk-trace-block: interp 2",
            "yk-trace-check: ok",
            "--- End trace-blocks ---",
        ]
    );
    assert!(l[9].starts_with("yk-trace-check: error: step 0 -> 1: interp:2 -> interp:3"));
}

/// Many threads, one location: exactly one recording at a time, every attempt
/// accounted for, and the location ends in don't-trace (no compiler).
#[test]
fn concurrent_threads_share_a_location() {
    let (mt, _) = testutil::mt("conc1", 2);
    let loc = Location::new();
    let n = 4;
    let barrier = Barrier::new(n);
    thread::scope(|s| {
        for _ in 0..n {
            s.spawn(|| {
                barrier.wait();
                for _ in 0..20_000 {
                    iter(&mt, &loc);
                }
            });
        }
    });
    assert!(loc.is_dont_trace(), "{:?}", loc.state());
    let s = mt.stats();
    assert_eq!(
        s.get(Counter::TracesRecordedOk) + s.get(Counter::TracesRecordedErr),
        u64::from(MAX_FAILURES)
    );
    assert_eq!(
        s.get(Counter::TracesCompiledErr),
        s.get(Counter::TracesRecordedOk)
    );
}

/// Many threads, many locations, a compiler on the compile thread: every location
/// ends compiled exactly once, and traces then run.
#[test]
fn concurrent_threads_compile_many_locations() {
    testutil::register();
    // Recordings that go through other locations (which inner loops first
    // would end or defer) are what this test is about.
    let mt = testutil::new_mt(Config {
        hot_threshold: 5,
        inner_loops_first: false,
        ..Config::default()
    });
    let trace = Arc::new(FakeTrace::default());
    mt.set_trace_compiler(FakeCompiler::new(Ok(Arc::clone(&trace))));
    let locs: Vec<Location> = (0..16).map(|_| Location::new()).collect();
    let n = 4;
    thread::scope(|s| {
        for t in 0..n {
            let (mt, locs) = (&mt, &locs);
            s.spawn(move || {
                for i in 0..2_000 {
                    // Each thread walks the locations in its own order.
                    let l = &locs[(i * (t + 1) + t) % locs.len()];
                    cp(mt, l);
                    cp(mt, l);
                    block(0, 1);
                }
                // Close any recording this thread still has open. A recording
                // ends only when its thread comes back to the location it
                // started at, and it can start at either `cp` of a pair: at
                // the second when the first brought the count up to the
                // threshold (a location still counting because other threads
                // are only now getting to it). So one pass over the locations
                // may open a recording it never comes back to; pass again
                // until none is open. Each pass that ends recording has
                // moved a location from counting to compiling (which never
                // goes back here: the compiler accepts every trace), so this
                // takes at most one pass per location, and one more.
                let mut passes = 0;
                loop {
                    for l in locs {
                        cp(mt, l);
                        cp(mt, l);
                    }
                    passes += 1;
                    if !swt::is_recording() {
                        break;
                    }
                    assert!(
                        passes <= locs.len(),
                        "still recording after {passes} passes"
                    );
                }
            });
        }
    });
    // Wait for the compile thread, then run every trace once.
    mt.queue().wait_idle();
    for l in &locs {
        cp(&mt, l);
    }
    mt.shutdown();
    let s = mt.stats();
    let compiled = locs.iter().filter(|l| l.is_compiled()).count() as u64;
    assert_eq!(s.get(Counter::TracesCompiledOk), compiled);
    assert_eq!(compiled, locs.len() as u64);
    assert_eq!(s.get(Counter::TracesCompiledErr), 0);
    assert!(trace.0.load(Ordering::Relaxed) >= locs.len() as u64);
    assert_eq!(
        s.get(Counter::TraceExecutions),
        trace.0.load(Ordering::Relaxed)
    );
}

#[test]
fn stats_written_on_shutdown() {
    testutil::register();
    let p = testutil::log_path("stats");
    let mt = testutil::new_mt(Config {
        hot_threshold: 0,
        log_stats: Some(LogDest::File(p.clone())),
        ..Config::default()
    });
    let loc = Location::new();
    iter(&mt, &loc);
    iter(&mt, &loc);
    mt.shutdown();
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    assert_eq!(v["traces_recorded_ok"], 1);
    assert_eq!(v["traces_compiled_err"], 1);
    assert!(v["duration_tracing"].as_f64().unwrap() > 0.0);
    assert_eq!(v["compile_times"].as_array().unwrap().len(), 0);
}

// Traces replaced, flushed or dropped with their locations, and freed.
#[path = "mt_tests/freeing.rs"]
mod freeing;

// Recordings that end where the other kind of recording ends.
#[path = "mt_tests/kinds.rs"]
mod kinds;

/// A compiler of side traces only: a trace that starts at a guard becomes
/// a side trace (whose code is never run here), a root trace is refused.
struct SideCompiler;

unsafe extern "C" fn never_run(_: *mut u8, _: *const crate::guard::TraceInfo, _: *mut u64) -> u64 {
    unreachable!("the test runs no trace")
}

impl TraceCompiler for SideCompiler {
    fn compile(&self, mt: &MT, trace: &RecordedTrace) -> Result<Compiled, CompileError> {
        let Some((parent, _)) = trace.start.guard() else {
            return Err(CompileError::from(crate::abort::Abort::unsupported(
                "root traces are not supported by this compiler",
            )));
        };
        let info = crate::guard::TraceInfo::new(
            parent + 100,
            Vec::new(),
            trace.start_loc,
            trace.cp_func_idx,
            None,
            0,
            mt,
        );
        Ok(Compiled::Side(crate::guard::SideTrace {
            f: never_run,
            info: Box::new(info),
        }))
    }
}

/// A side trace is a trace that starts at a guard: it takes the root
/// traces' path (`MT::compile_now`, on this thread or through the compile
/// queue) and only its installation differs. A compiled one is installed in
/// its guard (and its slot), a refused one leaves the guard without one;
/// either way the location of the tree is left alone, and the log names the
/// outcome as for any trace.
#[test]
fn a_trace_that_starts_at_a_guard_is_compiled_on_the_common_path() {
    use crate::compile::{GuardStart, TraceStart};
    use crate::guard::{GuardInfo, TraceInfo};
    for (k, serialise) in [true, false].into_iter().enumerate() {
        for accept in [true, false] {
            let (mt, log) = testutil::mt(&format!("guard_start{k}{accept}"), 0);
            let compiler: Arc<dyn TraceCompiler> = if accept {
                Arc::new(SideCompiler)
            } else {
                FakeCompiler::new(Ok(Arc::default()))
            };
            let loc = Location::new();
            let before = loc.state();
            let info = TraceInfo::new(
                7,
                vec![GuardInfo::new(Vec::new()), GuardInfo::new(Vec::new())],
                LocationPtr::from(&loc),
                0,
                None,
                0,
                &*mt,
            );
            let trace = RecordedTrace {
                blocks: vec![(0, 1), (0, 2)],
                promotes: Vec::new(),
                idempotents: Vec::new(),
                start: TraceStart::Guard(GuardStart {
                    parent: &info,
                    guard: 1,
                    _pin: crate::reclaim::Pin::new(),
                }),
                start_loc: LocationPtr::from(&loc),
                end_loc: None,
                truncated: false,
                cp_func_idx: 0,
                recording_time: std::time::Duration::ZERO,
                generation: mt.generation(),
            };
            assert_eq!(trace.start.guard(), Some((7, 1)));
            if serialise {
                mt.compile_now(&*compiler, trace);
            } else {
                mt.queue().push(mt.arc(), compiler, trace);
                mt.queue().wait_idle();
            }
            assert!(info.guards[0].side.get().is_none());
            // SAFETY: the info's slots, one per guard.
            let slot = |g: usize| unsafe { &*info.side_slots.add(g) }.load(Ordering::Acquire);
            assert!(slot(0).is_null());
            let l = lines(&log);
            if accept {
                let side = info.guards[1].side.get().expect("installed in its guard");
                assert_eq!(side.info.trace_no, 107);
                assert_eq!(side.info.side_depth, 1);
                assert_eq!(slot(1), side as *const _ as *mut _);
                assert_eq!(mt.stats().get(Counter::SideTracesCompiled), 1);
                assert_eq!(l, ["yk-jit-event: side-trace-compiled"]);
            } else {
                assert!(info.guards[1].side.get().is_none());
                assert!(slot(1).is_null());
                assert_eq!(mt.stats().get(Counter::SideTracesCompiled), 0);
                assert_eq!(mt.stats().get_aborts(AbortKind::Unsupported), 1);
                assert_eq!(
                    l,
                    ["yk-jit-event: trace-aborted: side traces are not supported by this compiler"]
                );
            }
            // Neither kind of outcome touches the location or counts as a
            // root trace's.
            assert_eq!(loc.state(), before);
            assert_eq!(mt.stats().get(Counter::TracesCompiledOk), 0);
            assert_eq!(mt.stats().get(Counter::TracesCompiledErr), 0);
        }
    }
}
