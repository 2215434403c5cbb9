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
pub mod prog;

use crate::compile::{CompileError, Compiled, GuardStart, RecordedTrace, TraceStart};
use crate::location::LocationPtr;
use crate::log::JitEvent;
use crate::mt::MT;
use crate::stats::{Counter, Timer};
use crate::trace::swt;
use prog::{Prog, Ty};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// What [`__yk_guard_failed`] returns to the trace (the contract crate's
/// outcome codes).
pub use yk_abi::outcome;

/// One frame to rebuild at a guard.
#[derive(Clone)]
pub struct FrameInfo {
    /// The frame's function.
    pub prog: Arc<Prog>,
    /// Where it resumes: block and instruction index.
    pub block: u32,
    /// See `block`.
    pub idx: u32,
    /// `(register, type, where the value is)` of each live value.
    pub live: Vec<(u32, Ty, LiveSrc)>,
    /// The register receiving the inner frame's return value.
    pub call_dst: u32,
}

/// A trace function: `(vars, info, live-value buffer) -> outcome`.
pub type TraceFn = yk_abi::TraceFn<TraceInfo>;

// The guard exits have the contract's signature.
const _: yk_abi::GuardExitFn<TraceInfo> = __yk_guard_exit;
const _: yk_abi::GuardExitFn<TraceInfo> = __yk_side_guard_exit;

/// Slots of live-value buffer kept on the stack (larger needs use the heap).
pub const SMALL_BUF: usize = 256;

/// A compiled side trace: it starts from its guard's live values (in the
/// buffer) and ends at a control point. `repr(C)`: a guard's failure path
/// loads `f` and `info` from it (see [`TraceInfo::side_slots`]).
#[repr(C)]
pub struct SideTrace {
    /// Its code.
    pub f: TraceFn,
    /// Its guards (a side trace's guards can have side traces too).
    pub info: Box<TraceInfo>,
}

/// A side trace this many levels below its root trace records no side traces
/// of its own: its failing guards go to the blackhole. Without a bound, a
/// guard that fails with a new value every time (a loop that calls a freshly
/// loaded Lua function on each iteration: a new prototype each time) grows a
/// chain of side traces, one more compilation per iteration.
pub const MAX_SIDE_DEPTH: u32 = 8;

/// Side-trace state of a guard.
const SIDE_IDLE: u8 = 0;
const SIDE_RECORDING: u8 = 1;
const SIDE_FAILED: u8 = 2;

/// Where a guard's live value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveSrc {
    /// In this slot of the trace's buffer.
    Slot(u32),
    /// A constant of the trace (its bits).
    Const(u64),
}

/// A trace tree's health counters (see [`EXIT_WINDOW`]), kept by its root
/// trace and shared by its side traces.
#[derive(Default)]
struct TreeCounters {
    /// The tree's exits through the blackhole (those counted).
    exits: AtomicU64,
    /// The root loop's iteration count when the current window began.
    window_start: AtomicU64,
    /// The tree's side traces.
    sides: AtomicU64,
}

/// One guard: its frames, outermost (the control point's function) first.
pub struct GuardInfo {
    /// The frames.
    pub frames: Vec<FrameInfo>,
    /// Buffer slots its live values occupy (`0..nin`).
    pub nin: usize,
    /// How often it failed.
    pub fails: AtomicU32,
    /// Its side trace, once compiled.
    pub side: OnceLock<SideTrace>,
    /// `SIDE_IDLE`, `SIDE_RECORDING` or `SIDE_FAILED`.
    side_state: AtomicU8,
    /// When its side trace's recording started ([`now_ms`]).
    side_since: AtomicU64,
}

impl GuardInfo {
    /// Is this guard's side trace being recorded or compiled, started less
    /// than [`PENDING_GRACE_MS`] before `now` ([`now_ms`])?
    fn side_pending(&self, now: u64) -> bool {
        self.side_state.load(Ordering::Relaxed) == SIDE_RECORDING
            && self.side.get().is_none()
            && now.saturating_sub(self.side_since.load(Ordering::Relaxed)) < PENDING_GRACE_MS
    }

