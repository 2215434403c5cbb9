//! Deoptimisation: what a failing guard does.
//!
//! A guard that fails stores the AOT values live at that point (for every
//! frame the trace had inlined: only those the AOT IR's liveness says are
//! live) into a buffer and calls [`__yk_guard_exit`] (a side trace's guards:
//! [`__yk_side_guard_exit`]) from the trace's own frame, so inlined frames'
//! stack memory (the trace's allocas) stays valid. That runs the guard's
//! side trace if it has one, else [`__yk_guard_failed`]: the runtime
//! rebuilds the frames and runs the [`blackhole`] until the
//! outermost frame reaches the control point, whose code has written the
//! interpreter's state into `YkCtrlPointVars`. The trace then re-enters its
//! loop (the location is its own) or returns to the interpreter.

pub mod blackhole;
pub mod error;
pub mod ffi;

use crate::guard::{
    now_ms, GuardRuntime, TraceInfo, EXCUSED_SIDES, GIVE_UP_RATIO, MAX_SIDE_DEPTH,
    SIDE_BUDGET_SCALE, SIDE_FAILED, SIDE_IDLE, SIDE_RECORDING, SIDE_TOO_LONG, SUSPEND_AFTER,
    TRUNCATE_AFTER,
};
use crate::location::{Location, LocationPtr};
use crate::log::JitEvent;
use crate::mt::MT;
use crate::stats::{Counter, Timer};
use crate::trace::swt;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// What [`__yk_guard_failed`] returns to the trace (the contract crate's
/// outcome codes).
pub use yk_abi::outcome;

// The guard exits have the contract's signature.
const _: yk_abi::GuardExitFn<TraceInfo> = __yk_guard_exit;
const _: yk_abi::GuardExitFn<TraceInfo> = __yk_side_guard_exit;

/// Called by a trace's failing guard `guard` with the live values in `buf`:
/// runs the guard's side trace if it has one, else the blackhole (recording
/// a side trace once the guard has failed often enough). Returns an
/// [`outcome`].
///
/// # Safety
/// Only compiled traces call this, with their own `TraceInfo`.
#[no_mangle]
pub unsafe extern "C" fn __yk_guard_failed(
    info: *const TraceInfo,
    guard: u64,
    buf: *const u64,
    vars: *mut u8,
) -> u64 {
    // SAFETY: the trace passes its own info, which lives as long as its code.
    let info = unsafe { &*info };
    let g = &info.guards[guard as usize];
    if let Some(side) = g.side.get() {
        // SAFETY: the trace stored this guard's live values in `0..nin`.
        let live = unsafe { std::slice::from_raw_parts(buf, g.nin) };
        // SAFETY: the side trace starts from exactly these values.
        return unsafe { side.info.run(side.f, vars, live) };
    }
    // SAFETY: as this function's contract.
    // (The runtime is alive: the trace is running.)
    unsafe { info.runtime().guard_failed(info, guard, buf, vars) }
}

