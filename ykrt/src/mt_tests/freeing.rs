//! Tests of freeing: traces replaced by a jump's target, and traces whose
//! locations are dropped (while compiled, being compiled, or being recorded).

use super::*;

/// A trace that returns a jump to `to` (0: none) and records its drop.
struct JumpTrace {
    to: AtomicUsize,
    runs: AtomicU64,
    dropped: Arc<AtomicBool>,
}

impl CompiledTrace for JumpTrace {
    unsafe fn execute(&self, _vars: *mut c_void) -> u64 {
        self.runs.fetch_add(1, Ordering::Relaxed);
        // Jump once.
        self.to.swap(0, Ordering::Relaxed) as u64
    }
}

impl Drop for JumpTrace {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

fn jump_trace(to: usize) -> (Arc<JumpTrace>, Arc<AtomicBool>) {
    let dropped = Arc::new(AtomicBool::new(false));
    let t = Arc::new(JumpTrace {
        to: AtomicUsize::new(to),
        runs: AtomicU64::new(0),
        dropped: dropped.clone(),
    });
    (t, dropped)
}

#[test]
fn jumps_run_the_reached_trace_and_replaced_traces_are_freed() {
    let (mt, _log) = testutil::mt("jumps", 100);
    let (a, b, c) = (Location::new(), Location::new(), Location::new());
    // A jumps to B, B back to A (once each), C has no trace.
    let (ta, a_dropped) = jump_trace(&b as *const Location as usize);
    let (tb, _) = jump_trace(&a as *const Location as usize);
    assert!(a.install(a.load(), ta.clone(), 0, mt.on_trace_freed()));
    assert!(b.install(b.load(), tb.clone(), 0, mt.on_trace_freed()));
    assert_eq!(cp(&mt, &a), 0);
    assert_eq!(ta.runs.load(Ordering::Relaxed), 2);
    assert_eq!(tb.runs.load(Ordering::Relaxed), 1);
    assert_eq!(mt.stats().get(Counter::TraceJumps), 2);
    // A jump to a location without a trace counts it, as the interpreter's
    // control point would, and the interpreter resumes.
    ta.to
        .store(&c as *const Location as usize, Ordering::Relaxed);
    assert_eq!(cp(&mt, &a), 0);
    assert_eq!(
        c.state(),
        State::Counting {
            count: 1,
            failures: 0
        }
    );
    // Re-recording A retires its trace: freed once no thread is in it (other
    // tests' threads may be passing through fake traces: wait a little).
    drop(ta);
    assert!(mt.re_record(&a));
    assert!(matches!(a.state(), State::Counting { .. }));
    let mut freed = false;
    for _ in 0..500 {
        crate::reclaim::try_reclaim();
        if a_dropped.load(Ordering::SeqCst) {
            freed = true;
            break;
        }
        thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(freed);
    assert_eq!(mt.stats().get(Counter::TracesFreed), 1);
}

/// Polls until `flag` is set, calling `reclaim` (other tests' threads may
/// be passing through fake traces and delay freeing a little).
fn freed_soon(flag: &AtomicBool) -> bool {
    for _ in 0..500 {
        crate::reclaim::try_reclaim();
        if flag.load(Ordering::SeqCst) {
            return true;
        }
        thread::sleep(std::time::Duration::from_millis(10));
    }
    false
}

/// A compiler that makes a new trace for each recording (a jump to nowhere:
/// it runs once and returns), keeping each one's drop flag; with a gate, it
/// waits on it before returning each trace.
#[derive(Default)]
struct FreshCompiler {
    made: std::sync::Mutex<Vec<(Arc<AtomicBool>, std::sync::Weak<JumpTrace>)>>,
    gate: Option<std::sync::Mutex<std::sync::mpsc::Receiver<()>>>,
    started: Option<std::sync::Mutex<std::sync::mpsc::Sender<()>>>,
}

impl TraceCompiler for FreshCompiler {
    fn compile(&self, _mt: &MT, trace: &RecordedTrace) -> Result<Compiled, CompileError> {
        if trace.start.guard().is_some() {
            return Err(crate::compile::unsupported_side_trace());
        }
        let (t, dropped) = jump_trace(0);
        self.made
            .lock()
            .unwrap()
            .push((dropped, Arc::downgrade(&t)));
        if let (Some(started), Some(gate)) = (&self.started, &self.gate) {
            started.lock().unwrap().send(()).unwrap();
            gate.lock().unwrap().recv().unwrap();
        }
        Ok(Compiled::Root(t))
    }
}

/// Dropping a location whose trace is compiled frees the trace (the
/// interpreter dropped an unreachable function's locations): each of many
/// locations' traces is gone, and counted in `traces_freed`, once its
/// location is dropped.
#[test]
fn dropped_locations_free_their_traces() {
    let (mt, _log) = testutil::mt("dropfree", 0);
    let comp = Arc::new(FreshCompiler::default());
    mt.set_trace_compiler(comp.clone());
    const N: usize = 50;
    for i in 0..N {
        let loc = Box::new(Location::new());
        iter(&mt, &loc);
        iter(&mt, &loc);
        assert!(loc.is_compiled());
        iter(&mt, &loc);
        let (dropped, weak) = comp.made.lock().unwrap()[i].clone();
        assert_eq!(weak.upgrade().unwrap().runs.load(Ordering::Relaxed), 1);
        assert!(!dropped.load(Ordering::SeqCst));
        drop(loc);
        assert!(freed_soon(&dropped), "trace {i} not freed");
        assert!(weak.upgrade().is_none());
    }
    assert_eq!(mt.stats().get(Counter::TracesCompiledOk), N as u64);
    assert_eq!(mt.stats().get(Counter::TracesFreed), N as u64);
}

/// A location dropped while its trace is being compiled on the compile
/// thread: the compilation never touches it. Its memory is reused at once
/// for a new location (as a C allocator would), which is recorded and
/// queued too: the first trace must not be installed in the new location
/// (it is dropped unused); the new location gets its own. A location
/// dropped while its recording waits in the queue is not compiled.
#[test]
fn a_location_dropped_while_compiling_is_left_alone() {
    testutil::register();
    let mt = testutil::new_mt(Config {
        hot_threshold: 0,
        serialise_compilation: false,
        compile_budget: 0,
        ..Config::default()
    });
    let (gate_tx, gate_rx) = std::sync::mpsc::channel();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let comp = Arc::new(FreshCompiler {
        made: Default::default(),
        gate: Some(std::sync::Mutex::new(gate_rx)),
        started: Some(std::sync::Mutex::new(started_tx)),
    });
    mt.set_trace_compiler(comp.clone());
    let mut slot = Box::new(Location::new());
    iter(&mt, &slot);
    iter(&mt, &slot);
    // The first trace is compiled and waits at the gate.
    started_rx.recv().unwrap();
    assert!(matches!(slot.state(), State::Tracing { owner: 0, .. }));
    // SAFETY: the location is dropped once, then its memory reinitialised.
    unsafe {
        ptr::drop_in_place(&mut *slot);
        ptr::write(&mut *slot, Location::new());
    }
    iter(&mt, &slot);
    iter(&mt, &slot);
    assert!(matches!(slot.state(), State::Tracing { owner: 0, .. }));
    // A third location, queued and dropped before its compilation starts:
    // it is not compiled at all.
    let other = Box::new(Location::new());
    iter(&mt, &other);
    iter(&mt, &other);
    assert!(matches!(other.state(), State::Tracing { owner: 0, .. }));
    drop(other);
    // Let the compilations finish (a third gate message in case the third
    // trace were compiled, so that the test fails rather than hangs).
    gate_tx.send(()).unwrap();
    started_rx.recv().unwrap();
    gate_tx.send(()).unwrap();
    gate_tx.send(()).unwrap();
    mt.queue().wait_idle();
    let made = comp.made.lock().unwrap().clone();
    assert_eq!(made.len(), 2);
    assert!(made[0].1.upgrade().is_none() && made[0].0.load(Ordering::SeqCst));
    assert!(slot.is_compiled());
    iter(&mt, &slot);
    assert_eq!(made[1].1.upgrade().unwrap().runs.load(Ordering::Relaxed), 1);
    assert_eq!(mt.stats().get(Counter::TracesCompiledOk), 1);
    drop(slot);
    assert!(freed_soon(&made[1].0));
    assert_eq!(mt.stats().get(Counter::TracesFreed), 1);
}

/// A location dropped while this thread records it: the recording is
/// given up at once (and never touches the location again), and the
/// location's memory can be reused for a location that is traced normally.
#[test]
fn dropping_the_recorded_location_aborts_the_recording() {
    let (mt, log) = testutil::mt("droprec", 0);
    let comp = Arc::new(FreshCompiler::default());
    mt.set_trace_compiler(comp.clone());
    let mut slot = Box::new(Location::new());
    iter(&mt, &slot);
    assert!(swt::is_recording());
    // SAFETY: the location is dropped once, then its memory reinitialised.
    unsafe {
        ptr::drop_in_place(&mut *slot);
        ptr::write(&mut *slot, Location::new());
    }
    assert!(!swt::is_recording() && !flag_on());
    assert_eq!(mt.stats().get(Counter::TracesRecordedErr), 1);
    assert_eq!(
        lines(&log)[1],
        "yk-jit-event: trace-aborted: its location was dropped"
    );
    assert_eq!(
        slot.state(),
        State::Counting {
            count: 0,
            failures: 0
        }
    );
    iter(&mt, &slot);
    iter(&mt, &slot);
    assert!(slot.is_compiled());
    assert_eq!(comp.made.lock().unwrap().len(), 1);
}

#[test]
fn suspension_is_bounded() {
    let (mt, _log) = testutil::mt("suspend", 100);
    let a = Location::new();
    // Each suspension (a guard refused its side trace by the compile
    // budget) counts as a failure: counting again from zero at a doubled
    // threshold, and after `MAX_FAILURES` never traced again.
    for f in 1..crate::location::MAX_FAILURES {
        let (t, _) = jump_trace(0);
        assert!(a.install(a.load(), t, 0, mt.on_trace_freed()));
        assert!(mt.suspend(&a), "suspension {f}");
        assert_eq!(
            a.state(),
            State::Counting {
                count: 0,
                failures: f
            }
        );
    }
    let (t, _) = jump_trace(0);
    assert!(a.install(a.load(), t, 0, mt.on_trace_freed()));
    assert!(mt.suspend(&a));
    assert!(a.is_dont_trace());
    assert_eq!(
        mt.stats().get(Counter::TracesSuspended),
        u64::from(crate::location::MAX_FAILURES)
    );
}

#[test]
fn re_recording_is_bounded() {
    let (mt, _log) = testutil::mt("rerecord", 100);
    let a = Location::new();
    // Each re-recording counts as a failure: the location comes back to
    // counting at its doubled threshold, ready to be recorded at once.
    for f in 1..crate::location::MAX_FAILURES {
        let (t, _) = jump_trace(0);
        assert!(a.install(a.load(), t, 0, mt.on_trace_freed()));
        assert!(mt.re_record(&a), "re-recording {f}");
        let State::Counting { count, failures } = a.state() else {
            panic!("not counting after re-recording {f}: {:?}", a.state());
        };
        assert_eq!(failures, f);
        assert_eq!(count, 100 << f);
    }
    // The last trace stays: no more re-recording.
    let (t, _) = jump_trace(0);
    assert!(a.install(a.load(), t, 0, mt.on_trace_freed()));
    assert!(!mt.re_record(&a));
    assert!(matches!(a.state(), State::Compiled(_)));
}