    /// A guard with these frames that never failed.
    pub fn new(frames: Vec<FrameInfo>) -> GuardInfo {
        let nin = frames
            .iter()
            .flat_map(|f| &f.live)
            .filter_map(|l| match l.2 {
                LiveSrc::Slot(s) => Some(s as usize + 1),
                LiveSrc::Const(_) => None,
            })
            .max()
            .unwrap_or(0);
        GuardInfo {
            frames,
            nin,
            fails: AtomicU32::new(0),
            side: OnceLock::new(),
            side_state: AtomicU8::new(SIDE_IDLE),
            side_since: AtomicU64::new(0),
        }
    }
}

/// What a compiled trace's guards need at run time. `repr(C)`: the trace
/// reads `side_slots` (first field) itself.
#[repr(C)]
pub struct TraceInfo {
    /// One slot per guard: its side trace once compiled (else null). A
    /// failing guard calls a side trace in its slot directly.
    pub side_slots: *const AtomicPtr<SideTrace>,
    /// Counters a root trace keeps for re-optimisation (second field, read
    /// and written by the trace): `[0]` its loop's iterations, then per
    /// guard `g` at `[1 + 2g]` the runs of its side trace in the current
    /// window and at `[2 + 2g]` the iteration count the window began at.
    pub counters: *const AtomicU64,
    /// The iteration count of the root trace's loop: `counters[0]` of the
    /// root trace, for a side trace its root's.
    iters: *const AtomicU64,
    /// The tree's health counters: `tree_own` of the root trace, which its
    /// side traces share.
    tree: *const TreeCounters,
    /// Owns what `tree` points to in a root trace.
    tree_own: Box<TreeCounters>,
    /// Owns what `side_slots` points to.
    slots: Vec<AtomicPtr<SideTrace>>,
    /// Owns what `counters` points to.
    cnt: Vec<AtomicU64>,
    /// Set once the trace has asked for its location to be re-recorded.
    re_recorded: AtomicBool,
    /// The trace's number (the compiler's key for its guards' sources).
    pub trace_no: u64,
    /// The guards, by the index the trace passes.
    pub guards: Vec<GuardInfo>,
    /// The location of the root trace's loop.
    pub start_loc: LocationPtr,
    /// The function containing the control point.
    pub cp_func_idx: u64,
    /// Where the interpreter function's return value goes in `vars`.
    pub ret_field: Option<(u64, Ty)>,
    /// Slots in the live-value buffer the trace takes.
    pub nslots: usize,
    /// 0 for a root trace, its parent's plus 1 for a side trace (see
    /// [`MAX_SIDE_DEPTH`]).
    pub side_depth: u32,
    /// The MT (it outlives every running trace).
    pub mt: *const MT,
    /// A root trace's compiler hook for code replaced while the trace runs
    /// (tiered compilation): the trace's code calls it through
    /// `__yk_tier_check` every `TIER_CHECK_ITERS` iterations of its loop
    /// with its own address; it answers whether that code is no longer the
    /// trace's, so that a trace entered once and looping ever since still
    /// moves to its recompiled code (it leaves at its loop's head, and the
    /// interpreter enters the new code at its next control point). Unset:
    /// never replaced.
    pub tier_hook: std::sync::OnceLock<Box<dyn Fn(usize) -> bool + Send + Sync>>,
    /// What owns the trace's machine code, if the compiler frees it: dropped
    /// with the info, i.e. with the root trace (side traces' infos are owned
    /// by their parents' guards), once no thread can be running it.
    pub code: Option<Box<dyn Send + Sync>>,
}

// The generated code reads `side_slots` and `counters` at the contract's offsets.
const _: () = {
    use std::mem::offset_of;
    assert!(offset_of!(TraceInfo, side_slots) == yk_abi::trace_info::SIDE_SLOTS_OFFSET);
    assert!(offset_of!(TraceInfo, counters) == yk_abi::trace_info::COUNTERS_OFFSET);
};

// SAFETY: the MT pointer is only used for its thread-safe parts; the slots
// are atomics.
unsafe impl Send for TraceInfo {}
unsafe impl Sync for TraceInfo {}