/// The blackhole's half of [`__yk_guard_failed`] (`MT`'s
/// [`GuardRuntime::guard_failed`]): count and log the failure, decide about
/// the guard's side trace and the trace's future, rebuild the frames and
/// run the blackhole.
///
/// # Safety
/// As [`__yk_guard_failed`].
unsafe fn guard_failed(
    mt: &MT,
    info: &TraceInfo,
    guard: u64,
    buf: *const u64,
    vars: *mut u8,
) -> u64 {
    let g = &info.guards[guard as usize];
    // SAFETY: the trace stored this guard's live values in `0..nin`.
    let live = unsafe { std::slice::from_raw_parts(buf, g.nin) };
    let t0 = Instant::now();
    mt.stats().count(Counter::GuardFailures);
    mt.log().event(JitEvent::Deoptimise, Some(info.start_loc));
    let fails = g.fails.fetch_add(1, Ordering::Relaxed) + 1;
    let want = fails >= mt.sidetrace_threshold()
        && info.side_depth < MAX_SIDE_DEPTH
        && !swt::is_recording()
        && g.side_state.load(Ordering::Relaxed) == SIDE_IDLE;
    let over = want && mt.over_budget(SIDE_BUDGET_SCALE);
    // Does the trace leave here at least once every `GIVE_UP_RATIO` of its
    // loop's iterations? Then each of those exits, through the blackhole,
    // costs more than the iterations the trace saves.
    let frequent = || {
        // SAFETY: `iters` points into the root trace's counters, which live
        // as long as the root trace, and so as long as this trace.
        let iters = unsafe { &*info.iters }.load(Ordering::Relaxed);
        u64::from(fails).saturating_mul(GIVE_UP_RATIO) >= iters
    };
    if over && fails >= SUSPEND_AFTER && frequent() {
        // The guard keeps failing, often, and the budget refuses its side
        // trace: the trace now runs slower than the interpreter would. Give
        // it up; its location counts again and is recorded anew once the
        // budget allows. (A guard that fails rarely, such as an inner
        // loop's exit, leaves a trace that pays for itself alone.)
        // SAFETY: the location outlives its traces.
        mt.suspend(unsafe { info.start_loc.get() });
    }
    let mut given_up = false;
    let state = g.side_state.load(Ordering::Relaxed);
    if info.side_depth == 0
        && fails >= SUSPEND_AFTER
        && (state == SIDE_FAILED || state == SIDE_TOO_LONG)
        && frequent()
    {
        // This guard's side trace could not be built, and the trace
        // leaves here often: interpret the loop instead (this run too: the
        // trace is left below, not re-entered).
        // SAFETY: the location outlives its traces.
        given_up = mt.give_up(unsafe { info.start_loc.get() });
    }
    let pending = g.side_pending(now_ms());
    if !given_up && info.losing(pending) {
        // A tree that grew many side traces and still loses is
        // megamorphic: recording it again would not help.
        let sides = info.tree().sides.load(Ordering::Relaxed);
        // SAFETY: the location outlives its traces.
        given_up = mt.retire_losing(unsafe { info.start_loc.get() }, sides >= EXCUSED_SIDES);
    }
    let record = want
        && !given_up
        && !over
        && g.side_state
            .compare_exchange(
                SIDE_IDLE,
                SIDE_RECORDING,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok();
    // A guard whose side trace was too long to record and that keeps
    // failing: record it once more, truncated (see `TRUNCATE_AFTER`).
    let retry = !record
        && !given_up
        && state == SIDE_TOO_LONG
        && fails >= TRUNCATE_AFTER
        && mt.config().truncate != crate::config::Truncate::Never
        && !swt::is_recording()
        && !mt.over_budget(SIDE_BUDGET_SCALE)
        && g.side_state
            .compare_exchange(
                SIDE_TOO_LONG,
                SIDE_RECORDING,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok();
    if retry {
        g.side_retried.store(true, Ordering::Relaxed);
    }
    let record = record || retry;
    if record {
        g.side_since.store(now_ms(), Ordering::Relaxed);
        mt.start_side_tracing(info, guard as u32, vars as usize, retry);
    }
    let mut frames: Vec<blackhole::Frame> = g
        .frames
        .iter()
        .map(|fi| {
            let mut f = blackhole::Frame::new(fi.prog.clone(), fi.block, fi.idx, fi.call_dst);
            for &(reg, ty, src) in &fi.live {
                // SAFETY: `vars` is the failing trace's.
                f.regs[reg as usize] = ty.canon(unsafe { src.value(live, vars) });
            }
            f
        })
        .collect();
    let ret_field = info.ret_field;
    // SAFETY: the frames are the AOT state at the guard.
    let out = unsafe { blackhole::run(&mut frames, record) };
    let r = match out {
        Ok(blackhole::Outcome::ControlPoint(loc)) => {
            // Back at the root's loop, the side trace is complete; elsewhere
            // the recording goes on in the interpreter (see
            // `MT::control_point_raw`).
            if record && loc == info.start_loc.addr() as u64 {
                mt.stop_side_tracing();
            }
            if loc == info.start_loc.addr() as u64 {
                if given_up {
                    outcome::RESUME
                } else {
                    outcome::REENTER
                }
            } else if outcome::is_jump(loc) {
                // Another location: the runtime passes its control point
                // (counting it, or running its trace) as the interpreter would.
                loc
            } else {
                outcome::RESUME
            }
        }
        Ok(blackhole::Outcome::Returned(v)) => {
            if record {
                swt::abort_current(&crate::abort::Abort::recording(
                    "the interpreter function returned",
                ));
            }
            if let (Some((off, ty)), Some(&x)) = (ret_field, v.first()) {
                let b = x.to_le_bytes();
                // SAFETY: the field is in the caller's vars.
                unsafe {
                    std::ptr::copy_nonoverlapping(b.as_ptr(), vars.add(off as usize), ty.bytes())
                };
            }
            // The interpreter function ran to its end: it may have shut the
            // MT down (a C `main`), so touch nothing of the runtime's now.
            return outcome::RETURN;
        }
        Err(e) => {
            // Continuing would run the interpreter from a wrong state.
            let msg = error::report(&e, info.trace_no, guard, info.start_loc, &frames);
            mt.log().fatal(&msg);
            std::process::abort();
        }
    };
    mt.stats().time(Timer::Deopting, t0.elapsed());
    r
}

impl GuardRuntime for MT {
    unsafe fn guard_failed(
        &self,
        info: &TraceInfo,
        guard: u64,
        buf: *const u64,
        vars: *mut u8,
    ) -> u64 {
        // SAFETY: as the trait's contract.
        unsafe { guard_failed(self, info, guard, buf, vars) }
    }

    /// Re-optimisation (called by a root trace's guard exit when the side
    /// trace of one of its guards ran for most of the loop's recent
    /// iterations: the program's hot path changed): the location goes back
    /// to counting, at its threshold, so that the next pass records the
    /// loop again, along the path it takes now; the new trace replaces this
    /// one. (The trace then leaves its loop.) This trace is retired: freed
    /// once no thread can be running it (`crate::reclaim`).
    unsafe fn reoptimise(&self, info: &TraceInfo) {
        if info.re_recorded.swap(true, Ordering::AcqRel) {
            return;
        }
        // SAFETY: the location outlives its traces.
        let loc = unsafe { info.start_loc.get() };
        if self.re_record(loc) {
            self.stats().count(Counter::TracesReRecorded);
            self.log()
                .event(JitEvent::TraceReRecorded, Some(info.start_loc));
        }
    }

    /// Logs `enter-jit-code`, as [`MT::control_point_raw`] does for the
    /// traces it enters, so that the log shows every entry however it is
    /// made.
    fn entering(&self, loc: LocationPtr) {
        self.log().event(JitEvent::EnterJitCode, Some(loc));
    }
}

/// What a trace's direct jump (`location::DirectEntry`) calls, when JIT
/// events are logged (`YKD_LOG=3`), just before entering the trace at
/// `loc` (see [`GuardRuntime::entering`]).
///
/// # Safety
/// `info` is the jumping trace's info, `loc` the location it jumps to (both
/// alive while the trace runs).
pub(crate) unsafe extern "C" fn log_direct_entry(info: *const TraceInfo, loc: *const Location) {
    // SAFETY: as this function's contract.
    unsafe { (*info).runtime().entering((&*loc).into()) }
}

/// What a failing guard of a root trace calls, with its live values stored
/// in `buf`: runs the guard's side trace if it has one (counting its runs
/// for re-optimisation), else [`__yk_guard_failed`]. Returns an
/// [`outcome`]. Out of line, so that each guard's exit in the trace is a
/// few stores and one call.
///
/// # Safety
/// Only compiled root traces call this, with their own `TraceInfo`.
#[no_mangle]
pub unsafe extern "C" fn __yk_guard_exit(
    info: *const TraceInfo,
    guard: u64,
    buf: *mut u64,
    vars: *mut u8,
) -> u64 {
    // SAFETY: as this function's contract.
    unsafe { guard_exit(info, guard, buf, vars, true) }
}

/// [`__yk_guard_exit`] for a side trace's guards (side traces don't count
/// for re-optimisation).
///
/// # Safety
/// Only compiled side traces call this, with their own `TraceInfo`.
#[no_mangle]
pub unsafe extern "C" fn __yk_side_guard_exit(
    info: *const TraceInfo,
    guard: u64,
    buf: *mut u64,
    vars: *mut u8,
) -> u64 {
    // SAFETY: as this function's contract.
    unsafe { guard_exit(info, guard, buf, vars, false) }
}

/// Runs the guard's side trace (counting its run for re-optimisation if
/// `count`), or the blackhole.
///
/// # Safety
/// As [`__yk_guard_exit`].
unsafe fn guard_exit(
    info: *const TraceInfo,
    guard: u64,
    buf: *mut u64,
    vars: *mut u8,
    count: bool,
) -> u64 {
    // SAFETY: the caller's contract.
    unsafe {
        match run_side(&*info, guard, buf, vars) {
            Some(r) if count => (*info).count_side_run(guard as usize, r),
            Some(r) => r,
            None => __yk_guard_failed(info, guard, buf, vars),
        }
    }
}

/// Runs guard `guard`'s side trace, if it has one that takes the trace's
/// buffer (`TraceInfo::side_slots`), and returns its outcome.
///
/// # Safety
/// `buf` and `vars` are the failing trace's.
unsafe fn run_side(info: &TraceInfo, guard: u64, buf: *mut u64, vars: *mut u8) -> Option<u64> {
    // SAFETY: one slot per guard.
    let slot = unsafe { &*info.side_slots.add(guard as usize) };
    let side = slot.load(Ordering::Acquire);
    if side.is_null() {
        return None;
    }
    // SAFETY: a published side trace lives as long as its parent's info,
    // and takes the parent's buffer (it fits `SMALL_BUF`).
    unsafe {
        let side = &*side;
        Some((side.f)(vars, &*side.info, buf))
    }
}

/// What a root trace whose guard's side trace was compiled into it (see
/// `jit::tier`, "stitching") calls after running the side trace's code,
/// which returned `r`: counts the run for re-optimisation, as
/// [`__yk_guard_exit`] does after calling a side trace, and returns the
/// outcome to go on with.
///
/// # Safety
/// `info` is the calling root trace's own info, `g` one of its guards.
pub(crate) unsafe extern "C" fn __yk_side_ran(info: *const TraceInfo, g: u64, r: u64) -> u64 {
    // SAFETY: as this function's contract.
    unsafe { (*info).count_side_run(g as usize, r) }
}