impl TraceInfo {
    /// The info of a trace with these guards.
    pub fn new(
        trace_no: u64,
        guards: Vec<GuardInfo>,
        start_loc: LocationPtr,
        cp_func_idx: u64,
        ret_field: Option<(u64, Ty)>,
        nslots: usize,
        mt: &MT,
    ) -> TraceInfo {
        let slots: Vec<AtomicPtr<SideTrace>> = (0..guards.len())
            .map(|_| AtomicPtr::new(std::ptr::null_mut()))
            .collect();
        let cnt: Vec<AtomicU64> = (0..1 + 2 * guards.len())
            .map(|_| AtomicU64::new(0))
            .collect();
        let tree_own = Box::<TreeCounters>::default();
        TraceInfo {
            side_slots: slots.as_ptr(),
            counters: cnt.as_ptr(),
            iters: cnt.as_ptr(),
            tree: &*tree_own,
            tree_own,
            slots,
            cnt,
            re_recorded: AtomicBool::new(false),
            trace_no,
            guards,
            start_loc,
            cp_func_idx,
            ret_field,
            nslots,
            side_depth: 0,
            mt,
            tier_hook: std::sync::OnceLock::new(),
            code: None,
        }
    }

    /// The counters of this trace's tree.
    fn tree(&self) -> &TreeCounters {
        // SAFETY: `tree` points to the root trace's counters, and the root
        // trace outlives its side traces.
        unsafe { &*self.tree }
    }

    /// Is a side trace of one of this trace's guards pending (see
    /// [`GuardInfo::side_pending`])? The recompilation of a root trace
    /// waits for it, so as to compile it in (see `jit::stitch`).
    pub(crate) fn side_in_progress(&self) -> bool {
        let now = now_ms();
        self.guards.iter().any(|g| g.side_pending(now))
    }

    /// Counts one blackhole exit of this trace's tree, at a guard whose
    /// side trace is `pending` (being recorded or compiled, for less than
    /// [`PENDING_GRACE_MS`]) or not: at the
    /// end of each [`EXIT_WINDOW`] of them, whether the tree ran fewer than
    /// [`GIVE_UP_RATIO`] of its loop's iterations per exit in that window.
    /// Pending exits are not counted while the tree has fewer than
    /// [`EXCUSED_SIDES`] side traces.
    fn losing(&self, pending: bool) -> bool {
        let tree = self.tree();
        if pending && tree.sides.load(Ordering::Relaxed) < EXCUSED_SIDES {
            return false;
        }
        let e = tree.exits.fetch_add(1, Ordering::Relaxed) + 1;
        if !e.is_multiple_of(EXIT_WINDOW) {
            return false;
        }
        // SAFETY: as `exits`.
        let now = unsafe { &*self.iters }.load(Ordering::Relaxed);
        let then = tree.window_start.swap(now, Ordering::Relaxed);
        now.saturating_sub(then) < EXIT_WINDOW * GIVE_UP_RATIO
    }

    /// Runs a trace function with this info and a fresh buffer holding the
    /// first `inputs.len()` slots from `inputs`.
    ///
    /// # Safety
    /// `f` is the trace compiled with this info; `vars` its control point's.
    pub unsafe fn run(&self, f: TraceFn, vars: *mut u8, inputs: &[u64]) -> u64 {
        // The buffer lives on this thread's stack: traces may run on several
        // threads at once. It has at least `SMALL_BUF` slots, so that side
        // traces that fit can be called with their parent's buffer.
        let n = self.nslots.max(inputs.len());
        // SAFETY: the buffer has the slots the trace's guards use; the trace
        // writes each slot before reading it.
        unsafe {
            if n <= SMALL_BUF {
                let mut buf = std::mem::MaybeUninit::<[u64; SMALL_BUF]>::uninit();
                let p = buf.as_mut_ptr().cast::<u64>();
                std::ptr::copy_nonoverlapping(inputs.as_ptr(), p, inputs.len());
                f(vars, self, p)
            } else {
                let mut buf = vec![0u64; n];
                buf[..inputs.len()].copy_from_slice(inputs);
                f(vars, self, buf.as_mut_ptr())
            }
        }
    }
}

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
    // SAFETY: the MT outlives its traces.
    let mt = unsafe { &*info.mt };
    let g = &info.guards[guard as usize];
    // SAFETY: the trace stored this guard's live values in `0..nin`.
    let live = unsafe { std::slice::from_raw_parts(buf, g.nin) };
    if let Some(side) = g.side.get() {
        // SAFETY: the side trace starts from exactly these values.
        return unsafe { side.info.run(side.f, vars, live) };
    }
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
    if info.side_depth == 0
        && fails >= SUSPEND_AFTER
        && g.side_state.load(Ordering::Relaxed) == SIDE_FAILED
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
    if record {
        g.side_since.store(now_ms(), Ordering::Relaxed);
        start_side_recording(mt, info, guard as u32, vars as usize);
    }
    let mut frames: Vec<blackhole::Frame> = g
        .frames
        .iter()
        .map(|fi| {
            let mut f = blackhole::Frame::new(fi.prog.clone(), fi.block, fi.idx, fi.call_dst);
            for &(reg, ty, src) in &fi.live {
                f.regs[reg as usize] = ty.canon(match src {
                    LiveSrc::Slot(s) => live[s as usize],
                    LiveSrc::Const(k) => k,
                });
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
                if let Some(fin) = swt::stop() {
                    queue_side(mt, info, guard as u32, fin);
                }
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

/// Called by a root trace when the side trace of one of its guards ran for
/// most of the loop's recent iterations (the program's hot path changed):
/// the location goes back to counting, at its threshold, so that the next
/// pass records the loop again, along the path it takes now; the new trace
/// replaces this one. (The trace then leaves its loop.) This trace is
/// retired: freed once no thread can be running it (`crate::reclaim`).
///
/// # Safety
/// Only compiled root traces call this, with their own `TraceInfo`.
#[no_mangle]
pub unsafe extern "C" fn __yk_reoptimise(info: *const TraceInfo) {
    // SAFETY: the trace passes its own info.
    let info = unsafe { &*info };
    if info.re_recorded.swap(true, Ordering::AcqRel) {
        return;
    }
    // SAFETY: the MT and the location outlive their traces.
    let (mt, loc) = unsafe { (&*info.mt, info.start_loc.get()) };
    if mt.re_record(loc) {
        mt.stats().count(Counter::TracesReRecorded);
        mt.log()
            .event(JitEvent::TraceReRecorded, Some(info.start_loc));
    }
}

/// Side traces get this many times the compile budget of root traces. It
/// was 2, on the grounds that a guard that keeps failing costs a blackhole
/// run each time; but twice the default 50% was no limit: on
/// `oo_metatables` 140 side traces took 8.6 s of compiling for a 0.5 s
/// program, each iteration 14x slower than lua. At 1 a refused guard that
/// fails often leads to its trace being suspended (`SUSPEND_AFTER`) and the
/// program runs near the interpreter's speed.
pub const SIDE_BUDGET_SCALE: u32 = 1;

/// A guard that has failed this many times, once at least every
/// [`GIVE_UP_RATIO`] of the loop's iterations, while the compile budget
/// refused its side trace makes its root trace be suspended (see
/// `MT::suspend`). (Without the ratio, every inner loop's exit did once the
/// budget was spent: `spectral_norm` compiled the same trace 13 times.)
pub const SUSPEND_AFTER: u32 = 64;

/// A root trace whose guard has failed [`SUSPEND_AFTER`] times with no side
/// trace possible (its recording or compilation failed), once at least every
/// this many of the loop's iterations, is given up for good (see
/// `MT::give_up`): a blackhole run costs microseconds, about what the
/// interpreter takes for 30-100 iterations of a small loop, so a trace that
/// leaves through the blackhole more often than this loses to the
/// interpreter (on `fannkuch_redux` a copy loop of 8 iterations did, 350,000
/// times).
pub const GIVE_UP_RATIO: u64 = 32;

/// A trace tree (a root trace and its side traces) is judged once per this
/// many of its exits through the blackhole: if in that window it ran fewer
/// than [`GIVE_UP_RATIO`] iterations of its loop per exit, it loses to the
/// interpreter (each exit costs a blackhole run, about a microsecond, and
/// the rest of that iteration interpreted; its side traces, which
/// compiling costs tens of milliseconds each, don't catch up: a loop over
/// polymorphic calls, as in `deltablue`, grows side traces without end).
/// Its root trace is retired and the location backs off
/// (`MT::retire_losing`): recorded again later, and after
/// `location::MAX_FAILURES` never. Exits at a guard whose side trace is
/// being recorded or compiled don't count for [`PENDING_GRACE_MS`], while
/// the tree has fewer than [`EXCUSED_SIDES`] side traces: a window is short
/// next to a compilation.
pub const EXIT_WINDOW: u64 = 256;

/// How long exits at a guard waiting for its side trace are excused (see
/// [`EXIT_WINDOW`]): several compilations' time (a side trace compiles in
/// 5-70 ms), but not the queue's backlog on a program that keeps growing
/// side traces.
pub const PENDING_GRACE_MS: u64 = 250;

/// Milliseconds since the first call (a clock for [`GuardInfo::side_since`]).
fn now_ms() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    let base = *BASE.get_or_init(Instant::now);
    u64::try_from(base.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// A tree with this many side traces is judged on all its exits, those
/// waiting for a side trace too, and if it loses it is never recorded
/// again: it is megamorphic (a loop over objects of many classes, as in
/// `oo_metatables`, grew 50 side traces of up to 1,100 blocks each and
/// still left through the blackhole every sixth iteration, 5x slower than
/// lua).
pub const EXCUSED_SIDES: u64 = 16;

/// Re-optimisation counts a root trace's side-trace runs in windows of this
/// many runs.
pub const REOPT_WINDOW: u64 = 1024;

/// Re-optimisation re-records a root trace when one side trace took more
/// than this share (numerator, denominator) of the loop's iterations in a
/// window: the root trace then follows the minority path, and each of the
/// other iterations pays the side trace's transfer. (Nine tenths let a loop
/// recorded on its one-in-seven path keep it: Lua's `s + i % 7` recorded at
/// an `i` divisible by 7 ran its side trace six iterations in seven, and
/// the loop was slower than the interpreter.) A branch that merely splits
/// the iterations (half and half) never triggers it, and each re-recording
/// counts as a failure of the location, so it happens a bounded number of
/// times.
pub const REOPT_SHARE: (u64, u64) = (3, 4);

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

impl TraceInfo {
    /// After guard `g`'s side trace returned `r`: count the run, and when a
    /// window of [`REOPT_WINDOW`] runs took most of the loop's iterations
    /// (more than [`REOPT_SHARE`]: a branch that merely splits the
    /// iterations must not make the location be recorded again and again), ask for
    /// the location to be re-recorded and leave the loop (the trace
    /// returns `RESUME` where it would have re-entered).
    fn count_side_run(&self, g: usize, r: u64) -> u64 {
        // SAFETY: `counters` has `1 + 2 * guards` entries.
        let c = |k: usize| unsafe { &*self.counters.add(k) };
        let (runs_c, start_c) = (c(1 + 2 * g), c(2 + 2 * g));
        let runs = runs_c.load(Ordering::Relaxed).wrapping_add(1);
        let iters = c(0).load(Ordering::Relaxed);
        let start = start_c.load(Ordering::Relaxed);
        let full = runs >= REOPT_WINDOW;
        let (num, den) = REOPT_SHARE;
        let most = runs.wrapping_mul(den) > iters.wrapping_sub(start).wrapping_mul(num);
        runs_c.store(if full { 0 } else { runs }, Ordering::Relaxed);
        start_c.store(if full { iters } else { start }, Ordering::Relaxed);
        if !(full && most) {
            return r;
        }
        // SAFETY: this is the trace's own info.
        unsafe { __yk_reoptimise(self) };
        if r == outcome::REENTER {
            outcome::RESUME
        } else {
            r
        }
    }
}

/// Starts this thread's software recording for a side trace of `guard`.
fn start_side_recording(mt: &MT, info: &TraceInfo, guard: u32, vars: usize) {
    let Some(aot) = crate::aot::info() else {
        return;
    };
    swt::start(swt::Active {
        mt: mt.arc(),
        loc: info.start_loc,
        claim: None,
        owner: swt::thread_id(),
        cp_func_idx: info.cp_func_idx,
        started: Instant::now(),
        flag: aot.swt_flag(),
        max_len: mt.config().trace_max_len,
        side: Some(swt::SideRec { info, guard }),
        _pin: Some(crate::reclaim::Pin::new()),
        // The blackhole records the side trace's first blocks itself: swt.
        pt: None,
        vars,
    });
}

/// A side-trace recording ended at a control point it may end at: compile it.
pub(crate) fn finish_side(mt: &MT, side: swt::SideRec, fin: swt::Finished) {
    // SAFETY: the recording's pin keeps the trace alive.
    let info = unsafe { &*side.info };
    queue_side(mt, info, side.guard, fin);
}

/// A side-trace recording was abandoned: log why; the guard won't try again.
pub(crate) fn side_recording_aborted(mt: &MT, side: swt::SideRec, reason: &crate::abort::Abort) {
    // SAFETY: the recording's pin keeps the trace alive.
    let info = unsafe { &*side.info };
    mt.stats().count_abort(reason.kind);
    mt.log()
        .event(JitEvent::TraceAborted(&reason.detail), Some(info.start_loc));
    info.guards[side.guard as usize]
        .side_state
        .store(SIDE_FAILED, Ordering::Release);
}

/// A side trace's recording grew too long and a call in it was cut out
/// (`crate::entries`): the guard goes back to waiting for
/// `YK_SIDETRACE_THRESHOLD` failures, and is recorded again then, ending at
/// the cut. (Bounded: every cut makes a new location, from the recordings'
/// null entries.)
pub(crate) fn side_recording_cut(mt: &MT, side: swt::SideRec, reason: &str) {
    // SAFETY: the recording's pin keeps the trace alive.
    let info = unsafe { &*side.info };
    mt.stats().count(crate::stats::Counter::TracesDeferred);
    mt.log()
        .event(JitEvent::TraceDeferred(reason), Some(info.start_loc));
    let g = &info.guards[side.guard as usize];
    g.fails.store(0, Ordering::Relaxed);
    g.side_state.store(SIDE_IDLE, Ordering::Release);
}

/// Hands the side trace of `guard` recorded in `fin` to the compiler, as a
/// trace that starts at the guard: on the compile thread, as root traces
/// are (the guard goes on failing into the blackhole until the side trace
/// is installed), or here with `YKD_SERIALISE_COMPILATION`.
fn queue_side(mt: &MT, info: &TraceInfo, guard: u32, fin: swt::Finished) {
    let g = &info.guards[guard as usize];
    let trace = RecordedTrace {
        blocks: fin.blocks,
        promotes: fin.promotes,
        idempotents: fin.idempotents,
        start: TraceStart::Guard(GuardStart {
            parent: info,
            guard,
            _pin: crate::reclaim::Pin::new(),
        }),
        start_loc: info.start_loc,
        end_loc: None,
        cp_func_idx: info.cp_func_idx,
        recording_time: fin.active.started.elapsed(),
        generation: mt.generation(),
    };
    mt.stats().time(Timer::Tracing, trace.recording_time);
    let Some(c) = mt.compiler() else {
        g.side_state.store(SIDE_FAILED, Ordering::Release);
        return;
    };
    if mt.config().serialise_compilation {
        mt.compile_now(&*c, trace);
    } else {
        mt.queue().push(mt.arc(), c, trace);
    }
}

/// Installs the side trace compiled (`r`) from the recording that started
/// at `start` on its guard, or marks the guard as having none.
pub(crate) fn install_side(mt: &MT, start: GuardStart, r: Result<Compiled, CompileError>) {
    let info = start.parent();
    let guard = start.guard;
    let g = &info.guards[guard as usize];
    let r = match r {
        Ok(Compiled::Side(side)) => Ok(side),
        Ok(Compiled::Root(_)) => Err(CompileError::from(crate::abort::Abort::internal(
            "the compiler made a root trace of a side recording",
        ))),
        Err(e) => Err(e),
    };
    match r {
        Ok(mut side) => {
            side.info.side_depth = info.side_depth + 1;
            side.info.iters = info.iters;
            side.info.tree = info.tree;
            info.tree().sides.fetch_add(1, Ordering::Relaxed);
            let direct = side.info.nslots <= SMALL_BUF;
            if g.side.set(side).is_ok() && direct {
                // From now on the guard calls it without coming here.
                let p = g.side.get().unwrap() as *const SideTrace as *mut SideTrace;
                // SAFETY: one slot per guard.
                unsafe { &*info.side_slots.add(guard as usize) }.store(p, Ordering::Release);
            }
            mt.stats().count(Counter::SideTracesCompiled);
            mt.log()
                .event(JitEvent::SideTraceCompiled, Some(info.start_loc));
        }
        Err(e) => {
            mt.stats().count_abort(e.abort().kind);
            mt.log().event(
                JitEvent::TraceAborted(&e.abort().detail),
                Some(info.start_loc),
            );
            g.side_state.store(SIDE_FAILED, Ordering::Release);
        }
    }
}
